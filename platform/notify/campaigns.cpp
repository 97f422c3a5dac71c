#include "platform/notify/campaigns.h"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "platform/jobs/jobs.h"
#include "platform/notify/preferences.h"
#include "platform/orgs/orgs.h"

namespace guichet::notify {
namespace {

using boost::json::array;
using boost::json::object;
using privacy::PersonRef;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

constexpr int64_t kDayMs = int64_t{86400} * 1000;
constexpr std::string_view kCampaignColumns =
    "id, organisation_id, name, template_code, purpose, channel, audience, variables, state, scheduled_at,"
    " audience_count, skipped_count, created_at, updated_at";
constexpr std::string_view kRuleColumns =
    "id, organisation_id, event, delay_days, template_code, purpose, channel, variables, active, created_at";

object ParseObject(const std::string& text) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(text, error);
  if (error || !value.is_object()) return {};
  return std::move(value.as_object());
}

std::string AudienceText(const CampaignDraft& draft) {
  if (draft.person) {
    return boost::json::serialize(object{{"person", object{{"type", draft.person->type}, {"id", draft.person->id}}}});
  }
  return boost::json::serialize(object{{"person_type", draft.person_type}, {"criteria", draft.criteria}});
}

Campaign ToCampaign(const Row& row) {
  Campaign campaign;
  campaign.id = row.Int(0);
  campaign.draft.organisation_id = row.Int(1);
  campaign.draft.name = row.Text(2);
  campaign.draft.template_code = row.Text(3);
  campaign.draft.purpose = row.Text(4);
  campaign.draft.channel = row.Text(5);
  const object audience = ParseObject(row.Text(6));
  if (const auto* person = audience.if_contains("person"); person != nullptr && person->is_object()) {
    campaign.draft.person = PersonRef{std::string(person->as_object().at("type").as_string()),
                                      person->as_object().at("id").as_int64()};
  } else {
    if (const auto* type = audience.if_contains("person_type"); type != nullptr && type->is_string()) {
      campaign.draft.person_type = std::string(type->as_string());
    }
    if (const auto* criteria = audience.if_contains("criteria"); criteria != nullptr && criteria->is_object()) {
      campaign.draft.criteria = criteria->as_object();
    }
  }
  campaign.draft.variables = ParseObject(row.Text(7));
  campaign.state = row.Text(8);
  campaign.scheduled_at_ms = row.OptionalInt(9);
  campaign.audience_count = row.OptionalInt(10);
  campaign.skipped_count = row.OptionalInt(11);
  campaign.created_at_ms = row.Int(12);
  campaign.updated_at_ms = row.Int(13);
  return campaign;
}

Rule ToRule(const Row& row) {
  Rule rule;
  rule.id = row.Int(0);
  rule.organisation_id = row.Int(1);
  rule.event = row.Text(2);
  rule.delay_days = row.Int(3);
  rule.template_code = row.Text(4);
  rule.purpose = row.Text(5);
  rule.channel = row.Text(6);
  rule.variables = ParseObject(row.Text(7));
  rule.active = row.Bool(8);
  rule.created_at_ms = row.Int(9);
  return rule;
}

// "organisation_id IN subtree of one of paths" as SQL over alias o.
std::string PathFilter(const std::vector<std::string>& paths, storage::Params& params) {
  std::string sql;
  for (const std::string& path : paths) {
    params.push_back(path);
    sql += (sql.empty() ? "" : " OR ") + fmt::format("substr(o.path, 1, length(${0})) = ${0}", params.size());
  }
  return sql.empty() ? "FALSE" : "(" + sql + ")";
}

Error Criterion(std::string_view name, std::string message) {
  return Error{ErrorKind::kValidation, "audience_criteria_invalid", fmt::format("criterion {}: {}", name, message),
               {{fmt::format("/audience/criteria/{}", name), std::move(message)}}};
}

Result<std::string> PathOf(Transaction& tx, int64_t organisation_id) {
  auto organisation = orgs::Find(tx, organisation_id);
  if (!organisation.ok()) return std::move(organisation).error();
  if (!*organisation) return Error::NotFound("organisation_not_found", "no such organisation");
  return (*organisation)->path;
}

// People of a campaign: its audience, or its one person.
Result<std::vector<PersonRef>> AudienceOf(Transaction& tx, const AudienceRegistry& audiences, const Campaign& campaign) {
  std::vector<PersonRef> people;
  if (campaign.draft.person) {
    people.push_back(*campaign.draft.person);
    return people;
  }
  const AudienceProvider* provider = audiences.Find(campaign.draft.person_type);
  if (provider == nullptr) {
    return Error::Invalid("audience_type_unknown", fmt::format("no audience of {}", campaign.draft.person_type));
  }
  auto path = PathOf(tx, campaign.draft.organisation_id);
  if (!path.ok()) return std::move(path).error();
  auto ids = provider->query(tx, *path, campaign.draft.criteria, kAudienceMax);
  if (!ids.ok()) return std::move(ids).error();
  for (int64_t id : *ids) people.push_back({campaign.draft.person_type, id});
  return people;
}

Result<bool> SendOne(Transaction& tx, const ContactDirectory& contacts, const TemplateCatalog& templates,
                     const AudienceRegistry& audiences, int64_t id, int64_t now_ms) {
  // Claim: only one process sends a campaign.
  auto claimed = tx.Execute(
      "UPDATE notify_campaigns SET state = 'sending', updated_at = $2 WHERE id = $1 AND state = 'scheduled'"
      " AND scheduled_at <= $2",
      {id, now_ms});
  if (!claimed.ok()) return std::move(claimed).error();
  if (*claimed == 0) return false;
  auto campaign = FindCampaign(tx, id);
  if (!campaign.ok()) return std::move(campaign).error();
  GUICHET_ASSERT(campaign->has_value());
  auto people = AudienceOf(tx, audiences, **campaign);
  if (!people.ok()) return std::move(people).error();
  int64_t skipped = 0;
  for (const PersonRef& person : *people) {
    NotifyRequest request;
    request.person = person;
    request.template_code = (*campaign)->draft.template_code;
    request.variables = (*campaign)->draft.variables;
    request.purpose = (*campaign)->draft.purpose;
    request.campaign_id = id;
    request.channel = (*campaign)->draft.channel;
    auto outcome = Notify(tx, contacts, templates, request, now_ms);
    if (!outcome.ok()) {
      if (outcome.error().code == "notify_person_unknown") {
        ++skipped;
        continue;
      }
      return std::move(outcome).error();
    }
    if (outcome->queued.empty()) ++skipped;
  }
  auto done = tx.Execute(
      "UPDATE notify_campaigns SET state = 'sent', audience_count = $2, skipped_count = $3, updated_at = $4"
      " WHERE id = $1",
      {id, static_cast<int64_t>(people->size()), skipped, now_ms});
  if (!done.ok()) return std::move(done).error();
  return true;
}

}  // namespace

void AudienceRegistry::Add(AudienceProvider provider) {
  GUICHET_ASSERT(Find(provider.person_type) == nullptr && provider.query);
  providers_.push_back(std::move(provider));
}

const AudienceProvider* AudienceRegistry::Find(std::string_view person_type) const {
  for (const AudienceProvider& provider : providers_) {
    if (provider.person_type == person_type) return &provider;
  }
  return nullptr;
}

void RegisterStaffAudience(AudienceRegistry& registry) {
  registry.Add(
      {std::string(privacy::kStaff),
       {{"organisation_id", "integer", "staff holding a grant in this organisation or below (default: the campaign's)"},
        {"profile", "string", "only staff holding this profile"}},
       [](Transaction& tx, std::string_view organisation_path, const object& criteria,
          int64_t limit) -> Result<std::vector<int64_t>> {
         std::string path(organisation_path);
         std::optional<std::string> profile;
         for (const auto& item : criteria) {
           if (item.key() == "organisation_id") {
             if (!item.value().is_int64()) return Criterion("organisation_id", "must be an integer");
             auto inner = PathOf(tx, item.value().as_int64());
             if (!inner.ok() || !orgs::Contains(organisation_path, *inner)) {
               return Criterion("organisation_id", "is not inside the campaign's organisation");
             }
             path = *inner;
           } else if (item.key() == "profile") {
             if (!item.value().is_string()) return Criterion("profile", "must be a string");
             profile = std::string(item.value().as_string());
           } else {
             return Criterion(item.key(), "is not a criterion of staff (organisation_id, profile)");
           }
         }
         auto rows = tx.Query(
             "SELECT DISTINCT u.id FROM users u JOIN grants g ON g.user_id = u.id"
             " JOIN organisations o ON o.id = g.organisation_id WHERE u.status = 'active'"
             " AND substr(o.path, 1, length($1)) = $1 AND ($2 = '' OR g.profile = $2) ORDER BY u.id LIMIT $3",
             {path, profile.value_or(""), limit});
         if (!rows.ok()) return std::move(rows).error();
         std::vector<int64_t> ids;
         for (const Row& row : rows->rows) ids.push_back(row.Int(0));
         return ids;
       }});
}

Status CheckDraft(Transaction& tx, const TemplateCatalog& templates, const AudienceRegistry& audiences,
                  const ContactDirectory& contacts, std::string_view organisation_path, const CampaignDraft& draft) {
  const TemplateCode* code = templates.Find(draft.template_code);
  if (code == nullptr) {
    return Error{ErrorKind::kValidation, "template_code_unknown", "no such template code",
                 {{"/template_code", fmt::format("no template code \"{}\"", draft.template_code)}}};
  }
  if (draft.channel != "email" && draft.channel != "sms") {
    return Error{ErrorKind::kValidation, "validation_failed", "channel", {{"/channel", "is email or sms"}}};
  }
  if (draft.person) {
    if (!contacts.Knows(draft.person->type)) {
      return Error{ErrorKind::kValidation, "audience_type_unknown", "unknown person type",
                   {{"/person/type", fmt::format("no person type \"{}\"", draft.person->type)}}};
    }
    auto contact = contacts.Find(tx, *draft.person);
    if (!contact.ok()) return std::move(contact).error();
    if (!*contact || !orgs::Contains(organisation_path, (*contact)->organisation_path)) {
      return Error::NotFound("notify_person_unknown", "no such person in this organisation");
    }
    return OkStatus();
  }
  const AudienceProvider* provider = audiences.Find(draft.person_type);
  if (provider == nullptr) {
    return Error{ErrorKind::kValidation, "audience_type_unknown", "unknown audience",
                 {{"/audience/person_type", fmt::format("no audience of \"{}\"", draft.person_type)}}};
  }
  // Runs the query once with a small limit: criteria errors surface now, not at sending time.
  auto probe = provider->query(tx, organisation_path, draft.criteria, 1);
  if (!probe.ok()) return std::move(probe).error();
  return OkStatus();
}

Result<Campaign> InsertCampaign(Transaction& tx, const CampaignDraft& draft, int64_t actor_id, int64_t now_ms) {
  auto row = tx.QueryOne(
      fmt::format("INSERT INTO notify_campaigns (organisation_id, name, template_code, purpose, channel, audience,"
                  " variables, state, created_by, created_at, updated_at)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', $8, $9, $9) RETURNING {}",
                  kCampaignColumns),
      {draft.organisation_id, draft.name, draft.template_code, draft.purpose, draft.channel, AudienceText(draft),
       boost::json::serialize(draft.variables), actor_id, now_ms});
  if (!row.ok()) return std::move(row).error();
  return ToCampaign(**row);
}

Result<std::optional<Campaign>> FindCampaign(Transaction& tx, int64_t id) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM notify_campaigns WHERE id = $1", kCampaignColumns), {id});
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<Campaign>();
  return std::optional<Campaign>(ToCampaign(**row));
}

Result<std::vector<Campaign>> ListCampaigns(Transaction& tx, const std::vector<std::string>& paths) {
  storage::Params params;
  const std::string filter = PathFilter(paths, params);
  params.push_back(kListRowsMax);
  std::string columns;
  for (std::string_view rest = kCampaignColumns; !rest.empty();) {
    const size_t comma = rest.find(',');
    std::string_view column = rest.substr(0, comma);
    while (!column.empty() && column.front() == ' ') column.remove_prefix(1);
    columns += (columns.empty() ? "c." : ", c.") + std::string(column);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  auto rows = tx.Query(fmt::format("SELECT {} FROM notify_campaigns c JOIN organisations o ON o.id = c.organisation_id"
                                   " WHERE {} ORDER BY c.id DESC LIMIT ${}",
                                   columns, filter, params.size()),
                       params);
  if (!rows.ok()) return std::move(rows).error();
  std::vector<Campaign> campaigns;
  for (const Row& row : rows->rows) campaigns.push_back(ToCampaign(row));
  return campaigns;
}

Status UpdateCampaign(Transaction& tx, int64_t id, const CampaignDraft& draft, int64_t now_ms) {
  auto updated = tx.Execute(
      "UPDATE notify_campaigns SET name = $2, template_code = $3, purpose = $4, channel = $5, audience = $6,"
      " variables = $7, updated_at = $8 WHERE id = $1 AND state = 'draft'",
      {id, draft.name, draft.template_code, draft.purpose, draft.channel, AudienceText(draft),
       boost::json::serialize(draft.variables), now_ms});
  if (!updated.ok()) return std::move(updated).error();
  if (*updated == 0) return Error::Conflict("campaign_not_draft", "only a draft campaign can be changed");
  return OkStatus();
}

Status ScheduleCampaign(Transaction& tx, int64_t id, int64_t at_ms, int64_t now_ms) {
  auto updated = tx.Execute(
      "UPDATE notify_campaigns SET state = 'scheduled', scheduled_at = $2, updated_at = $3"
      " WHERE id = $1 AND state IN ('draft', 'scheduled')",
      {id, at_ms, now_ms});
  if (!updated.ok()) return std::move(updated).error();
  if (*updated == 0) return Error::Conflict("campaign_not_draft", "only a draft or scheduled campaign can be scheduled");
  // Wake the sender at that time (the periodic run would find it too).
  jobs::JobRequest job;
  job.kind = std::string(kCampaignJob);
  job.run_at_ms = std::max(at_ms, now_ms);
  job.max_attempts = 3;
  job.dedupe_key = fmt::format("notify.campaigns:{}:{}", id, at_ms);
  auto enqueued = jobs::Enqueue(tx, job, now_ms);
  if (!enqueued.ok()) return std::move(enqueued).error();
  return OkStatus();
}

Status CancelCampaign(Transaction& tx, int64_t id, int64_t now_ms) {
  auto updated = tx.Execute(
      "UPDATE notify_campaigns SET state = 'cancelled', updated_at = $2 WHERE id = $1 AND state IN ('draft', 'scheduled')",
      {id, now_ms});
  if (!updated.ok()) return std::move(updated).error();
  if (*updated == 0) return Error::Conflict("campaign_already_sent", "a campaign sent or cancelled cannot be cancelled");
  return OkStatus();
}

Result<CampaignStats> StatsOf(Transaction& tx, int64_t id) {
  CampaignStats stats;
  auto campaign = FindCampaign(tx, id);
  if (!campaign.ok()) return std::move(campaign).error();
  if (!*campaign) return Error::NotFound("campaign_not_found", "no such campaign");
  stats.audience = (*campaign)->audience_count.value_or(0);
  stats.skipped = (*campaign)->skipped_count.value_or(0);
  auto rows = tx.Query("SELECT state, COUNT(*) FROM outbox_messages WHERE campaign_id = $1 GROUP BY state", {id});
  if (!rows.ok()) return std::move(rows).error();
  for (const Row& row : rows->rows) {
    const std::string& state = row.Text(0);
    const int64_t count = row.Int(1);
    stats.queued += count;
    if (state == "queued" || state == "sending") stats.waiting += count;
    if (state == "sent" || state == "delivered" || state == "bounced") stats.sent += count;
    if (state == "delivered") stats.delivered += count;
    if (state == "bounced") stats.bounced += count;
    if (state == "failed" || state == "rejected") stats.failed += count;
    if (state == "suppressed") stats.suppressed += count;
    if (state == "uncertain") stats.uncertain += count;
  }
  auto opened = tx.QueryOne(
      "SELECT COUNT(*) FROM notify_opens p JOIN outbox_messages m ON m.id = p.message_id WHERE m.campaign_id = $1", {id});
  if (!opened.ok()) return std::move(opened).error();
  stats.opened = (*opened)->Int(0);
  return stats;
}

Result<int64_t> SendDueCampaigns(storage::Database& database, const ContactDirectory& contacts,
                                 const TemplateCatalog& templates, const AudienceRegistry& audiences, int64_t now_ms) {
  auto due = database.Transact<std::vector<int64_t>>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<int64_t>> {
    auto rows = tx.Query(
        "SELECT id FROM notify_campaigns WHERE state = 'scheduled' AND scheduled_at <= $1 ORDER BY scheduled_at, id LIMIT $2",
        {now_ms, kListRowsMax});
    if (!rows.ok()) return std::move(rows).error();
    std::vector<int64_t> ids;
    for (const Row& row : rows->rows) ids.push_back(row.Int(0));
    return ids;
  });
  if (!due.ok()) return std::move(due).error();
  int64_t sent = 0;
  for (int64_t id : *due) {
    auto one = database.Transact<bool>(TransactionMode::kWrite, [&](Transaction& tx) {
      return SendOne(tx, contacts, templates, audiences, id, now_ms);
    });
    if (!one.ok()) return std::move(one).error();
    if (*one) ++sent;
  }
  return sent;
}

Result<int64_t> RecordEvent(Transaction& tx, const PersonRef& person, int64_t organisation_id, std::string_view event,
                            int64_t at_ms, int64_t now_ms) {
  GUICHET_ASSERT(!event.empty() && static_cast<int64_t>(event.size()) <= kEventLengthMax);
  auto row = tx.QueryOne(
      "INSERT INTO notify_events (person_type, person_id, organisation_id, event, at, created_at)"
      " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
      {person.type, person.id, organisation_id, std::string(event), at_ms, now_ms});
  if (!row.ok()) return std::move(row).error();
  return (*row)->Int(0);
}

Result<Rule> InsertRule(Transaction& tx, const Rule& rule, int64_t actor_id, int64_t now_ms) {
  auto row = tx.QueryOne(
      fmt::format("INSERT INTO notify_rules (organisation_id, event, delay_days, template_code, purpose, channel,"
                  " variables, active, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $9)"
                  " RETURNING {}",
                  kRuleColumns),
      {rule.organisation_id, rule.event, rule.delay_days, rule.template_code, rule.purpose, rule.channel,
       boost::json::serialize(rule.variables), actor_id, now_ms});
  if (!row.ok()) return std::move(row).error();
  return ToRule(**row);
}

Result<std::vector<Rule>> ListRules(Transaction& tx, const std::vector<std::string>& paths) {
  storage::Params params;
  const std::string filter = PathFilter(paths, params);
  params.push_back(kListRowsMax);
  auto rows = tx.Query(fmt::format("SELECT r.id, r.organisation_id, r.event, r.delay_days, r.template_code, r.purpose,"
                                   " r.channel, r.variables, r.active, r.created_at FROM notify_rules r"
                                   " JOIN organisations o ON o.id = r.organisation_id WHERE {} ORDER BY r.id DESC LIMIT ${}",
                                   filter, params.size()),
                       params);
  if (!rows.ok()) return std::move(rows).error();
  std::vector<Rule> rules;
  for (const Row& row : rows->rows) rules.push_back(ToRule(row));
  return rules;
}

Result<std::optional<Rule>> FindRule(Transaction& tx, int64_t id) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM notify_rules WHERE id = $1", kRuleColumns), {id});
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<Rule>();
  return std::optional<Rule>(ToRule(**row));
}

Status DeactivateRule(Transaction& tx, int64_t id) {
  auto updated = tx.Execute("UPDATE notify_rules SET active = FALSE WHERE id = $1", {id});
  if (!updated.ok()) return std::move(updated).error();
  return OkStatus();
}

Result<int64_t> FireRules(storage::Database& database, const ContactDirectory& contacts,
                          const TemplateCatalog& templates, int64_t now_ms) {
  auto rules = database.Transact<std::vector<Rule>>(TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<Rule>> {
    auto rows = tx.Query(fmt::format("SELECT {} FROM notify_rules WHERE active ORDER BY id", kRuleColumns), {});
    if (!rows.ok()) return std::move(rows).error();
    std::vector<Rule> list;
    for (const Row& row : rows->rows) list.push_back(ToRule(row));
    return list;
  });
  if (!rules.ok()) return std::move(rules).error();
  int64_t fired = 0;
  for (const Rule& rule : *rules) {
    auto count = database.Transact<int64_t>(TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
      auto path = PathOf(tx, rule.organisation_id);
      if (!path.ok()) return std::move(path).error();
      const int64_t delay_ms = rule.delay_days * kDayMs;
      auto events = tx.Query(
          "SELECT e.id, e.person_type, e.person_id FROM notify_events e JOIN organisations o ON o.id = e.organisation_id"
          " WHERE e.event = $1 AND e.at + $2 <= $3 AND e.at + $2 >= $4 AND substr(o.path, 1, length($5)) = $5"
          " AND NOT EXISTS (SELECT 1 FROM notify_rule_firings f WHERE f.rule_id = $6 AND f.event_id = e.id)"
          " ORDER BY e.id LIMIT $7",
          {rule.event, delay_ms, now_ms, rule.created_at_ms, *path, rule.id, kRuleFiringsPerRunMax});
      if (!events.ok()) return std::move(events).error();
      int64_t done = 0;
      for (const Row& event : events->rows) {
        NotifyRequest request;
        request.person = {event.Text(1), event.Int(2)};
        request.template_code = rule.template_code;
        request.variables = rule.variables;
        request.purpose = rule.purpose;
        request.channel = rule.channel;
        auto outcome = Notify(tx, contacts, templates, request, now_ms);
        std::string what;
        if (!outcome.ok()) {
          if (outcome.error().code != "notify_person_unknown" && outcome.error().code != "template_code_unknown") {
            return std::move(outcome).error();
          }
          what = outcome.error().code;
        } else {
          what = outcome->queued.empty() ? "skipped" : fmt::format("queued {}", outcome->queued.size());
        }
        auto firing = tx.Execute(
            "INSERT INTO notify_rule_firings (rule_id, event_id, fired_at, outcome) VALUES ($1, $2, $3, $4)",
            {rule.id, event.Int(0), now_ms, what});
        if (!firing.ok()) return std::move(firing).error();
        ++done;
      }
      return done;
    });
    if (!count.ok()) return std::move(count).error();
    fired += *count;
  }
  return fired;
}

Status RecordOpen(Transaction& tx, int64_t message_id, int64_t now_ms) {
  auto updated = tx.Execute("UPDATE notify_opens SET opens = opens + 1 WHERE message_id = $1", {message_id});
  if (!updated.ok()) return std::move(updated).error();
  if (*updated > 0) return OkStatus();
  auto exists = tx.QueryOne("SELECT 1 FROM outbox_messages WHERE id = $1", {message_id});
  if (!exists.ok()) return std::move(exists).error();
  if (!*exists) return OkStatus();
  auto inserted = tx.Execute("INSERT INTO notify_opens (message_id, first_at, opens) VALUES ($1, $2, 1)",
                             {message_id, now_ms});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

Result<object> PersonHistory(Transaction& tx, const PersonRef& person, int64_t limit) {
  auto rows = tx.Query(
      "SELECT id, channel, recipient, template_code, purpose, campaign_id, state, attempts, created_at, sent_at,"
      " last_error FROM outbox_messages WHERE person_type = $1 AND person_id = $2 ORDER BY id DESC LIMIT $3",
      {person.type, person.id, limit});
  if (!rows.ok()) return std::move(rows).error();
  array items;
  for (const Row& row : rows->rows) {
    auto log = tx.Query(
        "SELECT at, outcome, detail, status_code FROM notify_delivery_log WHERE message_id = $1 ORDER BY id",
        {row.Int(0)});
    if (!log.ok()) return std::move(log).error();
    array entries;
    for (const Row& entry : log->rows) {
      entries.push_back(object{{"at", FormatIso8601(entry.Int(0))},
                               {"outcome", entry.Text(1)},
                               {"detail", entry.Text(2)},
                               {"status_code", entry.IsNull(3) ? boost::json::value(nullptr) : boost::json::value(entry.Int(3))}});
    }
    auto opened = tx.QueryOne("SELECT first_at, opens FROM notify_opens WHERE message_id = $1", {row.Int(0)});
    if (!opened.ok()) return std::move(opened).error();
    items.push_back(object{
        {"id", row.Int(0)},
        {"channel", row.Text(1)},
        {"recipient", row.Text(2)},
        {"template_code", row.Text(3)},
        {"purpose", row.Text(4)},
        {"campaign_id", row.IsNull(5) ? boost::json::value(nullptr) : boost::json::value(row.Int(5))},
        {"state", row.Text(6)},
        {"attempts", row.Int(7)},
        {"created_at", FormatIso8601(row.Int(8))},
        {"sent_at", row.IsNull(9) ? boost::json::value(nullptr) : boost::json::value(FormatIso8601(row.Int(9)))},
        {"last_error", row.IsNull(10) ? boost::json::value(nullptr) : boost::json::value(row.Text(10))},
        {"opened_at", *opened ? boost::json::value(FormatIso8601((*opened)->Int(0))) : boost::json::value(nullptr)},
        {"log", std::move(entries)}});
  }
  auto digest = tx.Query(
      "SELECT id, template_code, created_at, message_id FROM notify_digest_items WHERE person_type = $1"
      " AND person_id = $2 ORDER BY id DESC LIMIT $3",
      {person.type, person.id, limit});
  if (!digest.ok()) return std::move(digest).error();
  array digest_items;
  for (const Row& row : digest->rows) {
    const int64_t message = row.OptionalInt(3).value_or(-1);
    digest_items.push_back(object{
        {"id", row.Int(0)},
        {"template_code", row.Text(1)},
        {"created_at", FormatIso8601(row.Int(2))},
        {"state", message < 0 ? "waiting" : (message == 0 ? "dropped" : "compiled")},
        {"message_id", message > 0 ? boost::json::value(message) : boost::json::value(nullptr)}});
  }
  return object{{"person", object{{"type", person.type}, {"id", person.id}}},
                {"items", std::move(items)},
                {"digest_items", std::move(digest_items)}};
}

object CampaignJson(const Campaign& campaign) {
  const CampaignDraft& draft = campaign.draft;
  object audience;
  if (draft.person) {
    audience["person"] = object{{"type", draft.person->type}, {"id", draft.person->id}};
  } else {
    audience["person_type"] = draft.person_type;
    audience["criteria"] = draft.criteria;
  }
  auto optional_int = [](const std::optional<int64_t>& value) {
    return value ? boost::json::value(*value) : boost::json::value(nullptr);
  };
  return {{"id", campaign.id},
          {"organisation_id", draft.organisation_id},
          {"name", draft.name},
          {"template_code", draft.template_code},
          {"purpose", draft.purpose},
          {"channel", draft.channel},
          {"audience", std::move(audience)},
          {"variables", draft.variables},
          {"state", campaign.state},
          {"scheduled_at", campaign.scheduled_at_ms ? boost::json::value(FormatIso8601(*campaign.scheduled_at_ms))
                                                    : boost::json::value(nullptr)},
          {"audience_count", optional_int(campaign.audience_count)},
          {"skipped_count", optional_int(campaign.skipped_count)},
          {"created_at", FormatIso8601(campaign.created_at_ms)},
          {"updated_at", FormatIso8601(campaign.updated_at_ms)}};
}

object RuleJson(const Rule& rule) {
  return {{"id", rule.id},
          {"organisation_id", rule.organisation_id},
          {"event", rule.event},
          {"delay_days", rule.delay_days},
          {"template_code", rule.template_code},
          {"purpose", rule.purpose},
          {"channel", rule.channel},
          {"variables", rule.variables},
          {"active", rule.active},
          {"created_at", FormatIso8601(rule.created_at_ms)}};
}

object StatsJson(const CampaignStats& stats) {
  return {{"audience", stats.audience}, {"skipped", stats.skipped},   {"queued", stats.queued},
          {"waiting", stats.waiting},   {"sent", stats.sent},         {"delivered", stats.delivered},
          {"bounced", stats.bounced},   {"failed", stats.failed},     {"suppressed", stats.suppressed},
          {"uncertain", stats.uncertain}, {"opened", stats.opened}};
}

void RegisterCampaignJobs(jobs::Runner& runner, storage::Database& database, const Clock& clock,
                          const ContactDirectory& contacts, const TemplateCatalog& templates,
                          const AudienceRegistry& audiences) {
  runner.Register(std::string(kCampaignJob), [&](const jobs::JobRecord&) -> Status {
    auto sent = SendDueCampaigns(database, contacts, templates, audiences, clock.NowMs());
    if (!sent.ok()) return std::move(sent).error();
    return OkStatus();
  });
  runner.Every(std::string(kCampaignJob), kCampaignIntervalMs);
  runner.Register(std::string(kRulesJob), [&](const jobs::JobRecord&) -> Status {
    auto fired = FireRules(database, contacts, templates, clock.NowMs());
    if (!fired.ok()) return std::move(fired).error();
    return OkStatus();
  });
  runner.Every(std::string(kRulesJob), kRulesIntervalMs);
}

}  // namespace guichet::notify
