// Web push for the installable apps (issue 4 item 4): the Push API's subscription of a browser
// is stored per person; a push message is an outbox row (channel "push", recipient = the push
// endpoint) that PushChannel sends to the browser vendor's push service:
//   - the payload (JSON {"title", "body", "message_id"}) encrypted for the subscription per
//     RFC 8291 (ECDH P-256 with the browser's p256dh key and auth secret, HKDF-SHA-256) in the
//     aes128gcm content coding of RFC 8188, one record;
//   - `Authorization: vapid t=<JWT ES256>, k=<public key>` per RFC 8292: the JWT's `aud` is the
//     push service's origin, `exp` at most 24 hours ahead, `sub` a contact (mailto: or https:);
//   - TTL and Urgency headers (RFC 8030).
// 201/2xx: sent. 404/410: the subscription expired or was withdrawn: kGone and it is removed.
// 429 and 5xx, or no answer: retried by the engine. Other 4xx: rejected (a request the push
// service will never accept).
// The deployment's VAPID key pair (P-256) comes from the settings or is generated once and
// kept in notify_push_keys; the public key is served to the web app, which needs it to
// subscribe (applicationServerKey).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/notify/message.h"
#include "platform/privacy/privacy.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::notify {

inline constexpr int64_t kPushRecordBytes = 4096;        // rs: one record, as RFC 8291 advises
inline constexpr int64_t kPushPlaintextBytesMax = 3993;  // 4096 - 16 tag - 1 delimiter - 86 header
inline constexpr int64_t kPushEndpointLengthMax = 2000;
inline constexpr int64_t kPushSubscriptionsPerPersonMax = 10;
inline constexpr int64_t kVapidTokenLifetimeS = 12 * 3600;  // RFC 8292: at most 24 hours
inline constexpr int64_t kPushTtlS = 7 * 24 * 3600;  // kept by the push service while offline
inline constexpr int64_t kPushAnswerBytesMax = 16 * 1024;

std::vector<storage::Migration> PushMigrations();

std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);  // padding optional

// A P-256 key: the private scalar (32 bytes) and the uncompressed public point (65 bytes).
struct P256Key {
  std::string private_scalar;
  std::string public_point;
};
std::optional<P256Key> P256FromPrivate(std::string_view private_scalar);
P256Key NewP256Key();
// ECDH shared secret (the x coordinate, 32 bytes); nullopt when the peer point is not on the curve.
std::optional<std::string> EcdhP256(const P256Key& own, std::string_view peer_public_point);
// ECDSA P-256 SHA-256, as JWS wants it: r || s, 32 bytes each.
std::string Es256Sign(const P256Key& key, std::string_view data);

// RFC 8291 with the sender's ephemeral key and salt given (random in production, fixed by the
// RFC's example in the test). Returns the aes128gcm body: header (salt, rs, idlen, keyid) and
// one record. Errors: push_key_invalid (the browser's key is not a P-256 point).
Result<std::string> EncryptPushPayload(std::string_view plaintext, std::string_view ua_public,
                                       std::string_view auth_secret, const P256Key& ephemeral,
                                       std::string_view salt);

// "vapid t=<jwt>, k=<base64url public key>" for a push endpoint URL.
std::string VapidAuthorization(const P256Key& vapid, std::string_view endpoint_url,
                               std::string_view subject, int64_t now_s);

// The deployment's VAPID key: from `configured_private` (base64url scalar) when given, else
// the one kept in the database, generated and stored the first time.
Result<P256Key> LoadVapidKey(storage::Database& database, std::string_view configured_private,
                             int64_t now_ms);

struct PushSubscription {
  int64_t id = 0;
  privacy::PersonRef person;
  std::string endpoint;
  std::string p256dh;  // base64url, as the browser gives it
  std::string auth;    // base64url
  int64_t created_at_ms = 0;
};

struct PushOptions {
  bool allow_http = false;  // http:// endpoints (the push service simulator in tests)
  std::string subject = "mailto:support@guichet.invalid";
  int64_t connect_timeout_ms = 5 * 1000;
  int64_t timeout_ms = 15 * 1000;
  std::string ca_file;
};

// A person's subscriptions. Subscribing again with the same endpoint replaces its keys (the
// browser renewed them) and moves it to the caller.
class PushSubscriptions {
 public:
  PushSubscriptions(storage::Database& database, const Clock& clock, PushOptions options)
      : database_(database), clock_(clock), options_(std::move(options)) {}
  Result<PushSubscription> Subscribe(const privacy::PersonRef& person, const std::string& endpoint,
                                     const std::string& p256dh, const std::string& auth);
  Status Unsubscribe(const privacy::PersonRef& person, const std::string& endpoint);
  Result<std::vector<PushSubscription>> List(const privacy::PersonRef& person);

 private:
  storage::Database& database_;
  const Clock& clock_;
  const PushOptions options_;
};

// Queues one push row per subscription of `person`, in the caller's transaction.
Result<std::vector<int64_t>> QueuePushToPerson(storage::Transaction& tx,
                                               const privacy::PersonRef& person,
                                               std::optional<int64_t> organisation_id,
                                               std::string_view template_code,
                                               std::string_view language,
                                               std::string_view variables_json,
                                               std::string_view purpose, int64_t now_ms);

class PushChannel final : public Channel {
 public:
  PushChannel(storage::Database& database, const Clock& clock, P256Key vapid, PushOptions options)
      : database_(database),
        clock_(clock),
        vapid_(std::move(vapid)),
        options_(std::move(options)) {}
  std::string_view Name() const override { return "push"; }
  DeliveryOutcome Deliver(const QueuedMessage& message, const ComposedMessage& composed) override;

 private:
  storage::Database& database_;
  const Clock& clock_;
  const P256Key vapid_;
  const PushOptions options_;
};

}  // namespace guichet::notify
