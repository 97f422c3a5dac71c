// The storage port. Use cases run their work inside Database::Transact and never learn which
// backend answers. SQL is written once with $1, $2… placeholders, which both SQLite and
// PostgreSQL accept; schema differences live in per-backend migrations (migrations.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "platform/base/result.h"

namespace guichet::storage {

enum class Backend { kSqlite, kPostgres };
std::string_view BackendName(Backend backend);

using Param = std::variant<std::nullptr_t, int64_t, double, std::string, bool>;
using Params = std::vector<Param>;

// One result row. Values arrive as text (both backends convert), NULL as nullopt.
class Row {
 public:
  explicit Row(std::vector<std::optional<std::string>> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool IsNull(size_t column) const;
  const std::string& Text(size_t column) const;  // asserts not NULL
  std::optional<std::string> OptionalText(size_t column) const;
  int64_t Int(size_t column) const;  // asserts not NULL and a whole number
  std::optional<int64_t> OptionalInt(size_t column) const;
  bool Bool(size_t column) const;

 private:
  std::vector<std::optional<std::string>> values_;
};

struct QueryResult {
  std::vector<Row> rows;
  int64_t affected_rows = 0;
};

// Database errors carry one of these codes in Error::code, so callers can react to a
// constraint without parsing messages.
inline constexpr std::string_view kUniqueViolation = "unique_violation";
inline constexpr std::string_view kCheckViolation = "check_violation";
inline constexpr std::string_view kRetryable = "database_retryable";  // busy, serialization
inline constexpr std::string_view kUnavailableCode = "database_unavailable";
inline constexpr std::string_view kDatabaseError = "database_error";

class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual Backend backend() const = 0;
  virtual Result<QueryResult> Query(std::string_view sql, const Params& params) = 0;
  // Several statements without parameters (migrations).
  virtual Status ExecuteScript(std::string_view sql) = 0;

  // Convenience forms of Query.
  Result<int64_t> Execute(std::string_view sql, const Params& params = {});
  Result<std::optional<Row>> QueryOne(std::string_view sql, const Params& params = {});
};

enum class TransactionMode {
  kRead,   // may run alongside other readers
  kWrite,  // SQLite: the single writer; PostgreSQL: read committed, conditional updates
};

struct PoolStats {
  int64_t idle = 0;
  int64_t busy = 0;
  int64_t max = 0;
  int64_t waits_total = 0;     // acquisitions that had to wait
  int64_t timeouts_total = 0;  // acquisitions that gave up
};

// What the process asked of the database since it started (metrics, benchmarks).
struct WorkStats {
  int64_t transactions_total = 0;  // BEGIN … COMMIT/ROLLBACK, retries included
  int64_t statements_total = 0;    // statements sent inside them, BEGIN and COMMIT excluded
  int64_t joined_total = 0;        // Transact calls that joined a shared transaction
  int64_t shared_fallbacks_total = 0;  // shared transactions rolled back and run again apart
};

// The code of the error a Transact answers when it joined a shared transaction that a previous
// joined Transact already failed (see Database::RunShared).
inline constexpr std::string_view kSharedTransactionFailed = "shared_transaction_failed";

class Database;

namespace detail {
// The shared transaction of the calling thread, if any (Database::RunShared).
struct SharedTransaction {
  const Database* database = nullptr;
  Transaction* tx = nullptr;
  bool failed = false;
};
inline thread_local SharedTransaction* current_shared = nullptr;
}  // namespace detail

struct DatabaseOptions {
  int64_t pool_connections = 8;
  int64_t acquire_timeout_ms = 5000;
  int64_t busy_timeout_ms = 5000;  // SQLite only
  int64_t retries_max = 5;         // transaction retries on busy/serialization failures
};

class Database {
 public:
  virtual ~Database() = default;
  virtual Backend backend() const = 0;
  virtual PoolStats Stats() const = 0;

  // Runs `work` in one transaction on the calling thread (a blocking call: from the HTTP event
  // loop use AsyncDatabase). Commits when `work` succeeds, rolls back when it fails; a
  // transaction that hits a busy or serialization failure is retried from the start, so
  // `work` must not have side effects outside the transaction.
  template <typename T>
  Result<T> Transact(TransactionMode mode, const std::function<Result<T>(Transaction&)>& work) {
    if (detail::current_shared != nullptr && detail::current_shared->database == this) {
      return TransactJoined<T>(work);
    }
    std::optional<Result<T>> outcome;
    Status status = RunTransaction(mode, [&](Transaction& tx) -> Status {
      outcome.emplace(work(tx));
      if (outcome->ok()) return OkStatus();
      return outcome->error();
    });
    if (!status.ok()) {
      // A work failure is returned as is; a commit or connection failure replaces it.
      if (outcome && !outcome->ok()) return std::move(*outcome);
      return std::move(status).error();
    }
    GUICHET_ASSERT(outcome.has_value() && outcome->ok());
    return std::move(*outcome);
  }

  // Runs `work` (on the calling thread) inside one write transaction that every Transact of
  // this database made by `work` on this thread joins, instead of each opening, and committing,
  // a transaction of its own: one BEGIN … COMMIT for a request that would otherwise make several
  // (a device request's replay record, then its use case). A joined Transact that fails (its
  // work answers an error, or a statement fails) cannot be rolled back alone, so the shared
  // transaction is then rolled back whole — later joined Transact calls answer
  // kSharedTransactionFailed at once — and `work` runs again the ordinary way, each Transact
  // in a transaction of its own: the result is always the one the ordinary way gives, the
  // shared way only saves commits when every step succeeds. Hence `work` must have no effect
  // outside this database (it may run twice), and must not wait on another thread that writes
  // to this database (SQLite's writer is held for the whole of `work`). Nested calls just run.
  template <typename T>
  T RunShared(const std::function<T()>& work) {
    if (detail::current_shared != nullptr) return work();
    std::optional<T> shared;
    Status status = RunTransaction(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
      detail::SharedTransaction joined{this, &tx, false};
      detail::current_shared = &joined;
      shared.reset();
      std::optional<T> value;
      value.emplace(work());
      detail::current_shared = nullptr;
      if (joined.failed) {
        return Error{ErrorKind::kConflict, std::string(kSharedTransactionFailed),
                     "a step of the shared transaction failed: run apart", {}};
      }
      shared = std::move(value);
      return OkStatus();
    });
    detail::current_shared = nullptr;
    if (status.ok()) return std::move(*shared);
    shared_fallbacks_.fetch_add(1, std::memory_order_relaxed);
    return work();
  }

  WorkStats Work() const {
    return {transactions_.load(std::memory_order_relaxed),
            statements_.load(std::memory_order_relaxed), joined_.load(std::memory_order_relaxed),
            shared_fallbacks_.load(std::memory_order_relaxed)};
  }

  // Round trip to check the database answers (readiness).
  Status Ping();

 protected:
  virtual Status RunTransaction(TransactionMode mode,
                                const std::function<Status(Transaction&)>& work) = 0;

  // Adapters count what they send.
  void CountTransaction() { transactions_.fetch_add(1, std::memory_order_relaxed); }
  std::atomic<int64_t>& statement_counter() { return statements_; }

 private:
  template <typename T>
  Result<T> TransactJoined(const std::function<Result<T>(Transaction&)>& work) {
    detail::SharedTransaction& joined = *detail::current_shared;
    if (joined.failed) {
      return Error{ErrorKind::kConflict, std::string(kSharedTransactionFailed),
                   "an earlier step of the shared transaction failed", {}};
    }
    joined_.fetch_add(1, std::memory_order_relaxed);
    Result<T> outcome = work(*joined.tx);
    if (!outcome.ok()) joined.failed = true;
    return outcome;
  }

  std::atomic<int64_t> transactions_{0};
  std::atomic<int64_t> statements_{0};
  std::atomic<int64_t> joined_{0};
  std::atomic<int64_t> shared_fallbacks_{0};
};

// "sqlite:PATH", "sqlite::memory:" or "postgres://…" / "postgresql://…" (any libpq URL).
Result<std::unique_ptr<Database>> OpenDatabase(const std::string& url,
                                               const DatabaseOptions& options);

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path, const DatabaseOptions& options);
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& conninfo,
                                               const DatabaseOptions& options);

}  // namespace guichet::storage
