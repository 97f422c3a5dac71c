// The wallet's model and the functions every money-moving use case of the wallet builds on:
// holders and their supports, counters (one euro counter, 8–16 token counters), the holders'
// and the operator's ledger accounts, thresholds (W11), and the one way to credit or debit a
// holder: through platform/ledger, with a movement row that explains the balance, an audit
// entry and an alert message queued in the same transaction.
//
// Stable API for the money side (reloads, transfers, refunds, SEPA): extend, don't break.
// Amounts are integer minor units: cents for the euro counter, tokens for token counters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/result.h"
#include "platform/identity/rights.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::wallet {

// ---- Constants ---------------------------------------------------------------------------------

inline constexpr std::string_view kEuro = "EUR";             // the euro counter's asset code
inline constexpr std::string_view kPersonType = "wallet.holder";  // privacy::PersonRef.type
inline constexpr int64_t kTokenCountersMin = 8;   // the service offers 8–16 token counters
inline constexpr int64_t kTokenCountersMax = 16;
inline constexpr int64_t kDateTimeFields = 4;     // per counter: D1…D4
// Ledger account codes.
inline constexpr std::string_view kHolderAccountCode = "holder";

// Operator-side account purposes (wallet_operator_accounts.purpose). Each names the ledger
// account that is the counterpart of a holder movement.
namespace purpose {
inline constexpr std::string_view kCardAcquirer = "card_acquirer";  // card reloads (clearing)
inline constexpr std::string_view kSepa = "sepa";                    // direct debits, refunds
inline constexpr std::string_view kCash = "cash";                    // cash packs at points
inline constexpr std::string_view kFees = "fees";                    // fees charged to holders
inline constexpr std::string_view kSales = "sales";                  // payments at points of sale
inline constexpr std::string_view kTokenIssue = "token_issue";       // tokens loaded
inline constexpr std::string_view kCover = "cover";                  // institution's SEPA reject cover
inline constexpr std::string_view kSuspense = "suspense";            // federation, corrections
}  // namespace purpose

// Threshold names (wallet_thresholds.name).
namespace threshold {
inline constexpr std::string_view kMaxTransaction = "max_transaction";  // cents, per support type
inline constexpr std::string_view kMaxReload = "max_reload";            // cents
inline constexpr std::string_view kMaxBalance = "max_balance";          // cents
inline constexpr std::string_view kQrLifetimeS = "qr_lifetime_s";       // seconds
}  // namespace threshold
inline constexpr std::string_view kAnySupportType = "*";

// Refusal codes the money side shares (problem+json "code").
namespace code {
inline constexpr std::string_view kHolderNotFound = "holder_not_found";
inline constexpr std::string_view kHolderNotActive = "holder_not_active";  // deactivated, closed…
inline constexpr std::string_view kHolderOpposed = "holder_opposed";
inline constexpr std::string_view kSupportNotFound = "support_not_found";
inline constexpr std::string_view kSupportOpposed = "support_opposed";
inline constexpr std::string_view kUnknownCounter = "unknown_counter";
inline constexpr std::string_view kCounterInactive = "counter_inactive";
inline constexpr std::string_view kCounterNotAuthorised = "counter_not_authorised";
inline constexpr std::string_view kThresholdExceeded = "threshold_exceeded";
inline constexpr std::string_view kInsufficientFunds = "insufficient_funds";
inline constexpr std::string_view kDuplicateOperation = "duplicate_operation";
}  // namespace code

// ---- Model -------------------------------------------------------------------------------------

enum class HolderState { kPendingActivation, kActive, kDeactivated, kClosed, kFederated };
enum class Opposition { kNone, kTemporary, kPermanent };
std::string_view HolderStateName(HolderState state);
std::optional<HolderState> ParseHolderState(std::string_view name);
std::string_view OppositionName(Opposition opposition);
std::optional<Opposition> ParseOpposition(std::string_view name);

struct Support {
  int64_t id = 0;
  int64_t holder_id = 0;
  std::string number;      // card serial / virtual support number, unique
  std::string technology;  // "desfire", "nfc_phone", "qr"…: the support type of thresholds
  bool is_virtual = false;
  Opposition opposition = Opposition::kNone;
  std::optional<int64_t> opposed_at_ms;
  int64_t created_at_ms = 0;
};

struct Holder {
  int64_t id = 0;
  int64_t organisation_id = 0;  // the institution (an organisation of the tree)
  std::string organisation_path;
  // Personal data: empty once the holder deactivated for good or was erased.
  std::string university_id, ine, tariff_profile, last_name, first_name, email;
  std::string birth_date;       // YYYY-MM-DD
  std::string phone;
  std::string language = "fr";  // fr | en
  std::string end_of_validity;  // YYYY-MM-DD
  HolderState state = HolderState::kPendingActivation;
  Opposition opposition = Opposition::kNone;
  bool has_password = false;
  std::optional<int64_t> activated_at_ms;
  int64_t last_activity_at_ms = 0;
  std::optional<int64_t> federated_into;
  std::optional<int64_t> federated_at_ms;
  std::optional<int64_t> closed_at_ms;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  int64_t version = 1;
  std::vector<Support> supports;
};

struct Counter {
  int64_t id = 0;
  std::string code;  // the ledger's asset code: "EUR", "MEAL"
  bool euro = false;
  std::string nature;      // "Repas sociaux"
  std::string token_name;  // "repas"
  std::string information_fr, information_en;
  std::string labels[kDateTimeFields];  // D1…D4 names
  bool active = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// A holder's account for one counter.
struct HolderAccount {
  int64_t holder_id = 0;
  Counter counter;
  int64_t ledger_account_id = 0;
  int64_t balance = 0;    // posted credits − posted debits
  int64_t available = 0;  // balance − holds
  std::optional<int64_t> at_ms[kDateTimeFields];  // the four date/time fields
};

struct Thresholds {
  int64_t max_transaction_default = 0;  // cents; support type "*"
  std::vector<std::pair<std::string, int64_t>> max_transaction_by_type;  // technology → cents
  int64_t max_reload = 0;    // cents
  int64_t max_balance = 0;   // cents
  int64_t qr_lifetime_s = 0;
  int64_t MaxTransactionFor(std::string_view support_type) const;
};

// ---- Reading -----------------------------------------------------------------------------------

Result<std::optional<Holder>> FindHolder(storage::Transaction& tx, int64_t holder_id);
// Not found also when the holder's institution is outside every path of `scopes` (a caller's
// organisation subtree): other organisations' holders answer 404.
Result<Holder> HolderInScope(storage::Transaction& tx, int64_t holder_id,
                             const std::vector<std::string>& scopes);
Result<std::optional<Support>> FindSupportByNumber(storage::Transaction& tx, std::string_view number);
Result<std::optional<Support>> FindSupport(storage::Transaction& tx, int64_t support_id);

Result<std::vector<Counter>> ListCounters(storage::Transaction& tx);
// unknown_counter (404) when no counter has this code.
Result<Counter> CounterByCode(storage::Transaction& tx, std::string_view code);

// The holder's account for a counter, created on first use (with the never-negative flag).
// Errors: unknown_counter, counter_inactive (a token counter not activated), holder_not_found.
Result<HolderAccount> HolderAccountFor(storage::Transaction& tx, int64_t holder_id,
                                       std::string_view counter_code, int64_t now_ms);
// Every active counter's account of the holder (created as needed), euro first.
Result<std::vector<HolderAccount>> HolderAccounts(storage::Transaction& tx, int64_t holder_id,
                                                  int64_t now_ms);
// The operator's account of `organisation_id` for an asset and a purpose, created on first use
// (no balance flag: the operator's side may be negative).
Result<int64_t> OperatorAccount(storage::Transaction& tx, int64_t organisation_id,
                                std::string_view ledger, std::string_view purpose, int64_t now_ms);
// A point of sale's own takings account (purpose sales) for an asset, created on first use and
// owned by its merchant. Each point books its sales there, so concurrent payments at different
// points never wait on one merchant-wide account row; a settlement run sweeps them into the
// merchant's sales account (OperatorAccount(…, purpose::kSales)).
Result<int64_t> PointSalesAccount(storage::Transaction& tx, int64_t point_id,
                                  int64_t merchant_org_id, std::string_view ledger, int64_t now_ms);

// Whether a machine client (API key or device) may load or debit a counter (W5).
Result<bool> ClientMayLoad(storage::Transaction& tx, const identity::Caller& caller,
                           std::string_view counter_code);
Result<bool> ClientMayDebit(storage::Transaction& tx, const identity::Caller& caller,
                            std::string_view counter_code);

// How to reach a holder, with the fields of notify::ContactDirectory's Contact (branch
// notify-content): once that directory is on main, app/main.cpp registers
//   directory.Add(std::string(wallet::kPersonType), [](tx, id) { … FindHolderContact(tx, id) … });
// nullopt: no such holder.
struct HolderContact {
  std::string display_name;  // "First Last"
  std::string email;         // empty once erased or deactivated for good
  std::string phone;
  std::string language = "fr";
  int64_t organisation_id = 0;
  std::string organisation_path;
  bool active = true;  // false: deactivated, closed, federated: never written to
};
Result<std::optional<HolderContact>> FindHolderContact(storage::Transaction& tx, int64_t holder_id);

// ---- Checks ------------------------------------------------------------------------------------

// holder_not_active (409) unless active or pending activation; holder_opposed (409) when the
// account is opposed.
Status RequireHolderUsable(const Holder& holder);
// support_opposed (409).
Status RequireSupportUsable(const Support& support);

Result<Thresholds> LoadThresholds(storage::Transaction& tx);
// threshold_exceeded (422) with the threshold's name in the field pointer ("/max_transaction").
Status CheckTransactionAmount(const Thresholds& thresholds, std::string_view support_type,
                              int64_t amount);
Status CheckReloadAmount(const Thresholds& thresholds, int64_t amount);
Status CheckBalanceAfter(const Thresholds& thresholds, int64_t balance_after);

// ---- Movements ---------------------------------------------------------------------------------

enum class Direction { kCredit, kDebit };

// One movement of a holder's counter, against an operator (or another holder's) account.
struct Movement {
  int64_t holder_id = 0;
  std::string counter = std::string(kEuro);
  Direction direction = Direction::kCredit;
  int64_t amount = 0;                 // > 0
  int64_t counterpart_account_id = 0;  // the ledger account on the other side
  std::string transfer_id;            // client-chosen ledger id (idempotency)
  std::string kind;                   // "reload.card", "reload.sepa", "transfer", "refund", "payment"…
  std::string mode;                   // "card", "sepa", "transfer", "link", "cash", "support", "api"…
  std::optional<int64_t> support_id;  // the support used, when one was
  std::string label;                  // shown on the statement ("Recharge CB", "Virement de …")
  // A fee charged to the holder with the movement, linked to it (both or neither).
  int64_t fee_amount = 0;
  int64_t fee_account_id = 0;  // required with a fee (OperatorAccount(…, purpose::kFees))
  // Which date/time field (1–4) the movement stamps; 0: none. Debits of the euro counter stamp
  // field 1 unless told otherwise.
  int64_t stamp_field = 0;
  // Whether the maximum balance threshold applies (euro credits: yes; corrections: no).
  bool enforce_max_balance = true;
  // Pending (a hold, posted or voided later by the caller through the ledger): timeout in s.
  bool pending = false;
  int64_t timeout_s = 0;
  // Operations of the service itself on the account (closure, federation, inactivity fee):
  // the holder's and support's state are not checked.
  bool service_operation = false;
  // Whether the movement is the holder's activity (resets the 18-month inactivity clock and
  // any notice). An inactivity fee is not.
  bool counts_as_activity = true;
  // Rows the caller already read in this transaction (a payment at a point reads them to
  // decide): MoveHolder then does not read them again. Each must be holder_id's / counter's.
  const Holder* known_holder = nullptr;
  const Counter* known_counter = nullptr;
};

struct MovementResult {
  std::string transfer_id;
  int64_t balance_after = 0;
  int64_t available_after = 0;
  bool replayed = false;  // the same transfer id and content was applied before
};

// Credits or debits the holder in the caller's write transaction: checks the holder's state
// and the support's, the thresholds of the euro counter (max_reload for a credit whose kind
// starts with "reload", max_transaction of the support's type for a debit with a support),
// applies the transfers through the ledger, checks the maximum balance,
// writes the movement row, stamps the date/time field, queues an alert message for the holder
// and, last, appends an audit entry (its chain lock lasts until COMMIT: do little after). Errors: holder_not_found, holder_not_active, holder_opposed,
// support_opposed, unknown_counter, counter_inactive, threshold_exceeded (which one in the field),
// insufficient_funds (422), duplicate_operation (409: same transfer id, other content), and
// ledger_<result> for other ledger refusals. On error the caller's transaction must roll back.
Result<MovementResult> MoveHolder(storage::Transaction& tx, const identity::Caller& caller,
                                  const Movement& movement, int64_t now_ms);

// A holder's transfer to another holder, euro only (W7): one ledger transfer between the two
// holder accounts, with a movement row on each side, audit and two alerts.
struct HolderTransfer {
  int64_t from_holder_id = 0;
  int64_t to_holder_id = 0;
  int64_t amount = 0;
  std::string transfer_id;
  std::string label;
  std::string kind = "transfer";  // "federation" for a federation's euro balance
  bool service_operation = false;  // see Movement::service_operation (the sender's side)
};
Result<MovementResult> TransferBetweenHolders(storage::Transaction& tx,
                                              const identity::Caller& caller,
                                              const HolderTransfer& transfer, int64_t now_ms);

// ---- Migrations --------------------------------------------------------------------------------

std::vector<storage::Migration> Migrations();

}  // namespace guichet::wallet
