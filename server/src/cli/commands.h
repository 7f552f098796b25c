// One function per subcommand; each returns the process exit status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runner/target.h"

namespace CLI {
class App;
}

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
  runner::TargetLayer target;  // --target, --docker-run-url, --docker-run-image, --hub-url (never a token)
  bool isolate = false;        // --isolate: the local build in the sandbox
};
int run_publish(const PublishCommandOptions& options);

struct SiteCommandOptions {
  std::string name;                     // rollback, unpublish
  std::optional<std::string> snapshot;  // rollback: the version to go back to (7+ hex digits)
  std::string target;                   // "", local or hub
  std::optional<std::string> hub_url;   // else STUDYHUB_SANDBOX_HUB_URL
  bool json = false;
};
int run_list(const SiteCommandOptions& options);
int run_rollback(const SiteCommandOptions& options);
int run_unpublish(const SiteCommandOptions& options);

struct HostCommandOptions {
  std::string listen = "127.0.0.1";
  std::optional<uint16_t> port;
  bool stop = false;
  bool background = false;  // started by a publish: no terminal output
};
int run_host(const HostCommandOptions& options);

struct RunnerCommandOptions {
  std::optional<std::string> listen;  // else SERVER_LISTEN_ADDR, else 127.0.0.1
  std::optional<uint16_t> port;       // else SERVER_LISTEN_PORT, else 8088
  std::optional<int> max_execution_seconds;  // else RUN_MAX_EXECUTION_TIME, else 900
  std::optional<uint64_t> max_output_bytes;  // else RUN_MAX_OUTPUT_SIZE, else 64 MiB
  uint64_t max_request_bytes = 16u << 20;
  size_t max_queue = 16;
  std::vector<std::string> images;  // accepted images; empty: any
  // The sandbox (else docker-run's DOCKER_CONTAINER_* variables, else runner/sandbox.h's defaults).
  std::string isolation = "sandbox";                   // sandbox | none
  std::optional<std::string> build_network;            // install | none | all
  std::optional<std::string> memory, disk, build_user;  // "2g", "512m", a user name or uid
  std::optional<uint64_t> max_processes;
};
int run_runner(const RunnerCommandOptions& options);

// Adds `hub …` (serve, worker, migrate, user …) to the app; after parsing, the returned function
// runs the chosen hub subcommand and answers its exit status (nullopt when `hub` was not chosen).
std::function<std::optional<int>()> add_hub_command(CLI::App& app);

// Prints the one-sentence error for a failure and returns 1.
int fail(const std::string& message);
// Prints the reason and the usage hint and returns 2.
int usage_error(const std::string& reason);

}  // namespace studyhub::cli
