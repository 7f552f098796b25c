#include "hub/site_files.h"

#include <sys/stat.h>
#include <utime.h>

#include <map>

#include "hub/users.h"
#include "publish/links.h"
#include "publish/store.h"

namespace studyhub::hub {

namespace fs = std::filesystem;

namespace {

bool older_than(const fs::path& p, std::chrono::seconds age) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return false;
  return std::chrono::system_clock::now() - std::chrono::system_clock::from_time_t(st.st_mtime) > age;
}

}  // namespace

SiteFiles::SiteFiles(fs::path data_dir) : data_(std::move(data_dir)) {
  std::error_code ec;
  for (const char* d : {"versions", "sites", "staging", "uploads"}) {
    fs::create_directories(data_ / d, ec);
    ::chmod((data_ / d).c_str(), 0700);
  }
}

fs::path SiteFiles::version_dir(const std::string& user, const std::string& id) const {
  return data_ / "versions" / publish::version_name(user, id);
}

Result<fs::path> SiteFiles::new_staging(const std::string& worker) const {
  fs::path dir = data_ / "staging" / (worker + "-" + publish::random_suffix());
  std::error_code ec;
  if (!fs::create_directories(dir, ec) || ec)
    return Error{"cannot create a staging folder in " + (data_ / "staging").string() + ": " + ec.message(), false, "io"};
  return dir;
}

fs::path SiteFiles::new_upload_path() const { return data_ / "uploads" / ("upload-" + publish::random_suffix()); }

bool SiteFiles::has_version(const std::string& user, const std::string& id) const {
  std::error_code ec;
  return is_valid_user_name(user) && publish::is_snapshot_id(id) && fs::is_directory(version_dir(user, id), ec);
}

void SiteFiles::touch_version(const std::string& user, const std::string& id) const {
  if (is_valid_user_name(user) && publish::is_snapshot_id(id)) ::utime(version_dir(user, id).c_str(), nullptr);
}

Status SiteFiles::commit(const fs::path& staging, const std::string& user, const std::string& id) const {
  if (!is_valid_user_name(user) || !publish::is_snapshot_id(id)) return Error{"internal: not a version: " + user + "/" + id};
  auto done = publish::commit_dir(staging, version_dir(user, id));
  if (done) touch_version(user, id);
  return done;
}

Status SiteFiles::point(const std::string& user, const std::string& name, const std::string& id) const {
  if (!is_valid_user_name(user) || !publish::is_valid_name(name)) return Error{"internal: bad site " + user + "/" + name};
  if (!has_version(user, id)) return Error{"the version " + id + " of " + user + " is not in " + (data_ / "versions").string(), false, "io"};
  std::error_code ec;
  fs::create_directories(data_ / "sites" / user, ec);
  return publish::swap_link(data_ / "sites" / user / name, fs::path("..") / ".." / "versions" / publish::version_name(user, id));
}

Status SiteFiles::unlink(const std::string& user, const std::string& name) const {
  if (!is_valid_user_name(user) || !publish::is_valid_name(name)) return ok_status();
  std::error_code ec;
  fs::remove(data_ / "sites" / user / name, ec);
  if (ec) return Error{"cannot take down " + user + "/" + name + ": " + ec.message(), false, "io"};
  return ok_status();
}

void SiteFiles::remove_versions(const std::string& user, const std::vector<std::string>& ids) const {
  if (!is_valid_user_name(user)) return;
  std::error_code ec;
  for (const auto& id : ids)
    if (publish::is_snapshot_id(id) && fs::exists(version_dir(user, id), ec)) publish::remove_dir(version_dir(user, id), data_ / "staging");
}

void SiteFiles::remove_user(const std::string& user) const {
  if (!is_valid_user_name(user)) return;
  std::error_code ec;
  if (fs::exists(data_ / "sites" / user, ec)) publish::remove_dir(data_ / "sites" / user, data_ / "staging");
  const std::string prefix = user + ".";
  for (auto& e : fs::directory_iterator(data_ / "versions", ec)) {
    std::string name = e.path().filename().string();
    if (name.starts_with(prefix) && publish::is_snapshot_id(name.substr(prefix.size())))
      publish::remove_dir(e.path(), data_ / "staging");
  }
}

void SiteFiles::adopt_shared_version(const std::string& user, const std::string& id) const {
  // A data folder from before versions had owners kept versions/<id>, shared: the user's own copy
  // is made of hard links (nothing is copied; the legacy folder is pruned once nothing points to it).
  fs::path legacy = data_ / "versions" / id;
  std::error_code ec;
  if (has_version(user, id) || !publish::is_snapshot_id(id) || !fs::is_directory(legacy, ec)) return;
  auto staging = new_staging("adopt");
  if (!staging) return;
  fs::copy(legacy, staging.value(), fs::copy_options::recursive | fs::copy_options::copy_symlinks |
                                        fs::copy_options::create_hard_links, ec);
  if (ec || !commit(staging.value(), user, id)) fs::remove_all(staging.value(), ec);
}

int SiteFiles::reconcile(const std::vector<std::tuple<std::string, std::string, std::string>>& current) const {
  std::map<std::pair<std::string, std::string>, std::string> wanted;
  for (const auto& [user, name, id] : current) wanted[{user, name}] = id;
  int changed = 0;
  std::error_code ec;
  for (auto& user_dir : fs::directory_iterator(data_ / "sites", ec)) {
    std::string user = user_dir.path().filename().string();
    for (auto& link : fs::directory_iterator(user_dir.path(), ec)) {
      std::string name = link.path().filename().string();
      if (name.starts_with(".tmp-")) {
        if (older_than(link.path(), std::chrono::minutes(10))) fs::remove(link.path(), ec);
        continue;
      }
      if (!wanted.count({user, name})) {
        fs::remove(link.path(), ec);
        ++changed;
      }
    }
  }
  for (const auto& [key, id] : wanted) {
    fs::path link = data_ / "sites" / key.first / key.second;
    auto target = fs::read_symlink(link, ec);
    if (!ec && target.filename() == publish::version_name(key.first, id)) continue;
    adopt_shared_version(key.first, id);
    if (point(key.first, key.second, id)) ++changed;
  }
  return changed;
}

int SiteFiles::prune(const std::set<std::string>& keep, std::chrono::seconds min_age) const {
  int removed = 0;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(data_ / "versions", ec)) {
    std::string id = e.path().filename().string();
    if (keep.count(id) || !older_than(e.path(), min_age)) continue;
    publish::remove_dir(e.path(), data_ / "staging");
    ++removed;
  }
  return removed;
}

void SiteFiles::clear_stale_staging(std::chrono::seconds older_than_age) const {
  std::error_code ec;
  for (const char* dir : {"staging", "uploads"})
    for (auto& e : fs::directory_iterator(data_ / dir, ec))
      if (older_than(e.path(), older_than_age)) fs::remove_all(e.path(), ec);
}

}  // namespace studyhub::hub
