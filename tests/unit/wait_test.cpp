// The one cancellable wait: it sleeps its time when nobody stops it, and a stop wakes it at once.
#include "core/wait.h"

#include <doctest/doctest.h>

#include <thread>

using namespace std::chrono_literals;

TEST_CASE("wait_for: the whole time without a stop, woken by a stop long before it") {
  std::stop_source quiet;
  auto started = std::chrono::steady_clock::now();
  CHECK(studyhub::wait_for(quiet.get_token(), 30ms));
  CHECK(std::chrono::steady_clock::now() - started >= 30ms);

  std::stop_source stopping;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(20ms);
    stopping.request_stop();
  });
  started = std::chrono::steady_clock::now();
  CHECK_FALSE(studyhub::wait_for(stopping.get_token(), 60s));
  CHECK(std::chrono::steady_clock::now() - started < 30s);  // woken by the stop, not by the time
  CHECK_FALSE(studyhub::wait_for(stopping.get_token(), 60s));  // already stopped: no wait at all

  std::stop_source later;
  std::jthread stop_later([&] {
    std::this_thread::sleep_for(20ms);
    later.request_stop();
  });
  studyhub::wait_until_stopped(later.get_token());
  CHECK(later.stop_requested());
}
