// The audit trail (requirement C4): who changed what, when, with the record before and after,
// for every record. Every use case that changes data appends an entry inside its own
// transaction, so an entry exists exactly when the change committed.
//
// The trail is append-only and tamper-evident. Database triggers refuse deletes and any update
// other than a redaction, and every entry carries a SHA-256 hash chained to the previous one,
// so someone who bypasses the triggers (a database owner) leaves traces Verify finds: an
// altered, removed, reordered or truncated entry. The chain commits to a digest of the
// before/after data rather than to the data itself, so personal data can be erased (GDPR
// article 17) without breaking verification: see Redact.
//
// A hash chain cannot, on its own, reveal a rewrite of its own tail together with its head
// (delete the last entries and set the head back). Publishing the head hash elsewhere from time
// to time (a report, a notary) closes that gap; Head gives what to publish.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/result.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::audit {

// Each of before_json and after_json is limited to this.
inline constexpr int64_t kPayloadBytesMax = 64 * 1024;
inline constexpr int64_t kPayloadDepthMax = 64;  // JSON nesting
// action and record_type: "identity.user.create", "user" ([a-z0-9_.-]).
inline constexpr int64_t kNameBytesMax = 100;
// record_id: printable ASCII without spaces ("42", a UUID, "org-3/user-5").
inline constexpr int64_t kRecordIdBytesMax = 200;
// request_id: the HTTP request id, a job id, or empty for work without a request.
inline constexpr int64_t kRequestIdBytesMax = 128;
inline constexpr int64_t kHistoryPageMax = 200;        // rows per History/ByOrganisation page
inline constexpr int64_t kOrganisationIdsMax = 10000;  // ids per ByOrganisation call
inline constexpr int64_t kVerifyPageRows = 1000;       // rows read per Verify transaction
inline constexpr int64_t kProblemsMax = 20;            // problems listed in a VerifyReport

// What replaces before_json and after_json when a record's data is erased.
inline constexpr std::string_view kRedactedJson = R"({"redacted":true})";
// previous_hash of the first entry.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct AuditEntry {
  std::string actor_type;                  // "user" | "device" | "api_key" | "system"
  std::optional<int64_t> actor_id;         // required unless actor_type is "system"
  std::optional<int64_t> organisation_id;  // the organisation the record belongs to
  std::string action;                      // "identity.user.create"
  std::string record_type;                 // "user"
  std::string record_id;                   // "42"
  std::string before_json = "null";        // the record before the change (null: created)
  std::string after_json = "null";         // the record after the change (null: deleted)
  std::string request_id;                  // ties the entry to the access log line
};

struct AuditRecord {
  int64_t seq = 0;    // 1, 2, 3… with no gap: the position in the one chain
  int64_t at_ms = 0;  // when the change was made, ms since the Unix epoch
  AuditEntry entry;
  std::string payload_digest;  // Sha256Hex(before_json + "\n" + after_json) at append time
  std::string previous_hash;   // hash of entry seq - 1, kGenesisHash for entry 1
  std::string hash;            // Sha256Hex(CanonicalForm(…))
  bool redacted = false;       // before/after were erased; payload_digest still holds
};

struct AuditHead {
  int64_t last_seq = 0;
  std::string last_hash;
};

struct VerifyReport {
  int64_t entries = 0;  // entries read
  bool ok = true;
  std::optional<int64_t> first_bad_seq;
  // At most kProblemsMax sentences, in chain order: "entry 42: hash does not match its content
  // (altered)". problems_total counts them all.
  std::vector<std::string> problems;
  int64_t problems_total = 0;
};

// Component "platform.audit": tables audit_entries and audit_head, and the triggers that keep
// the entries append-only.
std::vector<storage::Migration> Migrations();

// Appends `entry` to the chain inside the caller's transaction (a write transaction) and
// returns its seq. Invalid entries are the caller's bug and come back as Error::Internal with
// the reason. On PostgreSQL this locks the single chain head until the transaction ends, so
// all appends across processes form one chain: call it last in the use case, after the change,
// to hold the lock briefly (and to take locks in one order: data rows, then the head).
Result<int64_t> Append(storage::Transaction& tx, const AuditEntry& entry, int64_t now_ms);

// Erases the before/after data of every entry of one record (GDPR erasure): both become
// kRedactedJson and the entries are flagged redacted; the chain still verifies. The erasure use
// case appends its own entry for the erasure in the same transaction, after this call (so
// that entry keeps its own before/after).
Status Redact(storage::Transaction& tx, std::string_view record_type, std::string_view record_id);

// Entries of one record, newest first, at most `limit` (clamped to 1..kHistoryPageMax), older
// than `before_seq` when given (the next page starts before the last seq of this one).
Result<std::vector<AuditRecord>> History(storage::Transaction& tx, std::string_view record_type,
                                         std::string_view record_id, int64_t limit,
                                         std::optional<int64_t> before_seq);

// Entries of the given organisations, newest first: the caller passes the ids it may see
// (an organisation and its subtree), at most kOrganisationIdsMax of them.
Result<std::vector<AuditRecord>> ByOrganisation(storage::Transaction& tx,
                                                const std::vector<int64_t>& organisation_ids,
                                                int64_t limit, std::optional<int64_t> before_seq);

// The chain head: what to publish elsewhere to anchor the trail.
Result<AuditHead> Head(storage::Transaction& tx);

// Reads the whole trail page by page (kVerifyPageRows per read transaction, so it never holds
// one long transaction) and recomputes every digest, hash and link. Runs alongside appends.
// A database error is an error; a tampered trail is a report with ok = false.
Result<VerifyReport> Verify(storage::Database& database);

// The bytes an entry's hash is computed over: netstrings (djb) of, in order, the format tag
// "guichet.audit.v1", seq, at_ms, actor_type, actor_id, organisation_id, action, record_type,
// record_id, request_id, payload_digest and previous_hash. Each field is "<length>:<bytes>,"
// with the length in decimal bytes; numbers are in decimal and an absent id is the empty
// string (no number is empty), so two different entries never encode alike. Changing this
// breaks every existing chain: it would need a new format tag.
std::string CanonicalForm(int64_t seq, int64_t at_ms, const AuditEntry& entry,
                          std::string_view payload_digest, std::string_view previous_hash);
std::string PayloadDigest(std::string_view before_json, std::string_view after_json);

}  // namespace guichet::audit
