// SMS through a provider's HTTP JSON API (one adapter; the test and demo provider is the local
// "SMS gateway simulator" in tests/support/sms-gateway-simulator):
//   POST {gateway}/v1/messages  Authorization: Bearer <key>
//     {"to": "+33612345678", "text": "...", "from": "Guichet",
//      "client_reference": "guichet-<row id>", "callback_url": "<sms_report_url>"}
//   → 202 {"id": "..."}; a second submission with the same client_reference is not sent
//     again (200 {"id": same, "duplicate": true}), which makes a resend after a crash safe.
//   → 422 {"code": "invalid_number"} for a number the provider refuses: the number is bad.
// Delivery reports come back signed: POST /api/v1/notify/sms/reports with
// X-Guichet-Signature: hex(HMAC-SHA256(notify_report_secret, body)).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "platform/base/clock.h"
#include "platform/notify/delivery.h"
#include "platform/notify/message.h"
#include "platform/storage/database.h"

namespace guichet::notify {

inline constexpr int64_t kSmsTextBytesMax = 918;  // 6 concatenated GSM segments of 153
inline constexpr int64_t kProviderAnswerBytesMax = 64 * 1024;
inline constexpr int64_t kReportBytesMax = 4 * 1024;
inline constexpr std::string_view kSignatureHeader = "X-Guichet-Signature";

// French numbers (metropolitan mobiles 06/07 and the overseas departments' mobiles) in
// E.164: accepts "06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", dots and dashes;
// returns "+33612345678". Fixed lines cannot receive SMS and are refused.
std::optional<std::string> FrenchMobileE164(std::string_view text);

struct SmsOptions {
  std::string gateway_url;  // "http://127.0.0.1:4010"
  std::string api_key;
  std::string sender = "Guichet";
  std::string report_url;
  int64_t timeout_ms = 10 * 1000;
};

class SmsChannel final : public Channel {
 public:
  explicit SmsChannel(SmsOptions options);
  std::string_view Name() const override { return "sms"; }
  DeliveryOutcome Deliver(const QueuedMessage& message, const ComposedMessage& composed) override;

 private:
  const SmsOptions options_;
};

std::string SmsClientReference(int64_t message_id);

// A verified delivery report: the row goes from sent to delivered or bounced (and the number
// is marked bad on a failure the provider calls permanent). Errors: signature_invalid (400: a public route, authenticated by its signature),
// report_invalid (422), message_not_found (404), message_not_recorded_yet (503: the report
// arrived before the engine recorded the submission; providers retry such answers).
struct SmsReportResult {
  int64_t message_id = 0;
  std::string state;  // delivered | bounced
};
Result<SmsReportResult> ApplySmsReport(storage::Database& database, const Clock& clock, std::string_view secret,
                                       std::string_view body, std::string_view signature);

// Checks X-Guichet-Signature over a report body with `secret` (constant time).
bool ReportSignatureValid(std::string_view secret, std::string_view body, std::string_view signature_hex);

// A bounce or failure reported by the mail server (DSN relayed as JSON) marks an address bad:
// {"channel": "email", "address": "...", "status_code": 550, "reason": "...", "message_id": 12}.
Result<int64_t> ApplyBounceReport(storage::Database& database, const Clock& clock, std::string_view secret,
                                  std::string_view body, std::string_view signature);

// The billing seam: when the operator bills SMS to the holder, the fee of each SMS sent moves
// through the ledger in the transaction that records it as sent. `payer` finds the account
// to debit for a message (nullopt: not billed, e.g. staff messages); the wallet module wires
// holder accounts. The transfer id is derived from the row id, so it is idempotent.
inline constexpr std::string_view kSmsFeeVariable = "sms_fee";  // for the message text: "0,10 €"
std::string FormatEuroFr(int64_t minor);

struct SmsFeeOptions {
  int64_t fee_minor = 0;  // per SMS, in cents
  std::string ledger = "EUR";
  int64_t revenue_account_id = 0;
};

class LedgerSmsFee final : public SentHook {
 public:
  using Payer = std::function<Result<std::optional<int64_t>>(storage::Transaction&, const QueuedMessage&)>;
  LedgerSmsFee(SmsFeeOptions options, Payer payer) : options_(std::move(options)), payer_(std::move(payer)) {}
  Status OnSent(storage::Transaction& tx, const QueuedMessage& message, int64_t now_ms) override;

 private:
  const SmsFeeOptions options_;
  Payer payer_;
};

}  // namespace guichet::notify
