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
#include "modules/wallet/pos_test_support.h"
#include "tests/support/test_databases.h"

namespace guichet::wallet {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using testing_pos::kStart;

class SettlementTest : public testing_pos::PosFixture {
 public:
  void SetUp() override {
    PosFixture::SetUp();
    settlements_ = std::make_unique<Settlements>(
        *pos_, SettlementOptions{{"CROUS Grenoble", "FR7630006000011234567890189", "AGRIFRPP"},
                                 "Guichet"});
    reconciliations_ = std::make_unique<Reconciliations>(*pos_);
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

  std::unique_ptr<Settlements> settlements_;
  std::unique_ptr<Reconciliations> reconciliations_;
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
  EXPECT_EQ(Takings(merchant_.organisation_id), 0);
  // Each point's own sales account was swept, not just the sum.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_point_accounts p JOIN ledger_accounts a ON a.id ="
                  " p.ledger_account_id WHERE p.ledger = 'EUR' AND a.credits_posted <> a.debits_posted",
                  {}),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_point_accounts WHERE ledger = 'EUR'", {}), 2);
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
  // The JSON carries the totals of both sides and the matched lines, as the PDF and XML do.
  const boost::json::object json = ReconciliationJson(*again);
  ASSERT_EQ(json.at("point_totals").as_array().size(), 1u);
  EXPECT_EQ(json.at("point_totals").as_array()[0].as_object().at("acknowledged_amount"), 800);
  EXPECT_EQ(json.at("service_totals").as_array()[0].as_object().at("acknowledged_amount"), 950);
  EXPECT_EQ(json.at("service_totals").as_array()[0].as_object().at("count"), 3);
  ASSERT_EQ(json.at("matched_lines").as_array().size(), 1u);
  EXPECT_EQ(json.at("matched_lines").as_array()[0].as_object().at("point_txn_id"), "r1");
  EXPECT_EQ(json.at("matched_lines_truncated"), false);
  EXPECT_FALSE(ReconciliationJson(*again, false).contains("matched_lines"));
  // The schedule reads back as set; never set, it reads disabled.
  auto unset = reconciliations_->GetSchedule(admin_, merchant_.organisation_id);
  ASSERT_TRUE(unset.ok());
  EXPECT_FALSE(unset->enabled);
  ASSERT_TRUE(reconciliations_->SetSchedule(admin_, merchant_.organisation_id, true, 21).ok());
  auto set = reconciliations_->GetSchedule(admin_, merchant_.organisation_id);
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->enabled);
  EXPECT_EQ(set->hour_paris, 21);
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

// Paying chosen runs: a run out of scope or not to pay refuses the whole choice with nothing
// paid; the chosen run alone is paid; transfer files list newest first, a page at a time.
TEST_P(SettlementTest, W19_chosen_runs_are_paid_alone_and_transfer_files_are_listed) {
  const Merchant other = MakeMerchant("Laverie");
  Sale(501, "t1", 1000);
  clock_.Advance(3'600'000);
  const SettlementRun first = Run().run;
  clock_.Advance(3'600'000);
  Sale(501, "t2", 500);
  clock_.Advance(30 * kDayMs);  // the next run covers one settlement period
  const SettlementRun second = Run().run;
  ASSERT_EQ(first.state, "to_pay");
  ASSERT_EQ(second.state, "to_pay");
  const int64_t payable = Operator(merchant_.organisation_id, purpose::kSettlementPayable);
  const auto code = [](const Result<SettlementTransferBatch>& r) {
    return r.ok() ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(code(settlements_->ExportTransfers(admin_, {second.id, 999999})),
            "settlement_not_found");
  const identity::Caller other_manager =
      Staff(8,
            orgs::Organisation{other.organisation_id, region_.id, "merchant", "",
                               fmt::format("{}{}/", region_.path, other.organisation_id)},
            {std::string(right::kSettlementsManage)});
  EXPECT_EQ(code(settlements_->ExportTransfers(other_manager, {second.id})),
            "settlement_not_found");
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSettlementPayable), payable);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_settlement_transfer_files", {}), 0);

  auto chosen = settlements_->ExportTransfers(admin_, {second.id});
  ASSERT_TRUE(chosen.ok()) << chosen.error().message;
  EXPECT_EQ(chosen->runs, 1);
  EXPECT_EQ(chosen->total_cents, second.payable_cents);
  EXPECT_EQ(settlements_->Get(admin_, first.id)->run.state, "to_pay");
  EXPECT_EQ(settlements_->Get(admin_, second.id)->run.state, "paid");
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSettlementPayable),
            payable - second.payable_cents);
  // Paid already, or paid meanwhile: the whole choice is refused.
  EXPECT_EQ(code(settlements_->ExportTransfers(admin_, {first.id, second.id})),
            "settlement_not_to_pay");
  EXPECT_EQ(settlements_->Get(admin_, first.id)->run.state, "to_pay");

  clock_.Advance(1000);
  auto rest = settlements_->ExportTransfers(admin_);
  ASSERT_TRUE(rest.ok()) << rest.error().message;
  EXPECT_EQ(rest->runs, 1);

  auto listed = settlements_->ListTransfers(admin_, std::nullopt, 20);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].batch.id, rest->id);
  EXPECT_EQ((*listed)[1].batch.id, chosen->id);
  ASSERT_EQ((*listed)[1].runs.size(), 1u);
  EXPECT_EQ((*listed)[1].runs[0].id, second.id);
  EXPECT_EQ((*listed)[1].runs[0].statement_id, second.statement_id);
  EXPECT_EQ((*listed)[1].runs[0].payable_cents, second.payable_cents);
  ASSERT_EQ((*listed)[0].runs.size(), 1u);
  EXPECT_EQ((*listed)[0].runs[0].id, first.id);
  auto page = settlements_->ListTransfers(admin_, rest->id, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].batch.id, chosen->id);
  auto none = settlements_->ListTransfers(other_manager, std::nullopt, 20);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(ledger::CheckInvariants(test_->db()).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, SettlementTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const ::testing::TestParamInfo<storage::Backend>& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace guichet::wallet
