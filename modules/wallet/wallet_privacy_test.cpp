// The wallet's entries in the privacy registries and the holder's export for the acceptance
// network: the export lists the holder's QR phones (no key material), not another holder's; the
// erasure step keeps phones like supports but blanks their labels, revokes the active ones (with
// their virtual supports opposed for good) and deletes printed codes — on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "modules/wallet/accounts.h"
#include "modules/wallet/pos.h"
#include "modules/wallet/qr_codes.h"
#include "modules/wallet/wallet.h"
#include "modules/wallet/wallet_http.h"
#include "platform/audit/audit.h"
#include "platform/base/clock.h"
#include "platform/base/crypto.h"
#include "platform/jobs/jobs.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"
#include "platform/identity/identity.h"
#include "platform/identity/machines.h"
#include "platform/sync/sync.h"
#include "platform/privacy/privacy.h"
#include "tests/support/test_databases.h"

namespace guichet::wallet {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr int64_t kStart = 1'800'000'000'000;

QrKeyPair Key(int start) {
  std::string seed(32, '\0');
  for (int i = 0; i < 32; ++i) seed[i] = static_cast<char>(start + i);
  return QrKeyPairFromSeed(seed);
}

class WalletPrivacyTest : public ::testing::TestWithParam<storage::Backend> {
 public:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces : {jobs::Migrations(), orgs::Migrations(), audit::Migrations(),
                        notify::Migrations(), identity::Migrations(), identity::MachineMigrations(),
                        ledger::Migrations(), Migrations(), QrMigrations(), PosMigrations(),
                        sync::Migrations()}) {
      for (auto& migration : pieces) all.push_back(std::move(migration));
    }
    auto migrated = storage::Migrate(test_->db(), all, clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    wallet::DeclarePermissions(catalog_);
    privacy::DeclarePermissions(catalog_);
    WalletOptions options;
    options.password_hash = {1, 8192};
    wallet_ = std::make_unique<Wallet>(test_->db(), clock_, authorizer_, options);
    system_.kind = identity::Caller::Kind::kSystem;
    auto org =
        test_->db().Transact<orgs::Organisation>(TransactionMode::kWrite, [&](Transaction& tx) {
          return orgs::Create(tx, {std::nullopt, "national", "CNOUS"}, clock_.NowMs());
        });
    ASSERT_TRUE(org.ok());
    org_id_ = org->id;
    auto opened = QrCodes::Open(*wallet_, Key(0));
    ASSERT_TRUE(opened.ok());
    qr_ = std::move(*opened);
    privacy_ = std::make_unique<privacy::Privacy>(test_->db(), clock_, authorizer_);
    RegisterPrivacy(*privacy_);
  }

  int64_t CreateHolder(const std::string& name) {
    NewHolder holder;
    holder.organisation_id = org_id_;
    holder.university_id = "U-" + name;
    holder.last_name = "Durand";
    holder.first_name = name;
    holder.email = name + "@example.org";
    holder.supports = {{"CARD-" + name, "desfire", false}};
    auto created = wallet_->CreateHolder(system_, holder);
    EXPECT_TRUE(created.ok()) << created.error().code << ": " << created.error().message;
    return created.ok() ? created->id : 0;
  }

  QrPhone Enrol(int64_t holder_id, int seed, const std::string& label) {
    auto enrolled =
        qr_->EnrolPhone(holder_id, crypto::ToBase64Url(Key(seed).public_key), label, "t");
    EXPECT_TRUE(enrolled.ok()) << (enrolled.ok() ? "" : enrolled.error().code);
    return enrolled.ok() ? *enrolled : QrPhone{};
  }

  boost::json::object Export(int64_t holder_id) {
    auto section = test_->db().Transact<boost::json::object>(
        TransactionMode::kRead, [&](Transaction& tx) { return HolderExport(tx, holder_id, 0); });
    EXPECT_TRUE(section.ok());
    return section.ok() ? *section : boost::json::object{};
  }

  const privacy::ErasureStep& WalletStep() {
    for (const auto& step : privacy_->erasures().steps()) {
      if (step.name == "wallet") return step;
    }
    ADD_FAILURE() << "no wallet erasure step";
    return privacy_->erasures().steps().front();
  }

  ManualClock clock_{kStart};
  identity::RightsCatalog catalog_;
  identity::Authorizer authorizer_{catalog_};
  std::unique_ptr<TestDatabase> test_;
  std::unique_ptr<Wallet> wallet_;
  std::unique_ptr<QrCodes> qr_;
  std::unique_ptr<privacy::Privacy> privacy_;
  identity::Caller system_;
  int64_t org_id_ = 0;
};

TEST_P(WalletPrivacyTest, TheExportListsTheHoldersPhonesWithoutKeyMaterial) {
  const int64_t ana = CreateHolder("ana");
  const int64_t bob = CreateHolder("bob");
  const QrPhone kept = Enrol(ana, 1, "Pixel d'Ana");
  const QrPhone gone = Enrol(ana, 2, "Ancien");
  Enrol(bob, 3, "Téléphone de Bob");
  clock_.Advance(1000);
  ASSERT_TRUE(qr_->RevokeMyPhone(ana, gone.id, "t").ok());

  const boost::json::object mine = Export(ana);
  const auto& phones = mine.at("qr_phones").as_array();
  ASSERT_EQ(phones.size(), 2u);
  EXPECT_EQ(phones[0].at("id").as_int64(), kept.id);
  EXPECT_EQ(phones[0].at("label").as_string(), "Pixel d'Ana");
  EXPECT_EQ(phones[0].at("status").as_string(), "active");
  EXPECT_TRUE(phones[0].at("revoked_at_ms").is_null());
  EXPECT_EQ(phones[1].at("status").as_string(), "revoked");
  EXPECT_EQ(phones[1].at("revoked_at_ms").as_int64(), kStart + 1000);
  EXPECT_EQ(phones[1].at("revoked_by").as_string(), "holder");
  EXPECT_TRUE(mine.at("pos_transactions").as_array().empty());
  const std::string text = boost::json::serialize(mine);
  EXPECT_EQ(text.find(kept.public_key), std::string::npos);
  EXPECT_EQ(text.find(kept.certificate), std::string::npos);
  EXPECT_EQ(text.find("Bob"), std::string::npos);
}

TEST_P(WalletPrivacyTest, ErasureKeepsPhonesWithoutLabelsAndRevokesTheActiveOnes) {
  const int64_t ana = CreateHolder("ana");
  const int64_t bob = CreateHolder("bob");
  const QrPhone phone = Enrol(ana, 1, "Pixel d'Ana");
  const QrPhone other = Enrol(bob, 2, "Téléphone de Bob");
  clock_.Advance(5000);
  const privacy::PersonRef person{std::string(kPersonType), ana};
  const privacy::ErasureStep& step = WalletStep();
  auto erased = test_->db().Transact<std::vector<privacy::ErasureHold>>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<std::vector<privacy::ErasureHold>> {
        auto holds = step.check(tx, person, clock_.NowMs());
        if (!holds.ok()) return holds;
        GUICHET_TRY_STATUS(step.erase(tx, person, clock_.NowMs()));
        return holds;
      });
  ASSERT_TRUE(erased.ok()) << erased.error().message;
  bool phones_held = false;
  for (const auto& hold : *erased) phones_held = phones_held || hold.section == "wallet.qr_phones";
  EXPECT_TRUE(phones_held);

  auto mine = qr_->MyPhones(ana);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].public_key, phone.public_key) << "kept with the payments it signed";
  EXPECT_EQ((*mine)[0].label, "");
  EXPECT_EQ((*mine)[0].status, "revoked");
  EXPECT_EQ((*mine)[0].revoked_at_ms, kStart + 5000);
  auto support = wallet_->database().Transact<std::string>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::string> {
        auto row = tx.QueryOne("SELECT opposition FROM wallet_supports WHERE id = $1",
                               {phone.support_id});
        if (!row.ok()) return std::move(row).error();
        return (*row)->Text(0);
      });
  ASSERT_TRUE(support.ok());
  EXPECT_EQ(*support, "permanent");
  auto theirs = qr_->MyPhones(bob);
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ((*theirs)[0].id, other.id);
  EXPECT_EQ((*theirs)[0].label, "Téléphone de Bob");
  EXPECT_EQ((*theirs)[0].status, "active");
}

INSTANTIATE_TEST_SUITE_P(Backends, WalletPrivacyTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const ::testing::TestParamInfo<storage::Backend>& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::wallet
