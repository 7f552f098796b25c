#include "core/file_io.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <atomic>
#include <fstream>
#include <vector>

namespace studyhub {

std::optional<std::string> read_file(const std::filesystem::path& path) {
  // One allocation of the file's size and plain reads: a stream's growing buffer copied a 1 MB
  // stat cache several times over, a visible share of a warm snapshot.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) text.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  for (;;) {
    if (got == text.size()) text.resize(std::max<size_t>(4096, text.size() * 2));  // grew, or no size known
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  return text;
}

bool write_file_atomic_with(const std::filesystem::path& path, const std::function<bool(std::ostream&)>& write) {
  // Unique per process and call: writers in other processes or threads never share a temp file.
  static std::atomic<unsigned> counter{0};
  std::filesystem::path tmp = path.parent_path() / (".tmp-" + path.filename().string() + "-" +
                                                    std::to_string(::getpid()) + "-" + std::to_string(counter++));
  {
    // A 64 KB buffer: a large file written in many small pieces (the snapshot's stat cache) goes
    // out in a few system calls, and no copy of it is built in memory first.
    std::vector<char> buffer(64 * 1024);
    std::ofstream out;
    out.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    out.open(tmp, std::ios::binary | std::ios::trunc);
    if (!out || !write(out) || !out.flush()) {
      out.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
  return !ec;
}

bool write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  return write_file_atomic_with(path, [&](std::ostream& out) {
    return static_cast<bool>(out.write(content.data(), static_cast<std::streamsize>(content.size())));
  });
}

int openat2_resolve(int dir_fd, const char* path, int flags, mode_t mode, uint64_t resolve) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = mode;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dir_fd, path, &how, sizeof how));
}

}  // namespace studyhub
