#include "platform/privacy/privacy_http.h"

#include <fmt/format.h>

#include <charconv>

#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"

namespace guichet::privacy {
namespace {

using boost::json::array;
using boost::json::object;
using http::HttpStatus;
using http::JsonReader;
using http::RequestContext;
using http::Response;
using identity::Gate;

constexpr std::string_view kTag = "privacy";

Result<int64_t> StaffId(const RequestContext& request) {
  return http::PositiveId(request.Param("id"), "staff id");
}

array Strings(const std::vector<std::string>& texts) { return array(texts.begin(), texts.end()); }

object ActivityJson(const ProcessingActivity& activity) {
  return {{"code", activity.code},
          {"name", activity.name},
          {"purpose", activity.purpose},
          {"legal_basis", activity.legal_basis},
          {"data_subjects", Strings(activity.data_subjects)},
          {"data_categories", Strings(activity.data_categories)},
          {"retention", activity.retention},
          {"recipients", Strings(activity.recipients)},
          {"transfers", activity.transfers},
          {"security", activity.security},
          {"consent_purposes", Strings(activity.consent_purposes)}};
}

Result<ConsentChoice> ParseChoice(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  ConsentChoice choice;
  choice.purpose = reader.RequiredString("purpose", {1, kPurposeLengthMax});
  choice.channel = reader.RequiredString("channel", {1, 10});
  const bool granted_given = body->if_contains("granted") != nullptr;
  choice.granted = reader.OptionalBool("granted").value_or(false);
  if (!granted_given) reader.Fail("granted", "is required");
  choice.wording = reader.RequiredString("wording", {1, kWordingLengthMax});
  choice.wording_version = reader.RequiredString("wording_version", {1, kWordingVersionLengthMax});
  GUICHET_TRY_STATUS(reader.Finish());
  return choice;
}

// An export is a file the person keeps: offered for download under a stable name.
Result<Response> ExportResponse(Result<object> document, int64_t id) {
  if (!document.ok()) return std::move(document).error();
  Response response = http::JsonResponse(HttpStatus::ok, *document);
  response.set(http::beast::http::field::content_disposition,
               fmt::format("attachment; filename=\"guichet-export-staff-{}.json\"", id));
  return response;
}

const object kConsentSchema = {
    {"type", "object"},
    {"required", {"purpose", "channel", "granted", "wording", "wording_version"}},
    {"properties",
     {{"purpose", {{"type", "string"}}},
      {"channel", {{"type", "string"}, {"enum", {"email", "sms", "push"}}}},
      {"granted", {{"type", "boolean"}}},
      {"wording", {{"type", "string"}}},
      {"wording_version", {{"type", "string"}}}}}};

void AddConsentRoutes(http::Router& router, identity::IdentityHttpContext& context,
                      Privacy& privacy) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/me/consents", "getMyConsents",
      identity::kAnySession,
      {.summary = "One's consents: the current choice per purpose and channel, and every "
                  "choice ever made with the wording shown",
       .tag = std::string(kTag)},
      [&privacy](const RequestContext&, Gate& gate) -> Result<Response> {
        auto overview = privacy.MyConsents(gate.caller);
        if (!overview.ok()) return std::move(overview).error();
        return http::JsonResponse(HttpStatus::ok,
                                  object{{"current", ConsentsJson(overview->current)},
                                         {"history", ConsentsJson(overview->history)},
                                         {"purposes", Strings(overview->purposes)}});
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/me/consents", "recordMyConsent",
      identity::kAnySession,
      {.summary = "Grant or withdraw consent to one purpose on one channel, with the exact "
                  "wording shown and its version",
       .tag = std::string(kTag),
       .request_schema = kConsentSchema,
       .success_status = 201,
       .errors = {{409, "Too many choices recorded"},
                  {422, "Unknown purpose or channel, missing wording"}}},
      [&privacy](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto choice = ParseChoice(*request.request);
        if (!choice.ok()) return std::move(choice).error();
        auto consent = privacy.RecordMyConsent(gate.caller, *choice);
        if (!consent.ok()) return std::move(consent).error();
        return http::JsonResponse(HttpStatus::created, ConsentJson(*consent));
      });
}

void AddExportRoutes(http::Router& router, identity::IdentityHttpContext& context,
                     Privacy& privacy) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/me/export", "exportMyData", identity::kAnySession,
      {.summary = "Everything held on oneself, as one JSON document (access and portability)",
       .tag = std::string(kTag)},
      [&privacy](const RequestContext&, Gate& gate) -> Result<Response> {
        return ExportResponse(privacy.ExportMine(gate.caller), gate.caller.id);
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/staff/{id}/export", "exportStaffData",
      "privacy.export",
      {.summary = "Everything held on a staff member of one's scope, to answer their request",
       .tag = std::string(kTag),
       .errors = {{404, "Not in scope"}}},
      [&privacy](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = StaffId(request);
        if (!id.ok()) return std::move(id).error();
        return ExportResponse(privacy.ExportStaff(gate.caller, *id), *id);
      });
}

void AddErasureRoutes(http::Router& router, identity::IdentityHttpContext& context,
                      Privacy& privacy) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/staff/{id}/erasure", "eraseStaffData",
      "privacy.erase",
      {.summary = "Erase a staff member's personal data: the account is anonymised, the audit "
                  "data about it redacted (the chain stays verifiable), legal records kept",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"},
                                {"required", {"reason"}},
                                {"properties", {{"reason", {{"type", "string"}}}}}},
       .errors = {{404, "Not in scope"},
                  {409, "Already erased, or a legal hold refuses it for now"},
                  {422, "Missing reason"}}},
      [&privacy](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = StaffId(request);
        if (!id.ok()) return std::move(id).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string reason = reader.RequiredString("reason", {1, kErasureReasonLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto report = privacy.EraseStaff(gate.caller, *id, reason);
        if (!report.ok()) return std::move(report).error();
        return http::JsonResponse(
            HttpStatus::ok,
            object{{"person", {{"type", report->person.type}, {"id", report->person.id}}},
                   {"erased_at", FormatIso8601(report->erased_at_ms)},
                   {"kept", HoldsJson(report->holds)}});
      });
}

// Public: the register holds no personal data, it is what the information notice owed to every
// person (GDPR art. 13) is made of, and publishing it is what public bodies are encouraged to
// do; the web app shows it before anyone logs in.
void AddRegisterRoute(http::Router& router, identity::IdentityHttpContext& context,
                      Privacy& privacy) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/privacy/register", "getProcessingRegister",
      identity::kPublic,
      {.summary = "The register of processing (GDPR art. 30): purpose, legal basis, data, "
                  "retention and recipients of each processing",
       .tag = std::string(kTag)},
      [&privacy](const RequestContext&, Gate&) -> Result<Response> {
        array activities;
        for (const ProcessingActivity& activity : privacy.processing().activities()) {
          activities.push_back(ActivityJson(activity));
        }
        return http::JsonResponse(HttpStatus::ok, object{{"activities", std::move(activities)}});
      });
}

}  // namespace

void AddPrivacyRoutes(http::Router& router, identity::IdentityHttpContext& context,
                      Privacy& privacy) {
  AddConsentRoutes(router, context, privacy);
  AddExportRoutes(router, context, privacy);
  AddErasureRoutes(router, context, privacy);
  AddRegisterRoute(router, context, privacy);
}

}  // namespace guichet::privacy
