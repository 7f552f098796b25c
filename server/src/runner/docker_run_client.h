// The docker-run target: posts a code-runner payload to <url>/run with libcurl and turns every
// way that can go wrong into one sentence the user can act on. The call is synchronous on the
// service's side (no progress channel), so progress is the upload, then the time spent waiting,
// then the download. The token goes in X-Access-Token to the configured host only: no redirect
// is followed and it appears in no message.
#pragma once

#include "runner/runner.h"
#include "runner/target.h"

namespace studyhub::runner {

class DockerRunClient : public Runner {
 public:
  explicit DockerRunClient(DockerRunConfig config);
  std::string where() const override;  // the service's host[:port]
  Result<RunResult> run(const Payload& payload, const RunObserver& observer) override;

 private:
  DockerRunConfig config_;
};

// The body of POST /run: {"image": …, "payload": …}.
std::string docker_run_request_body(const std::string& image, const Payload& payload);

}  // namespace studyhub::runner
