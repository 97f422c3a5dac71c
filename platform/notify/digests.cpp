#include "platform/notify/digests.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "platform/jobs/jobs.h"
#include "platform/notify/outbox.h"
#include "platform/notify/preferences.h"

namespace guichet::notify {
namespace {

using privacy::PersonRef;
using storage::Transaction;
using storage::TransactionMode;


// The end of the last finished period: items created before it are due.
int64_t DueBefore(Frequency frequency, int64_t now_ms) {
  switch (frequency) {
    case Frequency::kEach: return now_ms + 1;
    case Frequency::kDaily: return ParisDayStartMs(now_ms);
    case Frequency::kWeekly: return ParisWeekStartMs(now_ms);
  }
  return ParisWeekStartMs(now_ms);
}

// One line per alert: its subject in the person's language, or its code when it fails.
std::string ItemLine(Transaction& tx, const TemplateCatalog& templates, std::optional<int64_t> organisation_id,
                     const std::string& code, const std::string& variables_json, const std::string& language) {
  auto effective = EffectiveTemplate(tx, templates, organisation_id, code, language);
  boost::system::error_code error;
  const boost::json::value variables = boost::json::parse(variables_json, error);
  if (!effective.ok() || error || !variables.is_object()) return code;
  auto subject = Render(effective->text.subject, variables.as_object(), {language, false});
  return subject.ok() ? *subject : code;
}

struct Compiled {
  int64_t items = 0;
  bool message = false;
};

Result<Compiled> CompileOne(Transaction& tx, const ContactDirectory& contacts, const TemplateCatalog& templates,
                           const PersonRef& person, int64_t now_ms) {
  auto preferences = LoadPreferences(tx, person);
  if (!preferences.ok()) return std::move(preferences).error();
  const int64_t before = DueBefore(preferences->alert_frequency, now_ms);
  auto rows = tx.Query(
      "SELECT id, organisation_id, template_code, variables, created_at FROM notify_digest_items"
      " WHERE message_id IS NULL AND person_type = $1 AND person_id = $2 AND created_at < $3 ORDER BY id LIMIT $4",
      {person.type, person.id, before, kDigestItemsMax});
  if (!rows.ok()) return std::move(rows).error();
  if (rows->rows.empty()) return Compiled{};
  auto contact = contacts.Find(tx, person);
  if (!contact.ok()) return std::move(contact).error();
  const std::string language = *contact && IsLanguage((*contact)->language) ? (*contact)->language : "fr";
  boost::json::array lines;
  const int64_t first_at = rows->rows.front().Int(4);
  const int64_t last_at = rows->rows.back().Int(4);
  for (const storage::Row& row : rows->rows) {
    lines.push_back(boost::json::value(
        ItemLine(tx, templates, row.OptionalInt(1), row.Text(2), row.Text(3), language)));
  }
  std::optional<int64_t> message_id;
  const bool reachable = *contact && (*contact)->active && !(*contact)->email.empty();
  if (reachable) {
    auto may = MayMessage(tx, person, kAlerts, "email");
    if (!may.ok()) return std::move(may).error();
    if (*may) {
      OutboxMessage message;
      message.recipient = (*contact)->email;
      message.template_code = std::string(kDigestTemplate);
      message.language = language;
      const int64_t count = static_cast<int64_t>(lines.size());
      message.variables_json = boost::json::serialize(boost::json::object{
          {"display_name", (*contact)->display_name},
          {"period", std::string(FrequencyName(preferences->alert_frequency))},
          {"from", first_at},
          {"to", last_at},
          {"count", count},
          {"items", std::move(lines)}});
      if ((*contact)->organisation_id > 0) message.organisation_id = (*contact)->organisation_id;
      message.person = person;
      message.purpose = std::string(kAlerts);
      if (static_cast<int64_t>(message.variables_json.size()) > kVariablesBytesMax) {
        // Too long for one row: send the count and the first lines only.
        boost::json::object shorter = boost::json::parse(message.variables_json).as_object();
        boost::json::array& items = shorter["items"].as_array();
        while (!items.empty() && static_cast<int64_t>(boost::json::serialize(shorter).size()) > kVariablesBytesMax) {
          items.pop_back();
        }
        message.variables_json = boost::json::serialize(shorter);
      }
      auto queued = Queue(tx, message, now_ms);
      if (!queued.ok()) return std::move(queued).error();
      message_id = *queued;
    }
  }
  // Marked even when nobody can be written to (0): the items are settled, not retried forever.
  const int64_t last_id = rows->rows.back().Int(0);
  auto marked = tx.Execute(
      "UPDATE notify_digest_items SET message_id = $4 WHERE message_id IS NULL AND person_type = $1"
      " AND person_id = $2 AND created_at < $3 AND id <= $5",
      {person.type, person.id, before, message_id.value_or(0), last_id});
  if (!marked.ok()) return std::move(marked).error();
  return Compiled{*marked, message_id.has_value()};
}

}  // namespace

Result<DigestRun> CompileDigests(storage::Database& database, const ContactDirectory& contacts,
                                 const TemplateCatalog& templates, int64_t now_ms) {
  auto people = database.Transact<std::vector<PersonRef>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<PersonRef>> {
        auto rows = tx.Query(
            "SELECT DISTINCT person_type, person_id FROM notify_digest_items WHERE message_id IS NULL"
            " ORDER BY person_type, person_id LIMIT $1",
            {kDigestPeoplePerRunMax});
        if (!rows.ok()) return std::move(rows).error();
        std::vector<PersonRef> list;
        for (const storage::Row& row : rows->rows) list.push_back({row.Text(0), row.Int(1)});
        return list;
      });
  if (!people.ok()) return std::move(people).error();
  DigestRun run;
  for (const PersonRef& person : *people) {
    auto compiled = database.Transact<Compiled>(TransactionMode::kWrite, [&](Transaction& tx) {
      return CompileOne(tx, contacts, templates, person, now_ms);
    });
    if (!compiled.ok()) return std::move(compiled).error();
    ++run.people;
    if (compiled->message) ++run.messages;
    run.items += compiled->items;
  }
  return run;
}

void RegisterDigestJob(jobs::Runner& runner, storage::Database& database, const Clock& clock,
                       const ContactDirectory& contacts, const TemplateCatalog& templates) {
  runner.Register(std::string(kDigestJob), [&database, &clock, &contacts, &templates](const jobs::JobRecord&) {
    auto run = CompileDigests(database, contacts, templates, clock.NowMs());
    if (!run.ok()) return Status(std::move(run).error());
    return OkStatus();
  });
  runner.Every(std::string(kDigestJob), kDigestIntervalMs);
}

}  // namespace guichet::notify
