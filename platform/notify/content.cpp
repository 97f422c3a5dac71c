#include "platform/notify/content.h"

#include <fmt/format.h>

#include <algorithm>

#include "platform/orgs/orgs.h"

namespace guichet::notify {
namespace {

using boost::json::array;
using boost::json::object;
using identity::Caller;
using privacy::PersonRef;
using storage::Transaction;
using storage::TransactionMode;

constexpr std::string_view kUnsubscribeWording =
    "Désinscription par le lien du message / Unsubscribed with the link in the message";
constexpr std::string_view kUnsubscribeVersion = "unsubscribe-link-1";

Error NotFoundOrganisation() {
  return Error::NotFound("organisation_not_found", "No such organisation.");
}
Error NotFoundPerson() { return Error::NotFound("notify_person_unknown", "No such person."); }
Error NotFoundCampaign() { return Error::NotFound("campaign_not_found", "No such campaign."); }

Status RequirePerson(const Caller& caller) {
  if (caller.kind != Caller::Kind::kUser) {
    return Error{ErrorKind::kForbidden,
                 "person_required",
                 "Only a person's own session has preferences.",
                 {}};
  }
  return OkStatus();
}

}  // namespace

void DeclareContentPermissions(identity::RightsCatalog& catalog) {
  catalog.AddPermission(
      {std::string(kTemplatesManage), "Read and change the message templates of organisations"});
  catalog.AddPermission({std::string(kCampaignsManage),
                         "Prepare, send and follow message campaigns and automated rules"});
  catalog.AddPermission(
      {std::string(kPeopleRead), "See a person's messages, preferences and missing consents"});
  catalog.AddPermission(
      {std::string(kPreferencesManage), "Change a person's message preferences on their behalf"});
}

// The organisation's path when the caller holds `permission` over it; 404 when it does not
// exist or lies outside every scope of the caller, 403 when the caller holds it nowhere.
Result<std::string> Content::OrganisationPath(Transaction& tx, const Caller& caller,
                                              std::string_view permission,
                                              int64_t organisation_id) {
  auto organisation = orgs::Find(tx, organisation_id);
  if (!organisation.ok()) return std::move(organisation).error();
  if (*organisation && authorizer_.Allows(caller, permission, (*organisation)->path))
    return (*organisation)->path;
  if (authorizer_.Scopes(caller, permission).empty()) {
    auto refused = authorizer_.Require(caller, permission, "/");
    GUICHET_ASSERT(!refused.ok());
    return std::move(refused).error();
  }
  return NotFoundOrganisation();
}

Result<Contact> Content::PersonInScope(Transaction& tx, const Caller& caller,
                                       std::string_view permission, const PersonRef& person) {
  auto contact = contacts_.Find(tx, person);
  if (!contact.ok()) return std::move(contact).error();
  if (*contact && !(*contact)->organisation_path.empty() &&
      authorizer_.Allows(caller, permission, (*contact)->organisation_path)) {
    return std::move(**contact);
  }
  if (authorizer_.Scopes(caller, permission).empty()) {
    auto refused = authorizer_.Require(caller, permission, "/");
    GUICHET_ASSERT(!refused.ok());
    return std::move(refused).error();
  }
  return NotFoundPerson();
}

std::vector<std::string> Content::ScopesOf(const Caller& caller, std::string_view permission,
                                           std::optional<std::string> within) const {
  std::vector<std::string> scopes = authorizer_.Scopes(caller, permission);
  if (!within) return scopes;
  // The organisation asked for, narrowed to what the caller may see.
  std::vector<std::string> narrowed;
  for (const std::string& scope : scopes) {
    if (orgs::Contains(scope, *within)) return {*within};
    if (orgs::Contains(*within, scope)) narrowed.push_back(scope);
  }
  return narrowed;
}

// ---- Templates -------------------------------------------------------------------------------

Result<std::vector<StoredTemplate>> Content::ListTemplates(const Caller& caller,
                                                           int64_t organisation_id) {
  return database_.Transact<std::vector<StoredTemplate>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<StoredTemplate>> {
        auto path = OrganisationPath(tx, caller, kTemplatesManage, organisation_id);
        if (!path.ok()) return std::move(path).error();
        std::vector<StoredTemplate> list;
        for (const TemplateCode& code : templates_.codes()) {
          for (std::string_view language : {"fr", "en"}) {
            auto effective =
                EffectiveTemplate(tx, templates_, organisation_id, code.code, language);
            if (!effective.ok()) return std::move(effective).error();
            list.push_back(std::move(effective).value());
          }
        }
        return list;
      });
}

Result<StoredTemplate> Content::GetTemplate(const Caller& caller, int64_t organisation_id,
                                            std::string_view code, std::string_view language) {
  if (!IsLanguage(language))
    return Error::NotFound("template_language_unknown", "Languages are fr and en.");
  return database_.Transact<StoredTemplate>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<StoredTemplate> {
        auto path = OrganisationPath(tx, caller, kTemplatesManage, organisation_id);
        if (!path.ok()) return std::move(path).error();
        return EffectiveTemplate(tx, templates_, organisation_id, code, language);
      });
}

Result<StoredTemplate> Content::PutTemplate(const Caller& caller, int64_t organisation_id,
                                            std::string_view code, std::string_view language,
                                            const TemplateText& text) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<StoredTemplate>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<StoredTemplate> {
        auto path = OrganisationPath(tx, caller, kTemplatesManage, organisation_id);
        if (!path.ok()) return std::move(path).error();
        auto saved =
            SaveTemplate(tx, templates_, organisation_id, code, language, text, caller.id, now);
        if (!saved.ok()) return std::move(saved).error();
        return EffectiveTemplate(tx, templates_, organisation_id, code, language);
      });
}

Status Content::RemoveTemplate(const Caller& caller, int64_t organisation_id, std::string_view code,
                               std::string_view language) {
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
    auto path = OrganisationPath(tx, caller, kTemplatesManage, organisation_id);
    if (!path.ok()) return std::move(path).error();
    auto deleted = DeleteTemplate(tx, organisation_id, code, language);
    if (!deleted.ok()) return std::move(deleted).error();
    if (!*deleted)
      return Error::NotFound("template_not_found",
                             "This organisation has no template of its own here.");
    return OkStatus();
  });
}

Result<TemplateText> Content::Preview(const Caller& caller, int64_t organisation_id,
                                      const PreviewRequest& request) {
  const TemplateCode* code = templates_.Find(request.code);
  if (code == nullptr) {
    return Error{ErrorKind::kValidation,
                 "template_code_unknown",
                 "No such template code.",
                 {{"/code", fmt::format("no template code \"{}\"", request.code)}}};
  }
  return database_.Transact<TemplateText>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<TemplateText> {
        auto path = OrganisationPath(tx, caller, kTemplatesManage, organisation_id);
        if (!path.ok()) return std::move(path).error();
        TemplateText text;
        if (request.text) {
          text = *request.text;
          for (const auto& [part, source] :
               {std::pair<std::string_view, const std::string*>{"subject", &text.subject},
                {"text", &text.text},
                {"html", &text.html}}) {
            auto checked = CheckTemplate(*source, *code, part);
            if (!checked.ok()) return std::move(checked).error();
          }
        } else {
          auto effective =
              EffectiveTemplate(tx, templates_, organisation_id, request.code, request.language);
          if (!effective.ok()) return std::move(effective).error();
          text = effective->text;
        }
        object variables = SampleVariables(*code);
        if (request.variables) {
          for (const auto& item : *request.variables) variables[item.key()] = item.value();
        }
        return RenderTemplate(text, variables, request.language);
      });
}

// ---- Preferences -----------------------------------------------------------------------------

Result<object> Content::PreferencesJson(Transaction& tx, const PersonRef& person) {
  auto preferences = LoadPreferences(tx, person);
  if (!preferences.ok()) return std::move(preferences).error();
  array channels;
  for (std::string_view purpose : {kTransactional, kAlerts, kLowBalance, kCampaign}) {
    for (std::string_view channel : {"email", "sms"}) {
      if (purpose == kTransactional && channel == "sms") continue;
      auto consent = privacy::ConsentState(tx, person.type, person.id, purpose, channel);
      if (!consent.ok()) return std::move(consent).error();
      const bool mandatory = !IsOptional(purpose, channel);
      channels.push_back(object{{"purpose", purpose},
                                {"channel", channel},
                                {"mandatory", mandatory},
                                {"granted", mandatory || consent->granted}});
    }
  }
  const auto& threshold = preferences->low_balance_threshold_cents;
  return object{{"person", object{{"type", person.type}, {"id", person.id}}},
                {"alert_frequency", FrequencyName(preferences->alert_frequency)},
                {"low_balance_threshold_cents",
                 threshold ? boost::json::value(*threshold) : boost::json::value(nullptr)},
                {"channels", std::move(channels)}};
}

Result<object> Content::ApplyChange(Transaction& tx, const PersonRef& person,
                                    const PreferencesChange& change) {
  auto preferences = LoadPreferences(tx, person);
  if (!preferences.ok()) return std::move(preferences).error();
  if (change.alert_frequency) preferences->alert_frequency = *change.alert_frequency;
  if (change.threshold_given)
    preferences->low_balance_threshold_cents = change.low_balance_threshold_cents;
  auto saved = SavePreferences(tx, person, *preferences, clock_.NowMs());
  if (!saved.ok()) return std::move(saved).error();
  return PreferencesJson(tx, person);
}

Result<object> Content::MyPreferences(const Caller& caller) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  return OwnPreferences({std::string(privacy::kStaff), caller.id});
}

Result<object> Content::SetMyPreferences(const Caller& caller, const PreferencesChange& change) {
  GUICHET_TRY_STATUS(RequirePerson(caller));
  return SetOwnPreferences({std::string(privacy::kStaff), caller.id}, change);
}

Result<object> Content::OwnPreferences(const PersonRef& person) {
  return database_.Transact<object>(TransactionMode::kRead, [&](Transaction& tx) {
    return PreferencesJson(tx, person);
  });
}

Result<object> Content::SetOwnPreferences(const PersonRef& person, const PreferencesChange& change) {
  return database_.Transact<object>(TransactionMode::kWrite, [&](Transaction& tx) {
    return ApplyChange(tx, person, change);
  });
}

Result<object> Content::RecordOwnConsent(const PersonRef& person, std::string_view purpose,
                                         std::string_view channel, bool granted,
                                         std::string_view wording, std::string_view wording_version,
                                         std::string_view request_id) {
  if (!IsOptional(purpose, channel)) {
    return Error{ErrorKind::kConflict,
                 "consent_mandatory",
                 "These messages are always sent: there is no consent to give or withdraw.",
                 {}};
  }
  const int64_t now_ms = clock_.NowMs();
  return database_.Transact<object>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<object> {
        GUICHET_TRY_STATUS(RecordConsent(tx, person, purpose, channel, granted, wording,
                                         wording_version, "web", request_id, now_ms));
        return PreferencesJson(tx, person);
      });
}

Result<object> Content::PersonPreferences(const Caller& caller, const PersonRef& person) {
  return database_.Transact<object>(TransactionMode::kRead, [&](Transaction& tx) -> Result<object> {
    auto contact = PersonInScope(tx, caller, kPeopleRead, person);
    if (!contact.ok()) return std::move(contact).error();
    return PreferencesJson(tx, person);
  });
}

Result<object> Content::SetPersonPreferences(const Caller& caller, const PersonRef& person,
                                             const PreferencesChange& change) {
  return database_.Transact<object>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<object> {
        auto contact = PersonInScope(tx, caller, kPreferencesManage, person);
        if (!contact.ok()) return std::move(contact).error();
        return ApplyChange(tx, person, change);
      });
}

// ---- Unsubscribe and opens -------------------------------------------------------------------

Result<UnsubscribeView> Content::DescribeUnsubscribe(std::string_view token) {
  auto verified = VerifyUnsubscribe(options_.secret, token, clock_.NowMs());
  if (!verified.ok()) return std::move(verified).error();
  return database_.Transact<UnsubscribeView>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<UnsubscribeView> {
        auto contact = contacts_.Find(tx, verified->person);
        if (!contact.ok()) return std::move(contact).error();
        if (!*contact) return NotFoundPerson();
        auto consent = privacy::ConsentState(tx, verified->person.type, verified->person.id,
                                             verified->purpose, verified->channel);
        if (!consent.ok()) return std::move(consent).error();
        return UnsubscribeView{*verified, (*contact)->display_name, (*contact)->language,
                               !consent->granted};
      });
}

Result<UnsubscribeView> Content::Unsubscribe(std::string_view token, std::string_view request_id) {
  auto verified = VerifyUnsubscribe(options_.secret, token, clock_.NowMs());
  if (!verified.ok()) return std::move(verified).error();
  if (!IsOptional(verified->purpose, verified->channel)) {
    return Error::Invalid("unsubscribe_token_invalid", "These messages are mandatory.");
  }
  const int64_t now = clock_.NowMs();
  return database_.Transact<UnsubscribeView>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<UnsubscribeView> {
        auto contact = contacts_.Find(tx, verified->person);
        if (!contact.ok()) return std::move(contact).error();
        if (!*contact) return NotFoundPerson();
        auto consent = privacy::ConsentState(tx, verified->person.type, verified->person.id,
                                             verified->purpose, verified->channel);
        if (!consent.ok()) return std::move(consent).error();
        // Idempotent: a second click records nothing new.
        if (consent->granted) {
          auto recorded =
              RecordConsent(tx, verified->person, verified->purpose, verified->channel, false,
                            kUnsubscribeWording, kUnsubscribeVersion, "web", request_id, now);
          if (!recorded.ok()) return std::move(recorded).error();
        }
        if (verified->purpose == kLowBalance) {
          auto preferences = LoadPreferences(tx, verified->person);
          if (!preferences.ok()) return std::move(preferences).error();
          preferences->low_balance_threshold_cents.reset();
          auto saved = SavePreferences(tx, verified->person, *preferences, now);
          if (!saved.ok()) return std::move(saved).error();
        }
        return UnsubscribeView{*verified, (*contact)->display_name, (*contact)->language,
                               !consent->granted};
      });
}

Status Content::Opened(std::string_view token) {
  auto id = VerifyOpen(options_.secret, token);
  if (!id.ok()) return std::move(id).error();
  const int64_t now = clock_.NowMs();
  return database_.Transact<Ok>(TransactionMode::kWrite,
                                [&](Transaction& tx) { return RecordOpen(tx, *id, now); });
}

// ---- People ----------------------------------------------------------------------------------

Result<std::vector<int64_t>> Content::WithoutConsent(const Caller& caller, int64_t organisation_id,
                                                     std::string_view purpose,
                                                     std::string_view channel, int64_t limit) {
  return database_.Transact<std::vector<int64_t>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<int64_t>> {
        auto path = OrganisationPath(tx, caller, kPeopleRead, organisation_id);
        if (!path.ok()) return std::move(path).error();
        return privacy::PeopleWithoutConsent(tx, purpose, channel, {*path}, limit);
      });
}

Result<object> Content::History(const Caller& caller, const PersonRef& person) {
  return database_.Transact<object>(TransactionMode::kRead, [&](Transaction& tx) -> Result<object> {
    auto contact = PersonInScope(tx, caller, kPeopleRead, person);
    if (!contact.ok()) return std::move(contact).error();
    return PersonHistory(tx, person, kHistoryRowsMax);
  });
}

// ---- Campaigns -------------------------------------------------------------------------------

Result<Campaign> Content::CampaignInScope(Transaction& tx, const Caller& caller, int64_t id) {
  auto campaign = FindCampaign(tx, id);
  if (!campaign.ok()) return std::move(campaign).error();
  if (!*campaign) {
    if (authorizer_.Scopes(caller, kCampaignsManage).empty()) {
      auto refused = authorizer_.Require(caller, kCampaignsManage, "/");
      return std::move(refused).error();
    }
    return NotFoundCampaign();
  }
  auto path = OrganisationPath(tx, caller, kCampaignsManage, (*campaign)->draft.organisation_id);
  if (!path.ok()) {
    if (path.error().kind == ErrorKind::kNotFound) return NotFoundCampaign();
    return std::move(path).error();
  }
  return std::move(**campaign);
}

Result<std::vector<Campaign>> Content::Campaigns(const Caller& caller,
                                                 std::optional<int64_t> organisation_id) {
  return database_.Transact<std::vector<Campaign>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<Campaign>> {
        std::optional<std::string> within;
        if (organisation_id) {
          auto path = OrganisationPath(tx, caller, kCampaignsManage, *organisation_id);
          if (!path.ok()) return std::move(path).error();
          within = *path;
        }
        return ListCampaigns(tx, ScopesOf(caller, kCampaignsManage, within));
      });
}

Result<Campaign> Content::CreateCampaign(const Caller& caller, const CampaignDraft& draft) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<Campaign>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<Campaign> {
        auto path = OrganisationPath(tx, caller, kCampaignsManage, draft.organisation_id);
        if (!path.ok()) return std::move(path).error();
        auto checked = CheckDraft(tx, templates_, audiences_, contacts_, *path, draft);
        if (!checked.ok()) return std::move(checked).error();
        return InsertCampaign(tx, draft, caller.id, now);
      });
}

Result<Campaign> Content::GetCampaign(const Caller& caller, int64_t id) {
  return database_.Transact<Campaign>(
      TransactionMode::kRead, [&](Transaction& tx) { return CampaignInScope(tx, caller, id); });
}

Result<Campaign> Content::EditCampaign(const Caller& caller, int64_t id,
                                       const CampaignDraft& draft) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<Campaign>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<Campaign> {
        auto campaign = CampaignInScope(tx, caller, id);
        if (!campaign.ok()) return std::move(campaign).error();
        CampaignDraft changed = draft;
        changed.organisation_id =
            campaign->draft.organisation_id;  // a campaign stays where it was made
        auto path = OrganisationPath(tx, caller, kCampaignsManage, changed.organisation_id);
        if (!path.ok()) return std::move(path).error();
        auto checked = CheckDraft(tx, templates_, audiences_, contacts_, *path, changed);
        if (!checked.ok()) return std::move(checked).error();
        auto updated = UpdateCampaign(tx, id, changed, now);
        if (!updated.ok()) return std::move(updated).error();
        return CampaignInScope(tx, caller, id);
      });
}

Result<Campaign> Content::Schedule(const Caller& caller, int64_t id, std::optional<int64_t> at_ms) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<Campaign>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<Campaign> {
        auto campaign = CampaignInScope(tx, caller, id);
        if (!campaign.ok()) return std::move(campaign).error();
        auto scheduled = ScheduleCampaign(tx, id, at_ms.value_or(now), now);
        if (!scheduled.ok()) return std::move(scheduled).error();
        return CampaignInScope(tx, caller, id);
      });
}

Result<Campaign> Content::Cancel(const Caller& caller, int64_t id) {
  const int64_t now = clock_.NowMs();
  return database_.Transact<Campaign>(TransactionMode::kWrite,
                                      [&](Transaction& tx) -> Result<Campaign> {
                                        auto campaign = CampaignInScope(tx, caller, id);
                                        if (!campaign.ok()) return std::move(campaign).error();
                                        auto cancelled = CancelCampaign(tx, id, now);
                                        if (!cancelled.ok()) return std::move(cancelled).error();
                                        return CampaignInScope(tx, caller, id);
                                      });
}

Result<CampaignStats> Content::Stats(const Caller& caller, int64_t id) {
  return database_.Transact<CampaignStats>(TransactionMode::kRead,
                                           [&](Transaction& tx) -> Result<CampaignStats> {
                                             auto campaign = CampaignInScope(tx, caller, id);
                                             if (!campaign.ok()) return std::move(campaign).error();
                                             return StatsOf(tx, id);
                                           });
}

// ---- Rules -----------------------------------------------------------------------------------

Result<std::vector<Rule>> Content::Rules(const Caller& caller,
                                         std::optional<int64_t> organisation_id) {
  return database_.Transact<std::vector<Rule>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<Rule>> {
        std::optional<std::string> within;
        if (organisation_id) {
          auto path = OrganisationPath(tx, caller, kCampaignsManage, *organisation_id);
          if (!path.ok()) return std::move(path).error();
          within = *path;
        }
        return ListRules(tx, ScopesOf(caller, kCampaignsManage, within));
      });
}

Result<Rule> Content::CreateRule(const Caller& caller, const Rule& rule) {
  if (templates_.Find(rule.template_code) == nullptr) {
    return Error{ErrorKind::kValidation,
                 "template_code_unknown",
                 "No such template code.",
                 {{"/template_code", fmt::format("no template code \"{}\"", rule.template_code)}}};
  }
  const int64_t now = clock_.NowMs();
  return database_.Transact<Rule>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<Rule> {
    auto path = OrganisationPath(tx, caller, kCampaignsManage, rule.organisation_id);
    if (!path.ok()) return std::move(path).error();
    return InsertRule(tx, rule, caller.id, now);
  });
}

Status Content::RemoveRule(const Caller& caller, int64_t id) {
  return database_.Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
    auto rule = FindRule(tx, id);
    if (!rule.ok()) return std::move(rule).error();
    if (*rule) {
      auto path = OrganisationPath(tx, caller, kCampaignsManage, (*rule)->organisation_id);
      if (path.ok()) return DeactivateRule(tx, id);
      if (path.error().kind != ErrorKind::kNotFound) return std::move(path).error();
    } else if (authorizer_.Scopes(caller, kCampaignsManage).empty()) {
      return authorizer_.Require(caller, kCampaignsManage, "/");
    }
    return Error::NotFound("rule_not_found", "No such rule.");
  });
}

}  // namespace guichet::notify
