// The `folder` of a request: an absolute path or a file:// URI (what VS Code hands out).
#pragma once

#include <filesystem>

#include "rpc/params.h"

namespace studyhub::service {

rpc::Param<std::filesystem::path> folder_param(const rpc::json& params);

}  // namespace studyhub::service
