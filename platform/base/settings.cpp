#include "platform/base/settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <variant>

#include <fmt/format.h>

namespace guichet {
namespace {

struct IntRange {
  int64_t min;
  int64_t max;
};
using Member = std::variant<int64_t Settings::*, std::string Settings::*, bool Settings::*>;

struct Spec {
  const char* name;
  Member member;
  IntRange range;                    // numbers only
  std::vector<std::string> choices;  // strings: empty means free text
  const char* doc;
};

const std::vector<Spec>& Specs() {
  static const std::vector<Spec> specs = {
      {"db", &Settings::db, {}, {},
       "database: sqlite:PATH (embedded, default) or postgres://user@host:port/name"},
      {"db_pool_connections", &Settings::db_pool_connections, {1, 64}, {},
       "database connections kept by this process"},
      {"db_acquire_timeout_ms", &Settings::db_acquire_timeout_ms, {100, 60000}, {},
       "wait for a free connection before answering 503"},
      {"db_busy_timeout_ms", &Settings::db_busy_timeout_ms, {100, 60000}, {},
       "SQLite: wait for the write lock before giving up"},
      {"http_host", &Settings::http_host, {}, {}, "address to listen on"},
      {"http_port", &Settings::http_port, {0, 65535}, {}, "port to listen on (0: any free port)"},
      {"http_threads", &Settings::http_threads, {1, 64}, {}, "threads running the HTTP event loop"},
      {"http_header_bytes_max", &Settings::http_header_bytes_max, {1024, 1024 * 1024}, {},
       "largest request header block (431 beyond)"},
      {"http_body_bytes_max", &Settings::http_body_bytes_max, {1024, 256 * 1024 * 1024}, {},
       "largest request body (413 beyond)"},
      {"http_read_timeout_s", &Settings::http_read_timeout_s, {1, 300}, {},
       "time allowed to receive a whole request once it has started"},
      {"http_write_timeout_s", &Settings::http_write_timeout_s, {1, 600}, {},
       "time allowed to send a whole response"},
      {"http_idle_timeout_s", &Settings::http_idle_timeout_s, {1, 3600}, {},
       "keep-alive: close a connection idle this long"},
      {"http_shutdown_grace_s", &Settings::http_shutdown_grace_s, {1, 300}, {},
       "on SIGTERM, time given to requests in flight"},
      {"web_root", &Settings::web_root, {}, {}, "directory of the built web app (web/dist)"},
      {"jobs_workers", &Settings::jobs_workers, {0, 32}, {},
       "threads running background jobs in serve (0: none in this process)"},
      {"jobs_poll_ms", &Settings::jobs_poll_ms, {10, 60000}, {}, "how often due jobs are looked for"},
      {"jobs_backoff_base_ms", &Settings::jobs_backoff_base_ms, {10, 3600 * 1000}, {},
       "delay before the first retry; doubles at each attempt"},
      {"jobs_backoff_max_ms", &Settings::jobs_backoff_max_ms, {10, 7 * 24 * 3600 * 1000LL}, {},
       "longest delay between two attempts"},
      {"jobs_lease_s", &Settings::jobs_lease_s, {1, 86400}, {},
       "a running job not finished after this is taken up again (crashed worker)"},
      {"session_idle_s", &Settings::session_idle_s, {60, 24 * 3600}, {},
       "a session unused this long ends"},
      {"session_absolute_s", &Settings::session_absolute_s, {300, 7 * 24 * 3600}, {},
       "no session lives longer than this"},
      {"login_failures_max", &Settings::login_failures_max, {3, 20}, {},
       "consecutive wrong passwords before the account is locked"},
      {"lockout_s", &Settings::lockout_s, {60, 24 * 3600}, {}, "how long a locked account stays locked"},
      {"password_hash_ops", &Settings::password_hash_ops, {1, 10}, {}, "Argon2id passes over memory"},
      {"password_hash_memory_kib", &Settings::password_hash_memory_kib, {8 * 1024, 1024 * 1024}, {},
       "Argon2id memory per hash, KiB (64 MiB: about 50 ms on one core)"},
      {"cookie_secure", &Settings::cookie_secure, {}, {},
       "mark the session cookie Secure (browsers accept it on http://localhost too)"},
      {"oidc_issuer", &Settings::oidc_issuer, {}, {},
       "OpenID Connect provider for staff login, exactly as its discovery document names it "
       "(https; http only on 127.0.0.1); empty: off"},
      {"oidc_client_id", &Settings::oidc_client_id, {}, {},
       "client id of Guichet at the OpenID Connect provider"},
      {"oidc_client_secret", &Settings::oidc_client_secret, {}, {},
       "client secret at the provider (sent with HTTP Basic to its token endpoint)"},
      {"oidc_redirect_uri", &Settings::oidc_redirect_uri, {}, {},
       "public URL of /api/v1/oidc/callback, exactly as registered at the provider"},
      {"oidc_display_name", &Settings::oidc_display_name, {}, {},
       "provider name on the login button (\"Se connecter avec ...\")"},
      {"notify_batch_messages_max", &Settings::notify_batch_messages_max, {1, 1000}, {},
       "messages claimed by one delivery run"},
      {"notify_attempts_max", &Settings::notify_attempts_max, {1, 50}, {},
       "delivery attempts of a message before it is given up (failed)"},
      {"notify_backoff_base_ms", &Settings::notify_backoff_base_ms, {10, 3600 * 1000}, {},
       "delay before a message's first retry; doubles at each attempt"},
      {"notify_backoff_max_ms", &Settings::notify_backoff_max_ms, {10, 7 * 24 * 3600 * 1000LL}, {},
       "longest delay between two delivery attempts"},
      {"notify_lease_s", &Settings::notify_lease_s, {1, 86400}, {},
       "a message still 'sending' after this is marked uncertain (its worker died mid-delivery)"},
      {"notify_poll_ms", &Settings::notify_poll_ms, {1000, 3600 * 1000}, {},
       "how often the delivery job runs besides being woken by new messages"},
      {"sync_change_retention_days", &Settings::sync_change_retention_days, {1, 3650}, {},
       "feed changes devices can catch up on; an older cursor gets a new snapshot"},
      {"sync_retry_backoff_base_s", &Settings::sync_retry_backoff_base_s, {1, 86400}, {},
       "delay before a waiting offline event is tried again; doubles at each attempt (max 6 h)"},
      {"sync_retry_interval_s", &Settings::sync_retry_interval_s, {5, 3600}, {},
       "how often due waiting offline events are retried"},
      {"notify_report_secret", &Settings::notify_report_secret, {}, {},
       "HMAC-SHA256 key of bounce and SMS delivery reports (X-Guichet-Signature); empty: refused"},
      {"smtp_url", &Settings::smtp_url, {}, {},
       "mail server: smtp://host:port (STARTTLS per smtp_starttls) or smtps://host:port"},
      {"smtp_user", &Settings::smtp_user, {}, {}, "SMTP AUTH user; empty: no authentication"},
      {"smtp_password", &Settings::smtp_password, {}, {}, "SMTP AUTH password"},
      {"smtp_starttls", &Settings::smtp_starttls, {}, {"required", "opportunistic", "off"},
       "STARTTLS on smtp:// URLs: required (refuse a server without it), opportunistic, off"},
      {"smtp_ca_file", &Settings::smtp_ca_file, {}, {},
       "PEM file of the CA that signs the mail server's certificate; empty: system store"},
      {"smtp_connect_timeout_ms", &Settings::smtp_connect_timeout_ms, {100, 120000}, {},
       "time allowed to connect to the mail server"},
      {"smtp_timeout_ms", &Settings::smtp_timeout_ms, {1000, 600000}, {},
       "time allowed for one whole SMTP transaction"},
      {"smtp_from_address", &Settings::smtp_from_address, {}, {},
       "sender when no organisation above the message's has its own"},
      {"smtp_from_name", &Settings::smtp_from_name, {}, {}, "display name of that default sender"},
      {"sms_gateway_url", &Settings::sms_gateway_url, {}, {},
       "SMS provider base URL (JSON API); empty: SMS messages wait"},
      {"sms_api_key", &Settings::sms_api_key, {}, {}, "SMS provider API key (Bearer)"},
      {"sms_sender", &Settings::sms_sender, {}, {}, "SMS sender name (alphanumeric, 11 characters at most)"},
      {"sms_report_url", &Settings::sms_report_url, {}, {},
       "public URL of /api/v1/notify/sms/reports, given to the provider for delivery reports"},
      {"sms_timeout_ms", &Settings::sms_timeout_ms, {100, 120000}, {}, "time allowed for one SMS submission"},
      {"webhook_allow_http", &Settings::webhook_allow_http, {}, {},
       "accept plain http:// webhook and push endpoints (tests, demo); otherwise https only"},
      {"webhook_timeout_ms", &Settings::webhook_timeout_ms, {100, 120000}, {},
       "time allowed for one webhook or push request"},
      {"vapid_private_key", &Settings::vapid_private_key, {}, {},
       "web push VAPID private key (base64url P-256 scalar); empty: generated once and kept in the database"},
      {"vapid_subject", &Settings::vapid_subject, {}, {},
       "contact given to push services in the VAPID token (mailto: or https: URL)"},
      {"notify_link_secret", &Settings::notify_link_secret, {}, {},
       "HMAC-SHA256 key of unsubscribe and open links in messages; empty: a key generated once "
       "and kept in the database"},
      {"public_url", &Settings::public_url, {}, {},
       "public base URL of this service for payers and the card acquirer (empty: http://http_host:http_port)"},
      {"card_acquirer_url", &Settings::card_acquirer_url, {}, {},
       "card acquirer's hosted-payment API (the card acquirer simulator by default)"},
      {"card_acquirer_api_key", &Settings::card_acquirer_api_key, {}, {}, "merchant API key at the card acquirer"},
      {"card_acquirer_secret", &Settings::card_acquirer_secret, {}, {},
       "HMAC key the card acquirer signs its notifications with"},
      {"wallet_card_reload_min_cents", &Settings::wallet_card_reload_min_cents, {100, 1000000}, {},
       "smallest card reload, cents (30 EUR in the tender; may only be raised)"},
      {"wallet_card_fee_below_min_cents", &Settings::wallet_card_fee_below_min_cents, {0, 10000}, {},
       "fee for a card reload below the minimum, cents (0: such reloads are refused)"},
      {"wallet_refund_min_cents", &Settings::wallet_refund_min_cents, {0, 1000000}, {},
       "smallest refund per request, cents (never applies to a full-balance refund)"},
      {"wallet_sepa_debit_min_cents", &Settings::wallet_sepa_debit_min_cents, {1, 500}, {},
       "smallest SEPA direct-debit reload, cents (the tender: at most 5 EUR)"},
      {"wallet_sepa_debit_max_cents", &Settings::wallet_sepa_debit_max_cents, {2000, 1000000}, {},
       "largest SEPA direct-debit reload, cents (the tender: at least 20 EUR)"},
      {"wallet_link_secret", &Settings::wallet_link_secret, {}, {},
       "HMAC key of third-party reload links (empty: generated once and kept in the database)"},
      {"wallet_pos_clock_drift_max_ms", &Settings::wallet_pos_clock_drift_max_ms, {1000, 600000}, {},
       "how far a point of sale's clock may be from the server's, ms (operations beyond are refused)"},
      {"wallet_pos_hold_s", &Settings::wallet_pos_hold_s, {1, 3600}, {},
       "how long a point's debit is held waiting for its acknowledgement, s (then released)"},
      {"wallet_fraud_scan_interval_s", &Settings::wallet_fraud_scan_interval_s, {1, 3600}, {},
       "how often the fraud rules look at what points did, s (W20)"},
      {"wallet_offline_allowance_cents", &Settings::wallet_offline_allowance_cents, {0, 100000}, {},
       "what one card may spend offline at a point between two connections, cents (the point tracks "
       "it; beyond, or beyond the real balance, a debit waits for funds)"},
      {"sepa_account_name", &Settings::sepa_account_name, {}, {}, "name on the institution's bank account"},
      {"sepa_iban", &Settings::sepa_iban, {}, {}, "IBAN refunds are paid from and debits collected into"},
      {"sepa_bic", &Settings::sepa_bic, {}, {}, "BIC of that account (may be empty)"},
      {"sepa_creditor_id", &Settings::sepa_creditor_id, {}, {}, "SEPA creditor identifier (ICS)"},
      {"log_level", &Settings::log_level, {}, {"trace", "debug", "info", "warn", "error"},
       "least severe level written"},
      {"log_format", &Settings::log_format, {}, {"text", "json"},
       "text for people, json for log collectors"},
      {"diagnostics", &Settings::diagnostics, {}, {},
       "expose /api/v1/diagnostics/* (echo, test jobs) for tests and smoke checks"},
  };
  return specs;
}

const Spec* FindSpec(const std::string& name) {
  for (const Spec& spec : Specs()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

std::string Trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return std::string(text.substr(begin, end - begin));
}

Status Assign(Settings& settings, const Spec& spec, const std::string& raw,
              const std::string& origin, std::vector<std::string>* warnings) {
  if (auto* member = std::get_if<int64_t Settings::*>(&spec.member)) {
    int64_t number = 0;
    const auto [end, failure] = std::from_chars(raw.data(), raw.data() + raw.size(), number);
    if (failure != std::errc() || end != raw.data() + raw.size()) {
      return Error::Invalid("invalid_setting",
                            fmt::format("{}: {} must be a whole number, got '{}'", origin,
                                        spec.name, raw));
    }
    const int64_t clamped = std::clamp(number, spec.range.min, spec.range.max);
    if (clamped != number && warnings != nullptr) {
      warnings->push_back(fmt::format("{}: {}={} is outside {}..{}; using {}", origin, spec.name,
                                      number, spec.range.min, spec.range.max, clamped));
    }
    settings.*(*member) = clamped;
  } else if (auto* text = std::get_if<std::string Settings::*>(&spec.member)) {
    if (!spec.choices.empty() &&
        std::find(spec.choices.begin(), spec.choices.end(), raw) == spec.choices.end()) {
      return Error::Invalid("invalid_setting",
                            fmt::format("{}: {} must be one of {}, got '{}'", origin, spec.name,
                                        fmt::join(spec.choices, "|"), raw));
    }
    settings.*(*text) = raw;
  } else {
    auto* flag = std::get_if<bool Settings::*>(&spec.member);
    GUICHET_ASSERT(flag != nullptr);
    if (raw == "true" || raw == "1" || raw == "yes" || raw == "on") {
      settings.*(*flag) = true;
    } else if (raw == "false" || raw == "0" || raw == "no" || raw == "off") {
      settings.*(*flag) = false;
    } else {
      return Error::Invalid("invalid_setting", fmt::format("{}: {} must be true or false, got '{}'",
                                                           origin, spec.name, raw));
    }
  }
  return OkStatus();
}

Status ApplyFile(Settings& settings, const std::string& path, std::vector<std::string>* warnings) {
  std::ifstream in(path);
  if (!in) {
    return Error::Invalid("invalid_setting", fmt::format("cannot read config file {}", path));
  }
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const std::string content = Trim(line.substr(0, line.find('#')));
    if (content.empty()) continue;
    const std::string origin = fmt::format("{}:{}", path, line_number);
    const size_t equals = content.find('=');
    if (equals == std::string::npos) {
      return Error::Invalid("invalid_setting", fmt::format("{}: expected key = value", origin));
    }
    const std::string key = Trim(content.substr(0, equals));
    const Spec* spec = FindSpec(key);
    if (spec == nullptr) {
      return Error::Invalid("invalid_setting", fmt::format("{}: unknown option '{}'", origin, key));
    }
    GUICHET_TRY_STATUS(Assign(settings, *spec, Trim(content.substr(equals + 1)), origin, warnings));
  }
  return OkStatus();
}

std::string EnvName(const char* name) {
  std::string upper = "GUICHET_";
  for (const char* c = name; *c != '\0'; ++c) {
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(*c))));
  }
  return upper;
}

std::string DefaultText(const Spec& spec) {
  const Settings defaults;
  if (auto* member = std::get_if<int64_t Settings::*>(&spec.member)) {
    return std::to_string(defaults.*(*member));
  }
  if (auto* text = std::get_if<std::string Settings::*>(&spec.member)) return defaults.*(*text);
  return (defaults.*std::get<bool Settings::*>(spec.member)) ? "true" : "false";
}

std::string RangeText(const Spec& spec) {
  if (std::holds_alternative<int64_t Settings::*>(spec.member)) {
    return fmt::format("{}..{}", spec.range.min, spec.range.max);
  }
  if (std::holds_alternative<bool Settings::*>(spec.member)) return "true|false";
  return spec.choices.empty() ? "text" : fmt::format("{}", fmt::join(spec.choices, "|"));
}

}  // namespace

std::vector<OptionInfo> DescribeSettings() {
  std::vector<OptionInfo> options;
  for (const Spec& spec : Specs()) {
    options.push_back({spec.name, DefaultText(spec), RangeText(spec), spec.doc});
  }
  return options;
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<Settings> LoadSettings(const SettingsSources& sources, std::vector<std::string>* warnings) {
  Settings settings;
  if (sources.config_file) {
    GUICHET_TRY_STATUS(ApplyFile(settings, *sources.config_file, warnings));
  }
  if (sources.env) {
    for (const Spec& spec : Specs()) {
      const std::string name = EnvName(spec.name);
      if (auto value = sources.env(name)) {
        GUICHET_TRY_STATUS(Assign(settings, spec, Trim(*value), name, warnings));
      }
    }
  }
  for (const auto& [key, value] : sources.overrides) {
    const Spec* spec = FindSpec(key);
    if (spec == nullptr) {
      return Error::Invalid("invalid_setting", fmt::format("unknown option '{}'", key));
    }
    GUICHET_TRY_STATUS(Assign(settings, *spec, value, "--" + key, warnings));
  }
  return settings;
}

}  // namespace guichet
