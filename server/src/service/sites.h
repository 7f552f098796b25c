// A site's lifecycle on either target, shared by the CLI (list, rollback, unpublish) and the
// JSON-RPC methods (sandbox/list, sandbox/rollback, sandbox/unpublish): the local store and host,
// or the team's hub. One shape of answer for both front doors.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/error.h"
#include "runner/target.h"

namespace studyhub::service {

// {"sites": [local sites], "hub"?: {"url", "sites": [{name, url, immutableUrl, snapshotId,
// publishedAt, history}], "error"?}}. Starts the local host when needed, so every local URL works;
// a hub that cannot be reached leaves its error in "hub.error" and the local list intact.
Result<nlohmann::json> list_sites(const std::filesystem::path& state_dir, const std::optional<runner::HubConfig>& hub);

// Points a site back at an earlier version without building (default: the one before the current).
// Answers {name, url, immutableUrl, snapshotId, publishedAt, target}.
Result<nlohmann::json> rollback_site(const std::filesystem::path& state_dir, const std::optional<runner::HubConfig>& hub,
                                     const std::string& name, const std::optional<std::string>& snapshot_id);

// Takes a site down. Answers {name, target, removed: true}; an error with code not_found when
// there is no such site.
Result<nlohmann::json> unpublish_site(const std::filesystem::path& state_dir, const std::optional<runner::HubConfig>& hub,
                                      const std::string& name);

}  // namespace studyhub::service
