#include "platform/notify/outbox.h"

namespace guichet::notify {

std::vector<storage::Migration> Migrations() {
  const std::string columns =
      " channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'push', 'webhook')),"
      " recipient TEXT NOT NULL, template_code TEXT NOT NULL, language TEXT NOT NULL,"
      " variables TEXT NOT NULL, organisation_id BIGINT, state TEXT NOT NULL DEFAULT 'queued',"
      " created_at BIGINT NOT NULL);"
      " CREATE INDEX outbox_state ON outbox_messages (state, id);";
  return {{"platform.notify", 1, "create outbox",
           "CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT," + columns,
           "CREATE TABLE outbox_messages (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," + columns}};
}

Result<int64_t> Queue(storage::Transaction& tx, const OutboxMessage& message, int64_t now_ms) {
  GUICHET_ASSERT(!message.recipient.empty() && !message.template_code.empty());
  GUICHET_ASSERT(static_cast<int64_t>(message.variables_json.size()) <= kVariablesBytesMax);
  auto row = tx.QueryOne(
      "INSERT INTO outbox_messages (channel, recipient, template_code, language, variables,"
      " organisation_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
      {message.channel, message.recipient, message.template_code, message.language, message.variables_json,
       message.organisation_id ? storage::Param(*message.organisation_id) : storage::Param(nullptr), now_ms});
  if (!row.ok()) return std::move(row).error();
  return (*row)->Int(0);
}

}  // namespace guichet::notify
