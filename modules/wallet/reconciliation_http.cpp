// Routes of reconciliation: thin adapters over reconciliation.h.
#include "modules/wallet/reconciliation_http.h"

#include <fmt/format.h>

#include <boost/json/array.hpp>

#include "platform/base/clock.h"
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

constexpr int64_t kTimeMsMax = int64_t{1} << 53;
constexpr int64_t kAmountParseMax = int64_t{1} << 53;

Response Json(HttpStatus status, const boost::json::value& body) {
  return http::JsonResponse(status, body);
}

object TransactionSchema() {
  object props;
  for (const char* name : {"point_txn_id", "operation", "counter", "state"})
    props[name] = object{{"type", "string"}};
  props["amount"] = object{{"type", "integer"}};
  props["at_ms"] = object{{"type", "integer"}};
  return object{{"type", "object"}, {"properties", std::move(props)}};
}

object RequestSchema() {
  return object{{"type", "object"},
                {"properties", object{{"range_start_ms", object{{"type", "integer"}}},
                                      {"range_end_ms", object{{"type", "integer"}}},
                                      {"transactions",
                                       object{{"type", "array"}, {"items", TransactionSchema()}}}}},
                {"required", array{"range_start_ms", "range_end_ms", "transactions"}}};
}

// The body: the range and the point's own list. Validation of ids, operations, states and
// amounts beyond their types is Reconcile's (reconciliation_input_invalid, with the pointer).
Result<ReconciliationRequest> ParseRequest(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  boost::json::value list;
  if (auto* found = body->if_contains("transactions")) {
    list = *found;
    body->erase("transactions");
  }
  JsonReader reader(*body);
  ReconciliationRequest parsed;
  parsed.range_start_ms = reader.RequiredInteger("range_start_ms", 0, kTimeMsMax);
  parsed.range_end_ms = reader.RequiredInteger("range_end_ms", 0, kTimeMsMax);
  if (!list.is_array()) reader.Fail("transactions", "an array of transactions is required");
  GUICHET_TRY_STATUS(reader.Finish());
  const array& items = list.as_array();
  if (items.size() > kReconciliationItemsMax) {
    return Error{ErrorKind::kValidation,
                 "validation_failed",
                 "Too many transactions.",
                 {{"/transactions", "at most 200000"}}};
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string pointer = fmt::format("/transactions/{}", i);
    if (!items[i].is_object()) {
      return Error{ErrorKind::kValidation,
                   "validation_failed",
                   "A transaction is an object.",
                   {{pointer, "an object"}}};
    }
    JsonReader item(items[i].as_object(), pointer);
    ReconciliationTransaction t;
    t.point_txn_id = item.RequiredString("point_txn_id", {0, 200});
    t.operation = item.RequiredString("operation", {0, 40});
    t.counter = item.OptionalString("counter", {1, 16}).value_or("EUR");
    t.amount = item.RequiredInteger("amount", -kAmountParseMax, kAmountParseMax);
    t.state = item.RequiredString("state", {0, 40});
    t.at_ms = item.RequiredInteger("at_ms", 0, kTimeMsMax);
    GUICHET_TRY_STATUS(item.Finish());
    parsed.transactions.push_back(std::move(t));
  }
  return parsed;
}

Result<Response> Report(HttpStatus status, Result<StoredReconciliation> stored) {
  if (!stored.ok()) return std::move(stored).error();
  return Json(status, ReconciliationJson(*stored));
}

Result<Response> Document(Result<StoredReconciliation> stored, std::string_view name) {
  if (!stored.ok()) return std::move(stored).error();
  Response response(HttpStatus::ok, 11);
  std::string body;
  if (name == "report.pdf") {
    response.set(http::beast::http::field::content_type, "application/pdf");
    body = ReconciliationPdf(stored->report, stored->generated_at_ms);
  } else if (name == "report.xml") {
    response.set(http::beast::http::field::content_type, "application/xml; charset=utf-8");
    body = ReconciliationXml(stored->report, stored->generated_at_ms);
  } else {
    return Error::NotFound("document_not_found", "Documents: report.pdf, report.xml.");
  }
  response.set(http::beast::http::field::content_disposition,
               fmt::format("attachment; filename=\"rapprochement-{}.{}\"",
                           stored->report.input.report_id, name.substr(7)));
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Result<Response> ScheduleResponse(Result<ReconciliationSchedule> schedule) {
  if (!schedule.ok()) return std::move(schedule).error();
  return Json(HttpStatus::ok, object{{"merchant_id", schedule->merchant_org_id},
                                     {"enabled", schedule->enabled},
                                     {"hour", schedule->hour_paris},
                                     {"last_run_day", schedule->last_run_day}});
}

std::vector<std::pair<int, std::string>> PointErrors(std::vector<std::pair<int, std::string>> own) {
  own.push_back({401,
                 "device_unknown, device_signature_invalid, device_opposed, device_clock_skew, "
                 "device_signature_replayed"});
  own.push_back({403, "point_unknown, point_not_approved, point_opposed, permission_denied"});
  return own;
}

void AddPointRoutes(http::Router& router, identity::IdentityHttpContext& context,
                    Reconciliations& reconciliations) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/pos/reconciliations", "posReconcile",
      right::kPosOperate,
      {.summary = "Reconcile now (W18): the point's own list over a range against the service's; "
                  "answers the report, kept with links to its PDF and XML",
       .tag = "pos",
       .request_schema = RequestSchema(),
       .success_status = 201,
       .errors = PointErrors({{422, "reconciliation_input_invalid, validation_failed"}})},
      [&reconciliations](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto parsed = ParseRequest(*request.request);
        if (!parsed.ok()) return std::move(parsed).error();
        return Report(HttpStatus::created, reconciliations.ReconcileNow(gate.caller, *parsed));
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/pos/reconciliation-uploads",
      "posReconciliationUpload", right::kPosOperate,
      {.summary = "Upload the point's list over a range, reconciled at the merchant's scheduled "
                  "hour (the report goes to the merchant)",
       .tag = "pos",
       .request_schema = RequestSchema(),
       .success_status = 202,
       .errors = PointErrors({{422, "reconciliation_input_invalid, validation_failed"}})},
      [&reconciliations](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto parsed = ParseRequest(*request.request);
        if (!parsed.ok()) return std::move(parsed).error();
        auto upload = reconciliations.Upload(gate.caller, *parsed);
        if (!upload.ok()) return std::move(upload).error();
        return Json(HttpStatus::accepted,
                    object{{"id", upload->id},
                           {"point_id", upload->point_id},
                           {"transactions", upload->transactions},
                           {"received_at", FormatIso8601(upload->received_at_ms)}});
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/pos/reconciliations/{id}/{document}",
      "posReconciliationDocument", right::kPosOperate,
      {.summary = "One of the point's reports: report.pdf or report.xml",
       .tag = "pos",
       .success_media_type = "application/pdf",
       .errors = PointErrors({{404, "reconciliation_not_found, document_not_found"}})},
      [&reconciliations](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "report id");
        if (!id.ok()) return std::move(id).error();
        return Document(reconciliations.GetForPoint(gate.caller, *id), request.Param("document"));
      });
}

void AddStaffRoutes(http::Router& router, identity::IdentityHttpContext& context,
                    Reconciliations& reconciliations) {
  identity::AddGuarded(
      router, context, http::Verb::put, "/api/v1/wallet/merchants/{id}/reconciliation-schedule",
      "setReconciliationSchedule", right::kReconciliationsManage,
      {.summary = "The merchant's daily reconciliation: at an hour (Paris), the points' uploaded "
                  "lists are reconciled and the reports e-mailed",
       .tag = "wallet",
       .request_schema = object{{"type", "object"},
                                {"properties", object{{"enabled", object{{"type", "boolean"}}},
                                                      {"hour", object{{"type", "integer"}}}}},
                                {"required", array{"enabled", "hour"}}},
       .errors = {{404, "merchant_not_found"}, {422, "validation_failed"}}},
      [&reconciliations](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "merchant id");
        if (!id.ok()) return std::move(id).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const auto enabled = reader.OptionalBool("enabled");
        const int64_t hour = reader.RequiredInteger("hour", 0, 23);
        if (!enabled) reader.Fail("enabled", "true or false is required");
        GUICHET_TRY_STATUS(reader.Finish());
        return ScheduleResponse(reconciliations.SetSchedule(gate.caller, *id, *enabled, hour));
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/merchants/{id}/reconciliation-schedule",
      "getReconciliationSchedule", right::kReconciliationsManage,
      {.summary = "The merchant's daily reconciliation schedule (disabled at hour 0 when never "
                  "set) and the Paris day it last ran",
       .tag = "wallet",
       .errors = {{404, "merchant_not_found"}}},
      [&reconciliations](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "merchant id");
        if (!id.ok()) return std::move(id).error();
        return ScheduleResponse(reconciliations.GetSchedule(gate.caller, *id));
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/points/{id}/reconciliations",
      "reconcilePoint", right::kReconciliationsManage,
      {.summary = "Reconcile a point over a range from the lists it uploaded",
       .tag = "wallet",
       .request_schema =
           object{{"type", "object"},
                  {"properties", object{{"range_start_ms", object{{"type", "integer"}}},
                                        {"range_end_ms", object{{"type", "integer"}}}}},
                  {"required", array{"range_start_ms", "range_end_ms"}}},
       .success_status = 201,
       .errors = {{404, "point_not_found"},
                  {422,
                   "reconciliation_no_upload, reconciliation_input_invalid, validation_failed"}}},
      [&reconciliations](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "point id");
        if (!id.ok()) return std::move(id).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const int64_t start = reader.RequiredInteger("range_start_ms", 0, kTimeMsMax);
        const int64_t end = reader.RequiredInteger("range_end_ms", 0, kTimeMsMax);
        GUICHET_TRY_STATUS(reader.Finish());
        return Report(HttpStatus::created,
                      reconciliations.ReconcilePoint(gate.caller, *id, start, end));
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/points/{id}/reconciliations",
      "listPointReconciliations", right::kReconciliationsManage,
      {.summary = "A point's reconciliation reports, newest first",
       .tag = "wallet",
       .errors = {{404, "point_not_found"}}},
      [&reconciliations](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "point id");
        if (!id.ok()) return std::move(id).error();
        auto list = reconciliations.List(gate.caller, *id);
        if (!list.ok()) return std::move(list).error();
        array items;
        for (const StoredReconciliation& r : *list) items.push_back(ReconciliationJson(r, false));
        return Json(HttpStatus::ok, object{{"reconciliations", std::move(items)}});
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/reconciliations/{id}", "getReconciliation",
      right::kReconciliationsManage,
      {.summary = "One reconciliation report: totals per counter and operation on both sides, "
                  "the lines that differ or miss and the matched ones (at most 1000)",
       .tag = "wallet",
       .errors = {{404, "reconciliation_not_found"}}},
      [&reconciliations](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "report id");
        if (!id.ok()) return std::move(id).error();
        return Report(HttpStatus::ok, reconciliations.Get(gate.caller, *id));
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/reconciliations/{id}/{document}",
      "getReconciliationDocument", right::kReconciliationsManage,
      {.summary = "A report as report.pdf (XML embedded) or report.xml",
       .tag = "wallet",
       .success_media_type = "application/pdf",
       .errors = {{404, "reconciliation_not_found, document_not_found"}}},
      [&reconciliations](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "report id");
        if (!id.ok()) return std::move(id).error();
        return Document(reconciliations.Get(gate.caller, *id), request.Param("document"));
      });
}

}  // namespace

void AddReconciliationRoutes(http::Router& router, identity::IdentityHttpContext& context,
                             Reconciliations& reconciliations) {
  AddPointRoutes(router, context, reconciliations);
  AddStaffRoutes(router, context, reconciliations);
}

void RegisterReconciliationJobs(jobs::Runner& runner, Reconciliations& reconciliations) {
  runner.Register("wallet.reconciliation", [&reconciliations](const jobs::JobRecord&) -> Status {
    auto made = reconciliations.RunScheduled();
    if (!made.ok()) return std::move(made).error();
    if (*made > 0) log::Info("wallet reconciliation reports", {{"count", *made}});
    return OkStatus();
  });
  runner.Every("wallet.reconciliation", kReconciliationEveryMs);
}

}  // namespace guichet::wallet
