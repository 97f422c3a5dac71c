// The acceptance network's tables (component `wallet.pos`): merchants' bank data, points of
// sale and their history, the transactions of points, web shops' payment codes and the
// admins' test accounts. Written once for both engines ({id}: the engine's identity column).
#include <fmt/format.h>

#include "modules/wallet/pos.h"

namespace guichet::wallet {
namespace {

constexpr std::string_view kSchema =
    // One row per merchant organisation. The IBAN is sealed (libsodium secretbox, nonce ‖
    // ciphertext, hex); only its last four characters are kept in clear.
    "CREATE TABLE wallet_merchants (organisation_id BIGINT PRIMARY KEY REFERENCES organisations "
    "(id),"
    " iban_sealed TEXT NOT NULL, iban_last4 TEXT NOT NULL, bic TEXT NOT NULL,"
    " commission_bp BIGINT NOT NULL CHECK (commission_bp >= 0 AND commission_bp <= 10000),"
    " settlement_period_days BIGINT NOT NULL CHECK (settlement_period_days >= 1 AND "
    "settlement_period_days <= 30),"
    " contact_email TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    // Points of sale. The institution's own id is unique within the institution (the region).
    // device_id names the identity device operating the point (identity's devices table): set
    // when the device of pairing_id makes its first request, cleared when the device is replaced.
    " CREATE TABLE wallet_points ({id},"
    " merchant_org_id BIGINT NOT NULL REFERENCES wallet_merchants (organisation_id),"
    " institution_org_id BIGINT NOT NULL REFERENCES organisations (id),"
    " institution_id TEXT NOT NULL, location TEXT NOT NULL, address TEXT NOT NULL,"
    " type TEXT NOT NULL CHECK (type IN ('till', 'vending_machine', 'laundry', 'copier', "
    "'web_shop', 'other')),"
    " permissions TEXT NOT NULL, is_test BOOLEAN NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'opposed')),"
    " pairing_id BIGINT, device_id BIGINT UNIQUE, created_at BIGINT NOT NULL, updated_at BIGINT "
    "NOT NULL,"
    " UNIQUE (institution_org_id, institution_id));"
    " CREATE INDEX wallet_points_merchant ON wallet_points (merchant_org_id, id);"
    " CREATE INDEX wallet_points_pairing ON wallet_points (pairing_id);"
    " CREATE TABLE wallet_point_events ({id}, point_id BIGINT NOT NULL REFERENCES wallet_points "
    "(id),"
    " event TEXT NOT NULL CHECK (event IN ('created', 'approved', 'paired', 'device_replaced', "
    "'opposed',"
    " 'reactivated')), reason TEXT, actor_type TEXT NOT NULL, actor_id BIGINT, at_ms BIGINT NOT "
    "NULL);"
    " CREATE INDEX wallet_point_events_point ON wallet_point_events (point_id, id);"
    // Every operation of a point. point_txn_id is the point's own id: a retry is a replay.
    " CREATE TABLE wallet_pos_transactions ({id}, point_id BIGINT NOT NULL REFERENCES "
    "wallet_points (id),"
    " merchant_org_id BIGINT NOT NULL REFERENCES wallet_merchants (organisation_id),"
    " point_txn_id TEXT NOT NULL,"
    " operation TEXT NOT NULL CHECK (operation IN ('debit', 'load', 'cash_reload', 'cancel')),"
    " counter TEXT NOT NULL, amount BIGINT NOT NULL CHECK (amount > 0),"
    " holder_id BIGINT REFERENCES wallet_holders (id), support_id BIGINT REFERENCES "
    "wallet_supports (id),"
    " qr_code_id BIGINT,"
    " state TEXT NOT NULL CHECK (state IN ('pending', 'acknowledged', 'refused', 'voided', "
    "'expired',"
    " 'cancelled', 'awaiting_funds')), refusal_code TEXT,"
    " offline BIGINT NOT NULL DEFAULT 0 CHECK (offline IN (0, 1)),"
    " point_at_ms BIGINT NOT NULL, received_at_ms BIGINT NOT NULL, acknowledged_at_ms BIGINT,"
    " expires_at_ms BIGINT, ledger_transfer_id TEXT,"
    " cancels_id BIGINT REFERENCES wallet_pos_transactions (id),"
    " is_test BIGINT NOT NULL DEFAULT 0 CHECK (is_test IN (0, 1)), settlement_run_id BIGINT,"
    " payer_key TEXT NOT NULL,"
    " UNIQUE (point_id, point_txn_id));"
    " CREATE INDEX wallet_pos_transactions_merchant ON wallet_pos_transactions (merchant_org_id, "
    "id);"
    " CREATE INDEX wallet_pos_transactions_pending ON wallet_pos_transactions (state, "
    "expires_at_ms);"
    // Web shops: a code the holder makes in its session and gives the shop; single use.
    " CREATE TABLE wallet_pos_payment_codes (code_hash TEXT PRIMARY KEY,"
    " holder_id BIGINT NOT NULL REFERENCES wallet_holders (id), created_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL, used_at BIGINT);"
    // W13: one test holder per admin; its money comes from and goes to test operator accounts.
    " CREATE TABLE wallet_pos_test_accounts (user_id BIGINT PRIMARY KEY,"
    " holder_id BIGINT NOT NULL UNIQUE REFERENCES wallet_holders (id), created_at BIGINT NOT "
    "NULL);";

constexpr const char* kPointAccounts =
    "CREATE TABLE wallet_point_accounts (point_id BIGINT NOT NULL REFERENCES wallet_points (id),"
    " ledger TEXT NOT NULL, ledger_account_id BIGINT NOT NULL UNIQUE REFERENCES ledger_accounts"
    " (id), PRIMARY KEY (point_id, ledger));";

std::string Schema(std::string_view id) {
  return fmt::format(fmt::runtime(kSchema), fmt::arg("id", id));
}

}  // namespace

std::vector<storage::Migration> PosMigrations() {
  return {{"wallet.pos", 1,
           "merchants, points of sale, point transactions, payment codes, test accounts",
           Schema("id INTEGER PRIMARY KEY AUTOINCREMENT"),
           Schema("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")},
          // Each point's own sales account per asset (PointSalesAccount): payments at different
          // points lock different ledger rows; settlement sweeps them to the merchant's.
          {"wallet.pos", 2, "per-point sales accounts", kPointAccounts, kPointAccounts}};
}

}  // namespace guichet::wallet
