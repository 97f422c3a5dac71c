// Reconciliation between points of sale and the service (W18), in the database, around the pure
// Reconcile (reconciliation_calc.h):
//   - synchronous: a point (device-signed, W13 permission `reconciliation`) sends its own list
//     of its transactions over a range and gets the report at once; the report is kept;
//   - asynchronous: points upload their lists; the merchant sets a daily schedule (an hour,
//     Paris time); the job "wallet.reconciliation" reconciles each waiting upload at that hour,
//     keeps the report and e-mails its PDF to the merchant's contact address (outbox);
//   - staff (or the merchant) run one over a range for a point, from the lists its uploads gave.
// The service's side is the point's rows of wallet_pos_transactions whose point time lies in
// the range (the point's own clock on both sides, so that both lists cover the same range).
// Reports keep both lists: their PDF and XML are made again identically at any time.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modules/wallet/pos.h"
#include "modules/wallet/reconciliation_calc.h"

namespace guichet::jobs {
class Runner;
}

namespace guichet::wallet {

inline constexpr int64_t kReconciliationEveryMs = int64_t{15} * 60 * 1000;  // the job's period
inline constexpr int64_t kReconciliationUploadsPerJobMax = 500;
inline constexpr int64_t kReconciliationListMax = 500;
inline constexpr size_t kReconciliationJsonMatchedMax = 1000;  // matched lines in one JSON report

namespace right {
inline constexpr std::string_view kReconciliationsManage =
    "wallet.reconciliations.manage";  // merchants (own), regional admins: schedule, run, read
}  // namespace right
void DeclareReconciliationPermissions(identity::RightsCatalog& catalog);

namespace reconciliation_code {
inline constexpr std::string_view kNotFound = "reconciliation_not_found";  // 404
inline constexpr std::string_view kNoUpload = "reconciliation_no_upload";  // 422
}  // namespace reconciliation_code

struct ReconciliationRequest {
  int64_t range_start_ms = 0, range_end_ms = 0;
  std::vector<ReconciliationTransaction> transactions;  // the point's side
};

struct StoredReconciliation {
  int64_t id = 0;
  int64_t point_id = 0;
  int64_t merchant_org_id = 0;
  std::string source;  // point | schedule | staff
  int64_t generated_at_ms = 0;
  ReconciliationReport report;
};

struct ReconciliationSchedule {
  int64_t merchant_org_id = 0;
  bool enabled = false;
  int64_t hour_paris = 0;    // 0–23
  std::string last_run_day;  // "2026-11-29" or empty
};

struct ReconciliationUpload {
  int64_t id = 0;
  int64_t point_id = 0;
  int64_t range_start_ms = 0, range_end_ms = 0;
  int64_t transactions = 0;
  std::optional<int64_t> report_id;
  int64_t received_at_ms = 0;
};

class Reconciliations {
 public:
  explicit Reconciliations(Pos& pos);

  // The point's protocol (a device caller).
  Result<StoredReconciliation> ReconcileNow(const identity::Caller& device,
                                            const ReconciliationRequest& request);
  Result<ReconciliationUpload> Upload(const identity::Caller& device,
                                      const ReconciliationRequest& request);
  Result<StoredReconciliation> GetForPoint(const identity::Caller& device, int64_t report_id);

  // Staff and merchants (wallet.reconciliations.manage at the merchant).
  Result<ReconciliationSchedule> SetSchedule(const identity::Caller& caller, int64_t merchant_id,
                                             bool enabled, int64_t hour_paris);
  Result<ReconciliationSchedule> GetSchedule(const identity::Caller& caller, int64_t merchant_id);
  // Over a range, from the point's uploaded lists (the latest upload wins for an id);
  // reconciliation_no_upload (422) when the point uploaded nothing.
  Result<StoredReconciliation> ReconcilePoint(const identity::Caller& caller, int64_t point_id,
                                              int64_t range_start_ms, int64_t range_end_ms);
  Result<StoredReconciliation> Get(const identity::Caller& caller, int64_t report_id);
  Result<std::vector<StoredReconciliation>> List(const identity::Caller& caller, int64_t point_id);

  // Job: the merchants whose hour has come today reconcile their points' waiting uploads.
  Result<int64_t> RunScheduled();

 private:
  Result<StoredReconciliation> Store(storage::Transaction& tx, const Point& point,
                                     std::string_view source, int64_t range_start_ms,
                                     int64_t range_end_ms,
                                     std::vector<ReconciliationTransaction> point_side,
                                     int64_t now_ms);
  Result<Point> ManagedPoint(storage::Transaction& tx, const identity::Caller& caller,
                             int64_t point_id);

  Pos& pos_;
  Wallet& wallet_;
};

std::vector<storage::Migration> ReconciliationMigrations();

// The report: counts, totals per counter and operation on both sides, the lines that differ or
// miss, and (`matched_lines`) the first kReconciliationJsonMatchedMax matched ones with
// "matched_lines_truncated" — lists of reports leave them out.
boost::json::object ReconciliationJson(const StoredReconciliation& stored,
                                       bool matched_lines = true);

}  // namespace guichet::wallet
