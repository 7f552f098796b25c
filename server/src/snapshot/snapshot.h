// A snapshot: exactly the files a publish of a folder would send, named by their git tree id.
//
// The user's folder and its .git are only read. Objects go into a private bare "shadow"
// repository in the state directory; a per-folder index there is the stat cache that makes an
// unchanged folder cheap to snapshot again; each snapshot is also a commit on a per-folder ref.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

#include "core/error.h"
#include "settings/workspace_settings.h"

namespace studyhub::snapshot {

struct SnapshotFile {
  std::string path;   // relative to the folder, '/'-separated
  uint64_t size = 0;
  uint32_t mode = 0;  // git mode: 0100644, 0100755 or 0120000 (a link inside the folder)
  std::string blob;   // git blob id (hex)
  bool binary = false;  // not valid UTF-8 text, or holds NUL bytes
};

struct Exclusion {
  std::string path;    // relative to the folder; a directory ends with '/'
  std::string reason;  // node_modules | secret | gitignore | sandboxignore | nested-repository
                       // | symlink-outside | special-file | git
};

struct Snapshot {
  std::string id;      // the tree id of the included files
  std::string commit;  // the commit recording it on the folder's private ref
  std::filesystem::path folder;
  std::vector<SnapshotFile> files;  // sorted by path
  uint64_t bytes = 0;
  std::vector<Exclusion> excluded;  // sorted by path
  std::vector<std::string> warnings;
};

struct SnapshotOptions {
  std::filesystem::path state_dir{};
  std::stop_token stop{};
  // Called with a stage label and a percentage; may be empty.
  std::function<void(std::string_view stage, int percent)> progress{};
};

Result<Snapshot> take_snapshot(const std::filesystem::path& folder,
                               const settings::WorkspaceSettings& settings,
                               const SnapshotOptions& options);

// A stable key for a folder (its canonical path hashed), naming its per-folder state.
std::string folder_key(const std::filesystem::path& canonical_folder);

// Where the shadow repository lives inside the state directory.
std::filesystem::path shadow_repo_path(const std::filesystem::path& state_dir);

}  // namespace studyhub::snapshot
