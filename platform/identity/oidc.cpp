#include "platform/identity/oidc.h"

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include "platform/base/crypto.h"
#include "platform/identity/identity_internal.h"

namespace guichet::identity {
namespace {

using boost::json::object;
using storage::Transaction;
using storage::TransactionMode;

// The same SQL suits both engines.
constexpr std::string_view kSchemaSql =
    "CREATE TABLE oidc_logins (state_hash TEXT PRIMARY KEY, browser_hash TEXT NOT NULL,"
    " nonce TEXT NOT NULL, code_verifier TEXT NOT NULL, next TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT);"
    "CREATE INDEX oidc_logins_expiry ON oidc_logins (expires_at);"
    "CREATE TABLE oidc_identities (issuer TEXT NOT NULL, subject TEXT NOT NULL,"
    " user_id BIGINT NOT NULL REFERENCES users (id), created_at BIGINT NOT NULL,"
    " last_login_at BIGINT NOT NULL, PRIMARY KEY (issuer, subject), UNIQUE (issuer, user_id));";

Error Refused(ErrorKind kind, std::string code, std::string message) {
  return Error{kind, std::move(code), std::move(message), {}};
}

Error Disabled() {
  return Refused(ErrorKind::kNotFound, "disabled", "OpenID Connect login is not configured.");
}

Error TokenError(std::string code, std::string message) {
  return Refused(ErrorKind::kUnauthenticated, std::move(code), std::move(message));
}

Error ProviderUnavailable(std::string message) {
  return Refused(ErrorKind::kUnavailable, "provider_unavailable", std::move(message));
}

// ---- Small decoders ---------------------------------------------------------------------------

std::optional<std::string> DecodeBase64Url(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string bytes(text.size() * 3 / 4 + 3, '\0');
  size_t length = 0;
  const char* end = nullptr;
  const int failed = sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(),
                                       text.data(), text.size(), nullptr, &length, &end,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  if (failed != 0 || end != text.data() + text.size()) return std::nullopt;
  bytes.resize(length);
  return bytes;
}

std::optional<object> ParseObject(std::string_view text) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(text, error);
  if (error || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

std::optional<std::string> StringAt(const object& json, std::string_view key) {
  const boost::json::value* value = json.if_contains(key);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return std::string(value->as_string());
}

// JSON numbers arrive as int64, uint64 or double depending on their spelling.
std::optional<int64_t> IntegerAt(const object& json, std::string_view key) {
  const boost::json::value* value = json.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64() && value->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(value->as_uint64());
  }
  if (value->is_double() && value->as_double() >= 0 && value->as_double() < 9.2e18) {
    return static_cast<int64_t>(value->as_double());
  }
  return std::nullopt;
}

// Some providers send email_verified as the string "true"; absent stays unknown.
std::optional<bool> BooleanAt(const object& json, std::string_view key) {
  const boost::json::value* value = json.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_bool()) return value->as_bool();
  if (value->is_string() && (value->as_string() == "true" || value->as_string() == "false")) {
    return value->as_string() == "true";
  }
  return false;  // anything else is not a "yes"
}

bool IsLoopbackHost(std::string_view host) {
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

}  // namespace

std::vector<storage::Migration> OidcMigrations() {
  return {{"platform.identity.oidc", 1, "create oidc_logins, oidc_identities",
           std::string(kSchemaSql), std::string(kSchemaSql)}};
}

bool IsAllowedProviderUrl(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || parsed->has_userinfo() || parsed->has_fragment()) return false;
  // Boost.URL 1.81 reads "http://127.0.0.1.evil.example" as host 127.0.0.1 and path
  // ".evil.example", where libcurl would go to the host 127.0.0.1.evil.example.
  const std::string_view path = parsed->encoded_path();
  if (!path.empty() && path.front() != '/') return false;
  const std::string_view host = parsed->encoded_host();
  if (host.empty()) return false;
  if (parsed->scheme() == "https") return true;
  return parsed->scheme() == "http" && IsLoopbackHost(host);
}

Status CheckOidcOptions(const OidcOptions& options) {
  if (!options.enabled()) return OkStatus();
  auto invalid = [](std::string message) {
    return Error::Invalid("invalid_setting", std::move(message));
  };
  if (!IsAllowedProviderUrl(options.issuer)) {
    return invalid(fmt::format(
        "oidc_issuer must be an https URL (http only on 127.0.0.1 or localhost), got '{}'",
        options.issuer));
  }
  if (options.client_id.empty() || options.client_secret.empty()) {
    return invalid("oidc_issuer is set: oidc_client_id and oidc_client_secret are needed too");
  }
  auto redirect = boost::urls::parse_absolute_uri(options.redirect_uri);
  if (!redirect || (redirect->scheme() != "https" && redirect->scheme() != "http") ||
      redirect->has_fragment()) {
    return invalid(
        fmt::format("oidc_redirect_uri must be the absolute URL of "
                    "/api/v1/oidc/callback as registered at the provider, got '{}'",
                    options.redirect_uri));
  }
  return OkStatus();
}

std::string PkceChallengeS256(std::string_view verifier) {
  return crypto::ToBase64Url(crypto::Sha256(verifier));
}

bool IsSafeNext(std::string_view next) {
  if (next.empty() || next.size() > kOidcNextLengthMax || next.front() != '/') return false;
  // "//host" and "/\host" are other sites to browsers; controls could split the header.
  if (next.size() > 1 && (next[1] == '/' || next[1] == '\\')) return false;
  for (char c : next) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == '\\') return false;
  }
  return true;
}

std::string FormEncode(std::string_view text) {
  std::string encoded;
  encoded.reserve(text.size() * 3);
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded.push_back(c);
    } else {
      encoded += fmt::format("%{:02X}", byte);
    }
  }
  return encoded;
}

// ---- Discovery and keys ---------------------------------------------------------------------

Result<ProviderMetadata> ParseDiscovery(std::string_view json, std::string_view expected_issuer) {
  auto document = ParseObject(json);
  if (!document) return ProviderUnavailable("The discovery document is not a JSON object.");
  ProviderMetadata metadata;
  metadata.issuer = StringAt(*document, "issuer").value_or("");
  if (metadata.issuer != expected_issuer) {
    return ProviderUnavailable(
        fmt::format("The discovery document names the issuer '{}', not the configured '{}'.",
                    metadata.issuer, expected_issuer));
  }
  metadata.authorization_endpoint = StringAt(*document, "authorization_endpoint").value_or("");
  metadata.token_endpoint = StringAt(*document, "token_endpoint").value_or("");
  metadata.jwks_uri = StringAt(*document, "jwks_uri").value_or("");
  for (const std::string* url :
       {&metadata.authorization_endpoint, &metadata.token_endpoint, &metadata.jwks_uri}) {
    if (!IsAllowedProviderUrl(*url)) {
      return ProviderUnavailable(fmt::format(
          "The discovery document lacks an endpoint, or gives one that is not https: '{}'.", *url));
    }
  }
  return metadata;
}

Result<std::vector<Jwk>> ParseJwks(std::string_view json) {
  auto document = ParseObject(json);
  const boost::json::value* keys = document ? document->if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) {
    return ProviderUnavailable("The JWKS is not a JSON object with a 'keys' array.");
  }
  std::vector<Jwk> found;
  for (const boost::json::value& key : keys->as_array()) {
    if (!key.is_object() || found.size() >= kOidcJwksKeysMax) continue;
    const object& jwk = key.as_object();
    const auto use = StringAt(jwk, "use");
    const auto alg = StringAt(jwk, "alg");
    if (StringAt(jwk, "kty") != "RSA" || (use && *use != "sig") || (alg && *alg != "RS256")) {
      continue;
    }
    auto n = StringAt(jwk, "n");
    auto e = StringAt(jwk, "e");
    if (!n || !e) continue;
    found.push_back({StringAt(jwk, "kid").value_or(""), std::move(*n), std::move(*e)});
  }
  return found;
}

// ---- RS256 ------------------------------------------------------------------------------------

namespace {

struct OpenSslFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(EVP_PKEY_CTX* context) const { EVP_PKEY_CTX_free(context); }
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
  void operator()(BIGNUM* number) const { BN_free(number); }
  void operator()(OSSL_PARAM_BLD* builder) const { OSSL_PARAM_BLD_free(builder); }
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
template <typename T>
using Owned = std::unique_ptr<T, OpenSslFree>;

Owned<BIGNUM> BigNumber(std::string_view base64url) {
  auto bytes = DecodeBase64Url(base64url);
  if (!bytes || bytes->empty()) return nullptr;
  return Owned<BIGNUM>(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()),
                                 static_cast<int>(bytes->size()), nullptr));
}

// OpenSSL 3: the public key from its JWK modulus and exponent; null when unusable or short.
Owned<EVP_PKEY> RsaPublicKey(const Jwk& jwk) {
  Owned<BIGNUM> n = BigNumber(jwk.n);
  Owned<BIGNUM> e = BigNumber(jwk.e);
  Owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!n || !e || !builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return nullptr;
  }
  Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder.get()));
  Owned<EVP_PKEY_CTX> context(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  Owned<EVP_PKEY> owned(key);
  if (EVP_PKEY_get_bits(owned.get()) < kOidcRsaBitsMin) return nullptr;
  return owned;
}

bool VerifyRs256(EVP_PKEY* key, std::string_view signed_text, std::string_view signature) {
  Owned<EVP_MD_CTX> context(EVP_MD_CTX_new());
  return context && EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(signed_text.data()),
                          signed_text.size()) == 1;
}

struct Jwt {
  object header;
  object payload;
  std::string_view signed_text;  // "header.payload", as received
  std::string signature;
};

Result<Jwt> SplitJwt(std::string_view token) {
  auto malformed = [](std::string_view why) {
    return TokenError("id_token_malformed", fmt::format("The ID token is malformed: {}.", why));
  };
  if (token.size() > kOidcIdTokenBytesMax) return malformed("too long");
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return malformed("not three parts");
  }
  auto header = DecodeBase64Url(token.substr(0, first));
  auto payload = DecodeBase64Url(token.substr(first + 1, second - first - 1));
  auto signature = DecodeBase64Url(token.substr(second + 1));
  if (!header || !payload || !signature) return malformed("not base64url");
  auto header_json = ParseObject(*header);
  auto payload_json = ParseObject(*payload);
  if (!header_json || !payload_json) return malformed("not JSON objects");
  return Jwt{std::move(*header_json), std::move(*payload_json), token.substr(0, second),
             std::move(*signature)};
}

// Only RS256: "none", HMAC (keyed with the public key: the algorithm confusion attack) and
// anything else are out.
Status CheckSignature(const Jwt& jwt, const std::vector<Jwk>& keys) {
  const auto alg = StringAt(jwt.header, "alg");
  if (alg != "RS256" || jwt.header.contains("crit")) {
    return TokenError(
        "id_token_alg_refused",
        fmt::format("ID tokens must be signed with RS256, not '{}'.", alg.value_or("?")));
  }
  const auto kid = StringAt(jwt.header, "kid");
  bool known = false;
  for (const Jwk& jwk : keys) {
    if (kid && jwk.kid != *kid) continue;
    known = true;
    Owned<EVP_PKEY> key = RsaPublicKey(jwk);
    if (key && VerifyRs256(key.get(), jwt.signed_text, jwt.signature)) return OkStatus();
  }
  if (!known) {
    return TokenError("id_token_unknown_key",
                      fmt::format("No key of the provider has the id '{}'.", kid.value_or("")));
  }
  return TokenError("id_token_signature_invalid", "The ID token signature does not verify.");
}

Status CheckAudience(const object& claims, std::string_view client_id) {
  const boost::json::value* aud = claims.if_contains("aud");
  size_t audiences = 0;
  bool ours = false;
  if (aud != nullptr && aud->is_string()) {
    audiences = 1;
    ours = aud->as_string() == client_id;
  } else if (aud != nullptr && aud->is_array()) {
    for (const boost::json::value& item : aud->as_array()) {
      ++audiences;
      ours = ours || (item.is_string() && item.as_string() == client_id);
    }
  }
  const auto azp = StringAt(claims, "azp");
  const bool azp_ok = azp ? *azp == client_id : (audiences <= 1 && !claims.contains("azp"));
  if (!ours || !azp_ok) {
    return TokenError("id_token_audience_mismatch",
                      "The ID token was not issued for this client (aud, azp).");
  }
  return OkStatus();
}

Result<IdTokenClaims> CheckClaims(const object& claims, const IdTokenCheck& check) {
  if (StringAt(claims, "iss") != std::string(check.issuer)) {
    return TokenError("id_token_issuer_mismatch", "The ID token comes from another issuer.");
  }
  GUICHET_TRY_STATUS(CheckAudience(claims, check.client_id));
  const auto expires = IntegerAt(claims, "exp");
  const auto issued = IntegerAt(claims, "iat");
  if (!expires || !issued) return TokenError("id_token_malformed", "exp or iat is missing.");
  if (check.now_s >= *expires + check.skew_s) {
    return TokenError("id_token_expired", "The ID token has expired.");
  }
  if (*issued > check.now_s + check.skew_s) {
    return TokenError("id_token_issued_in_future", "The ID token is dated in the future.");
  }
  const auto nonce = StringAt(claims, "nonce");
  if (!nonce || !crypto::ConstantTimeEquals(*nonce, check.nonce)) {
    return TokenError("id_token_nonce_mismatch", "The ID token answers another login (nonce).");
  }
  IdTokenClaims result;
  result.subject = StringAt(claims, "sub").value_or("");
  if (result.subject.empty() || result.subject.size() > kOidcSubjectLengthMax) {
    return TokenError("id_token_malformed", "sub is missing or too long.");
  }
  result.email = StringAt(claims, "email");
  result.email_verified = BooleanAt(claims, "email_verified");
  result.expires_at_s = *expires;
  result.issued_at_s = *issued;
  return result;
}

}  // namespace

Result<IdTokenClaims> VerifyIdToken(std::string_view token, const std::vector<Jwk>& keys,
                                    const IdTokenCheck& check) {
  GUICHET_ASSERT(!check.issuer.empty() && !check.client_id.empty() && !check.nonce.empty());
  auto jwt = SplitJwt(token);
  if (!jwt.ok()) return std::move(jwt).error();
  // The signature first: nothing in an unverified payload is looked at.
  GUICHET_TRY_STATUS(CheckSignature(*jwt, keys));
  return CheckClaims(jwt->payload, check);
}

// ---- The use case ---------------------------------------------------------------------------

namespace {

std::string DiscoveryUrl(std::string_view issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.remove_suffix(1);
  return fmt::format("{}/.well-known/openid-configuration", issuer);
}

std::string AuthorizationUrl(const ProviderMetadata& provider, const OidcOptions& options,
                             std::string_view state, std::string_view nonce,
                             std::string_view verifier) {
  const char separator = provider.authorization_endpoint.find('?') == std::string::npos ? '?' : '&';
  return fmt::format(
      "{}{}response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&nonce={}"
      "&code_challenge={}&code_challenge_method=S256",
      provider.authorization_endpoint, separator, FormEncode(options.client_id),
      FormEncode(options.redirect_uri), FormEncode(kOidcScope), state, nonce,
      PkceChallengeS256(verifier));
}

// RFC 6749 §2.3.1: client id and secret are form-encoded before the Basic encoding.
std::string BasicAuthorization(std::string_view client_id, std::string_view secret) {
  const std::string pair = fmt::format("{}:{}", FormEncode(client_id), FormEncode(secret));
  std::string encoded(4 * ((pair.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                     reinterpret_cast<const unsigned char*>(pair.data()),
                                     static_cast<int>(pair.size()));
  encoded.resize(static_cast<size_t>(length));
  return "Basic " + encoded;
}

Result<ProviderReply> FetchJson(OidcTransport& transport, const std::string& url,
                                std::string_view what) {
  auto reply = transport.Get(url);
  if (!reply.ok()) return std::move(reply).error();
  if (reply->status != 200) {
    return ProviderUnavailable(
        fmt::format("The provider answered {} for its {}.", reply->status, what));
  }
  return reply;
}

}  // namespace

Oidc::Oidc(storage::Database& database, const Clock& clock, const Authorizer& authorizer,
           IdentityOptions identity_options, OidcOptions options, OidcTransport& transport)
    : database_(database),
      clock_(clock),
      authorizer_(authorizer),
      identity_options_(std::move(identity_options)),
      options_(std::move(options)),
      transport_(transport) {
  GUICHET_ASSERT(CheckOidcOptions(options_).ok());
}

Result<ProviderMetadata> Oidc::Metadata() {
  const int64_t now = clock_.NowMs();
  {
    std::lock_guard lock(mutex_);
    if (metadata_ && now - metadata_fetched_ms_ < kOidcDiscoveryCacheS * 1000) return *metadata_;
  }
  auto reply = FetchJson(transport_, DiscoveryUrl(options_.issuer), "discovery document");
  if (!reply.ok()) return std::move(reply).error();
  auto metadata = ParseDiscovery(reply->body, options_.issuer);
  if (!metadata.ok()) return std::move(metadata).error();
  std::lock_guard lock(mutex_);
  metadata_ = *metadata;
  metadata_fetched_ms_ = now;
  return metadata;
}

Result<std::vector<Jwk>> Oidc::Keys(bool refresh) {
  const int64_t now = clock_.NowMs();
  {
    std::lock_guard lock(mutex_);
    const int64_t age_ms = now - keys_fetched_ms_;
    const bool fresh = keys_fetched_ms_ > 0 && age_ms < kOidcJwksCacheS * 1000;
    // An unknown kid may mean a key rotation, or a forged token: refetch, but not on every one.
    if (fresh && (!refresh || age_ms < kOidcJwksRefetchMinS * 1000)) return keys_;
  }
  auto provider = Metadata();
  if (!provider.ok()) return std::move(provider).error();
  auto reply = FetchJson(transport_, provider->jwks_uri, "JWKS");
  if (!reply.ok()) return std::move(reply).error();
  auto keys = ParseJwks(reply->body);
  if (!keys.ok()) return std::move(keys).error();
  std::lock_guard lock(mutex_);
  keys_ = *keys;
  keys_fetched_ms_ = now;
  return keys;
}

Result<OidcStart> Oidc::Start(std::string_view next) {
  if (!enabled()) return Disabled();
  if (!IsSafeNext(next)) {
    return Refused(ErrorKind::kInvalidInput, "invalid_next",
                   "next must be a path of this site, such as /staff.");
  }
  auto provider = Metadata();
  if (!provider.ok()) return std::move(provider).error();
  const std::string state = crypto::RandomToken(32);
  const std::string nonce = crypto::RandomToken(32);
  const std::string verifier = crypto::RandomToken(32);  // 43 characters (RFC 7636: 43..128)
  OidcStart start{AuthorizationUrl(*provider, options_, state, nonce, verifier),
                  crypto::RandomToken(32)};
  const int64_t now = clock_.NowMs();
  GUICHET_TRY_STATUS(
      database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
        GUICHET_TRY_STATUS(tx.Execute("DELETE FROM oidc_logins WHERE expires_at <= $1", {now}));
        auto pending = tx.QueryOne("SELECT COUNT(*) FROM oidc_logins", {});
        if (!pending.ok()) return std::move(pending).error();
        if ((*pending)->Int(0) >= kOidcPendingLoginsMax) {
          return Refused(ErrorKind::kTooManyRequests, "busy",
                         "Too many logins are under way: try again in a few minutes.");
        }
        GUICHET_TRY_STATUS(tx.Execute(
            "INSERT INTO oidc_logins (state_hash, browser_hash, nonce, code_verifier, next,"
            " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            {crypto::Sha256Hex(state), crypto::Sha256Hex(start.browser_token), nonce, verifier,
             std::string(next), now, now + kOidcLoginLifetimeS * 1000}));
        return Ok{};
      }));
  return start;
}

Result<Oidc::PendingLogin> Oidc::ConsumeLogin(const OidcCallback& callback) {
  const int64_t now = clock_.NowMs();
  const std::string state_hash = crypto::Sha256Hex(callback.state);
  auto start_again = [](std::string code, std::string_view why) {
    return Refused(ErrorKind::kInvalidInput, std::move(code),
                   fmt::format("{}: start the login again.", why));
  };
  return database_.Transact<PendingLogin>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<PendingLogin> {
        auto row = tx.QueryOne(
            "SELECT browser_hash, nonce, code_verifier, next, expires_at, used_at"
            " FROM oidc_logins WHERE state_hash = $1",
            {state_hash});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value() || (*row)->Int(4) <= now) {
          return start_again("state_invalid", "This login is unknown or has expired");
        }
        const storage::Row& found = **row;
        // Another browser than the one that started: a leaked or planted callback URL.
        if (!crypto::ConstantTimeEquals(found.Text(0), crypto::Sha256Hex(callback.browser_token))) {
          return start_again("state_mismatch", "This login was started in another browser");
        }
        auto used = tx.Execute(
            "UPDATE oidc_logins SET used_at = $1 WHERE state_hash = $2 AND used_at IS NULL",
            {now, state_hash});
        if (!used.ok()) return std::move(used).error();
        if (*used != 1) return start_again("state_used", "This login was already completed");
        return PendingLogin{found.Text(1), found.Text(2), found.Text(3)};
      });
}

Result<IdTokenClaims> Oidc::CheckIdToken(std::string_view id_token, std::string_view nonce) {
  IdTokenCheck check{options_.issuer, options_.client_id, nonce, clock_.NowMs() / 1000};
  auto keys = Keys(false);
  if (!keys.ok()) return std::move(keys).error();
  auto claims = VerifyIdToken(id_token, *keys, check);
  if (!claims.ok() && claims.error().code == "id_token_unknown_key") {
    keys = Keys(true);
    if (!keys.ok()) return std::move(keys).error();
    claims = VerifyIdToken(id_token, *keys, check);
  }
  if (!claims.ok()) {
    // The precise reason goes to the log; the person is told the provider's answer was refused.
    return TokenError("id_token_invalid",
                      fmt::format("{}: {}", claims.error().code, claims.error().message));
  }
  return claims;
}

Result<IdTokenClaims> Oidc::Redeem(const ProviderMetadata& provider, const OidcCallback& callback,
                                   const PendingLogin& login) {
  const std::string form =
      fmt::format("grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
                  FormEncode(callback.code), FormEncode(options_.redirect_uri),
                  FormEncode(login.code_verifier));
  auto reply = transport_.PostForm(provider.token_endpoint, form,
                                   BasicAuthorization(options_.client_id, options_.client_secret));
  if (!reply.ok()) return std::move(reply).error();
  auto answer = ParseObject(reply->body);
  if (reply->status != 200) {
    const std::string error = answer ? StringAt(*answer, "error").value_or("?") : "?";
    return TokenError("token_refused",
                      fmt::format("The token endpoint answered {} ({}).", reply->status, error));
  }
  const auto id_token = answer ? StringAt(*answer, "id_token") : std::nullopt;
  if (!id_token) return TokenError("token_refused", "The token answer holds no id_token.");
  return CheckIdToken(*id_token, login.nonce);
}

namespace {

Error NoAccount(std::string_view why) {
  return Refused(
      ErrorKind::kForbidden, "no_account",
      fmt::format("{}: ask an administrator for a staff account with this e-mail.", why));
}

struct MappedAccount {
  internal::UserRow user;
  bool linked_now = false;
};

// The remembered (issuer, subject) link first, so that an e-mail changed at the provider still
// maps; else the verified e-mail of an active account, which is then linked. One subject per
// account and issuer: an address handed to another person at the provider gains nothing.
Result<MappedAccount> MapAccount(Transaction& tx, const std::string& issuer,
                                 const IdTokenClaims& claims, int64_t now_ms) {
  auto link = tx.QueryOne("SELECT user_id FROM oidc_identities WHERE issuer = $1 AND subject = $2",
                          {issuer, claims.subject});
  if (!link.ok()) return std::move(link).error();
  if (link->has_value()) {
    auto user = internal::FindUser(tx, (*link)->Int(0));
    if (!user.ok()) return std::move(user).error();
    if (!user->has_value() || (*user)->status != "active") {
      return NoAccount("The staff account linked to this identity is not active");
    }
    GUICHET_TRY_STATUS(tx.Execute(
        "UPDATE oidc_identities SET last_login_at = $1 WHERE issuer = $2 AND subject = $3",
        {now_ms, issuer, claims.subject}));
    return MappedAccount{**user, false};
  }
  if (!claims.email) return NoAccount("The provider sent no e-mail address");
  if (claims.email_verified == false) {
    return Refused(ErrorKind::kForbidden, "email_unverified",
                   "The provider has not verified this e-mail address.");
  }
  auto user = internal::FindUserByEmail(tx, NormalizeEmail(*claims.email));
  if (!user.ok()) return std::move(user).error();
  if (!user->has_value() || (*user)->status != "active") {
    return NoAccount("No active staff account has this e-mail");
  }
  auto other = tx.QueryOne("SELECT subject FROM oidc_identities WHERE issuer = $1 AND user_id = $2",
                           {issuer, (*user)->id});
  if (!other.ok()) return std::move(other).error();
  if (other->has_value()) {
    return Refused(ErrorKind::kForbidden, "account_conflict",
                   "This staff account is already linked to another identity of this provider.");
  }
  GUICHET_TRY_STATUS(
      tx.Execute("INSERT INTO oidc_identities (issuer, subject, user_id, created_at, last_login_at)"
                 " VALUES ($1, $2, $3, $4, $4)",
                 {issuer, claims.subject, (*user)->id, now_ms}));
  return MappedAccount{**user, true};
}

}  // namespace

// The same session as a password login: a pending one when the account has an authenticator
// app, and strong profiles without one must enrol before any right applies.
Result<LoginOutcome> Oidc::SignIn(const IdTokenClaims& claims, std::string_view request_id) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<LoginOutcome>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<LoginOutcome> {
        auto mapped = MapAccount(tx, options_.issuer, claims, now);
        if (!mapped.ok()) return std::move(mapped).error();
        const internal::UserRow& account = mapped->user;
        auto grants = internal::LoadGrants(tx, account.id);
        if (!grants.ok()) return std::move(grants).error();
        LoginOutcome login;
        login.user = internal::ToView(account, std::move(*grants), authorizer_.catalog());
        login.second_factor_pending = account.totp_secret.has_value();
        login.second_factor_enrolment_required =
            login.user.second_factor_required && !account.totp_secret;
        auto tokens = internal::CreateSession(tx, account.id, false, login.second_factor_pending,
                                              now, identity_options_);
        if (!tokens.ok()) return std::move(tokens).error();
        login.tokens = std::move(*tokens);
        Caller actor;
        actor.kind = Caller::Kind::kUser;
        actor.id = account.id;
        actor.request_id = std::string(request_id);
        object identity{{"issuer", options_.issuer}, {"subject", claims.subject}};
        if (mapped->linked_now) {
          GUICHET_TRY_STATUS(internal::Audit(tx, &actor, "identity.user.oidc_linked", "user",
                                             account.id, std::nullopt, nullptr, identity, now));
        }
        identity["second_factor_pending"] = login.second_factor_pending;
        GUICHET_TRY_STATUS(internal::Audit(tx, &actor, "identity.user.oidc_login", "user",
                                           account.id, std::nullopt, nullptr, identity, now));
        return login;
      });
}

Result<OidcFinish> Oidc::Finish(const OidcCallback& callback, std::string_view request_id) {
  if (!enabled()) return Disabled();
  if (callback.state.empty() || callback.state.size() > kOidcParameterLengthMax ||
      callback.code.size() > kOidcParameterLengthMax ||
      (callback.code.empty() && callback.provider_error.empty())) {
    return Refused(ErrorKind::kInvalidInput, "invalid_request",
                   "The provider's answer lacks code or state.");
  }
  if (callback.browser_token.empty()) {
    return Refused(ErrorKind::kInvalidInput, "state_missing",
                   "This browser did not start this login (no login cookie): start again.");
  }
  auto login = ConsumeLogin(callback);
  if (!login.ok()) return std::move(login).error();
  if (!callback.provider_error.empty()) {
    return TokenError("provider_error", fmt::format("The provider refused the login ({}).",
                                                    callback.provider_error.substr(0, 64)));
  }
  auto provider = Metadata();
  if (!provider.ok()) return std::move(provider).error();
  auto claims = Redeem(*provider, callback, *login);
  if (!claims.ok()) return std::move(claims).error();
  auto outcome = SignIn(*claims, request_id);
  if (!outcome.ok()) return std::move(outcome).error();
  return OidcFinish{std::move(*outcome), login->next};
}

}  // namespace guichet::identity
