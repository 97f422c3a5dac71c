// Data-driven holder scenarios: every file in tests/scenarios/wallet/*.txt runs on every backend
// through the wallet's use cases (wallet.h, accounts.h), and the ledger's invariants must hold
// after every line.
//
// The format, one command a line (`#` starts a comment; `→` or `=>` introduces the expectation,
// "ok" or the refusal code):
//
//   org NAME KIND [parent=NAME]                  an organisation of the wallet's tree
//   staff NAME PROFILE@ORG                       a logged-in person (second factor done)
//   machine NAME PERMISSION,PERMISSION@ORG       an API key with these scopes
//   holder NAME by=CALLER org=ORG [uid=U] [email=E] [last=L] [first=F] [birth=YYYY-MM-DD]
//          [tariff=T] [card=NUMBER[:TECHNOLOGY[:virtual]]]… → RESULT
//   update NAME by=CALLER FIELD=VALUE… [card=…] → RESULT
//   get NAME by=CALLER → RESULT
//   search by=CALLER [last=L] [first=F] [birth=D] [card=N] = HOLDER,HOLDER | -
//   history NAME FIELD = OLD->NEW                the latest change of FIELD (- for empty)
//   counter CODE by=CALLER [active] → RESULT     define a token counter
//   counter-active CODE yes|no by=CALLER → RESULT
//   thresholds by=CALLER [max_balance=N] [max_reload=N] [max_transaction.TYPE=N] → RESULT
//   check-transaction TYPE AMOUNT → RESULT       against the current thresholds
//   check-reload AMOUNT → RESULT
//   credit ID HOLDER COUNTER AMOUNT [fee=N] [card=NUMBER] [kind=K] → RESULT
//   debit ID HOLDER COUNTER AMOUNT [card=NUMBER] [kind=K] → RESULT
//   give ID FROM TO AMOUNT → RESULT              holder to holder, euro
//   oppose-holder NAME by=CALLER temporary|permanent → RESULT
//   reactivate-holder NAME by=CALLER → RESULT
//   oppose-support NUMBER by=CALLER temporary|permanent → RESULT
//   reactivate-support NUMBER by=CALLER → RESULT
//   balance HOLDER COUNTER = N
//   statement HOLDER [COUNTER] = +N:BALANCE -N:BALANCE …   newest first (+ credit, - debit)
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

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

using identity::Caller;
using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr int64_t kStart = 1'800'000'000'000;
constexpr int64_t kScenarioLinesMax = 10'000;

std::filesystem::path ScenarioDirectory() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "tests" / "scenarios" /
         "wallet";
}

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(ScenarioDirectory(), error)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path().stem().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

struct Line {
  int number = 0;
  std::vector<std::string> words;
  std::optional<std::string> expected;  // after the arrow
  std::optional<std::string> equals;    // after " = "
};

std::string Trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::optional<Line> ParseLine(std::string text, int number) {
  if (const auto comment = text.find('#'); comment != std::string::npos) text.resize(comment);
  Line line;
  line.number = number;
  for (std::string_view arrow : {" → ", " => "}) {
    if (const auto at = text.find(arrow); at != std::string::npos) {
      line.expected = Trim(text.substr(at + arrow.size()));
      text.resize(at);
    }
  }
  if (const auto at = text.find(" = "); at != std::string::npos) {
    line.equals = Trim(text.substr(at + 3));
    text.resize(at);
  }
  std::istringstream words(text);
  for (std::string word; words >> word;) line.words.push_back(word);
  if (line.words.empty()) return std::nullopt;
  return line;
}

std::multimap<std::string, std::string> Options(const std::vector<std::string>& words, size_t from) {
  std::multimap<std::string, std::string> options;
  for (size_t i = from; i < words.size(); ++i) {
    const auto equals = words[i].find('=');
    if (equals == std::string::npos) {
      options.emplace(words[i], "");
    } else {
      options.emplace(words[i].substr(0, equals), words[i].substr(equals + 1));
    }
  }
  return options;
}

std::optional<std::string> Option(const std::multimap<std::string, std::string>& options, const std::string& key) {
  auto found = options.find(key);
  if (found == options.end()) return std::nullopt;
  return found->second;
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

// The catalog of the scenarios: the wallet's permissions in three profiles shaped like the
// application's (manager < regional admin < national admin), and a merchant without them.
identity::RightsCatalog ScenarioCatalog() {
  identity::RightsCatalog catalog;
  identity::DeclarePermissions(catalog);
  identity::DeclareMachinePermissions(catalog);
  wallet::DeclarePermissions(catalog);
  catalog.AddProfile({"merchant", "wallet", "Commerçant", "Merchant", std::nullopt, {"identity.orgs.read"}, false, {"site"}});
  catalog.AddProfile({"manager", "wallet", "Gestionnaire", "Manager", std::nullopt,
                      {std::string(right::kCreate), std::string(right::kRead), std::string(right::kUpdate),
                       std::string(right::kOppose)},
                      true, {"national", "region"}});
  catalog.AddProfile({"regional_admin", "wallet", "Admin régional", "Regional admin", "manager",
                      {std::string(right::kReactivate)}, true, {"region"}});
  catalog.AddProfile({"national_admin", "wallet", "Admin national", "National admin", "regional_admin",
                      {std::string(right::kSettings)}, true, {"national"}});
  return catalog;
}

class WalletScenarioTest : public ::testing::TestWithParam<std::tuple<storage::Backend, std::string>> {
 public:
  void SetUp() override {
    test_ = TestDatabase::Open(std::get<0>(GetParam()));
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces : {jobs::Migrations(), orgs::Migrations(), audit::Migrations(), notify::Migrations(),
                        identity::Migrations(), identity::MachineMigrations(), ledger::Migrations(),
                        Migrations(), sync::Migrations()}) {
      for (auto& migration : pieces) all.push_back(std::move(migration));
    }
    auto migrated = storage::Migrate(test_->db(), all, clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    WalletOptions options;
    options.password_hash = {1, 8192};
    wallet_ = std::make_unique<Wallet>(test_->db(), clock_, authorizer_, options);
    system_.kind = Caller::Kind::kSystem;
  }

 protected:
  template <typename T>
  void Expect(const Line& line, const Result<T>& result) {
    const std::string got = result.ok() ? "ok" : result.error().code;
    const std::string expected = line.expected.value_or("ok");
    EXPECT_EQ(got, expected) << Where(line) << (result.ok() ? "" : ": " + result.error().message);
  }

  std::string Where(const Line& line) const {
    return fmt::format("{}:{} `{}`", std::get<1>(GetParam()), line.number, fmt::join(line.words, " "));
  }

  const Caller& CallerOf(const Line& line, const std::multimap<std::string, std::string>& options) {
    auto by = Option(options, "by");
    if (!by) return system_;
    auto found = callers_.find(*by);
    EXPECT_NE(found, callers_.end()) << Where(line) << ": no caller " << *by;
    if (found == callers_.end()) return system_;
    return found->second;
  }

  int64_t HolderId(const std::string& name) {
    auto found = holders_.find(name);
    return found == holders_.end() ? 999'999'999 : found->second;
  }

  Result<int64_t> SupportId(const std::string& number) {
    return test_->db().Transact<int64_t>(TransactionMode::kRead, [&](Transaction& tx) -> Result<int64_t> {
      auto support = FindSupportByNumber(tx, number);
      if (!support.ok()) return std::move(support).error();
      if (!support->has_value()) return Error::NotFound("support_not_found", "no such support");
      return (*support)->id;
    });
  }

  std::vector<SupportInput> Cards(const std::multimap<std::string, std::string>& options) {
    std::vector<SupportInput> cards;
    auto [begin, end] = options.equal_range("card");
    for (auto it = begin; it != end; ++it) {
      auto parts = Split(it->second, ':');
      SupportInput card;
      card.number = parts.at(0);
      card.technology = parts.size() > 1 ? parts[1] : "desfire";
      card.is_virtual = parts.size() > 2 && parts[2] == "virtual";
      cards.push_back(card);
    }
    return cards;
  }

  void Run(const Line& line);
  void Move(const Line& line, Direction direction);

  ManualClock clock_{kStart};
  identity::RightsCatalog catalog_ = ScenarioCatalog();
  identity::Authorizer authorizer_{catalog_};
  std::unique_ptr<TestDatabase> test_;
  std::unique_ptr<Wallet> wallet_;
  Caller system_;
  std::map<std::string, orgs::Organisation> orgs_;
  std::map<std::string, Caller> callers_;
  std::map<std::string, int64_t> holders_;
  int64_t next_caller_id_ = 1;
};

void WalletScenarioTest::Move(const Line& line, Direction direction) {
  // credit|debit ID HOLDER COUNTER AMOUNT [fee=N] [card=NUMBER] [kind=K]
  ASSERT_GE(line.words.size(), 5u) << Where(line);
  const auto options = Options(line.words, 5);
  const std::string id = line.words[1];
  const int64_t holder_id = HolderId(line.words[2]);
  const std::string counter = line.words[3];
  const int64_t amount = std::stoll(line.words[4]);
  std::optional<int64_t> support;
  if (auto card = Option(options, "card")) {
    auto found = SupportId(*card);
    ASSERT_TRUE(found.ok()) << Where(line);
    support = *found;
  }
  auto moved = test_->db().Transact<MovementResult>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<MovementResult> {
    auto holder = FindHolder(tx, holder_id);
    if (!holder.ok()) return std::move(holder).error();
    const int64_t organisation = holder->has_value() ? (*holder)->organisation_id : orgs_.begin()->second.id;
    auto counterpart = OperatorAccount(tx, organisation, counter, purpose::kSuspense, clock_.NowMs());
    if (!counterpart.ok()) return std::move(counterpart).error();
    Movement movement;
    movement.holder_id = holder_id;
    movement.counter = counter;
    movement.direction = direction;
    movement.amount = amount;
    movement.counterpart_account_id = *counterpart;
    movement.transfer_id = id;
    movement.kind = Option(options, "kind").value_or(direction == Direction::kCredit ? "reload.card" : "payment");
    movement.mode = support ? "support" : "card";
    movement.support_id = support;
    movement.label = movement.kind;
    if (auto fee = Option(options, "fee")) {
      auto fees = OperatorAccount(tx, organisation, counter, purpose::kFees, clock_.NowMs());
      if (!fees.ok()) return std::move(fees).error();
      movement.fee_amount = std::stoll(*fee);
      movement.fee_account_id = *fees;
    }
    return MoveHolder(tx, system_, movement, clock_.NowMs());
  });
  Expect(line, moved);
}

void WalletScenarioTest::Run(const Line& line) {
  const std::string& command = line.words[0];
  const auto& words = line.words;
  if (command == "org") {
    ASSERT_GE(words.size(), 3u) << Where(line);
    const auto options = Options(words, 3);
    orgs::NewOrganisation request;
    request.kind = words[2];
    request.name = words[1];
    if (auto parent = Option(options, "parent")) request.parent_id = orgs_.at(*parent).id;
    auto created = test_->db().Transact<orgs::Organisation>(
        TransactionMode::kWrite, [&](Transaction& tx) { return orgs::Create(tx, request, clock_.NowMs()); });
    ASSERT_TRUE(created.ok()) << Where(line) << ": " << created.error().message;
    orgs_[words[1]] = *created;
  } else if (command == "staff" || command == "machine") {
    ASSERT_EQ(words.size(), 3u) << Where(line);
    const auto at = words[2].find('@');
    ASSERT_NE(at, std::string::npos) << Where(line);
    const orgs::Organisation& org = orgs_.at(words[2].substr(at + 1));
    Caller caller;
    caller.id = next_caller_id_++;
    caller.second_factor_done = true;
    caller.request_id = fmt::format("scenario-{}", line.number);
    identity::Grant grant;
    grant.organisation_id = org.id;
    grant.organisation_path = org.path;
    if (command == "staff") {
      caller.kind = Caller::Kind::kUser;
      grant.profile = words[2].substr(0, at);
    } else {
      caller.kind = Caller::Kind::kApiKey;
      std::set<std::string> permissions;
      for (const std::string& permission : Split(words[2].substr(0, at), ',')) permissions.insert(permission);
      grant.permissions = permissions;
    }
    caller.grants.push_back(grant);
    callers_[words[1]] = caller;
  } else if (command == "holder") {
    const auto options = Options(words, 2);
    NewHolder request;
    const std::string& name = words[1];
    request.organisation_id = orgs_.count(Option(options, "org").value_or("")) > 0
                                  ? orgs_.at(*Option(options, "org")).id
                                  : 999'999;
    request.university_id = Option(options, "uid").value_or("U-" + name);
    request.last_name = Option(options, "last").value_or("Durand");
    request.first_name = Option(options, "first").value_or(name);
    request.email = Option(options, "email").value_or(name + "@etu.example.org");
    request.birth_date = Option(options, "birth").value_or("2004-01-01");
    request.tariff_profile = Option(options, "tariff").value_or("etudiant");
    request.supports = Cards(options);
    auto created = wallet_->CreateHolder(CallerOf(line, options), request);
    Expect(line, created);
    if (created.ok()) holders_[name] = created->id;
  } else if (command == "update") {
    const auto options = Options(words, 2);
    HolderChange change;
    if (auto v = Option(options, "tariff")) change.tariff_profile = *v;
    if (auto v = Option(options, "email")) change.email = *v;
    if (auto v = Option(options, "last")) change.last_name = *v;
    if (auto v = Option(options, "end")) change.end_of_validity = *v;
    if (auto v = Option(options, "uid")) change.university_id = *v;
    if (auto v = Option(options, "org")) change.organisation_id = orgs_.at(*v).id;
    change.supports = Cards(options);
    Expect(line, wallet_->UpdateHolder(CallerOf(line, options), HolderId(words[1]), change));
  } else if (command == "get") {
    const auto options = Options(words, 2);
    Expect(line, wallet_->GetHolder(CallerOf(line, options), HolderId(words[1])));
  } else if (command == "search") {
    const auto options = Options(words, 1);
    SearchQuery query;
    query.last_name = Option(options, "last");
    query.first_name = Option(options, "first");
    query.birth_date = Option(options, "birth");
    query.support_number = Option(options, "card");
    auto found = wallet_->Search(CallerOf(line, options), query);
    if (line.expected) {
      Expect(line, found);
      return;
    }
    ASSERT_TRUE(found.ok()) << Where(line) << ": " << found.error().message;
    std::vector<std::string> names;
    for (const Holder& holder : *found) {
      for (const auto& [holder_name, id] : holders_) {
        if (id == holder.id) names.push_back(holder_name);
      }
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names.empty() ? "-" : fmt::format("{}", fmt::join(names, ",")), line.equals.value_or("-")) << Where(line);
  } else if (command == "history") {
    ASSERT_EQ(words.size(), 3u) << Where(line);
    // The latest change of the field, read from the history rows.
    auto latest = test_->db().Transact<std::string>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::string> {
      auto row = tx.QueryOne("SELECT old_value, new_value FROM wallet_holder_changes WHERE holder_id = $1 AND field = $2"
                             " ORDER BY id DESC LIMIT 1",
                             {HolderId(words[1]), words[2]});
      if (!row.ok()) return std::move(row).error();
      if (!row->has_value()) return std::string("none");
      return fmt::format("{}->{}", (*row)->OptionalText(0).value_or("-"), (*row)->OptionalText(1).value_or("-"));
    });
    ASSERT_TRUE(latest.ok()) << Where(line);
    EXPECT_EQ(*latest, line.equals.value_or("")) << Where(line);
  } else if (command == "counter") {
    const auto options = Options(words, 2);
    CounterInput input;
    input.code = words[1];
    input.nature = "Nature " + words[1];
    input.token_name = "jeton";
    input.information_fr = "Texte";
    input.information_en = "Text";
    input.active = options.count("active") > 0;
    Expect(line, wallet_->DefineCounter(CallerOf(line, options), input));
  } else if (command == "counter-active") {
    ASSERT_GE(words.size(), 3u) << Where(line);
    const auto options = Options(words, 3);
    CounterInput input;
    input.code = words[1];
    input.active = words[2] == "yes";
    Expect(line, wallet_->UpdateCounter(CallerOf(line, options), input));
  } else if (command == "thresholds") {
    const auto options = Options(words, 1);
    ThresholdsInput input;
    for (const auto& [key, value] : options) {
      if (key == "max_balance") input.max_balance = std::stoll(value);
      if (key == "max_reload") input.max_reload = std::stoll(value);
      if (key == "qr_lifetime_s") input.qr_lifetime_s = std::stoll(value);
      if (key.rfind("max_transaction.", 0) == 0) input.max_transaction.emplace_back(key.substr(16), std::stoll(value));
    }
    Expect(line, wallet_->SetThresholds(CallerOf(line, options), input));
  } else if (command == "check-transaction" || command == "check-reload") {
    auto thresholds = test_->db().Transact<Thresholds>(TransactionMode::kRead, [](Transaction& tx) { return LoadThresholds(tx); });
    ASSERT_TRUE(thresholds.ok());
    Status checked = command == "check-reload" ? CheckReloadAmount(*thresholds, std::stoll(words.at(1)))
                                                : CheckTransactionAmount(*thresholds, words.at(1), std::stoll(words.at(2)));
    Expect(line, checked);
  } else if (command == "credit") {
    Move(line, Direction::kCredit);
  } else if (command == "debit") {
    Move(line, Direction::kDebit);
  } else if (command == "give") {
    ASSERT_EQ(words.size(), 5u) << Where(line);
    HolderTransfer transfer{HolderId(words[2]), HolderId(words[3]), std::stoll(words[4]), words[1], "virement"};
    auto given = test_->db().Transact<MovementResult>(TransactionMode::kWrite, [&](Transaction& tx) {
      return TransferBetweenHolders(tx, system_, transfer, clock_.NowMs());
    });
    Expect(line, given);
  } else if (command == "oppose-holder" || command == "oppose-support") {
    ASSERT_GE(words.size(), 3u) << Where(line);
    const auto options = Options(words, 2);
    std::string kind_word;
    for (size_t i = 2; i < words.size(); ++i) {
      if (words[i].find('=') == std::string::npos) kind_word = words[i];
    }
    const Opposition kind = kind_word == "permanent" ? Opposition::kPermanent
                            : kind_word == "temporary" ? Opposition::kTemporary
                                                       : Opposition::kNone;
    if (command == "oppose-holder") {
      Expect(line, wallet_->OpposeHolder(CallerOf(line, options), HolderId(words[1]), kind));
    } else {
      auto support = SupportId(words[1]);
      Expect(line, wallet_->OpposeSupport(CallerOf(line, options), support.ok() ? *support : 999'999, kind));
    }
  } else if (command == "reactivate-holder") {
    const auto options = Options(words, 2);
    Expect(line, wallet_->ReactivateHolder(CallerOf(line, options), HolderId(words[1])));
  } else if (command == "reactivate-support") {
    const auto options = Options(words, 2);
    auto support = SupportId(words[1]);
    Expect(line, wallet_->ReactivateSupport(CallerOf(line, options), support.ok() ? *support : 999'999));
  } else if (command == "balance") {
    ASSERT_EQ(words.size(), 3u) << Where(line);
    auto account = test_->db().Transact<HolderAccount>(TransactionMode::kWrite, [&](Transaction& tx) {
      return HolderAccountFor(tx, HolderId(words[1]), words[2], clock_.NowMs());
    });
    ASSERT_TRUE(account.ok()) << Where(line) << ": " << account.error().message;
    EXPECT_EQ(account->balance, std::stoll(line.equals.value_or("x"))) << Where(line);
  } else if (command == "statement") {
    StatementQuery query;
    if (words.size() > 2) query.counter = words[2];
    query.limit = kStatementPageMax;
    auto lines = wallet_->MyStatement(HolderId(words.at(1)), query);
    ASSERT_TRUE(lines.ok()) << Where(line);
    std::vector<std::string> got;
    for (const StatementLine& item : *lines) {
      got.push_back(fmt::format("{}{}:{}", item.direction == "credit" ? "+" : "-", item.amount, item.balance_after));
    }
    EXPECT_EQ(got.empty() ? "-" : fmt::format("{}", fmt::join(got, " ")), line.equals.value_or("")) << Where(line);
  } else {
    FAIL() << Where(line) << ": unknown command";
  }
}

TEST_P(WalletScenarioTest, Runs) {
  std::ifstream file(ScenarioDirectory() / (std::get<1>(GetParam()) + ".txt"));
  ASSERT_TRUE(file.good()) << "cannot read scenario " << std::get<1>(GetParam());
  std::string text;
  int64_t lines = 0;
  for (int number = 1; std::getline(file, text) && number <= kScenarioLinesMax; ++number) {
    auto line = ParseLine(text, number);
    if (!line) continue;
    Run(*line);
    ++lines;
    auto invariants = ledger::CheckInvariants(test_->db());
    ASSERT_TRUE(invariants.ok()) << Where(*line) << ": " << invariants.error().message;
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(lines, 0);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, WalletScenarioTest,
                         ::testing::Combine(::testing::ValuesIn(testing::TestBackends()),
                                            ::testing::ValuesIn(ScenarioFiles())),
                         [](const ::testing::TestParamInfo<std::tuple<storage::Backend, std::string>>& param_info) {
                           return testing::BackendParamName(std::get<0>(param_info.param)) + "_" +
                                  std::get<1>(param_info.param);
                         });

}  // namespace
}  // namespace guichet::wallet
