// PostgreSQL adapter over libpq: a pool of connections, statements prepared once per
// connection, parameters sent as text so that PostgreSQL infers their types.
#include <libpq-fe.h>

#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "platform/storage/database.h"
#include "platform/storage/pool.h"
#include "platform/storage/transaction_runner.h"

namespace guichet::storage {
namespace {

Error PostgresError(PGconn* connection, PGresult* result, std::string_view context) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state != nullptr ? state : "";
  std::string message = result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(connection);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  message = fmt::format("{}: {}", context, message);
  if (sqlstate == "23505") return {ErrorKind::kConflict, std::string(kUniqueViolation), message, {}};
  if (sqlstate == "23514") return {ErrorKind::kInvalidInput, std::string(kCheckViolation), message, {}};
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return {ErrorKind::kUnavailable, std::string(kRetryable), message, {}};
  }
  if (sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || PQstatus(connection) != CONNECTION_OK) {
    return {ErrorKind::kUnavailable, std::string(kUnavailableCode), message, {}};
  }
  return {ErrorKind::kInternal, std::string(kDatabaseError), message, {}};
}

class PostgresConnection {
 public:
  explicit PostgresConnection(PGconn* handle) : handle_(handle) {}
  ~PostgresConnection() { PQfinish(handle_); }
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  static Result<std::unique_ptr<PostgresConnection>> Open(const std::string& conninfo) {
    auto connection = std::make_unique<PostgresConnection>(PQconnectdb(conninfo.c_str()));
    if (PQstatus(connection->handle_) != CONNECTION_OK) {
      std::string message = PQerrorMessage(connection->handle_);
      while (!message.empty() && message.back() == '\n') message.pop_back();
      return Error::Unavailable(std::string(kUnavailableCode),
                                "cannot connect to PostgreSQL: " + message);
    }
    // Keep the server quiet about notices (IF NOT EXISTS…), and times in UTC.
    auto status = connection->Run("SET client_min_messages = warning; SET TIME ZONE 'UTC'", {});
    if (!status.ok()) return std::move(status).error();
    return connection;
  }

  bool healthy() const { return PQstatus(handle_) == CONNECTION_OK; }

  Result<QueryResult> Run(std::string_view sql, const Params& params) {
    PGresult* result = nullptr;
    if (params.empty() && sql.find('$') == std::string_view::npos) {
      // Statements without parameters (BEGIN, DDL, several statements) run as simple queries.
      result = PQexec(handle_, std::string(sql).c_str());
    } else {
      auto name = Prepare(sql);
      if (!name.ok()) return std::move(name).error();
      std::vector<std::string> texts(params.size());
      std::vector<const char*> values(params.size(), nullptr);
      for (size_t i = 0; i < params.size(); ++i) {
        if (ToText(params[i], texts[i])) values[i] = texts[i].c_str();
      }
      result = PQexecPrepared(handle_, name->c_str(), static_cast<int>(params.size()),
                              values.data(), nullptr, nullptr, 0);
    }
    return Collect(result);
  }

  Result<QueryResult> Script(std::string_view sql) {
    return Collect(PQexec(handle_, std::string(sql).c_str()));
  }

 private:
  static bool ToText(const Param& param, std::string& out) {
    if (std::holds_alternative<std::nullptr_t>(param)) return false;
    if (auto* number = std::get_if<int64_t>(&param)) {
      out = std::to_string(*number);
    } else if (auto* real = std::get_if<double>(&param)) {
      out = fmt::format("{}", *real);
    } else if (auto* text = std::get_if<std::string>(&param)) {
      out = *text;
    } else {
      out = std::get<bool>(param) ? "true" : "false";
    }
    return true;
  }

  Result<std::string> Prepare(std::string_view sql) {
    auto found = statements_.find(std::string(sql));
    if (found != statements_.end()) return found->second;
    std::string name = fmt::format("g{}", statements_.size() + 1);
    PGresult* result = PQprepare(handle_, name.c_str(), std::string(sql).c_str(), 0, nullptr);
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!ok) {
      Error error = PostgresError(handle_, result, "preparing statement");
      PQclear(result);
      return error;
    }
    PQclear(result);
    statements_.emplace(std::string(sql), name);
    return name;
  }

  Result<QueryResult> Collect(PGresult* result) {
    const ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      Error error = PostgresError(handle_, result, "query");
      PQclear(result);
      return error;
    }
    QueryResult out;
    const int rows = PQntuples(result);
    const int columns = PQnfields(result);
    out.rows.reserve(static_cast<size_t>(rows));
    for (int row = 0; row < rows; ++row) {
      std::vector<std::optional<std::string>> values;
      values.reserve(static_cast<size_t>(columns));
      for (int column = 0; column < columns; ++column) {
        if (PQgetisnull(result, row, column)) {
          values.emplace_back(std::nullopt);
        } else {
          values.emplace_back(std::string(PQgetvalue(result, row, column),
                                          static_cast<size_t>(PQgetlength(result, row, column))));
        }
      }
      out.rows.emplace_back(std::move(values));
    }
    const char* affected = PQcmdTuples(result);
    out.affected_rows = (affected != nullptr && affected[0] != '\0') ? std::stoll(affected) : 0;
    PQclear(result);
    return out;
  }

  PGconn* handle_;
  std::unordered_map<std::string, std::string> statements_;
};

class PostgresTransaction final : public Transaction {
 public:
  PostgresTransaction(PostgresConnection& connection, std::atomic<int64_t>& statements)
      : connection_(connection), statements_(statements) {}
  Backend backend() const override { return Backend::kPostgres; }
  Result<QueryResult> Query(std::string_view sql, const Params& params) override {
    statements_.fetch_add(1, std::memory_order_relaxed);
    return connection_.Run(sql, params);
  }
  Status ExecuteScript(std::string_view sql) override {
    auto result = connection_.Script(sql);
    if (!result.ok()) return std::move(result).error();
    return OkStatus();
  }

 private:
  PostgresConnection& connection_;
  std::atomic<int64_t>& statements_;
};

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(std::string conninfo, const DatabaseOptions& options)
      : options_(options),
        pool_(options.pool_connections, options.acquire_timeout_ms,
              [conninfo] { return PostgresConnection::Open(conninfo); }) {}

  Backend backend() const override { return Backend::kPostgres; }
  PoolStats Stats() const override { return pool_.Stats(); }

 protected:
  Status RunTransaction(TransactionMode mode,
                        const std::function<Status(Transaction&)>& work) override {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return std::move(lease).error();
    PostgresConnection& connection = **lease;
    PostgresTransaction tx(connection, statement_counter());
    const char* begin_sql = mode == TransactionMode::kWrite ? "BEGIN" : "BEGIN READ ONLY";
    auto run = [&](const char* sql) -> Status {
      auto result = connection.Run(sql, {});
      if (!result.ok()) return std::move(result).error();
      return OkStatus();
    };
    Status status = detail::RunWithRetries(
        options_.retries_max, [&] {
          CountTransaction();
          return run(begin_sql);
        }, [&] { return run("COMMIT"); },
        [&] { (void)connection.Run("ROLLBACK", {}); }, [&] { return work(tx); });
    if (!connection.healthy()) lease->Discard();  // the next caller gets a fresh connection
    return status;
  }

 private:
  DatabaseOptions options_;
  Pool<PostgresConnection> pool_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const std::string& conninfo,
                                               const DatabaseOptions& options) {
  auto database = std::make_unique<PostgresDatabase>(conninfo, options);
  GUICHET_TRY_STATUS(database->Ping());
  return std::unique_ptr<Database>(std::move(database));
}

}  // namespace guichet::storage
