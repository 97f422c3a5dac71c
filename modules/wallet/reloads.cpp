#include "modules/wallet/reloads.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <cctype>
#include <charconv>

#include "modules/wallet/internal.h"
#include "modules/wallet/sepa_debits.h"
#include "platform/banking/iban.h"
#include "platform/base/crypto.h"
#include "platform/ledger/ledger.h"

namespace guichet::wallet {
namespace {

using boost::json::object;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

constexpr size_t kReferenceBytes = 10;
constexpr std::string_view kSystemRequest = "card-acquirer";

identity::Caller SystemCaller(std::string_view request_id) {
  identity::Caller caller;
  caller.kind = identity::Caller::Kind::kSystem;
  caller.request_id = std::string(request_id);
  return caller;
}

Error Validation(std::string code, std::string message, std::string pointer = "") {
  Error error{ErrorKind::kValidation, std::move(code), std::move(message), {}};
  if (!pointer.empty()) error.fields.push_back({std::move(pointer), error.message});
  return error;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

constexpr std::string_view kPaymentColumns =
    "id, reference, holder_id, amount, fee, mode, status, provider_payment_id, redirect_url, failure_code, created_at";

CardPayment PaymentFromRow(const Row& row) {
  CardPayment p;
  p.id = row.Int(0);
  p.reference = row.Text(1);
  p.holder_id = row.Int(2);
  p.amount = row.Int(3);
  p.fee = row.Int(4);
  p.mode = row.Text(5);
  p.status = row.Text(6);
  p.provider_payment_id = row.OptionalText(7).value_or("");
  p.redirect_url = row.OptionalText(8).value_or("");
  p.failure_code = row.OptionalText(9).value_or("");
  p.created_at_ms = row.Int(10);
  return p;
}

Result<std::optional<CardPayment>> PaymentByReference(Transaction& tx, std::string_view reference) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM wallet_card_payments WHERE reference = $1", kPaymentColumns),
                         {std::string(reference)});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<CardPayment>();
  return std::optional<CardPayment>(PaymentFromRow(**row));
}

constexpr std::string_view kRefundColumns =
    "id, holder_id, amount, full_balance, iban, bic, name, status, file_id, end_to_end_id, created_at";

Refund RefundFromRow(const Row& row) {
  Refund r;
  r.id = row.Int(0);
  r.holder_id = row.Int(1);
  r.amount = row.Int(2);
  r.full_balance = row.Bool(3);
  r.iban = row.Text(4);
  r.bic = row.OptionalText(5).value_or("");
  r.name = row.Text(6);
  r.status = row.Text(7);
  r.file_id = row.OptionalInt(8);
  r.end_to_end_id = row.Text(9);
  r.created_at_ms = row.Int(10);
  return r;
}

// The euro account's balance and the thresholds a credit of `amount` must fit (W11).
Status CheckCredit(Transaction& tx, int64_t holder_id, int64_t amount, int64_t now_ms) {
  auto thresholds = LoadThresholds(tx);
  if (!thresholds.ok()) return std::move(thresholds).error();
  GUICHET_TRY_STATUS(CheckReloadAmount(*thresholds, amount));
  auto account = HolderAccountFor(tx, holder_id, kEuro, now_ms);
  if (!account.ok()) return std::move(account).error();
  return CheckBalanceAfter(*thresholds, account->balance + amount);
}

Result<Holder> UsableHolder(Transaction& tx, int64_t holder_id) {
  auto holder = FindHolder(tx, holder_id);
  if (!holder.ok()) return std::move(holder).error();
  if (!holder->has_value()) return Error::NotFound(std::string(code::kHolderNotFound), "No such holder.");
  GUICHET_TRY_STATUS(RequireHolderUsable(**holder));
  return std::move(**holder);
}

std::string LinkSignature(std::string_view secret, std::string_view payload) {
  return crypto::ToHex(crypto::HmacSha256(secret, payload)).substr(0, 32);
}

bool ParseInt(std::string_view text, int64_t& out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && ptr == text.data() + text.size();
}

}  // namespace

void DeclareMoneyPermissions(identity::RightsCatalog& catalog) {
  catalog.AddPermission({std::string(right::kCashRecord),
                         "Record cash packs (5, 10, 20 EUR) paid at an authorised point into a holder's account"});
  catalog.AddPermission({std::string(right::kSepaManage),
                         "Produce and download the SEPA files for the bank (refund transfers) and follow recoveries"});
}

std::string_view CardPaymentStatusName(CardPaymentStatus status) {
  switch (status) {
    case CardPaymentStatus::kPending: return "pending";
    case CardPaymentStatus::kAuthorised: return "authorised";
    case CardPaymentStatus::kRefused: return "refused";
    case CardPaymentStatus::kCancelled: return "cancelled";
    case CardPaymentStatus::kChargedBack: return "charged_back";
    case CardPaymentStatus::kCreditFailed: return "credit_failed";
  }
  return "pending";
}

Money::Money(Wallet& wallet, payments::PaymentProvider& provider, MoneyOptions options)
    : wallet_(wallet), provider_(provider), options_(std::move(options)) {
  GUICHET_ASSERT(!options_.link_secret.empty());
}

// ---- Card reloads ----------------------------------------------------------------------------

Result<CardPayment> Money::StartPayment(int64_t holder_id, int64_t amount, std::string mode, bool save_card,
                                        std::optional<std::string> card_token) {
  const int64_t now = wallet_.clock().NowMs();
  if (amount <= 0) return Validation("validation_failed", "The amount must be positive.", "/amount");
  int64_t fee = 0;
  if (amount < options_.card_reload_min_cents) {
    if (options_.card_fee_below_min_cents == 0) {
      return Validation("below_minimum",
                        fmt::format("A card reload is at least {} EUR.", banking::FormatEuros(options_.card_reload_min_cents)),
                        "/amount");
    }
    fee = options_.card_fee_below_min_cents;
    if (fee >= amount) return Validation("below_minimum", "The amount does not cover the fee.", "/amount");
  }
  const std::string reference = "CR" + crypto::ToHex(crypto::RandomBytes(kReferenceBytes));
  // 1. Checks and the pending record, committed before the acquirer is called.
  auto recorded = wallet_.database().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
    GUICHET_TRY_STATUS(UsableHolder(tx, holder_id));
    GUICHET_TRY_STATUS(CheckCredit(tx, holder_id, amount - fee, now));
    auto id = tx.QueryOne(
        "INSERT INTO wallet_card_payments (reference, holder_id, amount, fee, mode, status, save_card, created_at,"
        " updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $7) RETURNING id",
        {reference, holder_id, amount, fee, mode, save_card, now});
    if (!id.ok()) return std::move(id).error();
    return (**id).Int(0);
  });
  if (!recorded.ok()) return std::move(recorded).error();
  // 2. The acquirer, outside any transaction.
  payments::PaymentRequest request;
  request.reference = reference;
  request.amount_cents = amount;
  request.return_url = options_.public_url + "/api/v1/wallet/card-return";
  request.notification_url = options_.public_url + "/api/v1/payments/card-acquirer/notifications";
  request.save_card = save_card;
  request.card_token = std::move(card_token);
  auto created = provider_.CreatePayment(request);
  auto stored = wallet_.database().Transact<CardPayment>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<CardPayment> {
    if (created.ok()) {
      GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_card_payments SET provider_payment_id = $1, redirect_url = $2,"
                                    " updated_at = $3 WHERE id = $4",
                                    {created->provider_payment_id, created->redirect_url, now, *recorded}));
    } else {
      GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_card_payments SET status = 'refused', failure_code = $1,"
                                    " updated_at = $2 WHERE id = $3 AND status = 'pending'",
                                    {created.error().code, now, *recorded}));
    }
    auto payment = PaymentByReference(tx, reference);
    if (!payment.ok()) return std::move(payment).error();
    return std::move(**payment);
  });
  if (!created.ok()) return std::move(created).error();
  return stored;
}

Result<CardPayment> Money::StartCardReload(int64_t holder_id, const CardReloadRequest& request) {
  std::optional<std::string> token;
  if (request.saved_card_id) {
    auto found = wallet_.database().Transact<std::string>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::string> {
      auto row = tx.QueryOne("SELECT token FROM wallet_saved_cards WHERE id = $1 AND holder_id = $2",
                             {*request.saved_card_id, holder_id});
      if (!row.ok()) return std::move(row).error();
      if (!row->has_value()) return Error::NotFound("card_not_found", "No such saved card.");
      return (**row).Text(0);
    });
    if (!found.ok()) return std::move(found).error();
    token = *found;
  }
  return StartPayment(holder_id, request.amount, token ? "saved_card" : "card", token ? false : request.save_card,
                      std::move(token));
}

Result<CardPayment> Money::MyCardPayment(int64_t holder_id, std::string_view reference) {
  return wallet_.database().Transact<CardPayment>(TransactionMode::kRead, [&](Transaction& tx) -> Result<CardPayment> {
    auto payment = PaymentByReference(tx, reference);
    if (!payment.ok()) return std::move(payment).error();
    if (!payment->has_value() || (**payment).holder_id != holder_id) {
      return Error::NotFound("payment_not_found", "No such card payment.");
    }
    return std::move(**payment);
  });
}

Result<std::vector<SavedCard>> Money::MySavedCards(int64_t holder_id) {
  return wallet_.database().Transact<std::vector<SavedCard>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<SavedCard>> {
        auto rows = tx.Query("SELECT id, brand, last4, created_at FROM wallet_saved_cards WHERE holder_id = $1"
                             " ORDER BY id",
                             {holder_id});
        if (!rows.ok()) return std::move(rows).error();
        std::vector<SavedCard> cards;
        for (const Row& row : rows->rows) cards.push_back({row.Int(0), row.Text(1), row.Text(2), row.Int(3)});
        return cards;
      });
}

Status Money::ForgetSavedCard(int64_t holder_id, int64_t card_id) {
  return wallet_.database().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
    auto deleted = tx.Execute("DELETE FROM wallet_saved_cards WHERE id = $1 AND holder_id = $2", {card_id, holder_id});
    if (!deleted.ok()) return std::move(deleted).error();
    if (*deleted == 0) return Error::NotFound("card_not_found", "No such saved card.");
    return OkStatus();
  });
}

Result<NotificationOutcome> Money::HandleNotification(std::string_view signature, std::string_view body) {
  const int64_t now = wallet_.clock().NowMs();
  auto event = provider_.ReadNotification(signature, body, now);
  if (!event.ok()) return std::move(event).error();
  const identity::Caller system = SystemCaller(kSystemRequest);
  return wallet_.database().Transact<NotificationOutcome>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<NotificationOutcome> {
        NotificationOutcome outcome;
        outcome.reference = event->reference;
        auto found = PaymentByReference(tx, event->reference);
        if (!found.ok()) return std::move(found).error();
        if (!found->has_value()) return Error::NotFound("payment_not_found", "No payment has this reference.");
        CardPayment payment = std::move(**found);
        if (event->amount_cents != payment.amount || event->currency != "EUR" ||
            event->provider_payment_id != payment.provider_payment_id) {
          return Validation("amount_mismatch", "The notification does not match the payment requested.");
        }
        // Idempotency: each event once (the acquirer retries until it gets a 2xx).
        auto seen = tx.QueryOne("SELECT 1 FROM wallet_card_events WHERE event_id = $1", {event->event_id});
        if (!seen.ok()) return std::move(seen).error();
        if (seen->has_value()) {
          outcome.status = payment.status;
          outcome.replayed = true;
          return outcome;
        }
        GUICHET_TRY_STATUS(tx.Execute("INSERT INTO wallet_card_events (event_id, reference, type, received_at)"
                                      " VALUES ($1, $2, $3, $4)",
                                      {event->event_id, payment.reference,
                                       std::string(payments::EventTypeName(event->type)), now}));
        auto holder = FindHolder(tx, payment.holder_id);
        if (!holder.ok()) return std::move(holder).error();
        GUICHET_ASSERT(holder->has_value());
        const int64_t organisation_id = (**holder).organisation_id;
        auto acquirer = OperatorAccount(tx, organisation_id, kEuro, purpose::kCardAcquirer, now);
        if (!acquirer.ok()) return std::move(acquirer).error();
        std::string next = payment.status;
        std::string failure;
        switch (event->type) {
          case payments::EventType::kAuthorised: {
            if (payment.status != "pending") break;
            Movement credit;
            credit.holder_id = payment.holder_id;
            credit.direction = Direction::kCredit;
            credit.amount = payment.amount - payment.fee;
            credit.counterpart_account_id = *acquirer;
            credit.transfer_id = "card:" + payment.reference;
            credit.kind = payment.mode == "link" ? "reload.link" : "reload.card";
            credit.mode = payment.mode == "link" ? "link" : "card";
            credit.label = payment.mode == "link" ? "Rechargement par un tiers (carte)" : "Rechargement par carte";
            if (payment.fee > 0) {
              auto fees = OperatorAccount(tx, organisation_id, kEuro, purpose::kFees, now);
              if (!fees.ok()) return std::move(fees).error();
              credit.amount = payment.amount;
              credit.fee_amount = payment.fee;
              credit.fee_account_id = *fees;
            }
            auto moved = MoveHolder(tx, system, credit, now);
            if (!moved.ok()) {
              // The card was charged but the account refuses the credit (opposed since, over the
              // maximum balance): commit the fact for a manager to refund, and tell the acquirer OK.
              next = std::string(CardPaymentStatusName(CardPaymentStatus::kCreditFailed));
              failure = moved.error().code;
              break;
            }
            next = "authorised";
            if (event->card && !event->card->token.empty()) {
              auto count = tx.QueryOne("SELECT COUNT(*) FROM wallet_saved_cards WHERE holder_id = $1", {payment.holder_id});
              if (!count.ok()) return std::move(count).error();
              if ((**count).Int(0) < kSavedCardsPerHolderMax) {
                GUICHET_TRY_STATUS(tx.Execute("INSERT INTO wallet_saved_cards (holder_id, token, brand, last4, created_at)"
                                              " VALUES ($1, $2, $3, $4, $5)",
                                              {payment.holder_id, event->card->token, event->card->brand,
                                               event->card->last4, now}));
              }
            }
            break;
          }
          case payments::EventType::kRefused:
          case payments::EventType::kCancelled:
            if (payment.status == "pending") {
              next = event->type == payments::EventType::kRefused ? "refused" : "cancelled";
            }
            break;
          case payments::EventType::kChargeback: {
            if (payment.status != "authorised") break;
            next = "charged_back";
            // W6: the reversal through the ledger, as far as the balance goes (never negative),
            // the rest owed in a recovery record; then the account is opposed automatically.
            auto account = HolderAccountFor(tx, payment.holder_id, kEuro, now);
            if (!account.ok()) return std::move(account).error();
            const int64_t credited = payment.amount - payment.fee;
            const int64_t available = std::max<int64_t>(account->available, 0);
            // An account already opposed refuses every movement: all of it is then owed.
            const int64_t reversed =
                (**holder).opposition == Opposition::kNone ? std::min(credited, available) : 0;
            if (reversed > 0) {
              Movement reversal;
              reversal.holder_id = payment.holder_id;
              reversal.direction = Direction::kDebit;
              reversal.amount = reversed;
              reversal.counterpart_account_id = *acquirer;
              reversal.transfer_id = "chargeback:" + payment.reference;
              reversal.kind = "reversal.card";
              reversal.mode = "card";
              reversal.label = "Annulation d'un rechargement par carte (impaye)";
              auto moved = MoveHolder(tx, system, reversal, now);
              if (!moved.ok()) return std::move(moved).error();
            }
            if (credited - reversed > 0) {
              GUICHET_TRY_STATUS(tx.Execute("INSERT INTO wallet_recoveries (holder_id, organisation_id, reason, reference,"
                                            " amount_due, status, created_at, updated_at)"
                                            " VALUES ($1, $2, 'card_chargeback', $3, $4, 'open', $5, $5)",
                                            {payment.holder_id, organisation_id, payment.reference, credited - reversed,
                                             now}));
            }
            if ((**holder).opposition == Opposition::kNone) {
              GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_holders SET opposition = 'temporary', updated_at = $1,"
                                            " version = version + 1 WHERE id = $2",
                                            {now, payment.holder_id}));
              GUICHET_TRY_STATUS(internal::Audit(tx, &system, "wallet.holder.oppose", "wallet_holder", payment.holder_id,
                                                 organisation_id, object{{"opposition", "none"}},
                                                 object{{"opposition", "temporary"},
                                                        {"reason", "card_chargeback"},
                                                        {"reference", payment.reference}},
                                                 kSystemRequest, now));
            }
            break;
          }
        }
        if (next != payment.status) {
          GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_card_payments SET status = $1, failure_code = $2, updated_at = $3"
                                        " WHERE id = $4",
                                        {next, failure.empty() ? storage::Param(nullptr) : storage::Param(failure), now,
                                         payment.id}));
        }
        outcome.status = next;
        return outcome;
      });
}

// ---- Third-party links -------------------------------------------------------------------------

Result<ReloadLink> Money::CreateReloadLink(int64_t holder_id, std::optional<int64_t> amount,
                                           std::optional<int64_t> validity_ms) {
  const int64_t now = wallet_.clock().NowMs();
  const int64_t validity = validity_ms.value_or(kReloadLinkValidityMsDefault);
  if (validity <= 0 || validity > kReloadLinkValidityMsMax) {
    return Validation("validation_failed", "A link is valid from 1 hour to 30 days.", "/valid_hours");
  }
  if (amount && *amount < options_.card_reload_min_cents && options_.card_fee_below_min_cents == 0) {
    return Validation("below_minimum",
                      fmt::format("A card reload is at least {} EUR.", banking::FormatEuros(options_.card_reload_min_cents)),
                      "/amount");
  }
  auto holder = wallet_.database().Transact<Holder>(TransactionMode::kRead,
                                                   [&](Transaction& tx) { return UsableHolder(tx, holder_id); });
  if (!holder.ok()) return std::move(holder).error();
  ReloadLink link;
  link.holder_id = holder_id;
  link.amount = amount;
  link.expires_at_ms = now + validity;
  const std::string payload = fmt::format("{}.{}.{}.{}", holder_id, amount.value_or(0), link.expires_at_ms,
                                          crypto::ToHex(crypto::RandomBytes(6)));
  link.token = payload + "." + LinkSignature(options_.link_secret, payload);
  link.url = options_.public_url + "/api/v1/wallet/reload-links/" + link.token + "/page";
  return link;
}

Result<ReloadLink> Money::ReadReloadLink(std::string_view token) {
  const auto invalid = [] { return Error::NotFound("link_invalid", "This reload link is not valid."); };
  const size_t last = token.rfind('.');
  if (last == std::string_view::npos || token.size() > 200) return invalid();
  const std::string_view payload = token.substr(0, last);
  if (!crypto::ConstantTimeEquals(LinkSignature(options_.link_secret, payload), token.substr(last + 1))) return invalid();
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = payload.find('.', start);
    parts.push_back(payload.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  ReloadLink link;
  int64_t amount = 0;
  if (parts.size() != 4 || !ParseInt(parts[0], link.holder_id) || !ParseInt(parts[1], amount) ||
      !ParseInt(parts[2], link.expires_at_ms)) {
    return invalid();
  }
  if (amount > 0) link.amount = amount;
  if (wallet_.clock().NowMs() >= link.expires_at_ms) {
    return Error{ErrorKind::kNotFound, "link_expired", "This reload link has expired: ask for a new one.", {}};
  }
  link.token = std::string(token);
  link.url = options_.public_url + "/api/v1/wallet/reload-links/" + link.token + "/page";
  return link;
}

Result<CardPayment> Money::StartLinkReload(std::string_view token, std::optional<int64_t> amount) {
  auto link = ReadReloadLink(token);
  if (!link.ok()) return std::move(link).error();
  if (link->amount && amount && *amount != *link->amount) {
    return Validation("amount_mismatch", "This link is for a set amount.", "/amount");
  }
  const std::optional<int64_t> chosen = link->amount ? link->amount : amount;
  if (!chosen) return Validation("validation_failed", "Choose an amount.", "/amount");
  return StartPayment(link->holder_id, *chosen, "link", false, std::nullopt);
}

// ---- Transfers and cash ------------------------------------------------------------------------

Result<MovementResult> Money::TransferToHolder(int64_t holder_id, std::string_view recipient, int64_t amount,
                                               std::string_view client_id) {
  if (amount <= 0) return Validation("validation_failed", "The amount must be positive.", "/amount");
  const int64_t now = wallet_.clock().NowMs();
  const identity::Caller system = SystemCaller("holder-transfer");
  return wallet_.database().Transact<MovementResult>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<MovementResult> {
    GUICHET_TRY_STATUS(UsableHolder(tx, holder_id));
    std::optional<int64_t> to;
    if (recipient.find('@') != std::string_view::npos) {
      auto row = tx.QueryOne("SELECT id FROM wallet_holders WHERE email = $1", {Lower(recipient)});
      if (!row.ok()) return std::move(row).error();
      if (row->has_value()) to = (**row).Int(0);
    } else {
      auto support = FindSupportByNumber(tx, recipient);
      if (!support.ok()) return std::move(support).error();
      if (support->has_value()) to = (**support).holder_id;
    }
    if (!to) return Error::NotFound(std::string(code::kHolderNotFound), "No holder has this e-mail or support number.");
    HolderTransfer transfer;
    transfer.from_holder_id = holder_id;
    transfer.to_holder_id = *to;
    transfer.amount = amount;
    transfer.transfer_id = fmt::format("h2h:{}:{}", holder_id, client_id);
    transfer.label = "Transfert de compte a compte";
    return TransferBetweenHolders(tx, system, transfer, now);
  });
}

Result<MovementResult> Money::RecordCashPack(const identity::Caller& caller, std::string_view support_number,
                                             int64_t pack_cents, std::string_view operation_id) {
  if (std::find(std::begin(kCashPacksCents), std::end(kCashPacksCents), pack_cents) == std::end(kCashPacksCents)) {
    return Validation("cash_pack_invalid", "Cash is loaded in packs of 5, 10 or 20 EUR.", "/pack_cents");
  }
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<MovementResult>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<MovementResult> {
    auto support = FindSupportByNumber(tx, support_number);
    if (!support.ok()) return std::move(support).error();
    if (!support->has_value()) return Error::NotFound(std::string(code::kSupportNotFound), "No such support.");
    auto holder = HolderInScope(tx, (**support).holder_id, wallet_.authorizer().Scopes(caller, right::kCashRecord));
    if (!holder.ok()) {
      // Outside the caller's subtree: the support does not exist for this caller.
      if (holder.error().code == code::kHolderNotFound) {
        return Error::NotFound(std::string(code::kSupportNotFound), "No such support.");
      }
      return std::move(holder).error();
    }
    GUICHET_TRY_STATUS(CheckCredit(tx, holder->id, pack_cents, now));
    auto cash = OperatorAccount(tx, holder->organisation_id, kEuro, purpose::kCash, now);
    if (!cash.ok()) return std::move(cash).error();
    Movement credit;
    credit.holder_id = holder->id;
    credit.direction = Direction::kCredit;
    credit.amount = pack_cents;
    credit.counterpart_account_id = *cash;
    credit.transfer_id = fmt::format("cash:{}:{}:{}", internal::ActorType(caller), caller.id, operation_id);
    credit.kind = "reload.cash";
    credit.mode = "cash";
    credit.support_id = (**support).id;
    credit.label = fmt::format("Rechargement especes ({} EUR)", pack_cents / 100);
    return MoveHolder(tx, caller, credit, now);
  });
}

// ---- Refunds -----------------------------------------------------------------------------------

Result<Refund> Money::RequestRefund(int64_t holder_id, const RefundRequest& request) {
  auto iban = banking::NormaliseIban(request.iban);
  if (!iban.ok()) {
    Error error = std::move(iban).error();
    error.fields.push_back({"/iban", error.message});
    return error;
  }
  if (!banking::IsSepaCountry(banking::IbanCountry(*iban))) {
    return Validation("iban_not_sepa", "Refunds are paid to an account in the SEPA area.", "/iban");
  }
  std::string bic;
  if (!request.bic.empty()) {
    auto normalised = banking::NormaliseBic(request.bic);
    if (!normalised.ok()) {
      Error error = std::move(normalised).error();
      error.fields.push_back({"/bic", error.message});
      return error;
    }
    bic = *normalised;
  }
  const int64_t now = wallet_.clock().NowMs();
  const identity::Caller system = SystemCaller("holder-refund");
  return wallet_.database().Transact<Refund>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Refund> {
    auto holder = UsableHolder(tx, holder_id);
    if (!holder.ok()) return std::move(holder).error();
    auto account = HolderAccountFor(tx, holder_id, kEuro, now);
    if (!account.ok()) return std::move(account).error();
    int64_t amount = 0;
    if (request.full_balance) {
      amount = account->available;
      if (amount <= 0) return Validation(std::string(code::kInsufficientFunds), "There is nothing to refund.");
    } else {
      amount = request.amount.value_or(0);
      if (amount <= 0) return Validation("validation_failed", "The amount must be positive.", "/amount");
      if (amount > account->available) {
        return Validation(std::string(code::kInsufficientFunds), "The balance is not enough.", "/amount");
      }
      // W8: the minimum per request never applies to the whole balance.
      if (amount < options_.refund_min_cents && amount != account->available) {
        return Validation("refund_below_minimum",
                          fmt::format("A refund is at least {} EUR, or the whole balance.",
                                      banking::FormatEuros(options_.refund_min_cents)),
                          "/amount");
      }
    }
    const std::string name = request.name.empty() ? holder->first_name + " " + holder->last_name : request.name;
    auto id = tx.QueryOne("INSERT INTO wallet_refunds (holder_id, organisation_id, amount, full_balance, iban, bic, name,"
                          " status, end_to_end_id, created_at, updated_at)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', '', $8, $8) RETURNING id",
                          {holder_id, holder->organisation_id, amount, amount == account->available, *iban,
                           bic.empty() ? storage::Param(nullptr) : storage::Param(bic), name, now});
    if (!id.ok()) return std::move(id).error();
    const int64_t refund_id = (**id).Int(0);
    const std::string end_to_end = fmt::format("RB{:010d}", refund_id);
    GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_refunds SET end_to_end_id = $1 WHERE id = $2", {end_to_end, refund_id}));
    auto sepa = OperatorAccount(tx, holder->organisation_id, kEuro, purpose::kSepa, now);
    if (!sepa.ok()) return std::move(sepa).error();
    Movement debit;
    debit.holder_id = holder_id;
    debit.direction = Direction::kDebit;
    debit.amount = amount;
    debit.counterpart_account_id = *sepa;
    debit.transfer_id = "refund:" + end_to_end;
    debit.kind = "refund";
    debit.mode = "sepa";
    debit.label = "Remboursement par virement SEPA";
    auto moved = MoveHolder(tx, system, debit, now);
    if (!moved.ok()) return std::move(moved).error();
    auto row = tx.QueryOne(fmt::format("SELECT {} FROM wallet_refunds WHERE id = $1", kRefundColumns), {refund_id});
    if (!row.ok()) return std::move(row).error();
    return RefundFromRow(**row);
  });
}

Result<std::vector<Refund>> Money::MyRefunds(int64_t holder_id) {
  return wallet_.database().Transact<std::vector<Refund>>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<Refund>> {
    auto rows = tx.Query(fmt::format("SELECT {} FROM wallet_refunds WHERE holder_id = $1 ORDER BY id DESC LIMIT 100",
                                     kRefundColumns),
                         {holder_id});
    if (!rows.ok()) return std::move(rows).error();
    std::vector<Refund> refunds;
    for (const Row& row : rows->rows) refunds.push_back(RefundFromRow(row));
    return refunds;
  });
}

namespace {

// "o.path = $1 OR o.path LIKE $1 || '/%'" over every scope, as parameters from `first`.
std::string ScopeClause(const std::vector<std::string>& scopes, storage::Params& params) {
  std::string clause;
  for (const std::string& scope : scopes) {
    if (!clause.empty()) clause += " OR ";
    params.push_back(scope);
    clause += fmt::format("o.path = ${0} OR o.path LIKE ${1}", params.size(), params.size() + 1);
    params.push_back(scope + "/%");
  }
  return clause.empty() ? "FALSE" : "(" + clause + ")";
}

SepaFile FileFromRow(const Row& row, bool with_xml) {
  SepaFile f;
  f.id = row.Int(0);
  f.organisation_id = row.Int(1);
  f.kind = row.Text(2);
  f.message_id = row.Text(3);
  f.count = row.Int(4);
  f.total = row.Int(5);
  f.execution_date = row.Text(6);
  f.created_at_ms = row.Int(7);
  if (with_xml) f.xml = row.Text(8);
  return f;
}

}  // namespace

Result<SepaFile> Money::ExportRefunds(const identity::Caller& caller, int64_t organisation_id) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<SepaFile>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<SepaFile> {
    auto org = tx.QueryOne("SELECT path FROM organisations WHERE id = $1", {organisation_id});
    if (!org.ok()) return std::move(org).error();
    if (!org->has_value() || !wallet_.authorizer().Allows(caller, right::kSepaManage, (**org).Text(0))) {
      return Error::NotFound("organisation_not_found", "No such organisation.");
    }
    const std::string path = (**org).Text(0);
    auto rows = tx.Query("SELECT r.id, r.holder_id, r.amount, r.full_balance, r.iban, r.bic, r.name, r.status,"
                         " r.file_id, r.end_to_end_id, r.created_at FROM wallet_refunds r"
                         " JOIN organisations o ON o.id = r.organisation_id"
                         " WHERE r.status = 'requested' AND (o.path = $1 OR o.path LIKE $2) ORDER BY r.id",
                         {path, path + "/%"});
    if (!rows.ok()) return std::move(rows).error();
    if (rows->rows.empty()) return Error::Conflict("nothing_to_export", "No refund is waiting for a file.");
    banking::CreditTransferFile file;
    file.created_at_ms = now;
    file.initiating_party = options_.initiating_party;
    file.debtor = options_.account;
    file.requested_execution_date = banking::AddBusinessDays(banking::ParisDate(now), 1);
    std::vector<int64_t> ids;
    int64_t total = 0;
    for (const Row& row : rows->rows) {
      const Refund refund = RefundFromRow(row);
      file.transfers.push_back({refund.end_to_end_id, refund.amount, refund.name, refund.iban, refund.bic,
                                "Remboursement du solde Guichet " + refund.end_to_end_id});
      ids.push_back(refund.id);
      total += refund.amount;
    }
    auto inserted = tx.QueryOne("INSERT INTO wallet_sepa_files (organisation_id, kind, message_id, count, total,"
                                " execution_date, xml, created_at) VALUES ($1, 'pain.001.001.09', '', $2, $3, $4, '', $5)"
                                " RETURNING id",
                                {organisation_id, static_cast<int64_t>(ids.size()), total,
                                 banking::FormatDate(file.requested_execution_date), now});
    if (!inserted.ok()) return std::move(inserted).error();
    const int64_t file_id = (**inserted).Int(0);
    file.message_id = fmt::format("GUICHET-RF-{:08d}", file_id);
    auto xml = banking::WriteCreditTransferFile(file);
    if (!xml.ok()) return std::move(xml).error();
    GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_sepa_files SET message_id = $1, xml = $2 WHERE id = $3",
                                  {file.message_id, *xml, file_id}));
    for (int64_t id : ids) {
      GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_refunds SET status = 'exported', file_id = $1, updated_at = $2"
                                    " WHERE id = $3",
                                    {file_id, now, id}));
    }
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.sepa_file.create", "wallet_sepa_file", file_id,
                                       organisation_id, nullptr,
                                       object{{"kind", "pain.001.001.09"}, {"count", static_cast<int64_t>(ids.size())},
                                              {"total", total}},
                                       caller.request_id, now));
    auto row = tx.QueryOne("SELECT id, organisation_id, kind, message_id, count, total, execution_date, created_at, xml"
                           " FROM wallet_sepa_files WHERE id = $1",
                           {file_id});
    if (!row.ok()) return std::move(row).error();
    return FileFromRow(**row, true);
  });
}

Result<std::vector<SepaFile>> Money::SepaFiles(const identity::Caller& caller) {
  return wallet_.database().Transact<std::vector<SepaFile>>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<SepaFile>> {
    storage::Params params;
    const std::string scope = ScopeClause(wallet_.authorizer().Scopes(caller, right::kSepaManage), params);
    auto rows = tx.Query("SELECT f.id, f.organisation_id, f.kind, f.message_id, f.count, f.total, f.execution_date,"
                         " f.created_at FROM wallet_sepa_files f JOIN organisations o ON o.id = f.organisation_id"
                         " WHERE " + scope + " ORDER BY f.id DESC LIMIT 200",
                         params);
    if (!rows.ok()) return std::move(rows).error();
    std::vector<SepaFile> files;
    for (const Row& row : rows->rows) files.push_back(FileFromRow(row, false));
    return files;
  });
}

Result<SepaFile> Money::GetSepaFile(const identity::Caller& caller, int64_t file_id) {
  return wallet_.database().Transact<SepaFile>(TransactionMode::kRead, [&](Transaction& tx) -> Result<SepaFile> {
    storage::Params params{file_id};
    const std::string scope = ScopeClause(wallet_.authorizer().Scopes(caller, right::kSepaManage), params);
    auto row = tx.QueryOne("SELECT f.id, f.organisation_id, f.kind, f.message_id, f.count, f.total, f.execution_date,"
                           " f.created_at, f.xml FROM wallet_sepa_files f JOIN organisations o ON o.id = f.organisation_id"
                           " WHERE f.id = $1 AND " + scope,
                           params);
    if (!row.ok()) return std::move(row).error();
    if (!row->has_value()) return Error::NotFound("sepa_file_not_found", "No such SEPA file.");
    return FileFromRow(**row, true);
  });
}

Result<std::vector<Recovery>> Money::Recoveries(const identity::Caller& caller) {
  return wallet_.database().Transact<std::vector<Recovery>>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<Recovery>> {
    storage::Params params;
    const std::string scope = ScopeClause(wallet_.authorizer().Scopes(caller, right::kSepaManage), params);
    auto rows = tx.Query("SELECT r.id, r.holder_id, r.reason, r.reference, r.amount_due, r.status, r.created_at"
                         " FROM wallet_recoveries r JOIN organisations o ON o.id = r.organisation_id WHERE " + scope +
                         " ORDER BY r.id DESC LIMIT 200",
                         params);
    if (!rows.ok()) return std::move(rows).error();
    std::vector<Recovery> out;
    for (const Row& row : rows->rows) {
      out.push_back({row.Int(0), row.Int(1), row.Text(2), row.Text(3), row.Int(4), row.Text(5), row.Int(6)});
    }
    return out;
  });
}

// ---- JSON and schema ---------------------------------------------------------------------------

object CardPaymentJson(const CardPayment& p) {
  object o{{"reference", p.reference}, {"amount", p.amount},  {"fee", p.fee},
           {"mode", p.mode},           {"status", p.status},  {"created_at", FormatIso8601(p.created_at_ms)}};
  if (!p.redirect_url.empty() && p.status == "pending") o["redirect_url"] = p.redirect_url;
  if (!p.failure_code.empty()) o["failure_code"] = p.failure_code;
  return o;
}

object RefundJson(const Refund& r) {
  std::string masked = r.iban.substr(0, 4) + std::string(r.iban.size() > 8 ? r.iban.size() - 8 : 0, '*') +
                       (r.iban.size() > 4 ? r.iban.substr(r.iban.size() - 4) : "");
  object o{{"id", r.id},         {"amount", r.amount}, {"full_balance", r.full_balance},
           {"iban", masked},     {"status", r.status}, {"end_to_end_id", r.end_to_end_id},
           {"created_at", FormatIso8601(r.created_at_ms)}};
  if (r.file_id) o["file_id"] = *r.file_id;
  return o;
}

object SepaFileJson(const SepaFile& f) {
  return object{{"id", f.id},
                {"organisation_id", f.organisation_id},
                {"kind", f.kind},
                {"message_id", f.message_id},
                {"count", f.count},
                {"total", f.total},
                {"execution_date", f.execution_date},
                {"created_at", FormatIso8601(f.created_at_ms)}};
}

std::vector<storage::Migration> MoneyMigrations() {
  constexpr std::string_view kSchema =
      "CREATE TABLE wallet_card_payments ({id}, reference TEXT NOT NULL UNIQUE,"
      " holder_id BIGINT NOT NULL REFERENCES wallet_holders (id), amount BIGINT NOT NULL CHECK (amount > 0),"
      " fee BIGINT NOT NULL, mode TEXT NOT NULL CHECK (mode IN ('card', 'saved_card', 'link')),"
      " status TEXT NOT NULL CHECK (status IN ('pending', 'authorised', 'refused', 'cancelled', 'charged_back',"
      " 'credit_failed')), save_card BOOLEAN NOT NULL, provider_payment_id TEXT, redirect_url TEXT,"
      " failure_code TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
      " CREATE INDEX wallet_card_payments_holder ON wallet_card_payments (holder_id, id);"
      " CREATE TABLE wallet_card_events (event_id TEXT PRIMARY KEY, reference TEXT NOT NULL, type TEXT NOT NULL,"
      " received_at BIGINT NOT NULL);"
      " CREATE TABLE wallet_saved_cards ({id}, holder_id BIGINT NOT NULL REFERENCES wallet_holders (id),"
      " token TEXT NOT NULL, brand TEXT NOT NULL, last4 TEXT NOT NULL, created_at BIGINT NOT NULL);"
      " CREATE TABLE wallet_recoveries ({id}, holder_id BIGINT NOT NULL REFERENCES wallet_holders (id),"
      " organisation_id BIGINT NOT NULL REFERENCES organisations (id), reason TEXT NOT NULL, reference TEXT NOT NULL,"
      " amount_due BIGINT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
      " CREATE TABLE wallet_sepa_files ({id}, organisation_id BIGINT NOT NULL REFERENCES organisations (id),"
      " kind TEXT NOT NULL, message_id TEXT NOT NULL, count BIGINT NOT NULL, total BIGINT NOT NULL,"
      " execution_date TEXT NOT NULL, xml TEXT NOT NULL, created_at BIGINT NOT NULL);"
      " CREATE TABLE wallet_refunds ({id}, holder_id BIGINT NOT NULL REFERENCES wallet_holders (id),"
      " organisation_id BIGINT NOT NULL REFERENCES organisations (id), amount BIGINT NOT NULL CHECK (amount > 0),"
      " full_balance BOOLEAN NOT NULL, iban TEXT NOT NULL, bic TEXT, name TEXT NOT NULL,"
      " status TEXT NOT NULL CHECK (status IN ('requested', 'exported')),"
      " file_id BIGINT REFERENCES wallet_sepa_files (id), end_to_end_id TEXT NOT NULL,"
      " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
      " CREATE INDEX wallet_refunds_status ON wallet_refunds (status, organisation_id);";
  const auto schema = [&](std::string_view id) {
    std::string text(kSchema);
    for (size_t at; (at = text.find("{id}")) != std::string::npos;) text.replace(at, 4, id);
    return text;
  };
  return {{"wallet.money", 1, "card payments, saved cards, recoveries, refunds, SEPA files",
           schema("id INTEGER PRIMARY KEY AUTOINCREMENT"),
           schema("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")},
          DirectDebitMigration()};
}

}  // namespace guichet::wallet
