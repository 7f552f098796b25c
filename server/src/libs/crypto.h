// OpenSSL's libcrypto, loaded on first use: see libs/loader.h. Include this instead of the library's header.
#pragma once

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "libs/loader.h"

// Every function of the library this program calls.
#define STUDYHUB_CRYPTO_FUNCTIONS(X) \
  X(CRYPTO_memcmp) \
  X(EVP_DecodeFinal) \
  X(EVP_DecodeInit) \
  X(EVP_DecodeUpdate) \
  X(EVP_Digest) \
  X(EVP_ENCODE_CTX_free) \
  X(EVP_ENCODE_CTX_new) \
  X(EVP_EncodeBlock) \
  X(EVP_sha256)

namespace studyhub::libs {

struct Crypto {
  STUDYHUB_CRYPTO_FUNCTIONS(STUDYHUB_LIBS_MEMBER)
};

const Crypto& crypto();  // loads the library the first time

}  // namespace studyhub::libs

// From here on each name is a call through the table (names the library's header made macros,
// as libcurl does to check argument counts, are replaced).
#ifndef STUDYHUB_LIBS_TABLE_ONLY
#undef CRYPTO_memcmp
#define CRYPTO_memcmp (::studyhub::libs::crypto().CRYPTO_memcmp)
#undef EVP_DecodeFinal
#define EVP_DecodeFinal (::studyhub::libs::crypto().EVP_DecodeFinal)
#undef EVP_DecodeInit
#define EVP_DecodeInit (::studyhub::libs::crypto().EVP_DecodeInit)
#undef EVP_DecodeUpdate
#define EVP_DecodeUpdate (::studyhub::libs::crypto().EVP_DecodeUpdate)
#undef EVP_Digest
#define EVP_Digest (::studyhub::libs::crypto().EVP_Digest)
#undef EVP_ENCODE_CTX_free
#define EVP_ENCODE_CTX_free (::studyhub::libs::crypto().EVP_ENCODE_CTX_free)
#undef EVP_ENCODE_CTX_new
#define EVP_ENCODE_CTX_new (::studyhub::libs::crypto().EVP_ENCODE_CTX_new)
#undef EVP_EncodeBlock
#define EVP_EncodeBlock (::studyhub::libs::crypto().EVP_EncodeBlock)
#undef EVP_sha256
#define EVP_sha256 (::studyhub::libs::crypto().EVP_sha256)
#endif  // STUDYHUB_LIBS_TABLE_ONLY
