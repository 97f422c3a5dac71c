#include "platform/identity/identity.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "platform/audit/audit.h"
#include "platform/identity/identity_http.h"
#include "platform/notify/outbox.h"
#include "tests/support/identity_world.h"
#include "tests/support/test_databases.h"

namespace guichet::identity {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr std::string_view kPassword = testing::kTestPassword;

RightsCatalog TestCatalog() {
  RightsCatalog catalog;
  DeclarePermissions(catalog);
  catalog.AddProfile({"agent",
                      "test",
                      "Agent",
                      "Agent",
                      std::nullopt,
                      {"identity.orgs.read", "audit.read"},
                      false,
                      {"city", "establishment"}});
  catalog.AddProfile({"admin",
                      "test",
                      "Admin",
                      "Admin",
                      "agent",
                      {"identity.staff.read", "identity.staff.manage", "identity.orgs.manage"},
                      false,
                      {"syndicate", "city"}});
  return catalog;
}

class IdentityTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    auto migrated = testing::MigrateIdentityStack(db(), clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    options_.password_hash = {1, 8 * 1024};
    options_.login_failures_max = 3;
    identity_ = std::make_unique<Identity>(db(), clock_, authorizer_, options_);
    orgs_ = testing::MakeSyndicateWithTwoCities(db(), clock_);
    ASSERT_EQ(orgs_.size(), 3u);
    admin_a_ = Bootstrap("admin.a@test.fr", orgs_[1].id, "admin");
    agent_b_ = Bootstrap("agent.b@test.fr", orgs_[2].id, "agent");
  }

  storage::Database& db() { return test_->db(); }

  int64_t Bootstrap(const std::string& email, int64_t org, const std::string& profile) {
    return testing::BootstrapStaff(*identity_, email, org, {profile});
  }

  Caller LogIn(const std::string& email) { return testing::LogIn(*identity_, email); }

  ManualClock clock_{1'800'000'000'000};
  RightsCatalog catalog_ = TestCatalog();
  Authorizer authorizer_{catalog_};
  IdentityOptions options_;
  std::unique_ptr<TestDatabase> test_;
  std::unique_ptr<Identity> identity_;
  std::vector<orgs::Organisation> orgs_;
  int64_t admin_a_ = 0;
  int64_t agent_b_ = 0;
};

TEST_P(IdentityTest, LoginCreatesASessionThatExpiresWhenIdle) {
  auto outcome = identity_->Login(" Admin.A@Test.fr ", kPassword, "r1");
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  const std::string token = outcome->tokens.session_token;
  auto caller = identity_->Authenticate(token, "r2");
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->caller.id, admin_a_);
  ASSERT_EQ(caller->caller.grants.size(), 1u);
  clock_.Advance(options_.session_idle_s * 1000 + 1);
  EXPECT_EQ(identity_->Authenticate(token, "r3").error().code, "unauthenticated");
}

TEST_P(IdentityTest, RepeatedFailuresLockTheAccountForAWhile) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(identity_->Login("agent.b@test.fr", "wrong-password-123", "r").error().code,
              "invalid_credentials");
  }
  EXPECT_EQ(identity_->Login("agent.b@test.fr", kPassword, "r").error().code, "account_locked");
  clock_.Advance(options_.lockout_s * 1000 + 1);
  EXPECT_TRUE(identity_->Login("agent.b@test.fr", kPassword, "r").ok());
}

TEST_P(IdentityTest, PasswordResetIsSingleUseAndEndsSessions) {
  auto before = identity_->Login("agent.b@test.fr", kPassword, "r");
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(identity_->RequestPasswordReset("agent.b@test.fr", "r").ok());
  ASSERT_TRUE(identity_->RequestPasswordReset("nobody@test.fr", "r").ok());  // same answer
  auto token = db().Transact<
      std::string>(TransactionMode::kRead, [](Transaction& tx) -> Result<std::string> {
    auto row = tx.QueryOne(
        "SELECT variables FROM outbox_messages WHERE template_code = 'identity.password_reset'");
    if (!row.ok()) return std::move(row).error();
    EXPECT_TRUE(row->has_value());  // exactly one: none for the unknown address
    return std::string(boost::json::parse((*row)->Text(0)).at("token").as_string());
  });
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(identity_->ResetPassword(*token, "short", "r").error().code, "weak_password");
  ASSERT_TRUE(identity_->ResetPassword(*token, "Falaise-Ortie-Cobalt-58", "r").ok());
  EXPECT_EQ(identity_->ResetPassword(*token, "Falaise-Ortie-Cobalt-59", "r").error().code,
            "reset_link_invalid");
  EXPECT_FALSE(identity_->Login("agent.b@test.fr", kPassword, "r").ok());
  EXPECT_TRUE(identity_->Login("agent.b@test.fr", "Falaise-Ortie-Cobalt-58", "r").ok());
  // The session opened before the reset is gone.
  EXPECT_EQ(identity_->Authenticate(before->tokens.session_token, "r").error().code,
            "unauthenticated");
}

TEST_P(IdentityTest, StaffOfAnotherCityIsInvisibleAndUntouchable) {
  const Caller admin = LogIn("admin.a@test.fr");
  EXPECT_EQ(identity_->GetStaff(admin, agent_b_).error().code, "staff_not_found");
  StaffChange change;
  change.status = "suspended";
  EXPECT_EQ(identity_->UpdateStaff(admin, agent_b_, change).error().code, "staff_not_found");
  auto listed = identity_->ListStaff(admin, std::nullopt);
  ASSERT_TRUE(listed.ok());
  for (const StaffView& view : *listed) EXPECT_NE(view.id, agent_b_);
  EXPECT_EQ(identity_->GetOrganisation(admin, orgs_[2].id).error().code, "organisation_not_found");
  EXPECT_EQ(identity_->AddGrant(admin, agent_b_, orgs_[1].id, "agent").error().code,
            "staff_not_found");
}

TEST_P(IdentityTest, CreatedStaffIsAuditedAndInvited) {
  const Caller admin = LogIn("admin.a@test.fr");
  NewStaff staff;
  staff.email = "new.agent@test.fr";
  staff.display_name = "Nouvel Agent";
  staff.organisation_id = orgs_[1].id;
  staff.profiles = {"agent"};
  auto created = identity_->CreateStaff(admin, staff);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(identity_->CreateStaff(admin, staff).error().code, "email_taken");
  // Exactly one invitation, to the new address, written with the account (the refused
  // duplicate left nothing behind).
  auto invitations = db().Transact<std::optional<storage::Row>>(TransactionMode::kRead, [](Transaction& tx) {
    return tx.QueryOne(
        "SELECT count(*), min(recipient) FROM outbox_messages WHERE template_code = 'identity.invitation'");
  });
  ASSERT_TRUE(invitations.ok());
  EXPECT_EQ((*invitations)->Int(0), 1);
  EXPECT_EQ((*invitations)->Text(1), "new.agent@test.fr");
  EXPECT_FALSE(created->must_change_password);  // no initial password: the link sets it
  staff.email = "other@test.fr";
  staff.organisation_id = orgs_[0].id;  // the syndicate: above the admin's city
  EXPECT_EQ(identity_->CreateStaff(admin, staff).error().code, "organisation_not_found");
  auto history = identity_->RecordHistory(admin, "user", std::to_string(created->id), std::nullopt);
  ASSERT_TRUE(history.ok()) << history.error().message;
  EXPECT_EQ(history->front().entry.action, "identity.staff.create");
  auto report = audit::Verify(db());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok);
}

TEST_P(IdentityTest, GrantChangesRefuseSelfUnknownGrantsAndMorePowerfulProfiles) {
  const Caller admin = LogIn("admin.a@test.fr");
  // One's own profiles: neither added nor withdrawn.
  EXPECT_EQ(identity_->AddGrant(admin, admin_a_, orgs_[1].id, "agent").error().code, "cannot_change_self");
  EXPECT_EQ(identity_->RemoveGrant(admin, admin_a_, admin.grants.front().id).error().code, "cannot_change_self");
  // A colleague of the same city: a grant they do not hold is not found.
  const int64_t colleague = Bootstrap("agent.a@test.fr", orgs_[1].id, "agent");
  EXPECT_EQ(identity_->RemoveGrant(admin, colleague, 999999).error().code, "grant_not_found");
  // A profile granted at the syndicate, above the admin's city, cannot be withdrawn by them.
  const int64_t top = Bootstrap("top@test.fr", orgs_[0].id, "admin");
  auto city_grant = identity_->AddGrant(Caller{Caller::Kind::kSystem}, top, orgs_[1].id, "agent");
  ASSERT_TRUE(city_grant.ok()) << city_grant.error().message;
  auto seen = identity_->GetStaff(admin, top);
  ASSERT_TRUE(seen.ok()) << seen.error().message;  // visible through the city grant
  const auto above = std::find_if(seen->grants.begin(), seen->grants.end(),
                                  [&](const GrantView& grant) { return grant.organisation_id == orgs_[0].id; });
  ASSERT_NE(above, seen->grants.end());
  EXPECT_EQ(identity_->RemoveGrant(admin, top, above->id).error().code, "forbidden");
  // And a withdrawal within scope works and is audited.
  auto added = identity_->AddGrant(admin, colleague, orgs_[1].id, "admin");
  ASSERT_TRUE(added.ok()) << added.error().message;
  const auto granted = std::find_if(added->grants.begin(), added->grants.end(),
                                    [](const GrantView& grant) { return grant.profile == "admin"; });
  ASSERT_NE(granted, added->grants.end());
  auto removed = identity_->RemoveGrant(admin, colleague, granted->id);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(removed->grants.size(), 1u);
  auto history = identity_->RecordHistory(admin, "user", std::to_string(colleague), std::nullopt);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->front().entry.action, "identity.grant.remove");
}

INSTANTIATE_TEST_SUITE_P(Backends, IdentityTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const auto& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::identity
