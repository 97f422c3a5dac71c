#include "platform/notify/webpush.h"

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include <boost/json/serialize.hpp>
#include <memory>

#include "platform/base/crypto.h"
#include "platform/base/log.h"
#include "platform/notify/outbox.h"
#include "platform/notify/webhooks_client.h"

namespace guichet::notify {
namespace {

using storage::Param;
using storage::Transaction;
using storage::TransactionMode;

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(BN_CTX* p) const { BN_CTX_free(p); }
  void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

constexpr size_t kScalarBytes = 32;
constexpr size_t kPointBytes = 65;
constexpr size_t kSaltBytes = 16;
constexpr size_t kAuthBytes = 16;
constexpr size_t kTagBytes = 16;

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

// A key for OpenSSL: the public point always, the private scalar when `with_private`.
Owned<EVP_PKEY> PKey(std::string_view public_point, std::string_view private_scalar) {
  Owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  Owned<BIGNUM> scalar;
  if (!builder) return nullptr;
  char group[] = "prime256v1";
  if (OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, public_point.data(),
                                       public_point.size()) != 1) {
    return nullptr;
  }
  if (!private_scalar.empty()) {
    scalar.reset(
        BN_bin2bn(Bytes(private_scalar), static_cast<int>(private_scalar.size()), nullptr));
    if (!scalar ||
        OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PRIV_KEY, scalar.get()) != 1)
      return nullptr;
  }
  Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder.get()));
  Owned<EVP_PKEY_CTX> context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &key,
                        private_scalar.empty() ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR,
                        params.get()) != 1) {
    return nullptr;
  }
  return Owned<EVP_PKEY>(key);
}

bool OnCurve(std::string_view point) {
  if (point.size() != kPointBytes || point[0] != 0x04) return false;
  Owned<EC_GROUP> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  Owned<EC_POINT> decoded(EC_POINT_new(group.get()));
  return group && decoded &&
         EC_POINT_oct2point(group.get(), decoded.get(), Bytes(point), point.size(), nullptr) == 1 &&
         EC_POINT_is_on_curve(group.get(), decoded.get(), nullptr) == 1;
}

std::string Hmac(std::string_view key, std::string_view data) {
  return crypto::HmacSha256(key, data);
}

std::string Aes128GcmSeal(std::string_view key, std::string_view nonce,
                          std::string_view plaintext) {
  Owned<EVP_CIPHER_CTX> context(EVP_CIPHER_CTX_new());
  GUICHET_ASSERT(context != nullptr);
  std::string out(plaintext.size() + kTagBytes, '\0');
  int length = 0;
  int total = 0;
  auto* buffer = reinterpret_cast<unsigned char*>(out.data());
  GUICHET_ASSERT(EVP_EncryptInit_ex(context.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) ==
                 1);
  GUICHET_ASSERT(EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN,
                                     static_cast<int>(nonce.size()), nullptr) == 1);
  GUICHET_ASSERT(EVP_EncryptInit_ex(context.get(), nullptr, nullptr, Bytes(key), Bytes(nonce)) ==
                 1);
  GUICHET_ASSERT(EVP_EncryptUpdate(context.get(), buffer, &length, Bytes(plaintext),
                                   static_cast<int>(plaintext.size())) == 1);
  total = length;
  GUICHET_ASSERT(EVP_EncryptFinal_ex(context.get(), buffer + total, &length) == 1);
  total += length;
  GUICHET_ASSERT(static_cast<size_t>(total) == plaintext.size());
  GUICHET_ASSERT(EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG,
                                     static_cast<int>(kTagBytes), buffer + total) == 1);
  return out;
}

std::string PushTables(std::string_view id_column) {
  const std::string id(id_column);
  return "CREATE TABLE notify_push_keys (id BIGINT PRIMARY KEY, private_key TEXT NOT NULL,"
         " public_key TEXT NOT NULL, created_at BIGINT NOT NULL);"
         " CREATE TABLE notify_push_subscriptions (id " +
         id +
         ", person_type TEXT NOT NULL, person_id BIGINT NOT NULL, endpoint TEXT NOT NULL UNIQUE,"
         " p256dh TEXT NOT NULL, auth TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT "
         "NOT NULL);"
         " CREATE INDEX notify_push_subscriptions_person ON notify_push_subscriptions "
         "(person_type, person_id);";
}

std::string Origin(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t path = url.find('/', scheme + 3);
  return std::string(url.substr(0, path));
}

}  // namespace

std::vector<storage::Migration> PushMigrations() {
  return {{"platform.notify.push", 1, "web push: the VAPID key and subscriptions",
           PushTables("INTEGER PRIMARY KEY AUTOINCREMENT"),
           PushTables("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")}};
}

std::string Base64UrlEncode(std::string_view bytes) { return crypto::ToBase64Url(bytes); }

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out(text.size(), '\0');
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

std::optional<P256Key> P256FromPrivate(std::string_view private_scalar) {
  if (private_scalar.size() != kScalarBytes) return std::nullopt;
  Owned<EC_GROUP> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  Owned<BIGNUM> scalar(BN_bin2bn(Bytes(private_scalar), static_cast<int>(kScalarBytes), nullptr));
  Owned<EC_POINT> point(EC_POINT_new(group.get()));
  Owned<BN_CTX> context(BN_CTX_new());
  GUICHET_ASSERT(group && scalar && point && context);
  if (BN_is_zero(scalar.get()) || BN_cmp(scalar.get(), EC_GROUP_get0_order(group.get())) >= 0)
    return std::nullopt;
  if (EC_POINT_mul(group.get(), point.get(), scalar.get(), nullptr, nullptr, context.get()) != 1)
    return std::nullopt;
  std::string public_point(kPointBytes, '\0');
  const size_t written = EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED,
                                            reinterpret_cast<unsigned char*>(public_point.data()),
                                            kPointBytes, context.get());
  if (written != kPointBytes) return std::nullopt;
  return P256Key{std::string(private_scalar), public_point};
}

P256Key NewP256Key() {
  for (;;) {
    // A random scalar is below the group order but for a chance of about 2^-32.
    std::optional<P256Key> key = P256FromPrivate(crypto::RandomBytes(kScalarBytes));
    if (key) return *key;
  }
}

std::optional<std::string> EcdhP256(const P256Key& own, std::string_view peer_public_point) {
  if (!OnCurve(peer_public_point)) return std::nullopt;
  Owned<EVP_PKEY> mine = PKey(own.public_point, own.private_scalar);
  Owned<EVP_PKEY> peer = PKey(peer_public_point, "");
  if (!mine || !peer) return std::nullopt;
  Owned<EVP_PKEY_CTX> context(EVP_PKEY_CTX_new_from_pkey(nullptr, mine.get(), nullptr));
  size_t length = 0;
  if (!context || EVP_PKEY_derive_init(context.get()) != 1 ||
      EVP_PKEY_derive_set_peer(context.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(context.get(), nullptr, &length) != 1) {
    return std::nullopt;
  }
  std::string secret(length, '\0');
  if (EVP_PKEY_derive(context.get(), reinterpret_cast<unsigned char*>(secret.data()), &length) != 1)
    return std::nullopt;
  secret.resize(length);
  return secret;
}

std::string Es256Sign(const P256Key& key, std::string_view data) {
  Owned<EVP_PKEY> pkey = PKey(key.public_point, key.private_scalar);
  GUICHET_ASSERT(pkey != nullptr);
  Owned<EVP_MD_CTX> context(EVP_MD_CTX_new());
  size_t length = 0;
  GUICHET_ASSERT(context && EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr,
                                               pkey.get()) == 1);
  GUICHET_ASSERT(EVP_DigestSign(context.get(), nullptr, &length, Bytes(data), data.size()) == 1);
  std::string der(length, '\0');
  GUICHET_ASSERT(EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(der.data()),
                                &length, Bytes(data), data.size()) == 1);
  const unsigned char* cursor = Bytes(der);
  Owned<ECDSA_SIG> signature(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(length)));
  GUICHET_ASSERT(signature != nullptr);
  std::string raw(2 * kScalarBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  GUICHET_ASSERT(BN_bn2binpad(ECDSA_SIG_get0_r(signature.get()), out, kScalarBytes) ==
                 kScalarBytes);
  GUICHET_ASSERT(BN_bn2binpad(ECDSA_SIG_get0_s(signature.get()), out + kScalarBytes,
                              kScalarBytes) == kScalarBytes);
  return raw;
}

Result<std::string> EncryptPushPayload(std::string_view plaintext, std::string_view ua_public,
                                       std::string_view auth_secret, const P256Key& ephemeral,
                                       std::string_view salt) {
  GUICHET_ASSERT(salt.size() == kSaltBytes);
  GUICHET_ASSERT(static_cast<int64_t>(plaintext.size()) <= kPushPlaintextBytesMax);
  if (auth_secret.size() != kAuthBytes) {
    return Error{ErrorKind::kValidation,
                 "push_key_invalid",
                 "the subscription's auth secret is not 16 bytes",
                 {{"/keys/auth", "16 bytes, base64url"}}};
  }
  const std::optional<std::string> ecdh_secret = EcdhP256(ephemeral, ua_public);
  if (!ecdh_secret) {
    return Error{ErrorKind::kValidation,
                 "push_key_invalid",
                 "the subscription's key is not a P-256 point",
                 {{"/keys/p256dh", "an uncompressed P-256 point, base64url"}}};
  }
  // RFC 8291 section 3.4: combine the ECDH secret with the auth secret...
  const std::string prk_key = Hmac(auth_secret, *ecdh_secret);
  std::string key_info = "WebPush: info";
  key_info.push_back('\0');
  key_info.append(ua_public);
  key_info.append(ephemeral.public_point);
  const std::string ikm = Hmac(prk_key, key_info + '\x01');
  // ...then RFC 8188 section 2.2 and 2.3: the content encryption key and the nonce.
  const std::string prk = Hmac(salt, ikm);
  const std::string cek =
      Hmac(prk, std::string("Content-Encoding: aes128gcm") + '\0' + '\x01').substr(0, 16);
  const std::string nonce =
      Hmac(prk, std::string("Content-Encoding: nonce") + '\0' + '\x01').substr(0, 12);
  std::string record(plaintext);
  record.push_back('\x02');  // the last (only) record's delimiter, no padding
  std::string body(salt);
  const uint32_t rs = static_cast<uint32_t>(kPushRecordBytes);
  body.push_back(static_cast<char>((rs >> 24) & 0xff));
  body.push_back(static_cast<char>((rs >> 16) & 0xff));
  body.push_back(static_cast<char>((rs >> 8) & 0xff));
  body.push_back(static_cast<char>(rs & 0xff));
  body.push_back(static_cast<char>(kPointBytes));
  body.append(ephemeral.public_point);
  body.append(Aes128GcmSeal(cek, nonce, record));
  return body;
}

std::string VapidAuthorization(const P256Key& vapid, std::string_view endpoint_url,
                               std::string_view subject, int64_t now_s) {
  const std::string header = Base64UrlEncode(R"({"typ":"JWT","alg":"ES256"})");
  const std::string claims = Base64UrlEncode(
      boost::json::serialize(boost::json::object{{"aud", Origin(endpoint_url)},
                                                 {"exp", now_s + kVapidTokenLifetimeS},
                                                 {"sub", std::string(subject)}}));
  const std::string signing_input = header + "." + claims;
  const std::string jwt = signing_input + "." + Base64UrlEncode(Es256Sign(vapid, signing_input));
  return fmt::format("vapid t={}, k={}", jwt, Base64UrlEncode(vapid.public_point));
}

Result<P256Key> LoadVapidKey(storage::Database& database, std::string_view configured_private,
                             int64_t now_ms) {
  if (!configured_private.empty()) {
    const std::optional<std::string> scalar = Base64UrlDecode(configured_private);
    std::optional<P256Key> key = scalar ? P256FromPrivate(*scalar) : std::nullopt;
    if (!key)
      return Error::Invalid("vapid_key_invalid",
                            "vapid_private_key is not a base64url P-256 private key");
    return *key;
  }
  return database.Transact<P256Key>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<P256Key> {
        const P256Key fresh = NewP256Key();
        // Two processes starting together: the first insert wins, both read it back.
        auto inserted = tx.Execute(
            "INSERT INTO notify_push_keys (id, private_key, public_key, created_at) VALUES (1, $1, "
            "$2, $3)"
            " ON CONFLICT DO NOTHING",
            {Base64UrlEncode(fresh.private_scalar), Base64UrlEncode(fresh.public_point), now_ms});
        if (!inserted.ok()) return std::move(inserted).error();
        auto row = tx.QueryOne("SELECT private_key FROM notify_push_keys WHERE id = 1", {});
        if (!row.ok()) return std::move(row).error();
        GUICHET_ASSERT(row->has_value());
        const std::optional<std::string> scalar = Base64UrlDecode((*row)->Text(0));
        std::optional<P256Key> key = scalar ? P256FromPrivate(*scalar) : std::nullopt;
        GUICHET_ASSERT(key.has_value());
        return *key;
      });
}

// ---- Subscriptions ------------------------------------------------------------------------

namespace {

PushSubscription SubscriptionOf(const storage::Row& r) {
  return {r.Int(0), privacy::PersonRef{r.Text(1), r.Int(2)}, r.Text(3), r.Text(4), r.Text(5),
          r.Int(6)};
}

constexpr std::string_view kSubscriptionColumns =
    "id, person_type, person_id, endpoint, p256dh, auth, created_at";

}  // namespace

Result<PushSubscription> PushSubscriptions::Subscribe(const privacy::PersonRef& person,
                                                      const std::string& endpoint,
                                                      const std::string& p256dh,
                                                      const std::string& auth) {
  std::vector<FieldError> errors;
  const bool https = endpoint.starts_with("https://");
  if (!(https || (options_.allow_http && endpoint.starts_with("http://"))) ||
      endpoint.find_first_of(" \t\r\n") != std::string::npos) {
    errors.push_back({"/endpoint", "the push service's https:// URL"});
  }
  const std::optional<std::string> key = Base64UrlDecode(p256dh);
  if (!key || !OnCurve(*key))
    errors.push_back({"/keys/p256dh", "an uncompressed P-256 point, base64url"});
  const std::optional<std::string> secret = Base64UrlDecode(auth);
  if (!secret || secret->size() != kAuthBytes)
    errors.push_back({"/keys/auth", "16 bytes, base64url"});
  if (!errors.empty()) {
    return Error{ErrorKind::kValidation, "validation_failed", "the subscription is not valid",
                 std::move(errors)};
  }
  return database_.Transact<
      PushSubscription>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<PushSubscription> {
    const int64_t now = clock_.NowMs();
    auto removed =
        tx.Execute("DELETE FROM notify_push_subscriptions WHERE endpoint = $1", {endpoint});
    if (!removed.ok()) return std::move(removed).error();
    auto count = tx.QueryOne(
        "SELECT COUNT(*) FROM notify_push_subscriptions WHERE person_type = $1 AND person_id = $2",
        {person.type, person.id});
    if (!count.ok()) return std::move(count).error();
    if ((*count)->Int(0) >= kPushSubscriptionsPerPersonMax) {
      return Error::Conflict("push_subscription_limit",
                             "too many devices subscribed: unsubscribe one first");
    }
    auto row = tx.QueryOne(
        "INSERT INTO notify_push_subscriptions (person_type, person_id, endpoint, p256dh, auth, "
        "created_at,"
        " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING " +
            std::string(kSubscriptionColumns),
        {person.type, person.id, endpoint, p256dh, auth, now});
    if (!row.ok()) return std::move(row).error();
    return SubscriptionOf(**row);
  });
}

Status PushSubscriptions::Unsubscribe(const privacy::PersonRef& person,
                                      const std::string& endpoint) {
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
    auto removed = tx.Execute(
        "DELETE FROM notify_push_subscriptions WHERE endpoint = $1 AND person_type = $2 AND "
        "person_id = $3",
        {endpoint, person.type, person.id});
    if (!removed.ok()) return std::move(removed).error();
    if (*removed == 0)
      return Error::NotFound("push_subscription_not_found", "no such subscription of yours");
    return OkStatus();
  });
}

Result<std::vector<PushSubscription>> PushSubscriptions::List(const privacy::PersonRef& person) {
  return database_.Transact<std::vector<PushSubscription>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<PushSubscription>> {
        auto rows = tx.Query("SELECT " + std::string(kSubscriptionColumns) +
                                 " FROM notify_push_subscriptions WHERE person_type = $1 AND "
                                 "person_id = $2 ORDER BY id",
                             {person.type, person.id});
        if (!rows.ok()) return std::move(rows).error();
        std::vector<PushSubscription> list;
        for (const storage::Row& row : rows->rows) list.push_back(SubscriptionOf(row));
        return list;
      });
}

Result<std::vector<int64_t>> QueuePushToPerson(Transaction& tx, const privacy::PersonRef& person,
                                               std::optional<int64_t> organisation_id,
                                               std::string_view template_code,
                                               std::string_view language,
                                               std::string_view variables_json,
                                               std::string_view purpose, int64_t now_ms) {
  auto rows = tx.Query(
      "SELECT endpoint FROM notify_push_subscriptions WHERE person_type = $1 AND person_id = $2 "
      "ORDER BY id",
      {person.type, person.id});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<int64_t> ids;
  for (const storage::Row& row : rows->rows) {
    OutboxMessage message;
    message.channel = "push";
    message.recipient = row.Text(0);
    message.template_code = std::string(template_code);
    message.language = std::string(language);
    message.variables_json = std::string(variables_json);
    message.organisation_id = organisation_id;
    message.person = person;
    message.purpose = std::string(purpose);
    auto id = Queue(tx, message, now_ms);
    if (!id.ok()) return std::move(id).error();
    ids.push_back(*id);
  }
  return ids;
}

// ---- The channel --------------------------------------------------------------------------

namespace {

std::string PushBody(const QueuedMessage& message, const ComposedMessage& composed) {
  std::string title = composed.subject;
  std::string text = composed.text;
  // Keep within one record: shorten the text (on a UTF-8 boundary) rather than fail.
  for (;;) {
    std::string body = boost::json::serialize(
        boost::json::object{{"title", title}, {"body", text}, {"message_id", message.id}});
    if (static_cast<int64_t>(body.size()) <= kPushPlaintextBytesMax || text.empty()) return body;
    size_t cut = text.size() > 64 ? text.size() - 64 : 0;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
  }
}

}  // namespace

DeliveryOutcome PushChannel::Deliver(const QueuedMessage& message,
                                     const ComposedMessage& composed) {
  DeliveryOutcome outcome;
  auto found = database_.Transact<std::optional<PushSubscription>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::optional<PushSubscription>> {
        auto row = tx.QueryOne("SELECT " + std::string(kSubscriptionColumns) +
                                   " FROM notify_push_subscriptions WHERE endpoint = $1",
                               {message.recipient});
        if (!row.ok()) return std::move(row).error();
        if (!*row) return std::optional<PushSubscription>();
        return std::optional<PushSubscription>(SubscriptionOf(**row));
      });
  if (!found.ok()) {
    outcome.detail = "could not read the subscription: " + found.error().message;
    return outcome;  // kRetry
  }
  if (!*found) {
    outcome.kind = DeliveryOutcome::Kind::kRejected;
    outcome.detail = "the subscription was withdrawn";
    return outcome;
  }
  const PushSubscription& subscription = **found;
  const std::optional<std::string> ua_public = Base64UrlDecode(subscription.p256dh);
  const std::optional<std::string> auth = Base64UrlDecode(subscription.auth);
  auto body = EncryptPushPayload(PushBody(message, composed), ua_public.value_or(""),
                                 auth.value_or(""), NewP256Key(), crypto::RandomBytes(kSaltBytes));
  if (!body.ok()) {
    outcome.kind = DeliveryOutcome::Kind::kRejected;
    outcome.detail = body.error().message;
    return outcome;
  }
  HttpPostRequest request;
  request.url = subscription.endpoint;
  request.body = std::move(body).value();
  request.headers = {
      "Content-Type: application/octet-stream", "Content-Encoding: aes128gcm",
      fmt::format("TTL: {}", kPushTtlS),
      std::string("Urgency: ") + (message.purpose == "campaign" ? "low" : "normal"),
      "Authorization: " + VapidAuthorization(vapid_, subscription.endpoint, options_.subject,
                                             clock_.NowMs() / 1000)};
  request.connect_timeout_ms = options_.connect_timeout_ms;
  request.timeout_ms = options_.timeout_ms;
  request.ca_file = options_.ca_file;
  request.allow_http = options_.allow_http;
  request.response_bytes_max = kPushAnswerBytesMax;
  const HttpPostResult answer = HttpPost(request);
  if (!answer.transport_ok) {
    outcome.detail = answer.error;
    return outcome;  // kRetry
  }
  outcome.status_code = static_cast<int>(answer.status);
  outcome.detail = fmt::format("HTTP {}: {}", answer.status, answer.body.substr(0, 500));
  if (answer.status >= 200 && answer.status < 300) {
    outcome.kind = DeliveryOutcome::Kind::kSent;
  } else if (answer.status == 404 || answer.status == 410) {
    outcome.kind = DeliveryOutcome::Kind::kGone;
    auto removed = database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
      auto deleted = tx.Execute("DELETE FROM notify_push_subscriptions WHERE endpoint = $1",
                                {subscription.endpoint});
      if (!deleted.ok()) return std::move(deleted).error();
      return OkStatus();
    });
    if (!removed.ok()) {
      log::Error(
          "push subscription not removed",
          {{"message_id", message.id}, {"error", std::string_view(removed.error().message)}});
    }
  } else if (answer.status == 429 || answer.status >= 500) {
    outcome.kind = DeliveryOutcome::Kind::kRetry;
  } else {
    outcome.kind = DeliveryOutcome::Kind::kRejected;
  }
  return outcome;
}

}  // namespace guichet::notify
