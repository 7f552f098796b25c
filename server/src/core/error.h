// Errors as values: every component reports failure with a message a user can act on,
// and nothing throws across a thread boundary.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace studyhub {

struct Error {
  std::string message;     // one sentence: what failed, why, what to do
  bool cancelled = false;  // the user asked to stop; not a failure to report loudly
  std::string code;        // a machine-readable reason where a caller branches on it
};

inline Error cancelled_error() { return Error{"cancelled", true}; }

// A value or the error that prevented it (std::expected arrives only with C++23).
template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(E error) : state_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const E& error() const { return std::get<E>(state_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, E> state_;
};

// A Result for operations that produce nothing but may fail.
struct Done {};
using Status = Result<Done>;
inline Status ok_status() { return Done{}; }

}  // namespace studyhub
