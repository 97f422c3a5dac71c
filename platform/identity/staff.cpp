// Staff and organisation management: every use case checks the caller's rights on the
// organisations concerned, refuses to grant more than the caller holds, and records the change
// in the audit trail within the same transaction.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <set>

#include "platform/base/crypto.h"
#include "platform/identity/identity.h"
#include "platform/identity/identity_internal.h"
#include "platform/notify/outbox.h"

namespace guichet::identity {
namespace {

using internal::UserRow;
using storage::Transaction;
using storage::TransactionMode;

// Only a person is "self": an API key or a device whose id equals a user's id is not that user.
bool IsSelf(const Caller& caller, int64_t user_id) {
  return caller.kind == Caller::Kind::kUser && caller.id == user_id;
}

Error StaffNotFound() {
  // The same answer for an id that exists outside the caller's scope: ids cannot be probed.
  return Error::NotFound("staff_not_found", "No such staff account in your organisations.");
}

Error OrganisationNotFound() {
  return Error::NotFound("organisation_not_found", "No such organisation in your scope.");
}

Result<orgs::Organisation> VisibleOrganisation(Transaction& tx, const Authorizer& authorizer,
                                               const Caller& caller, int64_t id,
                                               std::string_view permission) {
  auto org = orgs::Find(tx, id);
  if (!org.ok()) return std::move(org).error();
  if (!org->has_value()) return OrganisationNotFound();
  if (!authorizer.Allows(caller, permission, (*org)->path)) {
    if (!authorizer.Allows(caller, "identity.orgs.read", (*org)->path))
      return OrganisationNotFound();
    return Error{ErrorKind::kForbidden,
                 "forbidden",
                 fmt::format("You do not have the right {} here.", permission),
                 {}};
  }
  return std::move(**org);
}

// A staff account the caller may see: one of its grants lies in the caller's read scope.
Result<StaffView> VisibleStaff(Transaction& tx, const Authorizer& authorizer, const Caller& caller,
                               int64_t id) {
  auto user = internal::FindUser(tx, id);
  if (!user.ok()) return std::move(user).error();
  if (!user->has_value() || (*user)->status == "deleted") return StaffNotFound();
  auto grants = internal::LoadGrants(tx, id);
  if (!grants.ok()) return std::move(grants).error();
  const bool visible =
      IsSelf(caller, id) || std::any_of(grants->begin(), grants->end(), [&](const GrantView& grant) {
        return authorizer.Allows(caller, "identity.staff.read", grant.organisation_path);
      });
  if (!visible) return StaffNotFound();
  return internal::ToView(**user, std::move(*grants), authorizer.catalog());
}

// The account whose profiles the caller is about to change: visible to them, and not their own
// (nobody widens or trims their own rights).
Result<StaffView> GrantsTarget(Transaction& tx, const Authorizer& authorizer, const Caller& caller,
                               int64_t user_id) {
  auto target = VisibleStaff(tx, authorizer, caller, user_id);
  if (!target.ok()) return target;
  if (IsSelf(caller, user_id)) {
    return Error{ErrorKind::kForbidden, "cannot_change_self",
                 "Ask another administrator to change your profiles.", {}};
  }
  return target;
}

// Changing an account needs power over every profile it holds: nobody suspends, edits or
// deletes someone who holds more than they do.
Status RequireControl(Transaction& tx, const Authorizer& authorizer, const Caller& caller,
                      const StaffView& target) {
  if (IsSelf(caller, target.id)) {
    return Error{ErrorKind::kForbidden,
                 "cannot_change_self",
                 "Ask another administrator to change your own account.",
                 {}};
  }
  if (target.grants.empty()) {
    return Error{ErrorKind::kForbidden,
                 "forbidden",
                 "This account has no profile in your organisations.",
                 {}};
  }
  for (const GrantView& grant : target.grants) {
    auto org = orgs::Find(tx, grant.organisation_id);
    if (!org.ok()) return std::move(org).error();
    GUICHET_ASSERT(org->has_value());
    GUICHET_TRY_STATUS(
        authorizer.RequireGrantable(caller, grant.profile, (*org)->path, (*org)->kind));
  }
  return OkStatus();
}

Result<int64_t> InsertUser(Transaction& tx, const NewStaff& request,
                           const std::optional<std::string>& password_hash, int64_t now_ms) {
  auto row = tx.QueryOne(
      "INSERT INTO users (email, display_name, language, password_hash, must_change_password, "
      "status,"
      " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'active', $6, $6) RETURNING id",
      {request.email, request.display_name, request.language,
       password_hash ? storage::Param(*password_hash) : storage::Param(nullptr),
       password_hash.has_value() && request.must_change_password, now_ms});
  if (!row.ok()) {
    if (row.error().code == storage::kUniqueViolation) {
      return Error{ErrorKind::kConflict,
                   "email_taken",
                   "An account already uses this e-mail address.",
                   {{"/email", "already used"}}};
    }
    return std::move(row).error();
  }
  return (*row)->Int(0);
}

Status InsertGrant(Transaction& tx, int64_t user_id, int64_t organisation_id,
                   std::string_view profile, std::optional<int64_t> granted_by, int64_t now_ms) {
  auto inserted = tx.Execute(
      "INSERT INTO grants (user_id, organisation_id, profile, granted_by, created_at) VALUES ($1, "
      "$2, $3, $4, $5)",
      {user_id, organisation_id, std::string(profile),
       granted_by ? storage::Param(*granted_by) : storage::Param(nullptr), now_ms});
  if (!inserted.ok()) {
    if (inserted.error().code == storage::kUniqueViolation) {
      return Error::Conflict("grant_exists", "This person already holds this profile here.");
    }
    return std::move(inserted).error();
  }
  return OkStatus();
}

Status QueueInvitation(Transaction& tx, const NewStaff& request, int64_t user_id, int64_t now_ms,
                       const IdentityOptions& options) {
  const std::string token = crypto::RandomToken(32);
  GUICHET_TRY_STATUS(tx.Execute(
      "INSERT INTO password_resets (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, "
      "$3, $4)",
      {crypto::Sha256Hex(token), user_id, now_ms + options.invitation_s * 1000, now_ms}));
  notify::OutboxMessage message;
  message.recipient = request.email;
  message.template_code = "identity.invitation";
  message.language = request.language;
  message.organisation_id = request.organisation_id;
  message.person = privacy::PersonRef{std::string(privacy::kStaff), user_id};
  message.variables_json =
      boost::json::serialize(boost::json::object{{"display_name", request.display_name},
                                                 {"token", token},
                                                 {"valid_days", options.invitation_s / 86400}});
  auto queued = notify::Queue(tx, message, now_ms);
  if (!queued.ok()) return std::move(queued).error();
  return OkStatus();
}

Status CheckNewStaff(const NewStaff& request) {
  GUICHET_TRY_STATUS(internal::CheckEmail(request.email));
  GUICHET_TRY_STATUS(internal::CheckDisplayName(request.display_name));
  if (request.language != "fr" && request.language != "en") {
    return internal::Validation("/language", "The language is fr or en.");
  }
  if (request.profiles.empty())
    return internal::Validation("/profiles", "Give at least one profile.");
  if (request.initial_password) {
    GUICHET_TRY_STATUS(internal::CheckNewPassword(*request.initial_password, request.email,
                                                  request.display_name, "/initial_password"));
  }
  return OkStatus();
}

struct PreparedStaff {
  NewStaff request;
  std::optional<std::string> password_hash;
};

// Normalises and checks a new account, and hashes its initial password outside any
// transaction (Argon2id takes tens of milliseconds).
Result<PreparedStaff> PrepareNewStaff(const NewStaff& raw, const PasswordHashOptions& options) {
  PreparedStaff prepared{raw, std::nullopt};
  prepared.request.email = NormalizeEmail(raw.email);
  GUICHET_TRY_STATUS(CheckNewStaff(prepared.request));
  if (prepared.request.initial_password) {
    auto hash = HashPassword(*prepared.request.initial_password, options);
    if (!hash.ok()) return std::move(hash).error();
    prepared.password_hash = std::move(*hash);
  }
  return prepared;
}

}  // namespace

Result<StaffView> Identity::CreateStaff(const Caller& caller, const NewStaff& raw) {
  auto prepared = PrepareNewStaff(raw, options_.password_hash);
  if (!prepared.ok()) return std::move(prepared).error();
  const NewStaff& request = prepared->request;
  const std::optional<std::string>& password_hash = prepared->password_hash;
  const int64_t now = clock_.NowMs();
  return database_.Transact<StaffView>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<StaffView> {
        auto org = VisibleOrganisation(tx, authorizer_, caller, request.organisation_id,
                                       "identity.staff.manage");
        if (!org.ok()) return std::move(org).error();
        for (const std::string& profile : request.profiles) {
          GUICHET_TRY_STATUS(authorizer_.RequireGrantable(caller, profile, org->path, org->kind));
        }
        auto id = InsertUser(tx, request, password_hash, now);
        if (!id.ok()) return std::move(id).error();
        for (const std::string& profile : request.profiles) {
          GUICHET_TRY_STATUS(InsertGrant(tx, *id, org->id, profile, caller.id, now));
        }
        if (!request.initial_password)
          GUICHET_TRY_STATUS(QueueInvitation(tx, request, *id, now, options_));
        auto view = VisibleStaff(tx, authorizer_, caller, *id);
        if (!view.ok()) return std::move(view).error();
        GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "identity.staff.create", "user", *id,
                                           org->id, nullptr, internal::StaffJson(*view), now));
        return view;
      });
}

Result<std::vector<StaffView>> Identity::ListStaff(const Caller& caller,
                                                   std::optional<int64_t> organisation_id) {
  using List = std::vector<StaffView>;
  return database_.Transact<List>(TransactionMode::kRead, [&](Transaction& tx) -> Result<List> {
    std::vector<std::string> scopes = authorizer_.Scopes(caller, "identity.staff.read");
    if (organisation_id) {
      auto org =
          VisibleOrganisation(tx, authorizer_, caller, *organisation_id, "identity.staff.read");
      if (!org.ok()) return std::move(org).error();
      scopes = {org->path};
    }
    if (scopes.empty())
      return Error{ErrorKind::kForbidden, "forbidden", "You cannot list staff accounts.", {}};
    List staff;
    for (const std::string& scope : scopes) {
      std::string upper = scope;
      upper.back() = '0';
      auto ids = tx.Query(
          fmt::format("SELECT DISTINCT g.user_id FROM grants g JOIN organisations o ON o.id = "
                      "g.organisation_id"
                      " JOIN users u ON u.id = g.user_id WHERE o.path >= $1 AND o.path < $2"
                      " AND u.status <> 'deleted' ORDER BY g.user_id LIMIT {}",
                      kStaffPageMax),
          {scope, upper});
      if (!ids.ok()) return std::move(ids).error();
      for (const storage::Row& row : ids->rows) {
        const int64_t id = row.Int(0);
        if (std::any_of(staff.begin(), staff.end(),
                        [&](const StaffView& seen) { return seen.id == id; }))
          continue;
        auto view = VisibleStaff(tx, authorizer_, caller, id);
        if (!view.ok()) return std::move(view).error();
        staff.push_back(std::move(*view));
      }
    }
    return staff;
  });
}

Result<StaffView> Identity::GetStaff(const Caller& caller, int64_t id) {
  if (caller.anonymous()) {
    return Error{ErrorKind::kUnauthenticated, "unauthenticated", "Log in to do this.", {}};
  }
  return database_.Transact<StaffView>(TransactionMode::kRead, [&](Transaction& tx) {
    return VisibleStaff(tx, authorizer_, caller, id);
  });
}

Result<StaffView> Identity::UpdateStaff(const Caller& caller, int64_t id,
                                        const StaffChange& change) {
  if (change.display_name) GUICHET_TRY_STATUS(internal::CheckDisplayName(*change.display_name));
  if (change.language && *change.language != "fr" && *change.language != "en") {
    return internal::Validation("/language", "The language is fr or en.");
  }
  if (change.status && *change.status != "active" && *change.status != "suspended") {
    return internal::Validation("/status", "The status is active or suspended.");
  }
  const int64_t now = clock_.NowMs();
  return database_.Transact<StaffView>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<StaffView> {
        auto before = VisibleStaff(tx, authorizer_, caller, id);
        if (!before.ok()) return std::move(before).error();
        GUICHET_TRY_STATUS(RequireControl(tx, authorizer_, caller, *before));
        GUICHET_TRY_STATUS(
            tx.Execute("UPDATE users SET display_name = $1, language = $2, status = $3, updated_at "
                       "= $4 WHERE id = $5",
                       {change.display_name.value_or(before->display_name),
                        change.language.value_or(before->language),
                        change.status.value_or(before->status), now, id}));
        if (change.status == "suspended")
          GUICHET_TRY_STATUS(tx.Execute("DELETE FROM sessions WHERE user_id = $1", {id}));
        auto after = VisibleStaff(tx, authorizer_, caller, id);
        if (!after.ok()) return std::move(after).error();
        GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "identity.staff.update", "user", id,
                                           before->grants.front().organisation_id,
                                           internal::StaffJson(*before),
                                           internal::StaffJson(*after), now));
        return after;
      });
}

Status Identity::DeleteStaff(const Caller& caller, int64_t id) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    auto before = VisibleStaff(tx, authorizer_, caller, id);
    if (!before.ok()) return std::move(before).error();
    GUICHET_TRY_STATUS(RequireControl(tx, authorizer_, caller, *before));
    GUICHET_TRY_STATUS(internal::AnonymiseUser(tx, id, now));
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "identity.staff.delete", "user", id,
                                       before->grants.front().organisation_id,
                                       internal::StaffJson(*before), nullptr, now));
    return Ok{};
  });
}

Result<StaffView> Identity::AddGrant(const Caller& caller, int64_t user_id, int64_t organisation_id,
                                     std::string_view profile) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<StaffView>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<StaffView> {
        auto before = GrantsTarget(tx, authorizer_, caller, user_id);
        if (!before.ok()) return std::move(before).error();
        auto org =
            VisibleOrganisation(tx, authorizer_, caller, organisation_id, "identity.staff.manage");
        if (!org.ok()) return std::move(org).error();
        GUICHET_TRY_STATUS(authorizer_.RequireGrantable(caller, profile, org->path, org->kind));
        GUICHET_TRY_STATUS(InsertGrant(tx, user_id, org->id, profile, caller.id, now));
        auto after = VisibleStaff(tx, authorizer_, caller, user_id);
        if (!after.ok()) return std::move(after).error();
        GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "identity.grant.add", "user", user_id,
                                           org->id, internal::StaffJson(*before),
                                           internal::StaffJson(*after), now));
        return after;
      });
}

Result<StaffView> Identity::RemoveGrant(const Caller& caller, int64_t user_id, int64_t grant_id) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<StaffView>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<StaffView> {
        auto before = GrantsTarget(tx, authorizer_, caller, user_id);
        if (!before.ok()) return std::move(before).error();
        auto grant =
            std::find_if(before->grants.begin(), before->grants.end(),
                         [&](const GrantView& candidate) { return candidate.id == grant_id; });
        if (grant == before->grants.end())
          return Error::NotFound("grant_not_found", "This person has no such profile.");
        auto org = orgs::Find(tx, grant->organisation_id);
        if (!org.ok()) return std::move(org).error();
        GUICHET_TRY_STATUS(
            authorizer_.RequireGrantable(caller, grant->profile, (*org)->path, (*org)->kind));
        GUICHET_TRY_STATUS(
            tx.Execute("DELETE FROM grants WHERE id = $1 AND user_id = $2", {grant_id, user_id}));
        auto after = internal::FindUser(tx, user_id);
        if (!after.ok()) return std::move(after).error();
        auto grants = internal::LoadGrants(tx, user_id);
        if (!grants.ok()) return std::move(grants).error();
        StaffView view = internal::ToView(**after, std::move(*grants), authorizer_.catalog());
        GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "identity.grant.remove", "user", user_id,
                                           (*org)->id, internal::StaffJson(*before),
                                           internal::StaffJson(view), now));
        return view;
      });
}

Result<orgs::Organisation> Identity::CreateOrganisation(const Caller& caller,
                                                        const orgs::NewOrganisation& request) {
  const int64_t now = clock_.NowMs();
  using Org = orgs::Organisation;
  return database_.Transact<Org>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Org> {
    if (!request.parent_id) {
      // New trees (a new product deployment, a city's test environment) are set up by the
      // operator through the CLI or demo loader, not through the API.
      return Error{ErrorKind::kForbidden,
                   "forbidden",
                   "Only the operator creates top-level organisations.",
                   {}};
    }
    auto parent =
        VisibleOrganisation(tx, authorizer_, caller, *request.parent_id, "identity.orgs.manage");
    if (!parent.ok()) return std::move(parent).error();
    auto org = orgs::Create(tx, request, now);
    if (!org.ok()) return std::move(org).error();
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "identity.organisation.create", "organisation",
                                       org->id, org->id, nullptr, internal::OrganisationJson(*org),
                                       now));
    return org;
  });
}

Result<std::vector<orgs::Organisation>> Identity::ListOrganisations(const Caller& caller) {
  using List = std::vector<orgs::Organisation>;
  return database_.Transact<List>(TransactionMode::kRead, [&](Transaction& tx) -> Result<List> {
    const auto scopes = authorizer_.Scopes(caller, "identity.orgs.read");
    if (scopes.empty())
      return Error{ErrorKind::kForbidden, "forbidden", "You cannot list organisations.", {}};
    List all;
    for (const std::string& scope : scopes) {
      auto subtree = orgs::Subtree(tx, scope);
      if (!subtree.ok()) return std::move(subtree).error();
      all.insert(all.end(), subtree->begin(), subtree->end());
    }
    return all;
  });
}

Result<orgs::Organisation> Identity::GetOrganisation(const Caller& caller, int64_t id) {
  return database_.Transact<orgs::Organisation>(TransactionMode::kRead, [&](Transaction& tx) {
    return VisibleOrganisation(tx, authorizer_, caller, id, "identity.orgs.read");
  });
}

Result<std::vector<audit::AuditRecord>> Identity::RecordHistory(const Caller& caller,
                                                                std::string_view record_type,
                                                                std::string_view record_id,
                                                                std::optional<int64_t> before_seq) {
  using List = std::vector<audit::AuditRecord>;
  return database_.Transact<List>(TransactionMode::kRead, [&](Transaction& tx) -> Result<List> {
    std::set<int64_t> visible;
    for (const std::string& scope : authorizer_.Scopes(caller, "audit.read")) {
      auto subtree = orgs::Subtree(tx, scope);
      if (!subtree.ok()) return std::move(subtree).error();
      for (const orgs::Organisation& org : *subtree) visible.insert(org.id);
    }
    const bool own = record_type == "user" && caller.kind == Caller::Kind::kUser &&
                     record_id == std::to_string(caller.id);
    auto history = audit::History(tx, record_type, record_id, audit::kHistoryPageMax, before_seq);
    if (!history.ok()) return std::move(history).error();
    List shown;
    for (audit::AuditRecord& record : *history) {
      const auto org = record.entry.organisation_id;
      if (own || (org && visible.count(*org) > 0)) shown.push_back(std::move(record));
    }
    if (shown.empty())
      return Error::NotFound("history_not_found", "No history of this record in your scope.");
    return shown;
  });
}

Result<int64_t> Identity::BootstrapStaff(const NewStaff& raw) {
  auto prepared = PrepareNewStaff(raw, options_.password_hash);
  if (!prepared.ok()) return std::move(prepared).error();
  const NewStaff& request = prepared->request;
  const std::optional<std::string>& password_hash = prepared->password_hash;
  const int64_t now = clock_.NowMs();
  return database_.Transact<int64_t>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
        auto id = InsertUser(tx, request, password_hash, now);
        if (!id.ok()) return std::move(id).error();
        for (const std::string& profile : request.profiles) {
          GUICHET_ASSERT(authorizer_.catalog().FindProfile(profile) != nullptr);
          GUICHET_TRY_STATUS(
              InsertGrant(tx, *id, request.organisation_id, profile, std::nullopt, now));
        }
        GUICHET_TRY_STATUS(internal::Audit(tx, nullptr, "identity.staff.bootstrap", "user", *id,
                                           request.organisation_id, nullptr,
                                           boost::json::object{{"email", request.email}}, now));
        return id;
      });
}

}  // namespace guichet::identity
