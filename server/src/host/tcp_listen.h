// Binding a listening socket with an error a user can act on; shared by the static host and the
// runner service.
#pragma once

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared under C++20
#include <boost/asio/ip/tcp.hpp>
#include <string>

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

}  // namespace studyhub::host
