#include "platform/storage/database.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "platform/base/clock.h"
#include "platform/storage/migrations.h"
#include "tests/support/test_databases.h"

namespace guichet::storage {
namespace {

using testing::TestDatabase;

class StorageTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    auto created = db().Transact<Ok>(TransactionMode::kWrite, [](Transaction& tx) -> Result<Ok> {
      GUICHET_TRY_STATUS(tx.ExecuteScript(
          "CREATE TABLE items (name TEXT PRIMARY KEY, quantity BIGINT NOT NULL CHECK (quantity >= 0),"
          " note TEXT, ratio DOUBLE PRECISION, active BOOLEAN NOT NULL DEFAULT TRUE)"));
      return Ok{};
    });
    ASSERT_TRUE(created.ok()) << created.error().message;
  }
  Database& db() { return test_->db(); }

  Result<int64_t> Insert(const std::string& name, int64_t quantity) {
    return db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) {
      return tx.Execute("INSERT INTO items (name, quantity) VALUES ($1, $2)", {name, quantity});
    });
  }
  int64_t Quantity(const std::string& name) {
    auto row = db().Transact<std::optional<Row>>(TransactionMode::kRead, [&](Transaction& tx) {
      return tx.QueryOne("SELECT quantity FROM items WHERE name = $1", {name});
    });
    EXPECT_TRUE(row.ok() && row->has_value());
    return (*row)->Int(0);
  }

  std::unique_ptr<TestDatabase> test_;
};

TEST_P(StorageTest, ParametersRoundTripEveryType) {
  auto row = db().Transact<std::optional<Row>>(TransactionMode::kWrite, [](Transaction& tx) -> Result<std::optional<Row>> {
    auto inserted = tx.Execute(
        "INSERT INTO items (name, quantity, note, ratio, active) VALUES ($1, $2, $3, $4, $5)",
        {std::string("café ☕"), int64_t{9007199254740993}, nullptr, 0.25, false});
    if (!inserted.ok()) return std::move(inserted).error();
    EXPECT_EQ(*inserted, 1);
    // Placeholders used out of order and twice map to the right values on both backends.
    return tx.QueryOne("SELECT name, quantity, note, ratio, active FROM items WHERE quantity = $2 AND name = $1 AND $2 > 0",
                       {std::string("café ☕"), int64_t{9007199254740993}});
  });
  ASSERT_TRUE(row.ok()) << row.error().message;
  ASSERT_TRUE(row->has_value());
  EXPECT_EQ((*row)->Text(0), "café ☕");
  EXPECT_EQ((*row)->Int(1), 9007199254740993);
  EXPECT_TRUE((*row)->IsNull(2));
  EXPECT_DOUBLE_EQ(std::stod((*row)->Text(3)), 0.25);
  EXPECT_FALSE((*row)->Bool(4));
}

TEST_P(StorageTest, FailedWorkRollsBackEverything) {
  ASSERT_TRUE(Insert("apples", 5).ok());
  auto failed = db().Transact<Ok>(TransactionMode::kWrite, [](Transaction& tx) -> Result<Ok> {
    auto updated = tx.Execute("UPDATE items SET quantity = quantity + 10 WHERE name = 'apples'");
    EXPECT_TRUE(updated.ok());
    return Error::Conflict("stop", "the use case refused");
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, "stop");  // the work's own error comes back, unchanged
  EXPECT_EQ(Quantity("apples"), 5);
}

Result<Ok> AddApples(Database& db, int64_t quantity) {
  return db.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    auto updated = tx.Execute("UPDATE items SET quantity = quantity + $1 WHERE name = 'apples'",
                              {quantity});
    if (!updated.ok()) return std::move(updated).error();
    if (*updated != 1) return Error::Conflict("refused", "the check constraint said no");
    return Ok{};
  });
}

TEST_P(StorageTest, SharedTransactionJoinsEveryTransactInOneCommit) {
  ASSERT_TRUE(Insert("apples", 5).ok());
  const WorkStats before = db().Work();
  int runs = 0;
  const int64_t seen = db().RunShared<int64_t>([&] {
    ++runs;
    EXPECT_TRUE(AddApples(db(), 1).ok());
    EXPECT_TRUE(AddApples(db(), 2).ok());
    return Quantity("apples");  // a read joins too, and sees the uncommitted writes
  });
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(seen, 8);
  EXPECT_EQ(Quantity("apples"), 8);
  const WorkStats after = db().Work();
  EXPECT_EQ(after.transactions_total - before.transactions_total, 2);  // the shared one + the check
  EXPECT_EQ(after.joined_total - before.joined_total, 3);
  EXPECT_EQ(after.shared_fallbacks_total, before.shared_fallbacks_total);
}

TEST_P(StorageTest, SharedTransactionThatFailsRunsAgainApart) {
  ASSERT_TRUE(Insert("apples", 5).ok());
  const WorkStats before = db().Work();
  std::vector<std::string> outcomes;
  const std::string last = db().RunShared<std::string>([&] {
    outcomes.clear();
    // The first step commits on its own the ordinary way; the second is refused (it would go
    // below zero); the third runs whatever the second said.
    for (int64_t quantity : {int64_t{1}, int64_t{-100}, int64_t{3}}) {
      auto added = AddApples(db(), quantity);
      outcomes.push_back(added.ok() ? "ok" : added.error().code);
    }
    return outcomes.back();
  });
  // The shared attempt was rolled back whole and the work ran again, each step apart: the answer
  // and the data are the ordinary way's.
  const std::vector<std::string> expected = {"ok", std::string(kCheckViolation), "ok"};
  EXPECT_EQ(outcomes, expected);
  EXPECT_EQ(last, "ok");
  EXPECT_EQ(Quantity("apples"), 9);
  EXPECT_EQ(db().Work().shared_fallbacks_total - before.shared_fallbacks_total, 1);
}

TEST_P(StorageTest, ConstraintViolationsHaveStableCodes) {
  ASSERT_TRUE(Insert("pears", 1).ok());
  auto duplicate = Insert("pears", 2);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, kUniqueViolation);
  auto negative = Insert("plums", -1);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().code, kCheckViolation);
  EXPECT_EQ(Quantity("pears"), 1);
}

TEST_P(StorageTest, SqlErrorsAreValuesNotCrashes) {
  auto bad = db().Transact<QueryResult>(TransactionMode::kRead, [](Transaction& tx) {
    return tx.Query("SELECT no_such_column FROM items", {});
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, kDatabaseError);
  EXPECT_TRUE(db().Ping().ok());  // the connection is still usable afterwards
}

TEST_P(StorageTest, ConcurrentIncrementsAreNeverLost) {
  ASSERT_TRUE(Insert("counter", 0).ok());
  constexpr int kThreads = 4;
  constexpr int kIncrements = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto done = db().Transact<int64_t>(TransactionMode::kWrite, [](Transaction& tx) {
          return tx.Execute("UPDATE items SET quantity = quantity + 1 WHERE name = 'counter'");
        });
        if (!done.ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Quantity("counter"), kThreads * kIncrements);
}

TEST_P(StorageTest, ConditionalDebitNeverGoesBelowZero) {
  // The shape every never-negative rule takes: a conditional update, checked by its row count.
  ASSERT_TRUE(Insert("stock", 10).ok());
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto updated = db().Transact<int64_t>(TransactionMode::kWrite, [](Transaction& tx) {
          return tx.Execute("UPDATE items SET quantity = quantity - 3 WHERE name = 'stock' AND quantity >= 3");
        });
        if (updated.ok() && *updated == 1) ++granted;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(granted.load(), 3);
  EXPECT_EQ(Quantity("stock"), 1);
}

TEST_P(StorageTest, PoolTimesOutWhenEveryConnectionIsBusy) {
  auto small = TestDatabase::Open(GetParam(), {1, 100, 1000, 0});
  ASSERT_NE(small, nullptr);
  auto outer = small->db().Transact<Ok>(TransactionMode::kRead, [&](Transaction&) -> Result<Ok> {
    auto inner = small->db().Transact<Ok>(TransactionMode::kRead, [](Transaction&) -> Result<Ok> { return Ok{}; });
    EXPECT_FALSE(inner.ok());
    EXPECT_EQ(inner.error().code, kUnavailableCode);
    return Ok{};
  });
  EXPECT_TRUE(outer.ok());
  EXPECT_EQ(small->db().Stats().timeouts_total, 1);
}

std::vector<Migration> SampleMigrations(const std::string& second_sql) {
  return {{"sample", 1, "create a", "CREATE TABLE a (id BIGINT PRIMARY KEY)", "CREATE TABLE a (id BIGINT PRIMARY KEY)"},
          {"sample", 2, "create b", second_sql, second_sql}};
}

TEST_P(StorageTest, MigrationsApplyOnceInOrder) {
  ManualClock clock(1000);
  auto first = Migrate(db(), SampleMigrations("CREATE TABLE b (id BIGINT); INSERT INTO b VALUES (1)"), clock);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->applied.size(), 2u);
  EXPECT_EQ(first->schema_version, 2);
  auto again = Migrate(db(), SampleMigrations("CREATE TABLE b (id BIGINT); INSERT INTO b VALUES (1)"), clock);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->applied.empty());
  EXPECT_EQ(*SchemaVersion(db()), 2);
}

TEST_P(StorageTest, EditedMigrationIsRefused) {
  ManualClock clock(1000);
  ASSERT_TRUE(Migrate(db(), SampleMigrations("CREATE TABLE b (id BIGINT)"), clock).ok());
  auto edited = Migrate(db(), SampleMigrations("CREATE TABLE b (id TEXT)"), clock);
  ASSERT_FALSE(edited.ok());
  EXPECT_NE(edited.error().message.find("changed after it was applied"), std::string::npos);
}

TEST_P(StorageTest, FailingMigrationLeavesNoTrace) {
  ManualClock clock(1000);
  auto failed = Migrate(db(), SampleMigrations("CREATE TABLE b (id BIGINT); SELECT * FROM missing"), clock);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(*SchemaVersion(db()), 1);  // the first one stays, the broken one is rolled back whole
  auto fixed = Migrate(db(), SampleMigrations("CREATE TABLE b (id BIGINT)"), clock);
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_EQ(fixed->schema_version, 2);
}

TEST_P(StorageTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  ManualClock clock(1000);
  auto second = TestDatabase::Open(GetParam());  // a second "process" would use another pool
  std::vector<std::thread> threads;
  std::atomic<int> applied{0};
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      auto report = Migrate(db(), SampleMigrations("CREATE TABLE b (id BIGINT)"), clock);
      EXPECT_TRUE(report.ok()) << report.error().message;
      if (report.ok()) applied += static_cast<int>(report->applied.size());
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(applied.load(), 2);
}

TEST(StorageUrl, UnknownSchemeIsAClearError) {
  auto database = OpenDatabase("mysql://localhost/x", {});
  ASSERT_FALSE(database.ok());
  EXPECT_NE(database.error().message.find("sqlite:"), std::string::npos);
}

TEST(StorageUrl, UnreachablePostgresIsUnavailable) {
  auto database = OpenDatabase("postgres://nobody@127.0.0.1:1/none?connect_timeout=2", {});
  ASSERT_FALSE(database.ok());
  EXPECT_EQ(database.error().code, kUnavailableCode);
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const auto& param_info) { return testing::BackendParamName(param_info.param); });

}  // namespace
}  // namespace guichet::storage
