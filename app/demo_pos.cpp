// The demo's merchant and points of sale (demo_pos.h).
#include "app/demo_pos.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "modules/wallet/pos.h"
#include "modules/wallet/settlement_fees.h"
#include "platform/banking/calendar.h"
#include "platform/identity/machines.h"
#include "platform/orgs/orgs.h"
#include "platform/secrets/secrets.h"

namespace guichet::app {
namespace {

using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

constexpr std::string_view kDemoRegion = "Crous Grenoble Alpes";
constexpr std::string_view kDemoAdmin = "regional.admin@demo.guichet.fr";
constexpr std::string_view kDemoIban = "FR7630006000011234567890189";
constexpr int64_t kDemoCommissionBp = 150;  // 1,50 %

struct DemoPointSpec {
  std::string_view institution_id;
  std::string_view location;
  std::string_view type;
  std::vector<std::string> permissions;
};

// A till with every W13 permission (offline and cancel too), and a vending machine that debits.
std::vector<DemoPointSpec> DemoPoints() {
  return {{kDemoTillId,
           "Crous-GA-RU-Diderot-Caisse1",
           "till",
           {"create_holders", "clock_check", "download_base", "cash_reload", "debit",
            "reconciliation", "offline", "cancel", "load:MEAL", "debit:MEAL"}},
          {kDemoVendingId, "Crous-GA-RU-Diderot-Distributeur1", "vending_machine", {"debit"}}};
}

// The demo's fee schedule: a management fee per run, a fee per debit, a terminal rental.
std::vector<wallet::NewFeeLine> DemoFees() {
  return {{"per_run", "Frais de gestion", "Management fee", 250},
          {"per_debit", "Frais par débit", "Fee per debit", 2},
          {"per_point_month", "Location du terminal", "Terminal rental", 990}};
}

struct DemoContext {
  identity::Caller admin;
  orgs::Organisation region;
};

// The demo regional administrator, as a logged-in person with a second factor: the use cases
// check its rights (the region) as they would over HTTP.
Result<DemoContext> Context(storage::Database& database) {
  return database.Transact<DemoContext>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<DemoContext> {
        auto user = tx.QueryOne("SELECT id FROM users WHERE email = $1", {std::string(kDemoAdmin)});
        if (!user.ok()) return std::move(user).error();
        auto all = orgs::All(tx);
        if (!all.ok()) return std::move(all).error();
        const auto region = std::find_if(all->begin(), all->end(), [](const auto& org) {
          return org.kind == "region" && org.name == kDemoRegion;
        });
        if (!user->has_value() || region == all->end()) {
          return Error::Internal("the demo region and its administrator are not loaded");
        }
        DemoContext context;
        context.region = *region;
        context.admin.kind = identity::Caller::Kind::kUser;
        context.admin.id = (*user)->Int(0);
        context.admin.email = std::string(kDemoAdmin);
        context.admin.second_factor_done = true;
        context.admin.request_id = "demo";
        identity::Grant grant;
        grant.organisation_id = region->id;
        grant.organisation_path = region->path;
        grant.profile = "wallet.regional_admin";
        context.admin.grants.push_back(std::move(grant));
        return context;
      });
}

Result<int64_t> EnsureMerchant(storage::Database& database, wallet::Pos& pos,
                               const DemoContext& context) {
  auto existing = database.Transact<std::optional<int64_t>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::optional<int64_t>> {
        auto row = tx.QueryOne(
            "SELECT o.id FROM organisations o JOIN wallet_merchants m ON m.organisation_id = o.id"
            " WHERE o.parent_id = $1 AND o.name = $2",
            {context.region.id, std::string(kDemoMerchantName)});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value()) return std::optional<int64_t>();
        return std::optional<int64_t>((*row)->Int(0));
      });
  if (!existing.ok()) return std::move(existing).error();
  if (existing->has_value()) return **existing;
  wallet::NewMerchant request;
  request.region_id = context.region.id;
  request.name = std::string(kDemoMerchantName);
  request.iban = std::string(kDemoIban);
  request.bic = "AGRIFRPP";
  request.contact_email = "cafeteria.diderot@demo.guichet.fr";
  request.commission_bp = kDemoCommissionBp;
  auto merchant = pos.CreateMerchant(context.admin, request);
  if (!merchant.ok()) return std::move(merchant).error();
  return merchant->organisation_id;
}

Status EnsureFees(wallet::Pos& pos, const DemoContext& context, int64_t merchant_id,
                  const Clock& clock) {
  auto fees = wallet::GetMerchantFees(pos, context.admin, merchant_id);
  if (!fees.ok()) return std::move(fees).error();
  if (!fees->schedules.empty()) return OkStatus();  // set before (or changed by an operator)
  wallet::NewFeeSchedule schedule;
  schedule.effective_from = banking::FormatDate(banking::ParisDate(clock.NowMs()));
  schedule.lines = DemoFees();
  auto set = wallet::SetMerchantFees(pos, context.admin, merchant_id, schedule);
  if (!set.ok()) return std::move(set).error();
  return OkStatus();
}

struct PointState {
  int64_t id = 0;
  std::string state;
  bool paired = false;  // a device operates it, or its pairing code was used
};

Result<std::optional<PointState>> FindDemoPoint(storage::Database& database, int64_t merchant_id,
                                                std::string_view institution_id) {
  return database.Transact<std::optional<PointState>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::optional<PointState>> {
        auto row = tx.QueryOne(
            "SELECT p.id, p.state, p.device_id, d.used_at FROM wallet_points p"
            " LEFT JOIN device_pairings d ON d.id = p.pairing_id"
            " WHERE p.merchant_org_id = $1 AND p.institution_id = $2",
            {merchant_id, std::string(institution_id)});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value()) return std::optional<PointState>();
        const Row& r = **row;
        return std::optional<PointState>(PointState{
            r.Int(0), r.Text(1), r.OptionalInt(2).has_value() || r.OptionalInt(3).has_value()});
      });
}

}  // namespace

Result<DemoPos> LoadPosDemo(storage::Database& database, const identity::Authorizer& authorizer,
                            const Clock& clock) {
  auto context = Context(database);
  if (!context.ok()) return std::move(context).error();
  auto iban_key = secrets::LoadOrCreate(database, "wallet.merchant_ibans", "", clock.NowMs());
  if (!iban_key.ok()) return std::move(iban_key).error();
  wallet::Wallet wallet(database, clock, authorizer, wallet::WalletOptions{});
  identity::Machines machines(database, clock, authorizer);
  wallet::PosOptions options;
  options.iban_key = wallet::IbanKeyFromSecret(*iban_key);
  wallet::Pos pos(wallet, machines, std::move(options));

  DemoPos demo;
  auto merchant = EnsureMerchant(database, pos, *context);
  if (!merchant.ok()) return std::move(merchant).error();
  demo.merchant_id = *merchant;
  GUICHET_TRY_STATUS(EnsureFees(pos, *context, *merchant, clock));
  for (const DemoPointSpec& spec : DemoPoints()) {
    auto found = FindDemoPoint(database, *merchant, spec.institution_id);
    if (!found.ok()) return std::move(found).error();
    if (!found->has_value()) {
      wallet::NewPoint request;
      request.merchant_id = *merchant;
      request.institution_id = std::string(spec.institution_id);
      request.location = std::string(spec.location);
      request.address = "Restaurant universitaire Diderot, Grenoble";
      request.type = std::string(spec.type);
      request.permissions = spec.permissions;
      auto created = pos.CreatePoint(context->admin, request);
      if (!created.ok()) return std::move(created).error();
      *found = PointState{created->id, created->state, false};
    }
    DemoPointCode line{
        (*found)->id, std::string(spec.institution_id), std::string(spec.type), "approved", "", 0};
    if ((*found)->state == "opposed") line.state = "opposed";
    if ((*found)->state == "pending") {
      auto approved = pos.ApprovePoint(context->admin, (*found)->id);
      if (!approved.ok()) return std::move(approved).error();
      line.code = approved->pairing.code;
      line.expires_at_ms = approved->pairing.expires_at_ms;
    } else if (!(*found)->paired && (*found)->state == "approved") {
      auto fresh =
          pos.ReplaceDevice(context->admin, (*found)->id, "demo start: a fresh pairing code");
      if (!fresh.ok()) return std::move(fresh).error();
      line.code = fresh->pairing.code;
      line.expires_at_ms = fresh->pairing.expires_at_ms;
    }
    demo.points.push_back(std::move(line));
  }
  return demo;
}

std::string DemoPosText(const DemoPos& demo) {
  std::string text;
  for (const DemoPointCode& point : demo.points) {
    if (point.code.empty()) {
      text += fmt::format("{} {} point {} {}\n", point.institution_id, point.type, point.point_id,
                          point.state == "approved" ? "paired" : point.state);
    } else {
      text += fmt::format("{} {} point {} code {} until {}\n", point.institution_id, point.type,
                          point.point_id, point.code, FormatIso8601(point.expires_at_ms));
    }
  }
  return text;
}

}  // namespace guichet::app
