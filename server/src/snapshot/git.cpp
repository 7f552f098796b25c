#include "snapshot/git.h"

#include <mutex>
#include <thread>

namespace studyhub::git {

void init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    for (int level : {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL,
                      GIT_CONFIG_LEVEL_PROGRAMDATA})
      git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, "");
  });
}

void init_in_background() {
  static std::once_flag once;
  std::call_once(once, [] {
    static std::jthread helper([] { init_once(); });  // joined at exit, if still running
  });
}

Error failure(const std::string& what) {
  const git_error* e = git_error_last();
  return Error{what + ": " + (e && e->message ? e->message : "unknown libgit2 error")};
}

std::string hex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

}  // namespace studyhub::git
