// Dynamic routes beside the static files of a host: the hub's /v1/ API runs on the same listener
// and port as the sites it publishes. The host reads a request's header, asks the handler whether
// the path is its own and how large a body it takes, reads the body, and hands the request over
// with an Exchange: the way back to that connection, usable later and from any thread (the
// handler runs blocking database work off the I/O threads).
#pragma once

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared under C++20
#include <boost/beast/http.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace studyhub::host {

using ApiRequest = boost::beast::http::request<boost::beast::http::string_body>;
using ApiResponse = boost::beast::http::response<boost::beast::http::string_body>;

class Exchange {
 public:
  virtual ~Exchange() = default;
  // A whole response; the connection then reads its next request (or closes).
  virtual void respond(ApiResponse response) = 0;
  // A streamed response (chunked): the header, then chunks, then the end. Each call blocks until
  // its bytes are written and answers false once the client has gone.
  virtual bool begin_stream(boost::beast::http::response<boost::beast::http::empty_body> header) = 0;
  virtual bool write_chunk(std::string data) = 0;
  virtual void end_stream() = 0;
  // The peer's address, for logs.
  virtual std::string peer() const = 0;
};

class ApiHandler {
 public:
  virtual ~ApiHandler() = default;
  // Whether this handler serves the path (the static files are served otherwise).
  virtual bool owns(std::string_view path) const = 0;
  // The largest body accepted for this request; a larger one is answered with 413 by `too_large`.
  virtual uint64_t body_limit(const ApiRequest& header) const = 0;
  virtual ApiResponse too_large(const ApiRequest& header) const = 0;
  virtual void handle(ApiRequest request, std::shared_ptr<Exchange> exchange) = 0;
};

}  // namespace studyhub::host
