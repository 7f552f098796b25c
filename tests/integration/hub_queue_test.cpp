// The hub's queue on real parts (PostgreSQL, hub processes, the CLI): supersede and positions,
// cancel while queued and while building, fairness across users, many clients at once, a worker
// killed mid-build, the database going away, SIGTERM, an event stream cut and resumed.
#include <doctest/doctest.h>
#include <signal.h>

#include <mutex>
#include <sstream>
#include <thread>

#include "support/cut_proxy.h"
#include "support/hub_world.h"
#include "support/processes.h"

using namespace studyhub::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A CLI publish running in the background, its output gathered.
struct BackgroundPublish {
  std::unique_ptr<ChildProcess> child;
  std::string out;
  BackgroundPublish(World& w, const std::string& hub_url, const fs::path& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{binary_path(), "publish", "--json", "--target", "hub", "--hub-url", hub_url, dir.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto env = w.env;
    env["STUDYHUB_SANDBOX_HOME"] = w.state;
    child = std::make_unique<ChildProcess>(argv, env);
  }
  // Reads output until `text` shows up (true) or the time is up.
  bool wait_for(const std::string& text, std::chrono::seconds limit = 60s) {
    for (auto until = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < until;) {
      if (has(out, text)) return true;
      out += child->read_stdout(100ms);
      if (child->stdout_eof() && !has(out, text)) return false;
    }
    return has(out, text);
  }
  int finish(std::chrono::seconds limit = 120s) {
    while (!child->stdout_eof()) out += child->read_stdout(100ms);
    auto status = child->wait(limit);
    return status.value_or(-1);
  }
  json result() const {
    std::string text = out;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    auto j = json::parse(text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1), nullptr, false);
    return j.is_discarded() ? json::object() : j;
  }
};

std::string site_page(const std::string& text) {
  return "<!doctype html><title>" + text + "</title><h1>" + text + "</h1><script src=\"./js/app.js\"></script>\n";
}

}  // namespace

TEST_CASE("hub queue: a newer deployment supersedes a queued one and both publishes get it — positions and cancel while queued") {
  HubWorld w({"--workers", "0"});  // nothing builds until a worker joins
  fs::path x = w.static_site("x", "X one");
  BackgroundPublish first(w, w.hub->url(), x);
  REQUIRE(first.wait_for(R"("event":"queued")"));
  write_file(x / "index.html", site_page("X two"));
  BackgroundPublish second(w, w.hub->url(), x);
  REQUIRE(second.wait_for(R"("position":1)"));
  REQUIRE(first.wait_for("replaced this one"));
  fs::path y = w.static_site("y", "Y");
  BackgroundPublish third(w, w.hub->url(), y);
  REQUIRE(third.wait_for(R"("position":2)"));
  auto d1 = w.api("GET", "/v1/deployments/1").body;
  auto d2 = w.api("GET", "/v1/deployments/2").body;
  auto d3 = w.api("GET", "/v1/deployments/3").body;
  CHECK(d1["state"] == "superseded");
  CHECK(d1["supersededBy"] == 2);
  CHECK(d2["position"] == 1);
  CHECK(d3["position"] == 2);
  // Its follower is told, in its event stream.
  auto events = http_get(w.hub->url() + "/v1/deployments/1/events", {"Authorization: Bearer " + w.token});
  CHECK(has(events.body, R"("state":"superseded","supersededBy":2)"));

  // Ctrl-C while queued cancels on the hub.
  ::kill(third.child->pid(), SIGINT);
  CHECK(third.finish() == 1);
  CHECK(w.api("GET", "/v1/deployments/3").body["state"] == "canceled");
  CHECK(has(third.out, "cancelling deployment 3"));

  // A worker joins: the newest content is built, and both earlier publishes answer with it.
  HubProcess worker(w.db, w.data, {}, {}, "worker");
  REQUIRE(first.finish() == 0);
  REQUIRE(second.finish() == 0);
  CHECK(first.result()["snapshotId"] == second.result()["snapshotId"]);
  CHECK(first.result()["deploymentId"] == 2);
  CHECK(has(http_get(w.hub->url() + "/s/ada/x/").body, "X two"));
  CHECK(w.pg.sql("SELECT count(*) FROM deployments WHERE started_at IS NOT NULL", "t1") == "1\n");  // one build
}

TEST_CASE("hub queue: cancel while building stops the build's processes and records canceled") {
  HubWorld w;
  const std::string marker = unique_marker();
  fs::path app = w.npm_site("long", "Long", marked_sleep(marker, 60));
  BackgroundPublish p(w, w.hub->url(), app);
  REQUIRE(wait_for_process(marker, 60s));
  ::kill(p.child->pid(), SIGINT);
  CHECK(p.finish() == 1);
  CHECK(has(p.out, "cancelled"));
  CHECK(wait_no_process(marker, 10s));
  auto d = w.api("GET", "/v1/deployments/1").body;
  CHECK(d["state"] == "canceled");
  CHECK(d["errorCode"] == "canceled");
  // The worker is free for the next one.
  write_file(app / "build.js", "const fs = require('fs'); fs.mkdirSync('dist', {recursive: true}); "
                               "fs.writeFileSync('dist/index.html', '<h1>after</h1>');\n");
  auto next = w.publish(app);
  CHECK(next.status == 0);
}

TEST_CASE("hub queue: fair across users — one user's thirty queued publishes keep another's first waiting behind at most one build") {
  HubWorld w({"--workers", "0", "--max-queued-per-user", "100"});
  std::string bob = hub_user_add(w.db, "bob");
  // Ada queues thirty sites, each with its own content.
  for (int i = 0; i < 30; ++i) {
    fs::path site = w.static_site("ada-" + std::to_string(i), "Ada " + std::to_string(i));
    BackgroundPublish p(w, w.hub->url(), site);
    REQUIRE(p.wait_for(R"("event":"queued")"));
    p.child.reset();  // the deployment stays queued on the hub when its client goes
  }
  w.env["STUDYHUB_SANDBOX_HUB_TOKEN"] = bob;
  BackgroundPublish bobs(w, w.hub->url(), w.static_site("bob-first", "Bob"));
  REQUIRE(bobs.wait_for(R"("position":2)"));  // round robin: ada's first, then bob's first
  HubProcess worker(w.db, w.data, {}, {}, "worker");
  REQUIRE(bobs.finish() == 0);
  // How many of ada's builds started before bob's?
  std::string ahead = w.pg.sql(
      "SELECT count(*) FROM deployments d JOIN users u ON u.id = d.user_id WHERE u.name = 'ada' AND d.started_at < "
      "(SELECT d2.started_at FROM deployments d2 JOIN users u2 ON u2.id = d2.user_id WHERE u2.name = 'bob')",
      "t1");
  CHECK(std::stoi(ahead) <= 1);
}

TEST_CASE("hub load: 20 clients × 10 publishes over 5 sites and 2 hubs — every publish answered, builds of a site never overlap, each site ends at its newest content") {
  HubWorld w({"--workers", "2", "--max-queued-per-user", "100"});
  HubProcess second(w.db, w.data, {"--workers", "2"});
  std::map<std::string, std::string> tokens{{"ada", w.token}};
  for (const char* u : {"bob", "cy", "dee"}) tokens[u] = hub_user_add(w.db, u);
  // Five sites: ada has two, the others one each.
  const std::vector<std::pair<std::string, std::string>> sites{{"ada", "s0"}, {"ada", "s1"}, {"bob", "s2"}, {"cy", "s3"},
                                                               {"dee", "s4"}};
  std::mutex m;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int c = 0; c < 20; ++c) {
    clients.emplace_back([&, c] {
      auto [user, site] = sites[c % 5];
      std::string hub_url = c % 2 ? second.url() : w.hub->url();  // half the clients talk to each hub
      fs::path dir = w.root / ("client-" + std::to_string(c));
      for (int i = 0; i < 10; ++i) {
        {
          std::lock_guard lock(m);  // World is shared: write under the lock
          write_file(dir / "index.html", site_page("client " + std::to_string(c) + " publish " + std::to_string(i)));
          write_file(dir / "js/app.js", "console.log(" + std::to_string(c) + ")\n");
        }
        auto r = run_command({binary_path(), "publish", "--json", "--target", "hub", "--hub-url", hub_url, "--name", site,
                              dir.string()},
                             {{"STUDYHUB_SANDBOX_HOME", w.state + "-" + std::to_string(c)},
                              {"STUDYHUB_SANDBOX_HUB_TOKEN", tokens[user]}},
                             300s);
        if (r.status != 0) {
          std::lock_guard lock(m);
          failures.push_back("client " + std::to_string(c) + " publish " + std::to_string(i) + ": " + r.err + r.out.substr(r.out.size() > 400 ? r.out.size() - 400 : 0));
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  for (const auto& f : failures) FAIL_CHECK(f);
  CHECK(failures.empty());
  // Every deployment ended.
  CHECK(w.pg.sql("SELECT count(*) FROM deployments WHERE state NOT IN ('ready', 'failed', 'canceled', 'superseded')", "t1") == "0\n");
  CHECK(w.pg.sql("SELECT count(*) FROM deployments WHERE state = 'failed'", "t1") == "0\n");
  CHECK(w.pg.sql("SELECT count(*) FROM jobs", "t1") == "0\n");
  // No two builds of one site overlapped.
  std::string overlaps = w.pg.sql(
      "SELECT count(*) FROM deployments a JOIN deployments b ON a.site_id = b.site_id AND a.id < b.id "
      "WHERE a.started_at IS NOT NULL AND b.started_at IS NOT NULL "
      "AND a.started_at < b.finished_at AND b.started_at < a.finished_at",
      "t1");
  CHECK(overlaps == "0\n");
  // Each site shows its newest deployment, and serves that content.
  for (const auto& [user, site] : sites) {
    CAPTURE(site);
    std::string newest = w.pg.sql(
        "SELECT d.id || ' ' || d.state || ' ' || d.snapshot_id || ' ' || (s.current_deployment_id = d.id) FROM deployments d "
        "JOIN sites s ON s.id = d.site_id WHERE s.name = '" + site + "' ORDER BY d.id DESC LIMIT 1",
        "t1");
    std::istringstream fields(newest);
    std::string id, state, snapshot, current;
    fields >> id >> state >> snapshot >> current;
    CHECK(state == "ready");
    CHECK(current == "true");
    auto served = http_get(w.hub->url() + "/v/" + user + "/" + snapshot + "/");
    auto live = http_get(w.hub->url() + "/s/" + user + "/" + site + "/");
    CHECK(live.status == 200);
    CHECK(live.body == served.body);
  }
  CHECK(has(w.hub->log() + second.log(), "ready"));
}

TEST_CASE("hub: a worker killed with SIGKILL mid-build — another hub's worker takes the job after the lease lapses and the site serves one whole version") {
  HubWorld w({"--workers", "0"});  // the API; two worker processes share its database and data folder
  const std::string marker = unique_marker();
  auto first_worker = std::make_unique<HubProcess>(w.db, w.data, std::vector<std::string>{"--lease-seconds", "3"},
                                                   std::map<std::string, std::string>{}, "worker");
  fs::path app = w.npm_site("survivor", "Survivor v1");
  auto v1 = w.publish(app);
  REQUIRE(v1.status == 0);
  std::string url = last_json(v1)["url"];
  w.npm_site("survivor", "Survivor v2", marked_sleep(marker, 4));
  BackgroundPublish p(w, w.hub->url(), app);
  REQUIRE(wait_for_process(marker, 60s));
  first_worker->kill9();
  CHECK(wait_no_process(marker, 10s));  // the dead worker's build does not outlive it
  CHECK(has(http_get(url).body, "Survivor v1"));  // meanwhile the last good version serves, whole
  HubProcess second_worker(w.db, w.data, {"--lease-seconds", "3"}, {}, "worker");
  REQUIRE(p.finish() == 0);
  auto d = w.api("GET", "/v1/deployments/2").body;
  CHECK(d["state"] == "ready");
  CHECK(d["attempts"] == 2);
  CHECK(has(p.out, "stopped responding"));
  check_site_loads(url, "Survivor v2");
}

TEST_CASE("hub: SIGTERM lets a short build finish and hands a long one back to the queue — exit 0, no process left") {
  HubWorld w({"--workers", "0"});
  const std::string marker = unique_marker();
  SUBCASE("finished within the grace period") {
    HubProcess worker(w.db, w.data, {"--shutdown-grace", "20"}, {}, "worker");
    fs::path app = w.npm_site("short", "Short", marked_sleep(marker, 1.5));
    BackgroundPublish p(w, w.hub->url(), app);
    REQUIRE(wait_for_process(marker, 60s));
    CHECK(worker.terminate() == 0);
    CHECK(p.finish() == 0);
    CHECK(w.api("GET", "/v1/deployments/1").body["state"] == "ready");
  }
  SUBCASE("handed back after the grace period, and built by the next worker") {
    auto worker = std::make_unique<HubProcess>(w.db, w.data, std::vector<std::string>{"--shutdown-grace", "1"},
                                               std::map<std::string, std::string>{}, "worker");
    fs::path app = w.npm_site("long", "Long", marked_sleep(marker, 8));
    BackgroundPublish p(w, w.hub->url(), app);
    REQUIRE(wait_for_process(marker, 60s));
    auto started = std::chrono::steady_clock::now();
    CHECK(worker->terminate() == 0);
    CHECK(std::chrono::steady_clock::now() - started < 6s);
    CHECK(wait_no_process(marker, 10s));
    CHECK(w.api("GET", "/v1/deployments/1").body["state"] == "queued");
    CHECK(has(worker->log(), "handed back"));
    // The fast build for the next worker.
    write_file(app / "build.js", "const fs = require('fs'); fs.mkdirSync('dist', {recursive: true}); "
                                 "fs.writeFileSync('dist/index.html', '<h1>Long, built again</h1>');\n");
    HubProcess next(w.db, w.data, {}, {}, "worker");
    CHECK(p.finish() == 0);
    auto d = w.api("GET", "/v1/deployments/1").body;
    CHECK(d["state"] == "ready");
    CHECK(d["attempts"] == 1);  // handing back does not count as a failed attempt
  }
}

TEST_CASE("hub: the database stopped and restarted mid-build — the API answers 503 with Retry-After, nothing is lost") {
  HubWorld w;
  const std::string marker = unique_marker();
  fs::path app = w.npm_site("steady", "Steady", marked_sleep(marker, 3));
  BackgroundPublish building(w, w.hub->url(), app);
  REQUIRE(wait_for_process(marker, 60s));
  w.pg.stop();
  auto down = w.api("GET", "/v1/me");
  CHECK(down.status == 503);
  CHECK(down.body["error"] == "database.unavailable");
  CHECK(down.headers.count("retry-after"));
  // A publish that starts now waits for the hub and says so.
  fs::path other = w.static_site("patient", "Patient");
  BackgroundPublish waiting(w, w.hub->url(), other);
  CHECK(waiting.wait_for("the hub is busy, retrying in", 30s));
  std::this_thread::sleep_for(1s);
  w.pg.start();
  CHECK(building.finish() == 0);
  CHECK(waiting.finish() == 0);
  check_site_loads(building.result()["url"].get<std::string>(), "Steady");
  check_site_loads(waiting.result()["url"].get<std::string>(), "Patient");
  CHECK(w.api("GET", "/v1/me").status == 200);
  CHECK(w.pg.sql("SELECT count(*) FROM deployments WHERE state <> 'ready'", "t1") == "0\n");
}

TEST_CASE("hub: an event stream cut mid-build resumes from the last line, none lost or repeated") {
  HubWorld w;
  std::string lines;
  for (int i = 1; i <= 20; ++i)
    lines += "console.error('line " + std::to_string(i) + " of the build');\n"
             "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);\n";
  fs::path app = w.npm_site("chatty", "Chatty", lines);
  int port = std::stoi(w.hub->url().substr(w.hub->url().rfind(':') + 1));
  CutProxy proxy(port, "/events", 1500);  // the first event stream is cut after 1500 bytes
  auto r = w.cli({"publish", "--json", "--target", "hub", "--hub-url", proxy.url(), app.string()}, 120s);
  CAPTURE(r.out);
  REQUIRE(r.status == 0);
  CHECK(proxy.cuts_made() == 1);
  CHECK(has(r.out, "dropped; resuming after line"));
  size_t at = 0;
  for (int i = 1; i <= 20; ++i) {
    std::string line = "line " + std::to_string(i) + " of the build";
    CAPTURE(line);
    size_t found = r.out.find(line, at);
    REQUIRE(found != std::string::npos);
    CHECK(r.out.find(line, found + 1) == std::string::npos);  // once only
    at = found;
  }
}
