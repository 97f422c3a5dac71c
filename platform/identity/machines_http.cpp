// The machine clients' API: API keys, device pairing, opposition and history, and the
// authentication of machine requests the identity gate (Admit) calls before the cookie path.
#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <charconv>

#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"
#include "platform/http/router.h"
#include "platform/identity/identity_http.h"
#include "platform/identity/machines.h"

namespace guichet::identity {
namespace {

using boost::json::array;
using boost::json::object;
using http::HttpStatus;
using http::JsonReader;
using http::RequestContext;
using http::PositiveId;
using http::Response;

constexpr std::string_view kBearerScheme = "Bearer ";
constexpr int64_t kPairingCodeTypedMax = 32;  // the code as typed, with spaces or dashes
constexpr int64_t kPublicKeyTextMax = 64;     // base64url of 32 bytes is 43 characters

bool StartsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

Machines MachinesOf(IdentityHttpContext& context) {
  return Machines(context.database, context.clock, context.identity.authorizer());
}

Response Json(HttpStatus status, const boost::json::value& body) {
  return http::JsonResponse(status, body);
}

object SecretJson(const ApiKeySecret& created) {
  object body = ApiKeyJson(created.key);
  body["secret"] = created.secret;
  body["previous_secret_valid_until"] =
      created.previous_secret_valid_until_ms
          ? boost::json::value(FormatIso8601(*created.previous_secret_valid_until_ms))
          : boost::json::value(nullptr);
  return body;
}

Result<std::string> ParseReason(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  std::string reason = reader.RequiredString("reason", {1, kDeviceReasonLengthMax});
  GUICHET_TRY_STATUS(reader.Finish());
  return reason;
}

const object kApiKeySchema = {{"type", "object"},
                              {"required", {"organisation_id", "label", "scopes"}},
                              {"properties",
                               {{"organisation_id", {{"type", "integer"}}},
                                {"label", {{"type", "string"}}},
                                {"scopes", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}};
const object kPairingSchema = {{"type", "object"},
                               {"required", {"organisation_id", "kind", "label"}},
                               {"properties",
                                {{"organisation_id", {{"type", "integer"}}},
                                 {"kind", {{"enum", {"pos", "scanner", "tablet"}}}},
                                 {"label", {{"type", "string"}}}}}};
const object kPairSchema = {
    {"type", "object"},
    {"required", {"code", "public_key"}},
    {"properties", {{"code", {{"type", "string"}}}, {"public_key", {{"type", "string"}}}}}};
const object kReasonSchema = {{"type", "object"},
                              {"required", {"reason"}},
                              {"properties", {{"reason", {{"type", "string"}}}}}};

void AddApiKeyRoutes(http::Router& router, IdentityHttpContext& context) {
  AddGuarded(router, context, http::Verb::get, "/api/v1/api-keys", "listApiKeys",
             "identity.apikeys.manage",
             {.summary = "API keys of the organisations in one's scope (secrets never shown)",
              .tag = "machines"},
             [&context](const RequestContext&, Gate& gate) -> Result<Response> {
               auto keys = MachinesOf(context).ListApiKeys(gate.caller);
               if (!keys.ok()) return std::move(keys).error();
               array items;
               for (const ApiKeyView& key : *keys) items.push_back(ApiKeyJson(key));
               return Json(HttpStatus::ok, object{{"api_keys", std::move(items)}});
             });
  AddGuarded(
      router, context, http::Verb::post, "/api/v1/api-keys", "createApiKey",
      "identity.apikeys.manage",
      {.summary = "Create an API key for an institution system; the secret is shown only here",
       .description = "Send it as `Authorization: Bearer gk_…`. Scopes are permissions one holds "
                      "in the organisation, never more.",
       .tag = "machines",
       .request_schema = kApiKeySchema,
       .success_status = 201,
       .errors = {{404, "Organisation not in scope"},
                  {422, "Invalid label or scope, or a scope no key may hold"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        NewApiKey key;
        key.organisation_id = reader.RequiredInteger("organisation_id", 1, INT64_MAX);
        key.label = reader.RequiredString("label", {1, kApiKeyLabelLengthMax});
        key.scopes = reader.OptionalStringArray("scopes", kApiKeyScopesMax, {1, 100});
        if (key.scopes.empty()) reader.Fail("scopes", "give at least one permission");
        GUICHET_TRY_STATUS(reader.Finish());
        auto created = MachinesOf(context).CreateApiKey(gate.caller, key);
        if (!created.ok()) return std::move(created).error();
        return Json(HttpStatus::created, SecretJson(*created));
      });
  AddGuarded(router, context, http::Verb::post, "/api/v1/api-keys/{id}/rotation", "rotateApiKey",
             "identity.apikeys.manage",
             {.summary = "Issue a new secret; the previous one stays valid for 24 hours",
              .tag = "machines",
              .errors = {{404, "Not in scope"}, {409, "Key revoked"}}},
             [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
               auto id = PositiveId(request.Param("id"), "API key id");
               if (!id.ok()) return std::move(id).error();
               auto rotated = MachinesOf(context).RotateApiKey(gate.caller, *id);
               if (!rotated.ok()) return std::move(rotated).error();
               return Json(HttpStatus::ok, SecretJson(*rotated));
             });
  AddGuarded(router, context, http::Verb::delete_, "/api/v1/api-keys/{id}", "revokeApiKey",
             "identity.apikeys.manage",
             {.summary = "Revoke an API key: every secret of it stops working at once",
              .tag = "machines",
              .success_status = 204,
              .success_description = "Revoked",
              .errors = {{404, "Not in scope"}, {409, "Already revoked"}}},
             [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
               auto id = PositiveId(request.Param("id"), "API key id");
               if (!id.ok()) return std::move(id).error();
               GUICHET_TRY_STATUS(MachinesOf(context).RevokeApiKey(gate.caller, *id));
               return Response(HttpStatus::no_content, request.request->version());
             });
}

void AddPairingRoutes(http::Router& router, IdentityHttpContext& context) {
  AddGuarded(
      router, context, http::Verb::post, "/api/v1/devices/pairings", "createDevicePairing",
      "identity.devices.manage",
      {.summary = "A one-time pairing code (and its QR) valid 15 minutes, to enrol one device",
       .tag = "machines",
       .request_schema = kPairingSchema,
       .success_status = 201,
       .errors = {{404, "Organisation not in scope"}, {422, "Invalid kind or label"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        NewPairing pairing;
        pairing.organisation_id = reader.RequiredInteger("organisation_id", 1, INT64_MAX);
        pairing.kind = reader.RequiredString("kind", {1, 20});
        pairing.label = reader.RequiredString("label", {1, kDeviceLabelLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto made = MachinesOf(context).CreatePairing(gate.caller, pairing);
        if (!made.ok()) return std::move(made).error();
        return Json(HttpStatus::created, object{{"pairing_code", made->code},
                                                {"organisation_id", made->organisation_id},
                                                {"kind", made->kind},
                                                {"label", made->label},
                                                {"expires_at", FormatIso8601(made->expires_at_ms)},
                                                {"qr_svg", made->qr_svg}});
      });
  AddGuarded(
      router, context, http::Verb::post, "/api/v1/devices/pair", "pairDevice", kPublic,
      {.summary = "A device enrols with its pairing code and its Ed25519 public key",
       .description = "Then every request of the device carries X-Device-Id, X-Device-Timestamp "
                      "(Unix ms) and X-Device-Signature: base64url Ed25519 signature of "
                      "METHOD\\nPATH_AND_QUERY\\nTIMESTAMP\\nSHA256HEX(BODY).",
       .tag = "machines",
       .request_schema = kPairSchema,
       .success_status = 201,
       .errors = {{404, "Code unknown, used or expired"},
                  {409, "Public key already enrolled"},
                  {422, "Malformed code or key"}}},
      [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string code = reader.RequiredString("code", {1, kPairingCodeTypedMax});
        const std::string key = reader.RequiredString("public_key", {1, kPublicKeyTextMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto device = MachinesOf(context).Pair(code, key, gate.caller.request_id);
        if (!device.ok()) return std::move(device).error();
        object answer = DeviceJson(*device);
        answer["device_id"] = device->id;
        return Json(HttpStatus::created, answer);
      });
}

void AddDeviceRoutes(http::Router& router, IdentityHttpContext& context) {
  AddGuarded(router, context, http::Verb::get, "/api/v1/devices", "listDevices",
             "identity.devices.manage",
             {.summary = "Devices of the organisations in one's scope", .tag = "machines"},
             [&context](const RequestContext&, Gate& gate) -> Result<Response> {
               auto devices = MachinesOf(context).ListDevices(gate.caller);
               if (!devices.ok()) return std::move(devices).error();
               array items;
               for (const DeviceView& device : *devices) items.push_back(DeviceJson(device));
               return Json(HttpStatus::ok, object{{"devices", std::move(items)}});
             });
  AddGuarded(router, context, http::Verb::get, "/api/v1/devices/me", "getOwnDevice", "devices.self",
             {.summary = "A device's own record (signed device requests only)", .tag = "machines"},
             [&context](const RequestContext&, Gate& gate) -> Result<Response> {
               auto device = MachinesOf(context).OwnDevice(gate.caller);
               if (!device.ok()) return std::move(device).error();
               return Json(HttpStatus::ok, DeviceJson(*device));
             });
  for (const bool oppose : {true, false}) {
    AddGuarded(
        router, context, http::Verb::post,
        oppose ? "/api/v1/devices/{id}/opposition" : "/api/v1/devices/{id}/reactivation",
        oppose ? "opposeDevice" : "reactivateDevice", "identity.devices.manage",
        {.summary = oppose ? "Oppose a device: its requests are refused from now on"
                           : "Reactivate an opposed device",
         .tag = "machines",
         .request_schema = kReasonSchema,
         .errors = {{404, "Not in scope"}, {409, "Already in that state"}, {422, "No reason"}}},
        [&context, oppose](const RequestContext& request, Gate& gate) -> Result<Response> {
          auto id = PositiveId(request.Param("id"), "device id");
          if (!id.ok()) return std::move(id).error();
          auto reason = ParseReason(*request.request);
          if (!reason.ok()) return std::move(reason).error();
          Machines machines = MachinesOf(context);
          auto device = oppose ? machines.OpposeDevice(gate.caller, *id, *reason)
                               : machines.ReactivateDevice(gate.caller, *id, *reason);
          if (!device.ok()) return std::move(device).error();
          return Json(HttpStatus::ok, DeviceJson(*device));
        });
  }
  AddGuarded(router, context, http::Verb::get, "/api/v1/devices/{id}/history", "getDeviceHistory",
             "identity.devices.manage",
             {.summary = "Pairing, oppositions and reactivations of a device, newest first",
              .tag = "machines",
              .errors = {{404, "Not in scope"}}},
             [&context](const RequestContext& request, Gate& gate) -> Result<Response> {
               auto id = PositiveId(request.Param("id"), "device id");
               if (!id.ok()) return std::move(id).error();
               auto events = MachinesOf(context).DeviceHistory(gate.caller, *id);
               if (!events.ok()) return std::move(events).error();
               array items;
               for (const DeviceEvent& event : *events) items.push_back(DeviceEventJson(event));
               return Json(HttpStatus::ok, object{{"events", std::move(items)}});
             });
}

}  // namespace

std::optional<Result<Caller>> AuthenticateMachineRequest(IdentityHttpContext& context,
                                                         const http::RequestContext& request) {
  const http::Request& raw = *request.request;
  const std::string_view authorization = http::HeaderValue(raw, "Authorization");
  if (!authorization.empty()) {
    if (!StartsWithIgnoringCase(authorization, kBearerScheme)) {
      return Result<Caller>(Error{ErrorKind::kUnauthenticated,
                                  "api_key_invalid",
                                  "Send the API key as Authorization: Bearer gk_…",
                                  {}});
    }
    std::string_view token = authorization.substr(kBearerScheme.size());
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    return MachinesOf(context).AuthenticateApiKey(token, request.request_id);
  }
  const std::string_view device_id = http::HeaderValue(raw, kDeviceIdHeader);
  if (device_id.empty()) return std::nullopt;
  const SignedRequest signed_request{device_id,
                                     http::HeaderValue(raw, kDeviceTimestampHeader),
                                     http::HeaderValue(raw, kDeviceSignatureHeader),
                                     raw.method_string(),
                                     raw.target(),
                                     raw.body()};
  return MachinesOf(context).AuthenticateDevice(signed_request, request.request_id);
}

void AddMachineRoutes(http::Router& router, IdentityHttpContext& context) {
  AddApiKeyRoutes(router, context);
  AddPairingRoutes(router, context);
  AddDeviceRoutes(router, context);
}

}  // namespace guichet::identity
