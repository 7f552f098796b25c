// One function per subcommand; each returns the process exit status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace studyhub::cli {

struct ServeOptions {
  size_t max_message_bytes = 0;
};
int run_serve(const ServeOptions& options);

struct SnapshotCommandOptions {
  std::string dir = ".";
  bool json = false;
};
int run_snapshot(const SnapshotCommandOptions& options);

struct PublishCommandOptions {
  std::string dir = ".";
  std::optional<std::string> name;
  bool json = false;
  bool dry_run = false;
  std::optional<int> build_timeout_seconds;
};
int run_publish(const PublishCommandOptions& options);

int run_list(bool json);

struct HostCommandOptions {
  std::string listen = "127.0.0.1";
  std::optional<uint16_t> port;
  bool stop = false;
  bool background = false;  // started by a publish: no terminal output
};
int run_host(const HostCommandOptions& options);

// Prints the one-sentence error for a failure and returns 1.
int fail(const std::string& message);
// Prints the reason and the usage hint and returns 2.
int usage_error(const std::string& reason);

}  // namespace studyhub::cli
