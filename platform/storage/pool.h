// A bounded pool of connections shared by both adapters. Connections are created lazily up to
// `max`; a caller waits at most `acquire_timeout_ms` for one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "platform/base/result.h"
#include "platform/storage/database.h"

namespace guichet::storage {

template <typename Connection>
class Pool {
 public:
  using Factory = std::function<Result<std::unique_ptr<Connection>>()>;

  Pool(int64_t max, int64_t acquire_timeout_ms, Factory factory)
      : max_(max), acquire_timeout_ms_(acquire_timeout_ms), factory_(std::move(factory)) {
    GUICHET_ASSERT(max_ >= 1);
  }

  // Returns the connection to the pool when destroyed; `discard` drops a broken one instead.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          connection_(std::move(other.connection_)),
          discard_(other.discard_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Release(std::move(connection_), discard_);
    }
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }
    void Discard() { discard_ = true; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
    bool discard_ = false;
  };

  Result<Lease> Acquire() {
    std::unique_lock lock(mutex_);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(acquire_timeout_ms_);
    bool waited = false;
    while (idle_.empty() && busy_ >= max_) {
      waited = true;
      if (available_.wait_until(lock, deadline) == std::cv_status::timeout &&
          idle_.empty() && busy_ >= max_) {
        ++timeouts_total_;
        return Error::Unavailable(std::string(kUnavailableCode),
                                  "no database connection became free in time");
      }
    }
    if (waited) ++waits_total_;
    ++busy_;
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection));
    }
    lock.unlock();
    auto created = factory_();  // outside the lock: connecting can take a while
    if (!created.ok()) {
      std::lock_guard relock(mutex_);
      --busy_;
      available_.notify_one();
      return std::move(created).error();
    }
    return Lease(this, std::move(created).value());
  }

  PoolStats Stats() const {
    std::lock_guard lock(mutex_);
    return {static_cast<int64_t>(idle_.size()), busy_, max_, waits_total_, timeouts_total_};
  }

 private:
  void Release(std::unique_ptr<Connection> connection, bool discard) {
    std::lock_guard lock(mutex_);
    GUICHET_ASSERT(busy_ > 0);
    --busy_;
    if (!discard && connection) idle_.push_back(std::move(connection));
    available_.notify_one();
  }

  const int64_t max_;
  const int64_t acquire_timeout_ms_;
  Factory factory_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int64_t busy_ = 0;
  int64_t waits_total_ = 0;
  int64_t timeouts_total_ = 0;
};

}  // namespace guichet::storage
