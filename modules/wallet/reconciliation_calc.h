// Reconciliation between a point of sale and the service (W18), as pure calculation: the
// point's own list of its transactions over a date/time range against the service's list for
// the same point and range, matched on the point's transaction id, giving matched
// transactions, those missing at the service, those missing at the point, and those that
// differ (operation, counter, amount, state), with totals on both sides; then the report as
// XML (docs/reconciliation-report.xsd) and as PDF with that XML embedded. No database: the
// synchronous route and the scheduled job gather both lists and keep the report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "platform/base/result.h"

namespace guichet::wallet {

constexpr size_t kReconciliationItemsMax = 200'000;  // per side and report
constexpr int64_t kReconciliationRangeMax_ms = 31LL * 24 * 3600 * 1000;
constexpr size_t kPointTransactionIdLengthMax = 64;

// One transaction as one side knows it. Operation and state use the names of
// wallet_pos_transactions (debit | load | cash_reload | cancel; pending | acknowledged |
// refused | voided | expired | cancelled | awaiting_funds).
struct ReconciliationTransaction {
  std::string point_txn_id;  // the point's own id, unique per point
  std::string operation;
  std::string counter;  // "EUR" or a token counter's code
  int64_t amount = 0;   // > 0, the counter's unit
  std::string state;
  int64_t at_ms = 0;  // the point's clock on the point's side, the service's otherwise
};

struct ReconciliationInput {
  std::string report_id;  // shown on the report and in the XML
  int64_t point_id = 0;
  std::string point_label;
  std::string merchant_name;
  int64_t range_start_ms = 0;  // [start, end)
  int64_t range_end_ms = 0;
  std::vector<ReconciliationTransaction> point_side;
  std::vector<ReconciliationTransaction> service_side;
};

struct ReconciliationPair {
  ReconciliationTransaction point;
  ReconciliationTransaction service;
  std::vector<std::string>
      differences;  // "operation", "counter", "amount", "state"; empty when matched
};

// Per counter and operation, on one side: transactions counted and their amounts summed,
// for acknowledged ones (what is paid) and all states.
struct ReconciliationTotal {
  std::string counter;
  std::string operation;
  int64_t acknowledged_count = 0;
  int64_t acknowledged_amount = 0;
  int64_t count = 0;
};

struct ReconciliationReport {
  ReconciliationInput input;  // the lists sorted by time, then id
  std::vector<ReconciliationPair> matched;
  std::vector<ReconciliationPair> differing;
  std::vector<ReconciliationTransaction> missing_at_service;  // known to the point only
  std::vector<ReconciliationTransaction> missing_at_point;    // known to the service only
  std::vector<ReconciliationTotal> point_totals;  // ascending by counter, then operation
  std::vector<ReconciliationTotal> service_totals;
  bool reconciled() const {
    return differing.empty() && missing_at_service.empty() && missing_at_point.empty();
  }
};

// The report, or "reconciliation_input_invalid" (422) naming the first bad field
// (/point_side/3/amount…): empty or too long ids, ids twice on one side, unknown operation or
// state, non-positive amounts, a transaction outside the range, a range over 31 days.
Result<ReconciliationReport> Reconcile(const ReconciliationInput& input);

std::string ReconciliationXml(const ReconciliationReport& report, int64_t generated_at_ms);
// The report in PDF with the XML embedded as "reconciliation-<report_id>.xml".
std::string ReconciliationPdf(const ReconciliationReport& report, int64_t generated_at_ms);

}  // namespace guichet::wallet
