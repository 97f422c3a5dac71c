// Group commit for the ledger (LevelDB's DBImpl::Write, TigerBeetle's batches): callers on any
// thread submit requests; one committer thread takes everything queued, up to
// batch_transfers_max transfers, applies it in ONE database transaction with one durable
// commit, and only then answers each caller. The fsync (SQLite) or WAL flush (PostgreSQL) is
// paid once per batch, and a hot account (a merchant's) is locked and updated once per batch
// instead of once per payment.
//
// Requests stay independent inside a batch: each is evaluated in order against the state the
// ones before it left, with its own per-transfer results, and a refused transfer of one request
// never fails another's. Only a database failure fails a batch; then each request is tried
// again alone, so one request the database refuses cannot take the others down with it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "platform/base/clock.h"
#include "platform/ledger/ledger.h"

namespace guichet::ledger {

struct LedgerOptions {
  // Transfers applied in one database transaction; clamped to [1, kBatchTransfersMax]. It is
  // also the largest request accepted.
  int64_t batch_transfers_max = kBatchTransfersMax;
  // Transfers waiting for the committer; beyond it Submit refuses at once (ledger_queue_full,
  // 429) rather than letting latency grow without bound. Clamped to at least one batch.
  int64_t queue_transfers_max = 8 * kBatchTransfersMax;
};

struct LedgerStats {
  int64_t batches = 0;    // database transactions committed (or failed)
  int64_t requests = 0;   // requests answered through a batch
  int64_t transfers = 0;  // transfers in those requests
  int64_t batch_transfers_peak = 0;
  int64_t fallbacks = 0;  // failed batches retried request by request
  int64_t refused_queue_full = 0;
};

class Ledger {
 public:
  // Runs on the committer thread once the request is durable or failed: keep it short (fulfil
  // a promise, post to an executor).
  using Done = std::function<void(Result<TransferResults>)>;

  // Starts the committer thread.
  Ledger(storage::Database& database, const Clock& clock, LedgerOptions options);
  // Stops (see Stop).
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Queues one request (its linked chains stay within it). Refusals are answered at once on the
  // calling thread: ledger_request_too_large (400), ledger_queue_full (429), ledger_stopped (503).
  void Submit(std::vector<Transfer> transfers, Done done);
  std::future<Result<TransferResults>> Submit(std::vector<Transfer> transfers);
  // Submits and waits: for callers already off the event loop (database pool threads, jobs).
  Result<TransferResults> CreateTransfers(std::vector<Transfer> transfers);

  // Refuses new requests, commits everything already queued, joins the committer. Idempotent.
  void Stop();
  LedgerStats Stats() const;

 private:
  struct Request {
    std::vector<Transfer> transfers;
    Done done;
  };

  void Run();
  std::vector<Request> TakeBatch();
  void Commit(std::vector<Request>& batch);
  void CommitAlone(Request& request);

  storage::Database& database_;
  const Clock& clock_;
  const LedgerOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Request> queue_;     // guarded by mutex_
  int64_t queued_transfers_ = 0;  // guarded by mutex_
  bool stopping_ = false;         // guarded by mutex_
  LedgerStats stats_;             // guarded by mutex_
  std::thread committer_;
};

}  // namespace guichet::ledger
