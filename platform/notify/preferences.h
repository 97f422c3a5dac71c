// Preferences and consent per person and channel (issue 4, W9), and the one entry point for
// modules to message a person: Notify.
//
// Purposes and what decides them:
//   transactional  always (invitations, resets, activation, receipts)
//   alerts         by e-mail always (W9: every wallet movement is notified), at the holder's
//                  frequency: each, daily or weekly (weekly by default) — daily and weekly
//                  alerts wait as digest items until notify.digests compiles them; by SMS only
//                  with the person's consent (privacy consent purpose "alerts", channel "sms")
//   low_balance    only when the person set a threshold and consented (purpose "low_balance")
//   campaign       only with the person's consent for the channel (purpose "campaign")
// The decision is taken when Notify queues and again at delivery time (Composer::Decide).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/base/result.h"
#include "platform/notify/contacts.h"
#include "platform/notify/templates.h"
#include "platform/privacy/privacy.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::notify {

inline constexpr std::string_view kTransactional = "transactional";
inline constexpr std::string_view kAlerts = "alerts";
inline constexpr std::string_view kLowBalance = "low_balance";
inline constexpr std::string_view kCampaign = "campaign";
inline constexpr int64_t kThresholdCentsMax = int64_t{1000000} * 100;
// An unsubscribe link stays valid this long.
inline constexpr int64_t kUnsubscribeTokenValidMs = int64_t{180} * 86400 * 1000;
inline constexpr int64_t kTokenBytesMax = 512;

enum class Frequency { kEach, kDaily, kWeekly };
std::string_view FrequencyName(Frequency frequency);
std::optional<Frequency> ParseFrequency(std::string_view text);

struct Preferences {
  Frequency alert_frequency = Frequency::kWeekly;
  std::optional<int64_t> low_balance_threshold_cents;
  int64_t updated_at_ms = 0;
};

// Every table of the content side of messages: templates, preferences, digest items,
// campaigns, events, rules and opens (component "platform.notify.content").
std::vector<storage::Migration> ContentMigrations();

// The processing activity and consent purposes of messages, for privacy's register.
void RegisterProcessing(privacy::ProcessingRegister& processing);
// Everything of the above: the processing activity, the export section "message_preferences" (preferences,
// digest items, events recorded for rules) and the erasure step "message_preferences".
// Outbox rows stay with delivery's retention.
void RegisterPrivacy(privacy::Privacy& privacy);

Result<Preferences> LoadPreferences(storage::Transaction& tx, const privacy::PersonRef& person);
Status SavePreferences(storage::Transaction& tx, const privacy::PersonRef& person, const Preferences& preferences,
                       int64_t now_ms);
// For the wallet: the threshold under which the holder wants an alert (nullopt: none).
Result<std::optional<int64_t>> LowBalanceThreshold(storage::Transaction& tx, const privacy::PersonRef& person);

// Whether a message of `purpose` may go to the person on `channel` now.
Result<bool> MayMessage(storage::Transaction& tx, const privacy::PersonRef& person, std::string_view purpose,
                        std::string_view channel);
// Appends a consent choice to privacy's record (source: web, api or counter).
Status RecordConsent(storage::Transaction& tx, const privacy::PersonRef& person, std::string_view purpose,
                     std::string_view channel, bool granted, std::string_view wording,
                     std::string_view wording_version, std::string_view source, std::string_view request_id,
                     int64_t now_ms);

struct NotifyRequest {
  privacy::PersonRef person;
  std::string template_code;
  boost::json::object variables;
  std::string purpose = std::string(kTransactional);
  std::optional<int64_t> campaign_id;
  int64_t not_before_ms = 0;
  std::optional<std::string> channel;  // only this one; default: e-mail (alerts: e-mail and SMS)
};

struct NotifyOutcome {
  std::vector<int64_t> queued;        // outbox ids
  std::optional<int64_t> digest_item;  // kept for the next digest
  std::vector<std::string> skipped;   // "email: no consent", "sms: no phone"…
};

// Queues now or keeps a digest item, according to the person's preferences and consents, in
// the caller's transaction. Unknown person: notify_person_unknown; unknown code:
// template_code_unknown.
Result<NotifyOutcome> Notify(storage::Transaction& tx, const ContactDirectory& contacts,
                             const TemplateCatalog& templates, const NotifyRequest& request, int64_t now_ms);

// Signed tokens for links that work without logging in.
struct UnsubscribeToken {
  privacy::PersonRef person;
  std::string purpose;
  std::string channel;
  int64_t expires_at_ms = 0;
};
std::string SignUnsubscribe(std::string_view secret, const UnsubscribeToken& token);
// unsubscribe_token_invalid (forged, malformed), unsubscribe_token_expired.
Result<UnsubscribeToken> VerifyUnsubscribe(std::string_view secret, std::string_view token, int64_t now_ms);
std::string SignOpen(std::string_view secret, int64_t message_id);
Result<int64_t> VerifyOpen(std::string_view secret, std::string_view token);

// Whether purpose is one a person may refuse (an unsubscribe link is offered).
bool IsOptional(std::string_view purpose, std::string_view channel);

}  // namespace guichet::notify
