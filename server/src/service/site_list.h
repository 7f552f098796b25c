// The sandbox/list result (also `list --json`): published sites with their URLs.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace studyhub::service {

// Starts the shared host when needed, so every URL listed works.
Result<nlohmann::json> site_list(const std::filesystem::path& state_dir);

}  // namespace studyhub::service
