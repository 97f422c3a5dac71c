// The wallet's tables: holders and their supports, counters, the holders' ledger accounts,
// the operator's ledger accounts, thresholds, the movements that explain each balance, profile
// history, activation links, holder sessions and uploads.
#include <fmt/format.h>

#include "modules/wallet/accounts.h"

namespace guichet::wallet {
namespace {

// {id}: the auto-increment key of the engine. The same text serves both engines otherwise.
constexpr std::string_view kSchema =
    // Counters: one euro counter (seeded below) and 8–16 token counters defined nationally.
    // code is the ledger's asset code. The four labels name the business date/time fields that
    // every holder account of the counter carries (D1 = morning service…).
    "CREATE TABLE wallet_counters ({id}, code TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK (kind IN ('euro', 'token')),"
    " nature TEXT NOT NULL, token_name TEXT NOT NULL,"
    " information_fr TEXT NOT NULL, information_en TEXT NOT NULL,"
    " label1 TEXT NOT NULL, label2 TEXT NOT NULL, label3 TEXT NOT NULL, label4 TEXT NOT NULL,"
    " active BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    // Which machine clients (API keys, devices) may load or debit (and query) a counter.
    " CREATE TABLE wallet_counter_clients (counter_id BIGINT NOT NULL REFERENCES wallet_counters (id),"
    " client_type TEXT NOT NULL CHECK (client_type IN ('api_key', 'device')),"
    " client_id BIGINT NOT NULL, may_load BOOLEAN NOT NULL, may_debit BOOLEAN NOT NULL,"
    " updated_at BIGINT NOT NULL, PRIMARY KEY (counter_id, client_type, client_id));"
    // Holders (ayants droit), created by their institution only. Personal fields become NULL
    // when the holder deactivates for good (only the trace: id, institution, state, supports'
    // numbers). email is stored lower-case and unique: it is the login.
    " CREATE TABLE wallet_holders ({id},"
    " organisation_id BIGINT NOT NULL REFERENCES organisations (id),"
    " university_id TEXT, ine TEXT, tariff_profile TEXT, last_name TEXT, first_name TEXT,"
    " email TEXT UNIQUE, birth_date TEXT, phone TEXT, language TEXT NOT NULL CHECK (language IN ('fr', 'en')),"
    " end_of_validity TEXT,"
    " state TEXT NOT NULL CHECK (state IN ('pending_activation', 'active', 'deactivated', 'closed', 'federated')),"
    " opposition TEXT NOT NULL CHECK (opposition IN ('none', 'temporary', 'permanent')),"
    " password_hash TEXT, activated_at BIGINT, activation_sent_at BIGINT,"
    " activation_sends BIGINT NOT NULL DEFAULT 0, last_activity_at BIGINT NOT NULL,"
    " notice_sent_at BIGINT, notice_kind TEXT, closed_at BIGINT,"
    " federated_into BIGINT REFERENCES wallet_holders (id), federated_at BIGINT,"
    " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, version BIGINT NOT NULL DEFAULT 1,"
    " UNIQUE (organisation_id, university_id));"
    " CREATE INDEX wallet_holders_names ON wallet_holders (last_name, first_name);"
    " CREATE INDEX wallet_holders_activation ON wallet_holders (state, activation_sent_at);"
    " CREATE INDEX wallet_holders_activity ON wallet_holders (state, last_activity_at);"
    // Supports: card numbers (physical) or virtual ones, several per holder.
    " CREATE TABLE wallet_supports ({id}, holder_id BIGINT NOT NULL REFERENCES wallet_holders (id),"
    " number TEXT NOT NULL UNIQUE, technology TEXT NOT NULL,"
    " form TEXT NOT NULL CHECK (form IN ('physical', 'virtual')),"
    " opposition TEXT NOT NULL CHECK (opposition IN ('none', 'temporary', 'permanent')),"
    " opposed_at BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    " CREATE INDEX wallet_supports_holder ON wallet_supports (holder_id);"
    " CREATE INDEX wallet_supports_opposed ON wallet_supports (opposition, opposed_at);"
    // One ledger account per holder and counter, with the counter's four date/time fields.
    " CREATE TABLE wallet_holder_accounts (holder_id BIGINT NOT NULL REFERENCES wallet_holders (id),"
    " counter_id BIGINT NOT NULL REFERENCES wallet_counters (id),"
    " ledger_account_id BIGINT NOT NULL UNIQUE REFERENCES ledger_accounts (id),"
    " at1 BIGINT, at2 BIGINT, at3 BIGINT, at4 BIGINT, PRIMARY KEY (holder_id, counter_id));"
    // The operator's side of the movements, per organisation, asset and purpose (card acquirer
    // clearing, SEPA, cash, fees, token issue…).
    " CREATE TABLE wallet_operator_accounts (organisation_id BIGINT NOT NULL REFERENCES organisations (id),"
    " ledger TEXT NOT NULL, purpose TEXT NOT NULL,"
    " ledger_account_id BIGINT NOT NULL UNIQUE REFERENCES ledger_accounts (id),"
    " PRIMARY KEY (organisation_id, ledger, purpose));"
    // Thresholds set by the national admin. support_type '*' is the default of a per-support
    // threshold, '' marks a threshold that does not depend on the support.
    " CREATE TABLE wallet_thresholds (name TEXT NOT NULL, support_type TEXT NOT NULL,"
    " value BIGINT NOT NULL CHECK (value > 0), updated_at BIGINT NOT NULL, updated_by BIGINT,"
    " PRIMARY KEY (name, support_type));"
    // What explains a holder's balance: one row per ledger transfer touching a holder account,
    // with the mode or support used, any fee, and the balance after it.
    " CREATE TABLE wallet_movements ({id}, transfer_id TEXT NOT NULL,"
    " holder_id BIGINT NOT NULL REFERENCES wallet_holders (id), counter_code TEXT NOT NULL,"
    " direction TEXT NOT NULL CHECK (direction IN ('credit', 'debit')),"
    " amount BIGINT NOT NULL CHECK (amount > 0), kind TEXT NOT NULL, mode TEXT NOT NULL,"
    " support_id BIGINT REFERENCES wallet_supports (id), fee_amount BIGINT NOT NULL DEFAULT 0,"
    " fee_transfer_id TEXT, balance_after BIGINT NOT NULL, label TEXT NOT NULL,"
    " actor_type TEXT NOT NULL, actor_id BIGINT, at_ms BIGINT NOT NULL);"
    " CREATE INDEX wallet_movements_holder ON wallet_movements (holder_id, id);"
    " CREATE UNIQUE INDEX wallet_movements_transfer ON wallet_movements (transfer_id, holder_id);"
    // Profile history: who changed which field, when, old and new value.
    " CREATE TABLE wallet_holder_changes ({id}, holder_id BIGINT NOT NULL REFERENCES wallet_holders (id),"
    " field TEXT NOT NULL, old_value TEXT, new_value TEXT,"
    " source TEXT NOT NULL CHECK (source IN ('api', 'upload', 'holder', 'system')),"
    " actor_type TEXT NOT NULL, actor_id BIGINT, at_ms BIGINT NOT NULL, request_id TEXT NOT NULL);"
    " CREATE INDEX wallet_holder_changes_holder ON wallet_holder_changes (holder_id, id);"
    // Single-use activation links (only the hash of the token is kept).
    " CREATE TABLE wallet_activation_links (token_hash TEXT PRIMARY KEY,"
    " holder_id BIGINT NOT NULL REFERENCES wallet_holders (id), created_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL, used_at BIGINT);"
    " CREATE INDEX wallet_activation_links_holder ON wallet_activation_links (holder_id);"
    // Holder sessions: hashed token, CSRF token hash, idle and absolute expiry.
    " CREATE TABLE wallet_holder_sessions (token_hash TEXT PRIMARY KEY,"
    " holder_id BIGINT NOT NULL REFERENCES wallet_holders (id), csrf_token TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, last_seen_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);"
    " CREATE INDEX wallet_holder_sessions_holder ON wallet_holder_sessions (holder_id);"
    // Asynchronous uploads of holder creations and updates.
    " CREATE TABLE wallet_uploads ({id}, organisation_id BIGINT NOT NULL REFERENCES organisations (id),"
    " file_name TEXT NOT NULL, content TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'rejected')),"
    " lines_total BIGINT NOT NULL DEFAULT 0, lines_done BIGINT NOT NULL DEFAULT 0,"
    " lines_failed BIGINT NOT NULL DEFAULT 0, report TEXT NOT NULL DEFAULT '[]',"
    " error_file TEXT NOT NULL DEFAULT '', created_by_type TEXT NOT NULL, created_by BIGINT,"
    " created_at BIGINT NOT NULL, finished_at BIGINT);"
    " CREATE INDEX wallet_uploads_organisation ON wallet_uploads (organisation_id, id);"
    // The euro counter exists from the start; token counters are defined by the national admin.
    " INSERT INTO wallet_counters (code, kind, nature, token_name, information_fr, information_en,"
    " label1, label2, label3, label4, active, created_at, updated_at) VALUES ('EUR', 'euro',"
    " 'Compte principal', 'euro', 'Votre compte principal en euros.', 'Your main account in euros.',"
    " 'D1', 'D2', 'D3', 'D4', {true}, 0, 0);"
    // Default thresholds, in cents and seconds; the national admin changes them.
    " INSERT INTO wallet_thresholds (name, support_type, value, updated_at) VALUES"
    " ('max_transaction', '*', 5000, 0), ('max_reload', '', 50000, 0),"
    " ('max_balance', '', 100000, 0), ('qr_lifetime_s', '', 300, 0);";

std::string Schema(std::string_view id, std::string_view true_literal) {
  return fmt::format(fmt::runtime(kSchema), fmt::arg("id", id), fmt::arg("true", true_literal));
}

}  // namespace

// Holder login throttling: consecutive failures and the end of a lockout.
constexpr std::string_view kLoginThrottling =
    "ALTER TABLE wallet_holders ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;"
    " ALTER TABLE wallet_holders ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;";

std::vector<storage::Migration> Migrations() {
  return {{"wallet", 1, "create holders, supports, counters, accounts, thresholds, movements",
           Schema("id INTEGER PRIMARY KEY AUTOINCREMENT", "1"),
           Schema("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "TRUE")},
          {"wallet", 2, "holder login throttling", std::string(kLoginThrottling), std::string(kLoginThrottling)}};
}

}  // namespace guichet::wallet
