// Reading the environment: an unset and an empty variable are the same thing here.
#pragma once

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>

#include "core/error.h"

namespace studyhub {

inline std::optional<std::string> env_value(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

// A whole number from the environment (docker-run's own variables, the hub's); unset is nullopt,
// anything but a number is an error naming the variable.
template <class T>
Result<std::optional<T>> env_number(const char* name) {
  auto text = env_value(name);
  if (!text) return std::optional<T>{};
  T value{};
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size())
    return Error{std::string(name) + " must be a whole number, not '" + *text + "'"};
  return std::optional<T>{value};
}

}  // namespace studyhub
