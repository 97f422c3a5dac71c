#include "platform/notify/delivery.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "platform/jobs/jobs.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/addresses.h"
#include "platform/notify/outbox.h"
#include "platform/notify/sms.h"
#include "platform/orgs/orgs.h"
#include "platform/privacy/privacy.h"
#include "tests/support/test_databases.h"

namespace guichet::notify {
namespace {

using storage::Transaction;
using storage::TransactionMode;

constexpr int64_t kStartMs = 1'800'000'000'000;

// The seam's test double: records what it was given and answers what the test says. The real
// channels are tested against maildev and the SMS gateway simulator (tests/api).
class RecordingChannel final : public Channel {
 public:
  explicit RecordingChannel(std::string name) : name_(std::move(name)) {}
  std::string_view Name() const override { return name_; }
  DeliveryOutcome Deliver(const QueuedMessage& message, const ComposedMessage& composed) override {
    std::lock_guard lock(mutex_);
    delivered.push_back({message.id, message.recipient, composed.text});
    DeliveryOutcome outcome;
    outcome.kind = answer(message);
    outcome.detail = "test answer";
    outcome.status_code = outcome.kind == DeliveryOutcome::Kind::kSent ? 250 : 451;
    outcome.provider_reference = "ref-" + std::to_string(message.id);
    return outcome;
  }
  struct Call {
    int64_t id;
    std::string recipient;
    std::string text;
  };
  std::vector<Call> delivered;
  std::function<DeliveryOutcome::Kind(const QueuedMessage&)> answer = [](const QueuedMessage&) {
    return DeliveryOutcome::Kind::kSent;
  };

 private:
  std::string name_;
  std::mutex mutex_;
};

class TestComposer final : public Composer {
 public:
  Result<Verdict> Decide(Transaction&, const QueuedMessage& message) override {
    if (message.template_code == "undecidable") return Error::Invalid("person_unknown", "no such person");
    return message.purpose == "campaign" ? Verdict::kSuppress : Verdict::kSend;
  }
  Result<ComposedMessage> Compose(Transaction&, const QueuedMessage& message) override {
    if (message.template_code == "missing") return Error::NotFound("template_not_found", "no such template");
    ComposedMessage composed;
    composed.subject = message.template_code;
    composed.text = "text of " + message.template_code;
    return composed;
  }
};

struct CrashInTheMiddle {};

class DeliveryTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    test_ = testing::TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    std::vector<storage::Migration> all;
    for (auto pieces : {jobs::Migrations(), orgs::Migrations(), Migrations(), ledger::Migrations()}) {
      all.insert(all.end(), pieces.begin(), pieces.end());
    }
    auto migrated = storage::Migrate(db(), all, clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    auto org = db().Transact<orgs::Organisation>(TransactionMode::kWrite, [&](Transaction& tx) {
      return orgs::Create(tx, {std::nullopt, "syndicate", "Syndicat"}, clock_.NowMs());
    });
    ASSERT_TRUE(org.ok());
    org_id_ = org->id;
  }
  storage::Database& db() { return test_->db(); }

  int64_t QueueOne(std::string channel, std::string recipient, std::string purpose = "transactional",
                   std::string template_code = "test.hello") {
    auto id = db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) {
      OutboxMessage message;
      message.channel = channel;
      message.recipient = recipient;
      message.template_code = template_code;
      message.purpose = purpose;
      message.organisation_id = org_id_;
      return Queue(tx, message, clock_.NowMs());
    });
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }
  MessageState State(int64_t id) {
    auto state = db().Transact<std::optional<MessageState>>(TransactionMode::kRead,
                                                            [&](Transaction& tx) { return FindMessage(tx, id); });
    EXPECT_TRUE(state.ok() && state->has_value());
    return state.ok() && state->has_value() ? **state : MessageState{};
  }
  std::vector<std::string> Outcomes(int64_t id) {
    auto log = db().Transact<std::vector<DeliveryLogEntry>>(TransactionMode::kRead,
                                                            [&](Transaction& tx) { return DeliveryLog(tx, id); });
    std::vector<std::string> outcomes;
    if (log.ok()) {
      for (const auto& entry : *log) outcomes.push_back(entry.outcome);
    }
    return outcomes;
  }
  DeliveryOptions Options() {
    DeliveryOptions options;
    options.attempts_max = 3;
    options.backoff_base_ms = 1000;
    options.backoff_max_ms = 4000;
    options.lease_ms = 60'000;
    return options;
  }

  ManualClock clock_{kStartMs};
  std::unique_ptr<testing::TestDatabase> test_;
  TestComposer composer_;
  int64_t org_id_ = 0;
};

TEST_P(DeliveryTest, SendsEachRowOnceAndLogsTheAttempt) {
  RecordingChannel email("email");
  DeliveryEngine engine(db(), clock_, composer_, Options());
  engine.AddChannel(email);
  const int64_t a = QueueOne("email", "Ada@Example.FR");
  const int64_t b = QueueOne("email", "bob@example.fr");
  const int64_t waiting = QueueOne("push", "https://push.example/endpoint");  // no push channel here
  auto report = engine.RunUntilIdle(5);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->sent, 2);
  ASSERT_EQ(email.delivered.size(), 2u);
  EXPECT_EQ(email.delivered[0].recipient, "ada@example.fr");
  EXPECT_EQ(email.delivered[0].text, "text of test.hello");
  EXPECT_EQ(State(a).state, "sent");
  EXPECT_EQ(State(a).provider_reference, "ref-" + std::to_string(a));
  EXPECT_EQ(Outcomes(b), std::vector<std::string>{"sent"});
  EXPECT_EQ(State(waiting).state, "queued");  // waits for its channel
  ASSERT_TRUE(engine.RunOnce().ok());
  EXPECT_EQ(email.delivered.size(), 2u);
}

TEST_P(DeliveryTest, RetriesWithExponentialBackoffThenGivesUp) {
  RecordingChannel email("email");
  email.answer = [](const QueuedMessage&) { return DeliveryOutcome::Kind::kRetry; };
  DeliveryEngine engine(db(), clock_, composer_, Options());
  engine.AddChannel(email);
  EXPECT_EQ(engine.BackoffMs(1), 1000);
  EXPECT_EQ(engine.BackoffMs(2), 2000);
  EXPECT_EQ(engine.BackoffMs(5), 4000);
  const int64_t id = QueueOne("email", "later@example.fr");
  ASSERT_TRUE(engine.RunOnce().ok());
  EXPECT_EQ(State(id).state, "queued");
  EXPECT_EQ(State(id).next_attempt_at_ms, kStartMs + 1000);
  ASSERT_TRUE(engine.RunOnce().ok());  // not due yet
  EXPECT_EQ(email.delivered.size(), 1u);
  clock_.Advance(1000);
  ASSERT_TRUE(engine.RunOnce().ok());
  EXPECT_EQ(State(id).next_attempt_at_ms, kStartMs + 1000 + 2000);
  clock_.Advance(2000);
  ASSERT_TRUE(engine.RunOnce().ok());
  EXPECT_EQ(email.delivered.size(), 3u);
  EXPECT_EQ(State(id).state, "failed");
  EXPECT_EQ(State(id).attempts, 3);
  EXPECT_EQ(Outcomes(id), (std::vector<std::string>{"retry", "retry", "failed"}));
  clock_.Advance(100'000);
  ASSERT_TRUE(engine.RunOnce().ok());
  EXPECT_EQ(email.delivered.size(), 3u);
}

TEST_P(DeliveryTest, CrashBetweenSendingAndOutcomeLeavesTheRowUncertainNotResent) {
  RecordingChannel email("email");
  const int64_t id = QueueOne("email", "once@example.fr");
  {
    DeliveryEngine crashing(db(), clock_, composer_, Options());
    crashing.AddChannel(email);
    crashing.SetBeforeDeliverHook([](const QueuedMessage&) { throw CrashInTheMiddle{}; });
    EXPECT_THROW((void)crashing.RunOnce(), CrashInTheMiddle);
  }
  EXPECT_EQ(State(id).state, "sending");  // committed before the network
  EXPECT_EQ(State(id).attempts, 1);
  // "Restart": a new engine on the same database.
  DeliveryEngine restarted(db(), clock_, composer_, Options());
  restarted.AddChannel(email);
  ASSERT_TRUE(restarted.RunOnce().ok());
  EXPECT_EQ(State(id).state, "sending");  // its lease still runs: maybe another worker is on it
  clock_.Advance(60'001);
  auto report = restarted.RunOnce();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->uncertain, 1);
  EXPECT_EQ(State(id).state, "uncertain");
  EXPECT_TRUE(email.delivered.empty());
  ASSERT_TRUE(restarted.RunOnce().ok());
  EXPECT_TRUE(email.delivered.empty());
  // Staff decide to send it again.
  auto resent = db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) {
    return DeliveryEngine::Resend(tx, id, clock_.NowMs());
  });
  ASSERT_TRUE(resent.ok());
  ASSERT_TRUE(restarted.RunOnce().ok());
  EXPECT_EQ(email.delivered.size(), 1u);
  EXPECT_EQ(State(id).state, "sent");
  EXPECT_EQ(Outcomes(id), (std::vector<std::string>{"uncertain", "resend", "sent"}));
  auto again = db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) {
    return DeliveryEngine::Resend(tx, id, clock_.NowMs());
  });
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "message_not_resendable");
}

TEST_P(DeliveryTest, ASlowServerMakesTheWorkerReleaseRowsItHasNotStarted) {
  RecordingChannel email("email");
  email.answer = [this](const QueuedMessage&) {
    clock_.Advance(31'000);  // over half the 60 s lease per message
    return DeliveryOutcome::Kind::kSent;
  };
  DeliveryEngine engine(db(), clock_, composer_, Options());
  engine.AddChannel(email);
  const int64_t a = QueueOne("email", "a@example.fr");
  const int64_t b = QueueOne("email", "b@example.fr");
  const int64_t c = QueueOne("email", "c@example.fr");
  ASSERT_TRUE(engine.RunOnce().ok());
  EXPECT_EQ(State(a).state, "sent");
  EXPECT_EQ(State(b).state, "queued");
  EXPECT_EQ(State(b).attempts, 0);  // released untouched
  EXPECT_EQ(State(c).state, "queued");
  ASSERT_TRUE(engine.RunUntilIdle(10).ok());
  EXPECT_EQ(State(c).state, "sent");
  EXPECT_EQ(email.delivered.size(), 3u);
}

TEST_P(DeliveryTest, ALateOutcomeSettlesARowDeclaredUncertainMeanwhile) {
  RecordingChannel email("email");
  RecordingChannel other("email");
  DeliveryEngine watcher(db(), clock_, composer_, Options());
  watcher.AddChannel(other);
  email.answer = [&](const QueuedMessage&) {
    clock_.Advance(61'000);
    auto report = watcher.RunOnce();  // another worker finds the row past its lease
    EXPECT_TRUE(report.ok() && report->uncertain == 1);
    return DeliveryOutcome::Kind::kSent;
  };
  DeliveryEngine slow(db(), clock_, composer_, Options());
  slow.AddChannel(email);
  const int64_t id = QueueOne("email", "late@example.fr");
  ASSERT_TRUE(slow.RunOnce().ok());
  EXPECT_EQ(State(id).state, "sent");
  EXPECT_EQ(Outcomes(id), (std::vector<std::string>{"uncertain", "sent"}));
  EXPECT_TRUE(other.delivered.empty());
}

TEST_P(DeliveryTest, CrashOnAResendSafeChannelSendsAgainWithTheSameReference) {
  RecordingChannel sms("sms");
  const int64_t id = QueueOne("sms", "+33612345678");
  {
    DeliveryEngine crashing(db(), clock_, composer_, Options());
    crashing.AddChannel(sms);
    crashing.SetBeforeDeliverHook([](const QueuedMessage&) { throw CrashInTheMiddle{}; });
    EXPECT_THROW((void)crashing.RunOnce(), CrashInTheMiddle);
  }
  DeliveryEngine restarted(db(), clock_, composer_, Options());
  restarted.AddChannel(sms);
  clock_.Advance(60'001);
  auto report = restarted.RunUntilIdle(5);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->requeued, 1);
  ASSERT_EQ(sms.delivered.size(), 1u);
  EXPECT_EQ(sms.delivered[0].id, id);  // the client reference is derived from the row id
  EXPECT_EQ(State(id).state, "sent");
  EXPECT_EQ(State(id).attempts, 2);
}

TEST_P(DeliveryTest, RejectionMarksTheAddressAndLaterMessagesAreRejectedWithoutANetworkTry) {
  RecordingChannel email("email");
  email.answer = [](const QueuedMessage& message) {
    return message.recipient == "gone@example.fr" ? DeliveryOutcome::Kind::kRejected : DeliveryOutcome::Kind::kSent;
  };
  DeliveryEngine engine(db(), clock_, composer_, Options());
  engine.AddChannel(email);
  const int64_t first = QueueOne("email", "gone@example.fr");
  ASSERT_TRUE(engine.RunUntilIdle(5).ok());
  EXPECT_EQ(State(first).state, "rejected");
  const int64_t second = QueueOne("email", "Gone@Example.fr");
  ASSERT_TRUE(engine.RunUntilIdle(5).ok());
  EXPECT_EQ(State(second).state, "rejected");
  EXPECT_EQ(email.delivered.size(), 1u);
  auto bad = db().Transact<bool>(TransactionMode::kRead,
                                 [&](Transaction& tx) { return IsBad(tx, "email", "gone@example.fr"); });
  ASSERT_TRUE(bad.ok());
  EXPECT_TRUE(*bad);
}

TEST_P(DeliveryTest, SuppressedAndUncomposableRowsNeverReachTheChannel) {
  RecordingChannel email("email");
  DeliveryEngine engine(db(), clock_, composer_, Options());
  engine.AddChannel(email);
  const int64_t campaign = QueueOne("email", "a@example.fr", "campaign");
  const int64_t broken = QueueOne("email", "b@example.fr", "transactional", "missing");
  const int64_t undecidable = QueueOne("email", "c@example.fr", "transactional", "undecidable");
  const int64_t fine = QueueOne("email", "d@example.fr");
  auto report = engine.RunUntilIdle(5);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->suppressed, 1);
  EXPECT_EQ(report->failed, 2);
  EXPECT_EQ(State(undecidable).state, "failed");
  EXPECT_EQ(State(fine).state, "sent");  // the others did not hold it up
  EXPECT_EQ(State(campaign).state, "suppressed");
  EXPECT_EQ(State(broken).state, "failed");
  ASSERT_EQ(email.delivered.size(), 1u);
  EXPECT_EQ(email.delivered[0].id, fine);
}

TEST_P(DeliveryTest, ConcurrentEnginesDeliverEachRowExactlyOnce) {
  RecordingChannel email("email");
  constexpr int kMessages = 60;
  std::vector<int64_t> ids;
  for (int i = 0; i < kMessages; ++i) ids.push_back(QueueOne("email", "user" + std::to_string(i) + "@example.fr"));
  DeliveryOptions options = Options();
  options.batch_messages_max = 7;
  DeliveryEngine one(db(), clock_, composer_, options);
  DeliveryEngine two(db(), clock_, composer_, options);
  one.AddChannel(email);
  two.AddChannel(email);
  std::atomic<bool> failed{false};
  auto run = [&](DeliveryEngine& engine) {
    if (!engine.RunUntilIdle(50).ok()) failed = true;
  };
  std::thread a(run, std::ref(one));
  std::thread b(run, std::ref(two));
  a.join();
  b.join();
  EXPECT_FALSE(failed);
  ASSERT_EQ(email.delivered.size(), static_cast<size_t>(kMessages));
  std::set<int64_t> seen;
  for (const auto& call : email.delivered) seen.insert(call.id);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kMessages));
  for (int64_t id : ids) EXPECT_EQ(State(id).state, "sent");
}

TEST_P(DeliveryTest, SmsFeeGoesThroughTheLedgerInTheTransactionThatRecordsTheSms) {
  struct Accounts {
    int64_t holder;
    int64_t revenue;
    int64_t funding;
  };
  auto accounts = db().Transact<Accounts>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Accounts> {
    auto holder = ledger::CreateAccount(tx, {"EUR", org_id_, "holder", ledger::account_flags::kDebitsMustNotExceedCredits},
                                        clock_.NowMs());
    auto revenue = ledger::CreateAccount(tx, {"EUR", org_id_, "revenue", 0}, clock_.NowMs());
    auto funding = ledger::CreateAccount(tx, {"EUR", org_id_, "float", 0}, clock_.NowMs());
    if (!holder.ok() || !revenue.ok() || !funding.ok()) return Error::Internal("accounts");
    ledger::Transfer top_up;
    top_up.id = "top-up-1";
    top_up.debit_account_id = funding->id;
    top_up.credit_account_id = holder->id;
    top_up.amount = 1000;
    top_up.ledger = "EUR";
    auto results = ledger::CreateTransfers(tx, {top_up}, clock_.NowMs());
    if (!results.ok() || results->front() != ledger::CreateTransferResult::kOk) return Error::Internal("top up");
    return Accounts{holder->id, revenue->id, funding->id};
  });
  ASSERT_TRUE(accounts.ok()) << accounts.error().message;
  RecordingChannel sms("sms");
  LedgerSmsFee fee({10, "EUR", accounts->revenue},
                   [&](Transaction&, const QueuedMessage& message) -> Result<std::optional<int64_t>> {
                     // The wallet will map the person to their account; here every SMS to this number pays.
                     if (message.recipient == "+33612345678") return std::optional<int64_t>(accounts->holder);
                     return std::optional<int64_t>();
                   });
  DeliveryEngine engine(db(), clock_, composer_, Options());
  engine.AddChannel(sms);
  engine.SetSentHook("sms", fee);
  const int64_t billed = QueueOne("sms", "+33612345678");
  const int64_t free_sms = QueueOne("sms", "+33687654321");
  ASSERT_TRUE(engine.RunUntilIdle(5).ok());
  EXPECT_EQ(State(billed).state, "sent");
  EXPECT_EQ(State(free_sms).state, "sent");
  auto balances = db().Transact<std::pair<int64_t, int64_t>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::pair<int64_t, int64_t>> {
        auto holder = ledger::LookupAccount(tx, accounts->holder);
        auto revenue = ledger::LookupAccount(tx, accounts->revenue);
        if (!holder.ok() || !revenue.ok() || !*holder || !*revenue) return Error::Internal("lookup");
        return std::make_pair((*holder)->CreditBalance(), (*revenue)->CreditBalance());
      });
  ASSERT_TRUE(balances.ok());
  EXPECT_EQ(balances->first, 990);
  EXPECT_EQ(balances->second, 10);
  auto transfer = db().Transact<std::optional<ledger::TransferRecord>>(
      TransactionMode::kRead,
      [&](Transaction& tx) { return ledger::LookupTransfer(tx, "notify-sms-fee-" + std::to_string(billed)); });
  ASSERT_TRUE(transfer.ok());
  EXPECT_TRUE(transfer->has_value());
  EXPECT_EQ(FormatEuroFr(10), "0,10 €");
  ASSERT_TRUE(ledger::CheckInvariants(db()).ok());
}

TEST_P(DeliveryTest, AFeeTheLedgerRefusesIsLoggedAndTheSmsStillRecordedAsSent) {
  auto accounts = db().Transact<std::pair<int64_t, int64_t>>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<std::pair<int64_t, int64_t>> {
        auto holder = ledger::CreateAccount(
            tx, {"EUR", org_id_, "holder", ledger::account_flags::kDebitsMustNotExceedCredits}, clock_.NowMs());
        auto revenue = ledger::CreateAccount(tx, {"EUR", org_id_, "revenue", 0}, clock_.NowMs());
        if (!holder.ok() || !revenue.ok()) return Error::Internal("accounts");
        return std::make_pair(holder->id, revenue->id);
      });
  ASSERT_TRUE(accounts.ok());
  RecordingChannel sms("sms");
  LedgerSmsFee fee({10, "EUR", accounts->second},
                   [&](Transaction&, const QueuedMessage&) -> Result<std::optional<int64_t>> {
                     return std::optional<int64_t>(accounts->first);
                   });
  DeliveryEngine engine(db(), clock_, composer_, Options());
  engine.AddChannel(sms);
  engine.SetSentHook("sms", fee);
  const int64_t id = QueueOne("sms", "+33612345678");
  ASSERT_TRUE(engine.RunUntilIdle(5).ok());
  EXPECT_EQ(State(id).state, "sent");
  auto log = db().Transact<std::vector<DeliveryLogEntry>>(TransactionMode::kRead,
                                                          [&](Transaction& tx) { return DeliveryLog(tx, id); });
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_NE(log->front().detail.find("sent hook failed"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, DeliveryTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const auto& param_info) { return testing::BackendParamName(param_info.param); });

}  // namespace
}  // namespace guichet::notify
