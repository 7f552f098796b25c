// SIGINT and SIGTERM for long-running commands (host, runner, hub): blocked in every thread, so
// none is killed mid-write, and taken by one thread with sigwait, which then stops the service.
// Block them before the first thread starts: threads inherit the mask.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace studyhub {

inline sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// Waits for SIGINT or SIGTERM (blocked with block_stop_signals) and answers which.
inline int wait_stop_signal(const sigset_t& signals) {
  int number = 0;
  sigwait(&signals, &number);
  return number;
}

}  // namespace studyhub
