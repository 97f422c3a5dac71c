#include "platform/notify/webhooks.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <sstream>

#include "platform/audit/audit.h"
#include "platform/base/crypto.h"
#include "platform/base/log.h"
#include "platform/notify/outbox.h"
#include "platform/notify/webhooks_client.h"
#include "platform/orgs/orgs.h"

namespace guichet::notify {
namespace {

using storage::Param;
using storage::Transaction;
using storage::TransactionMode;

constexpr std::string_view kSecretPrefix = "whsec_";

std::string WebhookTables(std::string_view id_column) {
  const std::string id(id_column);
  return "CREATE TABLE notify_webhook_endpoints (id " + id +
         ", organisation_id BIGINT NOT NULL REFERENCES organisations (id), url TEXT NOT NULL,"
         " description TEXT NOT NULL, event_types TEXT NOT NULL, secret TEXT NOT NULL,"
         " previous_secret TEXT, previous_secret_until BIGINT, enabled BIGINT NOT NULL DEFAULT 1,"
         " disabled_reason TEXT, deleted_at BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT "
         "NOT NULL);"
         " CREATE INDEX notify_webhook_endpoints_org ON notify_webhook_endpoints (organisation_id, "
         "id);"
         " CREATE TABLE notify_webhook_messages (message_id BIGINT PRIMARY KEY REFERENCES "
         "outbox_messages (id),"
         " endpoint_id BIGINT NOT NULL REFERENCES notify_webhook_endpoints (id), event_type TEXT "
         "NOT NULL,"
         " webhook_id TEXT NOT NULL, replay_of BIGINT, created_at BIGINT NOT NULL);"
         " CREATE INDEX notify_webhook_messages_endpoint ON notify_webhook_messages (endpoint_id, "
         "message_id);"
         " CREATE TABLE notify_webhook_attempts (id " +
         id +
         ", message_id BIGINT NOT NULL REFERENCES outbox_messages (id), endpoint_id BIGINT NOT "
         "NULL,"
         " attempt BIGINT NOT NULL, at BIGINT NOT NULL, outcome TEXT NOT NULL, status_code BIGINT,"
         " response_excerpt TEXT NOT NULL, duration_ms BIGINT NOT NULL);"
         " CREATE INDEX notify_webhook_attempts_message ON notify_webhook_attempts (message_id, "
         "id);";
}

std::string JoinTypes(const std::vector<std::string>& types) {
  std::string joined;
  for (const std::string& type : types) {
    if (!joined.empty()) joined += ' ';
    joined += type;
  }
  return joined;
}

std::vector<std::string> SplitTypes(const std::string& joined) {
  std::vector<std::string> types;
  std::istringstream in(joined);
  for (std::string type; in >> type;) types.push_back(type);
  return types;
}

constexpr std::string_view kEndpointColumns =
    "e.id, e.organisation_id, e.url, e.description, e.event_types, e.enabled, e.disabled_reason, "
    "e.created_at,"
    " e.updated_at";

WebhookEndpoint EndpointOf(const storage::Row& r) {
  WebhookEndpoint endpoint;
  endpoint.id = r.Int(0);
  endpoint.organisation_id = r.Int(1);
  endpoint.url = r.Text(2);
  endpoint.description = r.Text(3);
  endpoint.event_types = SplitTypes(r.Text(4));
  endpoint.enabled = r.Int(5) != 0;
  endpoint.disabled_reason = r.OptionalText(6);
  endpoint.created_at_ms = r.Int(7);
  endpoint.updated_at_ms = r.Int(8);
  return endpoint;
}

std::string AuditJson(const WebhookEndpoint& endpoint) {
  boost::json::array types;
  for (const std::string& type : endpoint.event_types) types.push_back(boost::json::value(type));
  return boost::json::serialize(boost::json::object{{"url", endpoint.url},
                                                    {"description", endpoint.description},
                                                    {"event_types", types},
                                                    {"enabled", endpoint.enabled}});
}

std::string Base64(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> FromBase64(std::string_view text) {
  std::string out(text.size(), '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

std::string Payload(std::string_view event_type, std::string_view data_json, int64_t now_ms) {
  boost::json::value data = boost::json::parse(data_json);
  GUICHET_ASSERT(data.is_object());
  return boost::json::serialize(boost::json::object{{"type", std::string(event_type)},
                                                    {"timestamp", FormatIso8601(now_ms)},
                                                    {"data", std::move(data)}});
}

// Writes the outbox row and its tie to the endpoint.
Result<int64_t> QueueFor(Transaction& tx, const WebhookEndpoint& endpoint,
                         std::string_view event_type, const std::string& payload,
                         const std::string& webhook_id, std::optional<int64_t> replay_of,
                         int64_t now_ms) {
  if (static_cast<int64_t>(payload.size()) > kVariablesBytesMax) {
    return Error{ErrorKind::kValidation,
                 "webhook_payload_too_large",
                 "the event is too large to send",
                 {{"/data", "at most 16 KiB once wrapped"}}};
  }
  OutboxMessage message;
  message.channel = "webhook";
  message.recipient = endpoint.url;
  message.template_code = std::string(event_type);
  message.language = "en";
  message.variables_json = payload;
  message.organisation_id = endpoint.organisation_id;
  message.purpose = "webhook";
  auto id = Queue(tx, message, now_ms);
  if (!id.ok()) return id;
  auto tied = tx.Execute(
      "INSERT INTO notify_webhook_messages (message_id, endpoint_id, event_type, webhook_id, "
      "replay_of,"
      " created_at) VALUES ($1, $2, $3, $4, $5, $6)",
      {*id, endpoint.id, std::string(event_type), webhook_id,
       replay_of ? Param(*replay_of) : Param(nullptr), now_ms});
  if (!tied.ok()) return std::move(tied).error();
  return id;
}

std::vector<int64_t> PathIds(std::string_view path) {
  std::vector<int64_t> ids;
  int64_t current = 0;
  bool any = false;
  for (char c : path) {
    if (c == '/') {
      if (any) ids.push_back(current);
      current = 0;
      any = false;
    } else {
      current = current * 10 + (c - '0');
      any = true;
    }
  }
  return ids;
}

Result<std::vector<WebhookAttempt>> AttemptsOf(Transaction& tx, int64_t message_id) {
  auto rows = tx.Query(
      "SELECT attempt, at, outcome, status_code, response_excerpt, duration_ms FROM "
      "notify_webhook_attempts"
      " WHERE message_id = $1 ORDER BY id",
      {message_id});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<WebhookAttempt> attempts;
  for (const storage::Row& r : rows->rows) {
    attempts.push_back({r.Int(0), r.Int(1), r.Text(2), r.OptionalInt(3), r.Text(4), r.Int(5)});
  }
  return attempts;
}

constexpr std::string_view kDeliveryColumns =
    "w.message_id, w.endpoint_id, w.event_type, w.webhook_id, w.replay_of, m.state, w.created_at, "
    "m.variables";

WebhookDelivery DeliveryOf(const storage::Row& r) {
  WebhookDelivery delivery;
  delivery.message_id = r.Int(0);
  delivery.endpoint_id = r.Int(1);
  delivery.event_type = r.Text(2);
  delivery.webhook_id = r.Text(3);
  delivery.replay_of = r.OptionalInt(4);
  delivery.state = r.Text(5);
  delivery.created_at_ms = r.Int(6);
  delivery.payload = r.Text(7);
  return delivery;
}

bool ValidEventName(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
  });
}

}  // namespace

std::vector<storage::Migration> WebhookMigrations() {
  return {{"platform.notify.webhooks", 1, "webhook endpoints, their messages and delivery attempts",
           WebhookTables("INTEGER PRIMARY KEY AUTOINCREMENT"),
           WebhookTables("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")}};
}

void WebhookEventCatalog::Declare(WebhookEventType type) {
  GUICHET_ASSERT(ValidEventName(type.name) && !Contains(type.name));
  types_.push_back(std::move(type));
}

bool WebhookEventCatalog::Contains(std::string_view name) const {
  return std::any_of(types_.begin(), types_.end(),
                     [&](const WebhookEventType& type) { return type.name == name; });
}

std::string WebhookSignature(const std::vector<std::string>& secrets, std::string_view webhook_id,
                             int64_t timestamp_s, std::string_view body) {
  const std::string signed_content = fmt::format("{}.{}.{}", webhook_id, timestamp_s, body);
  std::string header;
  for (const std::string& secret : secrets) {
    std::string_view encoded = secret;
    if (encoded.starts_with(kSecretPrefix)) encoded.remove_prefix(kSecretPrefix.size());
    const std::optional<std::string> key = FromBase64(encoded);
    GUICHET_ASSERT(key.has_value());
    if (!header.empty()) header += ' ';
    header += "v1," + Base64(crypto::HmacSha256(*key, signed_content));
  }
  return header;
}

std::string NewWebhookSecret() {
  return std::string(kSecretPrefix) +
         Base64(crypto::RandomBytes(static_cast<size_t>(kWebhookSecretBytes)));
}

Result<std::vector<int64_t>> EmitWebhookEvent(Transaction& tx, int64_t organisation_id,
                                              std::string_view event_type,
                                              std::string_view data_json, int64_t now_ms) {
  GUICHET_ASSERT(ValidEventName(event_type));
  auto org = orgs::Find(tx, organisation_id);
  if (!org.ok()) return std::move(org).error();
  GUICHET_ASSERT(org->has_value());
  std::vector<int64_t> queued;
  const std::string payload = Payload(event_type, data_json, now_ms);
  for (int64_t owner : PathIds((*org)->path)) {
    auto rows = tx.Query(
        "SELECT " + std::string(kEndpointColumns) +
            " FROM notify_webhook_endpoints e WHERE e.organisation_id = $1 AND e.enabled = 1"
            " AND e.deleted_at IS NULL ORDER BY e.id",
        {owner});
    if (!rows.ok()) return std::move(rows).error();
    for (const storage::Row& row : rows->rows) {
      const WebhookEndpoint endpoint = EndpointOf(row);
      if (std::find(endpoint.event_types.begin(), endpoint.event_types.end(), event_type) ==
          endpoint.event_types.end()) {
        continue;
      }
      auto id = QueueFor(tx, endpoint, event_type, payload, "msg_" + crypto::RandomToken(18),
                         std::nullopt, now_ms);
      if (!id.ok()) return std::move(id).error();
      queued.push_back(*id);
    }
  }
  return queued;
}

// ---- Staff use cases ------------------------------------------------------------------------

namespace {

// The endpoint if the caller may see it (kWebhooksRead) and holds `permission` there.
Result<std::pair<WebhookEndpoint, orgs::Organisation>> Scoped(
    Transaction& tx, const identity::Authorizer& authorizer, const identity::Caller& caller,
    int64_t id, std::string_view permission) {
  const Error not_found =
      Error::NotFound("webhook_not_found", "no such webhook endpoint in your scope");
  auto row =
      tx.QueryOne("SELECT " + std::string(kEndpointColumns) +
                      " FROM notify_webhook_endpoints e WHERE e.id = $1 AND e.deleted_at IS NULL",
                  {id});
  if (!row.ok()) return std::move(row).error();
  if (!*row) return not_found;
  WebhookEndpoint endpoint = EndpointOf(**row);
  auto org = orgs::Find(tx, endpoint.organisation_id);
  if (!org.ok()) return std::move(org).error();
  if (!*org || !authorizer.Allows(caller, kWebhooksRead, (*org)->path)) return not_found;
  GUICHET_TRY_STATUS(authorizer.Require(caller, permission, (*org)->path));
  return std::make_pair(std::move(endpoint), **org);
}

std::string ActorType(const identity::Caller& caller) {
  switch (caller.kind) {
    case identity::Caller::Kind::kApiKey:
      return "api_key";
    case identity::Caller::Kind::kDevice:
      return "device";
    case identity::Caller::Kind::kSystem:
      return "system";
    default:
      return "user";
  }
}

Status Audit(Transaction& tx, const identity::Caller& caller, int64_t organisation_id,
             std::string action, int64_t endpoint_id, std::string before, std::string after,
             const std::string& request_id, int64_t now_ms) {
  auto appended = audit::Append(
      tx,
      {ActorType(caller), caller.id, organisation_id, std::move(action), "webhook_endpoint",
       std::to_string(endpoint_id), std::move(before), std::move(after), request_id},
      now_ms);
  if (!appended.ok()) return std::move(appended).error();
  return OkStatus();
}

}  // namespace

Status Webhooks::CheckInput(const WebhookEndpointInput& input) const {
  std::vector<FieldError> errors;
  const bool https = input.url.starts_with("https://");
  const bool http = input.url.starts_with("http://");
  if (!https && !(http && options_.allow_http)) {
    errors.push_back(
        {"/url", options_.allow_http ? "an http:// or https:// URL" : "an https:// URL"});
  } else if (input.url.find_first_of(" \t\r\n") != std::string::npos ||
             input.url.size() <= (https ? 8u : 7u)) {
    errors.push_back({"/url", "a URL without spaces, with a host"});
  }
  if (input.event_types.empty()) errors.push_back({"/event_types", "at least one event type"});
  for (size_t i = 0; i < input.event_types.size(); ++i) {
    if (!catalog_.Contains(input.event_types[i])) {
      errors.push_back({fmt::format("/event_types/{}", i), "not an event type of this deployment"});
    }
  }
  if (errors.empty()) return OkStatus();
  return Error{ErrorKind::kValidation, "validation_failed", "the endpoint is not valid",
               std::move(errors)};
}

Result<WebhookWithSecret> Webhooks::Create(const identity::Caller& caller, int64_t organisation_id,
                                           const WebhookEndpointInput& input,
                                           const std::string& request_id) {
  GUICHET_TRY_STATUS(CheckInput(input));
  return database_.Transact<WebhookWithSecret>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<WebhookWithSecret> {
        auto org = orgs::Find(tx, organisation_id);
        if (!org.ok()) return std::move(org).error();
        if (!*org || !authorizer_.Allows(caller, kWebhooksRead, (*org)->path)) {
          return Error::NotFound("organisation_not_found", "no such organisation in your scope");
        }
        GUICHET_TRY_STATUS(authorizer_.Require(caller, kWebhooksManage, (*org)->path));
        auto count = tx.QueryOne(
            "SELECT COUNT(*) FROM notify_webhook_endpoints WHERE organisation_id = $1 AND "
            "deleted_at IS NULL",
            {organisation_id});
        if (!count.ok()) return std::move(count).error();
        if ((*count)->Int(0) >= kWebhookEndpointsPerOrganisationMax) {
          return Error::Conflict("webhook_limit_reached",
                                 "this organisation has as many endpoints as allowed");
        }
        const int64_t now = clock_.NowMs();
        WebhookWithSecret created;
        created.secret = NewWebhookSecret();
        auto row = tx.QueryOne(
            "INSERT INTO notify_webhook_endpoints (organisation_id, url, description, event_types, "
            "secret, enabled,"
            " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            {organisation_id, input.url, input.description, JoinTypes(input.event_types),
             created.secret, int64_t{input.enabled ? 1 : 0}, now});
        if (!row.ok()) return std::move(row).error();
        created.endpoint = {(*row)->Int(0),
                            organisation_id,
                            input.url,
                            input.description,
                            input.event_types,
                            input.enabled,
                            std::nullopt,
                            now,
                            now};
        GUICHET_TRY_STATUS(Audit(tx, caller, organisation_id, "notify.webhook.create",
                                 created.endpoint.id, "null", AuditJson(created.endpoint),
                                 request_id, now));
        return created;
      });
}

Result<std::vector<WebhookEndpoint>> Webhooks::List(const identity::Caller& caller) {
  const std::vector<std::string> scopes = authorizer_.Scopes(caller, kWebhooksRead);
  return database_.Transact<std::vector<WebhookEndpoint>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<WebhookEndpoint>> {
        std::vector<WebhookEndpoint> list;
        for (const std::string& path : scopes) {
          std::string upper = path;
          upper.back() = '0';  // '0' follows '/': [path, upper) is the subtree
          auto rows = tx.Query(
              "SELECT " + std::string(kEndpointColumns) +
                  " FROM notify_webhook_endpoints e JOIN organisations o ON o.id = "
                  "e.organisation_id"
                  " WHERE o.path >= $1 AND o.path < $2 AND e.deleted_at IS NULL ORDER BY e.id",
              {path, upper});
          if (!rows.ok()) return std::move(rows).error();
          for (const storage::Row& row : rows->rows) {
            WebhookEndpoint endpoint = EndpointOf(row);
            const bool seen =
                std::any_of(list.begin(), list.end(),
                            [&](const WebhookEndpoint& other) { return other.id == endpoint.id; });
            if (!seen) list.push_back(std::move(endpoint));
          }
        }
        std::sort(list.begin(), list.end(),
                  [](const auto& a, const auto& b) { return a.id < b.id; });
        return list;
      });
}

Result<WebhookEndpoint> Webhooks::Get(const identity::Caller& caller, int64_t id) {
  return database_.Transact<WebhookEndpoint>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<WebhookEndpoint> {
        auto scoped = Scoped(tx, authorizer_, caller, id, kWebhooksRead);
        if (!scoped.ok()) return std::move(scoped).error();
        return scoped->first;
      });
}

Result<WebhookEndpoint> Webhooks::Update(const identity::Caller& caller, int64_t id,
                                         const WebhookEndpointInput& input,
                                         const std::string& request_id) {
  GUICHET_TRY_STATUS(CheckInput(input));
  return database_.Transact<WebhookEndpoint>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<WebhookEndpoint> {
        auto scoped = Scoped(tx, authorizer_, caller, id, kWebhooksManage);
        if (!scoped.ok()) return std::move(scoped).error();
        const WebhookEndpoint before = scoped->first;
        WebhookEndpoint after = before;
        after.url = input.url;
        after.description = input.description;
        after.event_types = input.event_types;
        after.enabled = input.enabled;
        if (after.enabled) after.disabled_reason.reset();
        const int64_t now = clock_.NowMs();
        after.updated_at_ms = now;
        // Enabling again clears the reason it was disabled (staff fixed the receiver).
        auto updated = tx.Execute(
            "UPDATE notify_webhook_endpoints SET url = $2, description = $3, event_types = $4, "
            "enabled = $5,"
            " disabled_reason = $6, updated_at = $7 WHERE id = $1",
            {id, after.url, after.description, JoinTypes(after.event_types),
             int64_t{after.enabled ? 1 : 0},
             after.disabled_reason ? Param(*after.disabled_reason) : Param(nullptr), now});
        if (!updated.ok()) return std::move(updated).error();
        GUICHET_TRY_STATUS(Audit(tx, caller, before.organisation_id, "notify.webhook.update", id,
                                 AuditJson(before), AuditJson(after), request_id, now));
        return after;
      });
}

Status Webhooks::Delete(const identity::Caller& caller, int64_t id, const std::string& request_id) {
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
    auto scoped = Scoped(tx, authorizer_, caller, id, kWebhooksManage);
    if (!scoped.ok()) return std::move(scoped).error();
    const int64_t now = clock_.NowMs();
    // Kept (with its log) but hidden and never sent to again.
    auto updated = tx.Execute(
        "UPDATE notify_webhook_endpoints SET deleted_at = $2, enabled = 0, updated_at = $2 WHERE "
        "id = $1",
        {id, now});
    if (!updated.ok()) return std::move(updated).error();
    return Audit(tx, caller, scoped->first.organisation_id, "notify.webhook.delete", id,
                 AuditJson(scoped->first), "null", request_id, now);
  });
}

Result<WebhookWithSecret> Webhooks::RotateSecret(const identity::Caller& caller, int64_t id,
                                                 const std::string& request_id) {
  return database_.Transact<WebhookWithSecret>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<WebhookWithSecret> {
        auto scoped = Scoped(tx, authorizer_, caller, id, kWebhooksManage);
        if (!scoped.ok()) return std::move(scoped).error();
        const int64_t now = clock_.NowMs();
        WebhookWithSecret rotated{scoped->first, NewWebhookSecret()};
        auto updated = tx.Execute(
            "UPDATE notify_webhook_endpoints SET previous_secret = secret, previous_secret_until = "
            "$2, secret = $3,"
            " updated_at = $4 WHERE id = $1",
            {id, now + kWebhookPreviousSecretMs, rotated.secret, now});
        if (!updated.ok()) return std::move(updated).error();
        GUICHET_TRY_STATUS(Audit(tx, caller, rotated.endpoint.organisation_id,
                                 "notify.webhook.rotate_secret", id, R"({"secret":"previous"})",
                                 R"({"secret":"rotated"})", request_id, now));
        return rotated;
      });
}

Result<int64_t> Webhooks::SendTest(const identity::Caller& caller, int64_t id,
                                   const std::string& request_id) {
  return database_.Transact<int64_t>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
        auto scoped = Scoped(tx, authorizer_, caller, id, kWebhooksManage);
        if (!scoped.ok()) return std::move(scoped).error();
        const int64_t now = clock_.NowMs();
        const std::string data = boost::json::serialize(
            boost::json::object{{"endpoint_id", id}, {"message", "Test event sent from Guichet"}});
        auto queued =
            QueueFor(tx, scoped->first, kWebhookTestEvent, Payload(kWebhookTestEvent, data, now),
                     "msg_" + crypto::RandomToken(18), std::nullopt, now);
        if (!queued.ok()) return queued;
        GUICHET_TRY_STATUS(Audit(
            tx, caller, scoped->first.organisation_id, "notify.webhook.test", id, "null",
            boost::json::serialize(boost::json::object{{"message_id", *queued}}), request_id, now));
        return queued;
      });
}

Result<std::vector<WebhookDelivery>> Webhooks::Deliveries(const identity::Caller& caller,
                                                          int64_t endpoint_id) {
  return database_.Transact<std::vector<WebhookDelivery>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<WebhookDelivery>> {
        auto scoped = Scoped(tx, authorizer_, caller, endpoint_id, kWebhooksRead);
        if (!scoped.ok()) return std::move(scoped).error();
        auto rows = tx.Query(
            "SELECT " + std::string(kDeliveryColumns) +
                " FROM notify_webhook_messages w JOIN outbox_messages m ON m.id = w.message_id"
                " WHERE w.endpoint_id = $1 ORDER BY w.message_id DESC LIMIT $2",
            {endpoint_id, kWebhookDeliveryListRowsMax});
        if (!rows.ok()) return std::move(rows).error();
        std::vector<WebhookDelivery> list;
        for (const storage::Row& row : rows->rows) {
          WebhookDelivery delivery = DeliveryOf(row);
          auto attempts = AttemptsOf(tx, delivery.message_id);
          if (!attempts.ok()) return std::move(attempts).error();
          delivery.attempts = std::move(attempts).value();
          list.push_back(std::move(delivery));
        }
        return list;
      });
}

namespace {

Result<WebhookDelivery> ScopedDelivery(Transaction& tx, const identity::Authorizer& authorizer,
                                       const identity::Caller& caller, int64_t message_id,
                                       std::string_view permission) {
  auto row = tx.QueryOne(
      "SELECT " + std::string(kDeliveryColumns) +
          " FROM notify_webhook_messages w JOIN outbox_messages m ON m.id = w.message_id"
          " WHERE w.message_id = $1",
      {message_id});
  if (!row.ok()) return std::move(row).error();
  if (!*row)
    return Error::NotFound("webhook_delivery_not_found", "no such webhook delivery in your scope");
  WebhookDelivery delivery = DeliveryOf(**row);
  auto scoped = Scoped(tx, authorizer, caller, delivery.endpoint_id, permission);
  if (!scoped.ok()) {
    if (scoped.error().kind == ErrorKind::kNotFound) {
      return Error::NotFound("webhook_delivery_not_found",
                             "no such webhook delivery in your scope");
    }
    return std::move(scoped).error();
  }
  auto attempts = AttemptsOf(tx, message_id);
  if (!attempts.ok()) return std::move(attempts).error();
  delivery.attempts = std::move(attempts).value();
  return delivery;
}

}  // namespace

Result<WebhookDelivery> Webhooks::Delivery(const identity::Caller& caller, int64_t message_id) {
  return database_.Transact<WebhookDelivery>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<WebhookDelivery> {
        return ScopedDelivery(tx, authorizer_, caller, message_id, kWebhooksRead);
      });
}

Result<WebhookDelivery> Webhooks::Replay(const identity::Caller& caller, int64_t message_id,
                                         const std::string& request_id) {
  return database_.Transact<WebhookDelivery>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<WebhookDelivery> {
        auto original = ScopedDelivery(tx, authorizer_, caller, message_id, kWebhooksManage);
        if (!original.ok()) return original;
        if (original->state == "queued" || original->state == "sending") {
          return Error::Conflict("webhook_delivery_pending",
                                 "this delivery is still being attempted");
        }
        auto scoped = Scoped(tx, authorizer_, caller, original->endpoint_id, kWebhooksManage);
        if (!scoped.ok()) return std::move(scoped).error();
        if (!scoped->first.enabled) {
          return Error::Conflict("webhook_disabled", "enable the endpoint before replaying to it");
        }
        const int64_t now = clock_.NowMs();
        // A replay of a replay points to the first delivery of the event.
        const int64_t first = original->replay_of.value_or(original->message_id);
        auto id = QueueFor(tx, scoped->first, original->event_type, original->payload,
                           original->webhook_id, first, now);
        if (!id.ok()) return std::move(id).error();
        GUICHET_TRY_STATUS(Audit(
            tx, caller, scoped->first.organisation_id, "notify.webhook.replay",
            original->endpoint_id,
            boost::json::serialize(boost::json::object{{"message_id", message_id}}),
            boost::json::serialize(boost::json::object{{"message_id", *id}}), request_id, now));
        return ScopedDelivery(tx, authorizer_, caller, *id, kWebhooksManage);
      });
}

// ---- The channel --------------------------------------------------------------------------

namespace {

struct Target {
  int64_t endpoint_id = 0;
  int64_t organisation_id = 0;
  std::string url;
  bool enabled = false;
  bool deleted = false;
  std::vector<std::string> secrets;
  std::string webhook_id;
};

Result<std::optional<Target>> FindTarget(Transaction& tx, int64_t message_id, int64_t now_ms) {
  auto row = tx.QueryOne(
      "SELECT e.id, e.organisation_id, e.url, e.enabled, e.deleted_at, e.secret, e.previous_secret,"
      " e.previous_secret_until, w.webhook_id FROM notify_webhook_messages w"
      " JOIN notify_webhook_endpoints e ON e.id = w.endpoint_id WHERE w.message_id = $1",
      {message_id});
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<Target>();
  const storage::Row& r = **row;
  Target target{r.Int(0), r.Int(1), r.Text(2), r.Int(3) != 0, !r.IsNull(4), {r.Text(5)}, r.Text(8)};
  if (!r.IsNull(6) && !r.IsNull(7) && r.Int(7) > now_ms) target.secrets.push_back(r.Text(6));
  return std::optional<Target>(std::move(target));
}

Status RecordAttempt(storage::Database& database, int64_t message_id, int64_t endpoint_id,
                     int64_t attempt, int64_t now_ms, std::string_view outcome,
                     std::optional<int64_t> status, const std::string& excerpt,
                     int64_t duration_ms) {
  return database.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
    auto inserted = tx.Execute(
        "INSERT INTO notify_webhook_attempts (message_id, endpoint_id, attempt, at, outcome, "
        "status_code,"
        " response_excerpt, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        {message_id, endpoint_id, attempt, now_ms, std::string(outcome),
         status ? Param(*status) : Param(nullptr),
         excerpt.substr(0, static_cast<size_t>(kWebhookResponseExcerptBytesMax)), duration_ms});
    if (!inserted.ok()) return std::move(inserted).error();
    return OkStatus();
  });
}

Status DisableGone(storage::Database& database, const Target& target, int64_t message_id,
                   int64_t now_ms) {
  return database.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
    auto updated = tx.Execute(
        "UPDATE notify_webhook_endpoints SET enabled = 0, disabled_reason = $2, updated_at = $3"
        " WHERE id = $1 AND enabled = 1",
        {target.endpoint_id, fmt::format("the receiver answered 410 Gone (message {})", message_id),
         now_ms});
    if (!updated.ok()) return std::move(updated).error();
    if (*updated == 0) return OkStatus();
    auto appended = audit::Append(
        tx,
        {"system", std::nullopt, target.organisation_id, "notify.webhook.disable",
         "webhook_endpoint", std::to_string(target.endpoint_id), R"({"enabled":true})",
         boost::json::serialize(boost::json::object{
             {"enabled", false}, {"reason", "410 Gone"}, {"message_id", message_id}}),
         ""},
        now_ms);
    if (!appended.ok()) return std::move(appended).error();
    return OkStatus();
  });
}

}  // namespace

DeliveryOutcome WebhookChannel::Deliver(const QueuedMessage& message,
                                        const ComposedMessage& composed) {
  DeliveryOutcome outcome;
  const int64_t now = clock_.NowMs();
  auto target = database_.Transact<std::optional<Target>>(
      TransactionMode::kRead, [&](Transaction& tx) { return FindTarget(tx, message.id, now); });
  if (!target.ok()) {
    outcome.kind = DeliveryOutcome::Kind::kRetry;
    outcome.detail = "could not read the endpoint: " + target.error().message;
    return outcome;
  }
  if (!*target || (*target)->deleted || !(*target)->enabled) {
    outcome.kind = DeliveryOutcome::Kind::kRejected;
    outcome.detail =
        !*target ? "no endpoint for this message" : "the endpoint is disabled or deleted";
    return outcome;
  }
  const Target& to = **target;
  const int64_t timestamp_s = now / 1000;
  HttpPostRequest request;
  request.url = to.url;
  request.body = composed.text;
  request.headers = {"Content-Type: application/json", "User-Agent: Guichet-Webhooks/1",
                     "webhook-id: " + to.webhook_id,
                     fmt::format("webhook-timestamp: {}", timestamp_s),
                     "webhook-signature: " +
                         WebhookSignature(to.secrets, to.webhook_id, timestamp_s, request.body)};
  request.connect_timeout_ms = options_.connect_timeout_ms;
  request.timeout_ms = options_.timeout_ms;
  request.ca_file = options_.ca_file;
  request.allow_http = options_.allow_http;
  request.response_bytes_max = kWebhookResponseBytesMax;
  const HttpPostResult answer = HttpPost(request);
  std::string excerpt = answer.transport_ok ? answer.body : answer.error;
  excerpt.resize(std::min(excerpt.size(), static_cast<size_t>(kWebhookResponseExcerptBytesMax)));
  if (!answer.transport_ok) {
    outcome.kind = DeliveryOutcome::Kind::kRetry;
  } else {
    outcome.status_code = static_cast<int>(answer.status);
    if (answer.status >= 200 && answer.status < 300) {
      outcome.kind = DeliveryOutcome::Kind::kSent;
    } else if (answer.status == 410) {
      outcome.kind = DeliveryOutcome::Kind::kGone;
    } else {
      outcome.kind = DeliveryOutcome::Kind::kRetry;
    }
  }
  outcome.detail =
      answer.transport_ok ? fmt::format("HTTP {}: {}", answer.status, excerpt) : excerpt;
  const std::string_view logged = outcome.kind == DeliveryOutcome::Kind::kSent   ? "sent"
                                  : outcome.kind == DeliveryOutcome::Kind::kGone ? "gone"
                                                                                 : "retry";
  const int64_t recorded_at = clock_.NowMs();
  auto recorded = RecordAttempt(
      database_, message.id, to.endpoint_id, message.attempts, recorded_at, logged,
      outcome.status_code ? std::optional<int64_t>(*outcome.status_code) : std::nullopt, excerpt,
      answer.duration_ms);
  if (!recorded.ok()) {
    log::Error("webhook attempt not logged",
               {{"message_id", message.id}, {"error", std::string_view(recorded.error().message)}});
  }
  if (outcome.kind == DeliveryOutcome::Kind::kGone) {
    auto disabled = DisableGone(database_, to, message.id, recorded_at);
    if (!disabled.ok()) {
      log::Error(
          "webhook endpoint not disabled",
          {{"endpoint_id", to.endpoint_id}, {"error", std::string_view(disabled.error().message)}});
    }
  }
  return outcome;
}

}  // namespace guichet::notify
