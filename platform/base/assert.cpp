#include "platform/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace guichet::detail {

void AssertFailed(const char* expression, const char* file, int line) {
  // stderr and abort rather than the logger: the process state is not trusted any more.
  std::fprintf(stderr, "guichet: assertion failed: %s (%s:%d)\n", expression, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace guichet::detail
