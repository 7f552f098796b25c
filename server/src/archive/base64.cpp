#include "archive/base64.h"

#include "libs/crypto.h"

#include <memory>

namespace studyhub::archive {

Result<std::string> decode_base64(std::string_view text) {
  auto free_ctx = [](EVP_ENCODE_CTX* c) { EVP_ENCODE_CTX_free(c); };
  std::unique_ptr<EVP_ENCODE_CTX, decltype(free_ctx)> ctx(EVP_ENCODE_CTX_new(), free_ctx);
  if (!ctx) return Error{"out of memory while decoding the build output"};
  EVP_DecodeInit(ctx.get());
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t written = 0;
  constexpr size_t kChunk = 1 << 20;  // EVP takes int lengths
  for (size_t at = 0; at < text.size(); at += kChunk) {
    int n = 0;
    int chunk = static_cast<int>(std::min(kChunk, text.size() - at));
    if (EVP_DecodeUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data() + written), &n,
                         reinterpret_cast<const unsigned char*>(text.data() + at), chunk) < 0)
      return Error{"the build output is not base64 (as the code-runner contract requires)"};
    written += static_cast<size_t>(n);
  }
  int n = 0;
  if (EVP_DecodeFinal(ctx.get(), reinterpret_cast<unsigned char*>(out.data() + written), &n) < 0)
    return Error{"the build output is not complete base64; it may have been cut off"};
  written += static_cast<size_t>(n);
  out.resize(written);
  return out;
}

std::string encode_base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace studyhub::archive
