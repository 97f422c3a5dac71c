// Every option of the service in one place: name, default, range and meaning.
// Sources, later ones winning: defaults < config file (key = value) < GUICHET_* environment
// variables < command-line overrides. Numbers outside their range are clamped, with a warning.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/base/result.h"

namespace guichet {

struct Settings {
  std::string db = "sqlite:var/guichet.db";
  int64_t db_pool_connections = 8;
  int64_t db_acquire_timeout_ms = 5000;
  int64_t db_busy_timeout_ms = 5000;

  std::string http_host = "127.0.0.1";
  int64_t http_port = 8080;
  int64_t http_threads = 2;
  int64_t http_header_bytes_max = 16 * 1024;
  int64_t http_body_bytes_max = 1024 * 1024;
  int64_t http_read_timeout_s = 10;
  int64_t http_write_timeout_s = 30;
  int64_t http_idle_timeout_s = 30;
  int64_t http_shutdown_grace_s = 20;
  std::string web_root = "web/dist";

  int64_t jobs_workers = 2;
  int64_t jobs_poll_ms = 500;
  int64_t jobs_backoff_base_ms = 1000;
  int64_t jobs_backoff_max_ms = 3600 * 1000;
  int64_t jobs_lease_s = 300;

  int64_t session_idle_s = 30 * 60;
  int64_t session_absolute_s = 12 * 3600;
  int64_t login_failures_max = 5;
  int64_t lockout_s = 15 * 60;
  int64_t password_hash_ops = 3;
  int64_t password_hash_memory_kib = 64 * 1024;
  bool cookie_secure = true;

  std::string oidc_issuer;  // empty: no OpenID Connect login
  std::string oidc_client_id;
  std::string oidc_client_secret;
  std::string oidc_redirect_uri;
  std::string oidc_display_name = "OpenID Connect";

  // Messages (platform/notify): delivery engine, SMTP, SMS gateway, provider reports.
  int64_t notify_batch_messages_max = 50;
  int64_t notify_attempts_max = 8;
  int64_t notify_backoff_base_ms = 30 * 1000;
  int64_t notify_backoff_max_ms = 6 * 3600 * 1000;
  int64_t notify_lease_s = 300;
  int64_t notify_poll_ms = 5000;
  // Offline sync (platform/sync).
  int64_t sync_change_retention_days = 30;
  int64_t sync_retry_backoff_base_s = 60;
  int64_t sync_retry_interval_s = 60;
  std::string notify_report_secret;  // HMAC key of bounce and SMS delivery reports; empty: refused
  std::string smtp_url = "smtp://127.0.0.1:1025";
  std::string smtp_user;
  std::string smtp_password;
  std::string smtp_starttls = "required";
  std::string smtp_ca_file;
  int64_t smtp_connect_timeout_ms = 10 * 1000;
  int64_t smtp_timeout_ms = 60 * 1000;
  std::string smtp_from_address = "ne-pas-repondre@guichet.invalid";
  std::string smtp_from_name = "Guichet";
  std::string sms_gateway_url;  // empty: no SMS channel
  std::string sms_api_key;
  std::string sms_sender = "Guichet";
  std::string sms_report_url;  // public URL of /api/v1/notify/sms/reports given to the gateway
  int64_t sms_timeout_ms = 10 * 1000;
  // Webhooks and web push (platform/notify/webhooks.h, webpush.h).
  bool webhook_allow_http = false;  // plain http:// webhook and push endpoints (tests, demo)
  int64_t webhook_timeout_ms = 15 * 1000;
  std::string vapid_private_key;  // base64url P-256 scalar; empty: generated once, kept in the database
  std::string vapid_subject = "mailto:support@guichet.invalid";
  std::string notify_link_secret;  // HMAC key of unsubscribe and open links; empty: generated once, kept in the database
  // Public base URL of this service, as payers' browsers and the card acquirer reach it
  // (return pages and server-to-server notifications); empty: http://http_host:http_port.
  std::string public_url;
  std::string card_acquirer_url = "http://127.0.0.1:8090";
  std::string card_acquirer_api_key = "sim_api_key";
  std::string card_acquirer_secret = "sim_secret";
  int64_t wallet_card_reload_min_cents = 3000;
  int64_t wallet_card_fee_below_min_cents = 0;
  int64_t wallet_refund_min_cents = 0;
  int64_t wallet_sepa_debit_min_cents = 500;
  int64_t wallet_sepa_debit_max_cents = 20000;
  std::string wallet_link_secret;  // empty: generated once, kept in the database
  int64_t wallet_pos_clock_drift_max_ms = 30000;  // W14: a point's clock may be this far off
  int64_t wallet_pos_hold_s = 120;                // a debit's hold lapses without acknowledgement
  int64_t wallet_fraud_scan_interval_s = 30;      // W20: how often the fraud rules look at new operations
  int64_t wallet_offline_allowance_cents = 3000;  // W16: what one card may spend offline at a point
  std::string sepa_account_name = "Etablissement public";
  std::string sepa_iban = "FR7630006000011234567890189";
  std::string sepa_bic = "AGRIFRPP";
  std::string sepa_creditor_id = "FR72ZZZ123456";

  std::string log_level = "info";
  std::string log_format = "text";
  bool diagnostics = false;
};

struct OptionInfo {
  std::string name;          // "http_port"; environment variable GUICHET_HTTP_PORT
  std::string default_text;  // as printed by --help
  std::string range_text;    // "1..65535", "text|json", "true|false"
  std::string doc;
};

// The documented list, in display order (used by --help and the README).
std::vector<OptionInfo> DescribeSettings();

// Lookup of environment variables, injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnvironment();

struct SettingsSources {
  std::optional<std::string> config_file;           // path of a key = value file
  EnvLookup env;                                    // may be empty
  std::map<std::string, std::string> overrides;     // from the command line
};

// Loads and clamps. Unknown keys, unparsable numbers and invalid choices are errors;
// out-of-range numbers are clamped and reported in `warnings`.
Result<Settings> LoadSettings(const SettingsSources& sources, std::vector<std::string>* warnings);

}  // namespace guichet
