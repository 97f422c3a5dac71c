// The wallet's acceptance network and online payment protocol (W12–W15): merchants (an
// organisation of kind `merchant` plus its bank data, the IBAN encrypted at rest), points of
// sale with explicit permissions, approval by a regional admin that creates a device pairing,
// device swap, opposition and reactivation with their history; and what a paired point does,
// through device-signed requests: clock check, balance query, debit in three phases (a pending
// ledger hold, then a positive or negative acknowledgement; an unacknowledged hold expires),
// token loads and debits per counter, cash packs, cancellation; and the per-admin test
// account whose money never touches real accounts.
//
// Money moves only through wallet::MoveHolder and ledger transfers in the caller's
// transaction. Every point operation is a row of wallet_pos_transactions, unique per
// (point, point_txn_id), which makes every request idempotent.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modules/wallet/wallet.h"
#include "platform/identity/machines.h"

namespace guichet::wallet {

// ---- Limits and defaults ------------------------------------------------------------------------

inline constexpr int64_t kPosClockDriftMaxMsDefault = 30'000;
inline constexpr int64_t kPosHoldSDefault = 120;
inline constexpr int64_t kOfflineAllowanceCentsDefault = 3000;  // W16, per card between connections
inline constexpr int64_t kPosAmountMax = int64_t{100'000'000};  // minor units, any counter
inline constexpr int64_t kPointTxnIdLengthMax = 64;             // [A-Za-z0-9._:-]
inline constexpr int64_t kLocationSegmentsMax = 8;
inline constexpr int64_t kLocationSegmentLengthMax = 32;
inline constexpr int64_t kAddressLengthMax = 300;
inline constexpr int64_t kInstitutionIdLengthMax = 64;
inline constexpr int64_t kPointPermissionsMax = 40;
inline constexpr int64_t kPointReasonLengthMax = 500;
inline constexpr int64_t kCommissionBpMax = 10'000;      // basis points: 100 %
inline constexpr int64_t kSettlementPeriodDaysMax = 30;  // W19: at most every 30 days
inline constexpr int64_t kPosListMax = 1000;
inline constexpr int64_t kPosHistoryMax = 500;
inline constexpr int64_t kTestAccountInitialCents = 5000;  // test money given at creation
inline constexpr int64_t kTestCreditCentsMax = 100'000;

// Point types and permissions (W13).
inline constexpr std::string_view kPointTypes[] = {"till",   "vending_machine", "laundry",
                                                   "copier", "web_shop",        "other"};
inline constexpr std::string_view kPointPermissions[] = {
    "create_holders", "clock_check", "download_base", "cash_reload", "debit",
    "reconciliation", "offline",     "cancel"};  // plus load:<counter>, debit:<counter>

namespace right {
inline constexpr std::string_view kMerchantsManage = "wallet.merchants.manage";  // regional admins
inline constexpr std::string_view kPointsRead = "wallet.points.read";      // merchants, admins
inline constexpr std::string_view kPointsManage = "wallet.points.manage";  // create points
inline constexpr std::string_view kPointsApprove =
    "wallet.points.approve";  // approve, pair, reactivate, cancel
inline constexpr std::string_view kPointsOppose =
    "wallet.points.oppose";  // merchants (own), admins
inline constexpr std::string_view kPosTestAccount = "wallet.pos.test_account";  // admins
inline constexpr std::string_view kPosOperate = "wallet.pos.operate";  // devices of kind pos
}  // namespace right
// Declares the rights above; wallet.pos.operate is a permission of devices of kind `pos`.
void DeclarePosPermissions(identity::RightsCatalog& catalog);

// Refusal codes of the point protocol (problem+json "code"); see docs/pos-protocol.md.
namespace pos_code {
inline constexpr std::string_view kPointUnknown = "point_unknown";                 // 403
inline constexpr std::string_view kPointNotApproved = "point_not_approved";        // 403
inline constexpr std::string_view kPointOpposed = "point_opposed";                 // 403
inline constexpr std::string_view kPermissionDenied = "permission_denied";         // 403
inline constexpr std::string_view kClockDrift = "clock_drift";                     // 422
inline constexpr std::string_view kAmountInvalid = "amount_invalid";               // 422
inline constexpr std::string_view kPointTxnConflict = "point_txn_conflict";        // 409
inline constexpr std::string_view kTransactionNotFound = "transaction_not_found";  // 404
inline constexpr std::string_view kTransactionExpired = "transaction_expired";     // 409
inline constexpr std::string_view kAlreadyAcknowledged = "already_acknowledged";   // 409
inline constexpr std::string_view kNotCancellable = "not_cancellable";             // 409
inline constexpr std::string_view kQrNotSupported = "qr_not_supported";            // 422
inline constexpr std::string_view kPayerMissing = "payer_missing";                 // 422
inline constexpr std::string_view kTestMismatch = "test_mismatch";                 // 422
inline constexpr std::string_view kCashPackInvalid = "cash_pack_invalid";          // 422
inline constexpr std::string_view kPaymentCodeInvalid = "payment_code_invalid";    // 404
}  // namespace pos_code

// The secretbox key from the hex secret platform/secrets keeps ("wallet.merchant_ibans").
std::string IbanKeyFromSecret(std::string_view hex);

struct PosOptions {
  int64_t clock_drift_max_ms = kPosClockDriftMaxMsDefault;  // wallet_pos_clock_drift_max_ms
  int64_t hold_s = kPosHoldSDefault;                        // wallet_pos_hold_s
  int64_t offline_allowance_cents = kOfflineAllowanceCentsDefault;  // wallet_offline_allowance_cents
  std::string iban_key;  // 32 bytes (raw) of the secretbox key for merchants' IBANs
};

// ---- Merchants and points -----------------------------------------------------------------------

struct NewMerchant {
  int64_t region_id = 0;  // the region organisation the merchant sits under
  std::string name, iban, bic, contact_email;
  int64_t commission_bp = 0;
  int64_t settlement_period_days = kSettlementPeriodDaysMax;
};

struct Merchant {
  int64_t organisation_id = 0;
  int64_t region_id = 0;
  std::string name;
  std::string iban_last4;  // the IBAN itself is never shown
  std::string bic, contact_email;
  int64_t commission_bp = 0;
  int64_t settlement_period_days = 0;
  int64_t created_at_ms = 0;
};

struct NewPoint {
  int64_t merchant_id = 0;  // the merchant organisation
  std::string institution_id, location, address, type;
  std::vector<std::string> permissions;
  bool is_test = false;
};

struct Point {
  int64_t id = 0;
  int64_t merchant_org_id = 0;
  std::string merchant_path;
  int64_t institution_org_id = 0;  // the region: the institution's ids are unique within it
  std::string institution_id, location, address, type;
  std::vector<std::string> permissions;
  bool is_test = false;
  std::string state;  // pending | approved | opposed
  std::optional<int64_t> pairing_id;
  std::optional<int64_t> device_id;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  bool Allows(std::string_view permission) const;
};

struct PointEvent {
  int64_t id = 0;
  std::string event;  // created | approved | paired | device_replaced | opposed | reactivated
  std::optional<std::string> reason;
  std::string actor_type;
  std::optional<int64_t> actor_id;
  int64_t at_ms = 0;
};

struct PointApproval {
  Point point;
  identity::Pairing pairing;  // the code the point's device pairs with (shown once)
};

// ---- Operations at a point -------------------------------------------------------------------

enum class PosOperation { kDebit, kLoad, kCashReload, kCancel };
std::string_view PosOperationName(PosOperation operation);

// Who pays or receives: a support number, a one-time QR code (wallet-qr), or, for a web shop,
// a payment code the holder made in its session.
struct PayerRef {
  std::optional<std::string> support_number;
  std::optional<std::string> qr;
  std::optional<std::string> payment_code;
};

struct PointOperation {
  std::string point_txn_id;
  PosOperation operation = PosOperation::kDebit;
  std::string counter = std::string(kEuro);
  int64_t amount = 0;
  int64_t point_at_ms = 0;
  PayerRef payer;
  std::string cancels_point_txn_id;  // kCancel only
};

struct Payer {
  int64_t holder_id = 0;
  std::optional<int64_t> support_id;
  std::optional<int64_t> qr_code_id;
};

struct PosTransaction {
  int64_t id = 0;
  int64_t point_id = 0;
  int64_t merchant_org_id = 0;
  std::string point_txn_id, operation, counter;
  int64_t amount = 0;
  std::optional<int64_t> holder_id, support_id, qr_code_id;
  std::string state;
  std::string refusal_code;
  bool offline = false;
  int64_t point_at_ms = 0, received_at_ms = 0;
  std::optional<int64_t> acknowledged_at_ms;
  std::string ledger_transfer_id;
  std::optional<int64_t> cancels_id;
  bool is_test = false;
  std::optional<int64_t> expires_at_ms;  // pending debits: when the hold lapses
};

struct PointOperationResult {
  PosTransaction transaction;
  int64_t balance_after = 0;    // the holder's balance of the counter after the operation
  int64_t available_after = 0;  // that balance less holds
  bool replayed = false;        // the same point_txn_id and content was seen before
};

struct CounterBalance {
  std::string counter;
  bool euro = false;
  int64_t balance = 0;
  int64_t available = 0;
};

struct BalanceAnswer {
  int64_t holder_id = 0;
  std::vector<CounterBalance> balances;
};

struct ClockAnswer {
  int64_t server_ms = 0;
  int64_t drift_max_ms = 0;
  int64_t offline_allowance_cents = 0;  // what one card may spend offline (the point tracks it)
};

struct TestAccount {
  int64_t holder_id = 0;
  std::string support_number;
  std::vector<CounterBalance> balances;
};

// ---- Functions for other parts (offline sync, QR, settlement)
// ------------------------------------

// The point operated by a device (linking a freshly paired device on its first request).
// point_unknown (403) when the device is no point's.
Result<Point> PointOfDevice(storage::Transaction& tx, int64_t device_id, int64_t now_ms);
// The point a device operated, even after the device was replaced: what it stored offline before
// the swap still belongs to the point. point_unknown (403) when it never operated one.
Result<Point> PointOfPastDevice(storage::Transaction& tx, int64_t device_id);
// Whether the point may operate at all: point_not_approved, point_opposed (403).
Status RequirePointOperational(const Point& point);
// Finds who pays: support number, one-time QR (wallet::RedeemQr, spent when `consume`; a balance query by QR is qr_not_supported)
// or a web shop's payment code. support_not_found (404), payer_missing (422).
Result<Payer> ResolvePayer(storage::Transaction& tx, const Point& point, const PayerRef& payer,
                           int64_t point_now_ms, int64_t now_ms);
// Applies one operation that already happened at the point while offline: posted at once (no
// hold), stamped with the point's time, flagged offline. insufficient_funds is returned as such
// (nothing applied, no row) so the caller can keep the event waiting (awaiting_funds). The same
// point_txn_id and content answers the first result (replayed).
Result<PointOperationResult> ApplyOfflineOperation(storage::Transaction& tx, const Point& point,
                                                   const PointOperation& operation, int64_t now_ms);

// ---- Use cases
// ------------------------------------------------------------------------------------

class Pos {
 public:
  Pos(Wallet& wallet, identity::Machines& machines, PosOptions options);

  // Merchants (wallet.merchants.manage at the region).
  Result<Merchant> CreateMerchant(const identity::Caller& caller, const NewMerchant& request);
  Result<std::vector<Merchant>> ListMerchants(const identity::Caller& caller);
  Result<Merchant> GetMerchant(const identity::Caller& caller, int64_t merchant_id);
  // The decrypted IBAN, for the settlement run only.
  Result<std::string> MerchantIban(storage::Transaction& tx, int64_t merchant_id) const;

  // Points: created pending (wallet.points.manage), approved by a regional admin
  // (wallet.points.approve), which issues the pairing code of its device.
  Result<Point> CreatePoint(const identity::Caller& caller, const NewPoint& request);
  Result<std::vector<Point>> ListPoints(const identity::Caller& caller);
  Result<Point> GetPoint(const identity::Caller& caller, int64_t point_id);
  Result<std::vector<PointEvent>> PointHistory(const identity::Caller& caller, int64_t point_id);
  Result<PointApproval> ApprovePoint(const identity::Caller& caller, int64_t point_id);
  // Device swap or re-registration: a new pairing; the current device is cut off at once.
  Result<PointApproval> ReplaceDevice(const identity::Caller& caller, int64_t point_id,
                                      std::string_view reason);
  Result<Point> OpposePoint(const identity::Caller& caller, int64_t point_id,
                            std::string_view reason);
  Result<Point> ReactivatePoint(const identity::Caller& caller, int64_t point_id,
                                std::string_view reason);
  Result<std::vector<PosTransaction>> PointTransactions(const identity::Caller& caller,
                                                        int64_t point_id);
  // A regional admin cancels an acknowledged debit (W12): the holder is credited back.
  Result<PointOperationResult> AdminCancel(const identity::Caller& caller, int64_t transaction_id,
                                           std::string_view reason);

  // The point's protocol (a device caller).
  Result<ClockAnswer> Clock(const identity::Caller& device);
  Result<BalanceAnswer> Balance(const identity::Caller& device, const PayerRef& payer,
                                int64_t point_at_ms);
  // Debits hold (pending); loads, cash packs and cancellations are posted at once.
  Result<PointOperationResult> Operate(const identity::Caller& device,
                                       const PointOperation& operation);
  Result<PointOperationResult> Acknowledge(const identity::Caller& device,
                                           std::string_view point_txn_id, bool positive,
                                           int64_t point_at_ms);
  Result<PosTransaction> GetOwnTransaction(const identity::Caller& device,
                                           std::string_view point_txn_id);

  // Web shops: the holder makes a short-lived single-use payment code in its session.
  struct PaymentCode {
    std::string code;
    int64_t expires_at_ms = 0;
  };
  Result<PaymentCode> CreatePaymentCode(int64_t holder_id);

  // W13: the caller's own test holder and support (created on first call, with test money).
  Result<TestAccount> MyTestAccount(const identity::Caller& caller);
  Result<TestAccount> CreditTestAccount(const identity::Caller& caller, int64_t amount);

  // Job: rows of holds that lapsed follow the ledger (expired); returns how many.
  Result<int64_t> ExpireLapsedHolds();

  const PosOptions& options() const { return options_; }
  Wallet& wallet() { return wallet_; }

 private:
  // One state change of a point by staff (opposition, reactivation): right, the guarded
  // update, its event in the point's history and its audit entry.
  struct PointTransition {
    std::string_view right;
    std::string_view from_condition;  // SQL on wallet_points.state, e.g. "state <> 'opposed'"
    std::string_view to_state;
    std::string_view conflict_code;
    std::string_view conflict_message;
    std::string_view event;         // wallet_point_events.event
    std::string_view audit_action;  // "wallet.point.oppose"
  };
  Result<Point> ChangePointState(const identity::Caller& caller, int64_t point_id,
                                 std::string_view reason, const PointTransition& transition);
  Result<Point> VisiblePoint(storage::Transaction& tx, const identity::Caller& caller,
                             std::string_view right, int64_t point_id);
  Result<PointApproval> IssuePairing(const identity::Caller& caller, int64_t point_id,
                                     std::string_view reason, bool approve);

  Wallet& wallet_;
  identity::Machines& machines_;
  PosOptions options_;
};

std::vector<storage::Migration> PosMigrations();

boost::json::object MerchantJson(const Merchant& merchant);
boost::json::object PointJson(const Point& point);
boost::json::object PointEventJson(const PointEvent& event);
boost::json::object PosTransactionJson(const PosTransaction& transaction);
boost::json::object OperationResultJson(const PointOperationResult& result);
boost::json::object BalancesJson(const std::vector<CounterBalance>& balances);

}  // namespace guichet::wallet
