// Small text helpers shared by the components: sizes for messages, and walking lines.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace studyhub {

// "512 B", "3.0 KB", "2.1 MB" (decimal units, as people read them in messages).
inline std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KB", "MB", "GB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 3) v /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// Calls fn with each line of text, without its '\n'; a last line without one counts too.
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  for (size_t start = 0; start < text.size();) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    fn(text.substr(start, nl - start));
    start = nl + 1;
  }
}

// The non-empty items of a `sep`-separated list, spaces around each trimmed ("a, b,,c").
inline std::vector<std::string> split_list(std::string_view text, char sep) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find(sep, start);
    std::string_view item = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace studyhub
