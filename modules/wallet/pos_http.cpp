// Routes of the acceptance network: thin adapters that parse, call one use case of pos.h and map
// the result. Point routes are device-signed (the identity gate authenticates X-Device-*), and
// registered with AddGuardedShared: the gate's replay record and the use case commit in one
// transaction (the hot path of a payment; see docs/arch-perf.md).
#include "modules/wallet/pos_http.h"

#include <fmt/format.h>

#include <boost/json/array.hpp>

#include "modules/wallet/wallet_http.h"
#include "platform/base/log.h"
#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"
#include "platform/jobs/jobs.h"

namespace guichet::wallet {
namespace {

using boost::json::array;
using boost::json::object;
using http::HttpStatus;
using http::JsonReader;
using http::RequestContext;
using http::Response;
using identity::Gate;

constexpr std::string_view kTag = "wallet";
constexpr std::string_view kPosTag = "pos";
constexpr int64_t kAmountParseMax = int64_t{1} << 53;  // amount_invalid is the use case's answer
constexpr int64_t kTimeMsMax = int64_t{1} << 53;
constexpr int64_t kPayerTextMax = 512;

Response Json(HttpStatus status, const boost::json::value& body) {
  return http::JsonResponse(status, body);
}

object Schema(std::initializer_list<std::pair<std::string_view, std::string_view>> properties,
              std::initializer_list<std::string_view> required) {
  object props;
  for (const auto& [name, type] : properties) props[name] = object{{"type", type}};
  array req;
  for (std::string_view name : required) req.push_back(boost::json::string(name));
  object schema{{"type", "object"}, {"properties", std::move(props)}};
  if (!req.empty()) schema["required"] = std::move(req);
  return schema;
}

// Errors every point route can answer, besides its own.
std::vector<std::pair<int, std::string>> PointErrors(std::vector<std::pair<int, std::string>> own) {
  own.push_back({401,
                 "device_unknown, device_signature_invalid, device_opposed, device_clock_skew, "
                 "device_signature_replayed"});
  own.push_back({403, "point_unknown, point_not_approved, point_opposed, permission_denied"});
  return own;
}

PayerRef ReadPayer(JsonReader& reader) {
  PayerRef payer;
  payer.support_number = reader.OptionalString("support_number", {1, kSupportNumberLengthMax});
  payer.qr = reader.OptionalString("qr", {1, kPayerTextMax});
  payer.payment_code = reader.OptionalString("payment_code", {1, 32});
  return payer;
}

Result<PointOperation> ParseOperation(const http::Request& request, PosOperation kind) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  return ParseOperationJson(*body, kind, true);
}

Result<Response> Operated(Result<PointOperationResult> result) {
  if (!result.ok()) return std::move(result).error();
  return Json(result->replayed ? HttpStatus::ok : HttpStatus::created,
              OperationResultJson(*result));
}

// The record named by the path's {id} and the body's only field, the reason for acting on it.
struct IdAndReason {
  int64_t id = 0;
  std::string reason;
};

Result<IdAndReason> ParseIdAndReason(const RequestContext& request, std::string_view id_name) {
  auto id = http::PositiveId(request.Param("id"), id_name);
  if (!id.ok()) return std::move(id).error();
  auto body = http::ParseJsonObjectBody(*request.request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  IdAndReason parsed{*id, reader.RequiredString("reason", {1, kPointReasonLengthMax})};
  GUICHET_TRY_STATUS(reader.Finish());
  return parsed;
}

Result<Response> Approval(Result<PointApproval> approval) {
  if (!approval.ok()) return std::move(approval).error();
  object pairing{{"code", approval->pairing.code},
                 {"expires_at", FormatIso8601(approval->pairing.expires_at_ms)},
                 {"qr_svg", approval->pairing.qr_svg}};
  return Json(HttpStatus::ok,
              object{{"point", PointJson(approval->point)}, {"pairing", std::move(pairing)}});
}

Result<Response> TestAccountResponse(Result<TestAccount> account) {
  if (!account.ok()) return std::move(account).error();
  object o = BalancesJson(account->balances);
  o["holder_id"] = account->holder_id;
  o["support_number"] = account->support_number;
  return Json(HttpStatus::ok, o);
}

void AddMerchantRoutes(http::Router& router, identity::IdentityHttpContext& context, Pos& pos) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/merchants", "createMerchant",
      right::kMerchantsManage,
      {.summary =
           "Create a merchant: an organisation of kind merchant under a region, with its bank "
           "account "
           "(IBAN encrypted at rest; only its last four characters are ever shown), commission and "
           "settlement period",
       .tag = std::string(kTag),
       .request_schema =
           Schema({{"region_id", "integer"},
                   {"name", "string"},
                   {"iban", "string"},
                   {"bic", "string"},
                   {"commission_bp", "integer"},
                   {"settlement_period_days", "integer"},
                   {"contact_email", "string"}},
                  {"region_id", "name", "iban", "bic", "commission_bp", "contact_email"}),
       .success_status = 201,
       .errors = {{404, "organisation_not_found"}, {422, "validation_failed"}}},
      [&pos](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        NewMerchant input;
        input.region_id = reader.RequiredInteger("region_id", 1, INT64_MAX);
        input.name = reader.RequiredString("name", {1, 200});
        input.iban = reader.RequiredString("iban", {1, 50});
        input.bic = reader.RequiredString("bic", {1, 20});
        input.commission_bp = reader.RequiredInteger("commission_bp", 0, kCommissionBpMax);
        input.settlement_period_days =
            reader.OptionalInteger("settlement_period_days", 1, kSettlementPeriodDaysMax)
                .value_or(kSettlementPeriodDaysMax);
        input.contact_email = reader.RequiredString("contact_email", {3, kEmailLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto merchant = pos.CreateMerchant(gate.caller, input);
        if (!merchant.ok()) return std::move(merchant).error();
        return Json(HttpStatus::created, MerchantJson(*merchant));
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/merchants",
                       "listMerchants", right::kPointsRead,
                       {.summary = "Merchants in the caller's scope (a merchant sees itself)",
                        .tag = std::string(kTag)},
                       [&pos](const RequestContext&, Gate& gate) -> Result<Response> {
                         auto merchants = pos.ListMerchants(gate.caller);
                         if (!merchants.ok()) return std::move(merchants).error();
                         array items;
                         for (const Merchant& merchant : *merchants)
                           items.push_back(MerchantJson(merchant));
                         return Json(HttpStatus::ok, object{{"merchants", std::move(items)}});
                       });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/merchants/{id}",
                       "getMerchant", right::kPointsRead,
                       {.summary = "One merchant",
                        .tag = std::string(kTag),
                        .errors = {{404, "merchant_not_found"}}},
                       [&pos](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = http::PositiveId(request.Param("id"), "merchant id");
                         if (!id.ok()) return std::move(id).error();
                         auto merchant = pos.GetMerchant(gate.caller, *id);
                         if (!merchant.ok()) return std::move(merchant).error();
                         return Json(HttpStatus::ok, MerchantJson(*merchant));
                       });
}

void AddPointStaffRoutes(http::Router& router, identity::IdentityHttpContext& context, Pos& pos) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/points", "createPoint",
      right::kPointsManage,
      {.summary = "Declare a point of sale (pending until a regional admin approves it)",
       .description = "permissions: create_holders, clock_check, download_base, cash_reload, "
                      "debit, reconciliation, "
                      "offline, cancel, load:<counter>, debit:<counter>. location: the "
                      "institution's nomenclature, "
                      "segments joined by '-' (Crous-UG-RU-UD-Caisse).",
       .tag = std::string(kTag),
       .request_schema = Schema({{"merchant_id", "integer"},
                                 {"institution_id", "string"},
                                 {"location", "string"},
                                 {"address", "string"},
                                 {"type", "string"},
                                 {"permissions", "array"},
                                 {"is_test", "boolean"}},
                                {"merchant_id", "institution_id", "location", "address", "type"}),
       .success_status = 201,
       .errors = {{404, "merchant_not_found"},
                  {409, "point_duplicate"},
                  {422, "validation_failed"}}},
      [&pos](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        NewPoint input;
        input.merchant_id = reader.RequiredInteger("merchant_id", 1, INT64_MAX);
        input.institution_id =
            reader.RequiredString("institution_id", {1, kInstitutionIdLengthMax});
        input.location = reader.RequiredString("location", {1, 300});
        input.address = reader.RequiredString("address", {1, kAddressLengthMax});
        input.type = reader.RequiredString("type", {1, 40});
        input.permissions =
            reader.OptionalStringArray("permissions", kPointPermissionsMax, {1, 40});
        input.is_test = reader.OptionalBool("is_test").value_or(false);
        GUICHET_TRY_STATUS(reader.Finish());
        auto point = pos.CreatePoint(gate.caller, input);
        if (!point.ok()) return std::move(point).error();
        return Json(HttpStatus::created, PointJson(*point));
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/points", "listPoints",
                       right::kPointsRead,
                       {.summary = "Points of sale in the caller's scope (a merchant: its own)",
                        .tag = std::string(kTag)},
                       [&pos](const RequestContext&, Gate& gate) -> Result<Response> {
                         auto points = pos.ListPoints(gate.caller);
                         if (!points.ok()) return std::move(points).error();
                         array items;
                         for (const Point& point : *points) items.push_back(PointJson(point));
                         return Json(HttpStatus::ok, object{{"points", std::move(items)}});
                       });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/points/{id}", "getPoint",
      right::kPointsRead,
      {.summary = "One point of sale with its history (approval, pairing, oppositions)",
       .tag = std::string(kTag),
       .errors = {{404, "point_not_found"}}},
      [&pos](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "point id");
        if (!id.ok()) return std::move(id).error();
        auto point = pos.GetPoint(gate.caller, *id);
        if (!point.ok()) return std::move(point).error();
        auto events = pos.PointHistory(gate.caller, *id);
        if (!events.ok()) return std::move(events).error();
        object o = PointJson(*point);
        array history;
        for (const PointEvent& event : *events) history.push_back(PointEventJson(event));
        o["events"] = std::move(history);
        return Json(HttpStatus::ok, o);
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/points/{id}/transactions",
                       "listPointTransactions", right::kPointsRead,
                       {.summary = "A point's transactions, newest first",
                        .tag = std::string(kTag),
                        .errors = {{404, "point_not_found"}}},
                       [&pos](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = http::PositiveId(request.Param("id"), "point id");
                         if (!id.ok()) return std::move(id).error();
                         auto list = pos.PointTransactions(gate.caller, *id);
                         if (!list.ok()) return std::move(list).error();
                         array items;
                         for (const PosTransaction& txn : *list)
                           items.push_back(PosTransactionJson(txn));
                         return Json(HttpStatus::ok, object{{"transactions", std::move(items)}});
                       });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/points/{id}/approve", "approvePoint",
      right::kPointsApprove,
      {.summary = "Approve a pending point: answers the one-time pairing code of its device",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"}},
       .errors = {{404, "point_not_found"}, {409, "point_not_pending"}}},
      [&pos](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "point id");
        if (!id.ok()) return std::move(id).error();
        return Approval(pos.ApprovePoint(gate.caller, *id));
      });
  identity::AddGuarded(router, context, http::Verb::post, "/api/v1/wallet/points/{id}/pairings",
                       "replacePointDevice", right::kPointsApprove,
                       {.summary = "Swap or re-register the point's device: a new pairing code; "
                                   "the current device is cut off at once "
                                   "and opposed",
                        .tag = std::string(kTag),
                        .request_schema = Schema({{"reason", "string"}}, {"reason"}),
                        .errors = {{404, "point_not_found"}, {409, "point_not_approved"}}},
                       [&pos](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto parsed = ParseIdAndReason(request, "point id");
                         if (!parsed.ok()) return std::move(parsed).error();
                         return Approval(pos.ReplaceDevice(gate.caller, parsed->id, parsed->reason));
                       });
  for (const bool oppose : {true, false}) {
    identity::AddGuarded(
        router, context, http::Verb::post,
        oppose ? "/api/v1/wallet/points/{id}/opposition"
               : "/api/v1/wallet/points/{id}/reactivation",
        oppose ? "opposePoint" : "reactivatePoint",
        oppose ? right::kPointsOppose : right::kPointsApprove,
        {.summary = oppose ? "Oppose a point (admin, or the merchant for its own points): every "
                             "operation stops at once"
                           : "Reactivate an opposed point (admins only)",
         .tag = std::string(kTag),
         .request_schema = Schema({{"reason", "string"}}, {"reason"}),
         .errors = {{404, "point_not_found"},
                    {409, oppose ? "point_already_opposed" : "point_not_opposed"}}},
        [&pos, oppose](const RequestContext& request, Gate& gate) -> Result<Response> {
          auto parsed = ParseIdAndReason(request, "point id");
          if (!parsed.ok()) return std::move(parsed).error();
          auto point = oppose ? pos.OpposePoint(gate.caller, parsed->id, parsed->reason)
                              : pos.ReactivatePoint(gate.caller, parsed->id, parsed->reason);
          if (!point.ok()) return std::move(point).error();
          return Json(HttpStatus::ok, PointJson(*point));
        });
  }
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/pos-transactions/{id}/cancellation",
      "cancelPosTransaction", right::kPointsApprove,
      {.summary =
           "Cancel an acknowledged debit of a point (regional admins): the holder is credited back",
       .tag = std::string(kTag),
       .request_schema = Schema({{"reason", "string"}}, {"reason"}),
       .success_status = 201,
       .errors = {{404, "transaction_not_found"}, {409, "not_cancellable"}}},
      [&pos](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto parsed = ParseIdAndReason(request, "transaction id");
        if (!parsed.ok()) return std::move(parsed).error();
        return Operated(pos.AdminCancel(gate.caller, parsed->id, parsed->reason));
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/pos/test-account", "myPosTestAccount",
      right::kPosTestAccount,
      {.summary = "One's own test holder and support for test points (created on first call with "
                  "test money); its money never touches real accounts or settlements",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"}}},
      [&pos](const RequestContext&, Gate& gate) -> Result<Response> {
        return TestAccountResponse(pos.MyTestAccount(gate.caller));
      });
  identity::AddGuarded(router, context, http::Verb::post, "/api/v1/wallet/pos/test-account/credits",
                       "creditPosTestAccount", right::kPosTestAccount,
                       {.summary = "Add test money to one's test account",
                        .tag = std::string(kTag),
                        .request_schema = Schema({{"amount", "integer"}}, {"amount"}),
                        .errors = {{422, "amount_invalid"}}},
                       [&pos](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto body = http::ParseJsonObjectBody(*request.request);
                         if (!body.ok()) return std::move(body).error();
                         JsonReader reader(*body);
                         const int64_t amount =
                             reader.RequiredInteger("amount", -kAmountParseMax, kAmountParseMax);
                         GUICHET_TRY_STATUS(reader.Finish());
                         return TestAccountResponse(pos.CreditTestAccount(gate.caller, amount));
                       });
}

void AddOperationRoute(http::Router& router, identity::IdentityHttpContext& context, Pos& pos,
                       std::string path, std::string operation_id, PosOperation kind,
                       std::string summary, object schema,
                       std::vector<std::pair<int, std::string>> errors) {
  identity::AddGuardedShared(
      router, context, http::Verb::post, std::move(path), std::move(operation_id),
      right::kPosOperate,
      {.summary = std::move(summary),
       .description =
           "Idempotent by point_txn_id: the same id and content answers the first result "
           "(200, replayed: true); other content answers point_txn_conflict.",
       .tag = std::string(kPosTag),
       .request_schema = std::move(schema),
       .success_status = 201,
       .errors = PointErrors(std::move(errors))},
      [&pos, kind](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto operation = ParseOperation(*request.request, kind);
        if (!operation.ok()) return std::move(operation).error();
        return Operated(pos.Operate(gate.caller, *operation));
      });
}

void AddPointProtocolRoutes(http::Router& router, identity::IdentityHttpContext& context,
                            Pos& pos) {
  identity::AddGuardedShared(
      router, context, http::Verb::get, "/api/v1/pos/clock", "posClock", right::kPosOperate,
      {.summary = "The server's time, the drift a point's clock may have (W14) and what one card "
                  "may spend offline at the point between two connections (W16)",
       .tag = std::string(kPosTag),
       .errors = PointErrors({})},
      [&pos](const RequestContext&, Gate& gate) -> Result<Response> {
        auto clock = pos.Clock(gate.caller);
        if (!clock.ok()) return std::move(clock).error();
        return Json(HttpStatus::ok,
                    object{{"server_ms", clock->server_ms},
                           {"drift_max_ms", clock->drift_max_ms},
                           {"offline_allowance_cents", clock->offline_allowance_cents}});
      });
  identity::AddGuardedShared(
      router, context, http::Verb::post, "/api/v1/pos/balance", "posBalance", right::kPosOperate,
      {.summary = "Phase 1: the payer's available balance per counter, by support number (or a web "
                  "shop's payment code)",
       .tag = std::string(kPosTag),
       .request_schema = Schema({{"support_number", "string"},
                                 {"payment_code", "string"},
                                 {"qr", "string"},
                                 {"point_at_ms", "integer"}},
                                {"point_at_ms"}),
       .errors =
           PointErrors({{404, "support_not_found, payment_code_invalid"},
                        {409, "support_opposed, holder_opposed, holder_not_active"},
                        {422, "clock_drift, payer_missing, qr_not_supported, test_mismatch"}})},
      [&pos](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const PayerRef payer = ReadPayer(reader);
        const int64_t point_at_ms = reader.RequiredInteger("point_at_ms", 0, kTimeMsMax);
        GUICHET_TRY_STATUS(reader.Finish());
        auto balance = pos.Balance(gate.caller, payer, point_at_ms);
        if (!balance.ok()) return std::move(balance).error();
        object o = BalancesJson(balance->balances);
        o["holder_id"] = balance->holder_id;
        return Json(HttpStatus::ok, o);
      });
  const object payer_schema = Schema({{"point_txn_id", "string"},
                                      {"counter", "string"},
                                      {"amount", "integer"},
                                      {"point_at_ms", "integer"},
                                      {"support_number", "string"},
                                      {"qr", "string"},
                                      {"payment_code", "string"}},
                                     {"point_txn_id", "amount", "point_at_ms"});
  const std::vector<std::pair<int, std::string>> money_errors = {
      {404, "support_not_found, payment_code_invalid, unknown_counter"},
      {409,
       "point_txn_conflict, support_opposed, holder_opposed, holder_not_active, counter_inactive"},
      {422,
       "amount_invalid, clock_drift, insufficient_funds, threshold_exceeded, payer_missing, "
       "qr_not_supported, "
       "test_mismatch, cash_pack_invalid"}};
  AddOperationRoute(
      router, context, pos, "/api/v1/pos/debits", "posDebit", PosOperation::kDebit,
      "Phase 2: debit a counter; the amount is held until the acknowledgement (or the hold lapses)",
      payer_schema, money_errors);
  AddOperationRoute(router, context, pos, "/api/v1/pos/loads", "posLoad", PosOperation::kLoad,
                    "Load tokens of a counter (permission load:<counter>); posted at once",
                    payer_schema, money_errors);
  AddOperationRoute(
      router, context, pos, "/api/v1/pos/cash-reloads", "posCashReload", PosOperation::kCashReload,
      "A cash pack of 5, 10 or 20 EUR taken at the point (permission cash_reload); posted at once",
      payer_schema, money_errors);
  AddOperationRoute(router, context, pos, "/api/v1/pos/cancellations", "posCancel",
                    PosOperation::kCancel,
                    "Cancel one of the point's acknowledged debits (permission cancel): the holder "
                    "is credited back",
                    Schema({{"point_txn_id", "string"},
                            {"cancels_point_txn_id", "string"},
                            {"point_at_ms", "integer"}},
                           {"point_txn_id", "cancels_point_txn_id", "point_at_ms"}),
                    {{404, "transaction_not_found"},
                     {409, "point_txn_conflict, not_cancellable"},
                     {422, "clock_drift"}});
  identity::AddGuardedShared(
      router, context, http::Verb::post, "/api/v1/pos/acknowledgements", "posAcknowledge",
      right::kPosOperate,
      {.summary = "Phase 3: positive (the sale happened: the hold is posted) or negative "
                  "(released) acknowledgement",
       .description =
           "Idempotent: the same acknowledgement again answers the same result (replayed: true).",
       .tag = std::string(kPosTag),
       .request_schema =
           Schema({{"point_txn_id", "string"}, {"positive", "boolean"}, {"point_at_ms", "integer"}},
                  {"point_txn_id", "positive", "point_at_ms"}),
       .errors = PointErrors({{404, "transaction_not_found"},
                              {409, "transaction_expired, already_acknowledged"},
                              {422, "clock_drift"}})},
      [&pos](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string id = reader.RequiredString("point_txn_id", {1, kPointTxnIdLengthMax});
        const auto positive = reader.OptionalBool("positive");
        const int64_t point_at_ms = reader.RequiredInteger("point_at_ms", 0, kTimeMsMax);
        if (!positive) reader.Fail("positive", "true or false is required");
        GUICHET_TRY_STATUS(reader.Finish());
        auto result = pos.Acknowledge(gate.caller, id, *positive, point_at_ms);
        if (!result.ok()) return std::move(result).error();
        return Json(HttpStatus::ok, OperationResultJson(*result));
      });
  identity::AddGuardedShared(
      router, context, http::Verb::get, "/api/v1/pos/transactions/{point_txn_id}", "posTransaction",
      right::kPosOperate,
      {.summary = "The state of one of the point's transactions (after a lost answer)",
       .tag = std::string(kPosTag),
       .errors = PointErrors({{404, "transaction_not_found"}})},
      [&pos](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto txn = pos.GetOwnTransaction(gate.caller, request.Param("point_txn_id"));
        if (!txn.ok()) return std::move(txn).error();
        return Json(HttpStatus::ok, PosTransactionJson(*txn));
      });
}

}  // namespace

Result<PointOperation> ParseOperationJson(const boost::json::object& body, PosOperation kind,
                                          bool with_point_time) {
  JsonReader reader(body);
  PointOperation operation;
  operation.operation = kind;
  operation.point_txn_id = reader.RequiredString("point_txn_id", {1, kPointTxnIdLengthMax});
  if (with_point_time) operation.point_at_ms = reader.RequiredInteger("point_at_ms", 0, kTimeMsMax);
  if (kind == PosOperation::kCancel) {
    operation.cancels_point_txn_id =
        reader.RequiredString("cancels_point_txn_id", {1, kPointTxnIdLengthMax});
    operation.amount = 0;
  } else {
    operation.amount = reader.RequiredInteger("amount", -kAmountParseMax, kAmountParseMax);
    if (kind == PosOperation::kCashReload) {
      operation.counter = std::string(kEuro);
    } else {
      operation.counter = reader.OptionalString("counter", {1, 16}).value_or(std::string(kEuro));
    }
    operation.payer = ReadPayer(reader);
  }
  GUICHET_TRY_STATUS(reader.Finish());
  return operation;
}

void AddPosRoutes(http::Router& router, identity::IdentityHttpContext& context, Pos& pos) {
  AddMerchantRoutes(router, context, pos);
  AddPointStaffRoutes(router, context, pos);
  AddPointProtocolRoutes(router, context, pos);
  AddHolderSessionRoute(router, context, pos.wallet(), http::Verb::post,
                        "/api/v1/wallet/me/payment-codes", "createPaymentCode",
                        {.summary = "A single-use payment code (5 minutes) the holder gives a web "
                                    "shop to pay from the wallet",
                         .request_schema = object{{"type", "object"}},
                         .success_status = 201,
                         .errors = {{409, "holder_opposed, holder_not_active"}}},
                        [&pos](const RequestContext&, int64_t holder_id) -> Result<Response> {
                          auto code = pos.CreatePaymentCode(holder_id);
                          if (!code.ok()) return std::move(code).error();
                          return Json(HttpStatus::created,
                                      object{{"code", code->code},
                                             {"expires_at", FormatIso8601(code->expires_at_ms)}});
                        });
}

void RegisterPosJobs(jobs::Runner& runner, Pos& pos) {
  runner.Register("wallet.pos.expire", [&pos](const jobs::JobRecord&) -> Status {
    auto expired = pos.ExpireLapsedHolds();
    if (!expired.ok()) return std::move(expired).error();
    if (*expired > 0) log::Info("wallet pos holds expired", {{"count", *expired}});
    return OkStatus();
  });
  runner.Every("wallet.pos.expire", kPosExpireEveryMs);
}

}  // namespace guichet::wallet
