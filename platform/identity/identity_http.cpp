#include "platform/identity/identity_http.h"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <charconv>

#include "platform/audit/audit.h"
#include "platform/base/crypto.h"
#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"
#include "platform/identity/identity_internal.h"
#include "platform/identity/machines.h"

namespace guichet::identity {
namespace {

using boost::json::array;
using boost::json::object;
using http::HttpStatus;
using http::JsonReader;
using http::RequestContext;
using http::PositiveId;
using http::Response;

constexpr int64_t kSecretFieldLengthMax = 1024;  // passwords, tokens, codes as typed

bool Unsafe(http::Verb method) {
  return method != http::Verb::get && method != http::Verb::head && method != http::Verb::options;
}

// A state-changing request sent by a page of another origin is refused outright; with the
// SameSite cookie and the CSRF token this makes three independent locks.
Status CheckOrigin(const http::Request& request) {
  const std::string_view origin = http::HeaderValue(request, "Origin");
  if (origin.empty() || !Unsafe(request.method())) return OkStatus();
  const std::string_view host = http::HeaderValue(request, "Host");
  const size_t scheme_end = origin.find("://");
  if (scheme_end != std::string_view::npos && origin.substr(scheme_end + 3) == host)
    return OkStatus();
  return Error{
      ErrorKind::kForbidden, "cross_origin_refused", "Requests from another site are refused.", {}};
}

// The precise check, on the organisation concerned, is the use case's; here only whether the
// caller holds the right anywhere at all.
Status RequireRightSomewhere(IdentityHttpContext& context, const Caller& caller,
                             std::string_view right) {
  if (!context.identity.authorizer().Scopes(caller, right).empty()) return OkStatus();
  return Error{
      ErrorKind::kForbidden, "forbidden", fmt::format("You do not have the right {}.", right), {}};
}

// API keys and devices. They send no cookie, so a page of another site cannot make a browser
// send their credential: no CSRF token is asked of them. Session routes are for people.
Result<Gate> AdmitMachine(IdentityHttpContext& context, Gate gate, std::string_view right) {
  if (right == kAnySession || right == kPendingSession) {
    return Error{ErrorKind::kForbidden,
                 "people_only",
                 "Only a person who logs in can do this, not an API key or a device.",
                 {}};
  }
  GUICHET_TRY_STATUS(RequireRightSomewhere(context, gate.caller, right));
  return gate;
}

Result<Gate> Admit(IdentityHttpContext& context, const RequestContext& request,
                   std::string_view right) {
  GUICHET_TRY_STATUS(CheckOrigin(*request.request));
  Gate gate;
  gate.caller.request_id = request.request_id;
  gate.session_token = http::CookieValue(*request.request, kSessionCookie);
  if (right == kPublic) return gate;
  // Machine credentials first: a request that carries them is never taken for a session's.
  if (auto machine = AuthenticateMachineRequest(context, request)) {
    if (!machine->ok()) return std::move(*machine).error();
    gate.caller = std::move(*machine).value();
    gate.session_token.clear();
    return AdmitMachine(context, std::move(gate), right);
  }
  if (gate.session_token.empty()) {
    return Error{ErrorKind::kUnauthenticated, "unauthenticated", "Log in to do this.", {}};
  }
  auto authenticated = context.identity.Authenticate(gate.session_token, request.request_id);
  if (!authenticated.ok()) return std::move(authenticated).error();
  if (Unsafe(request.request->method()) &&
      !crypto::ConstantTimeEquals(http::HeaderValue(*request.request, kCsrfHeader),
                                  authenticated->csrf_token)) {
    return Error{ErrorKind::kForbidden,
                 "csrf_token_invalid",
                 "This request lacks the X-CSRF-Token of your session: reload the page.",
                 {}};
  }
  gate.caller = std::move(authenticated->caller);
  gate.second_factor_pending = authenticated->second_factor_pending;
  if (right == kPendingSession) return gate;
  if (gate.second_factor_pending) {
    return Error{ErrorKind::kUnauthenticated,
                 "second_factor_required",
                 "Enter the code of your authenticator app.",
                 {}};
  }
  if (right == kAnySession) return gate;
  if (gate.caller.must_change_password) {
    return Error{
        ErrorKind::kForbidden, "password_change_required", "Change your password first.", {}};
  }
  GUICHET_TRY_STATUS(RequireRightSomewhere(context, gate.caller, right));
  return gate;
}

Response Serve(IdentityHttpContext& context, const RequestContext& request, std::string_view right,
               const GuardedBody& body) {
  auto gate = Admit(context, request, right);
  Result<Response> response =
      gate.ok() ? body(request, *gate) : Result<Response>(std::move(gate).error());
  if (!response.ok()) {
    return http::ProblemResponse(response.error(), request.Path(), request.request_id,
                                 request.request->version());
  }
  return std::move(response).value();
}

}  // namespace

namespace {

void AddGuardedRoute(http::Router& router, IdentityHttpContext& context, http::Verb verb,
                     std::string path, std::string operation_id, std::string_view right,
                     http::RouteDoc doc, GuardedBody body, bool shared_transaction) {
  doc.tag = doc.tag.empty() ? "identity" : doc.tag;
  if (right != kPublic) {
    doc.errors.push_back({401, "Not logged in"});
    doc.errors.push_back({403, "Lacking the right, or CSRF token missing"});
  }
  std::string right_text(right);
  http::Handler handler = [&context, right_text, body, shared_transaction](
                              RequestContext request) -> boost::asio::awaitable<Response> {
    std::function<Result<Response>()> work = [&context, right_text, body, request,
                                              shared_transaction]() -> Result<Response> {
      if (!shared_transaction) return Serve(context, request, right_text, body);
      // The gate's writes (a device request's replay record) and the body's commit together.
      return context.database.RunShared<Response>(
          [&] { return Serve(context, request, right_text, body); });
    };
    auto pending = context.async.Run<Response>(std::move(work));  // see kNoTemporariesInCoAwait
    auto response = co_await std::move(pending);
    co_return std::move(response).value();
  };
  router.Add({verb, std::move(path), std::move(operation_id), std::string(right), std::move(doc),
              std::move(handler)});
}

}  // namespace

void AddGuarded(http::Router& router, IdentityHttpContext& context, http::Verb verb, std::string path,
                std::string operation_id, std::string_view right, http::RouteDoc doc, GuardedBody body) {
  AddGuardedRoute(router, context, verb, std::move(path), std::move(operation_id), right,
                  std::move(doc), std::move(body), false);
}

void AddGuardedShared(http::Router& router, IdentityHttpContext& context, http::Verb verb,
                      std::string path, std::string operation_id, std::string_view right,
                      http::RouteDoc doc, GuardedBody body) {
  AddGuardedRoute(router, context, verb, std::move(path), std::move(operation_id), right,
                  std::move(doc), std::move(body), true);
}

namespace {

void Add(http::Router& router, IdentityHttpContext& context, http::Verb verb, std::string path,
         std::string operation_id, std::string_view right, http::RouteDoc doc, GuardedBody body) {
  AddGuarded(router, context, verb, std::move(path), std::move(operation_id), right, std::move(doc),
             std::move(body));
}

Response Json(HttpStatus status, const boost::json::value& body) {
  return http::JsonResponse(status, body);
}

Response NoContent() {
  Response response(HttpStatus::no_content, 11);
  return response;
}

std::string SessionCookie(const std::string& token, int64_t max_age_s, const HttpOptions& options) {
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}", kSessionCookie,
                     token, max_age_s, options.cookie_secure ? "; Secure" : "");
}

}  // namespace

namespace {

object LoginJson(const LoginOutcome& outcome) {
  return {{"user", internal::StaffJson(outcome.user)},
          {"csrf_token", outcome.tokens.csrf_token},
          {"second_factor_pending", outcome.second_factor_pending},
          {"second_factor_enrolment_required", outcome.second_factor_enrolment_required}};
}

Response LoggedIn(const LoginOutcome& outcome, const IdentityHttpContext& context,
                  int64_t max_age_s) {
  Response response = Json(HttpStatus::ok, LoginJson(outcome));
  response.set(http::beast::http::field::set_cookie,
               SessionCookie(outcome.tokens.session_token, max_age_s, context.options));
  return response;
}

Response LoggedOut(const IdentityHttpContext& context) {
  Response response = NoContent();
  response.set(http::beast::http::field::set_cookie, SessionCookie("", 0, context.options));
  return response;
}

const object kLoginSchema = {
    {"type", "object"},
    {"required", {"email", "password"}},
    {"properties", {{"email", {{"type", "string"}}}, {"password", {{"type", "string"}}}}}};
const object kCodeSchema = {
    {"type", "object"}, {"required", {"code"}}, {"properties", {{"code", {{"type", "string"}}}}}};

void AddSessionRoutes(http::Router& router, IdentityHttpContext& context, int64_t max_age_s) {
  Add(router, context, http::Verb::post, "/api/v1/session", "login", kPublic,
      {.summary = "Log in with e-mail and password; sets the session cookie",
       .request_schema = kLoginSchema,
       .errors = {{401, "Wrong e-mail or password"},
                  {422, "Missing field"},
                  {429, "Locked after repeated failures"}}},
      [&context, max_age_s](const RequestContext& request, Gate&) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string email = reader.RequiredString("email", {1, kEmailLengthMax});
        const std::string password = reader.RequiredString("password", {1, kSecretFieldLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto outcome = context.identity.Login(email, password, request.request_id);
        if (!outcome.ok()) return std::move(outcome).error();
        return LoggedIn(*outcome, context, max_age_s);
      });
  Add(router, context, http::Verb::post, "/api/v1/session/second-factor", "completeSecondFactor",
      kPendingSession,
      {.summary = "Give the authenticator code (or a recovery code) after the password",
       .request_schema = kCodeSchema,
       .errors = {{422, "Missing code"}}},
      [&context, max_age_s](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string code = reader.RequiredString("code", {6, 32});
        GUICHET_TRY_STATUS(reader.Finish());
        auto outcome =
            context.identity.CompleteSecondFactor(gate.session_token, code, request.request_id);
        if (!outcome.ok()) return std::move(outcome).error();
        return LoggedIn(*outcome, context, max_age_s);
      });
  Add(router, context, http::Verb::get, "/api/v1/session", "getSession", kPendingSession,
      {.summary = "The current session: who, the CSRF token, whether a second factor is awaited"},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto me = context.identity.Me(gate.caller);
        if (!me.ok()) return std::move(me).error();
        auto authenticated = context.identity.Authenticate(gate.session_token, request.request_id);
        if (!authenticated.ok()) return std::move(authenticated).error();
        return Json(HttpStatus::ok, object{{"user", internal::StaffJson(*me)},
                                           {"csrf_token", authenticated->csrf_token},
                                           {"second_factor_pending", gate.second_factor_pending}});
      });
  Add(router, context, http::Verb::delete_, "/api/v1/session", "logout", kPendingSession,
      {.summary = "Log out of this session",
       .success_status = 204,
       .success_description = "Logged out"},
      [&context](const RequestContext&, Gate& gate) -> Result<Response> {
        GUICHET_TRY_STATUS(context.identity.Logout(gate.session_token));
        return LoggedOut(context);
      });
  Add(router, context, http::Verb::post, "/api/v1/session/logout-everywhere", "logoutEverywhere",
      kAnySession,
      {.summary = "End every session of this account, on every device",
       .success_status = 204,
       .success_description = "Every session ended"},
      [&context](const RequestContext&, Gate& gate) -> Result<Response> {
        GUICHET_TRY_STATUS(context.identity.LogoutEverywhere(gate.caller));
        return LoggedOut(context);
      });
}

void AddPasswordRoutes(http::Router& router, IdentityHttpContext& context) {
  Add(router, context, http::Verb::post, "/api/v1/password-resets", "requestPasswordReset", kPublic,
      {.summary =
           "E-mail a single-use password reset link (same answer whether the account exists)",
       .request_schema =
           object{{"type", "object"}, {"properties", {{"email", {{"type", "string"}}}}}},
       .success_status = 202,
       .success_description = "If the account exists, a link is on its way",
       .errors = {{422, "Not an e-mail address"}}},
      [&context](const RequestContext& request, Gate&) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string email = reader.RequiredString("email", {1, kEmailLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        GUICHET_TRY_STATUS(context.identity.RequestPasswordReset(email, request.request_id));
        return Json(HttpStatus::accepted, object{{"status", "sent_if_account_exists"}});
      });
  Add(router, context, http::Verb::post, "/api/v1/password-resets/confirm", "confirmPasswordReset",
      kPublic,
      {.summary = "Set a new password with the token of a reset or invitation link",
       .request_schema = object{{"type", "object"}, {"required", {"token", "new_password"}}},
       .success_status = 204,
       .success_description = "Password set; every session ended",
       .errors = {{404, "Link unknown, used or expired"}, {422, "Weak password"}}},
      [&context](const RequestContext& request, Gate&) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string token = reader.RequiredString("token", {1, kSecretFieldLengthMax});
        const std::string password =
            reader.RequiredString("new_password", {1, kSecretFieldLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        GUICHET_TRY_STATUS(context.identity.ResetPassword(token, password, request.request_id));
        return NoContent();
      });
  Add(router, context, http::Verb::put, "/api/v1/me/password", "changePassword", kAnySession,
      {.summary = "Change one's password (also the forced change at first login)",
       .request_schema =
           object{{"type", "object"}, {"required", {"current_password", "new_password"}}},
       .success_status = 204,
       .success_description = "Password changed",
       .errors = {{422, "Wrong current password or weak new one"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string current =
            reader.RequiredString("current_password", {1, kSecretFieldLengthMax});
        const std::string replacement =
            reader.RequiredString("new_password", {1, kSecretFieldLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        GUICHET_TRY_STATUS(context.identity.ChangePassword(gate.caller, current, replacement));
        return NoContent();
      });
}

}  // namespace

namespace {

Result<Response> ProfileCatalog(const Authorizer& authorizer) {
  array profiles;
  for (const ProfileInfo& profile : authorizer.catalog().profiles()) {
    array permissions;
    for (const std::string& permission : authorizer.catalog().PermissionsOf(profile.code)) {
      permissions.emplace_back(permission);
    }
    array kinds;
    for (const std::string& kind : profile.organisation_kinds) kinds.emplace_back(kind);
    profiles.push_back(
        object{{"code", profile.code},
               {"product", profile.product},
               {"name_fr", profile.name_fr},
               {"name_en", profile.name_en},
               {"inherits", profile.inherits ? boost::json::value(*profile.inherits) : nullptr},
               {"strong_authentication", profile.strong_authentication},
               {"organisation_kinds", std::move(kinds)},
               {"permissions", std::move(permissions)}});
  }
  return Json(HttpStatus::ok, object{{"profiles", std::move(profiles)}});
}

void AddMeRoutes(http::Router& router, IdentityHttpContext& context) {
  Add(router, context, http::Verb::get, "/api/v1/me", "getMe", kAnySession,
      {.summary = "One's own account: name, language, profiles, second factor"},
      [&context](const RequestContext&, Gate& gate) -> Result<Response> {
        auto me = context.identity.Me(gate.caller);
        if (!me.ok()) return std::move(me).error();
        return Json(HttpStatus::ok, internal::StaffJson(*me));
      });
  Add(router, context, http::Verb::post, "/api/v1/me/second-factor", "startSecondFactor",
      kAnySession,
      {.summary =
           "Start the set-up of an authenticator app: secret, otpauth URI and QR code (SVG)"},
      [&context](const RequestContext&, Gate& gate) -> Result<Response> {
        auto enrolment = context.identity.StartTotp(gate.caller);
        if (!enrolment.ok()) return std::move(enrolment).error();
        return Json(HttpStatus::ok, object{{"secret", enrolment->secret},
                                           {"otpauth_uri", enrolment->otpauth_uri},
                                           {"qr_svg", enrolment->qr_svg}});
      });
  Add(router, context, http::Verb::post, "/api/v1/me/second-factor/confirm", "confirmSecondFactor",
      kAnySession,
      {.summary =
           "Confirm the authenticator app with a first code; returns single-use recovery codes",
       .request_schema = kCodeSchema,
       .errors = {{409, "No set-up started"}, {422, "Code does not match"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string code = reader.RequiredString("code", {6, 8});
        GUICHET_TRY_STATUS(reader.Finish());
        auto codes = context.identity.ConfirmTotp(gate.caller, code);
        if (!codes.ok()) return std::move(codes).error();
        return Json(HttpStatus::ok,
                    object{{"recovery_codes", array(codes->begin(), codes->end())}});
      });
  Add(router, context, http::Verb::get, "/api/v1/profiles", "listProfiles", kAnySession,
      {.summary = "The staff profiles, their inheritance and their permissions"},
      [&context](const RequestContext&, Gate&) -> Result<Response> {
        return ProfileCatalog(context.identity.authorizer());
      });
}

void AddOrganisationRoutes(http::Router& router, IdentityHttpContext& context) {
  Add(router, context, http::Verb::get, "/api/v1/organisations", "listOrganisations",
      "identity.orgs.read",
      {.summary = "The organisations in one's scope, as a tree in path order"},
      [&context](const RequestContext&, Gate& gate) -> Result<Response> {
        auto list = context.identity.ListOrganisations(gate.caller);
        if (!list.ok()) return std::move(list).error();
        array items;
        for (const orgs::Organisation& org : *list)
          items.push_back(internal::OrganisationJson(org));
        return Json(HttpStatus::ok, object{{"organisations", std::move(items)}});
      });
  Add(router, context, http::Verb::post, "/api/v1/organisations", "createOrganisation",
      "identity.orgs.manage",
      {.summary = "Create an organisation under one in one's scope",
       .request_schema = object{{"type", "object"}, {"required", {"parent_id", "kind", "name"}}},
       .success_status = 201,
       .errors = {{404, "Parent not in scope"}, {422, "Kind not allowed under the parent"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        orgs::NewOrganisation org;
        org.parent_id = reader.RequiredInteger("parent_id", 1, INT64_MAX);
        org.kind = reader.RequiredString("kind", {1, 40});
        org.name = reader.RequiredString("name", {1, orgs::kNameLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto created = context.identity.CreateOrganisation(gate.caller, org);
        if (!created.ok()) return std::move(created).error();
        return Json(HttpStatus::created, internal::OrganisationJson(*created));
      });
  Add(router, context, http::Verb::get, "/api/v1/organisations/{id}", "getOrganisation",
      "identity.orgs.read",
      {.summary = "One organisation of one's scope", .errors = {{404, "Not in scope"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = PositiveId(request.Param("id"), "organisation id");
        if (!id.ok()) return std::move(id).error();
        auto org = context.identity.GetOrganisation(gate.caller, *id);
        if (!org.ok()) return std::move(org).error();
        return Json(HttpStatus::ok, internal::OrganisationJson(*org));
      });
}

}  // namespace

namespace {

Result<NewStaff> ParseNewStaff(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  NewStaff staff;
  staff.email = reader.RequiredString("email", {1, kEmailLengthMax});
  staff.display_name = reader.RequiredString("display_name", {1, kDisplayNameLengthMax});
  staff.language = reader.OptionalString("language", {2, 2}).value_or("fr");
  staff.organisation_id = reader.RequiredInteger("organisation_id", 1, INT64_MAX);
  staff.profiles = reader.OptionalStringArray("profiles", 20, {1, 80});
  staff.initial_password = reader.OptionalString("initial_password", {1, kSecretFieldLengthMax});
  GUICHET_TRY_STATUS(reader.Finish());
  return staff;
}

Result<StaffChange> ParseStaffChange(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  StaffChange change;
  change.display_name = reader.OptionalString("display_name", {1, kDisplayNameLengthMax});
  change.language = reader.OptionalString("language", {2, 2});
  change.status = reader.OptionalString("status", {1, 20});
  GUICHET_TRY_STATUS(reader.Finish());
  return change;
}

Result<Response> StaffResponse(Result<StaffView> view, HttpStatus status = HttpStatus::ok) {
  if (!view.ok()) return std::move(view).error();
  return Json(status, internal::StaffJson(*view));
}

void AddStaffRoutes(http::Router& router, IdentityHttpContext& context) {
  Add(router, context, http::Verb::get, "/api/v1/staff", "listStaff", "identity.staff.read",
      {.summary = "Staff accounts in one's scope (optionally ?organisation_id=)"},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        std::optional<int64_t> organisation_id;
        if (auto text = http::QueryParameter(*request.request, "organisation_id")) {
          auto id = PositiveId(*text, "organisation_id");
          if (!id.ok()) return std::move(id).error();
          organisation_id = *id;
        }
        auto list = context.identity.ListStaff(gate.caller, organisation_id);
        if (!list.ok()) return std::move(list).error();
        array items;
        for (const StaffView& view : *list) items.push_back(internal::StaffJson(view));
        return Json(HttpStatus::ok, object{{"staff", std::move(items)}});
      });
  Add(router, context, http::Verb::post, "/api/v1/staff", "createStaff", "identity.staff.manage",
      {.summary = "Create a staff account with profiles in one organisation; invitation e-mailed "
                  "unless an initial password is given (then it must be changed at first login)",
       .request_schema =
           object{{"type", "object"},
                  {"required", {"email", "display_name", "organisation_id", "profiles"}}},
       .success_status = 201,
       .errors = {{409, "E-mail already used"}, {422, "Invalid field or weak password"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto staff = ParseNewStaff(*request.request);
        if (!staff.ok()) return std::move(staff).error();
        return StaffResponse(context.identity.CreateStaff(gate.caller, *staff),
                             HttpStatus::created);
      });
  Add(router, context, http::Verb::get, "/api/v1/staff/{id}", "getStaff", "identity.staff.read",
      {.summary = "One staff account of one's scope", .errors = {{404, "Not in scope"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = PositiveId(request.Param("id"), "staff id");
        if (!id.ok()) return std::move(id).error();
        return StaffResponse(context.identity.GetStaff(gate.caller, *id));
      });
  Add(router, context, http::Verb::patch, "/api/v1/staff/{id}", "updateStaff",
      "identity.staff.manage",
      {.summary = "Rename, change language, suspend or reactivate a staff account",
       .request_schema = object{{"type", "object"}},
       .errors = {{404, "Not in scope"}, {422, "Invalid field"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = PositiveId(request.Param("id"), "staff id");
        if (!id.ok()) return std::move(id).error();
        auto change = ParseStaffChange(*request.request);
        if (!change.ok()) return std::move(change).error();
        return StaffResponse(context.identity.UpdateStaff(gate.caller, *id, *change));
      });
  Add(router, context, http::Verb::delete_, "/api/v1/staff/{id}", "deleteStaff",
      "identity.staff.manage",
      {.summary = "Delete a staff account (personal data erased, audit kept)",
       .success_status = 204,
       .success_description = "Deleted",
       .errors = {{404, "Not in scope"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = PositiveId(request.Param("id"), "staff id");
        if (!id.ok()) return std::move(id).error();
        GUICHET_TRY_STATUS(context.identity.DeleteStaff(gate.caller, *id));
        return NoContent();
      });
  Add(router, context, http::Verb::post, "/api/v1/staff/{id}/grants", "addGrant",
      "identity.staff.manage",
      {.summary = "Grant a profile in an organisation (never more than one holds)",
       .request_schema = object{{"type", "object"}, {"required", {"organisation_id", "profile"}}},
       .success_status = 201,
       .errors = {{404, "Not in scope"}, {409, "Already granted"}, {422, "Unknown profile"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = PositiveId(request.Param("id"), "staff id");
        if (!id.ok()) return std::move(id).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const int64_t organisation_id = reader.RequiredInteger("organisation_id", 1, INT64_MAX);
        const std::string profile = reader.RequiredString("profile", {1, 80});
        GUICHET_TRY_STATUS(reader.Finish());
        return StaffResponse(context.identity.AddGrant(gate.caller, *id, organisation_id, profile),
                             HttpStatus::created);
      });
  Add(router, context, http::Verb::delete_, "/api/v1/staff/{id}/grants/{grant_id}", "removeGrant",
      "identity.staff.manage", {.summary = "Withdraw a profile", .errors = {{404, "Not in scope"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = PositiveId(request.Param("id"), "staff id");
        if (!id.ok()) return std::move(id).error();
        auto grant_id = PositiveId(request.Param("grant_id"), "grant id");
        if (!grant_id.ok()) return std::move(grant_id).error();
        return StaffResponse(context.identity.RemoveGrant(gate.caller, *id, *grant_id));
      });
}

}  // namespace

namespace {

object AuditJson(const audit::AuditRecord& record) {
  auto parse = [](const std::string& text) -> boost::json::value {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(text, ec);
    return ec ? boost::json::value(text) : value;
  };
  const audit::AuditEntry& entry = record.entry;
  return {{"seq", record.seq},
          {"at", FormatIso8601(record.at_ms)},
          {"actor_type", entry.actor_type},
          {"actor_id", entry.actor_id ? boost::json::value(*entry.actor_id) : nullptr},
          {"organisation_id",
           entry.organisation_id ? boost::json::value(*entry.organisation_id) : nullptr},
          {"action", entry.action},
          {"before", parse(entry.before_json)},
          {"after", parse(entry.after_json)},
          {"request_id", entry.request_id},
          {"redacted", record.redacted},
          {"hash", record.hash}};
}

void AddAuditRoutes(http::Router& router, IdentityHttpContext& context) {
  Add(router, context, http::Verb::get, "/api/v1/audit/{record_type}/{record_id}",
      "getRecordHistory", "audit.read",
      {.summary =
           "Who changed this record, when, before and after (newest first; ?before_seq= pages)",
       .tag = "audit",
       .errors = {{404, "No history in scope"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        std::optional<int64_t> before_seq;
        if (auto text = http::QueryParameter(*request.request, "before_seq")) {
          auto seq = PositiveId(*text, "before_seq");
          if (!seq.ok()) return std::move(seq).error();
          before_seq = *seq;
        }
        auto history = context.identity.RecordHistory(gate.caller, request.Param("record_type"),
                                                      request.Param("record_id"), before_seq);
        if (!history.ok()) return std::move(history).error();
        array entries;
        for (const audit::AuditRecord& record : *history) entries.push_back(AuditJson(record));
        return Json(HttpStatus::ok, object{{"entries", std::move(entries)}});
      });
}

}  // namespace

void DeclarePermissions(RightsCatalog& catalog) {
  catalog.AddPermission({"identity.orgs.read", "See the organisations of one's scope"});
  catalog.AddPermission({"identity.orgs.manage", "Create organisations under one's own"});
  catalog.AddPermission({"identity.staff.read", "See staff accounts and their profiles"});
  catalog.AddPermission(
      {"identity.staff.manage", "Create, change, suspend and delete staff accounts"});
  catalog.AddPermission({"audit.read", "Read the history of records"});
}

void AddIdentityRoutes(http::Router& router, IdentityHttpContext& context) {
  const int64_t max_age_s = 12 * 3600;  // the cookie outlives no session (sessions end sooner)
  AddSessionRoutes(router, context, max_age_s);
  AddPasswordRoutes(router, context);
  AddMeRoutes(router, context);
  AddOrganisationRoutes(router, context);
  AddStaffRoutes(router, context);
  AddAuditRoutes(router, context);
}

}  // namespace guichet::identity
