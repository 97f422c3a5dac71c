#include "platform/notify/contacts.h"

namespace guichet::notify {

void ContactDirectory::Add(std::string person_type, ContactLookup lookup) {
  GUICHET_ASSERT(!person_type.empty() && lookup);
  const bool added = lookups_.emplace(std::move(person_type), std::move(lookup)).second;
  GUICHET_ASSERT(added);
}

bool ContactDirectory::Knows(std::string_view person_type) const { return lookups_.find(person_type) != lookups_.end(); }

std::vector<std::string> ContactDirectory::Types() const {
  std::vector<std::string> types;
  for (const auto& [type, lookup] : lookups_) types.push_back(type);
  return types;
}

Result<std::optional<Contact>> ContactDirectory::Find(storage::Transaction& tx,
                                                      const privacy::PersonRef& person) const {
  const auto found = lookups_.find(person.type);
  if (found == lookups_.end()) return std::optional<Contact>();
  return found->second(tx, person.id);
}

void RegisterStaffContacts(ContactDirectory& directory) {
  directory.Add(std::string(privacy::kStaff), [](storage::Transaction& tx, int64_t id) -> Result<std::optional<Contact>> {
    auto row = tx.QueryOne(
        "SELECT u.display_name, u.email, u.language, u.status, o.id, o.path FROM users u"
        " LEFT JOIN grants g ON g.id = (SELECT min(id) FROM grants WHERE user_id = u.id)"
        " LEFT JOIN organisations o ON o.id = g.organisation_id WHERE u.id = $1",
        {id});
    if (!row.ok()) return std::move(row).error();
    if (!*row) return std::optional<Contact>();
    Contact contact;
    contact.display_name = (*row)->Text(0);
    contact.email = (*row)->Text(1);
    contact.language = (*row)->Text(2);
    contact.active = (*row)->Text(3) != "deleted";
    contact.organisation_id = (*row)->OptionalInt(4).value_or(0);
    contact.organisation_path = (*row)->OptionalText(5).value_or("");
    return std::optional<Contact>(std::move(contact));
  });
}

}  // namespace guichet::notify
