#include "app/demo.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "modules/wallet/wallet.h"
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

struct DemoHolder {
  std::string_view university_id;
  std::string_view last_name;
  std::string_view first_name;
  std::string_view email;
  std::string_view birth_date;
  std::string_view tariff;
  std::string_view card;
  std::string_view org_key;
};

constexpr DemoHolder kHolders[] = {
    {"UGA-20231001", "Martin", "Camille", "camille.martin@etu.demo.guichet.fr", "2004-03-12", "boursier",
     "04A1B2C3D4E5F6", "crous-ga"},
    {"UGA-20231002", "Bernard", "Hugo", "hugo.bernard@etu.demo.guichet.fr", "2003-11-02", "etudiant",
     "04A1B2C3D4E5F7", "crous-ga"},
    {"UDL-20239001", "Nguyen", "Linh", "linh.nguyen@etu.demo.guichet.fr", "2005-06-30", "etudiant",
     "04A1B2C3D4E5F8", "crous-lyon"},
};

// The wallet: two token counters (one active), three holders with a card each, and a few
// movements on the first one so that its statement tells a story.
Status LoadWalletDemo(storage::Database& database, const identity::Authorizer& authorizer, const Clock& clock,
                      const identity::PasswordHashOptions& holder_hash,
                      const std::map<std::string, orgs::Organisation, std::less<>>& organisations,
                      std::vector<DemoLogin>& logins) {
  wallet::WalletOptions options;
  options.password_hash = holder_hash;
  wallet::Wallet wallet(database, clock, authorizer, options);
  identity::Caller system;
  system.kind = identity::Caller::Kind::kSystem;
  system.request_id = "demo";
  wallet::CounterInput meal;
  meal.code = "MEAL";
  meal.nature = "Repas sociaux";
  meal.token_name = "repas";
  meal.information_fr = "Vos repas à tarif social, servis dans les restaurants universitaires.";
  meal.information_en = "Your social-rate meals, served in the university restaurants.";
  meal.labels[0] = "Matin";
  meal.labels[1] = "Midi";
  meal.labels[2] = "Soir";
  meal.labels[3] = "Autre";
  meal.active = true;
  wallet::CounterInput points = meal;
  points.code = "POINTS";
  points.nature = "Points de fidélité";
  points.token_name = "points";
  points.information_fr = "Points de fidélité des cafétérias.";
  points.information_en = "Cafeteria loyalty points.";
  points.active = false;
  for (const auto* counter : {&meal, &points}) {
    auto defined = wallet.DefineCounter(system, *counter);
    if (!defined.ok() && defined.error().code != "counter_duplicate") return std::move(defined).error();
  }
  std::optional<int64_t> first_holder;
  for (const DemoHolder& demo : kHolders) {
    wallet::NewHolder holder;
    holder.organisation_id = organisations.find(demo.org_key)->second.id;
    holder.university_id = std::string(demo.university_id);
    holder.last_name = std::string(demo.last_name);
    holder.first_name = std::string(demo.first_name);
    holder.email = std::string(demo.email);
    holder.birth_date = std::string(demo.birth_date);
    holder.tariff_profile = std::string(demo.tariff);
    holder.end_of_validity = "2027-08-31";
    holder.supports = {{std::string(demo.card), "desfire", false}};
    holder.initial_password = std::string(kDemoPassword);
    auto created = wallet.CreateHolder(system, holder, "demo");
    if (!created.ok() && created.error().code != "holder_duplicate") return std::move(created).error();
    if (created.ok() && !first_holder) first_holder = created->id;
    logins.push_back({std::string(demo.email), "wallet holder (wallet login)",
                      organisations.find(demo.org_key)->second.name});
  }
  if (!first_holder) return OkStatus();  // loaded before
  const int64_t national = organisations.find("cnous")->second.id;
  const int64_t holder_id = *first_holder;
  return database.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    const int64_t now = clock.NowMs();
    auto card = wallet::OperatorAccount(tx, national, wallet::kEuro, wallet::purpose::kCardAcquirer, now);
    if (!card.ok()) return std::move(card).error();
    auto sales = wallet::OperatorAccount(tx, national, wallet::kEuro, wallet::purpose::kSales, now);
    if (!sales.ok()) return std::move(sales).error();
    auto issue = wallet::OperatorAccount(tx, national, "MEAL", wallet::purpose::kTokenIssue, now);
    if (!issue.ok()) return std::move(issue).error();
    auto holder = wallet::FindHolder(tx, holder_id);
    if (!holder.ok()) return std::move(holder).error();
    const std::optional<int64_t> support = (*holder)->supports.front().id;
    struct Step {
      std::string id;
      std::string counter;
      wallet::Direction direction;
      int64_t amount;
      int64_t counterpart;
      std::string kind, mode, label;
      std::optional<int64_t> support;
    };
    const Step steps[] = {
        {"demo-reload-1", "EUR", wallet::Direction::kCredit, 3000, *card, "reload.card", "card", "Recharge CB", {}},
        {"demo-meals-1", "MEAL", wallet::Direction::kCredit, 10, *issue, "load", "api", "Repas du mois", {}},
        {"demo-pay-1", "EUR", wallet::Direction::kDebit, 330, *sales, "payment", "support", "RU Diderot", support},
        {"demo-meal-1", "MEAL", wallet::Direction::kDebit, 1, *issue, "payment", "support", "RU Diderot — midi",
         support},
    };
    for (const Step& step : steps) {
      wallet::Movement movement;
      movement.holder_id = holder_id;
      movement.counter = step.counter;
      movement.direction = step.direction;
      movement.amount = step.amount;
      movement.counterpart_account_id = step.counterpart;
      movement.transfer_id = step.id;
      movement.kind = step.kind;
      movement.mode = step.mode;
      movement.label = step.label;
      movement.support_id = step.support;
      if (step.counter == "MEAL" && step.direction == wallet::Direction::kDebit) movement.stamp_field = 2;
      auto moved = wallet::MoveHolder(tx, system, movement, now);
      if (!moved.ok()) return std::move(moved).error();
    }
    return Ok{};
  });
}

}  // namespace

Result<std::vector<DemoLogin>> LoadDemo(storage::Database& database, identity::Identity& identity,
                                        const Clock& clock, const identity::PasswordHashOptions& holder_hash) {
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
  GUICHET_TRY_STATUS(
      LoadWalletDemo(database, identity.authorizer(), clock, holder_hash, *organisations, logins));
  return logins;
}

}  // namespace guichet::app
