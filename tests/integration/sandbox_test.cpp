// Hostile payloads through a real `studyhub-sandbox runner` (its builds in the bubblewrap sandbox,
// with a cgroup or rlimits): each is contained and reported, the runner keeps serving the next
// build, and nothing a build started is left running. Also: the network only for the install step,
// and a real Vite app from the npm registry built inside the sandbox.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "support/docker_run_peers.h"
#include "support/processes.h"
#include "support/sandbox_world.h"

using namespace studyhub::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "tok-sandbox-5e1d-never-inside";
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// POST /run with a bash command; answers the RunResult (or the error body).
json run(const RunnerProcess& runner, const std::string& command, const std::vector<std::pair<std::string, std::string>>& files = {}) {
  json list = json::array({{{"name", "main.sh"}, {"content", "true"}}});
  for (auto& [name, content] : files) list.push_back({{"name", name}, {"content", content}});
  auto r = http_request("POST", runner.url() + "/run",
                        {"X-Access-Token: " + kToken, "Content-Type: application/json", "Expect:"},
                        json{{"image", "x"}, {"payload", {{"language", "bash"}, {"files", list}, {"command", command}}}}.dump());
  json body = json::parse(r.body, nullptr, false);
  if (body.is_discarded()) body = json{{"error", "not JSON: " + r.body}, {"status", r.status}};
  body["status"] = r.status;
  return body;
}

// The npm registry this machine uses (never named in the tests: read from npm itself).
std::string npm_registry() {
  auto r = run_command({"npm", "config", "get", "registry"});
  std::string url = r.out.substr(0, r.out.find('\n'));
  REQUIRE_MESSAGE(!url.empty(), "npm config get registry answered nothing");
  if (url.back() != '/') url += '/';
  return url;
}

// The runner still answers, and builds.
void check_serving(const RunnerProcess& runner) {
  auto next = run(runner, "mkdir build && echo ok > build/index.html && tar -cz build | base64");
  CHECK(next["status"] == 200);
  CHECK(next["error"] == "");
}

}  // namespace

TEST_CASE("sandbox: hostile payloads are contained and reported, and the runner serves the next build") {
  World w;
  std::string state = w.tmp.path() + "/runner-state";
  fs::create_directories(state);
  write_file(fs::path(state) / "secret.txt", "runner-secret-8c1f");
  RunnerProcess runner(state, kToken, {"--memory", "256m", "--disk", "64m", "--max-processes", "64", "--max-execution-time", "30"});
  auto version = json::parse(http_get(runner.url() + "/version", {"X-Access-Token: " + kToken}).body);
  CAPTURE(version.dump());
  REQUIRE(version["sandbox"]["isolated"] == true);
  const std::string pid = std::to_string(::getpid());

  SUBCASE("writing outside its work folder") {
    std::string targets = "/usr/pwned /etc/pwned /pwned /proc/pwned " + state + "/pwned " + w.tmp.path() + "/pwned";
    auto r = run(runner, "for p in " + targets + "; do (echo x > $p) 2>/dev/null && echo WROTE $p; done; echo done");
    CAPTURE(r.dump());
    CHECK(has(r["stdout"].get<std::string>(), "done"));
    CHECK_FALSE(has(r["stdout"].get<std::string>(), "WROTE"));
    for (const char* p : {"/usr/pwned", "/etc/pwned", "/pwned"}) CHECK_FALSE(fs::exists(p));
    CHECK_FALSE(fs::exists(fs::path(state) / "pwned"));
    CHECK_FALSE(fs::exists(fs::path(w.tmp.path()) / "pwned"));
  }
  SUBCASE("reading the runner's token, its state, another build's files") {
    auto first = run(runner, "echo build-one-secret-" + pid + " > /work/left-behind; echo also > /tmp/left-behind; echo ok");
    REQUIRE(first["status"] == 200);
    auto r = run(runner, "env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; cat " + state +
                              "/secret.txt 2>&1; ls -la / /work /tmp 2>&1; cat /work/left-behind /tmp/left-behind 2>&1; "
                              "ls /tmp/studyhub-sandbox-* 2>&1; grep -rs runner-secret /etc /tmp /work 2>/dev/null; echo end");
    CAPTURE(r.dump());  // an answer without output (a limit hit under load) shows itself here
    std::string seen = r.value("stdout", "") + r.value("stderr", "");
    CHECK(has(seen, "end"));
    CHECK_FALSE(has(seen, kToken));
    CHECK_FALSE(has(seen, "runner-secret-8c1f"));
    CHECK_FALSE(has(seen, "build-one-secret-" + pid));
    CHECK_FALSE(has(seen, "STUDYHUB_SANDBOX_TOKEN"));
  }
  SUBCASE("killing processes outside the sandbox") {
    // Two canaries: one of the runner's user, one of the user builds run as.
    std::string canary = unique_marker();
    ChildProcess mine({"sleep", "300", canary});
    ChildProcess nobodys({"runuser", "-u", "nobody", "--", "sleep", "300", canary});
    REQUIRE(wait_for_process(canary, 5s));
    std::this_thread::sleep_for(200ms);
    auto before = processes_with(canary);
    REQUIRE(before.size() >= 2);
    auto r = run(runner, "kill -9 -1; pkill -9 sleep; pkill -9 studyhub; echo tried");
    CHECK(r["status"] == 200);
    CHECK(processes_with(canary) == before);  // all still there
  }
  SUBCASE("a fork bomb") {
    std::string marker = "studyhub-bomb-" + pid;
    auto r = run(runner, "sh -c 'f() { f | f & }; f; sleep 3' " + marker + "; echo after");
    CAPTURE(r.dump());
    CHECK(r["status"] == 200);  // contained: the build goes on or fails, the runner lives
    CHECK(wait_no_process(marker, 10s));
    CHECK(has(r["stderr"].get<std::string>() + r["error"].get<std::string>(), "fork"));
  }
  SUBCASE("a memory hog") {
    auto r = run(runner, "node -e 'const a = []; for (;;) a.push(Buffer.alloc(32 << 20, 1));'");
    CAPTURE(r.dump());
    CHECK(has(r["error"].get<std::string>(), "Exit code: 137"));
    if (version["sandbox"]["memoryBytes"].is_number()) CHECK(has(r["error"].get<std::string>(), "memory limit of 268.4 MB"));
  }
  SUBCASE("filling the disk") {
    auto r = run(runner, "dd if=/dev/zero of=big bs=1M count=4096");
    CAPTURE(r.dump());
    CHECK(has(r["error"].get<std::string>(), "work folder is limited to 67.1 MB"));
    CHECK(has(r["stderr"].get<std::string>(), "No space left on device"));
  }
  SUBCASE("a daemon that would outlive the build") {
    std::string marker = unique_marker();
    auto r = run(runner, "setsid sleep 1000 " + marker + " </dev/null >/dev/null 2>&1 & "
                         "nohup sleep 1000 " + marker + " </dev/null >/dev/null 2>&1 & "
                         "(sleep 1000 " + marker + " &) ; sleep 0.5; echo started");
    CHECK(r["status"] == 200);
    CHECK(has(r["stdout"].get<std::string>(), "started"));
    CHECK(wait_no_process(marker, 10s));
  }
  SUBCASE("the network: none while building, the registry while installing") {
    std::string probe = "node -e \"require('https').get('" + npm_registry() + "react', r => console.log('status', r.statusCode))"
                        ".on('error', e => console.log('unreachable', e.code))\"";
    auto build = run(runner, probe);
    CHECK(has(build["stdout"].get<std::string>(), "unreachable"));
    auto install = run(runner, probe + " 1>&2\n#studyhub:build\necho built");
    CHECK(has(install["stderr"].get<std::string>(), "status 200"));
    CHECK(has(install["stdout"].get<std::string>(), "built"));
  }
  check_serving(runner);
  CHECK_FALSE(has(runner.log(), kToken));
}

TEST_CASE("sandbox: a real Vite app from the npm registry is built inside the sandbox and its site loads") {
  World w;
  RunnerProcess runner(w.tmp.path() + "/runner-state", kToken);
  fs::path app = w.root / "vite-app";
  fs::copy(fs::path(STUDYHUB_SOURCE_DIR) / "examples/hello-vite", app, fs::copy_options::recursive);
  std::error_code ec;
  fs::remove_all(app / "node_modules", ec);
  fs::remove_all(app / "dist", ec);
  w.env["STUDYHUB_SANDBOX_TOKEN"] = kToken;
  auto r = w.cli({"publish", "--json", "--target", "docker-run", "--docker-run-url", runner.url(), app.string()}, 300s);
  CAPTURE(r.out);
  REQUIRE(r.status == 0);
  std::string url = json::parse(World::url_of(r))["url"];
  check_site_loads(url, "<div id=\"root\">");
}

TEST_CASE("sandbox: publish --isolate builds a local sandbox the same way") {
  World w;
  // A private temporary folder (as the editor's tests and some desktops have): the build user
  // cannot pass through it, so the sandbox must be prepared elsewhere.
  fs::create_directories(w.tmp.path() + "/private-tmp");
  fs::permissions(w.tmp.path() + "/private-tmp", fs::perms::owner_all);
  w.env["TMPDIR"] = w.tmp.path() + "/private-tmp";
  fs::path site = w.npm_site("isolated", "Isolated", "if (process.env.HOME !== '/work') throw new Error('not in the sandbox');\n");
  auto r = w.cli({"publish", "--json", "--isolate", site.string()});
  CAPTURE(r.out);
  REQUIRE(r.status == 0);
  CHECK(has(r.out, "isolated: bubblewrap"));
  check_site_loads(json::parse(World::url_of(r))["url"].get<std::string>(), "Isolated");
}

TEST_CASE("sandbox: the install step has a network of its own — the machine's loopback and private ranges out of reach, the registry in") {
  World w;
  RunnerProcess runner(w.tmp.path() + "/runner-state", kToken);
  // The test's "outside": a canary on this machine's loopback, counting every connection it gets.
  ChildProcess canary({"python3", "-u", "-c",
                       "import socket\ns=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(16); print(s.getsockname()[1])\n"
                       "while True:\n  c,_=s.accept(); print('HIT'); c.close()\n"});
  canary.close_stdin();
  std::string port = canary.read_stdout(5s);
  port.erase(port.find_last_not_of(" \r\n") + 1);
  REQUIRE(std::stoi(port) > 0);
  // Inside, the machine's loopback is slirp's 10.0.2.2 (refused) and 127.0.0.1 is the sandbox's
  // own; private and link-local ranges are asked about with `ip route get`, which sends nothing.
  std::string connect = "node -e \"for (const h of ['10.0.2.2', '127.0.0.1']) require('net').connect(" + port +
                        ", h).on('connect', () => console.log('REACHED', h)).on('error', e => console.log('refused', h, e.code))\"";
  std::string routes = "for a in 10.1.2.3 172.16.5.5 192.168.1.1 169.254.169.254 100.64.0.1 0.1.2.3; do "
                       "/usr/sbin/ip route get $a 2>&1 | head -1; done";
  std::string fetch = "node -e \"require('https').get('" + npm_registry() + "react', r => console.log('registry', r.statusCode))"
                      ".on('error', e => console.log('registry unreachable', e.code))\"";
  auto r = run(runner, "{ " + connect + "; " + routes + "; " + fetch + "; } 1>&2\n#studyhub:build\n" + connect + "; /usr/sbin/ip route");
  CAPTURE(r.dump());
  REQUIRE(r["status"] == 200);
  std::string install = r["stderr"], build = r["stdout"];
  CHECK_FALSE(has(install, "REACHED"));
  CHECK(has(install, "refused 10.0.2.2"));
  CHECK(has(install, "refused 127.0.0.1"));
  size_t closed = 0;
  for (size_t at = 0; (at = install.find("No route to host", at)) != std::string::npos; ++at) ++closed;
  CHECK(closed == 6);  // every private, shared and link-local range: an unreachable route
  CHECK(has(install, "registry 200"));  // DNS and the internet work
  CHECK_FALSE(has(build, "REACHED"));
  CHECK(has(build, "refused 10.0.2.2"));
  CHECK_FALSE(has(build, "tap0"));  // the build step: a loopback of its own, nothing else
  // A control: the canary does count what reaches it.
  CHECK(http_get("http://127.0.0.1:" + port + "/").status == 0);
  std::string hits;
  for (int i = 0; i < 20 && !has(hits, "HIT"); ++i) hits += canary.read_stdout(100ms);
  size_t count = 0;
  for (size_t at = 0; (at = hits.find("HIT", at)) != std::string::npos; ++at) ++count;
  CHECK(count == 1);
}

TEST_CASE("runner: bad file names are 400 request.files, and no answer carries a host path") {
  World w;
  std::string state = w.tmp.path() + "/runner-state";
  RunnerProcess runner(state, kToken);
  for (const std::string& name : {std::string("../x"), std::string("/x"), std::string("x/"), std::string("a/../../b"),
                                  std::string("a\0b", 3), std::string("main.sh")}) {
    CAPTURE(name);
    auto r = run(runner, "true", {{name, "x"}});  // main.sh is listed already: a duplicate
    CHECK(r["status"] == 400);
    CHECK(r.value("error", "") == "request.files");
    CHECK_FALSE(has(r.dump(), state));
    CHECK_FALSE(has(r.dump(), "/tmp/"));
  }
  check_serving(runner);
}
