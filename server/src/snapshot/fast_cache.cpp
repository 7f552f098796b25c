#include "snapshot/fast_cache.h"

#include "core/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <mutex>
#include <thread>
#include <sstream>

namespace studyhub::snapshot {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "studyhub-snapshot-cache 1\n";
constexpr int64_t kRacySeconds = 2;

StatKey key_from(const struct stat& st, bool as_git_file) {
  StatKey k;
  k.mtime_s = static_cast<int32_t>(st.st_mtim.tv_sec);
  k.mtime_ns = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  k.ctime_s = static_cast<int32_t>(st.st_ctim.tv_sec);
  k.ctime_ns = static_cast<uint32_t>(st.st_ctim.tv_nsec);
  k.ino = static_cast<uint32_t>(st.st_ino);
  k.size = static_cast<uint32_t>(st.st_size);
  if (!as_git_file) k.mode = st.st_mode;
  else if (S_ISLNK(st.st_mode)) k.mode = GIT_FILEMODE_LINK;
  else if (S_ISREG(st.st_mode)) k.mode = (st.st_mode & S_IXUSR) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
  else k.mode = 1;  // something else now: never equal to a recorded file
  return k;
}

// A small length-prefixed binary encoding: paths may hold any byte but NUL, newlines included.
class Writer {
 public:
  explicit Writer(std::ostream& out) : out_(out) {}
  void u32(uint32_t v) { raw(&v, sizeof v); }
  void i64(int64_t v) { raw(&v, sizeof v); }
  void u64(uint64_t v) { raw(&v, sizeof v); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  void key(const StatKey& k) { raw(&k, sizeof k); }
  void bytes(std::string_view s) { raw(s.data(), s.size()); }

 private:
  void raw(const void* p, size_t n) { out_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n)); }
  std::ostream& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  uint32_t u32() { return pod<uint32_t>(); }
  int64_t i64() { return pod<int64_t>(); }
  uint64_t u64() { return pod<uint64_t>(); }
  StatKey key() { return pod<StatKey>(); }
  std::string str() {
    uint32_t n = u32();
    if (!take(n)) return {};
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  // A count that must fit in what is left (each item takes at least `min_item` bytes).
  uint32_t count(size_t min_item) {
    uint32_t n = u32();
    if (static_cast<uint64_t>(n) * min_item > in_.size()) ok_ = false;
    return ok_ ? n : 0;
  }

 private:
  bool take(size_t n) {
    if (!ok_ || in_.size() < n) ok_ = false;
    return ok_;
  }
  template <class T>
  T pod() {
    T v{};
    if (!take(sizeof v)) return v;
    std::memcpy(&v, in_.data(), sizeof v);
    in_.remove_prefix(sizeof v);
    return v;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace

StatKey stat_key(const std::string& path, bool as_git_file) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return StatKey{};
  return key_from(st, as_git_file);
}

StatKey stat_key(const fs::path& path, bool as_git_file) { return stat_key(path.string(), as_git_file); }

StatKey stat_key(const git_index_entry& e) {
  StatKey k;
  k.mtime_s = e.mtime.seconds;
  k.mtime_ns = e.mtime.nanoseconds;
  k.ctime_s = e.ctime.seconds;
  k.ctime_ns = e.ctime.nanoseconds;
  k.ino = e.ino;
  k.size = e.file_size;
  k.mode = e.mode;
  return k;
}

bool same_stat(const StatKey& r, const StatKey& n) {
  return r.mode == n.mode && r.size == n.size && r.ino == n.ino && r.mtime_s == n.mtime_s &&
         r.ctime_s == n.ctime_s && (r.mtime_ns == 0 || r.mtime_ns == n.mtime_ns) &&
         (r.ctime_ns == 0 || r.ctime_ns == n.ctime_ns);
}

std::string settings_fingerprint(const settings::WorkspaceSettings& s) {
  std::string out = "include";
  for (const auto& p : s.include) out.append("\n+").append(p);
  out += "\nignore";
  for (const auto& p : s.ignore) out.append("\n-").append(p);
  out += "\nlimits " + std::to_string(s.limits.max_files) + " " + std::to_string(s.limits.max_total_bytes) +
         " " + std::to_string(s.limits.max_file_bytes);
  return out;
}

bool save_fast_cache(const fs::path& file, const FastCache& c) {
  // Streamed to the file: building the ~1 MB cache in memory first cost a warm snapshot its
  // growth copies and page faults.
  return write_file_atomic_with(file, [&](std::ostream& out) {
    Writer w(out);
    w.bytes(kMagic);
    w.i64(c.saved_at_s);
    w.str(c.config);
    for (const auto* list : {&c.watched, &c.dirs}) {
      w.u32(static_cast<uint32_t>(list->size()));
      for (const auto& [path, key] : *list) {
        w.str(path);
        w.key(key);
      }
    }
    const Snapshot& s = c.snapshot;
    w.str(s.id);
    w.str(s.commit);
    w.str(s.folder.string());
    w.u64(s.bytes);
    w.u32(static_cast<uint32_t>(s.files.size()));
    for (size_t i = 0; i < s.files.size(); ++i) {
      const auto& f = s.files[i];
      w.str(f.path);
      w.u64(f.size);
      w.u32(f.mode);
      w.str(f.blob);
      w.u32(f.binary ? 1 : 0);
      w.key(c.file_keys[i]);
    }
    w.u32(static_cast<uint32_t>(s.excluded.size()));
    for (const auto& e : s.excluded) {
      w.str(e.path);
      w.str(e.reason);
    }
    w.u32(static_cast<uint32_t>(s.warnings.size()));
    for (const auto& warning : s.warnings) w.str(warning);

    return static_cast<bool>(out);
  });
}

std::optional<FastCache> load_fast_cache(const fs::path& file) {
  // Mapped, not copied: the cache is read once, front to back.
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  void* map = MAP_FAILED;
  if (::fstat(fd, &st) == 0 && st.st_size > 0)
    map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return std::nullopt;
  struct Unmap {
    void* p;
    size_t n;
    ~Unmap() { ::munmap(p, n); }
  } unmap{map, static_cast<size_t>(st.st_size)};
  std::string_view data(static_cast<const char*>(map), static_cast<size_t>(st.st_size));
  if (data.compare(0, kMagic.size(), kMagic) != 0) return std::nullopt;
  Reader r(std::string_view(data).substr(kMagic.size()));
  FastCache c;
  c.saved_at_s = r.i64();
  c.config = r.str();
  for (auto* list : {&c.watched, &c.dirs}) {
    uint32_t n = r.count(4 + sizeof(StatKey));
    list->reserve(n);
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      std::string path = r.str();
      list->emplace_back(std::move(path), r.key());
    }
  }
  Snapshot& s = c.snapshot;
  s.id = r.str();
  s.commit = r.str();
  s.folder = r.str();
  s.bytes = r.u64();
  uint32_t files = r.count(4 + 8 + 4 + 4 + 4 + sizeof(StatKey));
  s.files.reserve(files);
  c.file_keys.reserve(files);
  for (uint32_t i = 0; i < files && r.ok(); ++i) {
    SnapshotFile f;
    f.path = r.str();
    f.size = r.u64();
    f.mode = r.u32();
    f.blob = r.str();
    f.binary = r.u32() != 0;
    s.files.push_back(std::move(f));
    c.file_keys.push_back(r.key());
  }
  uint32_t excluded = r.count(8);
  for (uint32_t i = 0; i < excluded && r.ok(); ++i) {
    std::string path = r.str();
    s.excluded.push_back({std::move(path), r.str()});
  }
  uint32_t warnings = r.count(4);
  for (uint32_t i = 0; i < warnings && r.ok(); ++i) s.warnings.push_back(r.str());
  if (!r.ok()) return std::nullopt;  // truncated or damaged: the slow path rebuilds it
  return c;
}

FastVerdict check_fast_cache(const FastCache& c, const fs::path& folder, const std::string& config,
                             const std::function<void()>& on_change) {
  FastVerdict v;
  if (c.config != config || c.snapshot.folder != folder) return v;
  int64_t racy_from = c.saved_at_s - kRacySeconds;
  for (const auto& [path, key] : c.watched)
    if (!same_stat(key, stat_key(path, false))) return v;
  const std::string base = folder.string() + "/";
  std::string path;
  for (const auto& [rel, key] : c.dirs) {
    path.assign(base).append(rel);
    if (key.mtime_s >= racy_from || !same_stat(key, stat_key(path, false))) return v;
  }

  // lstat dominates an unchanged snapshot; like git's preloaded index, spread it over the cores.
  const auto& files = c.snapshot.files;
  std::vector<char> changed(files.size(), 0);
  std::once_flag told;
  auto check_range = [&](size_t from, size_t to) {
    std::string p;
    for (size_t i = from; i < to; ++i) {
      p.assign(base).append(files[i].path);
      const StatKey& key = c.file_keys[i];
      changed[i] = key.mtime_s >= racy_from || !same_stat(key, stat_key(p, true));
      if (changed[i] && on_change) std::call_once(told, on_change);
    }
  };
  size_t threads = files.size() < 2000 ? 1 : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  size_t chunk = (files.size() + threads - 1) / threads;
  {
    std::vector<std::jthread> helpers;
    for (size_t t = 1; t < threads; ++t)
      helpers.emplace_back(check_range, std::min(files.size(), t * chunk), std::min(files.size(), (t + 1) * chunk));
    check_range(0, std::min(files.size(), chunk));
  }
  for (size_t i = 0; i < files.size(); ++i)
    if (changed[i]) v.changed.push_back(i);
  v.kind = v.changed.empty() ? FastVerdict::Kind::unchanged : FastVerdict::Kind::files_changed;
  return v;
}

void walk_dirs(const fs::path& folder, const std::vector<Exclusion>& excluded,
               std::vector<std::pair<std::string, StatKey>>& dirs, std::vector<std::string>& gitignores) {
  std::set<std::string> skip;
  for (const auto& e : excluded)
    if (!e.path.empty() && e.path.back() == '/') skip.insert(e.path.substr(0, e.path.size() - 1));
  dirs.emplace_back("", stat_key(folder, false));
  std::error_code ec;
  auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto& entry = *it;
    std::string rel = entry.path().lexically_relative(folder).generic_string();
    if (entry.is_symlink(ec)) continue;
    if (entry.is_directory(ec)) {
      if (skip.count(rel) || entry.path().filename() == ".git") {
        it.disable_recursion_pending();
        continue;
      }
      dirs.emplace_back(rel, stat_key(entry.path(), false));
    } else if (entry.path().filename() == ".gitignore") {
      gitignores.push_back(entry.path().string());
    }
  }
}

}  // namespace studyhub::snapshot
