// The published sites on disk:
//   <state>/versions/<snapshot-id>/   an immutable built site, appears whole (a rename) or not at all
//   <state>/sites/<name>              a link to ../versions/<id>, swapped atomically (a rename)
//   <state>/meta/<name>.json          name, folder, current id, time, history
//   <state>/staging/                  unfinished work; whatever is there at start-up is debris
// A production deployment points nginx at the same layout.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace studyhub::publish {

struct SiteInfo {
  std::string name;
  std::string snapshot_id;
  std::string folder;
  int64_t published_at_ms = 0;
  uint64_t files = 0, bytes = 0;
  std::vector<std::string> history;  // snapshot ids, newest first (the current one included)
};

class SiteStore {
 public:
  explicit SiteStore(std::filesystem::path state_dir, size_t keep_versions = 5);

  // Removes what an interrupted publish left behind. Call while holding the build lock.
  Status recover();

  Result<std::filesystem::path> new_staging();
  bool has_version(const std::string& snapshot_id) const;
  std::filesystem::path version_dir(const std::string& snapshot_id) const;
  // Moves a finished staging folder to versions/<id> (a no-op when that version exists already).
  Status commit_version(const std::filesystem::path& staging, const std::string& snapshot_id);
  // Points sites/<name> at the version, records it, and prunes versions no one keeps any more.
  Status point(SiteInfo info);

  std::vector<SiteInfo> list() const;
  std::optional<SiteInfo> get(const std::string& name) const;

  const std::filesystem::path& state_dir() const { return state_dir_; }

 private:
  void prune();
  std::filesystem::path state_dir_;
  size_t keep_;
};

// A URL-safe sandbox name: lowercase letters, digits and dashes, at most 63 characters.
std::string slugify(std::string_view text);
bool is_valid_name(std::string_view name);
// A snapshot id as versions/ names them: 40 lowercase hex digits.
bool is_snapshot_id(std::string_view id);

}  // namespace studyhub::publish
