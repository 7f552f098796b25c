// The static host's request target → file mapping: no input maps outside the sites layout.
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "host/resolve.h"

using namespace studyhub::host;
namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view target(reinterpret_cast<const char*>(data), size);
  const fs::path state = "/state";
  Target t = resolve_target(target, state);
  (void)percent_decode(target);
  if (t.kind != Target::Kind::file) return 0;
  FUZZ_CHECK(t.root.starts_with("/state/sites/") || t.root.starts_with("/state/versions/"), "root in the layout");
  std::string_view name = std::string_view(t.root).substr(t.root.find('/', 7) + 1);
  FUZZ_CHECK(!name.empty() && name.find('/') == std::string_view::npos && name != "." && name != "..",
             "one folder level under sites/ or versions/");
  FUZZ_CHECK(t.relative.find('\0') == std::string::npos, "no NUL");
  FUZZ_CHECK(t.relative.empty() || (t.relative.front() != '/' && t.relative.back() != '/'), "relative, no empty part");
  size_t start = 0;
  while (start <= t.relative.size() && !t.relative.empty()) {
    size_t slash = t.relative.find('/', start);
    std::string_view part = std::string_view(t.relative).substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    FUZZ_CHECK(!part.empty() && part != "." && part != "..", "no empty, . or .. part");
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  fs::path joined = (fs::path(t.root) / t.relative).lexically_normal();
  auto rel = joined.lexically_relative(t.root);
  FUZZ_CHECK(rel.empty() || *rel.begin() != "..", "the file is under its site");
  return 0;
}
