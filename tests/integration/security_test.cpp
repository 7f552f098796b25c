// Boundaries of the state directory: nobody else may write it, and a link planted where
// studyhub-sandbox writes cannot send its writes (or the build folder's cleanup) elsewhere.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include "support/sandbox_world.h"

using namespace studyhub::testing;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a state directory other users can write is refused, not chmod-ed behind the user's back") {
  World w;
  fs::create_directories(w.state);
  ::chmod(w.state.c_str(), 0777);
  auto r = w.cli({"publish", w.static_site("s", "S").string()});
  CHECK(r.status == 1);
  CHECK(has(r.err, "is writable by other users"));
  CHECK(has(r.err, "chmod 700"));
  struct stat st {};
  ::stat(w.state.c_str(), &st);
  CHECK((st.st_mode & 0777) == 0777);  // left as the user set it
  CHECK_FALSE(fs::exists(fs::path(w.state) / "versions"));
  ::chmod(w.state.c_str(), 0700);
}

TEST_CASE("a link planted where publishes write is refused and the place it points to is untouched") {
  World w;
  fs::path outside = w.root / "outside";
  write_file(outside / "precious.txt", "keep me");
  fs::path site = w.npm_site("app", "One");
  auto first = w.cli({"publish", site.string()});
  REQUIRE(first.status == 0);

  SUBCASE("the staging folder") {
    fs::remove_all(fs::path(w.state) / "staging");
    fs::create_directory_symlink(outside, fs::path(w.state) / "staging");
    w.npm_site("app", "Two");
    auto r = w.cli({"publish", site.string()});
    CHECK(r.status == 1);
    CHECK(has(r.err, "staging is a link"));
    fs::remove(fs::path(w.state) / "staging");
  }
  SUBCASE("a build folder, which a build empties first") {
    fs::path work = fs::path(w.state) / "work";
    REQUIRE(fs::exists(work));
    fs::path key = fs::directory_iterator(work)->path();
    fs::remove_all(key);
    fs::create_directory_symlink(outside, key);
    w.npm_site("app", "Three");
    auto r = w.cli({"publish", site.string()});
    CHECK(r.status == 1);
    CHECK(has(r.err, "is a link, which could redirect the build's writes"));
    fs::remove(key);
  }
  CHECK(read_file(outside / "precious.txt") == "keep me");
  CHECK(std::distance(fs::directory_iterator(outside), fs::directory_iterator()) == 1);
  // The last good site still serves.
  CHECK(has(http_get(World::url_of(first)).body, "<h1>One</h1>"));
}
