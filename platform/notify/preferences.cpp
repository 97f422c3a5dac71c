#include "platform/notify/preferences.h"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <charconv>

#include "platform/base/crypto.h"
#include "platform/notify/outbox.h"

namespace guichet::notify {
namespace {

using privacy::PersonRef;

std::string ContentTables(std::string_view id_column) {
  const std::string id(id_column);
  return "CREATE TABLE notify_preferences (person_type TEXT NOT NULL, person_id BIGINT NOT NULL,"
         " alert_frequency TEXT NOT NULL CHECK (alert_frequency IN ('each', 'daily', 'weekly')),"
         " low_balance_threshold BIGINT, updated_at BIGINT NOT NULL, PRIMARY KEY (person_type, person_id));"
         " CREATE TABLE notify_digest_items (id " + id +
         ", person_type TEXT NOT NULL, person_id BIGINT NOT NULL, organisation_id BIGINT,"
         " template_code TEXT NOT NULL, variables TEXT NOT NULL, created_at BIGINT NOT NULL, message_id BIGINT);"
         " CREATE INDEX notify_digest_pending ON notify_digest_items (message_id, person_type, person_id, id);"
         " CREATE TABLE notify_campaigns (id " + id +
         ", organisation_id BIGINT NOT NULL REFERENCES organisations (id), name TEXT NOT NULL,"
         " template_code TEXT NOT NULL, purpose TEXT NOT NULL, channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),"
         " audience TEXT NOT NULL, variables TEXT NOT NULL,"
         " state TEXT NOT NULL CHECK (state IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled')),"
         " scheduled_at BIGINT, audience_count BIGINT, skipped_count BIGINT, created_by BIGINT,"
         " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
         " CREATE INDEX notify_campaigns_due ON notify_campaigns (state, scheduled_at);"
         " CREATE TABLE notify_events (id " + id +
         ", person_type TEXT NOT NULL, person_id BIGINT NOT NULL, organisation_id BIGINT NOT NULL,"
         " event TEXT NOT NULL, at BIGINT NOT NULL, created_at BIGINT NOT NULL);"
         " CREATE INDEX notify_events_event ON notify_events (event, at, id);"
         " CREATE TABLE notify_rules (id " + id +
         ", organisation_id BIGINT NOT NULL REFERENCES organisations (id), event TEXT NOT NULL,"
         " delay_days BIGINT NOT NULL, template_code TEXT NOT NULL, purpose TEXT NOT NULL,"
         " channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')), variables TEXT NOT NULL,"
         " active BOOLEAN NOT NULL, created_by BIGINT, created_at BIGINT NOT NULL);"
         " CREATE TABLE notify_rule_firings (rule_id BIGINT NOT NULL REFERENCES notify_rules (id),"
         " event_id BIGINT NOT NULL REFERENCES notify_events (id), fired_at BIGINT NOT NULL, outcome TEXT NOT NULL,"
         " PRIMARY KEY (rule_id, event_id));"
         " CREATE TABLE notify_opens (message_id BIGINT PRIMARY KEY REFERENCES outbox_messages (id),"
         " first_at BIGINT NOT NULL, opens BIGINT NOT NULL);";
}

std::string Signature(std::string_view secret, std::string_view payload) {
  return crypto::ToBase64Url(crypto::HmacSha256(secret, payload));
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t at = 0;
  while (true) {
    const size_t next = text.find(separator, at);
    parts.push_back(text.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) break;
    at = next + 1;
  }
  return parts;
}

std::optional<int64_t> ToInt(std::string_view text) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Error BadToken() {
  return Error::Invalid("unsubscribe_token_invalid", "This link is not valid: it was altered or is incomplete.");
}

}  // namespace

std::string_view FrequencyName(Frequency frequency) {
  switch (frequency) {
    case Frequency::kEach: return "each";
    case Frequency::kDaily: return "daily";
    case Frequency::kWeekly: return "weekly";
  }
  return "weekly";
}

std::optional<Frequency> ParseFrequency(std::string_view text) {
  if (text == "each") return Frequency::kEach;
  if (text == "daily") return Frequency::kDaily;
  if (text == "weekly") return Frequency::kWeekly;
  return std::nullopt;
}

std::vector<storage::Migration> ContentMigrations() {
  std::vector<storage::Migration> migrations = TemplateMigrations();
  migrations.push_back({"platform.notify.content", 2,
                        "preferences, digest items, campaigns, events, rules, opens",
                        ContentTables("INTEGER PRIMARY KEY AUTOINCREMENT"),
                        ContentTables("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")});
  return migrations;
}

void RegisterProcessing(privacy::ProcessingRegister& processing) {
  processing.Add({"platform.messages",
                  "Messages to people (e-mail, SMS)",
                  "Inform people of what concerns them: account access, movements on their wallet (mandatory), "
                  "low balance alerts and information campaigns they agreed to.",
                  "Legal obligation and public task for mandatory messages; consent for the optional ones "
                  "(article 6(1)(a) GDPR).",
                  {"staff", "wallet holders", "pass holders", "families"},
                  {"name", "e-mail address", "telephone number", "language", "messages sent and their delivery"},
                  "Messages and their delivery history: 1 year; preferences while the account exists.",
                  {"the organisation's staff", "the e-mail and SMS providers (processors)"},
                  "None outside the European Union.",
                  "Signed links, TLS to providers, access by right within the organisation tree.",
                  {std::string(kAlerts), std::string(kLowBalance), std::string(kCampaign)}});
}

void RegisterPrivacy(privacy::Privacy& privacy) {
  RegisterProcessing(privacy.processing());
  privacy.exports().Add("message_preferences", [](storage::Transaction& tx, const PersonRef& person)
                                        -> Result<boost::json::value> {
    auto preferences = LoadPreferences(tx, person);
    if (!preferences.ok()) return std::move(preferences).error();
    auto items = tx.Query(
        "SELECT template_code, created_at, message_id FROM notify_digest_items WHERE person_type = $1"
        " AND person_id = $2 ORDER BY id DESC LIMIT $3",
        {person.type, person.id, privacy::kExportRowsMax});
    if (!items.ok()) return std::move(items).error();
    auto events = tx.Query(
        "SELECT event, at FROM notify_events WHERE person_type = $1 AND person_id = $2 ORDER BY id DESC LIMIT $3",
        {person.type, person.id, privacy::kExportRowsMax});
    if (!events.ok()) return std::move(events).error();
    boost::json::array digest;
    for (const storage::Row& row : items->rows) {
      digest.push_back(boost::json::object{{"template_code", row.Text(0)},
                                           {"created_at", FormatIso8601(row.Int(1))},
                                           {"compiled", !row.IsNull(2)}});
    }
    boost::json::array happened;
    for (const storage::Row& row : events->rows) {
      happened.push_back(boost::json::object{{"event", row.Text(0)}, {"at", FormatIso8601(row.Int(1))}});
    }
    const auto& threshold = preferences->low_balance_threshold_cents;
    return boost::json::value(boost::json::object{
        {"alert_frequency", FrequencyName(preferences->alert_frequency)},
        {"low_balance_threshold_cents", threshold ? boost::json::value(*threshold) : boost::json::value(nullptr)},
        {"digest_items", std::move(digest)},
        {"events", std::move(happened)}});
  });
  privacy.erasures().Add(
      {"message_preferences",
       [](storage::Transaction&, const PersonRef&, int64_t) -> Result<std::vector<privacy::ErasureHold>> {
         return std::vector<privacy::ErasureHold>{};
       },
       [](storage::Transaction& tx, const PersonRef& person, int64_t) -> Status {
         for (std::string_view table : {"notify_preferences", "notify_digest_items"}) {
           auto deleted = tx.Execute(fmt::format("DELETE FROM {} WHERE person_type = $1 AND person_id = $2", table),
                                     {person.type, person.id});
           if (!deleted.ok()) return std::move(deleted).error();
         }
         // Events stay for the rules' "once" record, without anything left to say who it was.
         auto events = tx.Execute(
             "UPDATE notify_events SET person_id = 0 WHERE person_type = $1 AND person_id = $2",
             {person.type, person.id});
         if (!events.ok()) return std::move(events).error();
         return OkStatus();
       }});
}

Result<Preferences> LoadPreferences(storage::Transaction& tx, const PersonRef& person) {
  auto row = tx.QueryOne(
      "SELECT alert_frequency, low_balance_threshold, updated_at FROM notify_preferences"
      " WHERE person_type = $1 AND person_id = $2",
      {person.type, person.id});
  if (!row.ok()) return std::move(row).error();
  Preferences preferences;
  if (*row) {
    preferences.alert_frequency = ParseFrequency((*row)->Text(0)).value_or(Frequency::kWeekly);
    preferences.low_balance_threshold_cents = (*row)->OptionalInt(1);
    preferences.updated_at_ms = (*row)->Int(2);
  }
  return preferences;
}

Status SavePreferences(storage::Transaction& tx, const PersonRef& person, const Preferences& preferences,
                       int64_t now_ms) {
  storage::Params params;
  params.emplace_back(person.type);
  params.emplace_back(person.id);
  params.emplace_back(std::string(FrequencyName(preferences.alert_frequency)));
  if (preferences.low_balance_threshold_cents) {
    params.emplace_back(*preferences.low_balance_threshold_cents);
  } else {
    params.emplace_back(nullptr);
  }
  params.emplace_back(now_ms);
  auto updated = tx.Execute(
      "UPDATE notify_preferences SET alert_frequency = $3, low_balance_threshold = $4, updated_at = $5"
      " WHERE person_type = $1 AND person_id = $2",
      params);
  if (!updated.ok()) return std::move(updated).error();
  if (*updated > 0) return OkStatus();
  auto inserted = tx.Execute(
      "INSERT INTO notify_preferences (person_type, person_id, alert_frequency, low_balance_threshold, updated_at)"
      " VALUES ($1, $2, $3, $4, $5)",
      params);
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

Result<std::optional<int64_t>> LowBalanceThreshold(storage::Transaction& tx, const PersonRef& person) {
  auto preferences = LoadPreferences(tx, person);
  if (!preferences.ok()) return std::move(preferences).error();
  return preferences->low_balance_threshold_cents;
}

bool IsOptional(std::string_view purpose, std::string_view channel) {
  if (purpose == kTransactional) return false;
  if (purpose == kAlerts && channel == "email") return false;
  return true;
}

Result<bool> MayMessage(storage::Transaction& tx, const PersonRef& person, std::string_view purpose,
                        std::string_view channel) {
  auto consent = privacy::ConsentState(tx, person.type, person.id, purpose, channel);
  if (!consent.ok()) return std::move(consent).error();
  if (consent->person_erased) return false;
  if (!IsOptional(purpose, channel)) return true;
  return consent->granted;
}

Status RecordConsent(storage::Transaction& tx, const PersonRef& person, std::string_view purpose,
                     std::string_view channel, bool granted, std::string_view wording,
                     std::string_view wording_version, std::string_view source, std::string_view request_id,
                     int64_t now_ms) {
  auto inserted = tx.Execute(
      "INSERT INTO consents (person_type, person_id, purpose, channel, granted, wording, wording_version, source,"
      " at_ms, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
      {person.type, person.id, std::string(purpose), std::string(channel), granted, std::string(wording),
       std::string(wording_version), std::string(source), now_ms, std::string(request_id)});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

Result<NotifyOutcome> Notify(storage::Transaction& tx, const ContactDirectory& contacts,
                             const TemplateCatalog& templates, const NotifyRequest& request, int64_t now_ms) {
  if (templates.Find(request.template_code) == nullptr) {
    return Error::NotFound("template_code_unknown", fmt::format("no template code \"{}\"", request.template_code));
  }
  auto found = contacts.Find(tx, request.person);
  if (!found.ok()) return std::move(found).error();
  if (!*found) {
    return Error::NotFound("notify_person_unknown",
                           fmt::format("no {} person {}", request.person.type, request.person.id));
  }
  const Contact& contact = **found;
  NotifyOutcome outcome;
  if (!contact.active) {
    outcome.skipped.push_back("person inactive");
    return outcome;
  }
  const std::string variables = boost::json::serialize(request.variables);
  if (static_cast<int64_t>(variables.size()) > kVariablesBytesMax) {
    return Error::Invalid("notify_variables_too_large", "the variables are too large");
  }
  auto preferences = LoadPreferences(tx, request.person);
  if (!preferences.ok()) return std::move(preferences).error();
  if (request.purpose == kLowBalance && !preferences->low_balance_threshold_cents) {
    outcome.skipped.push_back("low balance alerts off");
    return outcome;
  }
  auto queue = [&](std::string_view channel, const std::string& recipient) -> Status {
    OutboxMessage message;
    message.channel = std::string(channel);
    message.recipient = recipient;
    message.template_code = request.template_code;
    message.language = IsLanguage(contact.language) ? contact.language : "fr";
    message.variables_json = variables;
    if (contact.organisation_id > 0) message.organisation_id = contact.organisation_id;
    message.person = request.person;
    message.purpose = request.purpose;
    message.campaign_id = request.campaign_id;
    message.not_before_ms = request.not_before_ms;
    auto id = Queue(tx, message, now_ms);
    if (!id.ok()) return std::move(id).error();
    outcome.queued.push_back(*id);
    return OkStatus();
  };
  for (std::string_view channel : {std::string_view("email"), std::string_view("sms")}) {
    const bool is_email = channel == "email";
    // Alerts go by e-mail and, with consent, by SMS; anything else by the channel asked for.
    if (request.channel ? *request.channel != channel : (!is_email && request.purpose != kAlerts)) continue;
    const std::string& recipient = is_email ? contact.email : contact.phone;
    if (recipient.empty()) {
      if (is_email || request.purpose != kAlerts) outcome.skipped.push_back(fmt::format("{}: no address", channel));
      continue;
    }
    auto may = MayMessage(tx, request.person, request.purpose, channel);
    if (!may.ok()) return std::move(may).error();
    if (!*may) {
      outcome.skipped.push_back(fmt::format("{}: no consent", channel));
      continue;
    }
    if (is_email && request.purpose == kAlerts && preferences->alert_frequency != Frequency::kEach) {
      auto item = tx.QueryOne(
          "INSERT INTO notify_digest_items (person_type, person_id, organisation_id, template_code, variables,"
          " created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
          {request.person.type, request.person.id,
           contact.organisation_id > 0 ? storage::Param(contact.organisation_id) : storage::Param(nullptr),
           request.template_code, variables, now_ms});
      if (!item.ok()) return std::move(item).error();
      outcome.digest_item = (*item)->Int(0);
      continue;
    }
    auto queued = queue(channel, recipient);
    if (!queued.ok()) return std::move(queued).error();
  }
  return outcome;
}

std::string SignUnsubscribe(std::string_view secret, const UnsubscribeToken& token) {
  const std::string payload = fmt::format("u1~{}~{}~{}~{}~{}", token.person.type, token.person.id, token.purpose,
                                          token.channel, token.expires_at_ms);
  return payload + "~" + Signature(secret, payload);
}

Result<UnsubscribeToken> VerifyUnsubscribe(std::string_view secret, std::string_view token, int64_t now_ms) {
  if (static_cast<int64_t>(token.size()) > kTokenBytesMax) return BadToken();
  const size_t last = token.rfind('~');
  if (last == std::string_view::npos) return BadToken();
  const std::string_view payload = token.substr(0, last);
  if (!crypto::ConstantTimeEquals(Signature(secret, payload), token.substr(last + 1))) return BadToken();
  const std::vector<std::string_view> parts = Split(payload, '~');
  if (parts.size() != 6 || parts[0] != "u1") return BadToken();
  const auto id = ToInt(parts[2]);
  const auto expires = ToInt(parts[5]);
  if (!id || !expires) return BadToken();
  if (*expires <= now_ms) {
    return Error::Invalid("unsubscribe_token_expired",
                          "This link has expired: change your preferences from your account instead.");
  }
  return UnsubscribeToken{{std::string(parts[1]), *id}, std::string(parts[3]), std::string(parts[4]), *expires};
}

std::string SignOpen(std::string_view secret, int64_t message_id) {
  const std::string payload = fmt::format("o1~{}", message_id);
  return payload + "~" + Signature(secret, payload);
}

Result<int64_t> VerifyOpen(std::string_view secret, std::string_view token) {
  const size_t last = token.rfind('~');
  if (last == std::string_view::npos || static_cast<int64_t>(token.size()) > kTokenBytesMax) {
    return Error::Invalid("open_token_invalid", "not a valid open token");
  }
  const std::string_view payload = token.substr(0, last);
  if (!crypto::ConstantTimeEquals(Signature(secret, payload), token.substr(last + 1)) ||
      payload.substr(0, 3) != "o1~") {
    return Error::Invalid("open_token_invalid", "not a valid open token");
  }
  const auto id = ToInt(payload.substr(3));
  if (!id) return Error::Invalid("open_token_invalid", "not a valid open token");
  return *id;
}

}  // namespace guichet::notify
