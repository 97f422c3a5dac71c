#include "modules/wallet/reloads_http.h"

#include "platform/base/markup.h"

#include <fmt/format.h>

#include <boost/json/array.hpp>

#include "modules/wallet/wallet_http.h"
#include "platform/base/crypto.h"
#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"

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
constexpr int64_t kAmountMax = int64_t{100'000'000};
constexpr int64_t kIbanTextMax = 50;

Response Json(HttpStatus status, const boost::json::value& body) { return http::JsonResponse(status, body); }

Response Html(HttpStatus status, std::string body) {
  Response response(status, 11);
  response.set(http::beast::http::field::content_type, "text/html; charset=utf-8");
  response.set(http::beast::http::field::cache_control, "no-store");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}


// "32", "32.5", "32,50" (a form's euros) → cents; nullopt otherwise.
std::optional<int64_t> ParseEuros(std::string_view text) {
  std::string clean;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.substr(i, 3) == "%2C" || text.substr(i, 3) == "%2c") {
      clean.push_back('.');
      i += 2;
    } else if (text[i] == ',') {
      clean.push_back('.');
    } else if (text[i] != '+' && text[i] != ' ') {
      clean.push_back(text[i]);
    }
  }
  const size_t dot = clean.find('.');
  const std::string units = clean.substr(0, dot);
  std::string cents = dot == std::string::npos ? "00" : clean.substr(dot + 1);
  if (cents.size() == 1) cents += "0";
  if (units.empty() || units.size() > 7 || cents.size() != 2) return std::nullopt;
  for (char c : units + cents) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return std::stoll(units) * 100 + std::stoll(cents);
}

std::string LinkPage(const ReloadLink& link, int64_t minimum, std::string_view error) {
  const std::string amount =
      link.amount ? fmt::format("<p>Montant / Amount : <strong id=\"amount\">{} EUR</strong></p>",
                                banking::FormatEuros(*link.amount))
                  : fmt::format("<p><label for=\"amount\">Montant en euros / Amount in euros (min. {})</label> "
                                "<input id=\"amount\" name=\"amount\" inputmode=\"decimal\" required></p>",
                                banking::FormatEuros(minimum));
  return fmt::format(
      "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Guichet</title>"
      // The form's POST must carry our Origin (the server's default policy would send "null").
      "<meta name=\"referrer\" content=\"same-origin\">"
      "<link rel=\"icon\" href=\"/favicon.svg\"></head><body><main><h1>Recharger un compte Guichet / Reload a "
      "Guichet account</h1><p>Quelqu'un vous demande de recharger son compte. Vous payez par carte sur la page "
      "de notre prestataire ; vous n'avez pas besoin de compte. / Someone asks you to reload their account. You "
      "pay by card on our provider's page; you need no account.</p>{}"
      "<p>Valable jusqu'au / Valid until {}</p>"
      "<form method=\"post\" action=\"/api/v1/wallet/reload-links/{}/page\">{}"
      "<button type=\"submit\">Payer par carte / Pay by card</button></form></main></body></html>",
      error.empty() ? std::string() : fmt::format("<p role=\"alert\">{}</p>", EscapeMarkup(error)),
      FormatIso8601(link.expires_at_ms).substr(0, 16), EscapeMarkup(link.token), amount);
}

// Holder routes go through wallet_http.h's AddHolderSessionRoute: one gate (origin, cookie, CSRF)
// for every holder route of the wallet.

// ---- Bodies ------------------------------------------------------------------------------------

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

Result<CardReloadRequest> ParseCardReload(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  CardReloadRequest out;
  out.amount = reader.RequiredInteger("amount", 1, kAmountMax);
  out.save_card = reader.OptionalBool("save_card").value_or(false);
  out.saved_card_id = reader.OptionalInteger("saved_card_id", 1, INT64_MAX);
  GUICHET_TRY_STATUS(reader.Finish());
  return out;
}

Result<Response> PaymentResponse(Result<CardPayment> payment) {
  if (!payment.ok()) return std::move(payment).error();
  return Json(HttpStatus::created, CardPaymentJson(*payment));
}

object LinkJson(const ReloadLink& link) {
  object o{{"token", link.token}, {"url", link.url}, {"expires_at", FormatIso8601(link.expires_at_ms)}};
  if (link.amount) o["amount"] = *link.amount;
  return o;
}

void AddHolderMoneyRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet, Money& money) {
  AddHolderSessionRoute(
      router, context, wallet, http::Verb::post, "/api/v1/wallet/me/card-reloads", "startCardReload",
      {.summary = "Reload one's account by card: answers the acquirer's payment page to go to (or, with a saved "
                  "card, a payment already submitted); the account is credited on the acquirer's signed notification",
       .request_schema = Schema({{"amount", "integer"}, {"save_card", "boolean"}, {"saved_card_id", "integer"}}, {"amount"}),
       .success_status = 201,
       .errors = {{404, "card_not_found"},
                  {409, "holder_opposed or holder_not_active"},
                  {422, "below_minimum, threshold_exceeded or invalid field"},
                  {503, "acquirer_unavailable"}}},
      [&money](const RequestContext& request, int64_t holder_id) -> Result<Response> {
        auto input = ParseCardReload(*request.request);
        if (!input.ok()) return std::move(input).error();
        return PaymentResponse(money.StartCardReload(holder_id, *input));
      });
  AddHolderSessionRoute(router, context, wallet, http::Verb::get, "/api/v1/wallet/me/card-reloads/{reference}",
                 "getCardReload", {.summary = "The state of one's card reload", .errors = {{404, "payment_not_found"}}},
                 [&money](const RequestContext& request, int64_t holder_id) -> Result<Response> {
                   auto payment = money.MyCardPayment(holder_id, request.Param("reference"));
                   if (!payment.ok()) return std::move(payment).error();
                   return Json(HttpStatus::ok, CardPaymentJson(*payment));
                 });
  AddHolderSessionRoute(router, context, wallet, http::Verb::get, "/api/v1/wallet/me/saved-cards", "listSavedCards",
                 {.summary = "One's saved cards (brand and last four digits; the token stays on the server)"},
                 [&money](const RequestContext&, int64_t holder_id) -> Result<Response> {
                   auto cards = money.MySavedCards(holder_id);
                   if (!cards.ok()) return std::move(cards).error();
                   array items;
                   for (const SavedCard& card : *cards) {
                     items.push_back(object{{"id", card.id}, {"brand", card.brand}, {"last4", card.last4},
                                            {"created_at", FormatIso8601(card.created_at_ms)}});
                   }
                   return Json(HttpStatus::ok, object{{"cards", std::move(items)}});
                 });
  AddHolderSessionRoute(router, context, wallet, http::Verb::delete_, "/api/v1/wallet/me/saved-cards/{id}", "forgetSavedCard",
                 {.summary = "Forget a saved card", .success_status = 204, .errors = {{404, "card_not_found"}}},
                 [&money](const RequestContext& request, int64_t holder_id) -> Result<Response> {
                   auto id = http::PositiveId(request.Param("id"), "card id");
                   if (!id.ok()) return std::move(id).error();
                   GUICHET_TRY_STATUS(money.ForgetSavedCard(holder_id, *id));
                   return Response(HttpStatus::no_content, 11);
                 });
  AddHolderSessionRoute(
      router, context, wallet, http::Verb::post, "/api/v1/wallet/me/transfers", "transferToHolder",
      {.summary = "Send euros to another holder, by e-mail or support number (free, one call; both are alerted)",
       .description = "client_id makes the call idempotent: the same id and content answer the first result.",
       .request_schema = Schema({{"amount", "integer"}, {"to", "string"}, {"client_id", "string"}},
                                {"amount", "to", "client_id"}),
       .success_status = 201,
       .errors = {{404, "holder_not_found"},
                  {409, "holder_opposed, holder_not_active or duplicate_operation"},
                  {422, "insufficient_funds, threshold_exceeded, same_holder or invalid field"}}},
      [&money](const RequestContext& request, int64_t holder_id) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const int64_t amount = reader.RequiredInteger("amount", 1, kAmountMax);
        const std::string to = reader.RequiredString("to", {1, kEmailLengthMax});
        const std::string client_id = reader.RequiredString("client_id", {1, kClientIdLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto moved = money.TransferToHolder(holder_id, to, amount, client_id);
        if (!moved.ok()) return std::move(moved).error();
        return Json(HttpStatus::created, object{{"transfer_id", moved->transfer_id},
                                                {"balance_after", moved->balance_after},
                                                {"replayed", moved->replayed}});
      });
  AddHolderSessionRoute(
      router, context, wallet, http::Verb::post, "/api/v1/wallet/me/reload-links", "createReloadLink",
      {.summary = "A self-contained signed link a third party opens to reload one's account by card, without an "
                  "account",
       .request_schema = Schema({{"amount", "integer"}, {"valid_hours", "integer"}}, {}),
       .success_status = 201,
       .errors = {{409, "holder_opposed"}, {422, "below_minimum or invalid field"}}},
      [&money](const RequestContext& request, int64_t holder_id) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const auto amount = reader.OptionalInteger("amount", 1, kAmountMax);
        const auto hours = reader.OptionalInteger("valid_hours", 1, kReloadLinkValidityMsMax / 3'600'000);
        GUICHET_TRY_STATUS(reader.Finish());
        std::optional<int64_t> validity;
        if (hours) validity = *hours * 3'600'000;
        auto link = money.CreateReloadLink(holder_id, amount, validity);
        if (!link.ok()) return std::move(link).error();
        return Json(HttpStatus::created, LinkJson(*link));
      });
  AddHolderSessionRoute(
      router, context, wallet, http::Verb::post, "/api/v1/wallet/me/refunds", "requestRefund",
      {.summary = "Ask for a refund by SEPA transfer: an amount, or the whole balance (no minimum then); the account "
                  "is debited at once and the transfer goes in the next file for the bank",
       .request_schema = Schema({{"amount", "integer"}, {"full_balance", "boolean"}, {"iban", "string"},
                                 {"bic", "string"}, {"name", "string"}},
                                {"iban"}),
       .success_status = 201,
       .errors = {{409, "holder_opposed or holder_not_active"},
                  {422, "refund_below_minimum, insufficient_funds, iban_checksum_wrong, iban_length_wrong, "
                        "iban_country_unknown, iban_malformed, iban_not_sepa, bic_malformed"}}},
      [&money](const RequestContext& request, int64_t holder_id) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        RefundRequest input;
        input.amount = reader.OptionalInteger("amount", 1, kAmountMax);
        input.full_balance = reader.OptionalBool("full_balance").value_or(false);
        input.iban = reader.RequiredString("iban", {1, kIbanTextMax});
        input.bic = reader.OptionalString("bic", {1, 20}).value_or("");
        input.name = reader.OptionalString("name", {1, 70}).value_or("");
        if (input.full_balance == input.amount.has_value()) reader.Fail("amount", "give an amount or full_balance");
        GUICHET_TRY_STATUS(reader.Finish());
        auto refund = money.RequestRefund(holder_id, input);
        if (!refund.ok()) return std::move(refund).error();
        return Json(HttpStatus::created, RefundJson(*refund));
      });
  AddHolderSessionRoute(router, context, wallet, http::Verb::get, "/api/v1/wallet/me/refunds", "listMyRefunds",
                 {.summary = "One's refunds and whether they went to the bank"},
                 [&money](const RequestContext&, int64_t holder_id) -> Result<Response> {
                   auto refunds = money.MyRefunds(holder_id);
                   if (!refunds.ok()) return std::move(refunds).error();
                   array items;
                   for (const Refund& refund : *refunds) items.push_back(RefundJson(refund));
                   return Json(HttpStatus::ok, object{{"refunds", std::move(items)}});
                 });
}

void AddPublicMoneyRoutes(http::Router& router, identity::IdentityHttpContext& context, Money& money) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/payments/card-acquirer/notifications", "cardAcquirerNotification",
      identity::kPublic,
      {.summary = "The card acquirer's signed server-to-server notification (authorised, refused, cancelled, "
                  "chargeback); the same event twice changes nothing",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"}},
       .errors = {{400, "notification_malformed or notification_signature_invalid"},
                  {404, "payment_not_found"},
                  {422, "amount_mismatch"}}},
      [&money](const RequestContext& request, Gate&) -> Result<Response> {
        const std::string signature(http::HeaderValue(*request.request, "Acquirer-Signature"));
        auto outcome = money.HandleNotification(signature, request.request->body());
        if (!outcome.ok()) return std::move(outcome).error();
        return Json(HttpStatus::ok, object{{"reference", outcome->reference},
                                           {"status", outcome->status},
                                           {"replayed", outcome->replayed}});
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/card-return", "cardReloadReturn", identity::kPublic,
      {.summary = "Where the acquirer's page sends the payer back: a page saying what happened (the account is "
                  "credited by the notification, not by this visit)",
       .tag = std::string(kTag),
       .success_media_type = "text/html"},
      [](const RequestContext& request, Gate&) -> Result<Response> {
        const std::string status = http::QueryParameter(*request.request, "status").value_or("");
        const bool ok = status == "authorised";
        return Html(HttpStatus::ok,
                    fmt::format("<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Guichet</title><link rel=\"icon\" href=\"/favicon.svg\">"
                                "</head><body><h1 id=\"outcome\" data-status=\"{}\">{}</h1><p>{}</p>"
                                "<p><a href=\"/wallet\">Mon porte-monnaie / My wallet</a> · <a href=\"/\">Guichet</a></p></body></html>",
                                EscapeMarkup(status),
                                ok ? "Paiement accepté — Payment accepted" : "Paiement non abouti — Payment not completed",
                                ok ? "Votre compte est crédité. Your account is credited."
                                   : "Aucun montant n'a été crédité. Nothing was credited."));
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/reload-links/{token}", "readReloadLink", identity::kPublic,
      {.summary = "What a third-party reload link is for (amount if set, expiry), without personal data",
       .tag = std::string(kTag),
       .errors = {{404, "link_invalid or link_expired"}}},
      [&money](const RequestContext& request, Gate&) -> Result<Response> {
        auto link = money.ReadReloadLink(request.Param("token"));
        if (!link.ok()) return std::move(link).error();
        object body{{"expires_at", FormatIso8601(link->expires_at_ms)},
                    {"minimum", money.options().card_reload_min_cents}};
        if (link->amount) body["amount"] = *link->amount;
        return Json(HttpStatus::ok, body);
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/reload-links/{token}/payments", "payReloadLink",
      identity::kPublic,
      {.summary = "A third party pays a reload link by card: answers the acquirer's page to go to",
       .tag = std::string(kTag),
       .request_schema = Schema({{"amount", "integer"}}, {}),
       .success_status = 201,
       .errors = {{404, "link_invalid or link_expired"},
                  {409, "holder_opposed"},
                  {422, "below_minimum, amount_mismatch, threshold_exceeded"},
                  {503, "acquirer_unavailable"}}},
      [&money](const RequestContext& request, Gate&) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const auto amount = reader.OptionalInteger("amount", 1, kAmountMax);
        GUICHET_TRY_STATUS(reader.Finish());
        return PaymentResponse(money.StartLinkReload(request.Param("token"), amount));
      });
}

void AddLinkPageRoutes(http::Router& router, identity::IdentityHttpContext& context, Money& money) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/reload-links/{token}/page", "reloadLinkPage",
      identity::kPublic,
      {.summary = "The page a third party opens from a reload link (HTML, no account, no script): the amount, "
                  "or a field for it, and a button to the acquirer's payment page",
       .tag = std::string(kTag),
       .success_media_type = "text/html",
       .errors = {{404, "link_invalid or link_expired"}}},
      [&money](const RequestContext& request, Gate&) -> Result<Response> {
        auto link = money.ReadReloadLink(request.Param("token"));
        if (!link.ok()) return std::move(link).error();
        return Html(HttpStatus::ok, LinkPage(*link, money.options().card_reload_min_cents, ""));
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/reload-links/{token}/page", "reloadLinkPagePay",
      identity::kPublic,
      {.summary = "The link page's form (application/x-www-form-urlencoded, field amount in euros when the link "
                  "has none): 303 to the acquirer's payment page, or the page again with the refusal",
       .tag = std::string(kTag),
       .success_status = 303,
       .success_media_type = "text/html",
       .errors = {{404, "link_invalid or link_expired"}, {503, "acquirer_unavailable"}}},
      [&money](const RequestContext& request, Gate&) -> Result<Response> {
        auto link = money.ReadReloadLink(request.Param("token"));
        if (!link.ok()) return std::move(link).error();
        std::optional<int64_t> amount;
        const std::string_view body = request.request->body();
        if (const auto at = body.find("amount="); at != std::string_view::npos) {
          const std::string_view value = body.substr(at + 7, body.find('&', at) == std::string_view::npos
                                                                  ? std::string_view::npos
                                                                  : body.find('&', at) - at - 7);
          amount = ParseEuros(value);
          if (!amount) {
            return Html(HttpStatus::unprocessable_entity,
                        LinkPage(*link, money.options().card_reload_min_cents, "Montant invalide / Invalid amount"));
          }
        }
        auto payment = money.StartLinkReload(request.Param("token"), amount);
        if (!payment.ok()) {
          if (payment.error().kind != ErrorKind::kValidation) return std::move(payment).error();
          return Html(HttpStatus::unprocessable_entity,
                      LinkPage(*link, money.options().card_reload_min_cents, payment.error().message));
        }
        const std::string target = EscapeMarkup(payment->redirect_url);
        return Html(HttpStatus::ok,
                    fmt::format("<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Guichet</title>"
                                "<link rel=\"icon\" href=\"/favicon.svg\">"
                                "<meta http-equiv=\"refresh\" content=\"0;url={0}\"></head><body><main>"
                                "<p><a href=\"{0}\">Continuer vers la page de paiement / Continue to the payment "
                                "page</a></p></main></body></html>",
                                target));
      });
}

void AddStaffMoneyRoutes(http::Router& router, identity::IdentityHttpContext& context, Money& money) {
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/cash-reloads", "recordCashPack", right::kCashRecord,
      {.summary = "Record a cash pack (5, 10 or 20 EUR) paid at an authorised point into the account of a support",
       .description = "operation_id makes the call idempotent for this client.",
       .tag = std::string(kTag),
       .request_schema = Schema({{"support_number", "string"}, {"pack_cents", "integer"}, {"operation_id", "string"}},
                                {"support_number", "pack_cents", "operation_id"}),
       .success_status = 201,
       .errors = {{404, "support_not_found"},
                  {409, "holder_opposed, support_opposed or duplicate_operation"},
                  {422, "cash_pack_invalid or threshold_exceeded"}}},
      [&money](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string support = reader.RequiredString("support_number", {1, kSupportNumberLengthMax});
        const int64_t pack = reader.RequiredInteger("pack_cents", 1, kAmountMax);
        const std::string operation = reader.RequiredString("operation_id", {1, kClientIdLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto moved = money.RecordCashPack(gate.caller, support, pack, operation);
        if (!moved.ok()) return std::move(moved).error();
        return Json(HttpStatus::created, object{{"transfer_id", moved->transfer_id},
                                                {"balance_after", moved->balance_after},
                                                {"replayed", moved->replayed}});
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/sepa-files/refunds", "exportRefunds", right::kSepaManage,
      {.summary = "Collect the refunds waiting in an organisation's subtree into one pain.001.001.09 file for the bank",
       .tag = std::string(kTag),
       .request_schema = Schema({{"organisation_id", "integer"}}, {"organisation_id"}),
       .success_status = 201,
       .errors = {{404, "organisation_not_found"}, {409, "nothing_to_export"}}},
      [&money](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const int64_t organisation = reader.RequiredInteger("organisation_id", 1, INT64_MAX);
        GUICHET_TRY_STATUS(reader.Finish());
        auto file = money.ExportRefunds(gate.caller, organisation);
        if (!file.ok()) return std::move(file).error();
        return Json(HttpStatus::created, SepaFileJson(*file));
      });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/sepa-files", "listSepaFiles",
                       right::kSepaManage,
                       {.summary = "The SEPA files produced for one's organisations, newest first",
                        .tag = std::string(kTag)},
                       [&money](const RequestContext&, Gate& gate) -> Result<Response> {
                         auto files = money.SepaFiles(gate.caller);
                         if (!files.ok()) return std::move(files).error();
                         array items;
                         for (const SepaFile& file : *files) items.push_back(SepaFileJson(file));
                         return Json(HttpStatus::ok, object{{"files", std::move(items)}});
                       });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/sepa-files/{id}", "downloadSepaFile",
                       right::kSepaManage,
                       {.summary = "Download a SEPA file (ISO 20022 XML) for the bank",
                        .tag = std::string(kTag),
                        .success_media_type = "application/xml",
                        .errors = {{404, "sepa_file_not_found"}}},
                       [&money](const RequestContext& request, Gate& gate) -> Result<Response> {
                         auto id = http::PositiveId(request.Param("id"), "file id");
                         if (!id.ok()) return std::move(id).error();
                         auto file = money.GetSepaFile(gate.caller, *id);
                         if (!file.ok()) return std::move(file).error();
                         Response response(HttpStatus::ok, 11);
                         response.set(http::beast::http::field::content_type, "application/xml; charset=utf-8");
                         response.set(http::beast::http::field::content_disposition,
                                      fmt::format("attachment; filename=\"{}.xml\"", file->message_id));
                         response.body() = std::move(file->xml);
                         response.prepare_payload();
                         return response;
                       });
  identity::AddGuarded(router, context, http::Verb::get, "/api/v1/wallet/recoveries", "listRecoveries",
                       right::kSepaManage,
                       {.summary = "Amounts owed after a rejected reload (card chargeback), to recover",
                        .tag = std::string(kTag)},
                       [&money](const RequestContext&, Gate& gate) -> Result<Response> {
                         auto recoveries = money.Recoveries(gate.caller);
                         if (!recoveries.ok()) return std::move(recoveries).error();
                         array items;
                         for (const Recovery& r : *recoveries) {
                           items.push_back(object{{"id", r.id}, {"holder_id", r.holder_id}, {"reason", r.reason},
                                                  {"reference", r.reference}, {"amount_due", r.amount_due},
                                                  {"status", r.status}, {"created_at", FormatIso8601(r.created_at_ms)}});
                         }
                         return Json(HttpStatus::ok, object{{"recoveries", std::move(items)}});
                       });
}

void AddDirectDebitRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet,
                          DirectDebits& debits) {
  AddHolderSessionRoute(
      router, context, wallet, http::Verb::post, "/api/v1/wallet/me/mandates", "signMandate",
      {.summary = "Sign a SEPA direct-debit mandate electronically (its unique reference, RUM, is answered)",
       .request_schema = Schema({{"iban", "string"}, {"bic", "string"}, {"name", "string"}, {"accept", "boolean"}},
                                {"iban", "accept"}),
       .success_status = 201,
       .errors = {{409, "mandates_limit, holder_opposed or holder_not_active"},
                  {422, "mandate_not_accepted, iban_checksum_wrong, iban_length_wrong, iban_country_unknown, "
                        "iban_malformed, iban_not_sepa, bic_malformed"}}},
      [&debits](const RequestContext& request, int64_t holder_id) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string iban = reader.RequiredString("iban", {1, kIbanTextMax});
        const std::string bic = reader.OptionalString("bic", {1, 20}).value_or("");
        const std::string name = reader.OptionalString("name", {1, 70}).value_or("");
        const bool accepted = reader.OptionalBool("accept").value_or(false);
        GUICHET_TRY_STATUS(reader.Finish());
        auto mandate = debits.SignMandate(holder_id, iban, bic, name, accepted);
        if (!mandate.ok()) return std::move(mandate).error();
        return Json(HttpStatus::created, MandateJson(*mandate));
      });
  AddHolderSessionRoute(router, context, wallet, http::Verb::get, "/api/v1/wallet/me/mandates", "listMyMandates",
                 {.summary = "One's SEPA mandates"},
                 [&debits](const RequestContext&, int64_t holder_id) -> Result<Response> {
                   auto mandates = debits.MyMandates(holder_id);
                   if (!mandates.ok()) return std::move(mandates).error();
                   array items;
                   for (const Mandate& m : *mandates) items.push_back(MandateJson(m));
                   return Json(HttpStatus::ok, object{{"mandates", std::move(items)}});
                 });
  AddHolderSessionRoute(router, context, wallet, http::Verb::delete_, "/api/v1/wallet/me/mandates/{id}", "revokeMandate",
                 {.summary = "Revoke one's mandate", .success_status = 204, .errors = {{404, "mandate_not_found"}}},
                 [&debits](const RequestContext& request, int64_t holder_id) -> Result<Response> {
                   auto id = http::PositiveId(request.Param("id"), "mandate id");
                   if (!id.ok()) return std::move(id).error();
                   GUICHET_TRY_STATUS(debits.RevokeMandate(holder_id, *id));
                   return Response(HttpStatus::no_content, 11);
                 });
  AddHolderSessionRoute(
      router, context, wallet, http::Verb::post, "/api/v1/wallet/me/direct-debits", "requestDirectDebit",
      {.summary = "Reload by SEPA direct debit: an explicit amount, confirmed; credited at once",
       .request_schema = Schema({{"mandate_id", "integer"}, {"amount", "integer"}, {"confirm", "boolean"}},
                                {"mandate_id", "amount", "confirm"}),
       .success_status = 201,
       .errors = {{409, "mandate_missing, holder_opposed or holder_not_active"},
                  {422, "confirmation_required, below_minimum, above_maximum or threshold_exceeded"}}},
      [&debits](const RequestContext& request, int64_t holder_id) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const int64_t mandate = reader.RequiredInteger("mandate_id", 1, INT64_MAX);
        const int64_t amount = reader.RequiredInteger("amount", 1, kAmountMax);
        const bool confirmed = reader.OptionalBool("confirm").value_or(false);
        GUICHET_TRY_STATUS(reader.Finish());
        auto debit = debits.RequestDebit(holder_id, mandate, amount, confirmed);
        if (!debit.ok()) return std::move(debit).error();
        return Json(HttpStatus::created, DirectDebitJson(*debit));
      });
  AddHolderSessionRoute(router, context, wallet, http::Verb::get, "/api/v1/wallet/me/direct-debits", "listMyDirectDebits",
                 {.summary = "One's direct debits and their interbank state"},
                 [&debits](const RequestContext&, int64_t holder_id) -> Result<Response> {
                   auto list = debits.MyDebits(holder_id);
                   if (!list.ok()) return std::move(list).error();
                   array items;
                   for (const DirectDebit& d : *list) items.push_back(DirectDebitJson(d));
                   return Json(HttpStatus::ok, object{{"direct_debits", std::move(items)}});
                 });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/direct-debits/{id}/reject", "rejectDirectDebit",
      right::kSepaManage,
      {.summary = "Record the bank's reject of a direct debit in its interbank delay: reversal, opposition of the "
                  "account, the institution's cover within its limits and a recovery record",
       .tag = std::string(kTag),
       .request_schema = Schema({{"reason", "string"}}, {"reason"}),
       .errors = {{404, "debit_not_found"}, {409, "debit_not_pending"}}},
      [&debits](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "debit id");
        if (!id.ok()) return std::move(id).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string reason = reader.RequiredString("reason", {1, 35});
        GUICHET_TRY_STATUS(reader.Finish());
        auto outcome = debits.RejectDebit(gate.caller, *id, reason);
        if (!outcome.ok()) return std::move(outcome).error();
        object out{{"direct_debit", DirectDebitJson(outcome->debit)},
                   {"reversed", outcome->reversed},
                   {"covered", outcome->covered},
                   {"owed", outcome->owed}};
        if (!outcome->cover_refused.empty()) out["cover_refused"] = outcome->cover_refused;
        return Json(HttpStatus::ok, out);
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/sepa-files/direct-debits", "exportDirectDebits",
      right::kSepaManage,
      {.summary = "Collect the direct debits not yet sent into one pain.008.001.08 file per collection date",
       .tag = std::string(kTag),
       .request_schema = Schema({{"organisation_id", "integer"}}, {"organisation_id"}),
       .success_status = 201,
       .errors = {{404, "organisation_not_found"}, {409, "nothing_to_export"}}},
      [&debits](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const int64_t organisation = reader.RequiredInteger("organisation_id", 1, INT64_MAX);
        GUICHET_TRY_STATUS(reader.Finish());
        auto files = debits.ExportDebits(gate.caller, organisation);
        if (!files.ok()) return std::move(files).error();
        array items;
        for (const SepaFile& file : *files) items.push_back(SepaFileJson(file));
        return Json(HttpStatus::created, object{{"files", std::move(items)}});
      });
}

}  // namespace

void AddMoneyRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet, Money& money,
                    DirectDebits& debits) {
  AddHolderMoneyRoutes(router, context, wallet, money);
  AddDirectDebitRoutes(router, context, wallet, debits);
  AddPublicMoneyRoutes(router, context, money);
  AddLinkPageRoutes(router, context, money);
  AddStaffMoneyRoutes(router, context, money);
}

}  // namespace guichet::wallet
