// `snapshot` on the command line and `sandbox/snapshot` over JSON-RPC, with the real binary.
#include <doctest/doctest.h>

#include <thread>

#include "support/fs_helpers.h"
#include "support/rpc_client.h"

using namespace studyhub::testing;

namespace {

struct Workspace {
  TempDir tmp;
  fs::path folder = fs::path(tmp.path()) / "my sandbox";
  std::string state = tmp.path() + "/state";
  Workspace() {
    write_file(folder / "index.html", "<h1>hi</h1>\n");
    write_file(folder / "src/app.js", "console.log('hi')\n");
    write_file(folder / ".env", "TOKEN=x\n");
    write_file(folder / "node_modules/a/index.js", "x");
  }
  CommandOutput cli(std::vector<std::string> args) {
    args.insert(args.begin(), binary_path());
    return run_command(args, {{"STUDYHUB_SANDBOX_HOME", state}});
  }
};

}  // namespace

TEST_CASE("snapshot DIR prints the id, the counts and what was excluded and why") {
  Workspace w;
  auto r = w.cli({"snapshot", w.folder.string()});
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.rfind("snapshot ", 0) == 0);
  CHECK(r.out.find("files    2 (") != std::string::npos);
  CHECK(r.out.find("excluded 1 by node_modules: node_modules/") != std::string::npos);
  CHECK(r.out.find("excluded 1 by secret: .env") != std::string::npos);
}

TEST_CASE("snapshot --json equals the sandbox/snapshot result") {
  Workspace w;
  auto r = w.cli({"snapshot", "--json", w.folder.string()});
  REQUIRE(r.status == 0);
  json cli = json::parse(r.out);
  CHECK(cli["fileCount"] == 2);
  CHECK(cli["files"].size() == 2);
  CHECK(cli["excludedCounts"]["secret"] == 1);

  RpcClient c({}, {{"STUDYHUB_SANDBOX_HOME", w.state}});
  c.initialize();
  json rpc = c.request(1, "sandbox/snapshot", {{"folder", w.folder.string()}})["result"];
  CHECK(rpc["snapshotId"] == cli["snapshotId"]);
  CHECK(rpc["commit"] == cli["commit"]);  // same state directory, same content: same commit
  for (auto& [key, value] : cli.items()) {
    CAPTURE(key);
    CHECK(rpc.contains(key));
    if (key != "durationMs") CHECK(rpc[key] == value);
  }
  CHECK(rpc.size() == cli.size());
}

TEST_CASE("snapshot errors: one sentence on stderr, exit 1") {
  Workspace w;
  auto missing = w.cli({"snapshot", (w.folder / "nope").string()});
  CHECK(missing.status == 1);
  CHECK(missing.err.find("cannot open the folder") != std::string::npos);
  CHECK(std::count(missing.err.begin(), missing.err.end(), '\n') == 1);

  write_file(w.folder / ".studyhub-sandbox.json", "{\"limits\": {\"maxFiles\": \"many\"}}");
  auto bad = w.cli({"snapshot", w.folder.string()});
  CHECK(bad.status == 1);
  CHECK(bad.err.find("limits.maxFiles") != std::string::npos);
}

TEST_CASE("two processes snapshotting the same folder at once both succeed") {
  Workspace w;
  for (int i = 0; i < 50; ++i) write_file(w.folder / "gen" / (std::to_string(i) + ".js"), std::to_string(i));
  for (int round = 0; round < 5; ++round) {
    write_file(w.folder / "round.txt", std::to_string(round));
    std::vector<CommandOutput> results(3);
    std::vector<std::thread> threads;
    for (auto& r : results) threads.emplace_back([&] { r = w.cli({"snapshot", "--json", w.folder.string()}); });
    for (auto& t : threads) t.join();
    std::set<std::string> ids;
    for (auto& r : results) {
      CAPTURE(r.err);
      REQUIRE(r.status == 0);
      ids.insert(json::parse(r.out)["snapshotId"].get<std::string>());
    }
    CHECK(ids.size() == 1);
  }
}

TEST_CASE("sandbox/snapshot reports work-done progress and accepts file:// URIs") {
  Workspace w;
  RpcClient c;
  c.initialize();
  std::string uri = "file://" + w.tmp.path() + "/my%20sandbox";
  json r = c.request(2, "sandbox/snapshot", {{"folder", uri}, {"workDoneToken", "snap-1"}});
  REQUIRE(r.contains("result"));
  CHECK(r["result"]["folder"] == fs::canonical(w.folder).string());
  std::vector<std::string> kinds;
  for (auto& m : c.seen)
    if (m["method"] == "$/progress") {
      CHECK(m["params"]["token"] == "snap-1");
      kinds.push_back(m["params"]["value"]["kind"]);
      if (m["params"]["value"]["kind"] != "end") CHECK(m["params"]["value"].contains("percentage"));
    }
  REQUIRE(kinds.size() >= 2);
  CHECK(kinds.front() == "begin");
  CHECK(kinds.back() == "end");
}

TEST_CASE("sandbox/snapshot: bad params name the field — a failed snapshot is -32803 with the reason") {
  Workspace w;
  RpcClient c;
  c.initialize();
  struct Case {
    json params;
    int code;
    const char* needle;
  };
  for (const auto& k : std::vector<Case>{
           {json::object(), -32602, "params.folder is required"},
           {{{"folder", 42}}, -32602, "params.folder must be a string"},
           {{{"folder", "relative/path"}}, -32602, "params.folder must be an absolute path"},
           {{{"folder", "https://example.com/x"}}, -32602, "params.folder must be an absolute path or a file:// URI"},
           {{{"folder", "file://otherhost/x"}}, -32602, "file:// URI"},
           {{{"folder", (w.folder / "missing").string()}}, -32803, "cannot open the folder"},
       }) {
    CAPTURE(k.params.dump());
    json r = c.request(3, "sandbox/snapshot", k.params);
    REQUIRE(r.contains("error"));
    CHECK(r["error"]["code"] == k.code);
    CHECK(r["error"]["message"].get<std::string>().find(k.needle) != std::string::npos);
  }
}
