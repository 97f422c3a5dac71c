// Reconciliation between a point and the service (W18) as calculation: every kind of outcome
// (matched, missing on either side, differing by each field), totals on both sides, refusals,
// random lists that always partition, and the reports checked with xmllint against
// docs/reconciliation-report.xsd, pdftotext and qpdf.
#include "modules/wallet/reconciliation_calc.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "platform/documents/testing.h"

namespace guichet::wallet {
namespace {

using documents::testing::PdfText;
using documents::testing::ShellOn;
using documents::testing::ValidateXml;

constexpr int64_t kStart = 1'796'040'000'000;  // 2026-11-30T12:00:00Z
constexpr int64_t kMinute = 60'000;

ReconciliationTransaction T(std::string id, std::string op, std::string counter, int64_t amount,
                            std::string state, int64_t minute) {
  return {std::move(id), std::move(op),    std::move(counter),
          amount,        std::move(state), kStart + minute * kMinute};
}

ReconciliationInput Sample() {
  ReconciliationInput input;
  input.report_id = "REC-7-20261130";
  input.point_id = 7;
  input.point_label = "Caisse 1 — self « Le Béarn »";
  input.merchant_name = "Cafétéria du Béarn";
  input.range_start_ms = kStart;
  input.range_end_ms = kStart + 24 * 60 * kMinute;
  input.point_side = {
      T("P7-0001", "debit", "EUR", 330, "acknowledged", 1),
      T("P7-0002", "debit", "EUR", 120, "acknowledged", 2),
      T("P7-0003", "debit", "REPAS", 1, "acknowledged", 3),
      T("P7-0004", "cash_reload", "EUR", 2000, "acknowledged", 4),  // never reached the service
      T("P7-0005", "debit", "EUR", 450, "acknowledged", 5),         // refused at the service
      T("P7-0006", "cancel", "EUR", 120, "acknowledged", 6),
  };
  input.service_side = {
      T("P7-0001", "debit", "EUR", 330, "acknowledged", 1),
      T("P7-0002", "debit", "EUR", 210, "acknowledged", 2),    // amount differs
      T("P7-0003", "debit", "CAFE", 1, "acknowledged", 3),     // counter differs
      T("P7-0005", "debit", "EUR", 450, "refused", 5),         // state differs
      T("P7-0006", "cancel", "EUR", 120, "acknowledged", 7),   // time is not compared
      T("P7-0009", "debit", "EUR", 500, "awaiting_funds", 9),  // unknown to the point
  };
  return input;
}

TEST(WalletReconciliation, W18_each_outcome_is_found) {
  auto report = Reconcile(Sample());
  ASSERT_TRUE(report.ok()) << report.error().message;
  const ReconciliationReport& r = *report;
  EXPECT_FALSE(r.reconciled());
  ASSERT_EQ(r.matched.size(), 2u);
  EXPECT_EQ(r.matched[0].point.point_txn_id, "P7-0001");
  EXPECT_EQ(r.matched[1].point.point_txn_id, "P7-0006");
  ASSERT_EQ(r.differing.size(), 3u);
  EXPECT_EQ(r.differing[0].differences, std::vector<std::string>{"amount"});
  EXPECT_EQ(r.differing[1].differences, std::vector<std::string>{"counter"});
  EXPECT_EQ(r.differing[2].differences, std::vector<std::string>{"state"});
  ASSERT_EQ(r.missing_at_service.size(), 1u);
  EXPECT_EQ(r.missing_at_service[0].point_txn_id, "P7-0004");
  ASSERT_EQ(r.missing_at_point.size(), 1u);
  EXPECT_EQ(r.missing_at_point[0].point_txn_id, "P7-0009");
}

TEST(WalletReconciliation, W18_totals_on_both_sides_count_acknowledged_amounts) {
  auto r = Reconcile(Sample());
  ASSERT_TRUE(r.ok());
  const auto find = [](const std::vector<ReconciliationTotal>& totals, std::string_view counter,
                       std::string_view op) {
    for (const auto& t : totals)
      if (t.counter == counter && t.operation == op) return t;
    return ReconciliationTotal{};
  };
  const auto point = find(r->point_totals, "EUR", "debit");
  EXPECT_EQ(point.count, 3);
  EXPECT_EQ(point.acknowledged_count, 3);
  EXPECT_EQ(point.acknowledged_amount, 330 + 120 + 450);
  const auto service = find(r->service_totals, "EUR", "debit");
  EXPECT_EQ(service.count, 4);
  EXPECT_EQ(service.acknowledged_count, 2);  // refused and awaiting funds are not paid
  EXPECT_EQ(service.acknowledged_amount, 330 + 210);
  EXPECT_EQ(find(r->point_totals, "EUR", "cash_reload").acknowledged_amount, 2000);
  EXPECT_EQ(find(r->service_totals, "EUR", "cash_reload").count, 0);
  EXPECT_EQ(find(r->service_totals, "CAFE", "debit").count, 1);
}

TEST(WalletReconciliation, W18_identical_lists_are_reconciled) {
  ReconciliationInput input = Sample();
  input.service_side = input.point_side;
  std::reverse(input.service_side.begin(), input.service_side.end());  // order does not matter
  auto r = Reconcile(input);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->reconciled());
  EXPECT_EQ(r->matched.size(), input.point_side.size());
  // Empty lists too.
  input.point_side.clear();
  input.service_side.clear();
  r = Reconcile(input);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->reconciled());
}

TEST(WalletReconciliation, RefusesBadInputNamingTheField) {
  const auto refused = [](const ReconciliationInput& input, std::string_view pointer) {
    auto r = Reconcile(input);
    ASSERT_FALSE(r.ok()) << pointer;
    EXPECT_EQ(r.error().code, "reconciliation_input_invalid");
    EXPECT_EQ(r.error().kind, ErrorKind::kValidation);
    ASSERT_EQ(r.error().fields.size(), 1u);
    EXPECT_EQ(r.error().fields[0].pointer, pointer);
  };
  ReconciliationInput input = Sample();
  input.point_side[1].point_txn_id = "P7-0001";
  refused(input, "/point_side/1/point_txn_id");
  input = Sample();
  input.service_side[2].amount = -4;
  refused(input, "/service_side/2/amount");
  input = Sample();
  input.service_side[0].state = "paid";
  refused(input, "/service_side/0/state");
  input = Sample();
  input.point_side[3].operation = "refund";
  refused(input, "/point_side/3/operation");
  input = Sample();
  input.point_side[0].at_ms = input.range_end_ms;
  refused(input, "/point_side/0/at_ms");
  input = Sample();
  input.point_side[0].point_txn_id = std::string(65, 'x');
  refused(input, "/point_side/0/point_txn_id");
  input = Sample();
  input.range_end_ms = input.range_start_ms;
  refused(input, "/range_end_ms");
  input = Sample();
  input.report_id = "../x y";
  refused(input, "/report_id");
}

TEST(WalletReconciliation, W18_property_random_lists_always_partition) {
  std::mt19937_64 random(18);
  const char* ops[] = {"debit", "load", "cash_reload", "cancel"};
  const char* states[] = {"acknowledged", "acknowledged", "refused", "pending", "awaiting_funds"};
  for (int run = 0; run < 200; ++run) {
    ReconciliationInput input = Sample();
    input.point_side.clear();
    input.service_side.clear();
    const int n = static_cast<int>(random() % 200);
    for (int i = 0; i < n; ++i) {
      auto t = T(fmt::format("T{}", i), ops[random() % 4], random() % 3 ? "EUR" : "REPAS",
                 1 + static_cast<int64_t>(random() % 900), states[random() % 5],
                 static_cast<int64_t>(random() % 1440));
      const auto fate = random() % 6;
      if (fate != 0) input.point_side.push_back(t);
      if (fate == 1) t.amount += 1;
      if (fate == 2) t.state = "refused";
      if (fate != 3) input.service_side.push_back(t);
    }
    auto r = Reconcile(input);
    ASSERT_TRUE(r.ok()) << r.error().message;
    int64_t point_count = 0, service_count = 0;
    for (const auto& t : r->point_totals) point_count += t.count;
    for (const auto& t : r->service_totals) service_count += t.count;
    ASSERT_EQ(point_count, static_cast<int64_t>(input.point_side.size()));
    ASSERT_EQ(service_count, static_cast<int64_t>(input.service_side.size()));
    ASSERT_EQ(r->matched.size() + r->differing.size() + r->missing_at_service.size(),
              input.point_side.size());
    ASSERT_EQ(r->matched.size() + r->differing.size() + r->missing_at_point.size(),
              input.service_side.size());
    for (const auto& pair : r->matched) ASSERT_EQ(pair.point.amount, pair.service.amount);
    for (const auto& pair : r->differing) ASSERT_FALSE(pair.differences.empty());
  }
}

TEST(WalletReconciliation, W18_the_xml_report_is_valid_against_its_schema) {
  auto r = Reconcile(Sample());
  ASSERT_TRUE(r.ok());
  const std::string xml = ReconciliationXml(*r, kStart + 25 * 60 * kMinute);
  const auto run = ValidateXml(xml, "docs/reconciliation-report.xsd");
  EXPECT_EQ(run.status, 0) << run.output << xml;
  EXPECT_NE(xml.find("reconciled=\"false\""), std::string::npos);
  EXPECT_NE(xml.find("<Difference>amount</Difference>"), std::string::npos);
  EXPECT_NE(xml.find("<MissingAtService count=\"1\">"), std::string::npos);
  std::string broken = xml;
  broken.replace(broken.find("state=\"refused\""), 15, "state=\"paid\"");
  EXPECT_NE(ValidateXml(broken, "docs/reconciliation-report.xsd").status, 0);
}

TEST(WalletReconciliation, W18_the_pdf_report_reads_right_and_carries_its_xml) {
  auto r = Reconcile(Sample());
  ASSERT_TRUE(r.ok());
  const int64_t generated = kStart + 25 * 60 * kMinute;
  const std::string pdf = ReconciliationPdf(*r, generated);
  const auto check = ShellOn(pdf, ".pdf", "qpdf --check '{}'");
  EXPECT_EQ(check.status, 0) << check.output;
  const std::string text = PdfText(pdf);
  EXPECT_NE(text.find("Rapprochement REC-7-20261130"), std::string::npos) << text;
  EXPECT_NE(text.find("Caisse 1 — self « Le Béarn »"), std::string::npos);
  EXPECT_NE(text.find("écarts à examiner"), std::string::npos);
  EXPECT_NE(text.find("Absentes du service (connues du point seulement) (1)"), std::string::npos);
  EXPECT_NE(text.find("service, écart : montant"), std::string::npos) << text;
  EXPECT_NE(text.find("30/11/2026 13:01:00"), std::string::npos);  // Paris time (UTC+1)
  const auto xml =
      ShellOn(pdf, ".pdf", "qpdf --show-attachment=reconciliation-REC-7-20261130.xml '{}'");
  EXPECT_EQ(xml.output, ReconciliationXml(*r, generated));
}

}  // namespace
}  // namespace guichet::wallet

// Regenerates the sample documents of docs/examples when GUICHET_WRITE_EXAMPLES names a
// directory (docs/settlement.md says how); skipped otherwise.
#include <cstdlib>
#include <fstream>

#include "modules/wallet/settlement_calc.h"

namespace guichet::wallet {
namespace {

TEST(WalletReportsExamples, WritesTheSampleDocumentsWhenAsked) {
  const char* directory = std::getenv("GUICHET_WRITE_EXAMPLES");
  if (directory == nullptr)
    GTEST_SKIP() << "set GUICHET_WRITE_EXAMPLES=docs/examples to write them";
  constexpr int64_t kNov1 = 1'793'487'600'000;  // 2026-11-01T00:00:00+01:00
  constexpr int64_t kDay = 86'400'000;
  SettlementInput input;
  input.statement_id = "STL-2026-11-M42";
  input.merchant = {42, "Cafétéria « Le Béarn »", "FR76 3000 6000 0112 3456 7890 189", "AGRIFRPP",
                    "compta@bearn.example"};
  input.period_start_ms = kNov1;
  input.period_end_ms = kNov1 + 30 * kDay;
  input.commission_basis_points = 150;
  input.points = {{7, "Caisse 1", "Crous-UG-RU-UD-Caisse1", "till"},
                  {9, "Distributeur hall", "Crous-UG-RU-UD-Hall", "vending_machine"}};
  input.cents_per_token = {{"REPAS", 330}};
  input.fees = {{"Location du terminal, novembre", 1500, 7},
                {"Frais de tenue de compte", 200, std::nullopt}};
  std::mt19937_64 random(42);
  for (int i = 0; i < 160; ++i) {
    const int64_t at = kNov1 + (i / 8) * kDay + 8 * 3'600'000 + (i % 8) * 1'500'000;
    SettlementItem item{100'000 + i,
                        i % 4 == 3 ? 9 : 7,
                        SettlementOperation::kDebit,
                        "EUR",
                        static_cast<int64_t>(150 + random() % 900),
                        at};
    if (i % 10 == 4) item = {item.transaction_id, 7, SettlementOperation::kDebit, "REPAS", 1, at};
    if (i % 25 == 7) item.operation = SettlementOperation::kCancel;
    if (i % 30 == 11)
      item = {item.transaction_id, 7, SettlementOperation::kCashReload, "EUR", 2000, at};
    input.items.push_back(item);
  }
  auto statement = CalculateSettlement(input);
  ASSERT_TRUE(statement.ok()) << statement.error().message;
  const int64_t generated = kNov1 + 30 * kDay + 6 * 3'600'000;
  std::ofstream(std::string(directory) + "/settlement-statement.pdf", std::ios::binary)
      << SettlementStatementPdf(*statement, generated);
  auto report = Reconcile(Sample());
  ASSERT_TRUE(report.ok());
  std::ofstream(std::string(directory) + "/reconciliation-report.pdf", std::ios::binary)
      << ReconciliationPdf(*report, kStart + 25 * 60 * kMinute);
}

}  // namespace
}  // namespace guichet::wallet
