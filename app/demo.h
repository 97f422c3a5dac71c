// Demo data for `guichet demo`: an organisation tree for each product and one staff account per
// profile, all with the same demo password. Loading twice changes nothing.
#pragma once

#include <string>
#include <vector>

#include "platform/identity/identity.h"

namespace guichet::app {

inline constexpr std::string_view kDemoPassword = "Vercors-Granit-Saule-47";

struct DemoLogin {
  std::string email;
  std::string profile;
  std::string organisation;
};

// Returns the logins (also when they existed already). Holders of the wallet (demo password
// too) log in to the wallet with their e-mail; their passwords are hashed with `holder_hash`.
Result<std::vector<DemoLogin>> LoadDemo(storage::Database& database, identity::Identity& identity,
                                        const Clock& clock, const identity::PasswordHashOptions& holder_hash);

}  // namespace guichet::app
