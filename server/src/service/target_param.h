// Where to publish, as a client says it: {"target": "local" | "docker-run" | "hub", "dockerRun":
// {"url", "token", "image"}, "hub": {"url", "token"}} in sandbox/* params, or the same shape in
// initializationOptions.
#pragma once

#include "rpc/params.h"
#include "runner/target.h"

namespace studyhub::service {

// `where` names the object in errors ("params" or "initializationOptions"); never echoes a value.
rpc::Param<runner::TargetLayer> target_param(const rpc::json& object, std::string_view where);

}  // namespace studyhub::service
