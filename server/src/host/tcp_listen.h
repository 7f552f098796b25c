// Listening and accepting, shared by the static host and the runner service: binding with an error
// a user can act on, an accept loop that starts one session per connection on its own strand, and
// running the io_context on several threads.
#pragma once

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared under C++20
#include <boost/asio.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"

namespace studyhub::host {

inline Status listen_on(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address, uint16_t port,
                        const std::string& port_hint) {
  namespace net = boost::asio;
  boost::system::error_code ec;
  auto ip = net::ip::make_address(address, ec);
  if (ec) return Error{"'" + address + "' is not an IP address to listen on"};
  net::ip::tcp::endpoint endpoint{ip, port};
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Error{"cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message() + "; " + port_hint};
  return ok_status();
}

// Accepts until the acceptor closes; each connection becomes Session(socket, shared)->start().
template <class Session, class Shared>
void accept_sessions(boost::asio::ip::tcp::acceptor& acceptor, boost::asio::io_context& ioc,
                     std::shared_ptr<Shared> shared) {
  namespace net = boost::asio;
  acceptor.async_accept(net::make_strand(ioc), [&acceptor, &ioc, shared](boost::system::error_code ec,
                                                                         net::ip::tcp::socket socket) {
    if (!ec) {
      socket.set_option(net::ip::tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(socket), shared)->start();
    }
    if (acceptor.is_open()) accept_sessions<Session>(acceptor, ioc, shared);
  });
}

// Runs the io_context on `threads` threads (this one included) until it stops.
inline void run_on_threads(boost::asio::io_context& ioc, unsigned threads) {
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
}

}  // namespace studyhub::host
