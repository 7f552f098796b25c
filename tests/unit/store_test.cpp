#include "publish/store.h"

#include <doctest/doctest.h>

#include "support/fs_helpers.h"
#include "support/rpc_client.h"

using namespace studyhub;
using namespace studyhub::testing;

namespace {
std::string id_of(int n) {
  char buf[41];
  std::snprintf(buf, sizeof buf, "%040x", n);
  return buf;
}
void build_version(publish::SiteStore& store, int n) {
  auto staging = store.new_staging();
  REQUIRE(staging.ok());
  write_file(staging.value() / "index.html", "version " + std::to_string(n));
  REQUIRE(store.commit_version(staging.value(), id_of(n)).ok());
}
}  // namespace

TEST_CASE("slugs are URL-safe") {
  CHECK(publish::slugify("My Sandbox (v2)") == "my-sandbox-v2");
  CHECK(publish::slugify("ünïcode") == "n-code");
  CHECK(publish::slugify("***") == "sandbox");
  CHECK(publish::slugify(std::string(100, 'a')).size() == 63);
  CHECK(publish::is_valid_name("hello-static"));
  CHECK_FALSE(publish::is_valid_name("Hello"));
  CHECK_FALSE(publish::is_valid_name("a/../b"));
  CHECK_FALSE(publish::is_valid_name(""));
}

TEST_CASE("pointing swaps the site link, records history, keeps the last five versions") {
  TempDir tmp;
  publish::SiteStore store(tmp.path(), 5);
  for (int n = 1; n <= 7; ++n) {
    build_version(store, n);
    REQUIRE(store.point({.name = "app", .snapshot_id = id_of(n), .folder = "/f", .published_at_ms = n}).ok());
    CHECK(read_file(fs::path(tmp.path()) / "sites/app/index.html") == "version " + std::to_string(n));
  }
  auto info = store.get("app");
  REQUIRE(info);
  CHECK(info->snapshot_id == id_of(7));
  CHECK(info->history == std::vector<std::string>{id_of(7), id_of(6), id_of(5), id_of(4), id_of(3)});
  CHECK_FALSE(store.has_version(id_of(1)));
  CHECK_FALSE(store.has_version(id_of(2)));
  CHECK(store.has_version(id_of(3)));
  CHECK(fs::is_symlink(fs::path(tmp.path()) / "sites/app"));
}

TEST_CASE("a version another site still uses is never pruned") {
  TempDir tmp;
  publish::SiteStore store(tmp.path(), 1);
  build_version(store, 1);
  REQUIRE(store.point({.name = "one", .snapshot_id = id_of(1)}).ok());
  build_version(store, 2);
  REQUIRE(store.point({.name = "two", .snapshot_id = id_of(2)}).ok());
  build_version(store, 3);
  REQUIRE(store.point({.name = "two", .snapshot_id = id_of(3)}).ok());
  CHECK(store.has_version(id_of(1)));
  CHECK_FALSE(store.has_version(id_of(2)));
  CHECK(store.list().size() == 2);
}

TEST_CASE("recover removes what an interrupted publish left behind, and only that") {
  TempDir tmp;
  publish::SiteStore store(tmp.path());
  build_version(store, 1);
  REQUIRE(store.point({.name = "app", .snapshot_id = id_of(1)}).ok());
  auto half = store.new_staging();
  write_file(half.value() / "partial.html", "half");
  fs::create_symlink("../versions/x", fs::path(tmp.path()) / "sites/.tmp-app-123");
  REQUIRE(store.recover().ok());
  CHECK(fs::is_empty(fs::path(tmp.path()) / "staging"));
  CHECK_FALSE(fs::exists(fs::symlink_status(fs::path(tmp.path()) / "sites/.tmp-app-123")));
  CHECK(read_file(fs::path(tmp.path()) / "sites/app/index.html") == "version 1");
}

TEST_CASE("committing a version that exists keeps the first one") {
  TempDir tmp;
  publish::SiteStore store(tmp.path());
  build_version(store, 1);
  auto again = store.new_staging();
  write_file(again.value() / "index.html", "other");
  REQUIRE(store.commit_version(again.value(), id_of(1)).ok());
  CHECK(read_file(store.version_dir(id_of(1)) / "index.html") == "version 1");
  CHECK_FALSE(fs::exists(again.value()));
}

TEST_CASE("an older snapshot of a folder never replaces a newer one, whatever order they finish in") {
  TempDir tmp;
  publish::SiteStore store(tmp.path(), 5);
  build_version(store, 1);
  build_version(store, 2);
  // Snapshot 2 was taken later (at 200) but finished first.
  auto newer = store.point({.name = "app", .snapshot_id = id_of(2), .folder = "/f", .snapshot_at_ms = 200});
  REQUIRE(newer.ok());
  auto older = store.point({.name = "app", .snapshot_id = id_of(1), .folder = "/f", .snapshot_at_ms = 100});
  REQUIRE(older.ok());
  CHECK(older->snapshot_id == id_of(2));  // the answer is what serves now
  CHECK(read_file(fs::path(tmp.path()) / "sites/app/index.html") == "version 2");
  // Another folder publishing under the same name is a different sandbox: it replaces it (built and
  // pointed under one lock, as the pipeline does).
  auto staging = store.new_staging();
  REQUIRE(staging.ok());
  write_file(staging.value() / "index.html", "version 1");
  auto other = store.commit_and_point(staging.value(), {.name = "app", .snapshot_id = id_of(1), .folder = "/g", .snapshot_at_ms = 50});
  REQUIRE(other.ok());
  CHECK(other->snapshot_id == id_of(1));
  CHECK(read_file(fs::path(tmp.path()) / "sites/app/index.html") == "version 1");
}
