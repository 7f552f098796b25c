#include "core/state_dir.h"

#include <sys/stat.h>

#include <cstdlib>
#include <system_error>

namespace studyhub {
namespace fs = std::filesystem;

namespace {
const char* non_empty_env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}
}  // namespace

Result<fs::path> resolve_state_dir() {
  if (const char* home = non_empty_env("STUDYHUB_SANDBOX_HOME")) return fs::absolute(home);
  if (const char* xdg = non_empty_env("XDG_STATE_HOME")) return fs::absolute(xdg) / "studyhub-sandbox";
  if (const char* home = non_empty_env("HOME"))
    return fs::path(home) / ".local" / "state" / "studyhub-sandbox";
  return Error{"cannot find a state directory: neither STUDYHUB_SANDBOX_HOME, XDG_STATE_HOME nor HOME is set; set STUDYHUB_SANDBOX_HOME to a writable directory"};
}

Result<fs::path> ensure_state_dir() {
  auto dir = resolve_state_dir();
  if (!dir) return dir;
  std::error_code ec;
  fs::create_directories(dir.value(), ec);
  if (ec)
    return Error{"cannot create the state directory " + dir.value().string() + ": " + ec.message() +
                 "; set STUDYHUB_SANDBOX_HOME to a writable directory"};
  ::chmod(dir.value().c_str(), 0700);
  return dir;
}

}  // namespace studyhub
