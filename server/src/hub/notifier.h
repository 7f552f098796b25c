// One LISTEN connection per process, shared by everyone in it who waits for something: idle
// workers (a job became available), event followers (a deployment has new events), running builds
// (a cancel). Waiters also wake on a timeout, so polling remains the fallback when a notification
// is lost or the connection is down; it reconnects by itself, and wakes everyone when it does.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace studyhub::hub {

class Notifier {
 public:
  Notifier(std::string conninfo, std::vector<std::string> channels);
  ~Notifier();  // stops the listening thread

  // A counter per (channel, payload) and per channel, bumped by each notification; waiters remember
  // the count they saw and wait for it to move.
  uint64_t count(const std::string& channel, const std::string& payload = {}) const;
  // Waits until the count moves past `seen`, the timeout passes or stop is requested; returns the
  // count now.
  uint64_t wait(const std::string& channel, const std::string& payload, uint64_t seen,
                std::chrono::milliseconds timeout, std::stop_token stop = {}) const;

  bool connected() const { return connected_; }

 private:
  void listen(std::stop_token stop);
  void bump(const std::string& key);  // with mutex_ held

  std::string conninfo_;
  std::vector<std::string> channels_;
  mutable std::mutex mutex_;
  mutable std::condition_variable_any changed_;
  std::map<std::string, uint64_t> counts_;  // "channel" and "channel\npayload"
  uint64_t epoch_ = 0;                      // bumped on reconnect: every count is stale then
  std::atomic<bool> connected_{false};
  std::jthread thread_;
};

}  // namespace studyhub::hub
