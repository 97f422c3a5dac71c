#include <curl/curl.h>
#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <mutex>

#include "platform/base/crypto.h"
#include "platform/payments/payment_provider.h"

namespace guichet::payments {
namespace {

struct CurlFree {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct Sink {
  std::string body;
  bool too_large = false;
};

size_t Collect(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t bytes = size * count;
  if (sink->body.size() + bytes > kAcquirerResponseBytesMax) {
    sink->too_large = true;
    return 0;
  }
  sink->body.append(data, bytes);
  return bytes;
}

Error Unavailable(std::string why) {
  return Error::Unavailable("acquirer_unavailable",
                            fmt::format("The card acquirer cannot be reached: {}.", why));
}

Error BadSignature() {
  return {ErrorKind::kInvalidInput, "notification_signature_invalid",
          "The notification's signature is missing, wrong or too old.", {}};
}

Error Malformed(std::string what) {
  return Error::Invalid("notification_malformed", fmt::format("The notification is malformed: {}.", what));
}

std::string StringField(const boost::json::object& object, std::string_view name) {
  const auto* found = object.if_contains(name);
  return found != nullptr && found->is_string() ? std::string(found->as_string()) : std::string();
}

class HostedPageProvider final : public PaymentProvider {
 public:
  explicit HostedPageProvider(HostedPageOptions options) : options_(std::move(options)) {
    static std::once_flag once;
    std::call_once(once, [] { GUICHET_ASSERT(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK); });
  }

  std::string_view name() const override { return "hosted_page"; }
  std::string_view signature_header() const override { return "Acquirer-Signature"; }

  Result<PaymentCreated> CreatePayment(const PaymentRequest& request) override {
    boost::json::object body{{"reference", request.reference},
                             {"amount", request.amount_cents},
                             {"currency", request.currency},
                             {"notification_url", request.notification_url},
                             {"save_card", request.save_card}};
    if (!request.return_url.empty()) body["return_url"] = request.return_url;
    if (request.card_token) body["card_token"] = *request.card_token;
    const std::string payload = boost::json::serialize(body);
    std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
    if (!curl) return Unavailable("no HTTP client");
    std::unique_ptr<curl_slist, CurlFree> headers(curl_slist_append(nullptr, "Content-Type: application/json"));
    curl_slist* more = curl_slist_append(headers.get(), ("Authorization: Bearer " + options_.api_key).c_str());
    GUICHET_ASSERT(more != nullptr);
    Sink sink;
    const std::string url = options_.base_url + "/v1/payments";
    CURL* handle = curl.get();
    curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(kAcquirerTimeoutMs));
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(kAcquirerConnectTimeoutMs));
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    const CURLcode code = curl_easy_perform(handle);
    if (code != CURLE_OK) return Unavailable(sink.too_large ? "answer too large" : curl_easy_strerror(code));
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    boost::system::error_code ec;
    const boost::json::value reply = boost::json::parse(sink.body, ec);
    if (ec || !reply.is_object()) return Unavailable(fmt::format("answer {} is not JSON", status));
    const auto& object = reply.as_object();
    if (status >= 500) return Unavailable(fmt::format("status {}", status));
    if (status != 201) {
      return Error{ErrorKind::kValidation, "acquirer_refused",
                   fmt::format("The card acquirer refused the payment request ({}).", StringField(object, "error")),
                   {}};
    }
    PaymentCreated created;
    created.provider_payment_id = StringField(object, "id");
    created.status = StringField(object, "status");
    created.redirect_url = StringField(object, "redirect_url");
    if (created.provider_payment_id.empty()) return Unavailable("answer without a payment id");
    return created;
  }

  Result<PaymentEvent> ReadNotification(std::string_view signature_header, std::string_view body,
                                        int64_t now_ms) const override {
    if (body.size() > kNotificationBytesMax) return Malformed("too large");
    // "t=<unix s>,v1=<hex>"
    std::string_view t, v1;
    size_t start = 0;
    while (start <= signature_header.size()) {
      const size_t comma = signature_header.find(',', start);
      const std::string_view part =
          signature_header.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (part.starts_with("t=")) t = part.substr(2);
      if (part.starts_with("v1=")) v1 = part.substr(3);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    int64_t unix_s = 0;
    const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), unix_s);
    if (t.empty() || ec != std::errc{} || ptr != t.data() + t.size() || v1.empty()) return BadSignature();
    const std::string expected = SignNotification(options_.secret, unix_s, body);
    if (!crypto::ConstantTimeEquals(expected, v1)) return BadSignature();
    const int64_t skew = now_ms - unix_s * 1000;
    if (skew > kNotificationToleranceMs || skew < -kNotificationToleranceMs) return BadSignature();
    boost::system::error_code json_ec;
    const boost::json::value parsed = boost::json::parse(body, json_ec);
    if (json_ec || !parsed.is_object()) return Malformed("not a JSON object");
    const auto& event = parsed.as_object();
    const auto* payment_value = event.if_contains("payment");
    if (payment_value == nullptr || !payment_value->is_object()) return Malformed("no payment");
    const auto& payment = payment_value->as_object();
    PaymentEvent out;
    out.event_id = StringField(event, "id");
    const std::string type = StringField(event, "type");
    if (type == "payment.authorised") {
      out.type = EventType::kAuthorised;
    } else if (type == "payment.refused") {
      out.type = EventType::kRefused;
    } else if (type == "payment.cancelled") {
      out.type = EventType::kCancelled;
    } else if (type == "payment.chargeback") {
      out.type = EventType::kChargeback;
    } else {
      return Malformed("unknown type");
    }
    out.provider_payment_id = StringField(payment, "id");
    out.reference = StringField(payment, "reference");
    out.currency = StringField(payment, "currency");
    const auto* amount = payment.if_contains("amount");
    if (amount == nullptr || !amount->is_int64()) return Malformed("no amount");
    out.amount_cents = amount->as_int64();
    if (out.event_id.empty() || out.provider_payment_id.empty() || out.reference.empty()) {
      return Malformed("missing identifiers");
    }
    const auto* card = payment.if_contains("card");
    if (card != nullptr && card->is_object()) {
      out.card = Card{StringField(card->as_object(), "brand"), StringField(card->as_object(), "last4"),
                      StringField(card->as_object(), "token")};
    }
    return out;
  }

 private:
  HostedPageOptions options_;
};

}  // namespace

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kAuthorised: return "authorised";
    case EventType::kRefused: return "refused";
    case EventType::kCancelled: return "cancelled";
    case EventType::kChargeback: return "chargeback";
  }
  return "refused";
}

std::string SignNotification(std::string_view secret, int64_t unix_s, std::string_view body) {
  return crypto::ToHex(crypto::HmacSha256(secret, fmt::format("{}.{}", unix_s, body)));
}

std::unique_ptr<PaymentProvider> MakeHostedPageProvider(HostedPageOptions options) {
  return std::make_unique<HostedPageProvider>(std::move(options));
}

}  // namespace guichet::payments
