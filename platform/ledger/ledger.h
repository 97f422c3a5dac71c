// The platform ledger: the one write path for money and counts in every module.
//
// Double entry in integer minor units (int64). An account belongs to one ledger, named by its
// asset code ("EUR", a token counter such as "MEAL"); a transfer debits one account and credits
// another of the same ledger by the same amount, so the sum over the accounts of a ledger is
// zero at all times. The data model is TigerBeetle's: accounts carry posted and pending debits
// and credits, flags that the ledger enforces atomically with every write (never negative,
// closed), and transfers carry a client-chosen id that makes every submission idempotent.
//
// Two ways in, one engine:
//   - `CreateTransfers(tx, …)` runs inside the caller's own transaction, for use cases that
//     write other rows atomically with money.
//   - `Ledger` (group_commit.h) queues requests from many threads and applies everything queued
//     in one transaction and one durable commit, answering each caller after the commit.
//
// Correctness comes from the database, never from process memory, so several processes can
// share one PostgreSQL: a batch locks the rows of the accounts it touches (in id order), reads
// them fresh, evaluates the transfers in memory against them, then writes with conditional
// updates whose row count is checked, and CHECK constraints back the account flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/result.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::ledger {

// ---- Limits ------------------------------------------------------------------------------------

// Transfer ids are client-chosen keys of 1–64 characters from [A-Za-z0-9._:-]: a UUID, 32 hex
// digits of a 128-bit id, or a structured key such as "pos-17:2026-11-24:000042". The client
// makes the id and keeps it before submitting, so a retry after a lost answer is always safe.
inline constexpr int64_t kTransferIdBytesMax = 64;
// Asset codes: 1–16 of [A-Z0-9_], starting with a letter ("EUR", "MEAL").
inline constexpr int64_t kLedgerBytesMax = 16;
// Account kinds and transfer codes: 1–64 of [a-z0-9_.], starting with a letter.
inline constexpr int64_t kCodeBytesMax = 64;
// Free text the caller keeps with a transfer (an order number, the id of an earlier attempt):
// UTF-8 without control characters.
inline constexpr int64_t kReferenceBytesMax = 200;
// A pending transfer holds funds for at most this long.
inline constexpr int64_t kTimeoutSMax = int64_t{30} * 24 * 3600;
// Transfers in one request (one CreateTransfers call, one Ledger submission) and in one
// database transaction of the group committer (TigerBeetle's batch size).
inline constexpr int64_t kBatchTransfersMax = 8190;
// Pending transfers expired per database transaction by ExpirePending.
inline constexpr int64_t kExpireBatchTransfersMax = 1000;
// Transactions ExpirePending runs before returning (it is called again by its job).
inline constexpr int64_t kExpireBatchesMax = 100;

// ---- Accounts ----------------------------------------------------------------------------------

namespace account_flags {
// Never negative for a credit-normal account (a holder's balance): debits, posted and pending,
// never exceed posted credits.
inline constexpr int64_t kDebitsMustNotExceedCredits = 1 << 0;
// The mirror image, for debit-normal accounts.
inline constexpr int64_t kCreditsMustNotExceedDebits = 1 << 1;
// Refuses new transfers, pending transfers and posts; voids and expiries still release holds.
inline constexpr int64_t kClosed = 1 << 2;
inline constexpr int64_t kAll = kDebitsMustNotExceedCredits | kCreditsMustNotExceedDebits | kClosed;
}  // namespace account_flags

struct Account {
  int64_t id = 0;      // assigned by the database
  std::string ledger;  // asset code
  int64_t organisation_id = 0;
  std::string code;   // kind: "holder", "merchant", "float"…
  int64_t flags = 0;  // account_flags
  int64_t debits_posted = 0;
  int64_t credits_posted = 0;
  int64_t debits_pending = 0;
  int64_t credits_pending = 0;
  int64_t created_at_ms = 0;

  // Balances of a credit-normal account (a holder's money): what it holds, and what it can
  // still spend once the holds (pending debits) are counted.
  int64_t CreditBalance() const { return credits_posted - debits_posted; }
  int64_t AvailableCredit() const { return credits_posted - debits_posted - debits_pending; }
  bool IsClosed() const { return (flags & account_flags::kClosed) != 0; }
};

struct NewAccount {
  std::string ledger;
  int64_t organisation_id = 0;
  std::string code;
  int64_t flags = 0;
};

// Errors are invalid-input errors with codes ledger_invalid, account_code_invalid,
// organisation_id_invalid, account_flags_unknown, account_flags_are_mutually_exclusive.
Result<Account> CreateAccount(storage::Transaction& tx, const NewAccount& account, int64_t now_ms);
Result<std::optional<Account>> LookupAccount(storage::Transaction& tx, int64_t id);
// Closing takes effect for every transfer evaluated after the caller's transaction commits
// (the row lock orders it with batches); reopening lifts it. Error: account_not_found.
Status CloseAccount(storage::Transaction& tx, int64_t id);
Status ReopenAccount(storage::Transaction& tx, int64_t id);

// ---- Transfers ---------------------------------------------------------------------------------

namespace transfer_flags {
// This transfer and the next one in the request commit or fail together (an operation and its
// fee). A chain is a run of linked transfers closed by the first one without the flag.
inline constexpr int64_t kLinked = 1 << 0;
// Reserves the amount (debits_pending / credits_pending) until posted, voided or expired.
inline constexpr int64_t kPending = 1 << 1;
// Posts the pending transfer named by pending_id, for its amount or a smaller one.
inline constexpr int64_t kPostPending = 1 << 2;
// Releases the pending transfer named by pending_id.
inline constexpr int64_t kVoidPending = 1 << 3;
inline constexpr int64_t kAll = kLinked | kPending | kPostPending | kVoidPending;
}  // namespace transfer_flags

// What a caller submits. The kind follows from the flags and reverses_id:
//   plain (posted at once), pending, post_pending, void_pending, reversal.
// On post_pending, void_pending and reversals, the accounts, the amount and the ledger may be
// left at 0 / empty: they are then taken from the referenced transfer (the full amount);
// when given, they must agree with it. A reversal moves money back from the original's credit
// account to its debit account, for the full amount or less, and a transfer is reversed once.
struct Transfer {
  std::string id;
  int64_t debit_account_id = 0;
  int64_t credit_account_id = 0;
  int64_t amount = 0;       // minor units
  std::string ledger;       // asset code; must be the accounts' ledger
  int64_t flags = 0;        // transfer_flags
  std::string pending_id;   // post_pending / void_pending only
  std::string reverses_id;  // reversals only
  int64_t timeout_s = 0;    // pending only: expires after this many seconds; 0: never
  std::string code;         // optional: why the money moves ("payment", "fee", "top_up"…)
  std::string reference;    // optional, free text

  bool operator==(const Transfer&) const = default;
};

// The outcome of one transfer. Exhaustive; every value has a stable string code
// (CreateTransferResultName) that clients and the HTTP layer branch on.
enum class CreateTransferResult {
  kOk,
  // Chains.
  kLinkedEventFailed,     // another transfer of its chain failed: nothing of the chain applied
  kLinkedEventChainOpen,  // the last transfer of the request has the linked flag
  // The transfer itself (checked before anything is read).
  kIdInvalid,
  kFlagsUnknown,
  kFlagsAreMutuallyExclusive,  // more than one of pending, post, void, reversal
  kPendingIdRequired,
  kPendingIdMustBeEmpty,
  kPendingIdMustBeDifferent,
  kPendingIdInvalid,
  kReversesIdMustBeDifferent,
  kReversesIdInvalid,
  kTimeoutReservedForPendingTransfer,
  kTimeoutInvalid,
  kAmountMustBePositive,
  kAccountsMustBeDifferent,
  kLedgerInvalid,
  kCodeInvalid,
  kReferenceInvalid,  // too long, not UTF-8, or with control characters
  // Idempotency: the id was used before.
  kExists,
  kExistsWithDifferentFlags,
  kExistsWithDifferentDebitAccount,
  kExistsWithDifferentCreditAccount,
  kExistsWithDifferentAmount,
  kExistsWithDifferentLedger,
  kExistsWithDifferentPendingId,
  kExistsWithDifferentReversesId,
  kExistsWithDifferentTimeout,
  kExistsWithDifferentCode,
  kExistsWithDifferentReference,
  kIdAlreadyFailed,  // the id failed before for a reason that could change: a retry needs a new id
  // Accounts.
  kDebitAccountNotFound,
  kCreditAccountNotFound,
  kLedgerMismatch,          // the two accounts hold different assets
  kTransferLedgerMismatch,  // the transfer names another asset than its accounts'
  kAccountClosed,
  kExceedsCredits,  // the debit account's debits would exceed its credits (never negative)
  kExceedsDebits,   // the credit account's credits would exceed its debits
  kOverflowsDebits,
  kOverflowsCredits,
  // Two-phase transfers.
  kPendingTransferNotFound,
  kPendingTransferNotPending,
  kPendingTransferAlreadyPosted,
  kPendingTransferAlreadyVoided,
  kPendingTransferExpired,
  kPendingTransferHasDifferentDebitAccount,
  kPendingTransferHasDifferentCreditAccount,
  kPendingTransferHasDifferentLedger,
  kPendingTransferHasDifferentAmount,  // a void names another amount than the pending one
  kExceedsPendingTransferAmount,       // a post names more than the pending amount
  // Reversals.
  kReversedTransferNotFound,
  kReversedTransferNotPosted,  // pending and void transfers moved no posted money
  kReversedTransferAlreadyReversed,
  kReversalHasDifferentDebitAccount,   // must be the original's credit account
  kReversalHasDifferentCreditAccount,  // must be the original's debit account
  kReversalHasDifferentLedger,
  kExceedsReversedTransferAmount,
};
inline constexpr int64_t kCreateTransferResultCount =
    static_cast<int64_t>(CreateTransferResult::kExceedsReversedTransferAmount) + 1;

std::string_view CreateTransferResultName(CreateTransferResult result);
std::optional<CreateTransferResult> ParseCreateTransferResult(std::string_view name);
// Results that depend on the ledger's state and could turn out otherwise later (an account
// created, funds arriving). The id of such a failure is kept, and reusing it answers
// id_already_failed, so that the first answer a client got stays the answer.
bool IsTransient(CreateTransferResult result);

using TransferResults = std::vector<CreateTransferResult>;  // one per transfer, in order

// Applies `transfers` (at most kBatchTransfersMax) in the caller's write transaction, in order,
// linked chains atomic, and returns one result per transfer. An error is a database failure
// (the caller's transaction must then roll back); refusals are results, not errors.
Result<TransferResults> CreateTransfers(storage::Transaction& tx,
                                        const std::vector<Transfer>& transfers, int64_t now_ms);

enum class PendingState { kNone, kPending, kPosted, kVoided, kExpired };
std::string_view PendingStateName(PendingState state);

// A transfer as stored: accounts, amount and ledger filled in from the referenced transfer;
// failures (result != kOk, transient ones only) as they were submitted.
struct TransferRecord {
  int64_t seq = 0;  // order of commitment (for paging)
  Transfer transfer;
  CreateTransferResult result = CreateTransferResult::kOk;
  PendingState pending_state = PendingState::kNone;  // for pending transfers
  int64_t expires_at_ms = 0;                         // 0: never
  int64_t created_at_ms = 0;
};

Result<std::optional<TransferRecord>> LookupTransfer(storage::Transaction& tx, std::string_view id);
// The transfers that moved an account (result ok), newest first, a page at a time.
inline constexpr int64_t kHistoryPageMax = 500;
Result<std::vector<TransferRecord>> AccountTransfers(storage::Transaction& tx, int64_t account_id,
                                                     int64_t limit,
                                                     std::optional<int64_t> before_seq);

// Expires the pending transfers whose timeout has passed at `now_ms`, releasing their holds;
// returns how many. A job calls it every few seconds; until then an expired hold keeps its
// funds reserved (posts and voids of it are already refused with pending_transfer_expired).
Result<int64_t> ExpirePending(storage::Database& database, int64_t now_ms);

// Checks, over the whole database: the sums of each ledger are zero (posted and pending); every
// account's flags hold; every account's balances equal the sums of its transfers; transfers
// name existing accounts of their ledger. An error (code ledger_invariant_broken) names what
// does not hold. Full scans: for tests, the reconciliation job and operators, not hot paths.
Status CheckInvariants(storage::Database& database);

std::vector<storage::Migration> Migrations();

}  // namespace guichet::ledger
