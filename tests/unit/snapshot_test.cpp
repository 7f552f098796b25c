// Snapshots of real folders and real git repositories built by each test.
#include "snapshot/snapshot.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <set>

#include "support/fs_helpers.h"
#include "support/rpc_client.h"

using namespace studyhub;
using namespace studyhub::testing;
using snapshot::Snapshot;

namespace {

struct Fixture {
  TempDir tmp;
  fs::path state = fs::path(tmp.path()) / "state";
  fs::path root = fs::path(tmp.path()) / "work";

  Result<Snapshot> take(const fs::path& folder, settings::WorkspaceSettings s = {}) {
    fs::create_directories(state);
    return snapshot::take_snapshot(folder, s, {.state_dir = state});
  }
  Snapshot ok(const fs::path& folder, settings::WorkspaceSettings s = {}) {
    auto r = take(folder, std::move(s));
    if (!r) FAIL("snapshot failed: " << r.error().message);
    return r.value();
  }
};

std::set<std::string> paths(const Snapshot& s) {
  std::set<std::string> out;
  for (auto& f : s.files) out.insert(f.path);
  return out;
}

std::string reason(const Snapshot& s, const std::string& path) {
  for (auto& e : s.excluded)
    if (e.path == path) return e.reason;
  return "";
}

const snapshot::SnapshotFile* file(const Snapshot& s, const std::string& path) {
  for (auto& f : s.files)
    if (f.path == path) return &f;
  return nullptr;
}

// The tree id git itself computes for the same content: a scratch index over the folder.
std::string git_tree_of(const fs::path& folder, const fs::path& scratch) {
  fs::path repo = scratch / "ref.git";
  git(scratch, {"init", "-q", "--bare", repo.string()});
  write_file(repo / "info/attributes", "* -text -filter -ident -eol\n");  // git's filters off, as ours are
  std::vector<std::string> base{"--git-dir=" + repo.string(), "--work-tree=" + folder.string()};
  auto with = [&](std::vector<std::string> more) {
    auto args = base;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  git(scratch, with({"add", "-A", "."}));
  std::string id = git(scratch, with({"write-tree"}));
  return id.substr(0, id.find('\n'));
}

// git's tree for a copy of exactly the files a snapshot included.
std::string git_tree_of_included(const fs::path& folder, const fs::path& scratch, const Snapshot& s) {
  fs::path copy = scratch / "included-copy";
  fs::remove_all(copy);
  for (auto& f : s.files) {
    fs::create_directories((copy / f.path).parent_path());
    fs::copy(folder / f.path, copy / f.path, fs::copy_options::copy_symlinks);
  }
  return git_tree_of(copy, scratch);
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "a plain folder: every file, and the same tree id git computes") {
  write_file(root / "index.html", "<h1>hi</h1>\n");
  write_file(root / "src/app.js", "console.log(1)\n");
  write_file(root / "src/deep/er/x.css", "a{}\n");
  auto s = ok(root);
  CHECK(paths(s) == std::set<std::string>{"index.html", "src/app.js", "src/deep/er/x.css"});
  CHECK(s.excluded.empty());
  CHECK(s.id.size() == 40);
  CHECK(s.id == git_tree_of(root, tmp.path()));
  CHECK(s.bytes == 12 + 15 + 4);
  const auto* f = file(s, "src/app.js");
  REQUIRE(f);
  CHECK(f->size == 15);
  CHECK(f->mode == 0100644);
  CHECK_FALSE(f->binary);
}

TEST_CASE_FIXTURE(Fixture, "binary, empty, executable, unicode and spaced names survive byte-exact") {
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  write_file(root / "public/logo.png", png);
  write_file(root / "empty.txt", "");
  write_file(root / "crlf.txt", "a\r\nb\r\n");
  write_file(root / "run.sh", "#!/bin/sh\n");
  fs::permissions(root / "run.sh", fs::perms::owner_exec, fs::perm_options::add);
  write_file(root / "naïve café/ünï 名前.txt", "x");
  write_file(root / "with space.js", "y");
  write_file(root / ".gitattributes", "* text=auto eol=crlf\n");  // must not rewrite content
  auto s = ok(root);
  CHECK(paths(s).count("naïve café/ünï 名前.txt"));
  CHECK(paths(s).count("with space.js"));
  REQUIRE(file(s, "public/logo.png"));
  CHECK(file(s, "public/logo.png")->binary);
  CHECK(file(s, "public/logo.png")->size == 16);
  REQUIRE(file(s, "empty.txt"));
  CHECK(file(s, "empty.txt")->size == 0);
  CHECK(file(s, "run.sh")->mode == 0100755);
  CHECK(s.id == git_tree_of(root, tmp.path()));  // byte-exact: same blobs as git without filters
}

TEST_CASE_FIXTURE(Fixture, "same content gives the same id anywhere — any change gives a new one") {
  fs::path a = root / "a", b = root / "elsewhere/b";
  for (auto& dir : {a, b}) {
    write_file(dir / "index.html", "same");
    write_file(dir / "js/main.js", "same js");
  }
  fs::last_write_time(b / "index.html", fs::file_time_type::clock::now() - std::chrono::hours(48));
  std::string id = ok(a).id;
  CHECK(ok(b).id == id);
  CHECK(ok(a).id == id);  // and again, warm

  write_file(b / "index.html", "samE");
  std::string byte_changed = ok(b).id;
  CHECK(byte_changed != id);
  write_file(b / "index.html", "same");
  CHECK(ok(b).id == id);
  fs::rename(b / "js/main.js", b / "js/Main.js");
  CHECK(ok(b).id != id);
  fs::rename(b / "js/Main.js", b / "js/main.js");
  CHECK(ok(b).id == id);
  fs::permissions(b / "js/main.js", fs::perms::owner_exec, fs::perm_options::add);
  CHECK(ok(b).id != id);
}

TEST_CASE_FIXTURE(Fixture, "nested .gitignore files with negation") {
  git(tmp.path(), {"init", "-q", root.string()});
  write_file(root / ".gitignore", "*.log\n!keep.log\nbuild/\n");
  write_file(root / "logs/.gitignore", "!important*.log\n");
  write_file(root / "docs/.gitignore", "*.md\n!README.md\n");
  write_file(root / "a.log", "x");
  write_file(root / "keep.log", "x");
  write_file(root / "logs/important-1.log", "x");
  write_file(root / "logs/other.log", "x");
  write_file(root / "docs/README.md", "x");
  write_file(root / "docs/draft.md", "x");
  write_file(root / "build/out.js", "x");
  write_file(root / "src/build/x.js", "x");  // build/ matches at any depth
  write_file(root / "src/index.js", "x");
  auto s = ok(root);
  CHECK(paths(s) == std::set<std::string>{".gitignore", "docs/.gitignore", "docs/README.md", "keep.log",
                                          "logs/.gitignore", "logs/important-1.log", "src/index.js"});
  CHECK(reason(s, "a.log") == "gitignore");
  CHECK(reason(s, "logs/other.log") == "gitignore");
  CHECK(reason(s, "docs/draft.md") == "gitignore");
  CHECK(reason(s, "build/") == "gitignore");
  CHECK(reason(s, "src/build/") == "gitignore");
  CHECK(reason(s, ".git/") == "git");
  CHECK(s.id == git_tree_of_included(root, tmp.path(), s));
}

TEST_CASE_FIXTURE(Fixture, "known libgit2 difference: a literal negation in another file is not honoured, but reported") {
  // git would include keep/important.log; libgit2 1.5 drops "!important.log" because its own
  // file holds no rule it negates. The file is reported, and "include" brings it back.
  write_file(root / ".gitignore", "*.log\n");
  write_file(root / "keep/.gitignore", "!important.log\n");
  write_file(root / "keep/important.log", "x");
  auto s = ok(root);
  CHECK(reason(s, "keep/important.log") == "gitignore");
  settings::WorkspaceSettings with_include;
  with_include.include = {"keep/important.log"};
  CHECK(paths(ok(root, with_include)).count("keep/important.log"));
}

TEST_CASE_FIXTURE(Fixture, "what is on disk counts: untracked, modified and deleted files, whatever HEAD says") {
  git(tmp.path(), {"init", "-q", root.string()});
  write_file(root / "committed.js", "v1");
  write_file(root / "deleted.js", "gone soon");
  git(root, {"add", "-A"});
  git(root, {"commit", "-qm", "init"});
  write_file(root / "committed.js", "v2 on disk");
  fs::remove(root / "deleted.js");
  write_file(root / "untracked.js", "new");
  auto s = ok(root);
  CHECK(paths(s) == std::set<std::string>{"committed.js", "untracked.js"});
  CHECK(file(s, "committed.js")->size == 10);

  fs::remove(root / "untracked.js");  // deleted after a first snapshot: gone from the next
  CHECK(paths(ok(root)) == std::set<std::string>{"committed.js"});
}

TEST_CASE_FIXTURE(Fixture, "a folder inside a repository: the parent's rules and info/exclude apply") {
  git(tmp.path(), {"init", "-q", root.string()});
  write_file(root / ".gitignore", "*.tmp\n/apps/web/secret-notes.md\n");
  write_file(root / ".git/info/exclude", "scratch/\n");
  fs::path web = root / "apps/web";
  write_file(web / "index.html", "x");
  write_file(web / "a.tmp", "x");
  write_file(web / "secret-notes.md", "x");
  write_file(web / "scratch/s.js", "x");
  write_file(root / "other/ignored-by-scope.js", "x");
  auto s = ok(web);
  CHECK(paths(s) == std::set<std::string>{"index.html"});
  CHECK(reason(s, "a.tmp") == "gitignore");
  CHECK(reason(s, "secret-notes.md") == "gitignore");
  CHECK(reason(s, "scratch/") == "gitignore");

  // The id is the folder's own tree: the same as a copy of it outside any repository.
  fs::path copy = fs::path(tmp.path()) / "copy";
  write_file(copy / "index.html", "x");
  CHECK(ok(copy).id == s.id);
}

TEST_CASE_FIXTURE(Fixture, "a folder the parent repository ignores keeps its own rules, with a warning") {
  git(tmp.path(), {"init", "-q", root.string()});
  write_file(root / ".gitignore", "sandboxes/\n");
  fs::path box = root / "sandboxes/one";
  write_file(box / "index.html", "x");
  auto s = ok(box);
  CHECK(paths(s) == std::set<std::string>{"index.html"});
  REQUIRE(s.warnings.size() == 1);
  CHECK(s.warnings[0].find("ignore rules exclude this folder") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "built-in exclusions: node_modules and secrets, reported — settings opt back in") {
  write_file(root / "index.js", "x");
  write_file(root / "node_modules/react/index.js", "x");
  write_file(root / "packages/a/node_modules/x.js", "x");
  write_file(root / ".env", "TOKEN=abc");
  write_file(root / ".env.example", "TOKEN=");
  write_file(root / "certs/server.pem", "-----BEGIN");
  write_file(root / "id_rsa", "key");
  auto s = ok(root);
  CHECK(paths(s) == std::set<std::string>{"index.js"});
  CHECK(reason(s, "node_modules/") == "node_modules");
  CHECK(reason(s, "packages/a/node_modules/") == "node_modules");
  CHECK(reason(s, ".env") == "secret");
  CHECK(reason(s, ".env.example") == "secret");
  CHECK(reason(s, "certs/server.pem") == "secret");
  CHECK(reason(s, "id_rsa") == "secret");

  settings::WorkspaceSettings opt_in;
  opt_in.include = {".env.example"};
  CHECK(paths(ok(root, opt_in)) == std::set<std::string>{".env.example", "index.js"});
  // Rules changed back: the file recorded a moment ago is excluded again.
  CHECK(paths(ok(root)) == std::set<std::string>{"index.js"});
}

TEST_CASE_FIXTURE(Fixture, ".sandboxignore and settings.ignore are publish-only exclusions, reported as such") {
  git(tmp.path(), {"init", "-q", root.string()});
  write_file(root / "index.html", "x");
  write_file(root / "design/big.psd", "x");
  write_file(root / "notes.md", "x");
  write_file(root / "docs/a.md", "x");
  auto first = ok(root);
  CHECK(paths(first).count("notes.md"));
  write_file(root / ".sandboxignore", "*.md\n!docs/a.md\n");
  settings::WorkspaceSettings s;
  s.ignore = {"design/"};
  auto second = ok(root, s);
  CHECK(paths(second) == std::set<std::string>{".sandboxignore", "docs/a.md", "index.html"});
  CHECK(reason(second, "notes.md") == "sandboxignore");
  CHECK(reason(second, "design/big.psd") == "sandboxignore");  // recorded before, dropped now
  auto third = ok(fs::path(root), s);  // and on the next run, reported as the folder it is
  CHECK(reason(third, "design/") == "sandboxignore");
}

TEST_CASE_FIXTURE(Fixture, "a .gitignore edited after a snapshot drops files recorded before") {
  write_file(root / "index.html", "x");
  write_file(root / "debug.log", "x");
  CHECK(paths(ok(root)).count("debug.log"));
  write_file(root / ".gitignore", "*.log\n");
  auto s = ok(root);
  CHECK(paths(s) == std::set<std::string>{".gitignore", "index.html"});
  CHECK(reason(s, "debug.log") == "gitignore");
}

TEST_CASE_FIXTURE(Fixture, "symlinks: inside recorded as links, outside left out with a warning, never followed") {
  write_file(root / "src/real.js", "real");
  write_file(fs::path(tmp.path()) / "outside/secret.txt", "do not take");
  fs::create_symlink("src/real.js", root / "alias.js");
  fs::create_directories(root / "lib");
  fs::create_symlink("../src", root / "lib/src-dir");
  fs::create_symlink("../outside/secret.txt", root / "leak.txt");
  fs::create_symlink(fs::path(tmp.path()) / "outside", root / "abs-dir");
  fs::create_symlink("../../outside", root / "lib/climb");
  auto s = ok(root);
  CHECK(paths(s) == std::set<std::string>{"alias.js", "lib/src-dir", "src/real.js"});
  CHECK(file(s, "alias.js")->mode == 0120000);
  CHECK(file(s, "lib/src-dir")->mode == 0120000);
  CHECK(reason(s, "leak.txt") == "symlink-outside");
  CHECK(reason(s, "abs-dir") == "symlink-outside");
  CHECK(reason(s, "lib/climb") == "symlink-outside");
  CHECK(s.warnings.size() == 3);
  for (auto& f : s.files) CHECK(f.path.find("secret") == std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "a nested repository is left out and reported") {
  write_file(root / "index.html", "x");
  git(tmp.path(), {"init", "-q", (root / "vendor/lib").string()});
  write_file(root / "vendor/lib/a.js", "x");
  auto s = ok(root);
  CHECK(paths(s) == std::set<std::string>{"index.html"});
  CHECK(reason(s, "vendor/lib/") == "nested-repository");
}

TEST_CASE_FIXTURE(Fixture, "limits: a clear error naming the offenders and the setting — nothing truncated") {
  write_file(root / "a.bin", std::string(5000, 'a'));
  write_file(root / "b.bin", std::string(3000, 'b'));
  for (int i = 0; i < 5; ++i) write_file(root / "many" / (std::to_string(i) + ".js"), "x");
  settings::WorkspaceSettings s;

  s.limits.max_file_bytes = 4000;
  auto r = take(root, s);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("a.bin (5.0 KB)") != std::string::npos);
  CHECK(r.error().message.find("limits.maxFileBytes") != std::string::npos);

  s = {};
  s.limits.max_files = 4;
  r = take(root, s);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("7 files") != std::string::npos);
  CHECK(r.error().message.find("many/ (5 files)") != std::string::npos);
  CHECK(r.error().message.find("limits.maxFiles") != std::string::npos);

  s = {};
  s.limits.max_total_bytes = 6000;
  r = take(root, s);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("a.bin (5.0 KB), b.bin (3.0 KB)") != std::string::npos);
  CHECK(r.error().message.find("limits.maxTotalBytes") != std::string::npos);

  CHECK(ok(root).files.size() == 7);  // within the defaults all is there
}

TEST_CASE_FIXTURE(Fixture, "each change is a commit on the folder's private ref — no change, no commit") {
  write_file(root / "index.html", "1");
  auto a = ok(root);
  auto again = ok(root);
  CHECK(again.commit == a.commit);
  write_file(root / "index.html", "2");
  auto b = ok(root);
  CHECK(b.commit != a.commit);
  fs::path shadow = snapshot::shadow_repo_path(state);
  std::string log = git(tmp.path(), {"--git-dir=" + shadow.string(), "log", "--format=%H %T", b.commit});
  CHECK(log == b.commit + " " + b.id + "\n" + a.commit + " " + a.id + "\n");
}

TEST_CASE_FIXTURE(Fixture, "the user's folder and its .git are never written") {
  git(tmp.path(), {"init", "-q", root.string()});
  write_file(root / ".gitignore", "dist/\n");
  write_file(root / "index.html", "x");
  write_file(root / "dist/out.js", "x");
  write_file(root / ".env", "x");
  write_file(root / "node_modules/m/i.js", "x");
  git(root, {"add", ".gitignore"});
  git(root, {"commit", "-qm", "init"});
  write_file(root / "untracked.js", "x");
  fs::create_symlink("index.html", root / "link.html");
  auto before = folder_state(root);
  REQUIRE(before.count(".git/index"));
  ok(root);
  write_file(root / "untracked.js", "y");  // a change, then a warm snapshot
  before = folder_state(root);
  ok(root);
  ok(root);
  CHECK(folder_state(root) == before);
}

TEST_CASE_FIXTURE(Fixture, "an empty folder is the empty tree — a missing one is a clear error") {
  fs::create_directories(root);
  CHECK(ok(root).id == "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
  auto r = take(root / "missing");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("cannot open the folder") != std::string::npos);
  write_file(root / "file", "x");
  r = take(root / "file");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("is not a folder") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "a lost stat cache only costs time") {
  write_file(root / "a.js", "a");
  std::string id = ok(root).id;
  int damaged = 0;
  for (auto& e : fs::recursive_directory_iterator(state / "snapshots"))
    if (e.path().filename() == "index" || e.path().filename() == "fast") {
      write_file(e.path(), "garbage");
      ++damaged;
    }
  CHECK(damaged == 2);
  CHECK(ok(root).id == id);
}

TEST_CASE_FIXTURE(Fixture, "cancel stops a snapshot") {
  for (int i = 0; i < 600; ++i) write_file(root / ("f" + std::to_string(i)), std::to_string(i));
  std::stop_source stop;
  stop.request_stop();
  fs::create_directories(state);
  auto r = snapshot::take_snapshot(root, {}, {.state_dir = state, .stop = stop.get_token()});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().cancelled);
}

// ---------------------------------------------------------------- the fast path

namespace {

// Moves every mtime an hour back, so nothing looks racily fresh to the fast path.
void age(const fs::path& root) {
  auto past = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (auto& e : fs::recursive_directory_iterator(root))
    if (!e.is_symlink()) fs::last_write_time(e.path(), past);
  fs::last_write_time(root, past);
}

struct Traced {
  Result<Snapshot> result;
  std::vector<std::string> stages;
  bool hashed() const { return std::count(stages.begin(), stages.end(), "hashing files") > 0; }
  bool full() const { return std::count(stages.begin(), stages.end(), "checking limits") > 0; }
};

Traced traced(const fs::path& state, const fs::path& folder, settings::WorkspaceSettings s = {}) {
  std::vector<std::string> stages;
  auto r = snapshot::take_snapshot(folder, s,
                                   {.state_dir = state, .progress = [&](std::string_view st, int) {
                                      if (stages.empty() || stages.back() != st) stages.emplace_back(st);
                                    }});
  return {std::move(r), stages};
}

std::string fresh_id(const fs::path& folder, settings::WorkspaceSettings s = {}) {
  Fixture other;
  return other.ok(folder, std::move(s)).id;
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "fast path: an unchanged folder is answered without a full pass, same result") {
  write_file(root / "index.html", "x");
  write_file(root / "src/a.js", "a");
  write_file(root / "node_modules/m/i.js", "m");
  fs::create_directories(root / "empty");
  age(root);
  auto first = traced(state, root);
  REQUIRE(first.result.ok());
  CHECK(first.full());
  auto second = traced(state, root);
  REQUIRE(second.result.ok());
  CHECK_FALSE(second.full());
  CHECK_FALSE(second.hashed());
  CHECK(second.result->id == first.result->id);
  CHECK(second.result->commit == first.result->commit);
  CHECK(paths(second.result.value()) == paths(first.result.value()));
  CHECK(second.result->excluded.size() == first.result->excluded.size());
}

TEST_CASE_FIXTURE(Fixture, "fast path: changed contents are re-hashed alone and give the id a full pass gives") {
  write_file(root / "index.html", "x");
  write_file(root / "src/a.js", "a");
  write_file(root / "tool.sh", "#!/bin/sh\n");
  age(root);
  ok(root);
  write_file(root / "src/a.js", "changed content, another size");  // no folder changes
  fs::permissions(root / "tool.sh", fs::perms::owner_exec, fs::perm_options::add);
  auto t = traced(state, root);
  REQUIRE(t.result.ok());
  CHECK(t.hashed());
  CHECK_FALSE(t.full());
  CHECK(t.result->id == fresh_id(root));
  CHECK(file(t.result.value(), "src/a.js")->size == 29);
  CHECK(file(t.result.value(), "tool.sh")->mode == 0100755);
  // The full pass afterwards agrees with the record the fast path left.
  fs::remove(state / "snapshots" / fs::directory_iterator(state / "snapshots")->path().filename() / "fast");
  CHECK(ok(root).id == t.result->id);
}

TEST_CASE_FIXTURE(Fixture, "fast path: added, removed and renamed entries take the full pass") {
  write_file(root / "index.html", "x");
  write_file(root / "src/a.js", "a");
  fs::create_directories(root / "assets");
  age(root);
  ok(root);
  SUBCASE("a file added to an empty folder") { write_file(root / "assets/logo.svg", "<svg/>"); }
  SUBCASE("a file removed") { fs::remove(root / "src/a.js"); }
  SUBCASE("a file renamed") { fs::rename(root / "src/a.js", root / "src/b.js"); }
  SUBCASE("a file replaced by a link") {
    fs::remove(root / "index.html");
    fs::create_symlink("src/a.js", root / "index.html");
    age(root);
  }
  auto t = traced(state, root);
  REQUIRE(t.result.ok());
  CHECK(t.full());
  CHECK(t.result->id == fresh_id(root));
}

TEST_CASE_FIXTURE(Fixture, "fast path: a change to any rule source takes the full pass") {
  write_file(root / "index.html", "x");
  write_file(root / "notes.md", "n");
  write_file(root / "sub/.gitignore", "");
  write_file(root / "sub/debug.log", "d");
  age(root);
  ok(root);
  settings::WorkspaceSettings s;
  std::string gone;
  SUBCASE(".sandboxignore") {
    write_file(root / ".sandboxignore", "*.md\n");
    gone = "notes.md";
  }
  SUBCASE("a nested .gitignore") {
    write_file(root / "sub/.gitignore", "*.log\n");
    fs::last_write_time(root / "sub", fs::file_time_type::clock::now() - std::chrono::hours(1));
    gone = "sub/debug.log";
  }
  SUBCASE("the settings") {
    s.ignore = {"notes.md"};
    gone = "notes.md";
  }
  auto t = traced(state, root, s);
  REQUIRE(t.result.ok());
  CHECK(t.full());
  CHECK_FALSE(paths(t.result.value()).count(gone));
}

TEST_CASE_FIXTURE(Fixture, "fast path: a content change past a limit still fails with the limit's error") {
  write_file(root / "a.txt", "small");
  age(root);
  settings::WorkspaceSettings s;
  s.limits.max_file_bytes = 100;
  REQUIRE(take(root, s).ok());
  write_file(root / "a.txt", std::string(500, 'x'));
  auto r = take(root, s);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("limits.maxFileBytes") != std::string::npos);
}
