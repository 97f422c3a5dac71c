// The contact directory: how to reach a person of each type. Each piece that owns people
// registers, per person type (privacy::PersonRef.type), a lookup that says where a person
// lives in the organisation tree and how to write to them. Filled before serving (like the
// privacy registries), read-only afterwards.
//
//   "staff"          platform/identity users (RegisterStaffContacts below)
//   "wallet.holder"  the wallet module registers its holders here when it lands
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/base/result.h"
#include "platform/privacy/privacy.h"
#include "platform/storage/database.h"

namespace guichet::notify {

struct Contact {
  std::string display_name;
  std::string email;  // empty: none known
  std::string phone;  // E.164, empty: none known
  std::string language = "fr";
  int64_t organisation_id = 0;    // the organisation the person belongs to
  std::string organisation_path;  // its path, for scope checks
  bool active = true;             // false: deleted or erased, never written to
};

using ContactLookup =
    std::function<Result<std::optional<Contact>>(storage::Transaction& tx, int64_t person_id)>;

class ContactDirectory {
 public:
  // Asserts the type is new.
  void Add(std::string person_type, ContactLookup lookup);
  bool Knows(std::string_view person_type) const;
  std::vector<std::string> Types() const;
  // nullopt: no such person (or an unknown type).
  Result<std::optional<Contact>> Find(storage::Transaction& tx, const privacy::PersonRef& person) const;

 private:
  std::map<std::string, ContactLookup, std::less<>> lookups_;
};

// Staff: e-mail and language of the account; organisation: that of its first grant.
void RegisterStaffContacts(ContactDirectory& directory);

}  // namespace guichet::notify
