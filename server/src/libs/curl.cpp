#define STUDYHUB_LIBS_TABLE_ONLY  // the names stay the library's own here, for dlsym
#include "libs/curl.h"

namespace studyhub::libs {

STUDYHUB_LIBS_DEFINE_LOADER(Curl, curl, STUDYHUB_SONAME_CURL, "libcurl4", STUDYHUB_CURL_FUNCTIONS)

}  // namespace studyhub::libs
