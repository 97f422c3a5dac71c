#include "platform/notify/smtp.h"

#include <curl/curl.h>

#include <cstring>

#include <fmt/format.h>

#include "platform/notify/mime.h"
#include "platform/notify/mime_dkim.h"

namespace guichet::notify {
namespace {

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { GUICHET_ASSERT(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK); });
}

struct Upload {
  const std::string* data = nullptr;
  size_t offset = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const size_t room = size * count;
  const size_t left = upload->data->size() - upload->offset;
  const size_t n = std::min(room, left);
  std::memcpy(buffer, upload->data->data() + upload->offset, n);
  upload->offset += n;
  return n;
}

curl_usessl UseSsl(const std::string& mode) {
  if (mode == "required") return CURLUSESSL_ALL;
  if (mode == "opportunistic") return CURLUSESSL_TRY;
  return CURLUSESSL_NONE;
}

}  // namespace

DeliveryOutcome::Kind ClassifySmtpReply(int code) {
  if (code >= 200 && code < 300) return DeliveryOutcome::Kind::kSent;
  if (code == 550 || code == 551 || code == 553) return DeliveryOutcome::Kind::kRejected;
  return DeliveryOutcome::Kind::kRetry;
}

SmtpChannel::SmtpChannel(storage::Database& database, const Clock& clock, SmtpOptions options)
    : database_(database), clock_(clock), options_(std::move(options)) {
  GUICHET_ASSERT(options_.starttls == "required" || options_.starttls == "opportunistic" || options_.starttls == "off");
  InitCurl();
}

SmtpChannel::~SmtpChannel() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<std::string> SmtpChannel::Render(const QueuedMessage& message, const ComposedMessage& composed,
                                        std::string* envelope_from, std::string* message_id) {
  auto resolved = database_.Transact<std::optional<Sender>>(
      storage::TransactionMode::kRead,
      [&](storage::Transaction& tx) { return ResolveSender(tx, message.organisation_id); });
  if (!resolved.ok()) return std::move(resolved).error();
  const Sender sender = resolved->value_or(options_.default_sender);
  if (sender.from_address.empty()) {
    return Error::Invalid("sender_missing", "no sender for this organisation and no default sender");
  }
  MimeEnvelope envelope;
  envelope.from_address = sender.from_address;
  envelope.from_name = sender.display_name;
  envelope.to_address = message.recipient;
  envelope.reply_to = sender.reply_to;
  envelope.message_id = fmt::format("m{}.{}", message.id, NewMessageId(sender.domain.empty() ? "guichet.invalid" : sender.domain));
  envelope.date_ms = clock_.NowMs();
  envelope.extra_headers.push_back({"X-Guichet-Message", std::to_string(message.id)});
  if (envelope_from != nullptr) *envelope_from = sender.from_address;
  if (message_id != nullptr) *message_id = envelope.message_id;
  std::string mime = BuildMime(envelope, composed);
  if (sender.dkim_selector.empty() || sender.dkim_private_key.empty()) return mime;
  return DkimSign(mime, sender.domain, sender.dkim_selector, sender.dkim_private_key, clock_.NowMs() / 1000);
}

DeliveryOutcome SmtpChannel::Deliver(const QueuedMessage& message, const ComposedMessage& composed) {
  DeliveryOutcome outcome;
  std::string from;
  std::string message_id;
  auto rendered = Render(message, composed, &from, &message_id);
  if (!rendered.ok()) {
    outcome.kind = DeliveryOutcome::Kind::kRetry;
    outcome.detail = rendered.error().message;
    return outcome;
  }
  std::lock_guard lock(mutex_);
  if (curl_ == nullptr) curl_ = curl_easy_init();
  CURL* curl = static_cast<CURL*>(curl_);
  GUICHET_ASSERT(curl != nullptr);
  curl_easy_reset(curl);  // keeps the connection cache: the next message reuses the session
  Upload upload{&*rendered, 0};
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* recipients = curl_slist_append(nullptr, ("<" + message.recipient + ">").c_str());
  const std::string mail_from = "<" + from + ">";
  curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(UseSsl(options_.starttls)));
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, options_.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.password.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadUpload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(rendered->size()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  const CURLcode code = curl_easy_perform(curl);
  long reply = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
  curl_slist_free_all(recipients);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  if (reply > 0) outcome.status_code = static_cast<int>(reply);
  if (code == CURLE_OK) {
    outcome.kind = DeliveryOutcome::Kind::kSent;
    outcome.detail = fmt::format("accepted by {} ({})", options_.url, reply);
    outcome.provider_reference = "<" + message_id + ">";
    return outcome;
  }
  outcome.detail = fmt::format("{}: {}", curl_easy_strerror(code), error[0] != '\0' ? error : "no detail");
  // Without a reply code (connection, TLS, timeout) the server never refused the mailbox.
  outcome.kind = reply > 0 && code != CURLE_LOGIN_DENIED ? ClassifySmtpReply(static_cast<int>(reply))
                                                           : DeliveryOutcome::Kind::kRetry;
  if (outcome.kind == DeliveryOutcome::Kind::kSent) outcome.kind = DeliveryOutcome::Kind::kRetry;
  // A failed session is not reused.
  curl_easy_cleanup(curl);
  curl_ = nullptr;
  return outcome;
}

}  // namespace guichet::notify
