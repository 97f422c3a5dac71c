// Card payments through an acquirer's hosted payment page: the seam between a use case that
// wants money from a card (a wallet reload, a pass purchase) and the acquirer that takes it.
// The payer types the card on the acquirer's page, never on ours; we learn the outcome from a
// signed server-to-server notification, which alone is trusted (the payer's return to our
// site only shows the state). A real acquirer plugs in as another PaymentProvider.
//
// HostedPageProvider speaks the protocol of tests/support/card-acquirer-simulator (README.md
// there): POST {base}/v1/payments with a Bearer key; notifications signed
// "Acquirer-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "platform/base/result.h"

namespace guichet::payments {

inline constexpr int64_t kAcquirerTimeoutMs = 10'000;
inline constexpr int64_t kAcquirerConnectTimeoutMs = 3'000;
inline constexpr size_t kAcquirerResponseBytesMax = 64 * 1024;
// A notification older or newer than this (by its signed timestamp) is refused: replay window.
inline constexpr int64_t kNotificationToleranceMs = 5 * 60 * 1000;
inline constexpr size_t kNotificationBytesMax = 64 * 1024;

struct PaymentRequest {
  std::string reference;  // ours, unique: the acquirer echoes it in every notification
  int64_t amount_cents = 0;
  std::string currency = "EUR";
  std::string return_url;        // where the payer comes back (hosted page only)
  std::string notification_url;  // where the acquirer POSTs the signed outcome
  bool save_card = false;        // ask for a reusable token
  std::optional<std::string> card_token;  // merchant-initiated payment with a saved card
};

struct Card {
  std::string brand, last4, token;  // token empty unless saved
};

struct PaymentCreated {
  std::string provider_payment_id;
  std::string status;        // "pending" (payer must go to redirect_url), "authorised", "refused"
  std::string redirect_url;  // hosted page; empty for a merchant-initiated payment
};

enum class EventType { kAuthorised, kRefused, kCancelled, kChargeback };
std::string_view EventTypeName(EventType type);

struct PaymentEvent {
  std::string event_id;
  EventType type = EventType::kRefused;
  std::string provider_payment_id;
  std::string reference;
  int64_t amount_cents = 0;
  std::string currency;
  std::optional<Card> card;
};

class PaymentProvider {
 public:
  virtual ~PaymentProvider() = default;
  virtual std::string_view name() const = 0;
  // Errors: "acquirer_unavailable" (503) when it cannot be reached or answers 5xx,
  // "acquirer_refused" (422) with its reason when it refuses the request.
  virtual Result<PaymentCreated> CreatePayment(const PaymentRequest& request) = 0;
  // Checks the notification's signature and freshness and reads it. Errors:
  // "notification_signature_invalid" (400: an unsigned request is not a notification; the
  // route is public, the signature is its only credential), "notification_malformed" (400).
  virtual Result<PaymentEvent> ReadNotification(std::string_view signature_header,
                                                std::string_view body, int64_t now_ms) const = 0;
  // The name of the HTTP header carrying the signature.
  virtual std::string_view signature_header() const = 0;
};

struct HostedPageOptions {
  std::string base_url;  // "http://127.0.0.1:8090"
  std::string api_key;
  std::string secret;    // HMAC key of notifications
};

// libcurl; construct before threads start (initialises libcurl once).
std::unique_ptr<PaymentProvider> MakeHostedPageProvider(HostedPageOptions options);

// The signature a HostedPageProvider expects for `body` sent at `unix_s` (tests, simulators).
std::string SignNotification(std::string_view secret, int64_t unix_s, std::string_view body);

}  // namespace guichet::payments
