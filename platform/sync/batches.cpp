// Batches uploaded by devices: checked (signature, sequence), stored whole, then applied event
// by event in order, each in its own transaction; waiting events retried later; staff give up
// waiting events; reports per device and per organisation subtree.
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <exception>

#include "platform/audit/audit.h"
#include "platform/base/crypto.h"
#include "platform/base/log.h"
#include "platform/http/json.h"
#include "platform/sync/sync.h"

namespace guichet::sync {
namespace {

using identity::Caller;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

constexpr std::string_view kEventColumns =
    "id, seq, kind, state, code, wait_key, result, attempts, last_try_at, next_try_at,"
    " abandon_reason, device_id, at_ms, received_at";
constexpr int64_t kStalledDevicesPerRunMax = 100;

Error Forbidden(std::string code, std::string message) {
  return {ErrorKind::kForbidden, std::move(code), std::move(message), {}};
}

EventState StateOf(std::string_view name) {
  if (name == "received") return EventState::kReceived;
  if (name == "applied") return EventState::kApplied;
  if (name == "refused") return EventState::kRefused;
  if (name == "waiting") return EventState::kWaiting;
  GUICHET_ASSERT(name == "abandoned");  // the CHECK constraint allows nothing else
  return EventState::kAbandoned;
}

EventOutcome ToOutcome(const Row& row) {
  EventOutcome outcome;
  outcome.id = row.Int(0);
  outcome.seq = row.Int(1);
  outcome.kind = row.Text(2);
  outcome.state = StateOf(row.Text(3));
  outcome.code = row.OptionalText(4);
  outcome.wait_key = row.OptionalText(5);
  outcome.result_json = row.OptionalText(6);
  outcome.attempts = row.Int(7);
  outcome.last_try_at_ms = row.OptionalInt(8);
  outcome.next_try_at_ms = row.OptionalInt(9);
  outcome.abandon_reason = row.OptionalText(10);
  outcome.device_id = row.Int(11);
  outcome.at_ms = row.Int(12);
  outcome.received_at_ms = row.Int(13);
  return outcome;
}

std::optional<std::string> DecodeBase64Url(std::string_view text, size_t size) {
  std::string out(size, '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      length != size) {
    return std::nullopt;
  }
  return out;
}

bool Verify(std::string_view signature, std::string_view message, std::string_view public_key) {
  return crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(signature.data()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(),
             reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

int64_t BackoffMs(const SyncOptions& options, int64_t attempts) {
  int64_t delay = options.retry_backoff_base_ms;
  for (int64_t i = 1; i < attempts && delay < options.retry_backoff_max_ms; ++i) delay *= 2;
  return std::min(delay, options.retry_backoff_max_ms);
}

Status WriteOutcome(Transaction& tx, int64_t event_id, const Outcome& outcome, int64_t attempts,
                    int64_t now_ms, const SyncOptions& options) {
  const bool waiting = outcome.state == EventState::kWaiting;
  storage::Param code = nullptr;
  storage::Param wait_key = nullptr;
  storage::Param result = nullptr;
  storage::Param next_try = nullptr;
  storage::Param done = now_ms;
  if (!outcome.code.empty()) code = outcome.code;
  if (waiting) {
    wait_key = outcome.wait_key;
    next_try = now_ms + BackoffMs(options, attempts);
    done = nullptr;
  }
  if (outcome.state == EventState::kApplied) result = boost::json::serialize(outcome.result);
  auto updated = tx.Execute(
      "UPDATE sync_events SET state = $2, code = $3, wait_key = $4, result = $5, next_try_at = $6,"
      " done_at = $7 WHERE id = $1",
      {event_id, std::string(EventStateName(outcome.state)), code, wait_key, result, next_try,
       done});
  if (!updated.ok()) return std::move(updated).error();
  GUICHET_ASSERT(*updated == 1);
  return OkStatus();
}

Event EventOf(const Row& row, bool retry) {
  // id, device_id, seq, kind, at_ms, payload, attempts (this attempt included)
  Event event;
  event.id = row.Int(0);
  event.device_id = row.Int(1);
  event.seq = row.Int(2);
  event.kind = row.Text(3);
  event.at_ms = row.Int(4);
  event.payload = boost::json::parse(row.Text(5));
  event.attempts = row.Int(6) - 1;
  event.retry = retry;
  return event;
}

Result<std::vector<EventOutcome>> OutcomesOf(Transaction& tx, int64_t device_id, int64_t first,
                                             int64_t last) {
  auto rows = tx.Query(fmt::format("SELECT {} FROM sync_events WHERE device_id = $1 AND seq >= $2"
                                   " AND seq <= $3 ORDER BY seq",
                                   kEventColumns),
                       {device_id, first, last});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<EventOutcome> outcomes;
  for (const Row& row : rows->rows) outcomes.push_back(ToOutcome(row));
  return outcomes;
}

}  // namespace

std::string_view EventStateName(EventState state) {
  switch (state) {
    case EventState::kReceived:
      return "received";
    case EventState::kApplied:
      return "applied";
    case EventState::kRefused:
      return "refused";
    case EventState::kWaiting:
      return "waiting";
    case EventState::kAbandoned:
      return "abandoned";
  }
  return "received";
}

Outcome Outcome::Applied(boost::json::object result) {
  Outcome outcome;
  outcome.state = EventState::kApplied;
  outcome.result = std::move(result);
  return outcome;
}

Outcome Outcome::Refused(std::string code) {
  Outcome outcome;
  outcome.state = EventState::kRefused;
  outcome.code = std::move(code);
  return outcome;
}

Outcome Outcome::Waiting(std::string code, std::string wait_key) {
  Outcome outcome;
  outcome.state = EventState::kWaiting;
  outcome.code = std::move(code);
  outcome.wait_key = std::move(wait_key);
  return outcome;
}

void Handlers::Add(std::string kind, EventKind handler) {
  GUICHET_ASSERT(!kind.empty() && kind.size() <= kNameLengthMax);
  GUICHET_ASSERT(handler.handler != nullptr && !handler.right.empty());
  const bool added = handlers_.emplace(std::move(kind), std::move(handler)).second;
  GUICHET_ASSERT(added);
}

const EventKind* Handlers::Find(std::string_view kind) const {
  const auto found = handlers_.find(kind);
  return found == handlers_.end() ? nullptr : &found->second;
}

Sync::Sync(storage::Database& database, const Clock& clock, const identity::Authorizer& authorizer,
           const Feeds& feeds, const Handlers& handlers, SyncOptions options)
    : database_(database),
      clock_(clock),
      authorizer_(authorizer),
      feeds_(feeds),
      handlers_(handlers),
      options_(options) {}

namespace {

// What the handler of an event decides, or an error that leaves the event untouched.
Result<Outcome> Decide(Transaction& tx, const identity::Authorizer& authorizer,
                       const Handlers& handlers, const Caller& caller, const Event& event,
                       int64_t now_ms) {
  const EventKind* kind = handlers.Find(event.kind);
  if (kind == nullptr) return Outcome::Refused("event_kind_unknown");
  if (authorizer.Scopes(caller, kind->right).empty()) return Outcome::Refused("event_forbidden");
  Result<Outcome> outcome = Error::Internal("no outcome");
  try {
    outcome = kind->handler(tx, caller, event, now_ms);
  } catch (const std::exception& e) {
    return Error::Internal(fmt::format("handler of {} threw: {}", event.kind, e.what()));
  }
  if (!outcome.ok()) return outcome;
  // A handler's answer is the module's contract with the platform: a broken one is a bug.
  GUICHET_ASSERT(outcome->state == EventState::kApplied || outcome->state == EventState::kRefused ||
                 outcome->state == EventState::kWaiting);
  GUICHET_ASSERT(outcome->code.size() <= kCodeLengthMax);
  GUICHET_ASSERT(outcome->state == EventState::kApplied || !outcome->code.empty());
  GUICHET_ASSERT(outcome->state != EventState::kWaiting ||
                 (!outcome->wait_key.empty() && outcome->wait_key.size() <= kWaitKeyLengthMax));
  return outcome;
}

}  // namespace

Result<BatchAnswer> Sync::Upload(const Caller& caller, const Batch& batch) {
  if (caller.kind != Caller::Kind::kDevice) {
    return Forbidden("forbidden", "Only a device uploads batches.");
  }
  if (batch.device_id != caller.id) {
    return Forbidden("batch_device_mismatch", "The batch names another device than the signer.");
  }
  if (batch.events.empty() || static_cast<int64_t>(batch.events.size()) > kBatchEventsMax) {
    return Error{ErrorKind::kTooLarge,
                 "batch_too_large",
                 fmt::format("A batch holds 1 to {} events.", kBatchEventsMax),
                 {}};
  }
  for (size_t i = 1; i < batch.events.size(); ++i) {
    GUICHET_ASSERT(batch.events[i].seq == batch.events[i - 1].seq + 1);  // checked by the caller
  }
  const auto signing = BatchSigningString(batch);
  const auto signature = DecodeBase64Url(batch.signature, crypto_sign_BYTES);
  if (!signing || !signature) {
    return Error{ErrorKind::kUnauthenticated,
                 "batch_signature_invalid",
                 "The batch signature is not 64 bytes of base64url over its canonical form.",
                 {}};
  }
  std::vector<std::string> hashes;
  for (const BatchEvent& event : batch.events) {
    hashes.push_back(crypto::Sha256Hex(fmt::format("{}\n{}\n{}\n{}", event.seq, event.kind,
                                                   event.at_ms, *CanonicalJson(event.payload))));
  }
  const int64_t first = batch.events.front().seq;
  const int64_t last = batch.events.back().seq;
  const int64_t now = clock_.NowMs();
  auto stored = database_.Transact<BatchAnswer>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<BatchAnswer> {
        auto key_row =
            tx.QueryOne("SELECT public_key FROM devices WHERE id = $1", {batch.device_id});
        if (!key_row.ok()) return std::move(key_row).error();
        GUICHET_ASSERT(key_row->has_value());  // the gate authenticated this device
        const auto key = DecodeBase64Url((*key_row)->Text(0), crypto_sign_PUBLICKEYBYTES);
        GUICHET_ASSERT(key.has_value());
        if (!Verify(*signature, *signing, *key)) {
          return Error{ErrorKind::kUnauthenticated,
                       "batch_signature_invalid",
                       "The batch signature does not match its events and this device.",
                       {}};
        }
        GUICHET_TRY_STATUS(
            tx.Execute("INSERT INTO sync_devices (device_id, last_seq, updated_at)"
                       " VALUES ($1, 0, $2) ON CONFLICT (device_id) DO NOTHING",
                       {batch.device_id, now}));
        // Locks the device's row: a second upload of this device waits here until we commit.
        auto device = tx.QueryOne(
            "UPDATE sync_devices SET updated_at = $2 WHERE device_id = $1"
            " RETURNING last_seq",
            {batch.device_id, now});
        if (!device.ok()) return std::move(device).error();
        const int64_t stored_last = (*device)->Int(0);
        BatchAnswer answer;
        answer.batch_id = batch.batch_id;
        if (first > stored_last + 1) {
          answer.gap_expected_seq = stored_last + 1;
          return answer;
        }
        auto known = tx.Query(
            "SELECT seq, content_sha256 FROM sync_events WHERE device_id = $1"
            " AND seq >= $2 AND seq <= $3 ORDER BY seq",
            {batch.device_id, first, std::min(last, stored_last)});
        if (!known.ok()) return std::move(known).error();
        for (const Row& row : known->rows) {
          if (row.Text(1) != hashes[row.Int(0) - first]) {
            return Error::Conflict(
                "sequence_reused",
                fmt::format("Event {} was received before with other content.", row.Int(0)));
          }
        }
        auto batch_row = tx.QueryOne(
            "INSERT INTO sync_batches (device_id, batch_id, first_seq, last_seq, signature,"
            " signed_sha256, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (device_id, batch_id) DO NOTHING RETURNING id",
            {batch.device_id, batch.batch_id, first, last, batch.signature,
             crypto::Sha256Hex(*signing), now});
        if (!batch_row.ok()) return std::move(batch_row).error();
        int64_t batch_row_id = 0;
        if (batch_row->has_value()) {
          batch_row_id = (*batch_row)->Int(0);
        } else {
          auto existing = tx.QueryOne(
              "SELECT id, first_seq, last_seq FROM sync_batches"
              " WHERE device_id = $1 AND batch_id = $2",
              {batch.device_id, batch.batch_id});
          if (!existing.ok()) return std::move(existing).error();
          GUICHET_ASSERT(existing->has_value());
          if ((*existing)->Int(1) != first || (*existing)->Int(2) != last) {
            return Error::Conflict("batch_id_reused",
                                   "This batch id was used before for other events.");
          }
          batch_row_id = (*existing)->Int(0);
        }
        for (const BatchEvent& event : batch.events) {
          if (event.seq <= stored_last) continue;
          GUICHET_TRY_STATUS(tx.Execute(
              "INSERT INTO sync_events (device_id, seq, batch_row_id, kind, at_ms, payload,"
              " content_sha256, state, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
              " 'received', $8)",
              {batch.device_id, event.seq, batch_row_id, event.kind, event.at_ms,
               *CanonicalJson(event.payload), hashes[event.seq - first], now}));
        }
        if (last > stored_last) {
          GUICHET_TRY_STATUS(
              tx.Execute("UPDATE sync_devices SET last_seq = $2 WHERE device_id = $1",
                         {batch.device_id, last}));
        }
        answer.duplicate = last <= stored_last;
        return answer;
      });
  if (!stored.ok() || stored->gap_expected_seq) return stored;
  // Applied after the batch is safely stored: a crash from here on loses nothing, and sending
  // the batch again (or the job) applies what remains, in order.
  if (auto applied = ApplyReceived(caller, batch.device_id, last); !applied.ok()) {
    log::Error("sync event not applied", {{"device_id", batch.device_id},
                                          {"error", std::string_view(applied.error().message)}});
  }
  auto outcomes = database_.Transact<std::vector<EventOutcome>>(
      TransactionMode::kRead,
      [&](Transaction& tx) { return OutcomesOf(tx, batch.device_id, first, last); });
  if (!outcomes.ok()) return std::move(outcomes).error();
  GUICHET_ASSERT(static_cast<int64_t>(outcomes->size()) == last - first + 1);
  stored->outcomes = std::move(*outcomes);
  return stored;
}

Status Sync::ApplyReceived(const Caller& caller, int64_t device_id, int64_t through_seq) {
  while (true) {
    auto more = ApplyOne(caller, device_id, through_seq);
    if (!more.ok()) return std::move(more).error();
    if (!*more) return OkStatus();
  }
}

// Applies the device's lowest received event up to through_seq; false when there is none.
Result<bool> Sync::ApplyOne(const Caller& caller, int64_t device_id, int64_t through_seq) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<bool>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<bool> {
    auto next = tx.QueryOne(
        "SELECT id FROM sync_events WHERE device_id = $1 AND state = 'received'"
        " AND seq <= $2 ORDER BY seq LIMIT 1",
        {device_id, through_seq});
    if (!next.ok()) return std::move(next).error();
    if (!next->has_value()) return false;
    // The claim: of two uploads of the same batch at once, one updates the row, the other
    // (waiting on its lock, then re-reading it) finds it no longer received.
    auto claimed = tx.QueryOne(
        "UPDATE sync_events SET attempts = attempts + 1, last_try_at = $2"
        " WHERE id = $1 AND state = 'received'"
        " RETURNING id, device_id, seq, kind, at_ms, payload, attempts",
        {(*next)->Int(0), now});
    if (!claimed.ok()) return std::move(claimed).error();
    if (!claimed->has_value()) return true;
    const Event event = EventOf(**claimed, false);
    auto outcome = Decide(tx, authorizer_, handlers_, caller, event, now);
    if (!outcome.ok()) return std::move(outcome).error();
    GUICHET_TRY_STATUS(WriteOutcome(tx, event.id, *outcome, event.attempts + 1, now, options_));
    return true;
  });
}

Result<Caller> Sync::DeviceCallerOf(Transaction& tx, int64_t device_id) {
  auto row = tx.QueryOne(
      "SELECT d.organisation_id, o.path, d.kind FROM devices d"
      " JOIN organisations o ON o.id = d.organisation_id WHERE d.id = $1",
      {device_id});
  if (!row.ok()) return std::move(row).error();
  GUICHET_ASSERT(row->has_value());  // sync rows reference devices
  Caller caller;
  caller.kind = Caller::Kind::kDevice;
  caller.id = device_id;
  caller.request_id = "sync-retry";
  identity::Grant grant;
  grant.organisation_id = (*row)->Int(0);
  grant.organisation_path = (*row)->Text(1);
  grant.permissions = authorizer_.catalog().DevicePermissions((*row)->Text(2));
  caller.grants.push_back(std::move(grant));
  return caller;
}

Result<std::optional<EventState>> Sync::RetryOne(int64_t event_id, bool due_only) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<std::optional<EventState>>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<std::optional<EventState>> {
        auto claimed = tx.QueryOne(
            fmt::format("UPDATE sync_events SET attempts = attempts + 1, last_try_at = $2"
                        " WHERE id = $1 AND state = 'waiting'{}"
                        " RETURNING id, device_id, seq, kind, at_ms, payload, attempts",
                        due_only ? " AND next_try_at <= $2" : ""),
            {event_id, now});
        if (!claimed.ok()) return std::move(claimed).error();
        if (!claimed->has_value()) return std::optional<EventState>();
        const Event event = EventOf(**claimed, true);
        auto caller = DeviceCallerOf(tx, event.device_id);
        if (!caller.ok()) return std::move(caller).error();
        auto outcome = Decide(tx, authorizer_, handlers_, *caller, event, now);
        if (!outcome.ok()) return std::move(outcome).error();
        GUICHET_TRY_STATUS(WriteOutcome(tx, event.id, *outcome, event.attempts + 1, now, options_));
        return std::optional<EventState>(outcome->state);
      });
}

namespace {

void Tally(RetryReport& report, const std::optional<EventState>& state) {
  if (!state) return;
  ++report.tried;
  if (*state == EventState::kApplied) ++report.applied;
  if (*state == EventState::kRefused) ++report.refused;
  if (*state == EventState::kWaiting) ++report.waiting;
}

Result<std::vector<int64_t>> Ids(storage::Database& database, std::string sql,
                                 storage::Params params) {
  return database.Transact<std::vector<int64_t>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<int64_t>> {
        auto rows = tx.Query(sql, params);
        if (!rows.ok()) return std::move(rows).error();
        std::vector<int64_t> ids;
        for (const Row& row : rows->rows) ids.push_back(row.Int(0));
        return ids;
      });
}

}  // namespace

Result<RetryReport> Sync::RetryDue() {
  const int64_t now = clock_.NowMs();
  RetryReport report;
  auto due =
      Ids(database_,
          fmt::format("SELECT id FROM sync_events WHERE state = 'waiting' AND next_try_at <= $1"
                      " ORDER BY next_try_at, id LIMIT {}",
                      options_.retry_events_per_run_max),
          {now});
  if (!due.ok()) return std::move(due).error();
  for (const int64_t id : *due) {
    auto state = RetryOne(id, true);
    if (!state.ok()) {
      log::Error("sync retry failed",
                 {{"event_id", id}, {"error", std::string_view(state.error().message)}});
      continue;
    }
    Tally(report, *state);
  }
  // Events stored but never applied (the process stopped mid-batch): applied in order now.
  auto stalled =
      Ids(database_,
          fmt::format("SELECT DISTINCT device_id FROM sync_events WHERE state = 'received'"
                      " AND received_at <= $1 ORDER BY device_id LIMIT {}",
                      kStalledDevicesPerRunMax),
          {now - options_.stalled_received_ms});
  if (!stalled.ok()) return std::move(stalled).error();
  for (const int64_t device_id : *stalled) {
    auto caller = database_.Transact<Caller>(
        TransactionMode::kRead, [&](Transaction& tx) { return DeviceCallerOf(tx, device_id); });
    if (!caller.ok()) return std::move(caller).error();
    if (auto applied = ApplyReceived(*caller, device_id, INT64_MAX); !applied.ok()) {
      log::Error("sync event not applied",
                 {{"device_id", device_id}, {"error", std::string_view(applied.error().message)}});
    }
  }
  return report;
}

Result<RetryReport> Sync::RetryWaiting(std::string_view kind, std::string_view wait_key) {
  auto ids = Ids(database_,
                 fmt::format("SELECT id FROM sync_events WHERE kind = $1 AND wait_key = $2"
                             " AND state = 'waiting' ORDER BY device_id, seq LIMIT {}",
                             kRetryByKeyMax),
                 {std::string(kind), std::string(wait_key)});
  if (!ids.ok()) return std::move(ids).error();
  RetryReport report;
  for (const int64_t id : *ids) {
    auto state = RetryOne(id, false);
    if (!state.ok()) return std::move(state).error();
    Tally(report, *state);
  }
  return report;
}

Status ScheduleRetry(Transaction& tx, std::string_view kind, std::string_view wait_key,
                     int64_t now_ms) {
  auto due = tx.Execute(
      "UPDATE sync_events SET next_try_at = $3 WHERE kind = $1 AND wait_key = $2"
      " AND state = 'waiting'",
      {std::string(kind), std::string(wait_key), now_ms});
  if (!due.ok()) return std::move(due).error();
  if (*due == 0) return OkStatus();
  jobs::JobRequest job;
  job.kind = std::string(kRetryJob);
  job.run_at_ms = now_ms;
  job.max_attempts = 3;
  auto enqueued = jobs::Enqueue(tx, job, now_ms);
  if (!enqueued.ok()) return std::move(enqueued).error();
  return OkStatus();
}

void Sync::RegisterJobs(jobs::Runner& runner) {
  runner.Register(std::string(kRetryJob), [this](const jobs::JobRecord&) -> Status {
    auto report = RetryDue();
    if (!report.ok()) return std::move(report).error();
    if (report->tried > 0) {
      log::Info(
          "sync events retried",
          {{"tried", report->tried}, {"applied", report->applied}, {"waiting", report->waiting}});
    }
    return OkStatus();
  });
  runner.Every(std::string(kRetryJob), options_.retry_interval_ms);
  runner.Register(std::string(kCompactJob), [this](const jobs::JobRecord&) -> Status {
    auto deleted = Compact();
    if (!deleted.ok()) return std::move(deleted).error();
    if (*deleted > 0) log::Info("sync changes compacted", {{"count", *deleted}});
    return OkStatus();
  });
  runner.Every(std::string(kCompactJob), options_.compact_interval_ms);
}

}  // namespace guichet::sync
