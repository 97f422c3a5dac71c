#include "platform/identity/identity_internal.h"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

#include "platform/base/crypto.h"
#include "platform/http/json.h"

namespace guichet::identity::internal {
namespace {

using storage::Row;
using storage::Transaction;

constexpr std::string_view kUserColumns =
    "id, email, display_name, language, password_hash, must_change_password, status, totp_secret,"
    " totp_pending_secret, totp_last_step, failed_logins, locked_until";

UserRow ToUser(const Row& row) {
  UserRow user;
  user.id = row.Int(0);
  user.email = row.Text(1);
  user.display_name = row.Text(2);
  user.language = row.Text(3);
  user.password_hash = row.OptionalText(4);
  user.must_change_password = row.Bool(5);
  user.status = row.Text(6);
  user.totp_secret = row.OptionalText(7);
  user.totp_pending_secret = row.OptionalText(8);
  user.totp_last_step = row.Int(9);
  user.failed_logins = row.Int(10);
  user.locked_until_ms = row.Int(11);
  GUICHET_ASSERT(user.id > 0 && user.failed_logins >= 0);
  return user;
}

Result<std::optional<UserRow>> FindWhere(Transaction& tx, std::string_view where,
                                         storage::Param param) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM users WHERE {} = $1", kUserColumns, where),
                         {std::move(param)});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<UserRow>();
  return std::optional<UserRow>(ToUser(**row));
}

}  // namespace

Result<std::optional<UserRow>> FindUserByEmail(Transaction& tx, std::string_view email) {
  return FindWhere(tx, "email", std::string(email));
}

Result<std::optional<UserRow>> FindUser(Transaction& tx, int64_t id) {
  return FindWhere(tx, "id", id);
}

Result<std::vector<GrantView>> LoadGrants(Transaction& tx, int64_t user_id) {
  auto rows = tx.Query(
      "SELECT g.id, g.organisation_id, o.name, o.path, g.profile FROM grants g"
      " JOIN organisations o ON o.id = g.organisation_id WHERE g.user_id = $1 ORDER BY o.path, "
      "g.profile",
      {user_id});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<GrantView> grants;
  for (const Row& row : rows->rows) {
    grants.push_back({row.Int(0), row.Int(1), row.Text(2), row.Text(3), row.Text(4)});
  }
  return grants;
}

StaffView ToView(const UserRow& user, std::vector<GrantView> grants, const RightsCatalog& catalog) {
  StaffView view;
  view.id = user.id;
  view.email = user.email;
  view.display_name = user.display_name;
  view.language = user.language;
  view.status = user.status;
  view.must_change_password = user.must_change_password;
  view.second_factor_enabled = user.totp_secret.has_value();
  for (const GrantView& grant : grants) {
    const ProfileInfo* profile = catalog.FindProfile(grant.profile);
    if (profile != nullptr && profile->strong_authentication) view.second_factor_required = true;
  }
  view.grants = std::move(grants);
  return view;
}

boost::json::object StaffJson(const StaffView& view) {
  boost::json::array grants;
  for (const GrantView& grant : view.grants) {
    grants.push_back({{"id", grant.id},
                      {"organisation_id", grant.organisation_id},
                      {"organisation_name", grant.organisation_name},
                      {"profile", grant.profile}});
  }
  return {{"id", view.id},
          {"email", view.email},
          {"display_name", view.display_name},
          {"language", view.language},
          {"status", view.status},
          {"must_change_password", view.must_change_password},
          {"second_factor_enabled", view.second_factor_enabled},
          {"second_factor_required", view.second_factor_required},
          {"grants", std::move(grants)}};
}

boost::json::object OrganisationJson(const orgs::Organisation& org) {
  return {{"id", org.id},
          {"parent_id", org.parent_id ? boost::json::value(*org.parent_id) : nullptr},
          {"kind", org.kind},
          {"name", org.name},
          {"path", org.path},
          {"environment", org.environment}};
}

Status Audit(Transaction& tx, const Caller* caller, std::string_view action,
             std::string_view record_type, int64_t record_id,
             std::optional<int64_t> organisation_id, const boost::json::value& before,
             const boost::json::value& after, int64_t now_ms) {
  audit::AuditEntry entry;
  entry.actor_type = "system";
  if (caller != nullptr) {
    switch (caller->kind) {
      case Caller::Kind::kUser: entry.actor_type = "user"; break;
      case Caller::Kind::kApiKey: entry.actor_type = "api_key"; break;
      case Caller::Kind::kDevice: entry.actor_type = "device"; break;
      case Caller::Kind::kSystem:
      case Caller::Kind::kAnonymous: entry.actor_type = "system"; break;
    }
  }
  if (caller != nullptr) {
    // The system acts under no id of its own.
    if (entry.actor_type != "system") entry.actor_id = caller->id;
    entry.request_id = caller->request_id;
  }
  entry.organisation_id = organisation_id;
  entry.action = std::string(action);
  entry.record_type = std::string(record_type);
  entry.record_id = std::to_string(record_id);
  entry.before_json = boost::json::serialize(before);
  entry.after_json = boost::json::serialize(after);
  auto appended = audit::Append(tx, entry, now_ms);
  if (!appended.ok()) return std::move(appended).error();
  return OkStatus();
}

Error Validation(std::string_view pointer, std::string message) {
  return Error{
      ErrorKind::kValidation, "validation_failed", message, {{std::string(pointer), message}}};
}

Status CheckEmail(std::string_view email) {
  const size_t at = email.find('@');
  const bool shaped = at != std::string_view::npos && at > 0 &&
                      email.find('@', at + 1) == std::string_view::npos &&
                      email.find('.', at) != std::string_view::npos && email.back() != '.' &&
                      email.find_first_of(" \t\r\n<>,;\"") == std::string_view::npos;
  if (!shaped || static_cast<int64_t>(email.size()) > kEmailLengthMax) {
    return Validation("/email", "This is not a valid e-mail address.");
  }
  return OkStatus();
}

Status CheckDisplayName(std::string_view name) {
  const int64_t length = http::Utf8Length(name);
  if (length < 1 || length > kDisplayNameLengthMax) {
    return Validation("/display_name",
                      fmt::format("The name must have 1 to {} characters.", kDisplayNameLengthMax));
  }
  return OkStatus();
}

std::vector<std::string> PersonalWords(std::string_view email, std::string_view display_name) {
  std::vector<std::string> words = {std::string(email.substr(0, email.find('@')))};
  size_t start = 0;
  while (start < display_name.size()) {
    const size_t end = display_name.find_first_of(" -'", start);
    const std::string_view word =
        display_name.substr(start, end == std::string_view::npos ? end : end - start);
    if (word.size() >= 3) words.emplace_back(word);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return words;
}

Status AnonymiseUser(Transaction& tx, int64_t id, int64_t now_ms) {
  auto updated = tx.Execute(
      "UPDATE users SET status = 'deleted', email = $1, display_name = 'deleted',"
      " password_hash = NULL, totp_secret = NULL, totp_pending_secret = NULL,"
      " failed_logins = 0, locked_until = 0, updated_at = $2 WHERE id = $3",
      {fmt::format("deleted-{}@invalid", id), now_ms, id});
  if (!updated.ok()) return std::move(updated).error();
  GUICHET_ASSERT(*updated == 1);
  for (std::string_view table : {"sessions", "grants", "recovery_codes", "password_resets"}) {
    GUICHET_TRY_STATUS(tx.Execute(fmt::format("DELETE FROM {} WHERE user_id = $1", table), {id}));
  }
  return OkStatus();
}

Status CheckNewPassword(std::string_view password, std::string_view email, std::string_view display_name,
                        std::string_view pointer) {
  Status policy = CheckPasswordPolicy(password, PersonalWords(email, display_name));
  if (policy.ok()) return policy;
  Error error = std::move(policy).error();
  for (FieldError& field : error.fields) field.pointer = std::string(pointer);
  return error;
}

Result<SessionTokens> CreateSession(Transaction& tx, int64_t user_id, bool second_factor_done,
                                    bool pending, int64_t now_ms, const IdentityOptions& options) {
  // A fresh id at every login and after the second factor: a session id planted before
  // login (fixation) never becomes an authenticated one.
  SessionTokens tokens{crypto::RandomToken(32), crypto::RandomToken(32)};
  const int64_t expires =
      now_ms + std::min(options.session_idle_s, options.session_absolute_s) * 1000;
  auto inserted = tx.Execute(
      "INSERT INTO sessions (token_hash, user_id, csrf_token, second_factor_done, "
      "pending_second_factor,"
      " created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
      {crypto::Sha256Hex(tokens.session_token), user_id, tokens.csrf_token, second_factor_done,
       pending, now_ms, expires});
  if (!inserted.ok()) return std::move(inserted).error();
  return tokens;
}

}  // namespace guichet::identity::internal
