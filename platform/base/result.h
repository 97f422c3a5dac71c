// Expected failures travel as values: Result<T> holds either a T or an Error.
// Exceptions stay inside a piece; assertions are for bugs (see assert.h).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "platform/base/assert.h"

namespace guichet {

// The kind decides the HTTP status (one table in platform/http/problem.cpp); the code is the
// stable, machine-readable name clients branch on.
enum class ErrorKind {
  kInvalidInput,    // 400: the request itself is wrong (bad parameter, malformed body)
  kValidation,      // 422: well-formed but a field is missing, mistyped or out of range
  kUnauthenticated, // 401
  kForbidden,       // 403
  kNotFound,        // 404
  kConflict,        // 409: exists already, idempotency key reused with other content
  kMethodNotAllowed,  // 405: the path exists, not with this method
  kUnsupportedMediaType,  // 415
  kTooLarge,        // 413
  kHeaderTooLarge,  // 431
  kTooManyRequests, // 429: throttled, try again later
  kUnavailable,     // 503: a dependency (the database) cannot be reached
  kInternal,        // 500: a bug or an unexpected failure; details go to the log only
};

// One problem with one input field, named by a JSON Pointer (RFC 6901).
struct FieldError {
  std::string pointer;
  std::string message;
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string code;     // stable: "job_not_found", "validation_failed"…
  std::string message;  // a sentence for a person
  std::vector<FieldError> fields;

  static Error Invalid(std::string code, std::string message) {
    return {ErrorKind::kInvalidInput, std::move(code), std::move(message), {}};
  }
  static Error NotFound(std::string code, std::string message) {
    return {ErrorKind::kNotFound, std::move(code), std::move(message), {}};
  }
  static Error Conflict(std::string code, std::string message) {
    return {ErrorKind::kConflict, std::move(code), std::move(message), {}};
  }
  static Error Unavailable(std::string code, std::string message) {
    return {ErrorKind::kUnavailable, std::move(code), std::move(message), {}};
  }
  static Error Internal(std::string message) {
    return {ErrorKind::kInternal, "internal_error", std::move(message), {}};
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    GUICHET_ASSERT(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    GUICHET_ASSERT(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    GUICHET_ASSERT(ok());
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& {
    GUICHET_ASSERT(!ok());
    return std::get<1>(state_);
  }
  Error&& error() && {
    GUICHET_ASSERT(!ok());
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, Error> state_;
};

struct Ok {};
using Status = Result<Ok>;

inline Status OkStatus() { return Ok{}; }

}  // namespace guichet

// Returns the error of `expr` from the enclosing function when it failed.
#define GUICHET_CONCAT_INNER(a, b) a##b
#define GUICHET_CONCAT(a, b) GUICHET_CONCAT_INNER(a, b)
#define GUICHET_TRY_STATUS(expr) GUICHET_TRY_STATUS_IMPL(GUICHET_CONCAT(guichet_try_, __COUNTER__), expr)
#define GUICHET_TRY_STATUS_IMPL(name, expr) \
  do {                                      \
    auto name = (expr);                     \
    if (!name.ok()) {                       \
      return std::move(name).error();       \
    }                                       \
  } while (false)
