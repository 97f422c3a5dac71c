#include "app/demo.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "platform/audit/audit.h"

namespace guichet::app {
namespace {

using storage::Transaction;
using storage::TransactionMode;

struct DemoOrg {
  std::string_view key;
  std::string_view parent_key;
  std::string_view kind;
  std::string_view name;
  std::string_view environment;
};

constexpr DemoOrg kOrganisations[] = {
    {"cnous", "", "national", "Cnous — réseau des œuvres universitaires", "production"},
    {"crous-ga", "cnous", "region", "Crous Grenoble Alpes", "production"},
    {"crous-lyon", "cnous", "region", "Crous Lyon", "production"},
    {"ru-diderot", "crous-ga", "site", "Restaurant universitaire Diderot", "production"},
    {"lozere", "", "departement", "Lozère Tourisme", "production"},
    {"ot-mende", "lozere", "tourism_office", "Office de tourisme Mende Cœur de Lozère", "production"},
    {"musee-gevaudan", "ot-mende", "partner", "Musée du Gévaudan", "production"},
    {"sitiv", "", "syndicate", "SITIV — syndicat intercommunal", "production"},
    {"venissieux", "sitiv", "city", "Ville de Vénissieux", "production"},
    {"ecole-parilly", "venissieux", "establishment", "École Parilly", "production"},
    {"sitiv-recette", "", "syndicate", "SITIV (recette)", "test"},
};

struct DemoStaff {
  std::string_view email;
  std::string_view name;
  std::string_view org_key;
  std::string_view profile;
};

constexpr DemoStaff kStaff[] = {
    {"national.admin@demo.guichet.fr", "Nadia Nationale", "cnous", "wallet.national_admin"},
    {"regional.admin@demo.guichet.fr", "Rémi Régional", "crous-ga", "wallet.regional_admin"},
    {"manager@demo.guichet.fr", "Maëlle Gestion", "cnous", "wallet.manager"},
    {"merchant@demo.guichet.fr", "Marc Caisse", "ru-diderot", "wallet.merchant"},
    {"pass.admin@demo.guichet.fr", "Paule Admin", "lozere", "pass.admin"},
    {"tourism@demo.guichet.fr", "Théo Office", "ot-mende", "pass.tourism_actor"},
    {"partner@demo.guichet.fr", "Pia Musée", "musee-gevaudan", "pass.partner"},
    {"syndicate.admin@demo.guichet.fr", "Sylvie Syndicat", "sitiv", "family.syndicate_admin"},
    {"city.agent@demo.guichet.fr", "Cédric Ville", "venissieux", "family.city_agent"},
    {"regisseur@demo.guichet.fr", "Rachid Régie", "venissieux", "family.regisseur"},
    {"school.agent@demo.guichet.fr", "Élise École", "ecole-parilly", "family.establishment_agent"},
};

// Organisations by key, created when missing (found by name under the same parent otherwise).
Result<std::map<std::string, orgs::Organisation, std::less<>>> EnsureOrganisations(storage::Database& database,
                                                                                    const Clock& clock) {
  using Map = std::map<std::string, orgs::Organisation, std::less<>>;
  return database.Transact<Map>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Map> {
    auto existing = orgs::All(tx);
    if (!existing.ok()) return std::move(existing).error();
    Map by_key;
    for (const DemoOrg& demo : kOrganisations) {
      std::optional<int64_t> parent_id;
      if (!demo.parent_key.empty()) parent_id = by_key.find(demo.parent_key)->second.id;
      auto found = std::find_if(existing->begin(), existing->end(), [&](const orgs::Organisation& org) {
        return org.name == demo.name && org.parent_id == parent_id;
      });
      if (found != existing->end()) {
        by_key.emplace(demo.key, *found);
        continue;
      }
      orgs::NewOrganisation request{parent_id, std::string(demo.kind), std::string(demo.name),
                                    std::string(demo.environment)};
      auto created = orgs::Create(tx, request, clock.NowMs());
      if (!created.ok()) return std::move(created).error();
      const std::string after = boost::json::serialize(
          boost::json::object{{"name", created->name}, {"kind", created->kind}, {"path", created->path}});
      GUICHET_TRY_STATUS(audit::Append(tx, {"system", std::nullopt, created->id, "identity.organisation.create",
                                            "organisation", std::to_string(created->id), "null", after, "demo"},
                                       clock.NowMs()));
      by_key.emplace(demo.key, *created);
    }
    return by_key;
  });
}

}  // namespace

Result<std::vector<DemoLogin>> LoadDemo(storage::Database& database, identity::Identity& identity,
                                        const Clock& clock) {
  auto organisations = EnsureOrganisations(database, clock);
  if (!organisations.ok()) return std::move(organisations).error();
  std::vector<DemoLogin> logins;
  for (const DemoStaff& staff : kStaff) {
    const orgs::Organisation& org = organisations->find(staff.org_key)->second;
    identity::NewStaff request;
    request.email = std::string(staff.email);
    request.display_name = std::string(staff.name);
    request.organisation_id = org.id;
    request.profiles = {std::string(staff.profile)};
    request.initial_password = std::string(kDemoPassword);
    request.must_change_password = false;  // demo accounts: straight in
    auto created = identity.BootstrapStaff(request);
    if (!created.ok() && created.error().code != "email_taken") return std::move(created).error();
    logins.push_back({std::string(staff.email), std::string(staff.profile), org.name});
  }
  return logins;
}

}  // namespace guichet::app
