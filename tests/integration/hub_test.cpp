// The hub end to end on real parts: a real PostgreSQL, the real `hub serve` over loopback HTTP, the
// CLI and the JSON-RPC server publishing to it. The flow, content-addressed upload, failed builds,
// every bad input of the API, users kept apart, the token in no output, log or state file.
#include <doctest/doctest.h>

#include <signal.h>

#include <thread>

#include "support/hub_world.h"

using namespace studyhub::testing;
using nlohmann::json;
using namespace std::chrono_literals;

TEST_CASE("hub: publish from the CLI — upload, queue, build, a public URL — unchanged uploads nothing, one change one blob") {
  HubWorld w;
  fs::path site = w.static_site("team-site", "Hello team");
  auto r = w.publish(site);
  CAPTURE(r.out);
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  json result = last_json(r);
  CHECK(result["target"] == "hub");
  std::string url = result["url"];
  CHECK(url == w.hub->url() + "/s/ada/team-site/");
  CHECK(result["immutableUrl"] == w.hub->url() + "/v/ada/" + result["snapshotId"].get<std::string>() + "/");
  CHECK(result["cached"] == false);
  CHECK(result["uploadedFiles"] == result["files"]);  // a new hub lacks everything
  check_site_loads(url, "Hello team");
  check_site_loads(result["immutableUrl"].get<std::string>(), "Hello team");
  // The stream a user sees: upload, queued, build, extract, publish, in that order.
  size_t at = 0;
  for (const char* step : {R"("stage":"upload")", R"("event":"queued")", R"("stage":"build")", R"("stage":"extract")",
                           R"("stage":"publish")"}) {
    CAPTURE(step);
    size_t found = r.out.find(step, at);
    CHECK(found != std::string::npos);
    if (found != std::string::npos) at = found;
  }
  size_t puts = w.blob_puts();
  CHECK(puts == result["files"].get<size_t>());

  SUBCASE("an unchanged re-publish uploads nothing and answers at once") {
    auto again = w.publish(site);
    REQUIRE(again.status == 0);
    json j = last_json(again);
    CHECK(j["cached"] == true);
    CHECK(j["uploadedFiles"] == 0);
    CHECK(j["uploadedBytes"] == 0);
    CHECK(j["deploymentId"] == result["deploymentId"]);
    CHECK(w.blob_puts() == puts);
    // The client remembered that this hub took this snapshot: it did not even ask which blobs
    // the hub lacks.
    CHECK(has(again.out, "has this snapshot already"));
    // The hub recognises the tree it checked before without reading its blobs; a list that is
    // not that tree still fails, even under that tree's id.
    json files = json::array();
    std::string one = "only this\n";
    REQUIRE(w.api("PUT", "/v1/blobs/" + blob_id(one), one).status == 201);
    files.push_back({{"path", "index.html"}, {"oid", blob_id(one)}, {"mode", "100644"}});
    auto forged = w.api("POST", "/v1/sites/team-site/deployments",
                        json{{"snapshotId", result["snapshotId"]}, {"files", files}}.dump());
    CHECK(forged.status == 400);
    CHECK(forged.body.value("error", "") == "files.invalid");
  }
  SUBCASE("a hub that lost the blobs gets them again: the remembered snapshot is only a shortcut") {
    // Every object and the record of checked trees gone, as if the data folder were restored
    // from an old backup.
    for (const auto& entry : fs::directory_iterator(fs::path(w.data) / "blobs.git" / "objects"))
      if (entry.path().filename().string().size() == 2) fs::remove_all(entry.path());
    fs::remove_all(fs::path(w.data) / "blobs.git" / "verified");
    auto again = w.publish(site);
    CAPTURE(again.out);
    CAPTURE(again.err);
    REQUIRE(again.status == 0);
    json j = last_json(again);
    CHECK(j["uploadedFiles"] == result["files"]);
    CHECK(w.blob_puts() == puts + result["files"].get<size_t>());
    check_site_loads(url, "Hello team");
  }
  SUBCASE("a one-file change uploads that one blob") {
    std::string css = "h1 { color: blue; font-size: 3em }\n";
    write_file(site / "css/site.css", css);
    auto changed = w.publish(site);
    REQUIRE(changed.status == 0);
    json j = last_json(changed);
    CHECK(j["uploadedFiles"] == 1);
    CHECK(j["uploadedBytes"] == css.size());
    CHECK(w.blob_puts() == puts + 1);
    CHECK(http_get(url + "css/site.css").body == css);
    CHECK(j["deploymentId"].get<int64_t>() > result["deploymentId"].get<int64_t>());
    // The old version stays at its immutable URL.
    CHECK(http_get(result["immutableUrl"].get<std::string>() + "css/site.css").body == "h1 { color: red }\n");
  }
  // The token appears in no output, no log, no state file.
  auto listed = w.cli({"list", "--json", "--hub-url", w.hub->url()});
  REQUIRE(listed.status == 0);
  json list = json::parse(listed.out);
  REQUIRE(list["hub"]["sites"].size() == 1);
  CHECK(list["hub"]["sites"][0]["url"] == url);
  for (const auto& text : {r.out, r.err, listed.out, listed.err, w.hub->log()}) CHECK_FALSE(has(text, w.token));
  check_secret_absent(w.token, w.state);
  check_secret_absent(w.token, w.data);
}

TEST_CASE("hub: a failed build sends its log and diagnostics back at the workspace's file and line, the last good site stays") {
  HubWorld w;
  fs::path app = w.npm_site("typed", "Typed v1");
  auto first = w.publish(app);
  REQUIRE_MESSAGE(first.status == 0, (first.out + first.err));
  std::string url = last_json(first)["url"];
  write_file(app / "src/app.ts", "const a = 1;\nconst b = 2;\nlet x: number = 'no';\n");
  write_file(app / "build.js",
             "console.error('compiling…');\nconsole.error(require('path').resolve('src/app.ts') + \"(3,5): error "
             "TS2322: Type 'string' is not assignable to type 'number'.\");\nprocess.exit(2);\n");
  auto r = w.publish(app);
  CAPTURE(r.out);
  REQUIRE(r.status == 1);
  std::string message = error_of(r);
  CHECK(has(message, "failed (Exit code: 2)"));
  CHECK(has(message, "src/app.ts:3"));
  auto diagnostics = last_json(r)["error"]["diagnostics"];
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics[0]["file"] == "src/app.ts");
  CHECK(diagnostics[0]["line"] == 3);
  CHECK(diagnostics[0]["column"] == 5);
  CHECK(has(r.out, R"("event":"log")"));
  CHECK(has(r.out, "compiling…"));
  CHECK(has(r.out, R"("event":"diagnostics")"));
  CHECK(has(last_json(r)["error"]["logTail"].get<std::string>(), "TS2322"));
  // The site still serves the last good version.
  CHECK(has(http_get(url).body, "Typed v1"));
}

TEST_CASE("hub API: bad input gets a clear error and stores nothing") {
  HubWorld w({"--max-file-size", "2000", "--max-files", "5", "--max-deployment-size", "6000", "--max-sites-per-user", "2",
              "--max-queued-per-user", "1", "--workers", "0"});
  auto count = [&](const std::string& table) { return std::stoi(w.pg.sql("SELECT count(*) FROM " + table, "t1")); };
  auto expect = [&](const ApiAnswer& a, long status, const std::string& code) {
    CAPTURE(a.body.dump());
    CHECK(a.status == status);
    CHECK(a.body.is_object());
    if (a.body.is_object()) {
      CHECK(a.body.value("error", "") == code);
      CHECK_FALSE(a.body.value("message", "").empty());
    }
  };
  std::string hello = "<h1>hello</h1>\n";
  std::string oid = blob_id(hello);

  SUBCASE("authentication") {
    expect(hub_api(w.hub->url(), "GET", "/v1/me", ""), 401, "auth.missing");
    expect(hub_api(w.hub->url(), "GET", "/v1/me", "shub_not-a-real-token"), 401, "auth.invalid");
    auto me = w.api("GET", "/v1/me");
    CHECK(me.status == 200);
    CHECK(me.body["user"] == "ada");
    CHECK(hub_api(w.hub->url(), "GET", "/", "").body["api"] == 1);  // the only route without a token
  }
  SUBCASE("blobs: bytes that are not their id, over the file limit, a bad id") {
    expect(w.api("PUT", "/v1/blobs/" + oid, "<h1>tampered</h1>\n"), 400, "blob.mismatch");
    auto missing = w.api("POST", "/v1/blobs/missing", json{{"blobs", {oid}}}.dump());
    CHECK(missing.body["missing"] == json::array({oid}));  // nothing was stored
    std::string big(3000, 'x');
    expect(w.api("PUT", "/v1/blobs/" + blob_id(big), big), 413, "limits.file");
    expect(w.api("PUT", "/v1/blobs/not-an-id", "x"), 400, "request.parse");
    expect(w.api("POST", "/v1/blobs/missing", "{\"blobs\": [\"xyz\"]}"), 400, "request.parse");
    auto put = w.api("PUT", "/v1/blobs/" + oid, hello);
    CHECK(put.status == 201);
    CHECK(w.api("PUT", "/v1/blobs/" + oid, hello).status == 200);  // known already
  }
  SUBCASE("deployments: paths, modes, ids, limits, names, JSON") {
    REQUIRE(w.api("PUT", "/v1/blobs/" + oid, hello).status == 201);
    auto deploy = [&](json files, const std::string& snapshot = std::string(40, 'a'), const std::string& site = "s") {
      return w.api("POST", "/v1/sites/" + site + "/deployments", json{{"snapshotId", snapshot}, {"files", files}}.dump());
    };
    auto file = [&](const std::string& path, const std::string& mode = "100644", const std::string& id = "") {
      return json{{"path", path}, {"oid", id.empty() ? oid : id}, {"mode", mode}};
    };
    for (const char* bad : {"/etc/passwd", "a/../b", "../up", "a\\b", "a//b", "./a", ".git/config", "a/.git/x"}) {
      CAPTURE(bad);
      expect(deploy(json::array({file(bad)})), 400, "files.invalid");
    }
    expect(deploy(json::array({file(std::string("a\0b", 3))})), 400, "files.invalid");
    expect(deploy(json::array({file("index.html"), file("index.html")})), 400, "files.invalid");    // repeated
    expect(deploy(json::array({file("a"), file("a/b")})), 400, "files.invalid");                   // file and folder
    expect(deploy(json::array({file("index.html", "100600")})), 400, "files.invalid");             // not a git mode
    expect(deploy(json::array({file("index.html", "040000")})), 400, "files.invalid");
    expect(deploy(json::array({file("index.html")})), 400, "files.invalid");                       // not the tree of the files
    auto unknown = deploy(json::array({file("index.html", "100644", std::string(40, 'b'))}));
    expect(unknown, 400, "blobs.missing");
    CHECK(unknown.body["missing"] == json::array({std::string(40, 'b')}));
    expect(deploy(json::array({file("1"), file("2"), file("3"), file("4"), file("5"), file("6")})), 413, "limits.files");
    std::string big(1900, 'y');
    std::string big_oid = blob_id(big);
    REQUIRE(w.api("PUT", "/v1/blobs/" + big_oid, big).status == 201);
    expect(deploy(json::array({file("1", "100644", big_oid), file("2", "100644", big_oid), file("3", "100644", big_oid),
                               file("4", "100644", big_oid)})),
           413, "limits.deployment");
    expect(deploy(json::array({file("index.html")}), std::string(40, 'a'), "Bad_Name"), 400, "name.invalid");
    expect(w.api("POST", "/v1/sites/s/deployments", "{\"snapshotId\": "), 400, "request.parse");
    expect(w.api("POST", "/v1/sites/s/deployments", "[1,2]"), 400, "request.parse");
    expect(w.api("POST", "/v1/sites/s/deployments", std::string(17u << 20, ' ')), 413, "limits.body");
    expect(w.api("GET", "/v1/nothing/here"), 404, "not_found");
    expect(w.api("DELETE", "/v1/me"), 405, "method");
    // A link that climbs out of the folder.
    std::string target = "../../etc/passwd";
    std::string link_oid = blob_id(target);
    REQUIRE(w.api("PUT", "/v1/blobs/" + link_oid, target).status == 201);
    expect(deploy(json::array({json{{"path", "a/link"}, {"oid", link_oid}, {"mode", "120000"}}})), 400, "files.link");  // the tenants issue gave links their own code
    // Nothing of it was stored: no site, no deployment.
    CHECK(count("sites") == 0);
    CHECK(count("deployments") == 0);
  }
  SUBCASE("quotas: sites per user, deployments waiting per user (429, the quota named)") {
    auto m = manifest(w, {{"index.html", hello}});
    CHECK(w.api("POST", "/v1/sites/one/deployments", m.dump()).status == 201);
    expect(w.api("POST", "/v1/sites/two/deployments", m.dump()), 429, "quota.queued");  // nothing builds: 0 workers
    auto queued = w.api("POST", "/v1/sites/two/deployments", m.dump());
    CHECK(queued.headers.count("retry-after"));
    // The same site again supersedes, within the queue quota.
    auto m2 = manifest(w, {{"index.html", "<h1>v2</h1>"}});
    auto again = w.api("POST", "/v1/sites/one/deployments", m2.dump());
    CHECK(again.status == 201);
    w.pg.sql("UPDATE deployments SET state = 'ready' WHERE state = 'queued'; DELETE FROM jobs", "t1");
    CHECK(w.api("POST", "/v1/sites/two/deployments", m.dump()).status == 201);
    w.pg.sql("UPDATE deployments SET state = 'ready' WHERE state = 'queued'; DELETE FROM jobs", "t1");
    expect(w.api("POST", "/v1/sites/three/deployments", m.dump()), 429, "quota.sites");
    CHECK(count("sites") == 2);
  }
}

TEST_CASE("hub: users are kept apart — another user's token never reads, cancels, overwrites or deletes") {
  HubWorld w;
  std::string bob = hub_user_add(w.db, "bob");
  fs::path site = w.static_site("shared-name", "Ada's page");
  auto ada = w.publish(site);
  REQUIRE(ada.status == 0);
  int64_t id = last_json(ada)["deploymentId"];
  std::string path = "/v1/deployments/" + std::to_string(id);
  CHECK(w.api("GET", path, "", bob).status == 404);
  CHECK(w.api("GET", path + "/events", "", bob).status == 404);
  CHECK(w.api("POST", path + "/cancel", "", bob).status == 404);
  CHECK(w.api("DELETE", "/v1/sites/shared-name", "", bob).status == 404);
  CHECK(w.api("POST", "/v1/sites/shared-name/rollback", "", bob).status == 404);
  CHECK(w.api("GET", "/v1/sites", "", bob).body["sites"].empty());
  // Bob publishing a site of the same name makes his own.
  write_file(site / "index.html", "<!doctype html><title>Bob</title><h1>Bob's page</h1><script src=\"./js/app.js\"></script>");
  w.env["STUDYHUB_SANDBOX_HUB_TOKEN"] = bob;
  auto his = w.publish(site);
  REQUIRE(his.status == 0);
  CHECK(last_json(his)["url"] == w.hub->url() + "/s/bob/shared-name/");
  CHECK(has(http_get(w.hub->url() + "/s/ada/shared-name/").body, "Ada's page"));
  CHECK(has(http_get(w.hub->url() + "/s/bob/shared-name/").body, "Bob's page"));

  // Removing a user: its tokens stop working at once, its sites go down.
  auto removed = run_command({binary_path(), "hub", "user", "remove", "bob", "--database", w.db, "--data", w.data});
  CHECK(removed.status == 0);
  CHECK(w.api("GET", "/v1/me", "", bob).status == 401);
  CHECK(http_get(w.hub->url() + "/s/bob/shared-name/").status == 404);
  CHECK(w.api("GET", "/v1/me").status == 200);  // ada is untouched
  auto users = run_command({binary_path(), "hub", "user", "list", "--json", "--database", w.db});
  CHECK(json::parse(users.out)["users"].size() == 1);
  CHECK_FALSE(has(users.out, w.token));
}

TEST_CASE("hub: rollback and unpublish from the CLI point the site back and take it down") {
  HubWorld w;
  fs::path site = w.static_site("history", "Version one");
  REQUIRE(w.publish(site).status == 0);
  write_file(site / "index.html", "<!doctype html><title>2</title><h1>Version two</h1><script src=\"./js/app.js\"></script>");
  auto second = w.publish(site);
  REQUIRE(second.status == 0);
  std::string url = last_json(second)["url"];
  CHECK(has(http_get(url).body, "Version two"));
  auto back = w.cli({"rollback", "history", "--target", "hub", "--hub-url", w.hub->url(), "--json"});
  REQUIRE_MESSAGE(back.status == 0, back.err);
  CHECK(has(http_get(url).body, "Version one"));
  json site_json = w.api("GET", "/v1/sites/history").body;
  CHECK(site_json["snapshotId"] == json::parse(back.out)["snapshotId"]);
  // Forward again, by its snapshot id.
  std::string two = last_json(second)["snapshotId"];
  auto forward = w.cli({"rollback", "history", two.substr(0, 10), "--target", "hub", "--hub-url", w.hub->url()});
  REQUIRE(forward.status == 0);
  CHECK(has(http_get(url).body, "Version two"));
  auto none = w.cli({"rollback", "history", "0000000", "--target", "hub", "--hub-url", w.hub->url()});
  CHECK(none.status == 1);
  CHECK(has(none.err, "no kept version"));
  auto down = w.cli({"unpublish", "history", "--target", "hub", "--hub-url", w.hub->url()});
  REQUIRE(down.status == 0);
  CHECK(http_get(url).status == 404);
  CHECK(w.api("GET", "/v1/sites").body["sites"].empty());
  auto again = w.cli({"unpublish", "history", "--target", "hub", "--hub-url", w.hub->url()});
  CHECK(again.status == 1);
  CHECK(has(again.err, "no site named history"));
}

TEST_CASE("hub: a wrong token and an unreachable hub give one sentence each and the token is never printed") {
  HubWorld w;
  fs::path site = w.static_site("errs", "Errors");
  w.env["STUDYHUB_SANDBOX_HUB_TOKEN"] = "shub_this-one-is-wrong";
  auto wrong = w.publish(site);
  CHECK(wrong.status == 1);
  CHECK(has(error_of(wrong), "the hub refused the token"));
  CHECK(has(error_of(wrong), "STUDYHUB_SANDBOX_HUB_TOKEN"));
  CHECK_FALSE(has(wrong.out + wrong.err, "shub_this-one-is-wrong"));
  w.env.erase("STUDYHUB_SANDBOX_HUB_TOKEN");
  auto missing = w.publish(site);
  CHECK(missing.status == 1);
  CHECK(has(error_of(missing), "needs your access token"));
  w.env["STUDYHUB_SANDBOX_HUB_TOKEN"] = w.token;
  int port = std::stoi(w.hub->url().substr(w.hub->url().rfind(':') + 1));
  w.hub->terminate();
  auto gone = w.cli({"publish", "--json", "--target", "hub", "--hub-url", "http://127.0.0.1:" + std::to_string(port),
                     site.string()});
  CHECK(gone.status == 1);
  CHECK(has(error_of(gone), "cannot reach the hub at 127.0.0.1:" + std::to_string(port)));
  CHECK(has(gone.out, "retrying in"));
  auto flag = w.cli({"publish", "--target", "hub", "--hub-token", "x", site.string()});
  CHECK(flag.status == 2);  // there is no token flag: it would show in ps
  // A token in the settings file is ignored with a warning.
  write_file(site / ".studyhub-sandbox.json", R"({"target": "hub", "hub": {"url": ")" + std::string("http://127.0.0.1:1") +
                                                  R"(", "token": "shub_committed-by-mistake"}})");
  w.env.erase("STUDYHUB_SANDBOX_HUB_TOKEN");
  auto file = w.cli({"publish", "--json", site.string()});
  CHECK(file.status == 1);
  CHECK(has(file.out, "\\\"hub.token\\\" ignored"));
  CHECK(has(error_of(file), "needs your access token"));
  CHECK_FALSE(has(file.out + file.err, "shub_committed-by-mistake"));
}

TEST_CASE("hub over JSON-RPC: initializationOptions set the hub, progress and logs flow, list, rollback, unpublish") {
  HubWorld w;
  fs::path site = w.static_site("rpc-hub", "Over JSON-RPC");
  RpcClient client({}, {{"STUDYHUB_SANDBOX_HOME", w.state}});
  auto init = client.request(1, "initialize",
                             {{"processId", nullptr},
                              {"capabilities", json::object()},
                              {"initializationOptions", {{"target", "hub"}, {"hub", {{"url", w.hub->url()}, {"token", w.token}}}}}});
  REQUIRE(init.contains("result"));
  client.notify("initialized");
  auto ok = client.request(2, "sandbox/publish", {{"folder", site.string()}, {"workDoneToken", "p1"}}, 120s);
  CAPTURE(ok.dump());
  REQUIRE(ok.contains("result"));
  CHECK(ok["result"]["url"] == w.hub->url() + "/s/ada/rpc-hub/");
  CHECK(ok["result"]["target"] == "hub");
  bool saw_upload = false, saw_queue = false;
  for (const auto& m : client.seen)
    if (m.value("method", "") == "$/progress") {
      std::string text = m["params"]["value"].value("message", "");
      saw_upload |= text.starts_with("upload: ");
      saw_queue |= text.starts_with("queued");
    }
  CHECK(saw_upload);
  CHECK(saw_queue);
  check_site_loads(ok["result"]["url"].get<std::string>(), "Over JSON-RPC");

  write_file(site / "index.html", "<!doctype html><title>2</title><h1>Second</h1><script src=\"./js/app.js\"></script>");
  REQUIRE(client.request(3, "sandbox/publish", {{"folder", site.string()}}, 120s).contains("result"));
  auto list = client.request(4, "sandbox/list", json::object());
  REQUIRE(list.contains("result"));
  REQUIRE(list["result"]["hub"]["sites"].size() == 1);
  CHECK(list["result"]["hub"]["sites"][0]["history"].size() == 2);
  auto back = client.request(5, "sandbox/rollback", {{"name", "rpc-hub"}});
  REQUIRE(back.contains("result"));
  CHECK(back["result"]["target"] == "hub");
  CHECK(has(http_get(w.hub->url() + "/s/ada/rpc-hub/").body, "Over JSON-RPC"));
  auto local = client.request(6, "sandbox/unpublish", {{"name", "rpc-hub"}, {"target", "local"}});
  CHECK(local.contains("error"));  // nothing of that name on this machine
  auto down = client.request(7, "sandbox/unpublish", {{"name", "rpc-hub"}});
  REQUIRE(down.contains("result"));
  CHECK(down["result"] == json{{"name", "rpc-hub"}, {"target", "hub"}, {"removed", true}});
  CHECK(http_get(w.hub->url() + "/s/ada/rpc-hub/").status == 404);
  std::string everything;
  for (const auto& m : client.seen) everything += m.dump();
  everything += client.process().stderr_text();
  CHECK_FALSE(has(everything, w.token));
}

TEST_CASE("hub migrate: hubs that start together apply the schema once") {
  PostgresCluster pg;
  std::string db = pg.create_database();
  std::vector<std::unique_ptr<ChildProcess>> runs;
  for (int i = 0; i < 4; ++i) runs.push_back(std::make_unique<ChildProcess>(std::vector<std::string>{binary_path(), "hub", "migrate", "--database", db}));
  for (auto& r : runs) CHECK(r->wait(30s) == 0);
  // Every migration the hub knows, each once (versions 1..N, no gap, none twice).
  CHECK(pg.sql("SELECT count(*) = max(version) AND min(version) = 1 AND max(version) >= 2 FROM schema_migrations", "t1") == "t\n");
  auto again = run_command({binary_path(), "hub", "migrate", "--database", db});
  CHECK(again.status == 0);
  auto bad = run_command({binary_path(), "hub", "migrate", "--database", "host=/nonexistent user=nobody"});
  CHECK(bad.status == 1);
  CHECK(has(bad.err, "database is unavailable"));
  auto none = run_command({binary_path(), "hub", "migrate"}, {{"STUDYHUB_HUB_DATABASE_URL", ""}});
  CHECK(none.status == 2);
}

TEST_CASE("hub behind nginx with deploy/nginx/studyhub-hub.conf: publish through it, events stream line by line, sites proxied to the hub") {
  REQUIRE_MESSAGE(fs::exists("/usr/sbin/nginx"), "nginx is needed (scripts/setup installs it)");
  // nginx's port first: the hub's public URL is nginx's.
  int port = 0;
  {
    ChildProcess probe({"python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"});
    probe.close_stdin();
    port = std::stoi(probe.read_stdout(5s));
    probe.wait(5s);
  }
  std::string front = "http://127.0.0.1:" + std::to_string(port);
  HubWorld w({"--public-url", front});
  std::string hub_port = w.hub->url().substr(w.hub->url().rfind(':') + 1);
  std::string conf = read_file(fs::path(STUDYHUB_SOURCE_DIR) / "deploy/nginx/studyhub-hub.conf");
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t n = 0;
    for (size_t at; (at = conf.find(from)) != std::string::npos; ++n) conf.replace(at, from.size(), to);
    REQUIRE_MESSAGE(n > 0, from);
  };
  replace("127.0.0.1:8090", "127.0.0.1:" + hub_port);
  replace("listen 80;", "listen 127.0.0.1:" + std::to_string(port) + ";");
  fs::path dir = w.root / "nginx";
  fs::create_directories(dir / "tmp");
  std::string t = (dir / "tmp").string();
  write_file(dir / "nginx.conf", std::string(::getuid() == 0 ? "user root;\n" : "") + "worker_processes 1; daemon off; pid " +
                                     (dir / "nginx.pid").string() + "; error_log " + (dir / "error.log").string() +
                                     ";\nevents { worker_connections 64; }\nhttp { access_log off; include /etc/nginx/mime.types; "
                                     "client_body_temp_path " + t + "; proxy_temp_path " + t + "; fastcgi_temp_path " + t +
                                     "; uwsgi_temp_path " + t + "; scgi_temp_path " + t + ";\n" + conf + "\n}\n");
  ChildProcess nginx({"/usr/sbin/nginx", "-c", (dir / "nginx.conf").string(), "-p", dir.string()});
  for (int i = 0; i < 100 && http_get(front + "/").status == 0; ++i) std::this_thread::sleep_for(50ms);
  REQUIRE(http_get(front + "/").status == 200);

  // A build that takes a few seconds, logging as it goes.
  std::string slow;
  for (int i = 1; i <= 6; ++i)
    slow += "console.error('step " + std::to_string(i) + "');\nAtomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);\n";
  fs::path app = w.npm_site("fronted", "Behind nginx", slow);
  ChildProcess publish({binary_path(), "publish", "--json", "--target", "hub", "--hub-url", front, app.string()},
                       {{"STUDYHUB_SANDBOX_HOME", w.state}, {"STUDYHUB_SANDBOX_HUB_TOKEN", w.token}});
  // The first build lines arrive through nginx while the build is still running.
  std::string out;
  auto started = std::chrono::steady_clock::now();
  while (!has(out, "step 1") && std::chrono::steady_clock::now() - started < 60s) out += publish.read_stdout(100ms);
  REQUIRE(has(out, "step 1"));
  CHECK_FALSE(has(out, "step 6"));
  while (!publish.stdout_eof()) out += publish.read_stdout(200ms);
  REQUIRE(publish.wait(60s) == 0);
  std::string last = out.substr(0, out.size() - 1);
  json result = json::parse(last.substr(last.rfind('\n') + 1));
  CHECK(result["url"] == front + "/s/ada/fronted/");
  check_site_loads(result["url"].get<std::string>(), "Behind nginx");
  auto immutable = http_get(result["immutableUrl"].get<std::string>());
  CHECK(immutable.status == 200);
  CHECK(has(immutable.headers["cache-control"], "immutable"));
  // Nothing but sites and versions is served from the data folder.
  CHECK(http_get(front + "/blobs.git/HEAD").status == 404);
  CHECK(http_get(front + "/s/../blobs.git/HEAD").status == 404);
  CHECK(http_get(front + "/work/").status == 404);
  // Link chains planted in a version on disk (as a data folder from before link resolution could
  // hold): each link alone stays inside, together they leave. Neither the hub's host nor nginx in
  // front of it serves what they lead to.
  fs::path version = fs::path(w.data) / "versions" / ("ada." + result["snapshotId"].get<std::string>());
  fs::create_directories(version / "a/b/c");
  fs::create_symlink("../../..", version / "a/b/c/x");
  fs::create_symlink("a/b/c/x/../../../../../etc/passwd", version / "esc");
  fs::create_symlink("a/b/c/x/../../../../blobs.git/HEAD", version / "blobs");
  fs::create_symlink("sub", version / "d");
  fs::create_symlink("d/../../../etc/passwd", version / "through-dir");
  for (const char* path : {"esc", "blobs", "through-dir"}) {
    CAPTURE(path);
    for (const std::string& base : {front, w.hub->url()}) {
      auto r = http_get(result["immutableUrl"].get<std::string>().replace(0, front.size(), base) + path);
      CHECK(r.status == 404);
      CHECK_FALSE(has(r.body, "root:"));
      CHECK_FALSE(has(r.body, "refs/heads"));
    }
  }
  // nginx reads nothing of the data folder (the tenants issue): a taken-down site is gone through
  // it at once, its immutable version too.
  CHECK(w.api("DELETE", "/v1/sites/fronted").status == 204);
  CHECK(http_get(result["url"].get<std::string>()).status == 404);
  CHECK(http_get(result["immutableUrl"].get<std::string>()).status == 404);
  ::kill(nginx.pid(), SIGQUIT);
  nginx.wait(5s);
}
