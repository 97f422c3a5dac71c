// Settlement runs on both databases: a run covers each acknowledged transaction once, two
// runs never overlap, a run's figures never change (regeneration makes new documents only),
// a negative net is carried forward into the next run, the statement adds up to the cent
// against the ledger, paying by pain.001 empties the payable account, and another merchant's
// staff sees nothing. The device side is a Caller of kind device linked to the point directly.
#include "modules/wallet/settlement.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "modules/wallet/reconciliation.h"
#include "platform/audit/audit.h"
#include "platform/base/clock.h"
#include "platform/documents/testing.h"
#include "platform/identity/identity.h"
#include "platform/jobs/jobs.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"
#include "platform/sync/sync.h"
#include "tests/support/test_databases.h"

namespace guichet::wallet {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr int64_t kStart = 1'800'000'000'000;
constexpr std::string_view kIban = "FR7630006000011234567890189";

class SettlementTest : public ::testing::TestWithParam<storage::Backend> {
 public:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces :
         {jobs::Migrations(), orgs::Migrations(), audit::Migrations(), notify::Migrations(),
          identity::Migrations(), identity::MachineMigrations(), ledger::Migrations(), Migrations(),
          PosMigrations(), SettlementMigrations(), ReconciliationMigrations(), sync::Migrations()}) {
      for (auto& migration : pieces) all.push_back(std::move(migration));
    }
    auto migrated = storage::Migrate(test_->db(), all, clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    catalog_.AddPermission({"identity.orgs.read", "x"});
    catalog_.AddPermission({"identity.devices.manage", "x"});
    catalog_.AddPermission({"devices.self", "x"});
    DeclarePermissions(catalog_);
    DeclarePosPermissions(catalog_);
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
    settlements_ = std::make_unique<Settlements>(
        *pos_, SettlementOptions{{"CROUS Grenoble", "FR7630006000011234567890189", "AGRIFRPP"},
                                 "Guichet"});
    reconciliations_ = std::make_unique<Reconciliations>(*pos_);
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

  // Debit held then positively acknowledged at `device`.
  void Sale(int64_t device, const std::string& txn, int64_t amount) {
    ASSERT_EQ(Code(pos_->Operate(Device(device), Debit(txn, amount))), "ok");
    ASSERT_TRUE(pos_->Acknowledge(Device(device), txn, true, clock_.NowMs()).ok());
  }

  void Cancel(int64_t device, const std::string& txn, const std::string& original) {
    PointOperation cancel;
    cancel.operation = PosOperation::kCancel;
    cancel.point_txn_id = txn;
    cancel.cancels_point_txn_id = original;
    cancel.point_at_ms = clock_.NowMs();
    ASSERT_EQ(Code(pos_->Operate(Device(device), cancel)), "ok");
  }

  void CashPack(int64_t device, const std::string& txn, int64_t amount) {
    PointOperation cash = Debit(txn, amount);
    cash.operation = PosOperation::kCashReload;
    ASSERT_EQ(Code(pos_->Operate(Device(device), cash)), "ok");
  }

  SettlementRunDetail Run(const std::string& expect = "ok") {
    auto run = settlements_->RunMerchant(admin_, merchant_.organisation_id, std::nullopt);
    EXPECT_EQ(run.ok() ? "ok" : run.error().code, expect);
    return run.ok() ? *run : SettlementRunDetail{};
  }

  int64_t Count(const std::string& sql, const storage::Params& params) {
    auto count = test_->db().Transact<int64_t>(TransactionMode::kRead,
                                               [&](Transaction& tx) -> Result<int64_t> {
                                                 auto row = tx.QueryOne(sql, params);
                                                 if (!row.ok()) return std::move(row).error();
                                                 return (*row)->Int(0);
                                               });
    EXPECT_TRUE(count.ok());
    return count.ok() ? *count : -1;
  }

  int64_t credits_ = 0;
  ManualClock clock_{kStart};
  identity::RightsCatalog catalog_;
  identity::Authorizer authorizer_{catalog_};
  std::unique_ptr<TestDatabase> test_;
  std::unique_ptr<Wallet> wallet_;
  std::unique_ptr<identity::Machines> machines_;
  std::unique_ptr<Pos> pos_;
  std::unique_ptr<Settlements> settlements_;
  std::unique_ptr<Reconciliations> reconciliations_;
  identity::Caller system_, admin_;
  orgs::Organisation national_, region_;
  Merchant merchant_;
  Point point_;
  int64_t holder_ = 0;
};

// Two points, debits, a cancellation and a cash pack: one run covers each transaction once and
// its statement adds up to the cent against the ledger.
TEST_P(SettlementTest, W19_a_run_covers_each_transaction_once_and_matches_the_ledger) {
  const Point second = MakePoint(merchant_, "P2", {"debit", "cancel"}, false, 502);
  Sale(501, "t1", 1000);
  Sale(502, "t2", 600);
  Sale(501, "t3", 400);
  Cancel(501, "c3", "t3");
  CashPack(501, "k1", 1000);
  ASSERT_EQ(Code(pos_->Operate(Device(501), Debit("t4", 100))), "ok");  // held, never acked
  clock_.Advance(3'600'000);
  const SettlementRunDetail run = Run();
  const SettlementRun& r = run.run;
  EXPECT_EQ(r.seq, 1);
  EXPECT_EQ(r.statement_id, fmt::format("STL-{}-1", merchant_.organisation_id));
  EXPECT_EQ(r.totals.debits_cents, 2000);
  EXPECT_EQ(r.totals.cancellations_cents, 400);
  EXPECT_EQ(r.totals.commission_cents, 24);  // 1.5 % of 16 €
  EXPECT_EQ(r.totals.cash_reloads_cents, 1000);
  EXPECT_EQ(r.net_cents, 2000 - 400 - 24 - 1000);
  EXPECT_EQ(r.payable_cents, 576);
  EXPECT_EQ(r.carried_forward_cents, 0);
  EXPECT_EQ(r.state, "to_pay");
  ASSERT_EQ(run.points.size(), 2u);
  EXPECT_EQ(run.points[0].point_id, point_.id);
  EXPECT_EQ(run.points[1].point_id, second.id);
  EXPECT_EQ(run.points[0].amounts.net_cents + run.points[1].amounts.net_cents, r.net_cents);
  // Each acknowledged transaction once (t1, t2, t3, its cancellation, the cash pack); the
  // pending t4 not at all.
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM wallet_settlement_run_transactions WHERE run_id = $1", {r.id}),
      5);
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM wallet_pos_transactions WHERE settlement_run_id = $1", {r.id}),
      5);
  // The ledger: the sales and cash accounts are emptied, the commission reached the region,
  // the payable account holds the net.
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSales), 0);
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kCash), 0);
  EXPECT_EQ(Operator(region_.id, purpose::kCommission), r.totals.commission_cents);
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSettlementPayable), r.payable_cents);
  EXPECT_TRUE(ledger::CheckInvariants(test_->db()).ok());
  // The statement the documents are made from is the stored one, to the cent.
  auto statement = test_->db().Transact<SettlementStatement>(
      TransactionMode::kRead, [&](Transaction& tx) { return settlements_->Recompute(tx, r.id); });
  ASSERT_TRUE(statement.ok());
  EXPECT_TRUE(SettlementAddsUp(*statement));
  EXPECT_EQ(statement->payable_cents,
            Operator(merchant_.organisation_id, purpose::kSettlementPayable));
  // The merchant gets its statements by e-mail, through the outbox.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox_messages WHERE template_code ="
                  " 'wallet.settlement_statement' AND recipient = 'contact@cafet.example'",
                  {}),
            1);
  // A second run right away is refused, and nothing was applied.
  Run("settlement_not_due");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_settlement_runs", {}), 1);
}

TEST_P(SettlementTest, W19_a_negative_net_is_carried_into_the_next_run_and_runs_never_overlap) {
  CashPack(501, "k1", 1000);
  clock_.Advance(3'600'000);
  const SettlementRun first = Run().run;
  EXPECT_EQ(first.net_cents, -1000);
  EXPECT_EQ(first.payable_cents, 0);
  EXPECT_EQ(first.carried_forward_cents, 1000);
  EXPECT_EQ(first.state, "nothing_to_pay");
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSettlementPayable), -1000);
  clock_.Advance(3'600'000);
  Sale(501, "t1", 1500);
  clock_.Advance(24 * 3'600'000);
  Run("settlement_not_due");  // the merchant is settled every 30 days
  clock_.Advance(30 * kDayMs);
  const SettlementRunDetail second = Run();
  const SettlementRun& s = second.run;
  EXPECT_EQ(s.seq, 2);
  EXPECT_EQ(s.period_start_ms, first.period_end_ms);  // no gap, no overlap
  EXPECT_EQ(s.period_end_ms, first.period_end_ms + 30 * kDayMs);
  EXPECT_EQ(s.brought_forward_cents, 1000);
  EXPECT_EQ(s.totals.transactions, 1);
  EXPECT_EQ(s.totals.commission_cents, 23);  // 22.5 rounded half up
  EXPECT_EQ(s.net_cents, 1500 - 23 - 1000);
  EXPECT_EQ(s.payable_cents, 477);
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSettlementPayable), 477);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_settlement_run_transactions WHERE run_id = $1",
                  {first.id}),
            1);
  EXPECT_TRUE(ledger::CheckInvariants(test_->db()).ok());
  // A transaction cannot be settled twice: the database refuses it.
  auto twice = test_->db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) {
    return tx.Execute(
        "INSERT INTO wallet_settlement_run_transactions (transaction_id, run_id)"
        " SELECT transaction_id, CAST($1 AS BIGINT) FROM wallet_settlement_run_transactions"
        " WHERE run_id = $2",
        {s.id, first.id});
  });
  EXPECT_FALSE(twice.ok());
}

TEST_P(SettlementTest, W19_regenerating_keeps_the_figures_and_a_paid_run_stays_paid) {
  Sale(501, "t1", 1000);
  clock_.Advance(3'600'000);
  const SettlementRun run = Run().run;
  auto pdf = settlements_->Document(admin_, run.id, SettlementDocument::kStatementPdf);
  ASSERT_TRUE(pdf.ok()) << pdf.error().message;
  EXPECT_NE(documents::testing::PdfText(pdf->body).find(run.statement_id), std::string::npos);
  auto point_pdf = settlements_->Document(admin_, run.id, SettlementDocument::kPointPdf, point_.id);
  ASSERT_TRUE(point_pdf.ok());
  auto missing = settlements_->Document(admin_, run.id, SettlementDocument::kPointPdf, 999999);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "settlement_point_not_found");
  auto csv = settlements_->Document(admin_, run.id, SettlementDocument::kJournalCsv);
  ASSERT_TRUE(csv.ok());
  clock_.Advance(60'000);
  auto regenerated = settlements_->Regenerate(admin_, run.id, "logo changed");
  ASSERT_TRUE(regenerated.ok()) << regenerated.error().message;
  EXPECT_EQ(regenerated->run.document_version, 2);
  ASSERT_EQ(regenerated->versions.size(), 2u);
  EXPECT_EQ(regenerated->versions[1].reason, "logo changed");
  EXPECT_EQ(regenerated->run.net_cents, run.net_cents);
  EXPECT_EQ(regenerated->run.payable_cents, run.payable_cents);
  EXPECT_EQ(regenerated->run.totals.commission_cents, run.totals.commission_cents);
  // Paying: one pain.001 file, valid against the EPC schema; the run is paid, the payable
  // account emptied into the outgoing transfers.
  auto batch = settlements_->ExportTransfers(admin_);
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  EXPECT_EQ(batch->runs, 1);
  EXPECT_EQ(batch->total_cents, run.payable_cents);
  auto file = settlements_->TransferFile(admin_, batch->id);
  ASSERT_TRUE(file.ok());
  const auto valid = documents::testing::ValidateXml(
      file->body, "tests/schemas/EPC132-08_2023_V1.0_pain.001.001.09.xsd");
  EXPECT_EQ(valid.status, 0) << valid.output;
  EXPECT_NE(file->body.find(run.statement_id), std::string::npos);
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSettlementPayable), 0);
  EXPECT_EQ(Operator(region_.id, purpose::kMerchantTransfers), run.payable_cents);
  auto paid = settlements_->Get(admin_, run.id);
  ASSERT_TRUE(paid.ok());
  EXPECT_EQ(paid->run.state, "paid");
  EXPECT_EQ(paid->run.transfer_file_id, batch->id);
  // Regenerating a paid run changes nothing that was paid; nothing is left to pay.
  auto again = settlements_->Regenerate(admin_, run.id, "copy for the accountant");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->run.state, "paid");
  EXPECT_EQ(again->run.payable_cents, run.payable_cents);
  auto nothing = settlements_->ExportTransfers(admin_);
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.error().code, "settlement_nothing_to_pay");
  EXPECT_TRUE(ledger::CheckInvariants(test_->db()).ok());
}

TEST_P(SettlementTest, W19_a_merchant_sees_its_own_runs_only) {
  const Merchant other = MakeMerchant("Laverie");
  Sale(501, "t1", 500);
  clock_.Advance(3'600'000);
  const SettlementRun run = Run().run;
  const auto staff_of = [&](const Merchant& m) {
    return Staff(7,
                 orgs::Organisation{m.organisation_id, region_.id, "merchant", "",
                                    fmt::format("{}{}/", region_.path, m.organisation_id)},
                 {std::string(right::kSettlementsRead)});
  };
  auto own = settlements_->Get(staff_of(merchant_), run.id);
  ASSERT_TRUE(own.ok());
  auto theirs = settlements_->Get(staff_of(other), run.id);
  ASSERT_FALSE(theirs.ok());
  EXPECT_EQ(theirs.error().code, "settlement_not_found");
  auto document =
      settlements_->Document(staff_of(other), run.id, SettlementDocument::kStatementPdf);
  ASSERT_FALSE(document.ok());
  EXPECT_EQ(document.error().code, "settlement_not_found");
  auto list = settlements_->List(staff_of(other), std::nullopt);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  // Reading is not running: a merchant cannot run a settlement.
  auto run_by_merchant =
      settlements_->RunMerchant(staff_of(merchant_), merchant_.organisation_id, std::nullopt);
  ASSERT_FALSE(run_by_merchant.ok());
  EXPECT_EQ(run_by_merchant.error().code, "merchant_not_found");
}

TEST_P(SettlementTest, W19_the_daily_job_runs_merchants_once_their_period_has_passed) {
  Sale(501, "t1", 700);
  clock_.Advance(3'600'000);
  auto none = settlements_->RunDue();
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(*none, 0);
  clock_.Advance(31 * kDayMs);
  auto due = settlements_->RunDue();
  ASSERT_TRUE(due.ok()) << due.error().message;
  EXPECT_EQ(*due, 1);
  auto runs = settlements_->List(admin_, merchant_.organisation_id);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(runs->at(0).totals.debits_cents, 700);
  EXPECT_EQ(*settlements_->RunDue(), 0);  // the next period has not passed
}

// W18: the point's own list against the service's; the report is kept and made again identically.
TEST_P(SettlementTest, W18_a_point_reconciles_its_list_with_one_difference_and_one_missing) {
  const Point till = MakePoint(merchant_, "P3", {"debit", "reconciliation"}, false, 503);
  const int64_t start = clock_.NowMs();
  Sale(503, "r1", 300);
  Sale(503, "r2", 450);
  Sale(503, "r3", 200);
  ReconciliationRequest request;
  request.range_start_ms = start;
  request.range_end_ms = clock_.NowMs() + 1000;
  request.transactions = {{"r1", "debit", "EUR", 300, "acknowledged", start},
                          {"r2", "debit", "EUR", 500, "acknowledged", start}};
  auto stored = reconciliations_->ReconcileNow(Device(503), request);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  const ReconciliationReport& report = stored->report;
  EXPECT_FALSE(report.reconciled());
  EXPECT_EQ(report.matched.size(), 1u);
  ASSERT_EQ(report.differing.size(), 1u);
  EXPECT_EQ(report.differing[0].point.point_txn_id, "r2");
  EXPECT_EQ(report.differing[0].differences, std::vector<std::string>{"amount"});
  ASSERT_EQ(report.missing_at_point.size(), 1u);
  EXPECT_EQ(report.missing_at_point[0].point_txn_id, "r3");
  auto again = reconciliations_->Get(admin_, stored->id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ReconciliationXml(again->report, again->generated_at_ms),
            ReconciliationXml(report, stored->generated_at_ms));
  // A point without the permission is refused; another point cannot read the report.
  auto refused = reconciliations_->ReconcileNow(Device(501), request);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "permission_denied");
  MakePoint(merchant_, "P4", {"reconciliation"}, false, 504);
  auto other = reconciliations_->GetForPoint(Device(504), stored->id);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "reconciliation_not_found");
  EXPECT_TRUE(reconciliations_->GetForPoint(Device(503), stored->id).ok());
  EXPECT_EQ(till.id, stored->point_id);
}

// W18: an upload waits for the merchant's hour, then the job reconciles it and mails the report.
TEST_P(SettlementTest, W18_the_schedule_reconciles_uploads_once_a_day) {
  MakePoint(merchant_, "P3", {"debit", "reconciliation"}, false, 503);
  const int64_t start = clock_.NowMs();
  Sale(503, "r1", 300);
  ReconciliationRequest request{
      start, clock_.NowMs() + 1000, {{"r1", "debit", "EUR", 300, "acknowledged", start}}};
  ASSERT_TRUE(reconciliations_->Upload(Device(503), request).ok());
  auto none = reconciliations_->RunScheduled();
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(*none, 0);  // no schedule yet
  ASSERT_TRUE(reconciliations_->SetSchedule(admin_, merchant_.organisation_id, true, 0).ok());
  auto made = reconciliations_->RunScheduled();
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(*made, 1);
  EXPECT_EQ(*reconciliations_->RunScheduled(), 0);  // done for today
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox_messages WHERE template_code ="
                  " 'wallet.reconciliation_report'",
                  {}),
            1);
  auto list = reconciliations_->List(admin_, Count("SELECT MAX(id) FROM wallet_points", {}));
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE(list->at(0).report.reconciled());
  EXPECT_EQ(list->at(0).source, "schedule");
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, SettlementTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const ::testing::TestParamInfo<storage::Backend>& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace guichet::wallet
