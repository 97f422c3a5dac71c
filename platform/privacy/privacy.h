// Personal data protection (requirement C10, GDPR): consent records with the exact wording
// shown, the export of everything held on a person (access, portability), erasure that keeps
// what the law says must be kept, retention purges, and the register of processing
// (article 30).
//
// Each piece of the platform and each module contributes to three registries held by
// Privacy, filled before serving starts and read-only afterwards:
//   - ExportRegistry: a section of the export ("account", "wallet.transactions"…);
//   - ErasureRegistry: what a piece erases, and what it must keep for a while (a ledger keeps
//     financial history for its legal retention; an open dispute may block erasure);
//   - ProcessingRegister: the processing activities the piece carries out.
// The platform's own entries (staff accounts, sessions, audit trail, consents) are added by
// the Privacy constructor.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "platform/base/clock.h"
#include "platform/base/result.h"
#include "platform/identity/rights.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::jobs {
class Runner;
}

namespace guichet::privacy {

// Consent inputs.
inline constexpr int64_t kPurposeLengthMax = 40;    // [a-z0-9_.-]
inline constexpr int64_t kWordingLengthMax = 4000;  // characters: the text shown, in full
inline constexpr int64_t kWordingVersionLengthMax = 40;
inline constexpr int64_t kConsentRowsPerPersonMax = 10000;  // upper clamp of the option below
// Export: rows per section (a section that reaches it says "truncated": true).
inline constexpr int64_t kExportRowsMax = 1000;
inline constexpr int64_t kExportActorEntriesMax = 10000;  // audit entries where one is the actor
// Ids per PeopleWithoutConsent call.
inline constexpr int64_t kPeopleWithoutConsentMax = 1000;
// Erasure.
inline constexpr int64_t kErasureReasonLengthMax = 500;
// Retention purges: the most rows one run of one purge deletes (one short write transaction).
inline constexpr int64_t kPurgeRowsMax = 10000;
// A purge that reached its bound runs again this much later, so a backlog drains in steps.
inline constexpr int64_t kPurgeContinueDelayMs = int64_t{60} * 1000;

// Whose data: person_type "staff" (users) for now; holders, visitors and families come with
// their modules.
inline constexpr std::string_view kStaff = "staff";

struct PersonRef {
  std::string type;  // "staff"
  int64_t id = 0;
};

// ---- Consents --------------------------------------------------------------------------------

struct Consent {
  int64_t id = 0;
  PersonRef person;
  std::string purpose;  // "alerts", "newsletter", "surveys"
  std::string channel;  // "email", "sms", "push"
  bool granted = false;
  std::string wording;  // the exact text the person saw
  std::string wording_version;
  std::string source;  // "web", "api", "counter"
  int64_t at_ms = 0;
  std::string request_id;
};

struct ConsentChoice {
  std::string purpose;
  std::string channel;
  bool granted = false;
  std::string wording;
  std::string wording_version;
};

struct ConsentOverview {
  std::vector<Consent> current;       // the latest choice per (purpose, channel)
  std::vector<Consent> history;       // every choice, newest first
  std::vector<std::string> purposes;  // what one may consent to (the register's purposes)
};

// The state the messages module checks before sending: granted only when the latest choice
// for (purpose, channel) says so and the person was not erased.
struct CurrentConsent {
  bool granted = false;
  bool person_erased = false;
  std::optional<Consent> latest;  // nullopt: never asked
};

Result<CurrentConsent> ConsentState(storage::Transaction& tx, std::string_view person_type,
                                    int64_t person_id, std::string_view purpose,
                                    std::string_view channel);

// Active staff with a grant under one of `organisation_paths` whose current choice for
// (purpose, channel) is not "granted" (never asked or withdrawn), by id, at most `limit`
// (clamped to 1..kPeopleWithoutConsentMax): whom not to message, or whom to ask.
Result<std::vector<int64_t>> PeopleWithoutConsent(
    storage::Transaction& tx, std::string_view purpose, std::string_view channel,
    const std::vector<std::string>& organisation_paths, int64_t limit);

// ---- Export ----------------------------------------------------------------------------------

// A section returns what it holds on the person as JSON, or null when it has nothing for this
// kind of person (null sections are left out). It must never return a secret (password hash,
// token, second-factor secret) and should not return other people's personal data.
using ExportSection =
    std::function<Result<boost::json::value>(storage::Transaction& tx, const PersonRef& person)>;

class ExportRegistry {
 public:
  // Asserts the name is new. Registration happens before serving.
  void Add(std::string name, ExportSection section);
  const std::vector<std::pair<std::string, ExportSection>>& sections() const { return sections_; }

 private:
  std::vector<std::pair<std::string, ExportSection>> sections_;
};

// ---- Erasure ---------------------------------------------------------------------------------

// What a piece must keep when a person asks for erasure.
struct ErasureHold {
  std::string section;  // "wallet.ledger"
  std::string reason;   // "financial records are kept 10 years (Code de commerce L123-22)"
  std::optional<int64_t> keep_until_ms;  // when the hold ends; nullopt: not yet known
  bool blocks_erasure = false;  // true: nothing may be erased now (an open dispute, a debt)
};

struct ErasureStep {
  std::string name;  // "wallet"
  // What must stay, if anything. Called for every step before anything is erased.
  std::function<Result<std::vector<ErasureHold>>(storage::Transaction& tx, const PersonRef& person,
                                                 int64_t now_ms)>
      check;
  // Erases or anonymises this piece's data of the person, keeping what its holds name.
  std::function<Status(storage::Transaction& tx, const PersonRef& person, int64_t now_ms)> erase;
};

class ErasureRegistry {
 public:
  // Asserts the name is new and both functions are given. Registration happens before serving.
  void Add(ErasureStep step);
  const std::vector<ErasureStep>& steps() const { return steps_; }

 private:
  std::vector<ErasureStep> steps_;
};

struct ErasureReport {
  PersonRef person;
  int64_t erased_at_ms = 0;
  std::vector<ErasureHold> holds;  // what was kept, and until when
};

// ---- Register of processing (GDPR article 30) ------------------------------------------------

struct ProcessingActivity {
  std::string code;  // "platform.staff_accounts"
  std::string name;
  std::string purpose;
  std::string legal_basis;  // the GDPR article 6 basis, in words
  std::vector<std::string> data_subjects;
  std::vector<std::string> data_categories;
  std::string retention;
  std::vector<std::string> recipients;
  std::string transfers = "None outside the European Union.";
  std::string security;
  // Purposes a person opts in to one by one (legal basis: consent): consents are recorded
  // only for a purpose some activity declares here.
  std::vector<std::string> consent_purposes;
};

class ProcessingRegister {
 public:
  // Asserts the code is new and the required texts are given. Registration happens before
  // serving.
  void Add(ProcessingActivity activity);
  const std::vector<ProcessingActivity>& activities() const { return activities_; }
  bool IsConsentPurpose(std::string_view purpose) const;
  std::vector<std::string> ConsentPurposes() const;

 private:
  std::vector<ProcessingActivity> activities_;
};

// ---- JSON forms, shared by the export and the API -------------------------------------------

boost::json::object ConsentJson(const Consent& consent);
boost::json::array ConsentsJson(const std::vector<Consent>& consents);
boost::json::array HoldsJson(const std::vector<ErasureHold>& holds);

// ---- Options, migrations, permissions --------------------------------------------------------

struct RetentionOptions {
  int64_t purge_interval_s = int64_t{24} * 3600;  // how often each purge runs
  int64_t purge_rows_max = kPurgeRowsMax;  // rows one run of one purge deletes (1..kPurgeRowsMax)
  int64_t expired_sessions_keep_s = 0;     // sessions are deleted this long after they expire
  int64_t password_resets_keep_days = 30;  // reset links: after use or expiry
};

struct PrivacyOptions {
  RetentionOptions retention;
  int64_t consent_rows_per_person_max =
      1000;  // choices kept per person (1..kConsentRowsPerPersonMax)
};

// Brings options into their documented ranges.
RetentionOptions Clamped(RetentionOptions options);
PrivacyOptions Clamped(PrivacyOptions options);

// Component "platform.privacy": consents (append-only) and privacy_erasures.
std::vector<storage::Migration> Migrations();

// privacy.export and privacy.erase, for the catalog.
void DeclarePermissions(identity::RightsCatalog& catalog);

// ---- Use cases -------------------------------------------------------------------------------

class Privacy {
 public:
  Privacy(storage::Database& database, const Clock& clock, const identity::Authorizer& authorizer,
          PrivacyOptions options = {});

  // Modules add their sections, steps and activities here before serving.
  ExportRegistry& exports() { return exports_; }
  ErasureRegistry& erasures() { return erasures_; }
  ProcessingRegister& processing() { return processing_; }
  const ProcessingRegister& processing() const { return processing_; }

  Result<ConsentOverview> MyConsents(const identity::Caller& caller);
  Result<Consent> RecordMyConsent(const identity::Caller& caller, const ConsentChoice& choice);

  // The whole export document of the caller, or of a staff member in the caller's
  // privacy.export scope (404 outside, as for staff accounts). Both are audited.
  Result<boost::json::object> ExportMine(const identity::Caller& caller);
  Result<boost::json::object> ExportStaff(const identity::Caller& caller, int64_t id);

  // Anonymises the account, redacts the audit data about it, lets every registered step erase
  // its part, and records the erasure, in one transaction. Needs privacy.erase over the person
  // and the same control as deleting the account (never oneself, never someone holding more).
  // A deleted account can still be erased, by those whose scope holds its audit history. The
  // reason stays in the audit trail: it says why, and should not name the person.
  Result<ErasureReport> EraseStaff(const identity::Caller& caller, int64_t id,
                                   std::string_view reason);

 private:
  Result<boost::json::object> Export(storage::Transaction& tx, const identity::Caller& caller,
                                     int64_t id, std::optional<int64_t> organisation_id,
                                     int64_t now_ms);

  storage::Database& database_;
  const Clock& clock_;
  const identity::Authorizer& authorizer_;
  const PrivacyOptions options_;
  ExportRegistry exports_;
  ErasureRegistry erasures_;
  ProcessingRegister processing_;
};

// ---- Retention purges ------------------------------------------------------------------------

// Each deletes at most `rows_max` rows and returns how many it deleted.
Result<int64_t> PurgeExpiredSessions(storage::Transaction& tx, int64_t expired_before_ms,
                                     int64_t rows_max);
Result<int64_t> PurgePasswordResets(storage::Transaction& tx, int64_t finished_before_ms,
                                    int64_t rows_max);

// Daily jobs "privacy.purge.sessions" and "privacy.purge.password_resets". Outbox rows are not
// purged here: the messages module owns them. `database` and `clock` must outlive the runner.
void RegisterRetentionJobs(jobs::Runner& runner, storage::Database& database, const Clock& clock,
                           RetentionOptions options);

}  // namespace guichet::privacy
