// Merchants' fee schedules on both databases: a run bills the schedule in force (per run, per
// debit, per active point and month, prorated), moves the fees from the merchant's sales account
// to the region's fees account, and the ledger equals the statement to the cent; a later change
// never alters a past run (regeneration keeps its figures) and applies to the next one; bad
// schedules are refused with their own code and nothing applied; another region's admin and the
// merchant itself cannot set them.
#include "modules/wallet/settlement_fees.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "modules/wallet/pos_test_support.h"
#include "modules/wallet/settlement.h"
#include "platform/banking/calendar.h"
#include "platform/ledger/ledger.h"
#include "tests/support/test_databases.h"

namespace guichet::wallet {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using testing_pos::kStart;

class SettlementFeesTest : public testing_pos::PosFixture {
 public:
  void SetUp() override {
    PosFixture::SetUp();
    settlements_ = std::make_unique<Settlements>(
        *pos_, SettlementOptions{{"CROUS Grenoble", "FR7630006000011234567890189", "AGRIFRPP"},
                                 "Guichet"});
  }

  std::string Today() { return banking::FormatDate(banking::ParisDate(clock_.NowMs())); }

  NewFeeSchedule Schedule(int64_t per_run, int64_t per_debit, int64_t per_point_month) {
    return {Today(),
            {{"per_run", "Frais de gestion", "Management fee", per_run},
             {"per_debit", "Frais par débit", "Fee per debit", per_debit},
             {"per_point_month", "Location du terminal", "Terminal rental", per_point_month}}};
  }

  std::string SetCode(const identity::Caller& caller, const NewFeeSchedule& schedule,
                      int64_t merchant_id = 0) {
    auto set = SetMerchantFees(
        *pos_, caller, merchant_id == 0 ? merchant_.organisation_id : merchant_id, schedule);
    return set.ok() ? "ok" : set.error().code;
  }

  void Sale(int64_t device, const std::string& txn, int64_t amount) {
    ASSERT_EQ(Code(pos_->Operate(Device(device), Debit(txn, amount))), "ok");
    ASSERT_TRUE(pos_->Acknowledge(Device(device), txn, true, clock_.NowMs()).ok());
  }

  // Points made by the fixture are approved directly; the history says when.
  void MarkApproved(int64_t point_id) {
    auto done =
        test_->db().Transact<bool>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<bool> {
          GUICHET_TRY_STATUS(tx.Execute(
              "INSERT INTO wallet_point_events (point_id, event, actor_type, at_ms) VALUES"
              " ($1, 'approved', 'system', $2)",
              {point_id, clock_.NowMs()}));
          return true;
        });
    ASSERT_TRUE(done.ok());
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

  SettlementStatement Statement(int64_t run_id) {
    auto statement = test_->db().Transact<SettlementStatement>(
        TransactionMode::kRead,
        [&](Transaction& tx) { return settlements_->Recompute(tx, run_id); });
    EXPECT_TRUE(statement.ok());
    return statement.ok() ? *statement : SettlementStatement{};
  }

  std::unique_ptr<Settlements> settlements_;
};

TEST_P(SettlementFeesTest, W19_a_run_bills_the_schedule_through_the_ledger_to_the_cent) {
  const Point idle = MakePoint(merchant_, "P2", {"debit"}, false, 502);
  MarkApproved(idle.id);  // approved, never used: still rents its terminal
  ASSERT_EQ(SetCode(admin_, Schedule(250, 5, 900)), "ok");
  Sale(501, "t1", 1000);
  Sale(501, "t2", 600);
  PointOperation cash = Debit("k1", 500);
  cash.operation = PosOperation::kCashReload;
  ASSERT_EQ(Code(pos_->Operate(Device(501), cash)), "ok");
  clock_.Advance(3'600'000);
  auto made = settlements_->RunMerchant(admin_, merchant_.organisation_id, std::nullopt);
  ASSERT_TRUE(made.ok()) << made.error().message;
  const SettlementRun& r = made->run;
  // The first run covers from the merchant's creation to now, one hour: 9 € a month of 720
  // hours is 1.25 cents, billed 1 cent (half up) on each active point.
  // Fees: 2.50 per run + 2 debits × 0.05 + 1 cent on each of the two active points.
  EXPECT_EQ(r.totals.fees_cents, 250 + 10 + 1 + 1);
  EXPECT_EQ(r.totals.commission_cents, 24);  // 1.5 % of 16 €
  EXPECT_EQ(r.net_cents, 1600 - 24 - 262 - 500);
  EXPECT_EQ(r.payable_cents, 814);
  ASSERT_EQ(made->points.size(), 2u);  // the idle point is on the statement for its fee
  EXPECT_EQ(made->points[1].point_id, idle.id);
  EXPECT_EQ(made->points[1].amounts.fees_cents, 1);
  EXPECT_EQ(made->points[1].amounts.net_cents, -1);
  EXPECT_EQ(made->points[0].amounts.fees_cents, 10 + 1);
  // The ledger equals the statement: sales emptied, fees at the region, the net payable.
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSales), 0);
  EXPECT_EQ(Operator(region_.id, purpose::kFees), 262);
  EXPECT_EQ(Operator(region_.id, purpose::kCommission), 24);
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSettlementPayable), r.payable_cents);
  EXPECT_TRUE(ledger::CheckInvariants(test_->db()).ok());
  const SettlementStatement statement = Statement(r.id);
  EXPECT_TRUE(SettlementAddsUp(statement));
  EXPECT_EQ(statement.totals.fees_cents, 262);
  ASSERT_EQ(statement.merchant_fees.size(), 1u);
  EXPECT_EQ(statement.merchant_fees[0].kind, "per_run");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_settlement_run_fees WHERE run_id = $1", {r.id}), 4);
  auto csv = settlements_->Document(admin_, r.id, SettlementDocument::kJournalCsv);
  ASSERT_TRUE(csv.ok());
  EXPECT_NE(csv->body.find("Frais de gestion"), std::string::npos) << csv->body;
  EXPECT_NE(csv->body.find("7062"), std::string::npos);

  // A new schedule from today never changes the run made: regenerating keeps its figures.
  clock_.Advance(60'000);
  ASSERT_EQ(SetCode(admin_, Schedule(1000, 0, 0)), "ok");
  auto regenerated = settlements_->Regenerate(admin_, r.id, "new fee schedule");
  ASSERT_TRUE(regenerated.ok()) << regenerated.error().message;
  EXPECT_EQ(regenerated->run.totals.fees_cents, 262);
  EXPECT_EQ(regenerated->run.payable_cents, 814);
  EXPECT_EQ(Statement(r.id).totals.fees_cents, 262);
  // The next run bills the new schedule only: 10 € per run, nothing else.
  clock_.Advance(kDayMs);
  Credit(holder_, std::string(kEuro), 2000);
  Sale(501, "t3", 2000);
  clock_.Advance(30 * kDayMs);
  auto next = settlements_->RunMerchant(admin_, merchant_.organisation_id, std::nullopt);
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->run.totals.fees_cents, 1000);
  EXPECT_EQ(next->run.net_cents, 2000 - 30 - 1000);
  EXPECT_EQ(Operator(region_.id, purpose::kFees), 1262);
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSales), 0);
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSettlementPayable),
            r.payable_cents + next->run.payable_cents);
  EXPECT_TRUE(ledger::CheckInvariants(test_->db()).ok());
  // The history keeps both versions, the one in force first.
  auto fees = GetMerchantFees(*pos_, admin_, merchant_.organisation_id);
  ASSERT_TRUE(fees.ok());
  ASSERT_EQ(fees->schedules.size(), 2u);
  ASSERT_TRUE(fees->current.has_value());
  EXPECT_EQ(fees->current->id, fees->schedules[0].id);
  EXPECT_EQ(fees->current->lines[0].amount_cents, 1000);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_entries WHERE action = 'wallet.merchant.fees'", {}),
            2);
}

TEST_P(SettlementFeesTest, W19_fees_larger_than_the_sales_are_carried_forward) {
  ASSERT_EQ(SetCode(admin_, Schedule(5000, 0, 0)), "ok");
  Sale(501, "t1", 1000);
  clock_.Advance(3'600'000);
  auto made = settlements_->RunMerchant(admin_, merchant_.organisation_id, std::nullopt);
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(made->run.net_cents, 1000 - 15 - 5000);
  EXPECT_EQ(made->run.payable_cents, 0);
  EXPECT_EQ(made->run.carried_forward_cents, 4015);
  EXPECT_EQ(made->run.state, "nothing_to_pay");
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSales), 0);
  EXPECT_EQ(Operator(region_.id, purpose::kFees), 5000);
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kSettlementPayable), -4015);
  EXPECT_TRUE(ledger::CheckInvariants(test_->db()).ok());
}

TEST_P(SettlementFeesTest, W19_bad_schedules_are_refused_with_their_code_and_nothing_applied) {
  NewFeeSchedule bad = Schedule(100, 1, 1);
  bad.lines[1].kind = "per_year";
  EXPECT_EQ(SetCode(admin_, bad), "merchant_fee_kind_unknown");
  bad = Schedule(100, 1, 1);
  bad.lines[1].kind = "per_run";
  EXPECT_EQ(SetCode(admin_, bad), "merchant_fee_kind_repeated");
  bad = Schedule(100, 1, kFeeAmountCentsMax + 1);
  EXPECT_EQ(SetCode(admin_, bad), "merchant_fee_amount_out_of_range");
  bad = Schedule(-1, 1, 1);
  EXPECT_EQ(SetCode(admin_, bad), "merchant_fee_amount_out_of_range");
  bad = Schedule(100, 1, 1);
  bad.lines[0].label_fr = "";
  EXPECT_EQ(SetCode(admin_, bad), "merchant_fee_label_invalid");
  bad = Schedule(100, 1, 1);
  bad.lines[2].label_en = std::string(kFeeLabelLengthMax + 1, 'x');
  EXPECT_EQ(SetCode(admin_, bad), "merchant_fee_label_invalid");
  bad = Schedule(100, 1, 1);
  bad.lines.resize(kFeeLinesMax + 1, bad.lines[0]);
  EXPECT_EQ(SetCode(admin_, bad), "merchant_fee_lines_too_many");
  bad = Schedule(100, 1, 1);
  bad.effective_from = "2027-02-30";
  EXPECT_EQ(SetCode(admin_, bad), "merchant_fee_effective_date_invalid");
  bad.effective_from = banking::FormatDate(banking::ParisDate(clock_.NowMs() - kDayMs));
  EXPECT_EQ(SetCode(admin_, bad), "merchant_fee_effective_date_past");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_merchant_fee_schedules", {}), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_merchant_fee_lines", {}), 0);
  // A schedule from a later date is not in force yet.
  NewFeeSchedule later = Schedule(100, 1, 1);
  later.effective_from = banking::FormatDate(banking::ParisDate(clock_.NowMs() + 2 * kDayMs));
  EXPECT_EQ(SetCode(admin_, later), "ok");
  auto fees = GetMerchantFees(*pos_, admin_, merchant_.organisation_id);
  ASSERT_TRUE(fees.ok());
  EXPECT_FALSE(fees->current.has_value());
  EXPECT_EQ(fees->schedules.size(), 1u);
}

TEST_P(SettlementFeesTest, W19_only_the_merchants_region_sets_its_fees_and_others_get_404) {
  auto other_region =
      test_->db().Transact<orgs::Organisation>(TransactionMode::kWrite, [&](Transaction& tx) {
        return orgs::Create(tx, {national_.id, "region", "Crous Lyon"}, kStart);
      });
  ASSERT_TRUE(other_region.ok());
  const identity::Caller stranger =
      Staff(9, *other_region,
            {std::string(right::kMerchantsManage), std::string(right::kSettlementsRead)});
  EXPECT_EQ(SetCode(stranger, Schedule(100, 1, 1)), "merchant_not_found");
  auto read = GetMerchantFees(*pos_, stranger, merchant_.organisation_id);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, "merchant_not_found");
  EXPECT_EQ(SetCode(admin_, Schedule(100, 1, 1), 999999), "merchant_not_found");
  // The merchant reads its own fees but cannot change them.
  const identity::Caller merchant_staff =
      Staff(7,
            orgs::Organisation{merchant_.organisation_id, region_.id, "merchant", "",
                               fmt::format("{}{}/", region_.path, merchant_.organisation_id)},
            {std::string(right::kSettlementsRead)});
  EXPECT_EQ(SetCode(merchant_staff, Schedule(100, 1, 1)), "merchant_not_found");
  ASSERT_EQ(SetCode(admin_, Schedule(100, 1, 1)), "ok");
  auto own = GetMerchantFees(*pos_, merchant_staff, merchant_.organisation_id);
  ASSERT_TRUE(own.ok());
  ASSERT_TRUE(own->current.has_value());
  EXPECT_EQ(own->current->lines.size(), 3u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_merchant_fee_schedules", {}), 1);
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, SettlementFeesTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const ::testing::TestParamInfo<storage::Backend>& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace guichet::wallet
