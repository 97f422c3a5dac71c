#include "platform/ledger/state_machine.h"

#include <algorithm>
#include <map>

namespace guichet::ledger::detail {
namespace {

using R = CreateTransferResult;
using transfer_flags::kLinked;
using transfer_flags::kPending;
using transfer_flags::kPostPending;
using transfer_flags::kVoidPending;

constexpr int64_t kMsPerS = 1000;

bool OnlyOf(std::string_view text, bool (*allowed)(char)) {
  return std::all_of(text.begin(), text.end(), allowed);
}

bool Lower(char c) { return c >= 'a' && c <= 'z'; }
bool Upper(char c) { return c >= 'A' && c <= 'Z'; }
bool Digit(char c) { return c >= '0' && c <= '9'; }

// The length of the well-formed UTF-8 sequence at text[i], or 0. Overlong forms (C0, C1,
// E0 80.., F0 80..), surrogates (ED A0..) and values past U+10FFFF are not well formed.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  GUICHET_ASSERT(i < text.size());
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    second_min = lead == 0xe0 ? 0xa0 : 0x80;
    second_max = lead == 0xed ? 0x9f : 0xbf;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    second_min = lead == 0xf0 ? 0x90 : 0x80;
    second_max = lead == 0xf4 ? 0x8f : 0xbf;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    const auto byte = static_cast<unsigned char>(text[i + k]);
    const unsigned char min = k == 1 ? second_min : 0x80;
    const unsigned char max = k == 1 ? second_max : 0xbf;
    if (byte < min || byte > max) return 0;
  }
  return length;
}

// At most kReferenceBytesMax bytes of well-formed UTF-8 without control characters: both
// engines store it as text, and PostgreSQL refuses what is not UTF-8 or holds a NUL.
bool IsReference(std::string_view text) {
  if (static_cast<int64_t>(text.size()) > kReferenceBytesMax) return false;
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x20 || lead == 0x7f) return false;
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

bool Succeeded(R result) { return result == R::kOk || result == R::kExists; }

bool IsPostOrVoid(const Transfer& transfer) {
  return (transfer.flags & (kPostPending | kVoidPending)) != 0;
}

// Post, void and reversal take what they leave out from the transfer they name.
bool IsReferencing(const Transfer& transfer) {
  return IsPostOrVoid(transfer) || !transfer.reverses_id.empty();
}

R ValidateReferences(const Transfer& transfer) {
  if (IsPostOrVoid(transfer)) {
    if (transfer.pending_id.empty()) return R::kPendingIdRequired;
    if (transfer.pending_id == transfer.id) return R::kPendingIdMustBeDifferent;
    if (!IsTransferId(transfer.pending_id)) return R::kPendingIdInvalid;
  } else if (!transfer.pending_id.empty()) {
    return R::kPendingIdMustBeEmpty;
  }
  if (!transfer.reverses_id.empty()) {
    if (transfer.reverses_id == transfer.id) return R::kReversesIdMustBeDifferent;
    if (!IsTransferId(transfer.reverses_id)) return R::kReversesIdInvalid;
  }
  if (transfer.timeout_s != 0 && (transfer.flags & kPending) == 0) {
    return R::kTimeoutReservedForPendingTransfer;
  }
  if (transfer.timeout_s < 0 || transfer.timeout_s > kTimeoutSMax) return R::kTimeoutInvalid;
  return R::kOk;
}

R ValidateAmountsAndNames(const Transfer& transfer) {
  const bool referencing = IsReferencing(transfer);
  // A reference may leave the amount at 0 (the whole referenced amount), never below.
  if (transfer.amount < 0 || (transfer.amount == 0 && !referencing)) {
    return R::kAmountMustBePositive;
  }
  if (transfer.debit_account_id != 0 && transfer.debit_account_id == transfer.credit_account_id) {
    return R::kAccountsMustBeDifferent;
  }
  if ((!referencing || !transfer.ledger.empty()) && !IsLedgerCode(transfer.ledger)) {
    return R::kLedgerInvalid;
  }
  if (!transfer.code.empty() && !IsKindCode(transfer.code)) return R::kCodeInvalid;
  if (!IsReference(transfer.reference)) return R::kReferenceInvalid;
  return R::kOk;
}

// a + b, or false when it does not fit in an int64.
bool AddChecked(int64_t& a, int64_t b) { return !__builtin_add_overflow(a, b, &a); }

bool SumFits(int64_t a, int64_t b) {
  int64_t sum = 0;
  return !__builtin_add_overflow(a, b, &sum);
}

void AssertWellFormed(const Account& account) {
  GUICHET_ASSERT(account.id > 0);
  GUICHET_ASSERT(account.debits_posted >= 0 && account.credits_posted >= 0);
  GUICHET_ASSERT(account.debits_pending >= 0 && account.credits_pending >= 0);
  GUICHET_ASSERT(SumFits(account.debits_posted, account.debits_pending));
  GUICHET_ASSERT(SumFits(account.credits_posted, account.credits_pending));
  GUICHET_ASSERT((account.flags & ~account_flags::kAll) == 0);
  GUICHET_ASSERT(FlagsHold(account) == R::kOk);
}

}  // namespace

bool IsTransferId(std::string_view text) {
  if (text.empty() || static_cast<int64_t>(text.size()) > kTransferIdBytesMax) return false;
  return OnlyOf(text, [](char c) {
    return Lower(c) || Upper(c) || Digit(c) || c == '.' || c == '_' || c == ':' || c == '-';
  });
}

bool IsLedgerCode(std::string_view text) {
  if (text.empty() || static_cast<int64_t>(text.size()) > kLedgerBytesMax) return false;
  return Upper(text.front()) &&
         OnlyOf(text, [](char c) { return Upper(c) || Digit(c) || c == '_'; });
}

bool IsKindCode(std::string_view text) {
  if (text.empty() || static_cast<int64_t>(text.size()) > kCodeBytesMax) return false;
  return Lower(text.front()) &&
         OnlyOf(text, [](char c) { return Lower(c) || Digit(c) || c == '_' || c == '.'; });
}

CreateTransferResult Validate(const Transfer& transfer) {
  if (!IsTransferId(transfer.id)) return R::kIdInvalid;
  if ((transfer.flags & ~transfer_flags::kAll) != 0) return R::kFlagsUnknown;
  const int kinds = ((transfer.flags & kPending) != 0) + ((transfer.flags & kPostPending) != 0) +
                    ((transfer.flags & kVoidPending) != 0) + !transfer.reverses_id.empty();
  if (kinds > 1) return R::kFlagsAreMutuallyExclusive;
  const R references = ValidateReferences(transfer);
  if (references != R::kOk) return references;
  return ValidateAmountsAndNames(transfer);
}

CreateTransferResult FlagsHold(const Account& account) {
  // Callers checked the sums fit (overflows_* come first).
  if ((account.flags & account_flags::kDebitsMustNotExceedCredits) != 0 &&
      account.debits_posted + account.debits_pending > account.credits_posted) {
    return R::kExceedsCredits;
  }
  if ((account.flags & account_flags::kCreditsMustNotExceedDebits) != 0 &&
      account.credits_posted + account.credits_pending > account.debits_posted) {
    return R::kExceedsDebits;
  }
  return R::kOk;
}

StateMachine::StateMachine(int64_t now_ms, const std::vector<Account>& accounts,
                           const std::vector<StoredTransfer>& transfers)
    : now_ms_(now_ms) {
  GUICHET_ASSERT(now_ms > 0);
  for (const Account& account : accounts) {
    // Paired with the checks before writing (TakeWrites): what was read must already hold.
    AssertWellFormed(account);
    const bool added = accounts_.emplace(account.id, account).second;
    GUICHET_ASSERT(added);
  }
  initial_accounts_ = accounts_;
  for (const StoredTransfer& stored : transfers) {
    GUICHET_ASSERT(IsTransferId(stored.record.transfer.id));
    GUICHET_ASSERT(stored.record.seq > 0);
    Entry entry{stored.record, stored.reversed, false, stored.record.pending_state,
                stored.reversed};
    const bool added = transfers_.emplace(stored.record.transfer.id, std::move(entry)).second;
    GUICHET_ASSERT(added);
  }
}

TransferResults StateMachine::Apply(const std::vector<Transfer>& request) {
  GUICHET_ASSERT(static_cast<int64_t>(request.size()) <= kBatchTransfersMax);
  GUICHET_ASSERT(!recording_ && undo_.empty());
  TransferResults results(request.size(), R::kOk);
  size_t first = 0;
  while (first < request.size()) {
    size_t last = first;  // the chain is [first, last]
    while (last < request.size() && (request[last].flags & kLinked) != 0) ++last;
    if (last == request.size()) {
      // The request ends inside a chain: nothing of that chain applies.
      std::fill(results.begin() + static_cast<std::ptrdiff_t>(first), results.end(),
                R::kLinkedEventFailed);
      results.back() = R::kLinkedEventChainOpen;
      break;
    }
    ApplyChain(request, first, last, results);
    first = last + 1;
  }
  GUICHET_ASSERT(!recording_ && undo_.empty());
  return results;
}

void StateMachine::ApplyChain(const std::vector<Transfer>& request, size_t first, size_t last,
                              TransferResults& results) {
  GUICHET_ASSERT(first <= last && last < request.size());
  const bool chained = last > first;
  recording_ = chained;
  size_t failed = last + 1;
  for (size_t i = first; i <= last; ++i) {
    results[i] = ApplyOne(request[i]);
    if (!Succeeded(results[i])) {
      failed = i;
      break;
    }
  }
  if (failed <= last && chained) {
    Rollback();
    for (size_t i = first; i <= last; ++i) {
      if (i != failed) results[i] = R::kLinkedEventFailed;
    }
  }
  recording_ = false;
  undo_.clear();
  // The failure is kept after the chain's undo, so it survives it: only the transfer that
  // failed burns its id, the others of its chain can be sent again as they were.
  if (failed <= last && IsTransient(results[failed])) {
    RecordFailure(request[failed], results[failed]);
  }
}

CreateTransferResult StateMachine::ApplyOne(const Transfer& transfer) {
  const R validity = Validate(transfer);
  if (validity != R::kOk) return validity;
  if (const Entry* existing = FindTransfer(transfer.id)) {
    return CompareWithExisting(transfer, *existing);
  }
  if (IsPostOrVoid(transfer)) return ResolvePending(transfer);
  if (!transfer.reverses_id.empty()) return Reverse(transfer);
  return Post(transfer);
}

CreateTransferResult StateMachine::CompareWithExisting(const Transfer& transfer,
                                                       const Entry& existing) const {
  if (existing.record.result != R::kOk) return R::kIdAlreadyFailed;
  const Transfer& stored = existing.record.transfer;
  const bool referencing = IsReferencing(transfer);
  if (transfer.flags != stored.flags) return R::kExistsWithDifferentFlags;
  if (transfer.pending_id != stored.pending_id) return R::kExistsWithDifferentPendingId;
  if (transfer.reverses_id != stored.reverses_id) return R::kExistsWithDifferentReversesId;
  // What a reference left out was filled in from the referenced transfer: it matches.
  if ((transfer.debit_account_id != 0 || !referencing) &&
      transfer.debit_account_id != stored.debit_account_id) {
    return R::kExistsWithDifferentDebitAccount;
  }
  if ((transfer.credit_account_id != 0 || !referencing) &&
      transfer.credit_account_id != stored.credit_account_id) {
    return R::kExistsWithDifferentCreditAccount;
  }
  if ((transfer.amount != 0 || !referencing) && transfer.amount != stored.amount) {
    return R::kExistsWithDifferentAmount;
  }
  if ((!transfer.ledger.empty() || !referencing) && transfer.ledger != stored.ledger) {
    return R::kExistsWithDifferentLedger;
  }
  if (transfer.timeout_s != stored.timeout_s) return R::kExistsWithDifferentTimeout;
  if (transfer.code != stored.code) return R::kExistsWithDifferentCode;
  if (transfer.reference != stored.reference) return R::kExistsWithDifferentReference;
  return R::kExists;
}

CreateTransferResult StateMachine::Post(const Transfer& transfer) {
  const Account* debit = FindAccount(transfer.debit_account_id);
  if (debit == nullptr) return R::kDebitAccountNotFound;
  const Account* credit = FindAccount(transfer.credit_account_id);
  if (credit == nullptr) return R::kCreditAccountNotFound;
  if (debit->ledger != credit->ledger) return R::kLedgerMismatch;
  if (transfer.ledger != debit->ledger) return R::kTransferLedgerMismatch;
  if (debit->IsClosed() || credit->IsClosed()) return R::kAccountClosed;
  const bool pending = (transfer.flags & kPending) != 0;
  const R moved =
      Move(debit->id, credit->id, pending ? 0 : transfer.amount, pending ? transfer.amount : 0);
  if (moved != R::kOk) return moved;
  TransferRecord record;
  record.transfer = transfer;
  record.pending_state = pending ? PendingState::kPending : PendingState::kNone;
  record.expires_at_ms =
      pending && transfer.timeout_s > 0 ? now_ms_ + transfer.timeout_s * kMsPerS : 0;
  record.created_at_ms = now_ms_;
  Insert(std::move(record));
  return R::kOk;
}

CreateTransferResult StateMachine::CheckPendingReference(const Transfer& transfer,
                                                         const Entry* pending) const {
  if (pending == nullptr || pending->record.result != R::kOk) return R::kPendingTransferNotFound;
  const Transfer& held = pending->record.transfer;
  if ((held.flags & kPending) == 0) return R::kPendingTransferNotPending;
  switch (pending->record.pending_state) {
    case PendingState::kPending:
      break;
    case PendingState::kPosted:
      return R::kPendingTransferAlreadyPosted;
    case PendingState::kVoided:
      return R::kPendingTransferAlreadyVoided;
    case PendingState::kExpired:
      return R::kPendingTransferExpired;
    case PendingState::kNone:
      GUICHET_ASSERT(false && "a pending transfer without a state");
  }
  const int64_t expires_at = pending->record.expires_at_ms;
  if (expires_at != 0 && now_ms_ >= expires_at) return R::kPendingTransferExpired;
  if (transfer.debit_account_id != 0 && transfer.debit_account_id != held.debit_account_id) {
    return R::kPendingTransferHasDifferentDebitAccount;
  }
  if (transfer.credit_account_id != 0 && transfer.credit_account_id != held.credit_account_id) {
    return R::kPendingTransferHasDifferentCreditAccount;
  }
  if (!transfer.ledger.empty() && transfer.ledger != held.ledger) {
    return R::kPendingTransferHasDifferentLedger;
  }
  const bool post = (transfer.flags & kPostPending) != 0;
  if (post && transfer.amount > held.amount) return R::kExceedsPendingTransferAmount;
  if (!post && transfer.amount != 0 && transfer.amount != held.amount) {
    return R::kPendingTransferHasDifferentAmount;
  }
  return R::kOk;
}

CreateTransferResult StateMachine::ResolvePending(const Transfer& transfer) {
  Entry* pending = FindTransfer(transfer.pending_id);
  const R reference = CheckPendingReference(transfer, pending);
  if (reference != R::kOk) return reference;
  const Transfer held = pending->record.transfer;
  const Account* debit = FindAccount(held.debit_account_id);
  const Account* credit = FindAccount(held.credit_account_id);
  GUICHET_ASSERT(debit != nullptr && credit != nullptr);  // the store loads them
  const bool post = (transfer.flags & kPostPending) != 0;
  if (post && (debit->IsClosed() || credit->IsClosed())) return R::kAccountClosed;
  const int64_t amount = post && transfer.amount != 0 ? transfer.amount : held.amount;
  GUICHET_ASSERT(amount > 0 && amount <= held.amount);
  const R moved =
      Move(held.debit_account_id, held.credit_account_id, post ? amount : 0, -held.amount);
  if (moved != R::kOk) return moved;
  SetPendingState(*pending, post ? PendingState::kPosted : PendingState::kVoided);
  TransferRecord record;
  record.transfer = transfer;
  record.transfer.debit_account_id = held.debit_account_id;
  record.transfer.credit_account_id = held.credit_account_id;
  record.transfer.amount = amount;
  record.transfer.ledger = held.ledger;
  record.created_at_ms = now_ms_;
  Insert(std::move(record));
  return R::kOk;
}

CreateTransferResult StateMachine::CheckReversalReference(const Transfer& transfer,
                                                          const Entry* original) const {
  if (original == nullptr || original->record.result != R::kOk) return R::kReversedTransferNotFound;
  const Transfer& moved = original->record.transfer;
  if ((moved.flags & (kPending | kVoidPending)) != 0) return R::kReversedTransferNotPosted;
  if (original->reversed) return R::kReversedTransferAlreadyReversed;
  if (transfer.debit_account_id != 0 && transfer.debit_account_id != moved.credit_account_id) {
    return R::kReversalHasDifferentDebitAccount;
  }
  if (transfer.credit_account_id != 0 && transfer.credit_account_id != moved.debit_account_id) {
    return R::kReversalHasDifferentCreditAccount;
  }
  if (!transfer.ledger.empty() && transfer.ledger != moved.ledger) {
    return R::kReversalHasDifferentLedger;
  }
  if (transfer.amount > moved.amount) return R::kExceedsReversedTransferAmount;
  return R::kOk;
}

CreateTransferResult StateMachine::Reverse(const Transfer& transfer) {
  Entry* original = FindTransfer(transfer.reverses_id);
  const R reference = CheckReversalReference(transfer, original);
  if (reference != R::kOk) return reference;
  const Transfer moved = original->record.transfer;
  const Account* debit = FindAccount(moved.credit_account_id);
  const Account* credit = FindAccount(moved.debit_account_id);
  GUICHET_ASSERT(debit != nullptr && credit != nullptr);  // the store loads them
  if (debit->IsClosed() || credit->IsClosed()) return R::kAccountClosed;
  const int64_t amount = transfer.amount != 0 ? transfer.amount : moved.amount;
  GUICHET_ASSERT(amount > 0 && amount <= moved.amount);
  const R result = Move(debit->id, credit->id, amount, 0);
  if (result != R::kOk) return result;
  SetReversed(*original);
  TransferRecord record;
  record.transfer = transfer;
  record.transfer.debit_account_id = moved.credit_account_id;
  record.transfer.credit_account_id = moved.debit_account_id;
  record.transfer.amount = amount;
  record.transfer.ledger = moved.ledger;
  record.created_at_ms = now_ms_;
  Insert(std::move(record));
  return R::kOk;
}

// Debits `debit_id` and credits `credit_id` by `posted`, and changes both sides' pending amounts
// by `pending_delta` (negative: a hold released). Applies it only when every flag still holds.
CreateTransferResult StateMachine::Move(int64_t debit_id, int64_t credit_id, int64_t posted,
                                        int64_t pending_delta) {
  GUICHET_ASSERT(debit_id != credit_id);
  GUICHET_ASSERT(posted >= 0);
  Account debit = accounts_.at(debit_id);
  Account credit = accounts_.at(credit_id);
  GUICHET_ASSERT(debit.ledger == credit.ledger);
  if (!AddChecked(debit.debits_posted, posted) ||
      !AddChecked(debit.debits_pending, pending_delta) ||
      !SumFits(debit.debits_posted, debit.debits_pending)) {
    return R::kOverflowsDebits;
  }
  if (!AddChecked(credit.credits_posted, posted) ||
      !AddChecked(credit.credits_pending, pending_delta) ||
      !SumFits(credit.credits_posted, credit.credits_pending)) {
    return R::kOverflowsCredits;
  }
  // A release never takes a side below zero: the hold was counted when it was made.
  GUICHET_ASSERT(debit.debits_pending >= 0 && credit.credits_pending >= 0);
  const R debit_flags = FlagsHold(debit);
  if (debit_flags != R::kOk) return debit_flags;
  const R credit_flags = FlagsHold(credit);
  if (credit_flags != R::kOk) return credit_flags;
  if (posted > 0 || pending_delta > 0) {
    moved_.insert(debit_id);
    moved_.insert(credit_id);
  }
  SetAccount(debit);
  SetAccount(credit);
  return R::kOk;
}

bool StateMachine::Expire(std::string_view id) {
  GUICHET_ASSERT(!recording_);
  Entry* entry = FindTransfer(std::string(id));
  GUICHET_ASSERT(entry != nullptr && entry->record.result == R::kOk);
  const Transfer& held = entry->record.transfer;
  GUICHET_ASSERT((held.flags & kPending) != 0);
  const int64_t expires_at = entry->record.expires_at_ms;
  if (entry->record.pending_state != PendingState::kPending || expires_at == 0 ||
      now_ms_ < expires_at) {
    return false;
  }
  // Like a void: releasing a hold cannot break a flag, and closed accounts still release.
  const R released = Move(held.debit_account_id, held.credit_account_id, 0, -held.amount);
  GUICHET_ASSERT(released == R::kOk);
  SetPendingState(*entry, PendingState::kExpired);
  return true;
}

const Account* StateMachine::FindAccount(int64_t id) const {
  auto found = accounts_.find(id);
  return found == accounts_.end() ? nullptr : &found->second;
}

StateMachine::Entry* StateMachine::FindTransfer(const std::string& id) {
  auto found = transfers_.find(id);
  return found == transfers_.end() ? nullptr : &found->second;
}

const StateMachine::Entry* StateMachine::FindTransfer(const std::string& id) const {
  auto found = transfers_.find(id);
  return found == transfers_.end() ? nullptr : &found->second;
}

void StateMachine::Insert(TransferRecord record) {
  GUICHET_ASSERT(record.created_at_ms == now_ms_);
  const std::string id = record.transfer.id;
  Entry entry{std::move(record), false, true, PendingState::kNone, false};
  const bool added = transfers_.emplace(id, std::move(entry)).second;
  GUICHET_ASSERT(added);  // ApplyOne answered exists for a known id
  inserted_ids_.push_back(id);
  if (recording_) undo_.push_back({Undo::Kind::kInserted, {}, id, PendingState::kNone});
}

void StateMachine::RecordFailure(const Transfer& transfer, CreateTransferResult result) {
  GUICHET_ASSERT(IsTransient(result));
  GUICHET_ASSERT(!recording_);
  TransferRecord record;
  record.transfer = transfer;
  record.result = result;
  record.created_at_ms = now_ms_;
  Insert(std::move(record));
}

void StateMachine::SetAccount(const Account& account) {
  auto found = accounts_.find(account.id);
  GUICHET_ASSERT(found != accounts_.end());
  if (recording_) undo_.push_back({Undo::Kind::kAccount, found->second, {}, PendingState::kNone});
  found->second = account;
}

void StateMachine::SetPendingState(Entry& entry, PendingState state) {
  GUICHET_ASSERT(entry.record.pending_state == PendingState::kPending);
  GUICHET_ASSERT(state != PendingState::kPending && state != PendingState::kNone);
  if (recording_) {
    undo_.push_back(
        {Undo::Kind::kPendingState, {}, entry.record.transfer.id, PendingState::kPending});
  }
  entry.record.pending_state = state;
}

void StateMachine::SetReversed(Entry& entry) {
  GUICHET_ASSERT(!entry.reversed);
  if (recording_) {
    undo_.push_back({Undo::Kind::kReversed, {}, entry.record.transfer.id, PendingState::kNone});
  }
  entry.reversed = true;
}

void StateMachine::Rollback() {
  GUICHET_ASSERT(recording_);
  for (auto undo = undo_.rbegin(); undo != undo_.rend(); ++undo) {
    switch (undo->kind) {
      case Undo::Kind::kAccount:
        accounts_.at(undo->account.id) = undo->account;
        break;
      case Undo::Kind::kInserted:
        // Undone newest first, so the chain's rows are the last ones inserted.
        GUICHET_ASSERT(!inserted_ids_.empty() && inserted_ids_.back() == undo->id);
        inserted_ids_.pop_back();
        transfers_.erase(undo->id);
        break;
      case Undo::Kind::kPendingState:
        transfers_.at(undo->id).record.pending_state = undo->state;
        break;
      case Undo::Kind::kReversed:
        transfers_.at(undo->id).reversed = false;
        break;
    }
  }
  undo_.clear();
}

Writes StateMachine::TakeWrites() const {
  GUICHET_ASSERT(!recording_ && undo_.empty());
  Writes writes;
  for (const std::string& id : inserted_ids_) writes.inserted.push_back(transfers_.at(id).record);
  for (const auto& [id, entry] : transfers_) {
    if (!entry.inserted && entry.record.pending_state != entry.initial_state) {
      GUICHET_ASSERT(entry.initial_state == PendingState::kPending);
      writes.pending.push_back({id, entry.record.pending_state});
    }
    GUICHET_ASSERT(entry.inserted || entry.initial_reversed || !entry.reversed ||
                   entry.record.result == R::kOk);
  }
  std::sort(writes.pending.begin(), writes.pending.end(),
            [](const PendingChange& a, const PendingChange& b) { return a.id < b.id; });
  // Paired with the checks after reading: every flag holds on what is about to be written, and
  // each ledger's changes sum to zero.
  // Sums wrap (unsigned) rather than overflow: equal sums stay equal modulo 2^64.
  struct LedgerSums {
    uint64_t debits_posted = 0, credits_posted = 0, debits_pending = 0, credits_pending = 0;
  };
  std::map<std::string, LedgerSums> sums;
  for (const auto& [id, account] : accounts_) {
    AssertWellFormed(account);
    const Account& before = initial_accounts_.at(id);
    AccountDelta delta{id,
                       account.debits_posted - before.debits_posted,
                       account.credits_posted - before.credits_posted,
                       account.debits_pending - before.debits_pending,
                       account.credits_pending - before.credits_pending,
                       moved_.count(id) > 0};
    if (delta.debits_posted == 0 && delta.credits_posted == 0 && delta.debits_pending == 0 &&
        delta.credits_pending == 0) {
      continue;
    }
    LedgerSums& sum = sums[account.ledger];
    sum.debits_posted += static_cast<uint64_t>(delta.debits_posted);
    sum.credits_posted += static_cast<uint64_t>(delta.credits_posted);
    sum.debits_pending += static_cast<uint64_t>(delta.debits_pending);
    sum.credits_pending += static_cast<uint64_t>(delta.credits_pending);
    writes.accounts.push_back(delta);
  }
  for (const auto& [ledger, sum] : sums) {
    GUICHET_ASSERT(sum.debits_posted == sum.credits_posted);
    GUICHET_ASSERT(sum.debits_pending == sum.credits_pending);
  }
  std::sort(writes.accounts.begin(), writes.accounts.end(),
            [](const AccountDelta& a, const AccountDelta& b) { return a.id < b.id; });
  return writes;
}

}  // namespace guichet::ledger::detail
