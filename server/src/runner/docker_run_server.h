// `studyhub-sandbox runner`: the docker-run HTTP API (GET /, GET /version, POST /run) in front of
// the local runner, so a team without Docker has a drop-in builder and the docker-run client is
// tested against a real server. Same routes, status codes and {"error", "message"} bodies as
// docker-run; every build in a sandbox with limits; one build at a time; a full queue answers 503
// with Retry-After (from the queue and recent build times); a build whose client went away is
// stopped.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "runner/sandbox.h"

namespace studyhub::runner {

struct RunnerServiceOptions {
  std::filesystem::path state_dir;  // builds run in <state>/runner/work/
  std::string address = "127.0.0.1";
  uint16_t port = 8088;  // docker-run's default; 0: any free port
  std::string token;     // required
  std::chrono::seconds max_execution{15 * 60};
  uint64_t max_output_bytes = 64u << 20;
  uint64_t max_request_bytes = 16u << 20;
  size_t max_queue = 16;              // requests waiting behind the running build
  std::vector<std::string> images;    // accepted images; empty: any
  bool isolate = true;                // every build in the sandbox (runner/sandbox.h)
  SandboxOptions sandbox;
  SandboxSupport support;             // probed at start
  std::function<void(const std::string& line)> access_log;  // one line per request, never a header
};

class RunnerService {
 public:
  static Result<std::unique_ptr<RunnerService>> start(RunnerServiceOptions options);  // bound and listening
  virtual ~RunnerService() = default;
  virtual uint16_t port() const = 0;
  virtual void run() = 0;   // serves until stop(); stops running builds before it returns
  virtual void stop() = 0;  // callable from any thread
};

}  // namespace studyhub::runner
