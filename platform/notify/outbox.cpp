#include "platform/notify/outbox.h"

#include <algorithm>
#include <cctype>

#include "platform/jobs/jobs.h"

namespace guichet::notify {
namespace {

// Version 2: what the delivery engine needs on each row, the per-attempt log, the addresses
// found bad, and the senders of organisations. Both engines accept one ADD COLUMN per statement.
std::string DeliveryColumns() {
  return "ALTER TABLE outbox_messages ADD COLUMN person_type TEXT;"
         " ALTER TABLE outbox_messages ADD COLUMN person_id BIGINT;"
         " ALTER TABLE outbox_messages ADD COLUMN purpose TEXT NOT NULL DEFAULT 'transactional';"
         " ALTER TABLE outbox_messages ADD COLUMN campaign_id BIGINT;"
         " ALTER TABLE outbox_messages ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;"
         " ALTER TABLE outbox_messages ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;"
         " ALTER TABLE outbox_messages ADD COLUMN lease_until BIGINT;"
         " ALTER TABLE outbox_messages ADD COLUMN last_error TEXT;"
         " ALTER TABLE outbox_messages ADD COLUMN status_code BIGINT;"
         " ALTER TABLE outbox_messages ADD COLUMN provider_reference TEXT;"
         " ALTER TABLE outbox_messages ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;"
         " ALTER TABLE outbox_messages ADD COLUMN sent_at BIGINT;"
         " CREATE INDEX outbox_due ON outbox_messages (state, next_attempt_at, id);"
         " CREATE INDEX outbox_person ON outbox_messages (person_type, person_id, id);"
         " CREATE INDEX outbox_provider_reference ON outbox_messages (channel, provider_reference);";
}

std::string DeliveryTables(std::string_view id_column) {
  const std::string id(id_column);
  return " CREATE TABLE notify_delivery_log (id " + id +
         ", message_id BIGINT NOT NULL REFERENCES outbox_messages (id), attempt BIGINT NOT NULL,"
         " at BIGINT NOT NULL, outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed',"
         " 'rejected', 'gone', 'suppressed', 'uncertain', 'delivered', 'bounced', 'resend')),"
         " status_code BIGINT, detail TEXT NOT NULL, provider_reference TEXT);"
         " CREATE INDEX notify_delivery_log_message ON notify_delivery_log (message_id, id);"
         " CREATE TABLE notify_bad_addresses (id " + id +
         ", channel TEXT NOT NULL, address TEXT NOT NULL, organisation_id BIGINT, reason TEXT NOT NULL,"
         " source TEXT NOT NULL CHECK (source IN ('smtp', 'sms_gateway', 'sms_report', 'bounce_report', 'gone')),"
         " message_id BIGINT, status_code BIGINT, created_at BIGINT NOT NULL, cleared_at BIGINT,"
         " cleared_by BIGINT, corrected_to TEXT);"
         " CREATE UNIQUE INDEX notify_bad_addresses_active ON notify_bad_addresses (channel, address)"
         " WHERE cleared_at IS NULL;"
         " CREATE TABLE notify_senders (organisation_id BIGINT PRIMARY KEY REFERENCES organisations (id),"
         " from_address TEXT NOT NULL, display_name TEXT NOT NULL, reply_to TEXT NOT NULL,"
         " domain TEXT NOT NULL, dkim_selector TEXT NOT NULL, dkim_private_key TEXT NOT NULL,"
         " updated_at BIGINT NOT NULL);";
}

}  // namespace

std::vector<storage::Migration> Migrations() {
  const std::string columns =
      " channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'push', 'webhook')),"
      " recipient TEXT NOT NULL, template_code TEXT NOT NULL, language TEXT NOT NULL,"
      " variables TEXT NOT NULL, organisation_id BIGINT, state TEXT NOT NULL DEFAULT 'queued',"
      " created_at BIGINT NOT NULL);"
      " CREATE INDEX outbox_state ON outbox_messages (state, id);";
  return {{"platform.notify", 1, "create outbox",
           "CREATE TABLE outbox_messages (id INTEGER PRIMARY KEY AUTOINCREMENT," + columns,
           "CREATE TABLE outbox_messages (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," + columns},
          {"platform.notify", 2, "delivery: states, attempts, delivery log, bad addresses, senders",
           DeliveryColumns() + DeliveryTables("INTEGER PRIMARY KEY AUTOINCREMENT"),
           DeliveryColumns() + DeliveryTables("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")}};
}

std::string NormaliseRecipient(std::string_view channel, std::string_view recipient) {
  std::string text(recipient);
  if (channel == "email") {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  return text;
}

Result<int64_t> Queue(storage::Transaction& tx, const OutboxMessage& message, int64_t now_ms) {
  GUICHET_ASSERT(!message.recipient.empty() && !message.template_code.empty());
  GUICHET_ASSERT(static_cast<int64_t>(message.variables_json.size()) <= kVariablesBytesMax);
  GUICHET_ASSERT(!message.purpose.empty());
  const storage::Param null = nullptr;
  auto row = tx.QueryOne(
      "INSERT INTO outbox_messages (channel, recipient, template_code, language, variables,"
      " organisation_id, person_type, person_id, purpose, campaign_id, next_attempt_at, created_at,"
      " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
      {message.channel, NormaliseRecipient(message.channel, message.recipient), message.template_code,
       message.language, message.variables_json,
       message.organisation_id ? storage::Param(*message.organisation_id) : null,
       message.person ? storage::Param(message.person->type) : null,
       message.person ? storage::Param(message.person->id) : null, message.purpose,
       message.campaign_id ? storage::Param(*message.campaign_id) : null,
       std::max(message.not_before_ms, now_ms), now_ms});
  if (!row.ok()) return std::move(row).error();
  const int64_t id = (*row)->Int(0);
  // Wake the engine soon (the periodic job would find the row anyway).
  jobs::JobRequest kick;
  kick.kind = std::string(kDeliverJob);
  kick.run_at_ms = std::max(message.not_before_ms, now_ms);
  kick.max_attempts = 1;
  kick.dedupe_key = "notify.deliver.kick:" + std::to_string(kick.run_at_ms / kKickSlotMs);
  auto job = jobs::Enqueue(tx, kick, now_ms);
  if (!job.ok()) return std::move(job).error();
  return id;
}

}  // namespace guichet::notify
