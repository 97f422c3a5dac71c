// Offline mode as a platform capability (W16): points of sale, pass scanners and attendance
// tablets keep working through an outage, then catch up.
//
// Down (server → device): named feeds. A module registers a feed with a snapshot callback and
// appends its changes to the `sync_changes` log with RecordChange, inside the transaction of the
// use case that made them. A device reads a feed page by page: a full snapshot first (or when its
// cursor is older than the retention), then only the changes since its cursor, filtered by scope
// (by default: the organisation paths above the device, so a region's items reach the region's
// devices only).
//
// Up (device → server): signed batches of events. Per device, event sequence numbers are
// contiguous from 1; a batch is stored whole first, then its events are applied in order, each in
// its own transaction, by the handler registered for its kind. A handler answers applied,
// refused or waiting (kept and retried later: by a periodic job with backoff, or at once when the
// module calls RetryWaiting with the wait key, e.g. at each reload of a holder).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/identity/rights.h"
#include "platform/jobs/jobs.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::sync {

// Limits.
inline constexpr int64_t kFeedPageItemsMax = 1000;  // items in one feed answer
inline constexpr int64_t kFeedPageItemsDefault = 500;
inline constexpr int64_t kFeedScopesMax = 32;                // scope keys one reader may have
inline constexpr int64_t kBatchEventsMax = 500;              // events in one uploaded batch
inline constexpr int64_t kEventPayloadBytesMax = 16 * 1024;  // canonical JSON of one payload
inline constexpr size_t kNameLengthMax = 64;                 // feed names and event kinds
inline constexpr size_t kBatchIdLengthMax = 64;
inline constexpr size_t kScopeLengthMax = 300;
inline constexpr size_t kItemKeyLengthMax = 200;
inline constexpr size_t kWaitKeyLengthMax = 200;
inline constexpr size_t kCodeLengthMax = 64;
inline constexpr int64_t kReasonLengthMax = 500;    // characters
inline constexpr int64_t kReportWaitingMax = 200;   // waiting events listed in a report
inline constexpr int64_t kReportBatchesMax = 50;    // latest batches listed in a report
inline constexpr int64_t kReportDevicesMax = 1000;  // devices listed in a subtree report
inline constexpr int64_t kRetryByKeyMax = 200;      // events retried by one RetryWaiting call
inline constexpr std::string_view kBatchSigningPrefix = "guichet-sync-batch-v1";

// Rights. Devices sync with the permission every device kind holds; each feed and each event
// kind also names the permission it needs (a module gives it to its device kinds). Staff read
// reports and give up waiting events with sync's own rights (DeclarePermissions).
inline constexpr std::string_view kDeviceRight = "devices.self";
inline constexpr std::string_view kStaffReadRight = "sync.reports.read";
inline constexpr std::string_view kStaffManageRight = "sync.events.manage";
// Declares kStaffReadRight and kStaffManageRight (the app grants them to the profiles that pair
// devices).
void DeclarePermissions(identity::RightsCatalog& catalog);

// Jobs.
inline constexpr std::string_view kRetryJob = "sync.retry_waiting";
inline constexpr std::string_view kCompactJob = "sync.compact_changes";

std::vector<storage::Migration> Migrations();

// ---- Feeds -------------------------------------------------------------------------------

enum class ChangeOp { kUpsert, kDelete };

struct Change {
  std::string feed;      // "wallet.holders"
  std::string scope;     // who may read it, by default an organisation path such as "/1/5/"
  std::string item_key;  // the item's stable key within the feed
  ChangeOp op = ChangeOp::kUpsert;
  boost::json::value payload;  // the item as devices store it (short keys); null for a delete
};

// Appends a change in the caller's transaction. Changes of one feed are numbered in commit order
// (writers of one feed serialise on its head row), so a reader never skips one committed late.
Status RecordChange(storage::Transaction& tx, const Change& change, int64_t now_ms);

struct FeedItem {
  std::string key;
  boost::json::value value;  // null: deleted
};

struct SnapshotRequest {
  const identity::Caller* caller = nullptr;
  std::vector<std::string> scopes;  // what the reader may see
  std::string after_key;            // keys sorted ascending (byte order); "" for the first page
  int64_t limit = 0;
};

struct SnapshotPage {
  std::vector<FeedItem> items;  // at most limit, ascending keys, all after after_key
  bool more = false;            // items remain after the last one
};

using SnapshotProvider =
    std::function<Result<SnapshotPage>(storage::Transaction&, const SnapshotRequest&)>;
// The scope keys a reader may see; the default is AncestorScopes.
using ScopeFunction = std::function<std::vector<std::string>(const identity::Caller&,
                                                             const std::vector<std::string>&)>;

// Every organisation path at or above the given ones: "/1/5/17/" gives "/1/", "/1/5/",
// "/1/5/17/". Items scoped to a region reach every device inside it.
std::vector<std::string> AncestorScopes(const identity::Caller& caller,
                                        const std::vector<std::string>& grant_paths);

struct Feed {
  std::string right;  // the reader needs it at its organisation
  SnapshotProvider snapshot;
  ScopeFunction scopes;  // empty: AncestorScopes
};

class Feeds {
 public:
  void Add(std::string name, Feed feed);  // asserts a fresh, well-formed name
  const Feed* Find(std::string_view name) const;

 private:
  std::map<std::string, Feed, std::less<>> feeds_;
};

struct FeedPage {
  std::string feed;
  bool snapshot = false;  // items are a snapshot page (else changes)
  bool reset = false;     // first snapshot page: the device drops what it held
  std::vector<FeedItem> items;
  std::string cursor;     // to send next time
  bool complete = false;  // nothing more right now: the next call can wait
};

// ---- Events ------------------------------------------------------------------------------

struct Event {
  int64_t id = 0;
  int64_t device_id = 0;
  int64_t seq = 0;
  std::string kind;
  int64_t at_ms = 0;  // device clock
  boost::json::value payload;
  int64_t attempts = 0;  // handler calls before this one
  bool retry = false;    // a waiting event tried again
};

enum class EventState { kReceived, kApplied, kRefused, kWaiting, kAbandoned };
std::string_view EventStateName(EventState state);

struct Outcome {
  EventState state = EventState::kApplied;  // applied, refused or waiting
  std::string code;                         // refusal or wait reason
  std::string wait_key;                     // waiting only: what RetryWaiting names
  boost::json::object result;               // applied only

  static Outcome Applied(boost::json::object result = {});
  static Outcome Refused(std::string code);
  static Outcome Waiting(std::string code, std::string wait_key);
};

// Called in the event's own transaction. An error (not a refusal) rolls it back and leaves the
// event as it was, to be tried again.
using Handler = std::function<Result<Outcome>(storage::Transaction&, const identity::Caller&,
                                              const Event&, int64_t now_ms)>;

struct EventKind {
  std::string right;  // the device needs it, else the event is refused event_forbidden
  Handler handler;
};

class Handlers {
 public:
  void Add(std::string kind, EventKind handler);  // asserts a fresh, well-formed kind
  const EventKind* Find(std::string_view kind) const;

 private:
  std::map<std::string, EventKind, std::less<>> handlers_;
};

struct BatchEvent {
  int64_t seq = 0;
  std::string kind;
  int64_t at_ms = 0;
  boost::json::value payload;
};

struct Batch {
  int64_t device_id = 0;
  std::string batch_id;
  std::vector<BatchEvent> events;
  std::string signature;  // base64url of the Ed25519 signature of BatchSigningString
};

// RFC 8785-style canonical JSON: object members sorted by UTF-16 code units, no spaces, strings
// escaped minimally; numbers must be integers (money is in minor units), else nullopt.
std::optional<std::string> CanonicalJson(const boost::json::value& value);

// What a device signs (docs/offline-sync.md):
//   guichet-sync-batch-v1 \n DEVICE_ID \n BATCH_ID \n N \n
//   then per event: SEQ \n KIND \n AT_MS \n CANONICAL_JSON(PAYLOAD) \n
// nullopt when a payload has a non-integer number.
std::optional<std::string> BatchSigningString(const Batch& batch);

struct EventOutcome {
  int64_t id = 0;
  int64_t seq = 0;
  std::string kind;
  EventState state = EventState::kReceived;
  std::optional<std::string> code;
  std::optional<std::string> wait_key;
  std::optional<std::string> result_json;
  int64_t attempts = 0;
  std::optional<int64_t> last_try_at_ms;
  std::optional<int64_t> next_try_at_ms;
  std::optional<std::string> abandon_reason;
  int64_t device_id = 0;
  int64_t at_ms = 0;
  int64_t received_at_ms = 0;
};

struct BatchAnswer {
  std::string batch_id;
  bool duplicate = false;                   // every event was known already
  std::optional<int64_t> gap_expected_seq;  // set: refused sequence_gap, nothing stored
  std::vector<EventOutcome> outcomes;       // one per event of the batch, in seq order
};

// ---- Reports -----------------------------------------------------------------------------

struct BatchRecord {
  std::string batch_id;
  int64_t first_seq = 0;
  int64_t last_seq = 0;
  int64_t received_at_ms = 0;
};

struct DeviceReport {
  int64_t device_id = 0;
  int64_t organisation_id = 0;
  int64_t last_seq = 0;
  std::map<std::string, int64_t> events_by_state;
  std::vector<EventOutcome> waiting;  // oldest first, at most kReportWaitingMax
  std::vector<BatchRecord> batches;   // newest first, at most kReportBatchesMax
};

struct SubtreeReport {
  int64_t organisation_id = 0;
  std::map<std::string, int64_t> events_by_state;
  std::vector<DeviceReport> devices;  // counts and waiting per device (no batch list)
};

// ---- The service -------------------------------------------------------------------------

struct SyncOptions {
  int64_t change_retention_s = 30 * 24 * 3600;  // older changes are compacted away
  int64_t compact_changes_per_run_max = 10000;
  int64_t retry_events_per_run_max = 200;
  int64_t retry_backoff_base_ms = 60 * 1000;
  int64_t retry_backoff_max_ms = 6 * 3600 * 1000;
  int64_t stalled_received_ms = 60 * 1000;  // stored but not applied (a crash): the job applies it
  int64_t retry_interval_ms = 60 * 1000;
  int64_t compact_interval_ms = 3600 * 1000;
};

struct RetryReport {
  int64_t tried = 0;
  int64_t applied = 0;
  int64_t refused = 0;
  int64_t waiting = 0;
};

class Sync {
 public:
  Sync(storage::Database& database, const Clock& clock, const identity::Authorizer& authorizer,
       const Feeds& feeds, const Handlers& handlers, SyncOptions options = {});

  // Errors: feed_unknown (404), cursor_invalid (400), forbidden.
  Result<FeedPage> ReadFeed(const identity::Caller& caller, std::string_view feed,
                            std::string_view cursor, int64_t limit);

  // Errors: batch_device_mismatch (403), batch_signature_invalid (401), sequence_reused and
  // batch_id_reused (409), validation_failed. A gap is answered in BatchAnswer.
  Result<BatchAnswer> Upload(const identity::Caller& caller, const Batch& batch);

  // The periodic job: due waiting events (bounded, with backoff) and stalled received ones.
  Result<RetryReport> RetryDue();
  // Tries every waiting event of `kind` with `wait_key` now, each in its own transaction.
  Result<RetryReport> RetryWaiting(std::string_view kind, std::string_view wait_key);
  // Deletes changes older than the retention (bounded per call); returns how many.
  Result<int64_t> Compact();

  // Staff: give up a waiting event (state abandoned, reason kept).
  Result<EventOutcome> Abandon(const identity::Caller& caller, int64_t event_id,
                               std::string_view reason);
  Result<DeviceReport> OwnReport(const identity::Caller& caller);
  Result<DeviceReport> DeviceReportOf(const identity::Caller& caller, int64_t device_id);
  Result<SubtreeReport> OrganisationReport(const identity::Caller& caller, int64_t organisation_id);

  void RegisterJobs(jobs::Runner& runner);

 private:
  Status ApplyReceived(const identity::Caller& caller, int64_t device_id, int64_t through_seq);
  Result<bool> ApplyOne(const identity::Caller& caller, int64_t device_id, int64_t through_seq);
  Result<std::optional<EventState>> RetryOne(int64_t event_id, bool due_only);
  Result<identity::Caller> DeviceCallerOf(storage::Transaction& tx, int64_t device_id);

  storage::Database& database_;
  const Clock& clock_;
  const identity::Authorizer& authorizer_;
  const Feeds& feeds_;
  const Handlers& handlers_;
  const SyncOptions options_;
};

// In the caller's transaction (e.g. a holder's reload): makes the waiting events of (kind,
// wait_key) due now and enqueues the retry job, which runs once the transaction committed.
Status ScheduleRetry(storage::Transaction& tx, std::string_view kind, std::string_view wait_key,
                     int64_t now_ms);

// A device's report in the caller's transaction, for a module that checked who may read it
// (e.g. the wallet's per-point report): counts, waiting events and latest batches.
Result<DeviceReport> DeviceReportIn(storage::Transaction& tx, int64_t device_id,
                                    int64_t organisation_id);

boost::json::object EventOutcomeJson(const EventOutcome& outcome);
boost::json::object DeviceReportJson(const DeviceReport& report);

}  // namespace guichet::sync
