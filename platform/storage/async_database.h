// Runs database work off the HTTP event loop: the transaction executes on a thread of its own
// pool (one thread per pooled connection) and the calling coroutine resumes on its own
// executor when the result is ready.
#pragma once

#include <functional>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "platform/storage/database.h"

namespace guichet::storage {

class AsyncDatabase {
 public:
  AsyncDatabase(Database& database, int64_t threads)
      : database_(database), pool_(static_cast<size_t>(threads)) {
    GUICHET_ASSERT(threads >= 1);
  }
  ~AsyncDatabase() { pool_.join(); }
  AsyncDatabase(const AsyncDatabase&) = delete;
  AsyncDatabase& operator=(const AsyncDatabase&) = delete;

  Database& database() { return database_; }

  template <typename T>
  boost::asio::awaitable<Result<T>> Transact(TransactionMode mode,
                                             std::function<Result<T>(Transaction&)> work) {
    // co_spawn needs a default-constructible value, hence the optional. The operation is built
    // in its own statement: GCC 12 destroys temporaries of a co_await expression twice.
    auto on_pool = [this, mode, work = std::move(work)]()
        -> boost::asio::awaitable<std::optional<Result<T>>> {
      co_return database_.Transact<T>(mode, work);
    };
    auto operation =
        boost::asio::co_spawn(pool_.get_executor(), std::move(on_pool), boost::asio::use_awaitable);
    std::optional<Result<T>> outcome = co_await std::move(operation);
    GUICHET_ASSERT(outcome.has_value());
    co_return std::move(*outcome);
  }

  // Any blocking work (several transactions, password hashing) on the pool.
  template <typename T>
  boost::asio::awaitable<Result<T>> Run(std::function<Result<T>()> work) {
    auto on_pool = [work = std::move(work)]() -> boost::asio::awaitable<std::optional<Result<T>>> {
      co_return work();
    };
    auto operation =
        boost::asio::co_spawn(pool_.get_executor(), std::move(on_pool), boost::asio::use_awaitable);
    std::optional<Result<T>> outcome = co_await std::move(operation);
    GUICHET_ASSERT(outcome.has_value());
    co_return std::move(*outcome);
  }

  // Blocking calls other than transactions (Ping) run on the pool too.
  boost::asio::awaitable<Status> Ping() {
    auto on_pool = [this]() -> boost::asio::awaitable<std::optional<Status>> {
      co_return database_.Ping();
    };
    auto operation =
        boost::asio::co_spawn(pool_.get_executor(), std::move(on_pool), boost::asio::use_awaitable);
    std::optional<Status> outcome = co_await std::move(operation);
    co_return std::move(*outcome);
  }

 private:
  Database& database_;
  boost::asio::thread_pool pool_;
};

}  // namespace guichet::storage
