// Campaigns, audiences, events and automated rules (issue 4, C5).
//
// Audiences: modules register, per person type, a provider that turns criteria (JSON) into
// the ids of the people they hold inside an organisation subtree:
//   "staff"          RegisterStaffAudience below: organisation_id, profile
//   "wallet.holder"  the wallet module registers its provider here (organisation, profile,
//                    activity…) with the criteria it accepts
// A campaign targets an audience (person_type + criteria) or one person; it is sent now or
// at a scheduled time by the job "notify.campaigns", once: each person gets a message through
// Notify (preferences and consent apply; refusals are counted as skipped).
//
// Events: modules record what happened to a person ("pass.issued", "pass.stay_ended") with
// RecordEvent in their transaction. A rule "delay_days after event E send template T" is
// evaluated by the job "notify.rules"; it fires once per rule and event (a primary key), and
// only for events that fall due after the rule was created.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/notify/contacts.h"
#include "platform/notify/templates.h"
#include "platform/privacy/privacy.h"
#include "platform/storage/database.h"

namespace guichet::jobs {
class Runner;
}

namespace guichet::notify {

inline constexpr std::string_view kCampaignJob = "notify.campaigns";
inline constexpr std::string_view kRulesJob = "notify.rules";
inline constexpr int64_t kCampaignIntervalMs = int64_t{60} * 1000;
inline constexpr int64_t kRulesIntervalMs = int64_t{5} * 60 * 1000;
inline constexpr int64_t kAudienceMax = 20000;         // people per campaign
inline constexpr int64_t kRuleFiringsPerRunMax = 1000;  // per rule and run; the rest at the next
inline constexpr int64_t kEventLengthMax = 60;
inline constexpr int64_t kRuleDelayDaysMax = 3650;
inline constexpr int64_t kCampaignNameLengthMax = 200;
inline constexpr int64_t kListRowsMax = 500;

struct CriterionSpec {
  std::string name;  // "organisation_id"
  std::string kind;  // integer, string
  std::string description;
};

// Ids of the people of a type matching `criteria` inside `organisation_path`'s subtree, at
// most `limit`; unknown or invalid criteria: a validation error naming the criterion.
using AudienceQuery = std::function<Result<std::vector<int64_t>>(
    storage::Transaction& tx, std::string_view organisation_path, const boost::json::object& criteria,
    int64_t limit)>;

struct AudienceProvider {
  std::string person_type;
  std::vector<CriterionSpec> criteria;
  AudienceQuery query;
};

class AudienceRegistry {
 public:
  void Add(AudienceProvider provider);  // asserts the type is new
  const AudienceProvider* Find(std::string_view person_type) const;
  const std::vector<AudienceProvider>& providers() const { return providers_; }

 private:
  std::vector<AudienceProvider> providers_;
};

void RegisterStaffAudience(AudienceRegistry& registry);

struct CampaignDraft {
  int64_t organisation_id = 0;
  std::string name;
  std::string template_code;
  std::string purpose = "campaign";
  std::string channel = "email";
  std::optional<privacy::PersonRef> person;  // a single person, or:
  std::string person_type;                   // an audience
  boost::json::object criteria;
  boost::json::object variables;
};

struct Campaign {
  int64_t id = 0;
  CampaignDraft draft;
  std::string state;  // draft, scheduled, sending, sent, cancelled
  std::optional<int64_t> scheduled_at_ms;
  std::optional<int64_t> audience_count;
  std::optional<int64_t> skipped_count;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct CampaignStats {
  int64_t audience = 0;    // people targeted
  int64_t skipped = 0;     // no address, no consent
  int64_t queued = 0;      // messages written (the sum of the states below)
  int64_t waiting = 0;     // not yet delivered: queued, sending
  int64_t sent = 0;        // accepted by the next hop (delivered and bounced included)
  int64_t delivered = 0;   // confirmed by a report
  int64_t bounced = 0;     // came back after being sent
  int64_t failed = 0;      // failed or rejected
  int64_t suppressed = 0;  // consent withdrawn before delivery
  int64_t uncertain = 0;
  int64_t opened = 0;      // e-mails whose open pixel was loaded
};

struct Rule {
  int64_t id = 0;
  int64_t organisation_id = 0;
  std::string event;
  int64_t delay_days = 0;
  std::string template_code;
  std::string purpose;
  std::string channel;
  boost::json::object variables;
  bool active = true;
  int64_t created_at_ms = 0;
};

// Checks a draft against the catalogs (template, audience, criteria).
Status CheckDraft(storage::Transaction& tx, const TemplateCatalog& templates, const AudienceRegistry& audiences,
                  const ContactDirectory& contacts, std::string_view organisation_path, const CampaignDraft& draft);

Result<Campaign> InsertCampaign(storage::Transaction& tx, const CampaignDraft& draft, int64_t actor_id, int64_t now_ms);
Result<std::optional<Campaign>> FindCampaign(storage::Transaction& tx, int64_t id);
Result<std::vector<Campaign>> ListCampaigns(storage::Transaction& tx, const std::vector<std::string>& paths);
Status UpdateCampaign(storage::Transaction& tx, int64_t id, const CampaignDraft& draft, int64_t now_ms);
// campaign_not_draft / campaign_already_sent conflicts.
Status ScheduleCampaign(storage::Transaction& tx, int64_t id, int64_t at_ms, int64_t now_ms);
Status CancelCampaign(storage::Transaction& tx, int64_t id, int64_t now_ms);
Result<CampaignStats> StatsOf(storage::Transaction& tx, int64_t id);

// Sends the campaigns due at `now_ms` (each in its own transaction); returns how many.
Result<int64_t> SendDueCampaigns(storage::Database& database, const ContactDirectory& contacts,
                                 const TemplateCatalog& templates, const AudienceRegistry& audiences, int64_t now_ms);

// For modules: something happened to a person (in the caller's transaction).
Result<int64_t> RecordEvent(storage::Transaction& tx, const privacy::PersonRef& person, int64_t organisation_id,
                            std::string_view event, int64_t at_ms, int64_t now_ms);

Result<Rule> InsertRule(storage::Transaction& tx, const Rule& rule, int64_t actor_id, int64_t now_ms);
Result<std::vector<Rule>> ListRules(storage::Transaction& tx, const std::vector<std::string>& paths);
Result<std::optional<Rule>> FindRule(storage::Transaction& tx, int64_t id);
Status DeactivateRule(storage::Transaction& tx, int64_t id);
// Fires every rule whose events have fallen due; returns the firings.
Result<int64_t> FireRules(storage::Database& database, const ContactDirectory& contacts,
                          const TemplateCatalog& templates, int64_t now_ms);

// Counts an open of a campaign e-mail (first time and total).
Status RecordOpen(storage::Transaction& tx, int64_t message_id, int64_t now_ms);

// Every outbox row of a person with its delivery log, newest first, and waiting digest items.
Result<boost::json::object> PersonHistory(storage::Transaction& tx, const privacy::PersonRef& person, int64_t limit);

boost::json::object CampaignJson(const Campaign& campaign);
boost::json::object RuleJson(const Rule& rule);
boost::json::object StatsJson(const CampaignStats& stats);

// Jobs notify.campaigns and notify.rules. Everything passed must outlive the runner.
void RegisterCampaignJobs(jobs::Runner& runner, storage::Database& database, const Clock& clock,
                          const ContactDirectory& contacts, const TemplateCatalog& templates,
                          const AudienceRegistry& audiences);

}  // namespace guichet::notify
