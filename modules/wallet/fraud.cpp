// Fraud rules, their scan and the alerts (W20). See fraud.h for what each rule means.
#include "modules/wallet/fraud.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/parse.hpp>
#include <map>
#include <set>

#include "modules/wallet/internal.h"
#include "platform/base/log.h"
#include "platform/http/json.h"
#include "platform/base/assert.h"
#include "platform/base/clock.h"
#include "platform/jobs/jobs.h"
#include "platform/notify/outbox.h"
#include "platform/notify/templates.h"

namespace guichet::wallet {
namespace {

using boost::json::object;
using storage::Params;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

constexpr std::string_view kPosCursor = "pos_transactions";
constexpr std::string_view kQrCursor = "qr_refusals";
constexpr std::string_view kStaffPersonType = "staff";

Error RuleInvalid(std::string_view field, std::string message) {
  Error error{ErrorKind::kValidation, "validation_failed", message, {}};
  error.fields.push_back({fmt::format("/{}", field), std::move(message)});
  return error;
}

Error AlertNotFound() {
  return Error{ErrorKind::kNotFound, "fraud_alert_not_found", "No such fraud alert.", {}};
}

Error Forbidden(std::string message) {
  return Error{ErrorKind::kForbidden, "forbidden", std::move(message), {}};
}

std::string_view ActionName(FraudAction action) {
  return action == FraudAction::kOppose ? "oppose" : "alert";
}

// The organisations a path names, from the root down: "/1/5/17/" gives 1, 5, 17.
std::vector<int64_t> PathIds(std::string_view path) {
  std::vector<int64_t> ids;
  int64_t current = 0;
  bool digits = false;
  for (char c : path) {
    if (c >= '0' && c <= '9') {
      current = current * 10 + (c - '0');
      digits = true;
    } else if (digits) {
      ids.push_back(current);
      current = 0;
      digits = false;
    }
  }
  if (digits) ids.push_back(current);
  return ids;
}

std::string InList(Params& params, const std::vector<int64_t>& ids) {
  std::string sql;
  for (int64_t id : ids) {
    params.emplace_back(id);
    sql += fmt::format("{}${}", sql.empty() ? "" : ", ", params.size());
  }
  return sql;
}

// The first `depth` dash-separated segments of a location (Crous-UG-RU-UD-Caisse).
std::string SitePrefix(std::string_view location, int64_t depth) {
  size_t end = 0;
  for (int64_t segment = 0; segment < depth; ++segment) {
    size_t next = location.find('-', end == 0 ? 0 : end + 1);
    if (next == std::string_view::npos) return std::string(location);
    end = next;
  }
  return std::string(location.substr(0, end));
}

// A window in words: minutes when whole, else seconds.
std::string Duration(int64_t seconds) {
  if (seconds % 60 == 0) return fmt::format("{} min", seconds / 60);
  return fmt::format("{} s", seconds);
}

std::string ActionWords(std::string_view action_taken, bool french) {
  if (action_taken == "support_opposed")
    return french ? "le support a été mis en opposition" : "the support was opposed";
  if (action_taken == "already_opposed")
    return french ? "le support était déjà en opposition" : "the support was opposed already";
  return french ? "aucune (alerte seulement)" : "none (alert only)";
}

std::string Euros(int64_t cents) {
  return fmt::format("{},{:02} €", cents / 100, cents % 100);
}

Result<std::optional<std::pair<int64_t, std::string>>> Organisation(Transaction& tx, int64_t id) {
  auto row = tx.QueryOne("SELECT id, path FROM organisations WHERE id = $1", {id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<std::pair<int64_t, std::string>>();
  return std::optional<std::pair<int64_t, std::string>>(
      std::make_pair((*row)->Int(0), (*row)->Text(1)));
}

FraudRule RuleOfRow(const Row& row) {
  FraudRule rule = DefaultFraudRule(*ParseFraudRuleKind(row.Text(0)));
  rule.enabled = row.Int(1) != 0;
  rule.count = row.Int(2);
  rule.window_s = row.Int(3);
  rule.amount_cents = row.Int(4);
  rule.site_depth = row.Int(5);
  rule.action = row.Text(6) == "oppose" ? FraudAction::kOppose : FraudAction::kAlert;
  rule.organisation_id = row.Int(7);
  rule.organisation_path = row.Text(8);
  return rule;
}

// The rules in force under `path`: per kind, the one set deepest on the way down, else the
// built-in default.
Result<std::vector<FraudRule>> RulesAt(Transaction& tx, std::string_view path) {
  std::vector<FraudRule> rules;
  for (FraudRuleKind kind : kFraudRuleKinds) rules.push_back(DefaultFraudRule(kind));
  const std::vector<int64_t> ids = PathIds(path);
  if (ids.empty()) return rules;
  Params params;
  const std::string in = InList(params, ids);
  auto rows = tx.Query(
      "SELECT r.kind, r.enabled, r.count, r.window_s, r.amount_cents, r.site_depth, r.action,"
      " r.organisation_id, o.path FROM wallet_fraud_rules r JOIN organisations o ON o.id = "
      "r.organisation_id WHERE r.organisation_id IN (" + in + ")",
      params);
  if (!rows.ok()) return std::move(rows).error();
  for (const Row& row : rows->rows) {
    FraudRule found = RuleOfRow(row);
    FraudRule& current = rules[static_cast<size_t>(found.kind)];
    if (!current.organisation_id || current.organisation_path.size() < found.organisation_path.size())
      current = found;
  }
  return rules;
}

constexpr std::string_view kAlertColumns =
    "a.id, a.organisation_id, a.rule, a.subject, a.holder_id, a.support_id, a.phone_id, "
    "a.point_id, a.summary, a.facts, a.action_taken, a.state, a.created_at, a.closed_at, "
    "a.closed_by, a.note";

FraudAlert AlertOfRow(const Row& row) {
  FraudAlert alert;
  alert.id = row.Int(0);
  alert.organisation_id = row.Int(1);
  alert.rule = row.Text(2);
  alert.subject = row.Text(3);
  alert.holder_id = row.OptionalInt(4);
  alert.support_id = row.OptionalInt(5);
  alert.phone_id = row.OptionalInt(6);
  alert.point_id = row.OptionalInt(7);
  alert.summary = row.Text(8);
  boost::system::error_code ec;
  auto facts = boost::json::parse(row.Text(9), ec);
  if (!ec && facts.is_object()) alert.facts = facts.as_object();
  alert.action_taken = row.Text(10);
  alert.state = row.Text(11);
  alert.created_at_ms = row.Int(12);
  alert.closed_at_ms = row.OptionalInt(13);
  alert.closed_by = row.OptionalInt(14);
  alert.note = row.OptionalText(15).value_or("");
  return alert;
}

// Organisation paths the caller has `permission` in, as an SQL condition on o.path.
std::string ScopeCondition(Params& params, const std::vector<std::string>& scopes) {
  std::string sql = "(";
  for (size_t i = 0; i < scopes.size(); ++i) {
    params.emplace_back(scopes[i] + "%");
    sql += fmt::format("{}o.path LIKE ${}", i == 0 ? "" : " OR ", params.size());
  }
  return sql + ")";
}

Result<std::optional<FraudAlert>> AlertInScope(Transaction& tx, int64_t alert_id,
                                               const std::vector<std::string>& scopes) {
  if (scopes.empty()) return std::optional<FraudAlert>();
  Params params{alert_id};
  const std::string scope = ScopeCondition(params, scopes);
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM wallet_fraud_alerts a JOIN organisations o ON"
                                     " o.id = a.organisation_id WHERE a.id = $1 AND {}",
                                     kAlertColumns, scope),
                         params);
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<FraudAlert>();
  return std::optional<FraudAlert>(AlertOfRow(**row));
}

// ---- The scan ----------------------------------------------------------------------------------

// What a rule found, before it becomes an alert.
struct Finding {
  const FraudRule* rule = nullptr;
  int64_t organisation_id = 0;
  std::string organisation_path;
  std::string subject;
  std::optional<int64_t> holder_id, support_id, phone_id, point_id;
  std::optional<int64_t> oppose_support_id;  // the support an `oppose` rule acts on
  std::string summary;     // English, kept with the alert
  std::string summary_fr;  // for French readers of the e-mail
  object facts;
};

struct PosRow {
  int64_t id = 0;
  int64_t point_id = 0;
  std::string operation, counter;
  int64_t amount = 0;
  std::optional<int64_t> holder_id, support_id;
  std::string state;
  std::string refusal_code;
  int64_t point_at_ms = 0;
  int64_t received_at_ms = 0;
  std::string payer_key;
  std::string location;
  int64_t region_id = 0;
  std::string region_path;
};

class Scanner {
 public:
  Scanner(Transaction& tx, const identity::Authorizer& authorizer, int64_t now_ms,
          FraudScanReport& report)
      : tx_(tx), authorizer_(authorizer), now_ms_(now_ms), report_(report) {}

  // One step over point operations; whether rows remain.
  Result<bool> PosStep() {
    auto cursor = Cursor(kPosCursor);
    if (!cursor.ok()) return std::move(cursor).error();
    auto rows = tx_.Query(
        "SELECT t.id, t.point_id, t.operation, t.counter, t.amount, t.holder_id, t.support_id,"
        " t.state, t.refusal_code, t.point_at_ms, t.received_at_ms, t.payer_key, t.is_test,"
        " p.location, p.institution_org_id, o.path FROM wallet_pos_transactions t"
        " JOIN wallet_points p ON p.id = t.point_id JOIN organisations o ON o.id = "
        "p.institution_org_id WHERE t.id > $1 ORDER BY t.id LIMIT $2",
        {*cursor, kFraudScanRowsMax});
    if (!rows.ok()) return std::move(rows).error();
    int64_t last = *cursor;
    bool young = false;
    for (const Row& r : rows->rows) {
      if (r.Int(10) > now_ms_ - kFraudScanLagMs) {
        young = true;  // it and what follows wait for the next scan
        break;
      }
      last = r.Int(0);
      if (r.Int(12) != 0) continue;  // test points' money is not real (W13)
      PosRow row;
      row.id = r.Int(0);
      row.point_id = r.Int(1);
      row.operation = r.Text(2);
      row.counter = r.Text(3);
      row.amount = r.Int(4);
      row.holder_id = r.OptionalInt(5);
      row.support_id = r.OptionalInt(6);
      row.state = r.Text(7);
      row.refusal_code = r.OptionalText(8).value_or("");
      row.point_at_ms = r.Int(9);
      row.received_at_ms = r.Int(10);
      row.payer_key = r.Text(11);
      row.location = r.Text(13);
      row.region_id = r.Int(14);
      row.region_path = r.Text(15);
      ++report_.transactions;
      GUICHET_TRY_STATUS(Evaluate(row));
    }
    GUICHET_TRY_STATUS(SetCursor(kPosCursor, last));
    return !young && static_cast<int64_t>(rows->rows.size()) == kFraudScanRowsMax;
  }

  // One step over QR refusals; whether rows remain.
  Result<bool> QrStep() {
    auto cursor = Cursor(kQrCursor);
    if (!cursor.ok()) return std::move(cursor).error();
    auto rows = tx_.Query(
        "SELECT r.id, r.claimed_phone_id, r.claimed_holder_id, r.code, r.point_id, r.at,"
        " h.organisation_id, ho.path, p.institution_org_id, po.path, f.support_id"
        " FROM wallet_qr_refusals r LEFT JOIN wallet_holders h ON h.id = r.claimed_holder_id"
        " LEFT JOIN organisations ho ON ho.id = h.organisation_id"
        " LEFT JOIN wallet_points p ON p.id = r.point_id"
        " LEFT JOIN organisations po ON po.id = p.institution_org_id"
        " LEFT JOIN wallet_qr_phones f ON f.id = r.claimed_phone_id"
        " WHERE r.id > $1 ORDER BY r.id LIMIT $2",
        {*cursor, kFraudScanRowsMax});
    if (!rows.ok()) return std::move(rows).error();
    int64_t last = *cursor;
    bool young = false;
    for (const Row& r : rows->rows) {
      if (r.Int(5) > now_ms_ - kFraudScanLagMs) {
        young = true;
        break;
      }
      last = r.Int(0);
      ++report_.qr_refusals;
      const std::optional<int64_t> phone = r.OptionalInt(1);
      if (r.Text(3) != "qr_replayed" || !phone) continue;  // only a real phone's codes replayed
      // The point's region, else the holder's organisation, names whose rules apply.
      std::optional<int64_t> org = r.OptionalInt(8);
      std::optional<std::string> path = r.OptionalText(9);
      if (!org) {
        org = r.OptionalInt(6);
        path = r.OptionalText(7);
      }
      if (!org || !path) continue;
      auto rules = RulesFor(*path);
      if (!rules.ok()) return std::move(rules).error();
      const FraudRule& rule = (**rules)[static_cast<size_t>(FraudRuleKind::kQrReplay)];
      if (!rule.enabled) continue;
      auto replays = tx_.QueryOne(
          "SELECT COUNT(*) FROM wallet_qr_refusals WHERE claimed_phone_id = $1 AND code = "
          "'qr_replayed' AND at > $2 AND at <= $3",
          {*phone, r.Int(5) - rule.window_s * 1000, r.Int(5)});
      if (!replays.ok()) return std::move(replays).error();
      const int64_t count = (*replays)->Int(0);
      if (count < rule.count) continue;
      Finding finding;
      finding.rule = &rule;
      finding.organisation_id = *org;
      finding.organisation_path = *path;
      finding.subject = fmt::format("phone:{}", *phone);
      finding.phone_id = phone;
      finding.holder_id = r.OptionalInt(2);
      finding.point_id = r.OptionalInt(4);
      finding.oppose_support_id = r.OptionalInt(10);
      finding.summary = fmt::format(
          "{} one-time QR codes of phone {} presented again within {}.", count, *phone,
          Duration(rule.window_s));
      finding.summary_fr = fmt::format(
          "{} codes QR à usage unique du téléphone {} présentés de nouveau en {}.", count, *phone,
          Duration(rule.window_s));
      finding.facts = object{{"replays", count}, {"window_s", rule.window_s}, {"last_at", r.Int(5)}};
      GUICHET_TRY_STATUS(Raise(finding));
    }
    GUICHET_TRY_STATUS(SetCursor(kQrCursor, last));
    return !young && static_cast<int64_t>(rows->rows.size()) == kFraudScanRowsMax;
  }

 private:
  Result<int64_t> Cursor(std::string_view name) {
    auto row = tx_.QueryOne("SELECT last_id FROM wallet_fraud_cursors WHERE name = $1",
                            {std::string(name)});
    if (!row.ok()) return std::move(row).error();
    if (!row->has_value()) {
      GUICHET_TRY_STATUS(tx_.Execute(
          "INSERT INTO wallet_fraud_cursors (name, last_id, updated_at) VALUES ($1, 0, $2)",
          {std::string(name), now_ms_}));
      return int64_t{0};
    }
    return (*row)->Int(0);
  }

  Status SetCursor(std::string_view name, int64_t last_id) {
    auto updated = tx_.Execute("UPDATE wallet_fraud_cursors SET last_id = $1, updated_at = $2 WHERE name = $3",
                       {last_id, now_ms_, std::string(name)});
    if (!updated.ok()) return std::move(updated).error();
    return OkStatus();
  }

  Result<const std::vector<FraudRule>*> RulesFor(const std::string& path) {
    auto found = rules_.find(path);
    if (found == rules_.end()) {
      auto rules = RulesAt(tx_, path);
      if (!rules.ok()) return std::move(rules).error();
      found = rules_.emplace(path, std::move(*rules)).first;
    }
    return &found->second;
  }

  Status Evaluate(const PosRow& row) {
    auto rules_found = RulesFor(row.region_path);
    if (!rules_found.ok()) return std::move(rules_found).error();
    const std::vector<FraudRule>& rules = **rules_found;
    const auto rule = [&](FraudRuleKind kind) -> const FraudRule& {
      return rules[static_cast<size_t>(kind)];
    };
    const bool debit = row.operation == "debit";
    const bool refused = row.state == "refused";
    const std::string support_subject =
        row.support_id ? fmt::format("support:{}", *row.support_id) : std::string();

    const auto base = [&](const FraudRule& r) {
      Finding finding;
      finding.rule = &r;
      finding.organisation_id = row.region_id;
      finding.organisation_path = row.region_path;
      finding.subject = support_subject;
      finding.holder_id = row.holder_id;
      finding.support_id = row.support_id;
      finding.point_id = row.point_id;
      finding.oppose_support_id = row.support_id;
      return finding;
    };

    if (const FraudRule& r = rule(FraudRuleKind::kAmount);
        r.enabled && debit && !refused && row.counter == kEuro && row.amount >= r.amount_cents &&
        row.support_id) {
      Finding finding = base(r);
      finding.subject = fmt::format("transaction:{}", row.id);
      finding.summary = fmt::format("A debit of {} at point {}, at or above {}.",
                                    Euros(row.amount), row.point_id, Euros(r.amount_cents));
      finding.summary_fr = fmt::format("Un débit de {} au point {}, égal ou supérieur à {}.",
                                       Euros(row.amount), row.point_id, Euros(r.amount_cents));
      finding.facts = object{{"transaction_id", row.id}, {"amount", row.amount},
                             {"threshold", r.amount_cents}, {"point_at", row.point_at_ms}};
      GUICHET_TRY_STATUS(Raise(finding));
    }

    if (const FraudRule& r = rule(FraudRuleKind::kVelocity);
        r.enabled && debit && !refused && row.support_id) {
      auto count = tx_.QueryOne(
          "SELECT COUNT(*) FROM wallet_pos_transactions WHERE support_id = $1 AND operation = "
          "'debit' AND state <> 'refused' AND is_test = 0 AND point_at_ms > $2 AND point_at_ms "
          "<= $3",
          {*row.support_id, row.point_at_ms - r.window_s * 1000, row.point_at_ms});
      if (!count.ok()) return std::move(count).error();
      const int64_t debits = (*count)->Int(0);
      if (debits >= r.count) {
        Finding finding = base(r);
        finding.summary = fmt::format("{} debits by support {} within {}.", debits,
                                      *row.support_id, Duration(r.window_s));
        finding.summary_fr = fmt::format("{} débits du support {} en {}.", debits,
                                         *row.support_id, Duration(r.window_s));
        finding.facts = object{{"debits", debits}, {"window_s", r.window_s},
                               {"last_transaction_id", row.id}};
        GUICHET_TRY_STATUS(Raise(finding));
      }
    }

    if (const FraudRule& r = rule(FraudRuleKind::kRefusals); r.enabled && refused) {
      auto count = tx_.QueryOne(
          "SELECT COUNT(*) FROM wallet_pos_transactions WHERE payer_key = $1 AND state = "
          "'refused' AND is_test = 0 AND point_at_ms > $2 AND point_at_ms <= $3",
          {row.payer_key, row.point_at_ms - r.window_s * 1000, row.point_at_ms});
      if (!count.ok()) return std::move(count).error();
      const int64_t refusals = (*count)->Int(0);
      if (refusals >= r.count) {
        Finding finding = base(r);
        if (finding.subject.empty()) finding.subject = "payer:" + row.payer_key;
        finding.summary = fmt::format("{} refused operations for {} within {} (last: {}).",
                                      refusals,
                                      row.support_id ? fmt::format("support {}", *row.support_id)
                                                     : std::string("an unknown payer"),
                                      Duration(r.window_s), row.refusal_code);
        finding.summary_fr = fmt::format(
            "{} opérations refusées pour {} en {} (dernier refus : {}).", refusals,
            row.support_id ? fmt::format("le support {}", *row.support_id)
                           : std::string("un payeur inconnu"),
            Duration(r.window_s), row.refusal_code);
        finding.facts = object{{"refusals", refusals}, {"window_s", r.window_s},
                               {"last_code", row.refusal_code}, {"last_transaction_id", row.id}};
        GUICHET_TRY_STATUS(Raise(finding));
      }
    }

    if (const FraudRule& r = rule(FraudRuleKind::kDistance);
        r.enabled && debit && !refused && row.support_id) {
      auto others = tx_.Query(
          "SELECT t.id, t.point_id, p.location, t.point_at_ms FROM wallet_pos_transactions t"
          " JOIN wallet_points p ON p.id = t.point_id WHERE t.support_id = $1 AND t.operation = "
          "'debit' AND t.state <> 'refused' AND t.is_test = 0 AND t.point_at_ms >= $2 AND "
          "t.point_at_ms <= $3 AND t.id <> $4 ORDER BY t.id LIMIT 100",
          {*row.support_id, row.point_at_ms - r.window_s * 1000,
           row.point_at_ms + r.window_s * 1000, row.id});
      if (!others.ok()) return std::move(others).error();
      const std::string site = SitePrefix(row.location, r.site_depth);
      for (const Row& other : others->rows) {
        const std::string other_site = SitePrefix(other.Text(2), r.site_depth);
        if (other_site == site) continue;
        Finding finding = base(r);
        const int64_t minutes = std::abs(row.point_at_ms - other.Int(3)) / 60000;
        finding.summary = fmt::format("Support {} paid at {} and at {} within {} min.",
                                      *row.support_id, other_site, site, minutes);
        finding.summary_fr = fmt::format("Le support {} a payé à {} et à {} à {} min d'écart.",
                                         *row.support_id, other_site, site, minutes);
        finding.facts = object{{"sites", boost::json::array{other_site, site}},
                               {"transactions", boost::json::array{other.Int(0), row.id}},
                               {"points", boost::json::array{other.Int(1), row.point_id}},
                               {"minutes_apart", minutes}};
        GUICHET_TRY_STATUS(Raise(finding));
        break;
      }
    }
    return OkStatus();
  }

  // Opens the alert unless the same rule already did for this subject within its window, acts
  // on it and tells the admins.
  Status Raise(Finding& finding) {
    const FraudRule& rule = *finding.rule;
    const std::string rule_name(FraudRuleKindName(rule.kind));
    auto recent = tx_.QueryOne(
        "SELECT id FROM wallet_fraud_alerts WHERE rule = $1 AND subject = $2 AND created_at > $3"
        " LIMIT 1",
        {rule_name, finding.subject, now_ms_ - std::max<int64_t>(rule.window_s, 1) * 1000});
    if (!recent.ok()) return std::move(recent).error();
    if (recent->has_value()) return OkStatus();
    std::string action_taken = "none";
    if (rule.action == FraudAction::kOppose && finding.oppose_support_id) {
      auto opposed = OpposeSupportForFraud(tx_, *finding.oppose_support_id, rule_name, now_ms_);
      if (!opposed.ok()) return std::move(opposed).error();
      if (*opposed) {
        action_taken = "support_opposed";
        ++report_.oppositions;
      } else {
        action_taken = "already_opposed";
      }
    }
    finding.facts["rule"] = object{{"count", rule.count},
                                   {"window_s", rule.window_s},
                                   {"amount_cents", rule.amount_cents},
                                   {"site_depth", rule.site_depth},
                                   {"action", ActionName(rule.action)},
                                   {"set_at", rule.organisation_id ? boost::json::value(
                                                                         *rule.organisation_id)
                                                                   : boost::json::value(nullptr)}};
    auto id = tx_.QueryOne(
        "INSERT INTO wallet_fraud_alerts (organisation_id, rule, subject, holder_id, support_id,"
        " phone_id, point_id, summary, facts, action_taken, state, created_at) VALUES ($1, $2, $3,"
        " $4, $5, $6, $7, $8, $9, $10, 'open', $11) RETURNING id",
        {finding.organisation_id, rule_name, finding.subject, internal::Nullable(finding.holder_id),
         internal::Nullable(finding.support_id), internal::Nullable(finding.phone_id),
         internal::Nullable(finding.point_id), finding.summary,
         boost::json::serialize(finding.facts), action_taken, now_ms_});
    if (!id.ok()) return std::move(id).error();
    const int64_t alert_id = (*id)->Int(0);
    ++report_.alerts;
    GUICHET_TRY_STATUS(internal::Audit(
        tx_, &system_, "wallet.fraud.alert", "wallet_fraud_alert", alert_id,
        finding.organisation_id, nullptr,
        object{{"rule", rule_name}, {"subject", finding.subject}, {"action_taken", action_taken}},
        system_.request_id, now_ms_));
    log::Warn("wallet fraud alert", {{"alert", alert_id}, {"rule", rule_name},
                                     {"subject", finding.subject}, {"action", action_taken}});
    return TellAdmins(finding, alert_id, action_taken);
  }

  // E-mails everyone who reads fraud alerts over the organisation (its own and its ancestors'
  // admins: regional and national).
  Status TellAdmins(const Finding& finding, int64_t alert_id, std::string_view action_taken) {
    std::vector<std::string> profiles;
    for (const identity::ProfileInfo& profile : authorizer_.catalog().profiles()) {
      if (authorizer_.catalog().PermissionsOf(profile.code).count(std::string(right::kFraudRead)))
        profiles.push_back(profile.code);
    }
    const std::vector<int64_t> ids = PathIds(finding.organisation_path);
    if (profiles.empty() || ids.empty()) return OkStatus();
    Params params;
    const std::string orgs = InList(params, ids);
    std::string profile_list;
    for (const std::string& profile : profiles) {
      params.emplace_back(profile);
      profile_list += fmt::format("{}${}", profile_list.empty() ? "" : ", ", params.size());
    }
    auto rows = tx_.Query("SELECT DISTINCT u.id, u.email, u.language FROM grants g JOIN users u"
                          " ON u.id = g.user_id WHERE u.status = 'active' AND g.organisation_id IN (" +
                              orgs + ") AND g.profile IN (" + profile_list + ") ORDER BY u.id",
                          params);
    if (!rows.ok()) return std::move(rows).error();
    for (const Row& row : rows->rows) {
      const bool french = row.Text(2) == "fr";
      notify::OutboxMessage message;
      message.recipient = row.Text(1);
      message.template_code = std::string(kFraudAlertTemplate);
      message.language = row.Text(2);
      message.person = privacy::PersonRef{std::string(kStaffPersonType), row.Int(0)};
      message.organisation_id = finding.organisation_id;
      message.variables_json = boost::json::serialize(
          object{{"alert_id", alert_id},
                 {"rule", FraudRuleKindName(finding.rule->kind)},
                 {"summary", french ? finding.summary_fr : finding.summary},
                 {"action_taken", ActionWords(action_taken, french)},
                 {"at", now_ms_}});
      auto queued = notify::Queue(tx_, message, now_ms_);
      if (!queued.ok()) return std::move(queued).error();
    }
    return OkStatus();
  }

  Transaction& tx_;
  const identity::Authorizer& authorizer_;
  const int64_t now_ms_;
  FraudScanReport& report_;
  std::map<std::string, std::vector<FraudRule>> rules_;
  identity::Caller system_{.kind = identity::Caller::Kind::kSystem, .request_id = "fraud-scan"};
};

}  // namespace

// ---- Rules -------------------------------------------------------------------------------------

std::string_view FraudRuleKindName(FraudRuleKind kind) {
  switch (kind) {
    case FraudRuleKind::kVelocity:
      return "velocity";
    case FraudRuleKind::kRefusals:
      return "refusals";
    case FraudRuleKind::kDistance:
      return "distance";
    case FraudRuleKind::kAmount:
      return "amount";
    case FraudRuleKind::kQrReplay:
      return "qr_replay";
  }
  GUICHET_ASSERT(false);
  return "";
}

std::optional<FraudRuleKind> ParseFraudRuleKind(std::string_view name) {
  for (FraudRuleKind kind : kFraudRuleKinds)
    if (FraudRuleKindName(kind) == name) return kind;
  return std::nullopt;
}

FraudRule DefaultFraudRule(FraudRuleKind kind) {
  FraudRule rule;
  rule.kind = kind;
  switch (kind) {
    case FraudRuleKind::kVelocity:  // a meal, a coffee and a snack are 3; 10 in 10 min is not
      rule.count = 10;
      rule.window_s = 600;
      break;
    case FraudRuleKind::kRefusals:
      rule.count = 5;
      rule.window_s = 600;
      break;
    case FraudRuleKind::kDistance:  // two campuses in a quarter of an hour
      rule.window_s = 900;
      rule.site_depth = 3;
      break;
    case FraudRuleKind::kAmount:
      rule.amount_cents = 5000;
      break;
    case FraudRuleKind::kQrReplay:
      rule.count = 3;
      rule.window_s = 3600;
      break;
  }
  return rule;
}

Status ValidateFraudRule(const FraudRule& rule) {
  const bool counted = rule.kind == FraudRuleKind::kVelocity ||
                       rule.kind == FraudRuleKind::kRefusals ||
                       rule.kind == FraudRuleKind::kQrReplay;
  if (counted && (rule.count < 1 || rule.count > kFraudCountMax))
    return RuleInvalid("count", fmt::format("The count must be 1 to {}.", kFraudCountMax));
  if (rule.kind != FraudRuleKind::kAmount && (rule.window_s < 1 || rule.window_s > kFraudWindowSMax))
    return RuleInvalid("window_s",
                       fmt::format("The window must be 1 to {} seconds.", kFraudWindowSMax));
  if (rule.kind == FraudRuleKind::kAmount &&
      (rule.amount_cents < 1 || rule.amount_cents > kFraudAmountCentsMax))
    return RuleInvalid("amount_cents", "The amount must be a positive number of cents.");
  if (rule.kind == FraudRuleKind::kDistance &&
      (rule.site_depth < 1 || rule.site_depth > kFraudSiteDepthMax))
    return RuleInvalid("site_depth",
                       fmt::format("The site depth must be 1 to {} segments.", kFraudSiteDepthMax));
  return OkStatus();
}

void DeclareFraudPermissions(identity::RightsCatalog& catalog) {
  catalog.AddPermission({std::string(right::kFraudRead), "Read fraud alerts and rules"});
  catalog.AddPermission({std::string(right::kFraudManage), "Set fraud rules and close alerts"});
}

Fraud::Fraud(Wallet& wallet) : wallet_(wallet) {}

Result<std::vector<FraudRule>> Fraud::Rules(const identity::Caller& caller, int64_t organisation_id) {
  return wallet_.database().Transact<std::vector<FraudRule>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<FraudRule>> {
        auto org = Organisation(tx, organisation_id);
        if (!org.ok()) return std::move(org).error();
        if (!org->has_value() ||
            !wallet_.authorizer().Allows(caller, right::kFraudRead, (*org)->second)) {
          return Error{ErrorKind::kNotFound, "organisation_not_found", "No such organisation.", {}};
        }
        return RulesAt(tx, (*org)->second);
      });
}

Result<FraudRule> Fraud::SetRule(const identity::Caller& caller, int64_t organisation_id,
                                 const FraudRule& rule) {
  GUICHET_TRY_STATUS(ValidateFraudRule(rule));
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<FraudRule>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<FraudRule> {
        auto org = Organisation(tx, organisation_id);
        if (!org.ok()) return std::move(org).error();
        if (!org->has_value() ||
            !wallet_.authorizer().Allows(caller, right::kFraudRead, (*org)->second)) {
          return Error{ErrorKind::kNotFound, "organisation_not_found", "No such organisation.", {}};
        }
        if (!wallet_.authorizer().Allows(caller, right::kFraudManage, (*org)->second))
          return Forbidden("You cannot set fraud rules here.");
        const std::string kind(FraudRuleKindName(rule.kind));
        GUICHET_TRY_STATUS(tx.Execute(
            "INSERT INTO wallet_fraud_rules (organisation_id, kind, enabled, count, window_s,"
            " amount_cents, site_depth, action, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5,"
            " $6, $7, $8, $9, $10) ON CONFLICT (organisation_id, kind) DO UPDATE SET enabled ="
            " excluded.enabled, count = excluded.count, window_s = excluded.window_s, amount_cents"
            " = excluded.amount_cents, site_depth = excluded.site_depth, action = excluded.action,"
            " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            {organisation_id, kind, int64_t{rule.enabled ? 1 : 0}, rule.count, rule.window_s,
             rule.amount_cents, rule.site_depth, std::string(ActionName(rule.action)), now,
             internal::Nullable(internal::ActorId(caller))}));
        FraudRule stored = rule;
        stored.organisation_id = organisation_id;
        stored.organisation_path = (*org)->second;
        GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.fraud.rule.set",
                                           "wallet_fraud_rule", organisation_id, organisation_id,
                                           nullptr, FraudRuleJson(stored), caller.request_id, now));
        return stored;
      });
}

Status Fraud::ClearRule(const identity::Caller& caller, int64_t organisation_id, FraudRuleKind kind) {
  const int64_t now = wallet_.clock().NowMs();
  auto cleared = wallet_.database().Transact<bool>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<bool> {
        auto org = Organisation(tx, organisation_id);
        if (!org.ok()) return std::move(org).error();
        if (!org->has_value() ||
            !wallet_.authorizer().Allows(caller, right::kFraudRead, (*org)->second)) {
          return Error{ErrorKind::kNotFound, "organisation_not_found", "No such organisation.", {}};
        }
        if (!wallet_.authorizer().Allows(caller, right::kFraudManage, (*org)->second))
          return Forbidden("You cannot set fraud rules here.");
        const std::string name(FraudRuleKindName(kind));
        auto removed = tx.QueryOne(
            "DELETE FROM wallet_fraud_rules WHERE organisation_id = $1 AND kind = $2 RETURNING kind",
            {organisation_id, name});
        if (!removed.ok()) return std::move(removed).error();
        if (!removed->has_value()) {
          return Error{ErrorKind::kNotFound, "fraud_rule_not_set",
                       "This organisation has no rule of its own of that kind.", {}};
        }
        GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.fraud.rule.clear",
                                           "wallet_fraud_rule", organisation_id, organisation_id,
                                           object{{"kind", name}}, nullptr, caller.request_id, now));
        return true;
      });
  if (!cleared.ok()) return std::move(cleared).error();
  return OkStatus();
}

// ---- Alerts ------------------------------------------------------------------------------------

Result<std::vector<FraudAlert>> Fraud::Alerts(const identity::Caller& caller, std::string_view state,
                                              int64_t limit) {
  if (state != "open" && state != "closed" && state != "all") {
    return RuleInvalid("state", "The state must be open, closed or all.");
  }
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kFraudRead);
  if (scopes.empty()) return Forbidden("You cannot read fraud alerts.");
  return wallet_.database().Transact<std::vector<FraudAlert>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<FraudAlert>> {
        Params params;
        std::string sql = fmt::format(
            "SELECT {} FROM wallet_fraud_alerts a JOIN organisations o ON o.id = a.organisation_id"
            " WHERE {}",
            kAlertColumns, ScopeCondition(params, scopes));
        if (state != "all") {
          params.emplace_back(std::string(state));
          sql += fmt::format(" AND a.state = ${}", params.size());
        }
        params.emplace_back(std::clamp<int64_t>(limit, 1, kFraudAlertListMax));
        sql += fmt::format(" ORDER BY a.id DESC LIMIT ${}", params.size());
        auto rows = tx.Query(sql, params);
        if (!rows.ok()) return std::move(rows).error();
        std::vector<FraudAlert> alerts;
        for (const Row& row : rows->rows) alerts.push_back(AlertOfRow(row));
        return alerts;
      });
}

Result<FraudAlert> Fraud::GetAlert(const identity::Caller& caller, int64_t alert_id) {
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kFraudRead);
  return wallet_.database().Transact<FraudAlert>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<FraudAlert> {
        auto alert = AlertInScope(tx, alert_id, scopes);
        if (!alert.ok()) return std::move(alert).error();
        if (!alert->has_value()) return AlertNotFound();
        return std::move(**alert);
      });
}

Result<FraudAlert> Fraud::CloseAlert(const identity::Caller& caller, int64_t alert_id,
                                     std::string_view note) {
  if (note.empty() || http::Utf8Length(note) > kFraudNoteLengthMax) {
    return RuleInvalid("note", fmt::format("Say in 1 to {} characters what was found.",
                                           kFraudNoteLengthMax));
  }
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<FraudAlert>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<FraudAlert> {
        auto alert = AlertInScope(tx, alert_id,
                                  wallet_.authorizer().Scopes(caller, right::kFraudRead));
        if (!alert.ok()) return std::move(alert).error();
        if (!alert->has_value()) return AlertNotFound();
        auto manageable = AlertInScope(tx, alert_id,
                                       wallet_.authorizer().Scopes(caller, right::kFraudManage));
        if (!manageable.ok()) return std::move(manageable).error();
        if (!manageable->has_value()) return Forbidden("You cannot close this alert.");
        if ((*alert)->state == "closed")
          return Error{ErrorKind::kConflict, "fraud_alert_closed", "This alert is closed already.", {}};
        GUICHET_TRY_STATUS(tx.Execute(
            "UPDATE wallet_fraud_alerts SET state = 'closed', closed_at = $1, closed_by = $2,"
            " note = $3 WHERE id = $4 AND state = 'open'",
            {now, internal::Nullable(internal::ActorId(caller)), std::string(note), alert_id}));
        GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.fraud.alert.close",
                                           "wallet_fraud_alert", alert_id,
                                           (*alert)->organisation_id, object{{"state", "open"}},
                                           object{{"state", "closed"}, {"note", note}},
                                           caller.request_id, now));
        auto closed = AlertInScope(tx, alert_id,
                                   wallet_.authorizer().Scopes(caller, right::kFraudRead));
        if (!closed.ok()) return std::move(closed).error();
        return std::move(**closed);
      });
}

// ---- Scan --------------------------------------------------------------------------------------

Result<FraudScanReport> Fraud::Scan() {
  FraudScanReport report;
  for (auto step : {&Scanner::PosStep, &Scanner::QrStep}) {
    for (int64_t i = 0; i < kFraudScanStepsMax; ++i) {
      const int64_t now = wallet_.clock().NowMs();
      FraudScanReport step_report;
      auto more = wallet_.database().Transact<bool>(
          TransactionMode::kWrite, [&](Transaction& tx) -> Result<bool> {
            step_report = {};
            Scanner scanner(tx, wallet_.authorizer(), now, step_report);
            return (scanner.*step)();
          });
      if (!more.ok()) return std::move(more).error();
      report.transactions += step_report.transactions;
      report.qr_refusals += step_report.qr_refusals;
      report.alerts += step_report.alerts;
      report.oppositions += step_report.oppositions;
      if (!*more) break;
    }
  }
  return report;
}

// ---- Wiring ------------------------------------------------------------------------------------

std::vector<storage::Migration> FraudMigrations() {
  constexpr std::string_view kSchema =
      // One rule per organisation and kind; the deepest one on a path applies.
      "CREATE TABLE wallet_fraud_rules (organisation_id BIGINT NOT NULL REFERENCES organisations "
      "(id),"
      " kind TEXT NOT NULL CHECK (kind IN ('velocity', 'refusals', 'distance', 'amount', "
      "'qr_replay')),"
      " enabled BIGINT NOT NULL CHECK (enabled IN (0, 1)), count BIGINT NOT NULL, window_s BIGINT "
      "NOT NULL,"
      " amount_cents BIGINT NOT NULL, site_depth BIGINT NOT NULL,"
      " action TEXT NOT NULL CHECK (action IN ('alert', 'oppose')), updated_at BIGINT NOT NULL,"
      " updated_by BIGINT, PRIMARY KEY (organisation_id, kind));"
      " CREATE TABLE wallet_fraud_alerts ({id}, organisation_id BIGINT NOT NULL REFERENCES "
      "organisations (id),"
      " rule TEXT NOT NULL, subject TEXT NOT NULL, holder_id BIGINT, support_id BIGINT, phone_id "
      "BIGINT,"
      " point_id BIGINT, summary TEXT NOT NULL, facts TEXT NOT NULL, action_taken TEXT NOT NULL,"
      " state TEXT NOT NULL CHECK (state IN ('open', 'closed')), created_at BIGINT NOT NULL,"
      " closed_at BIGINT, closed_by BIGINT, note TEXT);"
      " CREATE INDEX wallet_fraud_alerts_subject ON wallet_fraud_alerts (rule, subject, "
      "created_at);"
      " CREATE INDEX wallet_fraud_alerts_org ON wallet_fraud_alerts (organisation_id, id);"
      " CREATE TABLE wallet_fraud_cursors (name TEXT PRIMARY KEY, last_id BIGINT NOT NULL,"
      " updated_at BIGINT NOT NULL);"
      // What the rules count: a support's debits and a payer's refusals over time.
      " CREATE INDEX wallet_pos_transactions_support_time ON wallet_pos_transactions "
      "(support_id, point_at_ms);"
      " CREATE INDEX wallet_pos_transactions_payer_time ON wallet_pos_transactions (payer_key, "
      "point_at_ms);";
  const auto schema = [&](std::string_view id) {
    return fmt::format(fmt::runtime(kSchema), fmt::arg("id", id));
  };
  return {{"wallet.fraud", 1, "fraud rules, alerts, scan cursors; indexes the rules count with",
           schema("id INTEGER PRIMARY KEY AUTOINCREMENT"),
           schema("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")}};
}

void AddFraudTemplates(notify::TemplateCatalog& catalog) {
  const auto text = [](std::string subject, std::string body) {
    std::string html = "<p>";
    for (char c : body) html += c == '\n' ? std::string("<br>") : std::string(1, c);
    return notify::TemplateText{std::move(subject), std::move(body), html + "</p>"};
  };
  catalog.Add({std::string(kFraudAlertTemplate),
               "To national and regional admins: a fraud rule fired (W20)",
               "transactional",
               {{"alert_id", "number", "the alert's number", 42},
                {"rule", "text", "the rule that fired", "velocity"},
                {"summary", "text", "what the rule saw", "12 debits by support 1234 within 10 min."},
                {"action_taken", "text", "what was done, in words", "none (alert only)"},
                {"at", "datetime", "when", int64_t{1767225600000}}},
               {{"fr", text("Alerte de fraude n° {{ alert_id }} ({{ rule }})",
                            "Une règle de fraude s'est déclenchée le {{ at | datetime }}.\n\n"
                            "{{ summary }}\n\nMesure prise : {{ action_taken }}.\n\n"
                            "Consultez l'alerte n° {{ alert_id }} dans Guichet pour la clore.\n")},
                {"en", text("Fraud alert #{{ alert_id }} ({{ rule }})",
                            "A fraud rule fired on {{ at | datetime }}.\n\n{{ summary }}\n\n"
                            "Action taken: {{ action_taken }}.\n\n"
                            "Open alert #{{ alert_id }} in Guichet to close it.\n")}}});
}

void RegisterFraudJobs(jobs::Runner& runner, Fraud& fraud, int64_t every_ms) {
  runner.Register(std::string(kFraudScanJob), [&fraud](const jobs::JobRecord&) -> Status {
    auto report = fraud.Scan();
    if (!report.ok()) return std::move(report).error();
    if (report->alerts > 0) {
      log::Info("wallet fraud scan", {{"transactions", report->transactions},
                                      {"qr_refusals", report->qr_refusals},
                                      {"alerts", report->alerts},
                                      {"oppositions", report->oppositions}});
    }
    return OkStatus();
  });
  runner.Every(std::string(kFraudScanJob), every_ms);
}

boost::json::object FraudRuleJson(const FraudRule& rule) {
  object o{{"kind", FraudRuleKindName(rule.kind)},
           {"enabled", rule.enabled},
           {"action", ActionName(rule.action)}};
  switch (rule.kind) {
    case FraudRuleKind::kVelocity:
    case FraudRuleKind::kRefusals:
    case FraudRuleKind::kQrReplay:
      o["count"] = rule.count;
      o["window_s"] = rule.window_s;
      break;
    case FraudRuleKind::kDistance:
      o["window_s"] = rule.window_s;
      o["site_depth"] = rule.site_depth;
      break;
    case FraudRuleKind::kAmount:
      o["amount_cents"] = rule.amount_cents;
      break;
  }
  if (rule.organisation_id) {
    o["set_at"] = object{{"organisation_id", *rule.organisation_id},
                         {"organisation_path", rule.organisation_path}};
  } else {
    o["set_at"] = nullptr;  // the built-in default
  }
  return o;
}

boost::json::object FraudAlertJson(const FraudAlert& alert) {
  const auto optional = [](const std::optional<int64_t>& v) {
    return v ? boost::json::value(*v) : boost::json::value(nullptr);
  };
  object o{{"id", alert.id},
           {"organisation_id", alert.organisation_id},
           {"rule", alert.rule},
           {"subject", alert.subject},
           {"holder_id", optional(alert.holder_id)},
           {"support_id", optional(alert.support_id)},
           {"phone_id", optional(alert.phone_id)},
           {"point_id", optional(alert.point_id)},
           {"summary", alert.summary},
           {"facts", alert.facts},
           {"action_taken", alert.action_taken},
           {"state", alert.state},
           {"created_at", FormatIso8601(alert.created_at_ms)}};
  if (alert.closed_at_ms) {
    o["closed_at"] = FormatIso8601(*alert.closed_at_ms);
    o["closed_by"] = optional(alert.closed_by);
    o["note"] = alert.note;
  }
  return o;
}

}  // namespace guichet::wallet
