// The storage port. Use cases run their work inside Database::Transact and never learn which
// backend answers. SQL is written once with $1, $2… placeholders, which both SQLite and
// PostgreSQL accept; schema differences live in per-backend migrations (migrations.h).
#pragma once

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

  // Round trip to check the database answers (readiness).
  Status Ping();

 protected:
  virtual Status RunTransaction(TransactionMode mode,
                                const std::function<Status(Transaction&)>& work) = 0;
};

// "sqlite:PATH", "sqlite::memory:" or "postgres://…" / "postgresql://…" (any libpq URL).
Result<std::unique_ptr<Database>> OpenDatabase(const std::string& url,
                                               const DatabaseOptions& options);

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path, const DatabaseOptions& options);
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& conninfo,
                                               const DatabaseOptions& options);

}  // namespace guichet::storage
