// The small world identity-based tests share: the identity stack's migrations, a syndicate
// with two cities, staff accounts with a known password, and logging them in.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "platform/base/clock.h"
#include "platform/identity/identity.h"
#include "platform/orgs/orgs.h"
#include "platform/storage/migrations.h"

namespace guichet::testing {

inline constexpr std::string_view kTestPassword = "Vercors-Granit-Saule-47";

// Jobs, organisations, audit, outbox and identity, then `extra` pieces, in that order.
Status MigrateIdentityStack(storage::Database& database, const Clock& clock,
                            const std::vector<std::vector<storage::Migration>>& extra = {});

// {syndicate "Syndicat", city "Ville A", city "Ville B"}.
std::vector<orgs::Organisation> MakeSyndicateWithTwoCities(storage::Database& database, const Clock& clock);

// An active account with kTestPassword, no forced change; returns its id (0 on failure,
// reported to gtest).
int64_t BootstrapStaff(identity::Identity& identity, const std::string& email, int64_t organisation_id,
                       std::vector<std::string> profiles);

// Logs in with kTestPassword and returns the caller the session authenticates as.
identity::Caller LogIn(identity::Identity& identity, const std::string& email);

}  // namespace guichet::testing
