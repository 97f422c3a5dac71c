// Settlement of a merchant (W19), as pure calculation: from the positively acknowledged
// transactions of its points over a period, the statement per point and per day, the merchant
// totals and the net to pay, then the documents made from it: the statement as PDF (with its
// XML embedded), the XML statement (docs/settlement-statement.xsd), the accounting journal
// (CSV) and the SEPA credit transfers for banking::WriteCreditTransferFile. No database: the
// settlement run gathers the items and stores the result; this file only adds up.
//
// How a statement adds up (docs/settlement.md tells merchants and operators):
//   net = debits − cancellations − commission − fees − cash reloads taken − brought forward
// Amounts are euro cents. Token counters are valued at a per-counter euro value per token;
// a counter without a value is listed in tokens and moves no money. The commission is
// rounded once, on the merchant's period total (half up), then shared between points and days
// by the largest-remainder method so that every column adds up to the cent. A negative net is
// not paid: it is carried forward as due by the merchant and brought into the next statement.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/banking/calendar.h"
#include "platform/banking/sepa_xml.h"
#include "platform/base/result.h"

namespace guichet::wallet {

constexpr int64_t kCommissionBasisPointsMax = 10'000;                 // 100 %
constexpr size_t kSettlementItemsMax = 2'000'000;                     // per merchant and period
constexpr int64_t kSettlementItemAmountMax = 100'000'000;             // minor units per item
constexpr int64_t kSettlementPeriodMax_ms = 31LL * 24 * 3600 * 1000;  // "at most every 30 days"
constexpr std::string_view kEuroCounter = "EUR";

enum class SettlementOperation { kDebit, kCancel, kCashReload, kLoad };
std::string_view SettlementOperationName(SettlementOperation operation);  // "debit"…
std::optional<SettlementOperation> ParseSettlementOperation(std::string_view name);

struct SettlementPoint {
  int64_t point_id = 0;
  std::string label;     // "Caisse 2"
  std::string location;  // the institution's nomenclature: "Crous-UG-RU-UD-Caisse"
  std::string type;      // till, vending_machine, laundry…
};

// One positively acknowledged transaction of a point (test transactions left out before).
// A cancel carries the amount of the debit it reverses, positive.
struct SettlementItem {
  int64_t transaction_id = 0;
  int64_t point_id = 0;
  SettlementOperation operation = SettlementOperation::kDebit;
  std::string counter = "EUR";  // "EUR" or a token counter's code
  int64_t amount = 0;           // > 0: cents for EUR, tokens for a token counter
  int64_t acknowledged_at_ms = 0;
};

struct SettlementFee {
  std::string label;                // "Location du terminal, novembre"
  int64_t amount_cents = 0;         // > 0
  std::optional<int64_t> point_id;  // billed on that point's statement, else on the merchant
  std::string kind;                 // a fee schedule line's kind ("per_run"…); empty: other
};

struct SettlementMerchant {
  int64_t organisation_id = 0;
  std::string name;
  std::string iban;  // any spacing; normalised by the calculation
  std::string bic;   // optional
  std::string email;
};

struct SettlementInput {
  std::string statement_id;  // SEPA reference set (≤ 35): also the transfer's end-to-end id
  SettlementMerchant merchant;
  int64_t period_start_ms = 0;  // [start, end)
  int64_t period_end_ms = 0;
  int64_t commission_basis_points = 0;  // 0..10 000, on net debits in euros
  std::vector<SettlementFee> fees;
  std::vector<SettlementPoint> points;
  std::vector<SettlementItem> items;
  std::map<std::string, int64_t> cents_per_token;  // counter → euro value; absent or 0: tokens
  int64_t brought_forward_cents = 0;  // ≥ 0, due by the merchant from the previous statement
};

// Euro columns, the same on a day, a point and the merchant.
struct SettlementAmounts {
  int64_t debits_cents = 0;         // EUR debits and valued token debits
  int64_t cancellations_cents = 0;  // reversed debits, valued the same way
  int64_t commission_cents = 0;
  int64_t cash_reloads_cents = 0;  // cash the merchant took for the service
  int64_t fees_cents = 0;          // on points and the merchant only (0 on days)
  int64_t net_cents = 0;  // debits − cancellations − commission − cash reloads − fees
  int64_t transactions = 0;
};

// Per counter, in the counter's own unit (cents for EUR, tokens otherwise).
struct SettlementCounterLine {
  std::string counter;
  int64_t cents_per_token = 0;  // 1 for EUR; 0 = not valued (listed only)
  int64_t debits = 0;
  int64_t cancellations = 0;
  int64_t loads = 0;  // tokens loaded at the point: listed, never money for the merchant
  int64_t cash_reloads = 0;
};

struct SettlementDay {
  banking::Date day{};  // Paris civil date of the acknowledgement
  SettlementAmounts amounts;
};

struct SettlementPointStatement {
  SettlementPoint point;
  std::vector<SettlementDay> days;              // ascending, days with items only
  std::vector<SettlementFee> fees;              // billed on this point
  std::vector<SettlementCounterLine> counters;  // ascending by counter
  std::vector<SettlementItem> items;            // ascending by time then id
  SettlementAmounts totals;
};

struct SettlementStatement {
  std::string statement_id;
  SettlementMerchant merchant;  // IBAN and BIC normalised
  int64_t period_start_ms = 0;
  int64_t period_end_ms = 0;
  int64_t commission_basis_points = 0;
  std::vector<SettlementPointStatement> points;  // ascending by point id
  std::vector<SettlementFee> merchant_fees;      // not tied to a point
  std::vector<SettlementCounterLine> counters;   // all points
  SettlementAmounts totals;                      // sums of the points, plus merchant fees
  int64_t brought_forward_cents = 0;
  int64_t net_cents = 0;              // totals.net − brought forward; may be negative
  int64_t payable_cents = 0;          // max(net, 0): the credit transfer
  int64_t carried_forward_cents = 0;  // max(−net, 0): due by the merchant next time
};

// The statement, or a validation error naming the first bad input:
// "settlement_input_invalid" (422) with `fields` pointing at it (/items/3/amount…).
Result<SettlementStatement> CalculateSettlement(const SettlementInput& input);

// Checks that every column adds up (days → point → merchant → net); the calculation asserts
// it before returning, tests call it on their own sums too.
bool SettlementAddsUp(const SettlementStatement& statement);

// --- Fee schedules (W19 "autres frais de gestion") ----------------------------------------
// A merchant's fee schedule is a few named lines of fixed amounts; a run bills the schedule in
// force at the last instant of its period. Kinds:
//   per_run          a fixed fee per settlement run ("frais de gestion"), billed on the merchant;
//   per_debit        a fixed fee per acknowledged debit, billed on each point: amount × debits;
//   per_point_month  a fixed monthly fee per active point, billed on each point, prorated to
//                    the period: amount × period / 30 days, rounded to the nearest cent (half
//                    up) — a 30-day period bills exactly the amount.
enum class FeeKind { kPerRun, kPerDebit, kPerPointMonth };
std::string_view FeeKindName(FeeKind kind);  // "per_run", "per_debit", "per_point_month"
std::optional<FeeKind> ParseFeeKind(std::string_view name);

constexpr int64_t kFeeAmountCentsMax = 100'000;  // 1 000 € per fee line (per unit)
constexpr size_t kFeeLinesMax = 10;              // lines in one schedule
constexpr int64_t kFeeLabelLengthMax = 100;      // characters, each language
constexpr int64_t kFeeMonth_ms = 30LL * 24 * 3600 * 1000;  // the month of per_point_month

struct FeeScheduleLine {
  FeeKind kind = FeeKind::kPerRun;
  std::string label_fr;  // shown on statements ("Frais de gestion")
  std::string label_en;
  int64_t amount_cents = 0;  // 0..kFeeAmountCentsMax; 0 bills nothing
};

// The fees a run bills under `schedule`, in schedule order then point order: one per_run fee
// on the merchant; per_debit on each point with debits in `items` (acknowledged debits, also
// those cancelled since); per_point_month on each of `active_points`. Lines that come to zero
// are left out. Pure; the inputs are assumed valid (the schedule was checked when it was set).
std::vector<SettlementFee> ScheduleFees(const std::vector<FeeScheduleLine>& schedule,
                                        const std::vector<SettlementItem>& items,
                                        const std::vector<int64_t>& active_points,
                                        int64_t period_ms);

// --- Documents ------------------------------------------------------------------------------

// "1 234,56 €" (French grouping with a no-break space, comma, sign in front).
std::string FormatEurosFr(int64_t cents);

// The XML statement (namespace urn:guichet:wallet:settlement-statement:1), valid against
// docs/settlement-statement.xsd.
std::string SettlementStatementXml(const SettlementStatement& statement, int64_t generated_at_ms);

// The merchant summary followed by one section per point (days, counters, fees, items), with
// the XML statement embedded as "settlement-<statement_id>.xml".
std::string SettlementStatementPdf(const SettlementStatement& statement, int64_t generated_at_ms);

// One point's statement alone (for a point manager), with the same XML embedded;
// "settlement_point_not_found" (404) when the point is not on the statement.
Result<std::string> SettlementPointPdf(const SettlementStatement& statement, int64_t point_id,
                                       int64_t generated_at_ms);

// Accounts of the journal (docs/settlement.md, "Accounting export").
constexpr std::string_view kAccountHolderFunds = "4191";    // holders' euro balances
constexpr std::string_view kAccountTokenFunds = "4192";     // valued token counters
constexpr std::string_view kAccountMerchantPrefix = "467";  // + organisation id: the merchant
constexpr std::string_view kAccountCommission = "7061";     // commission earned
constexpr std::string_view kAccountFees = "7062";           // fees billed
constexpr std::string_view kAccountBank = "512";            // the service's bank account
constexpr std::string_view kAccountMerchantDue = "4111";    // carried forward, due by merchant

// The accounting journal as CSV (RFC 4180, header line, ';' never used): one entry per point,
// day and kind, then commission, fees, brought forward, payment or carried amount. Every entry
// balances (debit = credit) and the merchant's account ends at zero.
std::string SettlementJournalCsv(const SettlementStatement& statement);

// The credit transfer that pays the statement, or nothing when the payable amount is zero.
std::optional<banking::CreditTransfer> SettlementCreditTransfer(
    const SettlementStatement& statement);

// The pain.001 file paying every statement with something to pay (statements with nothing to
// pay are skipped; none at all gives "settlement_nothing_to_pay", 422).
Result<std::string> SettlementTransferFile(const std::vector<SettlementStatement>& statements,
                                           const banking::InstitutionAccount& debtor,
                                           const std::string& message_id, int64_t created_at_ms,
                                           banking::Date execution_date);

}  // namespace guichet::wallet
