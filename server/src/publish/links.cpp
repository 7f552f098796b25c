#include "publish/links.h"

#include <cstdio>
#include <cstring>
#include <random>

namespace studyhub::publish {

namespace fs = std::filesystem;

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

Status commit_dir(const fs::path& staging, const fs::path& final_dir) {
  std::error_code ec;
  if (fs::is_directory(final_dir, ec)) {
    fs::remove_all(staging, ec);  // built twice: the first one stays, byte for byte the same input
    return ok_status();
  }
  fs::rename(staging, final_dir, ec);
  if (ec && fs::is_directory(final_dir)) {  // another process committed the same version meanwhile
    fs::remove_all(staging, ec);
    return ok_status();
  }
  if (ec) return Error{"cannot store the built site in " + final_dir.parent_path().string() + ": " + ec.message(), false, "io"};
  return ok_status();
}

Status swap_link(const fs::path& link, const fs::path& target) {
  fs::path tmp = link.parent_path() / (".tmp-" + link.filename().string() + "-" + random_suffix());
  std::error_code ec;
  fs::create_symlink(target, tmp, ec);
  if (ec) return Error{"cannot publish " + link.filename().string() + ": " + ec.message(), false, "io"};
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    std::string why = std::strerror(errno);
    fs::remove(tmp, ec);
    return Error{"cannot publish " + link.filename().string() + ": " + why, false, "io"};
  }
  return ok_status();
}

void remove_dir(const fs::path& dir, const fs::path& trash_parent) {
  std::error_code ec;
  fs::path trash = trash_parent / ("trash-" + dir.filename().string() + "-" + random_suffix());
  fs::rename(dir, trash, ec);
  if (!ec) fs::remove_all(trash, ec);
}

}  // namespace studyhub::publish
