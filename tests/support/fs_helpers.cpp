#include "support/fs_helpers.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace studyhub::testing {

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string git(const fs::path& dir, std::vector<std::string> args) {
  std::vector<std::string> argv{"git", "-C", dir.string(), "-c", "user.name=Test", "-c", "user.email=t@example.com",
                                "-c", "init.defaultBranch=main", "-c", "core.autocrlf=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv, {{"GIT_CONFIG_NOSYSTEM", "1"}, {"GIT_CONFIG_GLOBAL", "/dev/null"}});
  if (r.status != 0) throw std::runtime_error("git failed: " + r.err);
  return r.out;
}

std::map<std::string, EntryState> folder_state(const fs::path& root) {
  std::map<std::string, EntryState> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    EntryState e;
    e.mode = st.st_mode;
    e.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    if (S_ISLNK(st.st_mode)) {
      e.type = "link";
      e.content = fs::read_symlink(it->path()).string();
    } else if (S_ISDIR(st.st_mode)) {
      e.type = "dir";
    } else {
      e.type = "file";
      e.content = read_file(it->path());
    }
    out[fs::relative(it->path(), root).string()] = e;
  }
  return out;
}

}  // namespace studyhub::testing
