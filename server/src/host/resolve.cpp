#include "host/resolve.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "core/relpath.h"
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
  // Decoded once only: "%252e" stays the literal name "%2e". NUL, backslashes and ".." are never
  // names; "." and empty parts are dropped.
  auto normal = decoded ? relpath::normalise(std::string_view(*decoded).substr(1)) : std::nullopt;
  if (!normal) {
    t.kind = Target::Kind::bad_request;
    return t;
  }
  std::vector<std::string> parts;
  for (auto part : relpath::parts(*normal)) parts.emplace_back(part);
  if (parts.size() < 2) return t;  // not_found
  const std::string& space = parts[0];
  if (space != "s" && space != "v") return t;
  // The segments that name the site or the version: one locally, two on a hub (the user first).
  size_t key_parts = static_cast<size_t>(std::max(1, layout.site_depth));
  if (parts.size() < 1 + key_parts) return t;
  std::string key, url_key;
  for (size_t i = 1; i <= key_parts; ++i) {
    bool last = i == key_parts;
    if (!(space == "v" && last ? publish::is_snapshot_id(parts[i]) : publish::is_valid_name(parts[i]))) return t;
    url_key += (i > 1 ? "/" : "") + parts[i];
  }
  if (space == "s") {
    key = url_key;
    t.root = state_dir.native() + "/sites/" + key;  // string concatenation: this runs per request
  } else {
    key = key_parts == 1 ? parts[1] : publish::version_name(parts[1], parts[2]);
    t.root = state_dir.native() + "/versions/" + key;
    t.immutable = true;
  }
  t.key = std::move(key);
  t.directory_form = decoded->back() == '/';
  for (size_t i = 1 + key_parts; i < parts.size(); ++i) t.relative += (i > 1 + key_parts ? "/" : "") + parts[i];
  if (parts.size() == 1 + key_parts && !t.directory_form) {
    // /s/name -> /s/name/ so the site's relative asset URLs resolve under it.
    t.kind = Target::Kind::redirect;
    t.location = "/" + space + "/" + url_key + "/" + std::string(query);
    return t;
  }
  t.kind = Target::Kind::file;
  return t;
}

}  // namespace studyhub::host
