#include "platform/storage/database.h"

#include <charconv>

namespace guichet::storage {

std::string_view BackendName(Backend backend) {
  return backend == Backend::kSqlite ? "sqlite" : "postgres";
}

bool Row::IsNull(size_t column) const {
  GUICHET_ASSERT(column < values_.size());
  return !values_[column].has_value();
}

const std::string& Row::Text(size_t column) const {
  GUICHET_ASSERT(column < values_.size());
  GUICHET_ASSERT(values_[column].has_value());
  return *values_[column];
}

std::optional<std::string> Row::OptionalText(size_t column) const {
  GUICHET_ASSERT(column < values_.size());
  return values_[column];
}

int64_t Row::Int(size_t column) const {
  const std::string& text = Text(column);
  int64_t value = 0;
  const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), value);
  GUICHET_ASSERT(failure == std::errc() && end == text.data() + text.size());
  return value;
}

std::optional<int64_t> Row::OptionalInt(size_t column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

bool Row::Bool(size_t column) const {
  // SQLite stores booleans as 0/1, PostgreSQL answers t/f in text form.
  const std::string& text = Text(column);
  GUICHET_ASSERT(text == "1" || text == "0" || text == "t" || text == "f");
  return text == "1" || text == "t";
}

Result<int64_t> Transaction::Execute(std::string_view sql, const Params& params) {
  auto result = Query(sql, params);
  if (!result.ok()) return std::move(result).error();
  return result->affected_rows;
}

Result<std::optional<Row>> Transaction::QueryOne(std::string_view sql, const Params& params) {
  auto result = Query(sql, params);
  if (!result.ok()) return std::move(result).error();
  GUICHET_ASSERT(result->rows.size() <= 1);
  if (result->rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(result->rows.front()));
}

Status Database::Ping() {
  return Transact<Ok>(TransactionMode::kRead, [](Transaction& tx) -> Result<Ok> {
    auto row = tx.QueryOne("SELECT 1");
    if (!row.ok()) return std::move(row).error();
    GUICHET_ASSERT(row->has_value() && (*row)->Int(0) == 1);
    return Ok{};
  });
}

Result<std::unique_ptr<Database>> OpenDatabase(const std::string& url,
                                               const DatabaseOptions& options) {
  if (url.rfind("sqlite:", 0) == 0) return OpenSqlite(url.substr(7), options);
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    return OpenPostgres(url, options);
  }
  return Error::Invalid("invalid_setting",
                        "db must start with sqlite: or postgres:// (got '" + url + "')");
}

}  // namespace guichet::storage
