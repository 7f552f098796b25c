#include "core/state_dir.h"

#include "core/env.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <system_error>

namespace studyhub {
namespace fs = std::filesystem;

Result<fs::path> resolve_state_dir() {
  if (auto home = env_value("STUDYHUB_SANDBOX_HOME")) return fs::absolute(*home);
  if (auto xdg = env_value("XDG_STATE_HOME")) return fs::absolute(*xdg) / "studyhub-sandbox";
  if (auto home = env_value("HOME")) return fs::path(*home) / ".local" / "state" / "studyhub-sandbox";
  return Error{"cannot find a state directory: neither STUDYHUB_SANDBOX_HOME, XDG_STATE_HOME nor HOME is set; set STUDYHUB_SANDBOX_HOME to a writable directory"};
}

Result<fs::path> ensure_state_dir() {
  auto dir = resolve_state_dir();
  if (!dir) return dir;
  std::error_code ec;
  const std::string name = dir.value().string();
  bool existed = fs::exists(dir.value(), ec);
  fs::create_directories(dir.value(), ec);
  if (ec)
    return Error{"cannot create the state directory " + name + ": " + ec.message() +
                 "; set STUDYHUB_SANDBOX_HOME to a writable directory"};
  if (!existed) ::chmod(name.c_str(), 0700);
  struct stat st {};
  if (::stat(name.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Error{"the state directory " + name + " is not a directory; set STUDYHUB_SANDBOX_HOME to another one"};
  if (st.st_uid != ::geteuid())
    return Error{"the state directory " + name + " belongs to another user; set STUDYHUB_SANDBOX_HOME to a directory of your own"};
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return Error{"the state directory " + name + " is writable by other users, who could replace what it publishes; run 'chmod 700 " +
                 name + "' or set STUDYHUB_SANDBOX_HOME to a private directory"};
  for (const char* sub : kStateSubdirs) {
    struct stat sub_st {};
    if (::lstat((dir.value() / sub).c_str(), &sub_st) != 0) continue;  // created when first needed
    if (!S_ISDIR(sub_st.st_mode))
      return Error{(dir.value() / sub).string() + " is a link or a file where studyhub-sandbox keeps a folder, which could redirect its writes; remove it"};
  }
  return dir;
}

}  // namespace studyhub
