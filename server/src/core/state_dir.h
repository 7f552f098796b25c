// Where studyhub-sandbox keeps its state: STUDYHUB_SANDBOX_HOME, else
// $XDG_STATE_HOME/studyhub-sandbox, else ~/.local/state/studyhub-sandbox.
#pragma once

#include <filesystem>

#include "core/error.h"

namespace studyhub {

// Resolves the state directory from the environment; does not create it.
Result<std::filesystem::path> resolve_state_dir();

// Resolves and creates it (mode 0700: snapshots may hold a user's private sources).
Result<std::filesystem::path> ensure_state_dir();

}  // namespace studyhub
