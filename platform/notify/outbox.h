// The one path for messages to people: a row written in the same transaction as the change
// that causes it. Delivery (SMTP, SMS, push, webhooks), templates, preferences and statistics
// build on this table (issue 4); until then rows wait in state 'queued'.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "platform/base/result.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::notify {

inline constexpr int64_t kVariablesBytesMax = 16 * 1024;

struct OutboxMessage {
  std::string channel = "email";   // email, sms, push, webhook
  std::string recipient;           // an address, a number, an endpoint
  std::string template_code;       // "identity.password_reset"
  std::string language = "fr";
  std::string variables_json = "{}";
  std::optional<int64_t> organisation_id;
};

std::vector<storage::Migration> Migrations();
Result<int64_t> Queue(storage::Transaction& tx, const OutboxMessage& message, int64_t now_ms);

}  // namespace guichet::notify
