// A real child process with pipes on stdin, stdout and stderr, for tests that talk to the
// shipped binary the way the extension does.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace studyhub::testing {

class ChildProcess {
 public:
  // env entries are added to (or override) the current environment.
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env = {});
  ~ChildProcess();  // kills and reaps the child if still running

  void write(std::string_view bytes);
  void close_stdin();

  // Reads what stdout has within the timeout; empty on timeout or EOF.
  std::string read_stdout(std::chrono::milliseconds timeout);
  bool stdout_eof() const { return stdout_eof_; }
  // Everything the child has written to stderr so far (drained without blocking).
  std::string stderr_text();

  // Waits for the exit status (nullopt on timeout). A signal death is 128 + signo.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }

 private:
  void drain_stderr(int timeout_ms);
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  bool stdout_eof_ = false;
  std::string stderr_;
  std::optional<int> status_;
};

}  // namespace studyhub::testing

namespace studyhub::testing {

struct CommandOutput {
  int status = -1;
  std::string out, err;
};

// Runs a command to completion (stdin closed) and captures both streams.
CommandOutput run_command(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace studyhub::testing
