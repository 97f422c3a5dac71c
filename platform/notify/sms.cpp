#include "platform/notify/sms.h"

#include <curl/curl.h>

#include <charconv>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "platform/base/crypto.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/addresses.h"
#include "platform/notify/outbox.h"

namespace guichet::notify {
namespace {

using storage::Transaction;
using storage::TransactionMode;

size_t Collect(char* data, size_t size, size_t count, void* user) {
  auto* answer = static_cast<std::string*>(user);
  const size_t n = size * count;
  if (static_cast<int64_t>(answer->size() + n) > kProviderAnswerBytesMax) return 0;
  answer->append(data, n);
  return n;
}

std::string JsonString(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::optional<boost::json::object> ParseObject(std::string_view text) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(text, error);
  if (error || !value.is_object()) return std::nullopt;
  return value.as_object();
}

}  // namespace

std::optional<std::string> FrenchMobileE164(std::string_view text) {
  std::string digits;
  bool plus = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c == '+' && i == 0) {
      plus = true;
    } else if (c != ' ' && c != '.' && c != '-') {
      return std::nullopt;
    }
  }
  if (!plus && digits.starts_with("00")) digits = digits.substr(2), plus = true;
  if (!plus) {
    // National format: 0 then 9 digits (metropolitan mobiles only: overseas numbers need
    // their own country code).
    if (digits.size() != 10 || digits[0] != '0') return std::nullopt;
    digits = "33" + digits.substr(1);
  }
  // Metropolitan France: +33 6/7 then 8 digits.
  if (digits.size() == 11 && digits.starts_with("33") && (digits[2] == '6' || digits[2] == '7')) return "+" + digits;
  // Overseas departments' mobiles: +590 690/691, +594 694, +596 696/697, +262 692/693/639.
  static constexpr std::pair<std::string_view, std::string_view> kOverseas[] = {
      {"590", "690"}, {"590", "691"}, {"594", "694"}, {"596", "696"},
      {"596", "697"}, {"262", "692"}, {"262", "693"}, {"262", "639"}};
  if (digits.size() == 12) {
    for (const auto& [country, prefix] : kOverseas) {
      if (digits.starts_with(country) && digits.substr(3, 3) == prefix) return "+" + digits;
    }
  }
  return std::nullopt;
}

std::string SmsClientReference(int64_t message_id) { return fmt::format("guichet-{}", message_id); }

SmsChannel::SmsChannel(SmsOptions options) : options_(std::move(options)) {
  GUICHET_ASSERT(!options_.gateway_url.empty());
  static std::once_flag once;
  std::call_once(once, [] { GUICHET_ASSERT(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK); });
}

DeliveryOutcome SmsChannel::Deliver(const QueuedMessage& message, const ComposedMessage& composed) {
  DeliveryOutcome outcome;
  const std::optional<std::string> number = FrenchMobileE164(message.recipient);
  if (!number) {
    outcome.kind = DeliveryOutcome::Kind::kRejected;
    outcome.detail = "not a French mobile number in E.164";
    return outcome;
  }
  std::string text = composed.text.substr(0, static_cast<size_t>(kSmsTextBytesMax));
  boost::json::object request{{"to", *number},
                              {"text", text},
                              {"from", options_.sender},
                              {"client_reference", SmsClientReference(message.id)}};
  if (!options_.report_url.empty()) request["callback_url"] = options_.report_url;
  const std::string body = boost::json::serialize(request);
  const std::string url = options_.gateway_url + "/v1/messages";
  const std::string authorization = "Authorization: Bearer " + options_.api_key;
  CURL* curl = curl_easy_init();
  GUICHET_ASSERT(curl != nullptr);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, authorization.c_str());
  std::string answer;
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    outcome.kind = DeliveryOutcome::Kind::kRetry;
    outcome.detail = fmt::format("{}: {}", curl_easy_strerror(code), error);
    return outcome;
  }
  outcome.status_code = static_cast<int>(status);
  const std::optional<boost::json::object> parsed = ParseObject(answer);
  outcome.detail = fmt::format("gateway answered {}: {}", status, answer.substr(0, 300));
  if (status >= 200 && status < 300) {
    outcome.kind = DeliveryOutcome::Kind::kSent;
    if (parsed) outcome.provider_reference = JsonString(*parsed, "id");
  } else if ((status == 400 || status == 422) && parsed && JsonString(*parsed, "code") == "invalid_number") {
    outcome.kind = DeliveryOutcome::Kind::kRejected;
  } else {
    outcome.kind = DeliveryOutcome::Kind::kRetry;  // 401/403 (configuration), 429, 5xx
  }
  return outcome;
}

bool ReportSignatureValid(std::string_view secret, std::string_view body, std::string_view signature_hex) {
  if (secret.empty()) return false;
  return crypto::ConstantTimeEquals(crypto::ToHex(crypto::HmacSha256(secret, body)), signature_hex);
}

Result<SmsReportResult> ApplySmsReport(storage::Database& database, const Clock& clock, std::string_view secret,
                                       std::string_view body, std::string_view signature) {
  if (static_cast<int64_t>(body.size()) > kReportBytesMax || !ReportSignatureValid(secret, body, signature)) {
    return Error::Invalid("signature_invalid", "the report signature does not verify");
  }
  const std::optional<boost::json::object> report = ParseObject(body);
  const std::string reference = report ? JsonString(*report, "client_reference") : "";
  const std::string status = report ? JsonString(*report, "status") : "";
  if (!reference.starts_with("guichet-") || (status != "delivered" && status != "failed")) {
    return Error{ErrorKind::kValidation, "report_invalid", "client_reference and status (delivered|failed) expected", {}};
  }
  int64_t id = 0;
  const std::string digits = reference.substr(8);
  const auto [end, failure] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (failure != std::errc() || end != digits.data() + digits.size() || id <= 0) {
    return Error{ErrorKind::kValidation, "report_invalid", "unknown client_reference", {}};
  }
  const std::string reason = report ? JsonString(*report, "error") : "";
  return database.Transact<SmsReportResult>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<SmsReportResult> {
    auto row = tx.QueryOne(
        "SELECT state, recipient, organisation_id, attempts FROM outbox_messages WHERE id = $1 AND channel = 'sms'",
        {id});
    if (!row.ok()) return std::move(row).error();
    if (!*row) return Error::NotFound("message_not_found", "no SMS with this reference");
    if ((*row)->Text(0) == "sending" || (*row)->Text(0) == "queued") {
      // The report outran our own record of the submission: the provider retries later.
      return Error::Unavailable("message_not_recorded_yet", "the submission is not recorded yet; retry later");
    }
    const std::string state = status == "delivered" ? "delivered" : "bounced";
    const int64_t now = clock.NowMs();
    // Only a sent message takes a report; a repeated report changes nothing.
    auto updated = tx.Execute(
        "UPDATE outbox_messages SET state = $2, last_error = $3, updated_at = $4 WHERE id = $1 AND state = 'sent'",
        {id, state, reason.empty() ? storage::Param(nullptr) : storage::Param(reason.substr(0, static_cast<size_t>(kDetailBytesMax))), now});
    if (!updated.ok()) return std::move(updated).error();
    if (*updated == 1) {
      GUICHET_TRY_STATUS(AppendLog(tx, {0, id, (*row)->Int(3), now, state, std::nullopt,
                                        reason.empty() ? "delivery report: " + status : "delivery report: " + reason,
                                        std::nullopt}));
      if (state == "bounced") {
        BadAddress bad;
        bad.channel = "sms";
        bad.address = (*row)->Text(1);
        bad.organisation_id = (*row)->OptionalInt(2);
        bad.reason = reason.empty() ? "delivery failed" : reason;
        bad.source = "sms_report";
        bad.message_id = id;
        GUICHET_TRY_STATUS(MarkBad(tx, bad, now));
      }
    }
    return SmsReportResult{id, state};
  });
}

Result<int64_t> ApplyBounceReport(storage::Database& database, const Clock& clock, std::string_view secret,
                                  std::string_view body, std::string_view signature) {
  if (static_cast<int64_t>(body.size()) > kReportBytesMax || !ReportSignatureValid(secret, body, signature)) {
    return Error::Invalid("signature_invalid", "the report signature does not verify");
  }
  const std::optional<boost::json::object> report = ParseObject(body);
  if (!report) return Error{ErrorKind::kValidation, "report_invalid", "a JSON object expected", {}};
  const std::string channel = JsonString(*report, "channel");
  const std::string address = NormaliseRecipient(channel, JsonString(*report, "address"));
  const std::string reason = JsonString(*report, "reason");
  if ((channel != "email" && channel != "sms") || address.empty() || reason.empty()) {
    return Error{ErrorKind::kValidation, "report_invalid", "channel (email|sms), address and reason expected", {}};
  }
  std::optional<int64_t> message_id;
  std::optional<int64_t> status_code;
  if (const auto* value = report->if_contains("message_id"); value != nullptr && value->is_int64()) {
    message_id = value->as_int64();
  }
  if (const auto* value = report->if_contains("status_code"); value != nullptr && value->is_int64()) {
    status_code = value->as_int64();
  }
  return database.Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
    const int64_t now = clock.NowMs();
    BadAddress bad;
    bad.channel = channel;
    bad.address = address;
    bad.reason = reason;
    bad.source = "bounce_report";
    bad.status_code = status_code;
    // The organisation is the one of the bounced message, or of the latest message to it.
    auto row = tx.QueryOne(
        "SELECT id, organisation_id, attempts FROM outbox_messages WHERE channel = $1 AND recipient = $2"
        " AND ($3 = 0 OR id = $3) ORDER BY id DESC LIMIT 1",
        {channel, address, message_id.value_or(0)});
    if (!row.ok()) return std::move(row).error();
    if (*row) {
      bad.message_id = (*row)->Int(0);
      bad.organisation_id = (*row)->OptionalInt(1);
      auto updated = tx.Execute(
          "UPDATE outbox_messages SET state = 'bounced', last_error = $2, updated_at = $3"
          " WHERE id = $1 AND state IN ('sent', 'delivered')",
          {*bad.message_id, reason.substr(0, static_cast<size_t>(kDetailBytesMax)), now});
      if (!updated.ok()) return std::move(updated).error();
      if (*updated == 1) {
        GUICHET_TRY_STATUS(AppendLog(tx, {0, *bad.message_id, (*row)->Int(2), now, "bounced", status_code,
                                          "bounce report: " + reason, std::nullopt}));
      }
    }
    GUICHET_TRY_STATUS(MarkBad(tx, bad, now));
    auto id = tx.QueryOne(
        "SELECT id FROM notify_bad_addresses WHERE channel = $1 AND address = $2 AND cleared_at IS NULL",
        {channel, address});
    if (!id.ok()) return std::move(id).error();
    GUICHET_ASSERT(id->has_value());
    return (*id)->Int(0);
  });
}

std::string FormatEuroFr(int64_t minor) {
  return fmt::format("{},{:02d} €", minor / 100, static_cast<int>(minor % 100));
}

Status LedgerSmsFee::OnSent(Transaction& tx, const QueuedMessage& message, int64_t now_ms) {
  if (options_.fee_minor <= 0) return OkStatus();
  auto payer = payer_(tx, message);
  if (!payer.ok()) return std::move(payer).error();
  if (!*payer) return OkStatus();
  ledger::Transfer fee;
  fee.id = fmt::format("notify-sms-fee-{}", message.id);
  fee.debit_account_id = **payer;
  fee.credit_account_id = options_.revenue_account_id;
  fee.amount = options_.fee_minor;
  fee.ledger = options_.ledger;
  fee.code = "sms_fee";
  fee.reference = SmsClientReference(message.id);
  auto results = ledger::CreateTransfers(tx, {fee}, now_ms);
  if (!results.ok()) return std::move(results).error();
  GUICHET_ASSERT(results->size() == 1);
  const ledger::CreateTransferResult result = results->front();
  if (result == ledger::CreateTransferResult::kOk || result == ledger::CreateTransferResult::kExists) {
    return OkStatus();
  }
  return Error::Conflict("sms_fee_refused",
                         fmt::format("SMS fee refused by the ledger: {}", ledger::CreateTransferResultName(result)));
}

}  // namespace guichet::notify
