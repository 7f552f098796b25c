// Tenants apart, tried as a hostile member of a class would (a valid token of their own), and as an
// anonymous visitor: on a real PostgreSQL, a real hub over loopback HTTP, real sandboxed builds.
// Each test names the attack it holds off (docs/security.md, "Tenants").
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "support/hub_world.h"

using namespace studyhub::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A package whose own postinstall plants a file in node_modules when the folder holds plant-me,
// and whose build copies whatever node_modules/.planted holds into the page: a "starter template"
// that looks clean and builds clean from a clean cache.
fs::path template_site(const World& w, const std::string& name, bool plant) {
  fs::path dir = w.root / name;
  write_file(dir / "package.json",
             R"({"name":"starter","private":true,"scripts":{"build":"node build.js","postinstall":"node plant.js"}})");
  write_file(dir / "plant.js",
             "const fs = require('fs');\n"
             "if (fs.existsSync('plant-me')) {\n"
             "  fs.mkdirSync('node_modules', {recursive: true});\n"
             "  fs.writeFileSync('node_modules/.planted', 'PLANTED BY MALLORY');\n"
             "}\n");
  write_file(dir / "build.js",
             "const fs = require('fs');\n"
             "const extra = fs.existsSync('node_modules/.planted') ? fs.readFileSync('node_modules/.planted', 'utf8') : 'clean';\n"
             "fs.mkdirSync('dist', {recursive: true});\n"
             "fs.writeFileSync('dist/index.html', '<h1>Starter</h1><p>' + extra + '</p>');\n");
  if (plant) write_file(dir / "plant-me", "x");
  return dir;
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return -1;
}

// A raw connection to 127.0.0.1:port, for requests whose body is sent (or not) by hand.
struct RawConnection {
  int fd = -1;
  explicit RawConnection(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConnection() { ::close(fd); }
  bool send_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  std::string read_some() {
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
};

int port_of(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

}  // namespace

TEST_CASE("tenants: a build is never handed to another user, even of the same files, and a re-added user inherits nothing") {
  HubWorld w;
  // Build caches work where the build user can reach the work folder (a test's temporary folder
  // is private otherwise, and every build would install afresh, poisoned or not).
  fs::permissions(w.tmp.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  std::string mallory = hub_user_add(w.db, "mallory");
  // Mallory's cache is poisoned by her own first publish (its postinstall plants a file)…
  w.env["STUDYHUB_SANDBOX_HUB_TOKEN"] = mallory;
  auto planted = w.publish(template_site(w, "template-a", true), {"--name", "starter"});
  REQUIRE_MESSAGE(planted.status == 0, (planted.out + planted.err));
  // …then she publishes the clean template to the same site: it builds from her cache.
  auto poisoned = w.publish(template_site(w, "template-b", false), {"--name", "starter"});
  REQUIRE_MESSAGE(poisoned.status == 0, (poisoned.out + poisoned.err));
  json mine = last_json(poisoned);
  CHECK(has(http_get(mine["url"].get<std::string>()).body, "PLANTED BY MALLORY"));  // the attack's first half works

  // Ada publishes the very same files: same snapshot, but built afresh in her own cache.
  w.env["STUDYHUB_SANDBOX_HUB_TOKEN"] = w.token;
  auto ada = w.publish(template_site(w, "template-c", false), {"--name", "starter"});
  REQUIRE_MESSAGE(ada.status == 0, (ada.out + ada.err));
  json hers = last_json(ada);
  CHECK(hers["snapshotId"] == mine["snapshotId"]);
  CHECK_FALSE(has(ada.out, "already built"));
  std::string page = http_get(hers["url"].get<std::string>()).body;
  CHECK(has(page, "clean"));
  CHECK_FALSE(has(page, "PLANTED"));
  CHECK(hers["immutableUrl"] == w.hub->url() + "/v/ada/" + hers["snapshotId"].get<std::string>() + "/");
  CHECK_FALSE(has(http_get(hers["immutableUrl"].get<std::string>()).body, "PLANTED"));

  // Mallory removed and added again under the same name: her old caches and versions are gone.
  auto removed = run_command({binary_path(), "hub", "user", "remove", "mallory", "--database", w.db, "--data", w.data});
  REQUIRE(removed.status == 0);
  CHECK(http_get(mine["immutableUrl"].get<std::string>()).status == 404);
  std::string again = hub_user_add(w.db, "mallory");
  w.env["STUDYHUB_SANDBOX_HUB_TOKEN"] = again;
  auto fresh = w.publish(template_site(w, "template-d", false), {"--name", "starter"});
  REQUIRE_MESSAGE(fresh.status == 0, (fresh.out + fresh.err));
  CHECK_FALSE(has(fresh.out, "already built"));
  CHECK(has(http_get(last_json(fresh)["url"].get<std::string>()).body, "clean"));
}

TEST_CASE("tenants: links are resolved through each other — chains that leave the site are refused at deployment and in build output") {
  HubWorld w;
  struct Shape {
    const char* what;
    std::map<std::string, std::string> links;
  };
  std::vector<Shape> shapes{
      {"through a file link", {{"a/b/c/x", "../../.."}, {"esc", "a/b/c/x/../../../../blobs.git/HEAD"}}},
      {"through a folder link", {{"d", "sub/deeper"}, {"out", "d/../../../etc/passwd"}}},
      {"a link to a link", {{"one", "two"}, {"two", "sub/../../.."}}},
  };
  for (const auto& shape : shapes) {
    CAPTURE(std::string(shape.what));
    // Each link alone stays inside; the old lexical check let all of these through.
    json m = manifest(w, {{"index.html", "<h1>x</h1>"}, {"sub/deeper/f", "f"}}, shape.links);
    auto r = w.api("POST", "/v1/sites/links/deployments", m.dump());
    CHECK(r.status == 400);
    CHECK(r.body.value("error", "") == "files.link");
    CHECK(has(r.body.value("message", ""), "points outside"));
  }
  // Links that stay inside are fine and served.
  json ok = manifest(w, {{"index.html", "<h1>inside</h1>"}, {"assets/app.js", "1"}},
                     {{"latest.js", "assets/app.js"}, {"assets/alias", "../latest.js"}});
  CHECK(w.api("POST", "/v1/sites/links/deployments", ok.dump()).status == 201);

  // A build whose output makes the chain: the deployment fails, the last good site stays.
  fs::path good = w.npm_site("out-links", "Good output");
  auto first = w.publish(good);
  REQUIRE(first.status == 0);
  fs::path bad = w.npm_site("out-links", "Bad output",
                            "fs.mkdirSync('dist/a/b/c', {recursive: true});\n"
                            "fs.symlinkSync('../../..', 'dist/a/b/c/x');\n"
                            "fs.symlinkSync('a/b/c/x/../../../..', 'dist/esc');\n");
  auto r = w.publish(bad);
  CHECK(r.status == 1);
  CHECK(has(error_of(r), "points outside"));
  CHECK(w.pg.sql("SELECT error_code FROM deployments ORDER BY id DESC LIMIT 1", w.db.substr(w.db.rfind('=') + 1)) ==
        "output.link\n");
  check_site_loads(last_json(first)["url"].get<std::string>(), "Good output");
}

TEST_CASE("tenants: blobs belong to whoever uploaded them — knowing a hash proves nothing") {
  HubWorld w;
  std::string bob = hub_user_add(w.db, "bob");
  std::string secret = "<h1>Ada's unpublished homework</h1>";
  json m = manifest(w, {{"index.html", secret}});  // uploaded by Ada, never published
  std::string oid = m["files"][0]["oid"];
  // Bob asks whether the hub has those bytes: for him, it does not.
  auto missing = w.api("POST", "/v1/blobs/missing", json{{"blobs", {oid}}}.dump(), bob);
  CHECK(missing.status == 200);
  CHECK(missing.body["missing"] == json::array({oid}));
  CHECK(w.api("POST", "/v1/blobs/missing", json{{"blobs", {oid}}}.dump()).body["missing"].empty());  // Ada: stored
  // Bob names Ada's blob in a deployment: refused, listed as missing.
  auto stolen = w.api("POST", "/v1/sites/homework/deployments", m.dump(), bob);
  CHECK(stolen.status == 400);
  CHECK(stolen.body.value("error", "") == "blobs.missing");
  CHECK(stolen.body["missing"] == json::array({oid}));
  CHECK(w.api("GET", "/v1/sites", "", bob).body["sites"].empty());
  // Bob who really has the bytes proves it by sending them; then they are his too.
  auto put = w.api("PUT", "/v1/blobs/" + oid, secret, bob);
  CHECK(put.status == 200);  // stored once already: not stored again
  CHECK(w.api("POST", "/v1/sites/homework/deployments", m.dump(), bob).status == 201);
}

TEST_CASE("tenants: a token is checked on the headers — 401 before the body, and uploads stream to disk") {
  HubWorld w;
  const int port = port_of(w.hub->url());
  const std::string big(40u << 20, 'z');
  const std::string oid = blob_id(big);
  long before = rss_kib(w.hub->pid());
  REQUIRE(before > 0);

  // Anonymous: answered 401 at once, though none of the 40 MiB was sent.
  {
    RawConnection c(port);
    REQUIRE(c.send_all("PUT /v1/blobs/" + oid + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(big.size()) +
                       "\r\n\r\n"));
    std::string answer = c.read_some();
    CHECK(answer.starts_with("HTTP/1.1 401"));
    CHECK(has(answer, "Connection: close"));
  }
  // Four anonymous uploads streaming their 40 MiB at once, and four of Ada's: memory stays flat.
  std::atomic<long> peak{before};
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling) {
      peak = std::max(peak.load(), rss_kib(w.hub->pid()));
      std::this_thread::sleep_for(10ms);
    }
  });
  std::vector<std::thread> senders;
  std::atomic<int> refused{0}, stored{0};
  for (int i = 0; i < 8; ++i) {
    senders.emplace_back([&, i] {
      bool anonymous = i % 2 == 0;
      RawConnection c(port);
      std::string head = "PUT /v1/blobs/" + oid + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(big.size()) + "\r\n" +
                         (anonymous ? std::string() : "Authorization: Bearer " + w.token + "\r\n") + "\r\n";
      if (!c.send_all(head)) return;
      for (size_t at = 0; at < big.size(); at += 1 << 20)
        if (!c.send_all(std::string_view(big).substr(at, 1 << 20))) break;
      std::string answer = c.read_some();
      if (answer.starts_with("HTTP/1.1 401")) ++refused;
      if (answer.starts_with("HTTP/1.1 201") || answer.starts_with("HTTP/1.1 200")) ++stored;
    });
  }
  for (auto& t : senders) t.join();
  sampling = false;
  sampler.join();
  CHECK(refused == 4);
  CHECK(stored == 4);
  long grew_mib = (peak - before) / 1024;
  MESSAGE("hub RSS " << before / 1024 << " MiB before, " << peak / 1024 << " MiB at most while 8 uploads of 40 MiB streamed "
                     "(4 anonymous, 4 with a token): +" << grew_mib << " MiB");
  CHECK(grew_mib < 40);  // the old hub held every body whole: +160 MiB and more
  CHECK(w.api("POST", "/v1/blobs/missing", json{{"blobs", {oid}}}.dump()).body["missing"].empty());
  // Nothing of the uploads is left lying around.
  CHECK(fs::is_empty(fs::path(w.data) / "uploads"));
}

TEST_CASE("tenants: per-user quotas on stored bytes and open streams — another user still works") {
  HubWorld w({"--max-stored-bytes-per-user", "1M", "--max-streams-per-user", "2", "--workers", "0"});
  std::string bob = hub_user_add(w.db, "bob");
  std::string a(600'000, 'a'), b(600'000, 'b');
  CHECK(w.api("PUT", "/v1/blobs/" + blob_id(a), a).status == 201);
  auto over = w.api("PUT", "/v1/blobs/" + blob_id(b), b);
  CHECK(over.status == 413);
  CHECK(over.body.value("error", "") == "quota.storage");
  CHECK(w.api("PUT", "/v1/blobs/" + blob_id(a), a).status == 200);  // what she has costs nothing again
  CHECK(w.api("PUT", "/v1/blobs/" + blob_id(b), b, bob).status == 201);

  // Event streams: with no worker the deployment stays queued and its stream stays open.
  json m = manifest(w, {{"index.html", "<h1>q</h1>"}});
  auto d = w.api("POST", "/v1/sites/queued/deployments", m.dump());
  REQUIRE(d.status == 201);
  std::string events = "/v1/deployments/" + std::to_string(d.body["id"].get<int64_t>()) + "/events";
  std::vector<std::unique_ptr<RawConnection>> open;
  auto follow = [&](const std::string& token) {
    auto c = std::make_unique<RawConnection>(port_of(w.hub->url()));
    REQUIRE(c->send_all("GET " + events + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n"));
    std::string head = c->read_some();
    open.push_back(std::move(c));
    return head;
  };
  CHECK(follow(w.token).starts_with("HTTP/1.1 200"));
  CHECK(follow(w.token).starts_with("HTTP/1.1 200"));
  std::string third = follow(w.token);
  CHECK(third.starts_with("HTTP/1.1 429"));
  CHECK(has(third, "quota.streams"));
  // Bob is not locked out by Ada's streams.
  json bm = manifest(w, {{"index.html", "<h1>bob</h1>"}}, {}, bob);
  auto bd = w.api("POST", "/v1/sites/bobs/deployments", bm.dump(), bob);
  REQUIRE(bd.status == 201);
  auto bob_stream = std::make_unique<RawConnection>(port_of(w.hub->url()));
  REQUIRE(bob_stream->send_all("GET /v1/deployments/" + std::to_string(bd.body["id"].get<int64_t>()) +
                               "/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + bob + "\r\n\r\n"));
  CHECK(bob_stream->read_some().starts_with("HTTP/1.1 200"));
  // A stream that ends gives its slot back.
  open.pop_back();
  open.pop_back();
  bool reopened = false;
  for (int i = 0; i < 200 && !reopened; ++i) {  // the hub notices a gone client at its next write
    std::this_thread::sleep_for(100ms);
    reopened = follow(w.token).starts_with("HTTP/1.1 200");
  }
  CHECK(reopened);
}

TEST_CASE("tenants: takedown is immediate — the site and every immutable URL answer 404 at once") {
  HubWorld w;
  fs::path site = w.static_site("gone-soon", "Gone soon");
  auto first = w.publish(site);
  REQUIRE(first.status == 0);
  write_file(site / "index.html", "<h1>Second</h1>");
  auto second = w.publish(site);
  REQUIRE(second.status == 0);
  std::vector<std::string> urls{last_json(second)["url"], last_json(first)["immutableUrl"], last_json(second)["immutableUrl"]};
  for (const auto& u : urls) REQUIRE(http_get(u).status == 200);
  auto started = std::chrono::steady_clock::now();
  REQUIRE(w.api("DELETE", "/v1/sites/gone-soon").status == 204);
  for (const auto& u : urls) {
    CAPTURE(u);
    CHECK(http_get(u).status == 404);
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  MESSAGE("site and both immutable URLs answered 404 " << ms << " ms after DELETE was sent");

  // A removed user's sites and versions, likewise.
  auto again = w.publish(site);
  REQUIRE(again.status == 0);
  std::string url = last_json(again)["url"], immutable = last_json(again)["immutableUrl"];
  REQUIRE(http_get(url).status == 200);
  auto removed = run_command({binary_path(), "hub", "user", "remove", "ada", "--database", w.db, "--data", w.data});
  REQUIRE(removed.status == 0);
  CHECK(http_get(url).status == 404);
  CHECK(http_get(immutable).status == 404);
}

TEST_CASE("tenants: the data folder is the hub's alone, build caches the build user's") {
  HubWorld w;
  fs::path site = w.npm_site("modes", "Modes");
  REQUIRE(w.publish(site).status == 0);
  auto mode = [](const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
  };
  fs::path data = w.data;
  for (const char* private_dir : {"blobs.git", "staging", "uploads", "versions", "sites"}) {
    CAPTURE(private_dir);
    CHECK(mode(data / private_dir) == 0700);
  }
  CHECK((mode(data) & 0077) == 0011);  // passed through (to work/) by the build user, never listed or read
  // The site's cache: one folder per user and site id, the build user's own, closed to others.
  int caches = 0;
  for (auto& u : fs::directory_iterator(data / "work")) {
    if (!u.path().filename().string().starts_with("u")) continue;
    CHECK((mode(u.path()) & 0066) == 0);
    for (auto& s : fs::directory_iterator(u.path())) {
      ++caches;
      CHECK((mode(s.path()) & 0077) == 0);
    }
  }
  CHECK(caches == 1);
}
