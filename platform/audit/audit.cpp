#include "platform/audit/audit.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <limits>

#include "platform/base/crypto.h"

namespace guichet::audit {
namespace {

using storage::Backend;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

constexpr std::string_view kFormatTag = "guichet.audit.v1";
constexpr std::string_view kColumns =
    "seq, at_ms, actor_type, actor_id, organisation_id, action, record_type, record_id,"
    " before_json, after_json, request_id, payload_digest, previous_hash, hash, redacted";
constexpr int64_t kSeqUnbounded = std::numeric_limits<int64_t>::max();

// ---- Schema ----------------------------------------------------------------------------------

// Every column after seq, the same on both backends (the genesis hash goes in the {}). before/after
// are TEXT, not jsonb: the digest is over the exact bytes the caller gave.
constexpr std::string_view kEntryColumns =
    " at_ms BIGINT NOT NULL,"
    " actor_type TEXT NOT NULL CHECK (actor_type IN ('user', 'device', 'api_key', 'system')),"
    " actor_id BIGINT, organisation_id BIGINT, action TEXT NOT NULL, record_type TEXT NOT NULL,"
    " record_id TEXT NOT NULL, before_json TEXT NOT NULL, after_json TEXT NOT NULL,"
    " request_id TEXT NOT NULL, payload_digest TEXT NOT NULL, previous_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL, redacted BOOLEAN NOT NULL DEFAULT FALSE);"
    " CREATE INDEX audit_entries_record ON audit_entries (record_type, record_id, seq);"
    " CREATE INDEX audit_entries_organisation ON audit_entries (organisation_id, seq);"
    " CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " last_seq BIGINT NOT NULL CHECK (last_seq >= 0), last_hash TEXT NOT NULL);"
    " INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, '{}');";

// The columns a redaction must leave as they were: everything the hash covers.
constexpr std::string_view kSealedColumns =
    "seq, at_ms, actor_type, actor_id, organisation_id, action, record_type, record_id,"
    " request_id, payload_digest, previous_hash, hash";

// Each sealed column put in `pattern` and joined: "NEW.seq, NEW.at_ms…" or
// "NEW.seq IS OLD.seq AND NEW.at_ms IS OLD.at_ms…".
std::string EachSealedColumn(std::string_view pattern, std::string_view separator) {
  std::string out;
  std::string_view rest = kSealedColumns;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view column = rest.substr(0, comma);
    while (!column.empty() && column.front() == ' ') column.remove_prefix(1);
    if (!out.empty()) out += separator;
    out += fmt::format(fmt::runtime(pattern), column);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return out;
}

std::string SqliteGuards() {
  // IS: equality that holds for two NULLs (actor_id, organisation_id).
  const std::string unchanged = EachSealedColumn("NEW.{0} IS OLD.{0}", " AND ");
  return fmt::format(
      " CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries"
      " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
      " CREATE TRIGGER audit_entries_redaction_only BEFORE UPDATE ON audit_entries"
      " WHEN NOT ({0} AND NEW.redacted = 1 AND NEW.before_json = '{1}' AND NEW.after_json = '{1}')"
      " BEGIN SELECT RAISE(ABORT, 'audit entries change only by redaction'); END;"
      " CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head"
      " BEGIN SELECT RAISE(ABORT, 'the audit head is never deleted'); END;"
      " CREATE TRIGGER audit_head_advance_only BEFORE UPDATE ON audit_head"
      " WHEN NOT (NEW.id = OLD.id AND NEW.last_seq = OLD.last_seq + 1)"
      " BEGIN SELECT RAISE(ABORT, 'the audit head only advances one entry at a time'); END;",
      unchanged, kRedactedJson);
}

std::string PostgresGuards() {
  const std::string new_columns = EachSealedColumn("NEW.{}", ", ");
  const std::string old_columns = EachSealedColumn("OLD.{}", ", ");
  return fmt::format(
      " CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
      " RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME;"
      " END $$;"
      " CREATE FUNCTION audit_entries_check_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
      " IF ({0}) IS DISTINCT FROM ({1}) OR NOT NEW.redacted OR NEW.before_json <> '{2}'"
      " OR NEW.after_json <> '{2}' THEN"
      " RAISE EXCEPTION 'audit entries change only by redaction (entry %)', OLD.seq; END IF;"
      " RETURN NEW; END $$;"
      " CREATE FUNCTION audit_head_check_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
      " IF NEW.id <> OLD.id OR NEW.last_seq <> OLD.last_seq + 1 THEN"
      " RAISE EXCEPTION 'the audit head only advances one entry at a time'; END IF;"
      " RETURN NEW; END $$;"
      " CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries"
      " FOR EACH ROW EXECUTE FUNCTION audit_refuse();"
      " CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries"
      " FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();"
      " CREATE TRIGGER audit_entries_redaction_only BEFORE UPDATE ON audit_entries"
      " FOR EACH ROW EXECUTE FUNCTION audit_entries_check_update();"
      " CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head"
      " FOR EACH ROW EXECUTE FUNCTION audit_refuse();"
      " CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head"
      " FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();"
      " CREATE TRIGGER audit_head_advance_only BEFORE UPDATE ON audit_head"
      " FOR EACH ROW EXECUTE FUNCTION audit_head_check_update();",
      new_columns, old_columns, kRedactedJson);
}

// ---- Validation ------------------------------------------------------------------------------

bool IsName(std::string_view text) {
  if (text.empty() || static_cast<int64_t>(text.size()) > kNameBytesMax) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

bool IsPrintableAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c <= '~'; });
}

Status CheckJson(const AuditEntry& entry, std::string_view field, const std::string& text) {
  if (static_cast<int64_t>(text.size()) > kPayloadBytesMax) {
    return Error::Internal(fmt::format("audit entry {}: {} has {} bytes, over the {} allowed",
                                       entry.action, field, text.size(), kPayloadBytesMax));
  }
  boost::json::parse_options options;
  options.max_depth = kPayloadDepthMax;
  boost::system::error_code ec;
  (void)boost::json::parse(text, ec, {}, options);  // also refuses invalid UTF-8
  if (ec) {
    return Error::Internal(fmt::format("audit entry {}: {} is not valid JSON ({})", entry.action,
                                       field, ec.message()));
  }
  return OkStatus();
}

Status Validate(const AuditEntry& entry, int64_t now_ms) {
  auto invalid = [&](std::string_view reason) {
    return Error::Internal(fmt::format("audit entry {}: {}", entry.action, reason));
  };
  if (!IsName(entry.action)) return invalid("action must be 1-100 of [a-z0-9_.-]");
  if (!IsName(entry.record_type)) return invalid("record_type must be 1-100 of [a-z0-9_.-]");
  if (entry.record_id.empty() || static_cast<int64_t>(entry.record_id.size()) > kRecordIdBytesMax ||
      !IsPrintableAscii(entry.record_id)) {
    return invalid("record_id must be 1-200 printable ASCII characters without spaces");
  }
  if (static_cast<int64_t>(entry.request_id.size()) > kRequestIdBytesMax ||
      !IsPrintableAscii(entry.request_id)) {
    return invalid("request_id must be at most 128 printable ASCII characters without spaces");
  }
  const std::string& actor = entry.actor_type;
  if (actor != "user" && actor != "device" && actor != "api_key" && actor != "system") {
    return invalid(fmt::format("actor_type '{}' is not user, device, api_key or system", actor));
  }
  if (actor != "system" && !entry.actor_id.has_value()) {
    return invalid(fmt::format("a {} actor needs an actor_id", actor));
  }
  if ((entry.actor_id && *entry.actor_id <= 0) ||
      (entry.organisation_id && *entry.organisation_id <= 0)) {
    return invalid("actor_id and organisation_id are positive when given");
  }
  if (now_ms <= 0) return invalid("the time must be after the Unix epoch");
  GUICHET_TRY_STATUS(CheckJson(entry, "before_json", entry.before_json));
  GUICHET_TRY_STATUS(CheckJson(entry, "after_json", entry.after_json));
  return OkStatus();
}

// ---- Rows ------------------------------------------------------------------------------------

AuditRecord ToRecord(const Row& row) {
  AuditRecord record;
  record.seq = row.Int(0);
  record.at_ms = row.Int(1);
  record.entry.actor_type = row.Text(2);
  record.entry.actor_id = row.OptionalInt(3);
  record.entry.organisation_id = row.OptionalInt(4);
  record.entry.action = row.Text(5);
  record.entry.record_type = row.Text(6);
  record.entry.record_id = row.Text(7);
  record.entry.before_json = row.Text(8);
  record.entry.after_json = row.Text(9);
  record.entry.request_id = row.Text(10);
  record.payload_digest = row.Text(11);
  record.previous_hash = row.Text(12);
  record.hash = row.Text(13);
  record.redacted = row.Bool(14);
  GUICHET_ASSERT(record.seq >= 1);  // a CHECK constraint
  return record;
}

Result<std::vector<AuditRecord>> ToRecords(Result<storage::QueryResult> rows) {
  if (!rows.ok()) return std::move(rows).error();
  std::vector<AuditRecord> records;
  records.reserve(rows->rows.size());
  for (const Row& row : rows->rows) records.push_back(ToRecord(row));
  return records;
}

std::string EntryHash(const AuditRecord& record) {
  return crypto::Sha256Hex(CanonicalForm(record.seq, record.at_ms, record.entry,
                                         record.payload_digest, record.previous_hash));
}

void AppendNetstring(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += ',';
}

std::string OptionalNumber(const std::optional<int64_t>& value) {
  return value ? std::to_string(*value) : std::string();
}

int64_t ClampLimit(int64_t limit) { return std::clamp<int64_t>(limit, 1, kHistoryPageMax); }

constexpr const char* kHeadPreviousHash =
    "ALTER TABLE audit_head ADD COLUMN previous_hash TEXT NOT NULL DEFAULT '';";

// PostgreSQL locks the head row until the transaction ends, so appends from every process
// queue here and form one chain; SQLite has a single writer already.
Result<std::optional<AuditHead>> FindHead(Transaction& tx, bool for_update) {
  const bool lock = for_update && tx.backend() == Backend::kPostgres;
  auto row = tx.QueryOne(lock ? "SELECT last_seq, last_hash FROM audit_head WHERE id = 1 FOR UPDATE"
                              : "SELECT last_seq, last_hash FROM audit_head WHERE id = 1");
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<AuditHead>();
  return std::optional<AuditHead>(AuditHead{(*row)->Int(0), (*row)->Text(1)});
}

Result<AuditHead> ReadHead(Transaction& tx, bool for_update) {
  auto head = FindHead(tx, for_update);
  if (!head.ok()) return std::move(head).error();
  if (!head->has_value()) {
    return Error::Internal("the audit chain head is missing (migrations not applied, or removed)");
  }
  return std::move(**head);
}

}  // namespace

std::vector<storage::Migration> Migrations() {
  return {{"platform.audit", 1, "create audit trail",
           "CREATE TABLE audit_entries (seq INTEGER PRIMARY KEY CHECK (seq >= 1)," +
               fmt::format(fmt::runtime(kEntryColumns), kGenesisHash) + SqliteGuards(),
           "CREATE TABLE audit_entries (seq BIGINT PRIMARY KEY CHECK (seq >= 1)," +
               fmt::format(fmt::runtime(kEntryColumns), kGenesisHash) + PostgresGuards()},
          // The head also keeps the hash before the last, so that PostgreSQL advances the head
          // and returns the link of the new entry in one statement (see AppendPostgres).
          {"platform.audit", 2, "audit head keeps the previous hash", kHeadPreviousHash,
           kHeadPreviousHash}};
}

std::string PayloadDigest(std::string_view before_json, std::string_view after_json) {
  // Both halves are JSON texts, so the newline can only move across whitespace, never across
  // content: the split is unambiguous for everything that means something.
  std::string payload;
  payload.reserve(before_json.size() + 1 + after_json.size());
  payload.append(before_json).append("\n").append(after_json);
  return crypto::Sha256Hex(payload);
}

namespace {

// The canonical form's fields from at_ms to payload_digest: everything but the format tag, seq
// and previous hash, which depend on the chain.
std::string CanonicalEntryPart(int64_t at_ms, const AuditEntry& entry,
                               std::string_view payload_digest) {
  std::string out;
  AppendNetstring(out, std::to_string(at_ms));
  AppendNetstring(out, entry.actor_type);
  AppendNetstring(out, OptionalNumber(entry.actor_id));
  AppendNetstring(out, OptionalNumber(entry.organisation_id));
  AppendNetstring(out, entry.action);
  AppendNetstring(out, entry.record_type);
  AppendNetstring(out, entry.record_id);
  AppendNetstring(out, entry.request_id);
  AppendNetstring(out, payload_digest);
  return out;
}

}  // namespace

std::string CanonicalForm(int64_t seq, int64_t at_ms, const AuditEntry& entry,
                          std::string_view payload_digest, std::string_view previous_hash) {
  std::string out;
  AppendNetstring(out, kFormatTag);
  AppendNetstring(out, std::to_string(seq));
  out += CanonicalEntryPart(at_ms, entry, payload_digest);
  AppendNetstring(out, previous_hash);
  return out;
}

namespace {

// PostgreSQL: one round trip. The head row is advanced first — UPDATE takes its lock and, when
// another append committed meanwhile, works on the newest version — and the entry's hash is
// computed there, from the new seq and the previous hash, by the same canonical form as
// CanonicalForm (the parts that do not depend on the chain come from here as bytes). The lock is
// then held only for this statement and what the use case does after it until COMMIT.
Result<int64_t> AppendPostgres(Transaction& tx, const AuditEntry& entry, int64_t now_ms) {
  const std::string digest = PayloadDigest(entry.before_json, entry.after_json);
  std::string tag;
  AppendNetstring(tag, kFormatTag);
  const std::string middle = CanonicalEntryPart(now_ms, entry, digest);
  auto nullable = [](const std::optional<int64_t>& id) {
    return id ? storage::Param(*id) : storage::Param(nullptr);
  };
  // seq and the previous hash are ASCII, so their length in characters is their length in bytes.
  auto row = tx.QueryOne(
      "WITH head AS (UPDATE audit_head SET previous_hash = last_hash, last_seq = last_seq + 1,"
      " last_hash = encode(sha256(convert_to($1::text || length((last_seq + 1)::text) || ':' ||"
      " (last_seq + 1)::text || ',' || $2::text || length(last_hash) || ':' || last_hash || ',',"
      " 'UTF8')), 'hex') WHERE id = 1 RETURNING last_seq, previous_hash, last_hash)"
      " INSERT INTO audit_entries (seq, at_ms, actor_type, actor_id, organisation_id, action,"
      " record_type, record_id, before_json, after_json, request_id, payload_digest,"
      " previous_hash, hash, redacted)"
      " SELECT last_seq, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, previous_hash,"
      " last_hash, FALSE FROM head RETURNING seq",
      {tag, middle, now_ms, entry.actor_type, nullable(entry.actor_id),
       nullable(entry.organisation_id), entry.action, entry.record_type, entry.record_id,
       entry.before_json, entry.after_json, entry.request_id, digest});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) {
    return Error::Internal("the audit chain head is missing (migrations not applied, or removed)");
  }
  return (*row)->Int(0);
}

}  // namespace

Result<int64_t> Append(Transaction& tx, const AuditEntry& entry, int64_t now_ms) {
  GUICHET_TRY_STATUS(Validate(entry, now_ms));
  if (tx.backend() == Backend::kPostgres) return AppendPostgres(tx, entry, now_ms);
  auto head = ReadHead(tx, /*for_update=*/true);
  if (!head.ok()) return std::move(head).error();
  GUICHET_ASSERT(head->last_seq >= 0);  // a CHECK constraint
  AuditRecord record;
  record.seq = head->last_seq + 1;
  record.at_ms = now_ms;
  record.entry = entry;
  record.payload_digest = PayloadDigest(entry.before_json, entry.after_json);
  record.previous_hash = head->last_hash;
  record.hash = EntryHash(record);
  auto nullable = [](const std::optional<int64_t>& id) {
    return id ? storage::Param(*id) : storage::Param(nullptr);
  };
  auto inserted = tx.Execute(
      "INSERT INTO audit_entries (seq, at_ms, actor_type, actor_id, organisation_id, action,"
      " record_type, record_id, before_json, after_json, request_id, payload_digest,"
      " previous_hash, hash, redacted)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, FALSE)",
      {record.seq, record.at_ms, entry.actor_type, nullable(entry.actor_id),
       nullable(entry.organisation_id), entry.action, entry.record_type, entry.record_id,
       entry.before_json, entry.after_json, entry.request_id, record.payload_digest,
       record.previous_hash, record.hash});
  if (!inserted.ok()) return std::move(inserted).error();
  GUICHET_ASSERT(*inserted == 1);
  // Conditional on the seq read: under the lock (or the single writer) it always matches; a
  // mismatch would mean two chains, which must never commit.
  auto advanced = tx.Execute(
      "UPDATE audit_head SET last_seq = $1, last_hash = $2, previous_hash = $4 WHERE id = 1 AND"
      " last_seq = $3",
      {record.seq, record.hash, head->last_seq, record.previous_hash});
  if (!advanced.ok()) return std::move(advanced).error();
  if (*advanced != 1) return Error::Internal("the audit chain head moved during an append");
  return record.seq;
}

Status Redact(Transaction& tx, std::string_view record_type, std::string_view record_id) {
  auto redacted = tx.Execute(
      "UPDATE audit_entries SET before_json = $1, after_json = $1, redacted = TRUE"
      " WHERE record_type = $2 AND record_id = $3 AND NOT redacted",
      {std::string(kRedactedJson), std::string(record_type), std::string(record_id)});
  if (!redacted.ok()) return std::move(redacted).error();
  return OkStatus();
}

Result<std::vector<AuditRecord>> History(Transaction& tx, std::string_view record_type,
                                         std::string_view record_id, int64_t limit,
                                         std::optional<int64_t> before_seq) {
  return ToRecords(
      tx.Query(fmt::format("SELECT {} FROM audit_entries WHERE record_type = $1 AND record_id = $2"
                           " AND seq < $3 ORDER BY seq DESC LIMIT $4",
                           kColumns),
               {std::string(record_type), std::string(record_id),
                before_seq.value_or(kSeqUnbounded), ClampLimit(limit)}));
}

Result<std::vector<AuditRecord>> ByOrganisation(Transaction& tx,
                                                const std::vector<int64_t>& organisation_ids,
                                                int64_t limit, std::optional<int64_t> before_seq) {
  if (static_cast<int64_t>(organisation_ids.size()) > kOrganisationIdsMax) {
    return Error::Internal(fmt::format("audit feed asked for {} organisations, over the {} allowed",
                                       organisation_ids.size(), kOrganisationIdsMax));
  }
  if (organisation_ids.empty()) return std::vector<AuditRecord>();
  // The ids travel as one parameter (an array on PostgreSQL, a JSON list on SQLite), so one
  // prepared statement serves every subtree size.
  const bool postgres = tx.backend() == Backend::kPostgres;
  const std::string joined = fmt::format("{}", fmt::join(organisation_ids, ","));
  const std::string ids = postgres ? "{" + joined + "}" : "[" + joined + "]";
  const std::string_view filter = postgres ? "organisation_id = ANY($1::bigint[])"
                                           : "organisation_id IN (SELECT value FROM json_each($1))";
  return ToRecords(tx.Query(fmt::format("SELECT {} FROM audit_entries WHERE {} AND seq < $2"
                                        " ORDER BY seq DESC LIMIT $3",
                                        kColumns, filter),
                            {ids, before_seq.value_or(kSeqUnbounded), ClampLimit(limit)}));
}

Result<AuditHead> Head(Transaction& tx) { return ReadHead(tx, /*for_update=*/false); }

// ---- Verification ----------------------------------------------------------------------------

namespace {

// Walks the chain in seq order and records what does not hold. Each entry is checked against
// the stored hash of the one before it, so one altered entry is one problem, not a cascade.
class Verifier {
 public:
  void Check(const AuditRecord& record) {
    ++report_.entries;
    const int64_t seq = record.seq;
    if (seq > expected_seq_) {
      Problem(expected_seq_,
              seq == expected_seq_ + 1
                  ? fmt::format("entry {} is missing (removed)", expected_seq_)
                  : fmt::format("entries {} to {} are missing (removed)", expected_seq_, seq - 1));
    } else if (record.previous_hash != previous_hash_) {
      Problem(seq, fmt::format("entry {}: does not follow entry {} (an entry was removed, "
                               "reordered or altered)",
                               seq, seq - 1));
    }
    if (EntryHash(record) != record.hash) {
      Problem(seq, fmt::format("entry {}: hash does not match its content (altered)", seq));
    }
    if (!record.redacted &&
        PayloadDigest(record.entry.before_json, record.entry.after_json) != record.payload_digest) {
      Problem(seq,
              fmt::format("entry {}: before/after data does not match its digest (altered)", seq));
    }
    if (record.redacted &&
        (record.entry.before_json != kRedactedJson || record.entry.after_json != kRedactedJson)) {
      Problem(seq, fmt::format("entry {}: marked redacted but holds data (altered)", seq));
    }
    expected_seq_ = seq + 1;
    previous_hash_ = record.hash;
  }

  // After the walk up to the head read at the start.
  void CheckEnd(const AuditHead& head) {
    const int64_t last_seq = expected_seq_ - 1;
    if (last_seq < head.last_seq) {
      Problem(last_seq + 1, fmt::format("the head records {} entries but the trail ends at entry "
                                        "{} (entries removed from the end)",
                                        head.last_seq, last_seq));
    } else if (head.last_hash != previous_hash_) {
      Problem(std::max<int64_t>(head.last_seq, 1),
              fmt::format("the head's hash does not match entry {} (head or last "
                          "entry altered)",
                          head.last_seq));
    }
  }

  void Problem(int64_t seq, std::string sentence) {
    report_.ok = false;
    ++report_.problems_total;
    report_.first_bad_seq = std::min(report_.first_bad_seq.value_or(seq), seq);
    if (static_cast<int64_t>(report_.problems.size()) < kProblemsMax) {
      report_.problems.push_back(std::move(sentence));
    }
  }

  int64_t last_seq() const { return expected_seq_ - 1; }
  VerifyReport& report() { return report_; }

 private:
  VerifyReport report_;
  int64_t expected_seq_ = 1;
  std::string previous_hash_ = std::string(kGenesisHash);
};

Result<std::vector<AuditRecord>> ReadPage(storage::Database& database, int64_t after_seq,
                                          int64_t up_to_seq) {
  return database.Transact<std::vector<AuditRecord>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<AuditRecord>> {
        return ToRecords(
            tx.Query(fmt::format("SELECT {} FROM audit_entries WHERE seq > $1 AND seq <= $2"
                                 " ORDER BY seq LIMIT $3",
                                 kColumns),
                     {after_seq, up_to_seq, kVerifyPageRows}));
      });
}

// The largest seq, then the head, in one transaction: the head read second is at least as
// recent, so an honest head is never behind the entries, whatever was appended meanwhile.
Status CheckHeadAfterWalk(storage::Database& database, const std::optional<AuditHead>& start,
                          Verifier& verifier) {
  using End = std::pair<int64_t, std::optional<AuditHead>>;
  auto end = database.Transact<End>(TransactionMode::kRead, [](Transaction& tx) -> Result<End> {
    auto row = tx.QueryOne("SELECT coalesce(max(seq), 0) FROM audit_entries");
    if (!row.ok()) return std::move(row).error();
    auto head = FindHead(tx, /*for_update=*/false);
    if (!head.ok()) return std::move(head).error();
    return End((*row)->Int(0), std::move(head).value());
  });
  if (!end.ok()) return std::move(end).error();
  const auto& [max_seq, head] = *end;
  if (!head.has_value()) {
    if (start.has_value()) verifier.Problem(start->last_seq, "the chain head was removed");
  } else if (max_seq > head->last_seq) {
    verifier.Problem(head->last_seq + 1,
                     fmt::format("entries up to {} lie beyond the head at {} (head set back)",
                                 max_seq, head->last_seq));
  } else if (start.has_value() && head->last_seq < start->last_seq) {
    verifier.Problem(head->last_seq + 1, "the head moved back during verification (head edited)");
  }
  return OkStatus();
}

}  // namespace

Result<VerifyReport> Verify(storage::Database& database) {
  auto start = database.Transact<std::optional<AuditHead>>(
      TransactionMode::kRead, [](Transaction& tx) { return FindHead(tx, /*for_update=*/false); });
  if (!start.ok()) return std::move(start).error();
  Verifier verifier;
  if (!start->has_value()) verifier.Problem(1, "the chain head is missing (removed)");
  // Entries appended while the walk runs lie beyond the head read here: the next run checks
  // them. Without a head, every entry is walked.
  const int64_t up_to_seq = start->has_value() ? (*start)->last_seq : kSeqUnbounded;
  for (;;) {
    auto page = ReadPage(database, verifier.last_seq(), up_to_seq);
    if (!page.ok()) return std::move(page).error();
    for (const AuditRecord& record : *page) verifier.Check(record);
    if (static_cast<int64_t>(page->size()) < kVerifyPageRows) break;
  }
  if (start->has_value()) verifier.CheckEnd(**start);
  GUICHET_TRY_STATUS(CheckHeadAfterWalk(database, *start, verifier));
  return std::move(verifier.report());
}

}  // namespace guichet::audit
