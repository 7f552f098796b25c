// A fleet of builders under load, on real parts: runners whose queue fills answer 503 with
// Retry-After, and the docker-run client waits (saying so) or moves to the next builder; two runners
// behind a real load balancer (haproxy) on loopback, 200 clients at once.
#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "support/docker_run_peers.h"
#include "support/processes.h"
#include "support/sandbox_world.h"

using namespace studyhub::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "tok-fleet-41b7";
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

int free_port() {
  ChildProcess probe({"python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"});
  probe.close_stdin();
  int port = std::stoi(probe.read_stdout(5s));
  probe.wait(5s);
  return port;
}

long rss_kb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return 0;
}

std::string runner_port(const RunnerProcess& r) { return r.url().substr(r.url().rfind(':') + 1); }

}  // namespace

TEST_CASE("fleet: a full builder answers 503 with Retry-After — the client waits, says so, and succeeds") {
  World w;
  RunnerProcess runner(w.tmp.path() + "/runner-state", kToken, {"--max-queue", "1"});
  w.env["STUDYHUB_SANDBOX_TOKEN"] = kToken;
  std::vector<std::unique_ptr<ChildProcess>> clients;
  for (int i = 0; i < 3; ++i) {
    fs::path site = w.npm_site("busy-" + std::to_string(i), "Busy " + std::to_string(i),
                               "require('child_process').execSync('sleep 2');\n");
    w.other_states.push_back(w.state + "-" + std::to_string(i));
    clients.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{binary_path(), "publish", "--json", "--target", "docker-run", "--docker-run-url", runner.url(),
                                 site.string()},
        std::map<std::string, std::string>{{"STUDYHUB_SANDBOX_HOME", w.state + "-" + std::to_string(i)},
                                           {"STUDYHUB_SANDBOX_TOKEN", kToken}}));
    std::this_thread::sleep_for(300ms);
  }
  std::string all;
  for (auto& c : clients) {
    std::string out;
    while (!c->stdout_eof()) out += c->read_stdout(200ms);
    CHECK(c->wait(180s) == 0);
    all += out;
  }
  CHECK(has(runner.log(), "POST /run 503"));
  CHECK(has(all, "builder busy, retrying in "));
}

TEST_CASE("fleet: with several builder URLs the client moves on from one that refuses or is busy") {
  World w;
  RunnerProcess busy(w.tmp.path() + "/busy-state", kToken, {"--max-queue", "1"});
  RunnerProcess free_one(w.tmp.path() + "/free-state", kToken);
  int closed = free_port();  // nothing listens there
  w.env["STUDYHUB_SANDBOX_TOKEN"] = kToken;
  // Keep the busy runner full: one build running, one waiting.
  std::vector<std::thread> hogs;
  std::string hog = json{{"image", "x"}, {"payload", {{"language", "bash"}, {"files", {{{"name", "a.sh"}, {"content", "true"}}}},
                                                      {"command", "sleep 6"}}}}.dump();
  for (int i = 0; i < 2; ++i) {
    hogs.emplace_back([&] { http_request("POST", busy.url() + "/run", {"X-Access-Token: " + kToken, "Expect:"}, hog); });
    std::this_thread::sleep_for(300ms);
  }
  fs::path site = w.static_site("fleet", "Fleet");
  std::string urls = "http://127.0.0.1:" + std::to_string(closed) + "," + busy.url() + "," + free_one.url();
  auto r = w.cli({"publish", "--json", "--target", "docker-run", "--docker-run-url", urls, site.string()});
  CAPTURE(r.out);
  REQUIRE(r.status == 0);
  CHECK(has(free_one.log(), "POST /run 200"));
  check_site_loads(json::parse(World::url_of(r))["url"].get<std::string>(), "Fleet");
  for (auto& t : hogs) t.join();
}

TEST_CASE("fleet: two runners behind haproxy, 200 clients at once — every request ends in a result or a 503 with Retry-After, none hangs, memory stays flat") {
  REQUIRE_MESSAGE(fs::exists("/usr/sbin/haproxy"), "haproxy is needed (scripts/setup installs it)");
  TempDir tmp;
  RunnerProcess a(tmp.path() + "/a", kToken, {"--max-queue", "8"});
  RunnerProcess b(tmp.path() + "/b", kToken, {"--max-queue", "8"});
  int port = free_port();
  write_file(fs::path(tmp.path()) / "haproxy.cfg",
             "global\n  maxconn 2000\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 300s\n"
             "  timeout server 300s\n  timeout queue 60s\nfrontend builders\n  bind 127.0.0.1:" + std::to_string(port) +
             "\n  default_backend runners\nbackend runners\n  balance roundrobin\n  option httpchk GET /\n"
             "  server a 127.0.0.1:" + runner_port(a) + " check\n  server b 127.0.0.1:" + runner_port(b) + " check\n");
  ChildProcess haproxy({"/usr/sbin/haproxy", "-db", "-f", (fs::path(tmp.path()) / "haproxy.cfg").string()});
  std::string front = "http://127.0.0.1:" + std::to_string(port);
  for (int i = 0; i < 100 && http_get(front + "/").status != 200; ++i) std::this_thread::sleep_for(50ms);
  REQUIRE(http_get(front + "/").status == 200);

  std::string body = json{{"image", "x"},
                          {"payload", {{"language", "bash"}, {"files", {{{"name", "a.sh"}, {"content", "true"}}}},
                                       {"command", "mkdir build && echo ok > build/index.html && tar -cz build | base64"}}}}
                         .dump();
  auto wave = [&](int clients) {
    std::mutex m;
    std::map<long, int> statuses;
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i)
      threads.emplace_back([&] {
        auto r = http_request("POST", front + "/run", {"X-Access-Token: " + kToken, "Content-Type: application/json", "Expect:"}, body);
        json j = json::parse(r.body, nullptr, false);
        bool ok = (r.status == 200 && j.is_object() && j.value("error", "x").empty()) ||
                  (r.status == 503 && r.headers.count("retry-after") && j.is_object() && j.value("error", "") == "limits.capacity");
        if (!ok) ++bad;
        std::lock_guard lock(m);
        ++statuses[r.status];
      });
    for (auto& t : threads) t.join();
    std::string summary;
    for (auto& [s, n] : statuses) summary += std::to_string(s) + ": " + std::to_string(n) + "  ";
    MESSAGE("200 clients through haproxy: " << summary);
    CHECK(bad == 0);  // status 0 would be a hang cut by the client's timeout, or a lost request
    CHECK(statuses[200] >= 2);
    return statuses;
  };
  wave(200);
  long after_first = rss_kb(a.pid()) + rss_kb(b.pid());
  wave(200);
  wave(200);
  long after_third = rss_kb(a.pid()) + rss_kb(b.pid());
  MESSAGE("runners' RSS: " << after_first << " kB after the first 200, " << after_third << " kB after 600");
  CHECK(after_third < after_first + 8 * 1024);  // flat: no growth with the requests served
  ::kill(haproxy.pid(), SIGTERM);
  haproxy.wait(5s);
}
