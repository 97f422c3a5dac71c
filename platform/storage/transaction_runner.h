// The retry loop both adapters share: BEGIN, run the work, COMMIT; on a busy or serialization
// failure, roll back and start again, a bounded number of times.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

#include "platform/storage/database.h"

namespace guichet::storage::detail {

inline bool IsRetryable(const Error& error) { return error.code == kRetryable; }

// `begin`, `commit` and `rollback` act on one leased connection.
inline Status RunWithRetries(int64_t retries_max, const std::function<Status()>& begin,
                             const std::function<Status()>& commit,
                             const std::function<void()>& rollback,
                             const std::function<Status()>& body) {
  for (int64_t attempt = 0;; ++attempt) {
    Status status = begin();
    if (status.ok()) status = body();
    if (status.ok()) status = commit();
    if (status.ok()) return status;
    rollback();
    if (!IsRetryable(status.error()) || attempt >= retries_max) return status;
    // Short, growing pause so the competing writer can finish.
    std::this_thread::sleep_for(std::chrono::milliseconds(2 << attempt));
  }
}

}  // namespace guichet::storage::detail
