#include "host/responses.h"

#include <cctype>
#include <unordered_map>

namespace studyhub::host {

std::string_view mime_type(std::string_view path) {
  auto dot = path.rfind('.');
  auto slash = path.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return "application/octet-stream";
  std::string ext(path.substr(dot + 1));
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::unordered_map<std::string, std::string_view> types{
      {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},   {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
      {"map", "application/json"},          {"txt", "text/plain; charset=utf-8"},
      {"svg", "image/svg+xml"},             {"png", "image/png"},
      {"jpg", "image/jpeg"},                {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},                 {"webp", "image/webp"},
      {"avif", "image/avif"},               {"ico", "image/x-icon"},
      {"woff", "font/woff"},                {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},                  {"otf", "font/otf"},
      {"wasm", "application/wasm"},         {"xml", "application/xml"},
      {"webmanifest", "application/manifest+json"}, {"mp4", "video/mp4"},
      {"webm", "video/webm"},               {"mp3", "audio/mpeg"},
      {"wav", "audio/wav"},                 {"pdf", "application/pdf"}};
  auto it = types.find(ext);
  return it == types.end() ? "application/octet-stream" : it->second;
}

std::string http_date(time_t t) {
  char buf[64];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::optional<std::pair<uint64_t, uint64_t>> parse_range(std::string_view header, uint64_t size) {
  if (!header.starts_with("bytes=") || header.find(',') != std::string_view::npos) return std::nullopt;
  header.remove_prefix(6);
  auto dash = header.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    return std::stoull(std::string(s));
  };
  auto a = num(header.substr(0, dash)), b = num(header.substr(dash + 1));
  if (!a && !b) return std::nullopt;
  uint64_t first, last;
  if (!a) {  // suffix
    if (*b == 0) throw std::range_error("empty suffix");
    first = *b >= size ? 0 : size - *b;
    last = size - 1;
  } else {
    first = *a;
    last = b ? std::min(*b, size - 1) : size - 1;
    if (b && *b < *a) return std::nullopt;
  }
  if (size == 0 || first >= size) throw std::range_error("unsatisfiable");
  return std::pair{first, last};
}

std::string status_line(int status) {
  std::string_view reason;
  switch (status) {
    case 200: reason = "OK"; break;
    case 206: reason = "Partial Content"; break;
    case 301: reason = "Moved Permanently"; break;
    case 304: reason = "Not Modified"; break;
    case 400: reason = "Bad Request"; break;
    case 404: reason = "Not Found"; break;
    case 405: reason = "Method Not Allowed"; break;
    case 413: reason = "Payload Too Large"; break;
    case 416: reason = "Range Not Satisfiable"; break;
    case 431: reason = "Request Header Fields Too Large"; break;
    default: reason = "Internal Server Error"; break;
  }
  std::string line = "HTTP/1.1 " + std::to_string(status) + " ";
  line += reason;
  line += "\r\n";
  line += kCommonFields;
  return line;
}

std::string text_head(int status, std::string_view body, std::string_view extra, std::string_view content_type) {
  std::string head = status_line(status);
  head += "Content-Type: ";
  head += content_type;
  head += "\r\nContent-Length: ";
  head += std::to_string(body.size());
  head += "\r\n";
  head += extra;
  return head;
}

}  // namespace studyhub::host
