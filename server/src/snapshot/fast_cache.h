// The fast path of a snapshot: a record of every stat a snapshot relied on — the included files,
// every directory walked (a directory's mtime moves when an entry is added, removed or renamed)
// and every file that holds ignore rules. When none of them moved, the recorded snapshot is the
// answer, found with a few thousand lstat calls and without starting libgit2. When only file
// contents moved, the caller re-hashes just those files.
//
// Files whose mtime is within a few seconds of the record are "racy" (a change in the same
// timestamp tick would not show) and are always re-hashed, as git does with its index.
#pragma once

#include "libs/git2.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "settings/workspace_settings.h"
#include "snapshot/snapshot.h"

namespace studyhub::snapshot {

struct StatKey {
  int64_t mtime_s = 0, ctime_s = 0;
  uint32_t mtime_ns = 0, ctime_ns = 0;  // 0 when the recorder did not keep nanoseconds
  uint32_t ino = 0, size = 0, mode = 0;  // truncated as git's index truncates them; mode 0 = missing
};

// lstat of a path; for files the mode is git's (100644, 100755, 120000), for others the raw mode.
StatKey stat_key(const std::filesystem::path& path, bool as_git_file);
StatKey stat_key(const std::string& path, bool as_git_file);
StatKey stat_key(const git_index_entry& entry);
bool same_stat(const StatKey& recorded, const StatKey& now);

struct FastCache {
  int64_t saved_at_s = 0;
  std::string config;  // what the settings contributed; any difference means start over
  std::vector<std::pair<std::string, StatKey>> watched;  // absolute paths of rule files and .git markers
  std::vector<std::pair<std::string, StatKey>> dirs;     // relative to the folder ("" is the folder)
  std::vector<StatKey> file_keys;                         // parallel to snapshot.files
  Snapshot snapshot;
};

std::optional<FastCache> load_fast_cache(const std::filesystem::path& file);
bool save_fast_cache(const std::filesystem::path& file, const FastCache& cache);

// The part of the settings that decides what a snapshot holds.
std::string settings_fingerprint(const settings::WorkspaceSettings& settings);

struct FastVerdict {
  enum class Kind { unchanged, files_changed, stale } kind = Kind::stale;
  std::vector<size_t> changed;  // indexes into snapshot.files, for files_changed
};
// `on_change` runs once, on any thread, as soon as a file is found changed (before the check ends).
FastVerdict check_fast_cache(const FastCache& cache, const std::filesystem::path& folder, const std::string& config,
                             const std::function<void()>& on_change = {});

// Every directory under `folder` a snapshot walks (skipping excluded ones), and the .gitignore
// files found on the way (absolute paths).
void walk_dirs(const std::filesystem::path& folder, const std::vector<Exclusion>& excluded,
               std::vector<std::pair<std::string, StatKey>>& dirs, std::vector<std::string>& gitignores);

}  // namespace studyhub::snapshot
