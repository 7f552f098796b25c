#include "host/resolve.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "publish/store.h"

namespace studyhub::host {

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

Target resolve_target(std::string_view target, const std::filesystem::path& state_dir, const Layout& layout) {
  Target t;
  size_t cut = target.find_first_of("?#");
  std::string_view query = cut == std::string_view::npos ? std::string_view{} : target.substr(cut);
  std::string_view path = target.substr(0, cut);
  if (path.empty() || path.front() != '/') {
    t.kind = Target::Kind::bad_request;
    return t;
  }
  if (layout.health && path == "/.studyhub/health") {
    t.kind = Target::Kind::health;
    return t;
  }
  auto decoded = percent_decode(path);
  // Decoded once only: "%252e" stays the literal name "%2e". NUL and backslashes are never names.
  if (!decoded || decoded->find('\0') != std::string::npos || decoded->find('\\') != std::string::npos) {
    t.kind = Target::Kind::bad_request;
    return t;
  }
  std::vector<std::string> parts;
  for (size_t start = 1; start <= decoded->size();) {
    size_t slash = decoded->find('/', start);
    std::string part = decoded->substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part == "..") {
      t.kind = Target::Kind::bad_request;
      return t;
    }
    if (!part.empty() && part != ".") parts.push_back(part);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2) return t;  // not_found
  const std::string& space = parts[0];
  // The segments that name the site: one for /v/<id> and a local /s/<name>, two for the hub's
  // /s/<user>/<name>.
  size_t key_parts = space == "s" ? static_cast<size_t>(std::max(1, layout.site_depth)) : 1;
  if (parts.size() < 1 + key_parts) return t;
  std::string key;
  for (size_t i = 1; i <= key_parts; ++i) {
    if (space == "s" && !publish::is_valid_name(parts[i])) return t;
    key += (i > 1 ? "/" : "") + parts[i];
  }
  if (space == "s") {
    t.root = state_dir.native() + "/sites/" + key;  // string concatenation: this runs per request
  } else if (space == "v" && publish::is_snapshot_id(key)) {
    t.root = state_dir.native() + "/versions/" + key;
    t.immutable = true;
  } else {
    return t;
  }
  t.key = std::move(key);
  t.directory_form = decoded->back() == '/';
  for (size_t i = 1 + key_parts; i < parts.size(); ++i) t.relative += (i > 1 + key_parts ? "/" : "") + parts[i];
  if (parts.size() == 1 + key_parts && !t.directory_form) {
    // /s/name -> /s/name/ so the site's relative asset URLs resolve under it.
    t.kind = Target::Kind::redirect;
    t.location = "/" + space + "/" + t.key + "/" + std::string(query);
    return t;
  }
  t.kind = Target::Kind::file;
  return t;
}

}  // namespace studyhub::host
