// The docker-run target end to end over loopback HTTP: the client (publish --target docker-run)
// against the real `studyhub-sandbox runner`, and against a fault-injecting peer for what a real
// service cannot be made to do on demand. The token must never show up in any output.
#include <doctest/doctest.h>
#include <signal.h>

#include <random>
#include <sstream>
#include <thread>

#include "support/docker_run_peers.h"
#include "support/processes.h"
#include "support/rpc_client.h"
#include "support/sandbox_world.h"

using namespace studyhub::testing;
using nlohmann::json;

namespace {

const std::string kToken = "tok-3f9c2a7e-never-log-me";

struct RemoteWorld : World {
  RemoteWorld() { env["STUDYHUB_SANDBOX_TOKEN"] = kToken; }
  std::string runner_state = tmp.path() + "/runner-state";

  CommandOutput publish_to(const std::string& url, const fs::path& dir) {
    return cli({"publish", "--json", "--target", "docker-run", "--docker-run-url", url, dir.string()});
  }
};

json last_json(const CommandOutput& r) {
  auto j = json::parse(World::url_of(r), nullptr, false);
  return j.is_discarded() ? json::object() : j;
}
std::string error_of(const CommandOutput& r) { return last_json(r).value("/error/message"_json_pointer, std::string()); }
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void check_no_token(const std::string& text) {
  CAPTURE(text);
  CHECK_MESSAGE(!has(text, kToken), "the access token leaked");
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  s[0] = '\0';  // binary for sure
  return s;
}

// The base64 tar.gz of a build/ folder holding one page, as a docker-run service answers.
std::string site_archive_base64(const fs::path& scratch, const std::string& title) {
  write_file(scratch / "build/index.html", "<title>" + title + "</title><h1>" + title + "</h1>");
  auto r = run_command({"/bin/sh", "-c", "cd '" + scratch.string() + "' && tar -cz build | base64 -w0"});
  REQUIRE(r.status == 0);
  return r.out;
}

std::string run_result(const std::string& stdout_text) {
  return json{{"stdout", stdout_text}, {"stderr", ""}, {"error", ""}}.dump();
}

}  // namespace

TEST_CASE("docker-run target through the runner: published, binary and empty files arrive byte for byte") {
  RemoteWorld w;
  RunnerProcess runner(w.runner_state, kToken);
  fs::path site = w.static_site("remote-site", "Hello remote");
  std::string png = random_bytes(3000, 1), font = random_bytes(5000, 2);
  write_file(site / "public/logo.png", png);
  write_file(site / "public/font.woff2", font);
  write_file(site / "public/empty.css", "");

  auto r = w.publish_to(runner.url(), site);
  CAPTURE(r.out);
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  json result = last_json(r);
  std::string url = result["url"];
  check_site_loads(url, "Hello remote");
  CHECK(http_get(url + "public/logo.png").body == png);
  CHECK(http_get(url + "public/font.woff2").body == font);
  auto empty = http_get(url + "public/empty.css");
  CHECK(empty.status == 200);
  CHECK(empty.body.empty());
  // The stages of a remote publish, in order.
  for (const char* stage : {"\"stage\":\"upload\"", "\"stage\":\"build\"", "\"stage\":\"download\"", "\"stage\":\"extract\""})
    CHECK_MESSAGE(has(r.out, stage), stage);
  CHECK(r.out.find("\"stage\":\"upload\"") < r.out.find("\"stage\":\"download\""));
  CHECK(has(runner.log(), "POST /run 200"));
  check_no_token(r.out + r.err + runner.log());
  // Nor in anything either side keeps: snapshots, metadata, logs, build folders.
  for (const auto& dir : {w.state, w.runner_state})
    for (auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file() && !e.is_symlink() && e.file_size() < (32u << 20)) {
        CAPTURE(e.path());
        CHECK_FALSE(has(read_file(e.path()), kToken));
      }

  // Same content: already built, no second request.
  auto again = w.publish_to(runner.url(), site);
  REQUIRE(again.status == 0);
  CHECK(last_json(again)["cached"].get<bool>());
}

TEST_CASE("docker-run target: a failed remote build reports its log and diagnostics at the right file and line") {
  RemoteWorld w;
  RunnerProcess runner(w.runner_state, kToken);
  fs::path app = w.root / "broken";
  write_file(app / "package.json", R"({"name":"broken","private":true,"scripts":{"build":"node build.js"}})");
  write_file(app / "src/app.ts", "const a = 1;\nconst b = 2;\nlet x: number = 'no';\n");
  write_file(app / "build.js",
             "console.error(require('path').resolve('src/app.ts') + \"(3,5): error TS2322: Type 'string' is not "
             "assignable to type 'number'.\");\nprocess.exit(2);\n");
  auto r = w.publish_to(runner.url(), app);
  CAPTURE(r.out);
  REQUIRE(r.status == 1);
  std::string message = error_of(r);
  CHECK(has(message, "failed (Exit code: 2)"));
  CHECK(has(message, "src/app.ts:3: TS2322: Type 'string' is not assignable"));
  auto diagnostics = last_json(r)["error"]["diagnostics"];
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics[0]["file"] == "src/app.ts");
  CHECK(diagnostics[0]["line"] == 3);
  CHECK(diagnostics[0]["column"] == 5);
  CHECK(has(r.out, "\"event\":\"diagnostics\""));
  CHECK(has(runner.log(), "Exit code: 2"));
  check_no_token(r.out + r.err + runner.log());
}

TEST_CASE("docker-run target: the runner's time and output limits come back as errors that explain them") {
  RemoteWorld w;
  SUBCASE("RUN_MAX_EXECUTION_TIME") {
    RunnerProcess runner(w.runner_state, kToken, {}, {{"RUN_MAX_EXECUTION_TIME", "2"}});
    fs::path app = w.npm_site("slow", "Slow", "await new Promise(r => setTimeout(r, 20000));\n");
    fs::path js = app / "build.js";
    write_file(js, "(async () => {\n" + read_file(js) + "})();\n");
    auto r = w.publish_to(runner.url(), app);
    REQUIRE(r.status == 1);
    CHECK(has(error_of(r), "limits.execution_time"));
    CHECK(has(error_of(r), "RUN_MAX_EXECUTION_TIME"));
    CHECK(has(runner.log(), "POST /run 400"));
  }
  SUBCASE("RUN_MAX_OUTPUT_SIZE") {
    RunnerProcess runner(w.runner_state, kToken, {"--max-output-size", "4096"});
    fs::path app = w.npm_site("chatty", "Chatty", "for (let i = 0; i < 2000; i++) console.error('x'.repeat(100));\n");
    auto r = w.publish_to(runner.url(), app);
    REQUIRE(r.status == 1);
    CHECK(has(error_of(r), "limits.read.size"));
    CHECK(has(error_of(r), "RUN_MAX_OUTPUT_SIZE"));
  }
  SUBCASE("an image the runner does not have") {
    RunnerProcess runner(w.runner_state, kToken, {"--image", "vermusl/create-react-app"});
    fs::path site = w.static_site("img", "Image");
    auto r = w.cli({"publish", "--json", "--target", "docker-run", "--docker-run-url", runner.url(),
                    "--docker-run-image", "nosuch/image", site.string()});
    REQUIRE(r.status == 1);
    CHECK(has(error_of(r), "could not start a container from the image 'nosuch/image'"));
  }
}

TEST_CASE("docker-run target: a request too large is refused before sending, or by the service with 413") {
  RemoteWorld w;
  RunnerProcess runner(w.runner_state, kToken, {"--max-request-size", "65536"});
  fs::path site = w.static_site("big", "Big");
  std::string text(3'000'000, 'a');
  write_file(site / "big.txt", text);
  auto r = w.publish_to(runner.url(), site);
  REQUIRE(r.status == 1);
  CHECK(has(error_of(r), "over the 2.1 MB a docker-run service accepts"));
  CHECK(has(error_of(r), "dockerRun.maxRequestBytes"));
  CHECK_FALSE(has(runner.log(), "POST"));  // nothing was sent

  write_file(site / "big.txt", std::string(200'000, 'b'));
  write_file(site / ".studyhub-sandbox.json", R"({"dockerRun": {"maxRequestBytes": 10000000}})");
  auto refused = w.publish_to(runner.url(), site);
  REQUIRE(refused.status == 1);
  CHECK(has(error_of(refused), "refused the request as too large (413)"));
}

TEST_CASE("docker-run target: a wrong token is rejected with a message that says where to set it") {
  RemoteWorld w;
  RunnerProcess runner(w.runner_state, kToken);
  w.env["STUDYHUB_SANDBOX_TOKEN"] = "wrong-token-value";
  auto r = w.publish_to(runner.url(), w.static_site("s", "S"));
  REQUIRE(r.status == 1);
  CHECK(has(error_of(r), "rejected the access token (401)"));
  CHECK(has(error_of(r), "STUDYHUB_SANDBOX_TOKEN"));
  CHECK(has(runner.log(), "POST /run 401"));
  CHECK_FALSE(has(r.out + r.err + runner.log(), "wrong-token-value"));

  w.env.erase("STUDYHUB_SANDBOX_TOKEN");
  auto missing = w.publish_to(runner.url(), w.static_site("s", "S"));
  REQUIRE(missing.status == 1);
  CHECK(has(error_of(missing), "needs an access token"));
}

TEST_CASE("runner: refuses to start without a token, and answers docker-run's own requests") {
  TempDir tmp;
  auto r = run_command({binary_path(), "runner", "--port", "0"}, {{"STUDYHUB_SANDBOX_HOME", tmp.path()}});
  CHECK(r.status == 1);
  CHECK(has(r.err, "STUDYHUB_SANDBOX_TOKEN"));

  // docker-run reads API_ACCESS_TOKEN; the runner does too.
  RunnerProcess runner(tmp.path() + "/state", "", {}, {{"API_ACCESS_TOKEN", kToken}});
  auto root = json::parse(http_get(runner.url() + "/").body);
  CHECK(root["name"] == "docker-run");
  CHECK(http_get(runner.url() + "/version").status == 401);
  CHECK(http_get(runner.url() + "/version", {"X-Access-Token: " + kToken}).status == 200);
  CHECK(http_get(runner.url() + "/nowhere").status == 404);
  CHECK(http_get(runner.url() + "/run", {"X-Access-Token: " + kToken}).status == 405);

  auto post = [&](const std::string& body, const std::string& token) {
    return run_command({"curl", "-s", "-w", "\n%{http_code}", "-X", "POST", "-H", "X-Access-Token: " + token, "-H",
                        "Content-type: application/json", "--data", body, runner.url() + "/run"});
  };
  // The example of docker-run's API docs.
  auto example = post(R"J({"image":"glot/python:latest","payload":{"language":"python","files":[{"name":"main.py","content":"print(42)"}]}})J",
                      kToken);
  CAPTURE(example.out);
  CHECK(has(example.out, R"("stdout":"42")"));
  CHECK(has(example.out, "\n200"));
  // The Studyhub task's request shape (image, buildcreatereactapp, files) with a command.
  auto task = post(R"({"image":"vermusl/create-react-app","payload":{"language":"buildcreatereactapp","command":"mkdir build && echo hi > build/index.html && tar -cz build | base64","files":[{"name":"package.json","content":"{}"}]}})",
                   kToken);
  CHECK(has(task.out, "\n200"));
  CHECK(has(task.out, R"("error":"")"));
  CHECK_FALSE(has(json::parse(task.out.substr(0, task.out.rfind('\n')))["stdout"].get<std::string>(), "\n"));
  // Bad requests get docker-run's codes.
  CHECK(has(post("{not json", kToken).out, "request.parse"));
  auto empty = post(R"({"image":"x","payload":{"language":"bash","files":[{"name":"a.sh","content":""}]}})", kToken);
  CHECK(has(empty.out, "empty content"));
  CHECK(has(empty.out, "\n400"));
  CHECK(has(post("{}", "nope").out, "\n401"));
  check_no_token(runner.log());
}

TEST_CASE("docker-run target: cancel aborts the transfer and the runner stops the build whose client left") {
  RemoteWorld w;
  RunnerProcess runner(w.runner_state, kToken);
  const std::string marker = unique_marker();
  fs::path app = w.npm_site("hang", "Hang", marked_sleep(marker, 120));
  ChildProcess client({binary_path(), "publish", "--json", "--target", "docker-run", "--docker-run-url", runner.url(),
                       app.string()},
                      {{"STUDYHUB_SANDBOX_HOME", w.state}, {"STUDYHUB_SANDBOX_TOKEN", kToken}});
  REQUIRE_MESSAGE(wait_for_process(marker, std::chrono::seconds(60)), client.stderr_text());
  ::kill(client.pid(), SIGINT);
  auto status = client.wait(std::chrono::seconds(5));
  REQUIRE(status.has_value());
  CHECK(*status == 1);
  CHECK(has(client.stderr_text(), "publish cancelled"));
  // The runner notices the client left and stops the build, every process of it.
  CHECK(wait_no_process(marker, std::chrono::seconds(10)));
  for (int i = 0; i < 50 && !has(runner.log(), "client left"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(has(runner.log(), "client left: build stopped"));
}

TEST_CASE("docker-run target: faults a real service cannot be made to produce") {
  RemoteWorld w;
  fs::path site = w.static_site("faulty", "Faulty");
  std::string good = site_archive_base64(w.root / "scratch", "From the peer");

  SUBCASE("a body cut off mid-way") {
    FaultPeer peer([](int, const std::string&) {
      return PeerReply{"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n{\"stdout\":\"H4sIAAAA"};
    });
    auto r = w.publish_to(peer.url(), site);
    REQUIRE(r.status == 1);
    CHECK(has(error_of(r), "broke before the whole answer arrived"));
    CHECK(peer.requests().size() == 1);  // a build may have run: never repeated
  }
  SUBCASE("500 with a body that is not JSON") {
    FaultPeer peer([](int, const std::string&) { return PeerReply{http_response(500, "<html>Internal Server Error</html>")}; });
    auto r = w.publish_to(peer.url(), site);
    REQUIRE(r.status == 1);
    CHECK(has(error_of(r), "answered HTTP 500: <html>Internal Server Error</html>"));
  }
  SUBCASE("a stalled server hits the configured total timeout") {
    write_file(site / ".studyhub-sandbox.json", R"({"dockerRun": {"timeoutSeconds": 2}})");
    FaultPeer peer([](int, const std::string&) { return PeerReply{"", PeerReply::After::stall}; });
    auto r = w.publish_to(peer.url(), site);
    REQUIRE(r.status == 1);
    CHECK(has(error_of(r), "did not answer within 2 s"));
    CHECK(has(error_of(r), "dockerRun.timeoutSeconds"));
  }
  SUBCASE("a reset connection") {
    FaultPeer peer([](int, const std::string&) { return PeerReply{"", PeerReply::After::reset}; });
    auto r = w.publish_to(peer.url(), site);
    REQUIRE(r.status == 1);
    CHECK(has(error_of(r), "broke before the whole answer arrived"));
    CHECK(peer.requests().size() == 1);
  }
  SUBCASE("503 from a load balancer, then success: the busy builder is tried again after a pause") {
    FaultPeer peer([&](int n, const std::string&) {
      if (n == 0) return PeerReply{http_response(503, R"({"error":"lb","message":"no healthy backend"})")};
      return PeerReply{http_response(200, run_result(good))};
    });
    auto r = w.publish_to(peer.url(), site);
    CAPTURE(r.out);
    REQUIRE(r.status == 0);
    CHECK(peer.requests().size() == 2);
    CHECK(has(r.out, "builder busy, retrying in 1."));
    CHECK(has(http_get(last_json(r)["url"].get<std::string>()).body, "<h1>From the peer</h1>"));
    // The token went to the configured host, as the header docker-run reads.
    CHECK(has(peer.requests()[0], "X-Access-Token: " + kToken));
    CHECK(has(peer.requests()[0], R"("image":"vermusl/create-react-app")"));
    check_no_token(r.out + r.err);
  }
  SUBCASE("answers that are not a usable site") {
    for (auto [body, expected] : std::vector<std::pair<std::string, std::string>>{
             {"hello", "is not JSON"},
             {"", "empty body"},
             {R"({"stdout": 5})", "not a code-runner result"},
             {run_result("%%% not base64 %%%"), "unusable: the build output is not base64"},
             {run_result("aGVsbG8gd29ybGQ="), "unusable"},  // base64, but not gzip
         }) {
      CAPTURE(body);
      FaultPeer peer([&](int, const std::string&) { return PeerReply{http_response(200, body)}; });
      auto r = w.publish_to(peer.url(), site);
      REQUIRE(r.status == 1);
      CHECK(has(error_of(r), expected));
    }
    // A tar.gz without build/.
    write_file(w.root / "other/out/index.html", "x");
    auto no_build = run_command({"/bin/sh", "-c", "cd '" + (w.root / "other").string() + "' && tar -cz out | base64 -w0"});
    FaultPeer peer([&](int, const std::string&) { return PeerReply{http_response(200, run_result(no_build.out))}; });
    auto r = w.publish_to(peer.url(), site);
    REQUIRE(r.status == 1);
    CHECK(has(error_of(r), "unusable"));
    CHECK(has(error_of(r), "build/"));
  }
  SUBCASE("a redirect is not followed, so the token reaches no other host") {
    FaultPeer elsewhere([](int, const std::string&) { return PeerReply{http_response(200, "{}")}; });
    FaultPeer peer([&](int, const std::string&) {
      return PeerReply{http_response(307, "", "Location: " + elsewhere.url() + "/run\r\n")};
    });
    auto r = w.publish_to(peer.url(), site);
    REQUIRE(r.status == 1);
    CHECK(has(error_of(r), "redirect"));
    CHECK(elsewhere.requests().empty());
  }
  SUBCASE("connection refused: retried, then a clear error") {
    int port;
    { FaultPeer closed([](int, const std::string&) { return PeerReply{}; });
      port = std::stoi(closed.url().substr(closed.url().rfind(':') + 1)); }
    auto r = w.publish_to("http://127.0.0.1:" + std::to_string(port), site);
    REQUIRE(r.status == 1);
    CHECK(has(error_of(r), "cannot connect to 127.0.0.1:" + std::to_string(port)));
    CHECK(has(r.out, "attempt 4 of 4"));
  }
}

TEST_CASE("docker-run target over JSON-RPC: initializationOptions give defaults, params override, no token echoed") {
  TempDir tmp;
  RunnerProcess runner(tmp.path() + "/runner-state", kToken);
  World w;
  fs::path site = w.static_site("rpc-remote", "Over RPC");
  RpcClient client({}, {{"STUDYHUB_SANDBOX_HOME", w.state}});
  auto init = client.request(1, "initialize",
                             {{"processId", nullptr},
                              {"capabilities", json::object()},
                              {"initializationOptions",
                               {{"target", "docker-run"}, {"dockerRun", {{"url", runner.url()}, {"token", kToken}}}}}});
  REQUIRE(init.contains("result"));
  client.notify("initialized");
  auto ok = client.request(2, "sandbox/publish", {{"folder", site.string()}, {"workDoneToken", "p1"}}, 60s);
  CAPTURE(ok.dump());
  REQUIRE(ok.contains("result"));
  CHECK(has(ok["result"]["url"].get<std::string>(), "/s/rpc-remote/"));
  CHECK(has(runner.log(), "POST /run 200"));

  write_file(site / "index.html", "<title>changed</title>");
  auto bad = client.request(3, "sandbox/publish",
                            {{"folder", site.string()}, {"dockerRun", {{"token", "other-wrong-token"}}}}, 60s);
  REQUIRE(bad.contains("error"));
  CHECK(has(bad["error"]["message"].get<std::string>(), "rejected the access token (401)"));
  auto invalid = client.request(4, "sandbox/publish", {{"folder", site.string()}, {"target", "moon"}});
  CHECK(invalid["error"]["code"] == -32602);

  std::string everything;
  for (const auto& m : client.seen) everything += m.dump();
  everything += ok.dump() + bad.dump() + invalid.dump() + client.process().stderr_text();
  check_no_token(everything);
  CHECK_FALSE(has(everything, "other-wrong-token"));
}

TEST_CASE("runner: a bounded queue — requests beyond it get 503 at once, the others are built one at a time") {
  TempDir tmp;
  RunnerProcess runner(tmp.path() + "/state", kToken, {"--max-queue", "1"});
  // Each build takes a second and says when it ran (on stderr, which comes back in its result).
  std::string command = "echo start $(date +%s%N) >&2; sleep 1; echo end $(date +%s%N) >&2; "
                        "mkdir -p build && echo x > build/index.html && tar -cz build | base64";
  std::string body = json{{"image", "x"}, {"payload", {{"language", "bash"}, {"command", command},
                                                        {"files", {{{"name", "a.sh"}, {"content", "true"}}}}}}}.dump();
  write_file(fs::path(tmp.path()) / "body.json", body);
  std::vector<std::thread> clients;
  std::vector<std::string> answers(3);
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(150 * i));  // in order: run, wait, refused
      answers[i] = run_command({"curl", "-s", "-i", "-H", "X-Access-Token: " + kToken, "--data-binary",
                                "@" + (fs::path(tmp.path()) / "body.json").string(), runner.url() + "/run"})
                       .out;
    });
  }
  for (auto& c : clients) c.join();
  CHECK(has(answers[0], "HTTP/1.1 200"));
  CHECK(has(answers[1], "HTTP/1.1 200"));
  CHECK(has(answers[2], "HTTP/1.1 503"));
  // A full queue says when to come back, in JSON with an error key, as Studyhub's client expects.
  CHECK(has(answers[2], "Retry-After: "));
  CHECK(has(answers[2], R"("error":"limits.capacity")"));
  CHECK(has(runner.log(), "POST /run 503"));
  // The two builds did not overlap.
  std::vector<std::pair<std::string, long long>> events;
  for (int i = 0; i < 2; ++i) {
    json result = json::parse(answers[i].substr(answers[i].find("\r\n\r\n") + 4));
    std::istringstream lines(result["stderr"].get<std::string>());
    std::string what;
    long long at;
    while (lines >> what >> at) events.emplace_back(what, at);
  }
  std::sort(events.begin(), events.end(), [](auto& a, auto& b) { return a.second < b.second; });
  REQUIRE(events.size() == 4);
  CHECK(events[0].first == "start");
  CHECK(events[1].first == "end");
  CHECK(events[2].first == "start");
  CHECK(events[1].second <= events[2].second);
}
