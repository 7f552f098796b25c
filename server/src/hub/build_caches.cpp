#include "hub/build_caches.h"

#include <charconv>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace studyhub::hub {

namespace fs = std::filesystem;

namespace {

// "u12" -> 12 for prefix 'u'.
std::optional<int64_t> id_of(const std::string& name, char prefix) {
  if (name.size() < 2 || name[0] != prefix) return std::nullopt;
  int64_t id = 0;
  auto [end, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), id);
  if (ec != std::errc() || end != name.data() + name.size() || id <= 0) return std::nullopt;
  return id;
}

std::string id_list(const std::set<int64_t>& ids) {
  std::string out = "{";
  for (int64_t id : ids) out += (out.size() > 1 ? "," : "") + std::to_string(id);
  return out + "}";
}

// Which of `ids` the table still has.
Result<std::set<int64_t>> existing(db::Connection& conn, const char* table, const std::set<int64_t>& ids) {
  std::set<int64_t> out;
  if (ids.empty()) return out;
  auto rows = conn.exec(std::string("SELECT id FROM ") + table + " WHERE id = ANY($1::bigint[])", {db::param(id_list(ids))});
  if (!rows) return rows.error();
  for (int i = 0; i < rows->size(); ++i) out.insert(rows->integer(i, 0));
  return out;
}

}  // namespace

fs::path cache_dir(const fs::path& work_dir, int64_t user_id, int64_t site_id) {
  return work_dir / ("u" + std::to_string(user_id)) / ("s" + std::to_string(site_id));
}

Result<int> sweep_caches(db::Connection& conn, const fs::path& work_dir) {
  std::set<int64_t> users, sites;
  std::vector<std::pair<fs::path, int64_t>> user_dirs, site_dirs;
  std::error_code ec;
  for (auto& u : fs::directory_iterator(work_dir, ec)) {
    auto uid = id_of(u.path().filename().string(), 'u');
    if (!uid || u.is_symlink(ec)) continue;
    users.insert(*uid);
    user_dirs.emplace_back(u.path(), *uid);
    std::error_code sub;
    for (auto& s : fs::directory_iterator(u.path(), sub)) {
      auto sid = id_of(s.path().filename().string(), 's');
      if (!sid) continue;
      sites.insert(*sid);
      site_dirs.emplace_back(s.path(), *sid);
    }
  }
  auto live_users = existing(conn, "users", users);
  if (!live_users) return live_users.error();
  auto live_sites = existing(conn, "sites", sites);
  if (!live_sites) return live_sites.error();
  int removed = 0;
  for (const auto& [dir, id] : site_dirs)
    if (!live_sites->count(id) && fs::remove_all(dir, ec) > 0) ++removed;
  for (const auto& [dir, id] : user_dirs)
    if (!live_users->count(id) && fs::remove_all(dir, ec) > 0) ++removed;
  return removed;
}

}  // namespace studyhub::hub
