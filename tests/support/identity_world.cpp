#include "tests/support/identity_world.h"

#include <gtest/gtest.h>

#include "platform/audit/audit.h"
#include "platform/jobs/jobs.h"
#include "platform/notify/outbox.h"

namespace guichet::testing {

Status MigrateIdentityStack(storage::Database& database, const Clock& clock,
                            const std::vector<std::vector<storage::Migration>>& extra) {
  std::vector<storage::Migration> all;
  // Jobs first: queueing a message also wakes the delivery job.
  for (const auto& pieces : {jobs::Migrations(), orgs::Migrations(), audit::Migrations(), notify::Migrations(),
                             identity::Migrations()}) {
    all.insert(all.end(), pieces.begin(), pieces.end());
  }
  for (const auto& pieces : extra) all.insert(all.end(), pieces.begin(), pieces.end());
  auto report = storage::Migrate(database, all, clock);
  if (!report.ok()) return std::move(report).error();
  return OkStatus();
}

std::vector<orgs::Organisation> MakeSyndicateWithTwoCities(storage::Database& database, const Clock& clock) {
  using List = std::vector<orgs::Organisation>;
  auto made = database.Transact<List>(storage::TransactionMode::kWrite,
                                      [&](storage::Transaction& tx) -> Result<List> {
    List list;
    auto root = orgs::Create(tx, {std::nullopt, "syndicate", "Syndicat"}, clock.NowMs());
    if (!root.ok()) return std::move(root).error();
    list.push_back(*root);
    for (const char* name : {"Ville A", "Ville B"}) {
      auto city = orgs::Create(tx, {root->id, "city", name}, clock.NowMs());
      if (!city.ok()) return std::move(city).error();
      list.push_back(*city);
    }
    return list;
  });
  EXPECT_TRUE(made.ok()) << made.error().message;
  return made.ok() ? *made : List{};
}

int64_t BootstrapStaff(identity::Identity& identity, const std::string& email, int64_t organisation_id,
                       std::vector<std::string> profiles) {
  identity::NewStaff staff;
  staff.email = email;
  staff.display_name = "Test Person";
  staff.organisation_id = organisation_id;
  staff.profiles = std::move(profiles);
  staff.initial_password = std::string(kTestPassword);
  staff.must_change_password = false;
  auto id = identity.BootstrapStaff(staff);
  EXPECT_TRUE(id.ok()) << id.error().message;
  return id.ok() ? *id : 0;
}

identity::Caller LogIn(identity::Identity& identity, const std::string& email) {
  auto outcome = identity.Login(email, kTestPassword, "test");
  EXPECT_TRUE(outcome.ok()) << outcome.error().message;
  if (!outcome.ok()) return identity::Caller{};
  auto authenticated = identity.Authenticate(outcome->tokens.session_token, "test");
  EXPECT_TRUE(authenticated.ok());
  return authenticated.ok() ? authenticated->caller : identity::Caller{};
}

}  // namespace guichet::testing
