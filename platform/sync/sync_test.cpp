// Offline sync on both databases, driven by a small test module of its own: a feed backed by a
// test table, a synthetic 100 000-item feed, and event kinds that note, debit (waiting for
// funds), crash, or need a right devices lack.
#include "platform/sync/sync.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "platform/base/crypto.h"
#include "platform/identity/identity.h"
#include "platform/identity/identity_http.h"
#include "platform/identity/machines.h"
#include "tests/support/identity_world.h"
#include "tests/support/test_databases.h"

namespace guichet::sync {
namespace {

using boost::json::object;
using identity::Caller;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;
using testing::TestDatabase;

constexpr int64_t kStart = 1'800'000'000'000;

identity::RightsCatalog TestCatalog() {
  identity::RightsCatalog catalog;
  identity::DeclarePermissions(catalog);
  identity::DeclareMachinePermissions(catalog);
  sync::DeclarePermissions(catalog);
  catalog.AddPermission({"test.sync.secret", "An event kind no device holds"});
  catalog.AddProfile({"admin",
                      "test",
                      "Admin",
                      "Admin",
                      std::nullopt,
                      {"identity.orgs.read", "identity.devices.manage", std::string(kStaffReadRight),
                       std::string(kStaffManageRight)},
                      false,
                      {"syndicate", "city"}});
  return catalog;
}

// The test module's tables: items behind the "test.items" feed, accounts debited by events, and
// one row per application of an event (unique: applying one twice fails the test).
std::vector<storage::Migration> TestModuleMigrations() {
  const std::string sql =
      "CREATE TABLE test_sync_items (item_key TEXT PRIMARY KEY, scope TEXT NOT NULL, value TEXT "
      "NOT NULL);"
      "CREATE TABLE test_sync_accounts (name TEXT PRIMARY KEY, balance BIGINT NOT NULL);"
      "CREATE TABLE test_sync_applied (device_id BIGINT NOT NULL, seq BIGINT NOT NULL,"
      " PRIMARY KEY (device_id, seq));";
  return {{"test.sync", 1, "test module", sql, sql}};
}

struct TestDevice {
  int64_t id = 0;
  std::string public_key;
  std::string secret_key;
  Caller caller;

  static TestDevice Generate() {
    TestDevice device;
    device.public_key.resize(crypto_sign_PUBLICKEYBYTES);
    device.secret_key.resize(crypto_sign_SECRETKEYBYTES);
    crypto_sign_keypair(reinterpret_cast<unsigned char*>(device.public_key.data()),
                        reinterpret_cast<unsigned char*>(device.secret_key.data()));
    return device;
  }

  std::string Sign(std::string_view message) const {
    std::string signature(crypto_sign_BYTES, '\0');
    crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                         reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                         reinterpret_cast<const unsigned char*>(secret_key.data()));
    return crypto::ToBase64Url(signature);
  }
};

class SyncTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    clock_.Set(kStart);
    auto migrated = testing::MigrateIdentityStack(
        db(), clock_, {identity::MachineMigrations(), Migrations(), TestModuleMigrations()});
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    identity::IdentityOptions options;
    options.password_hash = {1, 8 * 1024};
    identity_ = std::make_unique<identity::Identity>(db(), clock_, authorizer_, options);
    machines_ = std::make_unique<identity::Machines>(db(), clock_, authorizer_);
    orgs_ = testing::MakeSyndicateWithTwoCities(db(), clock_);
    ASSERT_EQ(orgs_.size(), 3u);
    testing::BootstrapStaff(*identity_, "admin@test.fr", orgs_[0].id, {"admin"});
    testing::BootstrapStaff(*identity_, "admin.b@test.fr", orgs_[2].id, {"admin"});
    admin_ = testing::LogIn(*identity_, "admin@test.fr");
    admin_b_ = testing::LogIn(*identity_, "admin.b@test.fr");
    AddTestModule();
    sync_ = std::make_unique<Sync>(db(), clock_, authorizer_, feeds_, handlers_, options_);
  }

  storage::Database& db() { return test_->db(); }

  void AddTestModule() {
    feeds_.Add("test.items", {"devices.self",
                              [](Transaction& tx, const SnapshotRequest& request) {
                                return ItemsSnapshot(tx, request);
                              },
                              nullptr});
    feeds_.Add("test.big",
               {"devices.self",
                [](Transaction&, const SnapshotRequest& request) { return BigSnapshot(request); },
                nullptr});
    handlers_.Add("test.note", {"devices.self",
                                [this](Transaction& tx, const Caller&, const Event& event,
                                       int64_t) -> Result<Outcome> {
                                  GUICHET_TRY_STATUS(MarkApplied(tx, event));
                                  const std::lock_guard lock(order_mutex_);
                                  applied_order_.push_back(event.seq);
                                  return Outcome::Applied(object{{"seq", event.seq}});
                                }});
    handlers_.Add("test.debit",
                  {"devices.self", [this](Transaction& tx, const Caller&, const Event& event,
                                          int64_t) { return Debit(tx, event); }});
    handlers_.Add("test.crash", {"devices.self",
                                 [this](Transaction& tx, const Caller&, const Event& event,
                                        int64_t) -> Result<Outcome> {
                                   if (crashes_left_ > 0) {
                                     --crashes_left_;
                                     throw std::runtime_error("the process stops here");
                                   }
                                   GUICHET_TRY_STATUS(MarkApplied(tx, event));
                                   return Outcome::Applied();
                                 }});
    handlers_.Add("test.secret", {"test.sync.secret",
                                  [](Transaction&, const Caller&, const Event&,
                                     int64_t) -> Result<Outcome> { return Outcome::Applied(); }});
  }

  static Result<SnapshotPage> ItemsSnapshot(Transaction& tx, const SnapshotRequest& request) {
    std::string in;
    storage::Params params{request.after_key};
    for (const std::string& scope : request.scopes) {
      in += (in.empty() ? "$" : ", $") + std::to_string(params.size() + 1);
      params.emplace_back(scope);
    }
    auto rows =
        tx.Query("SELECT item_key, value FROM test_sync_items WHERE item_key > $1 AND scope IN (" +
                     in + ") ORDER BY item_key LIMIT " + std::to_string(request.limit + 1),
                 params);
    if (!rows.ok()) return std::move(rows).error();
    SnapshotPage page;
    for (const Row& row : rows->rows) {
      if (static_cast<int64_t>(page.items.size()) == request.limit) {
        page.more = true;
        break;
      }
      page.items.push_back({row.Text(0), boost::json::parse(row.Text(1))});
    }
    return page;
  }

  static constexpr int64_t kBigItems = 100000;

  // 100 000 items made up on the fly: proves paging never holds the whole snapshot.
  static Result<SnapshotPage> BigSnapshot(const SnapshotRequest& request) {
    int64_t next = 1;
    if (!request.after_key.empty()) next = std::stoll(request.after_key.substr(1)) + 1;
    SnapshotPage page;
    for (; next <= kBigItems && static_cast<int64_t>(page.items.size()) < request.limit; ++next) {
      std::string key = std::to_string(next);
      key.insert(0, 7 - std::min<size_t>(7, key.size()), '0');
      page.items.push_back({"b" + key, object{{"n", next}}});
    }
    page.more = next <= kBigItems;
    return page;
  }

  Status MarkApplied(Transaction& tx, const Event& event) {
    return tx.Execute("INSERT INTO test_sync_applied (device_id, seq) VALUES ($1, $2)",
                      {event.device_id, event.seq})
                   .ok()
               ? OkStatus()
               : Status(Error::Internal("applied twice"));
  }

  Result<Outcome> Debit(Transaction& tx, const Event& event) {
    const std::string account(event.payload.as_object().at("a").as_string());
    const int64_t amount = event.payload.as_object().at("n").as_int64();
    auto debited = tx.Execute(
        "UPDATE test_sync_accounts SET balance = balance - $2 WHERE name = $1"
        " AND balance >= $2",
        {account, amount});
    if (!debited.ok()) return std::move(debited).error();
    if (*debited == 0) return Outcome::Waiting("insufficient_funds", "test.account:" + account);
    GUICHET_TRY_STATUS(MarkApplied(tx, event));
    return Outcome::Applied(object{{"debited", amount}});
  }

  // A module's use case: writes its table and the change in one transaction.
  void PutItem(const std::string& key, const std::string& scope, std::optional<int64_t> value) {
    auto done = db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
      if (value) {
        const std::string text = boost::json::serialize(object{{"v", *value}});
        GUICHET_TRY_STATUS(
            tx.Execute("INSERT INTO test_sync_items (item_key, scope, value) VALUES ($1, $2, $3)"
                       " ON CONFLICT (item_key) DO UPDATE SET value = $3, scope = $2",
                       {key, scope, text}));
      } else {
        GUICHET_TRY_STATUS(tx.Execute("DELETE FROM test_sync_items WHERE item_key = $1", {key}));
      }
      return RecordChange(
          tx,
          {"test.items", scope, key, value ? ChangeOp::kUpsert : ChangeOp::kDelete,
           value ? boost::json::value(object{{"v", *value}}) : boost::json::value()},
          clock_.NowMs());
    });
    ASSERT_TRUE(done.ok()) << done.error().message;
  }

  void Credit(const std::string& account, int64_t amount) {
    auto done = db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
      return tx.Execute(
                   "INSERT INTO test_sync_accounts (name, balance) VALUES ($1, $2) ON CONFLICT "
                   "(name)"
                   " DO UPDATE SET balance = test_sync_accounts.balance + $2",
                   {account, amount})
                     .ok()
                 ? OkStatus()
                 : Status(Error::Internal("credit"));
    });
    ASSERT_TRUE(done.ok());
  }

  TestDevice PairDevice(int64_t org) {
    auto pairing = machines_->CreatePairing(admin_, {org, "pos", "Caisse"});
    EXPECT_TRUE(pairing.ok()) << pairing.error().message;
    TestDevice device = TestDevice::Generate();
    auto paired = machines_->Pair(pairing->code, crypto::ToBase64Url(device.public_key), "pair");
    EXPECT_TRUE(paired.ok()) << paired.error().message;
    device.id = paired->id;
    device.caller.kind = Caller::Kind::kDevice;
    device.caller.id = device.id;
    identity::Grant grant;
    grant.organisation_id = org;
    for (const auto& candidate : orgs_) {
      if (candidate.id == org) grant.organisation_path = candidate.path;
    }
    grant.permissions = catalog_.DevicePermissions("pos");
    device.caller.grants.push_back(grant);
    return device;
  }

  static BatchEvent Note(int64_t seq) {
    return {seq, "test.note", kStart + seq, object{{"i", seq}}};
  }
  static BatchEvent DebitEvent(int64_t seq, std::string account, int64_t amount) {
    return {seq, "test.debit", kStart + seq, object{{"a", account}, {"n", amount}}};
  }

  Batch Signed(const TestDevice& device, std::string batch_id, std::vector<BatchEvent> events) {
    Batch batch;
    batch.device_id = device.id;
    batch.batch_id = std::move(batch_id);
    batch.events = std::move(events);
    batch.signature = device.Sign(*BatchSigningString(batch));
    return batch;
  }

  BatchAnswer Upload(const TestDevice& device, const Batch& batch) {
    auto answer = sync_->Upload(device.caller, batch);
    EXPECT_TRUE(answer.ok()) << answer.error().code << ": " << answer.error().message;
    return answer.ok() ? *answer : BatchAnswer{};
  }

  std::string UploadError(const TestDevice& device, const Batch& batch) {
    auto answer = sync_->Upload(device.caller, batch);
    return answer.ok() ? "ok" : answer.error().code;
  }

  static std::vector<std::string> States(const BatchAnswer& answer) {
    std::vector<std::string> states;
    for (const EventOutcome& outcome : answer.outcomes)
      states.emplace_back(EventStateName(outcome.state));
    return states;
  }

  int64_t AppliedCount() {
    auto count =
        db().Transact<int64_t>(TransactionMode::kRead, [](Transaction& tx) -> Result<int64_t> {
          auto row = tx.QueryOne("SELECT COUNT(*) FROM test_sync_applied");
          if (!row.ok()) return std::move(row).error();
          return (**row).Int(0);
        });
    return count.ok() ? *count : -1;
  }

  // Reads a whole feed from `cursor` the way a device does; returns the final cursor.
  std::string ReadAll(const TestDevice& device, const std::string& feed, std::string cursor,
                      int64_t limit, std::map<std::string, int64_t>& state,
                      int64_t* pages = nullptr) {
    for (int guard = 0; guard < 100000; ++guard) {
      auto page = sync_->ReadFeed(device.caller, feed, cursor, limit);
      EXPECT_TRUE(page.ok()) << page.error().message;
      if (!page.ok()) return cursor;
      EXPECT_LE(static_cast<int64_t>(page->items.size()), limit);
      if (pages) ++*pages;
      if (page->reset) state.clear();
      for (const FeedItem& item : page->items) {
        if (item.value.is_null()) {
          state.erase(item.key);
        } else {
          state[item.key] =
              item.value.as_object().contains("v") ? item.value.at("v").as_int64() : 0;
        }
      }
      cursor = page->cursor;
      if (page->complete) return cursor;
    }
    ADD_FAILURE() << "the feed never completed";
    return cursor;
  }

  std::unique_ptr<TestDatabase> test_;
  ManualClock clock_{kStart};
  identity::RightsCatalog catalog_ = TestCatalog();
  identity::Authorizer authorizer_{catalog_};
  std::unique_ptr<identity::Identity> identity_;
  std::unique_ptr<identity::Machines> machines_;
  std::vector<orgs::Organisation> orgs_;
  Caller admin_;
  Caller admin_b_;
  Feeds feeds_;
  Handlers handlers_;
  SyncOptions options_;
  std::unique_ptr<Sync> sync_;
  std::mutex order_mutex_;  // handlers may run on several threads (the concurrency test)
  std::vector<int64_t> applied_order_;
  std::atomic<int> crashes_left_{0};
};

TEST_P(SyncTest, W16_feed_snapshot_pages_then_changes_within_the_devices_scope) {
  const TestDevice device = PairDevice(orgs_[1].id);  // city A
  PutItem("a1", orgs_[0].path, 1);                    // the whole syndicate
  PutItem("a2", orgs_[1].path, 2);                    // city A
  PutItem("a3", orgs_[2].path, 3);                    // city B: never for this device
  PutItem("a4", orgs_[1].path, 4);
  PutItem("a5", orgs_[0].path, 5);
  std::map<std::string, int64_t> state;
  int64_t pages = 0;
  std::string cursor = ReadAll(device, "test.items", "", 2, state, &pages);
  EXPECT_EQ(state, (std::map<std::string, int64_t>{{"a1", 1}, {"a2", 2}, {"a4", 4}, {"a5", 5}}));
  EXPECT_EQ(pages, 3);  // 2 + 2 snapshot items, then no change since the snapshot began
  EXPECT_EQ(cursor, "d5");
  // Changes since: an update, a delete, an item of another city, a new one.
  PutItem("a2", orgs_[1].path, 20);
  PutItem("a4", orgs_[1].path, std::nullopt);
  PutItem("a3", orgs_[2].path, 30);
  PutItem("a6", orgs_[0].path, 6);
  auto delta = sync_->ReadFeed(device.caller, "test.items", cursor, 2);
  ASSERT_TRUE(delta.ok());
  EXPECT_FALSE(delta->snapshot);
  ASSERT_EQ(delta->items.size(), 2u);  // paged: a2 then a4, in the order they happened
  EXPECT_EQ(delta->items[0].key, "a2");
  EXPECT_EQ(delta->items[1].key, "a4");
  EXPECT_TRUE(delta->items[1].value.is_null());
  EXPECT_FALSE(delta->complete);
  cursor = ReadAll(device, "test.items", cursor, 2, state);
  EXPECT_EQ(state, (std::map<std::string, int64_t>{{"a1", 1}, {"a2", 20}, {"a5", 5}, {"a6", 6}}));
  // Nothing new: an empty, complete page with the same cursor.
  auto idle = sync_->ReadFeed(device.caller, "test.items", cursor, 2);
  ASSERT_TRUE(idle.ok());
  EXPECT_TRUE(idle->items.empty());
  EXPECT_TRUE(idle->complete);
  EXPECT_EQ(idle->cursor, cursor);
  // A device of city B sees its own item.
  const TestDevice other = PairDevice(orgs_[2].id);
  std::map<std::string, int64_t> other_state;
  ReadAll(other, "test.items", "", 10, other_state);
  EXPECT_EQ(other_state.count("a3"), 1u);
  EXPECT_EQ(other_state.count("a2"), 0u);
}

TEST_P(SyncTest, W16_feed_refusals_and_a_cursor_older_than_the_retention_gets_a_snapshot) {
  const TestDevice device = PairDevice(orgs_[1].id);
  EXPECT_EQ(sync_->ReadFeed(device.caller, "test.nothing", "", 10).error().code, "feed_unknown");
  EXPECT_EQ(sync_->ReadFeed(device.caller, "test.items", "zz", 10).error().code, "cursor_invalid");
  EXPECT_EQ(sync_->ReadFeed(device.caller, "test.items", "d99", 10).error().code, "cursor_invalid");
  EXPECT_EQ(sync_->ReadFeed(admin_, "test.items", "", 10).error().code, "forbidden");
  PutItem("k1", orgs_[0].path, 1);
  std::map<std::string, int64_t> state;
  const std::string cursor = ReadAll(device, "test.items", "", 10, state);
  PutItem("k2", orgs_[0].path, 2);
  clock_.Advance(options_.change_retention_s * 1000 + 1);
  PutItem("k3", orgs_[0].path, 3);  // recent: survives the compaction
  auto compacted = sync_->Compact();
  ASSERT_TRUE(compacted.ok());
  EXPECT_EQ(*compacted, 2);
  auto page = sync_->ReadFeed(device.caller, "test.items", cursor, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->snapshot);
  EXPECT_TRUE(page->reset);
  EXPECT_EQ(page->items.size(), 3u);
}

TEST_P(SyncTest, W16_a_100000_item_snapshot_streams_in_bounded_pages) {
  const TestDevice device = PairDevice(orgs_[1].id);
  std::map<std::string, int64_t> state;
  int64_t pages = 0;
  ReadAll(device, "test.big", "", kFeedPageItemsMax, state, &pages);
  EXPECT_EQ(static_cast<int64_t>(state.size()), kBigItems);
  EXPECT_EQ(pages, kBigItems / kFeedPageItemsMax + 1);  // the last, empty page: the changes since
}

TEST_P(SyncTest, W16_events_are_applied_in_order_and_a_resent_batch_answers_the_same) {
  const TestDevice device = PairDevice(orgs_[1].id);
  const Batch batch = Signed(device, "b-1", {Note(1), Note(2), Note(3)});
  const BatchAnswer first = Upload(device, batch);
  EXPECT_EQ(States(first), (std::vector<std::string>{"applied", "applied", "applied"}));
  EXPECT_EQ(applied_order_, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_FALSE(first.duplicate);
  const BatchAnswer again = Upload(device, batch);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(States(again), States(first));
  EXPECT_EQ(again.outcomes[2].result_json, first.outcomes[2].result_json);
  EXPECT_EQ(AppliedCount(), 3);
  // An overlapping batch: the known part must match, the rest is applied.
  Upload(device, Signed(device, "b-2", {Note(3), Note(4)}));
  EXPECT_EQ(applied_order_, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(UploadError(device, Signed(device, "b-1", {Note(4), Note(5)})), "batch_id_reused");
}

TEST_P(SyncTest,
       W16_gaps_reused_sequence_numbers_bad_signatures_and_oversized_batches_are_refused) {
  const TestDevice device = PairDevice(orgs_[1].id);
  Upload(device, Signed(device, "b-1", {Note(1), Note(2)}));
  const BatchAnswer gap = Upload(device, Signed(device, "b-2", {Note(4), Note(5)}));
  ASSERT_TRUE(gap.gap_expected_seq.has_value());
  EXPECT_EQ(*gap.gap_expected_seq, 3);
  BatchEvent changed = Note(2);
  changed.payload = object{{"i", 99}};
  EXPECT_EQ(UploadError(device, Signed(device, "b-3", {changed, Note(3)})), "sequence_reused");
  EXPECT_EQ(AppliedCount(), 2);  // seq 3 of the refused batch was not applied either
  Batch forged = Signed(device, "b-4", {Note(3)});
  forged.events[0].payload = object{{"i", 1000}};
  EXPECT_EQ(UploadError(device, forged), "batch_signature_invalid");
  const TestDevice other = PairDevice(orgs_[1].id);
  Batch foreign = Signed(other, "b-5", {Note(3)});
  foreign.device_id = device.id;  // another device's key
  foreign.signature = other.Sign(*BatchSigningString(foreign));
  EXPECT_EQ(UploadError(device, foreign), "batch_signature_invalid");
  EXPECT_EQ(UploadError(other, Signed(device, "b-6", {Note(3)})), "batch_device_mismatch");
  std::vector<BatchEvent> many;
  for (int64_t seq = 3; seq < 3 + kBatchEventsMax + 1; ++seq) many.push_back(Note(seq));
  EXPECT_EQ(UploadError(device, Signed(device, "b-7", many)), "batch_too_large");
  EXPECT_EQ(AppliedCount(), 2);
}

TEST_P(SyncTest, W16_unknown_and_forbidden_kinds_are_refused_one_by_one) {
  const TestDevice device = PairDevice(orgs_[1].id);
  const BatchAnswer answer = Upload(device, Signed(device, "b-1",
                                                   {Note(1),
                                                    {2, "test.nope", kStart, object{}},
                                                    {3, "test.secret", kStart, object{}},
                                                    Note(4)}));
  EXPECT_EQ(States(answer), (std::vector<std::string>{"applied", "refused", "refused", "applied"}));
  EXPECT_EQ(answer.outcomes[1].code, "event_kind_unknown");
  EXPECT_EQ(answer.outcomes[2].code, "event_forbidden");
}

TEST_P(SyncTest, W16_a_waiting_event_is_retried_by_the_job_with_backoff) {
  const TestDevice device = PairDevice(orgs_[1].id);
  const BatchAnswer answer =
      Upload(device, Signed(device, "b-1", {DebitEvent(1, "ana", 500), Note(2)}));
  EXPECT_EQ(States(answer), (std::vector<std::string>{"waiting", "applied"}));  // no blocking
  EXPECT_EQ(answer.outcomes[0].code, "insufficient_funds");
  EXPECT_EQ(answer.outcomes[0].wait_key, "test.account:ana");
  auto early = sync_->RetryDue();
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->tried, 0);  // not due yet
  clock_.Advance(options_.retry_backoff_base_ms);
  auto still = sync_->RetryDue();
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->waiting, 1);  // tried again, still no funds: backoff doubles
  clock_.Advance(options_.retry_backoff_base_ms);
  EXPECT_EQ(sync_->RetryDue()->tried, 0);
  Credit("ana", 1000);
  clock_.Advance(options_.retry_backoff_base_ms);
  auto done = sync_->RetryDue();
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->applied, 1);
  auto report = sync_->OwnReport(device.caller);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->events_by_state["applied"], 2);
  EXPECT_TRUE(report->waiting.empty());
}

TEST_P(SyncTest, W16_a_module_retries_waiting_events_by_key_now_or_through_the_job) {
  const TestDevice device = PairDevice(orgs_[1].id);
  Upload(device,
         Signed(device, "b-1",
                {DebitEvent(1, "ana", 300), DebitEvent(2, "bob", 300), DebitEvent(3, "ana", 300)}));
  Credit("ana", 400);
  auto retried = sync_->RetryWaiting("test.debit", "test.account:ana");
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->applied, 1);  // the first one; the second still lacks funds
  EXPECT_EQ(retried->waiting, 1);
  // Through the job, scheduled inside the module's own transaction (e.g. a reload).
  jobs::Runner runner(db(), clock_, {});
  sync_->RegisterJobs(runner);
  Credit("bob", 300);
  auto scheduled = db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) {
    return ScheduleRetry(tx, "test.debit", "test.account:bob", clock_.NowMs());
  });
  ASSERT_TRUE(scheduled.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(runner.RunOne().ok());
  auto report = sync_->OwnReport(device.caller);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->events_by_state["applied"], 2);
  ASSERT_EQ(report->waiting.size(), 1u);
  EXPECT_EQ(report->waiting[0].seq, 3);
  EXPECT_EQ(report->waiting[0].attempts, 2);
}

TEST_P(SyncTest, W16_a_crash_mid_batch_keeps_what_was_applied_and_a_resend_applies_the_rest) {
  const TestDevice device = PairDevice(orgs_[1].id);
  crashes_left_ = 1;
  const Batch batch =
      Signed(device, "b-1", {Note(1), {2, "test.crash", kStart, object{}}, Note(3)});
  const BatchAnswer first = Upload(device, batch);
  EXPECT_EQ(States(first), (std::vector<std::string>{"applied", "received", "received"}));
  EXPECT_EQ(applied_order_, (std::vector<int64_t>{1}));  // nothing after the crash, in order
  const BatchAnswer again = Upload(device, batch);
  EXPECT_EQ(States(again), (std::vector<std::string>{"applied", "applied", "applied"}));
  EXPECT_EQ(applied_order_, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(AppliedCount(), 3);
  // Without a resend, the job applies events left received after a crash.
  crashes_left_ = 1;
  Upload(device, Signed(device, "b-2", {{4, "test.crash", kStart, object{}}, Note(5)}));
  EXPECT_EQ(sync_->RetryDue()->tried, 0);
  clock_.Advance(options_.stalled_received_ms);
  ASSERT_TRUE(sync_->RetryDue().ok());
  EXPECT_EQ(AppliedCount(), 5);
}

TEST_P(SyncTest, W16_the_same_batch_sent_twice_at_once_is_applied_once) {
  const TestDevice device = PairDevice(orgs_[1].id);
  std::vector<BatchEvent> events;
  for (int64_t seq = 1; seq <= 40; ++seq) events.push_back(Note(seq));
  const Batch batch = Signed(device, "b-1", events);
  std::vector<std::string> answers(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < answers.size(); ++i) {
    threads.emplace_back([&, i] {
      auto answer = sync_->Upload(device.caller, batch);
      answers[i] = answer.ok() ? std::to_string(answer->outcomes.size()) + States(*answer).back()
                               : answer.error().code;
    });
  }
  for (auto& thread : threads) thread.join();
  for (const std::string& answer : answers) EXPECT_EQ(answer, "40applied");
  EXPECT_EQ(AppliedCount(), 40);
}

TEST_P(SyncTest, W16_staff_give_up_a_waiting_event_and_read_reports_in_their_scope_only) {
  const TestDevice device = PairDevice(orgs_[1].id);
  const BatchAnswer answer =
      Upload(device, Signed(device, "b-1", {DebitEvent(1, "ana", 5), Note(2)}));
  const int64_t waiting_id = answer.outcomes[0].id;
  EXPECT_EQ(sync_->Abandon(admin_b_, waiting_id, "card lost").error().code, "event_not_found");
  EXPECT_EQ(sync_->DeviceReportOf(admin_b_, device.id).error().code, "device_not_found");
  EXPECT_EQ(sync_->OrganisationReport(admin_b_, orgs_[1].id).error().code,
            "organisation_not_found");
  EXPECT_EQ(sync_->Abandon(admin_, waiting_id, "").error().code, "validation_failed");
  EXPECT_EQ(sync_->Abandon(admin_, answer.outcomes[1].id, "x").error().code, "event_not_waiting");
  auto report = sync_->DeviceReportOf(admin_, device.id);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->waiting.size(), 1u);
  EXPECT_EQ(report->waiting[0].code, "insufficient_funds");
  ASSERT_EQ(report->batches.size(), 1u);
  EXPECT_EQ(report->batches[0].batch_id, "b-1");
  auto abandoned = sync_->Abandon(admin_, waiting_id, "Holder left; debt written off");
  ASSERT_TRUE(abandoned.ok());
  EXPECT_EQ(abandoned->state, EventState::kAbandoned);
  Credit("ana", 100);
  EXPECT_EQ(sync_->RetryWaiting("test.debit", "test.account:ana")->tried, 0);  // given up for good
  auto subtree = sync_->OrganisationReport(admin_, orgs_[0].id);
  ASSERT_TRUE(subtree.ok());
  EXPECT_EQ(subtree->events_by_state["abandoned"], 1);
  EXPECT_EQ(subtree->events_by_state["applied"], 1);
  ASSERT_EQ(subtree->devices.size(), 1u);
  EXPECT_EQ(sync_->OwnReport(admin_).error().code, "forbidden");
}

TEST(SyncCanonical, W16_canonical_json_sorts_members_and_refuses_fractions) {
  EXPECT_EQ(*CanonicalJson(boost::json::parse(R"({"b":[1,{"z":null,"a":true}],"a":"é\n\u0001"})")),
            "{\"a\":\"é\\n\\u0001\",\"b\":[1,{\"a\":true,\"z\":null}]}");
  // UTF-16 order: U+1F600 (a surrogate pair, D83D…) sorts before U+FF5E.
  EXPECT_EQ(*CanonicalJson(boost::json::parse("{\"\uff5e\":1,\"\U0001F600\":2}")),
            "{\"\U0001F600\":2,\"\uff5e\":1}");
  EXPECT_FALSE(CanonicalJson(boost::json::parse(R"({"n":1.5})")).has_value());
  Batch batch;
  batch.device_id = 7;
  batch.batch_id = "b1";
  batch.events = {{1, "k", 10, boost::json::parse(R"({"y":2,"x":1})")}};
  EXPECT_EQ(*BatchSigningString(batch),
            "guichet-sync-batch-v1\n7\nb1\n1\n1\nk\n10\n{\"x\":1,\"y\":2}\n");
}

INSTANTIATE_TEST_SUITE_P(Backends, SyncTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const auto& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

}  // namespace
}  // namespace guichet::sync
