#include "app/catalog.h"

#include "modules/wallet/fraud.h"
#include "modules/wallet/pos.h"
#include "modules/wallet/reloads.h"
#include "modules/wallet/reconciliation.h"
#include "modules/wallet/settlement.h"
#include "modules/wallet/wallet.h"
#include "platform/identity/identity_http.h"
#include "platform/identity/machines.h"
#include "platform/notify/content.h"
#include "platform/notify/delivery_http.h"
#include "platform/notify/webhooks_http.h"
#include "platform/privacy/privacy.h"
#include "platform/sync/sync.h"
#include "platform/identity/machines.h"

namespace guichet::app {
namespace {

using identity::ProfileInfo;

void AddWalletProfiles(identity::RightsCatalog& catalog) {
  // W12: merchants see only their points of sale; managers work nationally; regional admins
  // manage managers and merchants of their region; national admins everything. Admins and
  // managers must use a second factor (C3).
  catalog.AddProfile({"wallet.merchant", "wallet", "Commerçant", "Merchant", std::nullopt,
                      {"identity.orgs.read", std::string(wallet::right::kPointsRead),
                       std::string(wallet::right::kPointsOppose),
                       std::string(wallet::right::kSettlementsRead),
                       std::string(wallet::right::kReconciliationsManage)},
                      false, {"site", "merchant"}});
  catalog.AddProfile({"wallet.manager", "wallet", "Gestionnaire", "Manager", std::nullopt,
                      {"identity.orgs.read", "audit.read", "notify.addresses.read", "notify.messages.read",
                       "notify.people.read", "notify.preferences.manage", "notify.campaigns.manage",
                       std::string(wallet::right::kCreate), std::string(wallet::right::kRead),
                       std::string(wallet::right::kUpdate), std::string(wallet::right::kOppose),
                       std::string(wallet::right::kCashRecord)},
                      true,
                      {"national", "region"}});
  catalog.AddProfile({"wallet.regional_admin", "wallet", "Administrateur régional", "Regional administrator",
                      "wallet.manager",
                      {"identity.staff.read", "identity.staff.manage", "identity.orgs.manage",
                       "identity.apikeys.manage", "identity.devices.manage", "privacy.export", "privacy.erase",
                       std::string(sync::kStaffReadRight), std::string(sync::kStaffManageRight),
                       "notify.addresses.manage", "notify.senders.manage", "notify.messages.manage",
                       "notify.templates.manage",
                       "notify.webhooks.read", "notify.webhooks.manage", std::string(wallet::right::kReactivate),
                       std::string(wallet::right::kSepaManage),
                       std::string(wallet::right::kMerchantsManage), std::string(wallet::right::kPointsRead),
                       std::string(wallet::right::kPointsManage), std::string(wallet::right::kPointsApprove),
                       std::string(wallet::right::kPointsOppose), std::string(wallet::right::kPosTestAccount),
                       std::string(wallet::right::kFraudRead), std::string(wallet::right::kFraudManage),
                       std::string(wallet::right::kSettlementsRead), std::string(wallet::right::kSettlementsManage),
                       std::string(wallet::right::kReconciliationsManage)},
                      true, {"region"}});
  catalog.AddProfile({"wallet.national_admin", "wallet", "Administrateur national", "National administrator",
                      "wallet.regional_admin", {std::string(wallet::right::kSettings)}, true, {"national"}});
}

void AddPassProfiles(identity::RightsCatalog& catalog) {
  catalog.AddProfile({"pass.partner", "pass", "Partenaire", "Partner", std::nullopt, {"identity.orgs.read"},
                      false, {"partner"}});
  catalog.AddProfile({"pass.tourism_actor", "pass", "Acteur touristique", "Tourism officer", std::nullopt,
                      {"identity.orgs.read", "audit.read", "identity.staff.read", "notify.addresses.read",
                       "notify.messages.read", "notify.people.read", "notify.preferences.manage",
                       "notify.campaigns.manage"},
                      false, {"tourism_office"}});
  catalog.AddProfile({"pass.admin", "pass", "Administrateur", "Administrator", "pass.tourism_actor",
                      {"identity.staff.manage", "identity.orgs.manage", "identity.apikeys.manage",
                       "identity.devices.manage", "privacy.export", "privacy.erase", "notify.addresses.manage",
                       std::string(sync::kStaffReadRight), std::string(sync::kStaffManageRight),
                       "notify.senders.manage", "notify.messages.manage", "notify.templates.manage",
                       "notify.webhooks.read", "notify.webhooks.manage"},
                      false, {"departement", "tourism_office"}});
}

void AddFamilyProfiles(identity::RightsCatalog& catalog) {
  catalog.AddProfile({"family.establishment_agent", "family", "Agent d'établissement", "Establishment agent",
                      std::nullopt, {"identity.orgs.read"}, false, {"establishment"}});
  catalog.AddProfile({"family.regisseur", "family", "Régisseur", "Cashier (régisseur)", std::nullopt,
                      {"identity.orgs.read", "audit.read"}, false, {"city"}});
  catalog.AddProfile({"family.city_agent", "family", "Agent de la ville", "City agent", "family.establishment_agent",
                      {"audit.read", "identity.staff.read", "notify.addresses.read", "notify.messages.read",
                       "notify.people.read", "notify.preferences.manage"},
                      false,
                      {"city"}});
  catalog.AddProfile({"family.syndicate_admin", "family", "Administrateur du syndicat", "Syndicate administrator",
                      "family.city_agent",
                      {"identity.staff.manage", "identity.orgs.manage", "identity.apikeys.manage",
                       "identity.devices.manage", "privacy.export", "privacy.erase", "notify.addresses.manage",
                       std::string(sync::kStaffReadRight), std::string(sync::kStaffManageRight),
                       "notify.senders.manage", "notify.messages.manage", "notify.templates.manage",
                       "notify.campaigns.manage",
                       "notify.webhooks.read", "notify.webhooks.manage"},
                      false, {"syndicate", "city"}});
}

}  // namespace

identity::RightsCatalog BuildCatalog() {
  identity::RightsCatalog catalog;
  identity::DeclarePermissions(catalog);
  identity::DeclareMachinePermissions(catalog);
  privacy::DeclarePermissions(catalog);
  notify::DeclarePermissions(catalog);
  notify::DeclareContentPermissions(catalog);
  notify::DeclareWebhookPermissions(catalog);
  wallet::DeclarePermissions(catalog);
  wallet::DeclareMoneyPermissions(catalog);
  wallet::DeclarePosPermissions(catalog);
  wallet::DeclareFraudPermissions(catalog);
  wallet::DeclareSettlementPermissions(catalog);
  wallet::DeclareReconciliationPermissions(catalog);
  sync::DeclarePermissions(catalog);
  AddWalletProfiles(catalog);
  AddPassProfiles(catalog);
  AddFamilyProfiles(catalog);
  return catalog;
}

}  // namespace guichet::app
