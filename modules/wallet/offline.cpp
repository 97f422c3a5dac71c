// The wallet's offline mode on platform/sync (offline.h): event handlers, feeds, reports.
#include "modules/wallet/offline.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>

#include "modules/wallet/accounts.h"
#include "modules/wallet/pos_http.h"
#include "modules/wallet/qr_codes.h"
#include "platform/notify/outbox.h"
#include "platform/privacy/privacy.h"

namespace guichet::wallet {
namespace {

using boost::json::object;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

// ---- Events ------------------------------------------------------------------------------

// Errors that are no answer about the event (the database failed): the event stays as it was.
bool IsFailure(const Error& error) {
  return error.kind == ErrorKind::kInternal || error.kind == ErrorKind::kUnavailable;
}

// What every refusal of an event becomes: Refused with the error's code, or the error itself
// when it is a failure.
Result<sync::Outcome> RefusedOrFailed(Error error) {
  if (IsFailure(error)) return error;
  return sync::Outcome::Refused(error.code.empty() ? "refused" : error.code);
}

constexpr std::string_view kSavepoint = "wallet_offline_operation";

Status Savepoint(Transaction& tx) {
  return tx.ExecuteScript(fmt::format("SAVEPOINT {}", kSavepoint));
}
Status RollbackToSavepoint(Transaction& tx) {
  return tx.ExecuteScript(fmt::format("ROLLBACK TO SAVEPOINT {}", kSavepoint));
}
Status ReleaseSavepoint(Transaction& tx) {
  return tx.ExecuteScript(fmt::format("RELEASE SAVEPOINT {}", kSavepoint));
}

// "Paiement de 3,30 EUR chez <merchant> (<location>) en attente de provision", at each try.
Status QueueAwaitingFundsAlert(Transaction& tx, const Point& point, int64_t holder_id,
                               const PointOperation& operation, const sync::Event& event,
                               int64_t now_ms) {
  auto holder = FindHolder(tx, holder_id);
  if (!holder.ok()) return std::move(holder).error();
  if (!holder->has_value() || (*holder)->email.empty()) return OkStatus();
  auto merchant =
      tx.QueryOne("SELECT name FROM organisations WHERE id = $1", {point.merchant_org_id});
  if (!merchant.ok()) return std::move(merchant).error();
  const std::string merchant_name = merchant->has_value() ? (*merchant)->Text(0) : "";
  notify::OutboxMessage message;
  message.recipient = (*holder)->email;
  message.template_code = std::string(offline::kAwaitingFundsTemplate);
  message.language = (*holder)->language;
  message.person = privacy::PersonRef{std::string(kPersonType), holder_id};
  message.purpose = "alerts";
  message.organisation_id = (*holder)->organisation_id;
  message.variables_json = boost::json::serialize(
      object{{"display_name", fmt::format("{} {}", (*holder)->first_name, (*holder)->last_name)},
             {"amount_cents", operation.amount},
             {"counter", operation.counter},
             {"merchant", merchant_name},
             {"point", point.location},
             {"at", event.at_ms},
             {"attempts", event.attempts + 1}});
  auto queued = notify::Queue(tx, message, now_ms);
  if (!queued.ok()) return std::move(queued).error();
  return OkStatus();
}

// The holder a debit names, without keeping anything (a QR code is not spent).
Result<int64_t> PayerHolder(Transaction& tx, const Point& point, const PointOperation& operation,
                            int64_t now_ms) {
  GUICHET_TRY_STATUS(Savepoint(tx));
  auto payer = ResolvePayer(tx, point, operation.payer, operation.point_at_ms, now_ms);
  GUICHET_TRY_STATUS(RollbackToSavepoint(tx));
  GUICHET_TRY_STATUS(ReleaseSavepoint(tx));
  if (!payer.ok()) return std::move(payer).error();
  return payer->holder_id;
}

std::optional<std::string> StringField(const object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

// The wait key of the device's debit `point_txn_id` if it awaits funds: a cancellation of it made
// offline waits for it rather than being refused (else the sale would be taken after all).
Result<std::optional<std::string>> WaitingDebitKey(Transaction& tx, int64_t device_id,
                                                   std::string_view point_txn_id) {
  auto rows = tx.Query(fmt::format("SELECT payload, wait_key FROM sync_events WHERE device_id = $1"
                                   " AND kind = $2 AND state = 'waiting' ORDER BY seq LIMIT {}",
                                   sync::kReportWaitingMax),
                       {device_id, std::string(offline::kDebit)});
  if (!rows.ok()) return std::move(rows).error();
  for (const Row& row : rows->rows) {
    const boost::json::value payload = boost::json::parse(row.Text(0));
    const object* o = payload.if_object();
    if (o != nullptr && StringField(*o, "point_txn_id") == point_txn_id) {
      return row.OptionalText(1);
    }
  }
  return std::optional<std::string>();
}

Result<sync::Outcome> HandleOperation(PosOperation kind, Transaction& tx, const sync::Event& event,
                                      int64_t now_ms) {
  const object* body = event.payload.if_object();
  if (body == nullptr) return sync::Outcome::Refused("validation_failed");
  auto parsed = ParseOperationJson(*body, kind, false);
  if (!parsed.ok()) return RefusedOrFailed(std::move(parsed).error());
  PointOperation operation = std::move(*parsed);
  operation.point_at_ms = event.at_ms;
  auto point = PointOfDevice(tx, event.device_id, now_ms);
  if (!point.ok() && point.error().code == pos_code::kPointUnknown) {
    // Stored before the point's device was replaced: still the point's sale, made by that device.
    point = PointOfPastDevice(tx, event.device_id);
    if (point.ok()) point->device_id = event.device_id;
  }
  if (!point.ok()) return RefusedOrFailed(std::move(point).error());
  if (Status operational = RequirePointOperational(*point); !operational.ok()) {
    return RefusedOrFailed(operational.error());
  }
  if (!point->Allows("offline")) {
    return sync::Outcome::Refused(std::string(pos_code::kPermissionDenied));
  }
  // A refusal may come after some writes (a QR code spent, a row inserted): the savepoint keeps
  // "nothing applied" true whatever the event's own transaction then commits.
  GUICHET_TRY_STATUS(Savepoint(tx));
  auto applied = ApplyOfflineOperation(tx, *point, operation, now_ms);
  if (applied.ok()) {
    GUICHET_TRY_STATUS(ReleaseSavepoint(tx));
    return sync::Outcome::Applied(OperationResultJson(*applied));
  }
  GUICHET_TRY_STATUS(RollbackToSavepoint(tx));
  GUICHET_TRY_STATUS(ReleaseSavepoint(tx));
  const Error error = std::move(applied).error();
  if (operation.payer.qr && IsQrCodeRefusal(error)) {
    // Kept for fraud detection (W20: replays per phone), as at a till online.
    GUICHET_TRY_STATUS(RecordQrRefusal(
        tx, QrRefusal{*operation.payer.qr, error.code, event.at_ms, point->id}, now_ms));
  }
  if (kind == PosOperation::kCancel && error.code == pos_code::kTransactionNotFound) {
    auto waiting = WaitingDebitKey(tx, event.device_id, operation.cancels_point_txn_id);
    if (!waiting.ok()) return std::move(waiting).error();
    if (waiting->has_value()) {
      return sync::Outcome::Waiting(std::string(offline::kAwaitingDebit), **waiting);
    }
  }
  if (kind != PosOperation::kDebit || error.code != code::kInsufficientFunds) {
    return RefusedOrFailed(error);
  }
  auto holder_id = PayerHolder(tx, *point, operation, now_ms);
  if (!holder_id.ok()) return RefusedOrFailed(std::move(holder_id).error());
  GUICHET_TRY_STATUS(QueueAwaitingFundsAlert(tx, *point, *holder_id, operation, event, now_ms));
  return sync::Outcome::Waiting(std::string(offline::kAwaitingFunds), HolderWaitKey(*holder_id));
}

sync::EventKind KindOf(PosOperation kind) {
  return {std::string(right::kPosOperate),
          [kind](Transaction& tx, const identity::Caller&, const sync::Event& event,
                 int64_t now_ms) { return HandleOperation(kind, tx, event, now_ms); }};
}

// ---- Feeds -------------------------------------------------------------------------------

std::string InList(storage::Params& params, const std::vector<std::string>& values) {
  std::string in;
  for (const std::string& value : values) {
    in += fmt::format("{}${}", in.empty() ? "" : ", ", params.size() + 1);
    params.emplace_back(value);
  }
  return in;
}

// Supports opposed, or whose holder is: the holder's opposition stops every support too.
constexpr std::string_view kOpposedSince =
    "CASE WHEN s.opposition <> 'none' THEN COALESCE(s.opposed_at, s.updated_at)"
    " WHEN h.opposition <> 'none' THEN h.updated_at END";

Result<sync::SnapshotPage> OppositionsSnapshot(Transaction& tx,
                                               const sync::SnapshotRequest& request) {
  sync::SnapshotPage page;
  if (request.scopes.empty()) return page;
  storage::Params params{request.after_key};
  const std::string in = InList(params, request.scopes);
  auto rows = tx.Query(fmt::format("SELECT s.number, {} FROM wallet_supports s"
                                   " JOIN wallet_holders h ON h.id = s.holder_id"
                                   " JOIN organisations o ON o.id = h.organisation_id"
                                   " WHERE s.number > $1 AND o.path IN ({})"
                                   " AND (s.opposition <> 'none' OR h.opposition <> 'none')"
                                   " ORDER BY s.number LIMIT {}",
                                   kOpposedSince, in, request.limit + 1),
                       params);
  if (!rows.ok()) return std::move(rows).error();
  for (const Row& row : rows->rows) {
    if (static_cast<int64_t>(page.items.size()) == request.limit) {
      page.more = true;
      break;
    }
    page.items.push_back({row.Text(0), object{{"since", row.Int(1)}}});
  }
  return page;
}

// Revoked phones (at most kQrPhonesPerHolderMax a holder gets at a time): their keys are
// numbers, sorted here as text (byte order), as feeds are.
Result<sync::SnapshotPage> RevokedPhonesSnapshot(Transaction& tx,
                                                 const sync::SnapshotRequest& request) {
  sync::SnapshotPage page;
  if (request.scopes.empty()) return page;
  storage::Params params;
  const std::string in = InList(params, request.scopes);
  auto rows = tx.Query(fmt::format("SELECT p.id, p.revoked_at FROM wallet_qr_phones p"
                                   " JOIN wallet_holders h ON h.id = p.holder_id"
                                   " JOIN organisations o ON o.id = h.organisation_id"
                                   " WHERE p.status = 'revoked' AND o.path IN ({})",
                                   in),
                       params);
  if (!rows.ok()) return std::move(rows).error();
  std::vector<sync::FeedItem> items;
  for (const Row& row : rows->rows) {
    std::string key = std::to_string(row.Int(0));
    if (key > request.after_key) {
      items.push_back({std::move(key), object{{"since", row.OptionalInt(1).value_or(0)}}});
    }
  }
  std::sort(items.begin(), items.end(),
            [](const sync::FeedItem& a, const sync::FeedItem& b) { return a.key < b.key; });
  if (static_cast<int64_t>(items.size()) > request.limit) {
    items.resize(static_cast<size_t>(request.limit));
    page.more = true;
  }
  page.items = std::move(items);
  return page;
}

// The service's verifying keys as GET /api/v1/wallet/qr-key gives them: the same for everyone.
Result<sync::SnapshotPage> QrKeysSnapshot(Transaction& tx, const sync::SnapshotRequest& request) {
  sync::SnapshotPage page;
  auto rows = tx.Query(fmt::format("SELECT key_id, public_key FROM wallet_qr_keys"
                                   " WHERE retired_at IS NULL AND key_id > $1"
                                   " ORDER BY key_id LIMIT {}",
                                   request.limit + 1),
                       {request.after_key});
  if (!rows.ok()) return std::move(rows).error();
  for (const Row& row : rows->rows) {
    if (static_cast<int64_t>(page.items.size()) == request.limit) {
      page.more = true;
      break;
    }
    page.items.push_back(
        {row.Text(0),
         object{{"key_id", row.Text(0)}, {"algorithm", "Ed25519"}, {"public_key", row.Text(1)}}});
  }
  return page;
}

Status PublishSupports(Transaction& tx, std::string_view column, int64_t id, int64_t now_ms) {
  auto rows = tx.Query(fmt::format("SELECT s.number, {}, o.path FROM wallet_supports s"
                                   " JOIN wallet_holders h ON h.id = s.holder_id"
                                   " JOIN organisations o ON o.id = h.organisation_id"
                                   " WHERE s.{} = $1 ORDER BY s.id",
                                   kOpposedSince, column),
                       {id});
  if (!rows.ok()) return std::move(rows).error();
  for (const Row& row : rows->rows) {
    sync::Change change;
    change.feed = std::string(offline::kOppositionsFeed);
    change.scope = row.Text(2);
    change.item_key = row.Text(0);
    if (const auto since = row.OptionalInt(1)) {
      change.payload = object{{"since", *since}};
    } else {
      change.op = sync::ChangeOp::kDelete;
    }
    GUICHET_TRY_STATUS(sync::RecordChange(tx, change, now_ms));
  }
  return OkStatus();
}

// ---- Reports -----------------------------------------------------------------------------

// A waiting event with what its payload and wait key tell of the payment.
constexpr std::string_view kAwaitingColumns =
    "e.id, e.device_id, e.seq, e.payload, e.wait_key, e.at_ms, e.attempts, e.last_try_at,"
    " e.next_try_at, p.id, p.location";

AwaitingPayment ToAwaiting(const Row& row) {
  AwaitingPayment payment;
  payment.event_id = row.Int(0);
  payment.device_id = row.Int(1);
  payment.seq = row.Int(2);
  const boost::json::value payload = boost::json::parse(row.Text(3));
  if (const object* o = payload.if_object()) {
    payment.point_txn_id = StringField(*o, "point_txn_id").value_or("");
    payment.counter = StringField(*o, "counter").value_or(std::string(kEuro));
    payment.support_number = StringField(*o, "support_number").value_or("");
    if (const auto* amount = o->if_contains("amount"); amount && amount->is_int64()) {
      payment.amount = amount->as_int64();
    }
  }
  const std::string wait_key = row.OptionalText(4).value_or("");
  constexpr std::string_view kHolderPrefix = "holder:";
  if (wait_key.rfind(kHolderPrefix, 0) == 0) {
    payment.holder_id = std::strtoll(wait_key.c_str() + kHolderPrefix.size(), nullptr, 10);
  }
  payment.at_ms = row.Int(5);
  payment.attempts = row.Int(6);
  payment.last_try_at_ms = row.OptionalInt(7);
  payment.next_try_at_ms = row.OptionalInt(8);
  payment.point_id = row.OptionalInt(9).value_or(0);
  payment.point_location = row.OptionalText(10).value_or("");
  return payment;
}

Result<std::vector<AwaitingPayment>> Awaiting(Transaction& tx, std::string_view where,
                                              storage::Params params, int64_t limit) {
  params.emplace_back(std::string(offline::kDebit));
  auto rows = tx.Query(fmt::format("SELECT {} FROM sync_events e"
                                   " JOIN devices d ON d.id = e.device_id"
                                   // The point the device operated (once paired, for good).
                                   " LEFT JOIN wallet_point_events pe ON pe.event = 'paired'"
                                   " AND pe.actor_type = 'device' AND pe.actor_id = e.device_id"
                                   " LEFT JOIN wallet_points p ON p.id = pe.point_id"
                                   " WHERE {} AND e.state = 'waiting' AND e.kind = ${}"
                                   " ORDER BY e.id LIMIT {}",
                                   kAwaitingColumns, where, params.size(), limit),
                       params);
  if (!rows.ok()) return std::move(rows).error();
  std::vector<AwaitingPayment> list;
  for (const Row& row : rows->rows) list.push_back(ToAwaiting(row));
  return list;
}

// The latest refused events of every device the point had, newest first.
Result<std::vector<RefusedEvent>> Refused(Transaction& tx, int64_t point_id, int64_t limit) {
  auto rows = tx.Query(fmt::format("SELECT e.id, e.device_id, e.seq, e.kind, e.at_ms, e.code"
                                   " FROM wallet_point_events pe"
                                   " JOIN sync_events e ON e.device_id = pe.actor_id"
                                   " WHERE pe.point_id = $1 AND pe.event = 'paired'"
                                   " AND pe.actor_type = 'device' AND e.state = 'refused'"
                                   " ORDER BY e.id DESC LIMIT {}",
                                   limit),
                       {point_id});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<RefusedEvent> list;
  for (const Row& row : rows->rows) {
    list.push_back({row.Int(0), row.Int(1), row.Int(2), row.Text(3), row.Int(4),
                    row.OptionalText(5).value_or("")});
  }
  return list;
}

}  // namespace

std::string HolderWaitKey(int64_t holder_id) { return fmt::format("holder:{}", holder_id); }

Status ScheduleHolderRetry(Transaction& tx, int64_t holder_id, int64_t now_ms) {
  // Debits first (older events first), then the cancellations waiting for them.
  GUICHET_TRY_STATUS(sync::ScheduleRetry(tx, offline::kDebit, HolderWaitKey(holder_id), now_ms));
  return sync::ScheduleRetry(tx, offline::kCancel, HolderWaitKey(holder_id), now_ms);
}

Status PublishSupportOpposition(Transaction& tx, int64_t support_id, int64_t now_ms) {
  return PublishSupports(tx, "id", support_id, now_ms);
}

Status PublishHolderSupportOppositions(Transaction& tx, int64_t holder_id, int64_t now_ms) {
  return PublishSupports(tx, "holder_id", holder_id, now_ms);
}

Status PublishRevokedPhone(Transaction& tx, int64_t phone_id, int64_t now_ms) {
  auto row = tx.QueryOne(
      "SELECT p.revoked_at, o.path FROM wallet_qr_phones p"
      " JOIN wallet_holders h ON h.id = p.holder_id"
      " JOIN organisations o ON o.id = h.organisation_id WHERE p.id = $1 AND p.status = 'revoked'",
      {phone_id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return OkStatus();
  return sync::RecordChange(
      tx,
      {std::string(offline::kRevokedPhonesFeed), (*row)->Text(1), std::to_string(phone_id),
       sync::ChangeOp::kUpsert, object{{"since", (*row)->OptionalInt(0).value_or(now_ms)}}},
      now_ms);
}

void AddOfflineHandlers(sync::Handlers& handlers) {
  handlers.Add(std::string(offline::kDebit), KindOf(PosOperation::kDebit));
  handlers.Add(std::string(offline::kLoad), KindOf(PosOperation::kLoad));
  handlers.Add(std::string(offline::kCashReload), KindOf(PosOperation::kCashReload));
  handlers.Add(std::string(offline::kCancel), KindOf(PosOperation::kCancel));
}

void AddOfflineFeeds(sync::Feeds& feeds) {
  feeds.Add(std::string(offline::kOppositionsFeed),
            {std::string(right::kPosOperate), OppositionsSnapshot, {}});
  feeds.Add(std::string(offline::kRevokedPhonesFeed),
            {std::string(right::kPosOperate), RevokedPhonesSnapshot, {}});
  feeds.Add(std::string(offline::kQrKeysFeed),
            {std::string(right::kPosOperate), QrKeysSnapshot, {}});
}

Result<PointOfflineReport> OfflineReports::PointReport(const identity::Caller& caller,
                                                       int64_t point_id) {
  auto point = pos_.GetPoint(caller, point_id);
  if (!point.ok()) return std::move(point).error();
  return pos_.wallet().database().Transact<PointOfflineReport>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<PointOfflineReport> {
        PointOfflineReport report{*point, std::nullopt, {}, {}};
        if (point->device_id) {
          auto device = sync::DeviceReportIn(tx, *point->device_id, point->merchant_org_id);
          if (!device.ok()) return std::move(device).error();
          report.device = std::move(*device);
        }
        // Every device the point had: a replaced one's sales still wait here.
        auto waiting = Awaiting(tx, "p.id = $1", {point->id}, sync::kReportWaitingMax);
        if (!waiting.ok()) return std::move(waiting).error();
        report.waiting = std::move(*waiting);
        auto refused = Refused(tx, point->id, offline::kRefusedListMax);
        if (!refused.ok()) return std::move(refused).error();
        report.refused = std::move(*refused);
        return report;
      });
}

Result<std::vector<AwaitingPayment>> OfflineReports::AwaitingFunds(const identity::Caller& caller,
                                                                   int64_t merchant_id) {
  auto merchant = pos_.GetMerchant(caller, merchant_id);
  if (!merchant.ok()) return std::move(merchant).error();
  return pos_.wallet().database().Transact<std::vector<AwaitingPayment>>(
      TransactionMode::kRead, [&](Transaction& tx) {
        return Awaiting(tx, "d.organisation_id = $1", {merchant->organisation_id},
                        offline::kAwaitingListMax);
      });
}

object AwaitingPaymentJson(const AwaitingPayment& payment) {
  object o{{"event_id", payment.event_id},
           {"device_id", payment.device_id},
           {"seq", payment.seq},
           {"point_txn_id", payment.point_txn_id},
           {"counter", payment.counter},
           {"amount", payment.amount},
           {"holder_id", payment.holder_id},
           {"at_ms", payment.at_ms},
           {"attempts", payment.attempts}};
  if (payment.point_id != 0) {
    o["point_id"] = payment.point_id;
    o["point_location"] = payment.point_location;
  }
  if (!payment.support_number.empty()) o["support_number"] = payment.support_number;
  if (payment.last_try_at_ms) o["last_try_at_ms"] = *payment.last_try_at_ms;
  if (payment.next_try_at_ms) o["next_try_at_ms"] = *payment.next_try_at_ms;
  return o;
}

object PointOfflineReportJson(const PointOfflineReport& report) {
  object o{{"point_id", report.point.id}};
  if (report.device) {
    object device = sync::DeviceReportJson(*report.device);
    o["device_id"] = report.device->device_id;
    o["last_seq"] = report.device->last_seq;
    o["events_by_state"] = device["events_by_state"];
    o["batches"] = device["batches"];
  } else {
    o["events_by_state"] = object{};
    o["batches"] = boost::json::array{};
  }
  boost::json::array waiting;
  for (const AwaitingPayment& payment : report.waiting)
    waiting.push_back(AwaitingPaymentJson(payment));
  o["waiting"] = std::move(waiting);
  boost::json::array refused;
  for (const RefusedEvent& event : report.refused) {
    refused.push_back(object{{"event_id", event.event_id},
                             {"device_id", event.device_id},
                             {"seq", event.seq},
                             {"kind", event.kind},
                             {"at_ms", event.at_ms},
                             {"code", event.code}});
  }
  o["refused"] = std::move(refused);
  return o;
}

}  // namespace guichet::wallet
