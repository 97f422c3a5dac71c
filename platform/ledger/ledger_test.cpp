// The ledger beyond single scenarios: the direct path inside a caller's transaction, the group
// committer (batching, refusals, isolation of requests, fallback), the database's own guards,
// and concurrency: a Jepsen-style bank through the group committer, two "processes" (two
// database handles and two Ledgers) on one database, the same ids from both, expiry racing
// with posts. Every test runs on SQLite and PostgreSQL.
#include "platform/ledger/ledger.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "platform/base/clock.h"
#include "platform/ledger/group_commit.h"
#include "platform/ledger/state_machine.h"
#include "tests/support/test_databases.h"

namespace guichet::ledger {
namespace {

using R = CreateTransferResult;
using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr int64_t kStart = 1'800'000'000'000;
constexpr auto kPollDeadline = std::chrono::seconds(20);

Transfer Plain(std::string id, int64_t debit, int64_t credit, int64_t amount) {
  Transfer transfer;
  transfer.id = std::move(id);
  transfer.debit_account_id = debit;
  transfer.credit_account_id = credit;
  transfer.amount = amount;
  transfer.ledger = "EUR";
  return transfer;
}

Transfer Linked(Transfer transfer) {
  transfer.flags |= transfer_flags::kLinked;
  return transfer;
}

Transfer Referencing(std::string id, int64_t flags, std::string pending_id, int64_t amount) {
  Transfer transfer;
  transfer.id = std::move(id);
  transfer.flags = flags;
  transfer.pending_id = std::move(pending_id);
  transfer.amount = amount;
  return transfer;
}

// Polls `done` until it holds or the deadline passes (no sleeping for a fixed time).
template <typename F>
bool Eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + kPollDeadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class LedgerTest : public ::testing::TestWithParam<storage::Backend> {
 public:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    auto migrated = storage::Migrate(Db(), Migrations(), clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    bank_ = NewAccountId("EUR", 0, "float");
  }

  storage::Database& Db() { return test_->db(); }

  int64_t NewAccountId(std::string ledger, int64_t flags, std::string code = "holder") {
    auto account = Db().Transact<Account>(TransactionMode::kWrite, [&](Transaction& tx) {
      return CreateAccount(tx, {ledger, 1, code, flags}, clock_.NowMs());
    });
    EXPECT_TRUE(account.ok()) << account.error().message;
    return account.ok() ? account->id : 0;
  }

  TransferResults Direct(const std::vector<Transfer>& transfers) {
    auto results = Db().Transact<TransferResults>(TransactionMode::kWrite, [&](Transaction& tx) {
      return CreateTransfers(tx, transfers, clock_.NowMs());
    });
    EXPECT_TRUE(results.ok()) << results.error().message;
    return results.ok() ? *results : TransferResults();
  }

  // `count` never-negative holders funded with `amount` each from the bank.
  std::vector<int64_t> FundedHolders(int64_t count, int64_t amount) {
    std::vector<int64_t> holders;
    std::vector<Transfer> funding;
    for (int64_t i = 0; i < count; ++i) {
      holders.push_back(NewAccountId("EUR", account_flags::kDebitsMustNotExceedCredits));
      if (amount == 0) continue;
      funding.push_back(
          Plain(fmt::format("fund-{}", holders.back()), bank_, holders.back(), amount));
    }
    if (!funding.empty()) {
      EXPECT_EQ(Direct(funding), TransferResults(funding.size(), R::kOk));
    }
    return holders;
  }

  Account Get(int64_t id) {
    auto account = Db().Transact<std::optional<Account>>(
        TransactionMode::kRead, [&](Transaction& tx) { return LookupAccount(tx, id); });
    EXPECT_TRUE(account.ok() && account->has_value());
    return account.ok() && account->has_value() ? **account : Account{};
  }

  std::optional<TransferRecord> Find(const std::string& id) {
    auto record = Db().Transact<std::optional<TransferRecord>>(
        TransactionMode::kRead, [&](Transaction& tx) { return LookupTransfer(tx, id); });
    EXPECT_TRUE(record.ok()) << record.error().message;
    return record.ok() ? *record : std::nullopt;
  }

  void ExpectInvariants() {
    const Status invariants = CheckInvariants(Db());
    EXPECT_TRUE(invariants.ok()) << invariants.error().message;
  }

  Status Script(const std::string& sql) {
    return Db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
      GUICHET_TRY_STATUS(tx.ExecuteScript(sql));
      return Ok{};
    });
  }

  ManualClock clock_{kStart};
  std::unique_ptr<TestDatabase> test_;
  int64_t bank_ = 0;
};

// Holds a write transaction that has written `account_id`'s row (on PostgreSQL, a row lock; on
// SQLite, the database's write lock) until Release: the committer blocks behind it, so a test
// can line requests up in the queue deterministically.
class WriterBlocker {
 public:
  WriterBlocker(storage::Database& database, int64_t account_id) {
    thread_ = std::thread([this, &database, account_id] {
      auto held =
          database.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
            auto touched =
                tx.Execute("UPDATE ledger_accounts SET flags = flags WHERE id = $1", {account_id});
            if (!touched.ok()) return std::move(touched).error();
            holding_.set_value();
            release_.get_future().wait();
            return Ok{};
          });
      EXPECT_TRUE(held.ok()) << held.error().message;
    });
    holding_.get_future().wait();
  }
  ~WriterBlocker() { Release(); }
  void Release() {
    if (!thread_.joinable()) return;
    release_.set_value();
    thread_.join();
  }

 private:
  std::promise<void> holding_;
  std::promise<void> release_;
  std::thread thread_;
};

// ---- The direct path and the database's guards --------------------------------------------

TEST_P(LedgerTest, DirectPathCommitsAndRollsBackWithTheCallersTransaction) {
  const auto holders = FundedHolders(1, 1000);
  auto failed = Db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    auto results = CreateTransfers(tx, {Plain("rolled-back", holders[0], bank_, 400)}, kStart);
    EXPECT_TRUE(results.ok() && results->at(0) == R::kOk);
    return Error::Conflict("use_case_refused", "the use case changed its mind");
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(Get(holders[0]).CreditBalance(), 1000);
  EXPECT_FALSE(Find("rolled-back").has_value());
  EXPECT_EQ(Direct({Plain("rolled-back", holders[0], bank_, 400)}), TransferResults{R::kOk});
  EXPECT_EQ(Get(holders[0]).CreditBalance(), 600);
  ExpectInvariants();
}

TEST_P(LedgerTest, RequestLimitsAreEnforced) {
  std::vector<Transfer> too_many(kBatchTransfersMax + 1, Plain("x", bank_, bank_ + 1, 1));
  auto refused = Db().Transact<TransferResults>(TransactionMode::kWrite, [&](Transaction& tx) {
    return CreateTransfers(tx, too_many, kStart);
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "ledger_request_too_large");
  EXPECT_TRUE(Direct({}).empty());
}

TEST_P(LedgerTest, CheckInvariantsFindsTamperedBalances) {
  const auto holders = FundedHolders(2, 500);
  ExpectInvariants();
  // Behind the ledger's back, on both sides: the sums stay zero but the transfers disagree.
  ASSERT_TRUE(Script(fmt::format("UPDATE ledger_accounts SET credits_posted = credits_posted + 7"
                                 " WHERE id = {0}; UPDATE ledger_accounts SET debits_posted ="
                                 " debits_posted + 7 WHERE id = {1};",
                                 holders[0], holders[1]))
                  .ok());
  Status broken = CheckInvariants(Db());
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, "ledger_invariant_broken");
  EXPECT_NE(broken.error().message.find("differ from their transfers"), std::string::npos)
      << broken.error().message;
  ASSERT_TRUE(Script(fmt::format("UPDATE ledger_accounts SET credits_posted = credits_posted + 1"
                                 " WHERE id = {}",
                                 bank_))
                  .ok());
  broken = CheckInvariants(Db());
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("sums are not zero"), std::string::npos)
      << broken.error().message;
}

TEST_P(LedgerTest, DatabaseRefusesBalancesThatBreakFlags) {
  const auto holders = FundedHolders(1, 500);
  Status negative = Script(
      fmt::format("UPDATE ledger_accounts SET debits_posted = 501 WHERE id = {}", holders[0]));
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().code, storage::kCheckViolation);
  EXPECT_EQ(Get(holders[0]).CreditBalance(), 500);
}

TEST_P(LedgerTest, TransfersAndAccountsAreAppendOnly) {
  const auto holders = FundedHolders(1, 500);
  Transfer hold = Plain("hold", holders[0], bank_, 100);
  hold.flags = transfer_flags::kPending;
  ASSERT_EQ(Direct({hold, Referencing("post", transfer_flags::kPostPending, "hold", 0)}),
            (TransferResults{R::kOk, R::kOk}));
  const std::string id = fmt::format("fund-{}", holders[0]);
  EXPECT_FALSE(Script("UPDATE ledger_transfers SET amount = 1 WHERE id = '" + id + "'").ok());
  EXPECT_FALSE(Script("DELETE FROM ledger_transfers WHERE id = '" + id + "'").ok());
  // Only pending → posted/voided/expired: not on a plain transfer, not back, not to nothing.
  EXPECT_FALSE(
      Script("UPDATE ledger_transfers SET pending_state = 'posted' WHERE id = '" + id + "'").ok());
  EXPECT_FALSE(
      Script("UPDATE ledger_transfers SET pending_state = 'pending' WHERE id = 'hold'").ok());
  EXPECT_FALSE(Script("UPDATE ledger_transfers SET pending_state = NULL WHERE id = 'hold'").ok());
  EXPECT_EQ(Find("hold")->pending_state, PendingState::kPosted);
  EXPECT_FALSE(Script(fmt::format("DELETE FROM ledger_accounts WHERE id = {}", holders[0])).ok());
  EXPECT_EQ(Find(id)->transfer.amount, 500);
  ExpectInvariants();
}

TEST_P(LedgerTest, AccountHistoryPagesNewestFirst) {
  const auto holders = FundedHolders(1, 1000);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Direct({Plain(fmt::format("pay-{}", i), holders[0], bank_, 10 + i)}).at(0), R::kOk);
  }
  ASSERT_EQ(Direct({Plain("failed", holders[0], bank_, 5000)}).at(0), R::kExceedsCredits);
  auto page = [&](int64_t limit, std::optional<int64_t> before) {
    auto records = Db().Transact<std::vector<TransferRecord>>(
        TransactionMode::kRead,
        [&](Transaction& tx) { return AccountTransfers(tx, holders[0], limit, before); });
    EXPECT_TRUE(records.ok());
    return records.ok() ? *records : std::vector<TransferRecord>();
  };
  const auto first = page(4, std::nullopt);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(first[0].transfer.id, "pay-4");  // failures are not history
  EXPECT_EQ(first[3].transfer.id, "pay-1");
  const auto second = page(4, first.back().seq);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].transfer.id, "pay-0");
  EXPECT_EQ(second[1].transfer.id, fmt::format("fund-{}", holders[0]));
}

TEST_P(LedgerTest, AccountsAreFoundClosedAndReopened) {
  auto missing = Db().Transact<std::optional<Account>>(
      TransactionMode::kRead, [&](Transaction& tx) { return LookupAccount(tx, 999999); });
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto unknown_flags = Db().Transact<Account>(TransactionMode::kWrite, [&](Transaction& tx) {
    return CreateAccount(tx, {"EUR", 1, "holder", 8}, kStart);
  });
  ASSERT_FALSE(unknown_flags.ok());
  EXPECT_EQ(unknown_flags.error().code, "account_flags_unknown");
  const Account bank = Get(bank_);
  EXPECT_EQ(bank.ledger, "EUR");
  EXPECT_EQ(bank.code, "float");
  EXPECT_EQ(bank.created_at_ms, kStart);
  EXPECT_FALSE(bank.IsClosed());
}

// ---- The group committer ------------------------------------------------------------------

TEST_P(LedgerTest, GroupCommitterAnswersAfterCommitAndRefusesWhatItCannotTake) {
  const auto holders = FundedHolders(1, 100);
  Ledger ledger(Db(), clock_, {});
  auto results = ledger.CreateTransfers({Plain("g1", holders[0], bank_, 60)});
  ASSERT_TRUE(results.ok()) << results.error().message;
  EXPECT_EQ(*results, TransferResults{R::kOk});
  EXPECT_EQ(Get(holders[0]).CreditBalance(), 40);  // committed before the answer
  auto empty = ledger.CreateTransfers({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  std::vector<Transfer> too_many(kBatchTransfersMax + 1, Plain("x", bank_, holders[0], 1));
  auto too_large = ledger.CreateTransfers(too_many);
  ASSERT_FALSE(too_large.ok());
  EXPECT_EQ(too_large.error().code, "ledger_request_too_large");
  ledger.Stop();
  auto stopped = ledger.CreateTransfers({Plain("g2", holders[0], bank_, 1)});
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, "ledger_stopped");
  EXPECT_EQ(ledger.Stats().batches, 1);
}

TEST_P(LedgerTest, RequestsShareABatchAndStayIndependent) {
  const auto holders = FundedHolders(2, 100);
  Ledger ledger(Db(), clock_, {});
  WriterBlocker blocker(Db(), bank_);
  auto first = ledger.Submit({Plain("b1", bank_, holders[0], 1)});
  ASSERT_TRUE(Eventually([&] { return ledger.Stats().batches == 1; }));
  // Queued behind the blocked batch, these two go together: one request's refusal (and its
  // failed chain) does not touch the other's transfers.
  auto refused = ledger.Submit(
      {Linked(Plain("b2", holders[0], bank_, 50)), Plain("b3", holders[0], bank_, 500)});
  auto accepted =
      ledger.Submit({Plain("b4", holders[1], bank_, 70), Plain("b5", bank_, holders[1], 5)});
  blocker.Release();
  ASSERT_EQ(*first.get(), TransferResults{R::kOk});
  EXPECT_EQ(*refused.get(), (TransferResults{R::kLinkedEventFailed, R::kExceedsCredits}));
  EXPECT_EQ(*accepted.get(), (TransferResults{R::kOk, R::kOk}));
  const LedgerStats stats = ledger.Stats();
  EXPECT_EQ(stats.batches, 2);
  EXPECT_EQ(stats.requests, 3);
  EXPECT_EQ(stats.transfers, 5);
  EXPECT_EQ(Get(holders[0]).CreditBalance(), 101);
  EXPECT_EQ(Get(holders[1]).CreditBalance(), 35);
  ExpectInvariants();
}

TEST_P(LedgerTest, QueueFullIsRefusedAtOnce) {
  LedgerOptions options;
  options.batch_transfers_max = 1;
  options.queue_transfers_max = 1;
  Ledger ledger(Db(), clock_, options);
  const auto holders = FundedHolders(1, 0);
  WriterBlocker blocker(Db(), bank_);
  auto taken = ledger.Submit({Plain("q1", bank_, holders[0], 1)});
  ASSERT_TRUE(Eventually([&] { return ledger.Stats().batches == 1; }));
  auto queued = ledger.Submit({Plain("q2", bank_, holders[0], 1)});
  auto refused = ledger.Submit({Plain("q3", bank_, holders[0], 1)});
  ASSERT_EQ(refused.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  auto refusal = refused.get();
  ASSERT_FALSE(refusal.ok());
  EXPECT_EQ(refusal.error().code, "ledger_queue_full");
  EXPECT_EQ(refusal.error().kind, ErrorKind::kTooManyRequests);
  blocker.Release();
  EXPECT_EQ(*taken.get(), TransferResults{R::kOk});
  EXPECT_EQ(*queued.get(), TransferResults{R::kOk});
  EXPECT_EQ(ledger.Stats().refused_queue_full, 1);
}

TEST_P(LedgerTest, ARequestTheDatabaseRefusesFailsAloneAfterFallback) {
  // A trigger stands for any database failure tied to one request's rows.
  const std::string poison =
      GetParam() == storage::Backend::kSqlite
          ? "CREATE TRIGGER ledger_test_poison BEFORE INSERT ON ledger_transfers"
            " WHEN NEW.reference = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END;"
          : "CREATE FUNCTION ledger_test_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.reference = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW;"
            " END $$; CREATE TRIGGER ledger_test_poison BEFORE INSERT ON ledger_transfers"
            " FOR EACH ROW EXECUTE FUNCTION ledger_test_poison();";
  ASSERT_TRUE(Script(poison).ok());
  const auto holders = FundedHolders(1, 0);
  Ledger ledger(Db(), clock_, {});
  WriterBlocker blocker(Db(), bank_);
  auto first = ledger.Submit({Plain("p1", bank_, holders[0], 1)});
  ASSERT_TRUE(Eventually([&] { return ledger.Stats().batches == 1; }));
  Transfer poisoned = Plain("p2", bank_, holders[0], 10);
  poisoned.reference = "poison";
  auto failing = ledger.Submit({poisoned});
  auto healthy = ledger.Submit({Plain("p3", bank_, holders[0], 100)});
  blocker.Release();
  EXPECT_EQ(*first.get(), TransferResults{R::kOk});
  auto failure = failing.get();
  ASSERT_FALSE(failure.ok());
  EXPECT_NE(failure.error().message.find("poisoned"), std::string::npos);
  EXPECT_EQ(*healthy.get(), TransferResults{R::kOk});
  EXPECT_EQ(ledger.Stats().fallbacks, 1);
  EXPECT_EQ(Get(holders[0]).CreditBalance(), 101);
  EXPECT_FALSE(Find("p2").has_value());
  ExpectInvariants();
}

TEST_P(LedgerTest, StopCommitsWhatIsAlreadyQueued) {
  const auto holders = FundedHolders(1, 0);
  auto ledger = std::make_unique<Ledger>(Db(), clock_, LedgerOptions{});
  std::vector<std::future<Result<TransferResults>>> answers;
  {
    WriterBlocker blocker(Db(), bank_);
    for (int i = 0; i < 20; ++i) {
      answers.push_back(ledger->Submit({Plain(fmt::format("s{}", i), bank_, holders[0], 1)}));
    }
    std::thread stopper([&] { ledger->Stop(); });
    blocker.Release();
    stopper.join();
  }
  for (auto& answer : answers) EXPECT_EQ(*answer.get(), TransferResults{R::kOk});
  EXPECT_EQ(Get(holders[0]).CreditBalance(), 20);
}

std::string BackendName(const ::testing::TestParamInfo<storage::Backend>& param) {
  return testing::BackendParamName(param.param);
}

// ---- Concurrency --------------------------------------------------------------------------

// What a client was told about one transfer.
struct Answer {
  Transfer transfer;
  R result = R::kOk;
};

// Credit-normal balances implied by the answers: what every acknowledged transfer moved, and
// nothing else. A post moves its own amount; holds and voids move no posted money.
std::map<int64_t, int64_t> ExpectedBalances(const std::vector<std::vector<Answer>>& answers,
                                            const std::vector<int64_t>& accounts, int64_t initial,
                                            const std::map<std::string, Transfer>& holds) {
  std::map<int64_t, int64_t> expected;
  for (int64_t id : accounts) expected[id] = initial;
  for (const auto& thread : answers) {
    for (const Answer& answer : thread) {
      if (answer.result != R::kOk) continue;
      const Transfer& t = answer.transfer;
      if ((t.flags & (transfer_flags::kPending | transfer_flags::kVoidPending)) != 0) continue;
      const Transfer& moved =
          (t.flags & transfer_flags::kPostPending) != 0 ? holds.at(t.pending_id) : t;
      expected[moved.debit_account_id] -= t.amount;
      expected[moved.credit_account_id] += t.amount;
    }
  }
  return expected;
}

// One client of the bank: random transfers, linked pairs, holds then post or void, and
// resubmissions of its own earlier transfers, which must answer as the first time did.
class BankClient {
 public:
  BankClient(uint64_t seed, std::vector<int64_t> accounts, std::string prefix)
      : random_(seed), accounts_(std::move(accounts)), prefix_(std::move(prefix)) {}

  using SubmitFn = std::function<Result<TransferResults>(const std::vector<Transfer>&)>;

  void Run(int64_t operations, const SubmitFn& submit) {
    for (int64_t i = 0; i < operations; ++i) {
      const uint64_t choice = random_() % 20;
      if (choice < 12 || singles_.empty()) {
        Send(submit, {Plain(NextId(), Pick(), 0, Amount())});
      } else if (choice < 15) {
        Transfer payment = Linked(Plain(NextId(), Pick(), 0, Amount()));
        Transfer fee = Plain(NextId(), payment.credit_account_id, 0, Amount() / 10 + 1);
        Send(submit, {payment, fee});
      } else if (choice < 18) {
        HoldThenResolve(submit);
      } else {
        Resubmit(submit);
      }
    }
  }

  const std::vector<Answer>& Answers() const { return answers_; }
  const std::map<std::string, Transfer>& Holds() const { return holds_; }

 private:
  std::string NextId() { return fmt::format("{}-{}", prefix_, next_++); }
  int64_t Amount() { return 1 + static_cast<int64_t>(random_() % 3000); }
  int64_t Pick() { return accounts_[random_() % accounts_.size()]; }

  // Fills in credit accounts left at 0 with another random account, then submits.
  void Send(const SubmitFn& submit, std::vector<Transfer> transfers) {
    for (Transfer& t : transfers) {
      while (t.credit_account_id == 0 || t.credit_account_id == t.debit_account_id) {
        t.credit_account_id = Pick();
      }
    }
    auto results = submit(transfers);
    ASSERT_TRUE(results.ok()) << results.error().message;
    ASSERT_EQ(results->size(), transfers.size());
    for (size_t i = 0; i < transfers.size(); ++i) {
      answers_.push_back({transfers[i], (*results)[i]});
      if (transfers.size() == 1 && transfers[i].flags == 0) singles_.push_back(answers_.size() - 1);
    }
  }

  void HoldThenResolve(const SubmitFn& submit) {
    Transfer hold = Plain(NextId(), Pick(), 0, Amount());
    hold.flags = transfer_flags::kPending;
    Send(submit, {hold});
    if (answers_.back().result != R::kOk) return;
    hold = answers_.back().transfer;
    holds_[hold.id] = hold;
    const bool post = random_() % 2 == 0;
    Transfer resolution = Referencing(
        NextId(), post ? transfer_flags::kPostPending : transfer_flags::kVoidPending, hold.id,
        post ? 1 + static_cast<int64_t>(random_() % static_cast<uint64_t>(hold.amount)) : 0);
    auto results = submit({resolution});
    ASSERT_TRUE(results.ok()) << results.error().message;
    EXPECT_EQ(results->at(0), R::kOk) << "resolving my own hold " << hold.id;
    answers_.push_back({resolution, results->at(0)});
  }

  void Resubmit(const SubmitFn& submit) {
    const Answer first = answers_[singles_[random_() % singles_.size()]];
    auto results = submit({first.transfer});
    ASSERT_TRUE(results.ok()) << results.error().message;
    const R expected = first.result == R::kOk      ? R::kExists
                       : IsTransient(first.result) ? R::kIdAlreadyFailed
                                                   : first.result;
    EXPECT_EQ(results->at(0), expected) << "resubmitting " << first.transfer.id;
  }

  std::mt19937_64 random_;
  std::vector<int64_t> accounts_;
  std::string prefix_;
  int64_t next_ = 0;
  std::vector<Answer> answers_;
  std::vector<size_t> singles_;  // answers_ indexes of plain single-transfer requests
  std::map<std::string, Transfer> holds_;
};

class BankCheck {
 public:
  BankCheck(LedgerTest& test, std::vector<int64_t> accounts, int64_t initial)
      : test_(test), accounts_(std::move(accounts)), initial_(initial) {}

  // Every acknowledged transfer is stored once as answered, nothing unacknowledged moved money,
  // money is conserved, nothing is negative, and the ledger's own checks hold.
  void Verify(const std::vector<BankClient>& clients) {
    std::vector<std::vector<Answer>> answers;
    std::map<std::string, Transfer> holds;
    for (const BankClient& client : clients) {
      answers.push_back(client.Answers());
      holds.insert(client.Holds().begin(), client.Holds().end());
    }
    const auto expected = ExpectedBalances(answers, accounts_, initial_, holds);
    int64_t total = 0;
    for (int64_t id : accounts_) {
      const Account account = test_.Get(id);
      EXPECT_EQ(account.CreditBalance(), expected.at(id)) << "account " << id;
      EXPECT_GE(account.AvailableCredit(), 0) << "account " << id;
      EXPECT_EQ(account.debits_pending, 0) << "every hold was resolved";
      total += account.CreditBalance();
    }
    EXPECT_EQ(total, initial_ * static_cast<int64_t>(accounts_.size()));
    for (const auto& thread : answers) {
      for (const Answer& answer : thread) VerifyStored(answer);
    }
    test_.ExpectInvariants();
  }

 private:
  void VerifyStored(const Answer& answer) {
    const auto stored = test_.Find(answer.transfer.id);
    if (answer.result != R::kOk) {
      EXPECT_TRUE(!stored.has_value() || stored->result != R::kOk) << answer.transfer.id;
      return;
    }
    ASSERT_TRUE(stored.has_value()) << "acknowledged but missing: " << answer.transfer.id;
    EXPECT_EQ(stored->result, R::kOk);
    if (answer.transfer.amount != 0) {
      EXPECT_EQ(stored->transfer.amount, answer.transfer.amount);
    }
  }

  LedgerTest& test_;
  std::vector<int64_t> accounts_;
  int64_t initial_;
};

TEST_P(LedgerTest, BankThroughTheGroupCommitterConservesMoneyAndKeepsEveryAnswer) {
  constexpr int64_t kAccounts = 8, kThreads = 8, kOperations = 120, kInitial = 10'000;
  const auto holders = FundedHolders(kAccounts, kInitial);
  Ledger ledger(Db(), clock_, {});
  std::vector<BankClient> clients;
  for (int64_t t = 0; t < kThreads; ++t) {
    clients.emplace_back(static_cast<uint64_t>(1000 + t), holders, fmt::format("c{}", t));
  }
  std::vector<std::thread> threads;
  for (BankClient& client : clients) {
    threads.emplace_back([&] {
      client.Run(kOperations, [&](const std::vector<Transfer>& transfers) {
        return ledger.CreateTransfers(transfers);
      });
    });
  }
  for (std::thread& thread : threads) thread.join();
  const LedgerStats stats = ledger.Stats();
  EXPECT_LE(stats.batches, stats.requests);
  std::printf("[ bank     ] %s: %lld requests in %lld batches (peak %lld transfers)\n",
              testing::BackendParamName(GetParam()).c_str(), static_cast<long long>(stats.requests),
              static_cast<long long>(stats.batches),
              static_cast<long long>(stats.batch_transfers_peak));
  BankCheck(*this, holders, kInitial).Verify(clients);
}

// Two "processes": two database handles (two pools, on SQLite two writer locks), each with its
// own Ledger, plus clients on the direct path, all moving money between the same four hot
// accounts. Only the database keeps them apart.
TEST_P(LedgerTest, TwoProcessesOnOneDatabaseLoseNoUpdateAndGoNowhereNegative) {
  constexpr int64_t kAccounts = 4, kOperations = 80, kInitial = 5'000;
  const auto holders = FundedHolders(kAccounts, kInitial);
  std::vector<std::unique_ptr<storage::Database>> handles;
  std::vector<std::unique_ptr<Ledger>> ledgers;
  for (int process = 0; process < 2; ++process) {
    auto handle = storage::OpenDatabase(test_->url(), {4, 5000, 10000, 20});
    ASSERT_TRUE(handle.ok()) << handle.error().message;
    handles.push_back(std::move(handle).value());
    ledgers.push_back(std::make_unique<Ledger>(*handles.back(), clock_, LedgerOptions{}));
  }
  std::vector<BankClient> clients;
  for (int64_t c = 0; c < 8; ++c) {
    clients.emplace_back(static_cast<uint64_t>(7 + c), holders, fmt::format("p{}", c));
  }
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients.size(); ++c) {
    storage::Database& handle = *handles[c % 2];
    Ledger& ledger = *ledgers[c % 2];
    const bool direct = c >= 6;  // the last two write in transactions of their own
    threads.emplace_back([&, direct, c] {
      clients[c].Run(
          kOperations, [&](const std::vector<Transfer>& transfers) -> Result<TransferResults> {
            if (!direct) return ledger.CreateTransfers(transfers);
            return handle.Transact<TransferResults>(TransactionMode::kWrite, [&](Transaction& tx) {
              return CreateTransfers(tx, transfers, clock_.NowMs());
            });
          });
    });
  }
  for (std::thread& thread : threads) thread.join();
  ledgers.clear();
  BankCheck(*this, holders, kInitial).Verify(clients);
}

TEST_P(LedgerTest, TheSameIdsFromTwoProcessesApplyOnce) {
  constexpr int kIds = 150;
  const auto holders = FundedHolders(4, 1'000'000);
  std::vector<std::unique_ptr<storage::Database>> handles;
  std::vector<std::unique_ptr<Ledger>> ledgers;
  for (int process = 0; process < 2; ++process) {
    auto handle = storage::OpenDatabase(test_->url(), {4, 5000, 10000, 20});
    ASSERT_TRUE(handle.ok()) << handle.error().message;
    handles.push_back(std::move(handle).value());
    ledgers.push_back(std::make_unique<Ledger>(*handles.back(), clock_, LedgerOptions{}));
  }
  // Even ids: the same transfer from both. Odd ids: other accounts, which share no lock, so
  // both look, find nothing, and race on the id itself.
  std::vector<std::vector<R>> results(2, std::vector<R>(kIds));
  std::vector<std::thread> threads;
  for (int process = 0; process < 2; ++process) {
    threads.emplace_back([&, process] {
      for (int i = 0; i < kIds; ++i) {
        const bool other = i % 2 == 1 && process == 1;
        auto answer = ledgers[static_cast<size_t>(process)]->CreateTransfers(
            {Plain(fmt::format("dup-{}", i), holders[other ? 1 : 0], holders[other ? 3 : 2], 10)});
        ASSERT_TRUE(answer.ok()) << answer.error().message;
        results[static_cast<size_t>(process)][static_cast<size_t>(i)] = answer->at(0);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  int64_t moved = 0;
  for (int i = 0; i < kIds; ++i) {
    const R a = results[0][static_cast<size_t>(i)], b = results[1][static_cast<size_t>(i)];
    const R loser = i % 2 == 0 ? R::kExists : R::kExistsWithDifferentDebitAccount;
    EXPECT_TRUE((a == R::kOk && b == loser) || (a == loser && b == R::kOk))
        << "dup-" << i << ": " << CreateTransferResultName(a) << " / "
        << CreateTransferResultName(b);
    moved += 10;
  }
  ledgers.clear();
  EXPECT_EQ(Get(holders[2]).CreditBalance() + Get(holders[3]).CreditBalance(), 2'000'000 + moved);
  ExpectInvariants();
}

TEST_P(LedgerTest, ExpiryRacingWithPostsResolvesEachHoldOnce) {
  constexpr int kHolds = 200;
  const auto holders = FundedHolders(2, 1'000'000);
  std::vector<Transfer> holds;
  for (int i = 0; i < kHolds; ++i) {
    Transfer hold = Plain(fmt::format("hold-{}", i), holders[0], holders[1], 10);
    hold.flags = transfer_flags::kPending;
    hold.timeout_s = 1;
    holds.push_back(hold);
  }
  ASSERT_EQ(Direct(holds), TransferResults(kHolds, R::kOk));
  // The committer's clock says the holds are still valid; the job runs as if later, so each
  // hold goes to whichever commits first.
  Ledger ledger(Db(), clock_, {});
  std::atomic<int64_t> posted{0};
  std::thread poster([&] {
    for (int i = 0; i < kHolds; ++i) {
      auto answer = ledger.CreateTransfers(
          {Referencing(fmt::format("post-{}", i), transfer_flags::kPostPending,
                       holds[static_cast<size_t>(i)].id, 0)});
      ASSERT_TRUE(answer.ok()) << answer.error().message;
      EXPECT_TRUE(answer->at(0) == R::kOk || answer->at(0) == R::kPendingTransferExpired);
      if (answer->at(0) == R::kOk) ++posted;
    }
  });
  int64_t expired = 0;
  while (posted.load() + expired < kHolds) {
    auto round = ExpirePending(Db(), kStart + 2000);
    ASSERT_TRUE(round.ok()) << round.error().message;
    expired += *round;
    if (*round == 0) std::this_thread::yield();
  }
  poster.join();
  EXPECT_EQ(posted.load() + expired, kHolds);
  EXPECT_EQ(Get(holders[1]).credits_posted, 1'000'000 + 10 * posted.load());
  EXPECT_EQ(Get(holders[0]).debits_pending, 0);
  ExpectInvariants();
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerTest, ::testing::ValuesIn(testing::TestBackends()),
                         BackendName);

}  // namespace
}  // namespace guichet::ledger
