// Webhooks for institution systems and partners' software (issue 4 item 5).
//
// An organisation registers endpoints (URL, the event types it wants, enabled or not). A change
// that others must hear of calls Emit() in its own transaction: one outbox row (channel
// "webhook") per enabled endpoint subscribed to the type, at the event's organisation or above
// it, plus a row of notify_webhook_messages tying the outbox row to its endpoint. The delivery
// engine hands the row to WebhookChannel, which POSTs the JSON payload signed in the style of
// the Standard Webhooks specification (https://www.standardwebhooks.com):
//   webhook-id: msg_<token>            (the same on every retry and replay of one event)
//   webhook-timestamp: <unix seconds>  (of the attempt)
//   webhook-signature: v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>
// where the key is the base64 after "whsec_" in the endpoint's secret. During the day after a
// rotation the previous secret signs too (a second "v1,…", space separated), so a receiver
// can switch over without losing events.
// Outcomes: 2xx sent; 410 Gone disables the endpoint (audited, actor "system") and stops;
// anything else (other statuses, timeouts, TLS or connection errors) is retried by the engine
// with its backoff. Every attempt is written to the endpoint's delivery log (status, excerpt
// of the answer, duration), and a past delivery can be replayed: a new outbox row pointing to
// the original, with the original's webhook-id and payload.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/identity/rights.h"
#include "platform/notify/message.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::notify {

inline constexpr int64_t kWebhookEndpointsPerOrganisationMax = 20;
inline constexpr int64_t kWebhookUrlLengthMax = 2000;
inline constexpr int64_t kWebhookDescriptionLengthMax = 200;
inline constexpr int64_t kWebhookEventTypesMax = 50;
inline constexpr int64_t kWebhookSecretBytes = 32;                     // random key bytes
inline constexpr int64_t kWebhookPreviousSecretMs = 24 * 3600 * 1000;  // old secret still signs
inline constexpr int64_t kWebhookResponseExcerptBytesMax = 1000;       // kept per attempt
inline constexpr int64_t kWebhookResponseBytesMax = 64 * 1024;         // read at most, then cut
inline constexpr int64_t kWebhookDeliveryListRowsMax = 200;
inline constexpr std::string_view kWebhookTestEvent = "webhook.test";

inline constexpr std::string_view kWebhooksRead = "notify.webhooks.read";
inline constexpr std::string_view kWebhooksManage = "notify.webhooks.manage";

std::vector<storage::Migration> WebhookMigrations();

// The event types a deployment emits; modules declare theirs at start-up (app/main.cpp).
// Endpoints may subscribe only to declared types.
struct WebhookEventType {
  std::string name;  // "wallet.transfer.completed"
  std::string description;
};
class WebhookEventCatalog {
 public:
  void Declare(WebhookEventType type);
  bool Contains(std::string_view name) const;
  const std::vector<WebhookEventType>& types() const { return types_; }

 private:
  std::vector<WebhookEventType> types_;
};

struct WebhookEndpoint {
  int64_t id = 0;
  int64_t organisation_id = 0;
  std::string url;
  std::string description;
  std::vector<std::string> event_types;
  bool enabled = true;
  std::optional<std::string> disabled_reason;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct WebhookEndpointInput {
  std::string url;
  std::string description;
  std::vector<std::string> event_types;
  bool enabled = true;
};

// A created endpoint or a rotated secret: the only time the secret is shown.
struct WebhookWithSecret {
  WebhookEndpoint endpoint;
  std::string secret;  // "whsec_<base64>"
};

struct WebhookAttempt {
  int64_t attempt = 0;
  int64_t at_ms = 0;
  std::string outcome;  // sent, retry, gone, rejected
  std::optional<int64_t> status_code;
  std::string response_excerpt;
  int64_t duration_ms = 0;
};

struct WebhookDelivery {
  int64_t message_id = 0;
  int64_t endpoint_id = 0;
  std::string event_type;
  std::string webhook_id;
  std::optional<int64_t> replay_of;
  std::string state;  // the outbox row's: queued, sending, sent, failed, rejected, uncertain
  int64_t created_at_ms = 0;
  std::string payload;
  std::vector<WebhookAttempt> attempts;
};

// The signature header value for one attempt: "v1,<base64>" per secret, space separated.
std::string WebhookSignature(const std::vector<std::string>& secrets, std::string_view webhook_id,
                             int64_t timestamp_s, std::string_view body);
// "whsec_" + base64 of kWebhookSecretBytes random bytes.
std::string NewWebhookSecret();

struct WebhookOptions {
  bool allow_http = false;  // plain http:// endpoints (tests, demo); production: https only
  int64_t connect_timeout_ms = 5 * 1000;
  int64_t timeout_ms = 15 * 1000;
  std::string ca_file;  // empty: the system store
};

// Emits `event_type` with `data_json` (a JSON object) for `organisation_id`, in the caller's
// transaction: returns the outbox ids queued (none when no endpoint wants it).
Result<std::vector<int64_t>> EmitWebhookEvent(storage::Transaction& tx, int64_t organisation_id,
                                              std::string_view event_type,
                                              std::string_view data_json, int64_t now_ms);

// The staff side: every call checks the caller's rights at the endpoint's organisation;
// other organisations' endpoints answer webhook_not_found (404). Changes are audited.
class Webhooks {
 public:
  Webhooks(storage::Database& database, const Clock& clock, const identity::Authorizer& authorizer,
           const WebhookEventCatalog& catalog, WebhookOptions options)
      : database_(database),
        clock_(clock),
        authorizer_(authorizer),
        catalog_(catalog),
        options_(std::move(options)) {}

  Result<WebhookWithSecret> Create(const identity::Caller& caller, int64_t organisation_id,
                                   const WebhookEndpointInput& input,
                                   const std::string& request_id);
  Result<std::vector<WebhookEndpoint>> List(const identity::Caller& caller);
  Result<WebhookEndpoint> Get(const identity::Caller& caller, int64_t id);
  Result<WebhookEndpoint> Update(const identity::Caller& caller, int64_t id,
                                 const WebhookEndpointInput& input, const std::string& request_id);
  Status Delete(const identity::Caller& caller, int64_t id, const std::string& request_id);
  Result<WebhookWithSecret> RotateSecret(const identity::Caller& caller, int64_t id,
                                         const std::string& request_id);
  // Queues a "webhook.test" event to this endpoint only (enabled or not: to check it).
  Result<int64_t> SendTest(const identity::Caller& caller, int64_t id,
                           const std::string& request_id);
  Result<std::vector<WebhookDelivery>> Deliveries(const identity::Caller& caller,
                                                  int64_t endpoint_id);
  Result<WebhookDelivery> Delivery(const identity::Caller& caller, int64_t message_id);
  // A new outbox row with the original's payload and webhook-id, pointing to it.
  Result<WebhookDelivery> Replay(const identity::Caller& caller, int64_t message_id,
                                 const std::string& request_id);

  const WebhookEventCatalog& catalog() const { return catalog_; }

 private:
  Status CheckInput(const WebhookEndpointInput& input) const;
  storage::Database& database_;
  const Clock& clock_;
  const identity::Authorizer& authorizer_;
  const WebhookEventCatalog& catalog_;
  const WebhookOptions options_;
};

class WebhookChannel final : public Channel {
 public:
  WebhookChannel(storage::Database& database, const Clock& clock, WebhookOptions options)
      : database_(database), clock_(clock), options_(std::move(options)) {}
  std::string_view Name() const override { return "webhook"; }
  DeliveryOutcome Deliver(const QueuedMessage& message, const ComposedMessage& composed) override;

 private:
  storage::Database& database_;
  const Clock& clock_;
  const WebhookOptions options_;
};

}  // namespace guichet::notify
