// Data-driven ledger scenarios: every file in tests/scenarios/ledger/*.txt runs on every backend
// and through both ways in (the direct path in a transaction of its own, and the group
// committer), and CheckInvariants must hold after every line.
//
// The format, one command a line (`#` starts a comment; `→` or `=>` introduces the expectation):
//
//   account NAME LEDGER [flags=never_negative,never_positive,closed] [code=holder] [org=N]
//   close NAME | reopen NAME
//   transfer ID DEBIT->CREDIT AMOUNT [options] → RESULT
//   post ID PENDING_ID [AMOUNT] [options] → RESULT
//   void ID PENDING_ID [AMOUNT] [options] → RESULT
//   reverse ID ORIGINAL_ID [AMOUNT] [options] → RESULT
//   batch … end              the transfer lines between them are one request (linked chains)
//   balance NAME = N posted|pending|available   (credit-normal: credits − debits)
//   expect NAME debits_posted=N credits_posted=N debits_pending=N credits_pending=N (a subset)
//   record ID debit=NAME credit=NAME amount=N ledger=L state=S result=R   (a subset)
//   advance N[s|ms]          moves the clock
//   expire → N               runs ExpirePending, which must expire N holds
//
// Options: the words pending, linked, post, void (flags), and ledger=L, code=C, reference=R,
// timeout=S, pending_id=ID, reverses=ID, debit=NAME, credit=NAME, flags=N (raw bits).
// A transfer's ledger defaults to its debit account's; `ledger=` (nothing) leaves it empty.
// Account `_` is 0 (left out); an unknown name is an id no account has. `""` is an empty word.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "platform/base/clock.h"
#include "platform/ledger/group_commit.h"
#include "platform/ledger/ledger.h"
#include "tests/support/test_databases.h"

namespace guichet::ledger {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr int64_t kStart = 1'800'000'000'000;
constexpr int64_t kUnknownAccountBase = 900'000'000'000;
constexpr int64_t kScenarioLinesMax = 10'000;

std::filesystem::path ScenarioDirectory() {
  if (const char* dir = std::getenv("GUICHET_LEDGER_SCENARIOS"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  // This file is platform/ledger/ledger_scenario_test.cpp; the build passes its full path.
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "tests" /
         "scenarios" / "ledger";
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
  std::istringstream words(text);
  for (std::string word; words >> word;) line.words.push_back(word == "\"\"" ? "" : word);
  if (line.words.empty()) return std::nullopt;
  return line;
}

std::vector<Line> ReadScenario(const std::string& name) {
  std::ifstream file(ScenarioDirectory() / (name + ".txt"));
  EXPECT_TRUE(file.good()) << "cannot read scenario " << name;
  std::vector<Line> lines;
  std::string text;
  for (int number = 1; std::getline(file, text) && number <= kScenarioLinesMax; ++number) {
    if (auto line = ParseLine(text, number)) lines.push_back(std::move(*line));
  }
  return lines;
}

int64_t ToInt(const std::string& text) {
  size_t used = 0;
  const int64_t value = std::stoll(text, &used);
  EXPECT_EQ(used, text.size()) << "not a number: " << text;
  return value;
}

bool IsNumber(const std::string& text) {
  return !text.empty() && std::all_of(text.begin() + (text[0] == '-' ? 1 : 0), text.end(),
                                      [](char c) { return c >= '0' && c <= '9'; });
}

std::map<std::string, std::string> Options(const std::vector<std::string>& words, size_t from) {
  std::map<std::string, std::string> options;
  for (size_t i = from; i < words.size(); ++i) {
    const auto equals = words[i].find('=');
    if (equals == std::string::npos) {
      options[words[i]] = "";
    } else {
      options[words[i].substr(0, equals)] = words[i].substr(equals + 1);
    }
  }
  return options;
}

// \t, \n, \\ and \xHH, so scenarios can write control characters and raw bytes.
std::string Unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char kind = text[++i];
    if (kind == 't') {
      out += '\t';
    } else if (kind == 'n') {
      out += '\n';
    } else if (kind == 'x' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += kind;
    }
  }
  return out;
}

enum class Path { kDirect, kGrouped };

class Scenario {
 public:
  Scenario(storage::Database& database, Path path) : database_(database), path_(path) {
    if (path_ == Path::kGrouped) {
      ledger_ = std::make_unique<Ledger>(database_, clock_, LedgerOptions{});
    }
  }

  void Run(const std::vector<Line>& lines) {
    for (size_t i = 0; i < lines.size(); ++i) {
      const Line& line = lines[i];
      SCOPED_TRACE(fmt::format("line {}: {}", line.number, fmt::join(line.words, " ")));
      if (line.words[0] == "batch") {
        size_t end = i + 1;
        while (end < lines.size() && lines[end].words[0] != "end") ++end;
        ASSERT_LT(end, lines.size()) << "batch without end";
        RunBatch(std::vector<Line>(lines.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                   lines.begin() + static_cast<std::ptrdiff_t>(end)));
        i = end;
      } else {
        RunCommand(line);
      }
      if (::testing::Test::HasFatalFailure()) return;
      const Status invariants = CheckInvariants(database_);
      ASSERT_TRUE(invariants.ok()) << invariants.error().message;
    }
  }

 private:
  void RunCommand(const Line& line) {
    const std::string& verb = line.words[0];
    if (verb == "account") return CreateAccountLine(line);
    if (verb == "close" || verb == "reopen") return CloseLine(line);
    if (verb == "transfer" || verb == "post" || verb == "void" || verb == "reverse") {
      return RunBatch({line});
    }
    if (verb == "balance") return BalanceLine(line);
    if (verb == "expect") return ExpectLine(line);
    if (verb == "record") return RecordLine(line);
    if (verb == "advance") return AdvanceLine(line);
    if (verb == "expire") return ExpireLine(line);
    ADD_FAILURE() << "unknown command " << verb;
  }

  int64_t AccountId(const std::string& name) {
    if (name == "_") return 0;
    auto found = accounts_.find(name);
    if (found != accounts_.end()) return found->second.id;
    auto [unknown, added] =
        unknown_.emplace(name, kUnknownAccountBase + static_cast<int64_t>(unknown_.size()));
    return unknown->second;
  }

  std::string AccountName(int64_t id) const {
    for (const auto& [name, account] : accounts_) {
      if (account.id == id) return name;
    }
    return id == 0 ? "_" : std::to_string(id);
  }

  void CreateAccountLine(const Line& line) {
    ASSERT_GE(line.words.size(), 3u) << "account NAME LEDGER [options]";
    auto options = Options(line.words, 3);
    NewAccount account{line.words[2], options.count("org") ? ToInt(options["org"]) : 1,
                       options.count("code") ? options["code"] : "holder", 0};
    std::istringstream flags(options["flags"]);
    for (std::string flag; std::getline(flags, flag, ',');) {
      if (flag == "never_negative" || flag == "debits_must_not_exceed_credits") {
        account.flags |= account_flags::kDebitsMustNotExceedCredits;
      } else if (flag == "never_positive" || flag == "credits_must_not_exceed_debits") {
        account.flags |= account_flags::kCreditsMustNotExceedDebits;
      } else if (flag == "closed") {
        account.flags |= account_flags::kClosed;
      } else {
        FAIL() << "unknown account flag " << flag;
      }
    }
    auto created = database_.Transact<Account>(TransactionMode::kWrite, [&](Transaction& tx) {
      return CreateAccount(tx, account, clock_.NowMs());
    });
    if (line.expected) {
      ASSERT_FALSE(created.ok());
      EXPECT_EQ(created.error().code, *line.expected);
      return;
    }
    ASSERT_TRUE(created.ok()) << created.error().message;
    accounts_[line.words[1]] = *created;
  }

  void CloseLine(const Line& line) {
    ASSERT_EQ(line.words.size(), 2u);
    const int64_t id = AccountId(line.words[1]);
    auto done = database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
      GUICHET_TRY_STATUS(line.words[0] == "close" ? CloseAccount(tx, id) : ReopenAccount(tx, id));
      return Ok{};
    });
    if (line.expected) {
      ASSERT_FALSE(done.ok());
      EXPECT_EQ(done.error().code, *line.expected);
    } else {
      ASSERT_TRUE(done.ok()) << done.error().message;
    }
  }

  Transfer BuildTransfer(const Line& line) {
    const auto& w = line.words;
    const std::string& verb = w[0];
    Transfer t;
    EXPECT_GE(w.size(), 3u) << "VERB ID (ACCOUNTS|REFERENCE) …";
    t.id = w[1];
    size_t options_from = 3;
    if (verb == "transfer") {
      const auto arrow = w[2].find("->");
      EXPECT_NE(arrow, std::string::npos) << "DEBIT->CREDIT";
      t.debit_account_id = AccountId(w[2].substr(0, arrow));
      t.credit_account_id = AccountId(w[2].substr(arrow + 2));
      t.amount = w.size() > 3 ? ToInt(w[3]) : 0;
      options_from = 4;
      auto debit = accounts_.find(w[2].substr(0, arrow));
      auto credit = accounts_.find(w[2].substr(arrow + 2));
      if (debit != accounts_.end()) {
        t.ledger = debit->second.ledger;
      } else if (credit != accounts_.end()) {
        t.ledger = credit->second.ledger;
      }
    } else {
      if (verb == "reverse") {
        t.reverses_id = w[2];
      } else {
        t.pending_id = w[2];
      }
      t.flags |= verb == "post"   ? transfer_flags::kPostPending
                 : verb == "void" ? transfer_flags::kVoidPending
                                  : 0;
      if (w.size() > 3 && IsNumber(w[3])) {
        t.amount = ToInt(w[3]);
        options_from = 4;
      }
    }
    ApplyOptions(Options(w, options_from), t);
    return t;
  }

  void ApplyOptions(std::map<std::string, std::string> options, Transfer& t) {
    if (options.count("pending")) t.flags |= transfer_flags::kPending;
    if (options.count("linked")) t.flags |= transfer_flags::kLinked;
    if (options.count("post")) t.flags |= transfer_flags::kPostPending;
    if (options.count("void")) t.flags |= transfer_flags::kVoidPending;
    if (options.count("flags")) t.flags = ToInt(options["flags"]);
    if (options.count("ledger")) t.ledger = options["ledger"];
    if (options.count("code")) t.code = options["code"];
    if (options.count("reference")) t.reference = Unescape(options["reference"]);
    if (options.count("reference_bytes")) {
      t.reference.assign(static_cast<size_t>(ToInt(options["reference_bytes"])), 'r');
    }
    if (options.count("timeout")) t.timeout_s = ToInt(options["timeout"]);
    if (options.count("pending_id")) t.pending_id = options["pending_id"];
    if (options.count("reverses")) t.reverses_id = options["reverses"];
    if (options.count("debit")) t.debit_account_id = AccountId(options["debit"]);
    if (options.count("credit")) t.credit_account_id = AccountId(options["credit"]);
  }

  void RunBatch(const std::vector<Line>& lines) {
    std::vector<Transfer> transfers;
    for (const Line& line : lines) {
      transfers.push_back(BuildTransfer(line));
      ASSERT_TRUE(line.expected.has_value()) << "line " << line.number << ": no expected result";
      ASSERT_TRUE(ParseCreateTransferResult(*line.expected).has_value())
          << "line " << line.number << ": unknown result " << *line.expected;
    }
    Result<TransferResults> results = Submit(transfers);
    ASSERT_TRUE(results.ok()) << results.error().message;
    ASSERT_EQ(results->size(), lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      EXPECT_EQ(CreateTransferResultName((*results)[i]), *lines[i].expected)
          << "line " << lines[i].number << ": transfer " << transfers[i].id;
    }
  }

  Result<TransferResults> Submit(const std::vector<Transfer>& transfers) {
    if (path_ == Path::kGrouped) return ledger_->CreateTransfers(transfers);
    return database_.Transact<TransferResults>(TransactionMode::kWrite, [&](Transaction& tx) {
      return CreateTransfers(tx, transfers, clock_.NowMs());
    });
  }

  Account Fetch(const std::string& name) {
    const int64_t id = AccountId(name);
    auto account = database_.Transact<std::optional<Account>>(
        TransactionMode::kRead, [&](Transaction& tx) { return LookupAccount(tx, id); });
    EXPECT_TRUE(account.ok() && account->has_value()) << "no account " << name;
    return account.ok() && account->has_value() ? **account : Account{};
  }

  void BalanceLine(const Line& line) {
    ASSERT_EQ(line.words.size(), 5u) << "balance NAME = N posted|pending|available";
    const Account account = Fetch(line.words[1]);
    const std::string& which = line.words[4];
    int64_t actual = 0;
    if (which == "posted") {
      actual = account.CreditBalance();
    } else if (which == "pending") {
      actual = account.credits_pending - account.debits_pending;
    } else if (which == "available") {
      actual = account.AvailableCredit();
    } else {
      FAIL() << "posted, pending or available";
    }
    EXPECT_EQ(actual, ToInt(line.words[3])) << which << " balance of " << line.words[1];
  }

  void ExpectLine(const Line& line) {
    const Account account = Fetch(line.words[1]);
    const std::map<std::string, int64_t> actual = {{"debits_posted", account.debits_posted},
                                                   {"credits_posted", account.credits_posted},
                                                   {"debits_pending", account.debits_pending},
                                                   {"credits_pending", account.credits_pending},
                                                   {"flags", account.flags}};
    for (const auto& [key, value] : Options(line.words, 2)) {
      ASSERT_TRUE(actual.count(key)) << "unknown field " << key;
      EXPECT_EQ(actual.at(key), ToInt(value)) << key << " of " << line.words[1];
    }
  }

  void RecordLine(const Line& line) {
    const std::string& id = line.words[1];
    auto record = database_.Transact<std::optional<TransferRecord>>(
        TransactionMode::kRead, [&](Transaction& tx) { return LookupTransfer(tx, id); });
    ASSERT_TRUE(record.ok()) << record.error().message;
    auto options = Options(line.words, 2);
    if (options.count("absent")) {
      EXPECT_FALSE(record->has_value()) << id << " is stored";
      return;
    }
    ASSERT_TRUE(record->has_value()) << "no transfer " << id;
    const TransferRecord& r = **record;
    const std::map<std::string, std::string> actual = {
        {"debit", AccountName(r.transfer.debit_account_id)},
        {"credit", AccountName(r.transfer.credit_account_id)},
        {"amount", std::to_string(r.transfer.amount)},
        {"ledger", r.transfer.ledger},
        {"state", std::string(PendingStateName(r.pending_state))},
        {"result", std::string(CreateTransferResultName(r.result))},
        {"expires_at", r.expires_at_ms == 0 ? "0" : std::to_string(r.expires_at_ms - kStart)}};
    for (const auto& [key, value] : options) {
      ASSERT_TRUE(actual.count(key)) << "unknown field " << key;
      EXPECT_EQ(actual.at(key), value) << key << " of transfer " << id;
    }
  }

  void AdvanceLine(const Line& line) {
    ASSERT_EQ(line.words.size(), 2u);
    std::string amount = line.words[1];
    int64_t scale = 1000;
    if (amount.size() > 2 && amount.substr(amount.size() - 2) == "ms") {
      scale = 1;
      amount.resize(amount.size() - 2);
    } else if (!amount.empty() && amount.back() == 's') {
      amount.pop_back();
    }
    clock_.Advance(ToInt(amount) * scale);
  }

  void ExpireLine(const Line& line) {
    ASSERT_TRUE(line.expected.has_value()) << "expire → N";
    auto expired = ExpirePending(database_, clock_.NowMs());
    ASSERT_TRUE(expired.ok()) << expired.error().message;
    EXPECT_EQ(*expired, ToInt(*line.expected));
  }

  storage::Database& database_;
  const Path path_;
  ManualClock clock_{kStart};
  std::unique_ptr<Ledger> ledger_;
  std::map<std::string, Account> accounts_;
  std::map<std::string, int64_t> unknown_;
};

using ScenarioParam = std::tuple<std::string, storage::Backend, Path>;

class LedgerScenarioTest : public ::testing::TestWithParam<ScenarioParam> {};

TEST_P(LedgerScenarioTest, Runs) {
  const auto& [name, backend, path] = GetParam();
  auto test = TestDatabase::Open(backend);
  ASSERT_NE(test, nullptr);
  ManualClock migration_clock(kStart);
  auto migrated = storage::Migrate(test->db(), Migrations(), migration_clock);
  ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  Scenario scenario(test->db(), path);
  scenario.Run(ReadScenario(name));
}

std::string ParamName(const ::testing::TestParamInfo<ScenarioParam>& info) {
  const auto& [name, backend, path] = info.param;
  return fmt::format("{}_{}_{}", name, testing::BackendParamName(backend),
                     path == Path::kDirect ? "direct" : "grouped");
}

INSTANTIATE_TEST_SUITE_P(Files, LedgerScenarioTest,
                         ::testing::Combine(::testing::ValuesIn(ScenarioFiles()),
                                            ::testing::ValuesIn(testing::TestBackends()),
                                            ::testing::Values(Path::kDirect, Path::kGrouped)),
                         ParamName);

// Every result code is the expectation of at least one scenario line: with the runs above, every
// code is reachable and checked on every backend.
TEST(LedgerScenarioCoverage, EveryResultCodeIsExpectedSomewhere) {
  const std::vector<std::string> files = ScenarioFiles();
  ASSERT_FALSE(files.empty()) << "no scenarios in " << ScenarioDirectory();
  std::set<std::string> expected;
  for (const std::string& file : files) {
    for (const Line& line : ReadScenario(file)) {
      if (line.expected) expected.insert(*line.expected);
    }
  }
  for (int64_t i = 0; i < kCreateTransferResultCount; ++i) {
    const auto name = CreateTransferResultName(static_cast<CreateTransferResult>(i));
    EXPECT_TRUE(expected.count(std::string(name))) << "no scenario expects " << name;
  }
}

}  // namespace
}  // namespace guichet::ledger
