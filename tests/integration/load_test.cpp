// Load: four clients at once — two `serve` sessions pipelining JSON-RPC publishes and two CLI
// loops — firing 100 publish requests over 10 folders whose content keeps changing. Every request
// is answered, builds never overlap machine-wide, waiting requests for one folder coalesce, no
// content is built twice, and every site ends at its folder's last content.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "support/rpc_client.h"
#include "support/sandbox_world.h"

using namespace studyhub::testing;

namespace {

double rss_mib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024;
  return 0;
}

}  // namespace

TEST_CASE("load: 4 clients, 100 publishes over 10 folders — all answered, builds serialized, coalesced, none lost") {
  World w;
  const fs::path log = w.root / "builds.log";
  constexpr int kFolders = 10;
  std::vector<fs::path> folders;
  std::vector<std::mutex> folder_mutex(kFolders);
  std::vector<std::string> last_version(kFolders);
  for (int f = 0; f < kFolders; ++f) {
    std::string name = "f" + std::to_string(f);
    fs::path dir = w.root / name;
    write_file(dir / "package.json", R"({"name":")" + name + R"(","private":true,"scripts":{"build":"node build.js"}})");
    write_file(dir / "build.js",
               "const fs = require('fs');\n"
               "const v = fs.readFileSync('src/version.txt', 'utf8').trim();\n"
               "const log = " + nlohmann::json(log.string()).dump() + ";\n"
               "fs.appendFileSync(log, `start " + name + " ${v} ${process.hrtime.bigint()}\\n`);\n"
               "const end = Date.now() + 30; while (Date.now() < end) {}\n"
               "fs.mkdirSync('dist', {recursive: true});\n"
               "fs.writeFileSync('dist/index.html', `<h1>" + name + " ${v}</h1>`);\n"
               "fs.appendFileSync(log, `end " + name + " ${v} ${process.hrtime.bigint()}\\n`);\n");
    write_file(dir / "src/version.txt", "initial\n");
    last_version[f] = "initial";
    folders.push_back(dir);
    auto warm = w.cli({"publish", dir.string()});  // npm install once per folder, before the load
    REQUIRE_MESSAGE(warm.status == 0, warm.err);
  }
  fs::remove(log);
  auto set_version = [&](int f, const std::string& v) {
    std::lock_guard lock(folder_mutex[f]);
    // Atomically, as an editor saves: a snapshot must never catch the file half-written.
    write_file(folders[f] / "src/.version.tmp", v + "\n");
    fs::rename(folders[f] / "src/.version.tmp", folders[f] / "src/version.txt");
    last_version[f] = v;
  };

  std::mutex results_mutex;
  int answered = 0, failed = 0;
  std::vector<std::string> rpc_snapshots;
  std::vector<double> rss_before, rss_after;
  std::vector<std::thread> clients;
  // Two serve sessions: 5 rounds of 5 pipelined requests, one folder three times in each round.
  for (int c = 0; c < 2; ++c) {
    clients.emplace_back([&, c] {
      RpcClient client({}, {{"STUDYHUB_SANDBOX_HOME", w.state}});
      client.initialize();
      {
        std::lock_guard lock(results_mutex);
        rss_before.push_back(rss_mib(client.process().pid()));
      }
      int id = 100;
      for (int round = 0; round < 5; ++round) {
        int a = (c * 5 + round) % kFolders, b = (a + 3) % kFolders, d = (a + 6) % kFolders;
        std::vector<int> order{a, b, a, d, a}, ids;
        for (size_t k = 0; k < order.size(); ++k) {
          set_version(order[k], "rpc" + std::to_string(c) + "-" + std::to_string(round) + "-" + std::to_string(k));
          client.send({{"jsonrpc", "2.0"}, {"id", ++id}, {"method", "sandbox/publish"},
                       {"params", {{"folder", folders[order[k]].string()}}}});
          ids.push_back(id);
        }
        for (int i : ids) {
          auto r = client.response(i, std::chrono::seconds(180));
          std::lock_guard lock(results_mutex);
          if (r && r->contains("result")) {
            ++answered;
            rpc_snapshots.push_back((*r)["result"]["snapshotId"]);
          } else {
            ++failed;
            MESSAGE("request " << i << ": " << (r ? r->dump() : "no answer"));
          }
        }
      }
      std::lock_guard lock(results_mutex);
      rss_after.push_back(rss_mib(client.process().pid()));
    });
  }
  // Two CLI loops: 25 publishes each, one after the other.
  for (int c = 0; c < 2; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 25; ++i) {
        int f = (i * 3 + c * 7) % kFolders;
        set_version(f, "cli" + std::to_string(c) + "-" + std::to_string(i));
        auto r = w.cli({"publish", "--json", folders[f].string()}, std::chrono::seconds(180));
        std::lock_guard lock(results_mutex);
        if (r.status == 0) ++answered;
        else {
          ++failed;
          MESSAGE("cli publish: " << r.err);
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(answered == 100);
  CHECK(failed == 0);

  // Builds never overlapped, and no content was built twice.
  std::vector<std::tuple<long long, std::string, std::string>> events;  // time, start|end, folder+version
  std::string text = read_file(log);
  std::istringstream lines(text);
  std::string kind, name, version;
  long long at;
  while (lines >> kind >> name >> version >> at) events.emplace_back(at, kind, name + " " + version);
  CAPTURE(text.substr(0, 2000));
  REQUIRE(events.size() == static_cast<size_t>(std::count(text.begin(), text.end(), '\n')));
  REQUIRE(events.size() >= 2);
  std::sort(events.begin(), events.end());
  std::map<std::string, int> built;
  bool open = false, overlapped = false;
  for (auto& [t, k, what] : events) {
    if (k == "start") {
      overlapped |= open;
      open = true;
      ++built[what];
    } else {
      open = false;
    }
  }
  CHECK_FALSE(overlapped);
  int builds = 0;
  for (auto& [what, n] : built) {
    CAPTURE(what);
    CHECK(n == 1);
    builds += n;
  }
  std::set<std::string> distinct(rpc_snapshots.begin(), rpc_snapshots.end());
  MESSAGE("100 requests: " << builds << " builds; JSON-RPC answers " << rpc_snapshots.size() << " with "
                           << distinct.size() << " distinct snapshots; serve RSS MiB before "
                           << rss_before[0] << "/" << rss_before[1] << ", after " << rss_after[0] << "/" << rss_after[1]);
  CHECK(builds < 100);
  CHECK(distinct.size() < rpc_snapshots.size());  // waiting requests for one folder shared a publish

  // Nothing lost: every site ends at its folder's last content.
  auto list = w.cli({"list", "--json"});
  CAPTURE(list.err);
  REQUIRE(list.status == 0);
  const auto sites = nlohmann::json::parse(list.out);  // kept alive: the loop below refers into it
  for (int f = 0; f < kFolders; ++f) {
    std::string url;
    for (auto& s : sites["sites"])
      if (s["name"] == "f" + std::to_string(f)) url = s["url"];
    CAPTURE(f);
    CAPTURE(url);
    CHECK(http_get(url).body == "<h1>f" + std::to_string(f) + " " + last_version[f] + "</h1>");
  }
}
