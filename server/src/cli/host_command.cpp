#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "core/signals.h"
#include "core/log.h"
#include "core/state_dir.h"
#include "host/host_control.h"
#include "host/static_host.h"

namespace studyhub::cli {

int run_host(const HostCommandOptions& o) {
  auto state_dir = ensure_state_dir();
  if (!state_dir) return fail(state_dir.error().message);
  const auto& dir = state_dir.value();
  if (o.stop) {
    auto stopped = host::stop_host(dir);
    if (!stopped) return fail(stopped.error().message);
    std::cout << (stopped.value() ? "stopped the host of " : "no host was running for ") << dir.string() << "\n";
    return 0;
  }
  auto running = host::read_host_record(dir);
  if (running && host::host_alive(dir, *running))
    return fail("a host already serves " + dir.string() + " at " + host::base_url(*running) +
                "; stop it first with 'studyhub-sandbox host --stop'");

  // SIGINT/SIGTERM are taken by one thread that stops the service; serving threads never see them.
  sigset_t signals = block_stop_signals();

  uint16_t port = o.port.value_or(running ? running->port : 0);
  auto started = host::StaticHost::start({.state_dir = dir, .address = o.listen, .port = port, .threads = 0});
  if (!started && o.port) return fail(started.error().message);
  if (!started) started = host::StaticHost::start({.state_dir = dir, .address = o.listen, .port = 0, .threads = 0});
  if (!started) return fail(started.error().message);
  auto& server = *started.value();
  host::HostRecord record{static_cast<int>(::getpid()), server.port(), o.listen};
  if (!host::write_host_record(dir, record)) return fail("cannot write " + (dir / "host.json").string());
  if (!o.background)
    std::cout << "serving " << (dir / "sites").string() << " at " << host::base_url(record)
              << "/s/<name>/ (Ctrl-C to stop)\n" << std::flush;
  log::info("host listening on " + host::base_url(record));

  std::thread waiter([&] {
    wait_stop_signal(signals);
    server.stop();
  });
  server.run();  // host.json stays behind on purpose: the next host reuses its port
  pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter when run() ended on its own
  waiter.join();
  return 0;
}

}  // namespace studyhub::cli
