// Routes of the wallet's one-time QR codes: thin adapters over QrCodes (qr_codes.h).
#include "modules/wallet/qr_codes_http.h"

#include <fmt/format.h>

#include <boost/json/array.hpp>

#include "modules/wallet/wallet_http.h"
#include "platform/base/crypto.h"
#include "platform/base/markup.h"
#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"
#include "platform/tokens/qr.h"

namespace guichet::wallet {
namespace {

using boost::json::array;
using boost::json::object;
using http::HttpStatus;
using http::JsonReader;
using http::RequestContext;
using http::Response;
using identity::Gate;

constexpr std::string_view kTag = "wallet";
constexpr int64_t kPublicKeyTextMax = 64;  // base64url of 32 bytes is 43

Response Json(HttpStatus status, const boost::json::value& body) {
  return http::JsonResponse(status, body);
}

Response Body(std::string_view media_type, std::string body) {
  Response response(HttpStatus::ok, 11);
  response.set(http::beast::http::field::content_type, media_type);
  response.set(http::beast::http::field::cache_control, "no-store");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

object PhoneJson(const QrPhone& phone) {
  object o{{"id", phone.id},
           {"kind", phone.kind},
           {"label", phone.label},
           {"status", phone.status},
           {"support_id", phone.support_id},
           {"public_key", phone.public_key},
           {"certificate", phone.certificate},
           {"certificate_expires_at", FormatIso8601(phone.certificate_expires_at_ms)},
           {"created_at", FormatIso8601(phone.created_at_ms)}};
  if (phone.revoked_at_ms) o["revoked_at"] = FormatIso8601(*phone.revoked_at_ms);
  return o;
}

std::string CodePath(int64_t id, std::string_view form) {
  return fmt::format("/api/v1/wallet/me/qr-codes/{}/{}", id, form);
}

object PrintedJson(const PrintedQrCode& code) {
  return object{{"id", code.id},
                {"text", code.text},
                {"made_at", FormatIso8601(code.made_at_ms)},
                {"expires_at", FormatIso8601(code.expires_at_ms)},
                {"used", code.used},
                {"png_url", CodePath(code.id, "png")},
                {"svg_url", CodePath(code.id, "svg")}};
}

object Schema(std::initializer_list<std::pair<std::string_view, std::string_view>> properties,
              std::initializer_list<std::string_view> required) {
  object props;
  for (const auto& [name, type] : properties) props[name] = object{{"type", type}};
  array req;
  for (std::string_view name : required) req.push_back(boost::json::string(name));
  object schema{{"type", "object"}, {"properties", std::move(props)}};
  if (!req.empty()) schema["required"] = std::move(req);
  return schema;
}

// Printed tickets get folded and scuffed: quartile error correction.
tokens::QrOptions PrintOptions() {
  tokens::QrOptions options;
  options.error_correction = tokens::QrErrorCorrection::kQuartile;
  options.scale_px = 4;
  options.aria_label = "QR code de paiement / payment QR code";
  return options;
}

// A printable page without script or inline style (the CSP allows neither).
Result<std::string> PrintPage(const std::vector<PrintedQrCode>& codes) {
  std::string items;
  for (const PrintedQrCode& code : codes) {
    auto svg = tokens::QrSvg(code.text, PrintOptions());
    if (!svg.ok()) return std::move(svg).error();
    items += fmt::format(
        "<li><figure>{}<figcaption>Valable jusqu'au / Valid until {} "
        "UTC</figcaption></figure></li>",
        *svg, EscapeMarkup(FormatIso8601(code.expires_at_ms).substr(0, 19)));
  }
  if (codes.empty())
    items =
        "<li>Aucun code valide : demandez-en de nouveaux. / No valid code: ask for new ones.</li>";
  return fmt::format(
      "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Guichet — QR "
      "codes</title>"
      "<link rel=\"icon\" href=\"/favicon.svg\"></head><body><main><h1>Codes de paiement à usage "
      "unique / One-time "
      "payment codes</h1><p>Chaque code ne sert qu'une fois et pour un temps limité. Ne les "
      "partagez pas. / Each code "
      "works once and for a limited time. Do not share them.</p><ul>{}</ul></main></body></html>",
      items);
}

// Holder routes go through wallet_http.h's AddHolderSessionRoute: one gate (origin, cookie, CSRF)
// for every holder route of the wallet.

// ---- Routes ------------------------------------------------------------------------------------

void AddPublicQrRoutes(http::Router& router, identity::IdentityHttpContext& context, QrCodes& qr) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/qr-key", "getQrServiceKeys",
      identity::kPublic,
      {.summary = "The service's Ed25519 public keys that sign phone certificates, and the codes' "
                  "lifetime: what a "
                  "point needs to verify QR codes offline (docs/wallet-qr.md)",
       .tag = std::string(kTag)},
      [&qr](const RequestContext&, Gate&) -> Result<Response> {
        auto keys = qr.VerifyingKeys();
        if (!keys.ok()) return std::move(keys).error();
        auto lifetime = qr.LifetimeS();
        if (!lifetime.ok()) return std::move(lifetime).error();
        array items;
        for (const QrVerifyingKey& key : *keys) {
          items.push_back(object{{"key_id", crypto::ToHex(key.key_id)},
                                 {"algorithm", "Ed25519"},
                                 {"public_key", crypto::ToBase64Url(key.public_key)}});
        }
        return Json(HttpStatus::ok, object{{"format", kQrPrefix},
                                           {"keys", std::move(items)},
                                           {"lifetime_s", *lifetime},
                                           {"clock_drift_s", kQrClockDriftS}});
      });
}

void AddPhoneRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet,
                    QrCodes& qr) {
  AddHolderSessionRoute(
      router, context, wallet, http::Verb::post, "/api/v1/wallet/me/phones", "enrolPhone",
      {.summary = "Enrol a phone that makes one-time QR codes offline: it sends its Ed25519 public "
                  "key and gets a "
                  "certificate signed by the service",
       .request_schema =
           Schema({{"public_key", "string"}, {"label", "string"}}, {"public_key", "label"}),
       .success_status = 201,
       .errors =
           {{409,
             "phones_limit_reached, phone_already_enrolled, holder_opposed or holder_not_active"},
            {422, "public_key_invalid or invalid field"}}},
      [&qr](const RequestContext& request, int64_t holder_id) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string public_key = reader.RequiredString("public_key", {1, kPublicKeyTextMax});
        const std::string label = reader.RequiredString("label", {1, kQrPhoneLabelLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto phone = qr.EnrolPhone(holder_id, public_key, label, request.request_id);
        if (!phone.ok()) return std::move(phone).error();
        return Json(HttpStatus::created, object{{"phone", PhoneJson(*phone)}});
      });
  AddHolderSessionRoute(router, context, wallet, http::Verb::get, "/api/v1/wallet/me/phones",
                 "listMyPhones", {.summary = "One's enrolled phones, active and revoked"},
                 [&qr](const RequestContext&, int64_t holder_id) -> Result<Response> {
                   auto phones = qr.MyPhones(holder_id);
                   if (!phones.ok()) return std::move(phones).error();
                   array items;
                   for (const QrPhone& phone : *phones) items.push_back(PhoneJson(phone));
                   return Json(HttpStatus::ok, object{{"phones", std::move(items)}});
                 });
  AddHolderSessionRoute(
      router, context, wallet, http::Verb::post, "/api/v1/wallet/me/phones/{id}/certificate",
      "renewPhoneCertificate",
      {.summary = "A new certificate for the same phone key (before the old one expires)",
       .errors = {{404, "phone_not_found"}, {409, "qr_phone_revoked"}}},
      [&qr](const RequestContext& request, int64_t holder_id) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "phone id");
        if (!id.ok()) return std::move(id).error();
        auto phone = qr.RenewCertificate(holder_id, *id, request.request_id);
        if (!phone.ok()) return std::move(phone).error();
        return Json(HttpStatus::ok, object{{"phone", PhoneJson(*phone)}});
      });
  AddHolderSessionRoute(router, context, wallet, http::Verb::delete_, "/api/v1/wallet/me/phones/{id}",
                 "revokeMyPhone",
                 {.summary = "Revoke a phone (lost, sold): its codes are refused from now on",
                  .errors = {{404, "phone_not_found"}}},
                 [&qr](const RequestContext& request, int64_t holder_id) -> Result<Response> {
                   auto id = http::PositiveId(request.Param("id"), "phone id");
                   if (!id.ok()) return std::move(id).error();
                   auto phone = qr.RevokeMyPhone(holder_id, *id, request.request_id);
                   if (!phone.ok()) return std::move(phone).error();
                   return Json(HttpStatus::ok, object{{"phone", PhoneJson(*phone)}});
                 });
}

void AddPrintedRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet,
                      QrCodes& qr) {
  AddHolderSessionRoute(
      router, context, wallet, http::Verb::post, "/api/v1/wallet/me/qr-codes", "printQrCodes",
      {.summary = "1 to 3 one-time QR codes made by the service, to print or show without a phone "
                  "(valid for the "
                  "national QR lifetime)",
       .request_schema = Schema({{"count", "integer"}}, {"count"}),
       .success_status = 201,
       .errors = {{409, "holder_opposed or holder_not_active"}, {422, "invalid field"}}},
      [&qr](const RequestContext& request, int64_t holder_id) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const int64_t count = reader.RequiredInteger("count", 1, kQrPrintedCodesMax);
        GUICHET_TRY_STATUS(reader.Finish());
        auto codes = qr.PrintCodes(holder_id, count, request.request_id);
        if (!codes.ok()) return std::move(codes).error();
        array items;
        for (const PrintedQrCode& code : *codes) items.push_back(PrintedJson(code));
        return Json(HttpStatus::created, object{{"codes", std::move(items)},
                                                {"page_url", "/api/v1/wallet/me/qr-codes/page"}});
      });
  AddHolderSessionRoute(router, context, wallet, http::Verb::get, "/api/v1/wallet/me/qr-codes",
                 "listMyQrCodes", {.summary = "One's printed codes still valid and unused"},
                 [&qr](const RequestContext&, int64_t holder_id) -> Result<Response> {
                   auto codes = qr.MyPrintedCodes(holder_id);
                   if (!codes.ok()) return std::move(codes).error();
                   array items;
                   for (const PrintedQrCode& code : *codes) items.push_back(PrintedJson(code));
                   return Json(HttpStatus::ok, object{{"codes", std::move(items)}});
                 });
  AddHolderSessionRoute(
      router, context, wallet, http::Verb::get, "/api/v1/wallet/me/qr-codes/page",
      "printQrCodesPage",
      {.summary = "A printable page (no script) of one's printed codes still valid and unused",
       .success_media_type = "text/html"},
      [&qr](const RequestContext&, int64_t holder_id) -> Result<Response> {
        auto codes = qr.MyPrintedCodes(holder_id);
        if (!codes.ok()) return std::move(codes).error();
        auto page = PrintPage(*codes);
        if (!page.ok()) return std::move(page).error();
        return Body("text/html; charset=utf-8", std::move(*page));
      });
  for (const std::string_view form : {std::string_view("png"), std::string_view("svg")}) {
    AddHolderSessionRoute(
        router, context, wallet, http::Verb::get,
        fmt::format("/api/v1/wallet/me/qr-codes/{{id}}/{}", form),
        form == "png" ? "getMyQrCodePng" : "getMyQrCodeSvg",
        {.summary = fmt::format("One of one's printed codes as {}", form == "png" ? "PNG" : "SVG"),
         .success_media_type = form == "png" ? "image/png" : "image/svg+xml",
         .errors = {{404, "qr_code_not_found"}}},
        [&qr, form](const RequestContext& request, int64_t holder_id) -> Result<Response> {
          auto id = http::PositiveId(request.Param("id"), "code id");
          if (!id.ok()) return std::move(id).error();
          auto code = qr.MyPrintedCode(holder_id, *id);
          if (!code.ok()) return std::move(code).error();
          auto image = form == "png" ? tokens::QrPng(code->text, PrintOptions())
                                     : tokens::QrSvg(code->text, PrintOptions());
          if (!image.ok()) return std::move(image).error();
          return Body(form == "png" ? "image/png" : "image/svg+xml", std::move(*image));
        });
  }
}

void AddStaffQrRoutes(http::Router& router, identity::IdentityHttpContext& context, QrCodes& qr) {
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/holders/{id}/phones",
                       "listHolderPhones", right::kRead,
                       {.summary = "A holder's phones that make QR codes, active and revoked",
                        .tag = std::string(kTag),
                        .errors = {{404, "holder_not_found"}}},
                       [&qr](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = http::PositiveId(request.Param("id"), "holder id");
                         if (!id.ok()) return std::move(id).error();
                         auto phones = qr.HolderPhones(gate.caller, *id);
                         if (!phones.ok()) return std::move(phones).error();
                         array items;
                         for (const QrPhone& phone : *phones) items.push_back(PhoneJson(phone));
                         return Json(HttpStatus::ok, object{{"phones", std::move(items)}});
                       });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/holders/{id}/phones/{phone_id}/revoke",
      "revokeHolderPhone", right::kOppose,
      {.summary =
           "Revoke a holder's phone (lost, stolen, fraud): its QR codes are refused from now on",
       .tag = std::string(kTag),
       .errors = {{404, "holder_not_found or phone_not_found"}}},
      [&qr](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "holder id");
        if (!id.ok()) return std::move(id).error();
        auto phone_id = http::PositiveId(request.Param("phone_id"), "phone id");
        if (!phone_id.ok()) return std::move(phone_id).error();
        auto phone = qr.RevokePhone(gate.caller, *id, *phone_id);
        if (!phone.ok()) return std::move(phone).error();
        return Json(HttpStatus::ok, object{{"phone", PhoneJson(*phone)}});
      });
}

}  // namespace

void AddQrRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet,
                 QrCodes& qr) {
  AddPublicQrRoutes(router, context, qr);
  AddPhoneRoutes(router, context, wallet, qr);
  AddPrintedRoutes(router, context, wallet, qr);
  AddStaffQrRoutes(router, context, qr);
}

}  // namespace guichet::wallet
