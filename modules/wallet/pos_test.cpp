// The acceptance network and the points' protocol on both databases: merchants' sealed IBANs,
// scopes, the three-phase debit (post, void, lapse), idempotency and conflicts, every refusal
// leaving balances untouched, cancellation, token loads, cash packs, offline application and
// test accounts that never touch real accounts. The device side is a Caller of kind device
// linked to the point directly (pairing itself is covered by tests/api/wallet_pos.test.mjs).
#include "modules/wallet/pos.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "platform/audit/audit.h"
#include "platform/base/clock.h"
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
using testing_pos::kIban;
using testing_pos::kStart;
using testing_pos::PosFixture;

class PosTest : public PosFixture {};

TEST_P(PosTest, W12_merchant_iban_is_sealed_and_only_its_last_four_are_shown) {
  EXPECT_EQ(merchant_.iban_last4, "0189");
  EXPECT_EQ(merchant_.settlement_period_days, 30);
  auto stored = test_->db().Transact<std::string>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<std::string> {
        auto row =
            tx.QueryOne("SELECT iban_sealed FROM wallet_merchants WHERE organisation_id = $1",
                        {merchant_.organisation_id});
        if (!row.ok()) return std::move(row).error();
        return (*row)->Text(0);
      });
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->find(kIban), std::string::npos);
  EXPECT_EQ(stored->find("1234567890"), std::string::npos);
  auto iban = test_->db().Transact<std::string>(TransactionMode::kWrite, [&](Transaction& tx) {
    return pos_->MerchantIban(tx, merchant_.organisation_id);
  });
  ASSERT_TRUE(iban.ok());
  EXPECT_EQ(*iban, kIban);
  const std::string json = boost::json::serialize(MerchantJson(merchant_));
  EXPECT_EQ(json.find("1234567890"), std::string::npos);
  // Bad bank data, a period over 30 days and a commission over 100 % are refused.
  NewMerchant bad{region_.id, "X", "FR7630006000011234567890188", "AGRIFRPP", "a@b.example",
                  150,        31};
  auto refused = pos_->CreateMerchant(admin_, bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "validation_failed");
  EXPECT_EQ(refused.error().fields.size(), 2u);
}

TEST_P(PosTest, W12_a_merchant_sees_only_its_own_points) {
  const Merchant other = MakeMerchant("Laverie");
  const Point theirs = MakePoint(other, "P2", {"debit"}, false, 502);
  const identity::Caller cafe =
      Staff(7,
            orgs::Organisation{merchant_.organisation_id, region_.id, "merchant", "",
                               fmt::format("{}{}/", region_.path, merchant_.organisation_id)},
            {std::string(right::kPointsRead), std::string(right::kPointsOppose)});
  auto mine = pos_->ListPoints(cafe);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ(mine->at(0).id, point_.id);
  auto read = pos_->GetPoint(cafe, theirs.id);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, "point_not_found");
  auto oppose = pos_->OpposePoint(cafe, theirs.id, "not mine");
  ASSERT_FALSE(oppose.ok());
  EXPECT_EQ(oppose.error().code, "point_not_found");
  // Its own point: opposed at once, reactivation only by an admin.
  ASSERT_TRUE(pos_->OpposePoint(cafe, point_.id, "stolen till").ok());
  auto refused = pos_->Operate(Device(501), Debit("t1", 100));
  EXPECT_EQ(Code(refused), "point_opposed");
  auto self = pos_->ReactivatePoint(cafe, point_.id, "found it");
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().code, "forbidden");
  ASSERT_TRUE(pos_->ReactivatePoint(admin_, point_.id, "checked").ok());
  EXPECT_EQ(Code(pos_->Operate(Device(501), Debit("t1", 100))), "ok");
  auto history = pos_->PointHistory(admin_, point_.id);
  ASSERT_TRUE(history.ok());
  ASSERT_GE(history->size(), 3u);
  EXPECT_EQ(history->at(0).event, "reactivated");
  EXPECT_EQ(history->at(1).event, "opposed");
  EXPECT_EQ(history->at(1).reason, "stolen till");
}

TEST_P(PosTest, W15_debit_holds_then_a_positive_acknowledgement_posts_it) {
  auto held = pos_->Operate(Device(501), Debit("t1", 350));
  ASSERT_TRUE(held.ok()) << held.error().message;
  EXPECT_EQ(held->transaction.state, "pending");
  EXPECT_EQ(Account(holder_).balance, 2000);
  EXPECT_EQ(Account(holder_).available, 1650);
  EXPECT_EQ(Takings(merchant_.organisation_id), 0);
  auto acked = pos_->Acknowledge(Device(501), "t1", true, clock_.NowMs());
  ASSERT_TRUE(acked.ok()) << acked.error().message;
  EXPECT_EQ(acked->transaction.state, "acknowledged");
  EXPECT_EQ(Account(holder_).balance, 1650);
  EXPECT_EQ(Takings(merchant_.organisation_id), 350);
  // The same acknowledgement again is a replay; the opposite one is refused.
  auto again = pos_->Acknowledge(Device(501), "t1", true, clock_.NowMs());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  auto negative = pos_->Acknowledge(Device(501), "t1", false, clock_.NowMs());
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().code, "already_acknowledged");
  EXPECT_EQ(Account(holder_).balance, 1650);
  EXPECT_TRUE(ledger::CheckInvariants(test_->db()).ok());
}

TEST_P(PosTest, W15_a_negative_acknowledgement_gives_the_money_back) {
  ASSERT_TRUE(pos_->Operate(Device(501), Debit("t1", 350)).ok());
  auto voided = pos_->Acknowledge(Device(501), "t1", false, clock_.NowMs());
  ASSERT_TRUE(voided.ok()) << voided.error().message;
  EXPECT_EQ(voided->transaction.state, "voided");
  EXPECT_EQ(Account(holder_).balance, 2000);
  EXPECT_EQ(Account(holder_).available, 2000);
  EXPECT_EQ(Takings(merchant_.organisation_id), 0);
}

TEST_P(PosTest, W15_a_hold_without_acknowledgement_expires) {
  ASSERT_TRUE(pos_->Operate(Device(501), Debit("t1", 350)).ok());
  clock_.Advance(121'000);
  auto expired = ledger::ExpirePending(test_->db(), clock_.NowMs());
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 1);
  auto swept = pos_->ExpireLapsedHolds();
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(*swept, 1);
  EXPECT_EQ(Account(holder_).available, 2000);
  auto late = pos_->Acknowledge(Device(501), "t1", true, clock_.NowMs());
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "transaction_expired");
  auto row = pos_->GetOwnTransaction(Device(501), "t1");
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->state, "expired");
  EXPECT_EQ(Account(holder_).balance, 2000);
}

TEST_P(PosTest, W15_same_point_txn_id_replays_and_other_content_conflicts) {
  auto first = pos_->Operate(Device(501), Debit("t1", 350));
  ASSERT_TRUE(first.ok());
  auto replay = pos_->Operate(Device(501), Debit("t1", 350));
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->transaction.id, first->transaction.id);
  EXPECT_EQ(Code(pos_->Operate(Device(501), Debit("t1", 351))), "point_txn_conflict");
  const int64_t other = MakeHolder("ben", 1000);
  (void)other;
  EXPECT_EQ(Code(pos_->Operate(Device(501), Debit("t1", 350, "CARD-ben"))), "point_txn_conflict");
  EXPECT_EQ(Account(holder_).available, 1650);
  EXPECT_EQ(Account(other).available, 1000);
}

TEST_P(PosTest, W15_refusals_apply_nothing) {
  struct Case {
    PointOperation op;
    std::string code;
  };
  PointOperation drift = Debit("r3", 100);
  drift.point_at_ms -= 31'000;
  PointOperation token = Debit("r7", 1);
  token.counter = "NOPE";
  std::vector<Case> cases = {
      {Debit("r1", 0), "amount_invalid"},
      {Debit("r2", -5), "amount_invalid"},
      {drift, "clock_drift"},
      {Debit("r4", 5001), "threshold_exceeded"},  // max_transaction 50 € by default
      {Debit("r5", 100, "CARD-nobody"), "support_not_found"},
      {Debit("r6", 2001), "insufficient_funds"},
      {token, "permission_denied"},  // no debit:NOPE: the permission is checked first
  };
  for (const Case& c : cases)
    EXPECT_EQ(Code(pos_->Operate(Device(501), c.op)), c.code) << c.op.point_txn_id;
  EXPECT_EQ(Account(holder_).balance, 2000);
  EXPECT_EQ(Account(holder_).available, 2000);
  EXPECT_EQ(Code(pos_->Operate(Device(501), Debit("r6", 1999))), "point_txn_conflict");
  // A refused operation is kept and answered the same again.
  EXPECT_EQ(Code(pos_->Operate(Device(501), Debit("r5", 100, "CARD-nobody"))), "support_not_found");
  auto row = pos_->GetOwnTransaction(Device(501), "r5");
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->state, "refused");
  EXPECT_EQ(row->refusal_code, "support_not_found");
  // Opposed support and holder; an unknown device; a point without the permission.
  ASSERT_TRUE(test_->db()
                  .Transact<bool>(
                      TransactionMode::kWrite,
                      [&](Transaction& tx) -> Result<bool> {
                        GUICHET_TRY_STATUS(tx.Execute(
                            "UPDATE wallet_supports SET opposition = 'temporary', opposed_at = 1"
                            " WHERE number = 'CARD-ana'",
                            {}));
                        return true;
                      })
                  .ok());
  EXPECT_EQ(Code(pos_->Operate(Device(501), Debit("r8", 100))), "support_opposed");
  EXPECT_EQ(Code(pos_->Operate(Device(999), Debit("r9", 100))), "point_unknown");
  const Point reader = MakePoint(merchant_, "P3", {"clock_check"}, false, 503);
  EXPECT_EQ(Code(pos_->Operate(Device(503), Debit("r10", 100, "CARD-ana"))), "permission_denied");
  EXPECT_EQ(Account(holder_).balance, 2000);
  EXPECT_EQ(Takings(merchant_.organisation_id), 0);
}

TEST_P(PosTest, W15_cancel_credits_the_holder_back) {
  ASSERT_TRUE(pos_->Operate(Device(501), Debit("t1", 400)).ok());
  PointOperation cancel;
  cancel.operation = PosOperation::kCancel;
  cancel.point_txn_id = "c1";
  cancel.cancels_point_txn_id = "t1";
  cancel.point_at_ms = clock_.NowMs();
  EXPECT_EQ(Code(pos_->Operate(Device(501), cancel)), "not_cancellable");  // still pending
  cancel.point_txn_id = "c2";
  ASSERT_TRUE(pos_->Acknowledge(Device(501), "t1", true, clock_.NowMs()).ok());
  EXPECT_EQ(Account(holder_).balance, 1600);
  auto done = pos_->Operate(Device(501), cancel);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->transaction.operation, "cancel");
  EXPECT_EQ(Account(holder_).balance, 2000);
  EXPECT_EQ(Takings(merchant_.organisation_id), 0);
  auto original = pos_->GetOwnTransaction(Device(501), "t1");
  EXPECT_EQ(original->state, "cancelled");
  cancel.point_txn_id = "c3";
  EXPECT_EQ(Code(pos_->Operate(Device(501), cancel)), "not_cancellable");  // once only
  // A regional admin cancels another one.
  ASSERT_TRUE(pos_->Operate(Device(501), Debit("t2", 300)).ok());
  ASSERT_TRUE(pos_->Acknowledge(Device(501), "t2", true, clock_.NowMs()).ok());
  auto t2 = pos_->GetOwnTransaction(Device(501), "t2");
  auto by_admin = pos_->AdminCancel(admin_, t2->id, "double charge");
  ASSERT_TRUE(by_admin.ok()) << by_admin.error().message;
  EXPECT_EQ(Account(holder_).balance, 2000);
  EXPECT_TRUE(ledger::CheckInvariants(test_->db()).ok());
}

TEST_P(PosTest, W13_token_loads_and_debits_need_the_counter_permission_and_authorisation) {
  PointOperation load = Debit("l1", 3);
  load.operation = PosOperation::kLoad;
  load.counter = "MEAL";
  EXPECT_EQ(Code(pos_->Operate(Device(501), load)), "counter_not_authorised");
  // As AuthoriseCounterClient records it (which also checks identity's device exists).
  ASSERT_TRUE(test_->db()
                  .Transact<bool>(TransactionMode::kWrite,
                                  [&](Transaction& tx) -> Result<bool> {
                                    GUICHET_TRY_STATUS(
                                        tx.Execute("INSERT INTO wallet_counter_clients "
                                                   "(counter_id, client_type, client_id, may_load,"
                                                   " may_debit, updated_at) SELECT id, 'device', "
                                                   "501, TRUE, TRUE, 0 FROM wallet_counters"
                                                   " WHERE code = 'MEAL'",
                                                   {}));
                                    return true;
                                  })
                  .ok());
  load.point_txn_id = "l2";
  auto loaded = pos_->Operate(Device(501), load);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->transaction.state, "acknowledged");
  EXPECT_EQ(Account(holder_, "MEAL").balance, 3);
  PointOperation meal = Debit("d1", 1);
  meal.counter = "MEAL";
  ASSERT_TRUE(pos_->Operate(Device(501), meal).ok());
  ASSERT_TRUE(pos_->Acknowledge(Device(501), "d1", true, clock_.NowMs()).ok());
  EXPECT_EQ(Account(holder_, "MEAL").balance, 2);
  EXPECT_EQ(Takings(merchant_.organisation_id, "MEAL"), 1);
  EXPECT_EQ(Account(holder_).balance, 2000);
  // A point without load:MEAL.
  const Point plain = MakePoint(merchant_, "P4", {"debit"}, false, 504);
  load.point_txn_id = "l3";
  EXPECT_EQ(Code(pos_->Operate(Device(504), load)), "permission_denied");
}

TEST_P(PosTest, W13_cash_packs_come_from_the_merchants_cash_account) {
  PointOperation cash = Debit("k1", 1000);
  cash.operation = PosOperation::kCashReload;
  auto done = pos_->Operate(Device(501), cash);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(Account(holder_).balance, 3000);
  EXPECT_EQ(Operator(merchant_.organisation_id, purpose::kCash), -1000);
  cash.point_txn_id = "k2";
  cash.amount = 700;
  EXPECT_EQ(Code(pos_->Operate(Device(501), cash)), "cash_pack_invalid");
  EXPECT_EQ(Account(holder_).balance, 3000);
}

TEST_P(PosTest, W16_offline_operations_post_directly_and_report_insufficient_funds) {
  PointOperation op = Debit("o1", 500);
  op.point_at_ms = kStart - 3'600'000;  // an hour ago: offline events are not judged on drift here
  auto applied = test_->db().Transact<PointOperationResult>(
      TransactionMode::kWrite,
      [&](Transaction& tx) { return ApplyOfflineOperation(tx, point_, op, clock_.NowMs()); });
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_EQ(applied->transaction.state, "acknowledged");
  EXPECT_TRUE(applied->transaction.offline);
  EXPECT_EQ(applied->transaction.point_at_ms, kStart - 3'600'000);
  EXPECT_EQ(Account(holder_).balance, 1500);
  PointOperation big = Debit("o2", 1600);
  auto waiting = test_->db().Transact<PointOperationResult>(
      TransactionMode::kWrite,
      [&](Transaction& tx) { return ApplyOfflineOperation(tx, point_, big, clock_.NowMs()); });
  ASSERT_FALSE(waiting.ok());
  EXPECT_EQ(waiting.error().code, "insufficient_funds");
  EXPECT_EQ(Account(holder_).balance, 1500);
}

TEST_P(PosTest, W13_test_accounts_never_touch_real_accounts) {
  const Point test_point = MakePoint(merchant_, "T1", {"debit", "cancel"}, true, 510);
  auto account = pos_->MyTestAccount(admin_);
  ASSERT_TRUE(account.ok()) << account.error().message;
  EXPECT_EQ(account->balances.at(0).balance, kTestAccountInitialCents);
  auto again = pos_->MyTestAccount(admin_);
  EXPECT_EQ(again->holder_id, account->holder_id);
  // A test support at a real point, a real support at a test point: refused.
  EXPECT_EQ(Code(pos_->Operate(Device(501), Debit("x1", 100, account->support_number))),
            "test_mismatch");
  EXPECT_EQ(Code(pos_->Operate(Device(510), Debit("x2", 100, "CARD-ana"))), "test_mismatch");
  ASSERT_TRUE(pos_->Operate(Device(510), Debit("x3", 700, account->support_number)).ok());
  ASSERT_TRUE(pos_->Acknowledge(Device(510), "x3", true, clock_.NowMs()).ok());
  auto after = pos_->MyTestAccount(admin_);
  EXPECT_EQ(after->balances.at(0).balance, kTestAccountInitialCents - 700);
  EXPECT_EQ(Takings(merchant_.organisation_id),
            0);  // the real takings: untouched
  EXPECT_EQ(Operator(merchant_.organisation_id, "test_sales"), 700);
  auto rows = pos_->PointTransactions(admin_, test_point.id);
  ASSERT_TRUE(rows.ok());
  for (const PosTransaction& row : *rows) EXPECT_TRUE(row.is_test);
  auto credited = pos_->CreditTestAccount(admin_, 1000);
  ASSERT_TRUE(credited.ok());
  EXPECT_EQ(credited->balances.at(0).balance, kTestAccountInitialCents + 300);
}

INSTANTIATE_TEST_SUITE_P(Backends, PosTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const ::testing::TestParamInfo<storage::Backend>& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

// ---- Fraud rules (W20) ---------------------------------------------------------------------

class FraudTest : public PosTest {
 public:
  identity::Caller FraudAdmin(const orgs::Organisation& org) {
    return Staff(40, org, {std::string(right::kFraudRead), std::string(right::kFraudManage)});
  }
  // Debits and acknowledges; true when both went through.
  bool Pay(int64_t device, const std::string& txn, int64_t amount,
           const std::string& support = "CARD-ana") {
    auto debit = pos_->Operate(Device(device), Debit(txn, amount, support));
    if (!debit.ok()) return false;
    return pos_->Acknowledge(Device(device), txn, true, clock_.NowMs()).ok();
  }
  FraudScanReport ScanLater(Fraud& fraud) {
    clock_.Advance(kFraudScanLagMs + 1000);  // rows younger than the lag wait
    auto report = fraud.Scan();
    EXPECT_TRUE(report.ok()) << report.error().message;
    return report.ok() ? *report : FraudScanReport{};
  }
};

TEST_P(FraudTest, W20_velocity_rule_opposes_the_support_once_and_alerts) {
  Fraud fraud(*wallet_);
  const identity::Caller admin = FraudAdmin(region_);
  FraudRule rule = DefaultFraudRule(FraudRuleKind::kVelocity);
  rule.count = 3;
  rule.window_s = 600;
  rule.action = FraudAction::kOppose;
  ASSERT_TRUE(fraud.SetRule(admin, region_.id, rule).ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Pay(501, fmt::format("v{}", i), 100));
    clock_.Advance(1000);
  }
  // Too young yet: nothing is looked at.
  auto early = fraud.Scan();
  ASSERT_TRUE(early.ok()) << early.error().code << ": " << early.error().message;
  EXPECT_EQ(early->transactions, 0);
  const FraudScanReport report = ScanLater(fraud);
  EXPECT_EQ(report.transactions, 3);
  EXPECT_EQ(report.alerts, 1);
  EXPECT_EQ(report.oppositions, 1);
  auto alerts = fraud.Alerts(admin, "open", 10);
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ(alerts->at(0).rule, "velocity");
  EXPECT_EQ(alerts->at(0).action_taken, "support_opposed");
  EXPECT_EQ(alerts->at(0).point_id, point_.id);
  EXPECT_EQ(alerts->at(0).facts.at("debits").as_int64(), 3);
  // The card is refused now; the refusal does not raise a second velocity alert.
  EXPECT_EQ(Code(pos_->Operate(Device(501), Debit("v9", 100))), "support_opposed");
  const FraudScanReport again = ScanLater(fraud);
  EXPECT_EQ(again.transactions, 1);
  EXPECT_EQ(again.alerts, 0);
  // Closing needs a note, then it is closed once.
  EXPECT_EQ(fraud.CloseAlert(admin, alerts->at(0).id, "").error().code, "validation_failed");
  auto closed = fraud.CloseAlert(admin, alerts->at(0).id, "student lent the card; called");
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->state, "closed");
  EXPECT_EQ(fraud.CloseAlert(admin, alerts->at(0).id, "again").error().code,
            "fraud_alert_closed");
}

TEST_P(FraudTest, W20_amount_and_distance_rules_alert_without_opposing) {
  Fraud fraud(*wallet_);
  const identity::Caller admin = FraudAdmin(national_);
  const Point far = MakePoint(merchant_, "P9", {"debit"}, false, 509);
  auto moved = test_->db().Transact<bool>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<bool> {
    GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_points SET location = 'Crous-UG-Valence-RU-Caisse'"
                                  " WHERE id = $1", {far.id}));
    return true;
  });
  ASSERT_TRUE(moved.ok());
  FraudRule amount = DefaultFraudRule(FraudRuleKind::kAmount);
  amount.amount_cents = 1000;
  ASSERT_TRUE(fraud.SetRule(admin, national_.id, amount).ok());
  ASSERT_TRUE(Pay(501, "d1", 1500));  // at or above 10 €
  clock_.Advance(120'000);
  ASSERT_TRUE(Pay(509, "d2", 300));  // 2 min later, at another site
  const FraudScanReport report = ScanLater(fraud);
  EXPECT_EQ(report.alerts, 2);
  auto alerts = fraud.Alerts(admin, "all", 10);
  ASSERT_TRUE(alerts.ok());
  std::set<std::string> rules;
  for (const FraudAlert& alert : *alerts) {
    rules.insert(alert.rule);
    EXPECT_EQ(alert.action_taken, "none");
  }
  EXPECT_TRUE(rules.count("distance"));
  EXPECT_TRUE(rules.count("amount"));
  EXPECT_EQ(Code(pos_->Operate(Device(501), Debit("d3", 100))), "ok");  // not opposed
}

TEST_P(FraudTest, W20_rules_are_inherited_down_the_tree_and_validated) {
  Fraud fraud(*wallet_);
  const identity::Caller national = FraudAdmin(national_);
  FraudRule amount = DefaultFraudRule(FraudRuleKind::kAmount);
  amount.amount_cents = 2000;
  ASSERT_TRUE(fraud.SetRule(national, national_.id, amount).ok());
  auto at_region = fraud.Rules(national, region_.id);
  ASSERT_TRUE(at_region.ok());
  const FraudRule& inherited = at_region->at(static_cast<size_t>(FraudRuleKind::kAmount));
  EXPECT_EQ(inherited.amount_cents, 2000);
  EXPECT_EQ(inherited.organisation_id, national_.id);
  amount.amount_cents = 8000;
  ASSERT_TRUE(fraud.SetRule(national, region_.id, amount).ok());
  EXPECT_EQ(fraud.Rules(national, region_.id)->at(static_cast<size_t>(FraudRuleKind::kAmount)).amount_cents,
            8000);
  ASSERT_TRUE(fraud.ClearRule(national, region_.id, FraudRuleKind::kAmount).ok());
  EXPECT_EQ(fraud.Rules(national, region_.id)->at(static_cast<size_t>(FraudRuleKind::kAmount)).amount_cents,
            2000);
  auto again = fraud.ClearRule(national, region_.id, FraudRuleKind::kAmount);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "fraud_rule_not_set");
  // The built-in default where nobody set one.
  EXPECT_FALSE(fraud.Rules(national, region_.id)->at(static_cast<size_t>(FraudRuleKind::kVelocity))
                   .organisation_id.has_value());
  // Out-of-range parameters.
  FraudRule bad = DefaultFraudRule(FraudRuleKind::kVelocity);
  bad.count = 0;
  EXPECT_EQ(fraud.SetRule(national, region_.id, bad).error().code, "validation_failed");
  bad = DefaultFraudRule(FraudRuleKind::kRefusals);
  bad.window_s = kFraudWindowSMax + 1;
  EXPECT_EQ(fraud.SetRule(national, region_.id, bad).error().code, "validation_failed");
  // The amount rule applies as set: a 25 € debit alerts at the national 20 € threshold.
  Credit(holder_, std::string(kEuro), 1000);
  ASSERT_TRUE(Pay(501, "a1", 2500, "CARD-ana"));
  const FraudScanReport report = ScanLater(fraud);
  EXPECT_EQ(report.alerts, 1);
}

TEST_P(FraudTest, W20_another_region_neither_sees_nor_sets_them) {
  Fraud fraud(*wallet_);
  auto other = test_->db().Transact<orgs::Organisation>(
      TransactionMode::kWrite, [&](Transaction& tx) {
        return orgs::Create(tx, {national_.id, "region", "Crous Lyon"}, kStart);
      });
  ASSERT_TRUE(other.ok());
  const identity::Caller lyon = FraudAdmin(*other);
  FraudRule amount = DefaultFraudRule(FraudRuleKind::kAmount);
  amount.amount_cents = 100;
  ASSERT_TRUE(fraud.SetRule(FraudAdmin(region_), region_.id, amount).ok());
  ASSERT_TRUE(Pay(501, "x1", 300));
  ASSERT_EQ(ScanLater(fraud).alerts, 1);
  auto mine = fraud.Alerts(FraudAdmin(region_), "open", 10);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  auto theirs = fraud.Alerts(lyon, "open", 10);
  ASSERT_TRUE(theirs.ok());
  EXPECT_TRUE(theirs->empty());
  EXPECT_EQ(fraud.GetAlert(lyon, mine->at(0).id).error().code, "fraud_alert_not_found");
  EXPECT_EQ(fraud.CloseAlert(lyon, mine->at(0).id, "x").error().code, "fraud_alert_not_found");
  EXPECT_EQ(fraud.Rules(lyon, region_.id).error().code, "organisation_not_found");
  EXPECT_EQ(fraud.SetRule(lyon, region_.id, amount).error().code, "organisation_not_found");
}

INSTANTIATE_TEST_SUITE_P(Backends, FraudTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const ::testing::TestParamInfo<storage::Backend>& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::wallet
