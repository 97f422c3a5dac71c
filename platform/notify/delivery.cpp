#include "platform/notify/delivery.h"

#include <algorithm>

#include "platform/base/log.h"
#include "platform/notify/addresses.h"
#include "platform/notify/outbox.h"

namespace guichet::notify {
namespace {

using storage::Param;
using storage::Transaction;
using storage::TransactionMode;

Param OptionalInt(const std::optional<int64_t>& value) { return value ? Param(*value) : Param(nullptr); }
Param OptionalText(const std::string& value) { return value.empty() ? Param(nullptr) : Param(value); }

std::string Truncated(std::string_view text) {
  return std::string(text.substr(0, static_cast<size_t>(kDetailBytesMax)));
}

constexpr std::string_view kMessageColumns =
    "id, channel, recipient, template_code, language, variables, organisation_id, person_type,"
    " person_id, purpose, campaign_id, attempts";

QueuedMessage MessageOf(const storage::Row& row) {
  QueuedMessage message;
  message.id = row.Int(0);
  message.channel = row.Text(1);
  message.recipient = row.Text(2);
  message.template_code = row.Text(3);
  message.language = row.Text(4);
  message.variables_json = row.Text(5);
  message.organisation_id = row.OptionalInt(6);
  if (!row.IsNull(7) && !row.IsNull(8)) message.person = privacy::PersonRef{row.Text(7), row.Int(8)};
  message.purpose = row.Text(9);
  message.campaign_id = row.OptionalInt(10);
  message.attempts = row.Int(11);
  return message;
}

// Moves a row to a final state decided at claim time (never sent), with its log line.
Status Settle(Transaction& tx, const QueuedMessage& message, std::string_view state, std::string_view outcome,
              const std::string& detail, int64_t now_ms) {
  auto updated = tx.Execute(
      "UPDATE outbox_messages SET state = $2, last_error = $3, lease_until = NULL, updated_at = $4"
      " WHERE id = $1",
      {message.id, std::string(state), Truncated(detail), now_ms});
  if (!updated.ok()) return std::move(updated).error();
  return AppendLog(tx, {0, message.id, message.attempts, now_ms, std::string(outcome), std::nullopt,
                        Truncated(detail), std::nullopt});
}

// Failures of the database itself fail the whole run (retried by the job); others are the row's.
bool StorageFailure(const Error& error) {
  return error.kind == ErrorKind::kUnavailable || error.kind == ErrorKind::kInternal ||
         error.code.starts_with("database_");
}

// What a permanent refusal says about the address (webhook endpoints are the webhook
// channel's to disable, not bad addresses).
BadAddress BadAddressOf(const QueuedMessage& message, const DeliveryOutcome& outcome) {
  BadAddress bad;
  bad.channel = message.channel;
  bad.address = message.recipient;
  bad.organisation_id = message.organisation_id;
  bad.reason = outcome.detail.empty() ? "rejected by the provider" : outcome.detail;
  bad.source = outcome.kind == DeliveryOutcome::Kind::kGone ? "gone"
               : message.channel == "sms"                    ? "sms_gateway"
                                                             : "smtp";
  bad.message_id = message.id;
  if (outcome.status_code) bad.status_code = *outcome.status_code;
  return bad;
}

std::string_view OutcomeName(DeliveryOutcome::Kind kind) {
  switch (kind) {
    case DeliveryOutcome::Kind::kSent: return "sent";
    case DeliveryOutcome::Kind::kRetry: return "retry";
    case DeliveryOutcome::Kind::kRejected: return "rejected";
    case DeliveryOutcome::Kind::kGone: return "gone";
  }
  return "retry";
}

}  // namespace

Status AppendLog(Transaction& tx, const DeliveryLogEntry& entry) {
  auto inserted = tx.Execute(
      "INSERT INTO notify_delivery_log (message_id, attempt, at, outcome, status_code, detail,"
      " provider_reference) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {entry.message_id, entry.attempt, entry.at_ms, entry.outcome, OptionalInt(entry.status_code),
       Truncated(entry.detail), entry.provider_reference ? Param(*entry.provider_reference) : Param(nullptr)});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

Result<std::optional<MessageState>> FindMessage(Transaction& tx, int64_t id) {
  auto row = tx.QueryOne(
      "SELECT id, channel, recipient, state, attempts, next_attempt_at, last_error, status_code,"
      " provider_reference, organisation_id, created_at, updated_at FROM outbox_messages WHERE id = $1",
      {id});
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<MessageState>();
  const storage::Row& r = **row;
  return std::optional<MessageState>(MessageState{r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4), r.Int(5),
                                                  r.OptionalText(6), r.OptionalInt(7), r.OptionalText(8),
                                                  r.OptionalInt(9), r.Int(10), r.Int(11)});
}

Result<std::vector<DeliveryLogEntry>> DeliveryLog(Transaction& tx, int64_t message_id) {
  auto rows = tx.Query(
      "SELECT id, message_id, attempt, at, outcome, status_code, detail, provider_reference"
      " FROM notify_delivery_log WHERE message_id = $1 ORDER BY id",
      {message_id});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<DeliveryLogEntry> entries;
  for (const storage::Row& r : rows->rows) {
    entries.push_back({r.Int(0), r.Int(1), r.Int(2), r.Int(3), r.Text(4), r.OptionalInt(5), r.Text(6),
                       r.OptionalText(7)});
  }
  return entries;
}

DeliveryEngine::DeliveryEngine(storage::Database& database, const Clock& clock, Composer& composer,
                               DeliveryOptions options)
    : database_(database), clock_(clock), composer_(composer), options_(std::move(options)) {
  GUICHET_ASSERT(options_.batch_messages_max > 0 && options_.attempts_max > 0);
  GUICHET_ASSERT(options_.backoff_base_ms > 0 && options_.backoff_max_ms >= options_.backoff_base_ms);
  GUICHET_ASSERT(options_.lease_ms > 0);
}

void DeliveryEngine::AddChannel(Channel& channel) {
  const std::string name(channel.Name());
  // Names are inlined in the claim query: keep them to lower-case letters.
  GUICHET_ASSERT(!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= 'a' && c <= 'z'; }));
  GUICHET_ASSERT(!channels_.contains(name));
  channels_[name] = &channel;
}

void DeliveryEngine::SetSentHook(std::string channel, SentHook& hook) { sent_hooks_[std::move(channel)] = &hook; }

void DeliveryEngine::SetBeforeDeliverHook(std::function<void(const QueuedMessage&)> hook) {
  before_deliver_ = std::move(hook);
}

int64_t DeliveryEngine::BackoffMs(int64_t attempts) const {
  int64_t delay = options_.backoff_base_ms;
  for (int64_t i = 1; i < attempts && delay < options_.backoff_max_ms; ++i) delay *= 2;
  return std::min(delay, options_.backoff_max_ms);
}

std::string DeliveryEngine::ChannelList() const {
  std::string list;
  for (const auto& [name, channel] : channels_) {
    if (!list.empty()) list += ", ";
    list += "'" + name + "'";
  }
  return list;
}

Result<RunReport> DeliveryEngine::RecoverExpired() {
  return database_.Transact<RunReport>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<RunReport> {
    RunReport report;
    const int64_t now = clock_.NowMs();
    std::string sql =
        "SELECT id, channel, attempts FROM outbox_messages WHERE state = 'sending' AND updated_at < $1"
        " ORDER BY id LIMIT $2";
    if (tx.backend() == storage::Backend::kPostgres) sql += " FOR UPDATE SKIP LOCKED";
    // The lease in force now (not the one stored at claim time), so a process restarted with a
    // shorter lease applies it to rows its predecessor left.
    auto rows = tx.Query(sql, {now - options_.lease_ms, options_.batch_messages_max});
    if (!rows.ok()) return std::move(rows).error();
    for (const storage::Row& row : rows->rows) {
      QueuedMessage message;
      message.id = row.Int(0);
      message.channel = row.Text(1);
      message.attempts = row.Int(2);
      if (options_.resend_safe_channels.contains(message.channel)) {
        auto updated = tx.Execute(
            "UPDATE outbox_messages SET state = 'queued', next_attempt_at = $2, lease_until = NULL,"
            " updated_at = $2 WHERE id = $1",
            {message.id, now});
        if (!updated.ok()) return std::move(updated).error();
        GUICHET_TRY_STATUS(AppendLog(tx, {0, message.id, message.attempts, now, "resend", std::nullopt,
                                          "lease expired mid-delivery; the provider drops a second submission "
                                          "with the same client reference, so it is sent again",
                                          std::nullopt}));
        ++report.requeued;
      } else {
        GUICHET_TRY_STATUS(Settle(tx, message, "uncertain", "uncertain",
                                  "lease expired mid-delivery: the message may or may not have left; "
                                  "not resent without a staff decision",
                                  now));
        ++report.uncertain;
      }
    }
    return report;
  });
}

Result<std::vector<DeliveryEngine::Claimed>> DeliveryEngine::Claim(RunReport& report) {
  using List = std::vector<Claimed>;
  RunReport settled;
  auto claimed = database_.Transact<List>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<List> {
    settled = RunReport{};
    List list;
    const int64_t now = clock_.NowMs();
    std::string sql = "SELECT " + std::string(kMessageColumns) +
                      " FROM outbox_messages WHERE state = 'queued' AND next_attempt_at <= $1 AND channel IN (" +
                      ChannelList() + ") ORDER BY next_attempt_at, id LIMIT $2";
    if (tx.backend() == storage::Backend::kPostgres) sql += " FOR UPDATE SKIP LOCKED";
    auto rows = tx.Query(sql, {now, options_.batch_messages_max});
    if (!rows.ok()) return std::move(rows).error();
    for (const storage::Row& row : rows->rows) {
      Claimed item;
      item.message = MessageOf(row);
      item.channel = channels_.at(item.message.channel);
      const bool webhook = item.message.channel == "webhook";
      if (!webhook) {
        auto bad = IsBad(tx, item.message.channel, item.message.recipient);
        if (!bad.ok()) return std::move(bad).error();
        if (*bad) {
          GUICHET_TRY_STATUS(Settle(tx, item.message, "rejected", "rejected",
                                    "the address is marked bad: not tried until staff correct or clear it", now));
          ++settled.rejected;
          continue;
        }
        auto verdict = composer_.Decide(tx, item.message);
        if (!verdict.ok() && !StorageFailure(verdict.error())) {
          // One row the composer cannot judge must not hold up the queue.
          GUICHET_TRY_STATUS(Settle(tx, item.message, "failed", "failed",
                                    "could not decide: " + verdict.error().message, now));
          ++settled.failed;
          continue;
        }
        if (!verdict.ok()) return std::move(verdict).error();
        if (*verdict == Verdict::kSuppress) {
          GUICHET_TRY_STATUS(Settle(tx, item.message, "suppressed", "suppressed",
                                    "no consent for this channel and purpose at delivery time", now));
          ++settled.suppressed;
          continue;
        }
        auto composed = composer_.Compose(tx, item.message);
        if (!composed.ok() && StorageFailure(composed.error())) return std::move(composed).error();
        if (!composed.ok()) {
          // Nothing to send (a template missing or wrong): retrying will not help.
          GUICHET_TRY_STATUS(Settle(tx, item.message, "failed", "failed",
                                    "could not compose: " + composed.error().message, now));
          ++settled.failed;
          continue;
        }
        item.composed = std::move(composed).value();
      } else {
        item.composed.text = item.message.variables_json;
      }
      // Committed before the network is touched: a crash from here on leaves the row `sending`.
      auto updated = tx.Execute(
          "UPDATE outbox_messages SET state = 'sending', attempts = attempts + 1, lease_until = $2,"
          " updated_at = $3 WHERE id = $1 AND state = 'queued'",
          {item.message.id, now + options_.lease_ms, now});
      if (!updated.ok()) return std::move(updated).error();
      GUICHET_ASSERT(*updated == 1);
      item.message.attempts += 1;
      list.push_back(std::move(item));
    }
    return list;
  });
  if (!claimed.ok()) return claimed;
  report.claimed += static_cast<int64_t>(claimed->size()) + settled.rejected + settled.suppressed + settled.failed;
  report.rejected += settled.rejected;
  report.suppressed += settled.suppressed;
  report.failed += settled.failed;
  return claimed;
}

Status DeliveryEngine::Record(const Claimed& claimed, const DeliveryOutcome& outcome, RunReport& report) {
  const QueuedMessage& message = claimed.message;
  SentHook* hook = nullptr;
  if (auto found = sent_hooks_.find(message.channel); found != sent_hooks_.end()) hook = found->second;
  enum class Next { kSent, kRetry, kFailed, kRejected } next = Next::kRetry;
  switch (outcome.kind) {
    case DeliveryOutcome::Kind::kSent: next = Next::kSent; break;
    case DeliveryOutcome::Kind::kRetry:
      next = message.attempts >= options_.attempts_max ? Next::kFailed : Next::kRetry;
      break;
    case DeliveryOutcome::Kind::kRejected:
    case DeliveryOutcome::Kind::kGone: next = Next::kRejected; break;
  }
  auto record = [&](bool with_hook, std::string hook_error) -> Result<bool> {
    return database_.Transact<bool>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<bool> {
      const int64_t now = clock_.NowMs();
      std::string state = "sent";
      std::string logged(OutcomeName(outcome.kind));
      int64_t next_attempt = now;
      if (next == Next::kRetry) {
        state = "queued";
        next_attempt = now + BackoffMs(message.attempts);
      } else if (next == Next::kFailed) {
        state = "failed";
        logged = "failed";
      } else if (next == Next::kRejected) {
        state = "rejected";
      }
      auto updated = tx.Execute(
          "UPDATE outbox_messages SET state = $2, next_attempt_at = $3, last_error = $4, status_code = $5,"
          " provider_reference = COALESCE($6, provider_reference), sent_at = $7, lease_until = NULL,"
          " updated_at = $8 WHERE id = $1 AND state IN ('sending', 'uncertain') AND attempts = $9",
          {message.id, state, next_attempt,
           next == Next::kSent ? Param(nullptr) : Param(Truncated(outcome.detail)),
           outcome.status_code ? Param(int64_t{*outcome.status_code}) : Param(nullptr),
           OptionalText(outcome.provider_reference), next == Next::kSent ? Param(now) : Param(nullptr), now,
           message.attempts});
      if (!updated.ok()) return std::move(updated).error();
      // An `uncertain` row of this attempt is resolved by its late outcome; any other state
      // means the row moved on (resent by staff): this outcome is no longer its.
      if (*updated == 0) return false;
      std::string detail = outcome.detail;
      if (!hook_error.empty()) detail += " [sent hook failed: " + hook_error + "]";
      GUICHET_TRY_STATUS(AppendLog(tx, {0, message.id, message.attempts, now, logged,
                                        outcome.status_code ? std::optional<int64_t>(*outcome.status_code)
                                                            : std::nullopt,
                                        detail,
                                        outcome.provider_reference.empty()
                                            ? std::nullopt
                                            : std::optional<std::string>(outcome.provider_reference)}));
      if (next == Next::kRejected && message.channel != "webhook") {
        GUICHET_TRY_STATUS(MarkBad(tx, BadAddressOf(message, outcome), now));
      }
      if (next == Next::kSent && with_hook && hook != nullptr) {
        GUICHET_TRY_STATUS(hook->OnSent(tx, message, now));
      }
      return true;
    });
  };
  auto recorded = record(true, "");
  if (!recorded.ok() && next == Next::kSent && hook != nullptr) {
    // The message has left: its sent state must be recorded even if the hook refuses.
    log::Error("sent hook failed", {{"message_id", message.id}, {"error", std::string_view(recorded.error().message)}});
    recorded = record(false, recorded.error().message);
  }
  if (!recorded.ok()) return std::move(recorded).error();
  if (!*recorded) {
    ++report.lost;
    log::Warn("delivery outcome not recorded: row no longer this attempt's", {{"message_id", message.id}});
    return OkStatus();
  }
  switch (next) {
    case Next::kSent: ++report.sent; break;
    case Next::kRetry: ++report.retried; break;
    case Next::kFailed: ++report.failed; break;
    case Next::kRejected: ++report.rejected; break;
  }
  return OkStatus();
}

Result<RunReport> DeliveryEngine::RunOnce() {
  auto report = RecoverExpired();
  if (!report.ok()) return report;
  if (channels_.empty()) return report;
  const int64_t claimed_at = clock_.NowMs();
  auto claimed = Claim(*report);
  if (!claimed.ok()) return std::move(claimed).error();
  for (size_t i = 0; i < claimed->size(); ++i) {
    // Slow servers: rows not started before half their lease go back untouched, rather than
    // being found past their lease (uncertain) while this worker still holds them.
    if (clock_.NowMs() - claimed_at > options_.lease_ms / 2) {
      GUICHET_TRY_STATUS(Release(std::vector<Claimed>(claimed->begin() + static_cast<std::ptrdiff_t>(i), claimed->end())));
      break;
    }
    const Claimed& item = (*claimed)[i];
    if (before_deliver_) before_deliver_(item.message);
    const DeliveryOutcome outcome = item.channel->Deliver(item.message, item.composed);
    GUICHET_TRY_STATUS(Record(item, outcome, *report));
  }
  return report;
}

Status DeliveryEngine::Release(const std::vector<Claimed>& unsent) {
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
    for (const Claimed& item : unsent) {
      auto released = tx.Execute(
          "UPDATE outbox_messages SET state = 'queued', attempts = attempts - 1, lease_until = NULL,"
          " updated_at = $2 WHERE id = $1 AND state = 'sending' AND attempts = $3",
          {item.message.id, clock_.NowMs(), item.message.attempts});
      if (!released.ok()) return std::move(released).error();
    }
    return OkStatus();
  });
}

Result<RunReport> DeliveryEngine::RunUntilIdle(int64_t runs_max) {
  RunReport total;
  for (int64_t run = 0; run < runs_max; ++run) {
    auto report = RunOnce();
    if (!report.ok()) return report;
    total.claimed += report->claimed;
    total.sent += report->sent;
    total.retried += report->retried;
    total.failed += report->failed;
    total.rejected += report->rejected;
    total.suppressed += report->suppressed;
    total.uncertain += report->uncertain;
    total.requeued += report->requeued;
    total.lost += report->lost;
    if (report->claimed == 0 && report->requeued == 0 && report->uncertain == 0) break;
  }
  return total;
}

void DeliveryEngine::RegisterJobs(jobs::Runner& runner, int64_t interval_ms) {
  runner.Every(std::string(kDeliverJob), interval_ms);
  runner.Register(std::string(kDeliverJob), [this](const jobs::JobRecord&) -> Status {
    auto report = RunUntilIdle(20);
    if (!report.ok()) return std::move(report).error();
    if (report->claimed + report->uncertain + report->requeued > 0) {
      log::Info("messages delivered", {{"claimed", report->claimed}, {"sent", report->sent},
                                       {"retried", report->retried}, {"failed", report->failed},
                                       {"rejected", report->rejected}, {"suppressed", report->suppressed},
                                       {"uncertain", report->uncertain}, {"requeued", report->requeued}});
    }
    return OkStatus();
  });
}

Status DeliveryEngine::Resend(Transaction& tx, int64_t message_id, int64_t now_ms) {
  auto updated = tx.Execute(
      "UPDATE outbox_messages SET state = 'queued', next_attempt_at = $2, attempts = 0, updated_at = $2"
      " WHERE id = $1 AND state IN ('uncertain', 'failed')",
      {message_id, now_ms});
  if (!updated.ok()) return std::move(updated).error();
  if (*updated == 0) {
    return Error::Conflict("message_not_resendable", "only an uncertain or failed message can be sent again");
  }
  return AppendLog(tx, {0, message_id, 0, now_ms, "resend", std::nullopt, "queued again by staff", std::nullopt});
}

}  // namespace guichet::notify
