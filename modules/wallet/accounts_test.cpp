// The wallet's model: holder accounts per counter, operator accounts, thresholds, and movements
// through the ledger with their statement row, audit entry and alert. Both databases.
#include "modules/wallet/accounts.h"

#include <gtest/gtest.h>

#include "platform/audit/audit.h"
#include "platform/base/clock.h"
#include "platform/jobs/jobs.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"
#include "platform/identity/identity.h"
#include "platform/identity/machines.h"
#include "platform/sync/sync.h"
#include "tests/support/test_databases.h"

namespace guichet::wallet {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr int64_t kNow = 1'800'000'000'000;

class WalletAccountsTest : public ::testing::TestWithParam<storage::Backend> {
 public:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces : {jobs::Migrations(), orgs::Migrations(), audit::Migrations(), notify::Migrations(),
                        identity::Migrations(), identity::MachineMigrations(), ledger::Migrations(),
                        Migrations(), sync::Migrations()}) {
      for (auto& migration : pieces) all.push_back(std::move(migration));
    }
    ManualClock clock(kNow);
    auto migrated = storage::Migrate(Db(), all, clock);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    auto setup = Db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
      auto national = orgs::Create(tx, {std::nullopt, "national", "CNOUS"}, kNow);
      if (!national.ok()) return std::move(national).error();
      auto region = orgs::Create(tx, {national->id, "region", "Crous Lyon"}, kNow);
      if (!region.ok()) return std::move(region).error();
      national_ = national->id;
      region_ = region->id;
      auto inserted = tx.Execute(
          "INSERT INTO wallet_holders (organisation_id, university_id, last_name, first_name, email,"
          " language, state, opposition, last_activity_at, created_at, updated_at)"
          " VALUES ($1, 'U1', 'Durand', 'Léa', 'lea@example.org', 'fr', 'active', 'none', $2, $2, $2)",
          {region_, kNow});
      if (!inserted.ok()) return std::move(inserted).error();
      auto id = tx.QueryOne("SELECT id FROM wallet_holders WHERE university_id = 'U1'", {});
      if (!id.ok()) return std::move(id).error();
      holder_ = (*id)->Int(0);
      auto support = tx.Execute(
          "INSERT INTO wallet_supports (holder_id, number, technology, form, opposition, created_at, updated_at)"
          " VALUES ($1, 'CARD-1', 'desfire', 'physical', 'none', $2, $2)",
          {holder_, kNow});
      if (!support.ok()) return std::move(support).error();
      return Ok{};
    });
    ASSERT_TRUE(setup.ok()) << setup.error().message;
  }

  storage::Database& Db() { return test_->db(); }

  Result<MovementResult> Move(Direction direction, int64_t amount, std::string id, int64_t fee = 0,
                              std::string kind = "") {
    return Db().Transact<MovementResult>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<MovementResult> {
      auto counterpart = OperatorAccount(tx, national_, kEuro, purpose::kCardAcquirer, kNow);
      if (!counterpart.ok()) return std::move(counterpart).error();
      Movement movement;
      movement.holder_id = holder_;
      movement.direction = direction;
      movement.amount = amount;
      movement.counterpart_account_id = *counterpart;
      movement.transfer_id = id;
      movement.kind = !kind.empty() ? kind : direction == Direction::kCredit ? "reload.card" : "payment";
      movement.mode = "card";
      movement.label = "test";
      if (fee > 0) {
        auto fees = OperatorAccount(tx, national_, kEuro, purpose::kFees, kNow);
        if (!fees.ok()) return std::move(fees).error();
        movement.fee_amount = fee;
        movement.fee_account_id = *fees;
      }
      identity::Caller caller;
      caller.kind = identity::Caller::Kind::kSystem;
      return MoveHolder(tx, caller, movement, kNow);
    });
  }

  std::unique_ptr<TestDatabase> test_;
  int64_t national_ = 0, region_ = 0, holder_ = 0;
};

TEST_P(WalletAccountsTest, CreditDebitFeeAndRefusals) {
  auto credited = Move(Direction::kCredit, 3000, "t1", 100);
  ASSERT_TRUE(credited.ok()) << credited.error().message;
  EXPECT_EQ(credited->balance_after, 2900);
  auto replay = Move(Direction::kCredit, 3000, "t1", 100);
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->replayed);
  auto different = Move(Direction::kCredit, 3001, "t1", 100);
  ASSERT_FALSE(different.ok());
  EXPECT_EQ(different.error().code, code::kDuplicateOperation);
  auto too_much = Move(Direction::kDebit, 5000, "t2");
  ASSERT_FALSE(too_much.ok());
  EXPECT_EQ(too_much.error().code, code::kInsufficientFunds);
  auto over_reload = Move(Direction::kCredit, 50001, "t3r");
  ASSERT_FALSE(over_reload.ok());
  EXPECT_EQ(over_reload.error().fields.at(0).pointer, "/max_reload");
  auto over_max = Move(Direction::kCredit, 100000, "t3", 0, "transfer");
  ASSERT_FALSE(over_max.ok());
  EXPECT_EQ(over_max.error().code, code::kThresholdExceeded);
  ASSERT_EQ(over_max.error().fields.size(), 1u);
  EXPECT_EQ(over_max.error().fields[0].pointer, "/max_balance");
  auto debited = Move(Direction::kDebit, 900, "t4");
  ASSERT_TRUE(debited.ok()) << debited.error().message;
  EXPECT_EQ(debited->balance_after, 2000);

  auto check = Db().Transact<Ok>(TransactionMode::kRead, [&](Transaction& tx) -> Result<Ok> {
    auto rows = tx.Query("SELECT kind, balance_after, fee_amount FROM wallet_movements WHERE holder_id = $1"
                         " ORDER BY id",
                         {holder_});
    if (!rows.ok()) return std::move(rows).error();
    EXPECT_EQ(rows->rows.size(), 2u);
    auto account = HolderAccountFor(tx, holder_, kEuro, kNow);
    if (!account.ok()) return std::move(account).error();
    EXPECT_EQ(account->balance, 2000);
    EXPECT_TRUE(account->at_ms[0].has_value());
    auto outbox = tx.QueryOne("SELECT count(*) FROM outbox_messages WHERE template_code = 'wallet.movement'", {});
    if (!outbox.ok()) return std::move(outbox).error();
    EXPECT_EQ((*outbox)->Int(0), 2);
    return Ok{};
  });
  ASSERT_TRUE(check.ok()) << check.error().message;
  EXPECT_TRUE(ledger::CheckInvariants(Db()).ok());
}

TEST_P(WalletAccountsTest, UnknownAndInactiveCountersAndOpposition) {
  auto refused = Db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    auto unknown = HolderAccountFor(tx, holder_, "NOPE", kNow);
    EXPECT_FALSE(unknown.ok());
    if (!unknown.ok()) {
      EXPECT_EQ(unknown.error().code, code::kUnknownCounter);
    }
    auto added = tx.Execute(
        "INSERT INTO wallet_counters (code, kind, nature, token_name, information_fr, information_en,"
        " label1, label2, label3, label4, active, created_at, updated_at) VALUES ('MEAL', 'token', 'Repas',"
        " 'repas', 'x', 'x', 'D1', 'D2', 'D3', 'D4', $1, 0, 0)",
        {false});
    if (!added.ok()) return std::move(added).error();
    auto inactive = HolderAccountFor(tx, holder_, "MEAL", kNow);
    EXPECT_FALSE(inactive.ok());
    if (!inactive.ok()) {
      EXPECT_EQ(inactive.error().code, code::kCounterInactive);
    }
    auto opposed = tx.Execute("UPDATE wallet_holders SET opposition = 'temporary' WHERE id = $1", {holder_});
    if (!opposed.ok()) return std::move(opposed).error();
    return Ok{};
  });
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  auto blocked = Move(Direction::kCredit, 100, "o1");
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().code, code::kHolderOpposed);
}

TEST_P(WalletAccountsTest, ThresholdsPerSupportType) {
  auto loaded = Db().Transact<Thresholds>(TransactionMode::kRead,
                                          [&](Transaction& tx) { return LoadThresholds(tx); });
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(CheckTransactionAmount(*loaded, "desfire", 5000).ok());
  auto over = CheckTransactionAmount(*loaded, "desfire", 5001);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().fields[0].pointer, "/max_transaction");
  auto reload = CheckReloadAmount(*loaded, 50001);
  ASSERT_FALSE(reload.ok());
  EXPECT_EQ(reload.error().fields[0].pointer, "/max_reload");
  EXPECT_EQ(loaded->qr_lifetime_s, 300);
}

INSTANTIATE_TEST_SUITE_P(Backends, WalletAccountsTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const ::testing::TestParamInfo<storage::Backend>& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::wallet
