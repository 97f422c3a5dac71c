#include "platform/ledger/group_commit.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "platform/base/log.h"
#include "platform/ledger/store.h"

namespace guichet::ledger {
namespace {

using storage::Transaction;
using storage::TransactionMode;

LedgerOptions Clamp(LedgerOptions options) {
  options.batch_transfers_max =
      std::clamp<int64_t>(options.batch_transfers_max, 1, kBatchTransfersMax);
  options.queue_transfers_max = std::max(options.queue_transfers_max, options.batch_transfers_max);
  return options;
}

Result<std::vector<TransferResults>> ApplyInTransaction(
    storage::Database& database, const std::vector<const std::vector<Transfer>*>& requests,
    int64_t now_ms) {
  // Transact runs the work again from the start after a busy or serialization failure, so
  // everything is read again: nothing decided in a rolled-back attempt survives it.
  return database.Transact<std::vector<TransferResults>>(
      TransactionMode::kWrite,
      [&](Transaction& tx) { return detail::ApplyRequests(tx, requests, now_ms); });
}

}  // namespace

Ledger::Ledger(storage::Database& database, const Clock& clock, LedgerOptions options)
    : database_(database), clock_(clock), options_(Clamp(options)) {
  GUICHET_ASSERT(options_.batch_transfers_max >= 1);
  GUICHET_ASSERT(options_.queue_transfers_max >= options_.batch_transfers_max);
  committer_ = std::thread([this] { Run(); });
}

Ledger::~Ledger() { Stop(); }

void Ledger::Submit(std::vector<Transfer> transfers, Done done) {
  GUICHET_ASSERT(done != nullptr);
  const auto count = static_cast<int64_t>(transfers.size());
  if (count > options_.batch_transfers_max) {
    done(Error::Invalid("ledger_request_too_large", fmt::format("at most {} transfers per request",
                                                                options_.batch_transfers_max)));
    return;
  }
  if (count == 0) {
    done(TransferResults());
    return;
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_) {
      lock.unlock();
      done(Error::Unavailable("ledger_stopped", "the ledger is stopping"));
      return;
    }
    if (queued_transfers_ + count > options_.queue_transfers_max) {
      ++stats_.refused_queue_full;
      lock.unlock();
      done(Error{ErrorKind::kTooManyRequests,
                 "ledger_queue_full",
                 "the ledger has too many transfers waiting; try again shortly",
                 {}});
      return;
    }
    queued_transfers_ += count;
    queue_.push_back({std::move(transfers), std::move(done)});
  }
  wake_.notify_one();
}

std::future<Result<TransferResults>> Ledger::Submit(std::vector<Transfer> transfers) {
  auto promise = std::make_shared<std::promise<Result<TransferResults>>>();
  std::future<Result<TransferResults>> future = promise->get_future();
  Submit(std::move(transfers),
         [promise](Result<TransferResults> results) { promise->set_value(std::move(results)); });
  return future;
}

Result<TransferResults> Ledger::CreateTransfers(std::vector<Transfer> transfers) {
  return Submit(std::move(transfers)).get();
}

void Ledger::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (committer_.joinable()) committer_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  GUICHET_ASSERT(queue_.empty() && queued_transfers_ == 0);  // drained before the thread ended
}

LedgerStats Ledger::Stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void Ledger::Run() {
  for (;;) {
    std::vector<Request> batch = TakeBatch();
    if (batch.empty()) return;  // stopping, and nothing left
    Commit(batch);
  }
}

// Waits for work, then takes whole requests from the front of the queue while they fit.
// No timer: while one batch commits, the next accumulates, so batches grow with the load and
// a lone request goes through at once.
std::vector<Ledger::Request> Ledger::TakeBatch() {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait(lock, [this] { return !queue_.empty() || stopping_; });
  std::vector<Request> batch;
  int64_t transfers = 0;
  while (!queue_.empty()) {
    const auto count = static_cast<int64_t>(queue_.front().transfers.size());
    GUICHET_ASSERT(count >= 1 && count <= options_.batch_transfers_max);
    if (transfers + count > options_.batch_transfers_max) break;
    transfers += count;
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queued_transfers_ -= transfers;
  GUICHET_ASSERT(queued_transfers_ >= 0);
  GUICHET_ASSERT(batch.empty() == (transfers == 0));
  if (!batch.empty()) {
    ++stats_.batches;
    stats_.requests += static_cast<int64_t>(batch.size());
    stats_.transfers += transfers;
    stats_.batch_transfers_peak = std::max(stats_.batch_transfers_peak, transfers);
  }
  return batch;
}

void Ledger::Commit(std::vector<Request>& batch) {
  GUICHET_ASSERT(!batch.empty());
  std::vector<const std::vector<Transfer>*> requests;
  requests.reserve(batch.size());
  for (const Request& request : batch) requests.push_back(&request.transfers);
  auto results = ApplyInTransaction(database_, requests, clock_.NowMs());
  if (!results.ok() && batch.size() > 1 && results.error().kind != ErrorKind::kUnavailable) {
    // Something in the batch made the database fail: find out which request, by applying each
    // on its own, rather than failing every caller of the batch.
    log::Warn("ledger batch failed; applying its requests one by one",
              {{"requests", static_cast<int64_t>(batch.size())},
               {"error", std::string_view(results.error().message)}});
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.fallbacks;
    }
    for (Request& request : batch) CommitAlone(request);
    return;
  }
  if (!results.ok()) {
    for (Request& request : batch) request.done(results.error());
    return;
  }
  GUICHET_ASSERT(results->size() == batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    GUICHET_ASSERT((*results)[i].size() == batch[i].transfers.size());
    batch[i].done(std::move((*results)[i]));
  }
}

void Ledger::CommitAlone(Request& request) {
  auto results = ApplyInTransaction(database_, {&request.transfers}, clock_.NowMs());
  if (!results.ok()) {
    request.done(std::move(results).error());
    return;
  }
  GUICHET_ASSERT(results->size() == 1);
  GUICHET_ASSERT(results->front().size() == request.transfers.size());
  request.done(std::move(results->front()));
}

}  // namespace guichet::ledger
