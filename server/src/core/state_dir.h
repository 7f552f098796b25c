// Where studyhub-sandbox keeps its state: STUDYHUB_SANDBOX_HOME, else
// $XDG_STATE_HOME/studyhub-sandbox, else ~/.local/state/studyhub-sandbox.
#pragma once

#include <filesystem>

#include "core/error.h"

namespace studyhub {

// Resolves the state directory from the environment; does not create it.
Result<std::filesystem::path> resolve_state_dir();

// Resolves and creates it (mode 0700: snapshots may hold a user's private sources). An existing
// one must belong to this user and be writable by nobody else, and the folders inside that
// publishes write to must be real folders, not links: whoever could plant a link there could
// redirect writes (and the build folder's cleanup) anywhere this user may write.
Result<std::filesystem::path> ensure_state_dir();

// The folders inside the state directory that are written to (checked by ensure_state_dir).
inline constexpr const char* kStateSubdirs[] = {"versions", "sites", "meta", "staging", "work", "snapshots",
                                                "runner", "shadow.git"};

}  // namespace studyhub
