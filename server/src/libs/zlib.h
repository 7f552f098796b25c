// zlib, loaded on first use: see libs/loader.h. Include this instead of the library's header.
#pragma once

#include <zlib.h>

#include "libs/loader.h"

// Every function of the library this program calls.
#define STUDYHUB_ZLIB_FUNCTIONS(X) \
  X(inflateInit2_) \
  X(inflate) \
  X(inflateReset) \
  X(inflateEnd)

namespace studyhub::libs {

struct Zlib {
  STUDYHUB_ZLIB_FUNCTIONS(STUDYHUB_LIBS_MEMBER)
};

const Zlib& zlib();  // loads the library the first time

}  // namespace studyhub::libs

// From here on each name is a call through the table (names the library's header made macros,
// as libcurl does to check argument counts, are replaced).
#ifndef STUDYHUB_LIBS_TABLE_ONLY
#undef inflateInit2_
#define inflateInit2_ (::studyhub::libs::zlib().inflateInit2_)
#undef inflate
#define inflate (::studyhub::libs::zlib().inflate)
#undef inflateReset
#define inflateReset (::studyhub::libs::zlib().inflateReset)
#undef inflateEnd
#define inflateEnd (::studyhub::libs::zlib().inflateEnd)
#endif  // STUDYHUB_LIBS_TABLE_ONLY
