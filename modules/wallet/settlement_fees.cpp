// Merchants' fee schedules and the fees settlement runs bill (settlement_fees.h).
#include "modules/wallet/settlement_fees.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <chrono>
#include <map>
#include <set>

#include "modules/wallet/internal.h"
#include "modules/wallet/settlement.h"
#include "platform/banking/calendar.h"
#include "platform/base/assert.h"
#include "platform/base/clock.h"
#include "platform/http/json.h"
#include "platform/orgs/orgs.h"

namespace guichet::wallet {
namespace {

using boost::json::array;
using boost::json::object;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

constexpr int64_t kHour_ms = 3'600'000;

Error Refusal(ErrorKind kind, std::string_view code, std::string message,
              std::string pointer = "") {
  Error error{kind, std::string(code), message, {}};
  if (!pointer.empty()) error.fields.push_back({std::move(pointer), std::move(message)});
  return error;
}

Error MerchantNotFound() {
  return Refusal(ErrorKind::kNotFound, "merchant_not_found", "No such merchant.");
}

// The merchant's organisation path, or nothing when there is no such merchant.
Result<std::optional<std::string>> MerchantPath(Transaction& tx, int64_t merchant_id) {
  auto row = tx.QueryOne(
      "SELECT o.path FROM wallet_merchants m JOIN organisations o ON o.id = m.organisation_id"
      " WHERE m.organisation_id = $1",
      {merchant_id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<std::string>();
  return std::optional<std::string>((*row)->Text(0));
}

Result<std::vector<FeeScheduleLine>> LinesOf(Transaction& tx, int64_t schedule_id) {
  auto rows = tx.Query(
      "SELECT kind, label_fr, label_en, amount_cents FROM wallet_merchant_fee_lines"
      " WHERE schedule_id = $1 ORDER BY line_no",
      {schedule_id});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<FeeScheduleLine> lines;
  for (const Row& row : rows->rows) {
    const auto kind = ParseFeeKind(row.Text(0));
    GUICHET_ASSERT(kind.has_value());  // the table's CHECK
    lines.push_back({*kind, row.Text(1), row.Text(2), row.Int(3)});
  }
  return lines;
}

constexpr std::string_view kScheduleColumns =
    "id, merchant_org_id, effective_from, effective_from_ms, created_at";

Result<FeeSchedule> ToSchedule(Transaction& tx, const Row& row) {
  FeeSchedule schedule{row.Int(0), row.Int(1), row.Text(2), row.Int(3), {}, row.Int(4)};
  auto lines = LinesOf(tx, schedule.id);
  if (!lines.ok()) return std::move(lines).error();
  schedule.lines = std::move(*lines);
  return schedule;
}

Result<MerchantFees> Load(Transaction& tx, int64_t merchant_id, int64_t now_ms) {
  MerchantFees fees;
  fees.merchant_id = merchant_id;
  auto rows = tx.Query(fmt::format("SELECT {} FROM wallet_merchant_fee_schedules WHERE"
                                   " merchant_org_id = $1 ORDER BY effective_from_ms DESC, id DESC"
                                   " LIMIT {}",
                                   kScheduleColumns, kFeeScheduleHistoryMax),
                       {merchant_id});
  if (!rows.ok()) return std::move(rows).error();
  for (const Row& row : rows->rows) {
    auto schedule = ToSchedule(tx, row);
    if (!schedule.ok()) return std::move(schedule).error();
    fees.schedules.push_back(std::move(*schedule));
  }
  auto current = FeeScheduleAt(tx, merchant_id, now_ms);
  if (!current.ok()) return std::move(current).error();
  fees.current = std::move(*current);
  return fees;
}

// The request's lines checked one by one; the first bad one names its field.
Result<std::vector<FeeScheduleLine>> CheckLines(const std::vector<NewFeeLine>& lines) {
  if (lines.size() > kFeeLinesMax) {
    return Refusal(ErrorKind::kValidation, fee_code::kTooManyLines,
                   fmt::format("A schedule has at most {} lines.", kFeeLinesMax), "/lines");
  }
  std::vector<FeeScheduleLine> checked;
  std::set<FeeKind> kinds;
  for (size_t i = 0; i < lines.size(); ++i) {
    const NewFeeLine& line = lines[i];
    const auto at = [&](std::string_view field) { return fmt::format("/lines/{}/{}", i, field); };
    const auto kind = ParseFeeKind(line.kind);
    if (!kind) {
      return Refusal(ErrorKind::kValidation, fee_code::kKindUnknown,
                     "The kind is per_run, per_debit or per_point_month.", at("kind"));
    }
    if (!kinds.insert(*kind).second) {
      return Refusal(ErrorKind::kValidation, fee_code::kKindRepeated,
                     "Each kind appears once in a schedule.", at("kind"));
    }
    if (line.amount_cents < 0 || line.amount_cents > kFeeAmountCentsMax) {
      return Refusal(ErrorKind::kValidation, fee_code::kAmountOutOfRange,
                     fmt::format("The amount is 0 to {} cents.", kFeeAmountCentsMax),
                     at("amount_cents"));
    }
    for (const auto& [label, field] :
         {std::pair{&line.label_fr, "label_fr"}, std::pair{&line.label_en, "label_en"}}) {
      const int64_t length = http::Utf8Length(*label);
      if (length < 1 || length > kFeeLabelLengthMax ||
          label->find_first_of("\r\n\t") != std::string::npos) {
        return Refusal(
            ErrorKind::kValidation, fee_code::kLabelInvalid,
            fmt::format("A label is 1 to {} characters on one line.", kFeeLabelLengthMax),
            at(field));
      }
    }
    checked.push_back({*kind, line.label_fr, line.label_en, line.amount_cents});
  }
  return checked;
}

Result<std::vector<SettlementPoint>> PointsById(Transaction& tx, int64_t merchant_id,
                                                const std::set<int64_t>& ids) {
  std::vector<SettlementPoint> points;
  if (ids.empty()) return points;
  auto rows = tx.Query(
      "SELECT id, institution_id, location, type FROM wallet_points WHERE merchant_org_id = $1"
      " ORDER BY id",
      {merchant_id});
  if (!rows.ok()) return std::move(rows).error();
  for (const Row& row : rows->rows) {
    if (ids.contains(row.Int(0)))
      points.push_back({row.Int(0), row.Text(1), row.Text(2), row.Text(3)});
  }
  return points;
}

// Adds to input.points the points named by fees that have no items.
Status AddFeePoints(Transaction& tx, int64_t merchant_id, SettlementInput& input) {
  std::set<int64_t> listed;
  for (const SettlementPoint& point : input.points) listed.insert(point.point_id);
  std::set<int64_t> missing;
  for (const SettlementFee& fee : input.fees) {
    if (fee.point_id && !listed.contains(*fee.point_id)) missing.insert(*fee.point_id);
  }
  auto points = PointsById(tx, merchant_id, missing);
  if (!points.ok()) return std::move(points).error();
  GUICHET_ASSERT(points->size() == missing.size());
  for (SettlementPoint& point : *points) input.points.push_back(std::move(point));
  return OkStatus();
}

std::string_view KindName(const FeeScheduleLine& line) { return FeeKindName(line.kind); }

}  // namespace

int64_t ParisMidnightMs(banking::Date day) {
  using namespace std::chrono;
  const int64_t utc_midnight =
      duration_cast<milliseconds>(sys_days{day}.time_since_epoch()).count();
  // Paris is UTC+1 or UTC+2: its midnight is one of these two instants.
  for (const int64_t offset : {2 * kHour_ms, kHour_ms}) {
    const int64_t candidate = utc_midnight - offset;
    if (banking::ParisDate(candidate) == day && banking::ParisDate(candidate - 1) != day) {
      return candidate;
    }
  }
  GUICHET_ASSERT(false);
  return utc_midnight;
}

Result<MerchantFees> GetMerchantFees(Pos& pos, const identity::Caller& caller,
                                     int64_t merchant_id) {
  Wallet& wallet = pos.wallet();
  const int64_t now = wallet.clock().NowMs();
  auto scopes = wallet.authorizer().Scopes(caller, right::kSettlementsRead);
  for (auto& scope : wallet.authorizer().Scopes(caller, right::kMerchantsManage))
    scopes.push_back(std::move(scope));
  return wallet.database().Transact<MerchantFees>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<MerchantFees> {
        auto path = MerchantPath(tx, merchant_id);
        if (!path.ok()) return std::move(path).error();
        if (!path->has_value() || !orgs::ContainedInAny(scopes, **path)) return MerchantNotFound();
        return Load(tx, merchant_id, now);
      });
}

Result<MerchantFees> SetMerchantFees(Pos& pos, const identity::Caller& caller, int64_t merchant_id,
                                     const NewFeeSchedule& request) {
  Wallet& wallet = pos.wallet();
  const int64_t now = wallet.clock().NowMs();
  const auto scopes = wallet.authorizer().Scopes(caller, right::kMerchantsManage);
  return wallet.database().Transact<MerchantFees>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<MerchantFees> {
        // Scope first: another region's admin learns nothing, not even what is wrong.
        auto path = MerchantPath(tx, merchant_id);
        if (!path.ok()) return std::move(path).error();
        if (!path->has_value() || !orgs::ContainedInAny(scopes, **path)) return MerchantNotFound();
        const auto day = banking::ParseDate(request.effective_from);
        if (!day) {
          return Refusal(ErrorKind::kValidation, fee_code::kDateInvalid,
                         "The effective date is a date as YYYY-MM-DD.", "/effective_from");
        }
        if (*day < banking::ParisDate(now)) {
          return Refusal(ErrorKind::kValidation, fee_code::kDatePast,
                         "A fee schedule takes effect today or later, never in the past.",
                         "/effective_from");
        }
        auto lines = CheckLines(request.lines);
        if (!lines.ok()) return std::move(lines).error();
        auto before = FeeScheduleAt(tx, merchant_id, now);
        if (!before.ok()) return std::move(before).error();
        const int64_t from_ms = ParisMidnightMs(*day);
        auto inserted = tx.QueryOne(
            "INSERT INTO wallet_merchant_fee_schedules (merchant_org_id, effective_from,"
            " effective_from_ms, created_at, actor_type, actor_id) VALUES ($1, $2, $3, $4, $5, $6)"
            " RETURNING id",
            {merchant_id, banking::FormatDate(*day), from_ms, now, internal::ActorType(caller),
             internal::Nullable(internal::ActorId(caller))});
        if (!inserted.ok()) return std::move(inserted).error();
        const int64_t id = (*inserted)->Int(0);
        for (size_t i = 0; i < lines->size(); ++i) {
          const FeeScheduleLine& line = (*lines)[i];
          GUICHET_TRY_STATUS(tx.Execute(
              "INSERT INTO wallet_merchant_fee_lines (schedule_id, line_no, kind, label_fr,"
              " label_en, amount_cents) VALUES ($1, $2, $3, $4, $5, $6)",
              {id, static_cast<int64_t>(i + 1), std::string(KindName(line)), line.label_fr,
               line.label_en, line.amount_cents}));
        }
        const FeeSchedule made{id, merchant_id, banking::FormatDate(*day), from_ms, *lines, now};
        GUICHET_TRY_STATUS(internal::Audit(
            tx, &caller, "wallet.merchant.fees", "wallet_merchant", merchant_id, merchant_id,
            *before ? boost::json::value(FeeScheduleJson(**before)) : boost::json::value(nullptr),
            FeeScheduleJson(made), caller.request_id, now));
        return Load(tx, merchant_id, now);
      });
}

Result<std::optional<FeeSchedule>> FeeScheduleAt(Transaction& tx, int64_t merchant_id,
                                                 int64_t at_ms) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM wallet_merchant_fee_schedules WHERE"
                                     " merchant_org_id = $1 AND effective_from_ms <= $2"
                                     " ORDER BY effective_from_ms DESC, id DESC LIMIT 1",
                                     kScheduleColumns),
                         {merchant_id, at_ms});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<FeeSchedule>();
  auto schedule = ToSchedule(tx, **row);
  if (!schedule.ok()) return std::move(schedule).error();
  return std::optional<FeeSchedule>(std::move(*schedule));
}

Status AddScheduledFees(Transaction& tx, int64_t merchant_id, SettlementInput& input) {
  auto schedule = FeeScheduleAt(tx, merchant_id, input.period_end_ms - 1);
  if (!schedule.ok()) return std::move(schedule).error();
  if (!schedule->has_value() || (*schedule)->lines.empty()) return OkStatus();
  std::set<int64_t> active;
  for (const SettlementItem& item : input.items) active.insert(item.point_id);
  auto rows = tx.Query(
      "SELECT p.id, p.is_test FROM wallet_points p WHERE p.merchant_org_id = $1"
      " AND p.state = 'approved' AND EXISTS (SELECT 1 FROM wallet_point_events e"
      " WHERE e.point_id = p.id AND e.event = 'approved' AND e.at_ms < $2)",
      {merchant_id, input.period_end_ms});
  if (!rows.ok()) return std::move(rows).error();
  for (const Row& row : rows->rows) {
    if (!row.Bool(1)) active.insert(row.Int(0));
  }
  input.fees = ScheduleFees((*schedule)->lines, input.items,
                            std::vector<int64_t>(active.begin(), active.end()),
                            input.period_end_ms - input.period_start_ms);
  return AddFeePoints(tx, merchant_id, input);
}

Status StoreRunFees(Transaction& tx, int64_t run_id, const SettlementInput& input) {
  for (size_t i = 0; i < input.fees.size(); ++i) {
    const SettlementFee& fee = input.fees[i];
    GUICHET_TRY_STATUS(
        tx.Execute("INSERT INTO wallet_settlement_run_fees (run_id, line_no, kind, label, point_id,"
                   " amount_cents) VALUES ($1, $2, $3, $4, $5, $6)",
                   {run_id, static_cast<int64_t>(i + 1), fee.kind, fee.label,
                    internal::Nullable(fee.point_id), fee.amount_cents}));
  }
  return OkStatus();
}

Status AddStoredRunFees(Transaction& tx, int64_t run_id, int64_t merchant_id,
                        SettlementInput& input) {
  auto rows = tx.Query(
      "SELECT kind, label, point_id, amount_cents FROM wallet_settlement_run_fees"
      " WHERE run_id = $1 ORDER BY line_no",
      {run_id});
  if (!rows.ok()) return std::move(rows).error();
  input.fees.clear();
  for (const Row& row : rows->rows)
    input.fees.push_back({row.Text(1), row.Int(3), row.OptionalInt(2), row.Text(0)});
  return AddFeePoints(tx, merchant_id, input);
}

std::vector<storage::Migration> FeeMigrations() {
  // {id}: the engine's identity column. A schedule version is never changed: a new one is
  // added; the runs keep the lines they billed.
  constexpr std::string_view kSchema =
      "CREATE TABLE wallet_merchant_fee_schedules ({id},"
      " merchant_org_id BIGINT NOT NULL REFERENCES wallet_merchants (organisation_id),"
      " effective_from TEXT NOT NULL, effective_from_ms BIGINT NOT NULL,"
      " created_at BIGINT NOT NULL, actor_type TEXT NOT NULL, actor_id BIGINT);"
      " CREATE INDEX wallet_merchant_fee_schedules_merchant ON wallet_merchant_fee_schedules"
      " (merchant_org_id, effective_from_ms);"
      " CREATE TABLE wallet_merchant_fee_lines ("
      " schedule_id BIGINT NOT NULL REFERENCES wallet_merchant_fee_schedules (id),"
      " line_no BIGINT NOT NULL,"
      " kind TEXT NOT NULL CHECK (kind IN ('per_run', 'per_debit', 'per_point_month')),"
      " label_fr TEXT NOT NULL, label_en TEXT NOT NULL,"
      " amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),"
      " PRIMARY KEY (schedule_id, line_no));"
      " CREATE TABLE wallet_settlement_run_fees ("
      " run_id BIGINT NOT NULL REFERENCES wallet_settlement_runs (id),"
      " line_no BIGINT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL,"
      " point_id BIGINT REFERENCES wallet_points (id),"
      " amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),"
      " PRIMARY KEY (run_id, line_no));";
  const auto schema = [&](std::string_view id) {
    return fmt::format(fmt::runtime(kSchema), fmt::arg("id", id));
  };
  return {{"wallet.settlement.fees", 1,
           "merchants' fee schedules (versions and lines) and the fees each run billed",
           schema("id INTEGER PRIMARY KEY AUTOINCREMENT"),
           schema("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")}};
}

object FeeScheduleJson(const FeeSchedule& schedule) {
  array lines;
  for (const FeeScheduleLine& line : schedule.lines) {
    lines.push_back(object{{"kind", KindName(line)},
                           {"label_fr", line.label_fr},
                           {"label_en", line.label_en},
                           {"amount_cents", line.amount_cents}});
  }
  return object{{"id", schedule.id},
                {"effective_from", schedule.effective_from},
                {"effective_from_ms", schedule.effective_from_ms},
                {"created_at", FormatIso8601(schedule.created_at_ms)},
                {"lines", std::move(lines)}};
}

object MerchantFeesJson(const MerchantFees& fees) {
  array schedules;
  for (const FeeSchedule& schedule : fees.schedules) schedules.push_back(FeeScheduleJson(schedule));
  return object{{"merchant_id", fees.merchant_id},
                {"current", fees.current ? boost::json::value(FeeScheduleJson(*fees.current))
                                         : boost::json::value(nullptr)},
                {"schedules", std::move(schedules)}};
}

}  // namespace guichet::wallet
