#include "archive/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <set>

namespace studyhub::archive {

namespace fs = std::filesystem;

namespace {

using ArchivePtr = std::unique_ptr<struct archive, decltype(&archive_read_free)>;

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
  std::string out;
  while (!name.empty()) {
    size_t slash = name.find('/');
    std::string_view part = name.substr(0, slash);
    name = slash == std::string_view::npos ? std::string_view{} : name.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      why = "a '..' path";
      return std::nullopt;
    }
    if (!out.empty()) out.push_back('/');
    out.append(part);
  }
  return out;
}

// A link target stays inside the site when, resolved from the link's folder, it never climbs out.
bool link_stays_inside(const std::string& link_rel, std::string_view target) {
  if (target.empty() || target.front() == '/') return false;
  int depth = 0;
  for (char c : link_rel)
    if (c == '/') ++depth;
  while (!target.empty()) {
    size_t slash = target.find('/');
    std::string_view part = target.substr(0, slash);
    target = slash == std::string_view::npos ? std::string_view{} : target.substr(slash + 1);
    if (part == "..") {
      if (--depth < 0) return false;
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
  }
  return true;
}

// A failure of this machine's disk, not of the archive: code "io" tells the two apart.
Error write_error(const fs::path& dest, int err) {
  std::string hint = err == ENOSPC || err == EDQUOT || err == EFBIG
                         ? "; free disk space where the state directory lives (or lower keepVersions) and publish again"
                         : "";
  return Error{"cannot write the site to " + dest.parent_path().string() + ": " + std::strerror(err) + hint, false, "io"};
}

Status write_file(struct archive* a, const fs::path& dest, mode_t mode, uint64_t& total, uint64_t max_bytes,
                  uint64_t& written) {
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return write_error(dest, errno);
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
        return write_error(dest, err);
      }
      done += static_cast<size_t>(n);
    }
  }
  if (::close(fd) != 0) return write_error(dest, errno);
  if (rc != ARCHIVE_EOF)
    return Error{"the site archive is truncated or damaged (" + std::string(archive_error_string(a) ? archive_error_string(a) : "read error") + ")"};
  return ok_status();
}

}  // namespace

Result<Extracted> extract_site(std::string_view tar_gz, const fs::path& staging, const ExtractLimits& limits,
                               std::string_view root_dir) {
  ArchivePtr a(archive_read_new(), archive_read_free);
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), tar_gz.data(), tar_gz.size()) != ARCHIVE_OK)
    return Error{"the build output is not a gzip-compressed tar archive (" +
                 std::string(archive_error_string(a.get()) ? archive_error_string(a.get()) : "unreadable") + ")"};

  Extracted out;
  uint64_t entries = 0;
  bool saw_root = false;
  std::set<std::string> links;  // no later entry may pass through one
  std::set<fs::path> made{staging};  // folders known to exist: one mkdir per folder, not per file
  auto make_dirs = [&](const fs::path& dir) -> Status {
    if (made.count(dir)) return ok_status();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Error{"cannot create " + dir.string() + ": " + ec.message()};
    made.insert(dir);
    return ok_status();
  };
  struct archive_entry* entry = nullptr;
  while (true) {
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      if (entries == 0 && archive_filter_count(a.get()) <= 1)
        return Error{"the build output is not a gzip-compressed tar archive"};
      return Error{"the site archive is truncated or damaged (" +
                   std::string(archive_error_string(a.get()) ? archive_error_string(a.get()) : "read error") + ")"};
    }
    if (++entries > limits.max_entries)
      return Error{"the site archive holds more than " + std::to_string(limits.max_entries) +
                   " entries; it was refused as a possible archive bomb"};
    const char* raw_name = archive_entry_pathname(entry);
    std::string why;
    auto rel = site_relative(raw_name ? raw_name : "", root_dir, why);
    if (!rel) return Error{"the site archive was refused: it holds " + why + " (" + (raw_name ? raw_name : "") + ")"};
    saw_root = true;
    for (size_t at = rel->find('/'); at != std::string::npos; at = rel->find('/', at + 1))
      if (links.count(rel->substr(0, at)))
        return Error{"the site archive was refused: " + *rel + " passes through a link"};
    if (links.count(*rel)) return Error{"the site archive was refused: " + *rel + " appears twice"};

    fs::path dest = rel->empty() ? staging : staging / *rel;
    if (archive_entry_hardlink(entry)) return Error{"the site archive was refused: it holds a hard link (" + *rel + ")"};
    mode_t type = archive_entry_filetype(entry);
    std::error_code ec;
    if (type == AE_IFDIR) {
      if (auto made_dir = make_dirs(dest); !made_dir) return made_dir.error();
      continue;
    }
    if (rel->empty()) return Error{"the site archive was refused: its " + std::string(root_dir) + " entry is not a folder"};
    if (auto made_dir = make_dirs(dest.parent_path()); !made_dir) return made_dir.error();
    if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      if (!target || !link_stays_inside(*rel, target))
        return Error{"the site archive was refused: the link " + *rel + " points outside the site"};
      fs::create_symlink(target, dest, ec);
      if (ec) return Error{"cannot create the link " + *rel + ": " + ec.message()};
      links.insert(*rel);
      continue;
    }
    if (type != AE_IFREG)
      return Error{"the site archive was refused: " + *rel + " is a device, FIFO or socket"};
    mode_t mode = (archive_entry_perm(entry) & 0111) ? 0755 : 0644;
    uint64_t length = 0;
    auto written = write_file(a.get(), dest, mode, out.bytes, limits.max_bytes, length);
    if (!written) return written.error();
    // A file shorter than its header says means the stream ended early.
    if (archive_entry_size_is_set(entry) && length < static_cast<uint64_t>(archive_entry_size(entry)))
      return Error{"the site archive is truncated or damaged (" + *rel + " is cut short)"};
    ++out.files;
  }
  if (!saw_root)
    return Error{"the build output holds no " + std::string(root_dir) + "/ folder; check the build's output folder"};
  return out;
}

}  // namespace studyhub::archive
