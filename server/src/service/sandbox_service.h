// The sandbox/* methods and the initialize answer, registered on a JSON-RPC session.
// Each method is a thin adapter: it validates params, calls a component, shapes the result.
#pragma once

#include <filesystem>

#include "rpc/session.h"

namespace studyhub::service {

struct ServiceConfig {
  std::filesystem::path state_dir;
};

void register_sandbox_methods(rpc::Session& session, const ServiceConfig& config);

}  // namespace studyhub::service
