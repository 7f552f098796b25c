#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "core/signals.h"
#include "core/env.h"
#include "core/log.h"
#include "core/state_dir.h"
#include "core/text.h"
#include "runner/docker_run_server.h"

namespace studyhub::cli {


namespace {

// Flags first, then docker-run's own variables, then the defaults.
Result<runner::SandboxOptions> sandbox_options(const RunnerCommandOptions& o) {
  runner::SandboxOptions s;
  auto size = [](const std::optional<std::string>& text, const std::string& what) -> Result<std::optional<uint64_t>> {
    if (!text) return std::optional<uint64_t>();
    auto bytes = runner::parse_size(*text);
    if (!bytes || *bytes == 0) return Error{what + " must be a size such as 2g or 512m, not '" + *text + "'"};
    return bytes;
  };
  auto memory = size(o.memory ? o.memory : env_value("DOCKER_CONTAINER_MEMORY"), "the build memory");
  if (!memory) return memory.error();
  if (memory.value()) s.memory_bytes = *memory.value();
  // docker-run gives the work folder's tmpfs options ("rw,exec,nosuid,size=131072k").
  std::optional<std::string> disk = o.disk;
  if (!disk)
    if (auto options = env_value("DOCKER_CONTAINER_WORK_DIR_OPTIONS"))
      for (const auto& part : split_list(*options, ','))
        if (part.starts_with("size=")) disk = part.substr(5);
  auto disk_bytes = size(disk, "the work folder's size");
  if (!disk_bytes) return disk_bytes.error();
  if (disk_bytes.value()) s.disk_bytes = *disk_bytes.value();
  if (auto tmp = env_value("DOCKER_CONTAINER_TMP_DIR_OPTIONS"))
    for (const auto& part : split_list(*tmp, ','))
      if (part.starts_with("size="))
        if (auto bytes = runner::parse_size(part.substr(5))) s.tmp_bytes = *bytes;
  auto nproc = env_number<uint64_t>("DOCKER_CONTAINER_ULIMIT_NPROC_HARD");
  if (!nproc) return nproc.error();
  if (o.max_processes) s.max_processes = *o.max_processes;
  else if (nproc.value()) s.max_processes = *nproc.value();
  if (o.build_network) {
    s.network = runner::parse_network(*o.build_network).value();
  } else if (env_value("DOCKER_CONTAINER_NETWORK_DISABLED") == "true") {
    s.network = runner::SandboxOptions::Network::none;
  }
  if (o.build_user) s.build_user = *o.build_user;
  else if (auto user = env_value("DOCKER_CONTAINER_USER")) s.build_user = *user;
  return s;
}

}  // namespace

int run_runner(const RunnerCommandOptions& o) {
  auto state_dir = ensure_state_dir();
  if (!state_dir) return fail(state_dir.error().message);
  auto port = env_number<uint16_t>("SERVER_LISTEN_PORT");
  auto exec = env_number<int>("RUN_MAX_EXECUTION_TIME");
  auto output = env_number<uint64_t>("RUN_MAX_OUTPUT_SIZE");
  if (!port) return usage_error(port.error().message);
  if (!exec) return usage_error(exec.error().message);
  if (!output) return usage_error(output.error().message);

  runner::RunnerServiceOptions options;
  options.state_dir = state_dir.value();
  options.address = o.listen.value_or(env_value("SERVER_LISTEN_ADDR").value_or("127.0.0.1"));
  options.port = o.port.value_or(port->value_or(8088));
  options.token = env_value("STUDYHUB_SANDBOX_TOKEN").value_or(env_value("API_ACCESS_TOKEN").value_or(""));
  options.max_execution = std::chrono::seconds(o.max_execution_seconds.value_or(exec->value_or(15 * 60)));
  options.max_output_bytes = o.max_output_bytes.value_or(output->value_or(64u << 20));
  options.max_request_bytes = o.max_request_bytes;
  options.max_queue = o.max_queue;
  options.images = o.images;
  options.access_log = [](const std::string& line) { std::cerr << "runner: " << line << "\n" << std::flush; };
  if (options.max_execution.count() < 1) return usage_error("RUN_MAX_EXECUTION_TIME must be at least 1 second");
  auto sandbox = sandbox_options(o);
  if (!sandbox) return usage_error(sandbox.error().message);
  options.isolate = o.isolation != "none";
  options.sandbox = sandbox.value();
  if (options.isolate) {
    options.support = runner::probe_sandbox(options.sandbox);
    if (!options.support.bwrap) return fail("cannot isolate builds: " + options.support.problem +
                                            "; fix that, or run with --isolation none for code you trust");
    std::cerr << "runner: builds are sandboxed: " << options.support.describe() << "\n";
    if (!options.support.problem.empty()) std::cerr << "runner: note: " << options.support.problem << "\n";
  } else {
    std::cerr << "runner: warning: --isolation none: builds run as plain processes of this service, with its "
                 "user, files and network; only for code you trust\n";
  }

  // SIGINT/SIGTERM are taken by one thread that stops the service; serving threads never see them.
  sigset_t signals = block_stop_signals();

  std::string address = options.address;
  auto limits = std::to_string(options.max_execution.count()) + " s per build, " +
                std::to_string(options.max_output_bytes) + " bytes of output, " +
                std::to_string(options.max_request_bytes) + " bytes per request";
  auto started = runner::RunnerService::start(std::move(options));
  if (!started) return fail(started.error().message);
  auto& service = *started.value();
  std::string host = address.find(':') != std::string::npos ? "[" + address + "]" : address;
  std::cout << "runner listening on http://" << host << ":" << service.port() << " (" << limits
            << "; Ctrl-C to stop)\n"
            << std::flush;

  std::thread waiter([&] {
    wait_stop_signal(signals);
    service.stop();
  });
  service.run();
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}

}  // namespace studyhub::cli
