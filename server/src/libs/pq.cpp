#define STUDYHUB_LIBS_TABLE_ONLY  // the names stay the library's own here, for dlsym
#include "libs/pq.h"

namespace studyhub::libs {

STUDYHUB_LIBS_DEFINE_LOADER(Pq, pq, STUDYHUB_SONAME_PQ, "libpq5", STUDYHUB_PQ_FUNCTIONS)

}  // namespace studyhub::libs
