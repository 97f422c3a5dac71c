// The seam between what a message says (templates, preferences, digests, campaigns: "content")
// and how it travels (outbox delivery, SMTP, SMS, push, webhooks: "delivery").
//
// Delivery reads a queued outbox row, asks the Composer whether it may still go out and what
// it says, then hands the result to the channel. Content implements Composer; delivery never
// knows about templates, and content never opens a socket.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/base/result.h"
#include "platform/privacy/privacy.h"
#include "platform/storage/database.h"

namespace guichet::notify {

// A queued message as delivery sees it (one row of outbox_messages).
struct QueuedMessage {
  int64_t id = 0;
  std::string channel;    // email, sms, push, webhook
  std::string recipient;  // an address, a number, a push endpoint, a webhook URL
  std::string template_code;
  std::string language;  // fr, en
  std::string variables_json;
  std::optional<int64_t> organisation_id;
  std::optional<privacy::PersonRef> person;  // whose preferences and history it belongs to
  std::string purpose;                       // "transactional", "alerts", "campaign"…
  std::optional<int64_t> campaign_id;
  int64_t attempts = 0;
};

struct Attachment {
  std::string filename;      // "facture-2026-11.pdf"
  std::string content_type;  // "application/pdf", "image/png"
  std::string content_id;    // non-empty: an inline part referenced as cid:<content_id>
  std::string bytes;
};

// What the person receives. For SMS and push only `text` (and `subject` as a push title) is used.
struct ComposedMessage {
  std::string subject;
  std::string text;
  std::string html;  // empty: a text-only e-mail
  std::vector<Attachment> attachments;
  std::string unsubscribe_url;  // e-mail List-Unsubscribe; empty for mandatory messages
};

enum class Verdict {
  kSend,       // compose and deliver
  kSuppress,   // no consent for this channel / purpose any more: skip, record why
};

class Composer {
 public:
  virtual ~Composer() = default;
  // Decided again at delivery time, not only at queue time: consent may have been withdrawn.
  virtual Result<Verdict> Decide(storage::Transaction& tx, const QueuedMessage& message) = 0;
  virtual Result<ComposedMessage> Compose(storage::Transaction& tx, const QueuedMessage& message) = 0;
};

// What one delivery attempt came to. The engine (delivery) turns it into the row's next state.
struct DeliveryOutcome {
  enum class Kind {
    kSent,      // accepted by the next hop (SMTP server, SMS gateway, push service, webhook 2xx)
    kRetry,     // temporary: try again later with backoff, within the bounded attempts
    kRejected,  // permanent for this address/number/endpoint: stop, mark it bad for staff
    kGone,      // the endpoint says it no longer exists (HTTP 410, push 404/410): disable it
  };
  Kind kind = Kind::kRetry;
  std::string detail;              // the server's words, kept in the delivery log
  std::optional<int> status_code;  // SMTP reply code or HTTP status
  std::string provider_reference;  // SMTP queue id, SMS gateway message id…
};

// One way out: e-mail, SMS, push, webhook. Deliver runs on a delivery worker, outside any
// transaction, and may block on the network within its own timeouts. Webhook rows are not
// composed: the engine passes `text` = the row's variables_json (the event payload).
class Channel {
 public:
  virtual ~Channel() = default;
  virtual std::string_view Name() const = 0;  // "email", "sms", "push", "webhook"
  virtual DeliveryOutcome Deliver(const QueuedMessage& message, const ComposedMessage& composed) = 0;
};

}  // namespace guichet::notify
