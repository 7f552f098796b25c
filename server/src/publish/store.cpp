#include "publish/store.h"

#include "core/file_io.h"
#include "core/file_lock.h"
#include "publish/links.h"

#include <unistd.h>

#include <cstring>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

namespace studyhub::publish {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json to_json(const SiteInfo& s) {
  return {{"name", s.name},   {"snapshotId", s.snapshot_id}, {"folder", s.folder}, {"publishedAt", s.published_at_ms},
          {"files", s.files}, {"bytes", s.bytes},             {"history", s.history},
          {"snapshotAt", s.snapshot_at_ms}};
}

std::optional<SiteInfo> from_json(const json& j) {
  if (!j.is_object()) return std::nullopt;
  SiteInfo s;
  s.name = j.value("name", "");
  s.snapshot_id = j.value("snapshotId", "");
  s.folder = j.value("folder", "");
  s.published_at_ms = j.value("publishedAt", int64_t{0});
  s.snapshot_at_ms = j.value("snapshotAt", int64_t{0});
  s.files = j.value("files", uint64_t{0});
  s.bytes = j.value("bytes", uint64_t{0});
  if (j.contains("history") && j["history"].is_array())
    for (auto& h : j["history"])
      if (h.is_string()) s.history.push_back(h.get<std::string>());
  if (s.name.empty() || s.snapshot_id.empty()) return std::nullopt;
  return s;
}

}  // namespace

bool is_snapshot_id(std::string_view id) {
  return id.size() == 40 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string version_name(std::string_view owner, std::string_view snapshot_id) {
  return owner.empty() ? std::string(snapshot_id) : std::string(owner) + "." + std::string(snapshot_id);
}

bool is_version_name(std::string_view name) {
  if (is_snapshot_id(name)) return true;
  return name.size() > 41 && name[name.size() - 41] == '.' && is_snapshot_id(name.substr(name.size() - 40)) &&
         is_valid_name(name.substr(0, name.size() - 41));
}

std::string slugify(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) && c < 0x80) out.push_back(static_cast<char>(std::tolower(c)));
    else if (!out.empty() && out.back() != '-') out.push_back('-');
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "sandbox" : out;
}

bool is_valid_name(std::string_view name) { return !name.empty() && slugify(name) == name; }

SiteStore::SiteStore(fs::path state_dir, size_t keep_versions) : state_dir_(std::move(state_dir)), keep_(keep_versions) {
  std::error_code ec;
  for (const char* d : {"versions", "sites", "meta", "staging"}) fs::create_directories(state_dir_ / d, ec);
}

Status SiteStore::recover() {
  std::error_code ec;
  for (auto& e : fs::directory_iterator(state_dir_ / "staging", ec)) fs::remove_all(e.path(), ec);
  for (const char* d : {"sites", "meta"})
    for (auto& e : fs::directory_iterator(state_dir_ / d, ec))
      if (e.path().filename().string().starts_with(".tmp-")) fs::remove(e.path(), ec);
  return ok_status();
}

Result<fs::path> SiteStore::new_staging() {
  fs::path dir = state_dir_ / "staging" / ("build-" + random_suffix());
  std::error_code ec;
  if (!fs::create_directory(dir, ec) || ec)
    return Error{"cannot create a staging folder in " + (state_dir_ / "staging").string() + ": " + ec.message()};
  return dir;
}

bool SiteStore::has_version(const std::string& id) const {
  std::error_code ec;
  return is_snapshot_id(id) && fs::is_directory(version_dir(id), ec);
}

fs::path SiteStore::version_dir(const std::string& id) const { return state_dir_ / "versions" / id; }

Status SiteStore::commit_version(const fs::path& staging, const std::string& id) {
  if (!is_snapshot_id(id)) return Error{"internal: not a snapshot id: " + id};
  return commit_dir(staging, version_dir(id));
}

Result<SiteInfo> SiteStore::point(SiteInfo info) {
  // Short and machine-wide: a cached publish must not wait for someone else's build, only for
  // another process's pointing and pruning.
  auto lock = FileLock::acquire(state_dir_ / "store.lock");
  if (!lock) return lock.error();
  return point_locked(std::move(info));
}

Result<SiteInfo> SiteStore::commit_and_point(const fs::path& staging, SiteInfo info) {
  // One lock for both: a prune by another process in between would take the new version away.
  auto lock = FileLock::acquire(state_dir_ / "store.lock");
  if (!lock) return lock.error();
  auto committed = commit_version(staging, info.snapshot_id);
  if (!committed) return committed.error();
  return point_locked(std::move(info));
}

Result<SiteInfo> SiteStore::point_locked(SiteInfo info) {
  if (!is_valid_name(info.name)) return Error{"the sandbox name '" + info.name + "' is not URL-safe"};
  auto previous = get(info.name);
  if (previous && previous->folder == info.folder && previous->snapshot_at_ms > info.snapshot_at_ms &&
      previous->snapshot_id != info.snapshot_id && has_version(previous->snapshot_id))
    return *previous;
  if (!has_version(info.snapshot_id)) return Error{"internal: version " + info.snapshot_id + " is missing"};
  std::vector<std::string> history{info.snapshot_id};
  if (previous)
    for (const auto& h : previous->history)
      if (h != info.snapshot_id && history.size() < keep_) history.push_back(h);
  info.history = history;

  // The link first (what the host serves), then the record; both by rename, so each is old or new.
  if (auto swapped = swap_link(state_dir_ / "sites" / info.name, fs::path("..") / "versions" / info.snapshot_id); !swapped)
    return swapped.error();
  if (!write_file_atomic(state_dir_ / "meta" / (info.name + ".json"), to_json(info).dump(2)))
    return Error{"cannot record the publish of " + info.name + " in " + (state_dir_ / "meta").string()};
  prune();
  return info;
}

Result<SiteInfo> SiteStore::rollback(const std::string& name, const std::optional<std::string>& snapshot_id) {
  auto lock = FileLock::acquire(state_dir_ / "store.lock");
  if (!lock) return lock.error();
  auto site = get(name);
  if (!site) return Error{"there is no published sandbox named " + name + " here", false, "not_found"};
  // history is newest first; the current version is somewhere in it (at the front, unless rolled back).
  auto& h = site->history;
  auto current = std::find(h.begin(), h.end(), site->snapshot_id);
  std::optional<std::string> pick;
  if (snapshot_id) {
    for (const auto& id : h)
      if (!pick && snapshot_id->size() >= 7 && id.starts_with(*snapshot_id) && has_version(id)) pick = id;
  } else {
    for (auto it = current == h.end() ? h.begin() : std::next(current); it != h.end() && !pick; ++it)
      if (*it != site->snapshot_id && has_version(*it)) pick = *it;
  }
  if (!pick)
    return Error{snapshot_id ? "the sandbox " + name + " has no kept version " + *snapshot_id + " to go back to"
                             : "the sandbox " + name + " has no earlier version to go back to",
                 false, "not_found"};
  if (auto swapped = swap_link(state_dir_ / "sites" / name, fs::path("..") / "versions" / *pick); !swapped)
    return swapped.error();
  site->snapshot_id = *pick;
  site->published_at_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  site->files = 0;
  site->bytes = 0;
  std::error_code ec;
  for (auto& e : fs::recursive_directory_iterator(version_dir(*pick), ec))
    if (e.is_regular_file(ec)) ++site->files, site->bytes += e.file_size(ec);
  if (!write_file_atomic(state_dir_ / "meta" / (name + ".json"), to_json(*site).dump(2)))
    return Error{"cannot record the rollback of " + name + " in " + (state_dir_ / "meta").string()};
  return *site;
}

Result<bool> SiteStore::unpublish(const std::string& name) {
  if (!is_valid_name(name)) return false;
  auto lock = FileLock::acquire(state_dir_ / "store.lock");
  if (!lock) return lock.error();
  std::error_code ec;
  bool linked = fs::is_symlink(state_dir_ / "sites" / name, ec);
  bool recorded = fs::exists(state_dir_ / "meta" / (name + ".json"), ec);
  if (!linked && !recorded) return false;
  // The link first: from here on nothing serves it.
  fs::remove(state_dir_ / "sites" / name, ec);
  if (ec) return Error{"cannot take down " + name + ": " + ec.message()};
  fs::remove(state_dir_ / "meta" / (name + ".json"), ec);
  prune();
  return true;
}

void SiteStore::prune() {
  std::set<std::string> keep;
  for (const auto& site : list()) keep.insert(site.history.begin(), site.history.end());
  std::error_code ec;
  // A version a site link points at is kept even when its record was lost.
  for (auto& e : fs::directory_iterator(state_dir_ / "sites", ec))
    if (e.is_symlink(ec)) keep.insert(fs::read_symlink(e.path(), ec).filename().string());
  for (auto& e : fs::directory_iterator(state_dir_ / "versions", ec)) {
    std::string id = e.path().filename().string();
    if (keep.count(id)) continue;
    remove_dir(e.path(), state_dir_ / "staging");  // out of versions/ first: never seen half-deleted
  }
}

std::vector<SiteInfo> SiteStore::list() const {
  std::vector<SiteInfo> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(state_dir_ / "meta", ec)) {
    if (e.path().extension() != ".json" || e.path().filename().string().starts_with(".tmp-")) continue;
    if (auto s = from_json(json::parse(read_file_or_empty(e.path()), nullptr, false))) out.push_back(std::move(*s));
  }
  std::sort(out.begin(), out.end(), [](const SiteInfo& a, const SiteInfo& b) { return a.name < b.name; });
  return out;
}

std::optional<SiteInfo> SiteStore::get(const std::string& name) const {
  if (!is_valid_name(name)) return std::nullopt;
  auto text = read_file(state_dir_ / "meta" / (name + ".json"));
  if (!text) return std::nullopt;
  return from_json(json::parse(*text, nullptr, false));
}

}  // namespace studyhub::publish
