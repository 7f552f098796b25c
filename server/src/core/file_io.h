// Whole-file reads and crash-safe writes (a temporary file renamed over the target, so a reader or
// a crash sees the old content or the new, never half of it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <optional>
#include <string>
#include <string_view>

namespace studyhub {

// nullopt when the file cannot be opened.
std::optional<std::string> read_file(const std::filesystem::path& path);
// Empty when the file cannot be opened.
inline std::string read_file_or_empty(const std::filesystem::path& path) { return read_file(path).value_or(""); }

bool write_file_atomic(const std::filesystem::path& path, std::string_view content);
// The same for content written piece by piece into the stream given to `write` (false: give up).
bool write_file_atomic_with(const std::filesystem::path& path, const std::function<bool(std::ostream&)>& write);

// openat2(2): opens `path` relative to `dir_fd` under the `resolve` rules (RESOLVE_BENEATH, …),
// with O_CLOEXEC added. -1 with errno set; ENOSYS before Linux 5.6, where the caller falls back.
int openat2_resolve(int dir_fd, const char* path, int flags, mode_t mode, uint64_t resolve);

}  // namespace studyhub
