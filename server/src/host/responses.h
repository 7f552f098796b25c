// The bytes of the static host's answers, written by hand because they are few and hot: a status
// line and header fields for files (built once per cached file), text answers (404, 301 …), and
// the per-second Date line. Parsing requests stays with Beast.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace studyhub::host {

std::string_view mime_type(std::string_view path);

// RFC 9110 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string http_date(time_t t);

// "bytes=a-b" / "bytes=a-" / "bytes=-n": one range, or nullopt to serve the whole file (also for
// several ranges, which are allowed to be answered whole). Throws std::range_error when the range
// cannot be satisfied (416).
std::optional<std::pair<uint64_t, uint64_t>> parse_range(std::string_view header, uint64_t size);

// Fields every answer carries.
inline constexpr std::string_view kCommonFields =
    "Server: studyhub-sandbox\r\nX-Content-Type-Options: nosniff\r\n";
inline constexpr std::string_view kCacheImmutable = "Cache-Control: public, max-age=31536000, immutable\r\n";
inline constexpr std::string_view kCacheRevalidate = "Cache-Control: no-cache\r\n";

std::string status_line(int status);  // "HTTP/1.1 404 Not Found\r\n" + kCommonFields

// A short answer made here (404, 301, the health check …): status line, common fields,
// Content-Type, Content-Length and `extra` (whole header lines).
std::string text_head(int status, std::string_view body, std::string_view extra = {},
                      std::string_view content_type = "text/plain; charset=utf-8");

}  // namespace studyhub::host
