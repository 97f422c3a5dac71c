#include "tests/support/test_databases.h"

#include <cstdlib>
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace guichet::testing {
namespace {

std::string RandomSuffix() {
  static std::mt19937_64 generator{std::random_device{}()};
  return fmt::format("{:012x}", generator() & 0xffffffffffffULL);
}

const char* PostgresUrl() {
  const char* url = std::getenv("GUICHET_TEST_PG");
  return (url != nullptr && *url != '\0') ? url : nullptr;
}

void RunAdmin(const std::string& sql) {
  auto admin = storage::OpenDatabase(PostgresUrl(), {1, 5000, 5000, 0});
  if (!admin.ok()) {
    ADD_FAILURE() << admin.error().message;
    return;
  }
  auto done = (*admin)->Transact<Ok>(storage::TransactionMode::kWrite,
                                     [&](storage::Transaction& tx) -> Result<Ok> {
                                       GUICHET_TRY_STATUS(tx.ExecuteScript(sql));
                                       return Ok{};
                                     });
  if (!done.ok()) ADD_FAILURE() << done.error().message;
}

}  // namespace

std::vector<storage::Backend> TestBackends() {
  std::vector<storage::Backend> backends = {storage::Backend::kSqlite};
  const char* required = std::getenv("GUICHET_TEST_REQUIRE_PG");
  if (PostgresUrl() != nullptr) {
    backends.push_back(storage::Backend::kPostgres);
  } else if (required != nullptr && std::string(required) == "1") {
    std::fprintf(stderr, "GUICHET_TEST_REQUIRE_PG=1 but GUICHET_TEST_PG is not set\n");
    std::abort();
  }
  return backends;
}

std::string BackendParamName(storage::Backend backend) {
  return std::string(storage::BackendName(backend));
}

std::unique_ptr<TestDatabase> TestDatabase::Open(storage::Backend backend,
                                                 storage::DatabaseOptions options) {
  std::unique_ptr<TestDatabase> test(new TestDatabase());
  test->backend_ = backend;
  if (backend == storage::Backend::kSqlite) {
    const auto dir = std::filesystem::temp_directory_path() / ("guichet-test-" + RandomSuffix());
    std::filesystem::create_directories(dir);
    test->cleanup_ = dir.string();
    test->url_ = "sqlite:" + (dir / "test.db").string();
  } else {
    const std::string schema = "test_" + RandomSuffix();
    RunAdmin("CREATE SCHEMA " + schema);
    test->cleanup_ = schema;
    const std::string base = PostgresUrl();
    const char separator = base.find('?') == std::string::npos ? '?' : '&';
    test->url_ = fmt::format("{}{}options=-csearch_path%3D{}", base, separator, schema);
  }
  auto database = storage::OpenDatabase(test->url_, options);
  if (!database.ok()) {
    ADD_FAILURE() << "cannot open " << test->url_ << ": " << database.error().message;
    return nullptr;
  }
  test->database_ = std::move(database).value();
  return test;
}

TestDatabase::~TestDatabase() {
  database_.reset();
  if (backend_ == storage::Backend::kSqlite) {
    std::error_code ignored;
    std::filesystem::remove_all(cleanup_, ignored);
  } else {
    RunAdmin("DROP SCHEMA IF EXISTS " + cleanup_ + " CASCADE");
  }
}

}  // namespace guichet::testing
