// Assertions are for bugs, never for user input. GUICHET_ASSERT stays on in release builds
// (ledger and storage invariants must hold in production too); GUICHET_DASSERT is debug only.
#pragma once

namespace guichet::detail {
[[noreturn]] void AssertFailed(const char* expression, const char* file, int line);
}  // namespace guichet::detail

#define GUICHET_ASSERT(expr)                                        \
  do {                                                              \
    if (!(expr)) [[unlikely]] {                                     \
      ::guichet::detail::AssertFailed(#expr, __FILE__, __LINE__);   \
    }                                                               \
  } while (false)

#ifdef NDEBUG
#define GUICHET_DASSERT(expr) \
  do {                        \
  } while (false)
#else
#define GUICHET_DASSERT(expr) GUICHET_ASSERT(expr)
#endif
