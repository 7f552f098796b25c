#define STUDYHUB_LIBS_TABLE_ONLY  // the names stay the library's own here, for dlsym
#include "libs/crypto.h"

namespace studyhub::libs {

STUDYHUB_LIBS_DEFINE_LOADER(Crypto, crypto, STUDYHUB_SONAME_CRYPTO, "libssl3", STUDYHUB_CRYPTO_FUNCTIONS)

}  // namespace studyhub::libs
