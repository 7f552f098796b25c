// Real HTTP over loopback for tests (libcurl).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace studyhub::testing {

struct HttpResponse {
  long status = 0;  // 0: no connection
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

HttpResponse http_get(const std::string& url, const std::vector<std::string>& request_headers = {},
                      const std::string& method = "GET");

// Any method, with a body (sent as is) and headers.
HttpResponse http_request(const std::string& method, const std::string& url, const std::vector<std::string>& request_headers,
                          const std::string& body);

// Every src="…" and href="…" in an HTML page that is not absolute (http:, data:, #…).
std::vector<std::string> local_references(const std::string& html);

}  // namespace studyhub::testing
