// The use cases of message content behind the HTTP API (notify_http.cpp): templates,
// preferences, unsubscribe, history, people without consent, campaigns and rules. Each checks
// the caller's right over the organisation concerned; records of organisations outside the
// caller's scope answer 404, like staff accounts.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "platform/base/clock.h"
#include "platform/identity/rights.h"
#include "platform/notify/campaigns.h"
#include "platform/notify/contacts.h"
#include "platform/notify/preferences.h"
#include "platform/notify/templates.h"
#include "platform/storage/database.h"

namespace guichet::notify {

inline constexpr std::string_view kTemplatesManage = "notify.templates.manage";
inline constexpr std::string_view kCampaignsManage = "notify.campaigns.manage";
inline constexpr std::string_view kPeopleRead = "notify.people.read";
inline constexpr std::string_view kPreferencesManage = "notify.preferences.manage";
inline constexpr int64_t kHistoryRowsMax = 500;

// The four permissions above, for the catalog.
void DeclareContentPermissions(identity::RightsCatalog& catalog);

struct ContentOptions {
  std::string secret;  // signs unsubscribe and open links (the composer uses the same)
};

struct PreferencesChange {
  std::optional<Frequency> alert_frequency;
  bool threshold_given = false;
  std::optional<int64_t> low_balance_threshold_cents;  // with threshold_given: nullopt clears
};

struct PreviewRequest {
  std::string code;
  std::string language = "fr";
  std::optional<TemplateText> text;              // absent: the effective template
  std::optional<boost::json::object> variables;  // absent: the samples
};

struct UnsubscribeView {
  UnsubscribeToken token;
  std::string display_name;
  std::string language = "fr";
  bool already = false;  // the consent was already withdrawn
};

class Content {
 public:
  Content(storage::Database& database, const Clock& clock, const identity::Authorizer& authorizer,
          const TemplateCatalog& templates, const ContactDirectory& contacts,
          const AudienceRegistry& audiences, ContentOptions options)
      : database_(database),
        clock_(clock),
        authorizer_(authorizer),
        templates_(templates),
        contacts_(contacts),
        audiences_(audiences),
        options_(std::move(options)) {}

  const TemplateCatalog& templates() const { return templates_; }
  const AudienceRegistry& audiences() const { return audiences_; }

  Result<std::vector<StoredTemplate>> ListTemplates(const identity::Caller& caller,
                                                    int64_t organisation_id);
  Result<StoredTemplate> GetTemplate(const identity::Caller& caller, int64_t organisation_id,
                                     std::string_view code, std::string_view language);
  Result<StoredTemplate> PutTemplate(const identity::Caller& caller, int64_t organisation_id,
                                     std::string_view code, std::string_view language,
                                     const TemplateText& text);
  Status RemoveTemplate(const identity::Caller& caller, int64_t organisation_id,
                        std::string_view code, std::string_view language);
  Result<TemplateText> Preview(const identity::Caller& caller, int64_t organisation_id,
                               const PreviewRequest& request);

  Result<boost::json::object> MyPreferences(const identity::Caller& caller);
  Result<boost::json::object> SetMyPreferences(const identity::Caller& caller,
                                               const PreferencesChange& change);
  // The same for a person authenticated by a module of its own (wallet holders, whose session
  // is the wallet's): the caller's module vouches for `person`.
  Result<boost::json::object> OwnPreferences(const privacy::PersonRef& person);
  Result<boost::json::object> SetOwnPreferences(const privacy::PersonRef& person,
                                                const PreferencesChange& change);
  // Records an optional consent (SMS alerts, low balance, campaigns) of such a person, then
  // answers the preferences. Mandatory ones (transactional, alerts by e-mail):
  // consent_mandatory.
  Result<boost::json::object> RecordOwnConsent(const privacy::PersonRef& person,
                                               std::string_view purpose, std::string_view channel,
                                               bool granted, std::string_view wording,
                                               std::string_view wording_version,
                                               std::string_view request_id);
  Result<boost::json::object> PersonPreferences(const identity::Caller& caller,
                                                const privacy::PersonRef& person);
  Result<boost::json::object> SetPersonPreferences(const identity::Caller& caller,
                                                   const privacy::PersonRef& person,
                                                   const PreferencesChange& change);

  Result<UnsubscribeView> DescribeUnsubscribe(std::string_view token);
  Result<UnsubscribeView> Unsubscribe(std::string_view token, std::string_view request_id);
  Status Opened(std::string_view token);

  Result<std::vector<int64_t>> WithoutConsent(const identity::Caller& caller,
                                              int64_t organisation_id, std::string_view purpose,
                                              std::string_view channel, int64_t limit);
  Result<boost::json::object> History(const identity::Caller& caller,
                                      const privacy::PersonRef& person);

  Result<std::vector<Campaign>> Campaigns(const identity::Caller& caller,
                                          std::optional<int64_t> organisation_id);
  Result<Campaign> CreateCampaign(const identity::Caller& caller, const CampaignDraft& draft);
  Result<Campaign> GetCampaign(const identity::Caller& caller, int64_t id);
  Result<Campaign> EditCampaign(const identity::Caller& caller, int64_t id,
                                const CampaignDraft& draft);
  Result<Campaign> Schedule(const identity::Caller& caller, int64_t id,
                            std::optional<int64_t> at_ms);
  Result<Campaign> Cancel(const identity::Caller& caller, int64_t id);
  Result<CampaignStats> Stats(const identity::Caller& caller, int64_t id);

  Result<std::vector<Rule>> Rules(const identity::Caller& caller,
                                  std::optional<int64_t> organisation_id);
  Result<Rule> CreateRule(const identity::Caller& caller, const Rule& rule);
  Status RemoveRule(const identity::Caller& caller, int64_t id);

 private:
  Result<std::string> OrganisationPath(storage::Transaction& tx, const identity::Caller& caller,
                                       std::string_view permission, int64_t organisation_id);
  Result<Contact> PersonInScope(storage::Transaction& tx, const identity::Caller& caller,
                                std::string_view permission, const privacy::PersonRef& person);
  Result<boost::json::object> PreferencesJson(storage::Transaction& tx,
                                              const privacy::PersonRef& person);
  Result<boost::json::object> ApplyChange(storage::Transaction& tx,
                                          const privacy::PersonRef& person,
                                          const PreferencesChange& change);
  Result<Campaign> CampaignInScope(storage::Transaction& tx, const identity::Caller& caller,
                                   int64_t id);
  std::vector<std::string> ScopesOf(const identity::Caller& caller, std::string_view permission,
                                    std::optional<std::string> within) const;

  storage::Database& database_;
  const Clock& clock_;
  const identity::Authorizer& authorizer_;
  const TemplateCatalog& templates_;
  const ContactDirectory& contacts_;
  const AudienceRegistry& audiences_;
  const ContentOptions options_;
};

}  // namespace guichet::notify
