// What staff and devices see of offline sync: events by state, waiting events with their
// reason and attempts, batches received; and staff giving up a waiting event.
#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "platform/audit/audit.h"
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

EventOutcome ToOutcome(const Row& row) {
  EventOutcome outcome;
  outcome.id = row.Int(0);
  outcome.seq = row.Int(1);
  outcome.kind = row.Text(2);
  const std::string& state = row.Text(3);
  for (EventState candidate : {EventState::kReceived, EventState::kApplied, EventState::kRefused,
                               EventState::kWaiting, EventState::kAbandoned}) {
    if (EventStateName(candidate) == state) outcome.state = candidate;
  }
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

Result<DeviceReport> ReportOf(Transaction& tx, int64_t device_id, int64_t organisation_id,
                              bool with_batches) {
  DeviceReport report;
  report.device_id = device_id;
  report.organisation_id = organisation_id;
  auto last = tx.QueryOne("SELECT last_seq FROM sync_devices WHERE device_id = $1", {device_id});
  if (!last.ok()) return std::move(last).error();
  if (last->has_value()) report.last_seq = (*last)->Int(0);
  auto counts = tx.Query(
      "SELECT state, COUNT(*) FROM sync_events WHERE device_id = $1 GROUP BY state", {device_id});
  if (!counts.ok()) return std::move(counts).error();
  for (const Row& row : counts->rows) report.events_by_state[row.Text(0)] = row.Int(1);
  auto waiting = tx.Query(fmt::format("SELECT {} FROM sync_events WHERE device_id = $1"
                                      " AND state = 'waiting' ORDER BY seq LIMIT {}",
                                      kEventColumns, kReportWaitingMax),
                          {device_id});
  if (!waiting.ok()) return std::move(waiting).error();
  for (const Row& row : waiting->rows) report.waiting.push_back(ToOutcome(row));
  if (!with_batches) return report;
  auto batches = tx.Query(fmt::format("SELECT batch_id, first_seq, last_seq, received_at"
                                      " FROM sync_batches WHERE device_id = $1 ORDER BY id DESC"
                                      " LIMIT {}",
                                      kReportBatchesMax),
                          {device_id});
  if (!batches.ok()) return std::move(batches).error();
  for (const Row& row : batches->rows) {
    report.batches.push_back({row.Text(0), row.Int(1), row.Int(2), row.Int(3)});
  }
  return report;
}

struct DeviceOrg {
  int64_t organisation_id = 0;
  std::string path;
};

Result<std::optional<DeviceOrg>> DeviceOrgOf(Transaction& tx, int64_t device_id) {
  auto row = tx.QueryOne(
      "SELECT d.organisation_id, o.path FROM devices d"
      " JOIN organisations o ON o.id = d.organisation_id WHERE d.id = $1",
      {device_id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<DeviceOrg>();
  return std::optional<DeviceOrg>(DeviceOrg{(*row)->Int(0), (*row)->Text(1)});
}

Error DeviceNotFound(int64_t id) {
  return Error::NotFound("device_not_found",
                         fmt::format("There is no device {} in your scope.", id));
}

}  // namespace

void DeclarePermissions(identity::RightsCatalog& catalog) {
  catalog.AddPermission({std::string(kStaffReadRight),
                         "Read the offline sync reports of devices (events by state, waiting "
                         "events, batches)"});
  catalog.AddPermission(
      {std::string(kStaffManageRight), "Give up waiting offline events of devices (abandon)"});
}

Result<DeviceReport> DeviceReportIn(Transaction& tx, int64_t device_id, int64_t organisation_id) {
  return ReportOf(tx, device_id, organisation_id, true);
}

Result<EventOutcome> Sync::Abandon(const Caller& caller, int64_t event_id,
                                   std::string_view reason) {
  const int64_t length = http::Utf8Length(reason);
  if (length < 1 || length > kReasonLengthMax) {
    return Error{
        ErrorKind::kValidation,
        "validation_failed",
        "The reason is missing or too long.",
        {{"/reason", fmt::format("The reason must have 1 to {} characters.", kReasonLengthMax)}}};
  }
  const int64_t now = clock_.NowMs();
  return database_.Transact<EventOutcome>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<EventOutcome> {
        auto row = tx.QueryOne(
            fmt::format("SELECT {} FROM sync_events WHERE id = $1", kEventColumns), {event_id});
        if (!row.ok()) return std::move(row).error();
        std::optional<DeviceOrg> org;
        if (row->has_value()) {
          auto found = DeviceOrgOf(tx, (*row)->Int(11));
          if (!found.ok()) return std::move(found).error();
          org = *found;
        }
        if (!org || !authorizer_.Allows(caller, kStaffManageRight, org->path)) {
          return Error::NotFound("event_not_found",
                                 fmt::format("There is no event {} in your scope.", event_id));
        }
        const EventOutcome before = ToOutcome(**row);
        if (before.state != EventState::kWaiting) {
          return Error::Conflict("event_not_waiting", "Only a waiting event can be given up.");
        }
        auto updated = tx.Execute(
            "UPDATE sync_events SET state = 'abandoned', abandoned_by = $2,"
            " abandon_reason = $3, done_at = $4, next_try_at = NULL"
            " WHERE id = $1 AND state = 'waiting'",
            {event_id, caller.id, std::string(reason), now});
        if (!updated.ok()) return std::move(updated).error();
        if (*updated != 1)
          return Error::Conflict("event_not_waiting", "Only a waiting event can be given up.");
        EventOutcome after = before;
        after.state = EventState::kAbandoned;
        after.abandon_reason = std::string(reason);
        audit::AuditEntry entry;
        entry.actor_type = caller.kind == Caller::Kind::kApiKey ? "api_key" : "user";
        entry.actor_id = caller.id;
        entry.organisation_id = org->organisation_id;
        entry.action = "sync.event.abandon";
        entry.record_type = "sync_event";
        entry.record_id = std::to_string(event_id);
        entry.before_json = boost::json::serialize(EventOutcomeJson(before));
        entry.after_json = boost::json::serialize(EventOutcomeJson(after));
        entry.request_id = caller.request_id;
        auto audited = audit::Append(tx, entry, now);
        if (!audited.ok()) return std::move(audited).error();
        return after;
      });
}

Result<DeviceReport> Sync::OwnReport(const Caller& caller) {
  if (caller.kind != Caller::Kind::kDevice || caller.grants.empty()) {
    return Error{
        ErrorKind::kForbidden, "forbidden", "Only a device reads its own sync report.", {}};
  }
  return database_.Transact<DeviceReport>(TransactionMode::kRead, [&](Transaction& tx) {
    return ReportOf(tx, caller.id, caller.grants.front().organisation_id, true);
  });
}

Result<DeviceReport> Sync::DeviceReportOf(const Caller& caller, int64_t device_id) {
  return database_.Transact<DeviceReport>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<DeviceReport> {
        auto org = DeviceOrgOf(tx, device_id);
        if (!org.ok()) return std::move(org).error();
        if (!org->has_value() || !authorizer_.Allows(caller, kStaffReadRight, (*org)->path)) {
          return DeviceNotFound(device_id);
        }
        return ReportOf(tx, device_id, (*org)->organisation_id, true);
      });
}

Result<SubtreeReport> Sync::OrganisationReport(const Caller& caller, int64_t organisation_id) {
  return database_.Transact<SubtreeReport>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<SubtreeReport> {
        auto org = tx.QueryOne("SELECT path FROM organisations WHERE id = $1", {organisation_id});
        if (!org.ok()) return std::move(org).error();
        if (!org->has_value() || !authorizer_.Allows(caller, kStaffReadRight, (*org)->Text(0))) {
          return Error::NotFound(
              "organisation_not_found",
              fmt::format("There is no organisation {} in your scope.", organisation_id));
        }
        // Paths hold digits and slashes only: no LIKE wildcard can hide in them.
        auto devices = tx.Query(fmt::format("SELECT d.id, d.organisation_id FROM sync_devices s"
                                            " JOIN devices d ON d.id = s.device_id"
                                            " JOIN organisations o ON o.id = d.organisation_id"
                                            " WHERE o.path LIKE $1 ORDER BY d.id LIMIT {}",
                                            kReportDevicesMax),
                                {(*org)->Text(0) + "%"});
        if (!devices.ok()) return std::move(devices).error();
        SubtreeReport report;
        report.organisation_id = organisation_id;
        for (const Row& row : devices->rows) {
          auto device = ReportOf(tx, row.Int(0), row.Int(1), false);
          if (!device.ok()) return std::move(device).error();
          for (const auto& [state, count] : device->events_by_state)
            report.events_by_state[state] += count;
          report.devices.push_back(std::move(*device));
        }
        return report;
      });
}

boost::json::object EventOutcomeJson(const EventOutcome& outcome) {
  boost::json::object json{{"id", outcome.id},
                           {"seq", outcome.seq},
                           {"kind", outcome.kind},
                           {"state", EventStateName(outcome.state)},
                           {"attempts", outcome.attempts},
                           {"at_ms", outcome.at_ms},
                           {"received_at_ms", outcome.received_at_ms}};
  if (outcome.code) json["code"] = *outcome.code;
  if (outcome.wait_key) json["wait_key"] = *outcome.wait_key;
  if (outcome.result_json) json["result"] = boost::json::parse(*outcome.result_json);
  if (outcome.last_try_at_ms) json["last_try_at_ms"] = *outcome.last_try_at_ms;
  if (outcome.next_try_at_ms) json["next_try_at_ms"] = *outcome.next_try_at_ms;
  if (outcome.abandon_reason) json["abandon_reason"] = *outcome.abandon_reason;
  return json;
}

boost::json::object DeviceReportJson(const DeviceReport& report) {
  boost::json::object states;
  for (const auto& [state, count] : report.events_by_state) states[state] = count;
  boost::json::array waiting;
  for (const EventOutcome& event : report.waiting) waiting.push_back(EventOutcomeJson(event));
  boost::json::array batches;
  for (const BatchRecord& batch : report.batches) {
    batches.push_back(boost::json::object{{"batch_id", batch.batch_id},
                                          {"first_seq", batch.first_seq},
                                          {"last_seq", batch.last_seq},
                                          {"received_at_ms", batch.received_at_ms}});
  }
  return {{"device_id", report.device_id}, {"organisation_id", report.organisation_id},
          {"last_seq", report.last_seq},   {"events_by_state", std::move(states)},
          {"waiting", std::move(waiting)}, {"batches", std::move(batches)}};
}

}  // namespace guichet::sync
