#define STUDYHUB_LIBS_TABLE_ONLY  // the names stay the library's own here, for dlsym
#include "libs/archive.h"

namespace studyhub::libs {

STUDYHUB_LIBS_DEFINE_LOADER(Archive, archive, STUDYHUB_SONAME_ARCHIVE, "libarchive13", STUDYHUB_ARCHIVE_FUNCTIONS)

}  // namespace studyhub::libs
