// Reading the environment: an unset and an empty variable are the same thing here.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

namespace studyhub {

inline std::optional<std::string> env_value(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

}  // namespace studyhub
