// The wallet's use cases beyond the scenarios: the upload schema and its parser, the weekly
// activation reminder, activation links used once, holder sessions. Storage tests run on both
// databases.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "modules/wallet/upload.h"
#include "modules/wallet/wallet_http.h"
#include "platform/notify/templates.h"
#include "modules/wallet/wallet.h"
#include "platform/audit/audit.h"
#include "platform/base/clock.h"
#include "platform/identity/identity_http.h"
#include "platform/identity/identity.h"
#include "platform/identity/machines.h"
#include "platform/jobs/jobs.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"
#include "platform/sync/sync.h"
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

TEST(WalletTemplates, EveryTemplateChecksAndRendersItsSamplesInBothLanguages) {
  notify::TemplateCatalog catalog;
  AddTemplates(catalog);
  ASSERT_EQ(catalog.codes().size(), 6u);  // with wallet.offline_awaiting_funds
  for (const notify::TemplateCode& code : catalog.codes()) {
    boost::json::object samples;
    for (const notify::VariableSpec& variable : code.variables) samples[variable.name] = variable.sample;
    for (const std::string language : {"fr", "en"}) {
      const auto found = code.builtin.find(language);
      ASSERT_NE(found, code.builtin.end()) << code.code << " " << language;
      for (const auto& [part, source] : {std::pair<std::string, std::string>{"subject", found->second.subject},
                                         {"text", found->second.text}, {"html", found->second.html}}) {
        EXPECT_TRUE(notify::CheckTemplate(source, code, part).ok()) << code.code << " " << language << " " << part;
        auto rendered = notify::Render(source, samples, {language, part == "html"});
        ASSERT_TRUE(rendered.ok()) << code.code << " " << language << " " << part;
        EXPECT_EQ(rendered->find("{{"), std::string::npos) << *rendered;
      }
    }
  }
}

class WalletTest : public ::testing::TestWithParam<storage::Backend> {
 public:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces : {jobs::Migrations(), orgs::Migrations(), audit::Migrations(), notify::Migrations(),
                        identity::Migrations(), identity::MachineMigrations(), ledger::Migrations(),
                        Migrations(), sync::Migrations()}) {
      for (auto& migration : pieces) all.push_back(std::move(migration));
    }
    auto migrated = storage::Migrate(test_->db(), all, clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    catalog_.AddPermission({"identity.orgs.read", "x"});
    wallet::DeclarePermissions(catalog_);
    WalletOptions options;
    options.password_hash = {1, 8192};
    options.closure_notice_email = "crous@example.org";
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
            const auto at = json.find("\"code\":\"") + 8;
            tokens.push_back(json.substr(at, json.find('"', at) - at));
          }
          return tokens;
        });
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<std::string>{};
  }

  // Activates the holder with its first link and returns it.
  Holder Active(const std::string& name) {
    auto created = Create(name);
    EXPECT_TRUE(created.ok());
    auto activated = wallet_->Activate(Tokens(name + "@example.org").at(0), kPassword, "t");
    EXPECT_TRUE(activated.ok()) << (activated.ok() ? "" : activated.error().message);
    return activated.ok() ? activated->holder : Holder{};
  }

  void Credit(int64_t holder_id, std::string counter, int64_t amount) {
    auto moved = test_->db().Transact<MovementResult>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<MovementResult> {
      auto source = OperatorAccount(tx, org_.id, counter, purpose::kSuspense, clock_.NowMs());
      if (!source.ok()) return std::move(source).error();
      Movement movement;
      movement.holder_id = holder_id;
      movement.counter = counter;
      movement.amount = amount;
      movement.counterpart_account_id = *source;
      movement.transfer_id = fmt::format("credit-{}-{}-{}", holder_id, counter, ++credits_);
      movement.kind = "reload.card";
      movement.mode = "card";
      return MoveHolder(tx, system_, movement, clock_.NowMs());
    });
    ASSERT_TRUE(moved.ok()) << moved.error().message;
  }

  int64_t Balance(int64_t holder_id, const std::string& counter) {
    auto account = test_->db().Transact<HolderAccount>(TransactionMode::kWrite, [&](Transaction& tx) {
      return HolderAccountFor(tx, holder_id, counter, clock_.NowMs());
    });
    EXPECT_TRUE(account.ok());
    return account.ok() ? account->balance : -1;
  }

  void DefineMeals() {
    CounterInput meal;
    meal.code = "MEAL";
    meal.nature = "Repas";
    meal.token_name = "repas";
    meal.information_fr = "x";
    meal.information_en = "x";
    meal.active = true;
    ASSERT_TRUE(wallet_->DefineCounter(system_, meal).ok());
  }

  static constexpr std::string_view kPassword = "Chartreuse-Belledonne-Isère-1968";
  int64_t credits_ = 0;
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

TEST_P(WalletTest, ClosureNeedsAZeroBalanceAndLosesTokens) {
  DefineMeals();
  const Holder ana = Active("ana");
  Credit(ana.id, "EUR", 500);
  Credit(ana.id, "MEAL", 4);
  auto refused = wallet_->CloseMyAccount(ana.id, "t");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "balance_not_zero");
  auto drained = test_->db().Transact<MovementResult>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<MovementResult> {
    auto sink = OperatorAccount(tx, org_.id, kEuro, purpose::kSepa, clock_.NowMs());
    if (!sink.ok()) return std::move(sink).error();
    Movement refund;
    refund.holder_id = ana.id;
    refund.direction = Direction::kDebit;
    refund.amount = 500;
    refund.counterpart_account_id = *sink;
    refund.transfer_id = "refund-ana";
    refund.kind = "refund";
    refund.mode = "sepa";
    return MoveHolder(tx, system_, refund, clock_.NowMs());
  });
  ASSERT_TRUE(drained.ok());
  auto closed = wallet_->CloseMyAccount(ana.id, "t");
  ASSERT_TRUE(closed.ok()) << closed.error().message;
  EXPECT_EQ(closed->state, HolderState::kClosed);
  EXPECT_EQ(Balance(ana.id, "MEAL"), 0);
  EXPECT_FALSE(wallet_->HolderLogin("ana@example.org", kPassword, "t").ok());
  auto again = wallet_->CloseMyAccount(ana.id, "t");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, code::kHolderNotActive);
  // Closed ledger accounts refuse money.
  auto more = test_->db().Transact<MovementResult>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<MovementResult> {
    auto source = OperatorAccount(tx, org_.id, kEuro, purpose::kSuspense, clock_.NowMs());
    if (!source.ok()) return std::move(source).error();
    Movement movement;
    movement.holder_id = ana.id;
    movement.amount = 1;
    movement.counterpart_account_id = *source;
    movement.transfer_id = "after-closure";
    movement.kind = "reload.card";
    movement.mode = "card";
    return MoveHolder(tx, system_, movement, clock_.NowMs());
  });
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.error().code, code::kHolderNotActive);
  EXPECT_TRUE(ledger::CheckInvariants(test_->db()).ok());
}

TEST_P(WalletTest, FederationMovesEurosNotTokens) {
  DefineMeals();
  const Holder old_account = Active("olga");
  const Holder fresh = Active("olga2");
  Credit(old_account.id, "EUR", 1250);
  Credit(old_account.id, "MEAL", 3);
  Credit(fresh.id, "EUR", 100);
  auto wrong = wallet_->FederateOldAccount(fresh.id, "olga@example.org", "wrong", "t");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "old_account_login_failed");
  auto self = wallet_->FederateOldAccount(fresh.id, "olga2@example.org", kPassword, "t");
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().code, "same_holder");
  auto federated = wallet_->FederateOldAccount(fresh.id, "OLGA@example.org", kPassword, "t");
  ASSERT_TRUE(federated.ok()) << federated.error().message;
  EXPECT_EQ(federated->euros_moved, 1250);
  ASSERT_EQ(federated->tokens_not_moved.size(), 1u);
  EXPECT_EQ(federated->tokens_not_moved[0], std::make_pair(std::string("MEAL"), int64_t{3}));
  EXPECT_EQ(federated->old_account.state, HolderState::kFederated);
  EXPECT_EQ(federated->old_account.federated_into, fresh.id);
  EXPECT_EQ(Balance(fresh.id, "EUR"), 1350);
  EXPECT_EQ(Balance(old_account.id, "EUR"), 0);
  EXPECT_EQ(Balance(fresh.id, "MEAL"), 0);
  auto lines = wallet_->MyStatement(fresh.id, {});
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(lines->front().kind, "federation");
  EXPECT_EQ(lines->front().balance_after, 1350);
  EXPECT_FALSE(wallet_->HolderLogin("olga@example.org", kPassword, "t").ok());
  EXPECT_TRUE(ledger::CheckInvariants(test_->db()).ok());
}

TEST_P(WalletTest, InactivityNoticesThenFeesWithinTheBalanceOrDeletion) {
  const Holder rich = Active("rita");
  const Holder empty = Active("emil");
  Credit(rich.id, "EUR", 700);
  const Holder busy = Active("bea");
  clock_.Advance(kInactivityMs - 1);
  auto early = wallet_->RunInactivity();
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->fee_notices + early->deletion_notices, 0);
  // bea logs in: that is activity.
  ASSERT_TRUE(wallet_->HolderLogin("bea@example.org", kPassword, "t").ok());
  clock_.Advance(1000);
  auto notices = wallet_->RunInactivity();
  ASSERT_TRUE(notices.ok());
  EXPECT_EQ(notices->fee_notices, 1);
  EXPECT_EQ(notices->deletion_notices, 1);
  clock_.Advance(kNoticeMs - 1);
  auto waiting = wallet_->RunInactivity();
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(waiting->fees_charged + waiting->deleted + waiting->fee_notices + waiting->deletion_notices, 0);
  clock_.Advance(1);
  auto acted = wallet_->RunInactivity();
  ASSERT_TRUE(acted.ok());
  EXPECT_EQ(acted->fees_charged, 1);
  EXPECT_EQ(acted->deleted, 1);
  EXPECT_EQ(Balance(rich.id, "EUR"), 400);
  auto deleted = test_->db().Transact<std::optional<Holder>>(TransactionMode::kRead,
                                                             [&](Transaction& tx) { return FindHolder(tx, empty.id); });
  ASSERT_TRUE(deleted.ok() && deleted->has_value());
  EXPECT_EQ((*deleted)->state, HolderState::kClosed);
  EXPECT_EQ((*deleted)->email, "");
  // Once a year at most: nothing more until a year after the fee.
  clock_.Advance(kInactivityFeeYearMs - 1);
  auto quiet = wallet_->RunInactivity();
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(quiet->fee_notices + quiet->fees_charged, 0);
  clock_.Advance(1);
  auto next_year = wallet_->RunInactivity();
  ASSERT_TRUE(next_year.ok());
  EXPECT_EQ(next_year->fee_notices, 1);
  clock_.Advance(kNoticeMs);
  auto second_fee = wallet_->RunInactivity();
  ASSERT_TRUE(second_fee.ok());
  EXPECT_EQ(second_fee->fees_charged, 1);
  EXPECT_EQ(Balance(rich.id, "EUR"), 100);
  // The fee never exceeds the balance.
  clock_.Advance(kInactivityFeeYearMs);
  ASSERT_TRUE(wallet_->RunInactivity().ok());
  clock_.Advance(kNoticeMs);
  ASSERT_TRUE(wallet_->RunInactivity().ok());
  EXPECT_EQ(Balance(rich.id, "EUR"), 0);
  EXPECT_TRUE(ledger::CheckInvariants(test_->db()).ok());
  (void)busy;
}

TEST_P(WalletTest, OnlyAuthorisedMachineClientsLoadOrDebitACounter) {
  DefineMeals();
  identity::Caller key;
  key.kind = identity::Caller::Kind::kApiKey;
  key.id = 41;
  identity::Caller device;
  device.kind = identity::Caller::Kind::kDevice;
  device.id = 41;  // the same number, another kind of client
  identity::Caller person;
  person.kind = identity::Caller::Kind::kUser;
  person.id = 41;
  auto inserted = test_->db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    auto row = tx.Execute("INSERT INTO wallet_counter_clients (counter_id, client_type, client_id, may_load, may_debit,"
                          " updated_at) SELECT id, 'api_key', 41, $1, $2, 0 FROM wallet_counters WHERE code = 'MEAL'",
                          {true, false});
    if (!row.ok()) return std::move(row).error();
    return Ok{};
  });
  ASSERT_TRUE(inserted.ok());
  auto check = test_->db().Transact<Ok>(TransactionMode::kRead, [&](Transaction& tx) -> Result<Ok> {
    auto load = ClientMayLoad(tx, key, "MEAL");
    auto debit = ClientMayDebit(tx, key, "MEAL");
    auto device_load = ClientMayLoad(tx, device, "MEAL");
    auto person_load = ClientMayLoad(tx, person, "MEAL");
    auto other_counter = ClientMayLoad(tx, key, "EUR");
    EXPECT_TRUE(load.ok() && *load);
    EXPECT_TRUE(debit.ok() && !*debit);
    EXPECT_TRUE(device_load.ok() && !*device_load);
    EXPECT_TRUE(person_load.ok() && !*person_load);
    EXPECT_TRUE(other_counter.ok() && !*other_counter);
    return Ok{};
  });
  ASSERT_TRUE(check.ok());
}

TEST_P(WalletTest, RepeatedLoginFailuresLockTheLoginForAWhile) {
  Active("lou");
  for (int64_t i = 0; i < kHolderLoginFailuresMax; ++i) {
    auto wrong = wallet_->HolderLogin("lou@example.org", "not-the-password", "t");
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().code, "login_failed");
  }
  auto locked = wallet_->HolderLogin("lou@example.org", kPassword, "t");
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().code, "account_locked");
  EXPECT_EQ(locked.error().kind, ErrorKind::kTooManyRequests);
  clock_.Advance(kHolderLockoutMs);
  EXPECT_TRUE(wallet_->HolderLogin("lou@example.org", kPassword, "t").ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, WalletTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const ::testing::TestParamInfo<storage::Backend>& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::wallet
