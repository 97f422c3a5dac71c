// SQLite adapter: WAL journal, one writer at a time inside this process (a mutex taken before
// BEGIN IMMEDIATE) and SQLite's busy timeout between processes; readers run alongside.
#include <sqlite3.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "platform/storage/database.h"
#include "platform/storage/pool.h"
#include "platform/storage/transaction_runner.h"

namespace guichet::storage {
namespace {

Error SqliteError(sqlite3* handle, int code, std::string_view context) {
  const int extended = handle != nullptr ? sqlite3_extended_errcode(handle) : code;
  const std::string message =
      fmt::format("{}: {}", context, handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(code));
  const int primary = extended & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return {ErrorKind::kUnavailable, std::string(kRetryable), message, {}};
  }
  if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return {ErrorKind::kConflict, std::string(kUniqueViolation), message, {}};
  }
  if (extended == SQLITE_CONSTRAINT_CHECK) {
    return {ErrorKind::kInvalidInput, std::string(kCheckViolation), message, {}};
  }
  return {ErrorKind::kInternal, std::string(kDatabaseError), message, {}};
}

class SqliteConnection {
 public:
  explicit SqliteConnection(sqlite3* handle) : handle_(handle) {}
  ~SqliteConnection() {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
    sqlite3_close_v2(handle_);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  static Result<std::unique_ptr<SqliteConnection>> Open(const std::string& path,
                                                         int64_t busy_timeout_ms) {
    sqlite3* handle = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int code = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
    auto connection = std::make_unique<SqliteConnection>(handle);
    if (code != SQLITE_OK) {
      Error error = SqliteError(handle, code, "opening " + path);
      error.kind = ErrorKind::kUnavailable;
      error.code = std::string(kUnavailableCode);
      return error;
    }
    sqlite3_busy_timeout(handle, static_cast<int>(busy_timeout_ms));
    // FULL: a commit is on disk before the caller hears of it (money must survive power loss).
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                               "PRAGMA foreign_keys=ON", "PRAGMA temp_store=MEMORY"}) {
      auto status = connection->Run(pragma, {});
      if (!status.ok()) return std::move(status).error();
    }
    return connection;
  }

  Result<QueryResult> Run(std::string_view sql, const Params& params) {
    auto statement = Prepare(sql);
    if (!statement.ok()) return std::move(statement).error();
    sqlite3_stmt* stmt = *statement;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    GUICHET_TRY_STATUS(Bind(stmt, params));
    QueryResult result;
    const int columns = sqlite3_column_count(stmt);
    for (;;) {
      const int code = sqlite3_step(stmt);
      if (code == SQLITE_DONE) break;
      if (code != SQLITE_ROW) {
        Error error = SqliteError(handle_, code, "query");
        sqlite3_reset(stmt);
        return error;
      }
      std::vector<std::optional<std::string>> values;
      values.reserve(static_cast<size_t>(columns));
      for (int column = 0; column < columns; ++column) {
        if (sqlite3_column_type(stmt, column) == SQLITE_NULL) {
          values.emplace_back(std::nullopt);
        } else {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
          values.emplace_back(std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column))));
        }
      }
      result.rows.emplace_back(std::move(values));
    }
    result.affected_rows = sqlite3_changes64(handle_);
    sqlite3_reset(stmt);
    return result;
  }

  Status Script(std::string_view sql) {
    char* message = nullptr;
    const int code = sqlite3_exec(handle_, std::string(sql).c_str(), nullptr, nullptr, &message);
    if (code == SQLITE_OK) return OkStatus();
    Error error = SqliteError(handle_, code, "script");
    sqlite3_free(message);
    return error;
  }

 private:
  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    auto found = statements_.find(std::string(sql));
    if (found != statements_.end()) return found->second;
    sqlite3_stmt* stmt = nullptr;
    const int code = sqlite3_prepare_v3(handle_, sql.data(), static_cast<int>(sql.size()),
                                        SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (code != SQLITE_OK) return SqliteError(handle_, code, "preparing statement");
    statements_.emplace(std::string(sql), stmt);
    return stmt;
  }

  // $N placeholders are named parameters to SQLite; map each name back to params[N-1].
  Status Bind(sqlite3_stmt* stmt, const Params& params) {
    const int count = sqlite3_bind_parameter_count(stmt);
    for (int index = 1; index <= count; ++index) {
      const char* name = sqlite3_bind_parameter_name(stmt, index);
      size_t position = static_cast<size_t>(index);
      if (name != nullptr && name[0] == '$') position = std::stoul(name + 1);
      GUICHET_ASSERT(position >= 1);
      if (position > params.size()) {
        return Error::Internal(fmt::format("statement uses ${} but only {} parameters were given",
                                           position, params.size()));
      }
      const Param& param = params[position - 1];
      int code = SQLITE_OK;
      if (std::holds_alternative<std::nullptr_t>(param)) {
        code = sqlite3_bind_null(stmt, index);
      } else if (auto* number = std::get_if<int64_t>(&param)) {
        code = sqlite3_bind_int64(stmt, index, *number);
      } else if (auto* real = std::get_if<double>(&param)) {
        code = sqlite3_bind_double(stmt, index, *real);
      } else if (auto* text = std::get_if<std::string>(&param)) {
        code = sqlite3_bind_text64(stmt, index, text->data(), text->size(), SQLITE_TRANSIENT,
                                   SQLITE_UTF8);
      } else {
        code = sqlite3_bind_int(stmt, index, std::get<bool>(param) ? 1 : 0);
      }
      if (code != SQLITE_OK) return SqliteError(handle_, code, "binding parameter");
    }
    return OkStatus();
  }

  sqlite3* handle_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(SqliteConnection& connection, std::atomic<int64_t>& statements)
      : connection_(connection), statements_(statements) {}
  Backend backend() const override { return Backend::kSqlite; }
  Result<QueryResult> Query(std::string_view sql, const Params& params) override {
    statements_.fetch_add(1, std::memory_order_relaxed);
    return connection_.Run(sql, params);
  }
  Status ExecuteScript(std::string_view sql) override { return connection_.Script(sql); }

 private:
  SqliteConnection& connection_;
  std::atomic<int64_t>& statements_;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, const DatabaseOptions& options)
      : options_(options),
        pool_(path == ":memory:" ? 1 : options.pool_connections, options.acquire_timeout_ms,
              [path, busy = options.busy_timeout_ms] { return SqliteConnection::Open(path, busy); }) {}

  Backend backend() const override { return Backend::kSqlite; }
  PoolStats Stats() const override { return pool_.Stats(); }

 protected:
  Status RunTransaction(TransactionMode mode,
                        const std::function<Status(Transaction&)>& work) override {
    // One writer per process: waiting here is cheaper than spinning on SQLITE_BUSY.
    std::unique_lock<std::mutex> writer(writer_, std::defer_lock);
    if (mode == TransactionMode::kWrite) writer.lock();
    auto lease = pool_.Acquire();
    if (!lease.ok()) return std::move(lease).error();
    SqliteConnection& connection = **lease;
    SqliteTransaction tx(connection, statement_counter());
    const char* begin_sql = mode == TransactionMode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN";
    auto run = [&](const char* sql) -> Status {
      auto result = connection.Run(sql, {});
      if (!result.ok()) return std::move(result).error();
      return OkStatus();
    };
    return detail::RunWithRetries(
        options_.retries_max, [&] {
          CountTransaction();
          return run(begin_sql);
        }, [&] { return run("COMMIT"); },
        [&] { (void)connection.Run("ROLLBACK", {}); }, [&] { return work(tx); });
  }

 private:
  DatabaseOptions options_;
  std::mutex writer_;
  Pool<SqliteConnection> pool_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path,
                                             const DatabaseOptions& options) {
  if (path.empty()) return Error::Invalid("invalid_setting", "sqlite: needs a file path");
  if (path != ":memory:") {
    std::error_code ignored;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
  }
  auto database = std::make_unique<SqliteDatabase>(path, options);
  GUICHET_TRY_STATUS(database->Ping());  // fail at start, not at the first request
  return std::unique_ptr<Database>(std::move(database));
}

}  // namespace guichet::storage
