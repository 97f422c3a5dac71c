// Paths in the organisation tree: an organisation contains itself and what lies below it, never
// a sibling whose id starts with the same digits.
#include "platform/orgs/orgs.h"

#include <gtest/gtest.h>

namespace guichet::orgs {
namespace {

TEST(OrgPaths, ContainsItselfAndItsDescendantsOnly) {
  EXPECT_TRUE(Contains("/1/5/", "/1/5/"));
  EXPECT_TRUE(Contains("/1/5/", "/1/5/17/"));
  EXPECT_FALSE(Contains("/1/5/", "/1/51/"));
  EXPECT_FALSE(Contains("/1/5/17/", "/1/5/"));
}

TEST(OrgPaths, ContainedInAnyOfTheScopes) {
  const std::vector<std::string> scopes{"/1/5/", "/1/8/"};
  EXPECT_TRUE(ContainedInAny(scopes, "/1/8/30/"));
  EXPECT_FALSE(ContainedInAny(scopes, "/1/9/"));
  EXPECT_FALSE(ContainedInAny({}, "/1/"));
}

}  // namespace
}  // namespace guichet::orgs
