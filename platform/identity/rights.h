// Rights (C2): pieces and modules declare fine-grained permissions; profiles bundle them, a
// profile inheriting every permission of the one it names; a person holds profiles in
// organisations and may act with a permission anywhere below an organisation where one of
// their profiles grants it. Two admins of one level therefore hold identical rights over what
// is below them, and nobody can grant what they do not hold.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "platform/base/result.h"

namespace guichet::identity {

struct PermissionInfo {
  std::string code;  // "identity.staff.manage": piece, subject, action
  std::string description;
};

struct ProfileInfo {
  std::string code;     // "wallet.regional_admin"
  std::string product;  // "wallet", "pass", "family"
  std::string name_fr;
  std::string name_en;
  std::optional<std::string> inherits;  // the lower profile whose permissions this one has too
  std::vector<std::string> permissions;
  bool strong_authentication = false;           // a second factor is mandatory to act with it
  std::vector<std::string> organisation_kinds;  // where it may be granted
};

class RightsCatalog {
 public:
  void AddPermission(PermissionInfo permission);
  // Asserts the inherited profile and every permission are declared already.
  void AddProfile(ProfileInfo profile);

  const std::vector<PermissionInfo>& permissions() const { return permissions_; }
  const std::vector<ProfileInfo>& profiles() const { return profiles_; }
  const ProfileInfo* FindProfile(std::string_view code) const;
  bool HasPermission(std::string_view code) const;

  // Own and inherited permissions of a profile.
  const std::set<std::string>& PermissionsOf(std::string_view profile) const;

  // Devices (points of sale, scanners, tablets) hold no profile: what a device may do follows
  // from its kind. Each module adds the permissions its devices need; asserts it is declared.
  void AddDevicePermission(std::string_view device_kind, std::string_view permission);
  const std::set<std::string>& DevicePermissions(std::string_view device_kind) const;

 private:
  std::vector<PermissionInfo> permissions_;
  std::vector<ProfileInfo> profiles_;
  std::map<std::string, std::set<std::string>, std::less<>> effective_;
  std::map<std::string, std::set<std::string>, std::less<>> device_permissions_;
};

// One profile held in one organisation, or, for a machine caller, an explicit set of
// permissions held in one organisation.
struct Grant {
  int64_t id = 0;
  int64_t organisation_id = 0;
  std::string organisation_path;
  std::string profile;  // empty for a machine's grant
  // A machine's grant (an API key's scopes, a device kind's permissions): exactly these, in
  // place of a profile's. Machines have no second factor and no password to change: such a
  // grant is usable as it stands.
  std::optional<std::set<std::string>> permissions;
};

// Who is acting. Built by the HTTP layer from a session, an API key or a device credential,
// and passed to every use case, which checks rights itself.
struct Caller {
  enum class Kind { kAnonymous, kUser, kApiKey, kDevice, kSystem };
  Kind kind = Kind::kAnonymous;
  int64_t id = 0;  // of the user, the API key or the device, as `kind` says
  std::string email;
  std::vector<Grant> grants;
  bool second_factor_done = false;
  bool must_change_password = false;  // no grant is usable until the password is changed
  std::string session_hash;           // for a session caller: the hash of its token
  std::string request_id;

  bool anonymous() const { return kind == Kind::kAnonymous; }
  bool machine() const { return kind == Kind::kApiKey || kind == Kind::kDevice; }
};

class Authorizer {
 public:
  explicit Authorizer(const RightsCatalog& catalog) : catalog_(catalog) {}

  // True when a grant of the caller at `organisation_path` or above holds `permission`, and
  // its profile's second-factor requirement is met.
  bool Allows(const Caller& caller, std::string_view permission,
              std::string_view organisation_path) const;
  // forbidden (403) or unauthenticated (401) when not allowed.
  Status Require(const Caller& caller, std::string_view permission,
                 std::string_view organisation_path) const;
  // The organisations (paths) under which the caller holds `permission`: the scopes of a list.
  std::vector<std::string> Scopes(const Caller& caller, std::string_view permission) const;
  // Whether the caller could grant `profile` at `organisation_path`: they must hold every one
  // of its permissions there, besides the right to manage staff.
  Status RequireGrantable(const Caller& caller, std::string_view profile,
                          std::string_view organisation_path,
                          std::string_view organisation_kind) const;

  const RightsCatalog& catalog() const { return catalog_; }

 private:
  bool GrantUsable(const Caller& caller, const Grant& grant) const;
  const std::set<std::string>& PermissionsOf(const Grant& grant) const;
  const RightsCatalog& catalog_;
};

}  // namespace guichet::identity
