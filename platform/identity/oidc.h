// OpenID Connect login for staff (C3, F §2.1.14.1): the authorization code flow with PKCE
// (S256) against one configured provider, the relying party side only.
//
// Start: a random state, nonce and PKCE verifier are stored server-side (oidc_logins, single
// use, kOidcLoginLifetimeS), keyed by a digest of the state; the browser gets a random binding
// token in a cookie whose digest is stored with them, so a callback URL that leaks (logs,
// history) cannot be completed in another browser. Finish: the state is consumed, the code is
// exchanged with the verifier (client_secret_basic), the ID token is verified (RS256 only,
// against the provider's JWKS), and its subject is mapped to an existing active staff account —
// by a remembered (issuer, subject) link, else by the verified e-mail, which is then linked.
// Staff are never created here: staff are created by staff. The session then follows the
// password login's rules exactly (pending second factor, enrolment for strong profiles).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/identity/identity.h"
#include "platform/identity/rights.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::http {
class Router;
}  // namespace guichet::http

namespace guichet::identity {

struct IdentityHttpContext;

inline constexpr std::string_view kOidcCookie = "guichet_oidc";  // binds the browser to a login
inline constexpr int64_t kOidcLoginLifetimeS = 10 * 60;          // state, nonce and verifier
// Logins started and not finished, kept at once (a row is about 300 bytes); the start route is
// public, so a flood ends in "busy" rather than in an unbounded table.
inline constexpr int64_t kOidcPendingLoginsMax = 100000;
inline constexpr int64_t kOidcClockSkewS = 120;       // tolerance on exp and iat
inline constexpr int64_t kOidcHttpTimeoutMs = 10000;  // one request to the provider
inline constexpr int64_t kOidcConnectTimeoutMs = 5000;
inline constexpr int64_t kOidcResponseBytesMax = 256 * 1024;  // discovery, JWKS, token answer
inline constexpr int64_t kOidcDiscoveryCacheS = 24 * 3600;
inline constexpr int64_t kOidcJwksCacheS = 3600;
inline constexpr int64_t kOidcJwksRefetchMinS = 10;  // unknown kid: refetch at most this often
inline constexpr size_t kOidcJwksKeysMax = 20;
inline constexpr size_t kOidcIdTokenBytesMax = 16 * 1024;
inline constexpr size_t kOidcNextLengthMax = 512;
inline constexpr size_t kOidcSubjectLengthMax = 255;     // OpenID Connect Core §2
inline constexpr size_t kOidcParameterLengthMax = 2048;  // code and state as received
inline constexpr int kOidcRsaBitsMin = 2048;
inline constexpr std::string_view kOidcScope = "openid email profile";

struct OidcOptions {
  std::string issuer;  // empty: OpenID Connect login is off
  std::string client_id;
  std::string client_secret;
  std::string redirect_uri;  // exactly as registered at the provider
  std::string display_name;  // "Se connecter avec <display_name>"
  bool enabled() const { return !issuer.empty(); }
};

// Refuses an incomplete configuration, or URLs that are neither https nor http on loopback.
Status CheckOidcOptions(const OidcOptions& options);

std::vector<storage::Migration> OidcMigrations();

// ---- The pure parts ------------------------------------------------------------------------

// RFC 7636 §4.2: base64url(SHA-256(verifier)), unpadded.
std::string PkceChallengeS256(std::string_view verifier);

// Where to go after login: only a path of this site ("/staff?x=1"), never "//host", "\",
// a scheme, or control characters (the value ends up in a Location header).
bool IsSafeNext(std::string_view next);

// https anywhere; plain http only towards the local machine (tests, a provider on the host).
bool IsAllowedProviderUrl(std::string_view url);

// application/x-www-form-urlencoded escaping (RFC 6749 §2.3.1, §4.1.3).
std::string FormEncode(std::string_view text);

struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
};

// The discovery document; its issuer must be exactly the configured one (OpenID Connect
// Discovery §4.3) and its endpoints must pass IsAllowedProviderUrl.
Result<ProviderMetadata> ParseDiscovery(std::string_view json, std::string_view expected_issuer);

struct Jwk {
  std::string kid;  // may be empty
  std::string n;    // modulus, base64url
  std::string e;    // exponent, base64url
};

// The RSA signing keys of a JWKS (other key types and encryption keys are skipped).
Result<std::vector<Jwk>> ParseJwks(std::string_view json);

struct IdTokenCheck {
  std::string_view issuer;
  std::string_view client_id;
  std::string_view nonce;
  int64_t now_s = 0;
  int64_t skew_s = kOidcClockSkewS;
};

struct IdTokenClaims {
  std::string subject;
  std::optional<std::string> email;
  std::optional<bool> email_verified;
  int64_t expires_at_s = 0;
  int64_t issued_at_s = 0;
};

// OpenID Connect Core §3.1.3.7: RS256 signature by a key of `keys` (chosen by kid), iss, aud
// (a string or an array) containing client_id, azp when present or when several audiences,
// exp and iat with the skew allowance, nonce. Error codes name the reason:
// id_token_malformed, id_token_alg_refused, id_token_unknown_key (refetch the JWKS),
// id_token_signature_invalid, id_token_issuer_mismatch, id_token_audience_mismatch,
// id_token_expired, id_token_issued_in_future, id_token_nonce_mismatch.
Result<IdTokenClaims> VerifyIdToken(std::string_view token, const std::vector<Jwk>& keys,
                                    const IdTokenCheck& check);

// ---- The provider, over HTTP: a seam (curl in production, a fake in tests) ------------------

struct ProviderReply {
  int64_t status = 0;
  std::string body;
};

class OidcTransport {
 public:
  virtual ~OidcTransport() = default;
  virtual Result<ProviderReply> Get(const std::string& url) = 0;
  // POST application/x-www-form-urlencoded with an Authorization header.
  virtual Result<ProviderReply> PostForm(const std::string& url, const std::string& form,
                                         const std::string& authorization) = 0;
};

// libcurl, with kOidcHttpTimeoutMs, kOidcResponseBytesMax, no redirects, http(s) only
// (oidc_http.cpp). Construct it before threads start (it initialises libcurl once).
std::unique_ptr<OidcTransport> MakeCurlTransport();

// ---- The use case --------------------------------------------------------------------------

struct OidcStart {
  std::string authorization_url;  // where to send the browser
  std::string browser_token;      // the value of the binding cookie
};

struct OidcCallback {
  std::string code;
  std::string state;
  std::string provider_error;  // `error` when the provider refused or the person cancelled
  std::string browser_token;   // from the binding cookie
};

struct OidcFinish {
  LoginOutcome login;
  std::string next;
};

class Oidc {
 public:
  Oidc(storage::Database& database, const Clock& clock, const Authorizer& authorizer,
       IdentityOptions identity_options, OidcOptions options, OidcTransport& transport);

  bool enabled() const { return options_.enabled(); }
  const std::string& display_name() const { return options_.display_name; }

  // Errors: disabled, invalid_next, busy, provider_unavailable.
  Result<OidcStart> Start(std::string_view next);

  // Errors (codes the login page explains): disabled, invalid_request, provider_error,
  // state_missing, state_mismatch, state_invalid, state_used, provider_unavailable,
  // token_refused, id_token_invalid, email_unverified, no_account, account_conflict.
  Result<OidcFinish> Finish(const OidcCallback& callback, std::string_view request_id);

 private:
  struct PendingLogin {
    std::string nonce;
    std::string code_verifier;
    std::string next;
  };

  Result<ProviderMetadata> Metadata();
  Result<std::vector<Jwk>> Keys(bool refresh);
  Result<PendingLogin> ConsumeLogin(const OidcCallback& callback);
  Result<IdTokenClaims> Redeem(const ProviderMetadata& provider, const OidcCallback& callback,
                               const PendingLogin& login);
  Result<IdTokenClaims> CheckIdToken(std::string_view id_token, std::string_view nonce);
  Result<LoginOutcome> SignIn(const IdTokenClaims& claims, std::string_view request_id);

  storage::Database& database_;
  const Clock& clock_;
  const Authorizer& authorizer_;
  const IdentityOptions identity_options_;
  const OidcOptions options_;
  OidcTransport& transport_;

  // Handlers run on several pool threads: the caches are shared under this lock, which is
  // never held during a request to the provider.
  std::mutex mutex_;
  std::optional<ProviderMetadata> metadata_;
  int64_t metadata_fetched_ms_ = 0;
  std::vector<Jwk> keys_;
  int64_t keys_fetched_ms_ = 0;
};

// GET /api/v1/oidc (for the login page), /api/v1/oidc/login and /api/v1/oidc/callback: all
// public. The last two are browser navigations: they answer with redirects, failures included
// (to /login?oidc_error=<code>), never with a JSON page (oidc_http.cpp).
void AddOidcRoutes(http::Router& router, IdentityHttpContext& context, Oidc& oidc);

}  // namespace guichet::identity
