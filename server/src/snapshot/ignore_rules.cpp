#include "snapshot/ignore_rules.h"

#include <fnmatch.h>

#include <array>

namespace studyhub::snapshot {
namespace {

// Files that usually hold credentials; a settings "include" entry opts one back in.
constexpr std::array<const char*, 10> kSecretPatterns{
    ".env", ".env.*", "*.pem", "*.key", "*.p12", "*.pfx", "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*"};

std::string escape_glob(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '*' || c == '?' || c == '[') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// libgit2 drops a negation without wildcards unless it undoes a rule of its own file (git does
// not). An opt-in must always win, so give it a one-character bracket: same meaning, kept.
std::string with_wildcard(std::string pattern) {
  if (pattern.find_first_of("*?[") != std::string::npos) return pattern;
  size_t last = pattern.find_last_not_of('/');
  if (last == std::string::npos || (last > 0 && pattern[last - 1] == '\\')) return pattern;
  return pattern.substr(0, last) + "[" + pattern[last] + "]" + pattern.substr(last + 1);
}

}  // namespace

std::optional<std::string> builtin_reason(std::string_view path) {
  bool directory = !path.empty() && path.back() == '/';
  if (directory) path.remove_suffix(1);
  auto slash = path.rfind('/');
  std::string name(slash == std::string_view::npos ? path : path.substr(slash + 1));
  if (directory) return name == "node_modules" ? std::optional<std::string>("node_modules") : std::nullopt;
  for (const char* pattern : kSecretPatterns)
    if (::fnmatch(pattern, name.c_str(), 0) == 0) return "secret";
  return std::nullopt;
}

std::string builtin_rules(const std::vector<std::string>& include) {
  std::string text = "node_modules/\n";
  for (const char* pattern : kSecretPatterns) text.append(pattern).append("\n");
  for (const auto& pattern : include) text.append("!").append(with_wildcard(pattern)).append("\n");
  return text;
}

std::string rebase_rules(std::string_view text, std::string_view prefix) {
  std::string out;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;

    bool negated = line.front() == '!';
    if (negated) line.remove_prefix(1);
    if (line.empty()) continue;
    // A slash at the start or in the middle anchors the pattern to the file's folder.
    std::string_view body = line;
    std::string_view without_trailing = body.back() == '/' ? body.substr(0, body.size() - 1) : body;
    bool anchored = without_trailing.find('/') != std::string_view::npos;
    if (!body.empty() && body.front() == '/') body.remove_prefix(1);
    if (body.empty() || body == "/") continue;

    if (negated) out.push_back('!');
    if (prefix.empty()) {
      if (anchored) out.push_back('/');
    } else {
      out.append("/").append(escape_glob(prefix)).append("/");
      if (!anchored) out.append("**/");
    }
    out.append(body).append("\n");
  }
  return out;
}

}  // namespace studyhub::snapshot
