#include "platform/storage/migrations.h"

#include <map>
#include <set>

#include <fmt/format.h>

namespace guichet::storage {
namespace {

// Any constant works; it only has to be the same in every process sharing the database.
constexpr int64_t kMigrationLockKey = 0x6775696368657401;

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " component TEXT NOT NULL, version BIGINT NOT NULL, name TEXT NOT NULL,"
    " checksum TEXT NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (component, version))";

std::string Checksum(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a: enough to notice an edited migration
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}", hash);
}

Status Lock(Transaction& tx) {
  if (tx.backend() != Backend::kPostgres) return OkStatus();  // SQLite: BEGIN IMMEDIATE suffices
  auto locked = tx.Query("SELECT pg_advisory_xact_lock($1)", {kMigrationLockKey});
  if (!locked.ok()) return std::move(locked).error();
  return OkStatus();
}

Status CheckOrder(const std::vector<Migration>& migrations) {
  std::map<std::string, int64_t> last;
  for (const Migration& migration : migrations) {
    int64_t& previous = last[migration.component];
    if (migration.version != previous + 1) {
      return Error::Internal(fmt::format("migrations of {} must be numbered 1, 2, 3… (got {} after {})",
                                         migration.component, migration.version, previous));
    }
    previous = migration.version;
  }
  return OkStatus();
}

// Applies one migration unless another process did already. Returns true when it applied it.
Result<bool> ApplyOne(Database& database, const Migration& migration, const Clock& clock) {
  return database.Transact<bool>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<bool> {
    GUICHET_TRY_STATUS(Lock(tx));
    const std::string& sql = tx.backend() == Backend::kSqlite ? migration.sqlite : migration.postgres;
    GUICHET_ASSERT(!sql.empty());
    const std::string checksum = Checksum(sql);
    auto existing = tx.QueryOne(
        "SELECT checksum FROM schema_migrations WHERE component = $1 AND version = $2",
        {migration.component, migration.version});
    if (!existing.ok()) return std::move(existing).error();
    if (existing->has_value()) {
      if ((*existing)->Text(0) != checksum) {
        return Error::Internal(fmt::format(
            "migration {} {} ({}) was changed after it was applied: write a new migration instead",
            migration.component, migration.version, migration.name));
      }
      return false;
    }
    GUICHET_TRY_STATUS(tx.ExecuteScript(sql));
    auto inserted = tx.Execute(
        "INSERT INTO schema_migrations (component, version, name, checksum, applied_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        {migration.component, migration.version, migration.name, checksum, clock.NowMs()});
    if (!inserted.ok()) return std::move(inserted).error();
    return true;
  });
}

}  // namespace

Result<MigrationReport> Migrate(Database& database, const std::vector<Migration>& migrations,
                                const Clock& clock) {
  GUICHET_TRY_STATUS(CheckOrder(migrations));
  GUICHET_TRY_STATUS(database.Transact<Ok>(TransactionMode::kWrite, [](Transaction& tx) -> Result<Ok> {
    GUICHET_TRY_STATUS(Lock(tx));
    GUICHET_TRY_STATUS(tx.ExecuteScript(kCreateTable));
    return Ok{};
  }));
  MigrationReport report;
  for (const Migration& migration : migrations) {
    auto applied = ApplyOne(database, migration, clock);
    if (!applied.ok()) return std::move(applied).error();
    if (*applied) {
      report.applied.push_back(
          fmt::format("{} {} {}", migration.component, migration.version, migration.name));
    }
  }
  auto version = SchemaVersion(database);
  if (!version.ok()) return std::move(version).error();
  GUICHET_ASSERT(*version >= static_cast<int64_t>(migrations.size()));
  report.schema_version = *version;
  return report;
}

Result<int64_t> SchemaVersion(Database& database) {
  return database.Transact<int64_t>(TransactionMode::kRead, [](Transaction& tx) -> Result<int64_t> {
    // A database never migrated has no table yet: that is version 0, not an error.
    const char* exists_sql = tx.backend() == Backend::kSqlite
        ? "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        : "SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations'"
          " AND schemaname = current_schema()";
    auto exists = tx.QueryOne(exists_sql);
    if (!exists.ok()) return std::move(exists).error();
    if ((*exists)->Int(0) == 0) return int64_t{0};
    auto count = tx.QueryOne("SELECT count(*) FROM schema_migrations");
    if (!count.ok()) return std::move(count).error();
    return (*count)->Int(0);
  });
}

}  // namespace guichet::storage
