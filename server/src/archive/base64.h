// Base64 as the code-runner contract uses it (OpenSSL's codec: fast, and tolerant of the line
// breaks `base64` inserts unless told -w0).
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace studyhub::archive {

Result<std::string> decode_base64(std::string_view text);
std::string encode_base64(std::string_view bytes);

}  // namespace studyhub::archive
