#include "core/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace studyhub {

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

Result<FileLock> FileLock::lock(const std::filesystem::path& file, bool wait) {
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return Error{"cannot open the lock file " + file.string() + ": " + std::strerror(errno) +
                 "; check the state directory's permissions"};
  int rc;
  do rc = ::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return FileLock();
    return Error{"cannot lock " + file.string() + ": " + std::strerror(err)};
  }
  return FileLock(fd);
}

Result<FileLock> FileLock::acquire(const std::filesystem::path& file) { return lock(file, true); }
Result<FileLock> FileLock::try_acquire(const std::filesystem::path& file) { return lock(file, false); }

}  // namespace studyhub
