// Ledger throughput and latency, with and without group commit, on SQLite and PostgreSQL.
//
// Each line is measured in the same run as its baseline: the direct path, one transfer per
// database transaction (one durable commit per payment), with the same clients and the same
// account pattern. Compare the ratio column across commits, not the raw figures.
//
//   ledger_bench                       SQLite in a temporary directory; PostgreSQL when
//                                      GUICHET_TEST_PG names a server (a schema of its own)
//   BENCH_SECONDS=5 BENCH_CLIENTS=64   per run; client threads
//
// Payments go from one of 10 000 never-negative holders to one of 50 merchants ("spread"), or
// all to one merchant ("hot": a cafeteria at noon). Latency is per request, submit to answer.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "platform/base/clock.h"
#include "platform/base/log.h"
#include "platform/ledger/group_commit.h"
#include "platform/ledger/ledger.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::bench {
namespace {

using ledger::Transfer;
using ledger::TransferResults;
using storage::Transaction;
using storage::TransactionMode;

constexpr int64_t kHolders = 10'000;
constexpr int64_t kMerchants = 50;
constexpr int64_t kHolderFunds = 1'000'000'000;
constexpr int64_t kPoolConnections = 16;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoll(value) : fallback;
}

void Check(const Status& status, std::string_view what) {
  if (status.ok()) return;
  std::fprintf(stderr, "ledger_bench: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               status.error().message.c_str());
  std::exit(1);
}

struct Setup {
  int64_t bank = 0;
  std::vector<int64_t> holders;
  std::vector<int64_t> merchants;
};

Result<int64_t> NewAccount(storage::Database& db, const std::string& code, int64_t flags) {
  auto account = db.Transact<ledger::Account>(TransactionMode::kWrite, [&](Transaction& tx) {
    return ledger::CreateAccount(tx, {"EUR", 1, code, flags}, SystemClock().NowMs());
  });
  if (!account.ok()) return std::move(account).error();
  return account->id;
}

Setup Prepare(storage::Database& db) {
  const ManualClock clock(SystemClock().NowMs());
  Check(storage::Migrate(db, ledger::Migrations(), clock).ok() ? OkStatus()
                                                               : Error::Internal("migrate"),
        "migrations");
  Setup setup;
  setup.bank = *NewAccount(db, "float", 0);
  std::vector<Transfer> funding;
  for (int64_t i = 0; i < kHolders; ++i) {
    setup.holders.push_back(
        *NewAccount(db, "holder", ledger::account_flags::kDebitsMustNotExceedCredits));
    funding.push_back(
        {fmt::format("fund-{}", i), setup.bank, setup.holders.back(), kHolderFunds, "EUR"});
  }
  for (int64_t i = 0; i < kMerchants; ++i)
    setup.merchants.push_back(*NewAccount(db, "merchant", 0));
  for (size_t first = 0; first < funding.size(); first += ledger::kBatchTransfersMax) {
    const size_t last = std::min(funding.size(), first + ledger::kBatchTransfersMax);
    std::vector<Transfer> chunk(funding.begin() + static_cast<std::ptrdiff_t>(first),
                                funding.begin() + static_cast<std::ptrdiff_t>(last));
    auto results = db.Transact<TransferResults>(TransactionMode::kWrite, [&](Transaction& tx) {
      return ledger::CreateTransfers(tx, chunk, clock.NowMs());
    });
    Check(results.ok() ? OkStatus() : results.error(), "funding");
  }
  return setup;
}

struct RunResult {
  int64_t transfers = 0;
  int64_t refused = 0;  // results other than ok (none expected)
  double seconds = 0;
  std::vector<double> latencies_ms;
  ledger::LedgerStats stats;
};

using SubmitFn = std::function<Result<TransferResults>(const std::vector<Transfer>&)>;

// `clients` threads submit one payment per request for `seconds`.
RunResult Drive(const Setup& setup, bool hot, int64_t clients, int64_t seconds,
                const std::string& prefix, const SubmitFn& submit) {
  std::atomic<bool> stop{false};
  std::vector<RunResult> per_client(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  const auto started = std::chrono::steady_clock::now();
  for (int64_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937_64 random(static_cast<uint64_t>(c) * 7919 + 1);
      RunResult& mine = per_client[static_cast<size_t>(c)];
      for (int64_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
        Transfer payment{
            fmt::format("{}-{}-{}", prefix, c, n), setup.holders[random() % setup.holders.size()],
            hot ? setup.merchants[0] : setup.merchants[random() % setup.merchants.size()],
            1 + static_cast<int64_t>(random() % 500), "EUR"};
        const auto before = std::chrono::steady_clock::now();
        auto results = submit({payment});
        const auto after = std::chrono::steady_clock::now();
        Check(results.ok() ? OkStatus() : results.error(), "submit");
        mine.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(after - before).count());
        ++mine.transfers;
        if (results->at(0) != ledger::CreateTransferResult::kOk) ++mine.refused;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (std::thread& thread : threads) thread.join();
  RunResult total;
  total.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (RunResult& client : per_client) {
    total.transfers += client.transfers;
    total.refused += client.refused;
    total.latencies_ms.insert(total.latencies_ms.end(), client.latencies_ms.begin(),
                              client.latencies_ms.end());
  }
  std::sort(total.latencies_ms.begin(), total.latencies_ms.end());
  return total;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

void Print(const std::string& label, const RunResult& run, double baseline_per_s) {
  const double per_s = static_cast<double>(run.transfers) / run.seconds;
  const double batch = run.stats.batches > 0 ? static_cast<double>(run.stats.transfers) /
                                                   static_cast<double>(run.stats.batches)
                                             : 1.0;
  std::printf("%-34s %11.0f %9.2f %9.2f %9.2f %9.2f %9.1f %7.2f%s\n", label.c_str(), per_s,
              Percentile(run.latencies_ms, 0.50), Percentile(run.latencies_ms, 0.90),
              Percentile(run.latencies_ms, 0.99),
              run.latencies_ms.empty() ? 0 : run.latencies_ms.back(), batch,
              baseline_per_s > 0 ? per_s / baseline_per_s : 1.0,
              run.refused > 0 ? fmt::format("  ({} refused)", run.refused).c_str() : "");
}

void RunBackend(const std::string& name, storage::Database& db, int64_t clients, int64_t seconds) {
  const Setup setup = Prepare(db);
  SystemClock clock;
  std::printf("\n%s · %lld clients · %llds per run · %lld holders, %lld merchants\n", name.c_str(),
              static_cast<long long>(clients), static_cast<long long>(seconds),
              static_cast<long long>(kHolders), static_cast<long long>(kMerchants));
  std::printf("%-34s %11s %9s %9s %9s %9s %9s %7s\n", "run", "transfers/s", "p50 ms", "p90 ms",
              "p99 ms", "max ms", "batch", "ratio");
  const SubmitFn direct = [&](const std::vector<Transfer>& transfers) {
    return db.Transact<TransferResults>(TransactionMode::kWrite, [&](Transaction& tx) {
      return ledger::CreateTransfers(tx, transfers, clock.NowMs());
    });
  };
  // Discarded: lets the engine absorb the setup's bulk load (SQLite's WAL checkpoint,
  // PostgreSQL's first autovacuum) before anything is measured.
  (void)Drive(setup, false, clients, 1, "warm", direct);
  for (const bool hot : {false, true}) {
    const std::string pattern = hot ? "hot" : "spread";
    const RunResult baseline = Drive(setup, hot, clients, seconds, "d" + pattern, direct);
    const double baseline_per_s = static_cast<double>(baseline.transfers) / baseline.seconds;
    Print("direct, 1 per tx, " + pattern + " (baseline)", baseline, baseline_per_s);
    ledger::Ledger grouped(db, clock, {});
    RunResult run =
        Drive(setup, hot, clients, seconds, "g" + pattern,
              [&](const std::vector<Transfer>& t) { return grouped.CreateTransfers(t); });
    grouped.Stop();
    run.stats = grouped.Stats();
    Print("group commit, " + pattern, run, baseline_per_s);
  }
  Check(ledger::CheckInvariants(db), "invariants after the runs");
}

std::string PostgresSetting(storage::Database& db, const std::string& name) {
  auto row =
      db.Transact<std::string>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::string> {
        auto value = tx.QueryOne("SHOW " + name);
        if (!value.ok()) return std::move(value).error();
        return (*value)->Text(0);
      });
  return row.ok() ? *row : "?";
}

void RunPostgres(const std::string& base, int64_t clients, int64_t seconds) {
  const std::string schema = fmt::format("ledger_bench_{}", getpid());
  auto admin = storage::OpenDatabase(base, {1, 5000, 5000, 0});
  Check(admin.ok() ? OkStatus() : admin.error(), "connecting to GUICHET_TEST_PG");
  auto script = [&](const std::string& sql) {
    return (*admin)->Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
      GUICHET_TRY_STATUS(tx.ExecuteScript(sql));
      return Ok{};
    });
  };
  Check(script("CREATE SCHEMA " + schema), "creating the bench schema");
  const char separator = base.find('?') == std::string::npos ? '?' : '&';
  const std::string url = fmt::format("{}{}options=-csearch_path%3D{}", base, separator, schema);
  {
    auto db = storage::OpenDatabase(url, {kPoolConnections, 30000, 5000, 20});
    Check(db.ok() ? OkStatus() : db.error(), "opening the bench schema");
    const std::string name =
        fmt::format("PostgreSQL (fsync={}, synchronous_commit={})", PostgresSetting(**db, "fsync"),
                    PostgresSetting(**db, "synchronous_commit"));
    RunBackend(name, **db, clients, seconds);
  }
  Check(script("DROP SCHEMA " + schema + " CASCADE"), "dropping the bench schema");
}

}  // namespace
}  // namespace guichet::bench

int main() {
  using namespace guichet;
  log::Init("error", "text");
  const int64_t seconds = std::max<int64_t>(1, bench::EnvInt("BENCH_SECONDS", 5));
  const int64_t clients = std::max<int64_t>(1, bench::EnvInt("BENCH_CLIENTS", 64));
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("ledger-bench-{}", getpid());
  std::filesystem::create_directories(dir);
  {
    auto db = storage::OpenDatabase("sqlite:" + (dir / "bench.db").string(),
                                    {bench::kPoolConnections, 30000, 30000, 20});
    bench::Check(db.ok() ? OkStatus() : db.error(), "opening SQLite");
    bench::RunBackend("SQLite (WAL, synchronous=FULL)", **db, clients, seconds);
  }
  std::filesystem::remove_all(dir);
  const char* postgres = std::getenv("GUICHET_TEST_PG");
  if (postgres == nullptr || *postgres == '\0') {
    std::printf("\nPostgreSQL skipped: set GUICHET_TEST_PG\n");
    return 0;
  }
  bench::RunPostgres(postgres, clients, seconds);
  return 0;
}
