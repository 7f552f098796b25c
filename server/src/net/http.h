// HTTP for the clients here (docker-run, the hub, the host's liveness check), over libcurl, set up
// the way each of them needs it: no redirect is ever followed (a token must reach no other host),
// no proxy for plain http (a proxy would read the token), a connect timeout, TCP keepalive through
// minutes of silence, and a progress callback that also serves cancellation (libcurl calls it at
// least once a second). Failures of the transport come back classified, so each client can word
// its own one sentence; HTTP statuses are the caller's to interpret.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace studyhub::net {

struct Progress {
  uint64_t upload_now = 0, upload_total = 0, download_now = 0, download_total = 0;
};

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string_view body;             // must outlive the call
  std::chrono::milliseconds timeout{0};  // the whole exchange; 0: none
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  uint64_t max_response_bytes = 64u << 20;
  // A stream that moves no byte for this long is given up (0: never).
  std::chrono::seconds idle_timeout{0};
  // Streaming: each piece of a 2xx answer's body goes here instead of into Response::body (other
  // answers are kept whole); false stops.
  std::function<bool(std::string_view piece)> on_data;
  std::function<void(const Progress&)> on_progress;
  std::stop_token stop;
};

struct Response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, the last value of each
  // Retry-After in seconds (a number, or an HTTP date turned into seconds from now).
  std::optional<int> retry_after() const;
};

enum class Failure {
  cancelled,        // the stop token, or on_data said stop
  refused,          // nothing listens there (no request can have been processed)
  resolve,          // DNS
  connect_timeout,  // no connection within connect_timeout
  timeout,          // connected, but the whole exchange took longer than `timeout`
  tls,              // certificate or handshake
  broken,           // reset, cut short, nothing received: the request may have been processed
  too_large,        // the answer passed max_response_bytes
  other,
};

struct TransportError {
  Failure kind = Failure::other;
  std::string detail;  // libcurl's own words
};

Result<Response, TransportError> perform(const Request& request);

// Several requests at once over libcurl's multi interface (uploads of many blobs): at most
// `parallel` in flight, each answered in `results` at its index; `on_progress` gets the sum of the
// bytes moved so far across all of them.
std::vector<Result<Response, TransportError>> perform_all(const std::vector<Request>& requests, size_t parallel,
                                                          const std::function<void(uint64_t sent)>& on_progress,
                                                          std::stop_token stop);

// The parts of an http(s) URL, as libcurl parses it; nullopt when it is not a URL.
struct UrlParts {
  std::string scheme, host, port, user, password, path;
};
std::optional<UrlParts> parse_url(const std::string& url);
// "host" or "host:port", for messages: never the path, query or credentials; `fallback` when none.
std::string url_host(const std::string& url, const std::string& fallback);
// The local path of a file:// URI (percent-decoded); nullopt for another host or scheme.
std::optional<std::string> file_uri_path(const std::string& uri);

}  // namespace studyhub::net
