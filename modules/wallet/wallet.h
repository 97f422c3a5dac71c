// Wallet use cases around holders (W1, W2, W3 subset, W5, W11, W12): holder accounts created by
// their institution (one at a time or by an XML upload), profile updates with history,
// activation and deactivation for good, holder login, supports and oppositions, counters and
// thresholds set by the national admin, the holder's statement and the managers' search and
// history. Money movements themselves are in accounts.h.
//
// Every use case checks the caller's rights on the organisation concerned, answers 404 for
// holders outside the caller's subtree, and records what it changed in the audit trail in the
// same transaction.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modules/wallet/accounts.h"
#include "platform/base/clock.h"
#include "platform/identity/password.h"
#include "platform/identity/rights.h"

namespace guichet::wallet {

// ---- Limits -----------------------------------------------------------------------------------

inline constexpr int64_t kTextFieldLengthMax = 100;   // names, ids, tariff profile
inline constexpr int64_t kEmailLengthMax = 254;
inline constexpr int64_t kPhoneLengthMax = 20;        // +33612345678
inline constexpr int64_t kSupportNumberLengthMax = 40;
inline constexpr int64_t kTechnologyLengthMax = 40;
inline constexpr int64_t kSupportsPerHolderMax = 10;
inline constexpr int64_t kSearchPageMax = 100;
inline constexpr int64_t kStatementPageMax = 200;
inline constexpr int64_t kExportLinesMax = 10000;  // statement lines and changes in an export
inline constexpr int64_t kCounterTextLengthMax = 2000;  // information texts
inline constexpr int64_t kCounterLabelLengthMax = 40;
inline constexpr int64_t kThresholdCentsMax = int64_t{100'000'000};  // 1 000 000 €
inline constexpr int64_t kQrLifetimeSMax = 24 * 3600;
// Activation: a link lives until shortly after the next weekly resend.
inline constexpr int64_t kActivationResendMs = int64_t{7} * 24 * 3600 * 1000;
inline constexpr int64_t kActivationLinkMs = int64_t{8} * 24 * 3600 * 1000;
inline constexpr size_t kTokenBytes = 32;
// Holder sessions.
inline constexpr int64_t kHolderSessionIdleMs = int64_t{30} * 60 * 1000;
inline constexpr int64_t kHolderSessionAbsoluteMs = int64_t{12} * 3600 * 1000;
// Holder login throttling, as for staff: this many consecutive failures lock the login.
inline constexpr int64_t kHolderLoginFailuresMax = 5;
inline constexpr int64_t kHolderLockoutMs = int64_t{15} * 60 * 1000;

// ---- Permissions (declared in DeclarePermissions, bundled by app/catalog.cpp) ---------------

namespace right {
inline constexpr std::string_view kCreate = "wallet.holders.create";        // create, upload
inline constexpr std::string_view kRead = "wallet.holders.read";            // search, history
inline constexpr std::string_view kUpdate = "wallet.holders.update";        // profile, resend
inline constexpr std::string_view kOppose = "wallet.holders.oppose";        // block, oppose
inline constexpr std::string_view kReactivate = "wallet.holders.reactivate";  // admins only
inline constexpr std::string_view kSettings = "wallet.settings.manage";     // counters, thresholds
}  // namespace right

void DeclarePermissions(identity::RightsCatalog& catalog);

// ---- Inputs -----------------------------------------------------------------------------------

struct SupportInput {
  std::string number;
  std::string technology;
  bool is_virtual = false;
};

struct NewHolder {
  int64_t organisation_id = 0;
  std::string university_id, ine, tariff_profile, last_name, first_name, email;
  std::string birth_date, phone, language = "fr", end_of_validity;
  std::vector<SupportInput> supports;
  // Set-up only (demo data, migrations from a predecessor), for the system caller: the account
  // is active at once with this password and no activation message is sent.
  std::optional<std::string> initial_password;
};

// Fields left empty are not changed. Supports listed are added (a known number is ignored).
struct HolderChange {
  std::optional<int64_t> organisation_id;
  std::optional<std::string> university_id, ine, tariff_profile, last_name, first_name, email;
  std::optional<std::string> birth_date, phone, language, end_of_validity;
  std::vector<SupportInput> supports;
};

// Validation shared by the JSON API and the XML upload; pointers are relative ("/email").
Status ValidateNewHolder(const NewHolder& holder);
Status ValidateChange(const HolderChange& change);

struct SearchQuery {
  std::optional<std::string> last_name, first_name, birth_date, support_number, university_id;
  std::optional<std::string> state, opposition;
  int64_t limit = 50;
  std::optional<int64_t> after_id;
};

struct StatementQuery {
  std::optional<std::string> counter;
  std::optional<std::string> kind;
  std::optional<int64_t> from_ms, to_ms;  // inclusive, exclusive
  std::optional<int64_t> before_id;       // page backwards
  int64_t limit = 50;
};

struct StatementLine {
  int64_t id = 0;
  int64_t at_ms = 0;
  std::string counter, direction, kind, mode, label, transfer_id;
  int64_t amount = 0, fee = 0, balance_after = 0;
  std::string support_number;  // empty when no support was used
};

struct ProfileChange {
  int64_t id = 0;
  std::string field;
  std::optional<std::string> old_value, new_value;
  std::string source, actor_type;
  std::optional<int64_t> actor_id;
  int64_t at_ms = 0;
};

struct CounterInput {
  std::string code;
  std::optional<std::string> nature, token_name, information_fr, information_en;
  std::optional<std::string> labels[kDateTimeFields];
  std::optional<bool> active;
};

struct ThresholdsInput {
  std::vector<std::pair<std::string, int64_t>> max_transaction;  // support type ("*") → cents
  std::optional<int64_t> max_reload, max_balance, qr_lifetime_s;
};

struct ActivationTokens {
  std::string session_token;
  std::string csrf_token;
  Holder holder;
};

struct WalletOptions {
  identity::PasswordHashOptions password_hash;
  std::string public_url = "http://localhost:8080";  // where links in messages point
  // W10: where the institution is told of a closure; empty: the regional administrators of
  // the holder's region (and above).
  std::string closure_notice_email;
};

// W10: inactivity. After 18 months without activity, a holder with euros is told that a fee
// will be charged 18 days later (at most 3 € a year, within the balance); a holder without
// euros is told that the account will be deleted 18 days later.
inline constexpr int64_t kInactivityMs = int64_t{548} * 24 * 3600 * 1000;  // 18 months
inline constexpr int64_t kNoticeMs = int64_t{18} * 24 * 3600 * 1000;       // 18 days
inline constexpr int64_t kInactivityFeeYearMs = int64_t{365} * 24 * 3600 * 1000;
inline constexpr int64_t kInactivityFeeCentsPerYear = 300;
inline constexpr int64_t kInactivityBatchMax = 500;  // holders looked at per job run

struct InactivityReport {
  int64_t fee_notices = 0, fees_charged = 0, deletion_notices = 0, deleted = 0;
};

// ---- Use cases --------------------------------------------------------------------------------

// W20: opposes a support temporarily on behalf of the service (a fraud rule named `rule`), in
// the caller's transaction, audited as the system. False when it was opposed already.
Result<bool> OpposeSupportForFraud(storage::Transaction& tx, int64_t support_id, std::string_view rule,
                                   int64_t now_ms);

class Wallet {
 public:
  Wallet(storage::Database& database, const Clock& clock, const identity::Authorizer& authorizer,
         WalletOptions options);

  // W1. Creation: holder_duplicate (409, same university id in the institution or same
  // e-mail), support_duplicate (409), validation_failed (422), organisation_not_found (404).
  Result<Holder> CreateHolder(const identity::Caller& caller, const NewHolder& request,
                              std::string_view source = "api");
  Result<Holder> UpdateHolder(const identity::Caller& caller, int64_t holder_id,
                              const HolderChange& change, std::string_view source = "api");
  // The holder of an institution by its university id (upload updates), in the caller's scope.
  Result<std::optional<int64_t>> HolderByUniversityId(const identity::Caller& caller,
                                                      int64_t organisation_id,
                                                      std::string_view university_id);
  Result<Holder> GetHolder(const identity::Caller& caller, int64_t holder_id);
  Result<std::vector<Holder>> Search(const identity::Caller& caller, const SearchQuery& query);
  Result<std::vector<ProfileChange>> ProfileHistory(const identity::Caller& caller, int64_t holder_id);
  Result<std::vector<StatementLine>> HolderStatement(const identity::Caller& caller, int64_t holder_id,
                                                     const StatementQuery& query);
  Result<std::vector<HolderAccount>> Accounts(const identity::Caller& caller, int64_t holder_id);

  // W12: block an account or oppose a support, temporarily or for good; reactivation by
  // admins only (a permanent opposition is final: opposition_permanent, 409).
  Result<Holder> OpposeHolder(const identity::Caller& caller, int64_t holder_id, Opposition kind);
  Result<Holder> ReactivateHolder(const identity::Caller& caller, int64_t holder_id);
  Result<Support> OpposeSupport(const identity::Caller& caller, int64_t support_id, Opposition kind);
  Result<Support> ReactivateSupport(const identity::Caller& caller, int64_t support_id);
  Result<std::vector<std::pair<Support, Holder>>> OpposedSupports(const identity::Caller& caller,
                                                                  int64_t limit,
                                                                  std::optional<int64_t> after_id);

  // W2. A manager resends the activation message.
  Status ResendActivation(const identity::Caller& caller, int64_t holder_id);
  // Public: the holder sets a password with the link's token (single use) and is logged in.
  Result<ActivationTokens> Activate(std::string_view token, std::string_view password,
                                    std::string_view request_id);
  // Public: the holder deactivates for good; personal data is erased, support numbers kept.
  Status DeactivateForGood(std::string_view token, std::string_view request_id);
  // Job: resends the message to holders still pending a week after the last one.
  Result<int64_t> ResendDueActivations();

  // Holder login and sessions.
  Result<ActivationTokens> HolderLogin(std::string_view email, std::string_view password,
                                       std::string_view request_id);
  struct HolderSession {
    int64_t holder_id = 0;
    std::string csrf_token;
  };
  Result<HolderSession> AuthenticateHolder(std::string_view session_token);
  // The active holder with this e-mail and password: login_failed (401) or account_locked
  // (429) after kHolderLoginFailuresMax failures in a row, for kHolderLockoutMs.
  Result<int64_t> VerifyHolderPassword(std::string_view email, std::string_view password,
                                       std::string_view request_id);
  Status HolderLogout(std::string_view session_token);

  // The holder's own view (a holder session).
  Result<Holder> Me(int64_t holder_id);
  Result<std::vector<HolderAccount>> MyAccounts(int64_t holder_id);
  Result<std::vector<StatementLine>> MyStatement(int64_t holder_id, const StatementQuery& query);
  Result<Holder> OpposeMyAccount(int64_t holder_id, Opposition kind, std::string_view request_id);
  Result<Support> OpposeMySupport(int64_t holder_id, int64_t support_id, Opposition kind,
                                  std::string_view request_id);

  // Everything held on the holder (GDPR access and portability): profile, supports, balances,
  // statement lines and profile history, at most privacy's kExportRowsMax rows per list.
  Result<boost::json::object> ExportMine(int64_t holder_id);

  // W10: the holder closes the account (only with a zero euro balance: balance_not_zero, 409);
  // token balances are lost and the holder is told; the institution is told.
  Result<Holder> CloseMyAccount(int64_t holder_id, std::string_view request_id);
  // W4: the holder logged in to a new account takes over an older one, proven by its e-mail
  // and password: the euro balance moves as a "federation" reload, tokens are not moved (the
  // message says so), the old account becomes "federated" and stays visible to managers.
  struct Federation {
    Holder old_account;
    int64_t euros_moved = 0;
    std::vector<std::pair<std::string, int64_t>> tokens_not_moved;
  };
  Result<Federation> FederateOldAccount(int64_t holder_id, std::string_view old_email,
                                        std::string_view old_password, std::string_view request_id);
  // The daily job: notices, inactivity fees and deletions (W10).
  Result<InactivityReport> RunInactivity();

  // W5 and W11: the national admin's settings.
  Result<std::vector<Counter>> Counters(const identity::Caller& caller);
  Result<Counter> DefineCounter(const identity::Caller& caller, const CounterInput& input);
  Result<Counter> UpdateCounter(const identity::Caller& caller, const CounterInput& input);
  Status AuthoriseCounterClient(const identity::Caller& caller, std::string_view counter_code,
                                std::string_view client_type, int64_t client_id, bool may_load,
                                bool may_debit);
  Result<Thresholds> GetThresholds(const identity::Caller& caller);
  Result<Thresholds> SetThresholds(const identity::Caller& caller, const ThresholdsInput& input);

  storage::Database& database() { return database_; }
  const Clock& clock() const { return clock_; }
  const identity::Authorizer& authorizer() const { return authorizer_; }

 private:
  storage::Database& database_;
  const Clock& clock_;
  const identity::Authorizer& authorizer_;
  const WalletOptions options_;
};

// ---- JSON forms shared by the API, the export and the upload report ------------------------

boost::json::object HolderJson(const Holder& holder);
// The export section of one holder (used by ExportMine and the privacy ExportRegistry).
Result<boost::json::object> HolderExport(storage::Transaction& tx, int64_t holder_id, int64_t now_ms);
boost::json::object SupportJson(const Support& support);
boost::json::object CounterJson(const Counter& counter);
boost::json::object AccountJson(const HolderAccount& account);
boost::json::object ThresholdsJson(const Thresholds& thresholds);
boost::json::object StatementLineJson(const StatementLine& line);

}  // namespace guichet::wallet
