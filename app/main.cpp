// The composition root: the only place that reads settings, opens the database and wires the
// platform pieces and modules together. Subcommands: serve, migrate, demo, version.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "app/catalog.h"
#include "app/demo.h"
#include "app/demo_pos.h"
#include "app/export.h"
#include "platform/audit/audit.h"
#include "platform/base/clock.h"
#include "platform/base/crypto.h"
#include "platform/base/log.h"
#include "platform/base/settings.h"
#include "platform/http/router.h"
#include "platform/http/server.h"
#include "platform/identity/identity.h"
#include "platform/identity/identity_http.h"
#include "platform/identity/machines.h"
#include "platform/identity/oidc.h"
#include "platform/notify/addresses.h"
#include "platform/notify/delivery.h"
#include "platform/notify/campaigns.h"
#include "platform/notify/composer.h"
#include "platform/notify/contacts.h"
#include "platform/notify/content.h"
#include "platform/notify/digests.h"
#include "platform/notify/notify_http.h"
#include "platform/notify/preferences.h"
#include "platform/notify/templates.h"
#include "platform/notify/delivery_http.h"
#include "platform/notify/outbox.h"
#include "platform/notify/senders.h"
#include "platform/notify/sms.h"
#include "platform/notify/smtp.h"
#include "platform/notify/webhooks.h"
#include "platform/notify/webhooks_http.h"
#include "platform/notify/webpush.h"
#include "platform/ledger/ledger.h"
#include "modules/wallet/accounts.h"
#include "modules/wallet/upload.h"
#include "modules/wallet/wallet.h"
#include "modules/wallet/wallet_http.h"
#include "modules/wallet/qr_codes_http.h"
#include "modules/wallet/reloads_http.h"
#include "modules/wallet/fraud_http.h"
#include "modules/wallet/offline_http.h"
#include "modules/wallet/pos_http.h"
#include "modules/wallet/settlement_http.h"
#include "modules/wallet/reconciliation_http.h"
#include "platform/banking/iban.h"
#include "platform/base/crypto.h"
#include "platform/payments/payment_provider.h"
#include "platform/orgs/orgs.h"
#include "platform/privacy/privacy.h"
#include "platform/privacy/privacy_http.h"
#include "platform/jobs/jobs.h"
#include "platform/secrets/secrets.h"
#include "platform/storage/async_database.h"
#include "platform/storage/migrations.h"
#include "platform/sync/sync.h"
#include "platform/sync/sync_http.h"
#include "platform/system/system_routes.h"

#ifndef GUICHET_VERSION
#define GUICHET_VERSION "0.0.0-dev"
#endif

namespace guichet {
namespace {

struct CommonFlags {
  std::string config_file;
  std::string db;
};

// Where people's browsers and outside services reach this server: links in messages, card
// payment return pages and notifications. Unset: the listening address (a random test port is
// put right once known, see Serve).
std::string PublicUrlOf(const Settings& settings) {
  return settings.public_url.empty() ? fmt::format("http://{}:{}", settings.http_host, settings.http_port)
                                     : settings.public_url;
}

// The wallet's money settings; the institution's bank identifiers are checked at start.
Result<wallet::MoneyOptions> MoneyOptionsOf(const Settings& settings) {
  wallet::MoneyOptions options;
  options.card_reload_min_cents = settings.wallet_card_reload_min_cents;
  options.card_fee_below_min_cents = settings.wallet_card_fee_below_min_cents;
  options.refund_min_cents = settings.wallet_refund_min_cents;
  options.public_url = PublicUrlOf(settings);
  auto iban = banking::NormaliseIban(settings.sepa_iban);
  if (!iban.ok()) return std::move(iban).error();
  std::string bic;
  if (!settings.sepa_bic.empty()) {
    auto normalised = banking::NormaliseBic(settings.sepa_bic);
    if (!normalised.ok()) return std::move(normalised).error();
    bic = *normalised;
  }
  options.account = {settings.sepa_account_name, *iban, bic};
  return options;
}

Result<wallet::DirectDebitOptions> DirectDebitOptionsOf(const Settings& settings) {
  auto money = MoneyOptionsOf(settings);
  if (!money.ok()) return std::move(money).error();
  auto creditor = banking::NormaliseCreditorId(settings.sepa_creditor_id);
  if (!creditor.ok()) return std::move(creditor).error();
  wallet::DirectDebitOptions options;
  options.min_cents = settings.wallet_sepa_debit_min_cents;
  options.max_cents = settings.wallet_sepa_debit_max_cents;
  options.creditor_id = *creditor;
  options.account = money->account;
  return options;
}

std::vector<storage::Migration> AllMigrations() {
  std::vector<storage::Migration> all;
  // Order matters where tables refer to each other: organisations before identity.
  for (auto pieces : {jobs::Migrations(), orgs::Migrations(), audit::Migrations(), notify::Migrations(), notify::WebhookMigrations(), notify::PushMigrations(),
                      identity::Migrations(), identity::MachineMigrations(), privacy::Migrations(),
                      identity::OidcMigrations(), ledger::Migrations(), notify::ContentMigrations(),
                      secrets::Migrations(), wallet::Migrations(), wallet::MoneyMigrations(),
                      wallet::QrMigrations(), wallet::PosMigrations(), wallet::SettlementMigrations(),
                      wallet::ReconciliationMigrations(), sync::Migrations(),
                      wallet::FraudMigrations()}) {
    for (auto& migration : pieces) all.push_back(std::move(migration));
  }
  return all;
}

identity::IdentityOptions IdentityOptionsOf(const Settings& settings) {
  identity::IdentityOptions options;
  options.password_hash = {settings.password_hash_ops, settings.password_hash_memory_kib};
  options.session_idle_s = settings.session_idle_s;
  options.session_absolute_s = std::max(settings.session_absolute_s, settings.session_idle_s);
  options.login_failures_max = settings.login_failures_max;
  options.lockout_s = settings.lockout_s;
  return options;
}

identity::OidcOptions OidcOptionsOf(const Settings& settings) {
  return {settings.oidc_issuer, settings.oidc_client_id, settings.oidc_client_secret,
          settings.oidc_redirect_uri, settings.oidc_display_name};
}

std::string SettingsHelp() {
  std::string text = "\nSettings (config file `key = value`, or environment GUICHET_<KEY>):\n";
  for (const OptionInfo& option : DescribeSettings()) {
    text += fmt::format("  {:<24} {} [default {}; {}]\n", option.name, option.doc,
                        option.default_text.empty() ? "\"\"" : option.default_text, option.range_text);
  }
  return text;
}

Result<Settings> Load(const CommonFlags& flags, std::map<std::string, std::string> overrides) {
  if (!flags.db.empty()) overrides["db"] = flags.db;
  SettingsSources sources;
  if (!flags.config_file.empty()) {
    sources.config_file = flags.config_file;
  } else if (const char* file = std::getenv("GUICHET_CONFIG"); file != nullptr && *file != '\0') {
    sources.config_file = file;
  }
  sources.env = ProcessEnvironment();
  sources.overrides = std::move(overrides);
  std::vector<std::string> warnings;
  auto settings = LoadSettings(sources, &warnings);
  if (settings.ok()) {
    log::Init(settings->log_level, settings->log_format);
    for (const std::string& warning : warnings) log::Warn("setting clamped", {{"detail", warning}});
  }
  return settings;
}

storage::DatabaseOptions DatabaseOptionsOf(const Settings& settings) {
  return {settings.db_pool_connections, settings.db_acquire_timeout_ms, settings.db_busy_timeout_ms, 5};
}

// Opens the database and brings its schema up to date.
Result<std::unique_ptr<storage::Database>> OpenAndMigrate(const Settings& settings, const Clock& clock) {
  auto database = storage::OpenDatabase(settings.db, DatabaseOptionsOf(settings));
  if (!database.ok()) return std::move(database).error();
  auto report = storage::Migrate(**database, AllMigrations(), clock);
  if (!report.ok()) return std::move(report).error();
  for (const std::string& applied : report->applied) log::Info("migration applied", {{"migration", applied}});
  log::Info("database ready", {{"backend", storage::BackendName((*database)->backend())},
                               {"schema_version", report->schema_version}});
  return std::move(database).value();
}

int Fail(const Error& error) {
  log::Error("guichet stopped", {{"code", std::string_view(error.code)}, {"error", std::string_view(error.message)}});
  std::fprintf(stderr, "guichet: %s\n", error.message.c_str());
  return 1;
}

http::ServerOptions ServerOptionsOf(const Settings& settings) {
  return {settings.http_host,          settings.http_port,           settings.http_threads,
          settings.http_header_bytes_max, settings.http_body_bytes_max, settings.http_read_timeout_s,
          settings.http_write_timeout_s, settings.http_idle_timeout_s, settings.http_shutdown_grace_s};
}

jobs::RunnerOptions RunnerOptionsOf(const Settings& settings) {
  return {settings.jobs_workers, settings.jobs_poll_ms, settings.jobs_backoff_base_ms,
          settings.jobs_backoff_max_ms, settings.jobs_lease_s, 30};
}

sync::SyncOptions SyncOptionsOf(const Settings& settings) {
  sync::SyncOptions options;
  options.change_retention_s = settings.sync_change_retention_days * 24 * 3600;
  options.retry_backoff_base_ms = settings.sync_retry_backoff_base_s * 1000;
  options.retry_backoff_max_ms = std::max(options.retry_backoff_max_ms, options.retry_backoff_base_ms);
  options.retry_interval_ms = settings.sync_retry_interval_s * 1000;
  return options;
}

// Holds reserved by pending transfers (SEPA delays, three-phase debits) lapse on time.
void RegisterLedgerJobs(jobs::Runner& runner, storage::Database& database, const Clock& clock) {
  runner.Every("ledger.expire_pending", 5000);
  runner.Register("ledger.expire_pending", [&database, &clock](const jobs::JobRecord&) -> Status {
    auto expired = ledger::ExpirePending(database, clock.NowMs());
    if (!expired.ok()) return std::move(expired).error();
    if (*expired > 0) log::Info("pending transfers expired", {{"count", *expired}});
    return OkStatus();
  });
}

notify::DeliveryOptions DeliveryOptionsOf(const Settings& settings) {
  notify::DeliveryOptions options;
  options.batch_messages_max = settings.notify_batch_messages_max;
  options.attempts_max = settings.notify_attempts_max;
  options.backoff_base_ms = settings.notify_backoff_base_ms;
  options.backoff_max_ms = std::max(settings.notify_backoff_max_ms, settings.notify_backoff_base_ms);
  options.lease_ms = settings.notify_lease_s * 1000;
  return options;
}

notify::SmtpOptions SmtpOptionsOf(const Settings& settings) {
  notify::SmtpOptions options;
  options.url = settings.smtp_url;
  options.user = settings.smtp_user;
  options.password = settings.smtp_password;
  options.starttls = settings.smtp_starttls;
  options.ca_file = settings.smtp_ca_file;
  options.connect_timeout_ms = settings.smtp_connect_timeout_ms;
  options.timeout_ms = settings.smtp_timeout_ms;
  options.default_sender.from_address = settings.smtp_from_address;
  options.default_sender.display_name = settings.smtp_from_name;
  const size_t at = settings.smtp_from_address.rfind('@');
  options.default_sender.domain = at == std::string::npos ? "guichet.invalid" : settings.smtp_from_address.substr(at + 1);
  return options;
}

// Message content (issue 4): templates, contacts of each person type, audiences of campaigns.
// Modules add their codes, contact lookups and audience providers here before serving.
struct MessageContent {
  notify::TemplateCatalog templates;
  notify::ContactDirectory contacts;
  notify::AudienceRegistry audiences;
  std::string link_secret;
};

Status FillMessageContent(MessageContent& content, const Settings& settings, storage::Database& database,
                          const Clock& clock) {
  notify::AddPlatformTemplates(content.templates);
  notify::RegisterStaffContacts(content.contacts);
  notify::RegisterStaffAudience(content.audiences);
  // Unset: a key generated once and kept in the database, shared by every process, so links
  // already sent keep working after a restart.
  auto secret = secrets::LoadOrCreate(database, "notify.links", settings.notify_link_secret, clock.NowMs());
  if (!secret.ok()) return std::move(secret).error();
  content.link_secret = std::move(*secret);
  return OkStatus();
}

// Message delivery (issue 4): the content side composes, the delivery engine sends.
struct Delivery {
  std::unique_ptr<notify::TemplateComposer> composer;
  std::unique_ptr<notify::SmtpChannel> smtp;
  std::unique_ptr<notify::SmsChannel> sms;
  std::unique_ptr<notify::DeliveryEngine> engine;
};

void WireDelivery(Delivery& delivery, const Settings& settings, storage::Database& database, const Clock& clock,
                  jobs::Runner& runner, const MessageContent& content) {
  delivery.composer = std::make_unique<notify::TemplateComposer>(
      content.templates, clock, notify::ComposerOptions{PublicUrlOf(settings), content.link_secret});
  delivery.engine = std::make_unique<notify::DeliveryEngine>(database, clock, *delivery.composer,
                                                             DeliveryOptionsOf(settings));
  delivery.smtp = std::make_unique<notify::SmtpChannel>(database, clock, SmtpOptionsOf(settings));
  delivery.engine->AddChannel(*delivery.smtp);
  if (!settings.sms_gateway_url.empty()) {
    delivery.sms = std::make_unique<notify::SmsChannel>(notify::SmsOptions{
        settings.sms_gateway_url, settings.sms_api_key, settings.sms_sender, settings.sms_report_url,
        settings.sms_timeout_ms});
    delivery.engine->AddChannel(*delivery.sms);
  }
  delivery.engine->RegisterJobs(runner, settings.notify_poll_ms);
}

// Webhooks and web push (issue 4 items 4 and 5): two more channels of the delivery engine.
struct Hooks {
  notify::WebhookEventCatalog events;
  std::unique_ptr<notify::Webhooks> webhooks;
  std::unique_ptr<notify::WebhookChannel> webhook_channel;
  std::unique_ptr<notify::PushSubscriptions> subscriptions;
  std::unique_ptr<notify::PushChannel> push_channel;
  std::unique_ptr<notify::PushHttpContext> push_http;
};

Status WireHooks(Hooks& hooks, const Settings& settings, storage::Database& database, const Clock& clock,
                 const identity::Authorizer& authorizer, notify::DeliveryEngine& engine) {
  hooks.events.Declare({std::string(notify::kWebhookTestEvent), "A test event sent on request from the endpoint's page"});
  if (settings.diagnostics) hooks.events.Declare({"diagnostics.ping", "Emitted by the diagnostics route (tests)"});
  notify::WebhookOptions webhook_options;
  webhook_options.allow_http = settings.webhook_allow_http;
  webhook_options.timeout_ms = settings.webhook_timeout_ms;
  hooks.webhooks = std::make_unique<notify::Webhooks>(database, clock, authorizer, hooks.events, webhook_options);
  hooks.webhook_channel = std::make_unique<notify::WebhookChannel>(database, clock, webhook_options);
  engine.AddChannel(*hooks.webhook_channel);
  auto vapid = notify::LoadVapidKey(database, settings.vapid_private_key, clock.NowMs());
  if (!vapid.ok()) return std::move(vapid).error();
  notify::PushOptions push_options;
  push_options.allow_http = settings.webhook_allow_http;
  push_options.subject = settings.vapid_subject;
  push_options.timeout_ms = settings.webhook_timeout_ms;
  hooks.subscriptions = std::make_unique<notify::PushSubscriptions>(database, clock, push_options);
  hooks.push_channel = std::make_unique<notify::PushChannel>(database, clock, *vapid, push_options);
  engine.AddChannel(*hooks.push_channel);
  hooks.push_http = std::make_unique<notify::PushHttpContext>(
      notify::PushHttpContext{*hooks.subscriptions, notify::Base64UrlEncode(vapid->public_point)});
  return OkStatus();
}

int Serve(const Settings& settings) {
  SystemClock clock;
  const int64_t started_at_ms = clock.NowMs();
  const identity::OidcOptions oidc_options = OidcOptionsOf(settings);
  if (auto checked = identity::CheckOidcOptions(oidc_options); !checked.ok()) {
    return Fail(checked.error());
  }
  auto database = OpenAndMigrate(settings, clock);
  if (!database.ok()) return Fail(database.error());
  storage::AsyncDatabase async_database(**database, settings.db_pool_connections);

  http::Router router;
  http::Metrics metrics;
  const system::SystemContext context{async_database, metrics, clock, router, GUICHET_VERSION, started_at_ms};
  system::AddSystemRoutes(router, context);
  const identity::RightsCatalog catalog = app::BuildCatalog();
  const identity::Authorizer authorizer(catalog);
  identity::Identity identity(**database, clock, authorizer, IdentityOptionsOf(settings));
  identity::IdentityHttpContext identity_http{identity, async_database, **database, clock, {settings.cookie_secure}};
  identity::AddIdentityRoutes(router, identity_http);
  identity::AddMachineRoutes(router, identity_http);
  const std::unique_ptr<identity::OidcTransport> oidc_transport = identity::MakeCurlTransport();
  identity::Oidc oidc(**database, clock, authorizer, IdentityOptionsOf(settings), oidc_options,
                      *oidc_transport);
  identity::AddOidcRoutes(router, identity_http, oidc);
  privacy::Privacy privacy_service(**database, clock, authorizer);
  notify::RegisterPrivacy(privacy_service);
  privacy::AddPrivacyRoutes(router, identity_http, privacy_service);
  jobs::Runner runner(**database, clock, RunnerOptionsOf(settings));
  // Offline mode (W16): modules add their feeds and event kinds to these before serving.
  sync::Feeds sync_feeds;
  sync::Handlers sync_handlers;
  if (settings.diagnostics) sync::AddDiagnosticsFeeds(sync_feeds, sync_handlers);
  sync::Sync sync_service(**database, clock, authorizer, sync_feeds, sync_handlers, SyncOptionsOf(settings));
  sync::AddSyncRoutes(router, identity_http, sync_service);
  sync_service.RegisterJobs(runner);
  privacy::RegisterRetentionJobs(runner, **database, clock, privacy::RetentionOptions{});
  RegisterLedgerJobs(runner, **database, clock);
  MessageContent message_content;
  if (auto filled = FillMessageContent(message_content, settings, **database, clock); !filled.ok()) {
    return Fail(filled.error());
  }
  wallet::RegisterContacts(message_content.contacts);
  wallet::AddTemplates(message_content.templates);
  wallet::AddFraudTemplates(message_content.templates);
  Delivery delivery;
  WireDelivery(delivery, settings, **database, clock, runner, message_content);
  notify::RegisterDigestJob(runner, **database, clock, message_content.contacts, message_content.templates);
  notify::RegisterCampaignJobs(runner, **database, clock, message_content.contacts, message_content.templates,
                               message_content.audiences);
  notify::Content content_service(**database, clock, authorizer, message_content.templates, message_content.contacts,
                                  message_content.audiences, {message_content.link_secret});
  notify::AddContentRoutes(router, identity_http, content_service);
  notify::BadAddresses bad_addresses(**database, clock, authorizer);
  notify::Senders senders(**database, clock, authorizer);
  notify::DeliveryHttpContext delivery_http{bad_addresses, senders, authorizer, settings.notify_report_secret};
  notify::AddDeliveryRoutes(router, identity_http, delivery_http);
  Hooks hooks;
  if (auto wired = WireHooks(hooks, settings, **database, clock, authorizer, *delivery.engine); !wired.ok()) {
    return Fail(wired.error());
  }
  notify::AddWebhookRoutes(router, identity_http, *hooks.webhooks);
  notify::AddPushRoutes(router, identity_http, *hooks.push_http);
  wallet::WalletOptions wallet_options;
  wallet_options.password_hash = IdentityOptionsOf(settings).password_hash;
  wallet_options.public_url = PublicUrlOf(settings);
  wallet::Wallet wallet_service(**database, clock, authorizer, wallet_options);
  wallet::Uploads wallet_uploads(wallet_service);
  wallet::AddWalletRoutes(router, identity_http, wallet_service, wallet_uploads);
  wallet::AddHolderPreferenceRoutes(router, identity_http, wallet_service, content_service);
  wallet::RegisterJobs(runner, wallet_service, wallet_uploads);
  wallet::RegisterPrivacy(privacy_service);
  const std::unique_ptr<payments::PaymentProvider> card_acquirer = payments::MakeHostedPageProvider(
      {settings.card_acquirer_url, settings.card_acquirer_api_key, settings.card_acquirer_secret});
  auto money_options = MoneyOptionsOf(settings);
  if (!money_options.ok()) return Fail(money_options.error());
  // Unset: a key generated once and kept in the database, shared by every process.
  auto reload_link_secret = secrets::LoadOrCreate(**database, "wallet.reload_links", settings.wallet_link_secret,
                                                  clock.NowMs());
  if (!reload_link_secret.ok()) return Fail(reload_link_secret.error());
  money_options->link_secret = std::move(*reload_link_secret);
  wallet::Money money_service(wallet_service, *card_acquirer, std::move(*money_options));
  auto debit_options = DirectDebitOptionsOf(settings);
  if (!debit_options.ok()) return Fail(debit_options.error());
  wallet::DirectDebits direct_debits(wallet_service, std::move(*debit_options));
  wallet::AddMoneyRoutes(router, identity_http, wallet_service, money_service, direct_debits);
  wallet::RegisterDirectDebitJobs(runner, direct_debits);
  // The key that certifies phones making QR codes: derived from a deployment secret kept in the
  // database, so every process signs and verifies with the same key.
  auto qr_secret = secrets::LoadOrCreate(**database, wallet::kQrServiceKeySecretName, "", clock.NowMs());
  if (!qr_secret.ok()) return Fail(qr_secret.error());
  auto qr_codes = wallet::QrCodes::Open(wallet_service, wallet::QrServiceKeyFromSecret(*qr_secret));
  if (!qr_codes.ok()) return Fail(qr_codes.error());
  wallet::AddQrRoutes(router, identity_http, wallet_service, **qr_codes);
  // Points of sale (W12–W15). The IBAN key is generated once and kept in the database.
  auto iban_key = secrets::LoadOrCreate(**database, "wallet.merchant_ibans", "", clock.NowMs());
  if (!iban_key.ok()) return Fail(iban_key.error());
  identity::Machines pos_machines(**database, clock, authorizer);
  wallet::PosOptions pos_options;
  pos_options.clock_drift_max_ms = settings.wallet_pos_clock_drift_max_ms;
  pos_options.hold_s = settings.wallet_pos_hold_s;
  pos_options.offline_allowance_cents = settings.wallet_offline_allowance_cents;
  pos_options.iban_key = wallet::IbanKeyFromSecret(*iban_key);
  wallet::Pos pos_service(wallet_service, pos_machines, std::move(pos_options));
  wallet::AddPosRoutes(router, identity_http, pos_service);
  wallet::RegisterPosJobs(runner, pos_service);
  // Fraud rules (W20) over what points do.
  wallet::Fraud fraud_service(wallet_service);
  wallet::AddFraudRoutes(router, identity_http, fraud_service);
  wallet::RegisterFraudJobs(runner, fraud_service, settings.wallet_fraud_scan_interval_s * 1000);
  wallet::Settlements settlements(pos_service, {MoneyOptionsOf(settings)->account, "Guichet"});
  wallet::AddSettlementRoutes(router, identity_http, settlements);
  wallet::RegisterSettlementJobs(runner, settlements);
  wallet::Reconciliations reconciliations(pos_service);
  wallet::AddReconciliationRoutes(router, identity_http, reconciliations);
  wallet::RegisterReconciliationJobs(runner, reconciliations);
  // The wallet's offline mode (W16) on the sync service built above.
  wallet::AddOfflineFeeds(sync_feeds);
  wallet::AddOfflineHandlers(sync_handlers);
  wallet::OfflineReports offline_reports(pos_service);
  wallet::AddOfflineRoutes(router, identity_http, offline_reports);
  if (settings.diagnostics) {
    notify::AddDeliveryDiagnosticsRoutes(router, identity_http);
    notify::AddWebhookDiagnosticsRoutes(router, identity_http);
    system::AddDiagnosticsRoutes(router, context);
    system::RegisterDiagnosticsJobs(runner);
    sync::AddSyncDiagnosticsRoutes(router, identity_http, sync_service);
  }

  http::StaticFiles static_files(settings.web_root);
  http::Server server(ServerOptionsOf(settings), router, metrics, &static_files);
  auto port = server.Listen();
  if (!port.ok()) return Fail(port.error());
  runner.Start();
  // Tests and scripts wait for this exact line on stdout.
  const std::string base = fmt::format("http://{}:{}", settings.http_host, *port);
  if (settings.public_url.empty()) money_service.SetPublicUrl(base);
  std::printf("guichet: listening on %s\n", base.c_str());
  std::printf("  web app       %s/\n  API document  %s/api/openapi.json\n"
              "  operations    %s/healthz  %s/readyz  %s/metrics\n",
              base.c_str(), base.c_str(), base.c_str(), base.c_str(), base.c_str());
  std::fflush(stdout);
  log::Info("listening", {{"host", std::string_view(settings.http_host)}, {"port", int64_t{*port}},
                          {"web_root", std::string_view(settings.web_root)}});
  server.Run();
  runner.Stop();
  log::Info("stopped");
  return 0;
}

int Migrate(const Settings& settings) {
  SystemClock clock;
  auto database = OpenAndMigrate(settings, clock);
  if (!database.ok()) return Fail(database.error());
  auto version = storage::SchemaVersion(**database);
  if (!version.ok()) return Fail(version.error());
  std::printf("guichet: %s database at schema version %lld\n",
              std::string(storage::BackendName((*database)->backend())).c_str(),
              static_cast<long long>(*version));
  return 0;
}

// Demo data: organisations of the three products and one staff account per profile.
int LoadDemoData(const Settings& settings, const std::string& pos_codes_file) {
  SystemClock clock;
  auto database = OpenAndMigrate(settings, clock);
  if (!database.ok()) return Fail(database.error());
  const identity::RightsCatalog catalog = app::BuildCatalog();
  const identity::Authorizer authorizer(catalog);
  identity::Identity identity(**database, clock, authorizer, IdentityOptionsOf(settings));
  auto logins = app::LoadDemo(**database, identity, clock, IdentityOptionsOf(settings).password_hash);
  if (!logins.ok()) return Fail(logins.error());
  std::printf("guichet: demo data ready in %s\n", settings.db.c_str());
  std::printf("  demo logins (password for all: %s)\n", std::string(app::kDemoPassword).c_str());
  for (const app::DemoLogin& login : *logins) {
    std::printf("    %-34s %-28s %s\n", login.email.c_str(), login.profile.c_str(), login.organisation.c_str());
  }
  std::printf("  wallet admins and managers set up an authenticator app at first login (second factor).\n");
  // Points of sale ready for tills: fresh pairing codes for the demo points not yet paired.
  auto pos_demo = app::LoadPosDemo(**database, authorizer, clock);
  if (!pos_demo.ok()) return Fail(pos_demo.error());
  const std::string pos_text = app::DemoPosText(*pos_demo);
  std::printf("  demo points of sale (pair /till or tools/pos-sim within 15 minutes; also in %s):\n",
              pos_codes_file.c_str());
  for (size_t from = 0, to; from < pos_text.size(); from = to + 1) {
    to = pos_text.find('\n', from);
    std::printf("    %s\n", pos_text.substr(from, to - from).c_str());
  }
  if (!pos_codes_file.empty()) {
    std::error_code ignored;
    std::filesystem::create_directories(std::filesystem::path(pos_codes_file).parent_path(), ignored);
    std::ofstream out(pos_codes_file, std::ios::trunc);
    out << pos_text;
    if (!out) std::fprintf(stderr, "guichet: could not write %s\n", pos_codes_file.c_str());
  }
  return 0;
}

struct BootstrapFlags {
  std::string organisation_kind;
  std::string organisation_name;
  std::string email;
  std::string display_name;
  std::string profile;
};

// The first administrator of a new tree, for an operator setting up production: creates the
// root organisation when no root of that name exists, and an account with a random initial
// password printed once, to be changed at first login.
int Bootstrap(const Settings& settings, const BootstrapFlags& flags) {
  SystemClock clock;
  auto database = OpenAndMigrate(settings, clock);
  if (!database.ok()) return Fail(database.error());
  const identity::RightsCatalog catalog = app::BuildCatalog();
  if (catalog.FindProfile(flags.profile) == nullptr) {
    return Fail(Error::Invalid("invalid_profile", "unknown profile " + flags.profile));
  }
  auto organisation = (*database)->Transact<orgs::Organisation>(
      storage::TransactionMode::kWrite, [&](storage::Transaction& tx) -> Result<orgs::Organisation> {
        auto all = orgs::All(tx);
        if (!all.ok()) return std::move(all).error();
        for (const orgs::Organisation& org : *all) {
          if (!org.parent_id && org.name == flags.organisation_name) return org;
        }
        auto created = orgs::Create(tx, {std::nullopt, flags.organisation_kind, flags.organisation_name}, clock.NowMs());
        if (!created.ok()) return std::move(created).error();
        GUICHET_TRY_STATUS(audit::Append(tx, {"system", std::nullopt, created->id, "identity.organisation.create",
                                              "organisation", std::to_string(created->id), "null",
                                              boost::json::serialize(boost::json::object{
                                                  {"name", created->name}, {"kind", created->kind}}),
                                              "bootstrap"},
                                         clock.NowMs()));
        return created;
      });
  if (!organisation.ok()) return Fail(organisation.error());
  const auto& kinds = catalog.FindProfile(flags.profile)->organisation_kinds;
  if (std::find(kinds.begin(), kinds.end(), organisation->kind) == kinds.end()) {
    return Fail(Error::Invalid("invalid_profile", fmt::format("{} cannot be held in a {}", flags.profile,
                                                              organisation->kind)));
  }
  const identity::Authorizer authorizer(catalog);
  identity::Identity identity(**database, clock, authorizer, IdentityOptionsOf(settings));
  identity::NewStaff staff;
  staff.email = flags.email;
  staff.display_name = flags.display_name;
  staff.organisation_id = organisation->id;
  staff.profiles = {flags.profile};
  staff.initial_password = crypto::RandomToken(18);  // 144 bits, shown once
  staff.must_change_password = true;
  auto id = identity.BootstrapStaff(staff);
  if (!id.ok()) return Fail(id.error());
  std::printf("guichet: %s (%s) holds %s in %s\n", flags.email.c_str(), flags.display_name.c_str(),
              flags.profile.c_str(), organisation->name.c_str());
  std::printf("initial password (shown once, to change at first login): %s\n", staff.initial_password->c_str());
  return 0;
}

int VerifyAudit(const Settings& settings) {
  auto database = storage::OpenDatabase(settings.db, DatabaseOptionsOf(settings));
  if (!database.ok()) return Fail(database.error());
  auto report = audit::Verify(**database);
  if (!report.ok()) return Fail(report.error());
  for (const std::string& problem : report->problems) std::printf("  %s\n", problem.c_str());
  std::printf("guichet: audit trail %s: %lld entries checked\n", report->ok ? "intact" : "TAMPERED",
              static_cast<long long>(report->entries));
  return report->ok ? 0 : 3;
}

// W22: the reversibility archive (app/export.h).
int Export(const Settings& settings, const std::string& directory) {
  SystemClock clock;
  auto database = OpenAndMigrate(settings, clock);
  if (!database.ok()) return Fail(database.error());
  auto report = app::WriteExport(**database, directory, clock);
  if (!report.ok()) return Fail(report.error());
  std::printf("guichet: export written to %s\n", report->directory.c_str());
  for (const app::ExportedFile& file : report->files) {
    std::printf("  %-24s %10lld rows  sha256 %s\n", file.name.c_str(), static_cast<long long>(file.rows),
                file.sha256.c_str());
  }
  std::printf("  README.md describes every file and field; manifest.json lists them.\n");
  return 0;
}

}  // namespace
}  // namespace guichet

int main(int argc, char** argv) {
  using namespace guichet;
  crypto::Initialize();
  CLI::App app{"Guichet: public-service counters for payments, passes and family services"};
  app.set_version_flag("--version", GUICHET_VERSION);
  app.footer(SettingsHelp());
  app.require_subcommand(1);
  CommonFlags flags;
  std::map<std::string, std::string> overrides;
  auto add_common = [&](CLI::App* command) {
    command->add_option("-c,--config", flags.config_file, "settings file (key = value); also GUICHET_CONFIG");
    command->add_option("--db", flags.db, "database URL: sqlite:PATH or postgres://…; also GUICHET_DB");
    command->footer(SettingsHelp());
  };
  CLI::App* serve = app.add_subcommand("serve", "run the HTTP service and the background jobs");
  add_common(serve);
  std::string port;
  serve->add_option("-p,--port", port, "port to listen on; also GUICHET_HTTP_PORT");
  CLI::App* migrate = app.add_subcommand("migrate", "create or upgrade the database schema, then exit");
  add_common(migrate);
  CLI::App* demo = app.add_subcommand("demo", "migrate, load demo data, then serve");
  add_common(demo);
  bool load_only = false;
  demo->add_flag("--load-only", load_only, "load the demo data and exit without serving");
  std::string pos_codes_file = "var/demo-pos.txt";
  demo->add_option("--pos-codes", pos_codes_file,
                   "where to write the demo points' pairing codes (default var/demo-pos.txt)");
  CLI::App* bootstrap = app.add_subcommand("bootstrap", "create the first administrator of a new organisation tree");
  add_common(bootstrap);
  BootstrapFlags bootstrap_flags;
  bootstrap->add_option("--organisation-kind", bootstrap_flags.organisation_kind,
                        "national, departement or syndicate")->required();
  bootstrap->add_option("--organisation-name", bootstrap_flags.organisation_name, "name of the root organisation")
      ->required();
  bootstrap->add_option("--email", bootstrap_flags.email, "e-mail of the administrator")->required();
  bootstrap->add_option("--name", bootstrap_flags.display_name, "name of the administrator")->required();
  bootstrap->add_option("--profile", bootstrap_flags.profile,
                        "wallet.national_admin, pass.admin or family.syndicate_admin")->required();
  CLI::App* audit_command = app.add_subcommand("audit", "check the audit trail");
  CLI::App* verify = audit_command->add_subcommand("verify", "recompute the hash chain; exit 3 if tampered");
  add_common(verify);
  audit_command->require_subcommand(1);
  CLI::App* export_command =
      app.add_subcommand("export", "write a documented archive of holders, staff, balances and transactions");
  add_common(export_command);
  std::string export_directory;
  export_command->add_option("--out", export_directory, "directory to create for the archive")->required();
  app.add_subcommand("version", "print the version");
  CLI11_PARSE(app, argc, argv);

  if (app.got_subcommand("version")) {
    std::printf("guichet %s\n", GUICHET_VERSION);
    return 0;
  }
  if (!port.empty()) overrides["http_port"] = port;
  auto settings = Load(flags, overrides);
  if (!settings.ok()) {
    std::fprintf(stderr, "guichet: %s\n", settings.error().message.c_str());
    return 2;
  }
  if (app.got_subcommand("migrate")) return Migrate(*settings);
  if (app.got_subcommand("audit")) return VerifyAudit(*settings);
  if (app.got_subcommand("export")) return Export(*settings, export_directory);
  if (app.got_subcommand("bootstrap")) return Bootstrap(*settings, bootstrap_flags);
  if (app.got_subcommand("demo")) {
    const int loaded = LoadDemoData(*settings, pos_codes_file);
    if (loaded != 0 || load_only) return loaded;
  }
  return Serve(*settings);
}
