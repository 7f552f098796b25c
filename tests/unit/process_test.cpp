// Real child processes: streaming, limits, cancel reaching the whole group, the scrubbed env.
#include "runner/process.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>

#include <thread>

#include "support/fs_helpers.h"
#include "support/rpc_client.h"

using namespace studyhub;
using namespace studyhub::runner;
using namespace studyhub::testing;
using namespace std::chrono_literals;

namespace {
ProcessOutcome sh(const std::string& script, ProcessLimits limits = {}, std::stop_token stop = {},
                  std::vector<std::string>* lines = nullptr) {
  TempDir dir;
  return run_process({.argv = {"/bin/sh", "-c", script}, .cwd = dir.path(), .env = scrubbed_environment()}, limits, stop,
                     [&](std::string_view l) {
                       if (lines) lines->emplace_back(l);
                     },
                     false);
}
// Running, not a zombie waiting for a parent that may never reap it (PID 1 in a container).
bool alive(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return !stat.empty() && close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}
}  // namespace

TEST_CASE("stdout is data, stderr streams line by line, the exit code is kept") {
  std::vector<std::string> lines;
  auto o = sh("echo one >&2; echo data; printf 'two\\nthree' >&2; exit 3", {}, {}, &lines);
  CHECK(o.exit_code == 3);
  CHECK(o.stdout_text == "data\n");
  CHECK(lines == std::vector<std::string>{"one", "two", "three"});
}

TEST_CASE("the time limit stops the build and its children") {
  TempDir tmp;
  std::string pidfile = tmp.path() + "/child.pid";
  auto started = std::chrono::steady_clock::now();
  auto o = sh("sleep 30 & echo $! > " + pidfile + "; wait", {.timeout = 500ms});
  CHECK(o.timed_out);
  CHECK(std::chrono::steady_clock::now() - started < 3s);
  pid_t child = std::stoi(read_file(pidfile));
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(alive(child));
}

TEST_CASE("cancel kills a group that ignores SIGTERM within a second") {
  TempDir tmp;
  std::string pidfile = tmp.path() + "/child.pid";
  std::stop_source stop;
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    stop.request_stop();
  });
  auto started = std::chrono::steady_clock::now();
  auto o = sh("trap '' TERM; (trap '' TERM; sleep 30) & echo $! > " + pidfile + "; while true; do sleep 1; done", {},
              stop.get_token());
  canceller.join();
  CHECK(o.cancelled);
  CHECK(std::chrono::steady_clock::now() - started < 1500ms);
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(alive(std::stoi(read_file(pidfile))));
}

TEST_CASE("endless output hits the cap") {
  auto o = sh("yes 'flood flood flood'", {.timeout = 20s, .output_cap = 1u << 20});
  CHECK(o.output_capped);
}

TEST_CASE("the build environment holds no secrets") {
  ::setenv("STUDYHUB_SANDBOX_TOKEN", "s3cret-token", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "aws", 1);
  ::setenv("npm_config__authToken", "npm", 1);
  ::setenv("npm_config_registry", "http://registry.local/", 1);
  auto o = sh("env");
  ::unsetenv("STUDYHUB_SANDBOX_TOKEN");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("npm_config__authToken");
  ::unsetenv("npm_config_registry");
  CHECK(o.stdout_text.find("s3cret") == std::string::npos);
  CHECK(o.stdout_text.find("AWS_SECRET") == std::string::npos);
  CHECK(o.stdout_text.find("_authToken") == std::string::npos);
  CHECK(o.stdout_text.find("npm_config_registry=http://registry.local/") != std::string::npos);
  CHECK(o.stdout_text.find("PATH=") != std::string::npos);
}
