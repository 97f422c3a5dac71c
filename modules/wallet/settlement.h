// Settlement runs of merchants (W19), in the database: a run covers, for one merchant, every
// positively acknowledged operation of its points from the end of its previous run to a cutoff,
// adds them up with CalculateSettlement (settlement_calc.h), and in the same transaction
//   - stores the run (immutable figures), its lines per point and the transactions it covered
//     (each transaction is settled once: a unique constraint, plus the transaction's
//     settlement_run_id);
//   - moves the money through the ledger: the merchant's sales account pays the commission to
//     the region's commission account, offsets the cash the merchant took for cash reloads
//     (merchant's cash account), and the rest goes to the merchant's settlement payable account,
//     whose balance is then the net of the run (a negative one is carried forward);
//   - queues the e-mail of the statement PDFs to the merchant's contact address (outbox).
// Documents are made again from the stored items at a document version's time: regenerating
// makes a new version, never new figures. Runs with something to pay are paid by a pain.001 file
// (one per batch of due runs); exporting it marks them paid and moves the payable to the
// region's outgoing transfers account.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modules/wallet/pos.h"
#include "modules/wallet/settlement_calc.h"
#include "platform/banking/sepa_xml.h"

namespace guichet::jobs {
class Runner;
}

namespace guichet::wallet {

inline constexpr int64_t kDayMs = int64_t{24} * 3600 * 1000;
inline constexpr int64_t kSettlementEveryMs = kDayMs;        // the job "wallet.settlement"
inline constexpr int64_t kSettlementRunsPerJobMax = 1000;    // merchants run by one job pass
inline constexpr int64_t kSettlementListMax = 500;           // runs in one list answer
inline constexpr int64_t kSettlementTransferRunsMax = 5000;  // runs paid by one pain.001 file
inline constexpr int64_t kSettlementMailPointPdfsMax = 20;   // point PDFs attached to the e-mail

// Transfer files in one page of their list (ListTransfers).
inline constexpr int64_t kSettlementTransferPageDefault = 20;
inline constexpr int64_t kSettlementTransferPageMax = 100;

namespace right {
inline constexpr std::string_view kSettlementsRead =
    "wallet.settlements.read";  // merchants, admins
inline constexpr std::string_view kSettlementsManage =
    "wallet.settlements.manage";  // regional admins: run, regenerate, pay
}  // namespace right
void DeclareSettlementPermissions(identity::RightsCatalog& catalog);

// Operator-side account purposes the runs move money with (wallet_operator_accounts.purpose).
namespace purpose {
inline constexpr std::string_view kSettlementPayable = "settlement_payable";  // owed to merchant
inline constexpr std::string_view kCommission = "commission";  // the region's revenue
inline constexpr std::string_view kMerchantTransfers =
    "merchant_transfers";  // paid out to merchants (the bank)
}  // namespace purpose

namespace settlement_code {
inline constexpr std::string_view kNotFound = "settlement_not_found";                   // 404
inline constexpr std::string_view kNotDue = "settlement_not_due";                       // 409
inline constexpr std::string_view kCutoffInvalid = "settlement_cutoff_invalid";         // 422
inline constexpr std::string_view kNothingToPay = "settlement_nothing_to_pay";          // 422
inline constexpr std::string_view kTransferNotFound = "settlement_transfer_not_found";  // 404
inline constexpr std::string_view kNotToPay = "settlement_not_to_pay";  // 409: a chosen run
}  // namespace settlement_code

struct SettlementOptions {
  banking::InstitutionAccount debtor;  // the service's account paying merchants
  std::string initiating_party = "Guichet";
};

// The stored run: figures as computed when it was created, never changed afterwards.
struct SettlementRun {
  int64_t id = 0;
  int64_t merchant_org_id = 0;
  int64_t seq = 0;           // 1, 2… per merchant
  std::string statement_id;  // "STL-<merchant>-<seq>": the SEPA end-to-end id too
  int64_t period_start_ms = 0, period_end_ms = 0;
  int64_t commission_bp = 0;
  SettlementAmounts totals;
  int64_t brought_forward_cents = 0, net_cents = 0, payable_cents = 0, carried_forward_cents = 0;
  std::string state;  // to_pay | paid | nothing_to_pay
  std::optional<int64_t> transfer_file_id;
  int64_t document_version = 1;
  std::string statement_sha256;  // of the merchant statement PDF of the current version
  int64_t created_at_ms = 0;
  std::optional<int64_t> paid_at_ms;
};

struct SettlementRunPoint {
  int64_t point_id = 0;
  std::string label, location;
  SettlementAmounts amounts;
};

struct SettlementDocumentVersion {
  int64_t version = 0;
  int64_t generated_at_ms = 0;
  std::string statement_sha256;
  std::string reason;
};

struct SettlementRunDetail {
  SettlementRun run;
  std::vector<SettlementRunPoint> points;
  std::vector<SettlementDocumentVersion> versions;
};

enum class SettlementDocument { kStatementPdf, kPointPdf, kXml, kJournalCsv };

struct SettlementFile {
  std::string content_type;
  std::string file_name;
  std::string body;
};

struct SettlementTransferBatch {
  int64_t id = 0;
  std::string message_id;
  int64_t runs = 0;
  int64_t total_cents = 0;
  int64_t created_at_ms = 0;
};

// A run paid by a transfer file, as the list of files shows it.
struct SettlementTransferRun {
  int64_t id = 0;
  int64_t merchant_org_id = 0;
  std::string statement_id;
  int64_t payable_cents = 0;
};

struct SettlementTransferFileSummary {
  SettlementTransferBatch batch;
  std::vector<SettlementTransferRun> runs;  // by id
};

class Settlements {
 public:
  Settlements(Pos& pos, SettlementOptions options);

  // Runs one merchant now (wallet.settlements.manage at the merchant), up to `cutoff_ms`
  // (default: now). settlement_not_due (409) when the previous run ended less than the
  // merchant's settlement period ago; merchant_not_found (404) outside the caller's scope.
  Result<SettlementRunDetail> RunMerchant(const identity::Caller& caller, int64_t merchant_id,
                                          std::optional<int64_t> cutoff_ms);
  // Job: every merchant whose period has elapsed; returns the runs made.
  Result<int64_t> RunDue();

  Result<std::vector<SettlementRun>> List(const identity::Caller& caller,
                                          std::optional<int64_t> merchant_id);
  Result<SettlementRunDetail> Get(const identity::Caller& caller, int64_t run_id);
  // The documents of the run's current version; kPointPdf needs `point_id`.
  Result<SettlementFile> Document(const identity::Caller& caller, int64_t run_id,
                                  SettlementDocument document, int64_t point_id = 0);
  // A new document version (same figures; asserted) made now.
  Result<SettlementRunDetail> Regenerate(const identity::Caller& caller, int64_t run_id,
                                         std::string_view reason);
  // The pain.001 file paying every to_pay run in the caller's scope (at most
  // kSettlementTransferRunsMax); those runs become paid. settlement_nothing_to_pay (422).
  // With `run_ids` (not empty, no duplicates: the route checks), exactly those runs, each in
  // the caller's scope (else settlement_not_found, 404) and to_pay (else settlement_not_to_pay,
  // 409); a refusal pays none of them.
  Result<SettlementTransferBatch> ExportTransfers(const identity::Caller& caller,
                                                  const std::vector<int64_t>& run_ids = {});
  Result<SettlementFile> TransferFile(const identity::Caller& caller, int64_t batch_id);
  // Transfer files in the caller's scope, newest first: `limit` of them (clamped to
  // 1..kSettlementTransferPageMax) with ids below `before_id` when given.
  Result<std::vector<SettlementTransferFileSummary>> ListTransfers(const identity::Caller& caller,
                                                                   std::optional<int64_t> before_id,
                                                                   int64_t limit);

  Pos& pos() { return pos_; }  // the merchants' fee schedules (settlement_fees.h)

  // The statement of a stored run as the calculation gives it again (tests, documents).
  Result<SettlementStatement> Recompute(storage::Transaction& tx, int64_t run_id);

 private:
  Result<SettlementRun> VisibleRun(storage::Transaction& tx, const identity::Caller& caller,
                                   std::string_view needed, int64_t run_id);

  Pos& pos_;
  Wallet& wallet_;
  SettlementOptions options_;
};

std::vector<storage::Migration> SettlementMigrations();

boost::json::object SettlementRunJson(const SettlementRun& run);
boost::json::object SettlementRunDetailJson(const SettlementRunDetail& detail);

}  // namespace guichet::wallet
