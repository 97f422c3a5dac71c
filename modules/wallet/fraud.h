// Fraud detection on the acceptance network (W20). Rules, configurable per organisation and
// inherited down the tree (a region overrides the national rule of the same kind; built-in
// defaults apply where nobody set one), are evaluated by a periodic scan over what points did:
//
//   velocity   too many debits by one support (or one holder paying by QR / web code) within
//              a window;
//   refusals   too many refused operations for one payer within a window (probing, a stolen
//              card tried at several tills);
//   distance   one support paying at two distant sites within a window (a cloned card); two
//              points are at distant sites when the first `site_depth` segments of their
//              locations (Crous-UG-RU-UD-Caisse) differ;
//   amount     one debit at or above an amount;
//   qr_replay  a phone's one-time codes presented again, too many times within a window.
//
// A rule that fires opens an alert (at most one per rule and subject within the rule's
// window), e-mails the national and regional admins who read fraud alerts over the point's
// region, and, when the rule's action is `oppose`, opposes the support at once (temporary
// opposition, audited as the system with the rule's name; a QR phone's own support for
// qr_replay). The scan follows the rows' ids with a cursor; rows younger than kFraudScanLagMs
// are left for the next scan so that one committed late is not skipped.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modules/wallet/wallet.h"
#include "platform/storage/migrations.h"

namespace guichet::jobs {
class Runner;
}
namespace guichet::notify {
class TemplateCatalog;
}

namespace guichet::wallet {

namespace right {
inline constexpr std::string_view kFraudRead = "wallet.fraud.read";      // alerts and rules
inline constexpr std::string_view kFraudManage = "wallet.fraud.manage";  // set rules, close
}  // namespace right
void DeclareFraudPermissions(identity::RightsCatalog& catalog);

// Limits.
inline constexpr int64_t kFraudCountMax = 10'000;
inline constexpr int64_t kFraudWindowSMax = int64_t{7} * 24 * 3600;
inline constexpr int64_t kFraudAmountCentsMax = int64_t{100'000'000};
inline constexpr int64_t kFraudSiteDepthMax = 8;
inline constexpr int64_t kFraudNoteLengthMax = 1000;
inline constexpr int64_t kFraudScanRowsMax = 2000;   // rows read per scan step
inline constexpr int64_t kFraudScanStepsMax = 50;    // steps per job run
inline constexpr int64_t kFraudScanLagMs = 5000;     // rows younger than this wait
inline constexpr int64_t kFraudAlertListMax = 500;
inline constexpr int64_t kFraudScanEveryMsDefault = 30'000;
inline constexpr std::string_view kFraudScanJob = "wallet.fraud.scan";
inline constexpr std::string_view kFraudAlertTemplate = "wallet.fraud_alert";

enum class FraudRuleKind { kVelocity, kRefusals, kDistance, kAmount, kQrReplay };
inline constexpr FraudRuleKind kFraudRuleKinds[] = {FraudRuleKind::kVelocity,
                                                    FraudRuleKind::kRefusals,
                                                    FraudRuleKind::kDistance,
                                                    FraudRuleKind::kAmount,
                                                    FraudRuleKind::kQrReplay};
std::string_view FraudRuleKindName(FraudRuleKind kind);
std::optional<FraudRuleKind> ParseFraudRuleKind(std::string_view name);

enum class FraudAction { kAlert, kOppose };

struct FraudRule {
  FraudRuleKind kind = FraudRuleKind::kVelocity;
  bool enabled = true;
  int64_t count = 0;         // velocity, refusals, qr_replay: fires at this many in the window
  int64_t window_s = 0;      // velocity, refusals, distance, qr_replay
  int64_t amount_cents = 0;  // amount: fires at a debit of at least this (euro counter)
  int64_t site_depth = 0;    // distance: location segments that name a site
  FraudAction action = FraudAction::kAlert;
  // Where the rule is set; none: the built-in default.
  std::optional<int64_t> organisation_id;
  std::string organisation_path;
};

// The built-in rule of a kind (used where no organisation above set one).
FraudRule DefaultFraudRule(FraudRuleKind kind);
// A rule's parameters are in range for its kind; validation_failed with the field otherwise.
Status ValidateFraudRule(const FraudRule& rule);

struct FraudAlert {
  int64_t id = 0;
  int64_t organisation_id = 0;
  std::string rule;     // the kind's name
  std::string subject;  // "support:12", "holder:7", "payer:support:6012…", "phone:3"
  std::optional<int64_t> holder_id, support_id, phone_id, point_id;
  std::string summary;       // in words, for the list and the e-mail
  boost::json::object facts;  // what the rule saw: counts, points, amounts, times
  std::string action_taken;   // none | support_opposed
  std::string state;          // open | closed
  int64_t created_at_ms = 0;
  std::optional<int64_t> closed_at_ms;
  std::optional<int64_t> closed_by;
  std::string note;
};

struct FraudScanReport {
  int64_t transactions = 0;   // point operations looked at
  int64_t qr_refusals = 0;    // QR refusals looked at
  int64_t alerts = 0;         // alerts opened
  int64_t oppositions = 0;    // supports opposed
};

class Fraud {
 public:
  explicit Fraud(Wallet& wallet);

  // Rules in force at an organisation, one per kind, with where each comes from.
  Result<std::vector<FraudRule>> Rules(const identity::Caller& caller, int64_t organisation_id);
  // Sets the organisation's own rule of that kind (it overrides the rules above it).
  Result<FraudRule> SetRule(const identity::Caller& caller, int64_t organisation_id,
                            const FraudRule& rule);
  // Removes the organisation's own rule: the one above applies again.
  Status ClearRule(const identity::Caller& caller, int64_t organisation_id, FraudRuleKind kind);

  // Alerts over organisations the caller reads alerts in, newest first.
  Result<std::vector<FraudAlert>> Alerts(const identity::Caller& caller, std::string_view state,
                                         int64_t limit);
  Result<FraudAlert> GetAlert(const identity::Caller& caller, int64_t alert_id);
  Result<FraudAlert> CloseAlert(const identity::Caller& caller, int64_t alert_id,
                                std::string_view note);

  // Evaluates the rules over what happened since the last scan (the job; also on demand).
  Result<FraudScanReport> Scan();

 private:
  Wallet& wallet_;
};

std::vector<storage::Migration> FraudMigrations();
void AddFraudTemplates(notify::TemplateCatalog& catalog);
void RegisterFraudJobs(jobs::Runner& runner, Fraud& fraud, int64_t every_ms);

boost::json::object FraudRuleJson(const FraudRule& rule);
boost::json::object FraudAlertJson(const FraudAlert& alert);

}  // namespace guichet::wallet
