// The hub's sites on disk, in its data folder (which several hubs may share over NFS or EFS):
//   versions/<snapshot-id>/       a built site, immutable; appears whole (a rename) or not at all
//   sites/<user>/<name>           a link to ../../versions/<id>, swapped in one rename
//   staging/<worker>-<random>/    unfinished builds; a crashed worker's are cleared after a day
// The database decides which version a site shows: links are only swapped while the site's row is
// locked, and reconcile() makes them match the database again after anything went wrong.
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
  bool has_version(const std::string& snapshot_id) const;
  // Marks a version as just used, so a prune running now leaves it alone.
  void touch_version(const std::string& snapshot_id) const;
  Status commit(const std::filesystem::path& staging, const std::string& snapshot_id) const;
  Status point(const std::string& user, const std::string& name, const std::string& snapshot_id) const;
  Status unlink(const std::string& user, const std::string& name) const;

  // Links made to match the database's (user, name, snapshot) list; links of sites it does not
  // list are removed. Answers how many links changed.
  int reconcile(const std::vector<std::tuple<std::string, std::string, std::string>>& current) const;
  // Removes versions not in `keep` that were not touched for `min_age`; answers how many.
  int prune(const std::set<std::string>& keep, std::chrono::seconds min_age) const;
  void clear_stale_staging(std::chrono::seconds older_than) const;

 private:
  std::filesystem::path data_;
};

}  // namespace studyhub::hub
