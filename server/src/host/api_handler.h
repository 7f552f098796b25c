// Dynamic routes beside the static files of a host: the hub's /v1/ API runs on the same listener
// and port as the sites it publishes. The host reads a request's header, asks the handler whether
// the path is its own and whether and where it takes the body (Admission), reads the body into
// memory or a file, and hands the request over
// with an Exchange: the way back to that connection, usable later and from any thread (the
// handler runs blocking database work off the I/O threads).
#pragma once

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared under C++20
#include <boost/beast/http.hpp>
#include <any>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
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
  // Whether the client has closed its end (a stream noticed gone before its next write).
  virtual bool peer_closed() const = 0;
};

// What a handler decides from a request's header alone, before a byte of its body is read: an
// anonymous 50 MiB upload is refused without costing the host 50 MiB.
struct Admission {
  std::optional<ApiResponse> refusal;  // answered at once, the body never read, the connection closed
  uint64_t body_limit = 0;             // a larger body is answered by ApiHandler::too_large
  std::filesystem::path spool_file;    // set: the body is streamed into this new file, not kept in memory
  std::any context;                    // the handler's own (who is asking), handed back with the request
};

class ApiHandler {
 public:
  virtual ~ApiHandler() = default;
  // Whether this handler serves the path (the static files are served otherwise).
  virtual bool owns(std::string_view path) const = 0;
  // Decides on the header (checking a token may wait on a database: off the I/O thread). `decide`
  // may be called from any thread, exactly once.
  virtual void admit(const ApiRequest& header, std::function<void(Admission)> decide) = 0;
  virtual ApiResponse too_large(const ApiRequest& header) const = 0;
  // The whole request (its body empty when it was spooled to admitted.spool_file).
  virtual void handle(ApiRequest request, Admission admitted, std::shared_ptr<Exchange> exchange) = 0;
};

}  // namespace studyhub::host
