#include "platform/jobs/jobs.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <unistd.h>

#include "platform/base/log.h"

namespace guichet::jobs {
namespace {

using storage::Params;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

constexpr std::string_view kColumns =
    "id, kind, payload, state, attempts, max_attempts, last_error, run_at, created_at, updated_at";

JobState ParseState(const std::string& text) {
  if (text == "queued") return JobState::kQueued;
  if (text == "running") return JobState::kRunning;
  if (text == "succeeded") return JobState::kSucceeded;
  GUICHET_ASSERT(text == "dead");
  return JobState::kDead;
}

JobRecord ToRecord(const Row& row) {
  JobRecord job;
  job.id = row.Int(0);
  job.kind = row.Text(1);
  job.payload = row.Text(2);
  job.state = ParseState(row.Text(3));
  job.attempts = row.Int(4);
  job.max_attempts = row.Int(5);
  job.last_error = row.OptionalText(6);
  job.run_at_ms = row.Int(7);
  job.created_at_ms = row.Int(8);
  job.updated_at_ms = row.Int(9);
  GUICHET_ASSERT(job.id > 0 && job.attempts >= 0);
  return job;
}

// The two backends differ only in how rows are claimed: PostgreSQL skips rows other
// processes hold, SQLite has a single writer and needs no locking clause.
std::string ClaimSql(storage::Backend backend) {
  return fmt::format(
      "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1,"
      " locked_until = $2, updated_at = $3 WHERE id IN (SELECT id FROM jobs"
      " WHERE (state = 'queued' AND run_at <= $3) OR (state = 'running' AND locked_until < $3)"
      " ORDER BY run_at, id LIMIT 1{}) RETURNING {}",
      backend == storage::Backend::kPostgres ? " FOR UPDATE SKIP LOCKED" : "", kColumns);
}

}  // namespace

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kDead: return "dead";
  }
  return "dead";
}

std::vector<storage::Migration> Migrations() {
  const std::string columns =
      " kind TEXT NOT NULL, payload TEXT NOT NULL,"
      " state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'dead')),"
      " attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
      " max_attempts BIGINT NOT NULL CHECK (max_attempts >= 1),"
      " last_error TEXT, run_at BIGINT NOT NULL, locked_by TEXT, locked_until BIGINT,"
      " dedupe_key TEXT UNIQUE, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
      " CREATE INDEX jobs_due ON jobs (state, run_at);";
  return {{"platform.jobs", 1, "create jobs",
           "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT," + columns,
           "CREATE TABLE jobs (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," + columns}};
}

Result<int64_t> Enqueue(Transaction& tx, const JobRequest& request, int64_t now_ms) {
  GUICHET_ASSERT(!request.kind.empty());
  GUICHET_ASSERT(request.max_attempts >= 1 && request.max_attempts <= kAttemptsMax);
  if (static_cast<int64_t>(request.payload.size()) > kPayloadBytesMax) {
    return Error::Invalid("job_payload_too_large", "a job payload is limited to 64 KiB");
  }
  const int64_t run_at = request.run_at_ms > 0 ? request.run_at_ms : now_ms;
  const storage::Param dedupe = request.dedupe_key ? storage::Param(*request.dedupe_key) : nullptr;
  auto inserted = tx.QueryOne(
      "INSERT INTO jobs (kind, payload, state, attempts, max_attempts, run_at, dedupe_key,"
      " created_at, updated_at) VALUES ($1, $2, 'queued', 0, $3, $4, $5, $6, $6)"
      " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
      {request.kind, request.payload, request.max_attempts, run_at, dedupe, now_ms});
  if (!inserted.ok()) return std::move(inserted).error();
  if (inserted->has_value()) return (*inserted)->Int(0);
  GUICHET_ASSERT(request.dedupe_key.has_value());  // only a dedupe conflict inserts nothing
  auto existing = tx.QueryOne("SELECT id FROM jobs WHERE dedupe_key = $1", {*request.dedupe_key});
  if (!existing.ok()) return std::move(existing).error();
  GUICHET_ASSERT(existing->has_value());
  return (*existing)->Int(0);
}

Result<std::optional<JobRecord>> Find(Transaction& tx, int64_t id) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM jobs WHERE id = $1", kColumns), {id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(ToRecord(**row));
}

Result<std::map<JobState, int64_t>> CountByState(Transaction& tx) {
  auto rows = tx.Query("SELECT state, count(*) FROM jobs GROUP BY state", {});
  if (!rows.ok()) return std::move(rows).error();
  std::map<JobState, int64_t> counts = {{JobState::kQueued, 0}, {JobState::kRunning, 0},
                                        {JobState::kSucceeded, 0}, {JobState::kDead, 0}};
  for (const Row& row : rows->rows) counts[ParseState(row.Text(0))] = row.Int(1);
  return counts;
}

Result<std::map<std::pair<std::string, JobState>, int64_t>> CountByKindAndState(Transaction& tx) {
  auto rows = tx.Query("SELECT kind, state, count(*) FROM jobs GROUP BY kind, state", {});
  if (!rows.ok()) return std::move(rows).error();
  std::map<std::pair<std::string, JobState>, int64_t> counts;
  for (const Row& row : rows->rows) counts[{row.Text(0), ParseState(row.Text(1))}] = row.Int(2);
  return counts;
}

Runner::Runner(storage::Database& database, const Clock& clock, RunnerOptions options)
    : database_(database),
      clock_(clock),
      options_(options),
      worker_id_(fmt::format("pid-{}-{:x}", getpid(), std::random_device{}())) {
  GUICHET_ASSERT(options_.poll_ms > 0 && options_.backoff_base_ms > 0);
  GUICHET_ASSERT(options_.backoff_max_ms >= options_.backoff_base_ms || options_.backoff_max_ms > 0);
  Every("jobs.purge", 24 * 3600 * 1000);
  Register("jobs.purge", [this](const JobRecord&) -> Status {
    const int64_t before = clock_.NowMs() - options_.succeeded_retention_days * 24 * 3600 * 1000;
    return database_.Transact<Ok>(TransactionMode::kWrite, [before](Transaction& tx) -> Result<Ok> {
      auto purged = tx.Execute("DELETE FROM jobs WHERE state = 'succeeded' AND updated_at < $1", {before});
      if (!purged.ok()) return std::move(purged).error();
      return Ok{};
    });
  });
}

Runner::~Runner() { Stop(); }

void Runner::Register(std::string kind, JobHandler handler) {
  GUICHET_ASSERT(threads_.empty());
  GUICHET_ASSERT(handler != nullptr);
  handlers_[std::move(kind)] = std::move(handler);
}

void Runner::Every(std::string kind, int64_t interval_ms) {
  GUICHET_ASSERT(threads_.empty());
  GUICHET_ASSERT(interval_ms >= 1000);
  periodic_.push_back({std::move(kind), interval_ms, 0});
}

int64_t Runner::BackoffMs(int64_t attempts) const {
  GUICHET_ASSERT(attempts >= 1);
  const int64_t shift = std::min<int64_t>(attempts - 1, 30);
  const int64_t delay = std::min(options_.backoff_base_ms << shift, options_.backoff_max_ms);
  GUICHET_ASSERT(delay > 0);
  return delay;
}

Status Runner::SchedulePeriodic() {
  const int64_t now = clock_.NowMs();
  std::vector<std::pair<size_t, int64_t>> due;  // periodic_ index, slot
  for (size_t i = 0; i < periodic_.size(); ++i) {
    const int64_t slot = now / periodic_[i].interval_ms;
    if (slot > periodic_[i].last_slot) due.emplace_back(i, slot);
  }
  if (due.empty()) return OkStatus();  // nothing new this interval: no write at all
  GUICHET_TRY_STATUS(database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    for (const auto& [index, slot] : due) {
      // One job per interval slot: every process computes the same key, the first one wins.
      const Periodic& periodic = periodic_[index];
      JobRequest request{periodic.kind, "{}", slot * periodic.interval_ms, 3,
                         fmt::format("{}@{}", periodic.kind, slot)};
      auto id = Enqueue(tx, request, now);
      if (!id.ok()) return std::move(id).error();
    }
    return Ok{};
  }));
  for (const auto& [index, slot] : due) periodic_[index].last_slot = slot;
  return OkStatus();
}

Result<std::optional<JobRecord>> Runner::Claim() {
  const int64_t now = clock_.NowMs();
  const std::string sql = ClaimSql(database_.backend());
  return database_.Transact<std::optional<JobRecord>>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<std::optional<JobRecord>> {
        auto row = tx.QueryOne(sql, {worker_id_, now + options_.lease_s * 1000, now});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value()) return std::optional<JobRecord>();
        JobRecord job = ToRecord(**row);
        GUICHET_ASSERT(job.state == JobState::kRunning);
        return std::optional<JobRecord>(std::move(job));
      });
}

Status Runner::Complete(const JobRecord& job, const Status& outcome) {
  const int64_t now = clock_.NowMs();
  std::string state = "succeeded";
  std::optional<std::string> error;
  int64_t run_at = job.run_at_ms;
  if (!outcome.ok()) {
    error = outcome.error().message.substr(0, kErrorBytesMax);
    state = job.attempts >= job.max_attempts ? "dead" : "queued";
    run_at = now + BackoffMs(job.attempts);
  }
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    // Only the holder of the lease may finish the job: after a lease expiry another worker owns it.
    auto updated = tx.Execute(
        "UPDATE jobs SET state = $1, last_error = $2, run_at = $3, locked_by = NULL,"
        " locked_until = NULL, updated_at = $4 WHERE id = $5 AND locked_by = $6 AND attempts = $7",
        {state, error ? storage::Param(*error) : storage::Param(nullptr), run_at, now, job.id,
         worker_id_, job.attempts});
    if (!updated.ok()) return std::move(updated).error();
    GUICHET_ASSERT(*updated <= 1);
    if (*updated == 0) log::Warn("job lease lost before completion", {{"job", job.id}});
    return Ok{};
  });
}

Result<bool> Runner::RunOne() {
  auto claimed = Claim();
  if (!claimed.ok()) return std::move(claimed).error();
  if (!claimed->has_value()) return false;
  const JobRecord& job = **claimed;
  Status outcome = OkStatus();
  if (job.attempts > job.max_attempts) {
    outcome = Error::Internal("the worker running the last attempt stopped before finishing");
  } else if (auto handler = handlers_.find(job.kind); handler == handlers_.end()) {
    outcome = Error::Internal("no handler for job kind " + job.kind);
  } else {
    try {
      outcome = handler->second(job);
    } catch (const std::exception& e) {
      outcome = Error::Internal(std::string("exception: ") + e.what());
    }
  }
  log::Write(outcome.ok() ? log::Level::kInfo : log::Level::kWarn, "job attempt",
             {{"job", job.id}, {"kind", job.kind}, {"attempt", job.attempts},
              {"ok", outcome.ok()},
              {"error", outcome.ok() ? std::string_view() : std::string_view(outcome.error().message)}});
  GUICHET_TRY_STATUS(Complete(job, outcome));
  return true;
}

void Runner::Start() {
  GUICHET_ASSERT(threads_.empty());
  stopping_ = false;
  for (int64_t i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

void Runner::Stop() {
  {
    std::lock_guard lock(mutex_);  // so a worker about to wait cannot miss the wake-up
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

void Runner::WorkerLoop(int64_t index) {
  while (!stopping_) {
    if (index == 0) {
      Status scheduled = SchedulePeriodic();
      if (!scheduled.ok()) log::Warn("periodic jobs", {{"error", scheduled.error().message}});
    }
    bool ran = false;
    auto result = RunOne();
    if (!result.ok()) {
      log::Warn("job runner", {{"error", result.error().message}});
    } else {
      ran = *result;
    }
    if (ran) continue;  // more may be due: look again at once
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [this] { return stopping_.load(); });
  }
}

}  // namespace guichet::jobs
