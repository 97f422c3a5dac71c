// Settlement runs in the database (settlement.h): gathering a merchant's acknowledged
// operations, storing the run, moving its money through the ledger, queuing its e-mail,
// regenerating its documents and paying runs by pain.001 files.
#include "modules/wallet/settlement.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <set>

#include "modules/wallet/internal.h"
#include "modules/wallet/settlement_fees.h"
#include "platform/base/assert.h"
#include "platform/base/clock.h"
#include "platform/base/crypto.h"
#include "platform/ledger/ledger.h"
#include "platform/notify/mime.h"
#include "platform/notify/outbox.h"
#include "platform/orgs/orgs.h"

namespace guichet::wallet {
namespace {

using boost::json::array;
using boost::json::object;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

Error Refusal(ErrorKind kind, std::string_view code, std::string message) {
  return Error{kind, std::string(code), std::move(message), {}};
}

struct MerchantRow {
  int64_t id = 0;
  int64_t region_id = 0;
  std::string name, bic, email, path;
  int64_t commission_bp = 0;
  int64_t period_days = 0;
  int64_t created_at_ms = 0;
};

constexpr std::string_view kMerchantSelect =
    "SELECT m.organisation_id, o.parent_id, o.name, m.bic, m.contact_email, o.path,"
    " m.commission_bp, m.settlement_period_days, m.created_at"
    " FROM wallet_merchants m JOIN organisations o ON o.id = m.organisation_id";

MerchantRow ToMerchantRow(const Row& row) {
  return {row.Int(0),  row.OptionalInt(1).value_or(0),
          row.Text(2), row.Text(3),
          row.Text(4), row.Text(5),
          row.Int(6),  row.Int(7),
          row.Int(8)};
}

Result<std::optional<MerchantRow>> FindMerchant(Transaction& tx, int64_t merchant_id) {
  auto row =
      tx.QueryOne(fmt::format("{} WHERE m.organisation_id = $1", kMerchantSelect), {merchant_id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<MerchantRow>();
  return std::optional<MerchantRow>(ToMerchantRow(**row));
}

constexpr std::string_view kRunColumns =
    "r.id, r.merchant_org_id, r.seq, r.statement_id, r.period_start_ms, r.period_end_ms,"
    " r.commission_bp, r.debits_cents, r.cancellations_cents, r.commission_cents,"
    " r.cash_reloads_cents, r.fees_cents, r.transactions, r.brought_forward_cents, r.net_cents,"
    " r.payable_cents, r.carried_forward_cents, r.state, r.transfer_file_id, r.paid_at_ms,"
    " r.document_version, r.statement_sha256, r.created_at, o.path";

SettlementRun ToRun(const Row& row) {
  SettlementRun run;
  run.id = row.Int(0);
  run.merchant_org_id = row.Int(1);
  run.seq = row.Int(2);
  run.statement_id = row.Text(3);
  run.period_start_ms = row.Int(4);
  run.period_end_ms = row.Int(5);
  run.commission_bp = row.Int(6);
  run.totals.debits_cents = row.Int(7);
  run.totals.cancellations_cents = row.Int(8);
  run.totals.commission_cents = row.Int(9);
  run.totals.cash_reloads_cents = row.Int(10);
  run.totals.fees_cents = row.Int(11);
  run.totals.transactions = row.Int(12);
  run.brought_forward_cents = row.Int(13);
  run.net_cents = row.Int(14);
  run.payable_cents = row.Int(15);
  run.carried_forward_cents = row.Int(16);
  run.state = row.Text(17);
  run.transfer_file_id = row.OptionalInt(18);
  run.paid_at_ms = row.OptionalInt(19);
  run.document_version = row.Int(20);
  run.statement_sha256 = row.Text(21);
  run.created_at_ms = row.Int(22);
  run.totals.net_cents = run.net_cents + run.brought_forward_cents;
  return run;
}

Result<std::optional<std::pair<SettlementRun, std::string>>> FindRun(Transaction& tx,
                                                                     int64_t run_id) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM wallet_settlement_runs r JOIN organisations o"
                                     " ON o.id = r.merchant_org_id WHERE r.id = $1",
                                     kRunColumns),
                         {run_id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<std::pair<SettlementRun, std::string>>();
  return std::optional(std::pair{ToRun(**row), (*row)->Text(23)});
}

// The runs a transfer pays when the caller chose them, by id: each in `scopes` and to_pay.
Result<std::vector<SettlementRun>> ChosenRuns(Transaction& tx,
                                              const std::vector<std::string>& scopes,
                                              std::vector<int64_t> run_ids) {
  GUICHET_ASSERT(static_cast<int64_t>(run_ids.size()) <= kSettlementTransferRunsMax);
  std::sort(run_ids.begin(), run_ids.end());
  std::vector<SettlementRun> runs;
  for (const int64_t id : run_ids) {
    auto found = FindRun(tx, id);
    if (!found.ok()) return std::move(found).error();
    if (!found->has_value() || !orgs::ContainedInAny(scopes, (*found)->second)) {
      return Error{ErrorKind::kNotFound,
                   std::string(settlement_code::kNotFound),
                   fmt::format("No such settlement run: {}.", id),
                   {{"/run_ids", fmt::format("run {} is not found", id)}}};
    }
    if ((*found)->first.state != "to_pay") {
      return Error{ErrorKind::kConflict,
                   std::string(settlement_code::kNotToPay),
                   fmt::format("Settlement run {} is not waiting to be paid ({}).", id,
                               (*found)->first.state),
                   {{"/run_ids", fmt::format("run {} is {}", id, (*found)->first.state)}}};
    }
    runs.push_back(std::move((*found)->first));
  }
  return runs;
}

std::optional<SettlementOperation> OperationOf(std::string_view name) {
  if (name == "debit") return SettlementOperation::kDebit;
  if (name == "cancel") return SettlementOperation::kCancel;
  if (name == "cash_reload") return SettlementOperation::kCashReload;
  if (name == "load") return SettlementOperation::kLoad;
  return std::nullopt;
}

constexpr std::string_view kItemColumns =
    "t.id, t.point_id, t.operation, t.counter, t.amount, t.acknowledged_at_ms";

Result<std::vector<SettlementItem>> ToItems(const storage::QueryResult& result) {
  std::vector<SettlementItem> items;
  items.reserve(result.rows.size());
  for (const Row& row : result.rows) {
    const auto operation = OperationOf(row.Text(2));
    GUICHET_ASSERT(operation.has_value());
    items.push_back({row.Int(0), row.Int(1), *operation, row.Text(3), row.Int(4), row.Int(5)});
  }
  return items;
}

// What a new run of [start, end) covers: the merchant's real (not test) operations positively
// acknowledged in the period and not settled yet. A cancelled debit was acknowledged: it is
// covered as a debit, and its cancellation as a cancellation (in the run of its own time).
Result<std::vector<SettlementItem>> UnsettledItems(Transaction& tx, int64_t merchant_id,
                                                   int64_t start_ms, int64_t end_ms) {
  auto rows = tx.Query(
      fmt::format(
          "SELECT {} FROM wallet_pos_transactions t WHERE t.merchant_org_id = $1 AND t.is_test = 0"
          " AND t.acknowledged_at_ms >= $2 AND t.acknowledged_at_ms < $3"
          " AND ((t.operation = 'debit' AND t.state IN ('acknowledged', 'cancelled'))"
          " OR (t.operation IN ('cancel', 'cash_reload', 'load') AND t.state = 'acknowledged'))"
          " AND NOT EXISTS (SELECT 1 FROM wallet_settlement_run_transactions s"
          " WHERE s.transaction_id = t.id) ORDER BY t.id",
          kItemColumns),
      {merchant_id, start_ms, end_ms});
  if (!rows.ok()) return std::move(rows).error();
  if (rows->rows.size() > kSettlementItemsMax) {
    return Refusal(ErrorKind::kValidation, "settlement_too_many_items",
                   "Too many transactions for one run.");
  }
  return ToItems(*rows);
}

Result<std::vector<SettlementItem>> RunItems(Transaction& tx, int64_t run_id) {
  auto rows = tx.Query(fmt::format("SELECT {} FROM wallet_pos_transactions t JOIN "
                                   "wallet_settlement_run_transactions s ON s.transaction_id = t.id"
                                   " WHERE s.run_id = $1 ORDER BY t.id",
                                   kItemColumns),
                       {run_id});
  if (!rows.ok()) return std::move(rows).error();
  return ToItems(*rows);
}

Result<std::vector<SettlementPoint>> PointsOf(Transaction& tx, int64_t merchant_id,
                                              const std::vector<SettlementItem>& items) {
  std::set<int64_t> ids;
  for (const SettlementItem& item : items) ids.insert(item.point_id);
  auto rows = tx.Query(
      "SELECT id, institution_id, location, type FROM wallet_points WHERE merchant_org_id = $1"
      " ORDER BY id",
      {merchant_id});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<SettlementPoint> points;
  for (const Row& row : rows->rows) {
    if (!ids.contains(row.Int(0))) continue;
    points.push_back({row.Int(0), row.Text(1), row.Text(2), row.Text(3)});
  }
  return points;
}

std::string StatementId(int64_t merchant_id, int64_t seq) {
  return fmt::format("STL-{}-{}", merchant_id, seq);
}

Result<SettlementInput> BuildInput(Transaction& tx, const Pos& pos, const MerchantRow& merchant,
                                   std::string statement_id, int64_t start_ms, int64_t end_ms,
                                   int64_t commission_bp, int64_t brought_forward_cents,
                                   std::vector<SettlementItem> items) {
  SettlementInput input;
  input.statement_id = std::move(statement_id);
  auto iban = pos.MerchantIban(tx, merchant.id);
  if (!iban.ok()) return std::move(iban).error();
  input.merchant = {merchant.id, merchant.name, *iban, merchant.bic, merchant.email};
  input.period_start_ms = start_ms;
  input.period_end_ms = end_ms;
  input.commission_basis_points = commission_bp;
  auto points = PointsOf(tx, merchant.id, items);
  if (!points.ok()) return std::move(points).error();
  input.points = std::move(*points);
  input.items = std::move(items);
  input.brought_forward_cents = brought_forward_cents;
  return input;
}

// The ledger side of a run, every transfer keyed by the run so that it is applied once: the
// points' takings swept into the merchant's sales account, then commission and cash offset out
// of it, the rest into the payable account.
Status MoveRunMoney(Transaction& tx, const MerchantRow& merchant, int64_t run_id,
                    const SettlementStatement& statement, int64_t now_ms) {
  const SettlementAmounts& t = statement.totals;
  const int64_t into_payable = t.debits_cents - t.cancellations_cents - t.commission_cents -
                               t.fees_cents - t.cash_reloads_cents;
  GUICHET_ASSERT(into_payable - statement.brought_forward_cents == statement.net_cents);
  auto sales = OperatorAccount(tx, merchant.id, kEuro, purpose::kSales, now_ms);
  if (!sales.ok()) return std::move(sales).error();
  auto cash = OperatorAccount(tx, merchant.id, kEuro, purpose::kCash, now_ms);
  if (!cash.ok()) return std::move(cash).error();
  auto payable = OperatorAccount(tx, merchant.id, kEuro, purpose::kSettlementPayable, now_ms);
  if (!payable.ok()) return std::move(payable).error();
  auto commission = OperatorAccount(tx, merchant.region_id, kEuro, purpose::kCommission, now_ms);
  if (!commission.ok()) return std::move(commission).error();
  auto fees = OperatorAccount(tx, merchant.region_id, kEuro, purpose::kFees, now_ms);
  if (!fees.ok()) return std::move(fees).error();
  std::vector<ledger::Transfer> transfers;
  const auto add = [&](std::string_view what, int64_t debit, int64_t credit, int64_t amount) {
    if (amount == 0) return;
    ledger::Transfer transfer;
    transfer.id = fmt::format("settle:{}:{}", run_id, what);
    transfer.debit_account_id = amount > 0 ? debit : credit;
    transfer.credit_account_id = amount > 0 ? credit : debit;
    transfer.amount = amount > 0 ? amount : -amount;
    transfer.ledger = std::string(kEuro);
    transfer.code = fmt::format("settlement.{}", what.substr(0, what.find(':')));
    transfer.reference = statement.statement_id;
    transfers.push_back(std::move(transfer));
  };
  // First each point's takings (its own sales account, see PointSalesAccount) come to the
  // merchant's sales account: euro debits less cancellations booked at that point in the run.
  for (const SettlementPointStatement& point : statement.points) {
    int64_t takings = 0;
    for (const SettlementCounterLine& line : point.counters) {
      if (line.counter == kEuro) takings = line.debits - line.cancellations;
    }
    if (takings == 0) continue;
    auto account = PointSalesAccount(tx, point.point.point_id, merchant.id, kEuro, now_ms);
    if (!account.ok()) return std::move(account).error();
    const std::string what = fmt::format("point:{}", point.point.point_id);
    add(what, *account, *sales, takings);
  }
  add("commission", *sales, *commission, t.commission_cents);
  add("fees", *sales, *fees, t.fees_cents);  // the merchant's fee schedule (settlement_fees.h)
  add("cash", *sales, *cash, t.cash_reloads_cents);
  add("payable", *sales, *payable, into_payable);
  if (transfers.empty()) return OkStatus();
  auto results = ledger::CreateTransfers(tx, transfers, now_ms);
  if (!results.ok()) return std::move(results).error();
  for (const auto result : *results) {
    if (result != ledger::CreateTransferResult::kOk) {
      return Error::Internal(fmt::format("settlement transfer refused by the ledger: {}",
                                         ledger::CreateTransferResultName(result)));
    }
  }
  return OkStatus();
}

// The outbox keeps a message's variables small (notify::kVariablesBytesMax): the PDFs are
// attached while they fit, the merchant statement first; the text always gives the links to
// download them.
Status QueueStatementMail(Transaction& tx, const MerchantRow& merchant, int64_t run_id,
                          const SettlementStatement& statement, int64_t generated_at_ms,
                          int64_t now_ms) {
  const std::string base = fmt::format("/api/v1/wallet/settlements/{}", run_id);
  const std::string text = fmt::format(
      "Bonjour,\n\nVoici le relevé de règlement {} ({} opérations).\nNet : {}\nÀ payer : {}\n"
      "Reporté : {}\n\nRelevé : {}/documents/statement.pdf\n",
      statement.statement_id, statement.totals.transactions, FormatEurosFr(statement.net_cents),
      FormatEurosFr(statement.payable_cents), FormatEurosFr(statement.carried_forward_cents), base);
  object variables{{"subject", fmt::format("Relevé de règlement {}", statement.statement_id)},
                   {"text", text},
                   {"statement_id", statement.statement_id},
                   {"payable_cents", statement.payable_cents},
                   {"attachments", array{}}};
  const auto attach = [&](std::string name, const std::string& pdf) {
    object copy = variables;
    copy["attachments"].as_array().push_back(object{{"filename", std::move(name)},
                                                    {"content_type", "application/pdf"},
                                                    {"base64", notify::Base64(pdf)}});
    if (static_cast<int64_t>(boost::json::serialize(copy).size()) > notify::kVariablesBytesMax) {
      return false;
    }
    variables = std::move(copy);
    return true;
  };
  if (attach(fmt::format("releve-{}.pdf", statement.statement_id),
             SettlementStatementPdf(statement, generated_at_ms))) {
    int64_t attached = 0;
    for (const SettlementPointStatement& point : statement.points) {
      if (++attached > kSettlementMailPointPdfsMax) break;
      auto pdf = SettlementPointPdf(statement, point.point.point_id, generated_at_ms);
      if (!pdf.ok()) return std::move(pdf).error();
      if (!attach(
              fmt::format("releve-{}-point-{}.pdf", statement.statement_id, point.point.point_id),
              *pdf)) {
        break;
      }
    }
  }
  notify::OutboxMessage message;
  message.channel = "email";
  message.recipient = merchant.email;
  message.template_code = "wallet.settlement_statement";
  message.organisation_id = merchant.id;
  message.variables_json = boost::json::serialize(variables);
  auto queued = notify::Queue(tx, message, now_ms);
  if (!queued.ok()) return std::move(queued).error();
  return OkStatus();
}

Status InsertRunRows(Transaction& tx, int64_t run_id, const SettlementStatement& statement,
                     const std::vector<SettlementItem>& items) {
  for (const SettlementPointStatement& point : statement.points) {
    const SettlementAmounts& a = point.totals;
    GUICHET_TRY_STATUS(tx.Execute(
        "INSERT INTO wallet_settlement_run_points (run_id, point_id, debits_cents,"
        " cancellations_cents, commission_cents, cash_reloads_cents, fees_cents, net_cents,"
        " transactions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        {run_id, point.point.point_id, a.debits_cents, a.cancellations_cents, a.commission_cents,
         a.cash_reloads_cents, a.fees_cents, a.net_cents, a.transactions}));
  }
  for (const SettlementItem& item : items) {
    GUICHET_TRY_STATUS(tx.Execute(
        "INSERT INTO wallet_settlement_run_transactions (transaction_id, run_id) VALUES ($1, $2)",
        {item.transaction_id, run_id}));
    auto marked = tx.Execute(
        "UPDATE wallet_pos_transactions SET settlement_run_id = $1 WHERE id = $2"
        " AND settlement_run_id IS NULL",
        {run_id, item.transaction_id});
    if (!marked.ok()) return std::move(marked).error();
    GUICHET_ASSERT(*marked == 1);  // the primary key above already refused a second run
  }
  return OkStatus();
}

Result<std::vector<SettlementRunPoint>> RunPoints(Transaction& tx, int64_t run_id) {
  auto rows = tx.Query(
      "SELECT l.point_id, p.institution_id, p.location, l.debits_cents, l.cancellations_cents,"
      " l.commission_cents, l.cash_reloads_cents, l.fees_cents, l.net_cents, l.transactions"
      " FROM wallet_settlement_run_points l JOIN wallet_points p ON p.id = l.point_id"
      " WHERE l.run_id = $1 ORDER BY l.point_id",
      {run_id});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<SettlementRunPoint> points;
  for (const Row& row : rows->rows) {
    SettlementRunPoint point{row.Int(0), row.Text(1), row.Text(2), {}};
    point.amounts = {row.Int(3), row.Int(4), row.Int(5), row.Int(6),
                     row.Int(7), row.Int(8), row.Int(9)};
    points.push_back(std::move(point));
  }
  return points;
}

Result<std::vector<SettlementDocumentVersion>> Versions(Transaction& tx, int64_t run_id) {
  auto rows = tx.Query(
      "SELECT version, generated_at_ms, statement_sha256, reason FROM wallet_settlement_documents"
      " WHERE run_id = $1 ORDER BY version",
      {run_id});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<SettlementDocumentVersion> versions;
  for (const Row& row : rows->rows)
    versions.push_back({row.Int(0), row.Int(1), row.Text(2), row.Text(3)});
  return versions;
}

Result<SettlementRunDetail> Detail(Transaction& tx, const SettlementRun& run) {
  SettlementRunDetail detail{run, {}, {}};
  auto points = RunPoints(tx, run.id);
  if (!points.ok()) return std::move(points).error();
  detail.points = std::move(*points);
  auto versions = Versions(tx, run.id);
  if (!versions.ok()) return std::move(versions).error();
  detail.versions = std::move(*versions);
  return detail;
}

Status InsertVersion(Transaction& tx, const identity::Caller& caller, int64_t run_id,
                     int64_t version, int64_t generated_at_ms, const std::string& sha256,
                     std::string_view reason) {
  auto inserted = tx.Execute(
      "INSERT INTO wallet_settlement_documents (run_id, version, generated_at_ms,"
      " statement_sha256, reason, actor_type, actor_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {run_id, version, generated_at_ms, sha256, std::string(reason), internal::ActorType(caller),
       internal::Nullable(internal::ActorId(caller))});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

}  // namespace

void DeclareSettlementPermissions(identity::RightsCatalog& catalog) {
  catalog.AddPermission(
      {std::string(right::kSettlementsRead), "Read settlement runs and download their statements"});
  catalog.AddPermission(
      {std::string(right::kSettlementsManage),
       "Run settlements, regenerate their documents and export the transfers paying them"});
}

Settlements::Settlements(Pos& pos, SettlementOptions options)
    : pos_(pos), wallet_(pos.wallet()), options_(std::move(options)) {}

namespace {

// One run of a merchant in the caller's write transaction. `forced`: staff may make a merchant's
// first run before its first period has passed.
Result<SettlementRunDetail> RunInTransaction(Transaction& tx, const Pos& pos,
                                             const identity::Caller& caller,
                                             const MerchantRow& merchant, int64_t cutoff_ms,
                                             bool forced, int64_t now_ms) {
  auto previous = tx.QueryOne(
      "SELECT seq, period_end_ms, carried_forward_cents FROM wallet_settlement_runs"
      " WHERE merchant_org_id = $1 ORDER BY seq DESC LIMIT 1",
      {merchant.id});
  if (!previous.ok()) return std::move(previous).error();
  const bool first = !previous->has_value();
  const int64_t seq = first ? 1 : (*previous)->Int(0) + 1;
  const int64_t start_ms = first ? merchant.created_at_ms : (*previous)->Int(1);
  const int64_t brought_forward = first ? 0 : (*previous)->Int(2);
  const int64_t period_ms = merchant.period_days * kDayMs;
  if (cutoff_ms <= start_ms || (!(forced && first) && cutoff_ms - start_ms < period_ms)) {
    return Refusal(ErrorKind::kConflict, settlement_code::kNotDue,
                   fmt::format("This merchant is settled every {} days; the next run is due from "
                               "{}.",
                               merchant.period_days, FormatIso8601(start_ms + period_ms)));
  }
  const int64_t end_ms = std::min(cutoff_ms, start_ms + period_ms);
  auto items = UnsettledItems(tx, merchant.id, start_ms, end_ms);
  if (!items.ok()) return std::move(items).error();
  const std::vector<SettlementItem> covered = *items;
  auto input = BuildInput(tx, pos, merchant, StatementId(merchant.id, seq), start_ms, end_ms,
                          merchant.commission_bp, brought_forward, std::move(*items));
  if (!input.ok()) return std::move(input).error();
  GUICHET_TRY_STATUS(AddScheduledFees(tx, merchant.id, *input));
  auto statement = CalculateSettlement(*input);
  if (!statement.ok()) return std::move(statement).error();
  GUICHET_ASSERT(SettlementAddsUp(*statement));
  const std::string sha256 = crypto::Sha256Hex(SettlementStatementPdf(*statement, now_ms));
  const SettlementAmounts& t = statement->totals;
  const std::string state = statement->payable_cents > 0 ? "to_pay" : "nothing_to_pay";
  auto row = tx.QueryOne(
      "INSERT INTO wallet_settlement_runs (merchant_org_id, seq, statement_id, period_start_ms,"
      " period_end_ms, commission_bp, debits_cents, cancellations_cents, commission_cents,"
      " cash_reloads_cents, fees_cents, transactions, brought_forward_cents, net_cents,"
      " payable_cents, carried_forward_cents, state, document_version, statement_sha256,"
      " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,"
      " $16, $17, 1, $18, $19) RETURNING id",
      {merchant.id, seq, statement->statement_id, start_ms, end_ms, merchant.commission_bp,
       t.debits_cents, t.cancellations_cents, t.commission_cents, t.cash_reloads_cents,
       t.fees_cents, t.transactions, statement->brought_forward_cents, statement->net_cents,
       statement->payable_cents, statement->carried_forward_cents, state, sha256, now_ms});
  if (!row.ok()) {
    if (row.error().code == storage::kUniqueViolation) {
      return Refusal(ErrorKind::kConflict, settlement_code::kNotDue,
                     "Another run of this merchant was made meanwhile.");
    }
    return std::move(row).error();
  }
  const int64_t run_id = (*row)->Int(0);
  GUICHET_TRY_STATUS(InsertRunRows(tx, run_id, *statement, covered));
  GUICHET_TRY_STATUS(StoreRunFees(tx, run_id, *input));
  GUICHET_TRY_STATUS(InsertVersion(tx, caller, run_id, 1, now_ms, sha256, "run"));
  GUICHET_TRY_STATUS(MoveRunMoney(tx, merchant, run_id, *statement, now_ms));
  GUICHET_TRY_STATUS(QueueStatementMail(tx, merchant, run_id, *statement, now_ms, now_ms));
  auto stored = FindRun(tx, run_id);
  if (!stored.ok()) return std::move(stored).error();
  GUICHET_ASSERT(stored->has_value());
  GUICHET_TRY_STATUS(internal::Audit(
      tx, &caller, "wallet.settlement.run", "wallet_settlement_run", run_id, merchant.id, nullptr,
      SettlementRunJson((*stored)->first), caller.request_id, now_ms));
  return Detail(tx, (*stored)->first);
}

}  // namespace

Result<SettlementRunDetail> Settlements::RunMerchant(const identity::Caller& caller,
                                                     int64_t merchant_id,
                                                     std::optional<int64_t> cutoff_ms) {
  const int64_t now = wallet_.clock().NowMs();
  if (cutoff_ms && *cutoff_ms > now) {
    return Error{ErrorKind::kValidation,
                 std::string(settlement_code::kCutoffInvalid),
                 "The cutoff cannot be in the future.",
                 {{"/cutoff_ms", "at most now"}}};
  }
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kSettlementsManage);
  return wallet_.database().Transact<SettlementRunDetail>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<SettlementRunDetail> {
        auto merchant = FindMerchant(tx, merchant_id);
        if (!merchant.ok()) return std::move(merchant).error();
        if (!merchant->has_value() || !orgs::ContainedInAny(scopes, (*merchant)->path)) {
          return Refusal(ErrorKind::kNotFound, "merchant_not_found", "No such merchant.");
        }
        return RunInTransaction(tx, pos_, caller, **merchant, cutoff_ms.value_or(now), true, now);
      });
}

Result<int64_t> Settlements::RunDue() {
  const int64_t now = wallet_.clock().NowMs();
  identity::Caller system;
  system.kind = identity::Caller::Kind::kSystem;
  auto merchants = wallet_.database().Transact<std::vector<MerchantRow>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<MerchantRow>> {
        // Due: the period elapsed since the previous run's end (or the merchant's creation).
        auto rows = tx.Query(
            fmt::format("{} WHERE COALESCE((SELECT MAX(r.period_end_ms) FROM "
                        "wallet_settlement_runs r WHERE r.merchant_org_id = m.organisation_id),"
                        " m.created_at) + m.settlement_period_days * $1 <= $2"
                        " ORDER BY m.organisation_id LIMIT $3",
                        kMerchantSelect),
            {kDayMs, now, kSettlementRunsPerJobMax});
        if (!rows.ok()) return std::move(rows).error();
        std::vector<MerchantRow> due;
        for (const Row& row : rows->rows) due.push_back(ToMerchantRow(row));
        return due;
      });
  if (!merchants.ok()) return std::move(merchants).error();
  int64_t runs = 0;
  for (const MerchantRow& merchant : *merchants) {
    auto run = wallet_.database().Transact<SettlementRunDetail>(
        TransactionMode::kWrite, [&](Transaction& tx) {
          return RunInTransaction(tx, pos_, system, merchant, now, false, now);
        });
    if (!run.ok()) {
      if (run.error().code == settlement_code::kNotDue) continue;  // another process ran it
      return std::move(run).error();
    }
    ++runs;
  }
  return runs;
}

Result<SettlementRun> Settlements::VisibleRun(Transaction& tx, const identity::Caller& caller,
                                              std::string_view needed, int64_t run_id) {
  auto found = FindRun(tx, run_id);
  if (!found.ok()) return std::move(found).error();
  if (!found->has_value() ||
      !orgs::ContainedInAny(wallet_.authorizer().Scopes(caller, needed), (*found)->second)) {
    return Refusal(ErrorKind::kNotFound, settlement_code::kNotFound, "No such settlement run.");
  }
  return (*found)->first;
}

Result<std::vector<SettlementRun>> Settlements::List(const identity::Caller& caller,
                                                     std::optional<int64_t> merchant_id) {
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kSettlementsRead);
  return wallet_.database().Transact<std::vector<SettlementRun>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<SettlementRun>> {
        // One shape per filter: PostgreSQL deduces one type per parameter.
        auto rows =
            merchant_id
                ? tx.Query(
                      fmt::format("SELECT {} FROM wallet_settlement_runs r JOIN organisations o"
                                  " ON o.id = r.merchant_org_id WHERE r.merchant_org_id = $1"
                                  " ORDER BY r.id DESC",
                                  kRunColumns),
                      {*merchant_id})
                : tx.Query(
                      fmt::format("SELECT {} FROM wallet_settlement_runs r JOIN organisations o"
                                  " ON o.id = r.merchant_org_id ORDER BY r.id DESC",
                                  kRunColumns),
                      {});
        if (!rows.ok()) return std::move(rows).error();
        std::vector<SettlementRun> runs;
        for (const Row& row : rows->rows) {
          if (!orgs::ContainedInAny(scopes, row.Text(23))) continue;
          runs.push_back(ToRun(row));
          if (static_cast<int64_t>(runs.size()) >= kSettlementListMax) break;
        }
        return runs;
      });
}

Result<SettlementRunDetail> Settlements::Get(const identity::Caller& caller, int64_t run_id) {
  return wallet_.database().Transact<SettlementRunDetail>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<SettlementRunDetail> {
        auto run = VisibleRun(tx, caller, right::kSettlementsRead, run_id);
        if (!run.ok()) return std::move(run).error();
        return Detail(tx, *run);
      });
}

Result<SettlementStatement> Settlements::Recompute(Transaction& tx, int64_t run_id) {
  auto found = FindRun(tx, run_id);
  if (!found.ok()) return std::move(found).error();
  if (!found->has_value()) {
    return Refusal(ErrorKind::kNotFound, settlement_code::kNotFound, "No such settlement run.");
  }
  const SettlementRun& run = (*found)->first;
  auto merchant = FindMerchant(tx, run.merchant_org_id);
  if (!merchant.ok()) return std::move(merchant).error();
  GUICHET_ASSERT(merchant->has_value());
  auto items = RunItems(tx, run.id);
  if (!items.ok()) return std::move(items).error();
  auto input =
      BuildInput(tx, pos_, **merchant, run.statement_id, run.period_start_ms, run.period_end_ms,
                 run.commission_bp, run.brought_forward_cents, std::move(*items));
  if (!input.ok()) return std::move(input).error();
  GUICHET_TRY_STATUS(AddStoredRunFees(tx, run.id, run.merchant_org_id, *input));
  auto statement = CalculateSettlement(*input);
  if (!statement.ok()) return std::move(statement).error();
  // The stored figures never change: the same items give the same statement.
  GUICHET_ASSERT(statement->totals.debits_cents == run.totals.debits_cents);
  GUICHET_ASSERT(statement->totals.cancellations_cents == run.totals.cancellations_cents);
  GUICHET_ASSERT(statement->totals.commission_cents == run.totals.commission_cents);
  GUICHET_ASSERT(statement->totals.cash_reloads_cents == run.totals.cash_reloads_cents);
  GUICHET_ASSERT(statement->totals.fees_cents == run.totals.fees_cents);
  GUICHET_ASSERT(statement->net_cents == run.net_cents);
  GUICHET_ASSERT(statement->payable_cents == run.payable_cents);
  return statement;
}

Result<SettlementFile> Settlements::Document(const identity::Caller& caller, int64_t run_id,
                                             SettlementDocument document, int64_t point_id) {
  return wallet_.database().Transact<SettlementFile>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<SettlementFile> {
        auto run = VisibleRun(tx, caller, right::kSettlementsRead, run_id);
        if (!run.ok()) return std::move(run).error();
        auto version = tx.QueryOne(
            "SELECT generated_at_ms FROM wallet_settlement_documents WHERE run_id = $1 AND"
            " version = $2",
            {run->id, run->document_version});
        if (!version.ok()) return std::move(version).error();
        GUICHET_ASSERT(version->has_value());
        const int64_t at = (*version)->Int(0);
        auto statement = Recompute(tx, run->id);
        if (!statement.ok()) return std::move(statement).error();
        const std::string base =
            fmt::format("releve-{}-v{}", run->statement_id, run->document_version);
        switch (document) {
          case SettlementDocument::kStatementPdf:
            return SettlementFile{"application/pdf", base + ".pdf",
                                  SettlementStatementPdf(*statement, at)};
          case SettlementDocument::kPointPdf: {
            auto pdf = SettlementPointPdf(*statement, point_id, at);
            if (!pdf.ok()) return std::move(pdf).error();
            return SettlementFile{"application/pdf", fmt::format("{}-point-{}.pdf", base, point_id),
                                  *pdf};
          }
          case SettlementDocument::kXml:
            return SettlementFile{"application/xml; charset=utf-8", base + ".xml",
                                  SettlementStatementXml(*statement, at)};
          case SettlementDocument::kJournalCsv:
            return SettlementFile{"text/csv; charset=utf-8", base + "-journal.csv",
                                  SettlementJournalCsv(*statement)};
        }
        return Error::Internal("unknown settlement document");
      });
}

Result<SettlementRunDetail> Settlements::Regenerate(const identity::Caller& caller, int64_t run_id,
                                                    std::string_view reason) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<SettlementRunDetail>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<SettlementRunDetail> {
        auto run = VisibleRun(tx, caller, right::kSettlementsManage, run_id);
        if (!run.ok()) return std::move(run).error();
        auto statement = Recompute(tx, run->id);
        if (!statement.ok()) return std::move(statement).error();
        const int64_t version = run->document_version + 1;
        const std::string sha256 = crypto::Sha256Hex(SettlementStatementPdf(*statement, now));
        GUICHET_TRY_STATUS(InsertVersion(tx, caller, run->id, version, now, sha256, reason));
        auto changed = tx.Execute(
            "UPDATE wallet_settlement_runs SET document_version = $1, statement_sha256 = $2"
            " WHERE id = $3 AND document_version = $4",
            {version, sha256, run->id, run->document_version});
        if (!changed.ok()) return std::move(changed).error();
        if (*changed != 1) {
          return Refusal(ErrorKind::kConflict, "settlement_regenerated_meanwhile",
                         "The documents were regenerated meanwhile.");
        }
        auto stored = FindRun(tx, run->id);
        if (!stored.ok()) return std::move(stored).error();
        GUICHET_TRY_STATUS(
            internal::Audit(tx, &caller, "wallet.settlement.regenerate", "wallet_settlement_run",
                            run->id, run->merchant_org_id, SettlementRunJson(*run),
                            SettlementRunJson((*stored)->first), caller.request_id, now));
        return Detail(tx, (*stored)->first);
      });
}

Result<SettlementTransferBatch> Settlements::ExportTransfers(const identity::Caller& caller,
                                                             const std::vector<int64_t>& run_ids) {
  const int64_t now = wallet_.clock().NowMs();
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kSettlementsManage);
  if (scopes.empty()) {
    return Refusal(ErrorKind::kForbidden, "forbidden", "You cannot pay settlements.");
  }
  return wallet_.database().Transact<SettlementTransferBatch>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<SettlementTransferBatch> {
        std::vector<SettlementRun> runs;
        if (run_ids.empty()) {
          auto rows = tx.Query(
              fmt::format("SELECT {} FROM wallet_settlement_runs r JOIN organisations o"
                          " ON o.id = r.merchant_org_id WHERE r.state = 'to_pay' ORDER BY r.id",
                          kRunColumns),
              {});
          if (!rows.ok()) return std::move(rows).error();
          for (const Row& row : rows->rows) {
            if (!orgs::ContainedInAny(scopes, row.Text(23))) continue;
            runs.push_back(ToRun(row));
            if (static_cast<int64_t>(runs.size()) >= kSettlementTransferRunsMax) break;
          }
        } else {
          auto chosen = ChosenRuns(tx, scopes, run_ids);
          if (!chosen.ok()) return std::move(chosen).error();
          runs = std::move(*chosen);
        }
        std::vector<SettlementStatement> statements;
        for (const SettlementRun& run : runs) {
          auto statement = Recompute(tx, run.id);
          if (!statement.ok()) return std::move(statement).error();
          statements.push_back(std::move(*statement));
        }
        if (runs.empty()) {
          return Refusal(ErrorKind::kValidation, settlement_code::kNothingToPay,
                         "No settlement run is waiting to be paid.");
        }
        const std::string message_id = fmt::format("STLT-{}", now);
        const banking::Date execution = banking::AddBusinessDays(banking::ParisDate(now), 1);
        auto file = SettlementTransferFile(statements, options_.debtor, message_id, now, execution);
        if (!file.ok()) return std::move(file).error();
        int64_t total = 0;
        for (const SettlementRun& run : runs) total += run.payable_cents;
        auto inserted = tx.QueryOne(
            "INSERT INTO wallet_settlement_transfer_files (message_id, scope_path, runs,"
            " total_cents, body, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            {message_id, scopes.front(), static_cast<int64_t>(runs.size()), total, *file, now});
        if (!inserted.ok()) return std::move(inserted).error();
        const int64_t file_id = (*inserted)->Int(0);
        std::vector<ledger::Transfer> transfers;
        for (const SettlementRun& run : runs) {
          auto changed = tx.Execute(
              "UPDATE wallet_settlement_runs SET state = 'paid', transfer_file_id = $1,"
              " paid_at_ms = $2 WHERE id = $3 AND state = 'to_pay'",
              {file_id, now, run.id});
          if (!changed.ok()) return std::move(changed).error();
          if (*changed != 1) {
            return Refusal(ErrorKind::kConflict, "settlement_paid_meanwhile",
                           "A run was paid by another export meanwhile.");
          }
          auto merchant = FindMerchant(tx, run.merchant_org_id);
          if (!merchant.ok()) return std::move(merchant).error();
          auto payable =
              OperatorAccount(tx, run.merchant_org_id, kEuro, purpose::kSettlementPayable, now);
          if (!payable.ok()) return std::move(payable).error();
          auto bank =
              OperatorAccount(tx, (*merchant)->region_id, kEuro, purpose::kMerchantTransfers, now);
          if (!bank.ok()) return std::move(bank).error();
          transfers.push_back({fmt::format("settle:{}:paid", run.id), *payable, *bank,
                               run.payable_cents, std::string(kEuro), 0, "", "", 0,
                               "settlement.paid", message_id});
        }
        for (size_t from = 0; from < transfers.size();
             from += static_cast<size_t>(ledger::kBatchTransfersMax)) {
          const size_t to =
              std::min(transfers.size(), from + static_cast<size_t>(ledger::kBatchTransfersMax));
          auto results = ledger::CreateTransfers(
              tx, std::vector<ledger::Transfer>(transfers.begin() + from, transfers.begin() + to),
              now);
          if (!results.ok()) return std::move(results).error();
          for (const auto result : *results) {
            if (result != ledger::CreateTransferResult::kOk) {
              return Error::Internal(fmt::format("settlement payment refused by the ledger: {}",
                                                 ledger::CreateTransferResultName(result)));
            }
          }
        }
        GUICHET_TRY_STATUS(internal::Audit(tx, &caller, "wallet.settlement.transfers",
                                           "wallet_settlement_transfer_file", file_id, std::nullopt,
                                           nullptr,
                                           object{{"message_id", message_id},
                                                  {"runs", static_cast<int64_t>(runs.size())},
                                                  {"total_cents", total}},
                                           caller.request_id, now));
        return SettlementTransferBatch{file_id, message_id, static_cast<int64_t>(runs.size()),
                                       total, now};
      });
}

Result<SettlementFile> Settlements::TransferFile(const identity::Caller& caller, int64_t batch_id) {
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kSettlementsManage);
  return wallet_.database().Transact<SettlementFile>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<SettlementFile> {
        auto row = tx.QueryOne(
            "SELECT message_id, scope_path, body FROM wallet_settlement_transfer_files"
            " WHERE id = $1",
            {batch_id});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value() || !orgs::ContainedInAny(scopes, (*row)->Text(1))) {
          return Refusal(ErrorKind::kNotFound, settlement_code::kTransferNotFound,
                         "No such transfer file.");
        }
        return SettlementFile{"application/xml; charset=utf-8",
                              fmt::format("{}.xml", (*row)->Text(0)), (*row)->Text(2)};
      });
}

Result<std::vector<SettlementTransferFileSummary>> Settlements::ListTransfers(
    const identity::Caller& caller, std::optional<int64_t> before_id, int64_t limit) {
  const auto scopes = wallet_.authorizer().Scopes(caller, right::kSettlementsManage);
  if (scopes.empty()) return std::vector<SettlementTransferFileSummary>{};
  const size_t page =
      static_cast<size_t>(std::clamp<int64_t>(limit, 1, kSettlementTransferPageMax));
  return wallet_.database().Transact<std::vector<SettlementTransferFileSummary>>(
      TransactionMode::kRead,
      [&](Transaction& tx) -> Result<std::vector<SettlementTransferFileSummary>> {
        std::vector<SettlementTransferFileSummary> files;
        // Newest first, in slices, until the page is full of files in scope.
        int64_t below = before_id.value_or(INT64_MAX);
        constexpr int64_t kSlice = 200;
        for (;;) {
          auto rows = tx.Query(
              fmt::format("SELECT id, message_id, scope_path, runs, total_cents, created_at"
                          " FROM wallet_settlement_transfer_files WHERE id < $1"
                          " ORDER BY id DESC LIMIT {}",
                          kSlice),
              {below});
          if (!rows.ok()) return std::move(rows).error();
          for (const Row& row : rows->rows) {
            below = row.Int(0);
            if (!orgs::ContainedInAny(scopes, row.Text(2))) continue;
            files.push_back({{row.Int(0), row.Text(1), row.Int(3), row.Int(4), row.Int(5)}, {}});
            if (files.size() >= page) break;
          }
          if (files.size() >= page || static_cast<int64_t>(rows->rows.size()) < kSlice) break;
        }
        if (files.empty()) return files;
        // The page's runs in one query (no index on transfer_file_id: one pass per page).
        std::map<int64_t, SettlementTransferFileSummary*> by_id;
        for (SettlementTransferFileSummary& file : files) by_id[file.batch.id] = &file;
        auto runs = tx.Query(
            "SELECT id, merchant_org_id, statement_id, payable_cents, transfer_file_id FROM"
            " wallet_settlement_runs WHERE state = 'paid' AND transfer_file_id >= $1"
            " AND transfer_file_id <= $2 ORDER BY id",
            {by_id.begin()->first, by_id.rbegin()->first});
        if (!runs.ok()) return std::move(runs).error();
        for (const Row& row : runs->rows) {
          auto file = by_id.find(row.Int(4));
          if (file == by_id.end()) continue;
          file->second->runs.push_back({row.Int(0), row.Int(1), row.Text(2), row.Int(3)});
        }
        return files;
      });
}

object SettlementRunJson(const SettlementRun& run) {
  object o{{"id", run.id},
           {"merchant_id", run.merchant_org_id},
           {"seq", run.seq},
           {"statement_id", run.statement_id},
           {"period_start", FormatIso8601(run.period_start_ms)},
           {"period_end", FormatIso8601(run.period_end_ms)},
           {"period_start_ms", run.period_start_ms},
           {"period_end_ms", run.period_end_ms},
           {"commission_bp", run.commission_bp},
           {"debits_cents", run.totals.debits_cents},
           {"cancellations_cents", run.totals.cancellations_cents},
           {"commission_cents", run.totals.commission_cents},
           {"cash_reloads_cents", run.totals.cash_reloads_cents},
           {"fees_cents", run.totals.fees_cents},
           {"transactions", run.totals.transactions},
           {"brought_forward_cents", run.brought_forward_cents},
           {"net_cents", run.net_cents},
           {"payable_cents", run.payable_cents},
           {"carried_forward_cents", run.carried_forward_cents},
           {"state", run.state},
           {"document_version", run.document_version},
           {"statement_sha256", run.statement_sha256},
           {"created_at", FormatIso8601(run.created_at_ms)}};
  if (run.transfer_file_id) o["transfer_file_id"] = *run.transfer_file_id;
  if (run.paid_at_ms) o["paid_at"] = FormatIso8601(*run.paid_at_ms);
  return o;
}

object SettlementRunDetailJson(const SettlementRunDetail& detail) {
  object o = SettlementRunJson(detail.run);
  array points;
  for (const SettlementRunPoint& p : detail.points) {
    points.push_back(object{{"point_id", p.point_id},
                            {"label", p.label},
                            {"location", p.location},
                            {"debits_cents", p.amounts.debits_cents},
                            {"cancellations_cents", p.amounts.cancellations_cents},
                            {"commission_cents", p.amounts.commission_cents},
                            {"cash_reloads_cents", p.amounts.cash_reloads_cents},
                            {"fees_cents", p.amounts.fees_cents},
                            {"net_cents", p.amounts.net_cents},
                            {"transactions", p.amounts.transactions}});
  }
  o["points"] = std::move(points);
  array versions;
  for (const SettlementDocumentVersion& v : detail.versions) {
    versions.push_back(object{{"version", v.version},
                              {"generated_at", FormatIso8601(v.generated_at_ms)},
                              {"statement_sha256", v.statement_sha256},
                              {"reason", v.reason}});
  }
  o["document_versions"] = std::move(versions);
  return o;
}

}  // namespace guichet::wallet
