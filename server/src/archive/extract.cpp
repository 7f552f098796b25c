#include "archive/extract.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_set>

#include "archive/tar_stream.h"
#include "core/file_io.h"
#include "core/relpath.h"
#include "libs/archive.h"

namespace studyhub::archive {

namespace fs = std::filesystem;

namespace {

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveFree>;

// "build/a/b.js" -> "a/b.js"; "" for the root itself; nullopt when outside root_dir or unsafe.
std::optional<std::string> site_relative(std::string_view name, std::string_view root_dir, std::string& why) {
  if (name.starts_with("./")) name.remove_prefix(2);
  if (name.empty() || name.front() == '/') {
    why = "an absolute path";
    return std::nullopt;
  }
  if (name.find('\\') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    why = "a backslash or NUL in a name";
    return std::nullopt;
  }
  if (!name.starts_with(root_dir) || (name.size() > root_dir.size() && name[root_dir.size()] != '/')) {
    why = "an entry outside " + std::string(root_dir) + "/";
    return std::nullopt;
  }
  name.remove_prefix(root_dir.size());
  while (name.starts_with('/')) name.remove_prefix(1);
  auto out = relpath::normalise(name);
  if (!out) why = "a '..' path";
  return out;
}


// A failure of this machine's disk, not of the archive: code "io" tells the two apart.
Error write_error(const fs::path& dest, int err) {
  std::string hint = err == ENOSPC || err == EDQUOT || err == EFBIG
                         ? "; free disk space where the state directory lives (or lower keepVersions) and publish again"
                         : "";
  return Error{"cannot write the site to " + dest.parent_path().string() + ": " + std::strerror(err) + hint, false, "io"};
}

// Opens or creates beneath the staging folder without following any link on the way: the archive's
// own links are refused as folders, and nothing else may redirect a write.
int open_beneath(int root_fd, const std::string& rel, int flags, mode_t mode) {
  int fd = openat2_resolve(root_fd, rel.c_str(), flags, mode, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
  if (fd >= 0 || errno != ENOSYS) return fd;
  return ::openat(root_fd, rel.c_str(), flags | O_CLOEXEC | O_NOFOLLOW, mode);  // before Linux 5.6
}

Status write_file(struct archive* a, int root_fd, const std::string& rel, const fs::path& staging, mode_t mode,
                  uint64_t& total, uint64_t max_bytes, uint64_t& written) {
  int fd = open_beneath(root_fd, rel, O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0) return write_error(staging / rel, errno);
  const void* block;
  size_t size;
  la_int64_t offset;
  int rc;
  while ((rc = archive_read_data_block(a, &block, &size, &offset)) == ARCHIVE_OK) {
    total += size;
    written = std::max<uint64_t>(written, static_cast<uint64_t>(offset) + size);
    if (total > max_bytes) {
      ::close(fd);
      return Error{"the site unpacks to more than " + std::to_string(max_bytes >> 20) +
                   " MB; it was refused as a possible archive bomb"};
    }
    // A full disk first shows as a short write; the next write says why.
    for (size_t done = 0; done < size;) {
      ssize_t n = ::pwrite(fd, static_cast<const char*>(block) + done, size - done, offset + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = n < 0 ? errno : ENOSPC;
        ::close(fd);
        return write_error(staging / rel, err);
      }
      done += static_cast<size_t>(n);
    }
  }
  if (::close(fd) != 0) return write_error(staging / rel, errno);
  if (rc != ARCHIVE_EOF) return Error{};  // the caller says why: the stream's error or libarchive's
  return ok_status();
}

la_ssize_t read_block(struct archive*, void* stream, const void** buffer) {
  auto* s = static_cast<TarStream*>(stream);
  std::string_view block = s->next();
  *buffer = block.data();
  if (block.empty()) return s->error() ? ARCHIVE_FATAL : 0;
  return static_cast<la_ssize_t>(block.size());
}

Result<Extracted> extract(TarStream& stream, const fs::path& staging, const ExtractLimits& limits,
                          std::string_view root_dir) {
  ArchivePtr a(archive_read_new());
  archive_read_support_format_tar(a.get());  // the stream is already inflated
  // Why the archive could not be read: the decoder's reason (not base64, not gzip, cut short)
  // comes first, it is the cause of whatever libarchive saw.
  auto failure = [&](bool first_entry) -> Error {
    if (auto e = stream.error()) return *e;
    if (first_entry) return Error{"the build output is not a gzip-compressed tar archive"};
    const char* why = archive_error_string(a.get());
    return Error{"the site archive is truncated or damaged (" + std::string(why ? why : "read error") + ")"};
  };
  if (archive_read_open(a.get(), &stream, nullptr, read_block, nullptr) != ARCHIVE_OK) return failure(true);
  int root_fd = ::open(staging.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return write_error(staging / ".", errno);
  struct CloseRoot {
    int fd;
    ~CloseRoot() { ::close(fd); }
  } close_root{root_fd};

  Extracted out;
  uint64_t entries = 0;
  bool saw_root = false;
  relpath::LinkTree links;                      // no later entry may pass through one; checked together at the end
  std::unordered_set<std::string> made{""};      // folders known to exist: one mkdir per folder, not per file
  // Creates `dir` (relative, '/'-joined) and its missing parents beneath the staging folder.
  auto make_dirs = [&](const std::string& dir) -> Status {
    if (made.count(dir)) return ok_status();
    for (size_t at = dir.find('/');; at = dir.find('/', at + 1)) {
      std::string part = dir.substr(0, at);
      if (!made.count(part)) {
        if (::mkdirat(root_fd, part.c_str(), 0755) != 0 && errno != EEXIST)
          return Error{"cannot create " + (staging / part).string() + ": " + std::strerror(errno)};
        struct stat st {};
        if (::fstatat(root_fd, part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
          return Error{"the site archive was refused: " + part + " is both a file and a folder"};
        made.insert(part);
      }
      if (at == std::string::npos) break;
    }
    return ok_status();
  };
  struct archive_entry* entry = nullptr;
  while (true) {
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return failure(entries == 0);
    if (++entries > limits.max_entries)
      return Error{"the site archive holds more than " + std::to_string(limits.max_entries) +
                   " entries; it was refused as a possible archive bomb"};
    const char* raw_name = archive_entry_pathname(entry);
    std::string why;
    auto rel = site_relative(raw_name ? raw_name : "", root_dir, why);
    if (!rel) return Error{"the site archive was refused: it holds " + why + " (" + (raw_name ? raw_name : "") + ")"};
    saw_root = true;
    if (!links.empty()) {
      for (size_t at = rel->find('/'); at != std::string::npos; at = rel->find('/', at + 1))
        if (links.count(std::string_view(*rel).substr(0, at)))
          return Error{"the site archive was refused: " + *rel + " passes through a link"};
      if (links.count(*rel)) return Error{"the site archive was refused: " + *rel + " appears twice"};
    }
    if (archive_entry_hardlink(entry)) return Error{"the site archive was refused: it holds a hard link (" + *rel + ")"};
    mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) {
      if (rel->empty()) continue;
      if (auto made_dir = make_dirs(*rel); !made_dir) return made_dir.error();
      continue;
    }
    if (rel->empty()) return Error{"the site archive was refused: its " + std::string(root_dir) + " entry is not a folder"};
    auto slash = rel->rfind('/');
    if (slash != std::string::npos)
      if (auto made_dir = make_dirs(rel->substr(0, slash)); !made_dir) return made_dir.error();
    if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      // Alone first (a link that leaves by itself is never created), then with the others below.
      relpath::LinkTree alone{{*rel, {relpath::Entry::Kind::link, target ? target : ""}}};
      if (!target || relpath::resolve(alone, *rel).outcome != relpath::Resolution::Outcome::inside)
        return Error{"the site archive was refused: the link " + *rel + " points outside the site", false, "output.link"};
      if (::symlinkat(target, root_fd, rel->c_str()) != 0)
        return Error{"cannot create the link " + *rel + ": " + std::strerror(errno)};
      links[*rel] = {relpath::Entry::Kind::link, target};
      continue;
    }
    if (type != AE_IFREG)
      return Error{"the site archive was refused: " + *rel + " is a device, FIFO or socket"};
    mode_t mode = (archive_entry_perm(entry) & 0111) ? 0755 : 0644;
    uint64_t length = 0;
    auto written = write_file(a.get(), root_fd, *rel, staging, mode, out.bytes, limits.max_bytes, length);
    if (!written) return written.error().message.empty() ? failure(false) : written.error();
    // A file shorter than its header says means the stream ended early.
    if (archive_entry_size_is_set(entry) && length < static_cast<uint64_t>(archive_entry_size(entry)))
      return Error{"the site archive is truncated or damaged (" + *rel + " is cut short)"};
    ++out.files;
  }
  // The tar's end may come before the end of the compressed stream: read the rest, so a stream
  // cut short (a missing gzip trailer, a wrong checksum) is an error as it is for gzip.
  while (!stream.next().empty()) {
  }
  if (auto e = stream.error()) return *e;
  if (!saw_root)
    return Error{"the build output holds no " + std::string(root_dir) + "/ folder; check the build's output folder"};
  // Each link followed through the others, as a server reading the folder would.
  if (auto bad = relpath::first_escaping_link(links)) {
    for (const auto& [path, entry] : links) ::unlinkat(root_fd, path.c_str(), 0);  // none is left to follow
    return Error{"the site archive was refused: the link " + bad->path + " " + bad->resolution.why(), false, "output.link"};
  }
  return out;
}

// The stream's bound: the files' limit plus the tar's own headers and padding.
uint64_t stream_bound(const ExtractLimits& limits) { return limits.max_bytes + 1024 * limits.max_entries + (1u << 20); }

}  // namespace

Result<Extracted> extract_site(std::string_view tar_gz, const fs::path& staging, const ExtractLimits& limits,
                               std::string_view root_dir) {
  TarStream stream(tar_gz, TarStream::Input::gzip, stream_bound(limits));
  return extract(stream, staging, limits, root_dir);
}

Result<Extracted> extract_site_base64(std::string_view text, const fs::path& staging, const ExtractLimits& limits,
                                      std::string_view root_dir) {
  TarStream stream(text, TarStream::Input::base64, stream_bound(limits));
  return extract(stream, staging, limits, root_dir);
}

}  // namespace studyhub::archive
