// The snapshot as the sandbox/snapshot result (also printed by `snapshot --json`).
#pragma once

#include <nlohmann/json.hpp>

#include "snapshot/snapshot.h"

namespace studyhub::snapshot {

nlohmann::json to_json(const Snapshot& snapshot, bool with_files = true);

// "100644" — git's octal mode notation.
std::string mode_string(uint32_t mode);

}  // namespace studyhub::snapshot
