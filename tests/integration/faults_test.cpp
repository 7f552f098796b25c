// Faults a publish must survive: the process killed at any moment (CLI or serve), and the disk
// filling up while the site is unpacked. Afterwards every site serves one whole version, the state
// directory is consistent, and the next publish succeeds.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <random>
#include <set>
#include <thread>

#include "rpc/framing.h"
#include "support/docker_run_peers.h"
#include "support/sandbox_world.h"

using namespace studyhub::testing;
using nlohmann::json;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Every version folder is complete and every site points at one; the list is readable.
void check_state_consistent(World& w) {
  for (auto& v : fs::directory_iterator(fs::path(w.state) / "versions")) CHECK(fs::exists(v.path() / "index.html"));
  auto list = w.cli({"list", "--json"});
  REQUIRE(list.status == 0);
  const json sites = json::parse(list.out);  // kept alive: the loop refers into it
  CHECK_FALSE(sites["sites"].empty());
  for (const auto& site : sites["sites"]) {
    CAPTURE(site.dump());
    CHECK(fs::exists(fs::path(w.state) / "versions" / site["snapshotId"].get<std::string>() / "index.html"));
  }
}

}  // namespace

TEST_CASE("kill -9 at 50 random moments, CLI and serve: every site serves a whole version, the next publish succeeds") {
  World w;
  const std::string spin = "const end = Date.now() + 300; while (Date.now() < end) {}\n";
  fs::path site = w.npm_site("kill", "Version 0", spin);
  auto first = w.cli({"publish", site.string()});
  REQUIRE(first.status == 0);
  std::string url = World::url_of(first);
  std::mt19937 rng(20261128);
  std::set<std::string> published{"Version 0"};
  for (int round = 1; round <= 50; ++round) {
    CAPTURE(round);
    std::string title = "Version " + std::to_string(round);
    w.npm_site("kill", title, spin);
    published.insert(title);
    auto moment = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 1200)(rng));
    if (round % 2) {
      ChildProcess p({binary_path(), "publish", site.string()}, {{"STUDYHUB_SANDBOX_HOME", w.state}});
      std::this_thread::sleep_for(moment);
      ::kill(p.pid(), SIGKILL);
      p.wait(5s);
    } else {
      ChildProcess p({binary_path(), "serve"}, {{"STUDYHUB_SANDBOX_HOME", w.state}});
      p.write(studyhub::rpc::encode_frame(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":null,"capabilities":{}}})"));
      p.write(studyhub::rpc::encode_frame(R"({"jsonrpc":"2.0","method":"initialized","params":{}})"));
      p.write(studyhub::rpc::encode_frame(json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "sandbox/publish"},
                                               {"params", {{"folder", site.string()}}}}.dump()));
      std::this_thread::sleep_for(moment);
      ::kill(p.pid(), SIGKILL);
      p.wait(5s);
    }
    // Whatever moment the kill hit: the site is one complete version.
    auto page = http_get(url);
    REQUIRE(page.status == 200);
    bool whole = false;
    for (const auto& t : published) whole |= has(page.body, "<h1>" + t + "</h1>");
    CHECK(whole);
    CHECK(http_get(url + "assets/app.js").status == 200);
  }
  check_state_consistent(w);
  auto last = w.cli({"publish", site.string()});
  REQUIRE_MESSAGE(last.status == 0, last.err);
  CHECK(has(http_get(url).body, "Version 50"));
  CHECK(fs::is_empty(fs::path(w.state) / "staging"));
  check_state_consistent(w);
}

TEST_CASE("the disk fills up while the site is unpacked: a clear error, the old site intact, staging cleaned") {
  // The state directory on a 2 MB tmpfs (as root, as CI runs); elsewhere a 1 MB file-size limit
  // makes the same write fail. Builds run in a runner with its state on the real disk, so the only
  // writes to the small file system are the snapshot and the unpacking.
  World w;
  const std::string token = "disk-full-token";
  RunnerProcess runner(w.tmp.path() + "/runner-state", token);
  fs::create_directories(w.state);
  // STUDYHUB_TEST_NO_MOUNT=1 runs the fallback on a machine where mounting works, to check it too.
  bool mounted = !std::getenv("STUDYHUB_TEST_NO_MOUNT") && ::mount("tmpfs", w.state.c_str(), "tmpfs", 0, "size=2m,mode=0700") == 0;
  std::string how = mounted ? "state directory on a 2 MB tmpfs" : "mount not permitted: a 1 MB file-size limit instead";
  MESSAGE(how);
  struct Unmount {
    bool on;
    std::string dir;
    World& w;
    ~Unmount() {
      if (!on) return;
      w.cli({"host", "--stop"});
      ::umount2(dir.c_str(), MNT_DETACH);
    }
  } unmount{mounted, w.state, w};

  auto publish = [&](const fs::path& dir) {
    std::vector<std::string> argv{binary_path(), "publish", "--target", "docker-run", "--docker-run-url", runner.url(), dir.string()};
    if (!mounted) argv = {"/bin/sh", "-c", "trap '' XFSZ; exec prlimit --fsize=1000000 \"$@\"", "sh", argv[0], argv[1], argv[2],
                          argv[3], argv[4], argv[5], argv[6]};
    return run_command(argv, {{"STUDYHUB_SANDBOX_HOME", w.state}, {"STUDYHUB_SANDBOX_TOKEN", token}});
  };
  fs::path site = w.static_site("full", "Before the disk filled");
  auto before = publish(site);
  REQUIRE_MESSAGE(before.status == 0, before.err);
  std::string url = World::url_of(before);

  // 3 MB of text: tiny once compressed (snapshot, request), 3 MB once unpacked.
  write_file(site / "big.txt", std::string(3'000'000, 'a'));
  write_file(site / ".studyhub-sandbox.json", R"({"dockerRun": {"maxRequestBytes": 10000000}})");
  write_file(site / "index.html", "<title>after</title><h1>After</h1>");
  auto full = publish(site);
  CAPTURE(full.err);
  CHECK(full.status == 1);
  CHECK(has(full.err, "cannot write the site"));
  CHECK(has(full.err, mounted ? "No space left on device" : "File too large"));
  CHECK(has(full.err, "free disk space"));
  CHECK(has(http_get(url).body, "<h1>Before the disk filled</h1>"));
  CHECK(fs::is_empty(fs::path(w.state) / "staging"));

  // Room again: the same publish goes through.
  fs::remove(site / "big.txt");
  auto after = publish(site);
  REQUIRE_MESSAGE(after.status == 0, after.err);
  CHECK(has(http_get(url).body, "<h1>After</h1>"));
}
