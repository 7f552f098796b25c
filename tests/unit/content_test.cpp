#include "snapshot/content.h"

#include <doctest/doctest.h>

#include <string>

using studyhub::snapshot::is_binary;

static bool bin(const std::string& s) { return is_binary(s.data(), s.size()); }

TEST_CASE("text is valid UTF-8 without NUL") {
  CHECK_FALSE(bin(""));
  CHECK_FALSE(bin("plain ascii\n"));
  CHECK_FALSE(bin("ünïcødé ✓ 𝄞"));
  CHECK(bin(std::string("a\0b", 3)));
  CHECK(bin("\x89PNG\r\n\x1a\n"));
  CHECK(bin("caf\xe9"));          // Latin-1
  CHECK(bin("\xc0\xaf"));         // overlong
  CHECK(bin("\xed\xa0\x80"));     // surrogate
  CHECK(bin("\xf4\x90\x80\x80")); // past U+10FFFF
  CHECK(bin("\xe2\x9c"));         // cut short
}
