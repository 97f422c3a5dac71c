// OpenID Connect over HTTP, both ways: the requests Guichet makes to the provider (libcurl:
// discovery, JWKS, token) and the routes it serves to browsers (start, callback, and whether
// the login page shows the button).
#include <curl/curl.h>
#include <fmt/format.h>

#include <boost/url/parse.hpp>
#include <mutex>

#include "platform/base/log.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"
#include "platform/http/router.h"
#include "platform/identity/identity_http.h"
#include "platform/identity/oidc.h"

namespace guichet::identity {
namespace {

// ---- To the provider: libcurl ----------------------------------------------------------------

struct CurlFree {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct Sink {
  std::string body;
  bool too_large = false;
};

size_t Collect(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t bytes = size * count;
  if (sink->body.size() + bytes > static_cast<size_t>(kOidcResponseBytesMax)) {
    sink->too_large = true;
    return 0;  // anything short of `bytes` makes libcurl abort the transfer
  }
  sink->body.append(data, bytes);
  return bytes;
}

class CurlTransport final : public OidcTransport {
 public:
  CurlTransport() {
    static std::once_flag once;
    std::call_once(once, [] { GUICHET_ASSERT(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK); });
  }

  Result<ProviderReply> Get(const std::string& url) override { return Perform(url, nullptr, ""); }

  Result<ProviderReply> PostForm(const std::string& url, const std::string& form,
                                 const std::string& authorization) override {
    return Perform(url, &form, authorization);
  }

 private:
  static Result<ProviderReply> Perform(const std::string& url, const std::string* form,
                                       const std::string& authorization);
};

// No redirects (an endpoint that moves is a configuration to fix, not a hop to take), http(s)
// only, a deadline on the whole exchange and a bound on what is read.
Result<ProviderReply> CurlTransport::Perform(const std::string& url, const std::string* form,
                                             const std::string& authorization) {
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  std::unique_ptr<curl_slist, CurlFree> headers(
      curl_slist_append(nullptr, "Accept: application/json"));
  if (!curl || !headers) return Error::Internal("libcurl could not allocate a request");
  if (!authorization.empty()) {
    curl_slist* more =
        curl_slist_append(headers.get(), ("Authorization: " + authorization).c_str());
    if (more == nullptr) return Error::Internal("libcurl could not allocate a header");
  }
  Sink sink;
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);  // several threads; no SIGALRM for timeouts
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(kOidcHttpTimeoutMs));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(kOidcConnectTimeoutMs));
  curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(kOidcResponseBytesMax));
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "Guichet/" GUICHET_VERSION);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
  if (form != nullptr) {
    // POSTFIELDS sends Content-Type: application/x-www-form-urlencoded.
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, form->c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(form->size()));
  }
  const CURLcode code = curl_easy_perform(handle);
  if (code != CURLE_OK) {
    return Error::Unavailable(
        "provider_unavailable",
        fmt::format("The provider could not be reached at {}: {}.", url,
                    sink.too_large ? "answer too large" : curl_easy_strerror(code)));
  }
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  return ProviderReply{status, std::move(sink.body)};
}

// ---- From the browser: the routes ------------------------------------------------------------

using http::HttpStatus;
using http::RequestContext;
using http::Response;

// identity_http.cpp's session cookie lives this long; the session itself ends sooner.
constexpr int64_t kSessionCookieMaxAgeS = 12 * 3600;

// Lax, not Strict: the provider's redirect back is a cross-site navigation, which a Strict
// cookie would not accompany. Path: only the OpenID Connect routes ever see it.
std::string BindingCookie(std::string_view token, int64_t max_age_s, bool secure) {
  return fmt::format("{}={}; Path=/api/v1/oidc; HttpOnly; SameSite=Lax; Max-Age={}{}", kOidcCookie,
                     token, max_age_s, secure ? "; Secure" : "");
}

// The same attributes as the password login's cookie (identity_http.cpp).
std::string SessionCookie(std::string_view token, bool secure) {
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}", kSessionCookie,
                     token, kSessionCookieMaxAgeS, secure ? "; Secure" : "");
}

Response Redirect(std::string_view location) {
  Response response(HttpStatus::found, 11);
  response.set(http::beast::http::field::location, location);
  return response;
}

// A navigation has no use for a JSON page: the login page explains the code in the person's
// language, and the log keeps the precise reason under the request id.
Response ToLoginPage(const Error& error, const RequestContext& request) {
  const bool bug = error.kind == ErrorKind::kInternal;
  log::Write(bug ? log::Level::kError : log::Level::kWarn, "oidc login refused",
             {{"code", std::string_view(error.code)},
              {"detail", std::string_view(error.message)},
              {"request_id", std::string_view(request.request_id)}});
  return Redirect("/login?oidc_error=" + FormEncode(bug ? "internal_error" : error.code));
}

// Always through the login page: it asks the server for the new session (the app only asks
// once it knows a login happened), then sends the person on to a forced password change, the
// authenticator set-up or `next`, as after a password login.
std::string AfterLogin(const OidcFinish& finish) {
  std::string target = "/login?oidc=1";
  if (finish.login.second_factor_pending) target += "&second_factor=1";
  if (finish.next != "/") target += "&next=" + FormEncode(finish.next);
  return target;
}

Result<Response> StartLogin(Oidc& oidc, bool secure, const RequestContext& request) {
  auto started = oidc.Start(http::QueryParameter(*request.request, "next").value_or("/"));
  if (!started.ok()) return ToLoginPage(started.error(), request);
  Response response = Redirect(started->authorization_url);
  response.insert(http::beast::http::field::set_cookie,
                  BindingCookie(started->browser_token, kOidcLoginLifetimeS, secure));
  return response;
}

Result<Response> FinishLogin(IdentityHttpContext& context, Oidc& oidc,
                             const RequestContext& request, const Gate& gate) {
  const bool secure = context.options.cookie_secure;
  OidcCallback callback;
  callback.code = http::QueryParameter(*request.request, "code").value_or("");
  callback.state = http::QueryParameter(*request.request, "state").value_or("");
  callback.provider_error = http::QueryParameter(*request.request, "error").value_or("");
  callback.browser_token = http::CookieValue(*request.request, kOidcCookie);
  auto finished = oidc.Finish(callback, request.request_id);
  // The cookie stays on a failure: a forged callback sent to this browser must not break the
  // login it has under way. A consumed state is useless anyway, and the cookie soon expires.
  if (!finished.ok()) return ToLoginPage(finished.error(), request);
  // A session this browser already had (someone else's, perhaps) ends with the new login.
  if (!gate.session_token.empty()) (void)context.identity.Logout(gate.session_token);
  Response response = Redirect(AfterLogin(*finished));
  response.insert(http::beast::http::field::set_cookie,
                  SessionCookie(finished->login.tokens.session_token, secure));
  response.insert(http::beast::http::field::set_cookie, BindingCookie("", 0, secure));
  return response;
}

const boost::json::object kConfigSchema = {
    {"type", "object"},
    {"required", {"enabled", "display_name"}},
    {"properties", {{"enabled", {{"type", "boolean"}}}, {"display_name", {{"type", "string"}}}}}};

}  // namespace

std::unique_ptr<OidcTransport> MakeCurlTransport() { return std::make_unique<CurlTransport>(); }

void AddOidcRoutes(http::Router& router, IdentityHttpContext& context, Oidc& oidc) {
  AddGuarded(router, context, http::Verb::get, "/api/v1/oidc", "getOidc", kPublic,
             {.summary = "Whether staff can log in through the OpenID Connect provider, and its "
                         "name for the login button",
              .response_schema = kConfigSchema},
             [&oidc](const RequestContext&, Gate&) -> Result<Response> {
               return http::JsonResponse(
                   HttpStatus::ok, boost::json::object{{"enabled", oidc.enabled()},
                                                       {"display_name", oidc.display_name()}});
             });
  AddGuarded(router, context, http::Verb::get, "/api/v1/oidc/login", "startOidcLogin", kPublic,
             {.summary = "Start an OpenID Connect login (?next=/path): redirects to the provider",
              .description = "Authorization code flow with PKCE (S256). Sets the short-lived "
                             "guichet_oidc cookie. Failures redirect to /login?oidc_error=CODE.",
              .success_status = 302,
              .success_description = "To the provider's authorization endpoint"},
             [&oidc, &context](const RequestContext& request, Gate&) -> Result<Response> {
               return StartLogin(oidc, context.options.cookie_secure, request);
             });
  AddGuarded(router, context, http::Verb::get, "/api/v1/oidc/callback", "finishOidcLogin", kPublic,
             {.summary = "Where the provider sends the browser back (?code=&state=)",
              .description = "Checks the state against the guichet_oidc cookie, exchanges the "
                             "code, verifies the ID token, maps it to a staff account and sets "
                             "the session cookie. Failures redirect to /login?oidc_error=CODE.",
              .success_status = 302,
              .success_description = "To /login?oidc=1 (then on to next), logged in"},
             [&oidc, &context](const RequestContext& request, Gate& gate) -> Result<Response> {
               return FinishLogin(context, oidc, request, gate);
             });
}

}  // namespace guichet::identity
