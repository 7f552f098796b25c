#include "core/file_io.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

namespace studyhub {

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

bool write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  // Unique per process and call: writers in other processes or threads never share a temp file.
  static std::atomic<unsigned> counter{0};
  std::filesystem::path tmp = path.parent_path() / (".tmp-" + path.filename().string() + "-" +
                                                    std::to_string(::getpid()) + "-" + std::to_string(counter++));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out.write(content.data(), static_cast<std::streamsize>(content.size())) || !out.flush()) {
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

}  // namespace studyhub
