#include "platform/identity/rights.h"

#include <fmt/format.h>

#include <algorithm>

#include "platform/orgs/orgs.h"

namespace guichet::identity {

void RightsCatalog::AddPermission(PermissionInfo permission) {
  GUICHET_ASSERT(!permission.code.empty() && !HasPermission(permission.code));
  permissions_.push_back(std::move(permission));
}

bool RightsCatalog::HasPermission(std::string_view code) const {
  return std::any_of(permissions_.begin(), permissions_.end(),
                     [&](const PermissionInfo& permission) { return permission.code == code; });
}

void RightsCatalog::AddProfile(ProfileInfo profile) {
  GUICHET_ASSERT(FindProfile(profile.code) == nullptr);
  std::set<std::string> effective;
  if (profile.inherits) {
    GUICHET_ASSERT(FindProfile(*profile.inherits) != nullptr);  // declared lower profile first
    effective = effective_.at(*profile.inherits);
  }
  for (const std::string& permission : profile.permissions) {
    GUICHET_ASSERT(HasPermission(permission));
    effective.insert(permission);
  }
  effective_[profile.code] = std::move(effective);
  profiles_.push_back(std::move(profile));
}

const ProfileInfo* RightsCatalog::FindProfile(std::string_view code) const {
  for (const ProfileInfo& profile : profiles_) {
    if (profile.code == code) return &profile;
  }
  return nullptr;
}

const std::set<std::string>& RightsCatalog::PermissionsOf(std::string_view profile) const {
  static const std::set<std::string> kNone;
  auto found = effective_.find(profile);
  return found == effective_.end() ? kNone : found->second;
}

void RightsCatalog::AddDevicePermission(std::string_view device_kind, std::string_view permission) {
  GUICHET_ASSERT(!device_kind.empty() && HasPermission(permission));
  device_permissions_[std::string(device_kind)].insert(std::string(permission));
}

const std::set<std::string>& RightsCatalog::DevicePermissions(std::string_view device_kind) const {
  static const std::set<std::string> kNone;
  auto found = device_permissions_.find(device_kind);
  return found == device_permissions_.end() ? kNone : found->second;
}

const std::set<std::string>& Authorizer::PermissionsOf(const Grant& grant) const {
  if (grant.permissions) return *grant.permissions;
  return catalog_.PermissionsOf(grant.profile);
}

bool Authorizer::GrantUsable(const Caller& caller, const Grant& grant) const {
  if (grant.permissions) return true;  // a machine's grant: see Grant::permissions
  const ProfileInfo* profile = catalog_.FindProfile(grant.profile);
  if (profile == nullptr) return false;  // a profile removed from the catalog grants nothing
  if (caller.must_change_password) return false;
  return !profile->strong_authentication || caller.second_factor_done;
}

bool Authorizer::Allows(const Caller& caller, std::string_view permission,
                        std::string_view organisation_path) const {
  GUICHET_DASSERT(catalog_.HasPermission(permission));
  if (caller.kind == Caller::Kind::kSystem) return true;
  for (const Grant& grant : caller.grants) {
    if (!orgs::Contains(grant.organisation_path, organisation_path)) continue;
    if (!GrantUsable(caller, grant)) continue;
    if (PermissionsOf(grant).count(std::string(permission)) > 0) return true;
  }
  return false;
}

Status Authorizer::Require(const Caller& caller, std::string_view permission,
                           std::string_view organisation_path) const {
  if (caller.anonymous()) {
    return Error{ErrorKind::kUnauthenticated, "unauthenticated", "Log in to do this.", {}};
  }
  if (Allows(caller, permission, organisation_path)) return OkStatus();
  // The same answer whether the organisation exists or not, so ids cannot be probed.
  return Error{ErrorKind::kForbidden,
               "forbidden",
               fmt::format("You do not have the right {} here.", permission),
               {}};
}

std::vector<std::string> Authorizer::Scopes(const Caller& caller,
                                            std::string_view permission) const {
  std::vector<std::string> scopes;
  for (const Grant& grant : caller.grants) {
    if (!GrantUsable(caller, grant)) continue;
    if (PermissionsOf(grant).count(std::string(permission)) == 0) continue;
    scopes.push_back(grant.organisation_path);
  }
  // Drop scopes inside another one: a list would otherwise repeat rows.
  std::sort(scopes.begin(), scopes.end());
  std::vector<std::string> outermost;
  for (const std::string& scope : scopes) {
    if (outermost.empty() || !orgs::Contains(outermost.back(), scope)) outermost.push_back(scope);
  }
  return outermost;
}

Status Authorizer::RequireGrantable(const Caller& caller, std::string_view profile_code,
                                    std::string_view organisation_path,
                                    std::string_view organisation_kind) const {
  GUICHET_TRY_STATUS(Require(caller, "identity.staff.manage", organisation_path));
  const ProfileInfo* profile = catalog_.FindProfile(profile_code);
  if (profile == nullptr) {
    return Error{ErrorKind::kValidation,
                 "validation_failed",
                 fmt::format("'{}' is not a profile.", profile_code),
                 {{"/profile", "unknown profile"}}};
  }
  const auto& kinds = profile->organisation_kinds;
  if (std::find(kinds.begin(), kinds.end(), organisation_kind) == kinds.end()) {
    return Error{
        ErrorKind::kValidation,
        "validation_failed",
        fmt::format("The profile {} cannot be granted in a {}.", profile_code, organisation_kind),
        {{"/organisation_id", "wrong kind of organisation for this profile"}}};
  }
  for (const std::string& permission : catalog_.PermissionsOf(profile_code)) {
    if (!Allows(caller, permission, organisation_path)) {
      return Error{ErrorKind::kForbidden,
                   "grant_exceeds_own_rights",
                   fmt::format("You cannot grant {}: it includes {}, which you do not hold there.",
                               profile_code, permission),
                   {}};
    }
  }
  return OkStatus();
}

}  // namespace guichet::identity
