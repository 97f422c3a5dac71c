// Data-driven scenarios of the points' protocol (tests/scenarios/wallet_pos/*.txt), on both
// databases with a manual clock. One command a line; `→` separates the expected outcome (the
// transaction's state on success, else the refusal code). Commands:
//   holder NAME CENTS                      a holder with support CARD-NAME and CENTS euros
//   point NAME PERM,PERM… [test]           an approved point (its device linked), merchant "M"
//   authorise POINT COUNTER                the point's device may load and debit COUNTER
//   debit|load|cash POINT TXN AMOUNT HOLDER [counter=C] [at=OFFSET_MS] → STATE|CODE
//   ack POINT TXN +|- → STATE|CODE          cancel POINT TXN ORIGINAL → STATE|CODE
//   offline POINT TXN AMOUNT HOLDER [at=OFFSET_MS] → STATE|CODE
//   oppose POINT / reactivate POINT        advance MS        expire (ledger job + row sweep)
//   balance|available HOLDER [COUNTER] = N    account PURPOSE [COUNTER] = N (merchant M's;
//                                          for sales, with its points' own sales accounts)
//   state POINT TXN = STATE
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "modules/wallet/pos.h"
#include "modules/wallet/pos_test_support.h"
#include "platform/audit/audit.h"
#include "platform/base/clock.h"
#include "platform/identity/identity.h"
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
namespace fs = std::filesystem;

constexpr int64_t kStart = 1'800'000'000'000;

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, separator)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string Trim(std::string text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

class PosScenario {
 public:
  explicit PosScenario(storage::Database& db) : db_(db) {
    catalog_.AddPermission({"identity.orgs.read", "x"});
    catalog_.AddPermission({"identity.devices.manage", "x"});
    catalog_.AddPermission({"devices.self", "x"});
    DeclarePermissions(catalog_);
    DeclarePosPermissions(catalog_);
    WalletOptions options;
    options.password_hash = {1, 8192};
    wallet_ = std::make_unique<Wallet>(db_, clock_, authorizer_, options);
    machines_ = std::make_unique<identity::Machines>(db_, clock_, authorizer_);
    PosOptions pos_options;
    pos_options.iban_key = IbanKeyFromSecret("0123456789abcdef");
    pos_ = std::make_unique<Pos>(*wallet_, *machines_, pos_options);
    system_.kind = identity::Caller::Kind::kSystem;
  }

  // Empty when the line did what it says; otherwise what happened instead.
  std::string Run(const std::string& line) {
    std::string command = line;
    std::string expected;
    if (const size_t arrow = line.find("→"); arrow != std::string::npos) {
      command = Trim(line.substr(0, arrow));
      expected = Trim(line.substr(arrow + std::string("→").size()));
    }
    std::string check;
    if (const size_t eq = command.find(" = "); eq != std::string::npos) {
      check = Trim(command.substr(eq + 3));
      command = Trim(command.substr(0, eq));
    }
    std::vector<std::string> words = Split(command, ' ');
    std::map<std::string, std::string> options;
    std::vector<std::string> args;
    for (const std::string& word : words) {
      const size_t eq = word.find('=');
      if (eq != std::string::npos)
        options[word.substr(0, eq)] = word.substr(eq + 1);
      else
        args.push_back(word);
    }
    const std::string& verb = args.at(0);
    if (verb == "setup") return Setup();
    if (verb == "holder") return Holder(args.at(1), std::stoll(args.at(2)));
    if (verb == "point")
      return MakePoint(args.at(1), args.at(2), args.size() > 3 && args[3] == "test");
    if (verb == "authorise") return Authorise(args.at(1), args.at(2));
    if (verb == "advance") {
      clock_.Advance(std::stoll(args.at(1)));
      return "";
    }
    if (verb == "expire") {
      if (!ledger::ExpirePending(db_, clock_.NowMs()).ok() || !pos_->ExpireLapsedHolds().ok())
        return "expire failed";
      return "";
    }
    if (verb == "oppose" || verb == "reactivate") {
      const int64_t id = points_.at(args.at(1)).id;
      const bool ok = verb == "oppose" ? pos_->OpposePoint(admin_, id, "scenario").ok()
                                       : pos_->ReactivatePoint(admin_, id, "scenario").ok();
      return ok ? "" : verb + " failed";
    }
    if (verb == "debit" || verb == "load" || verb == "cash" || verb == "offline") {
      return Outcome(Operate(verb, args, options), expected);
    }
    if (verb == "ack") {
      auto result =
          pos_->Acknowledge(Device(args.at(1)), args.at(2), args.at(3) == "+", clock_.NowMs());
      return Outcome(result, expected);
    }
    if (verb == "cancel") {
      PointOperation op;
      op.operation = PosOperation::kCancel;
      op.point_txn_id = args.at(2);
      op.cancels_point_txn_id = args.at(3);
      op.point_at_ms = clock_.NowMs();
      return Outcome(pos_->Operate(Device(args.at(1)), op), expected);
    }
    if (verb == "balance" || verb == "available") {
      const std::string counter = args.size() > 2 ? args[2] : std::string(kEuro);
      auto account = db_.Transact<HolderAccount>(TransactionMode::kWrite, [&](Transaction& tx) {
        return HolderAccountFor(tx, holders_.at(args.at(1)), counter, clock_.NowMs());
      });
      if (!account.ok()) return account.error().message;
      const int64_t value = verb == "balance" ? account->balance : account->available;
      return std::to_string(value) == check ? "" : fmt::format("{} is {}", verb, value);
    }
    if (verb == "account") {
      const std::string counter = args.size() > 2 ? args[2] : std::string(kEuro);
      auto balance =
          db_.Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
            if (args.at(1) == purpose::kSales) {  // the points' own sales accounts too
              return testing_pos::MerchantTakings(tx, merchant_.organisation_id, counter,
                                                  clock_.NowMs());
            }
            auto id =
                OperatorAccount(tx, merchant_.organisation_id, counter, args.at(1), clock_.NowMs());
            if (!id.ok()) return std::move(id).error();
            auto account = ledger::LookupAccount(tx, *id);
            if (!account.ok()) return std::move(account).error();
            return (*account)->CreditBalance();
          });
      if (!balance.ok()) return balance.error().message;
      return std::to_string(*balance) == check ? "" : fmt::format("account is {}", *balance);
    }
    if (verb == "state") {
      auto txn = pos_->GetOwnTransaction(Device(args.at(1)), args.at(2));
      if (!txn.ok()) return txn.error().code;
      return txn->state == check ? "" : "state is " + txn->state;
    }
    return "unknown command " + verb;
  }

 private:
  std::string Setup() {
    auto tree = db_.Transact<orgs::Organisation>(
        TransactionMode::kWrite, [&](Transaction& tx) -> Result<orgs::Organisation> {
          auto national = orgs::Create(tx, {std::nullopt, "national", "CNOUS"}, kStart);
          if (!national.ok()) return std::move(national).error();
          return orgs::Create(tx, {national->id, "region", "Crous"}, kStart);
        });
    if (!tree.ok()) return tree.error().message;
    region_ = *tree;
    admin_.kind = identity::Caller::Kind::kUser;
    admin_.id = 1;
    identity::Grant grant;
    grant.organisation_id = region_.id;
    grant.organisation_path = region_.path;
    grant.permissions = std::set<std::string>{
        std::string(right::kMerchantsManage), std::string(right::kPointsRead),
        std::string(right::kPointsManage),    std::string(right::kPointsApprove),
        std::string(right::kPointsOppose),    std::string(right::kPosTestAccount)};
    admin_.grants.push_back(grant);
    CounterInput meal;
    meal.code = "MEAL";
    meal.nature = meal.token_name = meal.information_fr = meal.information_en = "repas";
    meal.active = true;
    if (!wallet_->DefineCounter(system_, meal).ok()) return "no MEAL";
    auto merchant = pos_->CreateMerchant(admin_, {region_.id, "M", "FR7630006000011234567890189",
                                                  "AGRIFRPP", "m@example.org", 150, 30});
    if (!merchant.ok()) return merchant.error().message;
    merchant_ = *merchant;
    return "";
  }

  std::string Holder(const std::string& name, int64_t cents) {
    NewHolder holder;
    holder.organisation_id = region_.id;
    holder.university_id = "U-" + name;
    holder.last_name = "Scenario";
    holder.first_name = name;
    holder.email = name + "@example.org";
    holder.supports = {{"CARD-" + name, "desfire", false}};
    auto created = wallet_->CreateHolder(system_, holder);
    if (!created.ok()) return created.error().message;
    holders_[name] = created->id;
    if (cents == 0) return "";
    auto moved = db_.Transact<MovementResult>(
        TransactionMode::kWrite, [&](Transaction& tx) -> Result<MovementResult> {
          auto source = OperatorAccount(tx, region_.id, kEuro, purpose::kSuspense, clock_.NowMs());
          if (!source.ok()) return std::move(source).error();
          Movement movement;
          movement.holder_id = created->id;
          movement.amount = cents;
          movement.counterpart_account_id = *source;
          movement.transfer_id = "scenario-credit-" + name;
          movement.kind = "correction";
          movement.mode = "api";
          return MoveHolder(tx, system_, movement, clock_.NowMs());
        });
    return moved.ok() ? "" : moved.error().message;
  }

  std::string MakePoint(const std::string& name, const std::string& permissions, bool is_test) {
    NewPoint request{
        merchant_.organisation_id, name,   "Crous-UG-RU-Caisse", "1 rue Diderot", "till",
        Split(permissions, ','),   is_test};
    auto made = pos_->CreatePoint(admin_, request);
    if (!made.ok()) return made.error().message;
    const int64_t device = 900 + static_cast<int64_t>(points_.size());
    auto linked = db_.Transact<bool>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<bool> {
      GUICHET_TRY_STATUS(
          tx.Execute("UPDATE wallet_points SET state = 'approved', device_id = $1 WHERE id = $2",
                     {device, made->id}));
      return true;
    });
    if (!linked.ok()) return linked.error().message;
    made->device_id = device;
    made->state = "approved";
    points_[name] = *made;
    return "";
  }

  std::string Authorise(const std::string& point, const std::string& counter) {
    auto done = db_.Transact<bool>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<bool> {
      GUICHET_TRY_STATUS(tx.Execute(
          "INSERT INTO wallet_counter_clients (counter_id, client_type, client_id, may_load,"
          " may_debit, updated_at) SELECT id, 'device', $1, TRUE, TRUE, 0 FROM wallet_counters"
          " WHERE code = $2",
          {*points_.at(point).device_id, counter}));
      return true;
    });
    return done.ok() ? "" : done.error().message;
  }

  identity::Caller Device(const std::string& point) {
    identity::Caller caller;
    caller.kind = identity::Caller::Kind::kDevice;
    caller.id = *points_.at(point).device_id;
    return caller;
  }

  Result<PointOperationResult> Operate(const std::string& verb,
                                       const std::vector<std::string>& args,
                                       const std::map<std::string, std::string>& options) {
    PointOperation op;
    op.operation = verb == "load"   ? PosOperation::kLoad
                   : verb == "cash" ? PosOperation::kCashReload
                                    : PosOperation::kDebit;
    op.point_txn_id = args.at(2);
    op.amount = std::stoll(args.at(3));
    op.payer.support_number = "CARD-" + args.at(4);
    if (options.count("counter")) op.counter = options.at("counter");
    op.point_at_ms = clock_.NowMs() + (options.count("at") ? std::stoll(options.at("at")) : 0);
    if (verb != "offline") return pos_->Operate(Device(args.at(1)), op);
    Point point = points_.at(args.at(1));
    return db_.Transact<PointOperationResult>(TransactionMode::kWrite, [&](Transaction& tx) {
      return ApplyOfflineOperation(tx, point, op, clock_.NowMs());
    });
  }

  static std::string Outcome(const Result<PointOperationResult>& result,
                             const std::string& expected) {
    std::string got = result.ok() ? result->transaction.state : result.error().code;
    if (result.ok() && result->replayed) got += " replayed";
    return got == expected ? "" : "got " + got;
  }

  storage::Database& db_;
  ManualClock clock_{kStart};
  identity::RightsCatalog catalog_;
  identity::Authorizer authorizer_{catalog_};
  std::unique_ptr<Wallet> wallet_;
  std::unique_ptr<identity::Machines> machines_;
  std::unique_ptr<Pos> pos_;
  identity::Caller system_, admin_;
  orgs::Organisation region_;
  Merchant merchant_;
  std::map<std::string, Point> points_;
  std::map<std::string, int64_t> holders_;
};

struct ScenarioParam {
  storage::Backend backend;
  std::string file;
};

class PosScenarioTest : public ::testing::TestWithParam<ScenarioParam> {};

TEST_P(PosScenarioTest, Runs) {
  auto test = testing::TestDatabase::Open(GetParam().backend);
  ASSERT_NE(test, nullptr);
  std::vector<storage::Migration> all;
  for (auto pieces : {jobs::Migrations(), orgs::Migrations(), audit::Migrations(),
                      notify::Migrations(), identity::Migrations(), identity::MachineMigrations(),
                      ledger::Migrations(), Migrations(), PosMigrations(), sync::Migrations()}) {
    for (auto& migration : pieces) all.push_back(std::move(migration));
  }
  ManualClock clock{kStart};
  ASSERT_TRUE(storage::Migrate(test->db(), all, clock).ok());
  PosScenario scenario(test->db());
  ASSERT_EQ(scenario.Run("setup"), "");
  std::ifstream file(GetParam().file);
  ASSERT_TRUE(file.good()) << GetParam().file;
  std::string line;
  int number = 0;
  while (std::getline(file, line)) {
    ++number;
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    EXPECT_EQ(scenario.Run(line), "")
        << fs::path(GetParam().file).filename().string() << ":" << number << ": " << line;
  }
  EXPECT_TRUE(ledger::CheckInvariants(test->db()).ok());
}

std::vector<ScenarioParam> Scenarios() {
  const fs::path dir = fs::path(__FILE__).parent_path().parent_path().parent_path() / "tests" /
                       "scenarios" / "wallet_pos";
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<ScenarioParam> params;
  for (storage::Backend backend : testing::TestBackends()) {
    for (const std::string& file : files) params.push_back({backend, file});
  }
  return params;
}

INSTANTIATE_TEST_SUITE_P(Files, PosScenarioTest, ::testing::ValuesIn(Scenarios()),
                         [](const ::testing::TestParamInfo<ScenarioParam>& param_info) {
                           return testing::BackendParamName(param_info.param.backend) + "_" +
                                  fs::path(param_info.param.file).stem().string();
                         });

}  // namespace
}  // namespace guichet::wallet
