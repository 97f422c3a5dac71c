// The wallet's jobs and its entries in the privacy registries.
#include <fmt/format.h>

#include <boost/json/array.hpp>

#include "modules/wallet/wallet_http.h"
#include "platform/jobs/jobs.h"
#include "platform/notify/contacts.h"
#include "platform/base/log.h"
#include "platform/privacy/privacy.h"

namespace guichet::wallet {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;
using storage::Row;
using storage::Transaction;

constexpr int64_t kFinancialRetentionYears = 10;
constexpr int64_t kYearMs = int64_t{365} * 24 * 3600 * 1000;

}  // namespace

void RegisterJobs(jobs::Runner& runner, Wallet& wallet, Uploads& uploads) {
  uploads.RegisterJobs(runner);
  runner.Register("wallet.activation_resend", [&wallet](const jobs::JobRecord&) -> Status {
    auto sent = wallet.ResendDueActivations();
    if (!sent.ok()) return std::move(sent).error();
    if (*sent > 0) log::Info("wallet activation messages resent", {{"count", *sent}});
    return OkStatus();
  });
  runner.Every("wallet.activation_resend", kActivationResendEveryMs);
  runner.Register("wallet.inactivity", [&wallet](const jobs::JobRecord&) -> Status {
    auto report = wallet.RunInactivity();
    if (!report.ok()) return std::move(report).error();
    log::Info("wallet inactivity", {{"fee_notices", report->fee_notices}, {"fees_charged", report->fees_charged},
                                    {"deletion_notices", report->deletion_notices}, {"deleted", report->deleted}});
    return OkStatus();
  });
  runner.Every("wallet.inactivity", kInactivityEveryMs);
}

void RegisterContacts(notify::ContactDirectory& directory) {
  directory.Add(std::string(kPersonType), [](Transaction& tx, int64_t person_id) -> Result<std::optional<notify::Contact>> {
    auto found = FindHolderContact(tx, person_id);
    if (!found.ok()) return std::move(found).error();
    if (!found->has_value()) return std::optional<notify::Contact>();
    const HolderContact& holder = **found;
    notify::Contact contact;
    contact.display_name = holder.display_name;
    contact.email = holder.email;
    contact.phone = holder.phone;
    contact.language = holder.language;
    contact.organisation_id = holder.organisation_id;
    contact.organisation_path = holder.organisation_path;
    contact.active = holder.active;
    return std::optional<notify::Contact>(std::move(contact));
  });
}

void RegisterPrivacy(privacy::Privacy& privacy) {
  privacy.exports().Add("wallet.holder", [](Transaction& tx, const privacy::PersonRef& person) -> Result<value> {
    if (person.type != kPersonType) return value(nullptr);
    auto holder = FindHolder(tx, person.id);
    if (!holder.ok()) return std::move(holder).error();
    if (!holder->has_value()) return value(nullptr);
    // Read-only: balances of accounts not created yet are zero and left out.
    auto section = HolderExport(tx, person.id, 0);
    if (!section.ok()) return std::move(section).error();
    return value(std::move(*section));
  });
  privacy.erasures().Add(privacy::ErasureStep{
      "wallet",
      [](Transaction& tx, const privacy::PersonRef& person, int64_t now_ms) -> Result<std::vector<privacy::ErasureHold>> {
        std::vector<privacy::ErasureHold> holds;
        if (person.type != kPersonType) return holds;
        auto accounts = HolderAccounts(tx, person.id, now_ms);
        if (!accounts.ok()) return std::move(accounts).error();
        bool money_left = false;
        for (const HolderAccount& account : *accounts) money_left = money_left || (account.counter.euro && account.balance > 0);
        holds.push_back({"wallet.ledger",
                         "Financial records (ledger transfers and the statement) are kept 10 years "
                         "(Code de commerce L123-22, Code monétaire et financier L561-12).",
                         now_ms + kFinancialRetentionYears * kYearMs, false});
        // A phone enrolled for QR codes is a support (its virtual support keeps its number):
        // its id, public key, status and dates stay with the operations it signed; the label
        // the holder gave it is erased, active phones are revoked and unused printed codes go.
        holds.push_back({"wallet.qr_phones",
                         "Phones enrolled for QR codes are kept like support numbers, without their "
                         "labels, as long as the financial records of the payments they made.",
                         now_ms + kFinancialRetentionYears * kYearMs, false});
        if (money_left) {
          holds.push_back({"wallet.balance", "The euro balance must be refunded or closed first.", std::nullopt, true});
        }
        return holds;
      },
      [](Transaction& tx, const privacy::PersonRef& person, int64_t now_ms) -> Status {
        if (person.type != kPersonType) return OkStatus();
        auto erased = tx.Execute(
            "UPDATE wallet_holders SET university_id = NULL, ine = NULL, tariff_profile = NULL, last_name = NULL,"
            " first_name = NULL, email = NULL, birth_date = NULL, phone = NULL, end_of_validity = NULL,"
            " password_hash = NULL, state = 'deactivated', updated_at = $1 WHERE id = $2",
            {now_ms, person.id});
        if (!erased.ok()) return std::move(erased).error();
        auto history = tx.Execute("UPDATE wallet_holder_changes SET old_value = NULL, new_value = NULL"
                                  " WHERE holder_id = $1",
                                  {person.id});
        if (!history.ok()) return std::move(history).error();
        auto sessions = tx.Execute("DELETE FROM wallet_holder_sessions WHERE holder_id = $1", {person.id});
        if (!sessions.ok()) return std::move(sessions).error();
        // As when a phone is revoked: its virtual support is opposed for good.
        auto phone_supports = tx.Execute(
            "UPDATE wallet_supports SET opposition = 'permanent', opposed_at = $1, updated_at = $1"
            " WHERE id IN (SELECT support_id FROM wallet_qr_phones WHERE holder_id = $2 AND status = 'active')",
            {now_ms, person.id});
        if (!phone_supports.ok()) return std::move(phone_supports).error();
        auto phones = tx.Execute(
            "UPDATE wallet_qr_phones SET label = '', status = 'revoked', revoked_at = COALESCE(revoked_at, $1),"
            " revoked_by = COALESCE(revoked_by, 'erasure') WHERE holder_id = $2",
            {now_ms, person.id});
        if (!phones.ok()) return std::move(phones).error();
        auto printed = tx.Execute("DELETE FROM wallet_qr_printed WHERE holder_id = $1", {person.id});
        if (!printed.ok()) return std::move(printed).error();
        return OkStatus();
      }});
  privacy::ProcessingActivity activity;
  activity.code = "wallet.holder_accounts";
  activity.name = "Student payment wallet: holder accounts";
  activity.purpose =
      "Run the holders' closed-loop payment accounts: creation by their institution, activation, balances, "
      "reloads, payments, refunds, oppositions and the messages about each operation.";
  activity.legal_basis = "Performance of a task carried out in the public interest (GDPR 6(1)(e)) and the "
                         "contract of the wallet's terms of use (6(1)(b)).";
  activity.data_subjects = {"students and other holders of the institutions"};
  activity.data_categories = {"identity (names, birth date)", "university id and INE", "tariff profile",
                              "contact (e-mail, phone)", "supports (card numbers)", "balances and operations",
                              "phones enrolled for QR codes (public key, label, dates)",
                              "operations at points of sale (merchant, point, amount, state)"};
  activity.retention = "While the account is open; financial records 10 years after the operation; a holder "
                       "who deactivates for good leaves only the support numbers and the phones' public keys.";
  activity.recipients = {"the institution's managers and administrators", "the operator"};
  activity.security = "Access by rights per organisation, audit trail, Argon2id passwords, hashed session tokens.";
  privacy.processing().Add(std::move(activity));
}

}  // namespace guichet::wallet
