// The wallet's offline mode (W16) on platform/sync: what a point of sale did while the network
// was down comes back as signed events (wallet.debit, wallet.load, wallet.cash_reload,
// wallet.cancel) whose payload is the body of the matching online route without point_at_ms
// (the event's at_ms is the point's time); and what a point needs to decide offline goes down
// as feeds (wallet.oppositions, wallet.qr_revoked_phones, wallet.qr_keys).
//
// A debit the holder cannot pay yet waits (awaiting_funds, wait key "holder:<id>"): it is tried
// again inside every credit of that holder (ScheduleHolderRetry, called once in MoveHolder) and
// on sync's retry schedule; each try that still waits queues an alert to the holder.
//
// Feeds never change on a payment: writers of a feed serialise on its head row, and payments
// must stay fast. Only oppositions and phone revocations record changes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modules/wallet/pos.h"
#include "platform/sync/sync.h"

namespace guichet::wallet {

namespace offline {
// Event kinds (right: wallet.pos.operate, held by devices of kind pos).
inline constexpr std::string_view kDebit = "wallet.debit";
inline constexpr std::string_view kLoad = "wallet.load";
inline constexpr std::string_view kCashReload = "wallet.cash_reload";
inline constexpr std::string_view kCancel = "wallet.cancel";
// Feeds (right: wallet.pos.operate).
inline constexpr std::string_view kOppositionsFeed = "wallet.oppositions";
inline constexpr std::string_view kRevokedPhonesFeed = "wallet.qr_revoked_phones";
inline constexpr std::string_view kQrKeysFeed = "wallet.qr_keys";
// The wait reason of a debit over the holder's balance, and the alert it sends at each try.
inline constexpr std::string_view kAwaitingFunds = "awaiting_funds";
inline constexpr std::string_view kAwaitingFundsTemplate = "wallet.offline_awaiting_funds";
// The wait reason of a cancellation of a debit still awaiting funds: it is applied after it.
inline constexpr std::string_view kAwaitingDebit = "awaiting_debit";
inline constexpr int64_t kAwaitingListMax = 500;  // events in a merchant's awaiting-funds list
inline constexpr int64_t kRefusedListMax = 50;    // latest refused events in a point's report
}  // namespace offline

// "holder:<id>": the wait key of the holder's debits awaiting funds.
std::string HolderWaitKey(int64_t holder_id);

// In the transaction of a credit to the holder: its debits awaiting funds are tried again once
// the transaction committed. Cheap when none waits (one indexed update).
Status ScheduleHolderRetry(storage::Transaction& tx, int64_t holder_id, int64_t now_ms);

// Records, in the caller's transaction, the opposition state of the supports selected by
// `support_id` (one support) or `holder_id` (all of the holder's): an upsert {"since": ms} in
// wallet.oppositions when the support or its holder is opposed, a delete when neither is.
// Scope: the holder's organisation path.
Status PublishSupportOpposition(storage::Transaction& tx, int64_t support_id, int64_t now_ms);
Status PublishHolderSupportOppositions(storage::Transaction& tx, int64_t holder_id, int64_t now_ms);
// A phone revoked: wallet.qr_revoked_phones gets {"since": revoked_at_ms} under its id.
Status PublishRevokedPhone(storage::Transaction& tx, int64_t phone_id, int64_t now_ms);

void AddOfflineHandlers(sync::Handlers& handlers);
void AddOfflineFeeds(sync::Feeds& feeds);

// Reports for merchants and admins (wallet.points.read, scoped).
struct AwaitingPayment {
  int64_t event_id = 0;
  int64_t point_id = 0;  // the point the device operated (0: none)
  std::string point_location;
  int64_t device_id = 0;
  int64_t seq = 0;
  std::string point_txn_id;
  std::string counter;
  int64_t amount = 0;
  int64_t holder_id = 0;
  std::string support_number;  // empty when paid by QR
  int64_t at_ms = 0;           // the point's time of the sale
  int64_t attempts = 0;
  std::optional<int64_t> last_try_at_ms;
  std::optional<int64_t> next_try_at_ms;
};

// An offline event the service refused (rolled back: it left nothing but this outcome).
struct RefusedEvent {
  int64_t event_id = 0;
  int64_t device_id = 0;
  int64_t seq = 0;
  std::string kind;   // wallet.debit…
  int64_t at_ms = 0;  // the point's time of the operation
  std::string code;   // the refusal code the device got (insufficient_funds…)
};

struct PointOfflineReport {
  Point point;
  std::optional<sync::DeviceReport> device;  // its current device; none before it is paired
  std::vector<AwaitingPayment> waiting;      // payments awaiting funds, of every device it had
  std::vector<RefusedEvent>
      refused;  // newest first, at most offline::kRefusedListMax, every device
};

class OfflineReports {
 public:
  explicit OfflineReports(Pos& pos) : pos_(pos) {}
  // point_not_found (404) outside the caller's scope.
  Result<PointOfflineReport> PointReport(const identity::Caller& caller, int64_t point_id);
  // merchant_not_found (404) outside the caller's scope. Oldest first.
  Result<std::vector<AwaitingPayment>> AwaitingFunds(const identity::Caller& caller,
                                                     int64_t merchant_id);

 private:
  Pos& pos_;
};

boost::json::object AwaitingPaymentJson(const AwaitingPayment& payment);
boost::json::object PointOfflineReportJson(const PointOfflineReport& report);

}  // namespace guichet::wallet
