#include "app/export.h"

#include <fmt/format.h>
#include <sodium.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>

namespace guichet::app {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

enum class Type { kInt, kText, kBool };

struct Column {
  std::string_view name;  // as exported
  std::string_view sql;   // the expression read
  Type type;
  std::string_view doc;
};

struct Table {
  std::string_view file;
  std::string_view description;
  std::string_view from;  // FROM … (with joins)
  std::string_view key;   // a unique integer expression, read first and used for paging
  std::vector<Column> columns;
};

// A unique integer for a fraud rule (its primary key is the organisation and the kind), so the
// rules page like the other tables. Kinds are numbered in the order of the table's CHECK.
constexpr std::string_view kFraudRuleKey =
    "organisation_id * 8 + CASE kind WHEN 'velocity' THEN 1 WHEN 'refusals' THEN 2 WHEN 'distance' THEN 3"
    " WHEN 'amount' THEN 4 WHEN 'qr_replay' THEN 5 ELSE 0 END";

// The archive's contents. Each file is ordered by its key.
const std::vector<Table>& Tables() {
  static const std::vector<Table> tables = {
      {"organisations.jsonl", "The organisation tree: national body, regions, sites (and the other products' trees).",
       "organisations", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"parent_id", "parent_id", Type::kInt, "the parent organisation; null for a root"},
        {"kind", "kind", Type::kText, "national, region, site, departement, tourism_office, partner, syndicate, city, establishment"},
        {"name", "name", Type::kText, "name"},
        {"path", "path", Type::kText, "ids from the root down, slash-separated"},
        {"environment", "environment", Type::kText, "production or test"},
        {"created_at_ms", "created_at", Type::kInt, "Unix time in milliseconds"}}},
      {"staff.jsonl", "Staff accounts (no password hash, no second-factor secret).", "users", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"email", "email", Type::kText, "login e-mail"},
        {"display_name", "display_name", Type::kText, "name shown"},
        {"language", "language", Type::kText, "fr or en"},
        {"status", "status", Type::kText, "active, suspended or deleted"},
        {"second_factor_enabled", "totp_secret IS NOT NULL", Type::kBool, "whether an authenticator app is enrolled"},
        {"created_at_ms", "created_at", Type::kInt, "Unix time in milliseconds"}}},
      {"staff_grants.jsonl", "Profiles held by staff in organisations (rights follow from the profile).", "grants", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"staff_id", "user_id", Type::kInt, "staff.jsonl id"},
        {"organisation_id", "organisation_id", Type::kInt, "organisations.jsonl id"},
        {"profile", "profile", Type::kText, "wallet.manager, wallet.regional_admin…"},
        {"created_at_ms", "created_at", Type::kInt, "Unix time in milliseconds"}}},
      {"holders.jsonl",
       "Wallet holders (ayants droit). Personal fields are null for accounts deactivated for good or erased.",
       "wallet_holders", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"organisation_id", "organisation_id", Type::kInt, "the institution (organisations.jsonl id)"},
        {"university_id", "university_id", Type::kText, "identifier in the institution"},
        {"ine", "ine", Type::kText, "national student identifier"},
        {"tariff_profile", "tariff_profile", Type::kText, "tariff code"},
        {"last_name", "last_name", Type::kText, "last name"},
        {"first_name", "first_name", Type::kText, "first name"},
        {"email", "email", Type::kText, "e-mail, the login"},
        {"birth_date", "birth_date", Type::kText, "YYYY-MM-DD"},
        {"phone", "phone", Type::kText, "phone number"},
        {"language", "language", Type::kText, "fr or en"},
        {"end_of_validity", "end_of_validity", Type::kText, "YYYY-MM-DD"},
        {"state", "state", Type::kText, "pending_activation, active, deactivated, closed, federated"},
        {"opposition", "opposition", Type::kText, "none, temporary, permanent"},
        {"activated_at_ms", "activated_at", Type::kInt, "Unix time in milliseconds"},
        {"last_activity_at_ms", "last_activity_at", Type::kInt, "Unix time in milliseconds"},
        {"closed_at_ms", "closed_at", Type::kInt, "Unix time in milliseconds"},
        {"federated_into", "federated_into", Type::kInt, "the holder that took this account over"},
        {"federated_at_ms", "federated_at", Type::kInt, "Unix time in milliseconds"},
        {"created_at_ms", "created_at", Type::kInt, "Unix time in milliseconds"},
        {"updated_at_ms", "updated_at", Type::kInt, "Unix time in milliseconds"}}},
      {"supports.jsonl", "Holders' supports (cards, virtual supports).", "wallet_supports", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"holder_id", "holder_id", Type::kInt, "holders.jsonl id"},
        {"number", "number", Type::kText, "support number"},
        {"technology", "technology", Type::kText, "desfire, qr…: the support type of thresholds"},
        {"form", "form", Type::kText, "physical or virtual"},
        {"opposition", "opposition", Type::kText, "none, temporary, permanent"},
        {"opposed_at_ms", "opposed_at", Type::kInt, "Unix time in milliseconds"},
        {"created_at_ms", "created_at", Type::kInt, "Unix time in milliseconds"}}},
      {"counters.jsonl", "Counters: the euro counter and the token counters.", "wallet_counters", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"code", "code", Type::kText, "asset code of the ledger (EUR, MEAL…)"},
        {"kind", "kind", Type::kText, "euro or token"},
        {"nature", "nature", Type::kText, "what the counter is for"},
        {"token_name", "token_name", Type::kText, "name of its unit"},
        {"information_fr", "information_fr", Type::kText, "text for holders, French"},
        {"information_en", "information_en", Type::kText, "text for holders, English"},
        {"label1", "label1", Type::kText, "name of date/time field D1"},
        {"label2", "label2", Type::kText, "name of D2"},
        {"label3", "label3", Type::kText, "name of D3"},
        {"label4", "label4", Type::kText, "name of D4"},
        {"active", "active", Type::kBool, "activated nationally"}}},
      {"balances.jsonl", "Each holder's balance per counter (minor units: cents or tokens) and its date/time fields.",
       "wallet_holder_accounts ha JOIN ledger_accounts a ON a.id = ha.ledger_account_id JOIN wallet_counters c"
       " ON c.id = ha.counter_id",
       "ha.ledger_account_id",
       {{"ledger_account_id", "ha.ledger_account_id", Type::kInt, "ledger_accounts.jsonl id"},
        {"holder_id", "ha.holder_id", Type::kInt, "holders.jsonl id"},
        {"counter", "c.code", Type::kText, "counters.jsonl code"},
        {"balance", "a.credits_posted - a.debits_posted", Type::kInt, "posted balance"},
        {"available", "a.credits_posted - a.debits_posted - a.debits_pending", Type::kInt, "balance less holds"},
        {"d1_at_ms", "ha.at1", Type::kInt, "date/time field D1"},
        {"d2_at_ms", "ha.at2", Type::kInt, "D2"},
        {"d3_at_ms", "ha.at3", Type::kInt, "D3"},
        {"d4_at_ms", "ha.at4", Type::kInt, "D4"}}},
      {"ledger_accounts.jsonl",
       "Every double-entry account (holders' and the operator's). The sum of balances of one ledger is zero.",
       "ledger_accounts", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"ledger", "ledger", Type::kText, "asset code"},
        {"organisation_id", "organisation_id", Type::kInt, "organisations.jsonl id"},
        {"code", "code", Type::kText, "holder, operator.card_acquirer, operator.fees…"},
        {"flags", "flags", Type::kInt, "1 never negative, 2 never positive, 4 closed"},
        {"debits_posted", "debits_posted", Type::kInt, "minor units"},
        {"credits_posted", "credits_posted", Type::kInt, "minor units"},
        {"debits_pending", "debits_pending", Type::kInt, "minor units"},
        {"credits_pending", "credits_pending", Type::kInt, "minor units"},
        {"created_at_ms", "created_at", Type::kInt, "Unix time in milliseconds"}}},
      {"ledger_transfers.jsonl",
       "Every transfer in commit order, including refused ones kept for idempotency (result other than ok).",
       "ledger_transfers", "seq",
       {{"seq", "seq", Type::kInt, "order of commitment"},
        {"id", "id", Type::kText, "client-chosen id"},
        {"ledger", "ledger", Type::kText, "asset code"},
        {"debit_account_id", "debit_account_id", Type::kInt, "ledger_accounts.jsonl id"},
        {"credit_account_id", "credit_account_id", Type::kInt, "ledger_accounts.jsonl id"},
        {"amount", "amount", Type::kInt, "minor units"},
        {"flags", "flags", Type::kInt, "1 linked, 2 pending, 4 post, 8 void"},
        {"pending_id", "pending_id", Type::kText, "the pending transfer posted or voided"},
        {"reverses_id", "reverses_id", Type::kText, "the transfer reversed"},
        {"code", "code", Type::kText, "why the money moved"},
        {"reference", "reference", Type::kText, "free text"},
        {"pending_state", "pending_state", Type::kText, "pending, posted, voided, expired"},
        {"result", "result", Type::kText, "ok or the refusal"},
        {"created_at_ms", "created_at", Type::kInt, "Unix time in milliseconds"}}},
      {"movements.jsonl", "The holders' statements: each movement with its kind, mode, support, fee and balance after.",
       "wallet_movements", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"transfer_id", "transfer_id", Type::kText, "ledger_transfers.jsonl id"},
        {"holder_id", "holder_id", Type::kInt, "holders.jsonl id"},
        {"counter", "counter_code", Type::kText, "counters.jsonl code"},
        {"direction", "direction", Type::kText, "credit or debit"},
        {"amount", "amount", Type::kInt, "minor units"},
        {"kind", "kind", Type::kText, "reload.card, payment, transfer, refund, fee.inactivity, federation…"},
        {"mode", "mode", Type::kText, "card, sepa, transfer, cash, support, service…"},
        {"support_id", "support_id", Type::kInt, "supports.jsonl id"},
        {"fee", "fee_amount", Type::kInt, "fee charged with it"},
        {"balance_after", "balance_after", Type::kInt, "the counter's balance after it"},
        {"label", "label", Type::kText, "as shown on the statement"},
        {"at_ms", "at_ms", Type::kInt, "Unix time in milliseconds"}}},
      {"holder_changes.jsonl", "History of holders' profile fields.", "wallet_holder_changes", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"holder_id", "holder_id", Type::kInt, "holders.jsonl id"},
        {"field", "field", Type::kText, "the field changed"},
        {"old_value", "old_value", Type::kText, "before"},
        {"new_value", "new_value", Type::kText, "after"},
        {"source", "source", Type::kText, "api, upload, holder, system"},
        {"actor_type", "actor_type", Type::kText, "user, api_key, device, system"},
        {"actor_id", "actor_id", Type::kInt, "staff.jsonl id when actor_type is user"},
        {"at_ms", "at_ms", Type::kInt, "Unix time in milliseconds"}}},
      // The acceptance network (W12–W20). The merchant's IBAN is sealed in the database and is
      // never exported: only its last four characters, as the back office shows them.
      {"merchants.jsonl",
       "Merchants (affiliates) accepting the wallet; each is an organisation. The IBAN is not exported.",
       "wallet_merchants m JOIN organisations o ON o.id = m.organisation_id", "m.organisation_id",
       {{"organisation_id", "m.organisation_id", Type::kInt, "organisations.jsonl id"},
        {"name", "o.name", Type::kText, "name"},
        {"iban_last4", "m.iban_last4", Type::kText, "last four characters of the settlement IBAN"},
        {"bic", "m.bic", Type::kText, "BIC of the settlement account"},
        {"commission_bp", "m.commission_bp", Type::kInt, "commission in basis points (150 = 1.5 %)"},
        {"settlement_period_days", "m.settlement_period_days", Type::kInt, "days between settlements"},
        {"contact_email", "m.contact_email", Type::kText, "the merchant's contact e-mail"},
        {"created_at_ms", "m.created_at", Type::kInt, "Unix time in milliseconds"},
        {"updated_at_ms", "m.updated_at", Type::kInt, "Unix time in milliseconds"}}},
      {"points.jsonl", "Points of sale (tills, vending machines…) of the merchants.", "wallet_points", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"merchant_id", "merchant_org_id", Type::kInt, "merchants.jsonl organisation_id"},
        {"institution_org_id", "institution_org_id", Type::kInt, "the region that approved it (organisations.jsonl id)"},
        {"institution_id", "institution_id", Type::kText, "the point's identifier in that region"},
        {"location", "location", Type::kText, "where it is"},
        {"address", "address", Type::kText, "postal address"},
        {"type", "type", Type::kText, "till, vending_machine, laundry, copier, web_shop, other"},
        {"permissions", "permissions", Type::kText, "operations allowed, space-separated (debit, cancel, load:MEAL…)"},
        {"is_test", "is_test", Type::kBool, "a test point: its money moves between test accounts"},
        {"state", "state", Type::kText, "pending, approved, opposed"},
        {"pairing_id", "pairing_id", Type::kInt, "the device pairing issued at approval"},
        {"device_id", "device_id", Type::kInt, "the paired device operating the point; null before pairing"},
        {"created_at_ms", "created_at", Type::kInt, "Unix time in milliseconds"},
        {"updated_at_ms", "updated_at", Type::kInt, "Unix time in milliseconds"}}},
      {"point_accounts.jsonl",
       "Each point's own sales account per asset: its payments are booked there until a settlement run"
       " brings them to the merchant's sales account.",
       "wallet_point_accounts", "ledger_account_id",
       {{"point_id", "point_id", Type::kInt, "points.jsonl id"},
        {"ledger", "ledger", Type::kText, "asset code (EUR or a token counter)"},
        {"ledger_account_id", "ledger_account_id", Type::kInt, "ledger_accounts.jsonl id"}}},
      {"point_events.jsonl", "History of each point: creation, approval, pairing, device swaps, oppositions.",
       "wallet_point_events", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"point_id", "point_id", Type::kInt, "points.jsonl id"},
        {"event", "event", Type::kText, "created, approved, paired, device_replaced, opposed, reactivated"},
        {"reason", "reason", Type::kText, "reason given, if any"},
        {"actor_type", "actor_type", Type::kText, "user, api_key, device, system"},
        {"actor_id", "actor_id", Type::kInt, "staff.jsonl id when actor_type is user"},
        {"at_ms", "at_ms", Type::kInt, "Unix time in milliseconds"}}},
      {"pos_transactions.jsonl",
       "Every operation of a point: debits, loads, cash reloads, cancellations, refused ones included.",
       "wallet_pos_transactions", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"point_id", "point_id", Type::kInt, "points.jsonl id"},
        {"merchant_id", "merchant_org_id", Type::kInt, "merchants.jsonl organisation_id"},
        {"point_txn_id", "point_txn_id", Type::kText, "the point's own transaction id (a retry is a replay)"},
        {"operation", "operation", Type::kText, "debit, load, cash_reload, cancel"},
        {"counter", "counter", Type::kText, "counters.jsonl code"},
        {"amount", "amount", Type::kInt, "minor units"},
        {"holder_id", "holder_id", Type::kInt, "holders.jsonl id; null when refused before the payer was known"},
        {"support_id", "support_id", Type::kInt, "supports.jsonl id"},
        {"qr_code_id", "qr_code_id", Type::kInt, "qr_codes_used.jsonl id when paid by QR code"},
        {"payer_kind", "CASE WHEN payer_key LIKE 'support:%' THEN 'support' WHEN payer_key LIKE 'qr:%' THEN 'qr'"
         " WHEN payer_key LIKE 'code:%' THEN 'payment_code' WHEN payer_key LIKE 'cancel:%' THEN 'cancel' ELSE 'none' END",
         Type::kText, "how the payer was named: support, qr, payment_code, cancel, none"},
        {"state", "state", Type::kText, "pending, acknowledged, refused, voided, expired, cancelled, awaiting_funds"},
        {"refusal_code", "refusal_code", Type::kText, "why it was refused"},
        {"offline", "offline", Type::kBool, "made offline and uploaded later"},
        {"point_at_ms", "point_at_ms", Type::kInt, "the point's clock, Unix time in milliseconds"},
        {"received_at_ms", "received_at_ms", Type::kInt, "Unix time in milliseconds"},
        {"acknowledged_at_ms", "acknowledged_at_ms", Type::kInt, "Unix time in milliseconds"},
        {"expires_at_ms", "expires_at_ms", Type::kInt, "when an unacknowledged hold lapses"},
        {"ledger_transfer_id", "ledger_transfer_id", Type::kText, "ledger_transfers.jsonl id"},
        {"cancels_id", "cancels_id", Type::kInt, "the pos_transactions.jsonl id it cancels"},
        {"is_test", "is_test", Type::kBool, "made by a test point"},
        {"settlement_run_id", "settlement_run_id", Type::kInt, "the settlement that paid it to the merchant"}}},
      {"qr_phones.jsonl",
       "Holders' phones enrolled for one-time QR codes, and the service's printer per holder (kind print). "
       "Public keys only; the phone's private key never leaves it.",
       "wallet_qr_phones", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"holder_id", "holder_id", Type::kInt, "holders.jsonl id"},
        {"support_id", "support_id", Type::kInt, "supports.jsonl id of its virtual support"},
        {"kind", "kind", Type::kText, "phone or print"},
        {"label", "label", Type::kText, "name the holder gave it"},
        {"status", "status", Type::kText, "active or revoked"},
        {"public_key", "public_key", Type::kText, "the phone's Ed25519 public key, base64url"},
        {"certificate_expires_at_ms", "certificate_expires_at", Type::kInt, "Unix time in milliseconds"},
        {"next_counter", "next_counter", Type::kInt, "next code counter expected"},
        {"created_at_ms", "created_at", Type::kInt, "Unix time in milliseconds"},
        {"revoked_at_ms", "revoked_at", Type::kInt, "Unix time in milliseconds"},
        {"revoked_by", "revoked_by", Type::kText, "holder or staff"}}},
      {"qr_codes_used.jsonl", "QR codes redeemed at points: one per phone and counter (a second use is a replay).",
       "wallet_qr_codes", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"phone_id", "phone_id", Type::kInt, "qr_phones.jsonl id"},
        {"counter", "counter", Type::kInt, "the code's counter"},
        {"holder_id", "holder_id", Type::kInt, "holders.jsonl id"},
        {"made_at_ms", "made_at", Type::kInt, "when the phone made it, Unix time in milliseconds"},
        {"point_now_ms", "point_now", Type::kInt, "the point's clock when read, Unix time in milliseconds"},
        {"redeemed_at_ms", "redeemed_at", Type::kInt, "Unix time in milliseconds"}}},
      {"qr_codes_printed.jsonl", "QR codes the service made for printing. The codes' text is not exported.",
       "wallet_qr_printed", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"holder_id", "holder_id", Type::kInt, "holders.jsonl id"},
        {"phone_id", "phone_id", Type::kInt, "qr_phones.jsonl id (kind print)"},
        {"counter", "counter", Type::kInt, "the code's counter"},
        {"made_at_ms", "made_at", Type::kInt, "Unix time in milliseconds"},
        {"expires_at_ms", "expires_at", Type::kInt, "Unix time in milliseconds"},
        {"created_at_ms", "created_at", Type::kInt, "Unix time in milliseconds"}}},
      {"qr_refusals.jsonl", "QR codes refused at points (replays, bad signatures, revoked phones…), for fraud rules.",
       "wallet_qr_refusals", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"claimed_phone_id", "claimed_phone_id", Type::kInt, "the phone the code claimed, if readable"},
        {"claimed_holder_id", "claimed_holder_id", Type::kInt, "the holder the code claimed, if readable"},
        {"counter", "counter", Type::kInt, "the code's counter, if readable"},
        {"code", "code", Type::kText, "the refusal code (qr_replayed, qr_signature_invalid…)"},
        {"text_sha256", "text_sha256", Type::kText, "SHA-256 of the code's text, to group attempts"},
        {"point_id", "point_id", Type::kInt, "points.jsonl id"},
        {"point_now_ms", "point_now", Type::kInt, "the point's clock, Unix time in milliseconds"},
        {"at_ms", "at", Type::kInt, "Unix time in milliseconds"}}},
      {"sync_batches.jsonl", "Batches of offline events uploaded by devices, as signed by the device.",
       "sync_batches", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"device_id", "device_id", Type::kInt, "the uploading device (points.jsonl device_id)"},
        {"batch_id", "batch_id", Type::kText, "the device's id for the batch"},
        {"first_seq", "first_seq", Type::kInt, "first event sequence number"},
        {"last_seq", "last_seq", Type::kInt, "last event sequence number"},
        {"signature", "signature", Type::kText, "the device's Ed25519 signature of the batch"},
        {"signed_sha256", "signed_sha256", Type::kText, "SHA-256 of the signed content"},
        {"received_at_ms", "received_at", Type::kInt, "Unix time in milliseconds"}}},
      {"sync_events.jsonl",
       "Offline events uploaded by devices and what became of them. Payloads are as the device sent them "
       "(they may hold support numbers).",
       "sync_events", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"device_id", "device_id", Type::kInt, "the uploading device"},
        {"seq", "seq", Type::kInt, "the device's sequence number"},
        {"batch_id", "batch_row_id", Type::kInt, "sync_batches.jsonl id"},
        {"kind", "kind", Type::kText, "event kind (pos.debit…)"},
        {"at_ms", "at_ms", Type::kInt, "the device's clock, Unix time in milliseconds"},
        {"payload", "payload", Type::kText, "the event as sent, JSON text"},
        {"content_sha256", "content_sha256", Type::kText, "SHA-256 of the canonical event"},
        {"state", "state", Type::kText, "received, applied, refused, waiting, abandoned"},
        {"code", "code", Type::kText, "refusal or waiting code"},
        {"wait_key", "wait_key", Type::kText, "what a waiting event waits for"},
        {"result", "result", Type::kText, "the outcome, JSON text"},
        {"attempts", "attempts", Type::kInt, "times applied"},
        {"last_try_at_ms", "last_try_at", Type::kInt, "Unix time in milliseconds"},
        {"next_try_at_ms", "next_try_at", Type::kInt, "Unix time in milliseconds"},
        {"received_at_ms", "received_at", Type::kInt, "Unix time in milliseconds"},
        {"done_at_ms", "done_at", Type::kInt, "Unix time in milliseconds"},
        {"abandoned_by", "abandoned_by", Type::kInt, "staff.jsonl id of who abandoned it"},
        {"abandon_reason", "abandon_reason", Type::kText, "why"}}},
      {"fraud_rules.jsonl",
       "Fraud rules per organisation and kind (W20); the deepest organisation on a path applies.",
       "wallet_fraud_rules", kFraudRuleKey,
       {{"organisation_id", "organisation_id", Type::kInt, "organisations.jsonl id"},
        {"kind", "kind", Type::kText, "velocity, refusals, distance, amount, qr_replay"},
        {"enabled", "enabled", Type::kBool, "whether the rule runs"},
        {"count", "count", Type::kInt, "operations or refusals that fire it"},
        {"window_s", "window_s", Type::kInt, "window in seconds"},
        {"amount_cents", "amount_cents", Type::kInt, "amount threshold in cents"},
        {"site_depth", "site_depth", Type::kInt, "organisation depth that counts as one site (distance rule)"},
        {"action", "action", Type::kText, "alert or oppose"},
        {"updated_at_ms", "updated_at", Type::kInt, "Unix time in milliseconds"},
        {"updated_by", "updated_by", Type::kInt, "staff.jsonl id"}}},
      {"fraud_alerts.jsonl", "Alerts raised by the fraud rules, and how they were closed.", "wallet_fraud_alerts", "id",
       {{"id", "id", Type::kInt, "identifier"},
        {"organisation_id", "organisation_id", Type::kInt, "organisations.jsonl id"},
        {"rule", "rule", Type::kText, "the rule kind that fired"},
        {"subject", "subject", Type::kText, "what it is about (support:ID, phone:ID, payer…)"},
        {"holder_id", "holder_id", Type::kInt, "holders.jsonl id"},
        {"support_id", "support_id", Type::kInt, "supports.jsonl id"},
        {"phone_id", "phone_id", Type::kInt, "qr_phones.jsonl id"},
        {"point_id", "point_id", Type::kInt, "points.jsonl id"},
        {"summary", "summary", Type::kText, "one line for people"},
        {"facts", "facts", Type::kText, "the operations counted, JSON text"},
        {"action_taken", "action_taken", Type::kText, "what was done (alert, opposition…)"},
        {"state", "state", Type::kText, "open or closed"},
        {"created_at_ms", "created_at", Type::kInt, "Unix time in milliseconds"},
        {"closed_at_ms", "closed_at", Type::kInt, "Unix time in milliseconds"},
        {"closed_by", "closed_by", Type::kInt, "staff.jsonl id"},
        {"note", "note", Type::kText, "closing note"}}},
  };
  return tables;
}

value Cell(const Row& row, size_t index, Type type) {
  if (row.IsNull(index)) return nullptr;
  switch (type) {
    case Type::kInt: return row.Int(index);
    case Type::kBool: return row.Bool(index);
    case Type::kText: return value(row.Text(index));
  }
  return nullptr;
}

std::string Hex(const unsigned char* bytes, size_t size) {
  std::string out;
  for (size_t i = 0; i < size; ++i) out += fmt::format("{:02x}", bytes[i]);
  return out;
}

Result<ExportedFile> WriteTable(storage::Database& database, const Table& table, const std::filesystem::path& directory) {
  std::ofstream out(directory / table.file, std::ios::binary);
  if (!out) return Error::Internal(fmt::format("cannot write {}", table.file));
  crypto_hash_sha256_state hash;
  crypto_hash_sha256_init(&hash);
  std::string columns(table.key);
  for (const Column& column : table.columns) columns += ", " + std::string(column.sql);
  const std::string sql = fmt::format("SELECT {} FROM {} WHERE {} > $1 ORDER BY {} LIMIT $2", columns, table.from,
                                      table.key, table.key);
  ExportedFile file{std::string(table.file), 0, ""};
  int64_t after = std::numeric_limits<int64_t>::min();
  for (;;) {
    auto page = database.Transact<std::vector<Row>>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<Row>> {
      auto rows = tx.Query(sql, {after, kExportPageRows});
      if (!rows.ok()) return std::move(rows).error();
      return std::move(rows->rows);
    });
    if (!page.ok()) return std::move(page).error();
    for (const Row& row : *page) {
      object line;
      for (size_t i = 0; i < table.columns.size(); ++i) {
        line[table.columns[i].name] = Cell(row, i + 1, table.columns[i].type);
      }
      const std::string text = boost::json::serialize(line) + "\n";
      out << text;
      crypto_hash_sha256_update(&hash, reinterpret_cast<const unsigned char*>(text.data()), text.size());
      ++file.rows;
      after = row.Int(0);
    }
    if (static_cast<int64_t>(page->size()) < kExportPageRows) break;
  }
  out.close();
  if (!out) return Error::Internal(fmt::format("cannot write {}", table.file));
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&hash, digest);
  file.sha256 = Hex(digest, sizeof digest);
  return file;
}

std::string Readme(const ExportReport& report, int64_t now_ms) {
  std::string text = fmt::format(
      "# Guichet export\n\n"
      "Format `{}` version {}, written at {} ms since the Unix epoch (UTC).\n\n"
      "Each `.jsonl` file holds one JSON object per line (UTF-8, JSON Lines). Integers are exact;\n"
      "amounts are minor units: cents for the euro counter (`EUR`), tokens for token counters.\n"
      "Times are milliseconds since the Unix epoch. `null` means no value. `manifest.json` lists\n"
      "every file with its row count and SHA-256, to check the copy is complete.\n\n"
      "To rebuild balances: for each ledger account, balance = credits_posted - debits_posted, which\n"
      "equals the sum of its transfers with result `ok` and no pending state other than `posted`\n"
      "(credits minus debits); the sum over the accounts of one ledger is zero. A holder's\n"
      "statement is `movements.jsonl` for that holder, newest last.\n\n"
      "Not exported: password hashes, second-factor secrets, session and link tokens, API keys'\n"
      "secrets, merchants' IBANs (sealed; only the last four characters), QR code texts and payment\n"
      "codes. The audit trail is verified and exported by `guichet audit verify` and the database.\n\n",
      kExportFormat, kExportFormatVersion, now_ms);
  for (const Table& table : Tables()) {
    int64_t rows = 0;
    for (const ExportedFile& file : report.files) {
      if (file.name == table.file) rows = file.rows;
    }
    text += fmt::format("## {} ({} rows)\n\n{}\n\n| field | type | meaning |\n|---|---|---|\n", table.file, rows,
                        table.description);
    for (const Column& column : table.columns) {
      const std::string_view type = column.type == Type::kInt ? "integer" : column.type == Type::kBool ? "boolean" : "string";
      text += fmt::format("| `{}` | {} | {} |\n", column.name, type, column.doc);
    }
    text += "\n";
  }
  return text;
}

}  // namespace

Result<ExportReport> WriteExport(storage::Database& database, const std::string& directory, const Clock& clock) {
  const std::filesystem::path path(directory);
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    return Error::Invalid("export_directory_exists", fmt::format("{} exists already: give a new directory.", directory));
  }
  if (!std::filesystem::create_directories(path, error)) {
    return Error::Invalid("export_directory_invalid", fmt::format("cannot create {}: {}", directory, error.message()));
  }
  const int64_t now = clock.NowMs();
  ExportReport report;
  report.directory = directory;
  for (const Table& table : Tables()) {
    auto file = WriteTable(database, table, path);
    if (!file.ok()) return std::move(file).error();
    report.files.push_back(std::move(*file));
  }
  array files;
  for (const ExportedFile& file : report.files) {
    files.push_back(object{{"name", file.name}, {"rows", file.rows}, {"sha256", file.sha256}});
  }
  const object manifest{{"format", kExportFormat}, {"version", kExportFormatVersion}, {"created_at_ms", now},
                        {"files", std::move(files)}};
  std::ofstream(path / "manifest.json") << boost::json::serialize(manifest) << "\n";
  std::ofstream(path / "README.md") << Readme(report, now);
  return report;
}

}  // namespace guichet::app
