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

// Returns the logins (also when they existed already).
Result<std::vector<DemoLogin>> LoadDemo(storage::Database& database, identity::Identity& identity,
                                        const Clock& clock);

}  // namespace guichet::app
