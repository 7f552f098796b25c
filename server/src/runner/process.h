// A build command as a child process in its own process group: output streamed line by line,
// a wall-clock limit, an output cap, and cancellation that kills the whole group.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

namespace studyhub::runner {

struct ProcessSpec {
  std::vector<std::string> argv;
  std::filesystem::path cwd;
  std::vector<std::string> env;  // the whole environment, "NAME=value"
  std::string stdin_text;
  // When set, the child's process group id is written here while it runs, so a later run can
  // stop a build whose parent was killed.
  std::filesystem::path pid_file;
};

struct ProcessLimits {
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  size_t output_cap = 256u << 20;  // stdout + stderr
};

struct ProcessOutcome {
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it
  bool timed_out = false, cancelled = false, output_capped = false;
  std::string error;  // could not start
  std::string stdout_text, stderr_text;
};

// Blocks until the process group is gone. on_line gets each complete stderr line as it arrives
// (and stdout lines too when stream_stdout is set).
ProcessOutcome run_process(const ProcessSpec& spec, const ProcessLimits& limits, std::stop_token stop,
                           const std::function<void(std::string_view line)>& on_line, bool stream_stdout);

// Kills the process group recorded in pid_file by a run whose parent died (then removes the file).
void stop_orphaned_build(const std::filesystem::path& pid_file);

// The environment a build sees: the basics a toolchain needs, nothing that looks like a secret.
std::vector<std::string> scrubbed_environment(const std::vector<std::string>& extra = {});

}  // namespace studyhub::runner
