// E-mail over SMTP with libcurl: STARTTLS (required or opportunistic) or implicit TLS
// (smtps://), AUTH when a user is set, the organisation's sender (senders.h), our own MIME
// (mime.h) and a DKIM signature when the sender domain has a selector and key (mime_dkim.h).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "platform/base/clock.h"
#include "platform/notify/message.h"
#include "platform/notify/senders.h"
#include "platform/storage/database.h"

namespace guichet::notify {

struct SmtpOptions {
  std::string url = "smtp://127.0.0.1:1025";  // smtp:// (STARTTLS per `starttls`) or smtps://
  std::string user;                            // empty: no AUTH
  std::string password;
  std::string starttls = "required";           // required | opportunistic | off
  std::string ca_file;                          // empty: the system's trust store
  int64_t connect_timeout_ms = 10 * 1000;
  int64_t timeout_ms = 60 * 1000;              // whole transaction
  Sender default_sender;                        // when no organisation above has one
};

// Turns an SMTP reply code into what the engine does with the row. Mailbox-level permanent
// refusals (550 mailbox unavailable, 551 not local, 553 mailbox name not allowed) mark the
// address bad; other replies and connection failures are retried (bounded by the engine).
DeliveryOutcome::Kind ClassifySmtpReply(int code);

class SmtpChannel final : public Channel {
 public:
  SmtpChannel(storage::Database& database, const Clock& clock, SmtpOptions options);
  ~SmtpChannel() override;
  SmtpChannel(const SmtpChannel&) = delete;
  SmtpChannel& operator=(const SmtpChannel&) = delete;

  std::string_view Name() const override { return "email"; }
  DeliveryOutcome Deliver(const QueuedMessage& message, const ComposedMessage& composed) override;

  // The exact bytes that Deliver would send (tests, previews): headers, MIME and DKIM.
  Result<std::string> Render(const QueuedMessage& message, const ComposedMessage& composed,
                             std::string* envelope_from, std::string* message_id);

 private:
  storage::Database& database_;
  const Clock& clock_;
  const SmtpOptions options_;
  std::mutex mutex_;  // one connection, reused between messages
  void* curl_ = nullptr;
};

}  // namespace guichet::notify
