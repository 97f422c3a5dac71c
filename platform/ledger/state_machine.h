// The ledger's rules, in memory and free of I/O: given accounts and transfers freshly read (and
// locked) inside a database transaction, evaluates requests transfer by transfer and says what
// to write. The storage layer (store.h) does the reading and the writing; nothing here is kept
// between transactions, so the database stays the only source of truth.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "platform/ledger/ledger.h"

namespace guichet::ledger::detail {

// A transfer known before the batch: read from the database.
struct StoredTransfer {
  TransferRecord record;
  bool reversed = false;  // a successful reversal of it exists
};

struct AccountDelta {
  int64_t id = 0;
  int64_t debits_posted = 0;
  int64_t credits_posted = 0;
  int64_t debits_pending = 0;  // may be negative: holds released
  int64_t credits_pending = 0;
  bool moves = false;  // money moved in (posted, or a new hold): refused on a closed account
};

struct PendingChange {
  std::string id;
  PendingState state = PendingState::kPending;
};

// Everything a batch writes: new transfer rows (successes and recorded failures) in the order
// they were decided, the net change of each account, and the state changes of pending
// transfers that existed before the batch.
struct Writes {
  std::vector<TransferRecord> inserted;
  std::vector<AccountDelta> accounts;  // by id
  std::vector<PendingChange> pending;
};

// Checks a transfer on its own, before anything is read: kOk or the first problem found.
CreateTransferResult Validate(const Transfer& transfer);
bool IsTransferId(std::string_view text);
bool IsLedgerCode(std::string_view text);
bool IsKindCode(std::string_view text);
// kOk when the account's flags hold, else the result a transfer that broke them gets.
CreateTransferResult FlagsHold(const Account& account);

class StateMachine {
 public:
  // `accounts` must include every account a transfer of the batch names, and the accounts of
  // every stored transfer the batch references; `transfers` every stored transfer whose id the
  // batch uses or references.
  StateMachine(int64_t now_ms, const std::vector<Account>& accounts,
               const std::vector<StoredTransfer>& transfers);

  // Evaluates one request against the state left by the requests before it.
  TransferResults Apply(const std::vector<Transfer>& request);
  // Releases a stored pending transfer whose timeout has passed; false if it is not due or no
  // longer pending.
  bool Expire(std::string_view id);

  Writes TakeWrites() const;

 private:
  struct Entry {
    TransferRecord record;
    bool reversed = false;
    bool inserted = false;  // new in this batch
    PendingState initial_state = PendingState::kNone;
    bool initial_reversed = false;
  };
  struct Undo {
    enum class Kind { kAccount, kInserted, kPendingState, kReversed } kind;
    Account account;                           // kAccount: the account before
    std::string id;                            // the other kinds: the transfer
    PendingState state = PendingState::kNone;  // kPendingState: the state before
  };

  void ApplyChain(const std::vector<Transfer>& request, size_t first, size_t last,
                  TransferResults& results);
  CreateTransferResult ApplyOne(const Transfer& transfer);
  CreateTransferResult CompareWithExisting(const Transfer& transfer, const Entry& existing) const;
  CreateTransferResult Post(const Transfer& transfer);
  CreateTransferResult ResolvePending(const Transfer& transfer);
  CreateTransferResult CheckPendingReference(const Transfer& transfer, const Entry* pending) const;
  CreateTransferResult Reverse(const Transfer& transfer);
  CreateTransferResult CheckReversalReference(const Transfer& transfer,
                                              const Entry* original) const;
  CreateTransferResult Move(int64_t debit_id, int64_t credit_id, int64_t posted,
                            int64_t pending_delta);

  const Account* FindAccount(int64_t id) const;
  Entry* FindTransfer(const std::string& id);
  const Entry* FindTransfer(const std::string& id) const;
  void Insert(TransferRecord record);
  void RecordFailure(const Transfer& transfer, CreateTransferResult result);
  void SetAccount(const Account& account);
  void SetPendingState(Entry& entry, PendingState state);
  void SetReversed(Entry& entry);
  void Rollback();

  const int64_t now_ms_;
  std::unordered_map<int64_t, Account> accounts_;
  std::unordered_map<int64_t, Account> initial_accounts_;
  std::unordered_set<int64_t> moved_;
  std::unordered_map<std::string, Entry> transfers_;
  std::vector<std::string> inserted_ids_;
  // Inside a linked chain, every change is logged so a failure can undo the chain.
  bool recording_ = false;
  std::vector<Undo> undo_;
};

}  // namespace guichet::ledger::detail
