// The ledger's tables and the checks that they hold together.
#include <fmt/format.h>

#include <array>

#include "platform/ledger/ledger.h"

namespace guichet::ledger {
namespace {

using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

// Columns after the key, the same on both engines. The flag bits (1: debits must not exceed
// credits, 2: credits must not exceed debits) are enforced by the database itself too, as a
// last line behind the conditional updates.
constexpr std::string_view kAccountColumns =
    " ledger TEXT NOT NULL, organisation_id BIGINT NOT NULL, code TEXT NOT NULL,"
    " flags BIGINT NOT NULL CHECK (flags >= 0 AND flags <= 7 AND (flags & 3) <> 3),"
    " debits_posted BIGINT NOT NULL CHECK (debits_posted >= 0),"
    " credits_posted BIGINT NOT NULL CHECK (credits_posted >= 0),"
    " debits_pending BIGINT NOT NULL CHECK (debits_pending >= 0),"
    " credits_pending BIGINT NOT NULL CHECK (credits_pending >= 0),"
    " created_at BIGINT NOT NULL,"
    " CONSTRAINT ledger_accounts_debits_within_credits"
    " CHECK ((flags & 1) = 0 OR debits_posted + debits_pending <= credits_posted),"
    " CONSTRAINT ledger_accounts_credits_within_debits"
    " CHECK ((flags & 2) = 0 OR credits_posted + credits_pending <= debits_posted));"
    " CREATE INDEX ledger_accounts_organisation ON ledger_accounts (organisation_id, ledger);";

// Failures kept for id_already_failed live in the same table (result <> 'ok'), so one unique
// index makes an id mean one thing; they name accounts as submitted, hence no foreign keys.
constexpr std::string_view kTransferColumns =
    " id TEXT NOT NULL UNIQUE, ledger TEXT NOT NULL,"
    " debit_account_id BIGINT NOT NULL, credit_account_id BIGINT NOT NULL,"
    " amount BIGINT NOT NULL CHECK (amount >= 0),"
    " flags BIGINT NOT NULL CHECK (flags >= 0 AND flags <= 15),"
    " pending_id TEXT, reverses_id TEXT, timeout_s BIGINT NOT NULL, expires_at BIGINT NOT NULL,"
    " code TEXT NOT NULL, reference TEXT NOT NULL,"
    " pending_state TEXT CHECK (pending_state IN ('pending', 'posted', 'voided', 'expired')),"
    " result TEXT NOT NULL, created_at BIGINT NOT NULL,"
    " CHECK (result <> 'ok' OR (amount > 0 AND debit_account_id <> credit_account_id)));"
    " CREATE UNIQUE INDEX ledger_transfers_one_reversal ON ledger_transfers (reverses_id)"
    " WHERE reverses_id IS NOT NULL AND result = 'ok';"
    " CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account_id, seq);"
    " CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account_id, seq);"
    " CREATE INDEX ledger_transfers_due ON ledger_transfers (expires_at)"
    " WHERE pending_state = 'pending' AND expires_at > 0;";

// Every column but pending_state: what no update may change.
constexpr std::array<std::string_view, 15> kSealedColumns = {
    "seq",        "id",    "ledger",     "debit_account_id", "credit_account_id",
    "amount",     "flags", "pending_id", "reverses_id",      "timeout_s",
    "expires_at", "code",  "reference",  "result",           "created_at"};

std::string SealedColumns(std::string_view pattern, std::string_view separator) {
  std::string out;
  for (std::string_view column : kSealedColumns) {
    if (!out.empty()) out += separator;
    out += fmt::format(fmt::runtime(pattern), column);
  }
  return out;
}

// Transfers are history: never deleted, and the only update is a pending transfer leaving the
// pending state. Accounts are never deleted either. Written with IS / IS NULL throughout: a
// NULL state must not make a guard's condition unknown, which would let the update through.
std::string SqliteGuards() {
  return fmt::format(
      " CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers"
      " BEGIN SELECT RAISE(ABORT, 'ledger transfers are append-only'); END;"
      " CREATE TRIGGER ledger_transfers_resolve_only BEFORE UPDATE ON ledger_transfers"
      " WHEN NOT ({} AND OLD.pending_state IS 'pending' AND NEW.pending_state IS NOT NULL"
      " AND NEW.pending_state IN ('posted', 'voided', 'expired'))"
      " BEGIN SELECT RAISE(ABORT, 'a ledger transfer only changes by leaving pending'); END;"
      " CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts"
      " BEGIN SELECT RAISE(ABORT, 'ledger accounts are never deleted'); END;",
      SealedColumns("NEW.{0} IS OLD.{0}", " AND "));
}

std::string PostgresGuards() {
  return fmt::format(
      " CREATE FUNCTION ledger_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
      " RAISE EXCEPTION 'ledger history is append-only: % on % refused', TG_OP, TG_TABLE_NAME;"
      " END $$;"
      " CREATE FUNCTION ledger_transfers_check_update() RETURNS trigger LANGUAGE plpgsql AS $$"
      " BEGIN IF ({}) IS DISTINCT FROM ({}) OR OLD.pending_state IS DISTINCT FROM 'pending'"
      " OR NEW.pending_state IS NULL OR NEW.pending_state NOT IN ('posted', 'voided', 'expired')"
      " THEN"
      " RAISE EXCEPTION 'a ledger transfer only changes by leaving pending (%)', OLD.id; END IF;"
      " RETURN NEW; END $$;"
      " CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers"
      " FOR EACH ROW EXECUTE FUNCTION ledger_refuse();"
      " CREATE TRIGGER ledger_transfers_no_truncate BEFORE TRUNCATE ON ledger_transfers"
      " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse();"
      " CREATE TRIGGER ledger_transfers_resolve_only BEFORE UPDATE ON ledger_transfers"
      " FOR EACH ROW EXECUTE FUNCTION ledger_transfers_check_update();"
      " CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts"
      " FOR EACH ROW EXECUTE FUNCTION ledger_refuse();"
      " CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts"
      " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse();",
      SealedColumns("NEW.{}", ", "), SealedColumns("OLD.{}", ", "));
}

Error Broken(std::string message) {
  return {ErrorKind::kInternal, "ledger_invariant_broken", std::move(message), {}};
}

// Runs `sql`; any row it returns is a broken invariant described by `describe`.
Status ExpectNoRows(Transaction& tx, std::string_view sql, std::string_view what,
                    const std::function<std::string(const Row&)>& describe) {
  auto rows = tx.Query(sql, {});
  if (!rows.ok()) return std::move(rows).error();
  if (rows->rows.empty()) return OkStatus();
  std::string details;
  for (const Row& row : rows->rows) details += (details.empty() ? "" : "; ") + describe(row);
  return Broken(fmt::format("{}: {}", what, details));
}

Status CheckLedgerSums(Transaction& tx) {
  // Per-row differences fit in an int64; their sum is exact on PostgreSQL (numeric) and raises
  // an overflow error on SQLite, which is reported as well.
  return ExpectNoRows(
      tx,
      "SELECT ledger, SUM(debits_posted - credits_posted), SUM(debits_pending - credits_pending)"
      " FROM ledger_accounts GROUP BY ledger"
      " HAVING SUM(debits_posted - credits_posted) <> 0"
      " OR SUM(debits_pending - credits_pending) <> 0",
      "ledger sums are not zero", [](const Row& row) {
        return fmt::format("{} posted {} pending {}", row.Text(0), row.Text(1), row.Text(2));
      });
}

Status CheckAccountFlags(Transaction& tx) {
  return ExpectNoRows(
      tx,
      "SELECT id FROM ledger_accounts WHERE ((flags & 1) <> 0"
      " AND debits_posted + debits_pending > credits_posted) OR ((flags & 2) <> 0"
      " AND credits_posted + credits_pending > debits_posted) OR debits_posted < 0"
      " OR credits_posted < 0 OR debits_pending < 0 OR credits_pending < 0 ORDER BY id LIMIT 10",
      "account flags do not hold", [](const Row& row) { return "account " + row.Text(0); });
}

Status CheckBalancesMatchTransfers(Transaction& tx) {
  // Posted money: plain transfers, posts and reversals (not pending, not void: flags 2 and 8).
  // Held money: pending transfers still pending.
  return ExpectNoRows(
      tx,
      "WITH movements (account_id, dp, cp, dq, cq) AS ("
      " SELECT debit_account_id, amount, 0, 0, 0 FROM ledger_transfers"
      " WHERE result = 'ok' AND (flags & 10) = 0"
      " UNION ALL SELECT credit_account_id, 0, amount, 0, 0 FROM ledger_transfers"
      " WHERE result = 'ok' AND (flags & 10) = 0"
      " UNION ALL SELECT debit_account_id, 0, 0, amount, 0 FROM ledger_transfers"
      " WHERE pending_state = 'pending'"
      " UNION ALL SELECT credit_account_id, 0, 0, 0, amount FROM ledger_transfers"
      " WHERE pending_state = 'pending'),"
      " sums AS (SELECT account_id, SUM(dp) AS dp, SUM(cp) AS cp, SUM(dq) AS dq, SUM(cq) AS cq"
      " FROM movements GROUP BY account_id)"
      " SELECT a.id, a.debits_posted, COALESCE(s.dp, 0), a.credits_posted, COALESCE(s.cp, 0),"
      " a.debits_pending, COALESCE(s.dq, 0), a.credits_pending, COALESCE(s.cq, 0)"
      " FROM ledger_accounts a LEFT JOIN sums s ON s.account_id = a.id"
      " WHERE a.debits_posted <> COALESCE(s.dp, 0) OR a.credits_posted <> COALESCE(s.cp, 0)"
      " OR a.debits_pending <> COALESCE(s.dq, 0) OR a.credits_pending <> COALESCE(s.cq, 0)"
      " ORDER BY a.id LIMIT 10",
      "account balances differ from their transfers", [](const Row& row) {
        return fmt::format(
            "account {}: debits posted {} (transfers {}), credits posted {} ({}),"
            " debits pending {} ({}), credits pending {} ({})",
            row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Text(4), row.Text(5),
            row.Text(6), row.Text(7), row.Text(8));
      });
}

Status CheckTransfers(Transaction& tx) {
  GUICHET_TRY_STATUS(ExpectNoRows(
      tx,
      "SELECT t.id FROM ledger_transfers t"
      " LEFT JOIN ledger_accounts d ON d.id = t.debit_account_id"
      " LEFT JOIN ledger_accounts c ON c.id = t.credit_account_id"
      " WHERE t.result = 'ok' AND (d.id IS NULL OR c.id IS NULL OR d.ledger <> t.ledger"
      " OR c.ledger <> t.ledger) ORDER BY t.seq LIMIT 10",
      "transfers name missing accounts or accounts of another ledger",
      [](const Row& row) { return "transfer " + row.Text(0); }));
  GUICHET_TRY_STATUS(
      ExpectNoRows(tx,
                   "SELECT id FROM ledger_transfers WHERE (pending_state IS NULL AND result = 'ok'"
                   " AND (flags & 2) <> 0) OR (pending_state IS NOT NULL AND (result <> 'ok'"
                   " OR (flags & 2) = 0)) ORDER BY seq LIMIT 10",
                   "pending states do not match the transfers' kinds",
                   [](const Row& row) { return "transfer " + row.Text(0); }));
  // A post leaves its pending transfer posted, a void voided; either moves at most the hold; a
  // reversal moves back at most what the original moved, between the same accounts swapped.
  return ExpectNoRows(
      tx,
      "SELECT t.id FROM ledger_transfers t"
      " LEFT JOIN ledger_transfers p ON p.id = COALESCE(t.pending_id, t.reverses_id)"
      " AND p.result = 'ok' WHERE t.result = 'ok'"
      " AND (t.pending_id IS NOT NULL OR t.reverses_id IS NOT NULL) AND (p.id IS NULL"
      " OR t.amount > p.amount OR ((t.flags & 4) <> 0 AND p.pending_state <> 'posted')"
      " OR ((t.flags & 8) <> 0 AND p.pending_state <> 'voided')"
      " OR (t.reverses_id IS NOT NULL AND (t.debit_account_id <> p.credit_account_id"
      " OR t.credit_account_id <> p.debit_account_id))) ORDER BY t.seq LIMIT 10",
      "posts, voids or reversals do not match what they reference",
      [](const Row& row) { return "transfer " + row.Text(0); });
}

}  // namespace

std::vector<storage::Migration> Migrations() {
  const std::string tables_sqlite =
      "CREATE TABLE ledger_accounts (id INTEGER PRIMARY KEY AUTOINCREMENT," +
      std::string(kAccountColumns) +
      " CREATE TABLE ledger_transfers (seq INTEGER PRIMARY KEY AUTOINCREMENT," +
      std::string(kTransferColumns) + SqliteGuards();
  const std::string tables_postgres =
      "CREATE TABLE ledger_accounts (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," +
      std::string(kAccountColumns) +
      " CREATE TABLE ledger_transfers (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," +
      std::string(kTransferColumns) + PostgresGuards();
  return {{"platform.ledger", 1, "create ledger accounts and transfers", tables_sqlite,
           tables_postgres}};
}

Status CheckInvariants(storage::Database& database) {
  return database.Transact<Ok>(TransactionMode::kRead, [](Transaction& tx) -> Result<Ok> {
    GUICHET_TRY_STATUS(CheckLedgerSums(tx));
    GUICHET_TRY_STATUS(CheckAccountFlags(tx));
    GUICHET_TRY_STATUS(CheckBalancesMatchTransfers(tx));
    GUICHET_TRY_STATUS(CheckTransfers(tx));
    return Ok{};
  });
}

}  // namespace guichet::ledger
