#include "platform/privacy/privacy.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>
#include <tuple>

#include "platform/audit/audit.h"
#include "platform/base/log.h"
#include "platform/http/json.h"
#include "platform/identity/identity_internal.h"
#include "platform/jobs/jobs.h"
#include "platform/orgs/orgs.h"

namespace guichet::privacy {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;
using identity::Caller;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

// ---- Schema ----------------------------------------------------------------------------------

std::string SchemaSql(std::string_view id_column) {
  return fmt::format(
      "CREATE TABLE consents ({id}, person_type TEXT NOT NULL"
      " CHECK (length(person_type) BETWEEN 1 AND 40), person_id BIGINT NOT NULL,"
      " purpose TEXT NOT NULL, channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'push')),"
      " granted BOOLEAN NOT NULL, wording TEXT NOT NULL, wording_version TEXT NOT NULL,"
      " source TEXT NOT NULL CHECK (source IN ('web', 'api', 'counter')), at_ms BIGINT NOT NULL,"
      " request_id TEXT NOT NULL);"
      " CREATE INDEX consents_person ON consents (person_type, person_id, purpose, channel, id);"
      " CREATE TABLE privacy_erasures (person_type TEXT NOT NULL, person_id BIGINT NOT NULL,"
      " reason TEXT NOT NULL, holds TEXT NOT NULL, erased_by BIGINT, erased_at BIGINT NOT NULL,"
      " request_id TEXT NOT NULL, PRIMARY KEY (person_type, person_id));"
      // Exports list the entries a person made; without this the whole trail would be read.
      " CREATE INDEX privacy_audit_actor ON audit_entries (actor_type, actor_id, seq);",
      fmt::arg("id", id_column));
}

// Consent rows are the proof of what a person agreed to (GDPR article 7(1)): never changed,
// never deleted, not even by an erasure, which only marks the person erased.
constexpr std::string_view kSqliteGuards =
    " CREATE TRIGGER consents_no_update BEFORE UPDATE ON consents"
    " BEGIN SELECT RAISE(ABORT, 'consent records are append-only'); END;"
    " CREATE TRIGGER consents_no_delete BEFORE DELETE ON consents"
    " BEGIN SELECT RAISE(ABORT, 'consent records are append-only'); END;";
constexpr std::string_view kPostgresGuards =
    " CREATE FUNCTION consents_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " RAISE EXCEPTION 'consent records are append-only: % refused', TG_OP; END $$;"
    " CREATE TRIGGER consents_no_change BEFORE UPDATE OR DELETE ON consents"
    " FOR EACH ROW EXECUTE FUNCTION consents_refuse();"
    " CREATE TRIGGER consents_no_truncate BEFORE TRUNCATE ON consents"
    " FOR EACH STATEMENT EXECUTE FUNCTION consents_refuse();";

// ---- Small helpers ---------------------------------------------------------------------------

Error Validation(std::string_view pointer, std::string message) {
  return Error{
      ErrorKind::kValidation, "validation_failed", message, {{std::string(pointer), message}}};
}

Error StaffNotFound() {
  // The same answer for an id outside the caller's scope: ids cannot be probed.
  return Error::NotFound("staff_not_found", "No such staff account in your organisations.");
}

bool IsPurposeName(std::string_view text) {
  if (text.empty() || static_cast<int64_t>(text.size()) > kPurposeLengthMax) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

bool IsChannel(std::string_view channel) {
  return channel == "email" || channel == "sms" || channel == "push";
}

value OptionalNumber(const std::optional<int64_t>& number) {
  return number ? value(*number) : value(nullptr);
}

value OptionalTime(const std::optional<int64_t>& at_ms) {
  return at_ms ? value(FormatIso8601(*at_ms)) : value(nullptr);
}

value ParseOr(const std::string& text) {
  boost::system::error_code ec;
  value parsed = boost::json::parse(text, ec);
  return ec ? value(text) : parsed;
}

std::string UpperBound(std::string_view path) {
  // Paths end with '/', and '0' follows '/': [path, upper) is the subtree.
  std::string upper(path);
  GUICHET_ASSERT(!upper.empty() && upper.back() == '/');
  upper.back() = '0';
  return upper;
}

// ---- Consents --------------------------------------------------------------------------------

constexpr std::string_view kConsentColumns =
    "id, person_type, person_id, purpose, channel, granted, wording, wording_version, source,"
    " at_ms, request_id";

Consent ToConsent(const Row& row) {
  Consent consent;
  consent.id = row.Int(0);
  consent.person = {row.Text(1), row.Int(2)};
  consent.purpose = row.Text(3);
  consent.channel = row.Text(4);
  consent.granted = row.Bool(5);
  consent.wording = row.Text(6);
  consent.wording_version = row.Text(7);
  consent.source = row.Text(8);
  consent.at_ms = row.Int(9);
  consent.request_id = row.Text(10);
  GUICHET_ASSERT(consent.id > 0 && IsChannel(consent.channel));
  return consent;
}

// Newest first.
Result<std::vector<Consent>> ConsentHistory(Transaction& tx, const PersonRef& person,
                                            int64_t limit) {
  auto rows = tx.Query(fmt::format("SELECT {} FROM consents WHERE person_type = $1 AND "
                                   "person_id = $2 ORDER BY id DESC LIMIT $3",
                                   kConsentColumns),
                       {person.type, person.id, limit});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<Consent> history;
  for (const Row& row : rows->rows) history.push_back(ToConsent(row));
  return history;
}

// The first (newest) choice of each (purpose, channel), in purpose then channel order.
std::vector<Consent> CurrentOf(const std::vector<Consent>& newest_first) {
  std::vector<Consent> current;
  for (const Consent& consent : newest_first) {
    const bool seen = std::any_of(current.begin(), current.end(), [&](const Consent& kept) {
      return kept.purpose == consent.purpose && kept.channel == consent.channel;
    });
    if (!seen) current.push_back(consent);
  }
  std::sort(current.begin(), current.end(), [](const Consent& a, const Consent& b) {
    return std::tie(a.purpose, a.channel) < std::tie(b.purpose, b.channel);
  });
  return current;
}

Result<bool> IsErased(Transaction& tx, const PersonRef& person) {
  auto row = tx.QueryOne("SELECT 1 FROM privacy_erasures WHERE person_type = $1 AND person_id = $2",
                         {person.type, person.id});
  if (!row.ok()) return std::move(row).error();
  return row->has_value();
}

}  // namespace

object ConsentJson(const Consent& consent) {
  return {{"id", consent.id},
          {"purpose", consent.purpose},
          {"channel", consent.channel},
          {"granted", consent.granted},
          {"wording", consent.wording},
          {"wording_version", consent.wording_version},
          {"source", consent.source},
          {"at", FormatIso8601(consent.at_ms)},
          {"request_id", consent.request_id}};
}

array ConsentsJson(const std::vector<Consent>& consents) {
  array items;
  for (const Consent& consent : consents) items.push_back(ConsentJson(consent));
  return items;
}

namespace {

Status CheckChoice(const ConsentChoice& choice, const ProcessingRegister& processing) {
  std::vector<FieldError> fields;
  if (!IsPurposeName(choice.purpose) || !processing.IsConsentPurpose(choice.purpose)) {
    fields.push_back({"/purpose", "not a purpose one can consent to (see the register)"});
  }
  if (!IsChannel(choice.channel)) fields.push_back({"/channel", "must be email, sms or push"});
  const int64_t wording = http::Utf8Length(choice.wording);
  if (wording < 1 || wording > kWordingLengthMax) {
    fields.push_back({"/wording", fmt::format("must have 1 to {} characters", kWordingLengthMax)});
  }
  const int64_t version = http::Utf8Length(choice.wording_version);
  if (version < 1 || version > kWordingVersionLengthMax) {
    fields.push_back({"/wording_version",
                      fmt::format("must have 1 to {} characters", kWordingVersionLengthMax)});
  }
  if (fields.empty()) return OkStatus();
  return Error{ErrorKind::kValidation, "validation_failed", "The consent is not valid.",
               std::move(fields)};
}

PersonRef PersonOf(const Caller& caller) { return {std::string(kStaff), caller.id}; }

// Only a person is "self": an API key or a device whose id equals a user's id is not that user.
bool IsSelf(const Caller& caller, int64_t user_id) {
  return caller.kind == Caller::Kind::kUser && caller.id == user_id;
}

// A person choosing for themselves does so in the web app (their session); "api" and
// "counter" come with API keys and with staff recording a choice at a counter.
std::string_view SourceOf(const Caller& caller) {
  GUICHET_ASSERT(caller.kind == Caller::Kind::kUser);
  return "web";
}

Status RequirePerson(const Caller& caller) {
  if (caller.anonymous()) {
    return Error{ErrorKind::kUnauthenticated, "unauthenticated", "Log in to do this.", {}};
  }
  // Machines (API keys, devices) have no personal data of their own, and exporting or erasing
  // someone's data is a decision a person takes and answers for (GDPR art. 5(2)): an API key
  // holding privacy.* scopes is refused here too.
  if (caller.kind != Caller::Kind::kUser) {
    return Error{ErrorKind::kForbidden,
                 "people_only",
                 "Only a person who logs in can do this, not an API key or a device.",
                 {}};
  }
  return OkStatus();
}

}  // namespace

Result<CurrentConsent> ConsentState(Transaction& tx, std::string_view person_type,
                                    int64_t person_id, std::string_view purpose,
                                    std::string_view channel) {
  const PersonRef person{std::string(person_type), person_id};
  auto row = tx.QueryOne(
      fmt::format("SELECT {} FROM consents WHERE person_type = $1 AND person_id = $2 AND "
                  "purpose = $3 AND channel = $4 ORDER BY id DESC LIMIT 1",
                  kConsentColumns),
      {person.type, person.id, std::string(purpose), std::string(channel)});
  if (!row.ok()) return std::move(row).error();
  auto erased = IsErased(tx, person);
  if (!erased.ok()) return std::move(erased).error();
  CurrentConsent state;
  state.person_erased = *erased;
  if (row->has_value()) state.latest = ToConsent(**row);
  state.granted = !state.person_erased && state.latest.has_value() && state.latest->granted;
  return state;
}

Result<std::vector<int64_t>> PeopleWithoutConsent(
    Transaction& tx, std::string_view purpose, std::string_view channel,
    const std::vector<std::string>& organisation_paths, int64_t limit) {
  limit = std::clamp<int64_t>(limit, 1, kPeopleWithoutConsentMax);
  std::set<int64_t> people;
  for (const std::string& path : organisation_paths) {
    // A person has consented when a granted row has no later row for the same purpose/channel.
    auto rows = tx.Query(
        "SELECT DISTINCT u.id FROM users u JOIN grants g ON g.user_id = u.id"
        " JOIN organisations o ON o.id = g.organisation_id"
        " WHERE u.status = 'active' AND o.path >= $1 AND o.path < $2 AND NOT EXISTS ("
        " SELECT 1 FROM consents c WHERE c.person_type = 'staff' AND c.person_id = u.id"
        " AND c.purpose = $3 AND c.channel = $4 AND c.granted AND NOT EXISTS ("
        " SELECT 1 FROM consents d WHERE d.person_type = c.person_type"
        " AND d.person_id = c.person_id AND d.purpose = c.purpose AND d.channel = c.channel"
        " AND d.id > c.id)) ORDER BY u.id LIMIT $5",
        {path, UpperBound(path), std::string(purpose), std::string(channel), limit});
    if (!rows.ok()) return std::move(rows).error();
    for (const Row& row : rows->rows) people.insert(row.Int(0));
  }
  std::vector<int64_t> ids(people.begin(), people.end());
  if (static_cast<int64_t>(ids.size()) > limit) ids.resize(limit);
  return ids;
}

// ---- Registries ------------------------------------------------------------------------------

void ExportRegistry::Add(std::string name, ExportSection section) {
  GUICHET_ASSERT(!name.empty() && section != nullptr);
  for (const auto& existing : sections_) GUICHET_ASSERT(existing.first != name);
  sections_.emplace_back(std::move(name), std::move(section));
}

void ErasureRegistry::Add(ErasureStep step) {
  GUICHET_ASSERT(!step.name.empty() && step.check != nullptr && step.erase != nullptr);
  for (const ErasureStep& existing : steps_) GUICHET_ASSERT(existing.name != step.name);
  steps_.push_back(std::move(step));
}

void ProcessingRegister::Add(ProcessingActivity activity) {
  GUICHET_ASSERT(!activity.code.empty() && !activity.name.empty() && !activity.purpose.empty());
  GUICHET_ASSERT(!activity.legal_basis.empty() && !activity.retention.empty());
  GUICHET_ASSERT(!activity.data_categories.empty() && !activity.data_subjects.empty());
  for (const std::string& purpose : activity.consent_purposes) {
    GUICHET_ASSERT(IsPurposeName(purpose));
  }
  for (const ProcessingActivity& existing : activities_) {
    GUICHET_ASSERT(existing.code != activity.code);
  }
  activities_.push_back(std::move(activity));
}

bool ProcessingRegister::IsConsentPurpose(std::string_view purpose) const {
  for (const ProcessingActivity& activity : activities_) {
    const auto& purposes = activity.consent_purposes;
    if (std::find(purposes.begin(), purposes.end(), purpose) != purposes.end()) return true;
  }
  return false;
}

std::vector<std::string> ProcessingRegister::ConsentPurposes() const {
  std::set<std::string> purposes;
  for (const ProcessingActivity& activity : activities_) {
    purposes.insert(activity.consent_purposes.begin(), activity.consent_purposes.end());
  }
  return {purposes.begin(), purposes.end()};
}

// ---- Options, migrations, permissions --------------------------------------------------------

RetentionOptions Clamped(RetentionOptions options) {
  options.purge_interval_s =
      std::clamp<int64_t>(options.purge_interval_s, 60, int64_t{7} * 24 * 3600);
  options.purge_rows_max = std::clamp<int64_t>(options.purge_rows_max, 1, kPurgeRowsMax);
  options.expired_sessions_keep_s =
      std::clamp<int64_t>(options.expired_sessions_keep_s, 0, int64_t{366} * 24 * 3600);
  options.password_resets_keep_days =
      std::clamp<int64_t>(options.password_resets_keep_days, 1, 366);
  return options;
}

PrivacyOptions Clamped(PrivacyOptions options) {
  options.retention = Clamped(options.retention);
  options.consent_rows_per_person_max =
      std::clamp<int64_t>(options.consent_rows_per_person_max, 1, kConsentRowsPerPersonMax);
  return options;
}

std::vector<storage::Migration> Migrations() {
  return {{"platform.privacy", 1, "create consents and erasures",
           SchemaSql("id INTEGER PRIMARY KEY AUTOINCREMENT") + std::string(kSqliteGuards),
           SchemaSql("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY") +
               std::string(kPostgresGuards)}};
}

void DeclarePermissions(identity::RightsCatalog& catalog) {
  catalog.AddPermission({"privacy.export",
                         "Export everything held on a staff member of one's scope (right of "
                         "access and portability)"});
  catalog.AddPermission({"privacy.erase",
                         "Erase a staff member's personal data (right to erasure), keeping what "
                         "the law requires"});
}

// ---- Export sections of the platform ---------------------------------------------------------

namespace {

// Variables of queued messages that hold a live secret (reset and invitation links, codes):
// an export is stored and forwarded, and must not carry a way into the account.
bool SecretKey(std::string_view key) {
  for (std::string_view word : {"token", "secret", "password", "code"}) {
    if (key.find(word) != std::string_view::npos) return true;
  }
  return false;
}

value WithoutSecrets(const std::string& variables) {
  value parsed = ParseOr(variables);
  if (!parsed.is_object()) return parsed;
  for (auto& [key, item] : parsed.as_object()) {
    if (SecretKey(key)) item = "[withheld: secret]";
  }
  return parsed;
}

// Rows of a query as objects, with "truncated" when the bound was reached.
object Bounded(array items, int64_t rows_max) {
  const bool truncated = static_cast<int64_t>(items.size()) > rows_max;
  if (truncated) items.resize(static_cast<size_t>(rows_max));
  return {{"items", std::move(items)}, {"truncated", truncated}};
}

Result<value> AccountSection(Transaction& tx, const PersonRef& person) {
  if (person.type != kStaff) return value(nullptr);
  // Named columns only: password_hash, totp secrets and counters of secrets never leave.
  auto row = tx.QueryOne(
      "SELECT id, email, display_name, language, status, must_change_password,"
      " totp_secret IS NOT NULL, failed_logins, locked_until, created_at, updated_at"
      " FROM users WHERE id = $1",
      {person.id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return value(nullptr);
  const Row& r = **row;
  return value(object{{"id", r.Int(0)},
                      {"email", r.Text(1)},
                      {"display_name", r.Text(2)},
                      {"language", r.Text(3)},
                      {"status", r.Text(4)},
                      {"must_change_password", r.Bool(5)},
                      {"second_factor_enabled", r.Bool(6)},
                      {"failed_logins", r.Int(7)},
                      {"locked_until", r.Int(8) > 0 ? value(FormatIso8601(r.Int(8))) : nullptr},
                      {"created_at", FormatIso8601(r.Int(9))},
                      {"updated_at", FormatIso8601(r.Int(10))}});
}

Result<value> GrantsSection(Transaction& tx, const PersonRef& person) {
  if (person.type != kStaff) return value(nullptr);
  auto rows = tx.Query(
      "SELECT g.id, g.organisation_id, o.name, g.profile, g.created_at FROM grants g"
      " JOIN organisations o ON o.id = g.organisation_id WHERE g.user_id = $1"
      " ORDER BY o.path, g.profile LIMIT $2",
      {person.id, kExportRowsMax + 1});
  if (!rows.ok()) return std::move(rows).error();
  array items;
  for (const Row& r : rows->rows) {
    items.push_back(object{{"id", r.Int(0)},
                           {"organisation_id", r.Int(1)},
                           {"organisation_name", r.Text(2)},
                           {"profile", r.Text(3)},
                           {"granted_at", FormatIso8601(r.Int(4))}});
  }
  return value(Bounded(std::move(items), kExportRowsMax));
}

Result<value> SessionsSection(Transaction& tx, const PersonRef& person, int64_t now_ms) {
  if (person.type != kStaff) return value(nullptr);
  // Times only: neither the token hash nor the CSRF token is the person's data to carry away.
  auto rows = tx.Query(
      "SELECT created_at, last_seen_at, expires_at, second_factor_done FROM sessions"
      " WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2",
      {person.id, kExportRowsMax + 1});
  if (!rows.ok()) return std::move(rows).error();
  array items;
  for (const Row& r : rows->rows) {
    items.push_back(object{{"created_at", FormatIso8601(r.Int(0))},
                           {"last_seen_at", FormatIso8601(r.Int(1))},
                           {"expires_at", FormatIso8601(r.Int(2))},
                           {"active", r.Int(2) > now_ms},
                           {"second_factor_done", r.Bool(3)}});
  }
  return value(Bounded(std::move(items), kExportRowsMax));
}

Result<value> ConsentsSection(Transaction& tx, const PersonRef& person) {
  auto history = ConsentHistory(tx, person, kExportRowsMax + 1);
  if (!history.ok()) return std::move(history).error();
  auto erased = IsErased(tx, person);
  if (!erased.ok()) return std::move(erased).error();
  const bool truncated = static_cast<int64_t>(history->size()) > kExportRowsMax;
  if (truncated) history->resize(kExportRowsMax);
  return value(object{{"current", ConsentsJson(CurrentOf(*history))},
                      {"history", ConsentsJson(*history)},
                      {"truncated", truncated},
                      {"person_erased", *erased}});
}

object AuditJson(const audit::AuditRecord& record) {
  const audit::AuditEntry& entry = record.entry;
  return {{"seq", record.seq},
          {"at", FormatIso8601(record.at_ms)},
          {"actor_type", entry.actor_type},
          {"actor_id", OptionalNumber(entry.actor_id)},
          {"organisation_id", OptionalNumber(entry.organisation_id)},
          {"action", entry.action},
          {"before", ParseOr(entry.before_json)},
          {"after", ParseOr(entry.after_json)},
          {"request_id", entry.request_id},
          {"redacted", record.redacted}};
}

// Entries about the person's account, with their data, newest first, page by page.
Result<object> AuditAbout(Transaction& tx, const PersonRef& person) {
  array items;
  std::optional<int64_t> before_seq;
  bool more = true;
  while (more && static_cast<int64_t>(items.size()) <= kExportRowsMax) {
    auto page =
        audit::History(tx, "user", std::to_string(person.id), audit::kHistoryPageMax, before_seq);
    if (!page.ok()) return std::move(page).error();
    for (const audit::AuditRecord& record : *page) items.push_back(AuditJson(record));
    more = static_cast<int64_t>(page->size()) == audit::kHistoryPageMax;
    if (!page->empty()) before_seq = page->back().seq;
  }
  return Bounded(std::move(items), kExportRowsMax);
}

// Entries the person made. What they changed belongs to others (article 15(4)): the export
// says what they did and when, not the other records' data.
Result<object> AuditByActor(Transaction& tx, const PersonRef& person) {
  auto rows = tx.Query(
      "SELECT seq, at_ms, action, record_type, record_id, organisation_id FROM audit_entries"
      " WHERE actor_type = 'user' AND actor_id = $1 ORDER BY seq DESC LIMIT $2",
      {person.id, kExportActorEntriesMax + 1});
  if (!rows.ok()) return std::move(rows).error();
  array items;
  for (const Row& r : rows->rows) {
    items.push_back(object{{"seq", r.Int(0)},
                           {"at", FormatIso8601(r.Int(1))},
                           {"action", r.Text(2)},
                           {"record_type", r.Text(3)},
                           {"record_id", r.Text(4)},
                           {"organisation_id", OptionalNumber(r.OptionalInt(5))}});
  }
  return Bounded(std::move(items), kExportActorEntriesMax);
}

Result<value> AuditSection(Transaction& tx, const PersonRef& person) {
  if (person.type != kStaff) return value(nullptr);
  auto about = AuditAbout(tx, person);
  if (!about.ok()) return std::move(about).error();
  auto by = AuditByActor(tx, person);
  if (!by.ok()) return std::move(by).error();
  return value(object{{"about_me", std::move(*about)}, {"by_me", std::move(*by)}});
}

Result<value> MessagesSection(Transaction& tx, const PersonRef& person) {
  if (person.type != kStaff) return value(nullptr);
  auto rows = tx.Query(
      "SELECT m.id, m.channel, m.template_code, m.language, m.variables, m.state, m.created_at"
      " FROM outbox_messages m JOIN users u ON u.email = m.recipient WHERE u.id = $1"
      " ORDER BY m.id DESC LIMIT $2",
      {person.id, kExportRowsMax + 1});
  if (!rows.ok()) return std::move(rows).error();
  array items;
  for (const Row& r : rows->rows) {
    items.push_back(object{{"id", r.Int(0)},
                           {"channel", r.Text(1)},
                           {"template", r.Text(2)},
                           {"language", r.Text(3)},
                           {"variables", WithoutSecrets(r.Text(4))},
                           {"state", r.Text(5)},
                           {"created_at", FormatIso8601(r.Int(6))}});
  }
  return value(Bounded(std::move(items), kExportRowsMax));
}

void AddPlatformSections(ExportRegistry& exports, const Clock& clock) {
  exports.Add("account", AccountSection);
  exports.Add("grants", GrantsSection);
  exports.Add("sessions", [&clock](Transaction& tx, const PersonRef& person) {
    return SessionsSection(tx, person, clock.NowMs());
  });
  exports.Add("consents", ConsentsSection);
  exports.Add("audit", AuditSection);
  exports.Add("messages", MessagesSection);
}

}  // namespace

// ---- Register of processing: the platform's activities ----------------------------------------

namespace {

void AddIdentityActivities(ProcessingRegister& processing, const RetentionOptions& retention) {
  processing.Add(
      {"platform.staff_accounts",
       "Staff accounts and rights",
       "Let the staff of the member organisations log in and act within their organisations "
       "with the rights of their profiles.",
       "Public task of the organisations operating the service (GDPR art. 6(1)(e)).",
       {"Staff of the member organisations"},
       {"E-mail address", "Name", "Language", "Profiles and organisations",
        "Password (Argon2id hash only)", "Second-factor secret and recovery codes (hashed)"},
       "While the person works for the organisation. Deleting or erasing the account "
       "anonymises it; the row stays only so that audit entries keep pointing somewhere.",
       {"Administrators of the person's organisation and of the organisations above it"},
       "None outside the European Union.",
       "Passwords hashed with Argon2id, second factor mandatory for strong profiles, lockout "
       "after repeated failures, rights checked on every request."});
  processing.Add(
      {"platform.authentication",
       "Sessions and login protection",
       "Keep people logged in securely, throttle password guessing and send password reset "
       "links.",
       "Obligation to secure the processing (GDPR art. 32, art. 6(1)(c)).",
       {"Staff of the member organisations"},
       {"Session creation, last use and expiry times", "Failed login count and lockout time",
        "Password reset and invitation links (hashed)"},
       fmt::format("Sessions expire when unused or too old (session settings) and are deleted "
                   "by a job run every {} hours once expired for {} s; password reset and "
                   "invitation links are deleted {} days after their use or expiry.",
                   retention.purge_interval_s / 3600, retention.expired_sessions_keep_s,
                   retention.password_resets_keep_days),
       {"Nobody besides the person (and the operator's administrators for security incidents)"},
       "None outside the European Union.",
       "Only hashes of session and link tokens are stored; cookies are HttpOnly, Secure, "
       "SameSite=Strict; every state-changing request carries a CSRF token."});
}

void AddRecordActivities(ProcessingRegister& processing) {
  processing.Add(
      {"platform.audit_trail",
       "Audit trail",
       "Prove who changed which record and when (accountability, fraud prevention).",
       "Legal obligation of accountability (GDPR art. 5(2), art. 6(1)(c)) and public task.",
       {"Staff of the member organisations", "People whose records are changed"},
       {"Who acted (account id)", "What changed: the record before and after",
        "When, and the request id"},
       "Kept for the life of the deployment: entries form a hash chain and cannot be removed. "
       "The personal data in them is redacted when the person's data is erased; the chain "
       "stays verifiable.",
       {"Holders of the audit.read right in the record's organisation"},
       "None outside the European Union.",
       "Append-only (database triggers), SHA-256 hash chain checked by `guichet audit verify`."});
  processing.Add(
      {"platform.consents",
       "Consent records",
       "Prove what each person agreed to or withdrew, with the exact wording shown (GDPR "
       "art. 7(1)).",
       "Legal obligation to demonstrate consent (GDPR art. 7(1), art. 6(1)(c)).",
       {"Staff of the member organisations"},
       {"Account id", "Purpose and channel", "Choice", "Wording shown and its version",
        "Date, source (web, API, counter) and request id"},
       "Kept as proof for the life of the deployment, never changed; after an erasure they "
       "point to an anonymised account marked erased.",
       {"The person; the data protection officer on a dispute"},
       "None outside the European Union.",
       "Append-only (database triggers)."});
  processing.Add(
      {"platform.rights_requests",
       "Access, portability and erasure requests",
       "Answer the requests of people about their data: export it, erase it.",
       "Legal obligation (GDPR art. 12 to 20, art. 6(1)(c)).",
       {"Staff of the member organisations"},
       {"Who asked, who answered, when", "Reason of an erasure",
        "What had to be kept, and until when"},
       "Erasure records are kept as proof that the request was answered.",
       {"Holders of privacy.export and privacy.erase in the person's organisation"},
       "None outside the European Union.",
       "Exports never hold a password hash, a token or a second-factor secret; each export and "
       "erasure is in the audit trail."});
}

void AddMessagingActivities(ProcessingRegister& processing) {
  processing.Add(
      {"platform.optional_messages",
       "Optional messages",
       "Send service alerts, the newsletter and satisfaction surveys to those who asked for "
       "them.",
       "Consent (GDPR art. 6(1)(a)), per purpose and channel, withdrawable at any time.",
       {"Staff of the member organisations"},
       {"E-mail address", "Phone number or device for SMS and push, when given"},
       "Until consent is withdrawn.",
       {"The providers that deliver the messages (processors)"},
       "None outside the European Union.",
       "Sent only when the latest recorded choice grants the purpose on the channel.",
       {"alerts", "newsletter", "surveys"}});
}

}  // namespace

// ---- Use cases -------------------------------------------------------------------------------

Privacy::Privacy(storage::Database& database, const Clock& clock,
                 const identity::Authorizer& authorizer, PrivacyOptions options)
    : database_(database), clock_(clock), authorizer_(authorizer), options_(Clamped(options)) {
  AddPlatformSections(exports_, clock_);
  AddIdentityActivities(processing_, options_.retention);
  AddRecordActivities(processing_);
  AddMessagingActivities(processing_);
}

Result<ConsentOverview> Privacy::MyConsents(const Caller& caller) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  return database_.Transact<ConsentOverview>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<ConsentOverview> {
        auto history = ConsentHistory(tx, PersonOf(caller), options_.consent_rows_per_person_max);
        if (!history.ok()) return std::move(history).error();
        ConsentOverview overview;
        overview.current = CurrentOf(*history);
        overview.history = std::move(*history);
        overview.purposes = processing_.ConsentPurposes();
        return overview;
      });
}

Result<Consent> Privacy::RecordMyConsent(const Caller& caller, const ConsentChoice& choice) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  GUICHET_TRY_STATUS(CheckChoice(choice, processing_));
  const PersonRef person = PersonOf(caller);
  const int64_t now = clock_.NowMs();
  // No audit entry: the consent row is itself the append-only record, with its request id.
  return database_.Transact<Consent>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<Consent> {
        auto count =
            tx.QueryOne("SELECT COUNT(*) FROM consents WHERE person_type = $1 AND person_id = $2",
                        {person.type, person.id});
        if (!count.ok()) return std::move(count).error();
        if ((*count)->Int(0) >= options_.consent_rows_per_person_max) {
          return Error::Conflict(
              "consent_history_full",
              "Too many choices were recorded for this account: contact the data "
              "protection officer.");
        }
        auto row = tx.QueryOne(
            fmt::format("INSERT INTO consents (person_type, person_id, purpose, channel, granted,"
                        " wording, wording_version, source, at_ms, request_id)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {}",
                        kConsentColumns),
            {person.type, person.id, choice.purpose, choice.channel, choice.granted, choice.wording,
             choice.wording_version, std::string(SourceOf(caller)), now, caller.request_id});
        if (!row.ok()) return std::move(row).error();
        GUICHET_ASSERT(row->has_value());
        Consent consent = ToConsent(**row);
        GUICHET_ASSERT(consent.granted == choice.granted && consent.person.id == person.id);
        return consent;
      });
}

// ---- Whose data may the caller see: scoping like staff accounts -------------------------------

namespace {

struct Target {
  int64_t id = 0;
  std::string status;
  std::vector<identity::GrantView> grants;
  std::vector<orgs::Organisation> organisations;  // where the person belongs
};

// A deleted account has no grant left: it belongs where its audit entries were recorded.
Result<std::vector<int64_t>> OrganisationIdsOf(Transaction& tx, const Target& target) {
  std::set<int64_t> ids;
  for (const identity::GrantView& grant : target.grants) ids.insert(grant.organisation_id);
  if (target.status == "deleted") {
    auto rows = tx.Query(
        "SELECT DISTINCT organisation_id FROM audit_entries WHERE record_type = 'user'"
        " AND record_id = $1 AND organisation_id IS NOT NULL ORDER BY organisation_id LIMIT $2",
        {std::to_string(target.id), kExportRowsMax});
    if (!rows.ok()) return std::move(rows).error();
    for (const Row& row : rows->rows) ids.insert(row.Int(0));
  }
  return std::vector<int64_t>(ids.begin(), ids.end());
}

Result<std::optional<Target>> LoadTarget(Transaction& tx, int64_t id) {
  auto user = identity::internal::FindUser(tx, id);
  if (!user.ok()) return std::move(user).error();
  if (!user->has_value()) return std::optional<Target>();
  Target target;
  target.id = id;
  target.status = (*user)->status;
  auto grants = identity::internal::LoadGrants(tx, id);
  if (!grants.ok()) return std::move(grants).error();
  target.grants = std::move(*grants);
  auto ids = OrganisationIdsOf(tx, target);
  if (!ids.ok()) return std::move(ids).error();
  for (int64_t organisation_id : *ids) {
    auto org = orgs::Find(tx, organisation_id);
    if (!org.ok()) return std::move(org).error();
    GUICHET_ASSERT(org->has_value());  // a foreign key (grants) or a recorded id that stays
    target.organisations.push_back(std::move(**org));
  }
  return std::optional<Target>(std::move(target));
}

// 404 for a person the caller could not even see, 403 for one they see without `permission`.
Result<Target> VisibleTarget(Transaction& tx, const identity::Authorizer& authorizer,
                             const Caller& caller, int64_t id, std::string_view permission) {
  auto target = LoadTarget(tx, id);
  if (!target.ok()) return std::move(target).error();
  if (!target->has_value()) return StaffNotFound();
  const auto& organisations = (*target)->organisations;
  auto any_allows = [&](std::string_view right) {
    return std::any_of(
        organisations.begin(), organisations.end(),
        [&](const orgs::Organisation& org) { return authorizer.Allows(caller, right, org.path); });
  };
  if (IsSelf(caller, id) || any_allows(permission)) return std::move(**target);
  if (any_allows("identity.staff.read")) {
    return Error{ErrorKind::kForbidden,
                 "forbidden",
                 fmt::format("You do not have the right {} over this person.", permission),
                 {}};
  }
  return StaffNotFound();
}

// The rule of deleting an account: nobody erases someone who holds more than they do.
Status RequireControl(const identity::Authorizer& authorizer, const Caller& caller,
                      const Target& target) {
  if (IsSelf(caller, target.id)) {
    return Error{ErrorKind::kForbidden,
                 "cannot_change_self",
                 "Ask another administrator to erase your own account.",
                 {}};
  }
  for (const identity::GrantView& grant : target.grants) {
    auto org =
        std::find_if(target.organisations.begin(), target.organisations.end(),
                     [&](const orgs::Organisation& o) { return o.id == grant.organisation_id; });
    GUICHET_ASSERT(org != target.organisations.end());
    GUICHET_TRY_STATUS(authorizer.RequireGrantable(caller, grant.profile, org->path, org->kind));
  }
  return OkStatus();
}

std::optional<int64_t> FirstOrganisation(const Target& target) {
  if (!target.grants.empty()) return target.grants.front().organisation_id;
  if (!target.organisations.empty()) return target.organisations.front().id;
  return std::nullopt;
}

}  // namespace

// ---- Export ----------------------------------------------------------------------------------

Result<object> Privacy::Export(Transaction& tx, const Caller& caller, int64_t id,
                               std::optional<int64_t> organisation_id, int64_t now_ms) {
  const PersonRef person{std::string(kStaff), id};
  object sections;
  array names;
  for (const auto& [name, section] : exports_.sections()) {
    auto content = section(tx, person);
    if (!content.ok()) return std::move(content).error();
    if (content->is_null()) continue;
    sections[name] = std::move(*content);
    names.push_back(value(name));
  }
  // Who exported whose data is traced: an export is a disclosure of personal data.
  GUICHET_TRY_STATUS(identity::internal::Audit(
      tx, &caller, "privacy.export", "user", id, organisation_id, nullptr,
      object{{"sections", std::move(names)}, {"by", IsSelf(caller, id) ? "self" : "staff"}},
      now_ms));
  return object{{"format", "guichet.export.v1"},
                {"generated_at", FormatIso8601(now_ms)},
                {"person", {{"type", person.type}, {"id", person.id}}},
                {"sections", std::move(sections)}};
}

Result<object> Privacy::ExportMine(const Caller& caller) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  const int64_t now = clock_.NowMs();
  return database_.Transact<object>(TransactionMode::kWrite, [&](Transaction& tx) {
    return Export(tx, caller, caller.id, std::nullopt, now);
  });
}

Result<object> Privacy::ExportStaff(const Caller& caller, int64_t id) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  const int64_t now = clock_.NowMs();
  return database_.Transact<object>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<object> {
        auto target = VisibleTarget(tx, authorizer_, caller, id, "privacy.export");
        if (!target.ok()) return std::move(target).error();
        return Export(tx, caller, id, FirstOrganisation(*target), now);
      });
}

// ---- Erasure ---------------------------------------------------------------------------------

namespace {

std::string Trimmed(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

Result<std::vector<ErasureHold>> CollectHolds(Transaction& tx, const ErasureRegistry& erasures,
                                              const PersonRef& person, int64_t now_ms) {
  std::vector<ErasureHold> holds;
  for (const ErasureStep& step : erasures.steps()) {
    auto found = step.check(tx, person, now_ms);
    if (!found.ok()) return std::move(found).error();
    holds.insert(holds.end(), found->begin(), found->end());
  }
  for (const ErasureHold& hold : holds) {
    if (!hold.blocks_erasure) continue;
    return Error::Conflict(
        "erasure_refused",
        fmt::format("The data cannot be erased yet ({}: {}{}).", hold.section, hold.reason,
                    hold.keep_until_ms ? " until " + FormatIso8601(*hold.keep_until_ms) : ""));
  }
  return holds;
}

// As deleting the account does (one shared implementation in identity).
Status AnonymiseAccount(Transaction& tx, int64_t id, int64_t now_ms) {
  return identity::internal::AnonymiseUser(tx, id, now_ms);
}

}  // namespace

array HoldsJson(const std::vector<ErasureHold>& holds) {
  array items;
  for (const ErasureHold& hold : holds) {
    items.push_back(object{{"section", hold.section},
                           {"reason", hold.reason},
                           {"keep_until", OptionalTime(hold.keep_until_ms)}});
  }
  return items;
}

namespace {

Status RecordErasure(Transaction& tx, const Caller& caller, const Target& target,
                     const std::string& reason, const std::vector<ErasureHold>& holds,
                     int64_t now_ms) {
  const std::string holds_json = boost::json::serialize(HoldsJson(holds));
  auto inserted = tx.Execute(
      "INSERT INTO privacy_erasures (person_type, person_id, reason, holds, erased_by, erased_at,"
      " request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {std::string(kStaff), target.id, reason, holds_json, caller.id, now_ms, caller.request_id});
  if (!inserted.ok()) {
    if (inserted.error().code == storage::kUniqueViolation) {
      return Error::Conflict("already_erased", "This person's data was already erased.");
    }
    return std::move(inserted).error();
  }
  // Appended after the redaction, so this entry keeps its own data (which holds none of the
  // person's: only why, and what had to be kept).
  return identity::internal::Audit(tx, &caller, "privacy.erasure", "user", target.id,
                                   FirstOrganisation(target), nullptr,
                                   object{{"reason", reason}, {"holds", HoldsJson(holds)}}, now_ms);
}

}  // namespace

Result<ErasureReport> Privacy::EraseStaff(const Caller& caller, int64_t id,
                                          std::string_view reason_raw) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  const std::string reason = Trimmed(reason_raw);
  const int64_t length = http::Utf8Length(reason);
  if (length < 1 || length > kErasureReasonLengthMax) {
    return Validation(
        "/reason", fmt::format("Give the reason in 1 to {} characters.", kErasureReasonLengthMax));
  }
  const PersonRef person{std::string(kStaff), id};
  const int64_t now = clock_.NowMs();
  return database_.Transact<ErasureReport>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<ErasureReport> {
        auto target = VisibleTarget(tx, authorizer_, caller, id, "privacy.erase");
        if (!target.ok()) return std::move(target).error();
        GUICHET_TRY_STATUS(RequireControl(authorizer_, caller, *target));
        auto erased = IsErased(tx, person);
        if (!erased.ok()) return std::move(erased).error();
        if (*erased) {
          return Error::Conflict("already_erased", "This person's data was already erased.");
        }
        auto holds = CollectHolds(tx, erasures_, person, now);
        if (!holds.ok()) return std::move(holds).error();
        GUICHET_TRY_STATUS(AnonymiseAccount(tx, id, now));
        for (const ErasureStep& step : erasures_.steps()) {
          GUICHET_TRY_STATUS(step.erase(tx, person, now));
        }
        GUICHET_TRY_STATUS(audit::Redact(tx, "user", std::to_string(id)));
        GUICHET_TRY_STATUS(RecordErasure(tx, caller, *target, reason, *holds, now));
        return ErasureReport{person, now, std::move(*holds)};
      });
}

// ---- Retention purges ------------------------------------------------------------------------

Result<int64_t> PurgeExpiredSessions(Transaction& tx, int64_t expired_before_ms, int64_t rows_max) {
  GUICHET_ASSERT(rows_max >= 1 && rows_max <= kPurgeRowsMax);
  return tx.Execute(
      "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions"
      " WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
      {expired_before_ms, rows_max});
}

Result<int64_t> PurgePasswordResets(Transaction& tx, int64_t finished_before_ms, int64_t rows_max) {
  GUICHET_ASSERT(rows_max >= 1 && rows_max <= kPurgeRowsMax);
  return tx.Execute(
      "DELETE FROM password_resets WHERE token_hash IN (SELECT token_hash FROM password_resets"
      " WHERE (used_at IS NOT NULL AND used_at < $1) OR expires_at < $1"
      " ORDER BY created_at LIMIT $2)",
      {finished_before_ms, rows_max});
}

namespace {

using PurgeFunction = std::function<Result<int64_t>(Transaction&, int64_t, int64_t)>;

// One periodic purge: a run deletes at most rows_max rows in one short transaction; when it
// reaches the bound it asks for another run shortly, so a backlog drains without one long lock.
void AddPurge(jobs::Runner& runner, storage::Database& database, const Clock& clock,
              std::string kind, int64_t interval_ms, std::function<int64_t(int64_t)> cutoff,
              PurgeFunction purge, int64_t rows_max) {
  runner.Every(kind, interval_ms);
  runner.Register(
      kind, [&database, &clock, kind, cutoff, purge, rows_max](const jobs::JobRecord&) -> Status {
        const int64_t now = clock.NowMs();
        auto purged = database.Transact<int64_t>(
            TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
              auto count = purge(tx, cutoff(now), rows_max);
              if (!count.ok()) return std::move(count).error();
              GUICHET_ASSERT(*count >= 0 && *count <= rows_max);
              if (*count == rows_max) {
                jobs::JobRequest again{kind, "{}", now + kPurgeContinueDelayMs, 3, std::nullopt};
                auto queued = jobs::Enqueue(tx, again, now);
                if (!queued.ok()) return std::move(queued).error();
              }
              return count;
            });
        if (!purged.ok()) return std::move(purged).error();
        log::Info("privacy purge", {{"purge", std::string_view(kind)},
                                    {"rows", *purged},
                                    {"rows_max", rows_max},
                                    {"continues", *purged == rows_max}});
        return OkStatus();
      });
}

}  // namespace

void RegisterRetentionJobs(jobs::Runner& runner, storage::Database& database, const Clock& clock,
                           RetentionOptions raw) {
  const RetentionOptions options = Clamped(raw);
  const int64_t interval_ms = options.purge_interval_s * 1000;
  const int64_t sessions_keep_ms = options.expired_sessions_keep_s * 1000;
  const int64_t resets_keep_ms = options.password_resets_keep_days * 24 * 3600 * 1000;
  AddPurge(
      runner, database, clock, "privacy.purge.sessions", interval_ms,
      [sessions_keep_ms](int64_t now) { return now - sessions_keep_ms; }, PurgeExpiredSessions,
      options.purge_rows_max);
  AddPurge(
      runner, database, clock, "privacy.purge.password_resets", interval_ms,
      [resets_keep_ms](int64_t now) { return now - resets_keep_ms; }, PurgePasswordResets,
      options.purge_rows_max);
}

}  // namespace guichet::privacy
