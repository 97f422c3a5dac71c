// The settlement runs' tables (component `wallet.settlement`): runs with their figures, their
// lines per point, the transactions each covered (settled once: the primary key), the versions
// of their documents and the pain.001 files that paid them. Written once for both engines.
#include <fmt/format.h>

#include "modules/wallet/settlement.h"
#include "modules/wallet/settlement_fees.h"

namespace guichet::wallet {
namespace {

constexpr std::string_view kSchema =
    // A run's figures are written once, at creation; only the state (paid), the transfer file
    // and the current document version change afterwards.
    "CREATE TABLE wallet_settlement_runs ({id},"
    " merchant_org_id BIGINT NOT NULL REFERENCES wallet_merchants (organisation_id),"
    " seq BIGINT NOT NULL CHECK (seq >= 1), statement_id TEXT NOT NULL UNIQUE,"
    " period_start_ms BIGINT NOT NULL, period_end_ms BIGINT NOT NULL,"
    " commission_bp BIGINT NOT NULL,"
    " debits_cents BIGINT NOT NULL, cancellations_cents BIGINT NOT NULL,"
    " commission_cents BIGINT NOT NULL, cash_reloads_cents BIGINT NOT NULL,"
    " fees_cents BIGINT NOT NULL, transactions BIGINT NOT NULL,"
    " brought_forward_cents BIGINT NOT NULL CHECK (brought_forward_cents >= 0),"
    " net_cents BIGINT NOT NULL, payable_cents BIGINT NOT NULL CHECK (payable_cents >= 0),"
    " carried_forward_cents BIGINT NOT NULL CHECK (carried_forward_cents >= 0),"
    " state TEXT NOT NULL CHECK (state IN ('to_pay', 'paid', 'nothing_to_pay')),"
    " transfer_file_id BIGINT, paid_at_ms BIGINT,"
    " document_version BIGINT NOT NULL, statement_sha256 TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " CHECK (period_end_ms > period_start_ms),"
    " CHECK (net_cents = payable_cents - carried_forward_cents),"
    " UNIQUE (merchant_org_id, seq), UNIQUE (merchant_org_id, period_start_ms));"
    " CREATE INDEX wallet_settlement_runs_state ON wallet_settlement_runs (state, id);"
    " CREATE TABLE wallet_settlement_run_points ("
    " run_id BIGINT NOT NULL REFERENCES wallet_settlement_runs (id),"
    " point_id BIGINT NOT NULL REFERENCES wallet_points (id),"
    " debits_cents BIGINT NOT NULL, cancellations_cents BIGINT NOT NULL,"
    " commission_cents BIGINT NOT NULL, cash_reloads_cents BIGINT NOT NULL,"
    " fees_cents BIGINT NOT NULL, net_cents BIGINT NOT NULL, transactions BIGINT NOT NULL,"
    " PRIMARY KEY (run_id, point_id));"
    // A transaction is settled by one run only.
    " CREATE TABLE wallet_settlement_run_transactions ("
    " transaction_id BIGINT PRIMARY KEY REFERENCES wallet_pos_transactions (id),"
    " run_id BIGINT NOT NULL REFERENCES wallet_settlement_runs (id));"
    " CREATE INDEX wallet_settlement_run_transactions_run ON wallet_settlement_run_transactions"
    " (run_id);"
    " CREATE TABLE wallet_settlement_documents ("
    " run_id BIGINT NOT NULL REFERENCES wallet_settlement_runs (id), version BIGINT NOT NULL,"
    " generated_at_ms BIGINT NOT NULL, statement_sha256 TEXT NOT NULL, reason TEXT NOT NULL,"
    " actor_type TEXT NOT NULL, actor_id BIGINT, PRIMARY KEY (run_id, version));"
    " CREATE TABLE wallet_settlement_transfer_files ({id}, message_id TEXT NOT NULL UNIQUE,"
    " scope_path TEXT NOT NULL, runs BIGINT NOT NULL, total_cents BIGINT NOT NULL,"
    " body TEXT NOT NULL, created_at BIGINT NOT NULL);";

constexpr const char* kRunsByTransferFile =
    "CREATE INDEX wallet_settlement_runs_transfer_file ON wallet_settlement_runs"
    " (transfer_file_id);";

std::string Schema(std::string_view id) {
  return fmt::format(fmt::runtime(kSchema), fmt::arg("id", id));
}

}  // namespace

std::vector<storage::Migration> SettlementMigrations() {
  std::vector<storage::Migration> migrations = {
      {"wallet.settlement", 1,
       "settlement runs, their points and transactions, document versions, transfer files",
       Schema("id INTEGER PRIMARY KEY AUTOINCREMENT"),
       Schema("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")},
      // The runs a transfer file paid, looked up when listing the files.
      {"wallet.settlement", 2, "index of runs by transfer file", kRunsByTransferFile,
       kRunsByTransferFile}};
  for (auto& migration : FeeMigrations()) migrations.push_back(std::move(migration));
  return migrations;
}

}  // namespace guichet::wallet
