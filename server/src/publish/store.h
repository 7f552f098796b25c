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
  // When the snapshot started reading the folder: a publish of an older snapshot of the same
  // folder never replaces a newer one, whatever order the two finish in.
  int64_t snapshot_at_ms = 0;
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
  // Answers what the site serves now: `info`, or the record of a newer snapshot of the same folder
  // that was published meanwhile (which stays).
  Result<SiteInfo> point(SiteInfo info);
  // commit_version then point, under one lock, so no prune can come in between.
  Result<SiteInfo> commit_and_point(const std::filesystem::path& staging, SiteInfo info);

  // Points the site back at an earlier version it had, without building: `snapshot_id` (or a
  // prefix of 7+ digits) from its history, else the one published before the current one.
  // Errors with code not_found name what is missing.
  Result<SiteInfo> rollback(const std::string& name, const std::optional<std::string>& snapshot_id);
  // Takes the site down (its link and record); its versions go with the next prune. false when
  // there was no such site.
  Result<bool> unpublish(const std::string& name);

  std::vector<SiteInfo> list() const;
  std::optional<SiteInfo> get(const std::string& name) const;

  const std::filesystem::path& state_dir() const { return state_dir_; }

 private:
  Result<SiteInfo> point_locked(SiteInfo info);  // with store.lock held
  void prune();
  std::filesystem::path state_dir_;
  size_t keep_;
};

// A URL-safe sandbox name: lowercase letters, digits and dashes, at most 63 characters.
std::string slugify(std::string_view text);
bool is_valid_name(std::string_view name);
// A snapshot id: 40 lowercase hex digits.
bool is_snapshot_id(std::string_view id);
// A folder of versions/: the snapshot id on a local host; "<user>.<snapshot id>" on a hub, where a
// build belongs to the user it was made for and is never handed to another.
std::string version_name(std::string_view owner, std::string_view snapshot_id);
bool is_version_name(std::string_view name);

}  // namespace studyhub::publish
