// The local runner as code-runner: files written into a private folder, the command run there.
#include "runner/local_runner.h"

#include <doctest/doctest.h>

#include "support/fs_helpers.h"
#include "support/rpc_client.h"

using namespace studyhub;
using namespace studyhub::runner;
using namespace studyhub::testing;

TEST_CASE("the payload's files are the work folder — only node_modules carries over") {
  TempDir tmp;
  fs::path work = fs::path(tmp.path()) / "work";
  write_file(work / "node_modules/dep/index.js", "kept");
  write_file(work / "stale.txt", "from an earlier run");
  std::vector<std::string> log;
  Payload p{.language = "buildcreatereactapp",
            .files = {{"src/a.txt", "hello"}},
            .stdin_text = std::nullopt,
            .command = "cat src/a.txt; ls; echo to-the-log >&2"};
  auto r = run_local(p, {.work_dir = work, .on_log = [&](std::string_view l) { log.emplace_back(l); }});
  REQUIRE(r.ok());
  CHECK(r->error.empty());
  CHECK(r->stdout_text == "hellonode_modules\nsrc\n");
  CHECK(log == std::vector<std::string>{"to-the-log"});
  CHECK(read_file(work / "node_modules/dep/index.js") == "kept");
  CHECK_FALSE(fs::exists(work / "stale.txt"));
}

TEST_CASE("a failing command is a RunResult with code-runner's error — unsafe names are refused") {
  TempDir tmp;
  fs::path work = fs::path(tmp.path()) / "work";
  auto failed = run_local({.language = "x", .files = {{"a", "x"}}, .stdin_text = std::nullopt,
                           .command = "echo partial; echo broken >&2; exit 4"},
                          {.work_dir = work});
  REQUIRE(failed.ok());
  CHECK(failed->error == "Exit code: 4");
  CHECK(failed->stderr_text == "broken\n");
  for (const char* bad : {"../escape", "/abs", "a/../../b", "a//b"}) {
    CAPTURE(bad);
    auto r = run_local({.language = "x", .files = {{bad, "x"}}, .stdin_text = std::nullopt, .command = "true"},
                       {.work_dir = work});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("unsafe file name") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(fs::path(tmp.path()) / "escape"));
  auto unknown = run_local({.language = "cobol", .files = {{"a", "x"}}}, {.work_dir = work});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message.find("does not know the language 'cobol'") != std::string::npos);
}
