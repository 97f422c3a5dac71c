// The delivery engine: takes due rows of the outbox, asks the Composer whether each may still
// go out and what it says, hands it to its Channel and records the outcome and the attempt.
//
// At most once per row (one recipient, one channel), even across crashes and restarts:
//  1. Claim: in one committed transaction, due rows are locked (FOR UPDATE SKIP LOCKED on
//     PostgreSQL; SQLite has one writer), composed, and moved to `sending` with a lease and
//     the attempt counted. Only then does the engine touch the network.
//  2. Deliver, outside any transaction.
//  3. Record, in one transaction: the row's next state (sent, queued for a retry with
//     exponential backoff, failed after the bounded attempts, rejected and the address marked
//     bad) only if the row is still this attempt's (`sending` with the same attempt number),
//     one line in notify_delivery_log, and the channel's sent hook (the SMS fee).
//  A row still `sending` after its lease means a worker died between 1 and 3: the message may
//  or may not have left. It is NOT sent again blindly: it becomes `uncertain`, listed for staff
//  who may resend it (`Resend`); a late outcome of that same attempt still settles it. A worker
//  that has spent half the lease on a batch releases the rows it has not started. Only channels whose provider drops a second submission with
//  the same client reference (`resend_safe_channels`, the SMS gateway: our reference is the
//  row id) are queued again automatically.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/jobs/jobs.h"
#include "platform/notify/message.h"
#include "platform/storage/database.h"

namespace guichet::notify {

struct DeliveryOptions {
  int64_t batch_messages_max = 50;        // rows claimed per run
  int64_t attempts_max = 8;               // network attempts before `failed`
  int64_t backoff_base_ms = 30 * 1000;    // delay after the first failure; doubles each time
  int64_t backoff_max_ms = 6 * 3600 * 1000;
  int64_t lease_ms = 5 * 60 * 1000;       // a row `sending` longer than this: its worker died
  std::set<std::string, std::less<>> resend_safe_channels = {"sms"};
};

struct RunReport {
  int64_t claimed = 0;
  int64_t sent = 0;
  int64_t retried = 0;
  int64_t failed = 0;
  int64_t rejected = 0;
  int64_t suppressed = 0;
  int64_t uncertain = 0;  // found `sending` past their lease, left for staff
  int64_t requeued = 0;   // found `sending` past their lease on a resend-safe channel
  int64_t lost = 0;       // outcomes not recorded: the row was no longer this attempt's
};

// Called in the transaction that records a message as sent (the SMS fee goes through the
// ledger there). An error is kept in the delivery log; the sent state is recorded anyway,
// since the message has left.
class SentHook {
 public:
  virtual ~SentHook() = default;
  virtual Status OnSent(storage::Transaction& tx, const QueuedMessage& message, int64_t now_ms) = 0;
};

struct MessageState {
  int64_t id = 0;
  std::string channel;
  std::string recipient;
  std::string state;
  int64_t attempts = 0;
  int64_t next_attempt_at_ms = 0;
  std::optional<std::string> last_error;
  std::optional<int64_t> status_code;
  std::optional<std::string> provider_reference;
  std::optional<int64_t> organisation_id;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct DeliveryLogEntry {
  int64_t id = 0;
  int64_t message_id = 0;
  int64_t attempt = 0;
  int64_t at_ms = 0;
  std::string outcome;  // sent, retry, failed, rejected, gone, suppressed, uncertain, delivered, bounced, resend
  std::optional<int64_t> status_code;
  std::string detail;
  std::optional<std::string> provider_reference;
};

Result<std::optional<MessageState>> FindMessage(storage::Transaction& tx, int64_t id);
Result<std::vector<DeliveryLogEntry>> DeliveryLog(storage::Transaction& tx, int64_t message_id);
Status AppendLog(storage::Transaction& tx, const DeliveryLogEntry& entry);

class DeliveryEngine {
 public:
  DeliveryEngine(storage::Database& database, const Clock& clock, Composer& composer,
                 DeliveryOptions options);
  DeliveryEngine(const DeliveryEngine&) = delete;
  DeliveryEngine& operator=(const DeliveryEngine&) = delete;

  // Registration happens before the first run. The channel outlives the engine.
  void AddChannel(Channel& channel);
  void SetSentHook(std::string channel, SentHook& hook);
  // Tests: called after the claim committed and before the network, to simulate a crash
  // (the hook throws, the run stops with rows left `sending`).
  void SetBeforeDeliverHook(std::function<void(const QueuedMessage&)> hook);

  // One run: rows past their lease first, then one batch claimed, delivered and recorded.
  Result<RunReport> RunOnce();
  // Runs until a run claims nothing (tests and the benchmark), at most `runs_max` runs.
  Result<RunReport> RunUntilIdle(int64_t runs_max);

  // `notify.deliver`: periodic every `interval_ms`, also queued by Queue() when rows arrive.
  void RegisterJobs(jobs::Runner& runner, int64_t interval_ms);

  // Staff decision on an `uncertain` (or `failed`) row: queue it again now, in the caller's
  // transaction. Error message_not_resendable when the row is in another state.
  static Status Resend(storage::Transaction& tx, int64_t message_id, int64_t now_ms);

  int64_t BackoffMs(int64_t attempts) const;

 private:
  struct Claimed {
    QueuedMessage message;
    ComposedMessage composed;
    Channel* channel = nullptr;
  };
  Result<RunReport> RecoverExpired();
  Result<std::vector<Claimed>> Claim(RunReport& report);
  Status Record(const Claimed& claimed, const DeliveryOutcome& outcome, RunReport& report);
  Status Release(const std::vector<Claimed>& unsent);
  std::string ChannelList() const;

  storage::Database& database_;
  const Clock& clock_;
  Composer& composer_;
  const DeliveryOptions options_;
  std::map<std::string, Channel*, std::less<>> channels_;
  std::map<std::string, SentHook*, std::less<>> sent_hooks_;
  std::function<void(const QueuedMessage&)> before_deliver_;
};

}  // namespace guichet::notify
