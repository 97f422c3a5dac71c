// SEPA direct-debit reloads (W7): an electronic mandate with its unique reference (RUM), then,
// each time, an explicit amount and confirmation by the holder. The account is credited at
// once; the bank's money is a pending ledger transfer (in transit → SEPA clearing) until the
// interbank delay is over: 5 business days for the first debit of a mandate, 2 for the next
// ones (calendar: platform/banking/calendar.h), when the "wallet.sepa_settle" job posts it. A
// reject before then voids it, reverses the credit as far as the balance goes, opposes the
// account, lets the institution cover the rest within its limits (one debit per day per
// holder, capped at the debit's amount, and at 15 € for a larger debit: "capé au montant du
// prélèvement (ou à 15 € en cas d'un prélèvement d'un montant supérieur)", §5.6.1.3) and opens
// a recovery record. Pending debits go to the bank in one pain.008.001.08 file per collection
// date.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modules/wallet/reloads.h"

namespace guichet::jobs {
class Runner;
}

namespace guichet::wallet {

inline constexpr int64_t kFirstDebitDelayBusinessDays = 5;
inline constexpr int64_t kRecurrentDebitDelayBusinessDays = 2;
inline constexpr int64_t kCoverCapCents = 1500;  // 15 €
inline constexpr int64_t kSepaSettleEveryMs = int64_t{3600} * 1000;
inline constexpr int64_t kMandatesPerHolderMax = 3;

struct DirectDebitOptions {
  int64_t min_cents = 500;     // the tender: ≤ 5 €
  int64_t max_cents = 20000;   // the tender: ≥ 20 €
  std::string creditor_id;     // ICS, normalised
  banking::InstitutionAccount account;
  std::string initiating_party = "Guichet";
};

struct Mandate {
  int64_t id = 0;
  int64_t holder_id = 0;
  std::string rum;
  std::string iban, bic, name;
  std::string signed_on;  // YYYY-MM-DD
  std::string status;     // active, revoked
  bool first_used = false;
  int64_t created_at_ms = 0;
};

struct DirectDebit {
  int64_t id = 0;
  int64_t holder_id = 0;
  int64_t mandate_id = 0;
  int64_t amount = 0;
  std::string sequence;  // FRST, RCUR
  std::string end_to_end_id;
  std::string collection_date, settle_on;
  std::string status;  // pending, settled, rejected
  std::optional<int64_t> file_id;
  int64_t created_at_ms = 0;
};

struct RejectOutcome {
  DirectDebit debit;
  int64_t reversed = 0;
  int64_t covered = 0;
  int64_t owed = 0;
  std::string cover_refused;  // "cover_limit_reached" when the day's cover was used already
};

class DirectDebits {
 public:
  DirectDebits(Wallet& wallet, DirectDebitOptions options);

  // The holder signs a mandate electronically: iban_* / bic_malformed / iban_not_sepa (422),
  // mandate_not_accepted (422) without the explicit acceptance, mandates_limit (409).
  Result<Mandate> SignMandate(int64_t holder_id, std::string_view iban, std::string_view bic, std::string_view name,
                              bool accepted);
  Result<std::vector<Mandate>> MyMandates(int64_t holder_id);
  Status RevokeMandate(int64_t holder_id, int64_t mandate_id);

  // An explicit amount, confirmed: confirmation_required (422), below_minimum / above_maximum
  // (422), mandate_missing (409: no such active mandate of the holder), threshold_exceeded,
  // holder_opposed.
  Result<DirectDebit> RequestDebit(int64_t holder_id, int64_t mandate_id, int64_t amount, bool confirmed);
  Result<std::vector<DirectDebit>> MyDebits(int64_t holder_id);

  // The bank's reject of a pending debit (staff with wallet.sepa.manage): debit_not_found
  // (404), debit_not_pending (409).
  Result<RejectOutcome> RejectDebit(const identity::Caller& caller, int64_t debit_id, std::string_view reason);
  // One pain.008 file per collection date for the debits not yet sent: nothing_to_export (409).
  Result<std::vector<SepaFile>> ExportDebits(const identity::Caller& caller, int64_t organisation_id);
  // Job: posts the pending transfers whose interbank delay is over. Returns how many.
  Result<int64_t> SettleDue();

 private:
  Wallet& wallet_;
  DirectDebitOptions options_;
};

void RegisterDirectDebitJobs(jobs::Runner& runner, DirectDebits& debits);
storage::Migration DirectDebitMigration();

boost::json::object MandateJson(const Mandate& mandate);
boost::json::object DirectDebitJson(const DirectDebit& debit);

}  // namespace guichet::wallet
