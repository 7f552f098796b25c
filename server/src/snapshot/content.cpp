#include "snapshot/content.h"

#include <cstdint>

namespace studyhub::snapshot {

bool is_binary(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  const uint8_t* end = p + size;
  while (p < end) {
    uint8_t c = *p;
    if (c < 0x80) {
      if (c == 0) return true;
      ++p;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
    else return true;
    if (static_cast<size_t>(end - p) <= n) return true;
    for (size_t i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return true;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return true;
    p += n + 1;
  }
  return false;
}

}  // namespace studyhub::snapshot
