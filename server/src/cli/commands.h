// One function per subcommand; each returns the process exit status.
#pragma once

#include <cstddef>
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

// Prints the one-sentence error for a failure and returns 1.
int fail(const std::string& message);

}  // namespace studyhub::cli
