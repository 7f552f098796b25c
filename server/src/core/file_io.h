// Whole-file reads and crash-safe writes (a temporary file renamed over the target, so a reader or
// a crash sees the old content or the new, never half of it).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace studyhub {

// nullopt when the file cannot be opened.
std::optional<std::string> read_file(const std::filesystem::path& path);
// Empty when the file cannot be opened.
inline std::string read_file_or_empty(const std::filesystem::path& path) { return read_file(path).value_or(""); }

bool write_file_atomic(const std::filesystem::path& path, std::string_view content);

}  // namespace studyhub
