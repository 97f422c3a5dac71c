// Shared by identity.cpp (login, sessions, second factor) and staff.cpp (staff and
// organisation management): row mapping, audit records and common checks.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "platform/audit/audit.h"
#include "platform/identity/identity.h"

namespace guichet::identity::internal {

struct UserRow {
  int64_t id = 0;
  std::string email;
  std::string display_name;
  std::string language;
  std::optional<std::string> password_hash;
  bool must_change_password = false;
  std::string status;
  std::optional<std::string> totp_secret;
  std::optional<std::string> totp_pending_secret;
  int64_t totp_last_step = 0;
  int64_t failed_logins = 0;
  int64_t locked_until_ms = 0;
};

Result<std::optional<UserRow>> FindUserByEmail(storage::Transaction& tx, std::string_view email);
Result<std::optional<UserRow>> FindUser(storage::Transaction& tx, int64_t id);
Result<std::vector<GrantView>> LoadGrants(storage::Transaction& tx, int64_t user_id);
StaffView ToView(const UserRow& user, std::vector<GrantView> grants, const RightsCatalog& catalog);
boost::json::object StaffJson(const StaffView& view);
boost::json::object OrganisationJson(const orgs::Organisation& org);

// Records a change by `caller` (or by the system when caller is null).
Status Audit(storage::Transaction& tx, const Caller* caller, std::string_view action,
             std::string_view record_type, int64_t record_id,
             std::optional<int64_t> organisation_id, const boost::json::value& before,
             const boost::json::value& after, int64_t now_ms);

Error Validation(std::string_view pointer, std::string message);
Status CheckEmail(std::string_view email);
Status CheckDisplayName(std::string_view name);
std::vector<std::string> PersonalWords(std::string_view email, std::string_view display_name);
// The password policy, its field error pointing at the field the client actually sent.
Status CheckNewPassword(std::string_view password, std::string_view email, std::string_view display_name,
                        std::string_view pointer);

// Deleting or erasing an account: the row stays (audit entries point to it) without personal
// data, and nothing is left to log in with (sessions, grants, recovery codes, reset links).
Status AnonymiseUser(storage::Transaction& tx, int64_t id, int64_t now_ms);

// Creates a session row; the raw token is returned once and only its hash is stored.
Result<SessionTokens> CreateSession(storage::Transaction& tx, int64_t user_id,
                                    bool second_factor_done, bool pending, int64_t now_ms,
                                    const IdentityOptions& options);

}  // namespace guichet::identity::internal
