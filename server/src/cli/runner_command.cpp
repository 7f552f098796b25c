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
#include "runner/docker_run_server.h"

namespace studyhub::cli {


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
