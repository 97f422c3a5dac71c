// Reconciliation in the database (reconciliation.h): the service's side of a point, stored
// reports, uploads waiting for the merchant's schedule, and the scheduled job.
#include "modules/wallet/reconciliation.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>

#include "modules/wallet/internal.h"
#include "modules/wallet/report_format.h"
#include "platform/banking/calendar.h"
#include "platform/base/assert.h"
#include "platform/base/clock.h"
#include "platform/notify/mime.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"

namespace guichet::wallet {
namespace {

using boost::json::array;
using boost::json::object;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

Error Refusal(ErrorKind kind, std::string_view code, std::string message) {
  return Error{kind, std::string(code), std::move(message), {}};
}

array SideJson(const std::vector<ReconciliationTransaction>& side) {
  array out;
  for (const ReconciliationTransaction& t : side) {
    out.push_back(object{{"point_txn_id", t.point_txn_id},
                         {"operation", t.operation},
                         {"counter", t.counter},
                         {"amount", t.amount},
                         {"state", t.state},
                         {"at_ms", t.at_ms}});
  }
  return out;
}

std::vector<ReconciliationTransaction> SideFromJson(const boost::json::value& value) {
  std::vector<ReconciliationTransaction> side;
  for (const auto& item : value.as_array()) {
    const object& o = item.as_object();
    side.push_back({std::string(o.at("point_txn_id").as_string()),
                    std::string(o.at("operation").as_string()),
                    std::string(o.at("counter").as_string()), o.at("amount").to_number<int64_t>(),
                    std::string(o.at("state").as_string()), o.at("at_ms").to_number<int64_t>()});
  }
  return side;
}

// The service's side: the point's rows whose point time lies in the range.
Result<std::vector<ReconciliationTransaction>> ServiceSide(Transaction& tx, int64_t point_id,
                                                           int64_t start_ms, int64_t end_ms) {
  auto rows = tx.Query(
      "SELECT point_txn_id, operation, counter, amount, state, point_at_ms FROM"
      " wallet_pos_transactions WHERE point_id = $1 AND point_at_ms >= $2 AND point_at_ms < $3"
      " ORDER BY id",
      {point_id, start_ms, end_ms});
  if (!rows.ok()) return std::move(rows).error();
  if (rows->rows.size() > kReconciliationItemsMax) {
    return Refusal(ErrorKind::kValidation, "reconciliation_input_invalid",
                   "Too many transactions in this range: reconcile a shorter one.");
  }
  std::vector<ReconciliationTransaction> side;
  for (const Row& row : rows->rows) {
    side.push_back({row.Text(0), row.Text(1), row.Text(2), row.Int(3), row.Text(4), row.Int(5)});
  }
  return side;
}

constexpr std::string_view kReportColumns =
    "r.id, r.point_id, r.merchant_org_id, r.source, r.generated_at_ms, r.input_json, o.path";

Result<StoredReconciliation> ToStored(const Row& row) {
  StoredReconciliation stored;
  stored.id = row.Int(0);
  stored.point_id = row.Int(1);
  stored.merchant_org_id = row.Int(2);
  stored.source = row.Text(3);
  stored.generated_at_ms = row.Int(4);
  const boost::json::value json = boost::json::parse(row.Text(5));
  const object& o = json.as_object();
  ReconciliationInput input;
  input.report_id = std::string(o.at("report_id").as_string());
  input.point_id = stored.point_id;
  input.point_label = std::string(o.at("point_label").as_string());
  input.merchant_name = std::string(o.at("merchant_name").as_string());
  input.range_start_ms = o.at("range_start_ms").to_number<int64_t>();
  input.range_end_ms = o.at("range_end_ms").to_number<int64_t>();
  input.point_side = SideFromJson(o.at("point_side"));
  input.service_side = SideFromJson(o.at("service_side"));
  auto report = Reconcile(input);
  if (!report.ok()) return std::move(report).error();
  stored.report = std::move(*report);
  return stored;
}

Result<std::optional<std::pair<StoredReconciliation, std::string>>> FindReport(Transaction& tx,
                                                                               int64_t id) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM wallet_reconciliation_reports r JOIN"
                                     " organisations o ON o.id = r.merchant_org_id WHERE r.id = $1",
                                     kReportColumns),
                         {id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<std::pair<StoredReconciliation, std::string>>();
  auto stored = ToStored(**row);
  if (!stored.ok()) return std::move(stored).error();
  return std::optional(std::pair{std::move(*stored), (*row)->Text(6)});
}

Result<std::string> MerchantEmail(Transaction& tx, int64_t merchant_id) {
  auto row = tx.QueryOne("SELECT contact_email FROM wallet_merchants WHERE organisation_id = $1",
                         {merchant_id});
  if (!row.ok()) return std::move(row).error();
  GUICHET_ASSERT(row->has_value());
  return (*row)->Text(0);
}

Status QueueReportMail(Transaction& tx, const StoredReconciliation& stored, int64_t now_ms) {
  auto email = MerchantEmail(tx, stored.merchant_org_id);
  if (!email.ok()) return std::move(email).error();
  const ReconciliationReport& report = stored.report;
  notify::OutboxMessage message;
  message.channel = "email";
  message.recipient = *email;
  message.template_code = "wallet.reconciliation_report";
  message.organisation_id = stored.merchant_org_id;
  object variables{
      {"subject", fmt::format("Rapprochement {} : {}", report.input.report_id,
                              report.reconciled() ? "concordant" : "écarts")},
      {"text",
       fmt::format("Bonjour,\n\nRapprochement du point {} : {} concordantes, {} différentes, {} "
                   "absentes du service, {} absentes du point.\n\nRapport : "
                   "/api/v1/wallet/reconciliations/{}/report.pdf\n",
                   report.input.point_label, report.matched.size(), report.differing.size(),
                   report.missing_at_service.size(), report.missing_at_point.size(), stored.id)}};
  // Attached when it fits the outbox's variables (notify::kVariablesBytesMax); linked always.
  object with_pdf = variables;
  with_pdf["attachments"] =
      array{object{{"filename", fmt::format("rapprochement-{}.pdf", report.input.report_id)},
                   {"content_type", "application/pdf"},
                   {"base64", notify::Base64(ReconciliationPdf(report, stored.generated_at_ms))}}};
  std::string json = boost::json::serialize(with_pdf);
  if (static_cast<int64_t>(json.size()) > notify::kVariablesBytesMax) {
    json = boost::json::serialize(variables);
  }
  message.variables_json = std::move(json);
  auto queued = notify::Queue(tx, message, now_ms);
  if (!queued.ok()) return std::move(queued).error();
  return OkStatus();
}

Result<Point> DevicePoint(Transaction& tx, const identity::Caller& device, int64_t now_ms) {
  if (device.kind != identity::Caller::Kind::kDevice) {
    return Refusal(ErrorKind::kForbidden, pos_code::kPointUnknown,
                   "Only a point's device can do this.");
  }
  auto point = PointOfDevice(tx, device.id, now_ms);
  if (!point.ok()) return std::move(point).error();
  GUICHET_TRY_STATUS(RequirePointOperational(*point));
  if (!point->Allows("reconciliation")) {
    return Refusal(ErrorKind::kForbidden, pos_code::kPermissionDenied,
                   "This point is not allowed to reconcile.");
  }
  return point;
}

// Checks what the calculation would refuse before storing an upload.
Status ValidateRequest(const ReconciliationRequest& request) {
  ReconciliationInput probe;
  probe.report_id = "check";
  probe.range_start_ms = request.range_start_ms;
  probe.range_end_ms = request.range_end_ms;
  probe.point_side = request.transactions;
  auto checked = Reconcile(probe);
  if (!checked.ok()) return std::move(checked).error();
  return OkStatus();
}

ReconciliationSchedule ToSchedule(const Row& row) {
  return {row.Int(0), row.Int(1) != 0, row.Int(2), row.OptionalText(3).value_or("")};
}

}  // namespace

void DeclareReconciliationPermissions(identity::RightsCatalog& catalog) {
  catalog.AddPermission({std::string(right::kReconciliationsManage),
                         "Set reconciliation schedules, reconcile points and read their reports"});
}

Reconciliations::Reconciliations(Pos& pos) : pos_(pos), wallet_(pos.wallet()) {}

Result<StoredReconciliation> Reconciliations::Store(
    Transaction& tx, const Point& point, std::string_view source, int64_t range_start_ms,
    int64_t range_end_ms, std::vector<ReconciliationTransaction> point_side, int64_t now_ms) {
  auto service = ServiceSide(tx, point.id, range_start_ms, range_end_ms);
  if (!service.ok()) return std::move(service).error();
  auto merchant =
      tx.QueryOne("SELECT name FROM organisations WHERE id = $1", {point.merchant_org_id});
  if (!merchant.ok()) return std::move(merchant).error();
  GUICHET_ASSERT(merchant->has_value());
  ReconciliationInput input;
  input.report_id = fmt::format("REC-{}-{}", point.id, now_ms);
  input.point_id = point.id;
  input.point_label = fmt::format("{} ({})", point.institution_id, point.location);
  input.merchant_name = (*merchant)->Text(0);
  input.range_start_ms = range_start_ms;
  input.range_end_ms = range_end_ms;
  input.point_side = std::move(point_side);
  input.service_side = std::move(*service);
  auto report = Reconcile(input);
  if (!report.ok()) return std::move(report).error();
  const object json{{"report_id", input.report_id},
                    {"point_label", input.point_label},
                    {"merchant_name", input.merchant_name},
                    {"range_start_ms", range_start_ms},
                    {"range_end_ms", range_end_ms},
                    {"point_side", SideJson(input.point_side)},
                    {"service_side", SideJson(input.service_side)}};
  auto row = tx.QueryOne(
      "INSERT INTO wallet_reconciliation_reports (point_id, merchant_org_id, source,"
      " range_start_ms, range_end_ms, matched, differing, missing_at_service, missing_at_point,"
      " reconciled, input_json, generated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
      " $11, $12) RETURNING id",
      {point.id, point.merchant_org_id, std::string(source), range_start_ms, range_end_ms,
       static_cast<int64_t>(report->matched.size()), static_cast<int64_t>(report->differing.size()),
       static_cast<int64_t>(report->missing_at_service.size()),
       static_cast<int64_t>(report->missing_at_point.size()), int64_t{report->reconciled() ? 1 : 0},
       boost::json::serialize(json), now_ms});
  if (!row.ok()) return std::move(row).error();
  return StoredReconciliation{(*row)->Int(0),      point.id, point.merchant_org_id,
                              std::string(source), now_ms,   std::move(*report)};
}

Result<StoredReconciliation> Reconciliations::ReconcileNow(const identity::Caller& device,
                                                           const ReconciliationRequest& request) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<StoredReconciliation>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<StoredReconciliation> {
        auto point = DevicePoint(tx, device, now);
        if (!point.ok()) return std::move(point).error();
        return Store(tx, *point, "point", request.range_start_ms, request.range_end_ms,
                     request.transactions, now);
      });
}

Result<ReconciliationUpload> Reconciliations::Upload(const identity::Caller& device,
                                                     const ReconciliationRequest& request) {
  const int64_t now = wallet_.clock().NowMs();
  GUICHET_TRY_STATUS(ValidateRequest(request));
  return wallet_.database().Transact<ReconciliationUpload>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<ReconciliationUpload> {
        auto point = DevicePoint(tx, device, now);
        if (!point.ok()) return std::move(point).error();
        auto row = tx.QueryOne(
            "INSERT INTO wallet_reconciliation_uploads (point_id, range_start_ms, range_end_ms,"
            " transactions, transactions_json, received_at_ms) VALUES ($1, $2, $3, $4, $5, $6)"
            " RETURNING id",
            {point->id, request.range_start_ms, request.range_end_ms,
             static_cast<int64_t>(request.transactions.size()),
             boost::json::serialize(SideJson(request.transactions)), now});
        if (!row.ok()) return std::move(row).error();
        return ReconciliationUpload{(*row)->Int(0),
                                    point->id,
                                    request.range_start_ms,
                                    request.range_end_ms,
                                    static_cast<int64_t>(request.transactions.size()),
                                    std::nullopt,
                                    now};
      });
}

Result<StoredReconciliation> Reconciliations::GetForPoint(const identity::Caller& device,
                                                          int64_t report_id) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<StoredReconciliation>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<StoredReconciliation> {
        auto point = DevicePoint(tx, device, now);
        if (!point.ok()) return std::move(point).error();
        auto found = FindReport(tx, report_id);
        if (!found.ok()) return std::move(found).error();
        if (!found->has_value() || (*found)->first.point_id != point->id) {
          return Refusal(ErrorKind::kNotFound, reconciliation_code::kNotFound,
                         "No such reconciliation report.");
        }
        return std::move((*found)->first);
      });
}

Result<Point> Reconciliations::ManagedPoint(Transaction& tx, const identity::Caller& caller,
                                            int64_t point_id) {
  auto row = tx.QueryOne(
      "SELECT o.path FROM wallet_points p JOIN organisations o ON o.id = p.merchant_org_id"
      " WHERE p.id = $1",
      {point_id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value() ||
      !orgs::ContainedInAny(wallet_.authorizer().Scopes(caller, right::kReconciliationsManage),
                (*row)->Text(0))) {
    return Refusal(ErrorKind::kNotFound, "point_not_found", "No such point of sale.");
  }
  // The point's record as the protocol sees it (the device link does not matter here).
  auto point = tx.QueryOne(
      "SELECT p.id, p.merchant_org_id, p.institution_id, p.location FROM wallet_points p"
      " WHERE p.id = $1",
      {point_id});
  if (!point.ok()) return std::move(point).error();
  Point found;
  found.id = (*point)->Int(0);
  found.merchant_org_id = (*point)->Int(1);
  found.institution_id = (*point)->Text(2);
  found.location = (*point)->Text(3);
  found.merchant_path = (*row)->Text(0);
  return found;
}

Result<ReconciliationSchedule> Reconciliations::SetSchedule(const identity::Caller& caller,
                                                            int64_t merchant_id, bool enabled,
                                                            int64_t hour_paris) {
  const int64_t now = wallet_.clock().NowMs();
  if (hour_paris < 0 || hour_paris > 23) {
    return Error{ErrorKind::kValidation,
                 "validation_failed",
                 "The hour is 0 to 23.",
                 {{"/hour", "0 to 23"}}};
  }
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kReconciliationsManage);
  return wallet_.database().Transact<ReconciliationSchedule>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<ReconciliationSchedule> {
        auto merchant = tx.QueryOne(
            "SELECT o.path FROM wallet_merchants m JOIN organisations o ON o.id ="
            " m.organisation_id WHERE m.organisation_id = $1",
            {merchant_id});
        if (!merchant.ok()) return std::move(merchant).error();
        if (!merchant->has_value() || !orgs::ContainedInAny(scopes, (*merchant)->Text(0))) {
          return Refusal(ErrorKind::kNotFound, "merchant_not_found", "No such merchant.");
        }
        auto updated = tx.Execute(
            "UPDATE wallet_reconciliation_schedules SET enabled = $1, hour_paris = $2,"
            " updated_at = $3 WHERE merchant_org_id = $4",
            {int64_t{enabled ? 1 : 0}, hour_paris, now, merchant_id});
        if (!updated.ok()) return std::move(updated).error();
        if (*updated == 0) {
          GUICHET_TRY_STATUS(tx.Execute(
              "INSERT INTO wallet_reconciliation_schedules (merchant_org_id, enabled, hour_paris,"
              " updated_at) VALUES ($1, $2, $3, $4)",
              {merchant_id, int64_t{enabled ? 1 : 0}, hour_paris, now}));
        }
        GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.reconciliation.schedule",
                                           "wallet_merchant", merchant_id, merchant_id, nullptr,
                                           object{{"enabled", enabled}, {"hour", hour_paris}},
                                           caller.request_id, now));
        auto row = tx.QueryOne(
            "SELECT merchant_org_id, enabled, hour_paris, last_run_day FROM"
            " wallet_reconciliation_schedules WHERE merchant_org_id = $1",
            {merchant_id});
        if (!row.ok()) return std::move(row).error();
        return ToSchedule(**row);
      });
}

Result<ReconciliationSchedule> Reconciliations::GetSchedule(const identity::Caller& caller,
                                                            int64_t merchant_id) {
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kReconciliationsManage);
  return wallet_.database().Transact<ReconciliationSchedule>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<ReconciliationSchedule> {
        auto merchant = tx.QueryOne(
            "SELECT o.path FROM wallet_merchants m JOIN organisations o ON o.id ="
            " m.organisation_id WHERE m.organisation_id = $1",
            {merchant_id});
        if (!merchant.ok()) return std::move(merchant).error();
        if (!merchant->has_value() || !orgs::ContainedInAny(scopes, (*merchant)->Text(0))) {
          return Refusal(ErrorKind::kNotFound, "merchant_not_found", "No such merchant.");
        }
        auto row = tx.QueryOne(
            "SELECT merchant_org_id, enabled, hour_paris, last_run_day FROM"
            " wallet_reconciliation_schedules WHERE merchant_org_id = $1",
            {merchant_id});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value()) return ReconciliationSchedule{merchant_id, false, 0, ""};
        return ToSchedule(**row);
      });
}

Result<StoredReconciliation> Reconciliations::ReconcilePoint(const identity::Caller& caller,
                                                             int64_t point_id,
                                                             int64_t range_start_ms,
                                                             int64_t range_end_ms) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<StoredReconciliation>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<StoredReconciliation> {
        auto point = ManagedPoint(tx, caller, point_id);
        if (!point.ok()) return std::move(point).error();
        auto uploads = tx.Query(
            "SELECT transactions_json FROM wallet_reconciliation_uploads WHERE point_id = $1"
            " AND range_start_ms < $3 AND range_end_ms > $2 ORDER BY id",
            {point_id, range_start_ms, range_end_ms});
        if (!uploads.ok()) return std::move(uploads).error();
        if (uploads->rows.empty()) {
          return Refusal(ErrorKind::kValidation, reconciliation_code::kNoUpload,
                         "This point uploaded no list over this range.");
        }
        std::map<std::string, ReconciliationTransaction> latest;  // the latest upload wins
        for (const Row& row : uploads->rows) {
          for (ReconciliationTransaction& t : SideFromJson(boost::json::parse(row.Text(0)))) {
            if (t.at_ms < range_start_ms || t.at_ms >= range_end_ms) continue;
            latest[t.point_txn_id] = std::move(t);
          }
        }
        std::vector<ReconciliationTransaction> side;
        for (auto& [id, t] : latest) side.push_back(std::move(t));
        return Store(tx, *point, "staff", range_start_ms, range_end_ms, std::move(side), now);
      });
}

Result<StoredReconciliation> Reconciliations::Get(const identity::Caller& caller,
                                                  int64_t report_id) {
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kReconciliationsManage);
  return wallet_.database().Transact<StoredReconciliation>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<StoredReconciliation> {
        auto found = FindReport(tx, report_id);
        if (!found.ok()) return std::move(found).error();
        if (!found->has_value() || !orgs::ContainedInAny(scopes, (*found)->second)) {
          return Refusal(ErrorKind::kNotFound, reconciliation_code::kNotFound,
                         "No such reconciliation report.");
        }
        return std::move((*found)->first);
      });
}

Result<std::vector<StoredReconciliation>> Reconciliations::List(const identity::Caller& caller,
                                                                int64_t point_id) {
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kReconciliationsManage);
  return wallet_.database().Transact<std::vector<StoredReconciliation>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<StoredReconciliation>> {
        auto point = ManagedPoint(tx, caller, point_id);
        if (!point.ok()) return std::move(point).error();
        auto rows = tx.Query(
            fmt::format("SELECT {} FROM wallet_reconciliation_reports r JOIN organisations o"
                        " ON o.id = r.merchant_org_id WHERE r.point_id = $1 ORDER BY r.id DESC"
                        " LIMIT $2",
                        kReportColumns),
            {point_id, kReconciliationListMax});
        if (!rows.ok()) return std::move(rows).error();
        std::vector<StoredReconciliation> reports;
        for (const Row& row : rows->rows) {
          auto stored = ToStored(row);
          if (!stored.ok()) return std::move(stored).error();
          reports.push_back(std::move(*stored));
        }
        return reports;
      });
}

Result<int64_t> Reconciliations::RunScheduled() {
  const int64_t now = wallet_.clock().NowMs();
  const int64_t paris_ms = now + report::ParisOffsetMs(now);
  const int64_t hour = (paris_ms / (int64_t{3600} * 1000)) % 24;
  const std::string today = banking::FormatDate(banking::ParisDate(now));
  auto uploads = wallet_.database().Transact<std::vector<std::pair<int64_t, int64_t>>>(
      TransactionMode::kRead,
      [&](Transaction& tx) -> Result<std::vector<std::pair<int64_t, int64_t>>> {
        auto rows = tx.Query(
            "SELECT u.id, p.id FROM wallet_reconciliation_uploads u"
            " JOIN wallet_points p ON p.id = u.point_id"
            " JOIN wallet_reconciliation_schedules s ON s.merchant_org_id = p.merchant_org_id"
            " WHERE u.report_id IS NULL AND s.enabled = 1 AND s.hour_paris <= $1"
            " AND (s.last_run_day IS NULL OR s.last_run_day < $2) ORDER BY u.id LIMIT $3",
            {hour, today, kReconciliationUploadsPerJobMax});
        if (!rows.ok()) return std::move(rows).error();
        std::vector<std::pair<int64_t, int64_t>> found;
        for (const Row& row : rows->rows) found.push_back({row.Int(0), row.Int(1)});
        return found;
      });
  if (!uploads.ok()) return std::move(uploads).error();
  int64_t reports = 0;
  for (const auto& [upload_id, point_id] : *uploads) {
    auto made = wallet_.database().Transact<int64_t>(
        TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
          auto row = tx.QueryOne(
              "SELECT range_start_ms, range_end_ms, transactions_json FROM"
              " wallet_reconciliation_uploads WHERE id = $1 AND report_id IS NULL",
              {upload_id});
          if (!row.ok()) return std::move(row).error();
          if (!row->has_value()) return int64_t{0};  // another process reconciled it
          auto point = tx.QueryOne(
              "SELECT id, merchant_org_id, institution_id, location FROM wallet_points"
              " WHERE id = $1",
              {point_id});
          if (!point.ok()) return std::move(point).error();
          Point found;
          found.id = (*point)->Int(0);
          found.merchant_org_id = (*point)->Int(1);
          found.institution_id = (*point)->Text(2);
          found.location = (*point)->Text(3);
          auto stored = Store(tx, found, "schedule", (*row)->Int(0), (*row)->Int(1),
                              SideFromJson(boost::json::parse((*row)->Text(2))), now);
          if (!stored.ok()) return std::move(stored).error();
          GUICHET_TRY_STATUS(
              tx.Execute("UPDATE wallet_reconciliation_uploads SET report_id = $1 WHERE id = $2",
                         {stored->id, upload_id}));
          GUICHET_TRY_STATUS(QueueReportMail(tx, *stored, now));
          return int64_t{1};
        });
    if (!made.ok()) return std::move(made).error();
    reports += *made;
  }
  // Every scheduled merchant whose hour has come is done for today.
  auto marked = wallet_.database().Transact<int64_t>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
        return tx.Execute(
            "UPDATE wallet_reconciliation_schedules SET last_run_day = $1 WHERE enabled = 1"
            " AND hour_paris <= $2 AND (last_run_day IS NULL OR last_run_day < $1)",
            {today, hour});
      });
  if (!marked.ok()) return std::move(marked).error();
  return reports;
}

object ReconciliationJson(const StoredReconciliation& stored, bool matched_lines) {
  const ReconciliationReport& r = stored.report;
  const auto pairs = [](const std::vector<ReconciliationPair>& list, size_t max) {
    array out;
    for (const ReconciliationPair& p : list) {
      if (out.size() >= max) break;
      array differences;
      for (const std::string& d : p.differences) differences.push_back(boost::json::string(d));
      out.push_back(object{{"point_txn_id", p.point.point_txn_id},
                           {"point", SideJson({p.point}).at(0)},
                           {"service", SideJson({p.service}).at(0)},
                           {"differences", std::move(differences)}});
    }
    return out;
  };
  const auto totals = [](const std::vector<ReconciliationTotal>& list) {
    array out;
    for (const ReconciliationTotal& t : list) {
      out.push_back(object{{"counter", t.counter},
                           {"operation", t.operation},
                           {"acknowledged_count", t.acknowledged_count},
                           {"acknowledged_amount", t.acknowledged_amount},
                           {"count", t.count}});
    }
    return out;
  };
  const std::string base = fmt::format("/api/v1/wallet/reconciliations/{}", stored.id);
  object o{
      {"id", stored.id},
      {"report_id", r.input.report_id},
      {"point_id", stored.point_id},
      {"merchant_id", stored.merchant_org_id},
      {"source", stored.source},
      {"range_start_ms", r.input.range_start_ms},
      {"range_end_ms", r.input.range_end_ms},
      {"generated_at", FormatIso8601(stored.generated_at_ms)},
      {"reconciled", r.reconciled()},
      {"matched", static_cast<int64_t>(r.matched.size())},
      {"differing", pairs(r.differing, r.differing.size())},
      {"missing_at_service", SideJson(r.missing_at_service)},
      {"missing_at_point", SideJson(r.missing_at_point)},
      {"point_totals", totals(r.point_totals)},
      {"service_totals", totals(r.service_totals)},
      {"links",
       object{{"pdf", base + "/report.pdf"},
              {"xml", base + "/report.xml"},
              {"point_pdf", fmt::format("/api/v1/pos/reconciliations/{}/report.pdf", stored.id)},
              {"point_xml", fmt::format("/api/v1/pos/reconciliations/{}/report.xml", stored.id)}}}};
  if (matched_lines) {
    o["matched_lines"] = pairs(r.matched, kReconciliationJsonMatchedMax);
    o["matched_lines_truncated"] = r.matched.size() > kReconciliationJsonMatchedMax;
  }
  return o;
}

std::vector<storage::Migration> ReconciliationMigrations() {
  constexpr std::string_view kSchema =
      "CREATE TABLE wallet_reconciliation_reports ({id},"
      " point_id BIGINT NOT NULL REFERENCES wallet_points (id),"
      " merchant_org_id BIGINT NOT NULL REFERENCES wallet_merchants (organisation_id),"
      " source TEXT NOT NULL CHECK (source IN ('point', 'schedule', 'staff')),"
      " range_start_ms BIGINT NOT NULL, range_end_ms BIGINT NOT NULL,"
      " matched BIGINT NOT NULL, differing BIGINT NOT NULL, missing_at_service BIGINT NOT NULL,"
      " missing_at_point BIGINT NOT NULL, reconciled BIGINT NOT NULL CHECK (reconciled IN (0, 1)),"
      " input_json TEXT NOT NULL, generated_at_ms BIGINT NOT NULL);"
      " CREATE INDEX wallet_reconciliation_reports_point ON wallet_reconciliation_reports"
      " (point_id, id);"
      " CREATE TABLE wallet_reconciliation_uploads ({id},"
      " point_id BIGINT NOT NULL REFERENCES wallet_points (id),"
      " range_start_ms BIGINT NOT NULL, range_end_ms BIGINT NOT NULL,"
      " transactions BIGINT NOT NULL, transactions_json TEXT NOT NULL,"
      " received_at_ms BIGINT NOT NULL,"
      " report_id BIGINT REFERENCES wallet_reconciliation_reports (id));"
      " CREATE INDEX wallet_reconciliation_uploads_waiting ON wallet_reconciliation_uploads"
      " (report_id, id);"
      " CREATE TABLE wallet_reconciliation_schedules ("
      " merchant_org_id BIGINT PRIMARY KEY REFERENCES wallet_merchants (organisation_id),"
      " enabled BIGINT NOT NULL CHECK (enabled IN (0, 1)),"
      " hour_paris BIGINT NOT NULL CHECK (hour_paris >= 0 AND hour_paris <= 23),"
      " last_run_day TEXT, updated_at BIGINT NOT NULL);";
  const auto schema = [&](std::string_view id) {
    return fmt::format(fmt::runtime(kSchema), fmt::arg("id", id));
  };
  return {{"wallet.reconciliation", 1, "reconciliation reports, uploads and schedules",
           schema("id INTEGER PRIMARY KEY AUTOINCREMENT"),
           schema("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")}};
}

}  // namespace guichet::wallet
