#include "platform/ledger/ledger.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "platform/ledger/state_machine.h"
#include "platform/ledger/store.h"

namespace guichet::ledger {
namespace {

using R = CreateTransferResult;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

// The stable names, in enum order (checked at start-up by ResultNames()).
constexpr std::array<std::pair<R, std::string_view>, kCreateTransferResultCount> kResultNames = {{
    {R::kOk, "ok"},
    {R::kLinkedEventFailed, "linked_event_failed"},
    {R::kLinkedEventChainOpen, "linked_event_chain_open"},
    {R::kIdInvalid, "id_invalid"},
    {R::kFlagsUnknown, "flags_unknown"},
    {R::kFlagsAreMutuallyExclusive, "flags_are_mutually_exclusive"},
    {R::kPendingIdRequired, "pending_id_required"},
    {R::kPendingIdMustBeEmpty, "pending_id_must_be_empty"},
    {R::kPendingIdMustBeDifferent, "pending_id_must_be_different"},
    {R::kPendingIdInvalid, "pending_id_invalid"},
    {R::kReversesIdMustBeDifferent, "reverses_id_must_be_different"},
    {R::kReversesIdInvalid, "reverses_id_invalid"},
    {R::kTimeoutReservedForPendingTransfer, "timeout_reserved_for_pending_transfer"},
    {R::kTimeoutInvalid, "timeout_invalid"},
    {R::kAmountMustBePositive, "amount_must_be_positive"},
    {R::kAccountsMustBeDifferent, "accounts_must_be_different"},
    {R::kLedgerInvalid, "ledger_invalid"},
    {R::kCodeInvalid, "code_invalid"},
    {R::kReferenceInvalid, "reference_invalid"},
    {R::kExists, "exists"},
    {R::kExistsWithDifferentFlags, "exists_with_different_flags"},
    {R::kExistsWithDifferentDebitAccount, "exists_with_different_debit_account"},
    {R::kExistsWithDifferentCreditAccount, "exists_with_different_credit_account"},
    {R::kExistsWithDifferentAmount, "exists_with_different_amount"},
    {R::kExistsWithDifferentLedger, "exists_with_different_ledger"},
    {R::kExistsWithDifferentPendingId, "exists_with_different_pending_id"},
    {R::kExistsWithDifferentReversesId, "exists_with_different_reverses_id"},
    {R::kExistsWithDifferentTimeout, "exists_with_different_timeout"},
    {R::kExistsWithDifferentCode, "exists_with_different_code"},
    {R::kExistsWithDifferentReference, "exists_with_different_reference"},
    {R::kIdAlreadyFailed, "id_already_failed"},
    {R::kDebitAccountNotFound, "debit_account_not_found"},
    {R::kCreditAccountNotFound, "credit_account_not_found"},
    {R::kLedgerMismatch, "ledger_mismatch"},
    {R::kTransferLedgerMismatch, "transfer_ledger_mismatch"},
    {R::kAccountClosed, "account_closed"},
    {R::kExceedsCredits, "exceeds_credits"},
    {R::kExceedsDebits, "exceeds_debits"},
    {R::kOverflowsDebits, "overflows_debits"},
    {R::kOverflowsCredits, "overflows_credits"},
    {R::kPendingTransferNotFound, "pending_transfer_not_found"},
    {R::kPendingTransferNotPending, "pending_transfer_not_pending"},
    {R::kPendingTransferAlreadyPosted, "pending_transfer_already_posted"},
    {R::kPendingTransferAlreadyVoided, "pending_transfer_already_voided"},
    {R::kPendingTransferExpired, "pending_transfer_expired"},
    {R::kPendingTransferHasDifferentDebitAccount, "pending_transfer_has_different_debit_account"},
    {R::kPendingTransferHasDifferentCreditAccount, "pending_transfer_has_different_credit_account"},
    {R::kPendingTransferHasDifferentLedger, "pending_transfer_has_different_ledger"},
    {R::kPendingTransferHasDifferentAmount, "pending_transfer_has_different_amount"},
    {R::kExceedsPendingTransferAmount, "exceeds_pending_transfer_amount"},
    {R::kReversedTransferNotFound, "reversed_transfer_not_found"},
    {R::kReversedTransferNotPosted, "reversed_transfer_not_posted"},
    {R::kReversedTransferAlreadyReversed, "reversed_transfer_already_reversed"},
    {R::kReversalHasDifferentDebitAccount, "reversal_has_different_debit_account"},
    {R::kReversalHasDifferentCreditAccount, "reversal_has_different_credit_account"},
    {R::kReversalHasDifferentLedger, "reversal_has_different_ledger"},
    {R::kExceedsReversedTransferAmount, "exceeds_reversed_transfer_amount"},
}};

constexpr bool ResultNamesInEnumOrder() {
  for (size_t i = 0; i < kResultNames.size(); ++i) {
    if (static_cast<size_t>(kResultNames[i].first) != i) return false;
    if (kResultNames[i].second.empty()) return false;
  }
  return true;
}
static_assert(ResultNamesInEnumOrder(), "kResultNames must list every result once, in order");

Status ValidateNewAccount(const NewAccount& account) {
  if (!detail::IsLedgerCode(account.ledger)) {
    return Error::Invalid("ledger_invalid",
                          "a ledger is 1-16 of [A-Z0-9_], starting with a letter");
  }
  if (!detail::IsKindCode(account.code)) {
    return Error::Invalid("account_code_invalid",
                          "an account code is 1-64 of [a-z0-9_.], starting with a letter");
  }
  if (account.organisation_id <= 0) {
    return Error::Invalid("organisation_id_invalid", "an account belongs to an organisation");
  }
  if ((account.flags & ~account_flags::kAll) != 0) {
    return Error::Invalid("account_flags_unknown", "unknown account flags");
  }
  const int64_t both =
      account_flags::kDebitsMustNotExceedCredits | account_flags::kCreditsMustNotExceedDebits;
  if ((account.flags & both) == both) {
    return Error::Invalid("account_flags_are_mutually_exclusive",
                          "debits and credits cannot both be bounded by the other");
  }
  return OkStatus();
}

Status SetClosed(Transaction& tx, int64_t id, bool closed) {
  // (flags | 4) - 4 clears the bit on both engines without relying on ~ over 64 bits.
  auto updated =
      tx.Execute(closed ? "UPDATE ledger_accounts SET flags = flags | 4 WHERE id = $1"
                        : "UPDATE ledger_accounts SET flags = (flags | 4) - 4 WHERE id = $1",
                 {id});
  static_assert(account_flags::kClosed == 4);
  if (!updated.ok()) return std::move(updated).error();
  GUICHET_ASSERT(*updated <= 1);
  if (*updated == 0) return Error::NotFound("account_not_found", "no such ledger account");
  return OkStatus();
}

struct ExpiryRound {
  int64_t selected = 0;
  int64_t expired = 0;
};

// One transaction of ExpirePending: finds due holds, locks their accounts, re-reads them under
// the locks and releases those still pending.
Result<ExpiryRound> ExpireRound(Transaction& tx, int64_t now_ms) {
  auto due = tx.Query(
      "SELECT id, debit_account_id, credit_account_id FROM ledger_transfers"
      " WHERE pending_state = 'pending' AND expires_at > 0 AND expires_at <= $1"
      " ORDER BY expires_at, seq LIMIT $2",
      {now_ms, kExpireBatchTransfersMax});
  if (!due.ok()) return std::move(due).error();
  ExpiryRound round;
  round.selected = static_cast<int64_t>(due->rows.size());
  if (round.selected == 0) return round;
  std::vector<std::string> ids;
  std::vector<int64_t> account_ids;
  for (const Row& row : due->rows) {
    ids.push_back(row.Text(0));
    account_ids.push_back(row.Int(1));
    account_ids.push_back(row.Int(2));
  }
  auto accounts = detail::LockAccounts(tx, std::move(account_ids));
  if (!accounts.ok()) return std::move(accounts).error();
  auto records = detail::ReadTransfers(tx, std::move(ids));
  if (!records.ok()) return std::move(records).error();
  std::vector<detail::StoredTransfer> stored;
  for (TransferRecord& record : *records) stored.push_back({std::move(record), false});
  detail::StateMachine machine(now_ms, *accounts, stored);
  for (const detail::StoredTransfer& transfer : stored) {
    if (machine.Expire(transfer.record.transfer.id)) ++round.expired;
  }
  GUICHET_ASSERT(round.expired <= round.selected);
  GUICHET_TRY_STATUS(detail::Write(tx, machine.TakeWrites()));
  return round;
}

}  // namespace

std::string_view CreateTransferResultName(CreateTransferResult result) {
  const auto index = static_cast<size_t>(result);
  GUICHET_ASSERT(index < kResultNames.size());
  return kResultNames[index].second;
}

std::optional<CreateTransferResult> ParseCreateTransferResult(std::string_view name) {
  for (const auto& [result, result_name] : kResultNames) {
    if (result_name == name) return result;
  }
  return std::nullopt;
}

bool IsTransient(CreateTransferResult result) {
  switch (result) {
    case R::kDebitAccountNotFound:
    case R::kCreditAccountNotFound:
    case R::kAccountClosed:
    case R::kExceedsCredits:
    case R::kExceedsDebits:
    case R::kOverflowsDebits:
    case R::kOverflowsCredits:
    case R::kPendingTransferNotFound:
    case R::kReversedTransferNotFound:
      return true;
    default:
      return false;
  }
}

std::string_view PendingStateName(PendingState state) {
  switch (state) {
    case PendingState::kNone:
      return "none";
    case PendingState::kPending:
      return "pending";
    case PendingState::kPosted:
      return "posted";
    case PendingState::kVoided:
      return "voided";
    case PendingState::kExpired:
      return "expired";
  }
  GUICHET_ASSERT(false && "unknown pending state");
  return "none";
}

Result<Account> CreateAccount(Transaction& tx, const NewAccount& account, int64_t now_ms) {
  GUICHET_ASSERT(now_ms > 0);
  GUICHET_TRY_STATUS(ValidateNewAccount(account));
  auto row = tx.QueryOne(
      fmt::format("INSERT INTO ledger_accounts (ledger, organisation_id, code, flags,"
                  " debits_posted, credits_posted, debits_pending, credits_pending, created_at)"
                  " VALUES ($1, $2, $3, $4, 0, 0, 0, 0, $5) RETURNING {}",
                  detail::kAccountColumns),
      {account.ledger, account.organisation_id, account.code, account.flags, now_ms});
  if (!row.ok()) return std::move(row).error();
  GUICHET_ASSERT(row->has_value());
  Account created = detail::ToAccount(**row);
  GUICHET_ASSERT(created.ledger == account.ledger && created.flags == account.flags);
  return created;
}

Result<std::optional<Account>> LookupAccount(Transaction& tx, int64_t id) {
  auto row = tx.QueryOne(
      fmt::format("SELECT {} FROM ledger_accounts WHERE id = $1", detail::kAccountColumns), {id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<Account>();
  return std::optional<Account>(detail::ToAccount(**row));
}

Status CloseAccount(Transaction& tx, int64_t id) { return SetClosed(tx, id, true); }
Status ReopenAccount(Transaction& tx, int64_t id) { return SetClosed(tx, id, false); }

Result<TransferResults> CreateTransfers(Transaction& tx, const std::vector<Transfer>& transfers,
                                        int64_t now_ms) {
  if (static_cast<int64_t>(transfers.size()) > kBatchTransfersMax) {
    return Error::Invalid("ledger_request_too_large",
                          fmt::format("at most {} transfers per request", kBatchTransfersMax));
  }
  if (transfers.empty()) return TransferResults();
  auto results = detail::ApplyRequests(tx, {&transfers}, now_ms);
  if (!results.ok()) return std::move(results).error();
  GUICHET_ASSERT(results->size() == 1 && results->front().size() == transfers.size());
  return std::move(results->front());
}

Result<std::optional<TransferRecord>> LookupTransfer(Transaction& tx, std::string_view id) {
  auto row = tx.QueryOne(
      fmt::format("SELECT {} FROM ledger_transfers WHERE id = $1", detail::kTransferColumns),
      {std::string(id)});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<TransferRecord>();
  return std::optional<TransferRecord>(detail::ToTransferRecord(**row));
}

Result<std::vector<TransferRecord>> AccountTransfers(Transaction& tx, int64_t account_id,
                                                     int64_t limit,
                                                     std::optional<int64_t> before_seq) {
  const int64_t page = std::clamp<int64_t>(limit, 1, kHistoryPageMax);
  auto rows =
      tx.Query(fmt::format("SELECT {} FROM ledger_transfers WHERE (debit_account_id = $1"
                           " OR credit_account_id = $1) AND result = 'ok' AND seq < $2"
                           " ORDER BY seq DESC LIMIT $3",
                           detail::kTransferColumns),
               {account_id, before_seq.value_or(std::numeric_limits<int64_t>::max()), page});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<TransferRecord> records;
  records.reserve(rows->rows.size());
  for (const Row& row : rows->rows) records.push_back(detail::ToTransferRecord(row));
  GUICHET_ASSERT(static_cast<int64_t>(records.size()) <= page);
  return records;
}

Result<int64_t> ExpirePending(storage::Database& database, int64_t now_ms) {
  GUICHET_ASSERT(now_ms > 0);
  int64_t expired = 0;
  for (int64_t batch = 0; batch < kExpireBatchesMax; ++batch) {
    auto round = database.Transact<ExpiryRound>(
        TransactionMode::kWrite, [&](Transaction& tx) { return ExpireRound(tx, now_ms); });
    if (!round.ok()) return std::move(round).error();
    expired += round->expired;
    if (round->selected < kExpireBatchTransfersMax) break;
  }
  GUICHET_ASSERT(expired >= 0);
  return expired;
}

}  // namespace guichet::ledger
