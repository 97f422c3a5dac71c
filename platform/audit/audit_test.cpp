#include "platform/audit/audit.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <thread>

#include "platform/base/crypto.h"
#include "tests/support/test_databases.h"

namespace guichet::audit {
namespace {

using storage::Transaction;
using storage::TransactionMode;
using ::testing::Contains;
using ::testing::HasSubstr;
using testing::TestDatabase;

constexpr int64_t kStart = 1'800'000'000'000;
constexpr int64_t kChainEntries = 300;

AuditEntry UserChange(int64_t index, std::string record_id = "") {
  AuditEntry entry;
  entry.actor_type = "user";
  entry.actor_id = 1000 + index % 7;
  entry.organisation_id = 1 + index % 3;
  entry.action = "identity.user.update";
  entry.record_type = "user";
  entry.record_id = record_id.empty() ? std::to_string(index) : std::move(record_id);
  entry.before_json =
      fmt::format(R"({{"name":"Camille {}","email":"c{}@example.fr"}})", index, index);
  entry.after_json =
      fmt::format(R"({{"name":"Camille {}","email":"c{}@exemple.fr"}})", index, index);
  entry.request_id = fmt::format("req-{}", index);
  return entry;
}

class AuditTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    test_ = TestDatabase::Open(GetParam());
    ASSERT_NE(test_, nullptr);
    auto migrated = storage::Migrate(test_->db(), Migrations(), clock_);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  }

  Result<int64_t> TryAppend(const AuditEntry& entry) {
    return test_->db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) {
      return Append(tx, entry, clock_.NowMs());
    });
  }

  int64_t AppendOne(const AuditEntry& entry) {
    auto seq = TryAppend(entry);
    EXPECT_TRUE(seq.ok()) << seq.error().message;
    clock_.Advance(1000);
    return seq.ok() ? *seq : 0;
  }

  // Entries 1..count, a hundred per transaction (the chain does not care how they are grouped).
  void AppendChain(int64_t count) {
    for (int64_t first = 1; first <= count; first += 100) {
      auto done =
          test_->db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
            for (int64_t i = first; i < std::min(first + 100, count + 1); ++i) {
              auto seq = Append(tx, UserChange(i), clock_.NowMs() + i);
              if (!seq.ok()) return std::move(seq).error();
              EXPECT_EQ(*seq, i);
            }
            return Ok{};
          });
      ASSERT_TRUE(done.ok()) << done.error().message;
    }
  }

  VerifyReport VerifyNow() {
    auto report = Verify(test_->db());
    EXPECT_TRUE(report.ok()) << report.error().message;
    return report.ok() ? *report : VerifyReport{};
  }

  std::vector<AuditRecord> HistoryOf(const std::string& record_type, const std::string& record_id,
                                     int64_t limit, std::optional<int64_t> before_seq = {}) {
    auto records = test_->db().Transact<std::vector<AuditRecord>>(
        TransactionMode::kRead,
        [&](Transaction& tx) { return History(tx, record_type, record_id, limit, before_seq); });
    EXPECT_TRUE(records.ok()) << records.error().message;
    return records.ok() ? *records : std::vector<AuditRecord>{};
  }

  AuditHead CurrentHead() {
    auto head = test_->db().Transact<AuditHead>(TransactionMode::kRead, Head);
    EXPECT_TRUE(head.ok()) << head.error().message;
    return head.ok() ? *head : AuditHead{};
  }

  int64_t CountEntries() {
    auto row = test_->db().Transact<std::optional<storage::Row>>(
        TransactionMode::kRead,
        [](Transaction& tx) { return tx.QueryOne("SELECT count(*) FROM audit_entries"); });
    EXPECT_TRUE(row.ok() && row->has_value());
    return row.ok() ? (*row)->Int(0) : -1;
  }

  Status RunSql(const std::string& sql) {
    return test_->db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
      GUICHET_TRY_STATUS(tx.ExecuteScript(sql));
      return Ok{};
    });
  }

  // What an attacker with the database owner's rights does: switch the guards off, then edit.
  void Tamper(const std::string& sql) {
    const std::string guards_off = GetParam() == storage::Backend::kPostgres
                                       ? "ALTER TABLE audit_entries DISABLE TRIGGER USER;"
                                         " ALTER TABLE audit_head DISABLE TRIGGER USER;"
                                       : "DROP TRIGGER IF EXISTS audit_entries_no_delete;"
                                         " DROP TRIGGER IF EXISTS audit_entries_redaction_only;"
                                         " DROP TRIGGER IF EXISTS audit_head_no_delete;"
                                         " DROP TRIGGER IF EXISTS audit_head_advance_only;";
    Status done = RunSql(guards_off + " " + sql);
    ASSERT_TRUE(done.ok()) << done.error().message;
  }

  void ExpectTamperFound(const VerifyReport& report, int64_t first_bad_seq,
                         const std::string& problem) {
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.first_bad_seq, first_bad_seq);
    EXPECT_THAT(report.problems, Contains(HasSubstr(problem)));
    EXPECT_GE(report.problems_total, 1);
    EXPECT_LE(static_cast<int64_t>(report.problems.size()), kProblemsMax);
  }

  ManualClock clock_{kStart};
  std::unique_ptr<TestDatabase> test_;
};

TEST_P(AuditTest, AppendedEntriesReadBackNewestFirstAndChained) {
  AuditEntry created = UserChange(7);
  created.action = "identity.user.create";
  created.before_json = "null";
  const int64_t first = AppendOne(created);
  AuditEntry other = UserChange(8);
  other.actor_type = "system";
  other.actor_id.reset();
  other.organisation_id.reset();
  other.request_id = "";
  const int64_t second = AppendOne(other);
  const int64_t third = AppendOne(UserChange(7));
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 2);
  EXPECT_EQ(third, 3);

  const auto history = HistoryOf("user", "7", 50);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].seq, 3);
  EXPECT_EQ(history[1].seq, 1);
  const AuditRecord& record = history[1];
  EXPECT_EQ(record.at_ms, kStart);
  EXPECT_EQ(record.entry.actor_type, "user");
  EXPECT_EQ(record.entry.actor_id, 1000);
  EXPECT_EQ(record.entry.organisation_id, 2);
  EXPECT_EQ(record.entry.action, "identity.user.create");
  EXPECT_EQ(record.entry.before_json, "null");
  EXPECT_EQ(record.entry.after_json, created.after_json);
  EXPECT_EQ(record.entry.request_id, "req-7");
  EXPECT_FALSE(record.redacted);
  EXPECT_EQ(record.previous_hash, kGenesisHash);
  EXPECT_EQ(record.payload_digest, PayloadDigest("null", created.after_json));
  EXPECT_EQ(record.hash, crypto::Sha256Hex(CanonicalForm(1, kStart, created, record.payload_digest,
                                                         kGenesisHash)));

  const auto system = HistoryOf("user", "8", 50);
  ASSERT_EQ(system.size(), 1u);
  EXPECT_EQ(system[0].entry.actor_id, std::nullopt);
  EXPECT_EQ(system[0].entry.organisation_id, std::nullopt);
  EXPECT_EQ(system[0].previous_hash, record.hash);
  EXPECT_EQ(history[0].previous_hash, system[0].hash);
  EXPECT_EQ(CurrentHead().last_seq, 3);
  EXPECT_EQ(CurrentHead().last_hash, history[0].hash);
}

TEST_P(AuditTest, VerifyPassesOnAnEmptyTrailAndOnAnIntactChainAcrossPages) {
  VerifyReport empty = VerifyNow();
  EXPECT_TRUE(empty.ok);
  EXPECT_EQ(empty.entries, 0);
  // More than one verification page, so the walk crosses a page boundary.
  AppendChain(kVerifyPageRows + 50);
  const VerifyReport report = VerifyNow();
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems.front());
  EXPECT_EQ(report.entries, kVerifyPageRows + 50);
  EXPECT_EQ(report.first_bad_seq, std::nullopt);
  EXPECT_TRUE(report.problems.empty());
}

TEST_P(AuditTest, VerifyFindsAnAlteredAction) {
  AppendChain(kChainEntries);
  Tamper("UPDATE audit_entries SET action = 'identity.user.view' WHERE seq = 42");
  const VerifyReport report = VerifyNow();
  ExpectTamperFound(report, 42, "entry 42: hash does not match its content (altered)");
  EXPECT_EQ(report.problems_total, 1);  // the next entry still links to the stored hash
  EXPECT_EQ(report.entries, kChainEntries);
}

TEST_P(AuditTest, VerifyFindsAnAlteredAfterImage) {
  AppendChain(kChainEntries);
  Tamper(R"(UPDATE audit_entries SET after_json = '{"name":"Someone else"}' WHERE seq = 42)");
  ExpectTamperFound(VerifyNow(), 42, "entry 42: before/after data does not match its digest");
}

TEST_P(AuditTest, VerifyFindsAnAlteredAfterImageWithARecomputedDigest) {
  AppendChain(kChainEntries);
  const std::string after = R"({"name":"Someone else"})";
  const std::string before = UserChange(42).before_json;
  Tamper(
      fmt::format("UPDATE audit_entries SET after_json = '{}', payload_digest = '{}'"
                  " WHERE seq = 42",
                  after, PayloadDigest(before, after)));
  ExpectTamperFound(VerifyNow(), 42, "entry 42: hash does not match its content");
}

TEST_P(AuditTest, VerifyFindsARemovedEntry) {
  AppendChain(kChainEntries);
  Tamper("DELETE FROM audit_entries WHERE seq = 150");
  const VerifyReport report = VerifyNow();
  ExpectTamperFound(report, 150, "entry 150 is missing (removed)");
  EXPECT_EQ(report.entries, kChainEntries - 1);
}

TEST_P(AuditTest, VerifyFindsSwappedEntries) {
  AppendChain(kChainEntries);
  Tamper(
      "UPDATE audit_entries SET seq = 1000000 WHERE seq = 100;"
      " UPDATE audit_entries SET seq = 100 WHERE seq = 200;"
      " UPDATE audit_entries SET seq = 200 WHERE seq = 1000000;");
  const VerifyReport report = VerifyNow();
  ExpectTamperFound(report, 100, "entry 100: does not follow entry 99");
  EXPECT_THAT(report.problems, Contains(HasSubstr("entry 101: does not follow entry 100")));
  EXPECT_THAT(report.problems, Contains(HasSubstr("entry 200: hash does not match")));
}

TEST_P(AuditTest, VerifyFindsATruncatedTail) {
  AppendChain(kChainEntries);
  Tamper("DELETE FROM audit_entries WHERE seq = 300");
  ExpectTamperFound(VerifyNow(), 300,
                    "the head records 300 entries but the trail ends at entry 299");
}

TEST_P(AuditTest, VerifyFindsAnEditedHead) {
  AppendChain(kChainEntries);
  Tamper(fmt::format("UPDATE audit_head SET last_hash = '{}'", crypto::Sha256Hex("forged")));
  ExpectTamperFound(VerifyNow(), 300, "the head's hash does not match entry 300");

  Tamper("UPDATE audit_head SET last_seq = 250");
  ExpectTamperFound(VerifyNow(), 250, "entries up to 300 lie beyond the head at 250");

  Tamper("UPDATE audit_head SET last_seq = 310");
  ExpectTamperFound(VerifyNow(), 301,
                    "the head records 310 entries but the trail ends at entry 300");

  Tamper("DELETE FROM audit_head");
  ExpectTamperFound(VerifyNow(), 1, "the chain head is missing");
  // Appending without a head is refused rather than starting a second chain.
  auto refused = TryAppend(UserChange(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("head is missing"));
}

TEST_P(AuditTest, VerifyFindsAForgedRedaction) {
  AppendChain(kChainEntries);
  // Flagging an entry redacted to hide a changed payload still shows.
  Tamper(R"(UPDATE audit_entries SET redacted = TRUE, after_json = '{"name":"Someone else"}')"
         " WHERE seq = 77");
  ExpectTamperFound(VerifyNow(), 77, "entry 77: marked redacted but holds data (altered)");
}

TEST_P(AuditTest, TheDatabaseRefusesChangesOtherThanRedaction) {
  AppendChain(10);
  for (const char* sql :
       {"UPDATE audit_entries SET action = 'identity.user.view' WHERE seq = 3",
        R"(UPDATE audit_entries SET after_json = '{}' WHERE seq = 3)",
        R"(UPDATE audit_entries SET redacted = TRUE WHERE seq = 3)",
        "DELETE FROM audit_entries WHERE seq = 10", "UPDATE audit_head SET last_seq = 9",
        "UPDATE audit_head SET last_seq = 20", "DELETE FROM audit_head"}) {
    EXPECT_FALSE(RunSql(sql).ok()) << sql;
  }
  if (GetParam() == storage::Backend::kPostgres) {
    EXPECT_FALSE(RunSql("TRUNCATE audit_entries").ok());
    EXPECT_FALSE(RunSql("TRUNCATE audit_head").ok());
  }
  EXPECT_EQ(CountEntries(), 10);
  EXPECT_TRUE(VerifyNow().ok);
}

TEST_P(AuditTest, RedactionErasesDataAndKeepsTheChainValid) {
  AppendChain(20);
  AppendOne(UserChange(21, "5"));
  AppendOne(UserChange(22, "5"));
  const std::string digest_before = HistoryOf("user", "5", 10).front().payload_digest;
  auto redacted = test_->db().Transact<Ok>(TransactionMode::kWrite,
                                           [](Transaction& tx) { return Redact(tx, "user", "5"); });
  ASSERT_TRUE(redacted.ok()) << redacted.error().message;

  const auto history = HistoryOf("user", "5", 10);
  ASSERT_EQ(history.size(), 3u);
  for (const AuditRecord& record : history) {
    EXPECT_TRUE(record.redacted);
    EXPECT_EQ(record.entry.before_json, kRedactedJson);
    EXPECT_EQ(record.entry.after_json, kRedactedJson);
    EXPECT_EQ(record.entry.action, "identity.user.update");  // who/what/when stay
  }
  EXPECT_EQ(history.front().payload_digest, digest_before);
  const auto untouched = HistoryOf("user", "6", 10);
  ASSERT_EQ(untouched.size(), 1u);
  EXPECT_FALSE(untouched[0].redacted);
  EXPECT_EQ(untouched[0].entry.after_json, UserChange(6).after_json);

  const VerifyReport report = VerifyNow();
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems.front());
  EXPECT_EQ(report.entries, 22);
  // Redacting again changes nothing, and the chain goes on.
  auto again = test_->db().Transact<Ok>(TransactionMode::kWrite,
                                        [](Transaction& tx) { return Redact(tx, "user", "5"); });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(AppendOne(UserChange(23, "5")), 23);
  EXPECT_TRUE(VerifyNow().ok);
}

TEST_P(AuditTest, AnAppendInARolledBackTransactionLeavesNoTrace) {
  AppendChain(3);
  const AuditHead before = CurrentHead();
  auto failed = test_->db().Transact<int64_t>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
        auto seq = Append(tx, UserChange(4), clock_.NowMs());
        EXPECT_TRUE(seq.ok());
        return Error::Conflict("exists", "the use case failed after auditing");
      });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, "exists");
  EXPECT_EQ(CountEntries(), 3);
  EXPECT_EQ(CurrentHead().last_seq, before.last_seq);
  EXPECT_EQ(CurrentHead().last_hash, before.last_hash);
  EXPECT_TRUE(HistoryOf("user", "4", 10).empty());
  EXPECT_EQ(AppendOne(UserChange(4)), 4);
  EXPECT_TRUE(VerifyNow().ok);
}

TEST_P(AuditTest, ConcurrentAppendsFormOneChain) {
  constexpr int kThreads = 4;
  constexpr int kAppendsPerThread = 50;
  std::vector<std::vector<int64_t>> seqs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppendsPerThread; ++i) {
        // Each append in its own transaction, as use cases do.
        auto seq = test_->db().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) {
          return Append(tx, UserChange(t * 1000 + i), kStart + i);
        });
        EXPECT_TRUE(seq.ok()) << seq.error().message;
        if (seq.ok()) seqs[t].push_back(*seq);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<int64_t> all;
  for (const auto& mine : seqs) {
    EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
    all.insert(all.end(), mine.begin(), mine.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(kThreads * kAppendsPerThread);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(all, expected);
  const VerifyReport report = VerifyNow();
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems.front());
  EXPECT_EQ(report.entries, kThreads * kAppendsPerThread);
}

TEST_P(AuditTest, HistoryPagesBackwardsWithBeforeSeq) {
  for (int64_t i = 1; i <= 25; ++i) {
    AppendOne(UserChange(i, "9"));
    AppendOne(UserChange(i, "10"));  // another record, interleaved
  }
  std::vector<int64_t> seen;
  std::optional<int64_t> before;
  for (int page = 0; page < 4; ++page) {
    const auto records = HistoryOf("user", "9", 10, before);
    EXPECT_EQ(records.size(), std::vector<size_t>({10, 10, 5, 0})[page]);
    for (const AuditRecord& record : records) {
      EXPECT_EQ(record.entry.record_id, "9");
      seen.push_back(record.seq);
    }
    if (!records.empty()) before = records.back().seq;
  }
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_TRUE(std::is_sorted(seen.rbegin(), seen.rend()));  // newest first throughout
  EXPECT_EQ(seen.front(), 49);
  EXPECT_EQ(seen.back(), 1);
  EXPECT_EQ(HistoryOf("user", "9", 0).size(), 1u);  // limits are clamped, not refused
  EXPECT_TRUE(HistoryOf("user", "404", 10).empty());
}

TEST_P(AuditTest, HistoryPagesAreCapped) {
  AppendOne(UserChange(1, "1"));
  auto done = test_->db().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
    for (int64_t i = 0; i < kHistoryPageMax + 10; ++i) {
      auto seq = Append(tx, UserChange(i, "busy"), kStart);
      if (!seq.ok()) return std::move(seq).error();
    }
    return Ok{};
  });
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(static_cast<int64_t>(HistoryOf("user", "busy", 100000).size()), kHistoryPageMax);
}

TEST_P(AuditTest, OrganisationFeedShowsOnlyTheGivenOrganisations) {
  for (int64_t i = 1; i <= 30; ++i) {
    AuditEntry entry = UserChange(i);
    entry.organisation_id = i % 4 == 0 ? std::nullopt : std::optional<int64_t>(i % 4);
    AppendOne(entry);
  }
  auto feed = [&](const std::vector<int64_t>& ids, int64_t limit, std::optional<int64_t> before) {
    auto records = test_->db().Transact<std::vector<AuditRecord>>(
        TransactionMode::kRead,
        [&](Transaction& tx) { return ByOrganisation(tx, ids, limit, before); });
    EXPECT_TRUE(records.ok()) << records.error().message;
    return records.ok() ? *records : std::vector<AuditRecord>{};
  };
  const auto first = feed({1, 3}, 5, std::nullopt);
  ASSERT_EQ(first.size(), 5u);
  EXPECT_EQ(first[0].seq, 29);
  std::vector<int64_t> seen;
  std::optional<int64_t> before;
  for (auto page = feed({1, 3}, 7, before); !page.empty(); page = feed({1, 3}, 7, before)) {
    for (const AuditRecord& record : page) {
      ASSERT_TRUE(record.entry.organisation_id.has_value());
      EXPECT_TRUE(*record.entry.organisation_id == 1 || *record.entry.organisation_id == 3);
      seen.push_back(record.seq);
    }
    before = page.back().seq;
  }
  EXPECT_EQ(seen.size(), 15u);  // i % 4 in {1, 3}: the odd i
  EXPECT_TRUE(std::is_sorted(seen.rbegin(), seen.rend()));
  EXPECT_TRUE(feed({}, 10, std::nullopt).empty());
  EXPECT_TRUE(feed({99}, 10, std::nullopt).empty());

  auto too_many =
      test_->db().Transact<std::vector<AuditRecord>>(TransactionMode::kRead, [](Transaction& tx) {
        return ByOrganisation(tx, std::vector<int64_t>(kOrganisationIdsMax + 1, 1), 10,
                              std::nullopt);
      });
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().kind, ErrorKind::kInternal);
}

TEST_P(AuditTest, InvalidEntriesAreRefusedWithTheirReasonAndWriteNothing) {
  const std::vector<std::pair<std::function<void(AuditEntry&)>, std::string>> cases = {
      {[](AuditEntry& e) { e.action = ""; }, "action must be"},
      {[](AuditEntry& e) { e.action = "Identity.User"; }, "action must be"},
      {[](AuditEntry& e) { e.record_type = ""; }, "record_type must be"},
      {[](AuditEntry& e) { e.record_id = ""; }, "record_id must be"},
      {[](AuditEntry& e) { e.record_id = "4 2"; }, "record_id must be"},
      {[](AuditEntry& e) { e.record_id = std::string(kRecordIdBytesMax + 1, '7'); },
       "record_id must be"},
      {[](AuditEntry& e) { e.request_id = "req\n1"; }, "request_id must be"},
      {[](AuditEntry& e) { e.actor_type = "admin"; }, "actor_type 'admin' is not"},
      {[](AuditEntry& e) { e.actor_id.reset(); }, "a user actor needs an actor_id"},
      {[](AuditEntry& e) { e.organisation_id = 0; }, "positive"},
      {[](AuditEntry& e) { e.before_json = "{\"name\":"; }, "before_json is not valid JSON"},
      {[](AuditEntry& e) { e.after_json = ""; }, "after_json is not valid JSON"},
      {[](AuditEntry& e) { e.after_json = "{} {}"; }, "after_json is not valid JSON"},
      {[](AuditEntry& e) { e.after_json = "\"\xff\xfe\""; }, "after_json is not valid JSON"},
      {[](AuditEntry& e) {
         e.after_json =
             std::string(kPayloadDepthMax + 1, '[') + std::string(kPayloadDepthMax + 1, ']');
       },
       "after_json is not valid JSON"},
      {[](AuditEntry& e) { e.after_json = "\"" + std::string(kPayloadBytesMax, 'x') + "\""; },
       "after_json has 65538 bytes, over the 65536 allowed"},
  };
  for (const auto& [mutate, reason] : cases) {
    AuditEntry entry = UserChange(1);
    mutate(entry);
    auto refused = TryAppend(entry);
    ASSERT_FALSE(refused.ok()) << reason;
    EXPECT_EQ(refused.error().kind, ErrorKind::kInternal);
    EXPECT_THAT(refused.error().message, HasSubstr(reason));
  }
  EXPECT_EQ(CountEntries(), 0);
  EXPECT_EQ(CurrentHead().last_seq, 0);

  AuditEntry system = UserChange(1);
  system.actor_type = "system";
  system.actor_id.reset();
  system.request_id = "";
  EXPECT_EQ(AppendOne(system), 1);  // a job acting on its own needs no actor id or request
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditTest, ::testing::ValuesIn(testing::TestBackends()),
                         [](const auto& param_info) {
                           return testing::BackendParamName(param_info.param);
                         });

TEST(AuditCanonicalTest, EncodingIsPinnedAndUnambiguous) {
  AuditEntry entry;
  entry.actor_type = "user";
  entry.actor_id = 12;
  entry.action = "identity.user.create";
  entry.record_type = "user";
  entry.record_id = "42";
  entry.request_id = "req-1";
  const std::string digest = PayloadDigest("null", R"({"name":"Camille"})");
  EXPECT_EQ(CanonicalForm(1, 1800000000000, entry, digest, kGenesisHash),
            "16:guichet.audit.v1,1:1,13:1800000000000,4:user,2:12,0:,20:identity.user.create,"
            "4:user,2:42,5:req-1,64:" +
                digest + ",64:" + std::string(kGenesisHash) + ",");
  // Moving a digit from one id to the other changes the encoding.
  AuditEntry shifted = entry;
  shifted.actor_id = 1;
  shifted.organisation_id = 2;
  EXPECT_NE(CanonicalForm(1, 1800000000000, entry, digest, kGenesisHash),
            CanonicalForm(1, 1800000000000, shifted, digest, kGenesisHash));
  EXPECT_EQ(PayloadDigest("null", "null"), crypto::Sha256Hex("null\nnull"));
}

}  // namespace
}  // namespace guichet::audit
