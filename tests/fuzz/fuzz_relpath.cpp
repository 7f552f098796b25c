// The link resolver against the kernel: a tree of files and links from the input is made on disk,
// and whenever the kernel refuses a link as leaving the folder (openat2 RESOLVE_BENEATH: EXDEV),
// relpath::resolve must not call it inside. Input: lines "path" (a file) or "path>target" (a link).
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/file_io.h"
#include "core/relpath.h"
#include "fuzz_check.h"

using namespace studyhub;
namespace fs = std::filesystem;

namespace {

const fs::path& scratch() {
  static fs::path dir = [] {
    char name[] = "/tmp/fuzz-relpath-XXXXXX";
    return fs::path(::mkdtemp(name));
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  relpath::LinkTree tree;
  for (size_t start = 0, n = 0; start < text.size() && n < 24; ++n) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    size_t arrow = line.find('>');
    std::string path(line.substr(0, arrow));
    if (!relpath::problem(path).empty() || path.size() > 200) continue;
    if (arrow == std::string_view::npos) tree[path] = {relpath::Entry::Kind::file, {}};
    else tree[path] = {relpath::Entry::Kind::link, std::string(line.substr(arrow + 1))};
  }
  // Every verdict is defined without the disk (no crash, bounded).
  auto bad = relpath::first_escaping_link(tree);
  (void)bad;
  // A tree, as its callers guarantee (git refuses a name that is both a file and a folder, the
  // extraction an entry that passes through a link): nothing lies beneath another entry.
  for (const auto& [path, entry] : tree)
    for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1))
      if (tree.count(path.substr(0, slash))) return 0;

  fs::path root = scratch() / "site";
  std::error_code ec;
  fs::remove_all(scratch(), ec);
  fs::create_directories(root, ec);
  for (const auto& [path, entry] : tree) {
    fs::create_directories((root / path).parent_path(), ec);
    if (ec) return 0;  // a file where a folder must go: not a tree
    if (entry.kind == relpath::Entry::Kind::link) {
      if (entry.target.find('\0') != std::string::npos) continue;
      fs::create_symlink(entry.target, root / path, ec);
    } else {
      std::ofstream(root / path) << "x";
    }
    if (ec) return 0;
  }
  int root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return 0;
  for (const auto& [path, entry] : tree) {
    if (entry.kind != relpath::Entry::Kind::link) continue;
    int fd = openat2_resolve(root_fd, path.c_str(), O_PATH | O_CLOEXEC, 0, RESOLVE_BENEATH);
    bool kernel_escapes = fd < 0 && errno == EXDEV;
    if (fd >= 0) ::close(fd);
    if (kernel_escapes)
      FUZZ_CHECK(relpath::resolve(tree, path).outcome != relpath::Resolution::Outcome::inside,
                 "a link the kernel sees leaving the folder is not called inside");
  }
  ::close(root_fd);
  return 0;
}
