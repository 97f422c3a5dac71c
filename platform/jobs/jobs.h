// Persisted background jobs: written in the caller's transaction (so a job exists exactly when
// the change that needs it committed), claimed with a lease by worker threads of any process
// sharing the database, retried with exponential backoff up to a bounded number of attempts,
// and taken up again after a crash once the lease has expired.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::jobs {

inline constexpr int64_t kAttemptsMax = 100;
inline constexpr int64_t kPayloadBytesMax = 64 * 1024;
inline constexpr int64_t kErrorBytesMax = 2000;

enum class JobState { kQueued, kRunning, kSucceeded, kDead };
std::string_view JobStateName(JobState state);

struct JobRequest {
  std::string kind;                       // "messages.deliver", "diagnostics.ping"…
  std::string payload = "{}";             // JSON text
  int64_t run_at_ms = 0;                  // 0: as soon as possible
  int64_t max_attempts = 5;
  std::optional<std::string> dedupe_key;  // a second job with the same key is not created
};

struct JobRecord {
  int64_t id = 0;
  std::string kind;
  std::string payload;
  JobState state = JobState::kQueued;
  int64_t attempts = 0;  // attempts started so far, this one included while running
  int64_t max_attempts = 0;
  std::optional<std::string> last_error;
  int64_t run_at_ms = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

std::vector<storage::Migration> Migrations();

// Returns the id of the new job, or of the existing one with the same dedupe key.
Result<int64_t> Enqueue(storage::Transaction& tx, const JobRequest& request, int64_t now_ms);
Result<std::optional<JobRecord>> Find(storage::Transaction& tx, int64_t id);
Result<std::map<JobState, int64_t>> CountByState(storage::Transaction& tx);
// Per kind, only the (kind, state) pairs that have jobs: what /metrics exposes.
Result<std::map<std::pair<std::string, JobState>, int64_t>> CountByKindAndState(
    storage::Transaction& tx);

// A handler's failure is an attempt that failed: the job is retried later or given up.
using JobHandler = std::function<Status(const JobRecord& job)>;

struct RunnerOptions {
  int64_t workers = 2;
  int64_t poll_ms = 500;
  int64_t backoff_base_ms = 1000;
  int64_t backoff_max_ms = 3600 * 1000;
  int64_t lease_s = 300;
  int64_t succeeded_retention_days = 30;  // finished jobs are purged after this
};

class Runner {
 public:
  Runner(storage::Database& database, const Clock& clock, RunnerOptions options);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Registration happens before Start.
  void Register(std::string kind, JobHandler handler);
  // A job of `kind` is enqueued once per interval, whatever the number of processes.
  void Every(std::string kind, int64_t interval_ms);

  void Start();
  // Stops claiming, waits for the jobs being run, joins the workers.
  void Stop();

  // Claims and runs at most one due job on the calling thread; returns whether it ran one.
  // Tests drive jobs with this instead of waiting for the workers.
  Result<bool> RunOne();
  // Enqueues the periodic jobs whose interval has come.
  Status SchedulePeriodic();

  // Delay before attempt `attempts + 1`, given `attempts` have failed.
  int64_t BackoffMs(int64_t attempts) const;

 private:
  Result<std::optional<JobRecord>> Claim();
  Status Complete(const JobRecord& job, const Status& outcome);
  void WorkerLoop(int64_t index);

  storage::Database& database_;
  const Clock& clock_;
  const RunnerOptions options_;
  const std::string worker_id_;
  std::map<std::string, JobHandler, std::less<>> handlers_;
  struct Periodic {
    std::string kind;
    int64_t interval_ms = 0;
    int64_t last_slot = 0;  // last interval this process scheduled (only worker 0 writes it)
  };
  std::vector<Periodic> periodic_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};
};

}  // namespace guichet::jobs
