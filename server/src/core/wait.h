// The one cancellable wait of the server: a thread that waits for time to pass wakes at once when
// it is asked to stop (a condition variable tied to the stop token), instead of polling a flag.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace studyhub {

// Waits `how_long`; false when `stop` was requested, before or during the wait.
template <class Rep, class Period>
bool wait_for(std::stop_token stop, std::chrono::duration<Rep, Period> how_long) {
  std::mutex mutex;
  std::condition_variable_any woken;
  std::unique_lock lock(mutex);
  woken.wait_for(lock, stop, how_long, [] { return false; });
  return !stop.stop_requested();
}

// Waits until `stop` is requested.
inline void wait_until_stopped(std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any woken;
  std::unique_lock lock(mutex);
  woken.wait(lock, stop, [] { return false; });
}

}  // namespace studyhub
