// Merchants, points of sale and the online payment protocol of points (see pos.h).
#include "modules/wallet/pos.h"
#include "modules/wallet/qr_codes.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <cstdlib>

#include "modules/wallet/internal.h"
#include "modules/wallet/reloads.h"
#include "platform/banking/iban.h"
#include "platform/base/crypto.h"
#include "platform/http/json.h"
#include "platform/ledger/ledger.h"
#include "platform/orgs/orgs.h"

namespace guichet::wallet {

using boost::json::array;
using boost::json::object;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

namespace {

constexpr int64_t kPaymentCodeLifetimeS = 300;
constexpr size_t kPaymentCodeLength = 10;
constexpr int64_t kExpireBatchMax = 500;
constexpr std::string_view kTestSales = "test_sales";      // test points' takings
constexpr std::string_view kTestCash = "test_cash";        // test points' cash packs
constexpr std::string_view kTestFunding = "test_funding";  // test money given to test holders

Error Refusal(ErrorKind kind, std::string_view code, std::string message,
              std::string pointer = "") {
  Error error{kind, std::string(code), std::move(message), {}};
  if (!pointer.empty()) error.fields.push_back({std::move(pointer), error.message});
  return error;
}

Error Invalid(std::string pointer, std::string message) {
  return Refusal(ErrorKind::kValidation, "validation_failed", std::move(message),
                 std::move(pointer));
}

// The HTTP kind of a stored refusal code, so that a replayed refused operation answers the
// same problem as the first time.
ErrorKind RefusalKind(std::string_view code) {
  if (code == pos_code::kPermissionDenied || code == code::kCounterNotAuthorised)
    return ErrorKind::kForbidden;
  if (code == code::kSupportNotFound || code == code::kHolderNotFound ||
      code == code::kUnknownCounter || code == pos_code::kPaymentCodeInvalid) {
    return ErrorKind::kNotFound;
  }
  if (code == code::kSupportOpposed || code == code::kHolderOpposed ||
      code == code::kHolderNotActive || code == code::kCounterInactive) {
    return ErrorKind::kConflict;
  }
  return ErrorKind::kValidation;
}

// Refusals that belong to the operation (recorded as a `refused` row, answered again on a
// replay), as opposed to malformed requests and refusals of the point itself.
bool Recordable(std::string_view code) {
  static constexpr std::string_view kCodes[] = {
      pos_code::kPermissionDenied, pos_code::kClockDrift,        code::kSupportNotFound,
      code::kSupportOpposed,       code::kHolderOpposed,         code::kHolderNotActive,
      code::kInsufficientFunds,    code::kThresholdExceeded,     code::kUnknownCounter,
      code::kCounterInactive,      code::kCounterNotAuthorised,  pos_code::kTestMismatch,
      pos_code::kCashPackInvalid,  pos_code::kPaymentCodeInvalid};
  return std::find(std::begin(kCodes), std::end(kCodes), code) != std::end(kCodes);
}

std::string JoinPermissions(const std::vector<std::string>& permissions) {
  std::string text;
  for (const std::string& permission : permissions) {
    if (!text.empty()) text += ' ';
    text += permission;
  }
  return text;
}

std::vector<std::string> SplitPermissions(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool Alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// "Crous-UG-RU-UD-Caisse": 2 to kLocationSegmentsMax segments of letters and digits.
bool ValidLocation(std::string_view location) {
  int64_t segments = 0;
  size_t start = 0;
  while (true) {
    const size_t end = std::min(location.find('-', start), location.size());
    const std::string_view segment = location.substr(start, end - start);
    if (segment.empty() || static_cast<int64_t>(segment.size()) > kLocationSegmentLengthMax)
      return false;
    if (!std::all_of(segment.begin(), segment.end(), Alnum)) return false;
    ++segments;
    if (end == location.size()) break;
    start = end + 1;
  }
  return segments >= 2 && segments <= kLocationSegmentsMax;
}

bool ValidTxnId(std::string_view id) {
  if (id.empty() || static_cast<int64_t>(id.size()) > kPointTxnIdLengthMax) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return Alnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
  });
}

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string Seal(std::string_view key, std::string_view plain) {
  GUICHET_ASSERT(key.size() == crypto_secretbox_KEYBYTES);
  std::string nonce = crypto::RandomBytes(crypto_secretbox_NONCEBYTES);
  std::string sealed(crypto_secretbox_MACBYTES + plain.size(), '\0');
  crypto_secretbox_easy(reinterpret_cast<unsigned char*>(sealed.data()),
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                        reinterpret_cast<const unsigned char*>(nonce.data()),
                        reinterpret_cast<const unsigned char*>(key.data()));
  return crypto::ToHex(nonce + sealed);
}

Result<std::string> Open(std::string_view key, std::string_view sealed_hex) {
  const std::string bytes = FromHex(sealed_hex);
  if (bytes.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return Error::Internal("sealed IBAN too short");
  }
  const std::string_view nonce(bytes.data(), crypto_secretbox_NONCEBYTES);
  const std::string_view box(bytes.data() + crypto_secretbox_NONCEBYTES,
                             bytes.size() - crypto_secretbox_NONCEBYTES);
  std::string plain(box.size() - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 reinterpret_cast<const unsigned char*>(box.data()), box.size(),
                                 reinterpret_cast<const unsigned char*>(nonce.data()),
                                 reinterpret_cast<const unsigned char*>(key.data())) != 0) {
    return Error::Internal("the IBAN key does not open this IBAN");
  }
  return plain;
}

// ---- Rows
// ----------------------------------------------------------------------------------------

constexpr std::string_view kMerchantColumns =
    "m.organisation_id, o.parent_id, o.name, m.iban_last4, m.bic, m.contact_email, m.commission_bp,"
    " m.settlement_period_days, m.created_at, o.path";

Merchant ToMerchant(const Row& row) {
  return {row.Int(0),  row.Int(1), row.Text(2), row.Text(3), row.Text(4),
          row.Text(5), row.Int(6), row.Int(7),  row.Int(8)};
}

constexpr std::string_view kPointColumns =
    "p.id, p.merchant_org_id, o.path, p.institution_org_id, p.institution_id, p.location, "
    "p.address, p.type,"
    " p.permissions, p.is_test, p.state, p.pairing_id, p.device_id, p.created_at, p.updated_at";

Point ToPoint(const Row& row) {
  Point point;
  point.id = row.Int(0);
  point.merchant_org_id = row.Int(1);
  point.merchant_path = row.Text(2);
  point.institution_org_id = row.Int(3);
  point.institution_id = row.Text(4);
  point.location = row.Text(5);
  point.address = row.Text(6);
  point.type = row.Text(7);
  point.permissions = SplitPermissions(row.Text(8));
  point.is_test = row.Bool(9);
  point.state = row.Text(10);
  point.pairing_id = row.OptionalInt(11);
  point.device_id = row.OptionalInt(12);
  point.created_at_ms = row.Int(13);
  point.updated_at_ms = row.Int(14);
  return point;
}

Result<std::optional<Point>> FindPoint(Transaction& tx, std::string_view where,
                                       storage::Params params) {
  auto row = tx.QueryOne(
      fmt::format("SELECT {} FROM wallet_points p JOIN organisations o ON o.id = p.merchant_org_id"
                  " WHERE {}",
                  kPointColumns, where),
      std::move(params));
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<Point>();
  return std::optional<Point>(ToPoint(**row));
}

constexpr std::string_view kTxnColumns =
    "id, point_id, merchant_org_id, point_txn_id, operation, counter, amount, holder_id, "
    "support_id, qr_code_id,"
    " state, refusal_code, offline, point_at_ms, received_at_ms, acknowledged_at_ms, "
    "ledger_transfer_id, cancels_id,"
    " is_test, expires_at_ms, payer_key";

struct TxnRow {
  PosTransaction txn;
  std::string payer_key;
};

TxnRow ToTxn(const Row& row) {
  TxnRow out;
  PosTransaction& t = out.txn;
  t.id = row.Int(0);
  t.point_id = row.Int(1);
  t.merchant_org_id = row.Int(2);
  t.point_txn_id = row.Text(3);
  t.operation = row.Text(4);
  t.counter = row.Text(5);
  t.amount = row.Int(6);
  t.holder_id = row.OptionalInt(7);
  t.support_id = row.OptionalInt(8);
  t.qr_code_id = row.OptionalInt(9);
  t.state = row.Text(10);
  t.refusal_code = row.OptionalText(11).value_or("");
  t.offline = row.Int(12) == 1;
  t.point_at_ms = row.Int(13);
  t.received_at_ms = row.Int(14);
  t.acknowledged_at_ms = row.OptionalInt(15);
  t.ledger_transfer_id = row.OptionalText(16).value_or("");
  t.cancels_id = row.OptionalInt(17);
  t.is_test = row.Int(18) == 1;
  t.expires_at_ms = row.OptionalInt(19);
  out.payer_key = row.Text(20);
  return out;
}

Result<std::optional<TxnRow>> FindTxn(Transaction& tx, std::string_view where,
                                      storage::Params params) {
  auto row = tx.QueryOne(
      fmt::format("SELECT {} FROM wallet_pos_transactions WHERE {}", kTxnColumns, where),
      std::move(params));
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<TxnRow>();
  return std::optional<TxnRow>(ToTxn(**row));
}

Status InsertPointEvent(Transaction& tx, int64_t point_id, std::string_view event,
                        std::string_view reason, const identity::Caller& caller, int64_t now_ms) {
  auto inserted = tx.Execute(
      "INSERT INTO wallet_point_events (point_id, event, reason, actor_type, actor_id, at_ms)"
      " VALUES ($1, $2, $3, $4, $5, $6)",
      {point_id, std::string(event), internal::NullableText(std::string(reason)),
       internal::ActorType(caller), internal::Nullable(internal::ActorId(caller)), now_ms});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

identity::Caller DeviceCallerOf(const Point& point) {
  identity::Caller caller;
  caller.kind = identity::Caller::Kind::kDevice;
  caller.id = point.device_id.value_or(0);
  return caller;
}

Result<bool> IsTestHolder(Transaction& tx, int64_t holder_id) {
  auto row =
      tx.QueryOne("SELECT user_id FROM wallet_pos_test_accounts WHERE holder_id = $1", {holder_id});
  if (!row.ok()) return std::move(row).error();
  return row->has_value();
}

std::string PayerKey(const PointOperation& operation) {
  if (operation.operation == PosOperation::kCancel)
    return "cancel:" + operation.cancels_point_txn_id;
  if (operation.payer.support_number) return "support:" + *operation.payer.support_number;
  if (operation.payer.qr) return "qr:" + crypto::Sha256Hex(*operation.payer.qr);
  if (operation.payer.payment_code)
    return "code:" + crypto::Sha256Hex(*operation.payer.payment_code);
  return "none";
}

std::string_view RequiredPermission(const PointOperation& operation) {
  switch (operation.operation) {
    case PosOperation::kDebit:
      return "debit";
    case PosOperation::kLoad:
      return "";  // load:<counter>
    case PosOperation::kCashReload:
      return "cash_reload";
    case PosOperation::kCancel:
      return "cancel";
  }
  return "";
}

Status CheckPointAllows(const Point& point, const PointOperation& operation, bool offline) {
  const std::string_view needed = RequiredPermission(operation);
  if (!needed.empty() && !point.Allows(needed)) {
    return Refusal(ErrorKind::kForbidden, pos_code::kPermissionDenied,
                   fmt::format("This point is not allowed to {}.", needed));
  }
  const bool token = operation.counter != kEuro;
  if (operation.operation == PosOperation::kDebit && token &&
      !point.Allows("debit:" + operation.counter)) {
    return Refusal(ErrorKind::kForbidden, pos_code::kPermissionDenied,
                   fmt::format("This point is not allowed to debit {}.", operation.counter));
  }
  if (operation.operation == PosOperation::kLoad && !point.Allows("load:" + operation.counter)) {
    return Refusal(ErrorKind::kForbidden, pos_code::kPermissionDenied,
                   fmt::format("This point is not allowed to load {}.", operation.counter));
  }
  if (offline && !point.Allows("offline")) {
    return Refusal(ErrorKind::kForbidden, pos_code::kPermissionDenied,
                   "This point is not allowed to work offline.");
  }
  return OkStatus();
}

// The holder's balance of one counter after an operation.
Status FillBalances(Transaction& tx, PointOperationResult& result, int64_t now_ms) {
  if (!result.transaction.holder_id) return OkStatus();
  auto account =
      HolderAccountFor(tx, *result.transaction.holder_id, result.transaction.counter, now_ms);
  if (!account.ok()) return std::move(account).error();
  result.balance_after = account->balance;
  result.available_after = account->available;
  return OkStatus();
}

// A hold released (negative acknowledgement or lapse): a statement line that cancels the hold's
// line, so the statement still adds up to the balance.
Status WriteReleaseLine(Transaction& tx, const PosTransaction& txn, std::string_view suffix,
                        std::string_view label, int64_t now_ms) {
  GUICHET_ASSERT(txn.holder_id.has_value());
  auto account = HolderAccountFor(tx, *txn.holder_id, txn.counter, now_ms);
  if (!account.ok()) return std::move(account).error();
  auto inserted = tx.Execute(
      "INSERT INTO wallet_movements (transfer_id, holder_id, counter_code, direction, amount, "
      "kind, mode, support_id,"
      " fee_amount, balance_after, label, actor_type, actor_id, at_ms)"
      " VALUES ($1, $2, $3, 'credit', $4, 'payment.release', 'point', $5, 0, $6, $7, 'system', "
      "NULL, $8)",
      {txn.ledger_transfer_id + std::string(suffix), *txn.holder_id, txn.counter, txn.amount,
       internal::Nullable(txn.support_id), account->balance, std::string(label), now_ms});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

// A pending row whose hold lapsed: the ledger refuses its post and void from then on.
Status MarkExpired(Transaction& tx, const PosTransaction& txn, int64_t now_ms) {
  auto changed = tx.Execute(
      "UPDATE wallet_pos_transactions SET state = 'expired' WHERE id = $1 AND state = 'pending'",
      {txn.id});
  if (!changed.ok()) return std::move(changed).error();
  if (*changed == 1)
    GUICHET_TRY_STATUS(
        WriteReleaseLine(tx, txn, ":expired", "Paiement non confirme (expire)", now_ms));
  return OkStatus();
}

Status RefreshExpiry(Transaction& tx, PosTransaction& txn, int64_t now_ms) {
  if (txn.state == "pending" && txn.expires_at_ms && now_ms >= *txn.expires_at_ms) {
    GUICHET_TRY_STATUS(MarkExpired(tx, txn, now_ms));
    txn.state = "expired";
  }
  return OkStatus();
}

Result<Payer> PayerOfPaymentCode(Transaction& tx, const Point& point, std::string_view code,
                                 bool consume, int64_t now_ms) {
  if (point.type != "web_shop") {
    return Refusal(ErrorKind::kForbidden, pos_code::kPermissionDenied,
                   "Only web shops take payment codes.");
  }
  const std::string hash = crypto::Sha256Hex(code);
  auto row = tx.QueryOne(
      "SELECT holder_id, expires_at, used_at FROM wallet_pos_payment_codes WHERE code_hash = $1",
      {hash});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value() || (*row)->OptionalInt(2).has_value() || (*row)->Int(1) <= now_ms) {
    return Refusal(ErrorKind::kNotFound, pos_code::kPaymentCodeInvalid,
                   "This payment code is unknown, used or expired: ask the holder for a new one.");
  }
  if (consume) {
    auto used = tx.Execute(
        "UPDATE wallet_pos_payment_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
        {now_ms, hash});
    if (!used.ok()) return std::move(used).error();
    if (*used != 1)
      return Refusal(ErrorKind::kNotFound, pos_code::kPaymentCodeInvalid,
                     "This payment code was used.");
  }
  return Payer{(*row)->Int(0), std::nullopt, std::nullopt};
}

Result<Payer> ResolvePayerImpl(Transaction& tx, const Point& point, const PayerRef& payer,
                               bool consume, int64_t point_now_ms, int64_t now_ms) {
  const int given =
      (payer.support_number ? 1 : 0) + (payer.qr ? 1 : 0) + (payer.payment_code ? 1 : 0);
  if (given != 1) {
    return Refusal(ErrorKind::kValidation, pos_code::kPayerMissing,
                   "Give exactly one of support_number, qr or payment_code.");
  }
  if (payer.qr) {
    // A one-time code is spent by the debit that names it (accepted once, whatever the order in
    // which points send codes); reading a balance with it would spend or leak it.
    if (!consume) {
      return Refusal(ErrorKind::kValidation, pos_code::kQrNotSupported,
                     "A one-time QR code pays, it does not read a balance: use the support number.", "/qr");
    }
    auto redeemed = RedeemQr(tx, *payer.qr, point_now_ms, now_ms);
    if (!redeemed.ok()) return std::move(redeemed).error();
    return Payer{redeemed->holder_id, redeemed->support_id, redeemed->qr_code_id};
  }
  if (payer.payment_code)
    return PayerOfPaymentCode(tx, point, *payer.payment_code, consume, now_ms);
  auto support = FindSupportByNumber(tx, *payer.support_number);
  if (!support.ok()) return std::move(support).error();
  if (!support->has_value()) {
    return Refusal(ErrorKind::kNotFound, code::kSupportNotFound, "No support has this number.",
                   "/support_number");
  }
  return Payer{(*support)->holder_id, (*support)->id, std::nullopt};
}

Result<int64_t> InsertTxn(Transaction& tx, const Point& point, const PointOperation& operation,
                          const std::optional<Payer>& payer, std::string_view state, bool offline,
                          std::optional<int64_t> expires_at_ms, std::optional<int64_t> cancels_id,
                          std::string_view refusal_code, int64_t now_ms) {
  auto row = tx.QueryOne(
      "INSERT INTO wallet_pos_transactions (point_id, merchant_org_id, point_txn_id, operation, "
      "counter, amount,"
      " holder_id, support_id, qr_code_id, state, refusal_code, offline, point_at_ms, "
      "received_at_ms, expires_at_ms,"
      " cancels_id, is_test, payer_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
      "$13, $14, $15,"
      " $16, $17, $18) RETURNING id",
      {point.id, point.merchant_org_id, operation.point_txn_id,
       std::string(PosOperationName(operation.operation)), operation.counter, operation.amount,
       internal::Nullable(payer ? std::optional(payer->holder_id) : std::nullopt),
       internal::Nullable(payer ? payer->support_id : std::nullopt),
       internal::Nullable(payer ? payer->qr_code_id : std::nullopt), std::string(state),
       internal::NullableText(std::string(refusal_code)), int64_t{offline ? 1 : 0},
       operation.point_at_ms, now_ms, internal::Nullable(expires_at_ms),
       internal::Nullable(cancels_id), int64_t{point.is_test ? 1 : 0}, PayerKey(operation)});
  if (!row.ok()) return std::move(row).error();
  GUICHET_ASSERT(row->has_value());
  return (*row)->Int(0);
}

// Updates one row (`id` is $1; `set` and `condition` use $2…) and answers it as it is now, in
// one statement; nullopt when `condition` kept the row from changing.
Result<std::optional<PosTransaction>> UpdateTxnReturning(Transaction& tx, std::string_view set,
                                                         std::string_view condition,
                                                         storage::Params params) {
  auto rows = tx.Query(fmt::format("UPDATE wallet_pos_transactions SET {} WHERE id = $1{}"
                                   " RETURNING {}",
                                   set, condition, kTxnColumns),
                       params);
  if (!rows.ok()) return std::move(rows).error();
  GUICHET_ASSERT(rows->rows.size() <= 1);
  if (rows->rows.empty()) return std::optional<PosTransaction>();
  return std::optional<PosTransaction>(ToTxn(rows->rows.front()).txn);
}

Result<PosTransaction> LoadTxn(Transaction& tx, int64_t id) {
  auto row = FindTxn(tx, "id = $1", {id});
  if (!row.ok()) return std::move(row).error();
  GUICHET_ASSERT(row->has_value());
  return (*row)->txn;
}

// The answer to a point_txn_id seen before: the same result when the content is the same.
Result<PointOperationResult> Replay(Transaction& tx, TxnRow existing,
                                    const PointOperation& operation, int64_t now_ms) {
  PosTransaction& txn = existing.txn;
  const bool cancel =
      operation.operation == PosOperation::kCancel;  // counter and amount: the original's
  if (txn.operation != PosOperationName(operation.operation) ||
      (!cancel && txn.counter != operation.counter) ||
      (!cancel && txn.amount != operation.amount) || existing.payer_key != PayerKey(operation)) {
    return Refusal(ErrorKind::kConflict, pos_code::kPointTxnConflict,
                   "This point_txn_id was used for another operation: nothing was applied.",
                   "/point_txn_id");
  }
  if (txn.state == "refused") {
    return Refusal(
        RefusalKind(txn.refusal_code), txn.refusal_code,
        fmt::format(
            "This operation was refused before ({}); a new attempt needs a new point_txn_id.",
            txn.refusal_code));
  }
  GUICHET_TRY_STATUS(RefreshExpiry(tx, txn, now_ms));
  PointOperationResult result{txn, 0, 0, true};
  GUICHET_TRY_STATUS(FillBalances(tx, result, now_ms));
  return result;
}

Result<int64_t> CounterpartAccount(Transaction& tx, const Point& point,
                                   const PointOperation& operation, int64_t holder_org_id,
                                   int64_t now_ms) {
  switch (operation.operation) {
    case PosOperation::kDebit:
    case PosOperation::kCancel:
      if (point.is_test) {
        return OperatorAccount(tx, point.merchant_org_id, operation.counter, kTestSales, now_ms);
      }
      return PointSalesAccount(tx, point.id, point.merchant_org_id, operation.counter, now_ms);
    case PosOperation::kCashReload:
      return OperatorAccount(tx, point.merchant_org_id, kEuro,
                             point.is_test ? kTestCash : purpose::kCash, now_ms);
    case PosOperation::kLoad:
      return OperatorAccount(tx, holder_org_id, operation.counter,
                             point.is_test ? kTestFunding : purpose::kTokenIssue, now_ms);
  }
  return Error::Internal("unknown operation");
}

// Cancels an acknowledged debit: the holder is credited back from the account the debit paid.
Result<PointOperationResult> CancelDebit(Transaction& tx, const identity::Caller& caller,
                                         const Point& point, const PointOperation& operation,
                                         const PosTransaction& original, int64_t now_ms) {
  if (original.operation != "debit" || original.state != "acknowledged") {
    return Refusal(ErrorKind::kConflict, pos_code::kNotCancellable,
                   fmt::format("Only an acknowledged debit can be cancelled; this one is a {} {}.",
                               original.state, original.operation));
  }
  PointOperation cancel = operation;
  cancel.counter = original.counter;
  cancel.amount = original.amount;
  const Payer payer{*original.holder_id, original.support_id, std::nullopt};
  auto id = InsertTxn(tx, point, cancel, payer, "acknowledged", false, std::nullopt, original.id,
                      "", now_ms);
  if (!id.ok()) return std::move(id).error();
  auto account = CounterpartAccount(tx, point, cancel, 0, now_ms);
  if (!account.ok()) return std::move(account).error();
  Movement credit;
  credit.holder_id = payer.holder_id;
  credit.counter = cancel.counter;
  credit.direction = Direction::kCredit;
  credit.amount = cancel.amount;
  credit.counterpart_account_id = *account;
  credit.transfer_id = fmt::format("pos:{}", *id);
  credit.kind = "payment.cancel";
  credit.mode = "point";
  credit.label = fmt::format("Annulation paiement {}", point.location);
  credit.enforce_max_balance = false;
  credit.service_operation = true;  // money back reaches even an opposed account
  auto moved = MoveHolder(tx, caller, credit, now_ms);
  if (!moved.ok()) return std::move(moved).error();
  auto changed = tx.Execute(
      "UPDATE wallet_pos_transactions SET state = 'cancelled' WHERE id = $1 AND state = "
      "'acknowledged'",
      {original.id});
  if (!changed.ok()) return std::move(changed).error();
  if (*changed != 1) {  // another cancellation committed meanwhile: this one rolls back
    return Refusal(ErrorKind::kConflict, pos_code::kNotCancellable,
                   "This debit was cancelled meanwhile.");
  }
  GUICHET_TRY_STATUS(
      tx.Execute("UPDATE wallet_pos_transactions SET ledger_transfer_id = $1, acknowledged_at_ms = "
                 "$2 WHERE id = $3",
                 {credit.transfer_id, now_ms, *id}));
  auto txn = LoadTxn(tx, *id);
  if (!txn.ok()) return std::move(txn).error();
  return PointOperationResult{*txn, moved->balance_after, moved->available_after, false};
}

// Debit (a hold when online), token load or cash pack for a payer.
Result<PointOperationResult> MoveForPayer(Transaction& tx, const identity::Caller& caller,
                                          const Point& point, const PointOperation& operation,
                                          const PosOptions& options, bool offline, int64_t now_ms) {
  auto counter = CounterByCode(tx, operation.counter);
  if (!counter.ok()) return std::move(counter).error();
  if (!counter->active)
    return Refusal(ErrorKind::kConflict, code::kCounterInactive, "This counter is not active.");
  if (!counter->euro) {
    auto may = operation.operation == PosOperation::kLoad
                   ? ClientMayLoad(tx, caller, operation.counter)
                   : ClientMayDebit(tx, caller, operation.counter);
    if (!may.ok()) return std::move(may).error();
    if (!*may) {
      return Refusal(
          ErrorKind::kForbidden, code::kCounterNotAuthorised,
          fmt::format("This device is not authorised on the counter {}.", operation.counter));
    }
  }
  if (operation.operation == PosOperation::kLoad && counter->euro) {
    return Refusal(ErrorKind::kValidation, pos_code::kCashPackInvalid,
                   "Euros are loaded at a point as cash packs.");
  }
  if (operation.operation == PosOperation::kCashReload &&
      (!counter->euro || std::find(std::begin(kCashPacksCents), std::end(kCashPacksCents),
                                   operation.amount) == std::end(kCashPacksCents))) {
    return Refusal(ErrorKind::kValidation, pos_code::kCashPackInvalid,
                   "Cash is loaded in packs of 5, 10 or 20 EUR.", "/amount");
  }
  auto payer = ResolvePayerImpl(tx, point, operation.payer, true, operation.point_at_ms, now_ms);
  if (!payer.ok()) return std::move(payer).error();
  auto test = IsTestHolder(tx, payer->holder_id);
  if (!test.ok()) return std::move(test).error();
  if (*test != point.is_test) {
    return Refusal(ErrorKind::kValidation, pos_code::kTestMismatch,
                   point.is_test ? "A test point serves test accounts only."
                                 : "A test account works at test points only.");
  }
  auto holder = FindHolder(tx, payer->holder_id);
  if (!holder.ok()) return std::move(holder).error();
  if (!holder->has_value())
    return Refusal(ErrorKind::kNotFound, code::kHolderNotFound, "No such holder.");
  const bool debit = operation.operation == PosOperation::kDebit;
  const bool hold = debit && !offline;
  std::optional<int64_t> expires;
  if (hold) expires = now_ms + options.hold_s * 1000;
  auto id = InsertTxn(tx, point, operation, *payer, hold ? "pending" : "acknowledged", offline,
                      expires, std::nullopt, "", now_ms);
  if (!id.ok()) return std::move(id).error();
  auto account = CounterpartAccount(tx, point, operation, (*holder)->organisation_id, now_ms);
  if (!account.ok()) return std::move(account).error();
  Movement movement;
  movement.holder_id = payer->holder_id;
  movement.counter = operation.counter;
  movement.direction = debit ? Direction::kDebit : Direction::kCredit;
  movement.amount = operation.amount;
  movement.counterpart_account_id = *account;
  movement.known_holder = &**holder;
  movement.known_counter = &*counter;
  movement.transfer_id = fmt::format("pos:{}", *id);
  movement.support_id = payer->support_id;
  movement.mode = payer->qr_code_id ? "qr" : (payer->support_id ? "support" : "payment_code");
  if (operation.operation == PosOperation::kDebit) {
    movement.kind = "payment";
    movement.label = fmt::format("Paiement {}{}", point.location, offline ? " (hors ligne)" : "");
  } else if (operation.operation == PosOperation::kLoad) {
    movement.kind = "load.point";
    movement.label = fmt::format("Chargement {}", point.location);
  } else {
    movement.kind = "reload.cash";
    movement.mode = "cash";
    movement.label = fmt::format("Rechargement especes ({} EUR)", operation.amount / 100);
  }
  movement.pending = hold;
  movement.timeout_s = hold ? options.hold_s : 0;
  // The row first: MoveHolder ends with the audit append, whose chain lock is then held only
  // until COMMIT. A refusal rolls both back (the caller records it apart).
  auto txn = UpdateTxnReturning(
      tx, "ledger_transfer_id = $2, acknowledged_at_ms = $3", "",
      {*id, movement.transfer_id, hold ? storage::Param(nullptr) : storage::Param(now_ms)});
  if (!txn.ok()) return std::move(txn).error();
  GUICHET_ASSERT(txn->has_value());
  auto moved = MoveHolder(tx, caller, movement, now_ms);
  if (!moved.ok()) return std::move(moved).error();
  return PointOperationResult{**txn, moved->balance_after, moved->available_after, false};
}

Result<PointOperationResult> RunOperation(Transaction& tx, const identity::Caller& caller,
                                          const Point& point, const PointOperation& operation,
                                          const PosOptions& options, bool offline, int64_t now_ms) {
  if (!ValidTxnId(operation.point_txn_id)) {
    return Invalid("/point_txn_id",
                   fmt::format("1 to {} of A-Z a-z 0-9 . _ : -", kPointTxnIdLengthMax));
  }
  auto existing =
      FindTxn(tx, "point_id = $1 AND point_txn_id = $2", {point.id, operation.point_txn_id});
  if (!existing.ok()) return std::move(existing).error();
  if (existing->has_value()) return Replay(tx, std::move(**existing), operation, now_ms);
  if (operation.operation != PosOperation::kCancel &&
      (operation.amount <= 0 || operation.amount > kPosAmountMax)) {
    return Refusal(ErrorKind::kValidation, pos_code::kAmountInvalid,
                   fmt::format("The amount must be 1 to {} minor units.", kPosAmountMax),
                   "/amount");
  }
  GUICHET_TRY_STATUS(CheckPointAllows(point, operation, offline));
  if (!offline && std::llabs(operation.point_at_ms - now_ms) > options.clock_drift_max_ms) {
    return Refusal(ErrorKind::kValidation, pos_code::kClockDrift,
                   fmt::format("The point's clock is more than {} ms off: server time is {} ms.",
                               options.clock_drift_max_ms, now_ms),
                   "/point_at_ms");
  }
  if (operation.operation == PosOperation::kCancel) {
    auto original = FindTxn(tx, "point_id = $1 AND point_txn_id = $2",
                            {point.id, operation.cancels_point_txn_id});
    if (!original.ok()) return std::move(original).error();
    if (!original->has_value()) {
      return Refusal(ErrorKind::kNotFound, pos_code::kTransactionNotFound,
                     "This point has no such transaction.", "/cancels_point_txn_id");
    }
    return CancelDebit(tx, caller, point, operation, (*original)->txn, now_ms);
  }
  return MoveForPayer(tx, caller, point, operation, options, offline, now_ms);
}

Result<Point> OperationalPoint(Transaction& tx, const identity::Caller& device, int64_t now_ms) {
  if (device.kind != identity::Caller::Kind::kDevice) {
    return Refusal(ErrorKind::kForbidden, pos_code::kPointUnknown,
                   "Only a point's device can do this.");
  }
  auto point = PointOfDevice(tx, device.id, now_ms);
  if (!point.ok()) return std::move(point).error();
  GUICHET_TRY_STATUS(RequirePointOperational(*point));
  return point;
}

std::string NewPaymentCode() {
  std::string code;
  for (size_t i = 0; i < kPaymentCodeLength; ++i) {
    code.push_back(identity::kPairingCodeAlphabet[crypto::RandomBelow(
        static_cast<uint32_t>(identity::kPairingCodeAlphabet.size()))]);
  }
  return code;
}

Status ValidateNewPoint(const NewPoint& request) {
  std::vector<FieldError> problems;
  auto length_ok = [](const std::string& text, int64_t max) {
    const int64_t length = http::Utf8Length(text);
    return length >= 1 && length <= max;
  };
  if (!length_ok(request.institution_id, kInstitutionIdLengthMax))
    problems.push_back({"/institution_id", "1 to 64 characters"});
  if (!ValidLocation(request.location)) {
    problems.push_back(
        {"/location",
         "2 to 8 segments of letters and digits joined by '-' (Crous-UG-RU-UD-Caisse)"});
  }
  if (!length_ok(request.address, kAddressLengthMax))
    problems.push_back({"/address", "1 to 300 characters"});
  if (std::find(std::begin(kPointTypes), std::end(kPointTypes), request.type) ==
      std::end(kPointTypes)) {
    problems.push_back({"/type", "till, vending_machine, laundry, copier, web_shop or other"});
  }
  if (static_cast<int64_t>(request.permissions.size()) > kPointPermissionsMax) {
    problems.push_back({"/permissions", "too many permissions"});
  }
  for (const std::string& permission : request.permissions) {
    const bool plain = std::find(std::begin(kPointPermissions), std::end(kPointPermissions),
                                 permission) != std::end(kPointPermissions);
    const bool counter =
        (permission.rfind("load:", 0) == 0 || permission.rfind("debit:", 0) == 0) &&
        permission.find(' ') == std::string::npos && permission.back() != ':';
    if (!plain && !counter)
      problems.push_back({"/permissions", fmt::format("unknown permission {}", permission)});
  }
  if (problems.empty()) return OkStatus();
  Error error{ErrorKind::kValidation, "validation_failed", "Some fields are not valid.", {}};
  error.fields = std::move(problems);
  return error;
}

}  // namespace

// ---- Free functions
// -------------------------------------------------------------------------------

void DeclarePosPermissions(identity::RightsCatalog& catalog) {
  catalog.AddPermission(
      {std::string(right::kMerchantsManage), "Create merchants and read their bank data summary"});
  catalog.AddPermission(
      {std::string(right::kPointsRead), "Read points of sale and their transactions"});
  catalog.AddPermission({std::string(right::kPointsManage), "Create points of sale"});
  catalog.AddPermission(
      {std::string(right::kPointsApprove),
       "Approve points, pair or swap their devices, reactivate, cancel payments"});
  catalog.AddPermission({std::string(right::kPointsOppose), "Oppose a point of sale"});
  catalog.AddPermission(
      {std::string(right::kPosTestAccount), "Use one's own test account at test points"});
  catalog.AddPermission(
      {std::string(right::kPosOperate), "A point of sale's protocol (devices only)"});
  catalog.AddDevicePermission("pos", std::string(right::kPosOperate));
}

std::string IbanKeyFromSecret(std::string_view hex) {
  std::string key = crypto::Sha256(FromHex(hex));  // 32 bytes whatever the secret's length
  return key;
}

std::string_view PosOperationName(PosOperation operation) {
  switch (operation) {
    case PosOperation::kDebit:
      return "debit";
    case PosOperation::kLoad:
      return "load";
    case PosOperation::kCashReload:
      return "cash_reload";
    case PosOperation::kCancel:
      return "cancel";
  }
  return "debit";
}

bool Point::Allows(std::string_view permission) const {
  return std::find(permissions.begin(), permissions.end(), permission) != permissions.end();
}

Result<Point> PointOfDevice(Transaction& tx, int64_t device_id, int64_t now_ms) {
  auto linked = FindPoint(tx, "p.device_id = $1", {device_id});
  if (!linked.ok()) return std::move(linked).error();
  if (linked->has_value()) return **linked;
  // A device paired with the point's current pairing code: linked on its first request.
  auto paired =
      FindPoint(tx,
                "p.device_id IS NULL AND p.pairing_id IS NOT NULL AND p.pairing_id ="
                " (SELECT d.pairing_id FROM devices d WHERE d.id = $1 AND d.kind = 'pos')",
                {device_id});
  if (!paired.ok()) return std::move(paired).error();
  if (!paired->has_value()) {
    return Refusal(ErrorKind::kForbidden, pos_code::kPointUnknown,
                   "This device operates no point of sale.");
  }
  Point point = **paired;
  auto changed = tx.Execute(
      "UPDATE wallet_points SET device_id = $1, updated_at = $2 WHERE id = $3 AND device_id IS "
      "NULL AND pairing_id = $4",
      {device_id, now_ms, point.id, *point.pairing_id});
  if (!changed.ok()) return std::move(changed).error();
  if (*changed != 1)
    return Refusal(ErrorKind::kForbidden, pos_code::kPointUnknown,
                   "This device operates no point.");
  point.device_id = device_id;
  identity::Caller device;
  device.kind = identity::Caller::Kind::kDevice;
  device.id = device_id;
  GUICHET_TRY_STATUS(InsertPointEvent(tx, point.id, "paired", "", device, now_ms));
  return point;
}

Result<Point> PointOfPastDevice(Transaction& tx, int64_t device_id) {
  auto point = FindPoint(tx,
                         "p.id = (SELECT e.point_id FROM wallet_point_events e WHERE e.event = 'paired'"
                         " AND e.actor_type = 'device' AND e.actor_id = $1 ORDER BY e.id DESC LIMIT 1)",
                         {device_id});
  if (!point.ok()) return std::move(point).error();
  if (!point->has_value()) {
    return Refusal(ErrorKind::kForbidden, pos_code::kPointUnknown,
                   "This device never operated a point of sale.");
  }
  return **point;
}

Status RequirePointOperational(const Point& point) {
  if (point.state == "opposed") {
    return Refusal(ErrorKind::kForbidden, pos_code::kPointOpposed,
                   "This point of sale is opposed.");
  }
  if (point.state != "approved") {
    return Refusal(ErrorKind::kForbidden, pos_code::kPointNotApproved,
                   "This point of sale is not approved yet.");
  }
  return OkStatus();
}

Result<Payer> ResolvePayer(Transaction& tx, const Point& point, const PayerRef& payer,
                           int64_t point_now_ms, int64_t now_ms) {
  return ResolvePayerImpl(tx, point, payer, true, point_now_ms, now_ms);
}

Result<PointOperationResult> ApplyOfflineOperation(Transaction& tx, const Point& point,
                                                   const PointOperation& operation,
                                                   int64_t now_ms) {
  GUICHET_TRY_STATUS(RequirePointOperational(point));
  return RunOperation(tx, DeviceCallerOf(point), point, operation, PosOptions{}, true, now_ms);
}

// ---- Pos
// -------------------------------------------------------------------------------------------

Pos::Pos(Wallet& wallet, identity::Machines& machines, PosOptions options)
    : wallet_(wallet), machines_(machines), options_(std::move(options)) {
  GUICHET_ASSERT(options_.iban_key.size() == crypto_secretbox_KEYBYTES);
}

Result<Merchant> Pos::CreateMerchant(const identity::Caller& caller, const NewMerchant& request) {
  std::vector<FieldError> problems;
  const int64_t name_length = http::Utf8Length(request.name);
  if (name_length < 1 || name_length > orgs::kNameLengthMax)
    problems.push_back({"/name", "1 to 200 characters"});
  auto iban = banking::NormaliseIban(request.iban);
  if (!iban.ok()) {
    problems.push_back({"/iban", iban.error().message});
  } else if (!banking::IsSepaCountry(banking::IbanCountry(*iban))) {
    problems.push_back({"/iban", "The account must be in the SEPA area."});
  }
  auto bic = banking::NormaliseBic(request.bic);
  if (!bic.ok()) problems.push_back({"/bic", bic.error().message});
  if (request.commission_bp < 0 || request.commission_bp > kCommissionBpMax) {
    problems.push_back({"/commission_bp", "0 to 10000 basis points"});
  }
  if (request.settlement_period_days < 1 ||
      request.settlement_period_days > kSettlementPeriodDaysMax) {
    problems.push_back({"/settlement_period_days", "1 to 30 days"});
  }
  const size_t at = request.contact_email.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= request.contact_email.size() ||
      static_cast<int64_t>(request.contact_email.size()) > kEmailLengthMax ||
      request.contact_email.find_first_of(" \t\r\n<>") != std::string::npos) {
    problems.push_back({"/contact_email", "an e-mail address"});
  }
  if (!problems.empty()) {
    Error error{ErrorKind::kValidation, "validation_failed", "Some fields are not valid.", {}};
    error.fields = std::move(problems);
    return error;
  }
  const int64_t now = wallet_.clock().NowMs();
  const std::string sealed = Seal(options_.iban_key, *iban);
  const std::string last4 = iban->substr(iban->size() - 4);
  return wallet_.database().Transact<Merchant>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<Merchant> {
        auto region = orgs::Find(tx, request.region_id);
        if (!region.ok()) return std::move(region).error();
        const auto scopes = wallet_.authorizer().Scopes(caller, right::kMerchantsManage);
        if (!region->has_value() || (*region)->kind != "region" ||
            !orgs::ContainedInAny(scopes, (*region)->path)) {
          return Refusal(ErrorKind::kNotFound, "organisation_not_found", "No such region.",
                         "/region_id");
        }
        auto org = orgs::Create(tx, {request.region_id, "merchant", request.name}, now);
        if (!org.ok()) return std::move(org).error();
        GUICHET_TRY_STATUS(
            tx.Execute("INSERT INTO wallet_merchants (organisation_id, iban_sealed, iban_last4, "
                       "bic, commission_bp,"
                       " settlement_period_days, contact_email, created_at, updated_at) VALUES "
                       "($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                       {org->id, sealed, last4, *bic, request.commission_bp,
                        request.settlement_period_days, request.contact_email, now}));
        Merchant made{
            org->id, request.region_id,     request.name,          last4,
            *bic,    request.contact_email, request.commission_bp, request.settlement_period_days,
            now};
        GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.merchant.create", "wallet_merchant",
                                           org->id, org->id, nullptr, MerchantJson(made),
                                           caller.request_id, now));
        return made;
      });
}

Result<std::vector<Merchant>> Pos::ListMerchants(const identity::Caller& caller) {
  using List = std::vector<Merchant>;
  return wallet_.database().Transact<List>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<List> {
        List merchants;
        for (const std::string& scope : wallet_.authorizer().Scopes(caller, right::kPointsRead)) {
          auto rows = tx.Query(
              fmt::format("SELECT {} FROM wallet_merchants m JOIN organisations o ON o.id = "
                          "m.organisation_id"
                          " WHERE o.path >= $1 AND o.path < $2 ORDER BY m.organisation_id LIMIT {}",
                          kMerchantColumns, kPosListMax),
              {scope, scope + "\x7f"});
          if (!rows.ok()) return std::move(rows).error();
          for (const Row& row : rows->rows) merchants.push_back(ToMerchant(row));
        }
        return merchants;
      });
}

Result<Merchant> Pos::GetMerchant(const identity::Caller& caller, int64_t merchant_id) {
  return wallet_.database().Transact<Merchant>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<Merchant> {
        auto row = tx.QueryOne(
            fmt::format(
                "SELECT {} FROM wallet_merchants m JOIN organisations o ON o.id = m.organisation_id"
                " WHERE m.organisation_id = $1",
                kMerchantColumns),
            {merchant_id});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value() ||
            !orgs::ContainedInAny(wallet_.authorizer().Scopes(caller, right::kPointsRead), (*row)->Text(9))) {
          return Refusal(ErrorKind::kNotFound, "merchant_not_found", "No such merchant.");
        }
        return ToMerchant(**row);
      });
}

Result<std::string> Pos::MerchantIban(Transaction& tx, int64_t merchant_id) const {
  auto row = tx.QueryOne("SELECT iban_sealed FROM wallet_merchants WHERE organisation_id = $1",
                         {merchant_id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value())
    return Refusal(ErrorKind::kNotFound, "merchant_not_found", "No such merchant.");
  return Open(options_.iban_key, (*row)->Text(0));
}

Result<Point> Pos::VisiblePoint(Transaction& tx, const identity::Caller& caller,
                                std::string_view needed, int64_t point_id) {
  auto point = FindPoint(tx, "p.id = $1", {point_id});
  if (!point.ok()) return std::move(point).error();
  const auto& authorizer = wallet_.authorizer();
  if (!point->has_value() ||
      !orgs::ContainedInAny(authorizer.Scopes(caller, right::kPointsRead), (*point)->merchant_path)) {
    if (!point->has_value() ||
        !orgs::ContainedInAny(authorizer.Scopes(caller, needed), (*point)->merchant_path)) {
      return Refusal(ErrorKind::kNotFound, "point_not_found", "No such point of sale.");
    }
  }
  if (!orgs::ContainedInAny(authorizer.Scopes(caller, needed), (*point)->merchant_path)) {
    return Refusal(ErrorKind::kForbidden, "forbidden", "You cannot do this to this point of sale.");
  }
  return **point;
}

Result<Point> Pos::CreatePoint(const identity::Caller& caller, const NewPoint& request) {
  GUICHET_TRY_STATUS(ValidateNewPoint(request));
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<Point>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<Point> {
        auto merchant = tx.QueryOne(
            "SELECT o.path, o.parent_id FROM wallet_merchants m JOIN organisations o"
            " ON o.id = m.organisation_id WHERE m.organisation_id = $1",
            {request.merchant_id});
        if (!merchant.ok()) return std::move(merchant).error();
        if (!merchant->has_value() ||
            !orgs::ContainedInAny(wallet_.authorizer().Scopes(caller, right::kPointsManage),
                      (*merchant)->Text(0))) {
          return Refusal(ErrorKind::kNotFound, "merchant_not_found", "No such merchant.",
                         "/merchant_id");
        }
        for (const std::string& permission : request.permissions) {
          const size_t colon = permission.find(':');
          if (colon == std::string::npos) continue;
          auto counter = CounterByCode(tx, permission.substr(colon + 1));
          if (!counter.ok())
            return Invalid("/permissions",
                           fmt::format("no counter {}", permission.substr(colon + 1)));
        }
        auto inserted = tx.QueryOne(
            "INSERT INTO wallet_points (merchant_org_id, institution_org_id, institution_id, "
            "location, address, type,"
            " permissions, is_test, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, "
            "$7, $8, 'pending', $9, $9)"
            " RETURNING id",
            {request.merchant_id, (*merchant)->Int(1), request.institution_id, request.location,
             request.address, request.type, JoinPermissions(request.permissions), request.is_test,
             now});
        if (!inserted.ok()) {
          if (inserted.error().code == storage::kUniqueViolation) {
            return Refusal(ErrorKind::kConflict, "point_duplicate",
                           "The institution already has a point with this id.", "/institution_id");
          }
          return std::move(inserted).error();
        }
        const int64_t id = (*inserted)->Int(0);
        GUICHET_TRY_STATUS(InsertPointEvent(tx, id, "created", "", caller, now));
        auto point = FindPoint(tx, "p.id = $1", {id});
        if (!point.ok()) return std::move(point).error();
        GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.point.create", "wallet_point", id,
                                           request.merchant_id, nullptr, PointJson(**point),
                                           caller.request_id, now));
        return **point;
      });
}

Result<std::vector<Point>> Pos::ListPoints(const identity::Caller& caller) {
  using List = std::vector<Point>;
  return wallet_.database().Transact<List>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<List> {
        List points;
        for (const std::string& scope : wallet_.authorizer().Scopes(caller, right::kPointsRead)) {
          auto rows = tx.Query(
              fmt::format(
                  "SELECT {} FROM wallet_points p JOIN organisations o ON o.id = p.merchant_org_id"
                  " WHERE o.path >= $1 AND o.path < $2 ORDER BY p.id LIMIT {}",
                  kPointColumns, kPosListMax),
              {scope, scope + "\x7f"});
          if (!rows.ok()) return std::move(rows).error();
          for (const Row& row : rows->rows) points.push_back(ToPoint(row));
        }
        return points;
      });
}

Result<Point> Pos::GetPoint(const identity::Caller& caller, int64_t point_id) {
  return wallet_.database().Transact<Point>(TransactionMode::kRead, [&](Transaction& tx) {
    return VisiblePoint(tx, caller, right::kPointsRead, point_id);
  });
}

Result<std::vector<PointEvent>> Pos::PointHistory(const identity::Caller& caller,
                                                  int64_t point_id) {
  using List = std::vector<PointEvent>;
  return wallet_.database().Transact<List>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<List> {
        auto point = VisiblePoint(tx, caller, right::kPointsRead, point_id);
        if (!point.ok()) return std::move(point).error();
        auto rows = tx.Query(
            fmt::format(
                "SELECT id, event, reason, actor_type, actor_id, at_ms FROM wallet_point_events"
                " WHERE point_id = $1 ORDER BY id DESC LIMIT {}",
                kPosHistoryMax),
            {point_id});
        if (!rows.ok()) return std::move(rows).error();
        List events;
        for (const Row& row : rows->rows) {
          events.push_back({row.Int(0), row.Text(1), row.OptionalText(2), row.Text(3),
                            row.OptionalInt(4), row.Int(5)});
        }
        return events;
      });
}

Result<PointApproval> Pos::IssuePairing(const identity::Caller& caller, int64_t point_id,
                                        std::string_view reason, bool approve) {
  auto before = wallet_.database().Transact<Point>(TransactionMode::kRead, [&](Transaction& tx) {
    return VisiblePoint(tx, caller, right::kPointsApprove, point_id);
  });
  if (!before.ok()) return std::move(before).error();
  if (approve && before->state != "pending") {
    return Refusal(ErrorKind::kConflict, "point_not_pending", "This point was approved already.");
  }
  if (!approve && before->state == "pending") {
    return Refusal(ErrorKind::kConflict, pos_code::kPointNotApproved, "Approve the point first.");
  }
  // The pairing first (identity's own transaction): a pairing whose point update fails expires
  // unused in 15 minutes.
  identity::NewPairing request{before->merchant_org_id, "pos",
                               fmt::format("Point {} ({})", before->id, before->location)};
  auto pairing = machines_.CreatePairing(caller, request);
  if (!pairing.ok()) return std::move(pairing).error();
  const int64_t now = wallet_.clock().NowMs();
  auto point = wallet_.database().Transact<Point>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<Point> {
        auto current = VisiblePoint(tx, caller, right::kPointsApprove, point_id);
        if (!current.ok()) return std::move(current).error();
        auto changed = tx.Execute(
            approve ? "UPDATE wallet_points SET state = 'approved', pairing_id = $1, device_id = "
                      "NULL, updated_at = $2"
                      " WHERE id = $3 AND state = 'pending'"
                    : "UPDATE wallet_points SET pairing_id = $1, device_id = NULL, updated_at = $2"
                      " WHERE id = $3 AND state <> 'pending'",
            {pairing->id, now, point_id});
        if (!changed.ok()) return std::move(changed).error();
        if (*changed != 1)
          return Refusal(ErrorKind::kConflict, "point_changed",
                         "The point changed meanwhile: try again.");
        GUICHET_TRY_STATUS(InsertPointEvent(tx, point_id, approve ? "approved" : "device_replaced",
                                            reason, caller, now));
        auto after = FindPoint(tx, "p.id = $1", {point_id});
        if (!after.ok()) return std::move(after).error();
        GUICHET_TRY_STATUS(internal::Audit(
            tx, &caller, approve ? "wallet.point.approve" : "wallet.point.replace_device",
            "wallet_point", point_id, current->merchant_org_id, PointJson(*current),
            PointJson(**after), caller.request_id, now));
        return **after;
      });
  if (!point.ok()) return std::move(point).error();
  // The replaced device is already cut off (no point links it); its identity record says so too.
  if (!approve && before->device_id) {
    auto opposed = machines_.OpposeDevice(
        caller, *before->device_id, reason.empty() ? std::string_view("device replaced") : reason);
    if (!opposed.ok() && opposed.error().code != "device_already_opposed")
      return std::move(opposed).error();
  }
  return PointApproval{*point, *pairing};
}

Result<PointApproval> Pos::ApprovePoint(const identity::Caller& caller, int64_t point_id) {
  return IssuePairing(caller, point_id, "", true);
}

Result<PointApproval> Pos::ReplaceDevice(const identity::Caller& caller, int64_t point_id,
                                         std::string_view reason) {
  return IssuePairing(caller, point_id, reason, false);
}

Result<Point> Pos::ChangePointState(const identity::Caller& caller, int64_t point_id,
                                    std::string_view reason, const PointTransition& transition) {
  const int64_t length = http::Utf8Length(reason);
  if (length < 1 || length > kPointReasonLengthMax)
    return Invalid("/reason", "Give a reason of 1 to 500 characters.");
  const int64_t now = wallet_.clock().NowMs();
  const std::string update = fmt::format(
      "UPDATE wallet_points SET state = '{}', updated_at = $1 WHERE id = $2 AND {}", transition.to_state,
      transition.from_condition);
  return wallet_.database().Transact<Point>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<Point> {
        auto point = VisiblePoint(tx, caller, transition.right, point_id);
        if (!point.ok()) return std::move(point).error();
        auto changed = tx.Execute(update, {now, point_id});
        if (!changed.ok()) return std::move(changed).error();
        if (*changed != 1)
          return Refusal(ErrorKind::kConflict, transition.conflict_code, std::string(transition.conflict_message));
        GUICHET_TRY_STATUS(InsertPointEvent(tx, point_id, transition.event, reason, caller, now));
        auto after = FindPoint(tx, "p.id = $1", {point_id});
        if (!after.ok()) return std::move(after).error();
        GUICHET_TRY_STATUS(internal::Audit(tx, &caller, transition.audit_action, "wallet_point",
                                           point_id, point->merchant_org_id, PointJson(*point),
                                           PointJson(**after), caller.request_id, now));
        return **after;
      });
}

Result<Point> Pos::OpposePoint(const identity::Caller& caller, int64_t point_id,
                               std::string_view reason) {
  return ChangePointState(caller, point_id, reason,
                          {right::kPointsOppose, "state <> 'opposed'", "opposed", "point_already_opposed",
                           "This point is opposed already.", "opposed", "wallet.point.oppose"});
}

Result<Point> Pos::ReactivatePoint(const identity::Caller& caller, int64_t point_id,
                                   std::string_view reason) {
  return ChangePointState(caller, point_id, reason,
                          {right::kPointsApprove, "state = 'opposed'", "approved", "point_not_opposed",
                           "This point is not opposed.", "reactivated", "wallet.point.reactivate"});
}

Result<std::vector<PosTransaction>> Pos::PointTransactions(const identity::Caller& caller,
                                                           int64_t point_id) {
  using List = std::vector<PosTransaction>;
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<List>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<List> {
        auto point = VisiblePoint(tx, caller, right::kPointsRead, point_id);
        if (!point.ok()) return std::move(point).error();
        auto rows = tx.Query(
            fmt::format(
                "SELECT {} FROM wallet_pos_transactions WHERE point_id = $1 ORDER BY id DESC"
                " LIMIT {}",
                kTxnColumns, kPosListMax),
            {point_id});
        if (!rows.ok()) return std::move(rows).error();
        List out;
        for (const Row& row : rows->rows) {
          PosTransaction txn = ToTxn(row).txn;
          // On read, a lapsed hold shows as expired even before the job records it.
          if (txn.state == "pending" && txn.expires_at_ms && now >= *txn.expires_at_ms)
            txn.state = "expired";
          out.push_back(std::move(txn));
        }
        return out;
      });
}

Result<PointOperationResult> Pos::AdminCancel(const identity::Caller& caller,
                                              int64_t transaction_id, std::string_view reason) {
  const int64_t length = http::Utf8Length(reason);
  if (length < 1 || length > kPointReasonLengthMax)
    return Invalid("/reason", "Give a reason of 1 to 500 characters.");
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<PointOperationResult>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<PointOperationResult> {
        auto original = FindTxn(tx, "id = $1", {transaction_id});
        if (!original.ok()) return std::move(original).error();
        if (!original->has_value()) {
          return Refusal(ErrorKind::kNotFound, pos_code::kTransactionNotFound,
                         "No such transaction.");
        }
        auto point = VisiblePoint(tx, caller, right::kPointsApprove, (*original)->txn.point_id);
        if (!point.ok()) {
          if (point.error().kind == ErrorKind::kNotFound) {
            return Refusal(ErrorKind::kNotFound, pos_code::kTransactionNotFound,
                           "No such transaction.");
          }
          return std::move(point).error();
        }
        PointOperation cancel;
        cancel.operation = PosOperation::kCancel;
        cancel.point_txn_id = fmt::format("admin-cancel:{}", transaction_id);
        cancel.cancels_point_txn_id = (*original)->txn.point_txn_id;
        cancel.point_at_ms = now;
        auto existing =
            FindTxn(tx, "point_id = $1 AND point_txn_id = $2", {point->id, cancel.point_txn_id});
        if (!existing.ok()) return std::move(existing).error();
        if (existing->has_value()) {
          return Refusal(ErrorKind::kConflict, pos_code::kNotCancellable,
                         "This transaction was cancelled already.");
        }
        auto done = CancelDebit(tx, caller, *point, cancel, (*original)->txn, now);
        if (!done.ok()) return done;
        GUICHET_TRY_STATUS(
            internal::Audit(tx, &caller, "wallet.pos.cancel", "wallet_pos_transaction",
                            transaction_id, point->merchant_org_id, nullptr,
                            object{{"reason", reason}, {"cancel_id", done->transaction.id}},
                            caller.request_id, now));
        return done;
      });
}

// ---- The point's protocol
// ------------------------------------------------------------------------

Result<ClockAnswer> Pos::Clock(const identity::Caller& device) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<ClockAnswer>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<ClockAnswer> {
        auto point = OperationalPoint(tx, device, now);
        if (!point.ok()) return std::move(point).error();
        if (!point->Allows("clock_check")) {
          return Refusal(ErrorKind::kForbidden, pos_code::kPermissionDenied,
                         "This point is not allowed to check its clock.");
        }
        return ClockAnswer{now, options_.clock_drift_max_ms, options_.offline_allowance_cents};
      });
}

Result<BalanceAnswer> Pos::Balance(const identity::Caller& device, const PayerRef& payer,
                                   int64_t point_at_ms) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<BalanceAnswer>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<BalanceAnswer> {
        auto point = OperationalPoint(tx, device, now);
        if (!point.ok()) return std::move(point).error();
        const bool allowed = std::any_of(
            point->permissions.begin(), point->permissions.end(), [](const std::string& p) {
              return p == "debit" || p == "cash_reload" || p.rfind("debit:", 0) == 0 ||
                     p.rfind("load:", 0) == 0;
            });
        if (!allowed)
          return Refusal(ErrorKind::kForbidden, pos_code::kPermissionDenied,
                         "This point moves no money.");
        if (std::llabs(point_at_ms - now) > options_.clock_drift_max_ms) {
          return Refusal(
              ErrorKind::kValidation, pos_code::kClockDrift,
              fmt::format("The point's clock is more than {} ms off: server time is {} ms.",
                          options_.clock_drift_max_ms, now),
              "/point_at_ms");
        }
        auto found = ResolvePayerImpl(tx, *point, payer, false, point_at_ms, now);
        if (!found.ok()) return std::move(found).error();
        auto test = IsTestHolder(tx, found->holder_id);
        if (!test.ok()) return std::move(test).error();
        if (*test != point->is_test) {
          return Refusal(ErrorKind::kValidation, pos_code::kTestMismatch,
                         "Test accounts and test points go together.");
        }
        auto holder = FindHolder(tx, found->holder_id);
        if (!holder.ok()) return std::move(holder).error();
        GUICHET_ASSERT(holder->has_value());
        GUICHET_TRY_STATUS(RequireHolderUsable(**holder));
        if (found->support_id) {
          auto support = FindSupport(tx, *found->support_id);
          if (!support.ok()) return std::move(support).error();
          GUICHET_ASSERT(support->has_value());
          GUICHET_TRY_STATUS(RequireSupportUsable(**support));
        }
        auto accounts = HolderAccounts(tx, found->holder_id, now);
        if (!accounts.ok()) return std::move(accounts).error();
        BalanceAnswer answer{found->holder_id, {}};
        for (const HolderAccount& account : *accounts) {
          answer.balances.push_back(
              {account.counter.code, account.counter.euro, account.balance, account.available});
        }
        return answer;
      });
}

Result<PointOperationResult> Pos::Operate(const identity::Caller& device,
                                          const PointOperation& operation) {
  const int64_t now = wallet_.clock().NowMs();
  std::optional<Point> seen;
  auto done = wallet_.database().Transact<PointOperationResult>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<PointOperationResult> {
        auto point = OperationalPoint(tx, device, now);
        if (!point.ok()) return std::move(point).error();
        seen = *point;
        return RunOperation(tx, device, *point, operation, options_, false, now);
      });
  if (!done.ok() && seen && operation.payer.qr && IsQrCodeRefusal(done.error())) {
    // A refused one-time code is kept for fraud detection (W20: replays per phone).
    const QrRefusal refusal{*operation.payer.qr, done.error().code, operation.point_at_ms, seen->id};
    GUICHET_TRY_STATUS(wallet_.database().Transact<Ok>(
        TransactionMode::kWrite, [&](Transaction& tx) { return RecordQrRefusal(tx, refusal, now); }));
  }
  if (done.ok() || !seen || !Recordable(done.error().code)) return done;
  // Nothing was applied; the refusal is kept so that the merchant sees it and a replay answers it.
  const std::string refusal = done.error().code;
  auto recorded = wallet_.database().Transact<bool>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<bool> {
        auto existing =
            FindTxn(tx, "point_id = $1 AND point_txn_id = $2", {seen->id, operation.point_txn_id});
        if (!existing.ok()) return std::move(existing).error();
        if (existing->has_value() || operation.amount <= 0 || operation.amount > kPosAmountMax)
          return false;
        PointOperation stored = operation;
        std::optional<Payer> payer;
        auto found =
            ResolvePayerImpl(tx, *seen, operation.payer, false, operation.point_at_ms, now);
        if (found.ok()) payer = *found;
        auto id = InsertTxn(tx, *seen, stored, payer, "refused", false, std::nullopt, std::nullopt,
                            refusal, now);
        if (!id.ok()) return std::move(id).error();
        return true;
      });
  if (!recorded.ok()) return std::move(recorded).error();
  return done;
}

Result<PointOperationResult> Pos::Acknowledge(const identity::Caller& device,
                                              std::string_view point_txn_id, bool positive,
                                              int64_t point_at_ms) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<PointOperationResult>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<PointOperationResult> {
        auto point = OperationalPoint(tx, device, now);
        if (!point.ok()) return std::move(point).error();
        auto row = FindTxn(tx, "point_id = $1 AND point_txn_id = $2",
                           {point->id, std::string(point_txn_id)});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value()) {
          return Refusal(ErrorKind::kNotFound, pos_code::kTransactionNotFound,
                         "This point has no such transaction.", "/point_txn_id");
        }
        PosTransaction txn = (*row)->txn;
        if (std::llabs(point_at_ms - now) > options_.clock_drift_max_ms) {
          return Refusal(
              ErrorKind::kValidation, pos_code::kClockDrift,
              fmt::format("The point's clock is more than {} ms off: server time is {} ms.",
                          options_.clock_drift_max_ms, now),
              "/point_at_ms");
        }
        GUICHET_TRY_STATUS(RefreshExpiry(tx, txn, now));
        if (txn.state == "refused") {
          return Refusal(RefusalKind(txn.refusal_code), txn.refusal_code,
                         "This operation was refused.");
        }
        if (txn.state == "expired") {
          return Refusal(ErrorKind::kConflict, pos_code::kTransactionExpired,
                         "The hold lapsed before its acknowledgement: nothing was debited.");
        }
        const bool settled_as_asked =
            (positive && txn.state == "acknowledged") || (!positive && txn.state == "voided");
        if (settled_as_asked) {
          PointOperationResult result{txn, 0, 0, true};
          GUICHET_TRY_STATUS(FillBalances(tx, result, now));
          return result;
        }
        if (txn.state != "pending") {
          return Refusal(ErrorKind::kConflict, pos_code::kAlreadyAcknowledged,
                         fmt::format("This transaction is {} already.", txn.state));
        }
        ledger::Transfer settle;
        settle.id = txn.ledger_transfer_id + (positive ? ":post" : ":void");
        settle.pending_id = txn.ledger_transfer_id;
        settle.flags =
            positive ? ledger::transfer_flags::kPostPending : ledger::transfer_flags::kVoidPending;
        auto results = ledger::CreateTransfers(tx, {settle}, now);
        if (!results.ok()) return std::move(results).error();
        const auto outcome = results->at(0);
        if (outcome == ledger::CreateTransferResult::kPendingTransferExpired) {
          GUICHET_TRY_STATUS(MarkExpired(tx, txn, now));
          return Refusal(ErrorKind::kConflict, pos_code::kTransactionExpired,
                         "The hold lapsed before its acknowledgement: nothing was debited.");
        }
        if (outcome != ledger::CreateTransferResult::kOk &&
            outcome != ledger::CreateTransferResult::kExists) {
          return Error::Internal(fmt::format("acknowledgement refused by the ledger: {}",
                                             ledger::CreateTransferResultName(outcome)));
        }
        auto fresh = UpdateTxnReturning(tx, "state = $2, acknowledged_at_ms = $3",
                                        " AND state = 'pending'",
                                        {txn.id, std::string(positive ? "acknowledged" : "voided"), now});
        if (!fresh.ok()) return std::move(fresh).error();
        if (!fresh->has_value()) {  // another process settled or expired the row meanwhile: roll back
          return Refusal(ErrorKind::kConflict, pos_code::kAlreadyAcknowledged,
                         "This transaction changed meanwhile: read it again.");
        }
        if (!positive)
          GUICHET_TRY_STATUS(
              WriteReleaseLine(tx, txn, ":void", "Paiement annule par le point", now));
        PointOperationResult result{**fresh, 0, 0, false};
        GUICHET_TRY_STATUS(FillBalances(tx, result, now));
        return result;
      });
}

Result<PosTransaction> Pos::GetOwnTransaction(const identity::Caller& device,
                                              std::string_view point_txn_id) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<PosTransaction>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<PosTransaction> {
        auto point = OperationalPoint(tx, device, now);
        if (!point.ok()) return std::move(point).error();
        auto row = FindTxn(tx, "point_id = $1 AND point_txn_id = $2",
                           {point->id, std::string(point_txn_id)});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value()) {
          return Refusal(ErrorKind::kNotFound, pos_code::kTransactionNotFound,
                         "This point has no such transaction.");
        }
        PosTransaction txn = (*row)->txn;
        GUICHET_TRY_STATUS(RefreshExpiry(tx, txn, now));
        return txn;
      });
}

Result<Pos::PaymentCode> Pos::CreatePaymentCode(int64_t holder_id) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<PaymentCode>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<PaymentCode> {
        auto holder = FindHolder(tx, holder_id);
        if (!holder.ok()) return std::move(holder).error();
        if (!holder->has_value())
          return Refusal(ErrorKind::kNotFound, code::kHolderNotFound, "No such holder.");
        GUICHET_TRY_STATUS(RequireHolderUsable(**holder));
        GUICHET_TRY_STATUS(
            tx.Execute("DELETE FROM wallet_pos_payment_codes WHERE expires_at < $1", {now}));
        PaymentCode made{NewPaymentCode(), now + kPaymentCodeLifetimeS * 1000};
        GUICHET_TRY_STATUS(
            tx.Execute("INSERT INTO wallet_pos_payment_codes (code_hash, holder_id, created_at, "
                       "expires_at) VALUES ($1, $2, $3, $4)",
                       {crypto::Sha256Hex(made.code), holder_id, now, made.expires_at_ms}));
        return made;
      });
}

// ---- Test accounts (W13)
// -----------------------------------------------------------------------------

Result<TestAccount> Pos::MyTestAccount(const identity::Caller& caller) {
  if (caller.kind != identity::Caller::Kind::kUser) {
    return Refusal(ErrorKind::kForbidden, "forbidden", "Test accounts belong to people.");
  }
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kPosTestAccount);
  if (scopes.empty())
    return Refusal(ErrorKind::kForbidden, "forbidden", "You have no test account.");
  const int64_t now = wallet_.clock().NowMs();
  auto known = wallet_.database().Transact<std::optional<int64_t>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::optional<int64_t>> {
        auto row = tx.QueryOne("SELECT holder_id FROM wallet_pos_test_accounts WHERE user_id = $1",
                               {caller.id});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value()) return std::optional<int64_t>();
        return std::optional<int64_t>((*row)->Int(0));
      });
  if (!known.ok()) return std::move(known).error();
  const std::string support_number = fmt::format("TEST-{}", caller.id);
  if (!*known) {
    // The organisation of the caller's scope: the last id of its path.
    const std::string& path = scopes.front();
    const size_t end = path.size() - 1;
    const size_t start = path.rfind('/', end - 1) + 1;
    NewHolder holder;
    holder.organisation_id = std::stoll(path.substr(start, end - start));
    holder.university_id = fmt::format("TEST-ADMIN-{}", caller.id);
    holder.last_name = "Test";
    holder.first_name = fmt::format("Admin {}", caller.id);
    holder.email = fmt::format("pos-test-{}@test.invalid", caller.id);
    holder.supports = {{support_number, "test", true}};
    holder.initial_password = crypto::RandomToken(24) + "-Aa1";
    identity::Caller system;
    system.kind = identity::Caller::Kind::kSystem;
    system.request_id = caller.request_id;
    auto created = wallet_.CreateHolder(system, holder, "pos_test_account");
    if (!created.ok()) return std::move(created).error();
    auto linked = wallet_.database().Transact<bool>(
        TransactionMode::kWrite, [&](Transaction& tx) -> Result<bool> {
          GUICHET_TRY_STATUS(
              tx.Execute("INSERT INTO wallet_pos_test_accounts (user_id, holder_id, created_at) "
                         "VALUES ($1, $2, $3)",
                         {caller.id, created->id, now}));
          auto funding = OperatorAccount(tx, created->organisation_id, kEuro, kTestFunding, now);
          if (!funding.ok()) return std::move(funding).error();
          Movement credit;
          credit.holder_id = created->id;
          credit.amount = kTestAccountInitialCents;
          credit.counterpart_account_id = *funding;
          credit.transfer_id = fmt::format("pos-test:{}:initial", caller.id);
          credit.kind = "test.credit";
          credit.mode = "test";
          credit.label = "Argent de test";
          auto moved = MoveHolder(tx, caller, credit, now);
          if (!moved.ok()) return std::move(moved).error();
          return true;
        });
    if (!linked.ok()) return std::move(linked).error();
    known = std::optional<int64_t>(created->id);
  }
  return wallet_.database().Transact<TestAccount>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<TestAccount> {
        auto accounts = HolderAccounts(tx, **known, now);
        if (!accounts.ok()) return std::move(accounts).error();
        TestAccount account{**known, support_number, {}};
        for (const HolderAccount& a : *accounts)
          account.balances.push_back({a.counter.code, a.counter.euro, a.balance, a.available});
        return account;
      });
}

Result<TestAccount> Pos::CreditTestAccount(const identity::Caller& caller, int64_t amount) {
  if (amount <= 0 || amount > kTestCreditCentsMax) {
    return Refusal(ErrorKind::kValidation, pos_code::kAmountInvalid,
                   "1 to 100000 cents of test money.", "/amount");
  }
  auto account = MyTestAccount(caller);
  if (!account.ok()) return account;
  const int64_t now = wallet_.clock().NowMs();
  auto moved = wallet_.database().Transact<MovementResult>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<MovementResult> {
        auto holder = FindHolder(tx, account->holder_id);
        if (!holder.ok()) return std::move(holder).error();
        GUICHET_ASSERT(holder->has_value());
        auto funding = OperatorAccount(tx, (*holder)->organisation_id, kEuro, kTestFunding, now);
        if (!funding.ok()) return std::move(funding).error();
        Movement credit;
        credit.holder_id = account->holder_id;
        credit.amount = amount;
        credit.counterpart_account_id = *funding;
        credit.transfer_id = fmt::format("pos-test:{}:{}", caller.id, crypto::RandomToken(16));
        credit.kind = "test.credit";
        credit.mode = "test";
        credit.label = "Argent de test";
        return MoveHolder(tx, caller, credit, now);
      });
  if (!moved.ok()) return std::move(moved).error();
  return MyTestAccount(caller);
}

Result<int64_t> Pos::ExpireLapsedHolds() {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<int64_t>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
        auto rows = tx.Query(
            fmt::format("SELECT {} FROM wallet_pos_transactions WHERE state = 'pending' AND"
                        " expires_at_ms <= $1 ORDER BY id LIMIT {}",
                        kTxnColumns, kExpireBatchMax),
            {now});
        if (!rows.ok()) return std::move(rows).error();
        for (const Row& row : rows->rows) GUICHET_TRY_STATUS(MarkExpired(tx, ToTxn(row).txn, now));
        return static_cast<int64_t>(rows->rows.size());
      });
}

// ---- JSON
// ------------------------------------------------------------------------------------------

object MerchantJson(const Merchant& merchant) {
  return object{{"id", merchant.organisation_id},
                {"region_id", merchant.region_id},
                {"name", merchant.name},
                {"iban_last4", merchant.iban_last4},
                {"bic", merchant.bic},
                {"contact_email", merchant.contact_email},
                {"commission_bp", merchant.commission_bp},
                {"settlement_period_days", merchant.settlement_period_days},
                {"created_at", FormatIso8601(merchant.created_at_ms)}};
}

object PointJson(const Point& point) {
  array permissions;
  for (const std::string& permission : point.permissions)
    permissions.push_back(boost::json::string(permission));
  object o{{"id", point.id},
           {"merchant_id", point.merchant_org_id},
           {"institution_org_id", point.institution_org_id},
           {"institution_id", point.institution_id},
           {"location", point.location},
           {"address", point.address},
           {"type", point.type},
           {"permissions", std::move(permissions)},
           {"is_test", point.is_test},
           {"state", point.state},
           {"paired", point.device_id.has_value()},
           {"created_at", FormatIso8601(point.created_at_ms)},
           {"updated_at", FormatIso8601(point.updated_at_ms)}};
  if (point.device_id) o["device_id"] = *point.device_id;
  return o;
}

object PointEventJson(const PointEvent& event) {
  object o{{"id", event.id},
           {"event", event.event},
           {"actor_type", event.actor_type},
           {"at", FormatIso8601(event.at_ms)}};
  if (event.reason) o["reason"] = *event.reason;
  if (event.actor_id) o["actor_id"] = *event.actor_id;
  return o;
}

object PosTransactionJson(const PosTransaction& t) {
  object o{{"id", t.id},
           {"point_id", t.point_id},
           {"merchant_id", t.merchant_org_id},
           {"point_txn_id", t.point_txn_id},
           {"operation", t.operation},
           {"counter", t.counter},
           {"amount", t.amount},
           {"state", t.state},
           {"offline", t.offline},
           {"is_test", t.is_test},
           {"point_at_ms", t.point_at_ms},
           {"received_at_ms", t.received_at_ms}};
  if (!t.refusal_code.empty()) o["refusal_code"] = t.refusal_code;
  if (t.holder_id) o["holder_id"] = *t.holder_id;
  if (t.acknowledged_at_ms) o["acknowledged_at_ms"] = *t.acknowledged_at_ms;
  if (t.expires_at_ms) o["expires_at_ms"] = *t.expires_at_ms;
  if (t.cancels_id) o["cancels_id"] = *t.cancels_id;
  return o;
}

object OperationResultJson(const PointOperationResult& result) {
  object o = PosTransactionJson(result.transaction);
  o["balance_after"] = result.balance_after;
  o["available_after"] = result.available_after;
  o["replayed"] = result.replayed;
  return o;
}

object BalancesJson(const std::vector<CounterBalance>& balances) {
  array items;
  for (const CounterBalance& b : balances) {
    items.push_back(object{{"counter", b.counter},
                           {"euro", b.euro},
                           {"balance", b.balance},
                           {"available", b.available}});
  }
  return object{{"balances", std::move(items)}};
}

}  // namespace guichet::wallet
