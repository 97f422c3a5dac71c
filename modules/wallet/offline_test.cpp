// The wallet's offline mode on both databases, through the real sync service: a point paired
// like in production uploads signed batches; applied, each refusal, a debit awaiting funds
// (an alert at each try) applied once a credit comes, replays of a point_txn_id, the feeds of
// oppositions and revoked phones, and the per-point report.
#include "modules/wallet/offline.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/json/serialize.hpp>

#include "modules/wallet/qr_codes.h"
#include "platform/audit/audit.h"
#include "platform/base/clock.h"
#include "platform/base/crypto.h"
#include "platform/identity/identity.h"
#include "platform/identity/machines.h"
#include "platform/jobs/jobs.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"
#include "tests/support/test_databases.h"

namespace guichet::wallet {
namespace {

using boost::json::object;
using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr int64_t kStart = 1'800'000'000'000;
constexpr std::string_view kIban = "FR7630006000011234567890189";

struct TestDevice {
  int64_t id = 0;
  std::string public_key, secret_key;
  identity::Caller caller;
  int64_t next_seq = 1;

  std::string Sign(std::string_view message) const {
    std::string signature(crypto_sign_BYTES, '\0');
    crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                         reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                         reinterpret_cast<const unsigned char*>(secret_key.data()));
    return crypto::ToBase64Url(signature);
  }
};

class OfflineTest : public ::testing::TestWithParam<storage::Backend> {
 public:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces :
         {jobs::Migrations(), orgs::Migrations(), audit::Migrations(), notify::Migrations(),
          identity::Migrations(), identity::MachineMigrations(), ledger::Migrations(), Migrations(),
          PosMigrations(), QrMigrations(), sync::Migrations()}) {
      for (auto& migration : pieces) all.push_back(std::move(migration));
    }
    auto migrated = storage::Migrate(test_->db(), all, clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    catalog_.AddPermission({"identity.orgs.read", "x"});
    identity::DeclareMachinePermissions(catalog_);
    wallet::DeclarePermissions(catalog_);
    DeclarePosPermissions(catalog_);
    WalletOptions options;
    options.password_hash = {1, 8192};
    wallet_ = std::make_unique<Wallet>(test_->db(), clock_, authorizer_, options);
    machines_ = std::make_unique<identity::Machines>(test_->db(), clock_, authorizer_);
    PosOptions pos_options;
    pos_options.iban_key = IbanKeyFromSecret("00112233445566778899aabbccddeeff");
    pos_ = std::make_unique<Pos>(*wallet_, *machines_, pos_options);
    AddOfflineHandlers(handlers_);
    AddOfflineFeeds(feeds_);
    sync_ = std::make_unique<sync::Sync>(test_->db(), clock_, authorizer_, feeds_, handlers_);
    reports_ = std::make_unique<OfflineReports>(*pos_);
    system_.kind = identity::Caller::Kind::kSystem;
    auto region = test_->db().Transact<orgs::Organisation>(
        TransactionMode::kWrite, [&](Transaction& tx) -> Result<orgs::Organisation> {
          auto national = orgs::Create(tx, {std::nullopt, "national", "CNOUS"}, kStart);
          if (!national.ok()) return std::move(national).error();
          return orgs::Create(tx, {national->id, "region", "Crous Grenoble Alpes"}, kStart);
        });
    ASSERT_TRUE(region.ok());
    region_ = *region;
    // A staff account row: pairings record who made them.
    auto user = test_->db().Transact<int64_t>(
        TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
          auto row = tx.QueryOne(
              "INSERT INTO users (email, display_name, language, status, created_at, updated_at)"
              " VALUES ('admin@crous.example', 'Admin', 'fr', 'active', $1, $1) RETURNING id",
              {kStart});
          if (!row.ok()) return std::move(row).error();
          return (*row)->Int(0);
        });
    ASSERT_TRUE(user.ok()) << user.error().message;
    admin_ = Staff(
        *user, region_,
        {"identity.orgs.read", "identity.devices.manage", std::string(right::kMerchantsManage),
         std::string(right::kPointsRead), std::string(right::kPointsManage),
         std::string(right::kPointsApprove), std::string(right::kPointsOppose),
         std::string(right::kOppose), std::string(right::kReactivate), std::string(right::kRead)});
    merchant_ = MakeMerchant("Cafet Diderot");
    point_ = MakePoint(merchant_, "P1", {"debit", "cancel", "cash_reload", "offline"});
    device_ = PairPoint(point_);
    holder_ = MakeHolder("ana", 2000);
  }

  identity::Caller Staff(int64_t id, const orgs::Organisation& org,
                         std::set<std::string> permissions) {
    identity::Caller caller;
    caller.kind = identity::Caller::Kind::kUser;
    caller.id = id;
    identity::Grant grant;
    grant.organisation_id = org.id;
    grant.organisation_path = org.path;
    grant.permissions = std::move(permissions);
    caller.grants.push_back(grant);
    return caller;
  }

  Merchant MakeMerchant(const std::string& name) {
    NewMerchant request{region_.id, name, std::string(kIban), "AGRIFRPP", "contact@cafet.example",
                        150,        30};
    auto made = pos_->CreateMerchant(admin_, request);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return made.ok() ? *made : Merchant{};
  }

  Point MakePoint(const Merchant& merchant, const std::string& id,
                  std::vector<std::string> permissions) {
    NewPoint request{merchant.organisation_id,
                     id,
                     "Crous-UG-RU-Diderot-Caisse1",
                     "1 rue Diderot, Grenoble",
                     "till",
                     std::move(permissions),
                     false};
    auto made = pos_->CreatePoint(admin_, request);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return made.ok() ? *made : Point{};
  }

  // Approval and pairing as in production: the device's key, its caller as the gate makes it.
  TestDevice PairPoint(const Point& point) {
    TestDevice device;
    device.public_key.resize(crypto_sign_PUBLICKEYBYTES);
    device.secret_key.resize(crypto_sign_SECRETKEYBYTES);
    crypto_sign_keypair(reinterpret_cast<unsigned char*>(device.public_key.data()),
                        reinterpret_cast<unsigned char*>(device.secret_key.data()));
    auto approval = pos_->ApprovePoint(admin_, point.id);
    EXPECT_TRUE(approval.ok()) << (approval.ok() ? "" : approval.error().message);
    if (!approval.ok()) return device;
    auto paired =
        machines_->Pair(approval->pairing.code, crypto::ToBase64Url(device.public_key), "pair");
    EXPECT_TRUE(paired.ok()) << (paired.ok() ? "" : paired.error().message);
    if (!paired.ok()) return device;
    device.id = paired->id;
    device.caller.kind = identity::Caller::Kind::kDevice;
    device.caller.id = device.id;
    identity::Grant grant;
    grant.organisation_id = merchant_.organisation_id;
    auto org = test_->db().Transact<std::string>(
        TransactionMode::kRead, [&](Transaction& tx) -> Result<std::string> {
          auto row =
              tx.QueryOne("SELECT path FROM organisations WHERE id = $1", {point.merchant_org_id});
          if (!row.ok()) return std::move(row).error();
          return (*row)->Text(0);
        });
    EXPECT_TRUE(org.ok());
    grant.organisation_path = org.ok() ? *org : "";
    grant.permissions = catalog_.DevicePermissions("pos");
    device.caller.grants.push_back(grant);
    return device;
  }

  int64_t MakeHolder(const std::string& name, int64_t euros_cents) {
    NewHolder holder;
    holder.organisation_id = region_.id;
    holder.university_id = "U-" + name;
    holder.last_name = "Durand";
    holder.first_name = name;
    holder.email = name + "@example.org";
    holder.supports = {{"CARD-" + name, "desfire", false}};
    auto created = wallet_->CreateHolder(system_, holder);
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().message);
    if (euros_cents > 0) Credit(created->id, euros_cents);
    return created->id;
  }

  void Credit(int64_t holder_id, int64_t amount) {
    auto moved = test_->db().Transact<MovementResult>(
        TransactionMode::kWrite, [&](Transaction& tx) -> Result<MovementResult> {
          auto source = OperatorAccount(tx, region_.id, std::string(kEuro), purpose::kSuspense,
                                        clock_.NowMs());
          if (!source.ok()) return std::move(source).error();
          Movement movement;
          movement.holder_id = holder_id;
          movement.counter = std::string(kEuro);
          movement.amount = amount;
          movement.counterpart_account_id = *source;
          movement.transfer_id = fmt::format("credit-{}-{}", holder_id, ++credits_);
          movement.kind = "correction";
          movement.mode = "api";
          return MoveHolder(tx, system_, movement, clock_.NowMs());
        });
    ASSERT_TRUE(moved.ok()) << moved.error().message;
  }

  int64_t Balance(int64_t holder_id) {
    auto account =
        test_->db().Transact<HolderAccount>(TransactionMode::kWrite, [&](Transaction& tx) {
          return HolderAccountFor(tx, holder_id, std::string(kEuro), clock_.NowMs());
        });
    EXPECT_TRUE(account.ok());
    return account.ok() ? account->balance : -1;
  }

  int64_t Count(const std::string& sql, storage::Params params) {
    auto n = test_->db().Transact<int64_t>(TransactionMode::kRead,
                                           [&](Transaction& tx) -> Result<int64_t> {
                                             auto row = tx.QueryOne(sql, params);
                                             if (!row.ok()) return std::move(row).error();
                                             return (*row)->Int(0);
                                           });
    EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().message);
    return n.ok() ? *n : -1;
  }

  int64_t Alerts() {
    return Count("SELECT COUNT(*) FROM outbox_messages WHERE template_code = $1",
                 {std::string(offline::kAwaitingFundsTemplate)});
  }

  static sync::BatchEvent Debit(const std::string& txn, int64_t amount,
                                const std::string& support = "CARD-ana") {
    return {0, std::string(offline::kDebit), kStart - 60'000,
            object{{"point_txn_id", txn}, {"amount", amount}, {"support_number", support}}};
  }

  sync::BatchAnswer Upload(TestDevice& device, std::vector<sync::BatchEvent> events) {
    sync::Batch batch;
    batch.device_id = device.id;
    batch.batch_id = fmt::format("b-{}", device.next_seq);
    for (auto& event : events) event.seq = device.next_seq++;
    batch.events = std::move(events);
    batch.signature = device.Sign(*sync::BatchSigningString(batch));
    auto answer = sync_->Upload(device.caller, batch);
    EXPECT_TRUE(answer.ok()) << (answer.ok() ? "" : answer.error().code);
    return answer.ok() ? *answer : sync::BatchAnswer{};
  }

  static std::string StateOf(const sync::EventOutcome& outcome) {
    std::string text(sync::EventStateName(outcome.state));
    if (outcome.code) text += ":" + *outcome.code;
    return text;
  }

  std::vector<std::string> States(const sync::BatchAnswer& answer) {
    std::vector<std::string> states;
    for (const auto& outcome : answer.outcomes) states.push_back(StateOf(outcome));
    return states;
  }

  int64_t SupportId(const std::string& number) {
    return Count("SELECT id FROM wallet_supports WHERE number = $1", {number});
  }

  int64_t credits_ = 0;
  ManualClock clock_{kStart};
  identity::RightsCatalog catalog_;
  identity::Authorizer authorizer_{catalog_};
  std::unique_ptr<TestDatabase> test_;
  std::unique_ptr<Wallet> wallet_;
  std::unique_ptr<identity::Machines> machines_;
  std::unique_ptr<Pos> pos_;
  sync::Feeds feeds_;
  sync::Handlers handlers_;
  std::unique_ptr<sync::Sync> sync_;
  std::unique_ptr<OfflineReports> reports_;
  identity::Caller system_, admin_;
  orgs::Organisation region_;
  Merchant merchant_;
  Point point_;
  TestDevice device_;
  int64_t holder_ = 0;
};

TEST_P(OfflineTest, W16_debits_apply_at_the_points_time_flagged_offline) {
  const auto answer = Upload(device_, {Debit("T-1", 330), Debit("T-2", 170)});
  EXPECT_EQ(States(answer), (std::vector<std::string>{"applied", "applied"}));
  EXPECT_EQ(Balance(holder_), 1500);
  ASSERT_TRUE(answer.outcomes[0].result_json.has_value());
  const auto txn = pos_->PointTransactions(admin_, point_.id);
  ASSERT_TRUE(txn.ok());
  ASSERT_EQ(txn->size(), 2u);
  for (const PosTransaction& t : *txn) {
    EXPECT_TRUE(t.offline);
    EXPECT_EQ(t.point_at_ms, kStart - 60'000);
    EXPECT_EQ(t.state, "acknowledged");
  }
}

TEST_P(OfflineTest, W16_each_refusal_is_an_outcome_with_its_code_and_nothing_applied) {
  sync::BatchEvent with_time = Debit("T-3", 100);
  with_time.payload.as_object()["point_at_ms"] = kStart;
  sync::BatchEvent cancel{0, std::string(offline::kCancel), kStart,
                          object{{"point_txn_id", "C-1"}, {"cancels_point_txn_id", "NOPE"}}};
  sync::BatchEvent reload{
      0, std::string(offline::kCashReload), kStart,
      object{{"point_txn_id", "R-1"}, {"amount", 700}, {"support_number", "CARD-ana"}}};
  sync::BatchEvent load{0, std::string(offline::kLoad), kStart,
                        object{{"point_txn_id", "L-1"},
                               {"amount", 2},
                               {"counter", "MEAL"},
                               {"support_number", "CARD-ana"}}};
  const auto answer = Upload(device_, {Debit("T-1", 100, "CARD-nobody"), Debit("T-2", 0), with_time,
                                       cancel, reload, load, Debit("T-4", 100, "")});
  EXPECT_EQ(States(answer),
            (std::vector<std::string>{"refused:support_not_found", "refused:amount_invalid",
                                      "refused:validation_failed", "refused:transaction_not_found",
                                      "refused:cash_pack_invalid", "refused:permission_denied",
                                      "refused:validation_failed"}));
  EXPECT_EQ(Balance(holder_), 2000);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_pos_transactions", {}), 0);
  // The point's report lists them newest first with their codes, as the device got them.
  auto report = reports_->PointReport(admin_, point_.id);
  ASSERT_TRUE(report.ok()) << report.error().message;
  std::vector<std::string> codes;
  for (const RefusedEvent& e : report->refused) {
    codes.push_back(e.code);
    EXPECT_EQ(e.device_id, device_.id);
  }
  EXPECT_EQ(codes,
            (std::vector<std::string>{"validation_failed", "permission_denied", "cash_pack_invalid",
                                      "transaction_not_found", "validation_failed",
                                      "amount_invalid", "support_not_found"}));
  ASSERT_EQ(report->refused.size(), 7u);
  EXPECT_GT(report->refused[0].seq, report->refused[6].seq);
  EXPECT_EQ(report->refused[4].kind, offline::kDebit);
  EXPECT_EQ(report->refused[3].kind, offline::kCancel);
  EXPECT_EQ(report->refused[3].at_ms, kStart);
  EXPECT_EQ(report->refused[6].at_ms, kStart - 60'000);
  const auto json = PointOfflineReportJson(*report);
  EXPECT_EQ(json.at("refused").as_array().size(), 7u);
  EXPECT_EQ(json.at("refused").as_array()[6].as_object().at("code").as_string(),
            "support_not_found");

  // A bad one-time code is refused with its own code and kept for the fraud rules, as online.
  const auto bad_qr = States(Upload(device_, {sync::BatchEvent{
      0, std::string(offline::kDebit), kStart - 60'000,
      object{{"point_txn_id", "Q-1"}, {"amount", 100}, {"qr", "GQ1.not-a-code"}}}}));
  ASSERT_EQ(bad_qr.size(), 1u);
  EXPECT_EQ(bad_qr[0].rfind("refused:qr_", 0), 0u) << bad_qr[0];
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_qr_refusals WHERE point_id = $1", {point_.id}), 1);
  EXPECT_EQ(Balance(holder_), 2000);

  // An opposed support is refused; a point without the offline permission too.
  ASSERT_TRUE(wallet_->OpposeSupport(admin_, SupportId("CARD-ana"), Opposition::kTemporary).ok());
  EXPECT_EQ(States(Upload(device_, {Debit("T-5", 100)})),
            (std::vector<std::string>{"refused:support_opposed"}));
  ASSERT_TRUE(wallet_->ReactivateSupport(admin_, SupportId("CARD-ana")).ok());
  Point online_only = MakePoint(merchant_, "P2", {"debit"});
  TestDevice other = PairPoint(online_only);
  EXPECT_EQ(States(Upload(other, {Debit("T-6", 100)})),
            (std::vector<std::string>{"refused:permission_denied"}));
  // An opposed point: every event is refused point_opposed.
  ASSERT_TRUE(pos_->OpposePoint(admin_, point_.id, "stolen").ok());
  EXPECT_EQ(States(Upload(device_, {Debit("T-7", 100)})),
            (std::vector<std::string>{"refused:point_opposed"}));
  EXPECT_EQ(Balance(holder_), 2000);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_pos_transactions", {}), 0);
}

TEST_P(OfflineTest, W16_a_replayed_point_txn_id_is_applied_once_and_other_content_conflicts) {
  EXPECT_EQ(States(Upload(device_, {Debit("T-1", 330)})), (std::vector<std::string>{"applied"}));
  // The point lost its answer and sends the sale again as a new event.
  const auto again = Upload(device_, {Debit("T-1", 330), Debit("T-1", 999)});
  EXPECT_EQ(States(again), (std::vector<std::string>{"applied", "refused:point_txn_conflict"}));
  ASSERT_TRUE(again.outcomes[0].result_json.has_value());
  EXPECT_NE(again.outcomes[0].result_json->find("\"replayed\":true"), std::string::npos);
  EXPECT_EQ(Balance(holder_), 2000 - 330);
}

TEST_P(OfflineTest,
       W16_a_debit_over_the_balance_waits_alerts_at_each_try_and_applies_after_a_credit) {
  const auto answer = Upload(device_, {Debit("T-1", 500), Debit("T-2", 3000), Debit("T-3", 200)});
  EXPECT_EQ(States(answer),
            (std::vector<std::string>{"applied", "waiting:awaiting_funds", "applied"}));
  EXPECT_EQ(answer.outcomes[1].wait_key, HolderWaitKey(holder_));
  EXPECT_EQ(Balance(holder_), 1300);
  EXPECT_EQ(Alerts(), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM wallet_pos_transactions", {}), 2);

  // The report and the merchant's list show it.
  auto report = reports_->PointReport(admin_, point_.id);
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->waiting.size(), 1u);
  EXPECT_EQ(report->waiting[0].amount, 3000);
  EXPECT_EQ(report->waiting[0].holder_id, holder_);
  EXPECT_EQ(report->waiting[0].support_number, "CARD-ana");
  EXPECT_EQ(report->waiting[0].attempts, 1);
  EXPECT_EQ(report->device->events_by_state.at("applied"), 2);
  auto awaiting = reports_->AwaitingFunds(admin_, merchant_.organisation_id);
  ASSERT_TRUE(awaiting.ok());
  ASSERT_EQ(awaiting->size(), 1u);
  EXPECT_EQ((*awaiting)[0].point_id, point_.id);

  // A try on the retry schedule that still waits: another alert.
  clock_.Advance(24 * 3600 * 1000);
  auto retried = sync_->RetryDue();
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->waiting, 1);
  EXPECT_EQ(Alerts(), 2);

  // A credit too small: tried at once (a retry job queued), still waiting, a third alert.
  Credit(holder_, 1000);
  EXPECT_GE(Count("SELECT COUNT(*) FROM jobs WHERE kind = $1", {std::string(sync::kRetryJob)}), 1);
  auto small = sync_->RetryDue();
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->waiting, 1);
  EXPECT_EQ(Alerts(), 3);
  // Enough now.
  Credit(holder_, 1000);
  auto enough = sync_->RetryDue();
  ASSERT_TRUE(enough.ok());
  EXPECT_EQ(enough->applied, 1);
  EXPECT_EQ(Alerts(), 3);
  EXPECT_EQ(Balance(holder_), 1300 + 2000 - 3000);
  auto after = reports_->PointReport(admin_, point_.id);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->waiting.empty());
  EXPECT_EQ(after->device->events_by_state.at("applied"), 3);
}

TEST_P(OfflineTest, W16_a_cancellation_of_a_debit_awaiting_funds_waits_for_it) {
  sync::BatchEvent cancel{0, std::string(offline::kCancel), kStart,
                          object{{"point_txn_id", "C-1"}, {"cancels_point_txn_id", "T-1"}}};
  EXPECT_EQ(States(Upload(device_, {Debit("T-1", 2500), cancel})),
            (std::vector<std::string>{"waiting:awaiting_funds", "waiting:awaiting_debit"}));
  Credit(holder_, 1000);
  auto retried = sync_->RetryDue();
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->applied, 2);
  EXPECT_EQ(Balance(holder_), 3000);
  auto report = reports_->PointReport(admin_, point_.id);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->waiting.empty());
}

TEST_P(OfflineTest, W16_a_sale_awaiting_funds_stays_the_points_after_its_device_is_replaced) {
  EXPECT_EQ(States(Upload(device_, {Debit("T-1", 2500)})),
            (std::vector<std::string>{"waiting:awaiting_funds"}));
  ASSERT_TRUE(pos_->ReplaceDevice(admin_, point_.id, "till broken").ok());
  auto report = reports_->PointReport(admin_, point_.id);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_FALSE(report->device.has_value());
  ASSERT_EQ(report->waiting.size(), 1u);
  Credit(holder_, 1000);
  auto retried = sync_->RetryDue();
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->applied, 1);
  EXPECT_EQ(Balance(holder_), 500);
  const auto txn = pos_->PointTransactions(admin_, point_.id);
  ASSERT_TRUE(txn.ok());
  ASSERT_EQ(txn->size(), 1u);
  EXPECT_EQ((*txn)[0].point_txn_id, "T-1");
}

TEST_P(OfflineTest, W16_oppositions_and_revoked_phones_reach_the_points_of_the_region) {
  auto first = sync_->ReadFeed(device_.caller, offline::kOppositionsFeed, "", 100);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->items.empty());
  ASSERT_TRUE(wallet_->OpposeSupport(admin_, SupportId("CARD-ana"), Opposition::kTemporary).ok());
  auto changes = sync_->ReadFeed(device_.caller, offline::kOppositionsFeed, first->cursor, 100);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->items.size(), 1u);
  EXPECT_EQ(changes->items[0].key, "CARD-ana");
  EXPECT_EQ(boost::json::serialize(changes->items[0].value),
            fmt::format("{{\"since\":{}}}", kStart));
  // A fresh device gets it in its snapshot; the lifting is a delete.
  auto snapshot = sync_->ReadFeed(device_.caller, offline::kOppositionsFeed, "", 100);
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->items.size(), 1u);
  ASSERT_TRUE(wallet_->ReactivateSupport(admin_, SupportId("CARD-ana")).ok());
  auto lifted = sync_->ReadFeed(device_.caller, offline::kOppositionsFeed, changes->cursor, 100);
  ASSERT_TRUE(lifted.ok());
  ASSERT_EQ(lifted->items.size(), 1u);
  EXPECT_TRUE(lifted->items[0].value.is_null());
  // Payments change no feed.
  Upload(device_, {Debit("T-1", 100)});
  auto quiet = sync_->ReadFeed(device_.caller, offline::kOppositionsFeed, lifted->cursor, 100);
  ASSERT_TRUE(quiet.ok());
  EXPECT_TRUE(quiet->items.empty());
  auto keys = sync_->ReadFeed(device_.caller, offline::kQrKeysFeed, "", 100);
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  auto phones = sync_->ReadFeed(device_.caller, offline::kRevokedPhonesFeed, "", 100);
  ASSERT_TRUE(phones.ok()) << phones.error().message;
  EXPECT_TRUE(phones->items.empty());
}

TEST_P(OfflineTest, W16_a_revoked_phone_and_an_opposed_account_reach_the_feeds) {
  auto qr = QrCodes::Open(*wallet_, QrServiceKeyFromSecret("offline test service key"));
  ASSERT_TRUE(qr.ok()) << qr.error().message;
  auto keys = sync_->ReadFeed(device_.caller, offline::kQrKeysFeed, "", 100);
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->items.size(), 1u);
  EXPECT_EQ(keys->items[0].value.as_object().at("algorithm"), "Ed25519");
  const QrKeyPair phone_key = QrKeyPairFromSeed(std::string(32, 'p'));
  auto phone = (*qr)->EnrolPhone(holder_, crypto::ToBase64Url(phone_key.public_key), "Pixel", "t");
  ASSERT_TRUE(phone.ok()) << phone.error().code;
  auto before = sync_->ReadFeed(device_.caller, offline::kRevokedPhonesFeed, "", 100);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->items.empty());
  auto opp = sync_->ReadFeed(device_.caller, offline::kOppositionsFeed, "", 100);
  ASSERT_TRUE(opp.ok());
  ASSERT_TRUE((*qr)->RevokePhone(admin_, holder_, phone->id).ok());
  auto revoked = sync_->ReadFeed(device_.caller, offline::kRevokedPhonesFeed, before->cursor, 100);
  ASSERT_TRUE(revoked.ok());
  ASSERT_EQ(revoked->items.size(), 1u);
  EXPECT_EQ(revoked->items[0].key, std::to_string(phone->id));
  auto snapshot = sync_->ReadFeed(device_.caller, offline::kRevokedPhonesFeed, "", 100);
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->items.size(), 1u);
  // The phone's own support is opposed for good with it.
  auto supports = sync_->ReadFeed(device_.caller, offline::kOppositionsFeed, opp->cursor, 100);
  ASSERT_TRUE(supports.ok());
  ASSERT_EQ(supports->items.size(), 1u);
  EXPECT_NE(supports->items[0].key, "CARD-ana");
  // An opposed account: every support of it, the card included.
  ASSERT_TRUE(wallet_->OpposeHolder(admin_, holder_, Opposition::kTemporary).ok());
  auto account = sync_->ReadFeed(device_.caller, offline::kOppositionsFeed, supports->cursor, 100);
  ASSERT_TRUE(account.ok());
  std::set<std::string> keys_seen;
  for (const auto& item : account->items) keys_seen.insert(item.key);
  EXPECT_EQ(keys_seen.count("CARD-ana"), 1u);
  EXPECT_EQ(keys_seen.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, OfflineTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const ::testing::TestParamInfo<storage::Backend>& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::wallet
