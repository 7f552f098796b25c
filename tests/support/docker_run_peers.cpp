#include "support/docker_run_peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <stdexcept>

#include "support/rpc_client.h"

namespace studyhub::testing {

RunnerProcess::RunnerProcess(const std::string& state_dir, const std::string& token, std::vector<std::string> flags,
                             std::map<std::string, std::string> env)
    : child_([&] {
        std::vector<std::string> argv{binary_path(), "runner", "--port", "0"};
        argv.insert(argv.end(), flags.begin(), flags.end());
        return argv;
      }(),
             [&] {
               env["STUDYHUB_SANDBOX_HOME"] = state_dir;
               if (!token.empty()) env["STUDYHUB_SANDBOX_TOKEN"] = token;
               return env;
             }()) {
  std::string out;
  static const std::regex listening(R"(runner listening on (http://127\.0\.0\.1:\d+))");
  std::smatch m;
  for (int i = 0; i < 100 && !std::regex_search(out, m, listening); ++i) {
    out += child_.read_stdout(std::chrono::milliseconds(100));
    if (child_.stdout_eof()) break;
  }
  if (!std::regex_search(out, m, listening))
    throw std::runtime_error("the runner did not start: " + out + child_.stderr_text());
  url_ = m[1];
}

RunnerProcess::~RunnerProcess() {
  ::kill(child_.pid(), SIGTERM);
  child_.wait(std::chrono::seconds(10));
}

std::string RunnerProcess::log() {
  log_ += child_.stderr_text();
  return log_;
}

std::string http_response(int status, const std::string& body, const std::string& extra_headers) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body;
}

FaultPeer::FaultPeer(std::function<PeerReply(int, const std::string&)> script) : script_(std::move(script)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("the fault peer cannot listen");
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FaultPeer::~FaultPeer() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  thread_.join();
  ::close(listen_fd_);
}

std::vector<std::string> FaultPeer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void FaultPeer::serve() {
  for (int n = 0; !stopping_; ++n) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      --n;
      continue;
    }
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    // The whole request: headers, then Content-Length bytes of body.
    std::string request;
    char buf[65536];
    size_t body_at = std::string::npos, need = 0;
    while (body_at == std::string::npos || request.size() < body_at + need) {
      pollfd r{fd, POLLIN, 0};
      if (::poll(&r, 1, 5000) <= 0) break;
      ssize_t got = ::read(fd, buf, sizeof buf);
      if (got <= 0) break;
      request.append(buf, static_cast<size_t>(got));
      if (body_at == std::string::npos && (body_at = request.find("\r\n\r\n")) != std::string::npos) {
        body_at += 4;
        std::smatch m;
        std::string head = request.substr(0, body_at);
        if (std::regex_search(head, m, std::regex("content-length: *(\\d+)", std::regex::icase))) need = std::stoul(m[1]);
      }
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    PeerReply reply = script_(n, request);
    for (size_t sent = 0; sent < reply.bytes.size();) {
      ssize_t w = ::write(fd, reply.bytes.data() + sent, reply.bytes.size() - sent);
      if (w <= 0) break;
      sent += static_cast<size_t>(w);
    }
    if (reply.after == PeerReply::After::reset) {
      linger l{1, 0};  // close with RST
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    } else if (reply.after == PeerReply::After::stall) {
      // Hold the connection until the client gives up or the peer is torn down.
      while (!stopping_) {
        pollfd r{fd, POLLIN, 0};
        if (::poll(&r, 1, 100) > 0 && ::read(fd, buf, sizeof buf) <= 0) break;
      }
    }
    ::close(fd);
  }
}

}  // namespace studyhub::testing
