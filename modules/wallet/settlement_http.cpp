// Routes of settlement runs: thin adapters over settlement.h.
#include "modules/wallet/settlement_http.h"

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <set>

#include "modules/wallet/settlement_fees.h"
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

constexpr std::string_view kTag = "wallet";
constexpr int64_t kTimeMsMax = int64_t{1} << 53;
constexpr int64_t kReasonLengthMax = 500;

Response Json(HttpStatus status, const boost::json::value& body) {
  return http::JsonResponse(status, body);
}

Result<Response> File(Result<SettlementFile> file) {
  if (!file.ok()) return std::move(file).error();
  Response response(HttpStatus::ok, 11);
  response.set(http::beast::http::field::content_type, file->content_type);
  response.set(http::beast::http::field::content_disposition,
               fmt::format("attachment; filename=\"{}\"", file->file_name));
  response.body() = std::move(file->body);
  response.prepare_payload();
  return response;
}

Result<Response> DetailResponse(HttpStatus status, Result<SettlementRunDetail> detail) {
  if (!detail.ok()) return std::move(detail).error();
  return Json(status, SettlementRunDetailJson(*detail));
}

void AddRunRoutes(http::Router& router, identity::IdentityHttpContext& context,
                  Settlements& settlements) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/merchants/{id}/settlements",
      "runSettlement", right::kSettlementsManage,
      {.summary = "Settle a merchant now: a run from the end of its previous run to the cutoff "
                  "(default now), at most one per settlement period",
       .description = "The first run of a merchant may be made at any time; later ones once the "
                      "merchant's settlement period has passed since the previous run's end.",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"},
                                {"properties", object{{"cutoff_ms", object{{"type", "integer"}}}}}},
       .success_status = 201,
       .errors = {{404, "merchant_not_found"},
                  {409, "settlement_not_due"},
                  {422, "settlement_cutoff_invalid, validation_failed"}}},
      [&settlements](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "merchant id");
        if (!id.ok()) return std::move(id).error();
        std::optional<int64_t> cutoff;
        if (!request.request->body().empty()) {
          auto body = http::ParseJsonObjectBody(*request.request);
          if (!body.ok()) return std::move(body).error();
          JsonReader reader(*body);
          cutoff = reader.OptionalInteger("cutoff_ms", 1, kTimeMsMax);
          GUICHET_TRY_STATUS(reader.Finish());
        }
        return DetailResponse(HttpStatus::created,
                              settlements.RunMerchant(gate.caller, *id, cutoff));
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/settlements", "listSettlements",
      right::kSettlementsRead,
      {.summary = "Settlement runs in the caller's scope, newest first (a merchant: its own); "
                  "query merchant_id to narrow",
       .tag = std::string(kTag)},
      [&settlements](const RequestContext& request, Gate& gate) -> Result<Response> {
        std::optional<int64_t> merchant;
        if (auto text = http::QueryParameter(*request.request, "merchant_id")) {
          auto id = http::PositiveId(*text, "merchant id");
          if (!id.ok()) return std::move(id).error();
          merchant = *id;
        }
        auto runs = settlements.List(gate.caller, merchant);
        if (!runs.ok()) return std::move(runs).error();
        array items;
        for (const SettlementRun& run : *runs) items.push_back(SettlementRunJson(run));
        return Json(HttpStatus::ok, object{{"settlements", std::move(items)}});
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/settlements/{id}", "getSettlement",
      right::kSettlementsRead,
      {.summary = "One run: its figures, lines per point and document versions",
       .tag = std::string(kTag),
       .errors = {{404, "settlement_not_found"}}},
      [&settlements](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "settlement id");
        if (!id.ok()) return std::move(id).error();
        return DetailResponse(HttpStatus::ok, settlements.Get(gate.caller, *id));
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/settlements/{id}/regenerations",
      "regenerateSettlement", right::kSettlementsManage,
      {.summary = "Make the run's documents again as a new version: the figures never change",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"},
                                {"properties", object{{"reason", object{{"type", "string"}}}}},
                                {"required", array{"reason"}}},
       .errors = {{404, "settlement_not_found"},
                  {409, "settlement_regenerated_meanwhile"},
                  {422, "validation_failed"}}},
      [&settlements](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "settlement id");
        if (!id.ok()) return std::move(id).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string reason = reader.RequiredString("reason", {1, kReasonLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        return DetailResponse(HttpStatus::ok, settlements.Regenerate(gate.caller, *id, reason));
      });
}

void AddDocumentRoutes(http::Router& router, identity::IdentityHttpContext& context,
                       Settlements& settlements) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/settlements/{id}/documents/{document}",
      "getSettlementDocument", right::kSettlementsRead,
      {.summary = "A document of the run's current version: statement.pdf (merchant statement "
                  "with every point, XML embedded), statement.xml, journal.csv (accounting)",
       .tag = std::string(kTag),
       .success_media_type = "application/pdf",
       .errors = {{404, "settlement_not_found, document_not_found"}}},
      [&settlements](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "settlement id");
        if (!id.ok()) return std::move(id).error();
        const std::string_view name = request.Param("document");
        SettlementDocument document;
        if (name == "statement.pdf") {
          document = SettlementDocument::kStatementPdf;
        } else if (name == "statement.xml") {
          document = SettlementDocument::kXml;
        } else if (name == "journal.csv") {
          document = SettlementDocument::kJournalCsv;
        } else {
          return Error::NotFound("document_not_found",
                                 "Documents: statement.pdf, statement.xml, journal.csv.");
        }
        return File(settlements.Document(gate.caller, *id, document));
      });
  identity::AddGuarded(
      router, context, http::Verb::get,
      "/api/v1/wallet/settlements/{id}/points/{point_id}/statement.pdf",
      "getSettlementPointStatement", right::kSettlementsRead,
      {.summary = "One point's statement of the run (PDF, the run's XML embedded)",
       .tag = std::string(kTag),
       .success_media_type = "application/pdf",
       .errors = {{404, "settlement_not_found, settlement_point_not_found"}}},
      [&settlements](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "settlement id");
        if (!id.ok()) return std::move(id).error();
        auto point = http::PositiveId(request.Param("point_id"), "point id");
        if (!point.ok()) return std::move(point).error();
        return File(settlements.Document(gate.caller, *id, SettlementDocument::kPointPdf, *point));
      });
}

object TransferBatchJson(const SettlementTransferBatch& batch) {
  return object{{"id", batch.id},
                {"message_id", batch.message_id},
                {"runs", batch.runs},
                {"total_cents", batch.total_cents},
                {"created_at", FormatIso8601(batch.created_at_ms)},
                {"file", fmt::format("/api/v1/wallet/settlement-transfers/{}/file", batch.id)}};
}

// The optional {"run_ids": [...]}: positive ids, no duplicates, at most one file's worth. An
// empty body or no run_ids: every run waiting in scope.
Result<std::vector<int64_t>> ParseRunIds(const http::Request& request) {
  std::vector<int64_t> ids;
  if (request.body().empty()) return ids;
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  boost::json::value list;
  bool given = false;
  if (auto* found = body->if_contains("run_ids")) {
    list = *found;
    given = true;
    body->erase("run_ids");
  }
  JsonReader reader(*body);
  GUICHET_TRY_STATUS(reader.Finish());
  if (!given) return ids;
  const auto invalid = [](std::string pointer, std::string message) {
    return Error{ErrorKind::kValidation,
                 "validation_failed",
                 "run_ids is a list of settlement run ids.",
                 {{std::move(pointer), std::move(message)}}};
  };
  if (!list.is_array() || list.as_array().empty() ||
      static_cast<int64_t>(list.as_array().size()) > kSettlementTransferRunsMax) {
    return invalid("/run_ids",
                   fmt::format("an array of 1 to {} run ids", kSettlementTransferRunsMax));
  }
  std::set<int64_t> seen;
  const array& items = list.as_array();
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string pointer = fmt::format("/run_ids/{}", i);
    if (!items[i].is_int64() || items[i].as_int64() < 1) {
      return invalid(pointer, "a positive integer");
    }
    if (!seen.insert(items[i].as_int64()).second) return invalid(pointer, "given twice");
    ids.push_back(items[i].as_int64());
  }
  return ids;
}

void AddTransferRoutes(http::Router& router, identity::IdentityHttpContext& context,
                       Settlements& settlements) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/settlement-transfers",
      "exportSettlementTransfers", right::kSettlementsManage,
      {.summary = "Pay the runs waiting to be paid in the caller's scope (all of them, or those "
                  "of run_ids): one pain.001.001.09 file of credit transfers to merchants; those "
                  "runs become paid",
       .description = "With run_ids, exactly those runs: each must be in the caller's scope "
                      "(settlement_not_found) and waiting to be paid (settlement_not_to_pay); a "
                      "refusal pays none of them.",
       .tag = std::string(kTag),
       .request_schema =
           object{{"type", "object"},
                  {"properties",
                   object{{"run_ids", object{{"type", "array"},
                                             {"items", object{{"type", "integer"}}},
                                             {"minItems", 1},
                                             {"maxItems", kSettlementTransferRunsMax}}}}}},
       .success_status = 201,
       .errors = {{404, "settlement_not_found"},
                  {409, "settlement_paid_meanwhile, settlement_not_to_pay"},
                  {422, "settlement_nothing_to_pay, validation_failed"}}},
      [&settlements](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto run_ids = ParseRunIds(*request.request);
        if (!run_ids.ok()) return std::move(run_ids).error();
        auto batch = settlements.ExportTransfers(gate.caller, *run_ids);
        if (!batch.ok()) return std::move(batch).error();
        return Json(HttpStatus::created, TransferBatchJson(*batch));
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/settlement-transfers",
      "listSettlementTransfers", right::kSettlementsManage,
      {.summary = "Transfer files in the caller's scope, newest first, with the runs each paid "
                  "and their total; query limit (default 20, at most 100) and before (the "
                  "next_before of the previous page)",
       .tag = std::string(kTag),
       .errors = {{400, "invalid_parameter"}}},
      [&settlements](const RequestContext& request, Gate& gate) -> Result<Response> {
        std::optional<int64_t> before;
        if (auto text = http::QueryParameter(*request.request, "before")) {
          auto id = http::PositiveId(*text, "before");
          if (!id.ok()) return std::move(id).error();
          before = *id;
        }
        int64_t limit = kSettlementTransferPageDefault;
        if (auto text = http::QueryParameter(*request.request, "limit")) {
          auto parsed = http::PositiveId(*text, "limit");
          if (!parsed.ok()) return std::move(parsed).error();
          if (*parsed > kSettlementTransferPageMax) {
            return Error::Invalid("invalid_parameter", fmt::format("The limit must be at most {}.",
                                                                   kSettlementTransferPageMax));
          }
          limit = *parsed;
        }
        auto files = settlements.ListTransfers(gate.caller, before, limit);
        if (!files.ok()) return std::move(files).error();
        array items;
        for (const SettlementTransferFileSummary& file : *files) {
          object o = TransferBatchJson(file.batch);
          array runs;
          for (const SettlementTransferRun& run : file.runs) {
            runs.push_back(object{{"id", run.id},
                                  {"merchant_id", run.merchant_org_id},
                                  {"statement_id", run.statement_id},
                                  {"payable_cents", run.payable_cents}});
          }
          o["paid_runs"] = std::move(runs);
          items.push_back(std::move(o));
        }
        boost::json::value next = nullptr;
        if (static_cast<int64_t>(files->size()) >= limit) next = files->back().batch.id;
        return Json(HttpStatus::ok,
                    object{{"transfer_files", std::move(items)}, {"next_before", next}});
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/settlement-transfers/{id}/file",
      "getSettlementTransferFile", right::kSettlementsManage,
      {.summary = "The pain.001.001.09 file of an export, to send to the bank",
       .tag = std::string(kTag),
       .success_media_type = "application/xml",
       .errors = {{404, "settlement_transfer_not_found"}}},
      [&settlements](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "transfer file id");
        if (!id.ok()) return std::move(id).error();
        return File(settlements.TransferFile(gate.caller, *id));
      });
}

void AddFeeRoutes(http::Router& router, identity::IdentityHttpContext& context,
                  Settlements& settlements) {
  const object line_schema{
      {"type", "object"},
      {"properties", object{{"kind", object{{"type", "string"},
                                            {"enum", array{"per_run", "per_debit",
                                                           "per_point_month"}}}},
                            {"label_fr", object{{"type", "string"}}},
                            {"label_en", object{{"type", "string"}}},
                            {"amount_cents", object{{"type", "integer"}}}}},
      {"required", array{"kind", "label_fr", "label_en", "amount_cents"}}};
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/merchants/{id}/fees", "getMerchantFees",
      right::kSettlementsRead,
      {.summary = "The merchant's fee schedule in force now and every version of it, newest "
                  "effective date first",
       .tag = std::string(kTag),
       .errors = {{404, "merchant_not_found"}}},
      [&settlements](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "merchant id");
        if (!id.ok()) return std::move(id).error();
        auto fees = GetMerchantFees(settlements.pos(), gate.caller, *id);
        if (!fees.ok()) return std::move(fees).error();
        return Json(HttpStatus::ok, MerchantFeesJson(*fees));
      });
  identity::AddGuarded(
      router, context, http::Verb::put, "/api/v1/wallet/merchants/{id}/fees", "setMerchantFees",
      right::kMerchantsManage,
      {.summary = "Set the merchant's fee schedule from a date (today or later): a new version, "
                  "past runs keep the fees they billed",
       .description = "kinds: per_run (a fixed fee per settlement run), per_debit (per "
                      "acknowledged debit), per_point_month (per active point and 30 days, "
                      "prorated to the run's period, half up). Amounts in cents, 0 to 100000; "
                      "at most 10 lines, each kind once; labels 1 to 100 characters.",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"},
                                {"properties",
                                 object{{"effective_from", object{{"type", "string"},
                                                                  {"format", "date"}}},
                                        {"lines", object{{"type", "array"},
                                                         {"items", line_schema}}}}},
                                {"required", array{"effective_from", "lines"}}},
       .errors = {{404, "merchant_not_found"},
                  {422,
                   "validation_failed, merchant_fee_kind_unknown, merchant_fee_kind_repeated, "
                   "merchant_fee_amount_out_of_range, merchant_fee_label_invalid, "
                   "merchant_fee_lines_too_many, merchant_fee_effective_date_invalid, "
                   "merchant_fee_effective_date_past"}}},
      [&settlements](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "merchant id");
        if (!id.ok()) return std::move(id).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        object rest = *body;  // "lines" is read below, the rest by the reader
        const boost::json::value lines = rest.contains("lines") ? rest["lines"] : nullptr;
        rest.erase("lines");
        JsonReader reader(rest);
        NewFeeSchedule schedule;
        schedule.effective_from = reader.RequiredString("effective_from", {1, 20});
        if (!lines.is_array()) {
          reader.Fail("lines", "an array of fee lines");
        } else if (lines.as_array().size() > kFeeLinesMax) {
          GUICHET_TRY_STATUS(reader.Finish());
          schedule.lines.resize(lines.as_array().size());  // refused with its own code
        } else {
          const auto& items = lines.as_array();
          for (size_t i = 0; i < items.size(); ++i) {
            if (!items[i].is_object()) {
              reader.Fail(fmt::format("lines/{}", i), "a fee line object");
              continue;
            }
            JsonReader line(items[i].as_object(), fmt::format("/lines/{}", i));
            NewFeeLine made;
            made.kind = line.RequiredString("kind", {1, 40});
            made.label_fr = line.RequiredString("label_fr", {0, 1000});
            made.label_en = line.RequiredString("label_en", {0, 1000});
            made.amount_cents =
                line.RequiredInteger("amount_cents", -kTimeMsMax, kTimeMsMax);
            GUICHET_TRY_STATUS(line.Finish());
            schedule.lines.push_back(std::move(made));
          }
        }
        GUICHET_TRY_STATUS(reader.Finish());
        auto fees = SetMerchantFees(settlements.pos(), gate.caller, *id, schedule);
        if (!fees.ok()) return std::move(fees).error();
        return Json(HttpStatus::ok, MerchantFeesJson(*fees));
      });
}

}  // namespace

void AddSettlementRoutes(http::Router& router, identity::IdentityHttpContext& context,
                         Settlements& settlements) {
  AddRunRoutes(router, context, settlements);
  AddDocumentRoutes(router, context, settlements);
  AddTransferRoutes(router, context, settlements);
  AddFeeRoutes(router, context, settlements);
}

void RegisterSettlementJobs(jobs::Runner& runner, Settlements& settlements) {
  runner.Register("wallet.settlement", [&settlements](const jobs::JobRecord&) -> Status {
    auto runs = settlements.RunDue();
    if (!runs.ok()) return std::move(runs).error();
    if (*runs > 0) log::Info("wallet settlement runs", {{"count", *runs}});
    return OkStatus();
  });
  runner.Every("wallet.settlement", kSettlementEveryMs);
}

}  // namespace guichet::wallet
