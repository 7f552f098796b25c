#include "host/file_cache.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <cstdio>
#include <filesystem>

#include "core/file_io.h"
#include "host/responses.h"
#include "publish/store.h"

namespace studyhub::host {

namespace fs = std::filesystem;

FileInfo::~FileInfo() {
  if (fd >= 0) ::close(fd);
}

int open_beneath(int root_fd, const std::string& relative) {
  const char* path = relative.empty() ? "." : relative.c_str();
  int fd = openat2_resolve(root_fd, path, O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
  if (fd >= 0 || errno != ENOSYS) return fd;
  // Kernels before 5.6: resolve every link and require the result inside the site.
  std::error_code ec;
  fs::path real_root = fs::canonical("/proc/self/fd/" + std::to_string(root_fd), ec);
  fs::path real = ec ? fs::path() : fs::canonical(real_root / relative, ec);
  const std::string& r = real_root.native();
  const std::string& p = real.native();
  bool inside = !ec && (p == r || (p.size() > r.size() && p.compare(0, r.size(), r) == 0 && p[r.size()] == '/'));
  return inside ? ::open(real.c_str(), O_RDONLY | O_CLOEXEC) : -1;
}

namespace {

constexpr uint32_t kFolderEvents = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;
constexpr uint32_t kVersionEvents = IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF;

std::shared_ptr<FileInfo> describe(int fd, const struct stat& st, std::string name, const CacheLimits& limits) {
  auto info = std::make_shared<FileInfo>();
  info->name = std::move(name);
  info->size = static_cast<uint64_t>(st.st_size);
  char etag[96];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx-%llx\"", static_cast<unsigned long long>(st.st_ino),
                static_cast<unsigned long long>(info->size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec));
  info->etag = etag;
  info->last_modified = http_date(st.st_mtim.tv_sec);
  info->fields = "Content-Type: ";
  info->fields += mime_type(info->name);
  info->fields += "\r\nETag: " + info->etag + "\r\nLast-Modified: " + info->last_modified + "\r\nAccept-Ranges: bytes\r\n";
  info->head_ok = status_line(200) + info->fields + "Content-Length: " + std::to_string(info->size) + "\r\n";
  if (info->size <= limits.max_memory_file) {
    info->body.resize(info->size);
    size_t got = 0;
    while (got < info->size) {
      ssize_t n = ::pread(fd, info->body.data() + got, info->size - got, static_cast<off_t>(got));
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    ::close(fd);
    if (got != info->size) return nullptr;  // shrank while read: not a published file
    info->in_memory = true;
  } else {
    info->fd = fd;
  }
  return info;
}

// Filesystems where another machine can swap a site's link without this machine's inotify hearing
// of it (magic numbers from linux/magic.h and the filesystems' sources).
bool on_network_filesystem(const std::string& path) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) return false;
  switch (static_cast<uint64_t>(static_cast<uint32_t>(st.f_type))) {
    case 0x6969:      // NFS, EFS
    case 0x517B:      // SMB
    case 0xFE534D42:  // SMB2
    case 0xFF534D42:  // CIFS
    case 0x00C36400:  // Ceph
    case 0x65735546:  // FUSE (sshfs, s3fs, glusterfs …)
    case 0x01021997:  // 9p
    case 0x5346414F:  // AFS
    case 0x01161970:  // GFS2
    case 0x7461636F:  // OCFS2
      return true;
    default:
      return false;
  }
}

uint64_t coarse_now_ms() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // vDSO: no system call
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace

FileCache::FileCache(std::string state_dir, int site_depth, CacheLimits limits)
    : state_dir_(std::move(state_dir)), site_depth_(site_depth), limits_(limits) {
  inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_ >= 0) watch("", false);  // sites/ and versions/ appearing or going
  network_fs_ = on_network_filesystem(state_dir_);
}

FileCache::~FileCache() {
  if (inotify_ >= 0) ::close(inotify_);
}

void FileCache::watch(const std::string& dir, bool versions) {
  if (inotify_ < 0 || watch_of_.count(dir)) return;
  std::string path = dir.empty() ? state_dir_ : state_dir_ + "/" + dir;
  int wd = ::inotify_add_watch(inotify_, path.c_str(), (versions ? kVersionEvents : kFolderEvents) | IN_ONLYDIR);
  if (wd < 0) return;
  watched_[wd] = dir;
  watch_of_[dir] = wd;
}

void FileCache::forget_all() {
  links_.clear();
  versions_.clear();
  entries_.clear();
  lru_.clear();
  body_bytes_ = 0;
  open_files_ = 0;
}

void FileCache::drain_events() {
  if (inotify_ < 0) return;
  alignas(struct inotify_event) char buf[4096];
  for (;;) {
    ssize_t n = ::read(inotify_, buf, sizeof buf);
    if (n <= 0) return;  // EAGAIN: nothing changed since the last request
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        forget_all();
        continue;
      }
      auto it = watched_.find(ev->wd);
      if (it == watched_.end()) continue;
      std::string dir = it->second;
      std::string name = ev->len ? std::string(ev->name) : std::string();
      if (ev->mask & IN_IGNORED) {  // the folder went away: its watch is gone with it
        watch_of_.erase(dir);
        watched_.erase(it);
        forget_all();
      } else if (dir.empty() || (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))) {
        forget_all();  // sites/ or versions/ itself created, replaced or removed
      } else if (dir == "versions") {
        auto v = versions_.find(name);
        if (v == versions_.end()) continue;
        // Drop what was kept of the removed version now: its open descriptors hold disk space.
        std::string prefix = std::to_string(v->second) + '\0';
        for (auto e = entries_.begin(); e != entries_.end();) {
          if (e->first.compare(0, prefix.size(), prefix) != 0) {
            ++e;
            continue;
          }
          e = erase(e);
        }
        versions_.erase(v);
        for (auto l = links_.begin(); l != links_.end();) l = l->second == name ? links_.erase(l) : std::next(l);
      } else if (dir == "sites" && site_depth_ > 1) {
        links_.clear();  // a user's folder of sites changed as a whole
      } else {
        // sites/<name> (or sites/<user>/<name>) swapped, created or removed.
        std::string key = dir == "sites" ? name : dir.substr(6) + "/" + name;
        links_.erase(key);
      }
    }
  }
}

uint64_t FileCache::version_token(const std::string& id) {
  auto it = versions_.find(id);
  if (it != versions_.end()) return it->second;
  watch("versions", true);
  if (!watch_of_.count("versions")) return 0;
  struct stat st {};
  if (::stat((state_dir_ + "/versions/" + id).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  uint64_t token = next_token_++;
  versions_.emplace(id, token);
  return token;
}

std::pair<std::string, uint64_t> FileCache::site_version(const std::string& key) {
  auto it = links_.find(key);
  if (it != links_.end()) {
    uint64_t token = version_token(it->second);
    if (token) return {it->second, token};
  }
  // The watch goes on before the link is read, so a swap after the read is always reported.
  auto slash = key.rfind('/');
  std::string parent = slash == std::string::npos ? "sites" : "sites/" + key.substr(0, slash);
  if (parent != "sites") watch("sites", false);
  watch(parent, false);
  if (!watch_of_.count(parent)) return {"", 0};
  char target[4096];
  std::string link = state_dir_ + "/sites/" + key;
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return {"", 0};
  fs::path resolved = (fs::path(state_dir_) / parent / std::string(target, static_cast<size_t>(n))).lexically_normal();
  std::string id = resolved.filename().string();
  if (resolved.parent_path() != (fs::path(state_dir_) / "versions").lexically_normal() || !publish::is_version_name(id))
    return {"", 0};
  uint64_t token = version_token(id);
  if (token) links_[key] = id;
  return {id, token};
}

void FileCache::revalidate() {
  if (inotify_ < 0) return forget_all();  // nothing would tell us of a swap: keep nothing
  if (!network_fs_) return;
  uint64_t now = coarse_now_ms();
  if (now - forgot_at_ms_ >= 1000) {
    forget_all();
    forgot_at_ms_ = now;
  }
}

Found FileCache::find(const Target& target) {
  if (drain_on_lookup_) drain_events();
  revalidate();
  std::string id;
  uint64_t token = 0;
  if (target.immutable) {
    id = target.key;
    token = version_token(id);
  } else {
    std::tie(id, token) = site_version(target.key);
  }
  if (!token) return open_file(target.root, target);
  key_.clear();
  key_ += std::to_string(token);
  key_ += '\0';
  key_ += target.relative;
  if (target.directory_form) key_ += '/';
  auto hit = entries_.find(key_);
  if (hit != entries_.end()) {
    lru_.splice(lru_.begin(), lru_, hit->second.lru);
    return hit->second.found;
  }
  Found found = open_file(state_dir_ + "/versions/" + id, target);
  remember(key_, found);
  return found;
}

Found FileCache::open_file(const std::string& root, const Target& target) {
  Found found;
  int root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);  // follows sites/<name> to its version
  if (root_fd < 0) return found;
  struct stat st {};
  auto open_and_stat = [&](const std::string& relative) {
    int fd = open_beneath(root_fd, relative);
    if (fd >= 0 && ::fstat(fd, &st) != 0) {
      ::close(fd);
      fd = -1;
    }
    return fd;
  };
  int fd = open_and_stat(target.relative);
  std::string name = target.relative;
  if (fd >= 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    fd = -1;
    if (!target.directory_form && !target.relative.empty()) {
      ::close(root_fd);
      found.kind = Found::Kind::add_slash;
      return found;
    }
    name = target.relative.empty() ? "index.html" : target.relative + "/index.html";  // never a listing
    fd = open_and_stat(name);
  }
  ::close(root_fd);
  if (fd < 0) return found;
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return found;
  }
  auto info = describe(fd, st, std::move(name), limits_);
  if (!info) return found;
  found.kind = Found::Kind::file;
  found.file = std::move(info);
  return found;
}

void FileCache::remember(std::string key, const Found& found) {
  lru_.push_front(key);
  entries_[std::move(key)] = Entry{found, lru_.begin()};
  if (found.file && found.file->in_memory) body_bytes_ += found.file->size;
  if (found.file && found.file->fd >= 0) ++open_files_;
  while (!lru_.empty() && (entries_.size() > limits_.max_entries || body_bytes_ > limits_.max_body_bytes ||
                           open_files_ > limits_.max_open_files))
    erase(entries_.find(lru_.back()));
}

FileCache::Entries::iterator FileCache::erase(Entries::iterator entry) {
  const auto& file = entry->second.found.file;
  if (file && file->in_memory) body_bytes_ -= file->size;
  if (file && file->fd >= 0) --open_files_;
  lru_.erase(entry->second.lru);
  return entries_.erase(entry);
}

}  // namespace studyhub::host
