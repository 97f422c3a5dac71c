#include "platform/jobs/jobs.h"

#include <atomic>

#include <gtest/gtest.h>

#include "tests/support/test_databases.h"

namespace guichet::jobs {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr int64_t kStart = 1'800'000'000'000;

class JobsTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    auto migrated = storage::Migrate(test_->db(), Migrations(), clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  }

  RunnerOptions Options() const {
    RunnerOptions options;
    options.workers = 0;
    options.backoff_base_ms = 1000;
    options.backoff_max_ms = 8000;
    options.lease_s = 60;
    return options;
  }

  int64_t Enqueue(JobRequest request) {
    auto id = test_->db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) {
      return jobs::Enqueue(tx, request, clock_.NowMs());
    });
    EXPECT_TRUE(id.ok()) << id.error().message;
    return *id;
  }

  JobRecord Get(int64_t id) {
    auto job = test_->db().Transact<std::optional<JobRecord>>(TransactionMode::kRead,
                                                              [&](Transaction& tx) { return Find(tx, id); });
    EXPECT_TRUE(job.ok() && job->has_value());
    return **job;
  }

  ManualClock clock_{kStart};
  std::unique_ptr<TestDatabase> test_;
};

TEST_P(JobsTest, RunsADueJobOnceAndRecordsSuccess) {
  Runner runner(test_->db(), clock_, Options());
  int runs = 0;
  runner.Register("test.count", [&](const JobRecord& job) -> Status {
    EXPECT_EQ(job.payload, R"({"n":1})");
    ++runs;
    return OkStatus();
  });
  const int64_t id = Enqueue({"test.count", R"({"n":1})", 0, 3, std::nullopt});
  EXPECT_EQ(*runner.RunOne(), true);
  EXPECT_EQ(*runner.RunOne(), false);
  EXPECT_EQ(runs, 1);
  const JobRecord job = Get(id);
  EXPECT_EQ(job.state, JobState::kSucceeded);
  EXPECT_EQ(job.attempts, 1);
}

TEST_P(JobsTest, DelayedJobWaitsForItsTime) {
  Runner runner(test_->db(), clock_, Options());
  runner.Register("test.later", [](const JobRecord&) { return OkStatus(); });
  const int64_t id = Enqueue({"test.later", "{}", kStart + 5000, 3, std::nullopt});
  EXPECT_EQ(*runner.RunOne(), false);
  clock_.Advance(5000);
  EXPECT_EQ(*runner.RunOne(), true);
  EXPECT_EQ(Get(id).state, JobState::kSucceeded);
}

TEST_P(JobsTest, FailuresRetryWithGrowingBackoffThenGiveUp) {
  Runner runner(test_->db(), clock_, Options());
  runner.Register("test.fail", [](const JobRecord&) -> Status { return Error::Internal("smtp down"); });
  const int64_t id = Enqueue({"test.fail", "{}", 0, 3, std::nullopt});
  ASSERT_TRUE(*runner.RunOne());
  JobRecord job = Get(id);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.last_error, "smtp down");
  EXPECT_EQ(job.run_at_ms, kStart + 1000);
  EXPECT_FALSE(*runner.RunOne());  // not due before its backoff
  clock_.Advance(1000);
  ASSERT_TRUE(*runner.RunOne());
  EXPECT_EQ(Get(id).run_at_ms, kStart + 1000 + 2000);  // doubled
  clock_.Advance(2000);
  ASSERT_TRUE(*runner.RunOne());
  job = Get(id);
  EXPECT_EQ(job.state, JobState::kDead);
  EXPECT_EQ(job.attempts, 3);
  clock_.Advance(100000);
  EXPECT_FALSE(*runner.RunOne());  // a dead job is never run again
}

TEST_P(JobsTest, BackoffIsCapped) {
  Runner runner(test_->db(), clock_, Options());
  EXPECT_EQ(runner.BackoffMs(1), 1000);
  EXPECT_EQ(runner.BackoffMs(3), 4000);
  EXPECT_EQ(runner.BackoffMs(10), 8000);
  EXPECT_EQ(runner.BackoffMs(99), 8000);
}

TEST_P(JobsTest, ExceptionsAndUnknownKindsAreFailedAttempts) {
  Runner runner(test_->db(), clock_, Options());
  runner.Register("test.throw", [](const JobRecord&) -> Status { throw std::runtime_error("boom"); });
  const int64_t thrown = Enqueue({"test.throw", "{}", 0, 1, std::nullopt});
  const int64_t unknown = Enqueue({"test.nobody", "{}", 0, 1, std::nullopt});
  ASSERT_TRUE(*runner.RunOne());
  ASSERT_TRUE(*runner.RunOne());
  EXPECT_EQ(Get(thrown).state, JobState::kDead);
  EXPECT_NE(Get(thrown).last_error->find("boom"), std::string::npos);
  EXPECT_EQ(Get(unknown).state, JobState::kDead);
  EXPECT_NE(Get(unknown).last_error->find("no handler"), std::string::npos);
}

TEST_P(JobsTest, CrashedWorkerJobIsTakenUpAfterItsLease) {
  // A first runner claims the job and "crashes" (never completes); a second one, in another
  // process after a restart, takes it up once the lease has expired.
  Runner crashed(test_->db(), clock_, Options());
  bool first_started = false;
  const int64_t id = Enqueue({"test.crash", "{}", 0, 3, std::nullopt});
  {
    auto claim = test_->db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) {
      return tx.Execute("UPDATE jobs SET state = 'running', attempts = 1, locked_by = 'gone',"
                        " locked_until = $1 WHERE id = $2",
                        {clock_.NowMs() + 60000, id});
    });
    ASSERT_TRUE(claim.ok());
    first_started = true;
  }
  ASSERT_TRUE(first_started);
  Runner restarted(test_->db(), clock_, Options());
  int runs = 0;
  restarted.Register("test.crash", [&](const JobRecord& job) -> Status {
    EXPECT_EQ(job.attempts, 2);
    ++runs;
    return OkStatus();
  });
  EXPECT_FALSE(*restarted.RunOne());  // the lease still holds
  clock_.Advance(60001);
  EXPECT_TRUE(*restarted.RunOne());
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(Get(id).state, JobState::kSucceeded);
}

TEST_P(JobsTest, DedupeKeyCreatesOneJob) {
  const int64_t first = Enqueue({"test.once", "{}", 0, 3, "invoice-42"});
  const int64_t second = Enqueue({"test.once", "{}", 0, 3, "invoice-42"});
  EXPECT_EQ(first, second);
  auto counts = test_->db().Transact<std::map<JobState, int64_t>>(TransactionMode::kRead, CountByState);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at(JobState::kQueued), 1);
}

TEST_P(JobsTest, PeriodicJobsAreScheduledOncePerIntervalAcrossRunners) {
  Runner first(test_->db(), clock_, Options());
  Runner second(test_->db(), clock_, Options());
  first.Every("test.tick", 60000);
  second.Every("test.tick", 60000);
  ASSERT_TRUE(first.SchedulePeriodic().ok());
  ASSERT_TRUE(second.SchedulePeriodic().ok());
  ASSERT_TRUE(first.SchedulePeriodic().ok());
  auto count = [&] {
    auto rows = test_->db().Transact<std::optional<storage::Row>>(TransactionMode::kRead, [](Transaction& tx) {
      return tx.QueryOne("SELECT count(*) FROM jobs WHERE kind = 'test.tick'");
    });
    return (*rows)->Int(0);
  };
  EXPECT_EQ(count(), 1);
  clock_.Advance(60000);
  ASSERT_TRUE(second.SchedulePeriodic().ok());
  ASSERT_TRUE(first.SchedulePeriodic().ok());
  EXPECT_EQ(count(), 2);
}

TEST_P(JobsTest, WorkersRunJobsInTheBackgroundAndStopCleanly) {
  SystemClock real_clock;
  RunnerOptions options = Options();
  options.workers = 2;
  options.poll_ms = 10;
  Runner runner(test_->db(), real_clock, options);
  std::atomic<int> runs{0};
  runner.Register("test.bg", [&](const JobRecord&) {
    ++runs;
    return OkStatus();
  });
  for (int i = 0; i < 20; ++i) {
    auto id = test_->db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) {
      return jobs::Enqueue(tx, {"test.bg", "{}", 0, 3, std::nullopt}, real_clock.NowMs());
    });
    ASSERT_TRUE(id.ok());
  }
  runner.Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (runs.load() < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  runner.Stop();
  EXPECT_EQ(runs.load(), 20);  // each exactly once, though two workers competed
}

INSTANTIATE_TEST_SUITE_P(Backends, JobsTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const auto& param_info) { return testing::BackendParamName(param_info.param); });

}  // namespace
}  // namespace guichet::jobs
