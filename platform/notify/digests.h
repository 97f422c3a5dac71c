// Digests (W9): alerts of people who chose a daily or weekly frequency wait as digest items;
// the job "notify.digests" compiles, per person, the items of every period that has ended
// (a Paris calendar day, or an ISO week from Monday 00:00 Europe/Paris) into one e-mail
// (template notify.digest) and marks them with the message's id, in one transaction per
// person. Items of the current period stay for the next run. A person who switched to "each"
// receives what was waiting at the next run.
#pragma once

#include <cstdint>

#include "platform/base/clock.h"
#include "platform/notify/contacts.h"
#include "platform/notify/templates.h"
#include "platform/storage/database.h"

namespace guichet::jobs {
class Runner;
}

namespace guichet::notify {

inline constexpr std::string_view kDigestJob = "notify.digests";
inline constexpr int64_t kDigestItemsMax = 500;          // per digest e-mail; more wait for the next
inline constexpr int64_t kDigestPeoplePerRunMax = 1000;  // people per run; the rest at the next
inline constexpr int64_t kDigestIntervalMs = int64_t{15} * 60 * 1000;

struct DigestRun {
  int64_t people = 0;    // people with waiting items looked at
  int64_t messages = 0;  // digest e-mails queued
  int64_t items = 0;     // items settled (sent in a digest, or dropped: nobody to write to)
};

// Compiles every digest due at `now_ms`.
Result<DigestRun> CompileDigests(storage::Database& database, const ContactDirectory& contacts,
                                 const TemplateCatalog& templates, int64_t now_ms);

// Runs CompileDigests every kDigestIntervalMs. Everything passed must outlive the runner.
void RegisterDigestJob(jobs::Runner& runner, storage::Database& database, const Clock& clock,
                       const ContactDirectory& contacts, const TemplateCatalog& templates);

}  // namespace guichet::notify
