#include "platform/identity/rights.h"

#include <gtest/gtest.h>

namespace guichet::identity {
namespace {

RightsCatalog Catalog() {
  RightsCatalog catalog;
  for (const char* code : {"read", "write", "staff.manage", "approve"})
    catalog.AddPermission({code, code});
  catalog.AddPermission({"identity.staff.manage", "manage staff"});
  catalog.AddProfile(
      {"viewer", "test", "Lecteur", "Viewer", std::nullopt, {"read"}, false, {"site", "region"}});
  catalog.AddProfile(
      {"editor", "test", "Éditeur", "Editor", "viewer", {"write"}, false, {"site", "region"}});
  catalog.AddProfile({"admin",
                      "test",
                      "Admin",
                      "Admin",
                      "editor",
                      {"identity.staff.manage", "approve"},
                      true,
                      {"region", "national"}});
  return catalog;
}

Caller WithGrants(std::vector<Grant> grants, bool second_factor = true) {
  Caller caller;
  caller.kind = Caller::Kind::kUser;
  caller.id = 7;
  caller.grants = std::move(grants);
  caller.second_factor_done = second_factor;
  return caller;
}

TEST(Rights, HigherProfilesInheritEveryLowerPermission) {
  const RightsCatalog catalog = Catalog();
  EXPECT_EQ(catalog.PermissionsOf("viewer"), (std::set<std::string>{"read"}));
  EXPECT_EQ(catalog.PermissionsOf("editor"), (std::set<std::string>{"read", "write"}));
  EXPECT_EQ(catalog.PermissionsOf("admin"),
            (std::set<std::string>{"read", "write", "identity.staff.manage", "approve"}));
  EXPECT_TRUE(catalog.PermissionsOf("nobody").empty());
}

TEST(Rights, PermissionsHoldInTheSubtreeOnly) {
  const RightsCatalog catalog = Catalog();
  const Authorizer authorizer(catalog);
  const Caller editor = WithGrants({{1, 5, "/1/5/", "editor"}});
  EXPECT_TRUE(authorizer.Allows(editor, "write", "/1/5/"));
  EXPECT_TRUE(authorizer.Allows(editor, "write", "/1/5/17/"));
  EXPECT_FALSE(authorizer.Allows(editor, "write", "/1/"));     // above
  EXPECT_FALSE(authorizer.Allows(editor, "write", "/1/6/"));   // sibling
  EXPECT_FALSE(authorizer.Allows(editor, "write", "/1/55/"));  // a prefix of digits is not a parent
  EXPECT_FALSE(authorizer.Allows(editor, "approve", "/1/5/"));  // not in the profile
  EXPECT_EQ(authorizer.Require(Caller{}, "read", "/1/").error().code, "unauthenticated");
  EXPECT_EQ(authorizer.Require(editor, "approve", "/1/5/").error().code, "forbidden");
}

TEST(Rights, CumulatedProfilesInSeveralOrganisations) {
  const RightsCatalog catalog = Catalog();
  const Authorizer authorizer(catalog);
  const Caller caller = WithGrants({{1, 5, "/1/5/", "viewer"}, {2, 6, "/1/6/", "editor"}});
  EXPECT_FALSE(authorizer.Allows(caller, "write", "/1/5/"));
  EXPECT_TRUE(authorizer.Allows(caller, "write", "/1/6/9/"));
  EXPECT_EQ(authorizer.Scopes(caller, "read"), (std::vector<std::string>{"/1/5/", "/1/6/"}));
  // Nested scopes collapse to the outermost.
  const Caller nested = WithGrants({{1, 1, "/1/", "viewer"}, {2, 6, "/1/6/", "editor"}});
  EXPECT_EQ(authorizer.Scopes(nested, "read"), (std::vector<std::string>{"/1/"}));
}

TEST(Rights, StrongProfilesNeedTheSecondFactorAndNoPendingPasswordChange) {
  const RightsCatalog catalog = Catalog();
  const Authorizer authorizer(catalog);
  Caller admin = WithGrants({{1, 1, "/1/", "admin"}}, false);
  EXPECT_FALSE(authorizer.Allows(admin, "read", "/1/"));
  admin.second_factor_done = true;
  EXPECT_TRUE(authorizer.Allows(admin, "read", "/1/"));
  admin.must_change_password = true;
  EXPECT_FALSE(authorizer.Allows(admin, "read", "/1/"));
}

TEST(Rights, NobodyGrantsMoreThanTheyHold) {
  const RightsCatalog catalog = Catalog();
  const Authorizer authorizer(catalog);
  const Caller admin = WithGrants({{1, 5, "/1/5/", "admin"}});
  EXPECT_TRUE(authorizer.RequireGrantable(admin, "editor", "/1/5/", "site").ok());
  EXPECT_TRUE(
      authorizer.RequireGrantable(admin, "admin", "/1/5/", "region").ok());  // peers: same rights
  EXPECT_EQ(authorizer.RequireGrantable(admin, "editor", "/1/6/", "site").error().code,
            "forbidden");
  EXPECT_EQ(authorizer.RequireGrantable(admin, "editor", "/1/5/", "national").error().code,
            "validation_failed");
  EXPECT_EQ(authorizer.RequireGrantable(admin, "ghost", "/1/5/", "site").error().code,
            "validation_failed");
  // An admin who holds the manage right but not everything of a profile cannot grant it.
  const Caller partial = WithGrants({{1, 5, "/1/5/", "admin"}, {2, 1, "/1/", "viewer"}});
  EXPECT_EQ(authorizer.RequireGrantable(partial, "editor", "/1/", "region").error().code,
            "forbidden");
}

}  // namespace
}  // namespace guichet::identity
