#include "support/cut_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace studyhub::testing {

CutProxy::CutProxy(int target_port, std::string match, size_t after_bytes, int cuts)
    : target_port_(target_port), match_(std::move(match)), after_(after_bytes), left_(cuts) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error("proxy: cannot listen");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { accept_loop(); });
}

CutProxy::~CutProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  thread_.join();
  for (auto& t : relays_) t.join();
}

void CutProxy::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    relays_.emplace_back([this, client] { relay(client); });
  }
}

void CutProxy::relay(int client) {
  int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(target_port_));
  if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(client);
    ::close(server);
    return;
  }
  bool cutting = false, decided = false;
  size_t relayed = 0;
  std::string first;
  char buf[16384];
  pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
  while (!stopping_) {
    if (::poll(fds, 2, 100) <= 0) continue;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(client, buf, sizeof buf);
      if (n <= 0) break;
      if (!decided) {
        first.append(buf, static_cast<size_t>(n));
        auto eol = first.find("\r\n");
        if (eol != std::string::npos) {
          decided = true;
          cutting = first.substr(0, eol).find(match_) != std::string::npos && left_-- > 0;
        }
      }
      if (::send(server, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(server, buf, sizeof buf);
      if (n <= 0) break;
      size_t send = static_cast<size_t>(n);
      if (cutting && relayed + send >= after_) {
        ::send(client, buf, after_ - relayed, MSG_NOSIGNAL);
        linger l{1, 0};  // a reset, not a clean end
        ::setsockopt(client, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ++made_;
        break;
      }
      relayed += send;
      if (::send(client, buf, send, MSG_NOSIGNAL) != n) break;
    }
  }
  ::close(client);
  ::close(server);
}

}  // namespace studyhub::testing
