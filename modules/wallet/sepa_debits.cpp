#include "modules/wallet/sepa_debits.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "modules/wallet/internal.h"
#include "platform/banking/iban.h"
#include "platform/base/log.h"
#include "platform/jobs/jobs.h"
#include "platform/ledger/ledger.h"

namespace guichet::wallet {
namespace {

using boost::json::object;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

constexpr std::string_view kInTransit = "sepa_in_transit";  // the bank owes it until settlement

Error Validation(std::string code, std::string message, std::string pointer = "") {
  Error error{ErrorKind::kValidation, std::move(code), std::move(message), {}};
  if (!pointer.empty()) error.fields.push_back({std::move(pointer), error.message});
  return error;
}

identity::Caller SystemCaller(std::string_view request_id) {
  identity::Caller caller;
  caller.kind = identity::Caller::Kind::kSystem;
  caller.request_id = std::string(request_id);
  return caller;
}

constexpr std::string_view kMandateColumns = "id, holder_id, rum, iban, bic, name, signed_on, status, first_used, created_at";

Mandate MandateFromRow(const Row& row) {
  return {row.Int(0), row.Int(1), row.Text(2), row.Text(3), row.OptionalText(4).value_or(""), row.Text(5),
          row.Text(6), row.Text(7), row.Bool(8), row.Int(9)};
}

constexpr std::string_view kDebitColumns =
    "id, holder_id, mandate_id, amount, sequence, end_to_end_id, collection_date, settle_on, status, file_id, created_at";

DirectDebit DebitFromRow(const Row& row) {
  return {row.Int(0), row.Int(1), row.Int(2), row.Int(3), row.Text(4), row.Text(5),
          row.Text(6), row.Text(7), row.Text(8), row.OptionalInt(9), row.Int(10)};
}

Result<DirectDebit> LoadDebit(Transaction& tx, int64_t id) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM wallet_direct_debits WHERE id = $1", kDebitColumns), {id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return Error::NotFound("debit_not_found", "No such direct debit.");
  return DebitFromRow(**row);
}

Status ApplyLedger(Transaction& tx, const ledger::Transfer& transfer, int64_t now_ms) {
  auto results = ledger::CreateTransfers(tx, {transfer}, now_ms);
  if (!results.ok()) return std::move(results).error();
  const auto result = results->front();
  if (result != ledger::CreateTransferResult::kOk && result != ledger::CreateTransferResult::kExists) {
    return Error::Internal(fmt::format("ledger refused {}: {}", transfer.id, ledger::CreateTransferResultName(result)));
  }
  return OkStatus();
}

}  // namespace

DirectDebits::DirectDebits(Wallet& wallet, DirectDebitOptions options) : wallet_(wallet), options_(std::move(options)) {}

Result<Mandate> DirectDebits::SignMandate(int64_t holder_id, std::string_view iban_text, std::string_view bic_text,
                                          std::string_view name, bool accepted) {
  if (!accepted) {
    return Validation("mandate_not_accepted", "Read and accept the mandate to sign it.", "/accept");
  }
  auto iban = banking::NormaliseIban(iban_text);
  if (!iban.ok()) {
    Error error = std::move(iban).error();
    error.fields.push_back({"/iban", error.message});
    return error;
  }
  if (!banking::IsSepaCountry(banking::IbanCountry(*iban))) {
    return Validation("iban_not_sepa", "Direct debits are taken from an account in the SEPA area.", "/iban");
  }
  std::string bic;
  if (!bic_text.empty()) {
    auto normalised = banking::NormaliseBic(bic_text);
    if (!normalised.ok()) {
      Error error = std::move(normalised).error();
      error.fields.push_back({"/bic", error.message});
      return error;
    }
    bic = *normalised;
  }
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<Mandate>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Mandate> {
    auto holder = FindHolder(tx, holder_id);
    if (!holder.ok()) return std::move(holder).error();
    if (!holder->has_value()) return Error::NotFound(std::string(code::kHolderNotFound), "No such holder.");
    GUICHET_TRY_STATUS(RequireHolderUsable(**holder));
    auto count = tx.QueryOne("SELECT COUNT(*) FROM wallet_sepa_mandates WHERE holder_id = $1 AND status = 'active'",
                             {holder_id});
    if (!count.ok()) return std::move(count).error();
    if ((**count).Int(0) >= kMandatesPerHolderMax) {
      return Error::Conflict("mandates_limit", "Revoke a mandate before signing another.");
    }
    const std::string holder_name = name.empty() ? (**holder).first_name + " " + (**holder).last_name : std::string(name);
    auto id = tx.QueryOne("INSERT INTO wallet_sepa_mandates (holder_id, organisation_id, rum, iban, bic, name, signed_on,"
                          " status, first_used, created_at, updated_at)"
                          " VALUES ($1, $2, '', $3, $4, $5, $6, 'active', FALSE, $7, $7) RETURNING id",
                          {holder_id, (**holder).organisation_id, *iban,
                           bic.empty() ? storage::Param(nullptr) : storage::Param(bic), holder_name,
                           banking::FormatDate(banking::ParisDate(now)), now});
    if (!id.ok()) return std::move(id).error();
    const int64_t mandate_id = (**id).Int(0);
    // The RUM: unique for this creditor, within the SEPA set, ≤ 35 characters.
    const std::string rum = fmt::format("GUICHET-{}-{:08d}", (**holder).organisation_id, mandate_id);
    GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_sepa_mandates SET rum = $1 WHERE id = $2", {rum, mandate_id}));
    const identity::Caller system = SystemCaller("holder-mandate");
    GUICHET_TRY_STATUS(internal::Audit(tx, &system, "wallet.mandate.sign", "wallet_sepa_mandate", mandate_id,
                                       (**holder).organisation_id, nullptr,
                                       object{{"rum", rum}, {"by", "holder"}, {"holder_id", holder_id}},
                                       "holder-mandate", now));
    auto row = tx.QueryOne(fmt::format("SELECT {} FROM wallet_sepa_mandates WHERE id = $1", kMandateColumns),
                           {mandate_id});
    if (!row.ok()) return std::move(row).error();
    return MandateFromRow(**row);
  });
}

Result<std::vector<Mandate>> DirectDebits::MyMandates(int64_t holder_id) {
  return wallet_.database().Transact<std::vector<Mandate>>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<Mandate>> {
    auto rows = tx.Query(fmt::format("SELECT {} FROM wallet_sepa_mandates WHERE holder_id = $1 ORDER BY id", kMandateColumns),
                         {holder_id});
    if (!rows.ok()) return std::move(rows).error();
    std::vector<Mandate> out;
    for (const Row& row : rows->rows) out.push_back(MandateFromRow(row));
    return out;
  });
}

Status DirectDebits::RevokeMandate(int64_t holder_id, int64_t mandate_id) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
    auto updated = tx.Execute("UPDATE wallet_sepa_mandates SET status = 'revoked', updated_at = $1"
                              " WHERE id = $2 AND holder_id = $3 AND status = 'active'",
                              {now, mandate_id, holder_id});
    if (!updated.ok()) return std::move(updated).error();
    if (*updated == 0) return Error::NotFound("mandate_not_found", "No such active mandate.");
    return OkStatus();
  });
}

Result<DirectDebit> DirectDebits::RequestDebit(int64_t holder_id, int64_t mandate_id, int64_t amount, bool confirmed) {
  if (!confirmed) {
    return Validation("confirmation_required", "Confirm the amount to be debited from your bank account.", "/confirm");
  }
  if (amount < options_.min_cents) {
    return Validation("below_minimum",
                      fmt::format("A direct debit is at least {} EUR.", banking::FormatEuros(options_.min_cents)), "/amount");
  }
  if (amount > options_.max_cents) {
    return Validation("above_maximum",
                      fmt::format("A direct debit is at most {} EUR.", banking::FormatEuros(options_.max_cents)), "/amount");
  }
  const int64_t now = wallet_.clock().NowMs();
  const identity::Caller system = SystemCaller("holder-direct-debit");
  return wallet_.database().Transact<DirectDebit>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<DirectDebit> {
    auto mandate_row = tx.QueryOne(fmt::format("SELECT {}, organisation_id FROM wallet_sepa_mandates"
                                               " WHERE id = $1 AND holder_id = $2 AND status = 'active'",
                                               kMandateColumns),
                                   {mandate_id, holder_id});
    if (!mandate_row.ok()) return std::move(mandate_row).error();
    if (!mandate_row->has_value()) {
      return Error::Conflict("mandate_missing", "Sign a direct-debit mandate first (or this one was revoked).");
    }
    const Mandate mandate = MandateFromRow(**mandate_row);
    const int64_t organisation_id = (**mandate_row).Int(10);
    auto thresholds = LoadThresholds(tx);
    if (!thresholds.ok()) return std::move(thresholds).error();
    GUICHET_TRY_STATUS(CheckReloadAmount(*thresholds, amount));
    const bool first = !mandate.first_used;
    const banking::Date today = banking::ParisDate(now);
    const banking::Date collection = banking::AddBusinessDays(today, 1);
    const banking::Date settle = banking::AddBusinessDays(
        today, static_cast<int>(first ? kFirstDebitDelayBusinessDays : kRecurrentDebitDelayBusinessDays));
    auto id = tx.QueryOne("INSERT INTO wallet_direct_debits (holder_id, organisation_id, mandate_id, amount, sequence,"
                          " end_to_end_id, collection_date, settle_on, status, created_at, updated_at)"
                          " VALUES ($1, $2, $3, $4, $5, '', $6, $7, 'pending', $8, $8) RETURNING id",
                          {holder_id, organisation_id, mandate_id, amount, std::string(first ? "FRST" : "RCUR"),
                           banking::FormatDate(collection), banking::FormatDate(settle), now});
    if (!id.ok()) return std::move(id).error();
    const int64_t debit_id = (**id).Int(0);
    const std::string end_to_end = fmt::format("DD{:010d}", debit_id);
    GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_direct_debits SET end_to_end_id = $1 WHERE id = $2", {end_to_end, debit_id}));
    if (first) {
      GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_sepa_mandates SET first_used = TRUE WHERE id = $1", {mandate_id}));
    }
    // Immediate credit (W7), against the SEPA clearing account.
    auto sepa = OperatorAccount(tx, organisation_id, kEuro, purpose::kSepa, now);
    if (!sepa.ok()) return std::move(sepa).error();
    Movement credit;
    credit.holder_id = holder_id;
    credit.direction = Direction::kCredit;
    credit.amount = amount;
    credit.counterpart_account_id = *sepa;
    credit.transfer_id = "sepa-dd:" + end_to_end;
    credit.kind = "reload.sepa";
    credit.mode = "sepa";
    credit.label = fmt::format("Rechargement par prelevement SEPA ({})", mandate.rum);
    auto moved = MoveHolder(tx, system, credit, now);
    if (!moved.ok()) return std::move(moved).error();
    // The bank's money in transit until the interbank delay is over.
    auto transit = OperatorAccount(tx, organisation_id, kEuro, kInTransit, now);
    if (!transit.ok()) return std::move(transit).error();
    ledger::Transfer pending;
    pending.id = "sepa-dd-transit:" + end_to_end;
    pending.debit_account_id = *transit;
    pending.credit_account_id = *sepa;
    pending.amount = amount;
    pending.ledger = std::string(kEuro);
    pending.flags = ledger::transfer_flags::kPending;
    pending.code = "sepa_direct_debit";
    GUICHET_TRY_STATUS(ApplyLedger(tx, pending, now));
    return LoadDebit(tx, debit_id);
  });
}

Result<std::vector<DirectDebit>> DirectDebits::MyDebits(int64_t holder_id) {
  return wallet_.database().Transact<std::vector<DirectDebit>>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<DirectDebit>> {
    auto rows = tx.Query(fmt::format("SELECT {} FROM wallet_direct_debits WHERE holder_id = $1 ORDER BY id DESC LIMIT 100",
                                     kDebitColumns),
                         {holder_id});
    if (!rows.ok()) return std::move(rows).error();
    std::vector<DirectDebit> out;
    for (const Row& row : rows->rows) out.push_back(DebitFromRow(row));
    return out;
  });
}

Result<RejectOutcome> DirectDebits::RejectDebit(const identity::Caller& caller, int64_t debit_id, std::string_view reason) {
  const int64_t now = wallet_.clock().NowMs();
  const identity::Caller system = SystemCaller("sepa-reject");
  return wallet_.database().Transact<RejectOutcome>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<RejectOutcome> {
    auto debit = LoadDebit(tx, debit_id);
    if (!debit.ok()) return std::move(debit).error();
    auto holder = HolderInScope(tx, debit->holder_id, wallet_.authorizer().Scopes(caller, right::kSepaManage));
    if (!holder.ok()) {
      if (holder.error().code == code::kHolderNotFound) {
        return Error::NotFound("debit_not_found", "No such direct debit.");  // outside the caller's subtree
      }
      return std::move(holder).error();
    }
    if (debit->status != "pending") return Error::Conflict("debit_not_pending", "Only a debit in its interbank delay can be rejected.");
    RejectOutcome outcome;
    const int64_t organisation_id = holder->organisation_id;
    auto sepa = OperatorAccount(tx, organisation_id, kEuro, purpose::kSepa, now);
    if (!sepa.ok()) return std::move(sepa).error();
    // 1. The bank's money will not come: release the pending transfer.
    ledger::Transfer void_pending;
    void_pending.id = "sepa-dd-reject:" + debit->end_to_end_id;
    void_pending.flags = ledger::transfer_flags::kVoidPending;
    void_pending.pending_id = "sepa-dd-transit:" + debit->end_to_end_id;
    GUICHET_TRY_STATUS(ApplyLedger(tx, void_pending, now));
    // 2. Reverse the credit as far as the balance goes (never negative).
    auto account = HolderAccountFor(tx, debit->holder_id, kEuro, now);
    if (!account.ok()) return std::move(account).error();
    const bool movable = holder->opposition == Opposition::kNone;
    outcome.reversed = movable ? std::min(debit->amount, std::max<int64_t>(account->available, 0)) : 0;
    if (outcome.reversed > 0) {
      Movement reversal;
      reversal.holder_id = debit->holder_id;
      reversal.direction = Direction::kDebit;
      reversal.amount = outcome.reversed;
      reversal.counterpart_account_id = *sepa;
      reversal.transfer_id = "sepa-dd-reversal:" + debit->end_to_end_id;
      reversal.kind = "reversal.sepa";
      reversal.mode = "sepa";
      reversal.label = "Annulation d'un prelevement SEPA rejete";
      auto moved = MoveHolder(tx, system, reversal, now);
      if (!moved.ok()) return std::move(moved).error();
    }
    // 3. The institution's cover of the rest: one debit per day per holder, capped.
    const int64_t shortfall = debit->amount - outcome.reversed;
    if (shortfall > 0) {
      const std::string today = banking::FormatDate(banking::ParisDate(now));
      auto used = tx.QueryOne("SELECT 1 FROM wallet_sepa_covers WHERE holder_id = $1 AND day = $2",
                              {debit->holder_id, today});
      if (!used.ok()) return std::move(used).error();
      if (used->has_value()) {
        outcome.cover_refused = "cover_limit_reached";
      } else {
        outcome.covered = std::min(shortfall, std::min(debit->amount, kCoverCapCents));
        GUICHET_TRY_STATUS(tx.Execute("INSERT INTO wallet_sepa_covers (holder_id, day, debit_id, amount, created_at)"
                                      " VALUES ($1, $2, $3, $4, $5)",
                                      {debit->holder_id, today, debit->id, outcome.covered, now}));
        auto cover = OperatorAccount(tx, organisation_id, kEuro, purpose::kCover, now);
        if (!cover.ok()) return std::move(cover).error();
        ledger::Transfer covered;
        covered.id = "sepa-dd-cover:" + debit->end_to_end_id;
        covered.debit_account_id = *cover;
        covered.credit_account_id = *sepa;
        covered.amount = outcome.covered;
        covered.ledger = std::string(kEuro);
        covered.code = "sepa_reject_cover";
        GUICHET_TRY_STATUS(ApplyLedger(tx, covered, now));
      }
      // What the holder owes (the covered part to the institution, the rest to the operator):
      // followed for at least three months.
      outcome.owed = shortfall;
      GUICHET_TRY_STATUS(tx.Execute("INSERT INTO wallet_recoveries (holder_id, organisation_id, reason, reference,"
                                    " amount_due, status, created_at, updated_at)"
                                    " VALUES ($1, $2, 'sepa_reject', $3, $4, 'open', $5, $5)",
                                    {debit->holder_id, organisation_id, debit->end_to_end_id, shortfall, now}));
    }
    // 4. W6: a rejected reload opposes the account automatically.
    if (holder->opposition == Opposition::kNone) {
      GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_holders SET opposition = 'temporary', updated_at = $1,"
                                    " version = version + 1 WHERE id = $2",
                                    {now, debit->holder_id}));
    }
    GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_direct_debits SET status = 'rejected', updated_at = $1 WHERE id = $2",
                                  {now, debit->id}));
    GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.direct_debit.reject", "wallet_direct_debit", debit->id,
                                       organisation_id, object{{"status", "pending"}},
                                       object{{"status", "rejected"}, {"reason", std::string(reason)},
                                              {"reversed", outcome.reversed}, {"covered", outcome.covered},
                                              {"owed", outcome.owed}, {"opposition", "temporary"}},
                                       caller.request_id, now));
    auto after = LoadDebit(tx, debit->id);
    if (!after.ok()) return std::move(after).error();
    outcome.debit = std::move(*after);
    return outcome;
  });
}

Result<std::vector<SepaFile>> DirectDebits::ExportDebits(const identity::Caller& caller, int64_t organisation_id) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<std::vector<SepaFile>>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<std::vector<SepaFile>> {
    auto org = tx.QueryOne("SELECT path FROM organisations WHERE id = $1", {organisation_id});
    if (!org.ok()) return std::move(org).error();
    if (!org->has_value() || !wallet_.authorizer().Allows(caller, right::kSepaManage, (**org).Text(0))) {
      return Error::NotFound("organisation_not_found", "No such organisation.");
    }
    const std::string path = (**org).Text(0);
    auto rows = tx.Query("SELECT d.id, d.amount, d.sequence, d.end_to_end_id, d.collection_date, m.rum, m.signed_on,"
                         " m.name, m.iban, m.bic FROM wallet_direct_debits d"
                         " JOIN wallet_sepa_mandates m ON m.id = d.mandate_id"
                         " JOIN organisations o ON o.id = d.organisation_id"
                         " WHERE d.file_id IS NULL AND d.status = 'pending' AND (o.path = $1 OR o.path LIKE $2)"
                         " ORDER BY d.collection_date, d.id",
                         {path, path + "/%"});
    if (!rows.ok()) return std::move(rows).error();
    if (rows->rows.empty()) return Error::Conflict("nothing_to_export", "No direct debit is waiting for a file.");
    std::map<std::string, std::vector<const Row*>> by_date;
    for (const Row& row : rows->rows) by_date[row.Text(4)].push_back(&row);
    std::vector<SepaFile> files;
    for (const auto& [date, debits] : by_date) {
      banking::DirectDebitFile file;
      file.created_at_ms = now;
      file.initiating_party = options_.initiating_party;
      file.creditor = options_.account;
      file.creditor_scheme_id = options_.creditor_id;
      file.requested_collection_date = *banking::ParseDate(date);
      int64_t total = 0;
      for (const Row* row : debits) {
        banking::DirectDebit item;
        item.end_to_end_id = row->Text(3);
        item.amount_cents = row->Int(1);
        item.mandate_id = row->Text(5);
        item.mandate_signed_on = *banking::ParseDate(row->Text(6));
        item.sequence = row->Text(2) == "FRST" ? banking::SequenceType::kFirst : banking::SequenceType::kRecurrent;
        item.debtor_name = row->Text(7);
        item.debtor_iban = row->Text(8);
        item.debtor_bic = row->OptionalText(9).value_or("");
        item.remittance = "Rechargement Guichet " + item.end_to_end_id;
        total += item.amount_cents;
        file.debits.push_back(std::move(item));
      }
      auto inserted = tx.QueryOne("INSERT INTO wallet_sepa_files (organisation_id, kind, message_id, count, total,"
                                  " execution_date, xml, created_at) VALUES ($1, 'pain.008.001.08', '', $2, $3, $4, '', $5)"
                                  " RETURNING id",
                                  {organisation_id, static_cast<int64_t>(debits.size()), total, date, now});
      if (!inserted.ok()) return std::move(inserted).error();
      const int64_t file_id = (**inserted).Int(0);
      file.message_id = fmt::format("GUICHET-DD-{:08d}", file_id);
      auto xml = banking::WriteDirectDebitFile(file);
      if (!xml.ok()) return std::move(xml).error();
      GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_sepa_files SET message_id = $1, xml = $2 WHERE id = $3",
                                    {file.message_id, *xml, file_id}));
      for (const Row* row : debits) {
        GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_direct_debits SET file_id = $1, updated_at = $2 WHERE id = $3",
                                      {file_id, now, row->Int(0)}));
      }
      GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.sepa_file.create", "wallet_sepa_file", file_id,
                                         organisation_id, nullptr,
                                         object{{"kind", "pain.008.001.08"}, {"count", static_cast<int64_t>(debits.size())},
                                                {"total", total}, {"collection_date", date}},
                                         caller.request_id, now));
      files.push_back({file_id, organisation_id, "pain.008.001.08", file.message_id, static_cast<int64_t>(debits.size()),
                       total, date, "", now});
    }
    return files;
  });
}

Result<int64_t> DirectDebits::SettleDue() {
  const int64_t now = wallet_.clock().NowMs();
  const std::string today = banking::FormatDate(banking::ParisDate(now));
  return wallet_.database().Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
    auto rows = tx.Query("SELECT id, end_to_end_id FROM wallet_direct_debits WHERE status = 'pending' AND settle_on <= $1"
                         " ORDER BY id LIMIT 500",
                         {today});
    if (!rows.ok()) return std::move(rows).error();
    for (const Row& row : rows->rows) {
      ledger::Transfer post;
      post.id = "sepa-dd-settle:" + row.Text(1);
      post.flags = ledger::transfer_flags::kPostPending;
      post.pending_id = "sepa-dd-transit:" + row.Text(1);
      GUICHET_TRY_STATUS(ApplyLedger(tx, post, now));
      GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_direct_debits SET status = 'settled', updated_at = $1 WHERE id = $2",
                                    {now, row.Int(0)}));
    }
    return static_cast<int64_t>(rows->rows.size());
  });
}

void RegisterDirectDebitJobs(jobs::Runner& runner, DirectDebits& debits) {
  runner.Register("wallet.sepa_settle", [&debits](const jobs::JobRecord&) -> Status {
    auto settled = debits.SettleDue();
    if (!settled.ok()) return std::move(settled).error();
    if (*settled > 0) log::Info("wallet direct debits settled", {{"count", *settled}});
    return OkStatus();
  });
  runner.Every("wallet.sepa_settle", kSepaSettleEveryMs);
}

storage::Migration DirectDebitMigration() {
  constexpr std::string_view kSchema =
      "CREATE TABLE wallet_sepa_mandates ({id}, holder_id BIGINT NOT NULL REFERENCES wallet_holders (id),"
      " organisation_id BIGINT NOT NULL REFERENCES organisations (id), rum TEXT NOT NULL, iban TEXT NOT NULL, bic TEXT,"
      " name TEXT NOT NULL, signed_on TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),"
      " first_used BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
      " CREATE TABLE wallet_direct_debits ({id}, holder_id BIGINT NOT NULL REFERENCES wallet_holders (id),"
      " organisation_id BIGINT NOT NULL REFERENCES organisations (id),"
      " mandate_id BIGINT NOT NULL REFERENCES wallet_sepa_mandates (id), amount BIGINT NOT NULL CHECK (amount > 0),"
      " sequence TEXT NOT NULL CHECK (sequence IN ('FRST', 'RCUR')), end_to_end_id TEXT NOT NULL,"
      " collection_date TEXT NOT NULL, settle_on TEXT NOT NULL,"
      " status TEXT NOT NULL CHECK (status IN ('pending', 'settled', 'rejected')),"
      " file_id BIGINT REFERENCES wallet_sepa_files (id), created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
      " CREATE INDEX wallet_direct_debits_due ON wallet_direct_debits (status, settle_on);"
      " CREATE TABLE wallet_sepa_covers (holder_id BIGINT NOT NULL REFERENCES wallet_holders (id), day TEXT NOT NULL,"
      " debit_id BIGINT NOT NULL REFERENCES wallet_direct_debits (id), amount BIGINT NOT NULL,"
      " created_at BIGINT NOT NULL, PRIMARY KEY (holder_id, day));";
  const auto schema = [&](std::string_view id) {
    std::string text(kSchema);
    for (size_t at; (at = text.find("{id}")) != std::string::npos;) text.replace(at, 4, id);
    return text;
  };
  return {"wallet.money", 2, "SEPA mandates, direct debits, reject covers",
          schema("id INTEGER PRIMARY KEY AUTOINCREMENT"), schema("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")};
}

object MandateJson(const Mandate& m) {
  const std::string masked = m.iban.substr(0, 4) + std::string(m.iban.size() > 8 ? m.iban.size() - 8 : 0, '*') +
                             (m.iban.size() > 4 ? m.iban.substr(m.iban.size() - 4) : "");
  return object{{"id", m.id},         {"rum", m.rum},       {"iban", masked},
                {"name", m.name},     {"signed_on", m.signed_on}, {"status", m.status},
                {"first_used", m.first_used}};
}

object DirectDebitJson(const DirectDebit& d) {
  object o{{"id", d.id},
           {"mandate_id", d.mandate_id},
           {"amount", d.amount},
           {"sequence", d.sequence},
           {"end_to_end_id", d.end_to_end_id},
           {"collection_date", d.collection_date},
           {"settle_on", d.settle_on},
           {"status", d.status},
           {"created_at", FormatIso8601(d.created_at_ms)}};
  if (d.file_id) o["file_id"] = *d.file_id;
  return o;
}

}  // namespace guichet::wallet
