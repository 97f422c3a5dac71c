// Versioned schema migrations. Each piece of the platform and each module owns a numbered
// list of migrations, written once per backend; `guichet migrate` and `guichet serve` apply the
// missing ones in order, each in its own transaction, and refuse to start when an applied
// migration was edited afterwards (its checksum changed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "platform/base/clock.h"
#include "platform/storage/database.h"

namespace guichet::storage {

struct Migration {
  std::string component;  // "platform.jobs", "wallet"…
  int64_t version = 0;    // 1, 2, 3… within the component
  std::string name;       // "create jobs"
  std::string sqlite;
  std::string postgres;
};

struct MigrationReport {
  std::vector<std::string> applied;  // "platform.jobs 1 create jobs"
  int64_t schema_version = 0;        // migrations applied in all, after this run
};

Result<MigrationReport> Migrate(Database& database, const std::vector<Migration>& migrations,
                                const Clock& clock);

// Number of migrations applied so far (0 on an empty database).
Result<int64_t> SchemaVersion(Database& database);

}  // namespace guichet::storage
