#include "modules/wallet/accounts.h"

#include <fmt/format.h>

#include <algorithm>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "modules/wallet/internal.h"
#include "modules/wallet/offline.h"
#include "platform/audit/audit.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"

namespace guichet::wallet {
namespace {

using boost::json::object;
using storage::Row;
using storage::Transaction;

constexpr std::string_view kHolderColumns =
    "h.id, h.organisation_id, o.path, h.university_id, h.ine, h.tariff_profile, h.last_name,"
    " h.first_name, h.email, h.birth_date, h.phone, h.language, h.end_of_validity, h.state,"
    " h.opposition, h.password_hash IS NOT NULL, h.activated_at, h.last_activity_at,"
    " h.federated_into, h.federated_at, h.closed_at, h.created_at, h.updated_at, h.version";

constexpr std::string_view kSupportColumns =
    "id, holder_id, number, technology, form, opposition, opposed_at, created_at";

constexpr std::string_view kCounterColumns =
    "id, code, kind, nature, token_name, information_fr, information_en, label1, label2, label3,"
    " label4, active, created_at, updated_at";

std::string Text(const Row& row, size_t column) { return row.OptionalText(column).value_or(""); }

Support SupportFromRow(const Row& row) {
  Support support;
  support.id = row.Int(0);
  support.holder_id = row.Int(1);
  support.number = row.Text(2);
  support.technology = row.Text(3);
  support.is_virtual = row.Text(4) == "virtual";
  support.opposition = ParseOpposition(row.Text(5)).value_or(Opposition::kNone);
  support.opposed_at_ms = row.OptionalInt(6);
  support.created_at_ms = row.Int(7);
  return support;
}

Holder HolderFromRow(const Row& row) {
  Holder holder;
  holder.id = row.Int(0);
  holder.organisation_id = row.Int(1);
  holder.organisation_path = row.Text(2);
  holder.university_id = Text(row, 3);
  holder.ine = Text(row, 4);
  holder.tariff_profile = Text(row, 5);
  holder.last_name = Text(row, 6);
  holder.first_name = Text(row, 7);
  holder.email = Text(row, 8);
  holder.birth_date = Text(row, 9);
  holder.phone = Text(row, 10);
  holder.language = row.Text(11);
  holder.end_of_validity = Text(row, 12);
  holder.state = ParseHolderState(row.Text(13)).value_or(HolderState::kDeactivated);
  holder.opposition = ParseOpposition(row.Text(14)).value_or(Opposition::kNone);
  holder.has_password = row.Bool(15);
  holder.activated_at_ms = row.OptionalInt(16);
  holder.last_activity_at_ms = row.Int(17);
  holder.federated_into = row.OptionalInt(18);
  holder.federated_at_ms = row.OptionalInt(19);
  holder.closed_at_ms = row.OptionalInt(20);
  holder.created_at_ms = row.Int(21);
  holder.updated_at_ms = row.Int(22);
  holder.version = row.Int(23);
  return holder;
}

Counter CounterFromRow(const Row& row) {
  Counter counter;
  counter.id = row.Int(0);
  counter.code = row.Text(1);
  counter.euro = row.Text(2) == "euro";
  counter.nature = row.Text(3);
  counter.token_name = row.Text(4);
  counter.information_fr = row.Text(5);
  counter.information_en = row.Text(6);
  for (int64_t i = 0; i < kDateTimeFields; ++i) counter.labels[i] = row.Text(7 + static_cast<size_t>(i));
  counter.active = row.Bool(11);
  counter.created_at_ms = row.Int(12);
  counter.updated_at_ms = row.Int(13);
  return counter;
}

Error Refusal(ErrorKind kind, std::string_view code, std::string message) {
  return Error{kind, std::string(code), std::move(message), {}};
}

Error ThresholdError(std::string_view name, int64_t limit, int64_t value) {
  Error error = Refusal(ErrorKind::kValidation, code::kThresholdExceeded,
                        fmt::format("The amount goes over the {} threshold ({} > {}).", name, value, limit));
  error.fields.push_back({fmt::format("/{}", name), fmt::format("at most {}", limit)});
  return error;
}

using internal::ActorId;
using internal::ActorType;
using internal::Nullable;

Result<bool> ClientMay(Transaction& tx, const identity::Caller& caller, std::string_view counter_code,
                       std::string_view column) {
  if (!caller.machine()) return false;
  const std::string type = caller.kind == identity::Caller::Kind::kApiKey ? "api_key" : "device";
  auto row = tx.QueryOne(fmt::format("SELECT cc.{} FROM wallet_counter_clients cc JOIN wallet_counters c"
                                     " ON c.id = cc.counter_id WHERE c.code = $1 AND cc.client_type = $2"
                                     " AND cc.client_id = $3",
                                     column),
                         {std::string(counter_code), type, caller.id});
  if (!row.ok()) return std::move(row).error();
  return row->has_value() && (*row)->Bool(0);
}

Status WriteMovementRow(Transaction& tx, const identity::Caller& caller, int64_t holder_id,
                        const std::string& counter, Direction direction, int64_t amount,
                        const std::string& transfer_id, const std::string& kind, const std::string& mode,
                        std::optional<int64_t> support_id, int64_t fee_amount, const std::string& fee_id,
                        int64_t balance_after, const std::string& label, int64_t now_ms) {
  auto inserted = tx.Execute(
      "INSERT INTO wallet_movements (transfer_id, holder_id, counter_code, direction, amount, kind,"
      " mode, support_id, fee_amount, fee_transfer_id, balance_after, label, actor_type, actor_id, at_ms)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
      {transfer_id, holder_id, counter, std::string(direction == Direction::kCredit ? "credit" : "debit"),
       amount, kind, mode, Nullable(support_id), fee_amount,
       fee_id.empty() ? storage::Param(nullptr) : storage::Param(fee_id), balance_after, label,
       ActorType(caller), Nullable(ActorId(caller)), now_ms});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

Status AuditMovement(Transaction& tx, const identity::Caller& caller, const Holder& holder,
                     std::string_view action, const object& after, int64_t now_ms) {
  audit::AuditEntry entry;
  entry.actor_type = ActorType(caller);
  entry.actor_id = ActorId(caller);
  entry.organisation_id = holder.organisation_id;
  entry.action = std::string(action);
  entry.record_type = "wallet_holder";
  entry.record_id = std::to_string(holder.id);
  entry.after_json = boost::json::serialize(after);
  entry.request_id = caller.request_id;
  auto appended = audit::Append(tx, entry, now_ms);
  if (!appended.ok()) return std::move(appended).error();
  return OkStatus();
}

// W9: every operation sends a message (template wallet.movement, purpose "alerts"); the
// messages module applies the holder's frequency (each, daily or weekly digest).
Status QueueAlert(Transaction& tx, const Holder& holder, const Movement& movement, int64_t balance_after,
                  int64_t now_ms) {
  if (holder.email.empty()) return OkStatus();
  notify::OutboxMessage message;
  message.recipient = holder.email;
  message.template_code = "wallet.movement";
  message.language = holder.language;
  message.person = privacy::PersonRef{std::string(kPersonType), holder.id};
  message.purpose = "alerts";
  const int64_t signed_amount = movement.direction == Direction::kCredit ? movement.amount : -movement.amount;
  message.variables_json = boost::json::serialize(object{
      {"display_name", fmt::format("{} {}", holder.first_name, holder.last_name)},
      {"amount_cents", signed_amount - movement.fee_amount},
      {"balance_cents", balance_after},
      {"label", movement.label.empty() ? movement.kind : movement.label},
      {"at", now_ms}});
  message.organisation_id = holder.organisation_id;
  auto queued = notify::Queue(tx, message, now_ms);
  if (!queued.ok()) return std::move(queued).error();
  return OkStatus();
}

Error LedgerRefusal(ledger::CreateTransferResult result) {
  using R = ledger::CreateTransferResult;
  switch (result) {
    case R::kExceedsCredits:
      return Refusal(ErrorKind::kValidation, code::kInsufficientFunds, "The balance is not enough.");
    case R::kExistsWithDifferentFlags:
    case R::kExistsWithDifferentDebitAccount:
    case R::kExistsWithDifferentCreditAccount:
    case R::kExistsWithDifferentAmount:
    case R::kExistsWithDifferentLedger:
    case R::kExistsWithDifferentPendingId:
    case R::kExistsWithDifferentReversesId:
    case R::kExistsWithDifferentTimeout:
    case R::kExistsWithDifferentCode:
    case R::kExistsWithDifferentReference:
    case R::kIdAlreadyFailed:
      return Refusal(ErrorKind::kConflict, code::kDuplicateOperation,
                     fmt::format("This operation id was used before for another operation ({}).",
                                 ledger::CreateTransferResultName(result)));
    case R::kAccountClosed:
      return Refusal(ErrorKind::kConflict, code::kHolderNotActive, "The account is closed.");
    default:
      return Refusal(ErrorKind::kConflict, fmt::format("ledger_{}", ledger::CreateTransferResultName(result)),
                     fmt::format("The ledger refused the operation ({}).",
                                 ledger::CreateTransferResultName(result)));
  }
}

Status Stamp(Transaction& tx, int64_t holder_id, int64_t counter_id, int64_t field, int64_t now_ms) {
  if (field < 1 || field > kDateTimeFields) return OkStatus();
  auto updated = tx.Execute(fmt::format("UPDATE wallet_holder_accounts SET at{} = $1 WHERE holder_id = $2"
                                        " AND counter_id = $3",
                                        field),
                            {now_ms, holder_id, counter_id});
  if (!updated.ok()) return std::move(updated).error();
  return OkStatus();
}

Status TouchActivity(Transaction& tx, int64_t holder_id, int64_t now_ms) {
  auto updated = tx.Execute("UPDATE wallet_holders SET last_activity_at = $1, notice_sent_at = NULL,"
                            " notice_kind = NULL WHERE id = $2",
                            {now_ms, holder_id});
  if (!updated.ok()) return std::move(updated).error();
  return OkStatus();
}

object MovementJson(const Movement& movement, const MovementResult& result) {
  return {{"transfer_id", movement.transfer_id},
          {"counter", movement.counter},
          {"direction", movement.direction == Direction::kCredit ? "credit" : "debit"},
          {"amount", movement.amount},
          {"fee", movement.fee_amount},
          {"kind", movement.kind},
          {"mode", movement.mode},
          {"balance_after", result.balance_after}};
}

}  // namespace

// ---- Names -------------------------------------------------------------------------------------

std::string_view HolderStateName(HolderState state) {
  switch (state) {
    case HolderState::kPendingActivation: return "pending_activation";
    case HolderState::kActive: return "active";
    case HolderState::kDeactivated: return "deactivated";
    case HolderState::kClosed: return "closed";
    case HolderState::kFederated: return "federated";
  }
  GUICHET_ASSERT(false);
  return "";
}

std::optional<HolderState> ParseHolderState(std::string_view name) {
  for (auto state : {HolderState::kPendingActivation, HolderState::kActive, HolderState::kDeactivated,
                     HolderState::kClosed, HolderState::kFederated}) {
    if (HolderStateName(state) == name) return state;
  }
  return std::nullopt;
}

std::string_view OppositionName(Opposition opposition) {
  switch (opposition) {
    case Opposition::kNone: return "none";
    case Opposition::kTemporary: return "temporary";
    case Opposition::kPermanent: return "permanent";
  }
  GUICHET_ASSERT(false);
  return "";
}

std::optional<Opposition> ParseOpposition(std::string_view name) {
  for (auto opposition : {Opposition::kNone, Opposition::kTemporary, Opposition::kPermanent}) {
    if (OppositionName(opposition) == name) return opposition;
  }
  return std::nullopt;
}

int64_t Thresholds::MaxTransactionFor(std::string_view support_type) const {
  for (const auto& [type, value] : max_transaction_by_type) {
    if (type == support_type) return value;
  }
  return max_transaction_default;
}

// ---- Reading -----------------------------------------------------------------------------------

Result<std::optional<Holder>> FindHolder(Transaction& tx, int64_t holder_id) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM wallet_holders h JOIN organisations o ON"
                                     " o.id = h.organisation_id WHERE h.id = $1",
                                     kHolderColumns),
                         {holder_id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<Holder>();
  Holder holder = HolderFromRow(**row);
  auto supports = tx.Query(fmt::format("SELECT {} FROM wallet_supports WHERE holder_id = $1 ORDER BY id",
                                       kSupportColumns),
                           {holder_id});
  if (!supports.ok()) return std::move(supports).error();
  for (const Row& support : supports->rows) holder.supports.push_back(SupportFromRow(support));
  return std::optional<Holder>(std::move(holder));
}

Result<Holder> HolderInScope(Transaction& tx, int64_t holder_id, const std::vector<std::string>& scopes) {
  auto holder = FindHolder(tx, holder_id);
  if (!holder.ok()) return std::move(holder).error();
  if (holder->has_value()) {
    for (const std::string& scope : scopes) {
      if (orgs::Contains(scope, (*holder)->organisation_path)) return std::move(**holder);
    }
  }
  return Error::NotFound(std::string(code::kHolderNotFound), "No such holder.");
}

Result<std::optional<Support>> FindSupportByNumber(Transaction& tx, std::string_view number) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM wallet_supports WHERE number = $1", kSupportColumns),
                         {std::string(number)});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<Support>();
  return std::optional<Support>(SupportFromRow(**row));
}

Result<std::optional<Support>> FindSupport(Transaction& tx, int64_t support_id) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM wallet_supports WHERE id = $1", kSupportColumns),
                         {support_id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<Support>();
  return std::optional<Support>(SupportFromRow(**row));
}

Result<std::vector<Counter>> ListCounters(Transaction& tx) {
  auto rows = tx.Query(fmt::format("SELECT {} FROM wallet_counters ORDER BY kind = 'token', id",
                                   kCounterColumns),
                       {});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<Counter> counters;
  for (const Row& row : rows->rows) counters.push_back(CounterFromRow(row));
  return counters;
}

Result<Counter> CounterByCode(Transaction& tx, std::string_view counter_code) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM wallet_counters WHERE code = $1", kCounterColumns),
                         {std::string(counter_code)});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) {
    return Error::NotFound(std::string(code::kUnknownCounter),
                           fmt::format("No counter has the code '{}'.", counter_code));
  }
  return CounterFromRow(**row);
}

// An account is created on first use: two first uses at once (the first payments at a
// merchant's points, on PostgreSQL) both find none and both insert; the second insert breaks the
// unique key. Its transaction is then retried from the start (storage retries kRetryable), and
// the second look finds the account the first committed.
namespace {
Error CreatedConcurrently(Error error) {
  if (error.code != storage::kUniqueViolation) return error;
  return Error{ErrorKind::kUnavailable, std::string(storage::kRetryable),
               "an account was created concurrently: " + error.message, {}};
}
}  // namespace

namespace {

// The holder's account on an active counter, created on first use; with its balance when asked.
Result<HolderAccount> HolderAccountOn(Transaction& tx, int64_t holder_id, const Counter& counter,
                                      bool with_balance, int64_t now_ms) {
  if (!counter.active) {
    return Refusal(ErrorKind::kConflict, code::kCounterInactive,
                   fmt::format("The counter '{}' is not active.", counter.code));
  }
  auto existing = tx.QueryOne(
      "SELECT ha.ledger_account_id, ha.at1, ha.at2, ha.at3, ha.at4 FROM wallet_holder_accounts ha"
      " WHERE ha.holder_id = $1 AND ha.counter_id = $2",
      {holder_id, counter.id});
  if (!existing.ok()) return std::move(existing).error();
  HolderAccount account;
  account.holder_id = holder_id;
  account.counter = counter;
  if (existing->has_value()) {
    account.ledger_account_id = (*existing)->Int(0);
    for (int64_t i = 0; i < kDateTimeFields; ++i) account.at_ms[i] = (*existing)->OptionalInt(1 + static_cast<size_t>(i));
  } else {
    auto organisation = tx.QueryOne("SELECT organisation_id FROM wallet_holders WHERE id = $1", {holder_id});
    if (!organisation.ok()) return std::move(organisation).error();
    if (!organisation->has_value()) return Error::NotFound(std::string(code::kHolderNotFound), "No such holder.");
    ledger::NewAccount fresh{counter.code, (*organisation)->Int(0), std::string(kHolderAccountCode),
                             ledger::account_flags::kDebitsMustNotExceedCredits};
    auto created = ledger::CreateAccount(tx, fresh, now_ms);
    if (!created.ok()) return std::move(created).error();
    auto inserted = tx.Execute("INSERT INTO wallet_holder_accounts (holder_id, counter_id, ledger_account_id)"
                               " VALUES ($1, $2, $3)",
                               {holder_id, counter.id, created->id});
    if (!inserted.ok()) return CreatedConcurrently(std::move(inserted).error());
    account.ledger_account_id = created->id;
  }
  if (!with_balance) return account;
  auto ledger_account = ledger::LookupAccount(tx, account.ledger_account_id);
  if (!ledger_account.ok()) return std::move(ledger_account).error();
  GUICHET_ASSERT(ledger_account->has_value());
  account.balance = (*ledger_account)->CreditBalance();
  account.available = (*ledger_account)->AvailableCredit();
  return account;
}

}  // namespace

Result<HolderAccount> HolderAccountFor(Transaction& tx, int64_t holder_id, std::string_view counter_code,
                                       int64_t now_ms) {
  auto counter = CounterByCode(tx, counter_code);
  if (!counter.ok()) return std::move(counter).error();
  return HolderAccountOn(tx, holder_id, *counter, /*with_balance=*/true, now_ms);
}

Result<std::vector<HolderAccount>> HolderAccounts(Transaction& tx, int64_t holder_id, int64_t now_ms) {
  auto counters = ListCounters(tx);
  if (!counters.ok()) return std::move(counters).error();
  std::vector<HolderAccount> accounts;
  for (const Counter& counter : *counters) {
    if (!counter.active) continue;
    auto account = HolderAccountFor(tx, holder_id, counter.code, now_ms);
    if (!account.ok()) return std::move(account).error();
    accounts.push_back(std::move(*account));
  }
  return accounts;
}

Result<int64_t> OperatorAccount(Transaction& tx, int64_t organisation_id, std::string_view ledger_code,
                                std::string_view account_purpose, int64_t now_ms) {
  auto existing = tx.QueryOne("SELECT ledger_account_id FROM wallet_operator_accounts WHERE organisation_id = $1"
                              " AND ledger = $2 AND purpose = $3",
                              {organisation_id, std::string(ledger_code), std::string(account_purpose)});
  if (!existing.ok()) return std::move(existing).error();
  if (existing->has_value()) return (*existing)->Int(0);
  ledger::NewAccount fresh{std::string(ledger_code), organisation_id, fmt::format("operator.{}", account_purpose), 0};
  auto created = ledger::CreateAccount(tx, fresh, now_ms);
  if (!created.ok()) return std::move(created).error();
  auto inserted = tx.Execute("INSERT INTO wallet_operator_accounts (organisation_id, ledger, purpose,"
                             " ledger_account_id) VALUES ($1, $2, $3, $4)",
                             {organisation_id, std::string(ledger_code), std::string(account_purpose), created->id});
  if (!inserted.ok()) return CreatedConcurrently(std::move(inserted).error());
  return created->id;
}

Result<int64_t> PointSalesAccount(Transaction& tx, int64_t point_id, int64_t merchant_org_id,
                                  std::string_view ledger_code, int64_t now_ms) {
  auto existing = tx.QueryOne(
      "SELECT ledger_account_id FROM wallet_point_accounts WHERE point_id = $1 AND ledger = $2",
      {point_id, std::string(ledger_code)});
  if (!existing.ok()) return std::move(existing).error();
  if (existing->has_value()) return (*existing)->Int(0);
  ledger::NewAccount fresh{std::string(ledger_code), merchant_org_id,
                           fmt::format("point.{}", purpose::kSales), 0};
  auto created = ledger::CreateAccount(tx, fresh, now_ms);
  if (!created.ok()) return std::move(created).error();
  auto inserted = tx.Execute(
      "INSERT INTO wallet_point_accounts (point_id, ledger, ledger_account_id) VALUES ($1, $2, $3)",
      {point_id, std::string(ledger_code), created->id});
  if (!inserted.ok()) return CreatedConcurrently(std::move(inserted).error());
  return created->id;
}

Result<std::optional<HolderContact>> FindHolderContact(Transaction& tx, int64_t holder_id) {
  auto holder = FindHolder(tx, holder_id);
  if (!holder.ok()) return std::move(holder).error();
  if (!holder->has_value()) return std::optional<HolderContact>();
  const Holder& h = **holder;
  HolderContact contact;
  contact.display_name = h.first_name.empty() ? h.last_name : fmt::format("{} {}", h.first_name, h.last_name);
  contact.email = h.email;
  contact.phone = h.phone;
  contact.language = h.language;
  contact.organisation_id = h.organisation_id;
  contact.organisation_path = h.organisation_path;
  contact.active = h.state == HolderState::kActive || h.state == HolderState::kPendingActivation;
  return std::optional<HolderContact>(std::move(contact));
}

Result<bool> ClientMayLoad(Transaction& tx, const identity::Caller& caller, std::string_view counter_code) {
  return ClientMay(tx, caller, counter_code, "may_load");
}

Result<bool> ClientMayDebit(Transaction& tx, const identity::Caller& caller, std::string_view counter_code) {
  return ClientMay(tx, caller, counter_code, "may_debit");
}

// ---- Checks ------------------------------------------------------------------------------------

Status RequireHolderUsable(const Holder& holder) {
  if (holder.state != HolderState::kActive && holder.state != HolderState::kPendingActivation) {
    return Refusal(ErrorKind::kConflict, code::kHolderNotActive,
                   fmt::format("The account is {}.", HolderStateName(holder.state)));
  }
  if (holder.opposition != Opposition::kNone) {
    return Refusal(ErrorKind::kConflict, code::kHolderOpposed,
                   fmt::format("The account is opposed ({}).", OppositionName(holder.opposition)));
  }
  return OkStatus();
}

Status RequireSupportUsable(const Support& support) {
  if (support.opposition != Opposition::kNone) {
    return Refusal(ErrorKind::kConflict, code::kSupportOpposed,
                   fmt::format("The support is opposed ({}).", OppositionName(support.opposition)));
  }
  return OkStatus();
}

Result<Thresholds> LoadThresholds(Transaction& tx) {
  auto rows = tx.Query("SELECT name, support_type, value FROM wallet_thresholds ORDER BY name, support_type", {});
  if (!rows.ok()) return std::move(rows).error();
  Thresholds thresholds;
  for (const Row& row : rows->rows) {
    const std::string& name = row.Text(0);
    const std::string& type = row.Text(1);
    const int64_t value = row.Int(2);
    if (name == threshold::kMaxTransaction) {
      if (type == kAnySupportType) {
        thresholds.max_transaction_default = value;
      } else {
        thresholds.max_transaction_by_type.emplace_back(type, value);
      }
    } else if (name == threshold::kMaxReload) {
      thresholds.max_reload = value;
    } else if (name == threshold::kMaxBalance) {
      thresholds.max_balance = value;
    } else if (name == threshold::kQrLifetimeS) {
      thresholds.qr_lifetime_s = value;
    }
  }
  return thresholds;
}

Status CheckTransactionAmount(const Thresholds& thresholds, std::string_view support_type, int64_t amount) {
  const int64_t limit = thresholds.MaxTransactionFor(support_type);
  if (limit > 0 && amount > limit) return ThresholdError(threshold::kMaxTransaction, limit, amount);
  return OkStatus();
}

Status CheckReloadAmount(const Thresholds& thresholds, int64_t amount) {
  if (thresholds.max_reload > 0 && amount > thresholds.max_reload) {
    return ThresholdError(threshold::kMaxReload, thresholds.max_reload, amount);
  }
  return OkStatus();
}

Status CheckBalanceAfter(const Thresholds& thresholds, int64_t balance_after) {
  if (thresholds.max_balance > 0 && balance_after > thresholds.max_balance) {
    return ThresholdError(threshold::kMaxBalance, thresholds.max_balance, balance_after);
  }
  return OkStatus();
}

// ---- Movements ---------------------------------------------------------------------------------

Result<MovementResult> MoveHolder(Transaction& tx, const identity::Caller& caller, const Movement& movement,
                                  int64_t now_ms) {
  GUICHET_ASSERT(movement.amount > 0);
  GUICHET_ASSERT(movement.fee_amount == 0 || movement.fee_account_id > 0);
  Result<std::optional<Holder>> holder = std::optional<Holder>();
  if (movement.known_holder != nullptr) {
    GUICHET_ASSERT(movement.known_holder->id == movement.holder_id);
    holder = std::optional<Holder>(*movement.known_holder);
  } else {
    holder = FindHolder(tx, movement.holder_id);
  }
  if (!holder.ok()) return std::move(holder).error();
  if (!holder->has_value()) return Error::NotFound(std::string(code::kHolderNotFound), "No such holder.");
  if (!movement.service_operation) GUICHET_TRY_STATUS(RequireHolderUsable(**holder));
  // W11 on every path: a reload is at most max_reload, a debit with a support at most the
  // support type's max_transaction (the maximum balance is checked after the transfer).
  std::optional<Thresholds> thresholds;
  if (!movement.service_operation && movement.counter == kEuro) {
    auto loaded = LoadThresholds(tx);
    if (!loaded.ok()) return std::move(loaded).error();
    thresholds = std::move(*loaded);
    if (movement.direction == Direction::kCredit && movement.kind.rfind("reload", 0) == 0) {
      GUICHET_TRY_STATUS(CheckReloadAmount(*thresholds, movement.amount));
    }
  }
  if (movement.support_id) {
    // The holder's supports came with the holder: one of them, or not the holder's.
    const auto& supports = (*holder)->supports;
    const auto support = std::find_if(supports.begin(), supports.end(), [&](const Support& s) {
      return s.id == *movement.support_id;
    });
    if (support == supports.end()) {
      return Error::NotFound(std::string(code::kSupportNotFound), "No such support.");
    }
    if (!movement.service_operation) GUICHET_TRY_STATUS(RequireSupportUsable(*support));
    if (thresholds && movement.direction == Direction::kDebit) {
      GUICHET_TRY_STATUS(CheckTransactionAmount(*thresholds, support->technology, movement.amount));
    }
  }
  Result<Counter> counter = Counter{};
  if (movement.known_counter != nullptr) {
    GUICHET_ASSERT(movement.known_counter->code == movement.counter);
    counter = *movement.known_counter;
  } else {
    counter = CounterByCode(tx, movement.counter);
  }
  if (!counter.ok()) return std::move(counter).error();
  // The balance before is not needed: the ledger decides, and the balance after is read below.
  auto account = HolderAccountOn(tx, movement.holder_id, *counter, /*with_balance=*/false, now_ms);
  if (!account.ok()) return std::move(account).error();

  std::vector<ledger::Transfer> transfers;
  ledger::Transfer main;
  main.id = movement.transfer_id;
  const bool credit = movement.direction == Direction::kCredit;
  main.debit_account_id = credit ? movement.counterpart_account_id : account->ledger_account_id;
  main.credit_account_id = credit ? account->ledger_account_id : movement.counterpart_account_id;
  main.amount = movement.amount;
  main.ledger = movement.counter;
  main.code = movement.kind;
  if (movement.pending) {
    main.flags |= ledger::transfer_flags::kPending;
    main.timeout_s = movement.timeout_s;
  }
  const std::string fee_id = movement.fee_amount > 0 ? movement.transfer_id + ":fee" : "";
  if (movement.fee_amount > 0) {
    main.flags |= ledger::transfer_flags::kLinked;
    transfers.push_back(main);
    ledger::Transfer fee;
    fee.id = fee_id;
    fee.debit_account_id = account->ledger_account_id;
    fee.credit_account_id = movement.fee_account_id;
    fee.amount = movement.fee_amount;
    fee.ledger = movement.counter;
    fee.code = "fee";
    transfers.push_back(fee);
  } else {
    transfers.push_back(main);
  }
  auto results = ledger::CreateTransfers(tx, transfers, now_ms);
  if (!results.ok()) return std::move(results).error();
  bool replayed = true;
  for (auto result : *results) {
    if (result == ledger::CreateTransferResult::kOk) {
      replayed = false;
    } else if (result != ledger::CreateTransferResult::kExists) {
      // The first failure that is not the consequence of another in the chain.
      ledger::CreateTransferResult cause = result;
      for (auto other : *results) {
        if (other != ledger::CreateTransferResult::kOk && other != ledger::CreateTransferResult::kExists &&
            other != ledger::CreateTransferResult::kLinkedEventFailed) {
          cause = other;
          break;
        }
      }
      return LedgerRefusal(cause);
    }
  }
  auto after = ledger::LookupAccount(tx, account->ledger_account_id);
  if (!after.ok()) return std::move(after).error();
  GUICHET_ASSERT(after->has_value());
  MovementResult outcome{movement.transfer_id, (*after)->CreditBalance(), (*after)->AvailableCredit(), replayed};
  if (replayed) return outcome;

  if (credit && movement.enforce_max_balance && account->counter.euro) {
    auto loaded = LoadThresholds(tx);
    if (!loaded.ok()) return std::move(loaded).error();
    GUICHET_TRY_STATUS(CheckBalanceAfter(*loaded, outcome.balance_after));
  }
  GUICHET_TRY_STATUS(WriteMovementRow(tx, caller, movement.holder_id, movement.counter, movement.direction,
                                      movement.amount, movement.transfer_id, movement.kind, movement.mode,
                                      movement.support_id, movement.fee_amount, fee_id, outcome.balance_after,
                                      movement.label, now_ms));
  int64_t field = movement.stamp_field;
  if (field == 0 && !credit && account->counter.euro) field = 1;
  GUICHET_TRY_STATUS(Stamp(tx, movement.holder_id, account->counter.id, field, now_ms));
  if (movement.counts_as_activity) GUICHET_TRY_STATUS(TouchActivity(tx, movement.holder_id, now_ms));
  const object details = MovementJson(movement, outcome);
  // Every credit (card or cash reload, manager credit, load, refund) gives the holder's offline
  // debits awaiting funds a new try (W16).
  if (credit && !movement.pending) GUICHET_TRY_STATUS(ScheduleHolderRetry(tx, movement.holder_id, now_ms));
  GUICHET_TRY_STATUS(QueueAlert(tx, **holder, movement, outcome.balance_after, now_ms));
  // Last: the audit chain's lock is held from here to COMMIT (see audit::Append).
  GUICHET_TRY_STATUS(AuditMovement(tx, caller, **holder, credit ? "wallet.movement.credit" : "wallet.movement.debit",
                                   details, now_ms));
  return outcome;
}

Result<MovementResult> TransferBetweenHolders(Transaction& tx, const identity::Caller& caller,
                                              const HolderTransfer& transfer, int64_t now_ms) {
  GUICHET_ASSERT(transfer.amount > 0);
  if (transfer.from_holder_id == transfer.to_holder_id) {
    return Error{ErrorKind::kValidation, "same_holder", "A holder cannot transfer to themselves.", {}};
  }
  auto to = FindHolder(tx, transfer.to_holder_id);
  if (!to.ok()) return std::move(to).error();
  if (!to->has_value()) return Error::NotFound(std::string(code::kHolderNotFound), "No such recipient.");
  GUICHET_TRY_STATUS(RequireHolderUsable(**to));
  auto to_account = HolderAccountFor(tx, transfer.to_holder_id, kEuro, now_ms);
  if (!to_account.ok()) return std::move(to_account).error();
  Movement debit;
  debit.holder_id = transfer.from_holder_id;
  debit.direction = Direction::kDebit;
  debit.amount = transfer.amount;
  debit.counterpart_account_id = to_account->ledger_account_id;
  debit.transfer_id = transfer.transfer_id;
  debit.kind = transfer.kind;
  debit.mode = "transfer";
  debit.label = transfer.label;
  debit.stamp_field = 0;
  debit.service_operation = transfer.service_operation;
  auto sent = MoveHolder(tx, caller, debit, now_ms);
  if (!sent.ok() || sent->replayed) return sent;
  // The recipient's side: the same ledger transfer, seen as a credit.
  auto received = ledger::LookupAccount(tx, to_account->ledger_account_id);
  if (!received.ok()) return std::move(received).error();
  GUICHET_ASSERT(received->has_value());
  const int64_t balance_after = (*received)->CreditBalance();
  auto thresholds = LoadThresholds(tx);
  if (!thresholds.ok()) return std::move(thresholds).error();
  GUICHET_TRY_STATUS(CheckBalanceAfter(*thresholds, balance_after));
  GUICHET_TRY_STATUS(WriteMovementRow(tx, caller, transfer.to_holder_id, std::string(kEuro), Direction::kCredit,
                                      transfer.amount, transfer.transfer_id, transfer.kind, "transfer",
                                      std::nullopt, 0, "", balance_after, transfer.label, now_ms));
  GUICHET_TRY_STATUS(TouchActivity(tx, transfer.to_holder_id, now_ms));
  Movement credit = debit;
  credit.holder_id = transfer.to_holder_id;
  credit.direction = Direction::kCredit;
  const object details = MovementJson(credit, MovementResult{transfer.transfer_id, balance_after, 0, false});
  GUICHET_TRY_STATUS(QueueAlert(tx, **to, credit, balance_after, now_ms));
  GUICHET_TRY_STATUS(AuditMovement(tx, caller, **to, "wallet.movement.credit", details, now_ms));
  GUICHET_TRY_STATUS(ScheduleHolderRetry(tx, transfer.to_holder_id, now_ms));
  return sent;
}

namespace internal {

std::string ActorType(const identity::Caller& caller) {
  switch (caller.kind) {
    case identity::Caller::Kind::kUser: return "user";
    case identity::Caller::Kind::kApiKey: return "api_key";
    case identity::Caller::Kind::kDevice: return "device";
    case identity::Caller::Kind::kSystem:
    case identity::Caller::Kind::kAnonymous: return "system";
  }
  return "system";
}

std::optional<int64_t> ActorId(const identity::Caller& caller) {
  if (ActorType(caller) == "system") return std::nullopt;
  return caller.id;
}

storage::Param Nullable(std::optional<int64_t> value) {
  return value ? storage::Param(*value) : storage::Param(nullptr);
}

storage::Param NullableText(const std::string& value) {
  return value.empty() ? storage::Param(nullptr) : storage::Param(value);
}

Status Audit(Transaction& tx, const identity::Caller* caller, std::string_view action,
             std::string_view record_type, int64_t record_id, std::optional<int64_t> organisation_id,
             const boost::json::value& before, const boost::json::value& after,
             std::string_view request_id, int64_t now_ms) {
  audit::AuditEntry entry;
  entry.actor_type = caller != nullptr ? ActorType(*caller) : "system";
  entry.actor_id = caller != nullptr ? ActorId(*caller) : std::nullopt;
  entry.organisation_id = organisation_id;
  entry.action = std::string(action);
  entry.record_type = std::string(record_type);
  entry.record_id = std::to_string(record_id);
  entry.before_json = boost::json::serialize(before);
  entry.after_json = boost::json::serialize(after);
  entry.request_id = std::string(request_id);
  auto appended = audit::Append(tx, entry, now_ms);
  if (!appended.ok()) return std::move(appended).error();
  return OkStatus();
}

}  // namespace internal

}  // namespace guichet::wallet
