#define STUDYHUB_LIBS_TABLE_ONLY  // the names stay the library's own here, for dlsym
#include "libs/git2.h"

// Debian's libgit2 is built with mbedTLS, and git_libgit2_init() parses every certificate of
// /etc/ssl/certs/ca-certificates.crt for HTTPS remotes (~9 ms, most of a one-file snapshot's
// extra time over git's). This program never lets libgit2 reach the network (HTTP goes through
// libcurl), so the executable exports this definition (server/exports.list) and libgit2 binds
// its call to it: no certificates are loaded, and a TLS connection libgit2 might ever open would
// trust nothing and fail, never the reverse. Only the executable exports it; test binaries keep
// the library's own.
extern "C" __attribute__((visibility("default"))) int mbedtls_x509_crt_parse_file(void* /*chain*/,
                                                                                  const char* /*path*/) {
  return 0;
}

namespace studyhub::libs {

STUDYHUB_LIBS_DEFINE_LOADER(Git2, git2, STUDYHUB_SONAME_GIT2, "libgit2-1.5", STUDYHUB_GIT2_FUNCTIONS)

}  // namespace studyhub::libs
