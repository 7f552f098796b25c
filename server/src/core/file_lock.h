// An advisory lock on a file (flock), shared by every process that uses the same state directory.
// Released when the FileLock is destroyed, or by the kernel when the process dies.
#pragma once

#include <chrono>
#include <filesystem>

#include "core/error.h"

namespace studyhub {

class FileLock {
 public:
  FileLock() = default;
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&& other) noexcept;
  ~FileLock();

  // Blocks until the lock is held (exclusive). Creates the file if needed.
  static Result<FileLock> acquire(const std::filesystem::path& file);
  // Returns an unheld FileLock (held() == false) when another process holds it.
  static Result<FileLock> try_acquire(const std::filesystem::path& file);

  bool held() const { return fd_ >= 0; }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  static Result<FileLock> lock(const std::filesystem::path& file, bool wait);
  int fd_ = -1;
};

}  // namespace studyhub
