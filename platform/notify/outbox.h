// The one path for messages to people: a row written in the same transaction as the change
// that causes it. The delivery engine (delivery.h) takes the rows from there: it claims them,
// asks the Composer what they say, hands them to a Channel and records every attempt.
//
// States of a row:
//   queued ──claim──► sending ──► sent ──report──► delivered | bounced
//     ▲                 │  ├────► queued (temporary failure, next_attempt_at later)
//     └── resend ───────┤  ├────► failed (attempts exhausted, or nothing to send)
//     (staff, uncertain)│  └────► rejected (permanent: bad address, or marked bad earlier)
//                       └─lease expired─► uncertain (crashed mid-delivery; not resent blindly)
//   queued ──consent withdrawn──► suppressed
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/base/result.h"
#include "platform/privacy/privacy.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::notify {

inline constexpr int64_t kVariablesBytesMax = 16 * 1024;
inline constexpr int64_t kDetailBytesMax = 2000;  // server words kept per attempt
// Queueing a message also queues one `notify.deliver` job per slot of this length, so a burst
// of messages wakes the engine once rather than once per message.
inline constexpr int64_t kKickSlotMs = 1000;
inline constexpr std::string_view kDeliverJob = "notify.deliver";

struct OutboxMessage {
  std::string channel = "email";   // email, sms, push, webhook
  std::string recipient;           // an address, a number, an endpoint
  std::string template_code;       // "identity.password_reset"
  std::string language = "fr";
  std::string variables_json = "{}";
  std::optional<int64_t> organisation_id;
  std::optional<privacy::PersonRef> person;  // whose preferences and history it belongs to
  std::string purpose = "transactional";     // "transactional", "alerts", "campaign"…
  std::optional<int64_t> campaign_id;
  int64_t not_before_ms = 0;                 // 0: as soon as possible (scheduled campaigns)
};

std::vector<storage::Migration> Migrations();
// Writes the row in the caller's transaction and wakes the delivery job (kDeliverJob).
Result<int64_t> Queue(storage::Transaction& tx, const OutboxMessage& message, int64_t now_ms);

// E-mail addresses are compared in lower case; numbers are kept as given (already E.164).
std::string NormaliseRecipient(std::string_view channel, std::string_view recipient);

}  // namespace guichet::notify
