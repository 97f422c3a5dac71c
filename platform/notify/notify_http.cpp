#include "platform/base/markup.h"
#include "platform/notify/notify_http.h"

#include <fmt/format.h>

#include "platform/base/clock.h"
#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"

namespace guichet::notify {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;
using http::HttpStatus;
using http::JsonReader;
using http::RequestContext;
using http::Response;
using identity::Gate;

constexpr std::string_view kTag = "notify-content";
constexpr int64_t kNameLengthMax = 200;
constexpr int64_t kPersonTypeLengthMax = 40;

// ---- Schemas (documentation for the screens) -------------------------------------------------

object Str() { return {{"type", "string"}}; }
object Int() { return {{"type", "integer"}}; }
object Bool() { return {{"type", "boolean"}}; }
object Obj() { return {{"type", "object"}}; }
object Nullable(object schema) {
  schema["nullable"] = true;
  return schema;
}
object ArrayOf(object items) { return {{"type", "array"}, {"items", std::move(items)}}; }
object Items(object item) {
  return {{"type", "object"},
          {"required", {"items"}},
          {"properties", {{"items", ArrayOf(std::move(item))}}}};
}

object TemplateSchema() {
  return {{"type", "object"},
          {"properties",
           {{"code", Str()},
            {"language", {{"type", "string"}, {"enum", {"fr", "en"}}}},
            {"source", {{"type", "string"}, {"enum", {"builtin", "inherited", "own"}}}},
            {"organisation_id", Nullable(Int())},
            {"subject", Str()},
            {"text", Str()},
            {"html", Str()},
            {"updated_at", Nullable(Str())}}}};
}

object TemplateBodySchema() {
  return {{"type", "object"},
          {"required", {"subject", "text", "html"}},
          {"properties", {{"subject", Str()}, {"text", Str()}, {"html", Str()}}}};
}

object RenderedSchema() {
  return {{"type", "object"},
          {"properties", {{"subject", Str()}, {"text", Str()}, {"html", Str()}}}};
}

object PreferencesSchema() {
  return {{"type", "object"},
          {"properties",
           {{"person", {{"type", "object"}, {"properties", {{"type", Str()}, {"id", Int()}}}}},
            {"alert_frequency", {{"type", "string"}, {"enum", {"each", "daily", "weekly"}}}},
            {"low_balance_threshold_cents", Nullable(Int())},
            {"channels", ArrayOf({{"type", "object"},
                                  {"properties",
                                   {{"purpose", Str()},
                                    {"channel", Str()},
                                    {"mandatory", Bool()},
                                    {"granted", Bool()}}}})}}}};
}

object PreferencesChangeSchema() {
  return {
      {"type", "object"},
      {"description",
       "Consents (SMS alerts, campaigns, low balance) are given through POST /api/v1/me/consents"},
      {"properties",
       {{"alert_frequency", {{"type", "string"}, {"enum", {"each", "daily", "weekly"}}}},
        {"low_balance_threshold_cents", Nullable(Int())}}}};
}

object CampaignBodySchema() {
  return {
      {"type", "object"},
      {"required", {"organisation_id", "name", "template_code", "audience"}},
      {"properties",
       {{"organisation_id", Int()},
        {"name", Str()},
        {"template_code", Str()},
        {"purpose",
         {{"type", "string"},
          {"description", "default campaign; consent of that purpose is needed"}}},
        {"channel", {{"type", "string"}, {"enum", {"email", "sms"}}}},
        {"audience",
         {{"type", "object"},
          {"description",
           "{person_type, criteria} (see GET /api/v1/notify/audiences) or {person:{type,id}}"},
          {"properties",
           {{"person_type", Str()},
            {"criteria", Obj()},
            {"person", {{"type", "object"}, {"properties", {{"type", Str()}, {"id", Int()}}}}}}}}},
        {"variables", Obj()}}}};
}

object CampaignSchema() {
  object schema = CampaignBodySchema();
  schema.erase("required");
  object& properties = schema["properties"].as_object();
  properties["id"] = Int();
  properties["state"] = {{"type", "string"},
                         {"enum", {"draft", "scheduled", "sending", "sent", "cancelled"}}};
  properties["scheduled_at"] = Nullable(Str());
  properties["audience_count"] = Nullable(Int());
  properties["skipped_count"] = Nullable(Int());
  properties["created_at"] = Str();
  properties["updated_at"] = Str();
  return schema;
}

object StatsSchema() {
  object properties;
  for (std::string_view name : {"audience", "skipped", "queued", "waiting", "sent", "delivered",
                                "bounced", "failed", "suppressed", "uncertain", "opened"}) {
    properties[name] = Int();
  }
  return {{"type", "object"},
          {"description",
           "queued = waiting + sent + failed + suppressed + uncertain; sent includes delivered and "
           "bounced"},
          {"properties", std::move(properties)}};
}

object RuleSchema() {
  return {{"type", "object"},
          {"properties",
           {{"id", Int()},
            {"organisation_id", Int()},
            {"event", Str()},
            {"delay_days", Int()},
            {"template_code", Str()},
            {"purpose", Str()},
            {"channel", {{"type", "string"}, {"enum", {"email", "sms"}}}},
            {"variables", Obj()},
            {"active", Bool()},
            {"created_at", Str()}}}};
}

object RuleBodySchema() {
  object schema = RuleSchema();
  object& properties = schema["properties"].as_object();
  for (std::string_view name : {"id", "active", "created_at"}) properties.erase(name);
  schema["required"] = {"organisation_id", "event", "delay_days", "template_code"};
  return schema;
}

object UnsubscribeSchema() {
  return {{"type", "object"},
          {"properties",
           {{"person_type", Str()},
            {"display_name", Str()},
            {"purpose", Str()},
            {"channel", Str()},
            {"granted", Bool()},
            {"already_unsubscribed", Bool()},
            {"action", Str()}}}};
}

object HistorySchema() {
  return {
      {"type", "object"},
      {"properties",
       {{"person", Obj()},
        {"items", ArrayOf({{"type", "object"},
                           {"properties",
                            {{"id", Int()},
                             {"channel", Str()},
                             {"recipient", Str()},
                             {"template_code", Str()},
                             {"purpose", Str()},
                             {"campaign_id", Nullable(Int())},
                             {"state", Str()},
                             {"attempts", Int()},
                             {"created_at", Str()},
                             {"sent_at", Nullable(Str())},
                             {"last_error", Nullable(Str())},
                             {"opened_at", Nullable(Str())},
                             {"log", ArrayOf({{"type", "object"},
                                              {"properties",
                                               {{"at", Str()},
                                                {"outcome", Str()},
                                                {"detail", Str()},
                                                {"status_code", Nullable(Int())}}}})}}}})},
        {"digest_items",
         ArrayOf({{"type", "object"},
                  {"properties",
                   {{"id", Int()},
                    {"template_code", Str()},
                    {"created_at", Str()},
                    {"state", {{"type", "string"}, {"enum", {"waiting", "compiled", "dropped"}}}},
                    {"message_id", Nullable(Int())}}}})}}}};
}

// ---- Parsing ---------------------------------------------------------------------------------

Result<int64_t> Id(const RequestContext& request, std::string_view name, std::string_view what) {
  return http::PositiveId(request.Param(name), what);
}

Result<privacy::PersonRef> Person(const RequestContext& request) {
  const std::string type(request.Param("type"));
  if (type.empty() || static_cast<int64_t>(type.size()) > kPersonTypeLengthMax) {
    return Error::Invalid("person_type_invalid", "the person type is missing or too long");
  }
  auto id = Id(request, "id", "person id");
  if (!id.ok()) return std::move(id).error();
  return privacy::PersonRef{type, *id};
}

Result<std::optional<int64_t>> OptionalOrganisation(const RequestContext& request) {
  const auto text = http::QueryParameter(*request.request, "organisation_id");
  if (!text) return std::optional<int64_t>();
  auto id = http::PositiveId(*text, "organisation_id");
  if (!id.ok()) return std::move(id).error();
  return std::optional<int64_t>(*id);
}

TemplateText ParseTemplateBody(JsonReader& reader) {
  TemplateText text;
  text.subject = reader.RequiredString("subject", {1, kSubjectLengthMax});
  text.text = reader.RequiredString("text", {1, kTemplatePartBytesMax});
  text.html = reader.OptionalString("html", {0, kTemplatePartBytesMax}).value_or("");
  return text;
}

Result<PreferencesChange> ParsePreferences(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  PreferencesChange change;
  if (auto frequency = reader.OptionalString("alert_frequency", {1, 10})) {
    change.alert_frequency = ParseFrequency(*frequency);
    if (!change.alert_frequency) reader.Fail("alert_frequency", "is each, daily or weekly");
  }
  if (const value* threshold = body->if_contains("low_balance_threshold_cents")) {
    change.threshold_given = true;
    if (threshold->is_null()) {
      body->erase("low_balance_threshold_cents");
    } else {
      change.low_balance_threshold_cents =
          reader.RequiredInteger("low_balance_threshold_cents", 0, kThresholdCentsMax);
    }
  }
  GUICHET_TRY_STATUS(reader.Finish());
  return change;
}

// Takes a field out of a body before JsonReader sees the rest (objects it does not read).
std::optional<value> Take(object& body, std::string_view name) {
  auto found = body.find(name);
  if (found == body.end()) return std::nullopt;
  value taken = found->value();
  body.erase(found);
  return taken;
}

Error NotAnObject(std::string_view pointer) {
  return Error{ErrorKind::kValidation,
               "validation_failed",
               "The request has invalid fields.",
               {{std::string(pointer), "must be an object"}}};
}

Result<CampaignDraft> ParseCampaign(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  const std::optional<value> audience = Take(*body, "audience");
  const std::optional<value> variables = Take(*body, "variables");
  JsonReader reader(*body);
  CampaignDraft draft;
  draft.organisation_id = reader.RequiredInteger("organisation_id", 1, INT64_MAX);
  draft.name = reader.RequiredString("name", {1, kCampaignNameLengthMax});
  draft.template_code = reader.RequiredString("template_code", {1, kTemplateCodeLengthMax});
  draft.purpose = reader.OptionalString("purpose", {1, privacy::kPurposeLengthMax})
                      .value_or(std::string(kCampaign));
  draft.channel = reader.OptionalString("channel", {1, 10}).value_or("email");
  if (draft.channel != "email" && draft.channel != "sms") reader.Fail("channel", "is email or sms");
  if (draft.purpose == kTransactional) reader.Fail("purpose", "a campaign cannot be transactional");
  if (!audience)
    reader.Fail("audience", "is required: {person_type, criteria} or {person:{type,id}}");
  GUICHET_TRY_STATUS(reader.Finish());
  if (!audience->is_object()) return NotAnObject("/audience");
  object who = audience->as_object();
  if (const std::optional<value> person = Take(who, "person")) {
    if (!person->is_object()) return NotAnObject("/audience/person");
    JsonReader person_reader(person->as_object(), "/audience/person");
    privacy::PersonRef ref;
    ref.type = person_reader.RequiredString("type", {1, kPersonTypeLengthMax});
    ref.id = person_reader.RequiredInteger("id", 1, INT64_MAX);
    GUICHET_TRY_STATUS(person_reader.Finish());
    JsonReader rest(who, "/audience");
    GUICHET_TRY_STATUS(rest.Finish());
    draft.person = ref;
  } else {
    const std::optional<value> criteria = Take(who, "criteria");
    JsonReader audience_reader(who, "/audience");
    draft.person_type = audience_reader.RequiredString("person_type", {1, kPersonTypeLengthMax});
    GUICHET_TRY_STATUS(audience_reader.Finish());
    if (criteria) {
      if (!criteria->is_object()) return NotAnObject("/audience/criteria");
      draft.criteria = criteria->as_object();
    }
  }
  if (variables) {
    if (!variables->is_object()) return NotAnObject("/variables");
    draft.variables = variables->as_object();
  }
  return draft;
}

Result<Response> Json(HttpStatus status, Result<object> body) {
  if (!body.ok()) return std::move(body).error();
  return http::JsonResponse(status, *body);
}

object TemplateJson(const StoredTemplate& stored) {
  return {
      {"code", stored.code},
      {"language", stored.language},
      {"source", stored.source},
      {"organisation_id", stored.organisation_id ? value(*stored.organisation_id) : value(nullptr)},
      {"subject", stored.text.subject},
      {"text", stored.text.text},
      {"html", stored.text.html},
      {"updated_at",
       stored.updated_at_ms ? value(FormatIso8601(*stored.updated_at_ms)) : value(nullptr)}};
}

object UnsubscribeJson(const UnsubscribeView& view, bool done) {
  return {
      {"person_type", view.token.person.type},
      {"display_name", view.display_name},
      {"purpose", view.token.purpose},
      {"channel", view.token.channel},
      {"granted", !(done || view.already)},
      {"already_unsubscribed", view.already},
      {"action", done ? "unsubscribed"
                      : fmt::format("POST to this address to stop messages of purpose \"{}\" by {}",
                                    view.token.purpose, view.token.channel)}};
}

bool WantsHtml(const http::Request& request) {
  const std::string_view accept = http::HeaderValue(request, "accept");
  return accept.find("text/html") != std::string_view::npos;
}

// The page a person sees when they follow the link in a message with a browser: what the link
// does, and a button that does it (the same POST a mail client sends for one-click).
Response UnsubscribePage(const http::Request& request, const UnsubscribeView& view, bool done) {
  const bool en = view.language == "en";
  const std::string purpose = EscapeMarkup(view.token.purpose);
  const std::string channel = view.token.channel == "sms" ? "SMS" : "e-mail";
  std::string body = fmt::format(
      "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width\"><title>{}</title></head><body><main><h1>{}</h1>",
      en ? "en" : "fr", en ? "Unsubscribe" : "Désinscription",
      en ? "Unsubscribe" : "Désinscription");
  if (done || view.already) {
    const std::string name = EscapeMarkup(view.display_name);
    body += en ? fmt::format("<p>{}, you will no longer receive messages of type “{}” by {}.</p>",
                             name, purpose, channel)
               : fmt::format("<p>{}, vous ne recevrez plus de messages « {} » par {}.</p>", name,
                             purpose, channel);
  } else {
    const std::string name = EscapeMarkup(view.display_name);
    body += en ? fmt::format(
                     "<p>{}, this stops messages of type “{}” by {}. Mandatory messages (account, "
                     "movements on your wallet) are not affected.</p>",
                     name, purpose, channel)
               : fmt::format(
                     "<p>{}, ce lien arrête les messages « {} » par {}. Les messages obligatoires "
                     "(compte, mouvements du porte-monnaie) ne sont pas concernés.</p>",
                     name, purpose, channel);
    body += fmt::format(
        "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
        "value=\"One-Click\"><button type=\"submit\">{}</button></form>",
        en ? "Unsubscribe" : "Me désinscrire");
  }
  body += "</main></body></html>";
  Response response{HttpStatus::ok, request.version()};
  response.set(http::beast::http::field::content_type, "text/html; charset=utf-8");
  response.set(http::beast::http::field::cache_control, "no-store");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

// ---- Routes ----------------------------------------------------------------------------------

void AddTemplateRoutes(http::Router& router, identity::IdentityHttpContext& context,
                       Content& content) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/notify/template-codes", "listTemplateCodes",
      kTemplatesManage,
      {.summary =
           "The template codes the platform sends, with their purpose and declared variables",
       .description = "Variable kinds: text, money (cents), date, datetime (epoch ms), number, "
                      "url, lines (a list).",
       .tag = std::string(kTag),
       .response_schema = Items({{"type", "object"},
                                 {"properties",
                                  {{"code", Str()},
                                   {"description", Str()},
                                   {"purpose", Str()},
                                   {"variables", ArrayOf({{"type", "object"},
                                                          {"properties",
                                                           {{"name", Str()},
                                                            {"kind", Str()},
                                                            {"description", Str()},
                                                            {"sample", {}}}}})}}}})},
      [&content](const RequestContext&, Gate&) -> Result<Response> {
        array items;
        for (const TemplateCode& code : content.templates().codes()) {
          array variables;
          for (const VariableSpec& spec : code.variables) {
            variables.push_back(object{{"name", spec.name},
                                       {"kind", spec.kind},
                                       {"description", spec.description},
                                       {"sample", spec.sample}});
          }
          items.push_back(object{{"code", code.code},
                                 {"description", code.description},
                                 {"purpose", code.purpose},
                                 {"variables", std::move(variables)}});
        }
        return http::JsonResponse(HttpStatus::ok, object{{"items", std::move(items)}});
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/organisations/{id}/notify/templates",
      "listTemplates", kTemplatesManage,
      {.summary = "The effective template of every code and language for an organisation (own, "
                  "inherited or built-in)",
       .tag = std::string(kTag),
       .response_schema = Items(TemplateSchema()),
       .errors = {{404, "Organisation not in scope"}}},
      [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = Id(request, "id", "organisation id");
        if (!id.ok()) return std::move(id).error();
        auto list = content.ListTemplates(gate.caller, *id);
        if (!list.ok()) return std::move(list).error();
        array items;
        for (const StoredTemplate& stored : *list) items.push_back(TemplateJson(stored));
        return http::JsonResponse(HttpStatus::ok, object{{"items", std::move(items)}});
      });
  const std::string one = "/api/v1/organisations/{id}/notify/templates/{code}/{language}";
  identity::AddGuarded(
      router, context, http::Verb::get, one, "getTemplate", kTemplatesManage,
      {.summary = "The effective template of one code and language for an organisation",
       .tag = std::string(kTag),
       .response_schema = TemplateSchema(),
       .errors = {{404,
                   "Organisation not in scope, unknown code (template_code_unknown) or language"}}},
      [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = Id(request, "id", "organisation id");
        if (!id.ok()) return std::move(id).error();
        auto stored =
            content.GetTemplate(gate.caller, *id, request.Param("code"), request.Param("language"));
        if (!stored.ok()) return std::move(stored).error();
        return http::JsonResponse(HttpStatus::ok, TemplateJson(*stored));
      });
  identity::AddGuarded(
      router, context, http::Verb::put, one, "saveTemplate", kTemplatesManage,
      {.summary =
           "Save the organisation's own template for a code and language (its children inherit it)",
       .description =
           "Syntax: {{ name }} or {{ name | money|date|datetime|number|upper }}; only declared "
           "variables. "
           "422 template_variable_unknown names the variable and part; 422 template_syntax.",
       .tag = std::string(kTag),
       .request_schema = TemplateBodySchema(),
       .response_schema = TemplateSchema(),
       .errors = {{404, "Organisation not in scope, unknown code or language"},
                  {422, "Unknown variable, bad syntax, missing part"}}},
      [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = Id(request, "id", "organisation id");
        if (!id.ok()) return std::move(id).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const TemplateText text = ParseTemplateBody(reader);
        GUICHET_TRY_STATUS(reader.Finish());
        auto stored = content.PutTemplate(gate.caller, *id, request.Param("code"),
                                          request.Param("language"), text);
        if (!stored.ok()) return std::move(stored).error();
        return http::JsonResponse(HttpStatus::ok, TemplateJson(*stored));
      });
  identity::AddGuarded(
      router, context, http::Verb::delete_, one, "deleteTemplate", kTemplatesManage,
      {.summary =
           "Delete the organisation's own template: the inherited or built-in one applies again",
       .tag = std::string(kTag),
       .success_status = 204,
       .success_description = "Deleted",
       .errors = {{404, "Not in scope, or no template of its own (template_not_found)"}}},
      [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = Id(request, "id", "organisation id");
        if (!id.ok()) return std::move(id).error();
        auto removed = content.RemoveTemplate(gate.caller, *id, request.Param("code"),
                                              request.Param("language"));
        if (!removed.ok()) return std::move(removed).error();
        Response response{HttpStatus::no_content, request.request->version()};
        return response;
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/organisations/{id}/notify/templates/preview",
      "previewTemplate", kTemplatesManage,
      {.summary = "Render a template (the effective one, or the parts given) with sample or given "
                  "variables",
       .tag = std::string(kTag),
       .request_schema = {{"type", "object"},
                          {"required", {"code", "language"}},
                          {"properties",
                           {{"code", Str()},
                            {"language", {{"type", "string"}, {"enum", {"fr", "en"}}}},
                            {"subject", Str()},
                            {"text", Str()},
                            {"html", Str()},
                            {"variables", Obj()}}}},
       .response_schema = RenderedSchema(),
       .errors = {{404, "Organisation not in scope"},
                  {422, "Unknown code or variable, bad syntax"}}},
      [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = Id(request, "id", "organisation id");
        if (!id.ok()) return std::move(id).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        const std::optional<value> variables = Take(*body, "variables");
        JsonReader reader(*body);
        PreviewRequest preview;
        preview.code = reader.RequiredString("code", {1, kTemplateCodeLengthMax});
        preview.language = reader.RequiredString("language", {2, 2});
        if (!IsLanguage(preview.language)) reader.Fail("language", "is fr or en");
        auto subject = reader.OptionalString("subject", {1, kSubjectLengthMax});
        auto text = reader.OptionalString("text", {1, kTemplatePartBytesMax});
        auto html = reader.OptionalString("html", {0, kTemplatePartBytesMax});
        if (subject || text || html) {
          if (!subject || !text)
            reader.Fail(subject ? "text" : "subject", "is required with the other parts");
          preview.text = TemplateText{subject.value_or(""), text.value_or(""), html.value_or("")};
        }
        GUICHET_TRY_STATUS(reader.Finish());
        if (variables) {
          if (!variables->is_object()) return NotAnObject("/variables");
          preview.variables = variables->as_object();
        }
        auto rendered = content.Preview(gate.caller, *id, preview);
        if (!rendered.ok()) return std::move(rendered).error();
        return http::JsonResponse(HttpStatus::ok, object{{"subject", rendered->subject},
                                                         {"text", rendered->text},
                                                         {"html", rendered->html}});
      });
}

void AddPreferenceRoutes(http::Router& router, identity::IdentityHttpContext& context,
                         Content& content) {
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/me/notify/preferences",
                       "getMyMessagePreferences", identity::kAnySession,
                       {.summary = "One's message preferences: alert frequency, low-balance "
                                   "threshold, and per purpose and channel "
                                   "whether messages go out (mandatory or consented)",
                        .tag = std::string(kTag),
                        .response_schema = PreferencesSchema()},
                       [&content](const RequestContext&, Gate& gate) -> Result<Response> {
                         return Json(HttpStatus::ok, content.MyPreferences(gate.caller));
                       });
  identity::AddGuarded(router, context, http::Verb::put, "/api/v1/me/notify/preferences",
                       "setMyMessagePreferences", identity::kAnySession,
                       {.summary = "Change one's alert frequency (each, daily, weekly) or "
                                   "low-balance threshold (null: none)",
                        .tag = std::string(kTag),
                        .request_schema = PreferencesChangeSchema(),
                        .response_schema = PreferencesSchema(),
                        .errors = {{422, "Unknown frequency, threshold out of range"}}},
                       [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto change = ParsePreferences(*request.request);
                         if (!change.ok()) return std::move(change).error();
                         return Json(HttpStatus::ok,
                                     content.SetMyPreferences(gate.caller, *change));
                       });
  const std::string person = "/api/v1/notify/people/{type}/{id}";
  identity::AddGuarded(router, context, http::Verb::get, person + "/preferences",
                       "getPersonMessagePreferences", kPeopleRead,
                       {.summary = "A person's message preferences (staff, at the counter)",
                        .tag = std::string(kTag),
                        .response_schema = PreferencesSchema(),
                        .errors = {{404, "Person not in scope"}}},
                       [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto who = Person(request);
                         if (!who.ok()) return std::move(who).error();
                         return Json(HttpStatus::ok, content.PersonPreferences(gate.caller, *who));
                       });
  identity::AddGuarded(router, context, http::Verb::put, person + "/preferences",
                       "setPersonMessagePreferences", kPreferencesManage,
                       {.summary = "Change a person's alert frequency or threshold on their behalf",
                        .tag = std::string(kTag),
                        .request_schema = PreferencesChangeSchema(),
                        .response_schema = PreferencesSchema(),
                        .errors = {{404, "Person not in scope"},
                                   {422, "Unknown frequency, threshold out of range"}}},
                       [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto who = Person(request);
                         if (!who.ok()) return std::move(who).error();
                         auto change = ParsePreferences(*request.request);
                         if (!change.ok()) return std::move(change).error();
                         return Json(HttpStatus::ok,
                                     content.SetPersonPreferences(gate.caller, *who, *change));
                       });
  identity::AddGuarded(router, context, http::Verb::get, person + "/messages", "getPersonMessages",
                       kPeopleRead,
                       {.summary = "Every message of a person (newest first, at most 500) with its "
                                   "delivery log, and digest items",
                        .tag = std::string(kTag),
                        .response_schema = HistorySchema(),
                        .errors = {{404, "Person not in scope"}}},
                       [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto who = Person(request);
                         if (!who.ok()) return std::move(who).error();
                         return Json(HttpStatus::ok, content.History(gate.caller, *who));
                       });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/notify/people-without-consent",
      "listPeopleWithoutConsent", kPeopleRead,
      {.summary = "Staff of an organisation subtree without consent for a purpose and channel "
                  "(query: organisation_id, purpose, channel, limit ≤ 1000)",
       .tag = std::string(kTag),
       .response_schema =
           Items({{"type", "object"}, {"properties", {{"type", Str()}, {"id", Int()}}}}),
       .errors = {{400, "Missing or malformed query parameter"},
                  {404, "Organisation not in scope"}}},
      [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto organisation = OptionalOrganisation(request);
        if (!organisation.ok()) return std::move(organisation).error();
        if (!*organisation)
          return Error::Invalid("organisation_id_missing", "organisation_id is required");
        const auto purpose = http::QueryParameter(*request.request, "purpose");
        const auto channel = http::QueryParameter(*request.request, "channel");
        if (!purpose || purpose->empty() ||
            static_cast<int64_t>(purpose->size()) > privacy::kPurposeLengthMax) {
          return Error::Invalid("purpose_invalid", "purpose is required");
        }
        if (!channel || (*channel != "email" && *channel != "sms" && *channel != "push")) {
          return Error::Invalid("channel_invalid", "channel is email, sms or push");
        }
        int64_t limit = privacy::kPeopleWithoutConsentMax;
        if (const auto text = http::QueryParameter(*request.request, "limit")) {
          auto parsed = http::PositiveId(*text, "limit");
          if (!parsed.ok()) return std::move(parsed).error();
          limit = *parsed;
        }
        auto ids = content.WithoutConsent(gate.caller, **organisation, *purpose, *channel, limit);
        if (!ids.ok()) return std::move(ids).error();
        array items;
        for (int64_t id : *ids) items.push_back(object{{"type", privacy::kStaff}, {"id", id}});
        return http::JsonResponse(HttpStatus::ok, object{{"items", std::move(items)}});
      });
}

void AddPublicRoutes(http::Router& router, identity::IdentityHttpContext& context,
                     Content& content) {
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/notify/unsubscribe",
                       "describeUnsubscribe", identity::kPublic,
                       {.summary = "What the unsubscribe link of a message does (no login: the "
                                   "signed token says who and what)",
                        .description = "With Accept: text/html (a browser following the link), a "
                                       "page with a button that POSTs.",
                        .tag = std::string(kTag),
                        .response_schema = UnsubscribeSchema(),
                        .errors = {{400,
                                    "Token forged or malformed (unsubscribe_token_invalid), "
                                    "expired (unsubscribe_token_expired)"},
                                   {404, "Person unknown"}}},
                       [&content](const RequestContext& request, Gate&) -> Result<Response> {
                         const auto token =
                             http::QueryParameter(*request.request, "token").value_or("");
                         auto view = content.DescribeUnsubscribe(token);
                         if (!view.ok()) return std::move(view).error();
                         if (WantsHtml(*request.request))
                           return UnsubscribePage(*request.request, *view, false);
                         return http::JsonResponse(HttpStatus::ok, UnsubscribeJson(*view, false));
                       });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/notify/unsubscribe", "unsubscribe",
      identity::kPublic,
      {.summary = "One-click unsubscribe (RFC 8058: body List-Unsubscribe=One-Click; any body is "
                  "accepted): the "
                  "consent is withdrawn",
       .tag = std::string(kTag),
       .response_schema = UnsubscribeSchema(),
       .errors = {{400, "Token forged or malformed, expired, or mandatory messages"},
                  {404, "Person unknown"}}},
      [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
        const auto token = http::QueryParameter(*request.request, "token").value_or("");
        auto view = content.Unsubscribe(token, gate.caller.request_id);
        if (!view.ok()) return std::move(view).error();
        if (WantsHtml(*request.request)) return UnsubscribePage(*request.request, *view, true);
        return http::JsonResponse(HttpStatus::ok, UnsubscribeJson(*view, true));
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/notify/opened/{token}", "messageOpened",
      identity::kPublic,
      {.summary = "Open pixel of campaign e-mails: counts an open, answers a 1×1 GIF",
       .tag = std::string(kTag),
       .success_media_type = "image/gif",
       .errors = {{400, "Token forged or malformed"}}},
      [&content](const RequestContext& request, Gate&) -> Result<Response> {
        auto opened = content.Opened(request.Param("token"));
        if (!opened.ok()) return std::move(opened).error();
        static const std::string kGif(
            "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00"
            "\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
            43);
        Response response{HttpStatus::ok, request.request->version()};
        response.set(http::beast::http::field::content_type, "image/gif");
        response.set(http::beast::http::field::cache_control, "no-store");
        response.body() = kGif;
        response.prepare_payload();
        return response;
      });
}

void AddCampaignRoutes(http::Router& router, identity::IdentityHttpContext& context,
                       Content& content) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/notify/audiences", "listAudiences",
      kCampaignsManage,
      {.summary = "The audiences campaigns may target: per person type, the criteria accepted",
       .tag = std::string(kTag),
       .response_schema =
           Items({{"type", "object"},
                  {"properties",
                   {{"person_type", Str()},
                    {"criteria",
                     ArrayOf({{"type", "object"},
                              {"properties",
                               {{"name", Str()}, {"kind", Str()}, {"description", Str()}}}})}}}})},
      [&content](const RequestContext&, Gate&) -> Result<Response> {
        array items;
        for (const AudienceProvider& provider : content.audiences().providers()) {
          array criteria;
          for (const CriterionSpec& spec : provider.criteria) {
            criteria.push_back(object{
                {"name", spec.name}, {"kind", spec.kind}, {"description", spec.description}});
          }
          items.push_back(
              object{{"person_type", provider.person_type}, {"criteria", std::move(criteria)}});
        }
        return http::JsonResponse(HttpStatus::ok, object{{"items", std::move(items)}});
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/notify/campaigns", "listCampaigns",
      kCampaignsManage,
      {.summary =
           "Campaigns of one's scope, newest first (query organisation_id: that subtree only)",
       .tag = std::string(kTag),
       .response_schema = Items(CampaignSchema()),
       .errors = {{404, "Organisation not in scope"}}},
      [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto organisation = OptionalOrganisation(request);
        if (!organisation.ok()) return std::move(organisation).error();
        auto list = content.Campaigns(gate.caller, *organisation);
        if (!list.ok()) return std::move(list).error();
        array items;
        for (const Campaign& campaign : *list) items.push_back(CampaignJson(campaign));
        return http::JsonResponse(HttpStatus::ok, object{{"items", std::move(items)}});
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/notify/campaigns", "createCampaign",
      kCampaignsManage,
      {.summary = "Create a draft campaign: a template sent to an audience or to one person",
       .tag = std::string(kTag),
       .request_schema = CampaignBodySchema(),
       .success_status = 201,
       .response_schema = CampaignSchema(),
       .errors =
           {{404, "Organisation or person not in scope"},
            {422,
             "Unknown template code, audience type or criterion (audience_criteria_invalid)"}}},
      [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto draft = ParseCampaign(*request.request);
        if (!draft.ok()) return std::move(draft).error();
        auto campaign = content.CreateCampaign(gate.caller, *draft);
        if (!campaign.ok()) return std::move(campaign).error();
        return http::JsonResponse(HttpStatus::created, CampaignJson(*campaign));
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/notify/campaigns/{id}",
                       "getCampaign", kCampaignsManage,
                       {.summary = "One campaign",
                        .tag = std::string(kTag),
                        .response_schema = CampaignSchema(),
                        .errors = {{404, "Not in scope"}}},
                       [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = Id(request, "id", "campaign id");
                         if (!id.ok()) return std::move(id).error();
                         auto campaign = content.GetCampaign(gate.caller, *id);
                         if (!campaign.ok()) return std::move(campaign).error();
                         return http::JsonResponse(HttpStatus::ok, CampaignJson(*campaign));
                       });
  identity::AddGuarded(router, context, http::Verb::put, "/api/v1/notify/campaigns/{id}",
                       "updateCampaign", kCampaignsManage,
                       {.summary = "Change a draft campaign (its organisation stays)",
                        .tag = std::string(kTag),
                        .request_schema = CampaignBodySchema(),
                        .response_schema = CampaignSchema(),
                        .errors = {{404, "Not in scope"},
                                   {409, "Not a draft (campaign_not_draft)"},
                                   {422, "Invalid draft"}}},
                       [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = Id(request, "id", "campaign id");
                         if (!id.ok()) return std::move(id).error();
                         auto draft = ParseCampaign(*request.request);
                         if (!draft.ok()) return std::move(draft).error();
                         auto campaign = content.EditCampaign(gate.caller, *id, *draft);
                         if (!campaign.ok()) return std::move(campaign).error();
                         return http::JsonResponse(HttpStatus::ok, CampaignJson(*campaign));
                       });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/notify/campaigns/{id}/schedule",
      "scheduleCampaign", kCampaignsManage,
      {.summary = "Send a campaign at a time (at: ISO 8601 or epoch ms; absent: now), by the job "
                  "notify.campaigns",
       .tag = std::string(kTag),
       .request_schema = {{"type", "object"}, {"properties", {{"at_ms", Int()}}}},
       .response_schema = CampaignSchema(),
       .errors = {{404, "Not in scope"}, {409, "Sent or cancelled already (campaign_not_draft)"}}},
      [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = Id(request, "id", "campaign id");
        if (!id.ok()) return std::move(id).error();
        std::optional<int64_t> at;
        if (!request.request->body().empty()) {
          auto body = http::ParseJsonObjectBody(*request.request);
          if (!body.ok()) return std::move(body).error();
          JsonReader reader(*body);
          at = reader.OptionalInteger("at_ms", 0, INT64_MAX);
          GUICHET_TRY_STATUS(reader.Finish());
        }
        auto campaign = content.Schedule(gate.caller, *id, at);
        if (!campaign.ok()) return std::move(campaign).error();
        return http::JsonResponse(HttpStatus::ok, CampaignJson(*campaign));
      });
  identity::AddGuarded(router, context, http::Verb::post, "/api/v1/notify/campaigns/{id}/cancel",
                       "cancelCampaign", kCampaignsManage,
                       {.summary = "Cancel a draft or scheduled campaign",
                        .tag = std::string(kTag),
                        .response_schema = CampaignSchema(),
                        .errors = {{404, "Not in scope"},
                                   {409, "Sent or cancelled already (campaign_already_sent)"}}},
                       [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = Id(request, "id", "campaign id");
                         if (!id.ok()) return std::move(id).error();
                         auto campaign = content.Cancel(gate.caller, *id);
                         if (!campaign.ok()) return std::move(campaign).error();
                         return http::JsonResponse(HttpStatus::ok, CampaignJson(*campaign));
                       });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/notify/campaigns/{id}/stats",
                       "getCampaignStats", kCampaignsManage,
                       {.summary = "Delivery statistics of a campaign",
                        .tag = std::string(kTag),
                        .response_schema = StatsSchema(),
                        .errors = {{404, "Not in scope"}}},
                       [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = Id(request, "id", "campaign id");
                         if (!id.ok()) return std::move(id).error();
                         auto stats = content.Stats(gate.caller, *id);
                         if (!stats.ok()) return std::move(stats).error();
                         return http::JsonResponse(HttpStatus::ok, StatsJson(*stats));
                       });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/notify/rules", "listRules", kCampaignsManage,
      {.summary = "Automated rules of one's scope (query organisation_id: that subtree only)",
       .tag = std::string(kTag),
       .response_schema = Items(RuleSchema()),
       .errors = {{404, "Organisation not in scope"}}},
      [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto organisation = OptionalOrganisation(request);
        if (!organisation.ok()) return std::move(organisation).error();
        auto list = content.Rules(gate.caller, *organisation);
        if (!list.ok()) return std::move(list).error();
        array items;
        for (const Rule& rule : *list) items.push_back(RuleJson(rule));
        return http::JsonResponse(HttpStatus::ok, object{{"items", std::move(items)}});
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/notify/rules", "createRule", kCampaignsManage,
      {.summary = "A rule: delay_days after each event (e.g. pass.stay_ended) of a person of the "
                  "subtree, send the "
                  "template (once per person and event)",
       .tag = std::string(kTag),
       .request_schema = RuleBodySchema(),
       .success_status = 201,
       .response_schema = RuleSchema(),
       .errors = {{404, "Organisation not in scope"},
                  {422, "Unknown template code, delay out of range"}}},
      [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        const std::optional<value> variables = Take(*body, "variables");
        JsonReader reader(*body);
        Rule rule;
        rule.organisation_id = reader.RequiredInteger("organisation_id", 1, INT64_MAX);
        rule.event = reader.RequiredString("event", {1, kEventLengthMax});
        rule.delay_days = reader.RequiredInteger("delay_days", 0, kRuleDelayDaysMax);
        rule.template_code = reader.RequiredString("template_code", {1, kTemplateCodeLengthMax});
        rule.purpose = reader.OptionalString("purpose", {1, privacy::kPurposeLengthMax})
                           .value_or(std::string(kCampaign));
        rule.channel = reader.OptionalString("channel", {1, 10}).value_or("email");
        if (rule.channel != "email" && rule.channel != "sms")
          reader.Fail("channel", "is email or sms");
        GUICHET_TRY_STATUS(reader.Finish());
        if (variables) {
          if (!variables->is_object()) return NotAnObject("/variables");
          rule.variables = variables->as_object();
        }
        auto created = content.CreateRule(gate.caller, rule);
        if (!created.ok()) return std::move(created).error();
        return http::JsonResponse(HttpStatus::created, RuleJson(*created));
      });
  identity::AddGuarded(router, context, http::Verb::delete_, "/api/v1/notify/rules/{id}",
                       "deleteRule", kCampaignsManage,
                       {.summary = "Stop a rule (it stays listed, inactive)",
                        .tag = std::string(kTag),
                        .success_status = 204,
                        .success_description = "Stopped",
                        .errors = {{404, "Not in scope"}}},
                       [&content](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = Id(request, "id", "rule id");
                         if (!id.ok()) return std::move(id).error();
                         auto removed = content.RemoveRule(gate.caller, *id);
                         if (!removed.ok()) return std::move(removed).error();
                         Response response{HttpStatus::no_content, request.request->version()};
                         return response;
                       });
}

}  // namespace

void AddContentRoutes(http::Router& router, identity::IdentityHttpContext& context,
                      Content& content) {
  AddTemplateRoutes(router, context, content);
  AddPreferenceRoutes(router, context, content);
  AddPublicRoutes(router, context, content);
  AddCampaignRoutes(router, context, content);
}

Result<PreferencesChange> ParsePreferencesChange(const http::Request& request) {
  return ParsePreferences(request);
}

object PreferencesResponseSchema() { return PreferencesSchema(); }

object PreferencesRequestSchema() { return PreferencesChangeSchema(); }

}  // namespace guichet::notify
