// Whether file content can travel as a JSON string: text means valid UTF-8 without NUL bytes.
// Anything else is "binary" and later stages encode it.
#pragma once

#include <cstddef>

namespace studyhub::snapshot {

bool is_binary(const void* data, size_t size);

}  // namespace studyhub::snapshot
