#include "platform/notify/webhooks_http.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"
#include "platform/orgs/orgs.h"

namespace guichet::notify {
namespace {

using boost::json::array;
using boost::json::object;
using http::HttpStatus;
using http::RequestContext;
using http::Response;
using identity::Gate;

constexpr std::string_view kTag = "notify";

boost::json::value Nullable(const std::optional<int64_t>& value) {
  return value ? boost::json::value(*value) : boost::json::value(nullptr);
}

object EndpointJson(const WebhookEndpoint& endpoint) {
  array types;
  for (const std::string& type : endpoint.event_types) types.push_back(boost::json::value(type));
  return {{"id", endpoint.id},
          {"organisation_id", endpoint.organisation_id},
          {"url", endpoint.url},
          {"description", endpoint.description},
          {"event_types", types},
          {"enabled", endpoint.enabled},
          {"disabled_reason",
           endpoint.disabled_reason ? boost::json::value(*endpoint.disabled_reason) : nullptr},
          {"created_at", FormatIso8601(endpoint.created_at_ms)},
          {"updated_at", FormatIso8601(endpoint.updated_at_ms)}};
}

object DeliveryJson(const WebhookDelivery& delivery) {
  array attempts;
  for (const WebhookAttempt& attempt : delivery.attempts) {
    attempts.push_back(object{{"attempt", attempt.attempt},
                              {"at", FormatIso8601(attempt.at_ms)},
                              {"outcome", attempt.outcome},
                              {"status_code", Nullable(attempt.status_code)},
                              {"response_excerpt", attempt.response_excerpt},
                              {"duration_ms", attempt.duration_ms}});
  }
  boost::system::error_code error;
  boost::json::value payload = boost::json::parse(delivery.payload, error);
  return {{"message_id", delivery.message_id},
          {"endpoint_id", delivery.endpoint_id},
          {"event_type", delivery.event_type},
          {"webhook_id", delivery.webhook_id},
          {"replay_of", Nullable(delivery.replay_of)},
          {"state", delivery.state},
          {"created_at", FormatIso8601(delivery.created_at_ms)},
          {"payload", error ? boost::json::value(delivery.payload) : payload},
          {"attempts", attempts}};
}

const object& EndpointSchema() {
  static const object schema{
      {"type", "object"},
      {"required", {"url", "event_types"}},
      {"properties",
       {{"url", {{"type", "string"}, {"maxLength", kWebhookUrlLengthMax}}},
        {"description", {{"type", "string"}, {"maxLength", kWebhookDescriptionLengthMax}}},
        {"event_types",
         {{"type", "array"}, {"items", {{"type", "string"}}}, {"maxItems", kWebhookEventTypesMax}}},
        {"enabled", {{"type", "boolean"}}}}}};
  return schema;
}

Result<WebhookEndpointInput> ParseEndpoint(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  http::JsonReader reader(*body);
  WebhookEndpointInput input;
  input.url = reader.RequiredString("url", {8, kWebhookUrlLengthMax});
  input.description =
      reader.OptionalString("description", {0, kWebhookDescriptionLengthMax}).value_or("");
  input.event_types = reader.OptionalStringArray("event_types", kWebhookEventTypesMax, {1, 100});
  input.enabled = reader.OptionalBool("enabled").value_or(true);
  GUICHET_TRY_STATUS(reader.Finish());
  return input;
}

Response NoContent() { return Response(HttpStatus::no_content, 11); }

void AddEndpointRoutes(http::Router& router, identity::IdentityHttpContext& context,
                       Webhooks& webhooks) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/notify/webhook-event-types",
      "listWebhookEventTypes", kWebhooksRead,
      {.summary = "The event types endpoints may subscribe to", .tag = std::string(kTag)},
      [&webhooks](const RequestContext&, Gate&) -> Result<Response> {
        array items;
        for (const WebhookEventType& type : webhooks.catalog().types()) {
          items.push_back(object{{"name", type.name}, {"description", type.description}});
        }
        return http::JsonResponse(HttpStatus::ok, object{{"items", items}});
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/notify/webhooks", "listWebhooks",
                       kWebhooksRead,
                       {.summary = "Webhook endpoints of the organisations in one's scope",
                        .tag = std::string(kTag)},
                       [&webhooks](const RequestContext&, Gate& gate) -> Result<Response> {
                         auto list = webhooks.List(gate.caller);
                         if (!list.ok()) return std::move(list).error();
                         array items;
                         for (const WebhookEndpoint& endpoint : *list)
                           items.push_back(EndpointJson(endpoint));
                         return http::JsonResponse(HttpStatus::ok, object{{"items", items}});
                       });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/organisations/{id}/webhooks", "createWebhook",
      kWebhooksManage,
      {.summary = "Register a webhook endpoint; the answer shows its signing secret, once; audited",
       .tag = std::string(kTag),
       .request_schema = EndpointSchema(),
       .success_status = 201,
       .errors = {{404, "Organisation not in scope"},
                  {409, "Too many endpoints"},
                  {422, "Invalid URL or event type"}}},
      [&webhooks](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "organisation id");
        if (!id.ok()) return std::move(id).error();
        auto input = ParseEndpoint(*request.request);
        if (!input.ok()) return std::move(input).error();
        auto created = webhooks.Create(gate.caller, *id, *input, request.request_id);
        if (!created.ok()) return std::move(created).error();
        object json = EndpointJson(created->endpoint);
        json["secret"] = created->secret;
        return http::JsonResponse(HttpStatus::created, json);
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/notify/webhooks/{id}",
                       "getWebhook", kWebhooksRead,
                       {.summary = "One webhook endpoint (without its secret)",
                        .tag = std::string(kTag),
                        .errors = {{404, "Not in scope"}}},
                       [&webhooks](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = http::PositiveId(request.Param("id"), "webhook id");
                         if (!id.ok()) return std::move(id).error();
                         auto endpoint = webhooks.Get(gate.caller, *id);
                         if (!endpoint.ok()) return std::move(endpoint).error();
                         return http::JsonResponse(HttpStatus::ok, EndpointJson(*endpoint));
                       });
  identity::AddGuarded(
      router, context, http::Verb::put, "/api/v1/notify/webhooks/{id}", "updateWebhook",
      kWebhooksManage,
      {.summary =
           "Change a webhook endpoint's URL, events or enabled flag (enabling clears why it was "
           "disabled); audited",
       .tag = std::string(kTag),
       .request_schema = EndpointSchema(),
       .errors = {{404, "Not in scope"}, {422, "Invalid URL or event type"}}},
      [&webhooks](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "webhook id");
        if (!id.ok()) return std::move(id).error();
        auto input = ParseEndpoint(*request.request);
        if (!input.ok()) return std::move(input).error();
        auto updated = webhooks.Update(gate.caller, *id, *input, request.request_id);
        if (!updated.ok()) return std::move(updated).error();
        return http::JsonResponse(HttpStatus::ok, EndpointJson(*updated));
      });
  identity::AddGuarded(router, context, http::Verb::delete_, "/api/v1/notify/webhooks/{id}",
                       "deleteWebhook", kWebhooksManage,
                       {.summary = "Delete a webhook endpoint (its delivery log is kept); audited",
                        .tag = std::string(kTag),
                        .success_status = 204,
                        .success_description = "Deleted",
                        .errors = {{404, "Not in scope"}}},
                       [&webhooks](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = http::PositiveId(request.Param("id"), "webhook id");
                         if (!id.ok()) return std::move(id).error();
                         GUICHET_TRY_STATUS(webhooks.Delete(gate.caller, *id, request.request_id));
                         return NoContent();
                       });
}

void AddSecretAndLogRoutes(http::Router& router, identity::IdentityHttpContext& context,
                           Webhooks& webhooks) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/notify/webhooks/{id}/rotate-secret",
      "rotateWebhookSecret", kWebhooksManage,
      {.summary =
           "A new signing secret, shown once; the previous one still signs for 24 hours; audited",
       .tag = std::string(kTag),
       .errors = {{404, "Not in scope"}}},
      [&webhooks](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "webhook id");
        if (!id.ok()) return std::move(id).error();
        auto rotated = webhooks.RotateSecret(gate.caller, *id, request.request_id);
        if (!rotated.ok()) return std::move(rotated).error();
        object json = EndpointJson(rotated->endpoint);
        json["secret"] = rotated->secret;
        return http::JsonResponse(HttpStatus::ok, json);
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/notify/webhooks/{id}/test", "testWebhook",
      kWebhooksManage,
      {.summary = "Queue a webhook.test event to this endpoint; audited",
       .tag = std::string(kTag),
       .success_status = 202,
       .success_description = "Queued",
       .errors = {{404, "Not in scope"}}},
      [&webhooks](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "webhook id");
        if (!id.ok()) return std::move(id).error();
        auto queued = webhooks.SendTest(gate.caller, *id, request.request_id);
        if (!queued.ok()) return std::move(queued).error();
        return http::JsonResponse(HttpStatus::accepted, object{{"message_id", *queued}});
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/notify/webhooks/{id}/deliveries",
                       "listWebhookDeliveries", kWebhooksRead,
                       {.summary = "An endpoint's delivery log, newest first: each event, its "
                                   "state and every attempt (status, "
                                   "excerpt of the answer, duration)",
                        .tag = std::string(kTag),
                        .errors = {{404, "Not in scope"}}},
                       [&webhooks](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = http::PositiveId(request.Param("id"), "webhook id");
                         if (!id.ok()) return std::move(id).error();
                         auto list = webhooks.Deliveries(gate.caller, *id);
                         if (!list.ok()) return std::move(list).error();
                         array items;
                         for (const WebhookDelivery& delivery : *list)
                           items.push_back(DeliveryJson(delivery));
                         return http::JsonResponse(HttpStatus::ok, object{{"items", items}});
                       });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/notify/webhook-deliveries/{id}",
                       "getWebhookDelivery", kWebhooksRead,
                       {.summary = "One webhook delivery and its attempts",
                        .tag = std::string(kTag),
                        .errors = {{404, "Not in scope"}}},
                       [&webhooks](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = http::PositiveId(request.Param("id"), "delivery id");
                         if (!id.ok()) return std::move(id).error();
                         auto delivery = webhooks.Delivery(gate.caller, *id);
                         if (!delivery.ok()) return std::move(delivery).error();
                         return http::JsonResponse(HttpStatus::ok, DeliveryJson(*delivery));
                       });
  identity::AddGuarded(router, context, http::Verb::post,
                       "/api/v1/notify/webhook-deliveries/{id}/replay", "replayWebhookDelivery",
                       kWebhooksManage,
                       {.summary = "Send a past delivery again: a new delivery with the same "
                                   "payload and webhook-id, pointing to "
                                   "the original; audited",
                        .tag = std::string(kTag),
                        .success_status = 201,
                        .errors = {{404, "Not in scope"},
                                   {409, "Still being attempted, or the endpoint is disabled"}}},
                       [&webhooks](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = http::PositiveId(request.Param("id"), "delivery id");
                         if (!id.ok()) return std::move(id).error();
                         auto replay = webhooks.Replay(gate.caller, *id, request.request_id);
                         if (!replay.ok()) return std::move(replay).error();
                         return http::JsonResponse(HttpStatus::created, DeliveryJson(*replay));
                       });
}

Result<privacy::PersonRef> PersonOf(const Gate& gate) {
  if (gate.caller.kind != identity::Caller::Kind::kUser) {
    return Error{
        ErrorKind::kForbidden, "person_only", "only a person subscribes to push messages", {}};
  }
  return privacy::PersonRef{"staff", gate.caller.id};
}

}  // namespace

void DeclareWebhookPermissions(identity::RightsCatalog& catalog) {
  catalog.AddPermission(
      {std::string(kWebhooksRead), "See webhook endpoints and their delivery log"});
  catalog.AddPermission(
      {std::string(kWebhooksManage),
       "Register, change, delete webhook endpoints, rotate secrets, replay deliveries"});
}

void AddWebhookRoutes(http::Router& router, identity::IdentityHttpContext& context,
                      Webhooks& webhooks) {
  AddEndpointRoutes(router, context, webhooks);
  AddSecretAndLogRoutes(router, context, webhooks);
}

void AddWebhookDiagnosticsRoutes(http::Router& router, identity::IdentityHttpContext& context) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/diagnostics/webhook-events",
      "postDiagnosticsWebhookEvent", identity::kPublic,
      {.summary = "Emit a webhook event as a use case would (diagnostics only)",
       .tag = "diagnostics",
       .request_schema =
           object{{"type", "object"}, {"required", {"organisation_id", "type", "data"}}},
       .success_status = 201,
       .errors = {{404, "Unknown organisation"}, {422, "Malformed event"}}},
      [&context](const RequestContext& request, Gate&) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        object fields = *body;
        fields.erase("data");
        http::JsonReader reader(fields);
        const int64_t organisation_id = reader.RequiredInteger("organisation_id", 1, INT64_MAX);
        const std::string type = reader.RequiredString("type", {1, 100});
        const boost::json::value* data = body->if_contains("data");
        if (data == nullptr || !data->is_object()) reader.Fail("data", "an object");
        GUICHET_TRY_STATUS(reader.Finish());
        const std::string data_json = boost::json::serialize(*data);
        auto ids = context.database.Transact<array>(
            storage::TransactionMode::kWrite, [&](storage::Transaction& tx) -> Result<array> {
              auto org = orgs::Find(tx, organisation_id);
              if (!org.ok()) return std::move(org).error();
              if (!*org) return Error::NotFound("organisation_not_found", "no such organisation");
              auto queued =
                  EmitWebhookEvent(tx, organisation_id, type, data_json, context.clock.NowMs());
              if (!queued.ok()) return std::move(queued).error();
              array list;
              for (int64_t id : *queued) list.push_back(id);
              return list;
            });
        if (!ids.ok()) return std::move(ids).error();
        return http::JsonResponse(HttpStatus::created, object{{"message_ids", *ids}});
      });
}

void AddPushRoutes(http::Router& router, identity::IdentityHttpContext& context,
                   PushHttpContext& push) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/notify/push/vapid-public-key", "getVapidPublicKey",
      identity::kPublic,
      {.summary =
           "The deployment's VAPID public key (applicationServerKey for PushManager.subscribe)",
       .tag = std::string(kTag)},
      [&push](const RequestContext&, Gate&) -> Result<Response> {
        return http::JsonResponse(HttpStatus::ok, object{{"public_key", push.vapid_public_key}});
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/notify/push/subscriptions",
      "listPushSubscriptions", identity::kAnySession,
      {.summary = "The caller's push subscriptions (one per browser)", .tag = std::string(kTag)},
      [&push](const RequestContext&, Gate& gate) -> Result<Response> {
        auto person = PersonOf(gate);
        if (!person.ok()) return std::move(person).error();
        auto list = push.subscriptions.List(*person);
        if (!list.ok()) return std::move(list).error();
        array items;
        for (const PushSubscription& subscription : *list) {
          items.push_back(object{{"id", subscription.id},
                                 {"endpoint", subscription.endpoint},
                                 {"created_at", FormatIso8601(subscription.created_at_ms)}});
        }
        return http::JsonResponse(HttpStatus::ok, object{{"items", items}});
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/notify/push/subscriptions", "subscribePush",
      identity::kAnySession,
      {.summary =
           "Store this browser's push subscription (PushSubscription.toJSON()) for the caller",
       .tag = std::string(kTag),
       .request_schema =
           object{{"type", "object"},
                  {"required", {"endpoint", "keys"}},
                  {"properties",
                   {{"endpoint", {{"type", "string"}}},
                    {"expirationTime", {{"type", {"number", "null"}}}},
                    {"keys",
                     {{"type", "object"},
                      {"required", {"p256dh", "auth"}},
                      {"properties",
                       {{"p256dh", {{"type", "string"}}}, {"auth", {{"type", "string"}}}}}}}}}},
       .success_status = 201,
       .errors = {{409, "Too many subscriptions"}, {422, "Invalid endpoint or keys"}}},
      [&push](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto person = PersonOf(gate);
        if (!person.ok()) return std::move(person).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        object fields = *body;
        fields.erase("keys");
        fields.erase(
            "expirationTime");  // the browser's, not used: the push service answers 404/410
        http::JsonReader reader(fields);
        const std::string endpoint = reader.RequiredString("endpoint", {8, kPushEndpointLengthMax});
        std::string p256dh;
        std::string auth;
        const boost::json::value* keys = body->if_contains("keys");
        if (keys == nullptr || !keys->is_object()) {
          reader.Fail("keys", "an object with p256dh and auth");
        } else {
          http::JsonReader keys_reader(keys->as_object(), "/keys");
          p256dh = keys_reader.RequiredString("p256dh", {1, 200});
          auth = keys_reader.RequiredString("auth", {1, 100});
          GUICHET_TRY_STATUS(keys_reader.Finish());
        }
        GUICHET_TRY_STATUS(reader.Finish());
        auto saved = push.subscriptions.Subscribe(*person, endpoint, p256dh, auth);
        if (!saved.ok()) return std::move(saved).error();
        return http::JsonResponse(HttpStatus::created,
                                  object{{"id", saved->id},
                                         {"endpoint", saved->endpoint},
                                         {"created_at", FormatIso8601(saved->created_at_ms)}});
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/notify/push/unsubscribe", "unsubscribePush",
      identity::kAnySession,
      {.summary = "Remove one of the caller's push subscriptions",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"},
                                {"required", {"endpoint"}},
                                {"properties", {{"endpoint", {{"type", "string"}}}}}},
       .success_status = 204,
       .success_description = "Removed",
       .errors = {{404, "Not a subscription of the caller"}, {422, "Malformed body"}}},
      [&push](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto person = PersonOf(gate);
        if (!person.ok()) return std::move(person).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        http::JsonReader reader(*body);
        const std::string endpoint = reader.RequiredString("endpoint", {8, kPushEndpointLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        GUICHET_TRY_STATUS(push.subscriptions.Unsubscribe(*person, endpoint));
        return NoContent();
      });
}

}  // namespace guichet::notify
