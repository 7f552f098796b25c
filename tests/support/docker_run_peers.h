// The two docker-run peers the client is tested against over loopback HTTP: the real
// `studyhub-sandbox runner` as a child process, and a fault-injecting stand-in for what a real
// service cannot be made to do on demand (cut a body, reset, stall, answer garbage).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.h"

namespace studyhub::testing {

class RunnerProcess {
 public:
  // `studyhub-sandbox runner --port 0 [flags]` with its own state directory and the token.
  RunnerProcess(const std::string& state_dir, const std::string& token, std::vector<std::string> flags = {},
                std::map<std::string, std::string> env = {});
  ~RunnerProcess();  // SIGTERM (stops running builds), then waits
  const std::string& url() const { return url_; }
  int pid() const { return child_.pid(); }
  std::string log();  // its stderr so far: one access-log line per request

 private:
  ChildProcess child_;
  std::string url_;
  std::string log_;
};

struct PeerReply {
  std::string bytes;  // written as they are (status line, headers, body)
  enum class After { close, reset, stall } after = After::close;
};

class FaultPeer {
 public:
  // `script(n, request)` answers the n-th request (0-based); request holds its headers and body.
  explicit FaultPeer(std::function<PeerReply(int n, const std::string& request)> script);
  ~FaultPeer();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() const;

 private:
  void serve();
  std::function<PeerReply(int, const std::string&)> script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

// An HTTP response with a body and Content-Length.
std::string http_response(int status, const std::string& body, const std::string& extra_headers = "");

}  // namespace studyhub::testing
