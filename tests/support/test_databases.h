// Fresh, empty databases for storage tests, on every backend: a temporary SQLite file, and a
// schema of its own on the PostgreSQL test cluster named by GUICHET_TEST_PG (started by
// scripts/test). Under `make test` GUICHET_TEST_REQUIRE_PG=1 makes a missing cluster a failure
// rather than a silent SQLite-only run.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "platform/storage/database.h"

namespace guichet::testing {

std::vector<storage::Backend> TestBackends();

class TestDatabase {
 public:
  static std::unique_ptr<TestDatabase> Open(storage::Backend backend,
                                            storage::DatabaseOptions options = {});
  ~TestDatabase();
  storage::Database& db() { return *database_; }
  // The URL a second process or pool would use to reach the same database.
  const std::string& url() const { return url_; }

 private:
  TestDatabase() = default;
  std::unique_ptr<storage::Database> database_;
  std::string url_;
  std::string cleanup_;  // a file to remove or a schema to drop
  storage::Backend backend_ = storage::Backend::kSqlite;
};

// gtest parameter names: "sqlite", "postgres".
std::string BackendParamName(storage::Backend backend);

}  // namespace guichet::testing
