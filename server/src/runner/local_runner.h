// The embedded runner: executes a code-runner payload on this machine, in a private work folder
// under the state directory, exactly as code-runner would (write the files, run the command or
// the language's build and run commands). node_modules survives between runs of the same work
// folder; everything else is rewritten from the payload each time.
#pragma once

#include <filesystem>
#include <functional>
#include <stop_token>

#include "runner/payload.h"
#include "runner/process.h"
#include "runner/runner.h"
#include "runner/sandbox.h"

namespace studyhub::runner {

struct LocalRunOptions {
  std::filesystem::path work_dir;
  ProcessLimits limits;
  std::stop_token stop;
  std::function<void(std::string_view line)> on_log;  // build output lines as they arrive
  std::vector<std::string> extra_env;
  std::filesystem::path pid_file;  // see ProcessSpec::pid_file
  // Set: the build runs in the sandbox (runner/sandbox.h), in a fresh work folder of its own;
  // work_dir then keeps only node_modules between builds (they are one folder's or one site's).
  std::optional<SandboxRun> sandbox;
};

// The code-runner languages this runner knows: their build commands and run command (the Studyhub
// fork's buildcreatereactapp, and docker-run's example script languages, which run the first file).
struct Language {
  std::vector<std::string> build;
  std::string run;
};
std::optional<Language> code_runner_language(const std::string& name, const std::string& first_file);

// Build failures are a RunResult with `error` set; an Error means the run itself could not
// happen or was stopped (time limit, output cap, cancel).
Result<RunResult> run_local(const Payload& payload, const LocalRunOptions& options);

// run_local behind the Runner interface, for the publish pipeline.
class LocalRunner : public Runner {
 public:
  LocalRunner(std::filesystem::path work_dir, ProcessLimits limits, std::filesystem::path pid_file,
              std::optional<SandboxRun> sandbox = std::nullopt);
  std::string where() const override { return sandbox_ ? "this machine (sandboxed)" : "this machine"; }
  Result<RunResult> run(const Payload& payload, const RunObserver& observer) override;

 private:
  std::filesystem::path work_dir_, pid_file_;
  ProcessLimits limits_;
  std::optional<SandboxRun> sandbox_;
};

}  // namespace studyhub::runner
