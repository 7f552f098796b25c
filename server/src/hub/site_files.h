// The hub's sites on disk, in its data folder (which several hubs may share over NFS or EFS):
//   versions/<user>.<snapshot-id>/  a built site, immutable, of one user only (never handed to
//                                   another, even for the same snapshot); appears whole or not at all
//   sites/<user>/<name>             a link to ../../versions/<user>.<id>, swapped in one rename
//   staging/<worker>-<random>/      unfinished builds; a crashed worker's are cleared after a day
//   uploads/<random>                blob uploads streaming in, before they are checked and stored
// The database decides which version a site shows: links are only swapped while the site's row is
// locked, and reconcile() makes them match the database again after anything went wrong. Every
// folder here is the hub user's alone (0700): the host serves sites, nothing reads the folder.
#pragma once

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"

namespace studyhub::hub {

class SiteFiles {
 public:
  explicit SiteFiles(std::filesystem::path data_dir);

  const std::filesystem::path& data_dir() const { return data_; }
  Result<std::filesystem::path> new_staging(const std::string& worker) const;
  std::filesystem::path new_upload_path() const;  // not created: the upload creates it
  bool has_version(const std::string& user, const std::string& snapshot_id) const;
  // Marks a version as just used, so a prune running now leaves it alone.
  void touch_version(const std::string& user, const std::string& snapshot_id) const;
  Status commit(const std::filesystem::path& staging, const std::string& user, const std::string& snapshot_id) const;
  Status point(const std::string& user, const std::string& name, const std::string& snapshot_id) const;
  Status unlink(const std::string& user, const std::string& name) const;
  // Takedown: the versions go at once (renamed out of sight, then deleted).
  void remove_versions(const std::string& user, const std::vector<std::string>& snapshot_ids) const;
  // Everything of a removed user: their links and versions.
  void remove_user(const std::string& user) const;

  // Links made to match the database's (user, name, snapshot) list; links of sites it does not
  // list are removed. Answers how many links changed.
  int reconcile(const std::vector<std::tuple<std::string, std::string, std::string>>& current) const;
  // Removes versions (folder names, "<user>.<id>") not in `keep` that were not touched for
  // `min_age`; answers how many.
  int prune(const std::set<std::string>& keep, std::chrono::seconds min_age) const;
  void clear_stale_staging(std::chrono::seconds older_than) const;

 private:
  std::filesystem::path version_dir(const std::string& user, const std::string& snapshot_id) const;
  void adopt_shared_version(const std::string& user, const std::string& snapshot_id) const;
  std::filesystem::path data_;
};

}  // namespace studyhub::hub
