#include "platform/notify/delivery_http.h"

#include <boost/json/serialize.hpp>

#include "platform/audit/audit.h"
#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"
#include "platform/notify/delivery.h"
#include "platform/notify/outbox.h"
#include "platform/notify/sms.h"
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

boost::json::value OptionalValue(const std::optional<int64_t>& value) {
  return value ? boost::json::value(*value) : boost::json::value(nullptr);
}
boost::json::value OptionalValue(const std::optional<std::string>& value) {
  return value ? boost::json::value(*value) : boost::json::value(nullptr);
}

object BadAddressJson(const BadAddress& bad) {
  return {{"id", bad.id},
          {"channel", bad.channel},
          {"address", bad.address},
          {"organisation_id", OptionalValue(bad.organisation_id)},
          {"reason", bad.reason},
          {"source", bad.source},
          {"message_id", OptionalValue(bad.message_id)},
          {"status_code", OptionalValue(bad.status_code)},
          {"created_at", FormatIso8601(bad.created_at_ms)},
          {"cleared_at", bad.cleared_at_ms ? boost::json::value(FormatIso8601(*bad.cleared_at_ms)) : nullptr},
          {"corrected_to", OptionalValue(bad.corrected_to)}};
}

object SenderJson(const Sender& sender) {
  return {{"from_address", sender.from_address},
          {"display_name", sender.display_name},
          {"reply_to", sender.reply_to},
          {"domain", sender.domain},
          {"dkim_selector", sender.dkim_selector},
          {"dkim_key_set", !sender.dkim_private_key.empty()},
          {"organisation_id", OptionalValue(sender.organisation_id)}};
}

Result<Response> Accepted(const object& body) { return http::JsonResponse(HttpStatus::ok, body); }

void AddReportRoutes(http::Router& router, identity::IdentityHttpContext& context, DeliveryHttpContext& delivery) {
  const object report_schema{{"type", "object"}};
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/notify/sms/reports", "reportSmsDelivery", identity::kPublic,
      {.summary = "Delivery report from the SMS provider, signed with HMAC-SHA256 (X-Guichet-Signature)",
       .tag = std::string(kTag),
       .request_schema = report_schema,
       .errors = {{400, "Signature missing or wrong (signature_invalid)"}, {404, "Unknown message"}, {422, "Malformed report"},
                  {503, "Report ahead of our record of the submission: retry later"}}},
      [&delivery, &context](const RequestContext& request, Gate&) -> Result<Response> {
        auto applied = ApplySmsReport(context.database, context.clock, delivery.report_secret,
                                      request.request->body(),
                                      http::HeaderValue(*request.request, kSignatureHeader));
        if (!applied.ok()) return std::move(applied).error();
        return Accepted(object{{"message_id", applied->message_id}, {"state", applied->state}});
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/notify/bounces", "reportBounce", identity::kPublic,
      {.summary = "Bounce or permanent failure reported by the mail server (a DSN relayed as JSON), signed "
                  "with HMAC-SHA256 (X-Guichet-Signature): the address is marked bad",
       .tag = std::string(kTag),
       .request_schema = report_schema,
       .errors = {{400, "Signature missing or wrong (signature_invalid)"}, {422, "Malformed report"}}},
      [&delivery, &context](const RequestContext& request, Gate&) -> Result<Response> {
        auto applied = ApplyBounceReport(context.database, context.clock, delivery.report_secret,
                                         request.request->body(),
                                         http::HeaderValue(*request.request, kSignatureHeader));
        if (!applied.ok()) return std::move(applied).error();
        return Accepted(object{{"bad_address_id", *applied}});
      });
}

void AddBadAddressRoutes(http::Router& router, identity::IdentityHttpContext& context, DeliveryHttpContext& delivery) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/notify/bad-addresses", "listBadAddresses",
      kBadAddressesRead,
      {.summary = "Addresses and numbers found bad (bounces, rejections, failed SMS) in one's scope, to correct",
       .tag = std::string(kTag)},
      [&delivery](const RequestContext& request, Gate& gate) -> Result<Response> {
        BadAddressFilter filter;
        if (auto channel = http::QueryParameter(*request.request, "channel")) {
          if (*channel != "email" && *channel != "sms" && *channel != "push") {
            return Error{ErrorKind::kValidation, "validation_failed", "unknown channel", {{"/channel", "email, sms or push"}}};
          }
          filter.channel = *channel;
        }
        filter.include_cleared = http::QueryParameter(*request.request, "include_cleared").value_or("") == "true";
        auto list = delivery.bad_addresses.List(gate.caller, filter);
        if (!list.ok()) return std::move(list).error();
        array items;
        for (const BadAddress& bad : *list) items.push_back(BadAddressJson(bad));
        return http::JsonResponse(HttpStatus::ok, object{{"items", items}});
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/notify/bad-addresses/{id}/clear", "clearBadAddress",
      kBadAddressesManage,
      {.summary = "Clear a bad address (it was fine after all, or was corrected elsewhere): messages to it "
                  "are tried again; audited",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"}, {"properties", {{"corrected_to", {{"type", "string"}}}}}},
       .errors = {{404, "Not in scope"}, {409, "Already cleared"}, {422, "Malformed body"}}},
      [&delivery](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "bad address id");
        if (!id.ok()) return std::move(id).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        http::JsonReader reader(*body);
        const std::string corrected = reader.OptionalString("corrected_to", {0, kAddressLengthMax}).value_or("");
        GUICHET_TRY_STATUS(reader.Finish());
        auto cleared = delivery.bad_addresses.Clear(gate.caller, *id, corrected, request.request_id);
        if (!cleared.ok()) return std::move(cleared).error();
        return http::JsonResponse(HttpStatus::ok, BadAddressJson(*cleared));
      });
}

Result<Sender> ParseSender(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  http::JsonReader reader(*body);
  Sender sender;
  sender.from_address = reader.RequiredString("from_address", {3, kAddressLengthMax});
  sender.display_name = reader.RequiredString("display_name", {1, kSenderNameLengthMax});
  sender.reply_to = reader.OptionalString("reply_to", {0, kAddressLengthMax}).value_or("");
  sender.domain = reader.OptionalString("domain", {0, 253}).value_or("");
  sender.dkim_selector = reader.OptionalString("dkim_selector", {0, 63}).value_or("");
  sender.dkim_private_key = reader.OptionalString("dkim_private_key", {0, kDkimKeyBytesMax}).value_or("");
  GUICHET_TRY_STATUS(reader.Finish());
  return sender;
}

void AddSenderRoutes(http::Router& router, identity::IdentityHttpContext& context, DeliveryHttpContext& delivery) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/organisations/{id}/sender", "getSender", kSendersManage,
      {.summary = "The e-mail sender in force for an organisation (its own, or inherited from above)",
       .tag = std::string(kTag),
       .errors = {{404, "Not in scope, or no sender set at or above it"}}},
      [&delivery](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "organisation id");
        if (!id.ok()) return std::move(id).error();
        auto sender = delivery.senders.Get(gate.caller, *id);
        if (!sender.ok()) return std::move(sender).error();
        if (!*sender) return Error::NotFound("sender_not_found", "no sender set at or above this organisation");
        return http::JsonResponse(HttpStatus::ok, SenderJson(**sender));
      });
  identity::AddGuarded(
      router, context, http::Verb::put, "/api/v1/organisations/{id}/sender", "setSender", kSendersManage,
      {.summary = "Set an organisation's e-mail sender (inherited by the organisations below it); audited",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"},
                                {"required", {"from_address", "display_name"}},
                                {"properties",
                                 {{"from_address", {{"type", "string"}}},
                                  {"display_name", {{"type", "string"}}},
                                  {"reply_to", {{"type", "string"}}},
                                  {"domain", {{"type", "string"}}},
                                  {"dkim_selector", {{"type", "string"}}},
                                  {"dkim_private_key", {{"type", "string"}}}}}},
       .errors = {{404, "Not in scope"}, {422, "Invalid address, domain or name"}}},
      [&delivery](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "organisation id");
        if (!id.ok()) return std::move(id).error();
        auto sender = ParseSender(*request.request);
        if (!sender.ok()) return std::move(sender).error();
        auto saved = delivery.senders.Set(gate.caller, *id, std::move(sender).value(), request.request_id);
        if (!saved.ok()) return std::move(saved).error();
        return http::JsonResponse(HttpStatus::ok, SenderJson(*saved));
      });
}

// One message's delivery, for staff of the organisation it belongs to.
Result<orgs::Organisation> MessageOrganisation(storage::Transaction& tx, const identity::Authorizer& authorizer,
                                               const identity::Caller& caller, std::string_view permission,
                                               const std::optional<MessageState>& message) {
  const Error not_found = Error::NotFound("message_not_found", "no such message in your scope");
  if (!message || !message->organisation_id) return not_found;
  auto org = orgs::Find(tx, *message->organisation_id);
  if (!org.ok()) return std::move(org).error();
  if (!*org || !authorizer.Allows(caller, kMessagesRead, (*org)->path)) return not_found;
  GUICHET_TRY_STATUS(authorizer.Require(caller, permission, (*org)->path));
  return **org;
}

object MessageJson(const MessageState& message, const std::vector<DeliveryLogEntry>& log) {
  array attempts;
  for (const DeliveryLogEntry& entry : log) {
    attempts.push_back(object{{"attempt", entry.attempt},
                              {"at", FormatIso8601(entry.at_ms)},
                              {"outcome", entry.outcome},
                              {"status_code", OptionalValue(entry.status_code)},
                              {"detail", entry.detail},
                              {"provider_reference", OptionalValue(entry.provider_reference)}});
  }
  return {{"id", message.id},
          {"channel", message.channel},
          {"recipient", message.recipient},
          {"state", message.state},
          {"attempts", message.attempts},
          {"last_error", OptionalValue(message.last_error)},
          {"provider_reference", OptionalValue(message.provider_reference)},
          {"organisation_id", OptionalValue(message.organisation_id)},
          {"created_at", FormatIso8601(message.created_at_ms)},
          {"updated_at", FormatIso8601(message.updated_at_ms)},
          {"log", attempts}};
}

void AddMessageRoutes(http::Router& router, identity::IdentityHttpContext& context, DeliveryHttpContext& delivery) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/notify/messages/{id}", "getMessageDelivery", kMessagesRead,
      {.summary = "One message's delivery state and its log of attempts",
       .tag = std::string(kTag),
       .errors = {{404, "Not in scope"}}},
      [&delivery, &context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "message id");
        if (!id.ok()) return std::move(id).error();
        auto json = context.database.Transact<object>(
            storage::TransactionMode::kRead, [&](storage::Transaction& tx) -> Result<object> {
              auto message = FindMessage(tx, *id);
              if (!message.ok()) return std::move(message).error();
              auto org = MessageOrganisation(tx, delivery.authorizer, gate.caller, kMessagesRead, *message);
              if (!org.ok()) return std::move(org).error();
              auto log = DeliveryLog(tx, *id);
              if (!log.ok()) return std::move(log).error();
              return MessageJson(**message, *log);
            });
        if (!json.ok()) return std::move(json).error();
        return http::JsonResponse(HttpStatus::ok, *json);
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/notify/messages/{id}/resend", "resendMessage",
      kMessagesManage,
      {.summary = "Send an uncertain (interrupted mid-delivery) or failed message again; audited",
       .tag = std::string(kTag),
       .errors = {{404, "Not in scope"}, {409, "Not uncertain or failed"}}},
      [&delivery, &context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "message id");
        if (!id.ok()) return std::move(id).error();
        auto json = context.database.Transact<object>(
            storage::TransactionMode::kWrite, [&](storage::Transaction& tx) -> Result<object> {
              auto message = FindMessage(tx, *id);
              if (!message.ok()) return std::move(message).error();
              auto org = MessageOrganisation(tx, delivery.authorizer, gate.caller, kMessagesManage, *message);
              if (!org.ok()) return std::move(org).error();
              const int64_t now = context.clock.NowMs();
              GUICHET_TRY_STATUS(DeliveryEngine::Resend(tx, *id, now));
              GUICHET_TRY_STATUS(audit::Append(
                  tx, {"user", gate.caller.id, org->id, "notify.message.resend", "message", std::to_string(*id),
                       boost::json::serialize(object{{"state", (*message)->state}}),
                       boost::json::serialize(object{{"state", "queued"}}), request.request_id},
                  now));
              auto after = FindMessage(tx, *id);
              if (!after.ok()) return std::move(after).error();
              auto log = DeliveryLog(tx, *id);
              if (!log.ok()) return std::move(log).error();
              return MessageJson(**after, *log);
            });
        if (!json.ok()) return std::move(json).error();
        return http::JsonResponse(HttpStatus::ok, *json);
      });
}

Result<OutboxMessage> ParseQueued(const object& body) {
  // `variables` is a free object: read apart, the rest strictly.
  object fields = body;
  fields.erase("variables");
  http::JsonReader reader(fields);
  OutboxMessage message;
  message.channel = reader.RequiredString("channel", {1, 10});
  message.recipient = reader.RequiredString("recipient", {1, 2000});
  message.template_code = reader.RequiredString("template_code", {1, 100});
  message.language = reader.OptionalString("language", {2, 2}).value_or("fr");
  message.purpose = reader.OptionalString("purpose", {1, 40}).value_or("transactional");
  message.organisation_id = reader.OptionalInteger("organisation_id", 1, INT64_MAX);
  if (const auto* variables = body.if_contains("variables")) {
    if (!variables->is_object()) {
      reader.Fail("variables", "must be an object");
    } else {
      message.variables_json = boost::json::serialize(*variables);
      if (static_cast<int64_t>(message.variables_json.size()) > kVariablesBytesMax) {
        reader.Fail("variables", "too large");
      }
    }
  }
  if (message.channel != "email" && message.channel != "sms" && message.channel != "push" &&
      message.channel != "webhook") {
    reader.Fail("channel", "email, sms, push or webhook");
  }
  GUICHET_TRY_STATUS(reader.Finish());
  return message;
}

}  // namespace

void AddDeliveryDiagnosticsRoutes(http::Router& router, identity::IdentityHttpContext& context) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/diagnostics/messages", "postDiagnosticsMessage",
      identity::kPublic,
      {.summary = "Queue a message as a use case would (diagnostics only)",
       .tag = "diagnostics",
       .request_schema = object{{"type", "object"}, {"required", {"channel", "recipient", "template_code"}}},
       .success_status = 201,
       .errors = {{422, "Malformed message"}}},
      [&context](const RequestContext& request, Gate&) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        // {"messages": [...]} queues several in one transaction, as one use case would.
        std::vector<OutboxMessage> messages;
        if (const auto* list = body->if_contains("messages"); list != nullptr && list->is_array() && body->size() == 1) {
          for (const boost::json::value& item : list->as_array()) {
            if (!item.is_object() || messages.size() >= 100) {
              return Error{ErrorKind::kValidation, "validation_failed", "1 to 100 message objects", {{"/messages", "1 to 100 message objects"}}};
            }
            auto message = ParseQueued(item.as_object());
            if (!message.ok()) return std::move(message).error();
            messages.push_back(std::move(message).value());
          }
        } else {
          auto message = ParseQueued(*body);
          if (!message.ok()) return std::move(message).error();
          messages.push_back(std::move(message).value());
        }
        auto ids = context.database.Transact<array>(
            storage::TransactionMode::kWrite, [&](storage::Transaction& tx) -> Result<array> {
              array queued;
              for (const OutboxMessage& message : messages) {
                auto id = Queue(tx, message, context.clock.NowMs());
                if (!id.ok()) return std::move(id).error();
                queued.push_back(*id);
              }
              return queued;
            });
        if (!ids.ok()) return std::move(ids).error();
        return http::JsonResponse(HttpStatus::created, object{{"id", ids->front()}, {"ids", *ids}});
      });
}

void DeclarePermissions(identity::RightsCatalog& catalog) {
  catalog.AddPermission({std::string(kBadAddressesRead), "See the e-mail addresses and numbers found bad in one's scope"});
  catalog.AddPermission({std::string(kBadAddressesManage), "Clear or correct addresses and numbers found bad"});
  catalog.AddPermission({std::string(kSendersManage), "Set the e-mail sender (address, name, domain, DKIM key) of an organisation"});
  catalog.AddPermission({std::string(kMessagesRead), "See a message's delivery state and attempts"});
  catalog.AddPermission({std::string(kMessagesManage), "Send an interrupted or failed message again"});
}

void AddDeliveryRoutes(http::Router& router, identity::IdentityHttpContext& context, DeliveryHttpContext& delivery) {
  AddReportRoutes(router, context, delivery);
  AddBadAddressRoutes(router, context, delivery);
  AddSenderRoutes(router, context, delivery);
  AddMessageRoutes(router, context, delivery);
}

}  // namespace guichet::notify
