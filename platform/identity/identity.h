// Identity use cases (C3): staff accounts, password login with throttling and lockout,
// sessions, a second factor, password reset and staff management within one's subtree.
// The API, the back office, the CLI and jobs call these; each checks the caller's rights
// itself and records what it changed in the audit trail, in the same transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/audit/audit.h"
#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/identity/password.h"
#include "platform/identity/rights.h"
#include "platform/orgs/orgs.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::identity {

inline constexpr int64_t kEmailLengthMax = 254;
inline constexpr int64_t kDisplayNameLengthMax = 120;
inline constexpr int64_t kStaffPageMax = 500;
inline constexpr int64_t kRecoveryCodesCount = 10;

struct IdentityOptions {
  PasswordHashOptions password_hash;
  int64_t session_idle_s = 30 * 60;        // a session unused this long ends
  int64_t session_absolute_s = 12 * 3600;  // and none lives longer than this
  int64_t login_failures_max = 5;          // consecutive failures before a lockout
  int64_t lockout_s = 15 * 60;
  int64_t reset_token_s = 3600;          // password reset links
  int64_t invitation_s = 7 * 24 * 3600;  // first-password links for new staff
  std::string totp_issuer = "Guichet";
};

std::vector<storage::Migration> Migrations();

struct GrantView {
  int64_t id = 0;
  int64_t organisation_id = 0;
  std::string organisation_name;
  std::string organisation_path;
  std::string profile;
};

struct StaffView {
  int64_t id = 0;
  std::string email;
  std::string display_name;
  std::string language;
  std::string status;  // active, suspended, deleted
  bool must_change_password = false;
  bool second_factor_enabled = false;
  bool second_factor_required = false;  // one of its profiles asks for strong authentication
  std::vector<GrantView> grants;
};

struct SessionTokens {
  std::string session_token;  // goes in the HttpOnly cookie only
  std::string csrf_token;     // sent back by the client in X-CSRF-Token
};

struct LoginOutcome {
  SessionTokens tokens;
  StaffView user;
  bool second_factor_pending = false;             // the session can only complete the second factor
  bool second_factor_enrolment_required = false;  // strong profile without a second factor yet
};

struct NewStaff {
  std::string email;
  std::string display_name;
  std::string language = "fr";
  int64_t organisation_id = 0;
  std::vector<std::string> profiles;
  std::optional<std::string> initial_password;  // else an invitation link is e-mailed
  bool must_change_password = true;             // with an initial password: change it first
};

struct StaffChange {
  std::optional<std::string> display_name;
  std::optional<std::string> language;
  std::optional<std::string> status;  // active | suspended
};

struct TotpEnrolment {
  std::string secret;
  std::string otpauth_uri;
  std::string qr_svg;
};

class Identity {
 public:
  Identity(storage::Database& database, const Clock& clock, const Authorizer& authorizer,
           IdentityOptions options);

  Result<LoginOutcome> Login(std::string_view email, std::string_view password,
                             std::string_view request_id);
  Result<LoginOutcome> CompleteSecondFactor(std::string_view session_token, std::string_view code,
                                            std::string_view request_id);
  // The caller behind a session token; slides the idle expiry. Pending second-factor sessions
  // come back with second_factor_pending set and no grants.
  struct Authenticated {
    Caller caller;
    bool second_factor_pending = false;
    std::string csrf_token;
  };
  Result<Authenticated> Authenticate(std::string_view session_token, std::string_view request_id);
  Status Logout(std::string_view session_token);
  Status LogoutEverywhere(const Caller& caller);

  Status ChangePassword(const Caller& caller, std::string_view current,
                        std::string_view replacement);
  Status RequestPasswordReset(std::string_view email, std::string_view request_id);
  Status ResetPassword(std::string_view token, std::string_view replacement,
                       std::string_view request_id);

  Result<TotpEnrolment> StartTotp(const Caller& caller);
  Result<std::vector<std::string>> ConfirmTotp(const Caller& caller, std::string_view code);

  Result<StaffView> Me(const Caller& caller);
  Result<StaffView> CreateStaff(const Caller& caller, const NewStaff& request);
  Result<std::vector<StaffView>> ListStaff(const Caller& caller,
                                           std::optional<int64_t> organisation_id);
  Result<StaffView> GetStaff(const Caller& caller, int64_t id);
  Result<StaffView> UpdateStaff(const Caller& caller, int64_t id, const StaffChange& change);
  Status DeleteStaff(const Caller& caller, int64_t id);
  Result<StaffView> AddGrant(const Caller& caller, int64_t user_id, int64_t organisation_id,
                             std::string_view profile);
  Result<StaffView> RemoveGrant(const Caller& caller, int64_t user_id, int64_t grant_id);

  Result<orgs::Organisation> CreateOrganisation(const Caller& caller,
                                                const orgs::NewOrganisation& request);
  Result<std::vector<orgs::Organisation>> ListOrganisations(const Caller& caller);
  Result<orgs::Organisation> GetOrganisation(const Caller& caller, int64_t id);

  // The audit history of one record, newest first, limited to entries of organisations in
  // the caller's audit.read scope (and one's own account).
  Result<std::vector<audit::AuditRecord>> RecordHistory(const Caller& caller,
                                                        std::string_view record_type,
                                                        std::string_view record_id,
                                                        std::optional<int64_t> before_seq);

  // Set-up without a caller (demo data, first administrator): the "system" actor.
  Result<int64_t> BootstrapStaff(const NewStaff& request);

  const Authorizer& authorizer() const { return authorizer_; }

 private:
  storage::Database& database_;
  const Clock& clock_;
  const Authorizer& authorizer_;
  const IdentityOptions options_;
};

std::string NormalizeEmail(std::string_view email);

}  // namespace guichet::identity
