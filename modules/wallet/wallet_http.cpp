#include "modules/wallet/wallet_http.h"

#include <fmt/format.h>

#include <boost/json/array.hpp>

#include "platform/base/crypto.h"
#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"
#include "platform/notify/notify_http.h"
#include "platform/notify/preferences.h"

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
constexpr int64_t kSecretLengthMax = 1024;

// ---- Small helpers -----------------------------------------------------------------------------

Response Json(HttpStatus status, const boost::json::value& body) { return http::JsonResponse(status, body); }

Result<int64_t> IdParam(const RequestContext& request, std::string_view what) {
  return http::PositiveId(request.Param("id"), what);
}

std::optional<std::string> Query(const RequestContext& request, std::string_view name) {
  auto found = http::QueryParameter(*request.request, name);
  if (found && found->empty()) return std::nullopt;
  return found;
}

Result<std::optional<int64_t>> QueryInt(const RequestContext& request, std::string_view name) {
  auto text = Query(request, name);
  if (!text) return std::optional<int64_t>();
  auto id = http::PositiveId(*text, name);
  if (!id.ok()) return std::move(id).error();
  return std::optional<int64_t>(*id);
}

Result<Opposition> ParseKind(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  const std::string kind = reader.RequiredString("kind", {1, 20});
  GUICHET_TRY_STATUS(reader.Finish());
  if (kind == "temporary") return Opposition::kTemporary;
  if (kind == "permanent") return Opposition::kPermanent;
  return Error{ErrorKind::kValidation, "validation_failed", "The kind is temporary or permanent.",
               {{"/kind", "must be temporary or permanent"}}};
}

std::vector<SupportInput> ReadSupports(const boost::json::object& body, JsonReader& reader) {
  std::vector<SupportInput> supports;
  const auto* list = body.if_contains("supports");
  if (list == nullptr) return supports;
  if (!list->is_array()) {
    reader.Fail("supports", "must be an array");
    return supports;
  }
  for (size_t i = 0; i < list->as_array().size(); ++i) {
    const auto& item = list->as_array()[i];
    if (!item.is_object()) {
      reader.Fail(fmt::format("supports/{}", i), "must be an object");
      continue;
    }
    JsonReader inner(item.as_object(), fmt::format("/supports/{}", i));
    SupportInput support;
    support.number = inner.RequiredString("number", {1, kSupportNumberLengthMax});
    support.technology = inner.RequiredString("technology", {1, kTechnologyLengthMax});
    const std::string form = inner.OptionalString("form", {1, 10}).value_or("physical");
    if (form != "physical" && form != "virtual") inner.Fail("form", "must be physical or virtual");
    support.is_virtual = form == "virtual";
    auto finished = inner.Finish();
    if (!finished.ok()) {
      for (const FieldError& field : finished.error().fields) reader.Fail(field.pointer.substr(1), field.message);
    }
    supports.push_back(std::move(support));
  }
  return supports;
}

// The reader refuses unknown fields; "supports" is read by hand, so it is removed first.
boost::json::object WithoutSupports(boost::json::object body) {
  body.erase("supports");
  return body;
}

Result<NewHolder> ParseNewHolder(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  const boost::json::object fields = WithoutSupports(*body);
  JsonReader reader(fields);
  NewHolder holder;
  holder.organisation_id = reader.RequiredInteger("organisation_id", 1, INT64_MAX);
  holder.university_id = reader.RequiredString("university_id", {1, kTextFieldLengthMax});
  holder.ine = reader.OptionalString("ine", {1, kTextFieldLengthMax}).value_or("");
  holder.tariff_profile = reader.OptionalString("tariff_profile", {1, kTextFieldLengthMax}).value_or("");
  holder.last_name = reader.RequiredString("last_name", {1, kTextFieldLengthMax});
  holder.first_name = reader.RequiredString("first_name", {1, kTextFieldLengthMax});
  holder.email = reader.RequiredString("email", {3, kEmailLengthMax});
  holder.birth_date = reader.OptionalString("birth_date", {10, 10}).value_or("");
  holder.phone = reader.OptionalString("phone", {1, kPhoneLengthMax}).value_or("");
  holder.language = reader.OptionalString("language", {2, 2}).value_or("fr");
  holder.end_of_validity = reader.OptionalString("end_of_validity", {10, 10}).value_or("");
  holder.supports = ReadSupports(*body, reader);
  if (body->if_contains("supports") == nullptr) reader.Fail("supports", "is required");
  GUICHET_TRY_STATUS(reader.Finish());
  return holder;
}

Result<HolderChange> ParseChange(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  const boost::json::object fields = WithoutSupports(*body);
  JsonReader reader(fields);
  HolderChange change;
  change.organisation_id = reader.OptionalInteger("organisation_id", 1, INT64_MAX);
  change.university_id = reader.OptionalString("university_id", {1, kTextFieldLengthMax});
  change.ine = reader.OptionalString("ine", {0, kTextFieldLengthMax});
  change.tariff_profile = reader.OptionalString("tariff_profile", {0, kTextFieldLengthMax});
  change.last_name = reader.OptionalString("last_name", {1, kTextFieldLengthMax});
  change.first_name = reader.OptionalString("first_name", {1, kTextFieldLengthMax});
  change.email = reader.OptionalString("email", {3, kEmailLengthMax});
  change.birth_date = reader.OptionalString("birth_date", {0, 10});
  change.phone = reader.OptionalString("phone", {0, kPhoneLengthMax});
  change.language = reader.OptionalString("language", {2, 2});
  change.end_of_validity = reader.OptionalString("end_of_validity", {0, 10});
  change.supports = ReadSupports(*body, reader);
  GUICHET_TRY_STATUS(reader.Finish());
  return change;
}

Result<StatementQuery> ParseStatementQuery(const RequestContext& request) {
  StatementQuery query;
  query.counter = Query(request, "counter");
  query.kind = Query(request, "kind");
  auto from = QueryInt(request, "from_ms");
  if (!from.ok()) return std::move(from).error();
  query.from_ms = *from;
  auto to = QueryInt(request, "to_ms");
  if (!to.ok()) return std::move(to).error();
  query.to_ms = *to;
  auto before = QueryInt(request, "before");
  if (!before.ok()) return std::move(before).error();
  query.before_id = *before;
  auto limit = QueryInt(request, "limit");
  if (!limit.ok()) return std::move(limit).error();
  query.limit = limit->value_or(50);
  return query;
}

Result<Response> StatementResponse(Result<std::vector<StatementLine>> lines, int64_t limit) {
  if (!lines.ok()) return std::move(lines).error();
  array items;
  for (const StatementLine& line : *lines) items.push_back(StatementLineJson(line));
  object body{{"lines", std::move(items)}};
  if (!lines->empty() && static_cast<int64_t>(lines->size()) >= std::clamp<int64_t>(limit, 1, kStatementPageMax)) {
    body["next_before"] = lines->back().id;
  } else {
    body["next_before"] = nullptr;
  }
  return Json(HttpStatus::ok, body);
}

Result<Response> AccountsResponse(Result<std::vector<HolderAccount>> accounts) {
  if (!accounts.ok()) return std::move(accounts).error();
  array items;
  for (const HolderAccount& account : *accounts) items.push_back(AccountJson(account));
  return Json(HttpStatus::ok, object{{"accounts", std::move(items)}});
}

std::string HolderCookie(const std::string& token, int64_t max_age_s, bool secure) {
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}", kHolderCookie, token, max_age_s,
                     secure ? "; Secure" : "");
}

Response LoggedIn(const ActivationTokens& tokens, bool secure) {
  Response response = Json(HttpStatus::ok, object{{"holder", HolderJson(tokens.holder)}, {"csrf_token", tokens.csrf_token}});
  response.set(http::beast::http::field::set_cookie,
               HolderCookie(tokens.session_token, kHolderSessionAbsoluteMs / 1000, secure));
  return response;
}

// ---- Schemas -----------------------------------------------------------------------------------

const object kSupportSchema = {{"type", "object"},
                               {"required", {"number", "technology"}},
                               {"properties",
                                {{"number", {{"type", "string"}}},
                                 {"technology", {{"type", "string"}}},
                                 {"form", {{"type", "string"}, {"enum", {"physical", "virtual"}}}}}}};

object HolderSchema(bool creating) {
  object properties{{"organisation_id", {{"type", "integer"}}},
                    {"university_id", {{"type", "string"}}},
                    {"ine", {{"type", "string"}}},
                    {"tariff_profile", {{"type", "string"}}},
                    {"last_name", {{"type", "string"}}},
                    {"first_name", {{"type", "string"}}},
                    {"email", {{"type", "string"}}},
                    {"birth_date", {{"type", "string"}, {"format", "date"}}},
                    {"phone", {{"type", "string"}}},
                    {"language", {{"type", "string"}, {"enum", {"fr", "en"}}}},
                    {"end_of_validity", {{"type", "string"}, {"format", "date"}}},
                    {"supports", {{"type", "array"}, {"items", kSupportSchema}}}};
  object schema{{"type", "object"}, {"properties", std::move(properties)}};
  if (creating) {
    schema["required"] = {"organisation_id", "university_id", "last_name", "first_name", "email", "supports"};
  }
  return schema;
}

const object kKindSchema = {{"type", "object"},
                            {"required", {"kind"}},
                            {"properties", {{"kind", {{"type", "string"}, {"enum", {"temporary", "permanent"}}}}}}};

// ---- Holder session gate -----------------------------------------------------------------------

bool Unsafe(http::Verb method) {
  return method != http::Verb::get && method != http::Verb::head && method != http::Verb::options;
}

struct HolderGate {
  int64_t holder_id = 0;
  std::string session_token;
  std::string csrf_token;  // handed back by GET holder-session, so a reloaded page can act again
};

Result<HolderGate> AdmitHolder(Wallet& wallet, const RequestContext& request) {
  const http::Request& raw = *request.request;
  const std::string_view origin = http::HeaderValue(raw, "Origin");
  if (!origin.empty() && Unsafe(raw.method())) {
    const size_t scheme_end = origin.find("://");
    if (scheme_end == std::string_view::npos || origin.substr(scheme_end + 3) != http::HeaderValue(raw, "Host")) {
      return Error{ErrorKind::kForbidden, "cross_origin_refused", "Requests from another site are refused.", {}};
    }
  }
  HolderGate gate;
  gate.session_token = http::CookieValue(raw, kHolderCookie);
  if (gate.session_token.empty()) {
    // Staff and machines are known callers without this right.
    if (!http::CookieValue(raw, identity::kSessionCookie).empty() || !http::HeaderValue(raw, "Authorization").empty() ||
        !http::HeaderValue(raw, "X-Device-Id").empty()) {
      return Error{ErrorKind::kForbidden, "holder_only", "Only a holder logged in to the wallet can do this.", {}};
    }
    return Error{ErrorKind::kUnauthenticated, "unauthenticated", "Log in to your wallet to do this.", {}};
  }
  auto session = wallet.AuthenticateHolder(gate.session_token);
  if (!session.ok()) return std::move(session).error();
  if (Unsafe(raw.method()) &&
      !crypto::ConstantTimeEquals(http::HeaderValue(raw, identity::kCsrfHeader), session->csrf_token)) {
    return Error{ErrorKind::kForbidden, "csrf_token_invalid",
                 "This request lacks the X-CSRF-Token of your session: reload the page.", {}};
  }
  gate.holder_id = session->holder_id;
  gate.csrf_token = session->csrf_token;
  return gate;
}

using HolderBody = std::function<Result<Response>(const RequestContext&, HolderGate&)>;

void AddHolderRoute(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet, http::Verb verb,
                    std::string path, std::string operation_id, http::RouteDoc doc, HolderBody body) {
  doc.tag = std::string(kTag);
  doc.errors.push_back({401, "Not logged in to the wallet"});
  doc.errors.push_back({403, "Not a holder session, or CSRF token missing"});
  http::Handler handler = [&context, &wallet, body](RequestContext request) -> boost::asio::awaitable<Response> {
    std::function<Result<Response>()> work = [&wallet, body, request]() -> Result<Response> {
      auto gate = AdmitHolder(wallet, request);
      Result<Response> response = gate.ok() ? body(request, *gate) : Result<Response>(std::move(gate).error());
      if (!response.ok()) {
        return http::ProblemResponse(response.error(), request.Path(), request.request_id, request.request->version());
      }
      return response;
    };
    auto pending = context.async.Run<Response>(std::move(work));  // see kNoTemporariesInCoAwait
    auto response = co_await std::move(pending);
    co_return std::move(response).value();
  };
  router.Add({verb, std::move(path), std::move(operation_id), std::string(kHolderSessionRight), std::move(doc),
              std::move(handler)});
}

// ---- Route groups ------------------------------------------------------------------------------

void AddHolderAdminRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/holders", "createHolder", right::kCreate,
      {.summary = "Create a holder account with its supports (institution only); the activation message is queued",
       .tag = std::string(kTag),
       .request_schema = HolderSchema(true),
       .success_status = 201,
       .errors = {{404, "Unknown organisation"},
                  {409, "holder_duplicate or support_duplicate"},
                  {422, "Invalid field"}}},
      [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto input = ParseNewHolder(*request.request);
        if (!input.ok()) return std::move(input).error();
        auto holder = wallet.CreateHolder(gate.caller, *input);
        if (!holder.ok()) return std::move(holder).error();
        return Json(HttpStatus::created, HolderJson(*holder));
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/holders", "searchHolders", right::kRead,
      {.summary = "Search holders of one's organisations by last name, first name (prefixes), birth date, "
                  "support number, university id, state or opposition",
       .description = "Query: last_name, first_name, birth_date, support, university_id, state, opposition, "
                      "after (id), limit (1-100).",
       .tag = std::string(kTag)},
      [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
        SearchQuery query;
        query.last_name = Query(request, "last_name");
        query.first_name = Query(request, "first_name");
        query.birth_date = Query(request, "birth_date");
        query.support_number = Query(request, "support");
        query.university_id = Query(request, "university_id");
        query.state = Query(request, "state");
        query.opposition = Query(request, "opposition");
        auto after = QueryInt(request, "after");
        if (!after.ok()) return std::move(after).error();
        query.after_id = *after;
        auto limit = QueryInt(request, "limit");
        if (!limit.ok()) return std::move(limit).error();
        query.limit = limit->value_or(50);
        auto holders = wallet.Search(gate.caller, query);
        if (!holders.ok()) return std::move(holders).error();
        array items;
        for (const Holder& holder : *holders) items.push_back(HolderJson(holder));
        return Json(HttpStatus::ok, object{{"holders", std::move(items)}});
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/holders/{id}", "getHolder", right::kRead,
                       {.summary = "A holder's profile, state and supports",
                        .tag = std::string(kTag),
                        .errors = {{404, "holder_not_found"}}},
                       [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = IdParam(request, "holder id");
                         if (!id.ok()) return std::move(id).error();
                         auto holder = wallet.GetHolder(gate.caller, *id);
                         if (!holder.ok()) return std::move(holder).error();
                         return Json(HttpStatus::ok, HolderJson(*holder));
                       });
  identity::AddGuarded(
      router, context, http::Verb::patch, "/api/v1/wallet/holders/{id}", "updateHolder", right::kUpdate,
      {.summary = "Update a holder's profile fields (tariff profile, end of validity, institution…) and add "
                  "supports; each change is kept in the holder's history",
       .tag = std::string(kTag),
       .request_schema = HolderSchema(false),
       .errors = {{404, "holder_not_found"}, {409, "holder_duplicate, support_duplicate, holder_not_active"},
                  {422, "Invalid field"}}},
      [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = IdParam(request, "holder id");
        if (!id.ok()) return std::move(id).error();
        auto change = ParseChange(*request.request);
        if (!change.ok()) return std::move(change).error();
        auto holder = wallet.UpdateHolder(gate.caller, *id, *change);
        if (!holder.ok()) return std::move(holder).error();
        return Json(HttpStatus::ok, HolderJson(*holder));
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/holders/{id}/accounts",
                       "getHolderAccounts", right::kRead,
                       {.summary = "A holder's balances: the euro counter and each active token counter",
                        .tag = std::string(kTag),
                        .errors = {{404, "holder_not_found"}}},
                       [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = IdParam(request, "holder id");
                         if (!id.ok()) return std::move(id).error();
                         return AccountsResponse(wallet.Accounts(gate.caller, *id));
                       });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/holders/{id}/statement", "getHolderStatement",
      right::kRead,
      {.summary = "The full history explaining a holder's balances, newest first, with the running balance",
       .description = "Query: counter, kind, from_ms, to_ms, before (line id), limit (1-200).",
       .tag = std::string(kTag),
       .errors = {{404, "holder_not_found"}}},
      [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = IdParam(request, "holder id");
        if (!id.ok()) return std::move(id).error();
        auto query = ParseStatementQuery(request);
        if (!query.ok()) return std::move(query).error();
        return StatementResponse(wallet.HolderStatement(gate.caller, *id, *query), query->limit);
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/holders/{id}/changes",
                       "getHolderChanges", right::kRead,
                       {.summary = "The history of a holder's profile: who changed which field, when, old and new value",
                        .tag = std::string(kTag),
                        .errors = {{404, "holder_not_found"}}},
                       [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = IdParam(request, "holder id");
                         if (!id.ok()) return std::move(id).error();
                         auto changes = wallet.ProfileHistory(gate.caller, *id);
                         if (!changes.ok()) return std::move(changes).error();
                         array items;
                         for (const ProfileChange& change : *changes) {
                           items.push_back(object{
                               {"id", change.id},
                               {"field", change.field},
                               {"old_value", change.old_value ? boost::json::value(*change.old_value) : nullptr},
                               {"new_value", change.new_value ? boost::json::value(*change.new_value) : nullptr},
                               {"source", change.source},
                               {"actor_type", change.actor_type},
                               {"actor_id", change.actor_id ? boost::json::value(*change.actor_id) : nullptr},
                               {"at_ms", change.at_ms}});
                         }
                         return Json(HttpStatus::ok, object{{"changes", std::move(items)}});
                       });
  identity::AddGuarded(router, context, http::Verb::post, "/api/v1/wallet/holders/{id}/activation-message",
                       "resendActivation", right::kUpdate,
                       {.summary = "Send the activation message again (a new single-use link)",
                        .tag = std::string(kTag),
                        .success_status = 204,
                        .errors = {{404, "holder_not_found"}, {409, "holder_already_activated"}}},
                       [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = IdParam(request, "holder id");
                         if (!id.ok()) return std::move(id).error();
                         GUICHET_TRY_STATUS(wallet.ResendActivation(gate.caller, *id));
                         return Response(HttpStatus::no_content, 11);
                       });
  identity::AddGuarded(router, context, http::Verb::post, "/api/v1/wallet/holders/{id}/opposition",
                       "opposeHolder", right::kOppose,
                       {.summary = "Block a holder account, temporarily or for good",
                        .tag = std::string(kTag),
                        .request_schema = kKindSchema,
                        .errors = {{404, "holder_not_found"}, {409, "opposition_permanent"}, {422, "Invalid kind"}}},
                       [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = IdParam(request, "holder id");
                         if (!id.ok()) return std::move(id).error();
                         auto kind = ParseKind(*request.request);
                         if (!kind.ok()) return std::move(kind).error();
                         auto holder = wallet.OpposeHolder(gate.caller, *id, *kind);
                         if (!holder.ok()) return std::move(holder).error();
                         return Json(HttpStatus::ok, HolderJson(*holder));
                       });
  identity::AddGuarded(router, context, http::Verb::delete_, "/api/v1/wallet/holders/{id}/opposition",
                       "reactivateHolder", right::kReactivate,
                       {.summary = "Lift a temporary block of a holder account (regional and national admins)",
                        .tag = std::string(kTag),
                        .errors = {{404, "holder_not_found"}, {409, "not_opposed or opposition_permanent"}}},
                       [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = IdParam(request, "holder id");
                         if (!id.ok()) return std::move(id).error();
                         auto holder = wallet.ReactivateHolder(gate.caller, *id);
                         if (!holder.ok()) return std::move(holder).error();
                         return Json(HttpStatus::ok, HolderJson(*holder));
                       });
  identity::AddGuarded(router, context, http::Verb::post, "/api/v1/wallet/supports/{id}/opposition",
                       "opposeSupport", right::kOppose,
                       {.summary = "Oppose a support (card, virtual support), temporarily or for good",
                        .tag = std::string(kTag),
                        .request_schema = kKindSchema,
                        .errors = {{404, "support_not_found"}, {409, "opposition_permanent"}, {422, "Invalid kind"}}},
                       [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = IdParam(request, "support id");
                         if (!id.ok()) return std::move(id).error();
                         auto kind = ParseKind(*request.request);
                         if (!kind.ok()) return std::move(kind).error();
                         auto support = wallet.OpposeSupport(gate.caller, *id, *kind);
                         if (!support.ok()) return std::move(support).error();
                         return Json(HttpStatus::ok, SupportJson(*support));
                       });
  identity::AddGuarded(router, context, http::Verb::delete_, "/api/v1/wallet/supports/{id}/opposition",
                       "reactivateSupport", right::kReactivate,
                       {.summary = "Reactivate a temporarily opposed support (regional and national admins)",
                        .tag = std::string(kTag),
                        .errors = {{404, "support_not_found"}, {409, "not_opposed or opposition_permanent"}}},
                       [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = IdParam(request, "support id");
                         if (!id.ok()) return std::move(id).error();
                         auto support = wallet.ReactivateSupport(gate.caller, *id);
                         if (!support.ok()) return std::move(support).error();
                         return Json(HttpStatus::ok, SupportJson(*support));
                       });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/opposed-supports", "listOpposedSupports",
                       right::kRead,
                       {.summary = "Opposed supports of one's organisations, with their holder",
                        .description = "Query: after (support id), limit (1-100).",
                        .tag = std::string(kTag)},
                       [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto after = QueryInt(request, "after");
                         if (!after.ok()) return std::move(after).error();
                         auto limit = QueryInt(request, "limit");
                         if (!limit.ok()) return std::move(limit).error();
                         auto list = wallet.OpposedSupports(gate.caller, limit->value_or(50), *after);
                         if (!list.ok()) return std::move(list).error();
                         array items;
                         for (const auto& [support, holder] : *list) {
                           object item = SupportJson(support);
                           item["holder"] = object{{"id", holder.id},
                                                   {"last_name", holder.last_name},
                                                   {"first_name", holder.first_name},
                                                   {"state", HolderStateName(holder.state)}};
                           items.push_back(std::move(item));
                         }
                         return Json(HttpStatus::ok, object{{"supports", std::move(items)}});
                       });
}

Result<CounterInput> ParseCounter(const http::Request& request, std::string code_text, bool creating) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  CounterInput input;
  input.code = creating ? reader.RequiredString("code", {1, 16}) : std::move(code_text);
  input.nature = reader.OptionalString("nature", {1, kTextFieldLengthMax});
  input.token_name = reader.OptionalString("token_name", {1, kTextFieldLengthMax});
  input.information_fr = reader.OptionalString("information_fr", {1, kCounterTextLengthMax});
  input.information_en = reader.OptionalString("information_en", {1, kCounterTextLengthMax});
  const auto labels = reader.OptionalStringArray("labels", kDateTimeFields, {1, kCounterLabelLengthMax});
  if (!labels.empty() && static_cast<int64_t>(labels.size()) != kDateTimeFields) reader.Fail("labels", "must have 4 labels");
  for (size_t i = 0; i < labels.size() && i < static_cast<size_t>(kDateTimeFields); ++i) input.labels[i] = labels[i];
  input.active = reader.OptionalBool("active");
  GUICHET_TRY_STATUS(reader.Finish());
  return input;
}

const object kCounterSchema = {
    {"type", "object"},
    {"properties",
     {{"code", {{"type", "string"}, {"pattern", "^[A-Z][A-Z0-9_]{0,15}$"}}},
      {"nature", {{"type", "string"}}},
      {"token_name", {{"type", "string"}}},
      {"information_fr", {{"type", "string"}}},
      {"information_en", {{"type", "string"}}},
      {"labels", {{"type", "array"}, {"items", {{"type", "string"}}}, {"minItems", 4}, {"maxItems", 4}}},
      {"active", {{"type", "boolean"}}}}}};

void AddSettingsRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet) {
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/counters", "listCounters", right::kRead,
                       {.summary = "The euro counter and the token counters with their texts and labels",
                        .tag = std::string(kTag)},
                       [&wallet](const RequestContext&, Gate& gate) -> Result<Response> {
                         auto counters = wallet.Counters(gate.caller);
                         if (!counters.ok()) return std::move(counters).error();
                         array items;
                         for (const Counter& counter : *counters) items.push_back(CounterJson(counter));
                         return Json(HttpStatus::ok, object{{"counters", std::move(items)}});
                       });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/counters", "defineCounter", right::kSettings,
      {.summary = "Define a token counter (national administrators; 16 at most)",
       .tag = std::string(kTag),
       .request_schema = kCounterSchema,
       .success_status = 201,
       .errors = {{409, "counter_duplicate or counters_full"}, {422, "Invalid field"}}},
      [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto input = ParseCounter(*request.request, "", true);
        if (!input.ok()) return std::move(input).error();
        auto counter = wallet.DefineCounter(gate.caller, *input);
        if (!counter.ok()) return std::move(counter).error();
        return Json(HttpStatus::created, CounterJson(*counter));
      });
  identity::AddGuarded(
      router, context, http::Verb::patch, "/api/v1/wallet/counters/{code}", "updateCounter", right::kSettings,
      {.summary = "Change a counter's texts and labels, activate or deactivate a token counter",
       .tag = std::string(kTag),
       .request_schema = kCounterSchema,
       .errors = {{404, "unknown_counter"}, {409, "euro_counter_always_active"}, {422, "Invalid field"}}},
      [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto input = ParseCounter(*request.request, std::string(request.Param("code")), false);
        if (!input.ok()) return std::move(input).error();
        auto counter = wallet.UpdateCounter(gate.caller, *input);
        if (!counter.ok()) return std::move(counter).error();
        return Json(HttpStatus::ok, CounterJson(*counter));
      });
  identity::AddGuarded(
      router, context, http::Verb::put, "/api/v1/wallet/counters/{code}/clients", "authoriseCounterClient",
      right::kSettings,
      {.summary = "Allow a machine client (API key or device) to load and/or debit a counter, or withdraw it",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"},
                                {"required", {"client_type", "client_id", "may_load", "may_debit"}},
                                {"properties",
                                 {{"client_type", {{"type", "string"}, {"enum", {"api_key", "device"}}}},
                                  {"client_id", {{"type", "integer"}}},
                                  {"may_load", {{"type", "boolean"}}},
                                  {"may_debit", {{"type", "boolean"}}}}}},
       .success_status = 204,
       .errors = {{404, "unknown_counter or client_not_found"}, {422, "Invalid field"}}},
      [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string type = reader.RequiredString("client_type", {1, 20});
        const int64_t id = reader.RequiredInteger("client_id", 1, INT64_MAX);
        const auto load = reader.OptionalBool("may_load");
        const auto debit = reader.OptionalBool("may_debit");
        if (!load) reader.Fail("may_load", "is required");
        if (!debit) reader.Fail("may_debit", "is required");
        GUICHET_TRY_STATUS(reader.Finish());
        GUICHET_TRY_STATUS(wallet.AuthoriseCounterClient(gate.caller, request.Param("code"), type, id, *load, *debit));
        return Response(HttpStatus::no_content, 11);
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/thresholds", "getThresholds", right::kRead,
                       {.summary = "Thresholds: maximum per transaction by support type, per reload, maximum "
                                   "balance (cents), QR code lifetime (seconds)",
                        .tag = std::string(kTag)},
                       [&wallet](const RequestContext&, Gate& gate) -> Result<Response> {
                         auto thresholds = wallet.GetThresholds(gate.caller);
                         if (!thresholds.ok()) return std::move(thresholds).error();
                         return Json(HttpStatus::ok, ThresholdsJson(*thresholds));
                       });
  identity::AddGuarded(
      router, context, http::Verb::put, "/api/v1/wallet/thresholds", "setThresholds", right::kSettings,
      {.summary = "Set thresholds (national administrators); fields left out keep their value",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"},
                                {"properties",
                                 {{"max_transaction", {{"type", "object"}, {"additionalProperties", {{"type", "integer"}}}}},
                                  {"max_reload", {{"type", "integer"}}},
                                  {"max_balance", {{"type", "integer"}}},
                                  {"qr_lifetime_s", {{"type", "integer"}}}}}},
       .errors = {{422, "Invalid value"}}},
      [&wallet](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        ThresholdsInput input;
        boost::json::object rest = *body;
        if (const auto* per_type = body->if_contains("max_transaction")) {
          if (!per_type->is_object()) {
            return Error{ErrorKind::kValidation, "validation_failed", "max_transaction is an object.",
                         {{"/max_transaction", "must map support types to cents"}}};
          }
          for (const auto& [type, amount] : per_type->as_object()) {
            if (!amount.is_int64()) {
              return Error{ErrorKind::kValidation, "validation_failed", "Amounts are integers (cents).",
                           {{fmt::format("/max_transaction/{}", std::string(type)), "must be an integer"}}};
            }
            input.max_transaction.emplace_back(std::string(type), amount.as_int64());
          }
          rest.erase("max_transaction");
        }
        JsonReader reader(rest);
        input.max_reload = reader.OptionalInteger("max_reload", 1, kThresholdCentsMax);
        input.max_balance = reader.OptionalInteger("max_balance", 1, kThresholdCentsMax);
        input.qr_lifetime_s = reader.OptionalInteger("qr_lifetime_s", 1, kQrLifetimeSMax);
        GUICHET_TRY_STATUS(reader.Finish());
        auto thresholds = wallet.SetThresholds(gate.caller, input);
        if (!thresholds.ok()) return std::move(thresholds).error();
        return Json(HttpStatus::ok, ThresholdsJson(*thresholds));
      });
}

void AddUploadRoutes(http::Router& router, identity::IdentityHttpContext& context, Uploads& uploads) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/uploads", "uploadHolders", right::kCreate,
      {.summary = "Upload an XML file of holder creations and updates (schema docs/wallet-holders.xsd); "
                  "processed by a job",
       .description = "Body: the XML document (Content-Type application/xml). Query: file_name.",
       .tag = std::string(kTag),
       .success_status = 202,
       .errors = {{404, "Unknown institution"}, {415, "Not XML"}, {422, "invalid_xml: the schema's errors by line"}}},
      [&uploads](const RequestContext& request, Gate& gate) -> Result<Response> {
        const std::string_view type = http::HeaderValue(*request.request, "Content-Type");
        if (type.substr(0, 15) != "application/xml" && type.substr(0, 8) != "text/xml") {
          return Error{ErrorKind::kUnsupportedMediaType, "unsupported_media_type",
                       "Send the file as application/xml.", {}};
        }
        const std::string name = Query(request, "file_name").value_or("upload.xml");
        auto upload = uploads.Submit(gate.caller, name, request.request->body());
        if (!upload.ok()) return std::move(upload).error();
        return Json(HttpStatus::accepted, UploadJson(*upload, false));
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/uploads", "listUploads", right::kCreate,
                       {.summary = "Uploads of one's institutions, newest first, with their progress",
                        .tag = std::string(kTag)},
                       [&uploads](const RequestContext&, Gate& gate) -> Result<Response> {
                         auto list = uploads.List(gate.caller);
                         if (!list.ok()) return std::move(list).error();
                         array items;
                         for (const UploadView& upload : *list) items.push_back(UploadJson(upload, false));
                         return Json(HttpStatus::ok, object{{"uploads", std::move(items)}});
                       });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/uploads/{id}", "getUpload", right::kCreate,
                       {.summary = "An upload's progress and its per-line report",
                        .tag = std::string(kTag),
                        .errors = {{404, "upload_not_found"}}},
                       [&uploads](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = IdParam(request, "upload id");
                         if (!id.ok()) return std::move(id).error();
                         auto upload = uploads.Get(gate.caller, *id);
                         if (!upload.ok()) return std::move(upload).error();
                         return Json(HttpStatus::ok, UploadJson(*upload, true));
                       });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/uploads/{id}/errors", "getUploadErrors", right::kCreate,
      {.summary = "The failed lines of an upload as an XML file to correct and send again",
       .tag = std::string(kTag),
       .success_media_type = "application/xml",
       .errors = {{404, "upload_not_found"}}},
      [&uploads](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = IdParam(request, "upload id");
        if (!id.ok()) return std::move(id).error();
        auto file = uploads.ErrorFile(gate.caller, *id);
        if (!file.ok()) return std::move(file).error();
        Response response(HttpStatus::ok, 11);
        response.set(http::beast::http::field::content_type, "application/xml; charset=utf-8");
        response.set(http::beast::http::field::content_disposition,
                     fmt::format("attachment; filename=\"upload-{}-errors.xml\"", *id));
        response.body() = *file;
        response.prepare_payload();
        return response;
      });
}

void AddActivationRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet) {
  const bool secure = context.options.cookie_secure;
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/activation", "activateHolder", identity::kPublic,
      {.summary = "Activate one's wallet with the link's token and a new password; logs the holder in",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"},
                                {"required", {"token", "password"}},
                                {"properties", {{"token", {{"type", "string"}}}, {"password", {{"type", "string"}}}}}},
       .errors = {{404, "activation_link_invalid"}, {422, "weak_password"}}},
      [&wallet, secure](const RequestContext& request, Gate&) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string token = reader.RequiredString("token", {1, kSecretLengthMax});
        const std::string password = reader.RequiredString("password", {1, kSecretLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto tokens = wallet.Activate(token, password, request.request_id);
        if (!tokens.ok()) return std::move(tokens).error();
        return LoggedIn(*tokens, secure);
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/deactivation", "deactivateHolder", identity::kPublic,
      {.summary = "Deactivate one's wallet for good with the link's token: personal data is erased, only the "
                  "support numbers are kept as a trace",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"},
                                {"required", {"token"}},
                                {"properties", {{"token", {{"type", "string"}}}}}},
       .success_status = 204,
       .errors = {{404, "activation_link_invalid"}}},
      [&wallet](const RequestContext& request, Gate&) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string token = reader.RequiredString("token", {1, kSecretLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        GUICHET_TRY_STATUS(wallet.DeactivateForGood(token, request.request_id));
        return Response(HttpStatus::no_content, 11);
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/holder-session", "getHolderSession", identity::kPublic,
      {.summary = "Whether this browser has a holder session: the profile and the CSRF token to send back with "
                  "X-CSRF-Token (a reloaded page has lost the one the login answered), or holder null",
       .description = "Answers 200 either way, so that a page can ask without an error in the console; "
                      "staff and machine callers are not holders and get null.",
       .tag = std::string(kTag)},
      [&wallet](const RequestContext& request, Gate&) -> Result<Response> {
        auto gate = AdmitHolder(wallet, request);
        if (!gate.ok()) {
          const Error& error = gate.error();
          if (error.kind != ErrorKind::kUnauthenticated && error.code != "holder_only") return std::move(gate).error();
          return Json(HttpStatus::ok, object{{"holder", nullptr}, {"csrf_token", nullptr}});
        }
        auto holder = wallet.Me(gate->holder_id);
        if (!holder.ok()) return std::move(holder).error();
        return Json(HttpStatus::ok, object{{"holder", HolderJson(*holder)}, {"csrf_token", gate->csrf_token}});
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/holder-session", "holderLogin", identity::kPublic,
      {.summary = "Holder login with e-mail and password; sets the guichet_holder cookie",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"},
                                {"required", {"email", "password"}},
                                {"properties", {{"email", {{"type", "string"}}}, {"password", {{"type", "string"}}}}}},
       .errors = {{401, "login_failed"}, {422, "Missing field"}, {429, "account_locked after repeated failures"}}},
      [&wallet, secure](const RequestContext& request, Gate&) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string email = reader.RequiredString("email", {1, kEmailLengthMax});
        const std::string password = reader.RequiredString("password", {1, kSecretLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto tokens = wallet.HolderLogin(email, password, request.request_id);
        if (!tokens.ok()) return std::move(tokens).error();
        return LoggedIn(*tokens, secure);
      });
}

void AddHolderSelfRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet) {
  const bool secure = context.options.cookie_secure;
  AddHolderRoute(router, context, wallet, http::Verb::delete_, "/api/v1/wallet/holder-session", "holderLogout",
                 {.summary = "Holder logout", .success_status = 204},
                 [&wallet, secure](const RequestContext&, HolderGate& gate) -> Result<Response> {
                   GUICHET_TRY_STATUS(wallet.HolderLogout(gate.session_token));
                   Response response(HttpStatus::no_content, 11);
                   response.set(http::beast::http::field::set_cookie, HolderCookie("", 0, secure));
                   return response;
                 });
  AddHolderRoute(router, context, wallet, http::Verb::get, "/api/v1/wallet/me", "getMyWallet",
                 {.summary = "The holder's own profile and supports"},
                 [&wallet](const RequestContext&, HolderGate& gate) -> Result<Response> {
                   auto holder = wallet.Me(gate.holder_id);
                   if (!holder.ok()) return std::move(holder).error();
                   return Json(HttpStatus::ok, HolderJson(*holder));
                 });
  AddHolderRoute(router, context, wallet, http::Verb::get, "/api/v1/wallet/me/accounts", "getMyAccounts",
                 {.summary = "The holder's balances: the euro counter and each active token counter"},
                 [&wallet](const RequestContext&, HolderGate& gate) -> Result<Response> {
                   return AccountsResponse(wallet.MyAccounts(gate.holder_id));
                 });
  AddHolderRoute(router, context, wallet, http::Verb::get, "/api/v1/wallet/me/statement", "getMyStatement",
                 {.summary = "The holder's statement, like a bank's: each line with the support or mode used, "
                             "any fee and the balance after it",
                  .description = "Query: counter, kind, from_ms, to_ms, before (line id), limit (1-200)."},
                 [&wallet](const RequestContext& request, HolderGate& gate) -> Result<Response> {
                   auto query = ParseStatementQuery(request);
                   if (!query.ok()) return std::move(query).error();
                   return StatementResponse(wallet.MyStatement(gate.holder_id, *query), query->limit);
                 });
  AddHolderRoute(router, context, wallet, http::Verb::get, "/api/v1/wallet/me/export", "exportMyWallet",
                 {.summary = "Everything held on oneself in the wallet, as one JSON document (access, portability)"},
                 [&wallet](const RequestContext&, HolderGate& gate) -> Result<Response> {
                   auto document = wallet.ExportMine(gate.holder_id);
                   if (!document.ok()) return std::move(document).error();
                   Response response = Json(HttpStatus::ok, *document);
                   response.set(http::beast::http::field::content_disposition,
                                fmt::format("attachment; filename=\"guichet-wallet-{}.json\"", gate.holder_id));
                   return response;
                 });
  AddHolderRoute(router, context, wallet, http::Verb::post, "/api/v1/wallet/me/closure", "closeMyAccount",
                 {.summary = "Close one's account (only with a zero euro balance); token balances are lost",
                  .errors = {{409, "balance_not_zero or holder_not_active"}}},
                 [&wallet, secure](const RequestContext& request, HolderGate& gate) -> Result<Response> {
                   auto holder = wallet.CloseMyAccount(gate.holder_id, request.request_id);
                   if (!holder.ok()) return std::move(holder).error();
                   Response response = Json(HttpStatus::ok, HolderJson(*holder));
                   response.set(http::beast::http::field::set_cookie, HolderCookie("", 0, secure));
                   return response;
                 });
  AddHolderRoute(
      router, context, wallet, http::Verb::post, "/api/v1/wallet/me/federation", "federateOldAccount",
      {.summary = "Take over an older account (its e-mail and password): its euro balance moves here, its "
                  "tokens are not moved, it becomes inactive",
       .request_schema = object{{"type", "object"},
                                {"required", {"email", "password"}},
                                {"properties", {{"email", {{"type", "string"}}}, {"password", {{"type", "string"}}}}}},
       .errors = {{409, "operations_pending"}, {422, "same_holder, threshold_exceeded"}}},
      [&wallet](const RequestContext& request, HolderGate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string email = reader.RequiredString("email", {1, kEmailLengthMax});
        const std::string password = reader.RequiredString("password", {1, kSecretLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto federation = wallet.FederateOldAccount(gate.holder_id, email, password, request.request_id);
        if (!federation.ok()) return std::move(federation).error();
        array tokens;
        for (const auto& [counter, amount] : federation->tokens_not_moved) {
          tokens.push_back(object{{"counter", counter}, {"amount", amount}});
        }
        return Json(HttpStatus::ok, object{{"old_account_id", federation->old_account.id},
                                           {"euros_moved", federation->euros_moved},
                                           {"tokens_not_moved", std::move(tokens)}});
      });
  AddHolderRoute(router, context, wallet, http::Verb::post, "/api/v1/wallet/me/opposition", "opposeMyAccount",
                 {.summary = "Oppose one's whole account, temporarily or for good", .request_schema = kKindSchema,
                  .errors = {{409, "opposition_permanent"}, {422, "Invalid kind"}}},
                 [&wallet](const RequestContext& request, HolderGate& gate) -> Result<Response> {
                   auto kind = ParseKind(*request.request);
                   if (!kind.ok()) return std::move(kind).error();
                   auto holder = wallet.OpposeMyAccount(gate.holder_id, *kind, request.request_id);
                   if (!holder.ok()) return std::move(holder).error();
                   return Json(HttpStatus::ok, HolderJson(*holder));
                 });
  AddHolderRoute(router, context, wallet, http::Verb::post, "/api/v1/wallet/me/supports/{id}/opposition",
                 "opposeMySupport",
                 {.summary = "Oppose one of one's supports, temporarily or for good", .request_schema = kKindSchema,
                  .errors = {{404, "support_not_found"}, {409, "opposition_permanent"}, {422, "Invalid kind"}}},
                 [&wallet](const RequestContext& request, HolderGate& gate) -> Result<Response> {
                   auto id = IdParam(request, "support id");
                   if (!id.ok()) return std::move(id).error();
                   auto kind = ParseKind(*request.request);
                   if (!kind.ok()) return std::move(kind).error();
                   auto support = wallet.OpposeMySupport(gate.holder_id, *id, *kind, request.request_id);
                   if (!support.ok()) return std::move(support).error();
                   return Json(HttpStatus::ok, SupportJson(*support));
                 });
}

// ---- The holder's message preferences -----------------------------------------------------------

privacy::PersonRef HolderPerson(const HolderGate& gate) { return {std::string(kPersonType), gate.holder_id}; }

struct ConsentChoice {
  std::string purpose;
  std::string channel;
  bool granted = false;
  std::string wording;
  std::string wording_version;
};

Result<ConsentChoice> ParseConsentChoice(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  ConsentChoice choice;
  choice.purpose = reader.RequiredString("purpose", {1, privacy::kPurposeLengthMax});
  choice.channel = reader.RequiredString("channel", {1, 10});
  const std::optional<bool> granted = reader.OptionalBool("granted");
  if (!granted) reader.Fail("granted", "is required: true or false");
  choice.granted = granted.value_or(false);
  choice.wording = reader.RequiredString("wording", {1, privacy::kWordingLengthMax});
  choice.wording_version = reader.RequiredString("wording_version", {1, privacy::kWordingVersionLengthMax});
  if (choice.purpose != notify::kAlerts && choice.purpose != notify::kLowBalance &&
      choice.purpose != notify::kCampaign) {
    reader.Fail("purpose", "is alerts, low_balance or campaign");
  }
  if (choice.channel != "email" && choice.channel != "sms") reader.Fail("channel", "is email or sms");
  GUICHET_TRY_STATUS(reader.Finish());
  return choice;
}

object ConsentChoiceSchema() {
  const object text{{"type", "string"}};
  return {{"type", "object"},
          {"required", {"purpose", "channel", "granted", "wording", "wording_version"}},
          {"properties",
           {{"purpose", {{"type", "string"}, {"enum", {"alerts", "low_balance", "campaign"}}}},
            {"channel", {{"type", "string"}, {"enum", {"email", "sms"}}}},
            {"granted", {{"type", "boolean"}}},
            {"wording", text},
            {"wording_version", text}}}};
}

}  // namespace

void AddHolderSessionRoute(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet,
                           http::Verb verb, std::string path, std::string operation_id, http::RouteDoc doc,
                           HolderSessionBody body) {
  AddHolderRoute(router, context, wallet, verb, std::move(path), std::move(operation_id), std::move(doc),
                 [body](const RequestContext& request, HolderGate& gate) { return body(request, gate.holder_id); });
}

void AddHolderPreferenceRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet,
                               notify::Content& content) {
  AddHolderRoute(router, context, wallet, http::Verb::get, "/api/v1/wallet/me/message-preferences",
                 "getMyWalletMessagePreferences",
                 {.summary = "The holder's message preferences: alert frequency (weekly by default), low-balance "
                             "threshold, and per purpose and channel whether messages go out",
                  .response_schema = notify::PreferencesResponseSchema()},
                 [&content](const RequestContext&, HolderGate& gate) -> Result<Response> {
                   auto preferences = content.OwnPreferences(HolderPerson(gate));
                   if (!preferences.ok()) return std::move(preferences).error();
                   return Json(HttpStatus::ok, *preferences);
                 });
  AddHolderRoute(router, context, wallet, http::Verb::put, "/api/v1/wallet/me/message-preferences",
                 "setMyWalletMessagePreferences",
                 {.summary = "Change the holder's alert frequency (each, daily, weekly) or low-balance threshold "
                             "(null: none)",
                  .request_schema = notify::PreferencesRequestSchema(),
                  .response_schema = notify::PreferencesResponseSchema(),
                  .errors = {{422, "Unknown frequency, threshold out of range"}}},
                 [&content](const RequestContext& request, HolderGate& gate) -> Result<Response> {
                   auto change = notify::ParsePreferencesChange(*request.request);
                   if (!change.ok()) return std::move(change).error();
                   auto preferences = content.SetOwnPreferences(HolderPerson(gate), *change);
                   if (!preferences.ok()) return std::move(preferences).error();
                   return Json(HttpStatus::ok, *preferences);
                 });
  AddHolderRoute(router, context, wallet, http::Verb::post, "/api/v1/wallet/me/message-consents",
                 "recordMyWalletMessageConsent",
                 {.summary = "Grant or withdraw an optional message consent (SMS alerts, low-balance alerts, "
                             "campaigns) with the exact wording shown; answers the preferences",
                  .request_schema = ConsentChoiceSchema(),
                  .response_schema = notify::PreferencesResponseSchema(),
                  .errors = {{409, "consent_mandatory (transactional messages, alerts by e-mail)"},
                             {422, "Unknown purpose or channel, missing wording"}}},
                 [&content](const RequestContext& request, HolderGate& gate) -> Result<Response> {
                   auto choice = ParseConsentChoice(*request.request);
                   if (!choice.ok()) return std::move(choice).error();
                   auto preferences =
                       content.RecordOwnConsent(HolderPerson(gate), choice->purpose, choice->channel, choice->granted,
                                                choice->wording, choice->wording_version, request.request_id);
                   if (!preferences.ok()) return std::move(preferences).error();
                   return Json(HttpStatus::ok, *preferences);
                 });
}

void AddWalletRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet, Uploads& uploads) {
  AddHolderAdminRoutes(router, context, wallet);
  AddSettingsRoutes(router, context, wallet);
  AddUploadRoutes(router, context, uploads);
  AddActivationRoutes(router, context, wallet);
  AddHolderSelfRoutes(router, context, wallet);
}

}  // namespace guichet::wallet
