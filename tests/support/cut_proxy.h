// A TCP proxy on loopback in front of a real server, for the one fault a real peer does not make on
// demand: a connection cut in the middle of a response. Requests pass through untouched; the
// first `cuts` responses to requests whose first line contains `match` are cut after
// `after_bytes` bytes (the client sees a connection reset mid-stream).
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace studyhub::testing {

class CutProxy {
 public:
  CutProxy(int target_port, std::string match, size_t after_bytes, int cuts = 1);
  ~CutProxy();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int cuts_made() const { return made_; }

 private:
  void accept_loop();
  void relay(int client);
  int target_port_, listen_fd_ = -1, port_ = 0;
  std::string match_;
  size_t after_;
  std::atomic<int> left_, made_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::vector<std::thread> relays_;
};

}  // namespace studyhub::testing
