// The path module: strict relative paths, normalising, and links resolved through each other as
// the kernel would, checked against the kernel itself (openat2 with RESOLVE_BENEATH) on a real tree.
#include "core/relpath.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <unistd.h>

#include <filesystem>

#include "core/file_io.h"
#include "support/fs_helpers.h"
#include "support/rpc_client.h"

using namespace studyhub;
using studyhub::testing::TempDir;
using studyhub::testing::write_file;
using relpath::Entry;
using relpath::LinkTree;
using Outcome = relpath::Resolution::Outcome;
namespace fs = std::filesystem;

namespace {

LinkTree tree(std::initializer_list<std::pair<const char*, const char*>> links, std::initializer_list<const char*> files = {}) {
  LinkTree t;
  for (auto [path, target] : links) t[path] = {Entry::Kind::link, target};
  for (auto path : files) t[path] = {Entry::Kind::file, {}};
  return t;
}

}  // namespace

TEST_CASE("relpath: strict paths, with a reason for each refusal") {
  for (auto ok : {"a", "a/b.js", "dist/index.html", ".well-known/x", "a..b", "..a", "a.."}) {
    CAPTURE(ok);
    CHECK(relpath::problem(ok).empty());
  }
  for (auto [bad, why] : std::initializer_list<std::pair<std::string, const char*>>{
           {"", "empty"}, {"/x", "absolute"}, {"x/", "empty part"}, {"a//b", "empty part"}, {"./x", "'.' part"},
           {"a/./b", "'.' part"}, {"../x", "'..' part"}, {"a/..", "'..' part"}, {std::string("a\0b", 3), "NUL"},
           {"a\\b", "backslash"}, {"a\nb", "line break"}, {std::string(5000, 'a'), "longer"}}) {
    CAPTURE(bad);
    CHECK(relpath::problem(bad).find(why) != std::string::npos);
  }
  CHECK(relpath::has_part("a/.git/x", ".git"));
  CHECK_FALSE(relpath::has_part("a/.github/x", ".git"));
}

TEST_CASE("relpath: normalise drops '.' and empty parts and refuses '..'") {
  CHECK(relpath::normalise("./dist//a/") == "dist/a");
  CHECK(relpath::normalise("") == "");
  CHECK(relpath::normalise(".") == "");
  CHECK_FALSE(relpath::normalise("a/../b"));
  CHECK_FALSE(relpath::normalise("/a"));
  CHECK_FALSE(relpath::normalise(std::string("a\0", 2)));
}

TEST_CASE("relpath: links are followed through each other, not read one by one") {
  // Each of these links stays inside when read alone; together they climb out (the tenants issue).
  auto chain = tree({{"a/b/c/x", "../../.."}, {"esc", "a/b/c/x/../../../.."}});
  CHECK(relpath::resolve(chain, "a/b/c/x").outcome == Outcome::inside);
  CHECK(relpath::resolve(chain, "esc").outcome == Outcome::escapes);
  auto bad = relpath::first_escaping_link(chain);
  REQUIRE(bad);
  CHECK(bad->path == "esc");
  // Through a directory link: d -> sub/deeper is fine, d/../../.. leaves.
  auto dir_link = tree({{"d", "sub/deeper"}, {"out", "d/../../.."}});
  CHECK(relpath::resolve(dir_link, "out").outcome == Outcome::escapes);
  // A link to a link to outside.
  auto to_link = tree({{"one", "two"}, {"two", "three/../.."}});
  CHECK(relpath::resolve(to_link, "one").outcome == Outcome::escapes);
  // Absolute anywhere in the chain, loops, empty targets.
  CHECK(relpath::resolve(tree({{"a", "b"}, {"b", "/etc/passwd"}}), "a").outcome == Outcome::absolute);
  CHECK(relpath::resolve(tree({{"a", "b"}, {"b", "a"}}), "a").outcome == Outcome::too_many_hops);
  CHECK(relpath::resolve(tree({{"a", ""}}), "a").outcome == Outcome::invalid);
  // What stays inside, and where it leads.
  auto fine = tree({{"latest.js", "assets/app.js"}, {"assets/alias", "../latest.js"}, {"up", "a/b/../c"}}, {"assets/app.js"});
  CHECK_FALSE(relpath::first_escaping_link(fine));
  CHECK(relpath::resolve(fine, "assets/alias").path == "assets/app.js");
  CHECK(relpath::resolve(fine, "up").path == "a/c");
  CHECK(relpath::resolve(tree({{"self", "."}}), "self").path == "");
}

TEST_CASE("relpath: whatever the kernel refuses as leaving the folder, resolve() refuses too") {
  TempDir dir;
  fs::path root = fs::path(dir.path()) / "site";
  std::vector<LinkTree> trees{
      tree({{"a/b/c/x", "../../.."}, {"esc", "a/b/c/x/../../../.."}}),
      tree({{"d", "sub/deeper"}, {"out", "d/../../.."}}, {"sub/deeper/f"}),
      tree({{"one", "two"}, {"two", "three/../.."}}, {"three/f"}),
      tree({{"l", "sub"}, {"m", "l/../../site/sub"}}, {"sub/f"}),
      tree({{"latest.js", "assets/app.js"}, {"assets/alias", "../latest.js"}}, {"assets/app.js"}),
      tree({{"x", "y/z"}, {"y", "."}, {"w", "y/y/y/.."}}),
  };
  for (const auto& t : trees) {
    fs::remove_all(root);
    fs::create_directories(root);
    for (const auto& [path, entry] : t) {
      fs::create_directories((root / path).parent_path());
      if (entry.kind == Entry::Kind::link) fs::create_symlink(entry.target, root / path);
      else write_file(root / path, "x");
    }
    int root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(root_fd >= 0);
    for (const auto& [path, entry] : t) {
      if (entry.kind != Entry::Kind::link) continue;
      CAPTURE(path);
      int fd = openat2_resolve(root_fd, path.c_str(), O_PATH | O_CLOEXEC, 0, RESOLVE_BENEATH);
      bool kernel_escapes = fd < 0 && errno == EXDEV;
      if (fd >= 0) ::close(fd);
      auto ours = relpath::resolve(t, path);
      if (kernel_escapes) CHECK(ours.outcome != Outcome::inside);
      if (ours.outcome == Outcome::escapes) CHECK(kernel_escapes);
    }
    ::close(root_fd);
  }
}
