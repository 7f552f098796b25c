#include "core/relpath.h"

namespace studyhub::relpath {

std::vector<std::string_view> parts(std::string_view path) {
  std::vector<std::string_view> out;
  for (size_t start = 0; start <= path.size();) {
    size_t slash = path.find('/', start);
    std::string_view part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!part.empty()) out.push_back(part);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool has_part(std::string_view path, std::string_view name) {
  for (auto part : parts(path))
    if (part == name) return true;
  return false;
}

std::string problem(std::string_view path) {
  if (path.empty()) return "is empty";
  if (path.size() > kMaxPathBytes) return "is longer than " + std::to_string(kMaxPathBytes) + " bytes";
  if (path.front() == '/') return "is absolute";
  if (path.find('\0') != std::string_view::npos) return "holds a NUL byte";
  if (path.find('\\') != std::string_view::npos) return "holds a backslash";
  if (path.find_first_of("\r\n") != std::string_view::npos) return "holds a line break";
  if (path.back() == '/' || path.find("//") != std::string_view::npos) return "has an empty part";
  for (auto part : parts(path))
    if (part == "." || part == "..") return "has a '" + std::string(part) + "' part";
  return {};
}

std::optional<std::string> normalise(std::string_view path) {
  if (!path.empty() && path.front() == '/') return std::nullopt;
  if (path.find('\0') != std::string_view::npos || path.find('\\') != std::string_view::npos) return std::nullopt;
  std::string out;
  for (auto part : parts(path)) {
    if (part == ".") continue;
    if (part == "..") return std::nullopt;
    if (!out.empty()) out.push_back('/');
    out.append(part);
  }
  return out;
}

std::string Resolution::why() const {
  switch (outcome) {
    case Outcome::inside: return "stays inside";
    case Outcome::escapes: return "points outside the site";
    case Outcome::absolute: return "points outside the site (to an absolute path)";
    case Outcome::too_many_hops: return "takes more than " + std::to_string(kMaxLinkHops) + " link hops (a loop?)";
    case Outcome::invalid: return "has an empty or invalid target";
  }
  return {};
}

namespace {

std::string joined(const std::vector<std::string>& done) {
  std::string out;
  for (const auto& p : done) out += (out.empty() ? "" : "/") + p;
  return out;
}

// Pushes the parts of `path` on the stack so that its first part is on top.
void push_parts(std::vector<std::string>& todo, std::string_view path) {
  auto ps = parts(path);
  for (auto it = ps.rbegin(); it != ps.rend(); ++it) todo.emplace_back(*it);
}

}  // namespace

Resolution resolve(const LinkTree& tree, std::string_view path, int max_hops) {
  Resolution r;
  if (!path.empty() && path.front() == '/') return {Resolution::Outcome::absolute, {}};
  std::vector<std::string> todo, done;  // parts still to walk (top first); parts resolved to real folders
  push_parts(todo, path);
  int hops = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      if (done.empty()) return {Resolution::Outcome::escapes, {}};
      done.pop_back();
      continue;
    }
    done.push_back(std::move(part));
    auto it = tree.find(joined(done));
    if (it == tree.end() || it->second.kind != Entry::Kind::link) continue;
    // A link: its target replaces it, read from the link's own folder.
    done.pop_back();
    const std::string& target = it->second.target;
    if (++hops > max_hops) return {Resolution::Outcome::too_many_hops, {}};
    if (target.empty() || target.find('\0') != std::string::npos) return {Resolution::Outcome::invalid, {}};
    if (target.front() == '/') return {Resolution::Outcome::absolute, {}};
    push_parts(todo, target);
  }
  r.path = joined(done);
  return r;
}

std::optional<BadLink> first_escaping_link(const LinkTree& tree, int max_hops) {
  for (const auto& [path, entry] : tree) {
    if (entry.kind != Entry::Kind::link) continue;
    Resolution r = resolve(tree, path, max_hops);
    if (r.outcome != Resolution::Outcome::inside) return BadLink{path, r};
  }
  return std::nullopt;
}

}  // namespace studyhub::relpath
