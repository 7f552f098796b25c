#define STUDYHUB_LIBS_TABLE_ONLY  // the names stay the library's own here, for dlsym
#include "libs/zlib.h"

namespace studyhub::libs {

STUDYHUB_LIBS_DEFINE_LOADER(Zlib, zlib, STUDYHUB_SONAME_ZLIB, "zlib1g", STUDYHUB_ZLIB_FUNCTIONS)

}  // namespace studyhub::libs
