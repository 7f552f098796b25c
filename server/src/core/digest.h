// Digests and secrets: SHA-256 for tokens and cache keys, unguessable random tokens, and a
// comparison that takes the same time wherever two secrets differ.
#pragma once

#include <string>
#include <string_view>

namespace studyhub {

std::string sha256_hex(std::string_view data);

// `bytes` random bytes from the kernel's CSPRNG, as unpadded base64url.
std::string random_token(size_t bytes = 32);

// Compares a presented secret with the expected one in time independent of where they differ;
// an empty expected secret matches nothing.
bool secret_matches(const std::string& presented, const std::string& expected);

}  // namespace studyhub
