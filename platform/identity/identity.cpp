#include "platform/identity/identity.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>

#include "platform/base/crypto.h"
#include "platform/identity/identity_internal.h"
#include "platform/identity/totp.h"
#include "platform/notify/outbox.h"
#include "platform/tokens/qr.h"

namespace guichet::identity {
namespace {

using internal::UserRow;
using storage::Transaction;
using storage::TransactionMode;

Error InvalidCredentials() {
  return Error{ErrorKind::kUnauthenticated,
               "invalid_credentials",
               "The e-mail or the password is wrong.",
               {}};
}

Error SessionExpired() {
  return Error{
      ErrorKind::kUnauthenticated, "unauthenticated", "Your session has ended: log in again.", {}};
}

// Spent on unknown accounts too, so the answer time does not tell which e-mails exist.
const std::string& DecoyHash(const PasswordHashOptions& options) {
  static const std::string hash = HashPassword("decoy password for timing", options).value();
  return hash;
}

std::string SchemaSql(std::string_view id_column) {
  return fmt::format(
      "CREATE TABLE users ({id}, email TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,"
      " language TEXT NOT NULL CHECK (language IN ('fr', 'en')), password_hash TEXT,"
      " must_change_password BOOLEAN NOT NULL DEFAULT FALSE,"
      " status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),"
      " totp_secret TEXT, totp_pending_secret TEXT, totp_last_step BIGINT NOT NULL DEFAULT 0,"
      " failed_logins BIGINT NOT NULL DEFAULT 0, locked_until BIGINT NOT NULL DEFAULT 0,"
      " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
      "CREATE TABLE grants ({id}, user_id BIGINT NOT NULL REFERENCES users (id),"
      " organisation_id BIGINT NOT NULL REFERENCES organisations (id), profile TEXT NOT NULL,"
      " granted_by BIGINT, created_at BIGINT NOT NULL, UNIQUE (user_id, organisation_id, profile));"
      "CREATE INDEX grants_organisation ON grants (organisation_id);"
      "CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES "
      "users (id),"
      " csrf_token TEXT NOT NULL, second_factor_done BOOLEAN NOT NULL,"
      " pending_second_factor BOOLEAN NOT NULL, created_at BIGINT NOT NULL,"
      " last_seen_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);"
      "CREATE INDEX sessions_user ON sessions (user_id);"
      "CREATE TABLE password_resets (token_hash TEXT PRIMARY KEY,"
      " user_id BIGINT NOT NULL REFERENCES users (id), expires_at BIGINT NOT NULL, used_at BIGINT,"
      " created_at BIGINT NOT NULL);"
      "CREATE TABLE recovery_codes (user_id BIGINT NOT NULL REFERENCES users (id),"
      " code_hash TEXT NOT NULL, used_at BIGINT, PRIMARY KEY (user_id, code_hash));",
      fmt::arg("id", id_column));
}

}  // namespace

std::vector<storage::Migration> Migrations() {
  return {{"platform.identity", 1, "create users, grants, sessions",
           SchemaSql("id INTEGER PRIMARY KEY AUTOINCREMENT"),
           SchemaSql("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")}};
}

std::string NormalizeEmail(std::string_view email) {
  std::string normalized;
  size_t begin = email.find_first_not_of(" \t");
  size_t end = email.find_last_not_of(" \t");
  if (begin == std::string_view::npos) return normalized;
  for (char c : email.substr(begin, end - begin + 1)) {
    normalized.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return normalized;
}

Identity::Identity(storage::Database& database, const Clock& clock, const Authorizer& authorizer,
                   IdentityOptions options)
    : database_(database), clock_(clock), authorizer_(authorizer), options_(std::move(options)) {
  GUICHET_ASSERT(options_.login_failures_max >= 1 && options_.lockout_s >= 1);
  GUICHET_ASSERT(options_.session_idle_s >= 60 &&
                 options_.session_absolute_s >= options_.session_idle_s);
}

Result<LoginOutcome> Identity::Login(std::string_view email_raw, std::string_view password,
                                     std::string_view request_id) {
  const std::string email = NormalizeEmail(email_raw);
  const int64_t now = clock_.NowMs();
  // The password is checked outside the transaction: Argon2id takes tens of milliseconds and
  // must not hold the write lock. The counters are then updated conditionally.
  auto user = database_.Transact<std::optional<UserRow>>(
      TransactionMode::kRead,
      [&](Transaction& tx) { return internal::FindUserByEmail(tx, email); });
  if (!user.ok()) return std::move(user).error();
  if (!user->has_value() || (*user)->status != "active" || !(*user)->password_hash) {
    (void)VerifyPassword(password, DecoyHash(options_.password_hash));
    return InvalidCredentials();
  }
  const UserRow account = **user;
  if (account.locked_until_ms > now) {
    const int64_t minutes = (account.locked_until_ms - now + 59999) / 60000;
    return Error{ErrorKind::kTooManyRequests,
                 "account_locked",
                 fmt::format("Too many failed attempts: try again in {} minute{}.", minutes,
                             minutes > 1 ? "s" : ""),
                 {}};
  }
  const bool verified = VerifyPassword(password, *account.password_hash);
  // A failure must be committed (the counter, the lock), so the transaction returns an empty
  // outcome for it rather than an error, which would roll the counter back.
  using Outcome = std::optional<LoginOutcome>;
  auto outcome = database_.Transact<Outcome>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Outcome> {
    if (!verified) {
      const bool lock = account.failed_logins + 1 >= options_.login_failures_max;
      GUICHET_TRY_STATUS(tx.Execute(
          "UPDATE users SET failed_logins = CASE WHEN $2 THEN 0 ELSE failed_logins + 1 END,"
          " locked_until = CASE WHEN $2 THEN $3 ELSE locked_until END WHERE id = $1",
          {account.id, lock, now + options_.lockout_s * 1000}));
      if (lock) {
        GUICHET_TRY_STATUS(internal::Audit(
            tx, nullptr, "identity.user.locked", "user", account.id, std::nullopt, nullptr,
            boost::json::object{{"locked_for_s", options_.lockout_s}, {"request_id", request_id}}, now));
      }
      return Outcome();
    }
    GUICHET_TRY_STATUS(tx.Execute("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1", {account.id}));
    auto grants = internal::LoadGrants(tx, account.id);
    if (!grants.ok()) return std::move(grants).error();
    LoginOutcome login;
    login.user = internal::ToView(account, std::move(*grants), authorizer_.catalog());
    login.second_factor_pending = account.totp_secret.has_value();
    login.second_factor_enrolment_required = login.user.second_factor_required && !account.totp_secret;
    auto tokens = internal::CreateSession(tx, account.id, false, login.second_factor_pending, now, options_);
    if (!tokens.ok()) return std::move(tokens).error();
    login.tokens = std::move(*tokens);
    return Outcome(std::move(login));
  });
  if (!outcome.ok()) return std::move(outcome).error();
  if (!outcome->has_value()) return InvalidCredentials();
  return std::move(**outcome);
}

namespace {

struct SessionRow {
  int64_t user_id = 0;
  bool second_factor_done = false;
  bool pending = false;
  int64_t created_at_ms = 0;
  int64_t last_seen_at_ms = 0;
  std::string csrf_token;
};

Result<std::optional<SessionRow>> FindSession(Transaction& tx, std::string_view token,
                                              int64_t now_ms) {
  auto row = tx.QueryOne(
      "SELECT s.user_id, s.second_factor_done, s.pending_second_factor, s.created_at, "
      "s.last_seen_at,"
      " s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id"
      " WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.status = 'active'",
      {crypto::Sha256Hex(token), now_ms});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<SessionRow>();
  const storage::Row& r = **row;
  return std::optional<SessionRow>(
      SessionRow{r.Int(0), r.Bool(1), r.Bool(2), r.Int(3), r.Int(4), r.Text(5)});
}

// A code from the authenticator app, or one of the recovery codes. Returns the TOTP step to
// remember (0 for a recovery code) or nullopt when neither matches.
Result<std::optional<int64_t>> CheckSecondFactor(Transaction& tx, const UserRow& user,
                                                 std::string_view code, int64_t now_ms) {
  GUICHET_ASSERT(user.totp_secret.has_value());
  if (auto step = VerifyTotp(*user.totp_secret, code, now_ms / 1000, user.totp_last_step)) {
    // Conditional: of two logins racing with the same code, only one moves the step on.
    auto moved = tx.Execute("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
                            {*step, user.id});
    if (!moved.ok()) return std::move(moved).error();
    if (*moved == 1) return std::optional<int64_t>(*step);
    return std::optional<int64_t>();
  }
  auto used = tx.Execute(
      "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS "
      "NULL",
      {now_ms, user.id, HashRecoveryCode(code)});
  if (!used.ok()) return std::move(used).error();
  if (*used == 1) return std::optional<int64_t>(int64_t{0});
  return std::optional<int64_t>();
}

}  // namespace

Result<LoginOutcome> Identity::CompleteSecondFactor(std::string_view session_token,
                                                    std::string_view code,
                                                    std::string_view request_id) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<LoginOutcome>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<LoginOutcome> {
        auto session = FindSession(tx, session_token, now);
        if (!session.ok()) return std::move(session).error();
        if (!session->has_value() || !(*session)->pending) return SessionExpired();
        auto user = internal::FindUser(tx, (*session)->user_id);
        if (!user.ok()) return std::move(user).error();
        GUICHET_ASSERT(user->has_value() && (*user)->totp_secret.has_value());
        auto matched = CheckSecondFactor(tx, **user, code, now);
        if (!matched.ok()) return std::move(matched).error();
        if (!matched->has_value()) {
          return Error{ErrorKind::kUnauthenticated,
                       "invalid_second_factor",
                       "This code is not valid (or was already used).",
                       {}};
        }
        // Rotate: the pending session ends and a new, complete one begins.
        GUICHET_TRY_STATUS(tx.Execute("DELETE FROM sessions WHERE token_hash = $1",
                                      {crypto::Sha256Hex(session_token)}));
        auto grants = internal::LoadGrants(tx, (*user)->id);
        if (!grants.ok()) return std::move(grants).error();
        LoginOutcome outcome;
        outcome.user = internal::ToView(**user, std::move(*grants), authorizer_.catalog());
        auto tokens = internal::CreateSession(tx, (*user)->id, true, false, now, options_);
        if (!tokens.ok()) return std::move(tokens).error();
        outcome.tokens = std::move(*tokens);
        if (**matched == 0) {
          Caller actor;
          actor.kind = Caller::Kind::kUser;
          actor.id = (*user)->id;
          actor.request_id = std::string(request_id);
          GUICHET_TRY_STATUS(internal::Audit(tx, &actor, "identity.user.recovery_code_used", "user",
                                             actor.id, std::nullopt, nullptr, nullptr, now));
        }
        return outcome;
      });
}

Result<Identity::Authenticated> Identity::Authenticate(std::string_view session_token,
                                                       std::string_view request_id) {
  const int64_t now = clock_.NowMs();
  using Outcome = Authenticated;
  return database_.Transact<Outcome>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<Outcome> {
        auto session = FindSession(tx, session_token, now);
        if (!session.ok()) return std::move(session).error();
        if (!session->has_value()) return SessionExpired();
        const SessionRow& row = **session;
        // Slide the idle expiry, at most once a minute, never past the absolute lifetime.
        if (now - row.last_seen_at_ms > 60000) {
          const int64_t expires = std::min(now + options_.session_idle_s * 1000,
                                           row.created_at_ms + options_.session_absolute_s * 1000);
          GUICHET_TRY_STATUS(tx.Execute(
              "UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3",
              {now, expires, crypto::Sha256Hex(session_token)}));
        }
        auto user = internal::FindUser(tx, row.user_id);
        if (!user.ok()) return std::move(user).error();
        GUICHET_ASSERT(user->has_value());
        Caller caller;
        caller.kind = Caller::Kind::kUser;
        caller.id = row.user_id;
        caller.email = (*user)->email;
        caller.second_factor_done = row.second_factor_done;
        caller.must_change_password = (*user)->must_change_password;
        caller.request_id = std::string(request_id);
        caller.session_hash = crypto::Sha256Hex(session_token);
        if (!row.pending) {
          auto grants = internal::LoadGrants(tx, row.user_id);
          if (!grants.ok()) return std::move(grants).error();
          for (const GrantView& grant : *grants) {
            caller.grants.push_back(
                {grant.id, grant.organisation_id, grant.organisation_path, grant.profile});
          }
        }
        return Outcome{std::move(caller), row.pending, row.csrf_token};
      });
}

Status Identity::Logout(std::string_view session_token) {
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    GUICHET_TRY_STATUS(tx.Execute("DELETE FROM sessions WHERE token_hash = $1",
                                  {crypto::Sha256Hex(session_token)}));
    return Ok{};
  });
}

Status Identity::LogoutEverywhere(const Caller& caller) {
  if (caller.anonymous()) return SessionExpired();
  const int64_t now = clock_.NowMs();
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    auto removed = tx.Execute("DELETE FROM sessions WHERE user_id = $1", {caller.id});
    if (!removed.ok()) return std::move(removed).error();
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "identity.user.logout_everywhere", "user",
                                       caller.id, std::nullopt, nullptr,
                                       boost::json::object{{"sessions_ended", *removed}}, now));
    return Ok{};
  });
}

Status Identity::ChangePassword(const Caller& caller, std::string_view current,
                                std::string_view replacement) {
  if (caller.anonymous()) return SessionExpired();
  auto user = database_.Transact<std::optional<UserRow>>(
      TransactionMode::kRead, [&](Transaction& tx) { return internal::FindUser(tx, caller.id); });
  if (!user.ok()) return std::move(user).error();
  GUICHET_ASSERT(user->has_value());
  if (!(*user)->password_hash || !VerifyPassword(current, *(*user)->password_hash)) {
    return internal::Validation("/current_password", "The current password is wrong.");
  }
  if (current == replacement) {
    return internal::Validation("/new_password",
                                "The new password must differ from the current one.");
  }
  GUICHET_TRY_STATUS(internal::CheckNewPassword(replacement, (*user)->email, (*user)->display_name,
                                                "/new_password"));
  auto hash = HashPassword(replacement, options_.password_hash);
  if (!hash.ok()) return std::move(hash).error();
  const int64_t now = clock_.NowMs();
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    GUICHET_TRY_STATUS(
        tx.Execute("UPDATE users SET password_hash = $1, must_change_password = FALSE, updated_at "
                   "= $2 WHERE id = $3",
                   {*hash, now, caller.id}));
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "identity.user.password_changed", "user",
                                       caller.id, std::nullopt, nullptr, nullptr, now));
    return Ok{};
  });
}

Status Identity::RequestPasswordReset(std::string_view email_raw, std::string_view request_id) {
  const std::string email = NormalizeEmail(email_raw);
  GUICHET_TRY_STATUS(internal::CheckEmail(email));
  const int64_t now = clock_.NowMs();
  // The same answer whether or not the account exists: no way to learn who has one.
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    auto user = internal::FindUserByEmail(tx, email);
    if (!user.ok()) return std::move(user).error();
    if (!user->has_value() || (*user)->status != "active") return Ok{};
    const std::string token = crypto::RandomToken(32);
    GUICHET_TRY_STATUS(tx.Execute(
        "INSERT INTO password_resets (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, "
        "$3, $4)",
        {crypto::Sha256Hex(token), (*user)->id, now + options_.reset_token_s * 1000, now}));
    notify::OutboxMessage message;
    message.recipient = (*user)->email;
    message.template_code = "identity.password_reset";
    message.language = (*user)->language;
    message.person = privacy::PersonRef{std::string(privacy::kStaff), (*user)->id};
    // The organisation of the person's first grant: whose staff see this message's delivery
    // log and, should the address bounce, correct it.
    auto home = tx.QueryOne("SELECT organisation_id FROM grants WHERE user_id = $1 ORDER BY id LIMIT 1",
                            {(*user)->id});
    if (!home.ok()) return std::move(home).error();
    if (home->has_value()) message.organisation_id = (*home)->Int(0);
    message.variables_json =
        boost::json::serialize(boost::json::object{{"display_name", (*user)->display_name},
                                                   {"token", token},
                                                   {"valid_minutes", options_.reset_token_s / 60},
                                                   {"request_id", request_id}});
    auto queued = notify::Queue(tx, message, now);
    if (!queued.ok()) return std::move(queued).error();
    return Ok{};
  });
}

Status Identity::ResetPassword(std::string_view token, std::string_view replacement,
                               std::string_view request_id) {
  const int64_t now = clock_.NowMs();
  const std::string token_hash = crypto::Sha256Hex(token);
  auto user = database_.Transact<std::optional<UserRow>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::optional<UserRow>> {
        auto row = tx.QueryOne(
            "SELECT user_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND "
            "expires_at > $2",
            {token_hash, now});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value()) return std::optional<UserRow>();
        return internal::FindUser(tx, (*row)->Int(0));
      });
  if (!user.ok()) return std::move(user).error();
  if (!user->has_value() || (*user)->status != "active") {
    return Error{ErrorKind::kNotFound,
                 "reset_link_invalid",
                 "This link is not valid any more: ask for a new one.",
                 {}};
  }
  GUICHET_TRY_STATUS(internal::CheckNewPassword(replacement, (*user)->email, (*user)->display_name,
                                                "/new_password"));
  auto hash = HashPassword(replacement, options_.password_hash);
  if (!hash.ok()) return std::move(hash).error();
  const int64_t user_id = (*user)->id;
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    // Single use, even when two requests race with the same link.
    auto used = tx.Execute(
        "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        {now, token_hash});
    if (!used.ok()) return std::move(used).error();
    if (*used != 1)
      return Error{ErrorKind::kNotFound, "reset_link_invalid", "This link was already used.", {}};
    GUICHET_TRY_STATUS(
        tx.Execute("UPDATE users SET password_hash = $1, must_change_password = FALSE, "
                   "failed_logins = 0, locked_until = 0,"
                   " updated_at = $2 WHERE id = $3",
                   {*hash, now, user_id}));
    GUICHET_TRY_STATUS(tx.Execute("DELETE FROM sessions WHERE user_id = $1", {user_id}));
    Caller actor;
    actor.kind = Caller::Kind::kUser;
    actor.id = user_id;
    actor.request_id = std::string(request_id);
    GUICHET_TRY_STATUS(internal::Audit(tx, &actor, "identity.user.password_reset", "user", user_id,
                                       std::nullopt, nullptr, nullptr, now));
    return Ok{};
  });
}

Result<TotpEnrolment> Identity::StartTotp(const Caller& caller) {
  if (caller.anonymous()) return SessionExpired();
  TotpEnrolment enrolment;
  enrolment.secret = NewTotpSecret();
  enrolment.otpauth_uri = OtpauthUri(options_.totp_issuer, caller.email, enrolment.secret);
  tokens::QrOptions qr_options;
  auto svg = tokens::QrSvg(enrolment.otpauth_uri, qr_options);
  if (!svg.ok()) return std::move(svg).error();
  enrolment.qr_svg = std::move(*svg);
  const int64_t now = clock_.NowMs();
  GUICHET_TRY_STATUS(
      database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
        GUICHET_TRY_STATUS(
            tx.Execute("UPDATE users SET totp_pending_secret = $1, updated_at = $2 WHERE id = $3",
                       {enrolment.secret, now, caller.id}));
        return Ok{};
      }));
  return enrolment;
}

Result<std::vector<std::string>> Identity::ConfirmTotp(const Caller& caller,
                                                       std::string_view code) {
  if (caller.anonymous()) return SessionExpired();
  const int64_t now = clock_.NowMs();
  using Codes = std::vector<std::string>;
  return database_.Transact<Codes>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Codes> {
    auto user = internal::FindUser(tx, caller.id);
    if (!user.ok()) return std::move(user).error();
    GUICHET_ASSERT(user->has_value());
    if (!(*user)->totp_pending_secret) {
      return Error::Conflict("no_enrolment_started",
                             "Start the set-up of the authenticator app first.");
    }
    auto step = VerifyTotp(*(*user)->totp_pending_secret, code, now / 1000, 0);
    if (!step)
      return internal::Validation("/code",
                                  "This code does not match: check the time on your phone.");
    Codes codes = NewRecoveryCodes(static_cast<int>(kRecoveryCodesCount));
    GUICHET_TRY_STATUS(
        tx.Execute("UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = "
                   "NULL, totp_last_step = $1,"
                   " updated_at = $2 WHERE id = $3",
                   {*step, now, caller.id}));
    GUICHET_TRY_STATUS(tx.Execute("DELETE FROM recovery_codes WHERE user_id = $1", {caller.id}));
    for (const std::string& recovery : codes) {
      GUICHET_TRY_STATUS(
          tx.Execute("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
                     {caller.id, HashRecoveryCode(recovery)}));
    }
    // Proving the second factor now counts for this session: it is upgraded in place.
    GUICHET_TRY_STATUS(
        tx.Execute("UPDATE sessions SET second_factor_done = TRUE WHERE token_hash = $1",
                   {caller.session_hash}));
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "identity.user.second_factor_enabled", "user",
                                       caller.id, std::nullopt, nullptr,
                                       boost::json::object{{"method", "totp"}}, now));
    return codes;
  });
}

Result<StaffView> Identity::Me(const Caller& caller) {
  if (caller.anonymous()) return SessionExpired();
  return database_.Transact<StaffView>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<StaffView> {
        auto user = internal::FindUser(tx, caller.id);
        if (!user.ok()) return std::move(user).error();
        GUICHET_ASSERT(user->has_value());
        auto grants = internal::LoadGrants(tx, caller.id);
        if (!grants.ok()) return std::move(grants).error();
        return internal::ToView(**user, std::move(*grants), authorizer_.catalog());
      });
}

}  // namespace guichet::identity
