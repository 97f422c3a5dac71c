// The test fixture of the acceptance network's storage tests (pos, fraud, settlement): every
// table the wallet's points use migrated on one backend, a national body and a region, a
// regional admin holding every point right, a merchant with one approved point operated by
// device 501 (linked directly, as a pairing would), the MEAL token counter and a holder "ana"
// with 20 € on card CARD-ana; and the helpers the tests share to move money and read it back.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "modules/wallet/fraud.h"
#include "modules/wallet/pos.h"
#include "modules/wallet/qr_codes.h"
#include "modules/wallet/reconciliation.h"
#include "modules/wallet/settlement.h"
#include "platform/audit/audit.h"
#include "platform/base/clock.h"
#include "platform/identity/identity.h"
#include "platform/jobs/jobs.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"
#include "platform/sync/sync.h"
#include "tests/support/test_databases.h"

namespace guichet::wallet::testing_pos {

using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

inline constexpr int64_t kStart = 1'800'000'000'000;
inline constexpr std::string_view kIban = "FR7630006000011234567890189";

// A merchant's takings not yet settled: its sales account plus each of its points' own
// (PointSalesAccount), credits minus debits (posted).
inline Result<int64_t> MerchantTakings(Transaction& tx, int64_t merchant_org_id,
                                       const std::string& counter, int64_t now_ms) {
  auto points = tx.Query(
      "SELECT a.ledger_account_id FROM wallet_point_accounts a JOIN wallet_points p ON"
      " p.id = a.point_id WHERE p.merchant_org_id = $1 AND a.ledger = $2",
      {merchant_org_id, counter});
  if (!points.ok()) return std::move(points).error();
  auto merchant = OperatorAccount(tx, merchant_org_id, counter, purpose::kSales, now_ms);
  if (!merchant.ok()) return std::move(merchant).error();
  std::vector<int64_t> accounts{*merchant};
  for (const storage::Row& row : points->rows) accounts.push_back(row.Int(0));
  int64_t total = 0;
  for (const int64_t id : accounts) {
    auto account = ledger::LookupAccount(tx, id);
    if (!account.ok()) return std::move(account).error();
    total += (*account)->CreditBalance();
  }
  return total;
}

class PosFixture : public ::testing::TestWithParam<storage::Backend> {
 public:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces : {jobs::Migrations(), orgs::Migrations(), audit::Migrations(),
                        notify::Migrations(), identity::Migrations(), identity::MachineMigrations(),
                        ledger::Migrations(), Migrations(), QrMigrations(), PosMigrations(),
                        SettlementMigrations(), ReconciliationMigrations(), sync::Migrations(),
                        FraudMigrations()}) {
      for (auto& migration : pieces) all.push_back(std::move(migration));
    }
    auto migrated = storage::Migrate(test_->db(), all, clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    catalog_.AddPermission({"identity.orgs.read", "x"});
    catalog_.AddPermission({"identity.devices.manage", "x"});
    catalog_.AddPermission({"devices.self", "x"});
    DeclarePermissions(catalog_);
    DeclarePosPermissions(catalog_);
    DeclareFraudPermissions(catalog_);
    DeclareSettlementPermissions(catalog_);
    DeclareReconciliationPermissions(catalog_);
    WalletOptions options;
    options.password_hash = {1, 8192};
    wallet_ = std::make_unique<Wallet>(test_->db(), clock_, authorizer_, options);
    machines_ = std::make_unique<identity::Machines>(test_->db(), clock_, authorizer_);
    PosOptions pos_options;
    pos_options.iban_key = IbanKeyFromSecret("00112233445566778899aabbccddeeff");
    pos_options.hold_s = 120;
    pos_ = std::make_unique<Pos>(*wallet_, *machines_, pos_options);
    system_.kind = identity::Caller::Kind::kSystem;
    auto tree = test_->db().Transact<std::pair<orgs::Organisation, orgs::Organisation>>(
        TransactionMode::kWrite,
        [&](Transaction& tx) -> Result<std::pair<orgs::Organisation, orgs::Organisation>> {
          auto national = orgs::Create(tx, {std::nullopt, "national", "CNOUS"}, kStart);
          if (!national.ok()) return std::move(national).error();
          auto region = orgs::Create(tx, {national->id, "region", "Crous Grenoble Alpes"}, kStart);
          if (!region.ok()) return std::move(region).error();
          return std::pair{*national, *region};
        });
    ASSERT_TRUE(tree.ok());
    national_ = tree->first;
    region_ = tree->second;
    admin_ = Staff(1, region_,
                   {std::string(right::kMerchantsManage), std::string(right::kPointsRead),
                    std::string(right::kPointsManage), std::string(right::kPointsApprove),
                    std::string(right::kPointsOppose), std::string(right::kPosTestAccount),
                    std::string(right::kSettlementsRead), std::string(right::kSettlementsManage),
                    std::string(right::kReconciliationsManage)});
    DefineMeals();
    merchant_ = MakeMerchant("Cafet Diderot");
    point_ = MakePoint(
        merchant_, "P1",
        {"clock_check", "debit", "cancel", "cash_reload", "offline", "load:MEAL", "debit:MEAL"},
        false, 501);
    holder_ = MakeHolder("ana", 2000);
  }

  identity::Caller Staff(int64_t id, const orgs::Organisation& org,
                         std::set<std::string> permissions) {
    identity::Caller caller;
    caller.kind = identity::Caller::Kind::kUser;
    caller.id = id;
    identity::Grant grant;
    grant.organisation_id = org.id;
    grant.organisation_path = org.path;
    grant.permissions = std::move(permissions);
    caller.grants.push_back(grant);
    return caller;
  }

  identity::Caller Device(int64_t id) {
    identity::Caller caller;
    caller.kind = identity::Caller::Kind::kDevice;
    caller.id = id;
    return caller;
  }

  Merchant MakeMerchant(const std::string& name) {
    NewMerchant request{region_.id, name, std::string(kIban), "AGRIFRPP", "contact@cafet.example",
                        150,        30};
    auto made = pos_->CreateMerchant(admin_, request);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return made.ok() ? *made : Merchant{};
  }

  // A point approved and operated by device `device_id` (linked directly, as a pairing would).
  Point MakePoint(const Merchant& merchant, const std::string& id,
                  std::vector<std::string> permissions, bool is_test, int64_t device_id) {
    NewPoint request{merchant.organisation_id,
                     id,
                     "Crous-UG-RU-Diderot-Caisse1",
                     "1 rue Diderot, Grenoble",
                     "till",
                     std::move(permissions),
                     is_test};
    auto made = pos_->CreatePoint(admin_, request);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    if (!made.ok()) return {};
    auto linked =
        test_->db().Transact<bool>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<bool> {
          GUICHET_TRY_STATUS(tx.Execute(
              "UPDATE wallet_points SET state = 'approved', device_id = $1 WHERE id = $2",
              {device_id, made->id}));
          return true;
        });
    EXPECT_TRUE(linked.ok());
    return *pos_->GetPoint(admin_, made->id);
  }

  int64_t MakeHolder(const std::string& name, int64_t euros_cents) {
    NewHolder holder;
    holder.organisation_id = region_.id;
    holder.university_id = "U-" + name;
    holder.last_name = "Durand";
    holder.first_name = name;
    holder.email = name + "@example.org";
    holder.supports = {{"CARD-" + name, "desfire", false}};
    auto created = wallet_->CreateHolder(system_, holder);
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().message);
    if (euros_cents > 0) Credit(created->id, std::string(kEuro), euros_cents);
    return created->id;
  }

  void Credit(int64_t holder_id, const std::string& counter, int64_t amount) {
    auto moved = test_->db().Transact<MovementResult>(
        TransactionMode::kWrite, [&](Transaction& tx) -> Result<MovementResult> {
          auto source =
              OperatorAccount(tx, region_.id, counter, purpose::kSuspense, clock_.NowMs());
          if (!source.ok()) return std::move(source).error();
          Movement movement;
          movement.holder_id = holder_id;
          movement.counter = counter;
          movement.amount = amount;
          movement.counterpart_account_id = *source;
          movement.transfer_id = fmt::format("credit-{}-{}-{}", holder_id, counter, ++credits_);
          movement.kind = "correction";
          movement.mode = "api";
          return MoveHolder(tx, system_, movement, clock_.NowMs());
        });
    ASSERT_TRUE(moved.ok()) << moved.error().message;
  }

  HolderAccount Account(int64_t holder_id, const std::string& counter = std::string(kEuro)) {
    auto account = test_->db().Transact<HolderAccount>(
        TransactionMode::kWrite,
        [&](Transaction& tx) { return HolderAccountFor(tx, holder_id, counter, clock_.NowMs()); });
    EXPECT_TRUE(account.ok());
    return account.ok() ? *account : HolderAccount{};
  }

  // The merchant's takings not yet settled (MerchantTakings).
  int64_t Takings(int64_t merchant_org_id, const std::string& counter = std::string(kEuro)) {
    auto balance = test_->db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) {
      return MerchantTakings(tx, merchant_org_id, counter, clock_.NowMs());
    });
    EXPECT_TRUE(balance.ok());
    return balance.ok() ? *balance : -1;
  }

  // Credits minus debits (posted) of an operator account.
  int64_t Operator(int64_t org_id, std::string_view purpose,
                   const std::string& counter = std::string(kEuro)) {
    auto balance = test_->db().Transact<int64_t>(
        TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
          auto id = OperatorAccount(tx, org_id, counter, purpose, clock_.NowMs());
          if (!id.ok()) return std::move(id).error();
          auto account = ledger::LookupAccount(tx, *id);
          if (!account.ok()) return std::move(account).error();
          return (*account)->CreditBalance();
        });
    EXPECT_TRUE(balance.ok());
    return balance.ok() ? *balance : -1;
  }

  PointOperation Debit(const std::string& txn, int64_t amount,
                       const std::string& support = "CARD-ana") {
    PointOperation op;
    op.point_txn_id = txn;
    op.operation = PosOperation::kDebit;
    op.amount = amount;
    op.point_at_ms = clock_.NowMs();
    op.payer.support_number = support;
    return op;
  }

  void DefineMeals() {
    CounterInput meal;
    meal.code = "MEAL";
    meal.nature = "Repas";
    meal.token_name = "repas";
    meal.information_fr = "x";
    meal.information_en = "x";
    meal.active = true;
    ASSERT_TRUE(wallet_->DefineCounter(system_, meal).ok());
  }

  std::string Code(const Result<PointOperationResult>& result) {
    return result.ok() ? "ok" : result.error().code;
  }

  int64_t credits_ = 0;
  ManualClock clock_{kStart};
  identity::RightsCatalog catalog_;
  identity::Authorizer authorizer_{catalog_};
  std::unique_ptr<TestDatabase> test_;
  std::unique_ptr<Wallet> wallet_;
  std::unique_ptr<identity::Machines> machines_;
  std::unique_ptr<Pos> pos_;
  identity::Caller system_, admin_;
  orgs::Organisation national_, region_;
  Merchant merchant_;
  Point point_;
  int64_t holder_ = 0;
};

}  // namespace guichet::wallet::testing_pos
