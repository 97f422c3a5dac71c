// The ledger's SQL, shared by the direct path, the group committer, expiry and the checks. Lists
// of ids and batches of rows travel as one JSON parameter (json_each on SQLite,
// json_to_recordset / json_array_elements_text on PostgreSQL), so one prepared statement serves
// every batch size, far below either engine's limit on parameters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "platform/ledger/ledger.h"
#include "platform/ledger/state_machine.h"

namespace guichet::ledger::detail {

inline constexpr std::string_view kAccountColumns =
    "id, ledger, organisation_id, code, flags, debits_posted, credits_posted, debits_pending,"
    " credits_pending, created_at";
inline constexpr std::string_view kTransferColumns =
    "seq, id, ledger, debit_account_id, credit_account_id, amount, flags, pending_id,"
    " reverses_id, timeout_s, expires_at, code, reference, pending_state, result, created_at";

Account ToAccount(const storage::Row& row);
TransferRecord ToTransferRecord(const storage::Row& row);
std::string_view PendingStateColumn(PendingState state);  // NULL is kNone: ""

// A busy/serialization-class error: Database::Transact rolls back and runs the work again.
Error RetryableError(std::string message);

// Reads the accounts, ordered by id. On PostgreSQL the rows stay locked (FOR UPDATE) until the
// transaction ends; taking them in id order keeps two batches from waiting on each other.
Result<std::vector<Account>> LockAccounts(storage::Transaction& tx, std::vector<int64_t> ids);
Result<std::vector<TransferRecord>> ReadTransfers(storage::Transaction& tx,
                                                  std::vector<std::string> ids);
// Of `original_ids`, those a successful reversal names.
Result<std::unordered_set<std::string>> ReadReversed(storage::Transaction& tx,
                                                     std::vector<std::string> original_ids);

// Writes a batch's outcome. Account changes are conditional updates that re-check every flag
// against the row in the database; a refused one (a row count short) fails the transaction.
Status Write(storage::Transaction& tx, const Writes& writes);

// Reads and locks what `requests` touch, evaluates them in order, writes the outcome.
Result<std::vector<TransferResults>> ApplyRequests(
    storage::Transaction& tx, const std::vector<const std::vector<Transfer>*>& requests,
    int64_t now_ms);

}  // namespace guichet::ledger::detail
