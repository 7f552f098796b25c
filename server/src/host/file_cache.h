// What one host thread knows about the published files, so that a request for a file it served
// before costs no filesystem work: published versions never change, so a file's header fields and
// (for small files) its bytes are kept per (version, path), large files keep an open descriptor
// for sendfile, and which version a site's link points to is remembered until inotify reports a
// change under sites/ (or a version removed under versions/). One cache per thread: no locks.
//
// Correctness does not depend on timing: a rename (a publish's swap) queues its inotify event
// before the rename returns, so a request sent after a publish finished always sees the new
// version, as long as the queue is read before that request is. By default every lookup reads it;
// a host thread instead reads it when epoll says it is readable (the event is then ahead of any
// later request in epoll's ready list) and after every read it makes outside epoll (sync()).
// inotify sees only this machine's changes: on a network filesystem (NFS, EFS, SMB, …) where other
// machines publish, what the cache knows about links and versions is dropped once a second
// instead, and without inotify nothing about them is kept at all.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "host/resolve.h"

namespace studyhub::host {

// One file as served: immutable once built.
struct FileInfo {
  std::string name;           // relative path of the file served (index.html added for folders)
  uint64_t size = 0;
  std::string etag;           // quoted
  std::string last_modified;  // HTTP date
  std::string head_ok;        // "HTTP/1.1 200 OK" and every field of a whole answer but Cache-Control/Date
  std::string fields;         // the fields shared by 200, 206 and 304: type, ETag, Last-Modified, ranges
  std::string body;           // the whole file when it is small
  bool in_memory = false;
  int fd = -1;                // otherwise an open descriptor, closed with the last reference

  FileInfo() = default;
  FileInfo(const FileInfo&) = delete;
  FileInfo& operator=(const FileInfo&) = delete;
  ~FileInfo();
};

struct Found {
  enum class Kind { file, add_slash, not_found } kind = Kind::not_found;
  std::shared_ptr<const FileInfo> file;
};

struct CacheLimits {
  uint64_t max_body_bytes = 32ull << 20;  // bytes of small files held in memory
  uint64_t max_memory_file = 64 * 1024;   // larger files are sent from their descriptor
  size_t max_entries = 8192;              // files and misses remembered
  size_t max_open_files = 256;            // descriptors of large files kept open
};

class FileCache {
 public:
  FileCache(std::string state_dir, int site_depth, CacheLimits limits = {});
  ~FileCache();
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  // The file a Target::Kind::file target names, a redirect to its folder form, or nothing.
  Found find(const Target& target);

  // For an owner that watches events_fd() itself: lookups then stop reading it, and the owner
  // calls sync() when it is readable and before answering bytes it read outside its event loop.
  int events_fd() const { return inotify_; }
  void drain_on_lookup(bool on) { drain_on_lookup_ = on; }
  void sync() { drain_events(); }

 private:
  struct Entry;
  using Lru = std::list<std::string>;
  using Entries = std::unordered_map<std::string, Entry>;

  void drain_events();
  void revalidate();  // what inotify cannot tell: no inotify, or changes made by other machines
  void watch(const std::string& dir, bool versions);
  // The version a /s/ site points to, with its token; "" when the link is not a plain link into
  // versions/ (then nothing about it is cached).
  std::pair<std::string, uint64_t> site_version(const std::string& key);
  uint64_t version_token(const std::string& id);  // 0: no such version
  Found open_file(const std::string& root, const Target& target);
  void remember(std::string key, const Found& found);
  Entries::iterator erase(Entries::iterator entry);  // with what it counted against the limits
  void forget_all();

  std::string state_dir_;
  int site_depth_;
  CacheLimits limits_;
  int inotify_ = -1;
  bool drain_on_lookup_ = true;
  bool network_fs_ = false;
  uint64_t forgot_at_ms_ = 0;
  std::unordered_map<int, std::string> watched_;        // watch descriptor -> folder ("" for the state dir)
  std::unordered_map<std::string, int> watch_of_;       // folder -> watch descriptor
  std::unordered_map<std::string, std::string> links_;  // site key -> version id
  std::unordered_map<std::string, uint64_t> versions_;  // version id -> token for entries' keys
  uint64_t next_token_ = 1;
  struct Entry {
    Found found;
    Lru::iterator lru;
  };
  Entries entries_;  // "<token>\0<relative>[/]" -> what it resolved to
  Lru lru_;          // most recent first
  uint64_t body_bytes_ = 0;
  size_t open_files_ = 0;
  std::string key_;  // reused to build lookup keys without allocating
};

// Opens `relative` beneath `root` so nothing can lead outside it: RESOLVE_BENEATH refuses ".."
// and links that climb out, in one call. -1 when it is not there or not allowed.
int open_beneath(int root_fd, const std::string& relative);

}  // namespace studyhub::host
