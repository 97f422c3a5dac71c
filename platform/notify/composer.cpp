#include "platform/base/markup.h"
#include "platform/notify/composer.h"

#include <boost/json/parse.hpp>

#include "platform/notify/delivery_composer.h"
#include "platform/notify/mime.h"
#include "platform/notify/preferences.h"
#include "platform/tokens/qr.h"

namespace guichet::notify {
namespace {

std::string StringOr(const boost::json::object& object, std::string_view key,
                     std::string fallback) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string())
                                                : std::move(fallback);
}

}  // namespace

std::string TemplateComposer::UnsubscribeUrl(const privacy::PersonRef& person,
                                             std::string_view purpose,
                                             std::string_view channel) const {
  const std::string token =
      SignUnsubscribe(options_.secret, {person, std::string(purpose), std::string(channel),
                                        clock_.NowMs() + kUnsubscribeTokenValidMs});
  return options_.public_url + "/api/v1/notify/unsubscribe?token=" + token;
}

Result<Verdict> TemplateComposer::Decide(storage::Transaction& tx, const QueuedMessage& message) {
  if (!message.person || message.channel == "webhook") return Verdict::kSend;
  auto may = MayMessage(tx, *message.person, message.purpose, message.channel);
  if (!may.ok()) return std::move(may).error();
  return *may ? Verdict::kSend : Verdict::kSuppress;
}

Result<ComposedMessage> TemplateComposer::Compose(storage::Transaction& tx,
                                                  const QueuedMessage& message) {
  boost::system::error_code error;
  const boost::json::value parsed = boost::json::parse(message.variables_json, error);
  if (error || !parsed.is_object())
    return Error::Invalid("variables_invalid", "variables are not a JSON object");
  const boost::json::object& variables = parsed.as_object();
  if (templates_.Find(message.template_code) == nullptr) {
    // A row no template declares (diagnostics, a module's free-form message): its variables
    // say what it says, as before templates existed.
    VariablesComposer free_form;
    return free_form.Compose(tx, message);
  }
  auto effective = EffectiveTemplate(tx, templates_, message.organisation_id, message.template_code,
                                     message.language);
  if (!effective.ok()) return std::move(effective).error();
  auto rendered = RenderTemplate(effective->text, variables, effective->language);
  if (!rendered.ok()) return std::move(rendered).error();
  ComposedMessage composed;
  composed.subject = std::move(rendered->subject);
  composed.text = std::move(rendered->text);
  composed.html = std::move(rendered->html);
  // E-mail only: an SMS would pay a second segment for the link (SMS opt-out is the provider's
  // STOP).
  if (message.person && message.channel == "email" &&
      IsOptional(message.purpose, message.channel)) {
    composed.unsubscribe_url = UnsubscribeUrl(*message.person, message.purpose, message.channel);
    // The header keeps the API address (RFC 8058 one-click POST); the link a person follows
    // opens the web app's unsubscribe page, with the same token.
    const std::string page =
        options_.public_url + "/unsubscribe" +
        composed.unsubscribe_url.substr(composed.unsubscribe_url.find('?'));
    const bool en = effective->language == "en";
    composed.text += en ? "\n--\nUnsubscribe: " : "\n--\nSe désinscrire : ";
    composed.text += page + "\n";
    if (!composed.html.empty()) {
      composed.html += "<p style=\"font-size:small\"><a href=\"" + EscapeMarkup(page) + "\">" +
                       (en ? "Unsubscribe" : "Se désinscrire") + "</a></p>";
    }
  }
  if (message.campaign_id && message.channel == "email" && !composed.html.empty()) {
    composed.html += "<img src=\"" +
                     EscapeMarkup(options_.public_url + "/api/v1/notify/opened/" +
                                SignOpen(options_.secret, message.id)) +
                     "\" width=\"1\" height=\"1\" alt=\"\">";
  }
  if (const std::string qr = StringOr(variables, "qr", "");
      !qr.empty() && message.channel == "email") {
    auto png = tokens::QrPng(qr);
    if (!png.ok()) return std::move(png).error();
    composed.attachments.push_back({"qr.png", "image/png", "qr", std::move(png).value()});
  }
  if (const auto* list = variables.if_contains("attachments");
      list != nullptr && list->is_array()) {
    for (const boost::json::value& item : list->as_array()) {
      if (!item.is_object()) return Error::Invalid("variables_invalid", "attachments are objects");
      const boost::json::object& object = item.as_object();
      auto bytes = DecodeBase64(StringOr(object, "base64", ""));
      if (!bytes.ok()) return std::move(bytes).error();
      composed.attachments.push_back({StringOr(object, "filename", "piece-jointe"),
                                      StringOr(object, "content_type", "application/octet-stream"),
                                      StringOr(object, "content_id", ""),
                                      std::move(bytes).value()});
    }
  }
  return composed;
}

}  // namespace guichet::notify
