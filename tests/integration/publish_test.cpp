// Publishing with the real binary: the CLI and JSON-RPC, real builds as child processes, the
// background host over real HTTP, kills at random moments.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <random>
#include <regex>
#include <thread>

#include "support/fs_helpers.h"
#include "support/http_client.h"
#include "support/rpc_client.h"
#include "support/sandbox_world.h"

using namespace studyhub::testing;

namespace {

std::string count_builds_snippet(const fs::path& counter) {
  return "fs.appendFileSync(" + nlohmann::json(counter.string()).dump() + ", 'x');\n";
}

}  // namespace

TEST_CASE("publish a static sandbox: the URL serves it, every asset loads, at /s/ and /v/") {
  World w;
  fs::path site = w.static_site("My Site", "Hello static");
  auto r = w.cli({"publish", site.string()});
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  std::string url = World::url_of(r);
  CHECK(std::regex_match(url, std::regex(R"(http://127\.0\.0\.1:\d+/s/my-site/)")));
  check_site_loads(url, "Hello static");
  auto json = w.cli({"publish", "--json", site.string()});
  auto last = nlohmann::json::parse(World::url_of(json));
  check_site_loads(last["immutableUrl"].get<std::string>(), "Hello static");
  // Binary and empty files travelled intact.
  CHECK(http_get(url + "img/dot.png").body == std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1", 20));
  auto empty = http_get(url + "empty.txt");
  CHECK(empty.status == 200);
  CHECK(empty.body.empty());
}

TEST_CASE("an unchanged sandbox is not rebuilt: the second publish is a cache hit") {
  World w;
  fs::path counter = w.root / "builds";
  fs::path site = w.npm_site("app", "Cached", count_builds_snippet(counter));
  auto first = w.cli({"publish", "--json", site.string()});
  REQUIRE_MESSAGE(first.status == 0, (first.err + first.out));
  auto second = w.cli({"publish", "--json", site.string()});
  REQUIRE(second.status == 0);
  auto a = nlohmann::json::parse(World::url_of(first)), b = nlohmann::json::parse(World::url_of(second));
  CHECK_FALSE(a["cached"].get<bool>());
  CHECK(b["cached"].get<bool>());
  CHECK(a["snapshotId"] == b["snapshotId"]);
  CHECK(read_file(counter) == "x");
  check_site_loads(b["url"].get<std::string>(), "Cached");
}

TEST_CASE("publish --json: one JSON object per line, the last one the result") {
  World w;
  auto r = w.cli({"publish", "--json", w.npm_site("app", "Lines").string()});
  REQUIRE(r.status == 0);
  std::vector<nlohmann::json> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(!j.is_discarded(), line);
    lines.push_back(j);
  }
  REQUIRE(lines.size() > 3);
  std::set<std::string> stages;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    CHECK(lines[i].contains("event"));
    if (lines[i]["event"] == "stage") stages.insert(lines[i]["stage"].get<std::string>());
  }
  CHECK(stages == std::set<std::string>{"snapshot", "build", "extract", "publish"});
  bool saw_log = false;
  for (auto& l : lines) saw_log |= l.value("event", "") == "log" && l.value("message", "").find("built Lines") != std::string::npos;
  CHECK(saw_log);
  for (const char* key : {"url", "immutableUrl", "snapshotId", "cached", "files", "bytes", "durationMs"})
    CHECK(lines.back().contains(key));
}

TEST_CASE("a failed build: exit 1, the log and the problem in the terminal, the previous site still serving") {
  World w;
  fs::path site = w.npm_site("app", "Version one");
  auto good = w.cli({"publish", site.string()});
  REQUIRE(good.status == 0);
  std::string url = World::url_of(good);
  write_file(site / "build.js",
             "console.error('src/app.js:2:7: ERROR: Unexpected \"}\"');\nprocess.exit(1);\n");
  auto bad = w.cli({"publish", site.string()});
  CHECK(bad.status == 1);
  CHECK(bad.err.find("src/app.js:2:7: error: Unexpected \"}\"") != std::string::npos);
  CHECK(bad.err.find("publish failed: the build failed (Exit code: 1)") != std::string::npos);
  CHECK(http_get(url).body.find("Version one") != std::string::npos);
}

TEST_CASE("usage: a bad --name exits 2 — the name comes from the settings file or the folder") {
  World w;
  fs::path site = w.static_site("Some Folder", "Named");
  auto bad = w.cli({"publish", "--name", "Not OK/..", site.string()});
  CHECK(bad.status == 2);
  CHECK(bad.err.find("--name") != std::string::npos);
  write_file(site / ".studyhub-sandbox.json", R"({"name": "From Settings"})");
  auto r = w.cli({"publish", site.string()});
  REQUIRE(r.status == 0);
  CHECK(World::url_of(r).ends_with("/s/from-settings/"));
  auto flag = w.cli({"publish", "--name", "chosen", site.string()});
  CHECK(World::url_of(flag).ends_with("/s/chosen/"));
}

TEST_CASE("--dry-run shows what would be sent and builds nothing") {
  World w;
  fs::path site = w.static_site("dry", "Dry");
  auto r = w.cli({"publish", "--dry-run", "--json", site.string()});
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["dryRun"] == true);
  CHECK(j["preset"] == "static");
  CHECK(j["binaryFiles"] == 1);
  CHECK(j["emptyFiles"] == 1);
  bool built = fs::exists(fs::path(w.state) / "versions") && !fs::is_empty(fs::path(w.state) / "versions");
  CHECK_FALSE(built);
}

TEST_CASE("list shows what was published, in the shape of sandbox/list") {
  World w;
  w.cli({"publish", w.static_site("one", "One").string()});
  w.cli({"publish", w.static_site("two", "Two").string()});
  auto r = w.cli({"list", "--json"});
  REQUIRE(r.status == 0);
  auto cli = nlohmann::json::parse(r.out);
  REQUIRE(cli["sites"].size() == 2);
  CHECK(cli["sites"][0]["name"] == "one");
  RpcClient c({}, {{"STUDYHUB_SANDBOX_HOME", w.state}});
  c.initialize();
  auto rpc = c.request(1, "sandbox/list")["result"];
  CHECK(rpc == cli);
}

TEST_CASE("JSON-RPC publish: progress in order, build log, result — a failure sends diagnostics a success clears") {
  World w;
  fs::path site = w.npm_site("app", "Over RPC");
  RpcClient c({}, {{"STUDYHUB_SANDBOX_HOME", w.state}});
  c.initialize();
  auto r = c.response(0, 0ms);  // nothing pending
  c.send({{"jsonrpc", "2.0"}, {"id", 5}, {"method", "sandbox/publish"},
          {"params", {{"folder", site.string()}, {"workDoneToken", "pub-1"}}}});
  auto done = c.response(5, 120s);
  REQUIRE(done);
  REQUIRE_MESSAGE(done->contains("result"), done->dump());
  CHECK((*done)["result"]["url"].get<std::string>().ends_with("/s/app/"));
  std::vector<std::string> kinds;
  int last = -1;
  bool log = false;
  for (auto& m : c.seen) {
    if (m["method"] == "$/progress") {
      auto v = m["params"]["value"];
      kinds.push_back(v["kind"]);
      if (v["kind"] != "end") {
        CHECK(v["percentage"].get<int>() >= last);
        last = v["percentage"];
      }
    }
    if (m["method"] == "window/logMessage" && m["params"]["message"].get<std::string>().find("built Over RPC") != std::string::npos)
      log = true;
  }
  CHECK(log);
  REQUIRE(kinds.size() >= 3);
  CHECK(kinds.front() == "begin");
  CHECK(kinds.back() == "end");
  c.seen.clear();

  write_file(site / "build.js", "console.error('src/app.js:1:9: ERROR: Expected identifier');\nprocess.exit(2);\n");
  c.send({{"jsonrpc", "2.0"}, {"id", 6}, {"method", "sandbox/publish"}, {"params", {{"folder", site.string()}}}});
  auto failed = c.response(6, 120s);
  REQUIRE(failed);
  REQUIRE(failed->contains("error"));
  CHECK((*failed)["error"]["code"] == -32803);
  CHECK((*failed)["error"]["data"]["diagnostics"].size() == 1);
  CHECK((*failed)["error"]["data"]["logTail"].get<std::string>().find("Expected identifier") != std::string::npos);
  nlohmann::json diag;
  for (auto& m : c.seen)
    if (m["method"] == "textDocument/publishDiagnostics") diag = m["params"];
  REQUIRE(diag.is_object());
  CHECK(diag["uri"].get<std::string>().ends_with("/app/src/app.js"));
  CHECK(diag["diagnostics"][0]["range"]["start"]["line"] == 0);
  CHECK(diag["diagnostics"][0]["range"]["start"]["character"] == 8);
  CHECK(diag["diagnostics"][0]["severity"] == 1);
  c.seen.clear();

  w.npm_site("app", "Fixed");
  auto fixed = c.response(7, 0ms);
  c.send({{"jsonrpc", "2.0"}, {"id", 7}, {"method", "sandbox/publish"}, {"params", {{"folder", site.string()}}}});
  fixed = c.response(7, 120s);
  REQUIRE(fixed);
  CHECK(fixed->contains("result"));
  bool cleared = false;
  for (auto& m : c.seen)
    if (m["method"] == "textDocument/publishDiagnostics" && m["params"]["diagnostics"].empty()) cleared = true;
  CHECK(cleared);
}

TEST_CASE("cancel over JSON-RPC stops the build within a second and leaves no process") {
  World w;
  fs::path pidfile = w.root / "build.pid";
  fs::path site = w.npm_site("slow", "Slow",
                             "fs.writeFileSync(" + nlohmann::json(pidfile.string()).dump() +
                                 ", String(process.pid));\nconst end = Date.now() + 60000; while (Date.now() < end) {}\n");
  RpcClient c({}, {{"STUDYHUB_SANDBOX_HOME", w.state}});
  c.initialize();
  c.send({{"jsonrpc", "2.0"}, {"id", 9}, {"method", "sandbox/publish"}, {"params", {{"folder", site.string()}}}});
  for (int i = 0; i < 600 && read_file(pidfile).empty(); ++i) std::this_thread::sleep_for(50ms);
  REQUIRE_FALSE(read_file(pidfile).empty());
  auto started = std::chrono::steady_clock::now();
  c.notify("$/cancelRequest", {{"id", 9}});
  auto r = c.response(9, 10s);
  REQUIRE(r);
  CHECK((*r)["error"]["code"] == -32800);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  int pid = std::stoi(read_file(pidfile));
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  CHECK((stat.empty() || stat.find(") Z") != std::string::npos));
}

TEST_CASE("two processes publishing at once build one at a time — both succeed") {
  World w;
  fs::path log = w.root / "intervals";
  auto slow = [&](const std::string& name) {
    return w.npm_site(name, name,
                      "fs.appendFileSync(" + nlohmann::json(log.string()).dump() + ", 'start\\n');\n"
                      "const end = Date.now() + 800; while (Date.now() < end) {}\n"
                      "fs.appendFileSync(" + nlohmann::json(log.string()).dump() + ", 'end\\n');\n");
  };
  fs::path a = slow("alpha"), b = slow("beta");
  CommandOutput ra, rb;
  std::thread ta([&] { ra = w.cli({"publish", a.string()}); });
  std::thread tb([&] { rb = w.cli({"publish", b.string()}); });
  ta.join();
  tb.join();
  CHECK(ra.status == 0);
  CHECK(rb.status == 0);
  CHECK(read_file(log) == "start\nend\nstart\nend\n");  // never two builds at once
}

TEST_CASE("requests for one folder that wait together coalesce into one publish — none is dropped") {
  World w;
  fs::path counter = w.root / "builds";
  fs::path blocker = w.npm_site("blocker", "Blocker", "const end = Date.now() + 1500; while (Date.now() < end) {}\n");
  fs::path target = w.npm_site("target", "Target", count_builds_snippet(counter));
  RpcClient c({}, {{"STUDYHUB_SANDBOX_HOME", w.state}});
  c.initialize();
  c.send({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "sandbox/publish"}, {"params", {{"folder", blocker.string()}}}});
  std::this_thread::sleep_for(300ms);
  for (int id = 2; id <= 4; ++id)
    c.send({{"jsonrpc", "2.0"}, {"id", id}, {"method", "sandbox/publish"},
            {"params", {{"folder", target.string()}, {"workDoneToken", "t" + std::to_string(id)}}}});
  std::this_thread::sleep_for(200ms);
  auto status = c.request(10, "sandbox/status")["result"]["queue"];
  REQUIRE(status.size() == 2);
  CHECK(status[0]["state"] == "running");
  CHECK(status[1]["state"] == "queued");
  CHECK(status[1]["requests"] == 3);
  std::set<std::string> urls;
  for (int id = 1; id <= 4; ++id) {
    auto r = c.response(id, 120s);
    REQUIRE(r);
    REQUIRE_MESSAGE(r->contains("result"), r->dump());
    if (id > 1) urls.insert((*r)["result"]["snapshotId"].get<std::string>());
  }
  CHECK(urls.size() == 1);
  CHECK(read_file(counter) == "x");
  bool position_reported = false;
  for (auto& m : c.seen)
    if (m["method"] == "$/progress" && m["params"]["value"].value("message", "").find("queued") != std::string::npos)
      position_reported = true;
  CHECK(position_reported);
}

TEST_CASE("the host: traversal refused, links out of a site refused, caching and ranges, no listings") {
  World w;
  fs::path site = w.static_site("web", "Hosted");
  write_file(site / "docs/readme.txt", "0123456789");
  auto r = w.cli({"publish", "--json", site.string()});
  REQUIRE(r.status == 0);
  auto result = nlohmann::json::parse(World::url_of(r));
  std::string url = result["url"];
  std::string base = url.substr(0, url.find("/s/"));
  write_file(fs::path(w.state) / "secret.txt", "state secret");
  // A link planted inside a published version must not lead out of it.
  fs::path version = fs::path(w.state) / "versions" / result["snapshotId"].get<std::string>();
  fs::create_symlink(fs::path(w.state) / "secret.txt", version / "planted.txt");
  fs::create_symlink("../../secret.txt", version / "planted-relative.txt");

  for (const char* evil : {"/s/web/../../secret.txt", "/s/web/%2e%2e/%2e%2e/secret.txt", "/s/web/%252e%252e/secret.txt",
                           "/s/web/..%5c..%5csecret.txt", "/s/web/%00", "/s/web/planted.txt",
                           "/s/web/planted-relative.txt", "/v/web/", "/s/../secret.txt", "/secret.txt"}) {
    CAPTURE(evil);
    auto res = http_get(base + evil);
    CHECK((res.status == 400 || res.status == 404));
    CHECK(res.body.find("state secret") == std::string::npos);
  }
  auto page = http_get(url);
  CHECK(page.headers["x-content-type-options"] == "nosniff");
  CHECK(page.headers["content-type"] == "text/html; charset=utf-8");
  CHECK(http_get(url + "css/site.css").headers["content-type"] == "text/css; charset=utf-8");
  auto again = http_get(url, {"If-None-Match: " + page.headers["etag"]});
  CHECK(again.status == 304);
  auto range = http_get(url + "docs/readme.txt", {"Range: bytes=2-5"});
  CHECK(range.status == 206);
  CHECK(range.body == "2345");
  CHECK(range.headers["content-range"] == "bytes 2-5/10");
  CHECK(http_get(url + "docs/readme.txt", {"Range: bytes=-3"}).body == "789");
  CHECK(http_get(url + "docs/readme.txt", {"Range: bytes=20-30"}).status == 416);
  CHECK(http_get(url + "docs").status == 301);
  CHECK(http_get(url + "docs/").status == 404);  // a folder without index.html: no listing
  CHECK(http_get(base + "/s/web").headers["location"] == "/s/web/");
  CHECK(http_get(url, {}, "POST").status == 405);
  auto head = http_get(url + "docs/readme.txt", {}, "HEAD");
  CHECK(head.status == 200);
  CHECK(head.headers["content-length"] == "10");
  CHECK(http_get(result["immutableUrl"].get<std::string>()).headers["cache-control"].find("immutable") != std::string::npos);
}

TEST_CASE("the host binds loopback only, unless asked — host --stop ends it") {
  World w;
  auto r = w.cli({"publish", w.static_site("loop", "Loop").string()});
  REQUIRE(r.status == 0);
  auto record = nlohmann::json::parse(read_file(fs::path(w.state) / "host.json"));
  CHECK(record["address"] == "127.0.0.1");
  auto stop = w.cli({"host", "--stop"});
  CHECK(stop.status == 0);
  CHECK(http_get(World::url_of(r)).status == 0);
  // The next publish brings it back on the same port, so old URLs work again.
  auto again = w.cli({"publish", w.static_site("loop", "Loop").string()});
  CHECK(World::url_of(again) == World::url_of(r));
  CHECK(http_get(World::url_of(again)).status == 200);
}

TEST_CASE("a real Vite React app from the npm registry: built, published, every asset loads — an edit reuses node_modules") {
  World w;
  fs::path app = w.root / "hello-vite";
  fs::copy(fs::path(STUDYHUB_SOURCE_DIR) / "examples/hello-vite", app, fs::copy_options::recursive);
  fs::remove_all(app / "node_modules");
  auto r = w.cli({"publish", "--json", app.string()}, std::chrono::seconds(600));
  REQUIRE_MESSAGE(r.status == 0, (r.err + r.out.substr(r.out.size() > 3000 ? r.out.size() - 3000 : 0)));
  auto result = nlohmann::json::parse(World::url_of(r));
  check_site_loads(result["url"], "<div id=\"root\">");
  check_site_loads(result["immutableUrl"], "<div id=\"root\">");

  write_file(app / "src/App.jsx", read_file(app / "src/App.jsx") + "\n// edited\n");
  auto again = w.cli({"publish", "--json", app.string()}, std::chrono::seconds(600));
  REQUIRE(again.status == 0);
  CHECK(again.out.find("npm install skipped") != std::string::npos);
  CHECK(nlohmann::json::parse(World::url_of(again))["snapshotId"] != result["snapshotId"]);

  // A syntax error is reported at its file and line.
  write_file(app / "src/App.jsx", "export default function App() { return <main><h1>broken</h1 </main>; }\n");
  auto broken = w.cli({"publish", app.string()}, std::chrono::seconds(600));
  CHECK(broken.status == 1);
  CHECK(broken.err.find("/src/App.jsx:1:") != std::string::npos);
}

TEST_CASE("the build time limit from the settings stops a runaway build with a clear error") {
  World w;
  fs::path site = w.npm_site("forever", "Forever", "const end = Date.now() + 60000; while (Date.now() < end) {}\n");
  write_file(site / ".studyhub-sandbox.json", R"({"buildTimeoutSeconds": 2})");
  auto started = std::chrono::steady_clock::now();
  auto r = w.cli({"publish", site.string()});
  CHECK(r.status == 1);
  CHECK(r.err.find("longer than its limit of 2 s") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
}

TEST_CASE("the sites layout served by nginx under another prefix: every asset loads") {
  World w;
  fs::path site = w.static_site("prefixed", "Behind nginx");
  auto r = w.cli({"publish", "--json", site.string()});
  REQUIRE(r.status == 0);
  auto result = nlohmann::json::parse(World::url_of(r));
  REQUIRE_MESSAGE(fs::exists("/usr/sbin/nginx"), "nginx is needed (scripts/setup installs it)");
  fs::path conf_dir = w.root / "nginx";
  fs::create_directories(conf_dir / "tmp");
  int port = 0;
  {  // a free loopback port
    ChildProcess probe({"python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"});
    probe.close_stdin();
    port = std::stoi(probe.read_stdout(5s));
    probe.wait(5s);
  }
  std::string t = (conf_dir / "tmp").string();
  write_file(conf_dir / "nginx.conf",
             std::string(::getuid() == 0 ? "user root;\n" : "") +  // workers must read the 0700 state dir
                 "worker_processes 1; daemon off; pid " + (conf_dir / "nginx.pid").string() + "; error_log " +
                 (conf_dir / "error.log").string() + ";\nevents { worker_connections 64; }\nhttp { access_log off; "
                 "include /etc/nginx/mime.types; client_body_temp_path " + t + "; proxy_temp_path " + t +
                 "; fastcgi_temp_path " + t + "; uwsgi_temp_path " + t + "; scgi_temp_path " + t +
                 ";\n  server { listen 127.0.0.1:" + std::to_string(port) + ";\n" +
                 "    location /e/ { alias " + w.state + "/versions/; }\n" +
                 "    location /deep/prefix/sites/ { alias " + w.state + "/sites/; } } }\n");
  ChildProcess nginx({"/usr/sbin/nginx", "-c", (conf_dir / "nginx.conf").string(), "-p", conf_dir.string()});
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  for (int i = 0; i < 100 && http_get(base + "/").status == 0; ++i) std::this_thread::sleep_for(50ms);
  check_site_loads(base + "/e/" + result["snapshotId"].get<std::string>() + "/", "Behind nginx");
  check_site_loads(base + "/deep/prefix/sites/prefixed/", "Behind nginx");
  ::kill(nginx.pid(), SIGQUIT);
  nginx.wait(5s);
}
