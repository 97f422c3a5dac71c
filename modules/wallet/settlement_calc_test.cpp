// Settlement (W19) as calculation: a worked statement checked line by line, the rounding rule
// of the commission, negative nets carried forward, refusals of bad input, random item sets
// that must always add up, and the documents checked by the tools that read them (xmllint
// with docs/settlement-statement.xsd and the EPC pain.001 XSD, pdftotext, qpdf).
#include "modules/wallet/settlement_calc.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <sstream>

#include "platform/documents/testing.h"

namespace guichet::wallet {
namespace {

using documents::testing::PdfText;
using documents::testing::ShellOn;
using documents::testing::ValidateXml;

constexpr int64_t kNov1 = 1'793'487'600'000;  // 2026-11-01T00:00:00+01:00 (Paris)
constexpr int64_t kDay = 86'400'000;
constexpr int64_t kHour = 3'600'000;

SettlementInput Sample() {
  SettlementInput input;
  input.statement_id = "STL-2026-11-M42";
  input.merchant = {42, "Cafétéria « Le Béarn » & fils", "FR76 3000 6000 0112 3456 7890 189",
                    "AGRIFRPP", "compta@bearn.example"};
  input.period_start_ms = kNov1;
  input.period_end_ms = kNov1 + 30 * kDay;
  input.commission_basis_points = 150;  // 1,50 %
  input.points = {{7, "Caisse 1", "Crous-UG-RU-UD-Caisse1", "till"},
                  {9, "Distributeur hall", "Crous-UG-RU-UD-Hall", "vending_machine"}};
  input.cents_per_token = {{"REPAS", 330}};  // a meal token is worth 3,30 €
  input.fees = {{"Location du terminal", 1500, 7}, {"Frais de tenue de compte", 200, std::nullopt}};
  input.items = {
      {1001, 7, SettlementOperation::kDebit, "EUR", 1000, kNov1 + 10 * kHour},
      {1002, 7, SettlementOperation::kDebit, "EUR", 333, kNov1 + 11 * kHour},
      {1003, 7, SettlementOperation::kCancel, "EUR", 333, kNov1 + 12 * kHour},
      {1004, 7, SettlementOperation::kCashReload, "EUR", 2000, kNov1 + kDay + 9 * kHour},
      {1005, 7, SettlementOperation::kDebit, "REPAS", 2, kNov1 + kDay + 12 * kHour},
      {1006, 9, SettlementOperation::kDebit, "EUR", 150, kNov1 + 2 * kDay + 8 * kHour},
      {1007, 9, SettlementOperation::kDebit, "CAFE", 3, kNov1 + 2 * kDay + 9 * kHour},
      {1008, 7, SettlementOperation::kLoad, "REPAS", 10, kNov1 + 2 * kDay + 10 * kHour},
  };
  return input;
}

TEST(WalletSettlement, W19_a_worked_statement_adds_up_line_by_line) {
  auto statement = CalculateSettlement(Sample());
  ASSERT_TRUE(statement.ok()) << statement.error().message;
  const SettlementStatement& s = *statement;
  EXPECT_EQ(s.merchant.iban, "FR7630006000011234567890189");
  ASSERT_EQ(s.points.size(), 2u);
  const SettlementPointStatement& till = s.points[0];
  // Till: 10,00 + 3,33 − 3,33 on day 1; 2 meals at 3,30 € on day 2; cash 20,00 € taken.
  EXPECT_EQ(till.totals.debits_cents, 1000 + 333 + 660);
  EXPECT_EQ(till.totals.cancellations_cents, 333);
  EXPECT_EQ(till.totals.cash_reloads_cents, 2000);
  EXPECT_EQ(till.totals.fees_cents, 1500);
  ASSERT_EQ(till.days.size(), 3u);  // the load day is listed too, with no money
  EXPECT_EQ(till.days[0].day,
            banking::Date(std::chrono::year{2026}, std::chrono::month{11}, std::chrono::day{1}));
  // Base = 1660 + 150 = 1810 cents; 1,5 % = 27,15 → 27 cents, shared 1000:660:150.
  EXPECT_EQ(s.totals.commission_cents, 27);
  EXPECT_EQ(till.days[0].amounts.commission_cents + till.days[1].amounts.commission_cents, 25);
  EXPECT_EQ(s.points[1].totals.commission_cents, 2);
  // The vending machine's coffee tokens have no value: listed, not paid.
  EXPECT_EQ(s.points[1].totals.debits_cents, 150);
  ASSERT_EQ(s.counters.size(), 3u);
  EXPECT_EQ(s.counters[0].counter, "CAFE");
  EXPECT_EQ(s.counters[0].cents_per_token, 0);
  EXPECT_EQ(s.counters[0].debits, 3);
  EXPECT_EQ(s.counters[2].counter, "REPAS");
  EXPECT_EQ(s.counters[2].loads, 10);
  // net = 2143 − 333 − 27 − 2000 − 1700 = −1917: nothing paid, 19,17 € carried forward.
  EXPECT_EQ(s.totals.net_cents, -1917);
  EXPECT_EQ(s.payable_cents, 0);
  EXPECT_EQ(s.carried_forward_cents, 1917);
  EXPECT_TRUE(SettlementAddsUp(s));
  EXPECT_FALSE(SettlementCreditTransfer(s).has_value());
}

TEST(WalletSettlement, W19_a_positive_net_is_paid_after_the_amount_brought_forward) {
  SettlementInput input = Sample();
  input.items.push_back({1009, 9, SettlementOperation::kDebit, "EUR", 10000, kNov1 + 5 * kDay});
  input.brought_forward_cents = 1917;
  auto s = CalculateSettlement(input);
  ASSERT_TRUE(s.ok());
  // Base 11810 → 177,15 → 177 cents.
  EXPECT_EQ(s->totals.commission_cents, 177);
  EXPECT_EQ(s->net_cents, 2143 + 10000 - 333 - 177 - 2000 - 1700 - 1917);
  EXPECT_EQ(s->payable_cents, s->net_cents);
  EXPECT_EQ(s->carried_forward_cents, 0);
  auto transfer = SettlementCreditTransfer(*s);
  ASSERT_TRUE(transfer.has_value());
  EXPECT_EQ(transfer->amount_cents, s->payable_cents);
  EXPECT_EQ(transfer->end_to_end_id, "STL-2026-11-M42");
}

TEST(WalletSettlement, W19_commission_is_rounded_half_up_once_on_the_total) {
  SettlementInput input = Sample();
  input.fees.clear();
  input.items.clear();
  input.commission_basis_points = 100;  // 1 %
  // 50 debits of 0,50 €: 0,5 cent each per item would round to 50 cents or 0; on the total
  // of 25,00 € it is exactly 25 cents.
  for (int i = 0; i < 50; ++i) {
    input.items.push_back(
        {2000 + i, i % 2 ? 7 : 9, SettlementOperation::kDebit, "EUR", 50, kNov1 + i * kHour});
  }
  auto s = CalculateSettlement(input);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->totals.commission_cents, 25);
  // 12,50 € base → 12,5 cents → 13 (half up).
  input.items.resize(25);
  s = CalculateSettlement(input);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->totals.commission_cents, 13);
  EXPECT_TRUE(SettlementAddsUp(*s));
}

TEST(WalletSettlement, W19_a_day_of_cancellations_only_gives_back_its_share_of_commission) {
  SettlementInput input = Sample();
  input.fees.clear();
  input.items = {{1, 7, SettlementOperation::kDebit, "EUR", 100000, kNov1 + kHour},
                 {2, 7, SettlementOperation::kCancel, "EUR", 20000, kNov1 + kDay + kHour}};
  auto s = CalculateSettlement(input);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->totals.commission_cents, 1200);  // 1,5 % of 800,00 €
  EXPECT_EQ(s->points[0].days[0].amounts.commission_cents, 1500);
  EXPECT_EQ(s->points[0].days[1].amounts.commission_cents, -300);
  EXPECT_TRUE(SettlementAddsUp(*s));
}

TEST(WalletSettlement, RefusesBadInputNamingTheField) {
  const auto refused = [](SettlementInput input, std::string_view pointer) {
    auto s = CalculateSettlement(input);
    ASSERT_FALSE(s.ok()) << pointer;
    EXPECT_EQ(s.error().code, "settlement_input_invalid");
    EXPECT_EQ(s.error().kind, ErrorKind::kValidation);
    ASSERT_EQ(s.error().fields.size(), 1u);
    EXPECT_EQ(s.error().fields[0].pointer, pointer);
  };
  SettlementInput input = Sample();
  input.items[2].amount = 0;
  refused(input, "/items/2/amount");
  input = Sample();
  input.items[1].point_id = 99;
  refused(input, "/items/1/point_id");
  input = Sample();
  input.items[3].transaction_id = 1001;
  refused(input, "/items/3/transaction_id");
  input = Sample();
  input.items[0].acknowledged_at_ms = input.period_end_ms;
  refused(input, "/items/0/acknowledged_at_ms");
  input = Sample();
  input.items[4].operation = SettlementOperation::kCashReload;
  refused(input, "/items/4/counter");
  input = Sample();
  input.commission_basis_points = 10'001;
  refused(input, "/commission_basis_points");
  input = Sample();
  input.period_end_ms = input.period_start_ms + 32 * kDay;
  refused(input, "/period_end_ms");
  input = Sample();
  input.merchant.iban = "FR7630006000011234567890188";
  refused(input, "/merchant/iban");
  input = Sample();
  input.statement_id = "a//b";
  refused(input, "/statement_id");
  input = Sample();
  input.fees[0].point_id = 3;
  refused(input, "/fees/0/point_id");
  input = Sample();
  input.cents_per_token["REPAS"] = -1;
  refused(input, "/cents_per_token/REPAS");
  input = Sample();
  input.brought_forward_cents = -5;
  refused(input, "/brought_forward_cents");
}

// Random statements: many points, days, counters (valued or not), fees and amounts brought
// forward. Each must add up, the commission must be the rounded total, and the journal must
// balance with the merchant's account back at zero.
SettlementInput RandomInput(std::mt19937_64& random) {
  const auto below = [&](int64_t n) {
    return static_cast<int64_t>(random() % static_cast<uint64_t>(n));
  };
  SettlementInput input = Sample();
  input.commission_basis_points =
      below(3) == 0 ? 0 : below(kCommissionBasisPointsMax + 1) / (1 + below(20));
  input.brought_forward_cents = below(2) ? 0 : below(50'000);
  input.cents_per_token = {{"REPAS", below(400)}, {"CAFE", 0}, {"LAVE", below(2) ? 0 : 250}};
  input.points.clear();
  const int64_t points = 1 + below(6);
  for (int64_t p = 1; p <= points; ++p)
    input.points.push_back({p * 10, fmt::format("Point {}", p), "L", "till"});
  input.fees.clear();
  for (int64_t f = below(4); f > 0; --f) {
    std::optional<int64_t> point;
    if (below(2)) point = (1 + below(points)) * 10;
    input.fees.push_back({fmt::format("frais {}", f), 1 + below(5000), point});
  }
  input.items.clear();
  const char* counters[] = {"EUR", "EUR", "EUR", "REPAS", "CAFE", "LAVE"};
  for (int64_t i = below(400); i > 0; --i) {
    SettlementItem item;
    item.transaction_id = i;
    item.point_id = (1 + below(points)) * 10;
    item.operation = static_cast<SettlementOperation>(below(4));
    item.counter = item.operation == SettlementOperation::kCashReload ? "EUR" : counters[below(6)];
    item.amount = 1 + (below(10) == 0 ? below(kSettlementItemAmountMax) : below(3000));
    item.acknowledged_at_ms =
        input.period_start_ms + below(input.period_end_ms - input.period_start_ms);
    input.items.push_back(item);
  }
  return input;
}

std::map<std::string, std::pair<int64_t, int64_t>> JournalBalances(
    const std::string& csv, std::map<int, int64_t>& entry_balance) {
  std::map<std::string, std::pair<int64_t, int64_t>> accounts;  // account → (debit, credit)
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);  // header
  const auto cents = [](const std::string& text) -> int64_t {
    if (text.empty()) return 0;
    const auto dot = text.find('.');
    return std::stoll(text.substr(0, dot)) * 100 + std::stoll(text.substr(dot + 1));
  };
  while (std::getline(lines, line)) {
    // entry;date;account;"label";debit;credit;"reference" — labels hold no ';' here.
    std::vector<std::string> fields;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ';');) fields.push_back(cell);
    if (fields.size() < 7) {
      ADD_FAILURE() << line;
      continue;
    }
    const int64_t debit = cents(fields[4]);
    const int64_t credit = cents(fields[5]);
    EXPECT_TRUE((debit > 0) != (credit > 0)) << line;
    accounts[fields[2]].first += debit;
    accounts[fields[2]].second += credit;
    entry_balance[std::stoi(fields[0])] += debit - credit;
  }
  return accounts;
}

TEST(WalletSettlement, W19_property_random_statements_always_add_up_and_balance) {
  std::mt19937_64 random(20261129);
  for (int run = 0; run < 300; ++run) {
    SettlementInput input = RandomInput(random);
    auto s = CalculateSettlement(input);
    ASSERT_TRUE(s.ok()) << "run " << run << ": " << s.error().message;
    ASSERT_TRUE(SettlementAddsUp(*s)) << "run " << run;
    // The commission is the rounded total of the base, whatever the sharing.
    const int64_t base = s->totals.debits_cents - s->totals.cancellations_cents;
    const int64_t expected =
        base <= 0 ? 0 : (base * input.commission_basis_points * 2 + 10'000) / 20'000;
    ASSERT_EQ(s->totals.commission_cents, expected) << "run " << run;
    // Recompute the euro columns from the items directly.
    int64_t debits = 0, cancels = 0, cash = 0;
    for (const SettlementItem& item : input.items) {
      const int64_t value = item.counter == "EUR" ? 1 : input.cents_per_token[item.counter];
      if (item.operation == SettlementOperation::kDebit) debits += item.amount * value;
      if (item.operation == SettlementOperation::kCancel) cancels += item.amount * value;
      if (item.operation == SettlementOperation::kCashReload) cash += item.amount;
    }
    ASSERT_EQ(s->totals.debits_cents, debits);
    ASSERT_EQ(s->totals.cancellations_cents, cancels);
    ASSERT_EQ(s->totals.cash_reloads_cents, cash);
    std::map<int, int64_t> entries;
    auto accounts = JournalBalances(SettlementJournalCsv(*s), entries);
    for (const auto& [entry, balance] : entries) ASSERT_EQ(balance, 0) << "entry " << entry;
    const auto& merchant = accounts["467" + std::to_string(input.merchant.organisation_id)];
    ASSERT_EQ(merchant.first, merchant.second) << "run " << run;
    ASSERT_EQ(accounts["512"].second, s->payable_cents);
  }
}

TEST(WalletSettlement, W19_the_xml_statement_is_valid_against_its_schema) {
  auto s = CalculateSettlement(Sample());
  ASSERT_TRUE(s.ok());
  const std::string xml = SettlementStatementXml(*s, kNov1 + 31 * kDay);
  const auto run = ValidateXml(xml, "docs/settlement-statement.xsd");
  EXPECT_EQ(run.status, 0) << run.output << xml;
  EXPECT_NE(xml.find("<Net>-19.17</Net>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<CarriedForward>19.17</CarriedForward>"), std::string::npos);
  EXPECT_NE(xml.find("Cafétéria « Le Béarn » &amp; fils"), std::string::npos);
  // The schema is live: a statement without its totals fails.
  std::string broken = xml;
  broken.erase(broken.find("<Totals"), broken.find("<BroughtForward>") - broken.find("<Totals"));
  EXPECT_NE(ValidateXml(broken, "docs/settlement-statement.xsd").status, 0);
}

TEST(WalletSettlement, W19_the_transfer_file_is_valid_pain_001_001_09) {
  SettlementInput input = Sample();
  input.items.push_back({1009, 9, SettlementOperation::kDebit, "EUR", 100000, kNov1 + 5 * kDay});
  auto paid = CalculateSettlement(input);
  ASSERT_TRUE(paid.ok());
  auto unpaid = CalculateSettlement(Sample());
  ASSERT_TRUE(unpaid.ok());
  input.statement_id = "STL-2026-11-M43";
  input.merchant.organisation_id = 43;
  input.merchant.bic = "";
  auto other = CalculateSettlement(input);
  ASSERT_TRUE(other.ok());
  const banking::InstitutionAccount debtor{"CROUS de Grenoble — régie",
                                           "FR7630006000011234567890189", "AGRIFRPP"};
  auto file = SettlementTransferFile(
      {*paid, *unpaid, *other}, debtor, "SETTLE-20261201-1", kNov1 + 30 * kDay,
      banking::Date(std::chrono::year{2026}, std::chrono::month{12}, std::chrono::day{2}));
  ASSERT_TRUE(file.ok()) << file.error().message;
  const auto run = ValidateXml(*file, "tests/schemas/EPC132-08_2023_V1.0_pain.001.001.09.xsd");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(file->find("<NbOfTxs>2</NbOfTxs>"), std::string::npos) << *file;
  EXPECT_NE(file->find(fmt::format("<InstdAmt Ccy=\"EUR\">{}.{:02d}</InstdAmt>",
                                   paid->payable_cents / 100, paid->payable_cents % 100)),
            std::string::npos);
  auto none = SettlementTransferFile({*unpaid}, debtor, "SETTLE-X", kNov1, banking::Date{});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "settlement_nothing_to_pay");
}

TEST(WalletSettlement, W19_the_pdf_statement_reads_right_and_carries_its_xml) {
  auto s = CalculateSettlement(Sample());
  ASSERT_TRUE(s.ok());
  const int64_t generated = kNov1 + 31 * kDay;
  const std::string pdf = SettlementStatementPdf(*s, generated);
  const auto check = ShellOn(pdf, ".pdf", "qpdf --check '{}'");
  EXPECT_EQ(check.status, 0) << check.output;
  const std::string text = PdfText(pdf);
  EXPECT_NE(text.find("Relevé de règlement STL-2026-11-M42"), std::string::npos) << text;
  EXPECT_NE(text.find("Cafétéria « Le Béarn » & fils"), std::string::npos);
  EXPECT_NE(text.find("du 01/11/2026 au 30/11/2026"), std::string::npos);
  EXPECT_NE(text.find("-19,17"), std::string::npos)
      << text;  // the no-break space may read as a space
  EXPECT_NE(text.find("Point de vente 9 — Distributeur hall"), std::string::npos);
  EXPECT_NE(text.find("non valorisé"), std::string::npos);
  EXPECT_NE(text.find("Par type de point"), std::string::npos);
  EXPECT_NE(text.find("vending_machine"), std::string::npos);
  const auto xml =
      ShellOn(pdf, ".pdf", "qpdf --show-attachment=settlement-STL-2026-11-M42.xml '{}'");
  EXPECT_EQ(xml.output, SettlementStatementXml(*s, generated));
  // One point alone.
  auto point = SettlementPointPdf(*s, 9, generated);
  ASSERT_TRUE(point.ok());
  const std::string point_text = PdfText(*point);
  EXPECT_NE(point_text.find("Distributeur hall"), std::string::npos);
  EXPECT_EQ(point_text.find("Caisse 1"), std::string::npos);
  EXPECT_EQ(ShellOn(*point, ".pdf", "qpdf --check '{}'").status, 0);
  auto unknown = SettlementPointPdf(*s, 8, generated);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "settlement_point_not_found");
}

TEST(WalletSettlement, W19_a_long_statement_runs_over_pages) {
  SettlementInput input = Sample();
  input.items.clear();
  for (int i = 0; i < 600; ++i) {
    input.items.push_back({10'000 + i, i % 3 ? 7 : 9, SettlementOperation::kDebit, "EUR", 100 + i,
                           kNov1 + i * kHour});
  }
  auto s = CalculateSettlement(input);
  ASSERT_TRUE(s.ok());
  const std::string pdf = SettlementStatementPdf(*s, kNov1 + 31 * kDay);
  EXPECT_EQ(ShellOn(pdf, ".pdf", "qpdf --check '{}'").status, 0);
  const std::string info = ShellOn(pdf, ".pdf", "pdfinfo '{}'").output;
  const auto pages = std::stoi(info.substr(info.find("Pages:") + 6));
  EXPECT_GT(pages, 5);
  EXPECT_NE(PdfText(pdf).find(fmt::format("page {} / {}", pages, pages)), std::string::npos);
}

// --- Fee schedules ---------------------------------------------------------------------------

std::vector<FeeScheduleLine> SampleSchedule() {
  return {{FeeKind::kPerRun, "Frais de gestion", "Management fee", 500},
          {FeeKind::kPerDebit, "Frais par débit", "Fee per debit", 3},
          {FeeKind::kPerPointMonth, "Location du terminal", "Terminal rental", 1999}};
}

TEST(WalletSettlement, W19_fee_kinds_have_stable_names) {
  for (auto kind : {FeeKind::kPerRun, FeeKind::kPerDebit, FeeKind::kPerPointMonth})
    EXPECT_EQ(ParseFeeKind(FeeKindName(kind)), kind);
  EXPECT_FALSE(ParseFeeKind("per_year").has_value());
  EXPECT_FALSE(ParseFeeKind("").has_value());
}

TEST(WalletSettlement, W19_a_schedule_bills_per_run_per_debit_and_per_active_point) {
  const SettlementInput input = Sample();
  // 30 days: the monthly fee is billed whole on each active point (7, 9 and 11, idle).
  const auto fees = ScheduleFees(SampleSchedule(), input.items, {7, 9, 11}, 30 * kDay);
  ASSERT_EQ(fees.size(), 1u + 2u + 3u);
  EXPECT_EQ(fees[0].kind, "per_run");
  EXPECT_EQ(fees[0].amount_cents, 500);
  EXPECT_FALSE(fees[0].point_id.has_value());
  EXPECT_EQ(fees[0].label, "Frais de gestion");
  // Debits only (also the one cancelled since): till 3 (1001, 1002, 1005), machine 2.
  EXPECT_EQ(fees[1].kind, "per_debit");
  EXPECT_EQ(fees[1].point_id, 7);
  EXPECT_EQ(fees[1].amount_cents, 9);
  EXPECT_EQ(fees[1].label, "Frais par débit (3 × 0,03\u00a0€)");
  EXPECT_EQ(fees[2].point_id, 9);
  EXPECT_EQ(fees[2].amount_cents, 6);
  for (size_t i = 3; i < 6; ++i) {
    EXPECT_EQ(fees[i].kind, "per_point_month");
    EXPECT_EQ(fees[i].amount_cents, 1999);
    EXPECT_EQ(fees[i].label, "Location du terminal (30,0 j / 30)");
  }
  EXPECT_EQ(fees[5].point_id, 11);
}

TEST(WalletSettlement, W19_the_monthly_fee_is_prorated_to_the_period_half_up) {
  const std::vector<FeeScheduleLine> monthly = {
      {FeeKind::kPerPointMonth, "Location", "Rental", 1000}};
  // 10 € × 1/30 = 33,33… cents → 33; × 0,5 day = 16,66… → 17; 15 days = 500 exactly.
  EXPECT_EQ(ScheduleFees(monthly, {}, {1}, kDay)[0].amount_cents, 33);
  EXPECT_EQ(ScheduleFees(monthly, {}, {1}, kDay / 2)[0].amount_cents, 17);
  EXPECT_EQ(ScheduleFees(monthly, {}, {1}, 15 * kDay)[0].amount_cents, 500);
  EXPECT_EQ(ScheduleFees(monthly, {}, {1}, 15 * kDay)[0].label, "Location (15,0 j / 30)");
  // 1 cent a month over 1 hour rounds to nothing: no line at all.
  const std::vector<FeeScheduleLine> tiny = {{FeeKind::kPerPointMonth, "Location", "Rental", 1}};
  EXPECT_TRUE(ScheduleFees(tiny, {}, {1}, kHour).empty());
  // Half a cent exactly rounds up: 1 cent over 15 days.
  EXPECT_EQ(ScheduleFees(tiny, {}, {1}, 15 * kDay)[0].amount_cents, 1);
}

TEST(WalletSettlement, W19_zero_lines_and_points_without_debits_bill_nothing) {
  std::vector<FeeScheduleLine> schedule = SampleSchedule();
  for (auto& line : schedule) line.amount_cents = 0;
  EXPECT_TRUE(ScheduleFees(schedule, Sample().items, {7, 9}, 30 * kDay).empty());
  const std::vector<FeeScheduleLine> per_debit = {
      {FeeKind::kPerDebit, "Frais par débit", "Fee per debit", 5}};
  const std::vector<SettlementItem> cash_only = {
      {1, 7, SettlementOperation::kCashReload, "EUR", 1000, kNov1}};
  EXPECT_TRUE(ScheduleFees(per_debit, cash_only, {7}, 30 * kDay).empty());
  EXPECT_TRUE(ScheduleFees({}, Sample().items, {7}, 30 * kDay).empty());
}

TEST(WalletSettlement, W19_scheduled_fees_are_deducted_from_the_net_and_shown_per_kind) {
  SettlementInput input = Sample();
  input.points.push_back({11, "Caisse 3", "Crous-UG-RU-UD-Caisse3", "till"});  // idle
  input.fees = ScheduleFees(SampleSchedule(), input.items, {7, 9, 11},
                            input.period_end_ms - input.period_start_ms);
  auto s = CalculateSettlement(input);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(SettlementAddsUp(*s));
  // 500 + 9 + 6 + 3 × 1999 = 6512 cents of fees.
  EXPECT_EQ(s->totals.fees_cents, 6512);
  EXPECT_EQ(s->points[0].totals.fees_cents, 9 + 1999);
  EXPECT_EQ(s->points[1].totals.fees_cents, 6 + 1999);
  EXPECT_EQ(s->points[2].totals.fees_cents, 1999);
  EXPECT_EQ(s->points[2].totals.net_cents, -1999);
  // net = 2143 − 333 − 27 − 2000 − 6512 = −6729: carried forward.
  EXPECT_EQ(s->net_cents, -6729);
  EXPECT_EQ(s->carried_forward_cents, 6729);
  const std::string xml = SettlementStatementXml(*s, kNov1 + 31 * kDay);
  const auto run = ValidateXml(xml, "docs/settlement-statement.xsd");
  EXPECT_EQ(run.status, 0) << run.output << xml;
  EXPECT_NE(xml.find("<MerchantFee amount=\"5.00\" kind=\"per_run\">Frais de gestion<"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("kind=\"per_debit\""), std::string::npos);
  EXPECT_NE(xml.find("kind=\"per_point_month\""), std::string::npos);
  const std::string journal = SettlementJournalCsv(*s);
  EXPECT_NE(journal.find("Frais de gestion"), std::string::npos) << journal;
  EXPECT_NE(journal.find("Location du terminal (30,0 j / 30)"), std::string::npos);
  const std::string text = PdfText(SettlementStatementPdf(*s, kNov1 + 31 * kDay));
  EXPECT_NE(text.find("Frais de gestion"), std::string::npos) << text;
  EXPECT_NE(text.find("Location du terminal"), std::string::npos);
}

}  // namespace
}  // namespace guichet::wallet
