// Builds of other people's code, each in a sandbox (bubblewrap) with limits (a cgroup where the
// machine allows), so a payload can neither see nor touch anything but its own work folder.
//
//   the runner ── sh (joins the build's cgroup, sets rlimits) ── setpriv (the build user) ── bwrap
//        outer sandbox: new user/pid/ipc/uts/cgroup namespaces, the system read-only, a private
//        size-limited tmpfs as /work and /tmp, nothing of the runner's state, a clean environment,
//        all capabilities dropped. Its script is ours: it copies the payload in, then runs
//          ── bwrap (install step): network per policy, then
//          ── bwrap (build step): no network unless --build-network all; its stdout is the site.
//        Each step is a new pid namespace: whatever it started dies with it.
//
// The install step of a payload: for a custom `command`, the lines before a line `#studyhub:build`
// (none without the marker); for a code-runner language's build commands, those that install
// packages (`npm install`, `npm ci`, `yarn install`). Everything else is the build step.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/error.h"
#include "runner/payload.h"
#include "runner/process.h"

namespace studyhub::runner {

inline constexpr const char* kBuildStepMarker = "#studyhub:build";

struct SandboxOptions {
  enum class Network { install, none, all } network = Network::install;
  uint64_t memory_bytes = 2ull << 30;     // the build's processes together
  uint64_t max_processes = 512;           // tasks (processes and threads) at once
  uint64_t disk_bytes = 2ull << 30;       // the work folder (a tmpfs of this size)
  uint64_t tmp_bytes = 512ull << 20;      // /tmp
  std::string build_user = "nobody";      // when the runner is root: builds run as this user
};

// What this machine's sandbox can do, found once at start: said in GET /version and the log.
struct SandboxSupport {
  bool bwrap = false;          // bubblewrap runs, nested too
  std::string cgroup;          // "v2", "v1" or "none"
  bool memory_limit = false, process_limit = false;
  bool drops_user = false;     // builds run as another user than the runner
  // A pid namespace and a /proc of the sandbox's own. In a container with Docker's masked /proc
  // paths the kernel refuses a new /proc; builds then run in the container's pid namespace and see
  // its /proc (its processes listed, their environments unreadable, out of reach as another user),
  // and the runner ends every process of the build user when a build ends.
  bool private_proc = true;
  std::string problem;         // why something is missing, for the log
  std::string describe() const;  // one line: "bubblewrap, cgroup v1 (memory, processes), builds as nobody"
};
SandboxSupport probe_sandbox(const SandboxOptions& options);

// The install and build steps of a payload, as shell scripts (see the comment at the top).
struct Steps {
  std::string install, build;
};
Result<Steps> split_steps(const Payload& payload);

struct SandboxRun {
  // node_modules kept between builds of one folder or one site (never shared between users). Used
  // when the build user can reach it; else the build installs from scratch (and says so).
  std::optional<std::filesystem::path> cache_dir;
  SandboxOptions options;
  SandboxSupport support;
  ProcessLimits limits;  // wall time, output
};

// Where builds' payloads wait to be copied into their sandbox: <tmp>/studyhub-sandbox-<uid>, 0711,
// one folder per build owned by the build user, 0700.
std::filesystem::path sandbox_root();

// Runs the payload in the sandbox. A failed build is a RunResult with `error` set ("Exit code: N",
// with the limit it hit when it hit one); an Error means no run happened or it was stopped (time
// limit, output cap, cancel). Nothing it started is left running when this returns.
Result<RunResult> run_sandboxed(const Payload& payload, const SandboxRun& run, std::stop_token stop,
                                const std::function<void(std::string_view)>& on_log);

Result<SandboxOptions::Network> parse_network(const std::string& text);
// "2g", "512m", "1048576": docker's sizes.
std::optional<uint64_t> parse_size(const std::string& text);

}  // namespace studyhub::runner
