// The seam between the pipeline and whatever builds a payload: this machine (LocalRunner) or a
// docker-run service (DockerRunClient). Both take a code-runner payload and answer a RunResult.
#pragma once

#include <functional>
#include <stop_token>
#include <string>
#include <string_view>

#include "runner/payload.h"

namespace studyhub::runner {

// Error codes of a run's two limits, named as docker-run names them in its error bodies.
inline constexpr std::string_view kTimeLimitCode = "limits.execution_time";
inline constexpr std::string_view kOutputLimitCode = "limits.read.size";

struct RunObserver {
  std::stop_token stop;
  std::function<void(std::string_view line)> on_log;  // build output as it arrives (local runs only)
  // Steps a runner goes through that the pipeline cannot see: "upload", "build", "download";
  // percent is within that step (0–100).
  std::function<void(const std::string& step, const std::string& message, int percent)> on_step;
};

class Runner {
 public:
  virtual ~Runner() = default;
  virtual std::string where() const = 0;  // "this machine", or the service's host name
  // A failed build is a RunResult with `error` set; an Error means no result came back.
  virtual Result<RunResult> run(const Payload& payload, const RunObserver& observer) = 0;
};

}  // namespace studyhub::runner
