// The wallet's use cases beyond the scenarios: the upload schema and its parser, the weekly
// activation reminder, activation links used once, holder sessions. Storage tests run on both
// databases.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "modules/wallet/upload.h"
#include "modules/wallet/wallet.h"
#include "platform/audit/audit.h"
#include "platform/base/clock.h"
#include "platform/identity/identity_http.h"
#include "platform/identity/machines.h"
#include "platform/jobs/jobs.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"
#include "tests/support/test_databases.h"

namespace guichet::wallet {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr int64_t kStart = 1'800'000'000'000;
constexpr int64_t kDayMs = int64_t{24} * 3600 * 1000;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string Upload(std::string_view holders) {
  return std::string(
             "<?xml version=\"1.0\"?>\n<holders xmlns=\"urn:guichet:wallet:holders:1\" institution=\"7\">\n") +
         std::string(holders) + "</holders>\n";
}

TEST(WalletUploadSchema, TheEmbeddedSchemaIsTheDocumentedOne) {
  const auto docs = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "docs" /
                    "wallet-holders.xsd";
  EXPECT_EQ(ReadFile(docs), std::string(HoldersXsd()));
}

TEST(WalletUploadSchema, ParsesCreationsAndUpdates) {
  auto parsed = ParseHoldersXml(Upload(
      "<holder action=\"create\"><university_id>U1</university_id><last_name>Petit</last_name>"
      "<first_name>Léon</first_name><email>leon@example.org</email><birth_date>2004-02-29</birth_date>"
      "<supports><support number=\"C-1\" technology=\"desfire\" form=\"physical\"/>"
      "<support number=\"Q-1\" technology=\"qr\" form=\"virtual\"/></supports></holder>\n"
      "<holder action=\"update\"><university_id>U2</university_id><tariff_profile>boursier</tariff_profile>"
      "</holder>\n"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->institution, 7);
  ASSERT_EQ(parsed->holders.size(), 2u);
  const UploadedHolder& first = parsed->holders[0];
  EXPECT_EQ(first.action, "create");
  EXPECT_EQ(first.holder.first_name, "Léon");
  ASSERT_EQ(first.holder.supports.size(), 2u);
  EXPECT_TRUE(first.holder.supports[1].is_virtual);
  EXPECT_EQ(first.source_line, 3);
  const UploadedHolder& second = parsed->holders[1];
  EXPECT_EQ(second.action, "update");
  EXPECT_EQ(second.change.tariff_profile, "boursier");
  EXPECT_FALSE(second.change.last_name.has_value());
  EXPECT_NE(second.element_xml.find("boursier"), std::string::npos);
}

TEST(WalletUploadSchema, RefusesWhatTheSchemaRefuses) {
  const std::string cases[] = {
      "not xml at all",
      Upload(""),  // at least one holder
      Upload("<holder action=\"delete\"><university_id>U1</university_id></holder>"),
      Upload("<holder action=\"create\"><university_id>U1</university_id><email>no-at-sign</email></holder>"),
      Upload("<holder action=\"create\"><university_id>U1</university_id><birth_date>2004-13-01</birth_date></holder>"),
      Upload("<holder action=\"create\"><university_id>U1</university_id><colour>blue</colour></holder>"),
      Upload("<holder action=\"create\"><supports><support number=\"x y\" technology=\"A\" form=\"paper\"/></supports>"
             "</holder>"),
      std::string("<?xml version=\"1.0\"?><holders institution=\"7\"><holder action=\"create\"><university_id>U"
                  "</university_id></holder></holders>"),  // no namespace
      std::string("<?xml version=\"1.0\"?>\n<!DOCTYPE holders [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
                  "<holders xmlns=\"urn:guichet:wallet:holders:1\" institution=\"7\"><holder action=\"create\">"
                  "<university_id>&x;</university_id></holder></holders>"),
  };
  for (const std::string& xml : cases) {
    auto parsed = ParseHoldersXml(xml);
    ASSERT_FALSE(parsed.ok()) << xml;
    EXPECT_EQ(parsed.error().code, "invalid_xml") << xml;
    ASSERT_FALSE(parsed.error().fields.empty()) << xml;
    EXPECT_EQ(parsed.error().fields[0].pointer.rfind("/line/", 0), 0u) << xml;
  }
}

class WalletTest : public ::testing::TestWithParam<storage::Backend> {
 public:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces : {jobs::Migrations(), orgs::Migrations(), audit::Migrations(), notify::Migrations(),
                        ledger::Migrations(), Migrations()}) {
      for (auto& migration : pieces) all.push_back(std::move(migration));
    }
    auto migrated = storage::Migrate(test_->db(), all, clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    catalog_.AddPermission({"identity.orgs.read", "x"});
    wallet::DeclarePermissions(catalog_);
    WalletOptions options;
    options.password_hash = {1, 8192};
    wallet_ = std::make_unique<Wallet>(test_->db(), clock_, authorizer_, options);
    system_.kind = identity::Caller::Kind::kSystem;
    auto org = test_->db().Transact<orgs::Organisation>(TransactionMode::kWrite, [&](Transaction& tx) {
      return orgs::Create(tx, {std::nullopt, "national", "CNOUS"}, clock_.NowMs());
    });
    ASSERT_TRUE(org.ok());
    org_ = *org;
  }

  Result<Holder> Create(const std::string& name) {
    NewHolder holder;
    holder.organisation_id = org_.id;
    holder.university_id = "U-" + name;
    holder.last_name = "Durand";
    holder.first_name = name;
    holder.email = name + "@example.org";
    holder.supports = {{"CARD-" + name, "desfire", false}};
    return wallet_->CreateHolder(system_, holder);
  }

  std::vector<std::string> Tokens(const std::string& email) {
    auto rows = test_->db().Transact<std::vector<std::string>>(
        TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<std::string>> {
          auto found = tx.Query("SELECT variables FROM outbox_messages WHERE template_code = 'wallet.activation'"
                                " AND recipient = $1 ORDER BY id",
                                {email});
          if (!found.ok()) return std::move(found).error();
          std::vector<std::string> tokens;
          for (const auto& row : found->rows) {
            const std::string& json = row.Text(0);
            const auto at = json.find("\"token\":\"") + 9;
            tokens.push_back(json.substr(at, json.find('"', at) - at));
          }
          return tokens;
        });
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<std::string>{};
  }

  ManualClock clock_{kStart};
  identity::RightsCatalog catalog_;
  identity::Authorizer authorizer_{catalog_};
  std::unique_ptr<TestDatabase> test_;
  std::unique_ptr<Wallet> wallet_;
  identity::Caller system_;
  orgs::Organisation org_;
};

TEST_P(WalletTest, ActivationIsResentWeeklyUntilActivated) {
  ASSERT_TRUE(Create("ana").ok());
  ASSERT_TRUE(Create("ben").ok());
  EXPECT_EQ(Tokens("ana@example.org").size(), 1u);
  clock_.Advance(6 * kDayMs);
  auto none = wallet_->ResendDueActivations();
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  auto activated = wallet_->Activate(Tokens("ben@example.org").at(0), "Chartreuse-Belledonne-Isère-1968", "t");
  ASSERT_TRUE(activated.ok()) << activated.error().message;
  clock_.Advance(kDayMs);
  auto resent = wallet_->ResendDueActivations();
  ASSERT_TRUE(resent.ok());
  EXPECT_EQ(*resent, 1);  // ana only: ben is active
  EXPECT_EQ(Tokens("ana@example.org").size(), 2u);
  EXPECT_EQ(Tokens("ben@example.org").size(), 1u);
  auto again = wallet_->ResendDueActivations();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  // The newest link works; the week-old one too until it expires (8 days), then no more.
  clock_.Advance(kDayMs + 1);
  auto old_link = wallet_->Activate(Tokens("ana@example.org").at(0), "Chartreuse-Belledonne-Isère-1968", "t");
  ASSERT_FALSE(old_link.ok());
  EXPECT_EQ(old_link.error().code, "activation_link_invalid");
  auto new_link = wallet_->Activate(Tokens("ana@example.org").at(1), "Chartreuse-Belledonne-Isère-1968", "t");
  EXPECT_TRUE(new_link.ok());
}

TEST_P(WalletTest, HolderSessionsExpireWhenIdleAndOnLogout) {
  ASSERT_TRUE(Create("cleo").ok());
  auto activated = wallet_->Activate(Tokens("cleo@example.org").at(0), "Chartreuse-Belledonne-Isère-1968", "t");
  ASSERT_TRUE(activated.ok());
  auto session = wallet_->AuthenticateHolder(activated->session_token);
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->csrf_token, activated->csrf_token);
  clock_.Advance(kHolderSessionIdleMs + 1);
  auto idle = wallet_->AuthenticateHolder(activated->session_token);
  ASSERT_FALSE(idle.ok());
  EXPECT_EQ(idle.error().code, "unauthenticated");
  auto login = wallet_->HolderLogin("CLEO@example.org", "Chartreuse-Belledonne-Isère-1968", "t");
  ASSERT_TRUE(login.ok());
  ASSERT_TRUE(wallet_->HolderLogout(login->session_token).ok());
  EXPECT_FALSE(wallet_->AuthenticateHolder(login->session_token).ok());
  auto wrong = wallet_->HolderLogin("cleo@example.org", "wrong", "t");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "login_failed");
}

TEST_P(WalletTest, DeactivationKeepsOnlyTheTrace) {
  auto created = Create("dora");
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(wallet_->DeactivateForGood(Tokens("dora@example.org").at(0), "t").ok());
  auto holder = test_->db().Transact<std::optional<Holder>>(TransactionMode::kRead,
                                                            [&](Transaction& tx) { return FindHolder(tx, created->id); });
  ASSERT_TRUE(holder.ok() && holder->has_value());
  EXPECT_EQ((*holder)->state, HolderState::kDeactivated);
  EXPECT_EQ((*holder)->email, "");
  EXPECT_EQ((*holder)->last_name, "");
  ASSERT_EQ((*holder)->supports.size(), 1u);
  EXPECT_EQ((*holder)->supports[0].number, "CARD-dora");
  EXPECT_EQ((*holder)->supports[0].opposition, Opposition::kPermanent);
  // The address is free again: the institution may create a new account with it.
  EXPECT_TRUE(Create("dora2").ok());
  EXPECT_TRUE(audit::Verify(test_->db()).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, WalletTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const ::testing::TestParamInfo<storage::Backend>& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::wallet
