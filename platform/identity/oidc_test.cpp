#include "platform/identity/oidc.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <map>

#include "platform/audit/audit.h"
#include "platform/base/crypto.h"
#include "platform/identity/identity_http.h"
#include "platform/notify/outbox.h"
#include "tests/support/test_databases.h"

namespace guichet::identity {
namespace {

using boost::json::object;
using storage::Transaction;
using storage::TransactionMode;

constexpr std::string_view kIssuer = "https://idp.test";
constexpr std::string_view kClient = "guichet";
constexpr std::string_view kNonce = "n-0S6_WzA2Mj";
constexpr int64_t kNow = 1'800'000'000;

// ---- An RSA key pair made for the tests, publishing itself as a JWK --------------------------

class TestKey {
 public:
  explicit TestKey(std::string kid, size_t bits = 2048)
      : kid_(std::move(kid)), key_(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits)) {
    GUICHET_ASSERT(key_ != nullptr);
  }
  ~TestKey() { EVP_PKEY_free(key_); }
  TestKey(const TestKey&) = delete;
  TestKey& operator=(const TestKey&) = delete;

  Jwk Public() const {
    return {kid_, Component(OSSL_PKEY_PARAM_RSA_N), Component(OSSL_PKEY_PARAM_RSA_E)};
  }

  std::string Sign(std::string_view text) const {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    size_t length = 0;
    GUICHET_ASSERT(EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key_) == 1);
    const auto* data = reinterpret_cast<const unsigned char*>(text.data());
    GUICHET_ASSERT(EVP_DigestSign(context, nullptr, &length, data, text.size()) == 1);
    std::string signature(length, '\0');
    GUICHET_ASSERT(EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()),
                                  &length, data, text.size()) == 1);
    EVP_MD_CTX_free(context);
    signature.resize(length);
    return signature;
  }

  // A JWT with this header and payload, signed by this key.
  std::string Token(const object& header, const object& payload) const {
    const std::string signed_text = crypto::ToBase64Url(boost::json::serialize(header)) + "." +
                                    crypto::ToBase64Url(boost::json::serialize(payload));
    return signed_text + "." + crypto::ToBase64Url(Sign(signed_text));
  }

  std::string Token(const object& payload) const {
    return Token(object{{"alg", "RS256"}, {"kid", kid_}, {"typ", "JWT"}}, payload);
  }

  const std::string& kid() const { return kid_; }

 private:
  std::string Component(const char* name) const {
    BIGNUM* number = nullptr;
    GUICHET_ASSERT(EVP_PKEY_get_bn_param(key_, name, &number) == 1);
    std::string bytes(static_cast<size_t>(BN_num_bytes(number)), '\0');
    BN_bn2bin(number, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(number);
    return crypto::ToBase64Url(bytes);
  }

  std::string kid_;
  EVP_PKEY* key_;
};

// Generated once: RSA key generation takes a while.
const TestKey& KeyA() {
  static const TestKey key("key-a");
  return key;
}
const TestKey& KeyB() {
  static const TestKey key("key-b");
  return key;
}

object Claims(std::string_view subject = "dwho") {
  return {{"iss", kIssuer},
          {"sub", subject},
          {"aud", boost::json::array{kClient}},
          {"azp", kClient},
          {"exp", kNow + 3600},
          {"iat", kNow - 5},
          {"nonce", kNonce},
          {"email", "dwho@badwolf.org"},
          {"email_verified", true}};
}

IdTokenCheck Check(int64_t now_s = kNow) { return {kIssuer, kClient, kNonce, now_s}; }

std::string ErrorCode(const Result<IdTokenClaims>& result) {
  return result.ok() ? "ok" : result.error().code;
}

// ---- The pure parts ---------------------------------------------------------------------------

TEST(OidcPkce, ChallengeMatchesRfc7636AppendixB) {
  EXPECT_EQ(PkceChallengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(OidcNext, OnlyPathsOfThisSite) {
  for (std::string_view good : {"/", "/staff", "/staff?organisation_id=3&x=%2F", "/a/b#c"}) {
    EXPECT_TRUE(IsSafeNext(good)) << good;
  }
  for (std::string_view bad :
       {"", "staff", "//evil.example", "/\\evil.example", "\\\\evil", "https://evil.example/",
        "javascript:alert(1)", "/a\r\nSet-Cookie: x=1", "/a\tb", "/\x7f"}) {
    EXPECT_FALSE(IsSafeNext(bad)) << bad;
  }
  EXPECT_TRUE(IsSafeNext("/" + std::string(kOidcNextLengthMax - 1, 'a')));
  EXPECT_FALSE(IsSafeNext("/" + std::string(kOidcNextLengthMax, 'a')));
}

TEST(OidcUrls, HttpsOrHttpOnLoopback) {
  for (std::string_view good :
       {"https://idp.example.fr", "https://idp.example.fr/realms/x", "http://127.0.0.1:40955",
        "http://localhost:8080/x", "http://[::1]:9000"}) {
    EXPECT_TRUE(IsAllowedProviderUrl(good)) << good;
  }
  for (std::string_view bad : {"", "idp.example.fr", "http://idp.example.fr", "ftp://127.0.0.1",
                               "https://user:pw@idp.example.fr", "https://idp.example.fr/#x",
                               "http://127.0.0.1.evil.example", "http://localhost.evil.example",
                               "http://127.0.0.1@evil.example"}) {
    EXPECT_FALSE(IsAllowedProviderUrl(bad)) << bad;
  }
}

TEST(OidcOptionsCheck, CompleteOrOff) {
  EXPECT_TRUE(CheckOidcOptions({}).ok());
  OidcOptions options{"https://idp.test", "guichet", "secret",
                      "https://guichet.test/api/v1/oidc/callback", "IdP"};
  EXPECT_TRUE(CheckOidcOptions(options).ok());
  OidcOptions plain_http = options;
  plain_http.issuer = "http://idp.test";
  EXPECT_FALSE(CheckOidcOptions(plain_http).ok());
  OidcOptions no_secret = options;
  no_secret.client_secret.clear();
  EXPECT_FALSE(CheckOidcOptions(no_secret).ok());
  OidcOptions relative = options;
  relative.redirect_uri = "/api/v1/oidc/callback";
  EXPECT_FALSE(CheckOidcOptions(relative).ok());
}

TEST(OidcFormEncode, EscapesAllButUnreserved) {
  EXPECT_EQ(FormEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(FormEncode("a b&c=d/é+"), "a%20b%26c%3Dd%2F%C3%A9%2B");
}

TEST(OidcDiscovery, IssuerMustBeTheConfiguredOne) {
  const std::string good = R"({"issuer":"https://idp.test","authorization_endpoint":
      "https://idp.test/authorize","token_endpoint":"https://idp.test/token",
      "jwks_uri":"https://idp.test/jwks"})";
  auto metadata = ParseDiscovery(good, kIssuer);
  ASSERT_TRUE(metadata.ok()) << metadata.error().message;
  EXPECT_EQ(metadata->token_endpoint, "https://idp.test/token");
  EXPECT_EQ(ParseDiscovery(good, "https://idp.test/").error().code, "provider_unavailable");
  EXPECT_FALSE(ParseDiscovery(R"({"issuer":"https://idp.test"})", kIssuer).ok());
  EXPECT_FALSE(ParseDiscovery(R"({"issuer":"https://idp.test","authorization_endpoint":
      "http://idp.test/a","token_endpoint":"https://idp.test/t","jwks_uri":"https://idp.test/j"})",
                              kIssuer)
                   .ok());
  EXPECT_FALSE(ParseDiscovery("not json", kIssuer).ok());
}

TEST(OidcJwks, KeepsRsaSigningKeysOnly) {
  auto keys = ParseJwks(R"({"keys":[
      {"kty":"RSA","kid":"a","use":"sig","alg":"RS256","n":"AQAB","e":"AQAB"},
      {"kty":"RSA","kid":"b","use":"enc","n":"AQAB","e":"AQAB"},
      {"kty":"EC","kid":"c","crv":"P-256","x":"AA","y":"AA"},
      {"kty":"RSA","kid":"d","alg":"RS512","n":"AQAB","e":"AQAB"},
      {"kty":"RSA","n":"AQAB","e":"AQAB"}]})");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].kid, "a");
  EXPECT_EQ((*keys)[1].kid, "");
  EXPECT_FALSE(ParseJwks(R"({"keys":{}})").ok());
}

// ---- ID token verification ----------------------------------------------------------------

TEST(OidcIdToken, AValidTokenGivesItsClaims) {
  auto claims = VerifyIdToken(KeyA().Token(Claims()), {KeyB().Public(), KeyA().Public()}, Check());
  ASSERT_TRUE(claims.ok()) << claims.error().code << " " << claims.error().message;
  EXPECT_EQ(claims->subject, "dwho");
  EXPECT_EQ(claims->email, "dwho@badwolf.org");
  EXPECT_EQ(claims->email_verified, true);
  EXPECT_EQ(claims->expires_at_s, kNow + 3600);
}

TEST(OidcIdToken, AudienceMayBeAStringAndAzpMayBeAbsent) {
  object payload = Claims();
  payload["aud"] = kClient;
  payload.erase("azp");
  EXPECT_EQ(ErrorCode(VerifyIdToken(KeyA().Token(payload), {KeyA().Public()}, Check())), "ok");
}

TEST(OidcIdToken, AWrongOrTamperedSignatureIsRefused) {
  // Signed by B, presented as A's.
  const std::string forged = KeyB().Token(object{{"alg", "RS256"}, {"kid", "key-a"}}, Claims());
  EXPECT_EQ(ErrorCode(VerifyIdToken(forged, {KeyA().Public()}, Check())),
            "id_token_signature_invalid");
  // A's token with another subject pasted in.
  const std::string token = KeyA().Token(Claims());
  const size_t first = token.find('.');
  const size_t second = token.find('.', first + 1);
  const std::string other = token.substr(0, first + 1) +
                            crypto::ToBase64Url(boost::json::serialize(Claims("rtyler"))) +
                            token.substr(second);
  EXPECT_EQ(ErrorCode(VerifyIdToken(other, {KeyA().Public()}, Check())),
            "id_token_signature_invalid");
  EXPECT_EQ(ErrorCode(VerifyIdToken(token, {KeyB().Public()}, Check())), "id_token_unknown_key");
}

TEST(OidcIdToken, AlgNoneAndHmacAreRefused) {
  const std::string payload = crypto::ToBase64Url(boost::json::serialize(Claims()));
  const std::string none = crypto::ToBase64Url(R"({"alg":"none"})") + "." + payload + ".";
  EXPECT_EQ(ErrorCode(VerifyIdToken(none, {KeyA().Public()}, Check())), "id_token_alg_refused");
  // HS256 keyed with the public modulus: the classic confusion attack.
  const std::string header = crypto::ToBase64Url(R"({"alg":"HS256","kid":"key-a"})");
  const std::string mac = crypto::HmacSha256(KeyA().Public().n, header + "." + payload);
  EXPECT_EQ(ErrorCode(VerifyIdToken(header + "." + payload + "." + crypto::ToBase64Url(mac),
                                    {KeyA().Public()}, Check())),
            "id_token_alg_refused");
  const std::string critical =
      KeyA().Token(object{{"alg", "RS256"}, {"kid", "key-a"}, {"crit", {"exp"}}}, Claims());
  EXPECT_EQ(ErrorCode(VerifyIdToken(critical, {KeyA().Public()}, Check())), "id_token_alg_refused");
}

TEST(OidcIdToken, IssuerAudienceAndAzpMustBeOurs) {
  const std::vector<Jwk> keys = {KeyA().Public()};
  object other_issuer = Claims();
  other_issuer["iss"] = "https://evil.test";
  EXPECT_EQ(ErrorCode(VerifyIdToken(KeyA().Token(other_issuer), keys, Check())),
            "id_token_issuer_mismatch");
  object other_audience = Claims();
  other_audience["aud"] = boost::json::array{"someone-else"};
  other_audience.erase("azp");
  EXPECT_EQ(ErrorCode(VerifyIdToken(KeyA().Token(other_audience), keys, Check())),
            "id_token_audience_mismatch");
  object other_azp = Claims();
  other_azp["azp"] = "someone-else";
  EXPECT_EQ(ErrorCode(VerifyIdToken(KeyA().Token(other_azp), keys, Check())),
            "id_token_audience_mismatch");
  object several = Claims();
  several["aud"] = boost::json::array{kClient, "someone-else"};
  several.erase("azp");
  EXPECT_EQ(ErrorCode(VerifyIdToken(KeyA().Token(several), keys, Check())),
            "id_token_audience_mismatch");
  several["azp"] = kClient;
  EXPECT_EQ(ErrorCode(VerifyIdToken(KeyA().Token(several), keys, Check())), "ok");
}

TEST(OidcIdToken, ExpiryAndIssueTimeAllowASmallSkew) {
  const std::vector<Jwk> keys = {KeyA().Public()};
  object expired = Claims();
  expired["exp"] = kNow - kOidcClockSkewS;
  EXPECT_EQ(ErrorCode(VerifyIdToken(KeyA().Token(expired), keys, Check())), "id_token_expired");
  expired["exp"] = kNow - kOidcClockSkewS + 1;
  EXPECT_EQ(ErrorCode(VerifyIdToken(KeyA().Token(expired), keys, Check())), "ok");
  object future = Claims();
  future["iat"] = kNow + kOidcClockSkewS + 1;
  EXPECT_EQ(ErrorCode(VerifyIdToken(KeyA().Token(future), keys, Check())),
            "id_token_issued_in_future");
  object no_exp = Claims();
  no_exp.erase("exp");
  EXPECT_EQ(ErrorCode(VerifyIdToken(KeyA().Token(no_exp), keys, Check())), "id_token_malformed");
}

TEST(OidcIdToken, TheNonceMustBeThisLogins) {
  object other = Claims();
  other["nonce"] = "another-login";
  EXPECT_EQ(ErrorCode(VerifyIdToken(KeyA().Token(other), {KeyA().Public()}, Check())),
            "id_token_nonce_mismatch");
  other.erase("nonce");
  EXPECT_EQ(ErrorCode(VerifyIdToken(KeyA().Token(other), {KeyA().Public()}, Check())),
            "id_token_nonce_mismatch");
}

TEST(OidcIdToken, MalformedTokensAndWeakKeysAreRefused) {
  for (std::string_view bad : {"", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.e30"}) {
    EXPECT_NE(ErrorCode(VerifyIdToken(bad, {KeyA().Public()}, Check())), "ok") << bad;
  }
  EXPECT_EQ(ErrorCode(VerifyIdToken(std::string(kOidcIdTokenBytesMax + 1, 'a'), {KeyA().Public()},
                                    Check())),
            "id_token_malformed");
  const TestKey weak("weak", 1024);
  EXPECT_EQ(ErrorCode(VerifyIdToken(weak.Token(Claims()), {weak.Public()}, Check())),
            "id_token_signature_invalid");
}

TEST(OidcIdToken, EmailVerifiedMayBeAString) {
  object payload = Claims();
  payload["email_verified"] = "false";
  auto claims = VerifyIdToken(KeyA().Token(payload), {KeyA().Public()}, Check());
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->email_verified, false);
  payload.erase("email_verified");
  claims = VerifyIdToken(KeyA().Token(payload), {KeyA().Public()}, Check());
  ASSERT_TRUE(claims.ok());
  EXPECT_FALSE(claims->email_verified.has_value());
}

// ---- The whole flow, with a fake provider, on both databases ----------------------------------

std::map<std::string, std::string> QueryOf(std::string_view url) {
  std::map<std::string, std::string> params;
  auto parsed = boost::urls::parse_uri_reference(url);
  GUICHET_ASSERT(parsed.has_value());
  for (const auto& param : parsed->params())
    params[std::string(param.key)] = std::string(param.value);
  return params;
}

// What a provider does at its discovery, JWKS and token endpoints, and what it was asked.
class FakeProvider final : public OidcTransport {
 public:
  Result<ProviderReply> Get(const std::string& url) override {
    if (url == std::string(kIssuer) + "/.well-known/openid-configuration") {
      ++discovery_fetches;
      const object document{{"issuer", discovery_issuer},
                            {"authorization_endpoint", std::string(kIssuer) + "/authorize"},
                            {"token_endpoint", std::string(kIssuer) + "/token"},
                            {"jwks_uri", std::string(kIssuer) + "/jwks"}};
      return ProviderReply{200, boost::json::serialize(document)};
    }
    if (url == std::string(kIssuer) + "/jwks") {
      ++jwks_fetches;
      boost::json::array keys;
      for (const TestKey* key : published) {
        const Jwk jwk = key->Public();
        keys.push_back(
            object{{"kty", "RSA"}, {"use", "sig"}, {"kid", jwk.kid}, {"n", jwk.n}, {"e", jwk.e}});
      }
      return ProviderReply{200, boost::json::serialize(object{{"keys", std::move(keys)}})};
    }
    return ProviderReply{404, "{}"};
  }

  // Checks the client's authentication and the PKCE verifier against the challenge it was
  // sent, as a provider must, then answers with an ID token for `claims`.
  Result<ProviderReply> PostForm(const std::string& url, const std::string& form,
                                 const std::string& authorization) override {
    EXPECT_EQ(url, std::string(kIssuer) + "/token");
    EXPECT_EQ(authorization, "Basic Z3VpY2hldDpzM2NyZXQlMjA=");  // "guichet:s3cret%20"
    auto sent = QueryOf("?" + form);
    if (token_status != 200) return ProviderReply{token_status, R"({"error":"invalid_grant"})"};
    if (sent["grant_type"] != "authorization_code" || sent["code"] != "the-code" ||
        sent["redirect_uri"] != "https://guichet.test/api/v1/oidc/callback" ||
        PkceChallengeS256(sent["code_verifier"]) != authorize["code_challenge"]) {
      return ProviderReply{400, R"({"error":"invalid_grant"})"};
    }
    object payload = claims;
    payload["nonce"] = authorize["nonce"];
    payload["iat"] = now_s;
    payload["exp"] = now_s + 300;
    return ProviderReply{200, boost::json::serialize(object{{"access_token", "opaque"},
                                                            {"token_type", "Bearer"},
                                                            {"id_token", signer->Token(payload)}})};
  }

  std::string discovery_issuer = std::string(kIssuer);
  std::vector<const TestKey*> published = {&KeyA()};
  const TestKey* signer = &KeyA();
  object claims = Claims();
  std::map<std::string, std::string> authorize;  // the parameters of the last authorization URL
  int64_t now_s = 0;
  int64_t token_status = 200;
  int discovery_fetches = 0;
  int jwks_fetches = 0;
};

class OidcFlowTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    test_ = testing::TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces : {orgs::Migrations(), audit::Migrations(), notify::Migrations(), Migrations(),
                        OidcMigrations()}) {
      all.insert(all.end(), pieces.begin(), pieces.end());
    }
    ASSERT_TRUE(storage::Migrate(db(), all, clock_).ok());
    options_.password_hash = {1, 8 * 1024};
    identity_ = std::make_unique<Identity>(db(), clock_, authorizer_, options_);
    oidc_ =
        std::make_unique<Oidc>(db(), clock_, authorizer_, options_,
                               OidcOptions{std::string(kIssuer), std::string(kClient), "s3cret ",
                                           "https://guichet.test/api/v1/oidc/callback", "IdP"},
                               provider_);
    auto city = db().Transact<orgs::Organisation>(
        TransactionMode::kWrite, [&](Transaction& tx) -> Result<orgs::Organisation> {
          auto root = orgs::Create(tx, {std::nullopt, "syndicate", "Syndicat"}, clock_.NowMs());
          if (!root.ok()) return std::move(root).error();
          return orgs::Create(tx, {root->id, "city", "Ville"}, clock_.NowMs());
        });
    ASSERT_TRUE(city.ok()) << city.error().message;
    city_id_ = city->id;
    dwho_ = Staff("dwho@badwolf.org", "agent");
  }

  storage::Database& db() { return test_->db(); }

  int64_t Staff(const std::string& email, const std::string& profile) {
    NewStaff staff{email, "Doctor Who", "fr", city_id_, {profile}, std::nullopt, false};
    auto id = identity_->BootstrapStaff(staff);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }

  void Sql(const std::string& sql, std::vector<storage::Param> params) {
    auto done = db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
      GUICHET_TRY_STATUS(tx.Execute(sql, params));
      return Ok{};
    });
    ASSERT_TRUE(done.ok()) << done.error().message;
  }

  // Start, then the provider's redirect back as the browser would bring it.
  Result<OidcFinish> LogIn(std::string_view next = "/") {
    auto started = oidc_->Start(next);
    if (!started.ok()) return std::move(started).error();
    provider_.authorize = QueryOf(started->authorization_url);
    provider_.now_s = clock_.NowMs() / 1000;
    return oidc_->Finish({"the-code", provider_.authorize["state"], "", started->browser_token},
                         "req-1");
  }

  static std::string Code(const Result<OidcFinish>& result) {
    return result.ok() ? "ok" : result.error().code;
  }

  ManualClock clock_{kNow * 1000};
  RightsCatalog catalog_ = [] {
    RightsCatalog catalog;
    DeclarePermissions(catalog);
    catalog.AddProfile(
        {"agent", "test", "Agent", "Agent", std::nullopt, {"audit.read"}, false, {"city"}});
    catalog.AddProfile(
        {"strong", "test", "Fort", "Strong", std::nullopt, {"audit.read"}, true, {"city"}});
    return catalog;
  }();
  Authorizer authorizer_{catalog_};
  IdentityOptions options_;
  FakeProvider provider_;
  std::unique_ptr<testing::TestDatabase> test_;
  std::unique_ptr<Identity> identity_;
  std::unique_ptr<Oidc> oidc_;
  int64_t city_id_ = 0;
  int64_t dwho_ = 0;
};

TEST_P(OidcFlowTest, ALoginGivesASessionOfTheAccountWithTheVerifiedEmail) {
  auto finished = LogIn("/staff");
  ASSERT_TRUE(finished.ok()) << finished.error().code << " " << finished.error().message;
  EXPECT_EQ(finished->next, "/staff");
  EXPECT_EQ(finished->login.user.id, dwho_);
  EXPECT_FALSE(finished->login.second_factor_pending);
  EXPECT_FALSE(finished->login.second_factor_enrolment_required);
  EXPECT_EQ(provider_.authorize["response_type"], "code");
  EXPECT_EQ(provider_.authorize["scope"], "openid email profile");
  EXPECT_EQ(provider_.authorize["code_challenge_method"], "S256");
  auto session = identity_->Authenticate(finished->login.tokens.session_token, "req-2");
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->caller.id, dwho_);
  EXPECT_FALSE(session->second_factor_pending);
  // Discovery and keys are fetched once, then cached.
  ASSERT_TRUE(LogIn().ok());
  EXPECT_EQ(provider_.discovery_fetches, 1);
  EXPECT_EQ(provider_.jwks_fetches, 1);
  auto report = audit::Verify(db());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok);
}

TEST_P(OidcFlowTest, TheSubjectStaysLinkedWhenTheEmailChangesAtTheProvider) {
  ASSERT_TRUE(LogIn().ok());
  provider_.claims["email"] = "doctor@tardis.example";
  auto finished = LogIn();
  ASSERT_TRUE(finished.ok()) << finished.error().code;
  EXPECT_EQ(finished->login.user.id, dwho_);
  // Another subject claiming dwho's address gains nothing: the account has its identity.
  provider_.claims = Claims("impostor");
  EXPECT_EQ(Code(LogIn()), "account_conflict");
}

TEST_P(OidcFlowTest, NoAccountUnverifiedEmailOrSuspensionIsRefused) {
  provider_.claims = Claims("rtyler");
  provider_.claims["email"] = "rtyler@badwolf.org";
  EXPECT_EQ(Code(LogIn()), "no_account");
  provider_.claims = Claims();
  provider_.claims["email_verified"] = false;
  EXPECT_EQ(Code(LogIn()), "email_unverified");
  provider_.claims.erase("email");
  EXPECT_EQ(Code(LogIn()), "no_account");
  provider_.claims = Claims();
  ASSERT_TRUE(LogIn().ok());
  Sql("UPDATE users SET status = 'suspended' WHERE id = $1", {dwho_});
  EXPECT_EQ(Code(LogIn()), "no_account");
}

TEST_P(OidcFlowTest, SecondFactorRulesAreThoseOfThePasswordLogin) {
  Sql("UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE id = $1", {dwho_});
  auto pending = LogIn();
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->login.second_factor_pending);
  auto session = identity_->Authenticate(pending->login.tokens.session_token, "r");
  ASSERT_TRUE(session.ok());
  EXPECT_TRUE(session->second_factor_pending);
  EXPECT_TRUE(session->caller.grants.empty());

  const int64_t strong = Staff("strong@badwolf.org", "strong");
  provider_.claims = Claims("strong-subject");
  provider_.claims["email"] = "strong@badwolf.org";
  auto enrol = LogIn();
  ASSERT_TRUE(enrol.ok());
  EXPECT_EQ(enrol->login.user.id, strong);
  EXPECT_FALSE(enrol->login.second_factor_pending);
  EXPECT_TRUE(enrol->login.second_factor_enrolment_required);
}

TEST_P(OidcFlowTest, StatesAreBoundToTheBrowserSingleUseAndShortLived) {
  auto started = oidc_->Start("/");
  ASSERT_TRUE(started.ok());
  provider_.authorize = QueryOf(started->authorization_url);
  provider_.now_s = kNow;
  const std::string state = provider_.authorize["state"];
  auto finish = [&](std::string_view browser, std::string_view with_state) {
    return oidc_->Finish({"the-code", std::string(with_state), "", std::string(browser)}, "r");
  };
  EXPECT_EQ(Code(finish("", state)), "state_missing");
  EXPECT_EQ(Code(finish("another-browser", state)), "state_mismatch");
  EXPECT_EQ(Code(finish(started->browser_token, state + "x")), "state_invalid");
  EXPECT_EQ(Code(oidc_->Finish({"", state, "", started->browser_token}, "r")), "invalid_request");
  EXPECT_EQ(Code(finish(started->browser_token, state)), "ok");
  EXPECT_EQ(Code(finish(started->browser_token, state)), "state_used");

  auto late = oidc_->Start("/");
  ASSERT_TRUE(late.ok());
  clock_.Advance(kOidcLoginLifetimeS * 1000);
  EXPECT_EQ(Code(finish(late->browser_token, QueryOf(late->authorization_url)["state"])),
            "state_invalid");
  auto unsafe = oidc_->Start("//evil.example");
  ASSERT_FALSE(unsafe.ok());
  EXPECT_EQ(unsafe.error().code, "invalid_next");
}

TEST_P(OidcFlowTest, TheProvidersRefusalsAreReported) {
  auto started = oidc_->Start("/");
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(Code(oidc_->Finish({"", QueryOf(started->authorization_url)["state"], "access_denied",
                                started->browser_token},
                               "r")),
            "provider_error");
  provider_.token_status = 400;
  EXPECT_EQ(Code(LogIn()), "token_refused");
  provider_.token_status = 200;
  provider_.signer = &KeyB();  // not in the JWKS, even after the refetch
  EXPECT_EQ(Code(LogIn()), "id_token_invalid");
}

TEST_P(OidcFlowTest, AnUnknownKeyFetchesTheJwksAgainOnce) {
  ASSERT_TRUE(LogIn().ok());
  EXPECT_EQ(provider_.jwks_fetches, 1);
  // Key rotation at the provider.
  provider_.published = {&KeyB()};
  provider_.signer = &KeyB();
  clock_.Advance(kOidcJwksRefetchMinS * 1000);
  ASSERT_TRUE(LogIn().ok());
  EXPECT_EQ(provider_.jwks_fetches, 2);
  // Forged kids do not make it fetch on every login.
  provider_.signer = &KeyA();
  EXPECT_EQ(Code(LogIn()), "id_token_invalid");
  EXPECT_EQ(provider_.jwks_fetches, 2);
}

TEST_P(OidcFlowTest, ADiscoveryDocumentForAnotherIssuerIsRefused) {
  provider_.discovery_issuer = "https://evil.test";
  EXPECT_EQ(Code(LogIn()), "provider_unavailable");
}

INSTANTIATE_TEST_SUITE_P(Backends, OidcFlowTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const auto& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::identity
