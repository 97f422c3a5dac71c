#include "platform/ledger/store.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <unordered_map>

#include "platform/base/log.h"

namespace guichet::ledger::detail {
namespace {

using storage::Backend;
using storage::Param;
using storage::Row;
using storage::Transaction;

struct Column {
  std::string_view name;
  std::string_view type;  // PostgreSQL type; SQLite takes JSON's own types
};

// A JSON array of objects as a table `d`, one row per object.
std::string JsonRecords(Backend backend, std::string_view param,
                        std::initializer_list<Column> columns) {
  std::string out;
  if (backend == Backend::kPostgres) {
    for (const Column& column : columns) {
      out += fmt::format("{}{} {}", out.empty() ? "" : ", ", column.name, column.type);
    }
    return fmt::format("json_to_recordset({}::json) AS d({})", param, out);
  }
  for (const Column& column : columns) {
    out += fmt::format("{}value ->> '{}' AS {}", out.empty() ? "" : ", ", column.name, column.name);
  }
  return fmt::format("(SELECT {} FROM json_each({})) AS d", out, param);
}

// `column` is one of the values of a JSON array parameter.
std::string InJsonList(Backend backend, std::string_view column, std::string_view param,
                       std::string_view type) {
  if (backend == Backend::kPostgres) {
    return fmt::format("{} = ANY(ARRAY(SELECT json_array_elements_text({}::json)::{}))", column,
                       param, type);
  }
  return fmt::format("{} IN (SELECT value FROM json_each({}))", column, param);
}

// An extra condition naming the target rows' ids from a JSON array of records, for an
// UPDATE … FROM json_to_recordset on PostgreSQL: without it the planner, which guesses 100
// records and sees few matching rows, may join by scanning the whole table (a sequential scan
// of ledger_transfers on every acknowledgement); with it, an index scan on the ids. SQLite
// looks each record up by its key already.
std::string IdsOfRecords(Backend backend, std::string_view column, std::string_view param,
                         std::string_view type) {
  if (backend != Backend::kPostgres) return {};
  return fmt::format(" AND {} = ANY(ARRAY(SELECT (r->>'id')::{} FROM json_array_elements({}::json) r))",
                     column, type, param);
}

template <typename T>
std::string JsonList(const std::vector<T>& values) {
  boost::json::array array;
  array.reserve(values.size());
  for (const T& value : values) array.emplace_back(value);
  return boost::json::serialize(array);
}

template <typename T>
void SortUnique(std::vector<T>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

PendingState ParsePendingState(const std::optional<std::string>& text) {
  if (!text) return PendingState::kNone;
  if (*text == "pending") return PendingState::kPending;
  if (*text == "posted") return PendingState::kPosted;
  if (*text == "voided") return PendingState::kVoided;
  GUICHET_ASSERT(*text == "expired");  // a CHECK constraint
  return PendingState::kExpired;
}

boost::json::value NullIfEmpty(const std::string& text) {
  return text.empty() ? boost::json::value(nullptr) : boost::json::value(text);
}

std::string InsertedJson(const std::vector<TransferRecord>& records) {
  boost::json::array rows;
  rows.reserve(records.size());
  for (const TransferRecord& record : records) {
    const Transfer& t = record.transfer;
    const std::string_view state = PendingStateColumn(record.pending_state);
    rows.emplace_back(boost::json::object{
        {"id", t.id},
        {"ledger", t.ledger},
        {"debit", t.debit_account_id},
        {"credit", t.credit_account_id},
        {"amount", t.amount},
        {"flags", t.flags},
        {"pending_id", NullIfEmpty(t.pending_id)},
        {"reverses_id", NullIfEmpty(t.reverses_id)},
        {"timeout_s", t.timeout_s},
        {"expires_at", record.expires_at_ms},
        {"code", t.code},
        {"reference", t.reference},
        {"state", state.empty() ? boost::json::value(nullptr) : boost::json::value(state)},
        {"result", CreateTransferResultName(record.result)},
        {"created_at", record.created_at_ms}});
  }
  return boost::json::serialize(rows);
}

Status InsertTransfers(Transaction& tx, const std::vector<TransferRecord>& records) {
  if (records.empty()) return OkStatus();
  const std::string sql = fmt::format(
      "INSERT INTO ledger_transfers (id, ledger, debit_account_id, credit_account_id, amount,"
      " flags, pending_id, reverses_id, timeout_s, expires_at, code, reference, pending_state,"
      " result, created_at) SELECT d.id, d.ledger, d.debit, d.credit, d.amount, d.flags,"
      " d.pending_id, d.reverses_id, d.timeout_s, d.expires_at, d.code, d.reference, d.state,"
      " d.result, d.created_at FROM {} WHERE true ON CONFLICT (id) DO NOTHING",
      JsonRecords(tx.backend(), "$1",
                  {{"id", "text"},
                   {"ledger", "text"},
                   {"debit", "bigint"},
                   {"credit", "bigint"},
                   {"amount", "bigint"},
                   {"flags", "bigint"},
                   {"pending_id", "text"},
                   {"reverses_id", "text"},
                   {"timeout_s", "bigint"},
                   {"expires_at", "bigint"},
                   {"code", "text"},
                   {"reference", "text"},
                   {"state", "text"},
                   {"result", "text"},
                   {"created_at", "bigint"}}));
  auto inserted = tx.Execute(sql, {InsertedJson(records)});
  if (!inserted.ok()) return std::move(inserted).error();
  GUICHET_ASSERT(*inserted <= static_cast<int64_t>(records.size()));
  // Another process committed one of these ids after this batch looked: start again, and the
  // second look answers exists.
  if (*inserted != static_cast<int64_t>(records.size())) {
    return RetryableError("a transfer id was committed concurrently by another writer");
  }
  return OkStatus();
}

std::string AccountDeltasJson(const std::vector<AccountDelta>& deltas) {
  boost::json::array rows;
  rows.reserve(deltas.size());
  for (const AccountDelta& delta : deltas) {
    rows.emplace_back(boost::json::object{{"id", delta.id},
                                          {"dp", delta.debits_posted},
                                          {"cp", delta.credits_posted},
                                          {"dq", delta.debits_pending},
                                          {"cq", delta.credits_pending},
                                          {"moves", delta.moves ? 1 : 0}});
  }
  return boost::json::serialize(rows);
}

Status UpdateAccounts(Transaction& tx, const std::vector<AccountDelta>& deltas) {
  if (deltas.empty()) return OkStatus();
  // The flags are checked again here, by the database, on the row as it is now: the in-memory
  // evaluation decided the results, this decides whether anything is written at all.
  const std::string sql = fmt::format(
      "UPDATE ledger_accounts AS a SET debits_posted = a.debits_posted + d.dp,"
      " credits_posted = a.credits_posted + d.cp, debits_pending = a.debits_pending + d.dq,"
      " credits_pending = a.credits_pending + d.cq FROM {} WHERE a.id = d.id"
      " AND (d.moves = 0 OR (a.flags & 4) = 0)"
      " AND ((a.flags & 1) = 0 OR (a.debits_posted + d.dp) + (a.debits_pending + d.dq)"
      " <= a.credits_posted + d.cp)"
      " AND ((a.flags & 2) = 0 OR (a.credits_posted + d.cp) + (a.credits_pending + d.cq)"
      " <= a.debits_posted + d.dp){}",
      JsonRecords(tx.backend(), "$1",
                  {{"id", "bigint"},
                   {"dp", "bigint"},
                   {"cp", "bigint"},
                   {"dq", "bigint"},
                   {"cq", "bigint"},
                   {"moves", "bigint"}}),
      IdsOfRecords(tx.backend(), "a.id", "$1", "bigint"));
  static_assert(account_flags::kDebitsMustNotExceedCredits == 1);
  static_assert(account_flags::kCreditsMustNotExceedDebits == 2);
  static_assert(account_flags::kClosed == 4);
  auto updated = tx.Execute(sql, {AccountDeltasJson(deltas)});
  if (!updated.ok()) return std::move(updated).error();
  if (*updated != static_cast<int64_t>(deltas.size())) {
    // The rows are locked and were read in this transaction: a refusal means something wrote
    // the accounts outside the ledger. Nothing is committed.
    log::Error("ledger: conditional account update refused",
               {{"expected", static_cast<int64_t>(deltas.size())}, {"updated", *updated}});
    return Error::Internal("ledger: the database refused an account update the ledger allowed");
  }
  return OkStatus();
}

Status UpdatePendingStates(Transaction& tx, const std::vector<PendingChange>& changes) {
  if (changes.empty()) return OkStatus();
  boost::json::array rows;
  rows.reserve(changes.size());
  for (const PendingChange& change : changes) {
    rows.emplace_back(
        boost::json::object{{"id", change.id}, {"state", PendingStateColumn(change.state)}});
  }
  const std::string sql = fmt::format(
      "UPDATE ledger_transfers AS t SET pending_state = d.state FROM {}"
      " WHERE t.id = d.id AND t.pending_state = 'pending'{}",
      JsonRecords(tx.backend(), "$1", {{"id", "text"}, {"state", "text"}}),
      IdsOfRecords(tx.backend(), "t.id", "$1", "text"));
  auto updated = tx.Execute(sql, {boost::json::serialize(rows)});
  if (!updated.ok()) return std::move(updated).error();
  if (*updated != static_cast<int64_t>(changes.size())) {
    log::Error("ledger: pending transfer changed outside its accounts' locks",
               {{"expected", static_cast<int64_t>(changes.size())}, {"updated", *updated}});
    return Error::Internal("ledger: a pending transfer changed state during the batch");
  }
  return OkStatus();
}

// What a batch names: its ids, the ids its transfers reference, the accounts it names.
struct BatchKeys {
  std::vector<std::string> ids;
  std::vector<std::string> references;
  std::vector<std::string> reversed;
  std::vector<int64_t> accounts;
};

BatchKeys CollectKeys(const std::vector<const std::vector<Transfer>*>& requests) {
  BatchKeys keys;
  for (const std::vector<Transfer>* request : requests) {
    GUICHET_ASSERT(request != nullptr);
    for (const Transfer& transfer : *request) {
      // Malformed ids are refused before any lookup: no need to look for them.
      if (IsTransferId(transfer.id)) keys.ids.push_back(transfer.id);
      if (IsTransferId(transfer.pending_id)) keys.references.push_back(transfer.pending_id);
      if (IsTransferId(transfer.reverses_id)) {
        keys.references.push_back(transfer.reverses_id);
        keys.reversed.push_back(transfer.reverses_id);
      }
      if (transfer.debit_account_id > 0) keys.accounts.push_back(transfer.debit_account_id);
      if (transfer.credit_account_id > 0) keys.accounts.push_back(transfer.credit_account_id);
    }
  }
  SortUnique(keys.references);
  SortUnique(keys.reversed);
  return keys;
}

// The accounts of the referenced transfers must be among the locked ones. A referenced transfer
// committed by another process between the first look and the locks may not be: start again.
Status CheckReferencesLocked(const BatchKeys& keys, const std::vector<Account>& accounts,
                             const std::vector<TransferRecord>& transfers) {
  std::unordered_set<int64_t> locked;
  for (const Account& account : accounts) locked.insert(account.id);
  for (const TransferRecord& record : transfers) {
    if (record.result != CreateTransferResult::kOk) continue;
    if (!std::binary_search(keys.references.begin(), keys.references.end(), record.transfer.id)) {
      continue;
    }
    if (locked.count(record.transfer.debit_account_id) == 0 ||
        locked.count(record.transfer.credit_account_id) == 0) {
      return RetryableError("a referenced transfer appeared after its accounts were locked");
    }
  }
  return OkStatus();
}

}  // namespace

Account ToAccount(const Row& row) {
  Account account;
  account.id = row.Int(0);
  account.ledger = row.Text(1);
  account.organisation_id = row.Int(2);
  account.code = row.Text(3);
  account.flags = row.Int(4);
  account.debits_posted = row.Int(5);
  account.credits_posted = row.Int(6);
  account.debits_pending = row.Int(7);
  account.credits_pending = row.Int(8);
  account.created_at_ms = row.Int(9);
  GUICHET_ASSERT(account.id > 0);
  GUICHET_ASSERT(account.debits_posted >= 0 && account.credits_posted >= 0);  // CHECK constraints
  return account;
}

TransferRecord ToTransferRecord(const Row& row) {
  TransferRecord record;
  record.seq = row.Int(0);
  Transfer& t = record.transfer;
  t.id = row.Text(1);
  t.ledger = row.Text(2);
  t.debit_account_id = row.Int(3);
  t.credit_account_id = row.Int(4);
  t.amount = row.Int(5);
  t.flags = row.Int(6);
  t.pending_id = row.OptionalText(7).value_or("");
  t.reverses_id = row.OptionalText(8).value_or("");
  t.timeout_s = row.Int(9);
  record.expires_at_ms = row.Int(10);
  t.code = row.Text(11);
  t.reference = row.Text(12);
  record.pending_state = ParsePendingState(row.OptionalText(13));
  const auto result = ParseCreateTransferResult(row.Text(14));
  GUICHET_ASSERT(result.has_value());
  record.result = *result;
  record.created_at_ms = row.Int(15);
  GUICHET_ASSERT(record.seq > 0 && t.amount >= 0);
  GUICHET_ASSERT(
      (record.pending_state != PendingState::kNone) ==
      (record.result == CreateTransferResult::kOk && (t.flags & transfer_flags::kPending) != 0));
  return record;
}

std::string_view PendingStateColumn(PendingState state) {
  return state == PendingState::kNone ? std::string_view() : PendingStateName(state);
}

Error RetryableError(std::string message) {
  return {ErrorKind::kUnavailable, std::string(storage::kRetryable), std::move(message), {}};
}

Result<std::vector<Account>> LockAccounts(Transaction& tx, std::vector<int64_t> ids) {
  SortUnique(ids);
  if (ids.empty()) return std::vector<Account>();
  const bool postgres = tx.backend() == Backend::kPostgres;
  const std::string sql =
      fmt::format("SELECT {} FROM ledger_accounts WHERE {} ORDER BY id{}", kAccountColumns,
                  InJsonList(tx.backend(), "id", "$1", "bigint"), postgres ? " FOR UPDATE" : "");
  auto rows = tx.Query(sql, {JsonList(ids)});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<Account> accounts;
  accounts.reserve(rows->rows.size());
  for (const Row& row : rows->rows) accounts.push_back(ToAccount(row));
  GUICHET_ASSERT(accounts.size() <= ids.size());
  return accounts;
}

Result<std::vector<TransferRecord>> ReadTransfers(Transaction& tx, std::vector<std::string> ids) {
  SortUnique(ids);
  if (ids.empty()) return std::vector<TransferRecord>();
  const std::string sql = fmt::format("SELECT {} FROM ledger_transfers WHERE {}", kTransferColumns,
                                      InJsonList(tx.backend(), "id", "$1", "text"));
  auto rows = tx.Query(sql, {JsonList(ids)});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<TransferRecord> records;
  records.reserve(rows->rows.size());
  for (const Row& row : rows->rows) records.push_back(ToTransferRecord(row));
  GUICHET_ASSERT(records.size() <= ids.size());
  return records;
}

Result<std::unordered_set<std::string>> ReadReversed(Transaction& tx,
                                                     std::vector<std::string> original_ids) {
  SortUnique(original_ids);
  std::unordered_set<std::string> reversed;
  if (original_ids.empty()) return reversed;
  const std::string sql = fmt::format(
      "SELECT reverses_id FROM ledger_transfers WHERE {} AND reverses_id IS NOT NULL"
      " AND result = 'ok'",
      InJsonList(tx.backend(), "reverses_id", "$1", "text"));
  auto rows = tx.Query(sql, {JsonList(original_ids)});
  if (!rows.ok()) return std::move(rows).error();
  for (const Row& row : rows->rows) {
    const bool added = reversed.insert(row.Text(0)).second;
    GUICHET_ASSERT(added);  // a unique index: one reversal per transfer
  }
  return reversed;
}

Status Write(Transaction& tx, const Writes& writes) {
  GUICHET_TRY_STATUS(InsertTransfers(tx, writes.inserted));
  GUICHET_TRY_STATUS(UpdateAccounts(tx, writes.accounts));
  GUICHET_TRY_STATUS(UpdatePendingStates(tx, writes.pending));
  return OkStatus();
}

Result<std::vector<TransferResults>> ApplyRequests(
    Transaction& tx, const std::vector<const std::vector<Transfer>*>& requests, int64_t now_ms) {
  GUICHET_ASSERT(now_ms > 0);
  BatchKeys keys = CollectKeys(requests);
  // First look, unlocked: the accounts of the transfers referenced, so they are locked too.
  auto referenced = ReadTransfers(tx, keys.references);
  if (!referenced.ok()) return std::move(referenced).error();
  std::vector<int64_t> account_ids = keys.accounts;
  for (const TransferRecord& record : *referenced) {
    account_ids.push_back(record.transfer.debit_account_id);
    account_ids.push_back(record.transfer.credit_account_id);
  }
  auto accounts = LockAccounts(tx, std::move(account_ids));
  if (!accounts.ok()) return std::move(accounts).error();
  // Second look, under the locks: whatever changes these transfers holds the same locks.
  std::vector<std::string> transfer_ids = keys.ids;
  transfer_ids.insert(transfer_ids.end(), keys.references.begin(), keys.references.end());
  auto transfers = ReadTransfers(tx, std::move(transfer_ids));
  if (!transfers.ok()) return std::move(transfers).error();
  GUICHET_TRY_STATUS(CheckReferencesLocked(keys, *accounts, *transfers));
  auto reversed = ReadReversed(tx, keys.reversed);
  if (!reversed.ok()) return std::move(reversed).error();
  std::vector<StoredTransfer> stored;
  stored.reserve(transfers->size());
  for (TransferRecord& record : *transfers) {
    const bool is_reversed = reversed->count(record.transfer.id) > 0;
    stored.push_back({std::move(record), is_reversed});
  }
  StateMachine machine(now_ms, *accounts, stored);
  std::vector<TransferResults> results;
  results.reserve(requests.size());
  for (const std::vector<Transfer>* request : requests) results.push_back(machine.Apply(*request));
  GUICHET_TRY_STATUS(Write(tx, machine.TakeWrites()));
  return results;
}

}  // namespace guichet::ledger::detail
