#include <doctest/doctest.h>

#include "support/rpc_client.h"

using namespace studyhub::testing;

namespace {
CommandOutput cli(std::vector<std::string> args) {
  TempDir state;
  args.insert(args.begin(), binary_path());
  return run_command(args, {{"STUDYHUB_SANDBOX_HOME", state.path()}});
}
size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }
}  // namespace

TEST_CASE("--version prints name and version and exits 0") {
  auto r = cli({"--version"});
  CHECK(r.status == 0);
  CHECK(r.out.rfind("studyhub-sandbox ", 0) == 0);
}

TEST_CASE("--help lists every subcommand and exits 0") {
  auto r = cli({"--help"});
  CHECK(r.status == 0);
  for (const char* sub : {"serve", "publish", "snapshot", "list", "host", "runner"}) {
    CAPTURE(sub);
    CHECK(r.out.find(sub) != std::string::npos);
  }
}

TEST_CASE("usage errors exit 2 with one reason line and the usage hint") {
  for (auto args : std::vector<std::vector<std::string>>{
           {}, {"bogus"}, {"--log-level", "loud", "serve"}, {"serve", "--no-such-flag"},
           {"serve", "--max-message-bytes", "abc"}}) {
    auto r = cli(args);
    CAPTURE(r.err);
    CHECK(r.status == 2);
    CHECK(count_lines(r.err) == 2);
    CHECK(r.err.find("studyhub-sandbox: ") == 0);
    CHECK(r.err.find("--help") != std::string::npos);
  }
}
