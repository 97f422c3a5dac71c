// Data-driven scenarios of the wallet's money in and out: every file in
// tests/scenarios/wallet_money/*.txt runs on every backend, against the real card acquirer
// simulator (a node process) for payment creation. The acquirer's notifications are built and
// signed here, as the acquirer would (the simulator cannot reach a server that is not running),
// so that time (a ManualClock) and event ids are under the scenario's control.
//
// Format, one command per line, "# …" comments, "→ expected" at the end where a result is checked:
//   now 2026-12-03T08:00:00Z          set the clock (UTC)
//   advance <n>d | <n>h               move the clock
//   holder <name>                     an active holder of the region with support CARD-<name>
//   card <name> <cents> [save] → pending | <error code>
//   notify <name> authorised|refused|chargeback [event=<id>] → <status> [replayed] | <error code>
//   forged <name> → <error code>      a notification signed with another key
//   notify <name> authorised amount=<c> → <error code>   a notification for another amount
//   malformed <name> → <error code>   a well-signed notification that is not one
//   stale <name> → <error code>       a well-signed notification signed 6 minutes ago (replay window)
//   unknown-payment → <error code>    a well-signed notification for a reference we never made
//   card-offline <name> <cents> → <error code>   the acquirer cannot be reached
//   oppose <name>                     the holder opposes their account (temporary)
//   balance <name> = <cents>
//   opposition <name> = none|temporary
//   refund <name> <cents>|full <iban> → ok | <error code>
//   mandate <name> <iban> [<bic>] → ok | <error code>
//   debit <name> <cents> → FRST | RCUR | <error code>
//   reject <name> <n> → reversed=<c> covered=<c> owed=<c> [cover_limit_reached] | <error code>
//   reject-id <id> → <error code>
//   settle → <count>
//   link <name> <cents>|any <hours> → ok | <error code>
//   readlink <name> → ok | <error code>   the last link of <name>
//   recoveries <name> = <c>,<c>…      amounts owed, sorted
//   invariants                        the ledger's invariants hold
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <boost/json/serialize.hpp>

#include "app/catalog.h"
#include "modules/wallet/sepa_debits.h"
#include "platform/audit/audit.h"
#include "platform/base/clock.h"
#include "platform/identity/identity.h"
#include "platform/jobs/jobs.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"
#include "platform/identity/machines.h"
#include "platform/sync/sync.h"
#include "tests/support/test_databases.h"

namespace guichet::wallet {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr std::string_view kApiKey = "scenario-key";
constexpr std::string_view kSecret = "scenario-secret";

std::filesystem::path Root() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(Root() / "tests/scenarios/wallet_money", error)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path().stem().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The card acquirer simulator as a child process, for the whole test program.
class Simulator {
 public:
  static Simulator& Get() {
    static Simulator simulator;
    return simulator;
  }
  const std::string& url() const { return url_; }
  ~Simulator() {
    if (pid_ > 0) kill(pid_, SIGTERM);
    if (pipe_ != nullptr) pclose(pipe_);
  }

 private:
  Simulator() {
    const std::string command = fmt::format(
        "exec sh -c 'node \"{}\" --port 0 --api-key {} --secret {} & echo pid=$!; wait'",
        (Root() / "tests/support/card-acquirer-simulator/simulator.mjs").string(), kApiKey, kSecret);
    pipe_ = popen(command.c_str(), "r");
    if (pipe_ == nullptr) return;
    std::array<char, 512> line{};
    while (url_.empty() && fgets(line.data(), line.size(), pipe_) != nullptr) {
      const std::string text(line.data());
      if (text.starts_with("pid=")) pid_ = std::stoi(text.substr(4));
      const auto at = text.find("listening on ");
      if (at != std::string::npos) {
        url_ = text.substr(at + 13);
        while (!url_.empty() && (url_.back() == '\n' || url_.back() == '\r')) url_.pop_back();
      }
    }
  }
  FILE* pipe_ = nullptr;
  int pid_ = 0;
  std::string url_;
};

int64_t ParseTime(const std::string& text) {
  // 2026-12-03T08:00:00Z
  const auto date = banking::ParseDate(text.substr(0, 10));
  EXPECT_TRUE(date.has_value()) << text;
  const int64_t days = std::chrono::sys_days{*date}.time_since_epoch().count();
  const int h = std::stoi(text.substr(11, 2));
  const int m = std::stoi(text.substr(14, 2));
  return (days * 86400 + h * 3600 + m * 60) * 1000;
}

class WalletMoneyScenario : public ::testing::TestWithParam<std::tuple<storage::Backend, std::string>> {
 public:
  void SetUp() override {
    ASSERT_FALSE(Simulator::Get().url().empty()) << "the card acquirer simulator did not start (node?)";
    test_ = TestDatabase::Open(std::get<0>(GetParam()));
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces : {jobs::Migrations(), orgs::Migrations(), audit::Migrations(), notify::Migrations(),
                        identity::Migrations(), identity::MachineMigrations(), ledger::Migrations(),
                        Migrations(), MoneyMigrations(), sync::Migrations()}) {
      for (auto& migration : pieces) all.push_back(std::move(migration));
    }
    auto migrated = storage::Migrate(Db(), all, clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    auto setup = Db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
      auto national = orgs::Create(tx, {std::nullopt, "national", "CNOUS"}, clock_.NowMs());
      if (!national.ok()) return std::move(national).error();
      auto region = orgs::Create(tx, {national->id, "region", "Crous Lyon"}, clock_.NowMs());
      if (!region.ok()) return std::move(region).error();
      region_ = region->id;
      region_path_ = region->path;
      return Ok{};
    });
    ASSERT_TRUE(setup.ok()) << setup.error().message;
    provider_ = payments::MakeHostedPageProvider({Simulator::Get().url(), std::string(kApiKey), std::string(kSecret)});
    wallet_ = std::make_unique<Wallet>(Db(), clock_, authorizer_, WalletOptions{});
    MoneyOptions options;
    options.refund_min_cents = 1000;
    options.public_url = "http://127.0.0.1:9";  // nobody listens: notifications are made by the scenario
    options.link_secret = "links";
    options.account = {"Crous Lyon", "FR7630006000011234567890189", "AGRIFRPP"};
    money_ = std::make_unique<Money>(*wallet_, *provider_, options);
    DirectDebitOptions debit_options;
    debit_options.creditor_id = "FR72ZZZ123456";
    debit_options.account = options.account;
    debits_ = std::make_unique<DirectDebits>(*wallet_, debit_options);
    staff_.kind = identity::Caller::Kind::kApiKey;
    staff_.id = 1;
    staff_.grants.push_back({1, region_, region_path_, "", std::set<std::string>{std::string(right::kSepaManage)}});
  }

  storage::Database& Db() { return test_->db(); }

  void Run(const std::filesystem::path& path);

 private:
  std::string Do(const std::vector<std::string>& words, const std::string& line);
  int64_t Holder(const std::string& name) {
    auto found = holders_.find(name);
    EXPECT_NE(found, holders_.end()) << "unknown holder " << name;
    return found == holders_.end() ? 0 : found->second;
  }
  std::string Notify(const std::string& name, const std::string& type, const std::string& event_id, bool forged,
                     std::optional<int64_t> amount = std::nullopt, std::optional<std::string> raw = std::nullopt,
                     int64_t signed_ago_s = 0);

  ManualClock clock_{ParseTime("2026-12-01T08:00:00Z")};
  identity::RightsCatalog catalog_ = app::BuildCatalog();
  identity::Authorizer authorizer_{catalog_};
  std::unique_ptr<TestDatabase> test_;
  std::unique_ptr<payments::PaymentProvider> provider_;
  std::unique_ptr<Wallet> wallet_;
  std::unique_ptr<Money> money_;
  std::unique_ptr<DirectDebits> debits_;
  identity::Caller staff_;
  int64_t region_ = 0;
  std::string region_path_;
  std::map<std::string, int64_t> holders_;
  std::map<std::string, std::string> last_payment_;  // holder → reference
  std::map<std::string, int64_t> mandates_;
  std::map<std::string, std::vector<int64_t>> debit_ids_;
  std::map<std::string, std::string> links_;
};

std::string WalletMoneyScenario::Notify(const std::string& name, const std::string& type, const std::string& event_id,
                                        bool forged, std::optional<int64_t> amount, std::optional<std::string> raw,
                                        int64_t signed_ago_s) {
  const std::string reference = name.empty() ? "CR-never-made" : last_payment_[name];
  auto row = Db().Transact<std::pair<std::string, int64_t>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::pair<std::string, int64_t>> {
        auto r = tx.QueryOne("SELECT provider_payment_id, amount FROM wallet_card_payments WHERE reference = $1",
                             {reference});
        if (!r.ok()) return std::move(r).error();
        if (!r->has_value()) return Error::NotFound("x", "no payment");
        return std::make_pair((**r).OptionalText(0).value_or(""), (**r).Int(1));
      });
  const std::pair<std::string, int64_t> known = row.ok() ? *row : std::make_pair(std::string("pay_x"), int64_t{1000});
  boost::json::object payment{{"id", known.first}, {"reference", reference}, {"amount", amount.value_or(known.second)},
                              {"currency", "EUR"}, {"status", type}};
  payment["card"] = boost::json::object{{"brand", "VISA"}, {"last4", "0077"}, {"token", "tok_" + reference}};
  const std::string body = raw ? *raw : boost::json::serialize(boost::json::object{
      {"id", event_id.empty() ? "evt-" + reference + "-" + type : event_id},
      {"type", "payment." + type},
      {"payment", payment}});
  const int64_t unix_s = clock_.NowMs() / 1000 - signed_ago_s;
  const std::string signature =
      fmt::format("t={},v1={}", unix_s, payments::SignNotification(forged ? "not-the-key" : kSecret, unix_s, body));
  auto outcome = money_->HandleNotification(signature, body);
  if (!outcome.ok()) return outcome.error().code;
  return outcome->status + (outcome->replayed ? " replayed" : "");
}

std::string WalletMoneyScenario::Do(const std::vector<std::string>& w, const std::string& line) {
  const std::string& verb = w[0];
  const auto code = [](const auto& result) -> std::string { return result.ok() ? "ok" : result.error().code; };
  if (verb == "now") {
    clock_.Set(ParseTime(w[1]));
    return "";
  }
  if (verb == "advance") {
    const int64_t n = std::stoll(w[1].substr(0, w[1].size() - 1));
    clock_.Advance(w[1].back() == 'd' ? n * 86'400'000 : n * 3'600'000);
    return "";
  }
  if (verb == "holder") {
    const int64_t now = clock_.NowMs();
    auto id = Db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
      auto inserted = tx.QueryOne(
          "INSERT INTO wallet_holders (organisation_id, university_id, last_name, first_name, email, language, state,"
          " opposition, last_activity_at, created_at, updated_at)"
          " VALUES ($1, $2, 'Durand', $3, $4, 'fr', 'active', 'none', $5, $5, $5) RETURNING id",
          {region_, "U-" + w[1], w[1], w[1] + "@example.org", now});
      if (!inserted.ok()) return std::move(inserted).error();
      const int64_t holder = (**inserted).Int(0);
      GUICHET_TRY_STATUS(tx.Execute("INSERT INTO wallet_supports (holder_id, number, technology, form, opposition,"
                                    " created_at, updated_at) VALUES ($1, $2, 'desfire', 'physical', 'none', $3, $3)",
                                    {holder, "CARD-" + w[1], now}));
      return holder;
    });
    EXPECT_TRUE(id.ok()) << line << ": " << id.error().message;
    if (id.ok()) holders_[w[1]] = *id;
    return "";
  }
  if (verb == "card") {
    CardReloadRequest request;
    request.amount = std::stoll(w[2]);
    request.save_card = w.size() > 3 && w[3] == "save";
    auto payment = money_->StartCardReload(Holder(w[1]), request);
    if (!payment.ok()) return payment.error().code;
    last_payment_[w[1]] = payment->reference;
    return payment->status;
  }
  if (verb == "notify") {
    std::string event;
    std::optional<int64_t> amount;
    for (size_t i = 3; i < w.size(); ++i) {
      if (w[i].starts_with("event=")) event = w[i].substr(6);
      if (w[i].starts_with("amount=")) amount = std::stoll(w[i].substr(7));
    }
    return Notify(w[1], w[2], event, false, amount);
  }
  if (verb == "malformed") return Notify(w[1], "authorised", "", false, std::nullopt, std::string("[1, 2]"));
  if (verb == "stale") return Notify(w[1], "authorised", "", false, std::nullopt, std::nullopt, 6 * 60);
  if (verb == "unknown-payment") return Notify("", "authorised", "", false);
  if (verb == "card-offline") {
    auto offline = payments::MakeHostedPageProvider({"http://127.0.0.1:9", "k", std::string(kSecret)});
    Money money(*wallet_, *offline, money_->options());
    CardReloadRequest request;
    request.amount = std::stoll(w[2]);
    return code(money.StartCardReload(Holder(w[1]), request));
  }
  if (verb == "oppose") {
    const int64_t holder = Holder(w[1]);
    auto done = Db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) {
      return tx.Execute("UPDATE wallet_holders SET opposition = 'temporary' WHERE id = $1", {holder});
    });
    EXPECT_TRUE(done.ok()) << line;
    return "";
  }
  if (verb == "reject-id") return code(debits_->RejectDebit(staff_, std::stoll(w[1]), "AM04"));
  if (verb == "forged") return Notify(w[1], "authorised", "", true);
  if (verb == "balance" || verb == "opposition") {
    const int64_t holder = Holder(w[1]);
    auto value = Db().Transact<std::string>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<std::string> {
      if (verb == "opposition") {
        auto found = FindHolder(tx, holder);
        if (!found.ok()) return std::move(found).error();
        return std::string(OppositionName((**found).opposition));
      }
      auto account = HolderAccountFor(tx, holder, kEuro, clock_.NowMs());
      if (!account.ok()) return std::move(account).error();
      return std::to_string(account->balance);
    });
    EXPECT_TRUE(value.ok()) << line;
    EXPECT_EQ(value.ok() ? *value : "", w[3]) << line;
    return "";
  }
  if (verb == "refund") {
    RefundRequest request;
    request.full_balance = w[2] == "full";
    if (!request.full_balance) request.amount = std::stoll(w[2]);
    request.iban = w[3];
    return code(money_->RequestRefund(Holder(w[1]), request));
  }
  if (verb == "mandate") {
    auto mandate = debits_->SignMandate(Holder(w[1]), w[2], w.size() > 3 ? w[3] : "", "", true);
    if (mandate.ok()) mandates_[w[1]] = mandate->id;
    return code(mandate);
  }
  if (verb == "debit") {
    auto debit = debits_->RequestDebit(Holder(w[1]), mandates_[w[1]], std::stoll(w[2]), true);
    if (!debit.ok()) return debit.error().code;
    debit_ids_[w[1]].push_back(debit->id);
    return debit->sequence;
  }
  if (verb == "reject") {
    const auto& ids = debit_ids_[w[1]];
    const size_t n = std::stoul(w[2]);
    if (n < 1 || n > ids.size()) return "no such debit";
    auto outcome = debits_->RejectDebit(staff_, ids[n - 1], "AM04");
    if (!outcome.ok()) return outcome.error().code;
    std::string text = fmt::format("reversed={} covered={} owed={}", outcome->reversed, outcome->covered, outcome->owed);
    if (!outcome->cover_refused.empty()) text += " " + outcome->cover_refused;
    return text;
  }
  if (verb == "settle") {
    auto settled = debits_->SettleDue();
    return settled.ok() ? std::to_string(*settled) : settled.error().code;
  }
  if (verb == "link") {
    std::optional<int64_t> amount;
    if (w[2] != "any") amount = std::stoll(w[2]);
    auto link = money_->CreateReloadLink(Holder(w[1]), amount, std::stoll(w[3]) * 3'600'000);
    if (link.ok()) links_[w[1]] = link->token;
    return code(link);
  }
  if (verb == "readlink") return code(money_->ReadReloadLink(links_[w[1]]));
  if (verb == "recoveries") {
    const int64_t holder = Holder(w[1]);
    auto amounts = Db().Transact<std::string>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::string> {
      auto rows = tx.Query("SELECT amount_due FROM wallet_recoveries WHERE holder_id = $1 ORDER BY amount_due", {holder});
      if (!rows.ok()) return std::move(rows).error();
      std::string out;
      for (const auto& row : rows->rows) out += (out.empty() ? "" : ",") + std::to_string(row.Int(0));
      return out;
    });
    EXPECT_EQ(amounts.ok() ? *amounts : "", w.size() > 3 ? w[3] : "") << line;
    return "";
  }
  if (verb == "invariants") {
    auto checked = ledger::CheckInvariants(Db());
    EXPECT_TRUE(checked.ok()) << line << ": " << (checked.ok() ? "" : checked.error().message);
    return "";
  }
  ADD_FAILURE() << "unknown command: " << line;
  return "";
}

void WalletMoneyScenario::Run(const std::filesystem::path& path) {
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::string raw;
  int number = 0;
  while (std::getline(in, raw)) {
    ++number;
    std::string text = raw.substr(0, raw.find('#'));
    std::string expected;
    bool check = false;
    if (const auto arrow = text.find("→"); arrow != std::string::npos) {
      expected = text.substr(arrow + std::string("→").size());
      text = text.substr(0, arrow);
      check = true;
    }
    const auto trim = [](std::string s) {
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
      size_t start = 0;
      while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
      return s.substr(start);
    };
    text = trim(text);
    expected = trim(expected);
    if (text.empty()) continue;
    std::istringstream words_in(text);
    std::vector<std::string> words;
    for (std::string word; words_in >> word;) words.push_back(word);
    const std::string where = fmt::format("{}:{}: {}", path.filename().string(), number, trim(raw));
    const std::string got = Do(words, where);
    if (check) {
      EXPECT_EQ(got, expected) << where;
    }
  }
}

TEST_P(WalletMoneyScenario, Runs) {
  Run(Root() / "tests/scenarios/wallet_money" / (std::get<1>(GetParam()) + ".txt"));
}

std::string ParamName(const ::testing::TestParamInfo<std::tuple<storage::Backend, std::string>>& param) {
  return fmt::format("{}_{}", testing::BackendParamName(std::get<0>(param.param)), std::get<1>(param.param));
}

INSTANTIATE_TEST_SUITE_P(Files, WalletMoneyScenario,
                         ::testing::Combine(::testing::ValuesIn(testing::TestBackends()),
                                            ::testing::ValuesIn(ScenarioFiles())),
                         ParamName);

}  // namespace
}  // namespace guichet::wallet

namespace guichet::wallet {
namespace {

// Every refusal code of the money side is the expectation of a scenario line or of an API
// test assertion: each is reachable and checked.
TEST(WalletMoneyCoverage, EveryRefusalCodeIsExpectedSomewhere) {
  std::string corpus;
  for (const std::string& name : ScenarioFiles()) {
    std::ifstream in(Root() / "tests/scenarios/wallet_money" / (name + ".txt"));
    corpus += std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::ifstream api(Root() / "tests/api/wallet_money.test.mjs");
  corpus += std::string(std::istreambuf_iterator<char>(api), {});
  for (std::string_view code :
       {"below_minimum", "above_maximum", "threshold_exceeded", "holder_opposed", "card_not_found",
        "notification_signature_invalid", "notification_malformed", "payment_not_found", "amount_mismatch",
        "acquirer_unavailable", "credit_failed", "link_invalid", "link_expired", "holder_not_found", "same_holder",
        "insufficient_funds", "duplicate_operation", "cash_pack_invalid", "support_not_found", "refund_below_minimum",
        "iban_malformed", "iban_country_unknown", "iban_length_wrong", "iban_checksum_wrong", "iban_not_sepa",
        "bic_malformed", "nothing_to_export", "sepa_file_not_found", "mandate_not_accepted", "mandates_limit",
        "mandate_missing", "confirmation_required", "debit_not_found", "debit_not_pending", "cover_limit_reached"}) {
    EXPECT_NE(corpus.find(code), std::string::npos) << code << " is never expected";
  }
}

}  // namespace
}  // namespace guichet::wallet
