#include "platform/notify/delivery_composer.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "platform/notify/mime.h"
#include "platform/tokens/qr.h"

namespace guichet::notify {
namespace {

std::string StringOr(const boost::json::object& object, std::string_view key, std::string fallback) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::move(fallback);
}

}  // namespace

Result<Verdict> VariablesComposer::Decide(storage::Transaction& tx, const QueuedMessage& message) {
  if (!message.person || message.purpose == "transactional" || message.purpose == "alerts") return Verdict::kSend;
  auto consent = privacy::ConsentState(tx, message.person->type, message.person->id, message.purpose, message.channel);
  if (!consent.ok()) return std::move(consent).error();
  return consent->granted && !consent->person_erased ? Verdict::kSend : Verdict::kSuppress;
}

Result<ComposedMessage> VariablesComposer::Compose(storage::Transaction&, const QueuedMessage& message) {
  boost::system::error_code error;
  const boost::json::value parsed = boost::json::parse(message.variables_json, error);
  if (error || !parsed.is_object()) return Error::Invalid("variables_invalid", "variables are not a JSON object");
  const boost::json::object& variables = parsed.as_object();
  ComposedMessage composed;
  composed.subject = StringOr(variables, "subject", message.template_code);
  std::string lines;
  for (const auto& item : variables) {
    if (item.key() == "attachments" || item.key() == "html" || item.key() == "qr") continue;
    lines += std::string(item.key()) + ": " +
             (item.value().is_string() ? std::string(item.value().as_string()) : boost::json::serialize(item.value())) +
             "\n";
  }
  composed.text = StringOr(variables, "text", lines);
  composed.html = StringOr(variables, "html", "");
  composed.unsubscribe_url = StringOr(variables, "unsubscribe_url", "");
  if (const std::string qr = StringOr(variables, "qr", ""); !qr.empty()) {
    auto png = tokens::QrPng(qr);
    if (!png.ok()) return std::move(png).error();
    composed.attachments.push_back({"qr.png", "image/png", "qr", std::move(png).value()});
  }
  if (const auto* list = variables.if_contains("attachments"); list != nullptr && list->is_array()) {
    for (const boost::json::value& item : list->as_array()) {
      if (!item.is_object()) return Error::Invalid("variables_invalid", "attachments are objects");
      const boost::json::object& object = item.as_object();
      auto bytes = DecodeBase64(StringOr(object, "base64", ""));
      if (!bytes.ok()) return std::move(bytes).error();
      composed.attachments.push_back({StringOr(object, "filename", "piece-jointe"),
                                      StringOr(object, "content_type", "application/octet-stream"),
                                      StringOr(object, "content_id", ""), std::move(bytes).value()});
    }
  }
  return composed;
}

}  // namespace guichet::notify
