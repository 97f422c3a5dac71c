// The end of a holder account's life (W4, W10): closure by the holder, federation into a newer
// account, and the inactivity job (notices, fees, deletion after notice).
#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "modules/wallet/internal.h"
#include "modules/wallet/offline.h"
#include "modules/wallet/wallet.h"
#include "platform/audit/audit.h"
#include "platform/identity/identity.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/outbox.h"

namespace guichet::wallet {
namespace {

using boost::json::array;
using boost::json::object;
using identity::Caller;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

Caller ServiceCaller(std::string_view request_id) {
  Caller caller;
  caller.kind = Caller::Kind::kSystem;
  caller.request_id = std::string(request_id);
  return caller;
}

Result<Holder> Load(Transaction& tx, int64_t holder_id) {
  auto holder = FindHolder(tx, holder_id);
  if (!holder.ok()) return std::move(holder).error();
  if (!holder->has_value()) return Error::NotFound(std::string(code::kHolderNotFound), "No such holder.");
  return std::move(**holder);
}

Status Queue(Transaction& tx, const std::string& recipient, std::string_view template_code, std::string_view language,
             int64_t organisation_id, const object& variables, int64_t now_ms,
             std::optional<int64_t> holder_id = std::nullopt) {
  if (recipient.empty()) return OkStatus();
  notify::OutboxMessage message;
  if (holder_id) message.person = privacy::PersonRef{std::string(kPersonType), *holder_id};
  message.recipient = recipient;
  message.template_code = std::string(template_code);
  message.language = std::string(language);
  message.organisation_id = organisation_id;
  message.variables_json = boost::json::serialize(variables);
  auto queued = notify::Queue(tx, message, now_ms);
  if (!queued.ok()) return std::move(queued).error();
  return OkStatus();
}

// Token balances go back to the issuer: tokens are not refunded, moved or kept (W4, W10).
Result<std::vector<std::pair<std::string, int64_t>>> DropTokens(Transaction& tx, const Holder& holder,
                                                                std::string_view kind, int64_t now_ms) {
  std::vector<std::pair<std::string, int64_t>> dropped;
  auto accounts = HolderAccounts(tx, holder.id, now_ms);
  if (!accounts.ok()) return std::move(accounts).error();
  const Caller service = ServiceCaller("wallet");
  for (const HolderAccount& account : *accounts) {
    if (account.counter.euro || account.balance <= 0) continue;
    auto issuer = OperatorAccount(tx, holder.organisation_id, account.counter.code, purpose::kTokenIssue, now_ms);
    if (!issuer.ok()) return std::move(issuer).error();
    Movement movement;
    movement.holder_id = holder.id;
    movement.counter = account.counter.code;
    movement.direction = Direction::kDebit;
    movement.amount = account.available;
    movement.counterpart_account_id = *issuer;
    movement.transfer_id = fmt::format("wallet-{}-{}-{}-{}", kind, holder.id, account.counter.code, now_ms);
    movement.kind = std::string(kind);
    movement.mode = "service";
    movement.label = "Jetons perdus";
    movement.service_operation = true;
    movement.counts_as_activity = false;
    if (movement.amount <= 0) continue;
    auto moved = MoveHolder(tx, service, movement, now_ms);
    if (!moved.ok()) return std::move(moved).error();
    dropped.emplace_back(account.counter.code, movement.amount);
  }
  return dropped;
}

Status CloseLedgerAccounts(Transaction& tx, int64_t holder_id) {
  auto rows = tx.Query("SELECT ledger_account_id FROM wallet_holder_accounts WHERE holder_id = $1", {holder_id});
  if (!rows.ok()) return std::move(rows).error();
  for (const Row& row : rows->rows) GUICHET_TRY_STATUS(ledger::CloseAccount(tx, row.Int(0)));
  return OkStatus();
}

std::string DisplayName(const Holder& holder) { return fmt::format("{} {}", holder.first_name, holder.last_name); }

array TokenLines(const std::vector<std::pair<std::string, int64_t>>& tokens) {
  array out;
  for (const auto& [counter, amount] : tokens) out.push_back(boost::json::value(fmt::format("{} {}", amount, counter)));
  return out;
}

array TokensJson(const std::vector<std::pair<std::string, int64_t>>& tokens) {
  array out;
  for (const auto& [counter, amount] : tokens) out.push_back(object{{"counter", counter}, {"amount", amount}});
  return out;
}

// The institution's address for closures: the configured one, else its regional admins.
Result<std::vector<std::string>> InstitutionRecipients(Transaction& tx, const Holder& holder,
                                                       const std::string& configured) {
  if (!configured.empty()) return std::vector<std::string>{configured};
  auto rows = tx.Query(
      "SELECT DISTINCT u.email FROM grants g JOIN users u ON u.id = g.user_id JOIN organisations o"
      " ON o.id = g.organisation_id WHERE g.profile = 'wallet.regional_admin' AND u.status = 'active'"
      " AND $1 LIKE o.path || '%' ORDER BY u.email",
      {holder.organisation_path});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<std::string> out;
  for (const Row& row : rows->rows) out.push_back(row.Text(0));
  return out;
}

Status EndAccount(Transaction& tx, const Holder& holder, std::string_view state, int64_t now_ms) {
  GUICHET_TRY_STATUS(CloseLedgerAccounts(tx, holder.id));
  auto updated = tx.Execute(fmt::format("UPDATE wallet_holders SET state = '{}', closed_at = $1, updated_at = $1,"
                                        " version = version + 1 WHERE id = $2",
                                        state),
                            {now_ms, holder.id});
  if (!updated.ok()) return std::move(updated).error();
  auto sessions = tx.Execute("DELETE FROM wallet_holder_sessions WHERE holder_id = $1", {holder.id});
  if (!sessions.ok()) return std::move(sessions).error();
  return OkStatus();
}

}  // namespace

Result<Holder> Wallet::CloseMyAccount(int64_t holder_id, std::string_view request_id) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<Holder>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Holder> {
    auto holder = Load(tx, holder_id);
    if (!holder.ok()) return std::move(holder).error();
    if (holder->state != HolderState::kActive) {
      return Error::Conflict(std::string(code::kHolderNotActive), "This account is not active.");
    }
    auto euro = HolderAccountFor(tx, holder_id, kEuro, now);
    if (!euro.ok()) return std::move(euro).error();
    if (euro->balance != 0 || euro->available != 0) {
      return Error::Conflict("balance_not_zero",
                             "An account closes only with a zero euro balance: ask for a refund first.");
    }
    auto tokens = DropTokens(tx, *holder, "closure.tokens_lost", now);
    if (!tokens.ok()) return std::move(tokens).error();
    GUICHET_TRY_STATUS(EndAccount(tx, *holder, "closed", now));
    GUICHET_TRY_STATUS(Queue(tx, holder->email, "wallet.closure", holder->language, holder->organisation_id,
                             object{{"display_name", DisplayName(*holder)}, {"tokens_lost", TokenLines(*tokens)}},
                             now, holder->id));
    auto recipients = InstitutionRecipients(tx, *holder, options_.closure_notice_email);
    if (!recipients.ok()) return std::move(recipients).error();
    for (const std::string& recipient : *recipients) {
      GUICHET_TRY_STATUS(Queue(tx, recipient, "wallet.closure_institution", "fr", holder->organisation_id,
                               object{{"holder_id", holder->id}, {"display_name", DisplayName(*holder)},
                                      {"university_id", holder->university_id}},
                               now));
    }
    object after{{"state", "closed"}, {"by", "holder"}, {"tokens_lost", TokensJson(*tokens)}};
    GUICHET_TRY_STATUS(internal::Audit(tx, nullptr, "wallet.holder.close", "wallet_holder", holder_id,
                                       holder->organisation_id, object{{"state", "active"}}, after, request_id, now));
    return Load(tx, holder_id);
  });
}

Result<Wallet::Federation> Wallet::FederateOldAccount(int64_t holder_id, std::string_view old_email,
                                                      std::string_view old_password, std::string_view request_id) {
  const int64_t now = clock_.NowMs();
  auto verified = VerifyHolderPassword(old_email, old_password, request_id);
  if (!verified.ok()) {
    if (verified.error().code != "login_failed") return std::move(verified).error();
    return Error{ErrorKind::kUnauthenticated, "old_account_login_failed",
                 "Wrong e-mail or password for the older account.", {}};
  }
  const int64_t old_id = *verified;
  if (old_id == holder_id) {
    return Error{ErrorKind::kValidation, "same_holder", "This is the account you are logged in to.", {}};
  }
  return database_.Transact<Federation>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Federation> {
    auto fresh = Load(tx, holder_id);
    if (!fresh.ok()) return std::move(fresh).error();
    auto old = Load(tx, old_id);
    if (!old.ok()) return std::move(old).error();
    auto euro = HolderAccountFor(tx, old_id, kEuro, now);
    if (!euro.ok()) return std::move(euro).error();
    if (euro->available != euro->balance) {
      return Error::Conflict("operations_pending", "The older account has operations in progress: try again later.");
    }
    Federation federation;
    federation.euros_moved = euro->balance;
    if (euro->balance > 0) {
      HolderTransfer transfer;
      transfer.from_holder_id = old_id;
      transfer.to_holder_id = holder_id;
      transfer.amount = euro->balance;
      transfer.transfer_id = fmt::format("wallet-federation-{}-{}", old_id, holder_id);
      transfer.label = "Fédération de compte";
      transfer.kind = "federation";
      transfer.service_operation = true;
      const Caller service = ServiceCaller(request_id);
      auto moved = TransferBetweenHolders(tx, service, transfer, now);
      if (!moved.ok()) return std::move(moved).error();
    }
    auto tokens = DropTokens(tx, *old, "federation.tokens_not_moved", now);
    if (!tokens.ok()) return std::move(tokens).error();
    federation.tokens_not_moved = *tokens;
    GUICHET_TRY_STATUS(EndAccount(tx, *old, "federated", now));
    auto linked = tx.Execute("UPDATE wallet_holders SET federated_into = $1, federated_at = $2 WHERE id = $3",
                             {holder_id, now, old_id});
    if (!linked.ok()) return std::move(linked).error();
    GUICHET_TRY_STATUS(Queue(tx, fresh->email, "wallet.federation", fresh->language, fresh->organisation_id,
                             object{{"display_name", DisplayName(*fresh)},
                                    {"euros_moved_cents", federation.euros_moved},
                                    {"tokens_not_moved", TokenLines(*tokens)}},
                             now, holder_id));
    const object after{{"state", "federated"}, {"federated_into", holder_id}, {"euros_moved", federation.euros_moved},
                       {"tokens_not_moved", TokensJson(*tokens)}, {"by", "holder"}};
    GUICHET_TRY_STATUS(internal::Audit(tx, nullptr, "wallet.holder.federate", "wallet_holder", old_id,
                                       old->organisation_id, object{{"state", "active"}}, after, request_id, now));
    GUICHET_TRY_STATUS(internal::Audit(tx, nullptr, "wallet.holder.federation_received", "wallet_holder", holder_id,
                                       fresh->organisation_id, nullptr,
                                       object{{"from", old_id}, {"euros_moved", federation.euros_moved}, {"by", "holder"}},
                                       request_id, now));
    auto old_after = Load(tx, old_id);
    if (!old_after.ok()) return std::move(old_after).error();
    federation.old_account = std::move(*old_after);
    return federation;
  });
}

Result<InactivityReport> Wallet::RunInactivity() {
  const int64_t now = clock_.NowMs();
  auto candidates = database_.Transact<std::vector<int64_t>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<int64_t>> {
        auto rows = tx.Query("SELECT id FROM wallet_holders WHERE state IN ('active', 'pending_activation')"
                             " AND last_activity_at <= $1 ORDER BY id LIMIT $2",
                             {now - kInactivityMs, kInactivityBatchMax});
        if (!rows.ok()) return std::move(rows).error();
        std::vector<int64_t> ids;
        for (const Row& row : rows->rows) ids.push_back(row.Int(0));
        return ids;
      });
  if (!candidates.ok()) return std::move(candidates).error();
  InactivityReport report;
  for (const int64_t holder_id : *candidates) {
    auto step = database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Ok> {
      auto row = tx.QueryOne("SELECT notice_kind, notice_sent_at, last_activity_at FROM wallet_holders WHERE id = $1",
                             {holder_id});
      if (!row.ok()) return std::move(row).error();
      if (!row->has_value() || (*row)->Int(2) > now - kInactivityMs) return Ok{};  // active again
      const std::string notice = (*row)->OptionalText(0).value_or("");
      const int64_t notice_at = (*row)->OptionalInt(1).value_or(0);
      auto holder = Load(tx, holder_id);
      if (!holder.ok()) return std::move(holder).error();
      auto euro = HolderAccountFor(tx, holder_id, kEuro, now);
      if (!euro.ok()) return std::move(euro).error();
      auto mark = [&](std::string_view kind) -> Status {
        auto marked = tx.Execute("UPDATE wallet_holders SET notice_kind = $1, notice_sent_at = $2 WHERE id = $3",
                                 {std::string(kind), now, holder_id});
        if (!marked.ok()) return std::move(marked).error();
        return OkStatus();
      };
      const Caller service = ServiceCaller("wallet.inactivity");
      if (euro->balance > 0) {
        const bool notice_due = notice.empty() || notice == "deletion" ||
                                (notice == "fee_charged" && notice_at <= now - kInactivityFeeYearMs);
        if (notice_due) {
          GUICHET_TRY_STATUS(Queue(tx, holder->email, "wallet.inactivity_fee_notice", holder->language,
                                   holder->organisation_id,
                                   object{{"display_name", DisplayName(*holder)},
                                          {"fee_cents", std::min(euro->available, kInactivityFeeCentsPerYear)},
                                          {"notice_days", kNoticeMs / (24 * 3600 * 1000)}},
                                   now, holder_id));
          GUICHET_TRY_STATUS(mark("fee"));
          ++report.fee_notices;
        } else if (notice == "fee" && notice_at <= now - kNoticeMs) {
          const int64_t fee = std::min(euro->available, kInactivityFeeCentsPerYear);
          if (fee > 0) {
            auto fees = OperatorAccount(tx, holder->organisation_id, kEuro, purpose::kFees, now);
            if (!fees.ok()) return std::move(fees).error();
            Movement movement;
            movement.holder_id = holder_id;
            movement.direction = Direction::kDebit;
            movement.amount = fee;
            movement.counterpart_account_id = *fees;
            movement.transfer_id = fmt::format("wallet-inactivity-fee-{}-{}", holder_id, now);
            movement.kind = "fee.inactivity";
            movement.mode = "service";
            movement.label = "Frais d'inactivité";
            movement.service_operation = true;
            movement.counts_as_activity = false;
            auto charged = MoveHolder(tx, service, movement, now);
            if (!charged.ok()) return std::move(charged).error();
            ++report.fees_charged;
          }
          GUICHET_TRY_STATUS(mark("fee_charged"));
        }
        return Ok{};
      }
      // No euros: deletion after notice.
      if (notice != "deletion") {
        GUICHET_TRY_STATUS(Queue(tx, holder->email, "wallet.deletion_notice", holder->language, holder->organisation_id,
                                 object{{"display_name", DisplayName(*holder)},
                                        {"notice_days", kNoticeMs / (24 * 3600 * 1000)}},
                                 now, holder_id));
        GUICHET_TRY_STATUS(mark("deletion"));
        ++report.deletion_notices;
        return Ok{};
      }
      if (notice_at > now - kNoticeMs) return Ok{};
      auto tokens = DropTokens(tx, *holder, "deletion.tokens_lost", now);
      if (!tokens.ok()) return std::move(tokens).error();
      GUICHET_TRY_STATUS(EndAccount(tx, *holder, "closed", now));
      auto erased = tx.Execute(
          "UPDATE wallet_holders SET university_id = NULL, ine = NULL, tariff_profile = NULL, last_name = NULL,"
          " first_name = NULL, email = NULL, birth_date = NULL, phone = NULL, end_of_validity = NULL,"
          " password_hash = NULL, opposition = 'permanent' WHERE id = $1",
          {holder_id});
      if (!erased.ok()) return std::move(erased).error();
      auto supports = tx.Execute("UPDATE wallet_supports SET opposition = 'permanent', opposed_at = $1, updated_at = $1"
                                 " WHERE holder_id = $2",
                                 {now, holder_id});
      if (!supports.ok()) return std::move(supports).error();
      GUICHET_TRY_STATUS(PublishHolderSupportOppositions(tx, holder_id, now));
      auto history = tx.Execute("UPDATE wallet_holder_changes SET old_value = NULL, new_value = NULL WHERE holder_id = $1",
                                {holder_id});
      if (!history.ok()) return std::move(history).error();
      GUICHET_TRY_STATUS(audit::Redact(tx, "wallet_holder", std::to_string(holder_id)));
      GUICHET_TRY_STATUS(internal::Audit(tx, &service, "wallet.holder.delete_inactive", "wallet_holder", holder_id,
                                         holder->organisation_id, nullptr,
                                         object{{"state", "closed"}, {"tokens_lost", TokensJson(*tokens)}},
                                         "wallet.inactivity", now));
      ++report.deleted;
      return Ok{};
    });
    if (!step.ok()) return std::move(step).error();
  }
  return report;
}

}  // namespace guichet::wallet
