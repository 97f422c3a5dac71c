// The wallet's money in and out (W6, W7, W8), on wallet-core's model (accounts.h): card reloads
// through a card acquirer's hosted payment page (credited at once on its signed notification,
// idempotent; refusal; saved cards as tokens; chargeback → reversal through the ledger and
// automatic opposition of the account with a recovery record), third-party reloads by a
// self-contained signed link paid by card without an account, account-to-account transfers,
// cash packs recorded by an authorised point, and refunds by SEPA credit transfer collected
// into pain.001 files for the bank.
//
// Every movement goes through MoveHolder / TransferBetweenHolders (ledger, movement row, audit,
// alert in the outbox, all in one transaction).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modules/wallet/wallet.h"
#include "platform/banking/sepa_xml.h"
#include "platform/payments/payment_provider.h"

namespace guichet::wallet {

inline constexpr int64_t kReloadLinkValidityMsDefault = int64_t{7} * 24 * 3600 * 1000;
inline constexpr int64_t kReloadLinkValidityMsMax = int64_t{30} * 24 * 3600 * 1000;
inline constexpr int64_t kCashPacksCents[] = {500, 1000, 2000};
inline constexpr int64_t kSavedCardsPerHolderMax = 5;
inline constexpr int64_t kClientIdLengthMax = 64;

namespace right {
inline constexpr std::string_view kCashRecord = "wallet.cash.record";  // cash packs at a point
inline constexpr std::string_view kSepaManage = "wallet.sepa.manage";  // SEPA files for the bank
}  // namespace right
void DeclareMoneyPermissions(identity::RightsCatalog& catalog);

struct MoneyOptions {
  int64_t card_reload_min_cents = 3000;   // W7: 30 €, may only be raised
  int64_t card_fee_below_min_cents = 0;   // 0: reloads below the minimum are refused
  int64_t refund_min_cents = 0;           // W8: never applies to a full-balance refund
  std::string public_url;                 // "http://127.0.0.1:8080"
  std::string link_secret;                // HMAC key of reload links
  banking::InstitutionAccount account;    // refunds are paid from it
  std::string initiating_party = "Guichet";
};

enum class CardPaymentStatus { kPending, kAuthorised, kRefused, kCancelled, kChargedBack, kCreditFailed };
std::string_view CardPaymentStatusName(CardPaymentStatus status);

struct CardPayment {
  int64_t id = 0;
  std::string reference;
  int64_t holder_id = 0;
  int64_t amount = 0;
  int64_t fee = 0;
  std::string mode;  // "card" (the holder), "link" (a third party), "saved_card"
  std::string status;
  std::string provider_payment_id;
  std::string redirect_url;
  std::string failure_code;
  int64_t created_at_ms = 0;
};

struct SavedCard {
  int64_t id = 0;
  std::string brand, last4;
  int64_t created_at_ms = 0;
};

struct CardReloadRequest {
  int64_t amount = 0;
  bool save_card = false;
  std::optional<int64_t> saved_card_id;  // merchant-initiated payment with a saved card
};

struct NotificationOutcome {
  std::string reference;
  std::string status;
  bool replayed = false;
};

struct ReloadLink {
  std::string token;
  std::string url;
  int64_t holder_id = 0;
  std::optional<int64_t> amount;
  int64_t expires_at_ms = 0;
};

struct Refund {
  int64_t id = 0;
  int64_t holder_id = 0;
  int64_t amount = 0;
  bool full_balance = false;
  std::string iban, bic, name;
  std::string status;  // requested, exported
  std::optional<int64_t> file_id;
  std::string end_to_end_id;
  int64_t created_at_ms = 0;
};

struct RefundRequest {
  std::optional<int64_t> amount;  // absent with full_balance
  bool full_balance = false;
  std::string iban, bic, name;
};

struct SepaFile {
  int64_t id = 0;
  int64_t organisation_id = 0;
  std::string kind;  // "pain.001.001.09", "pain.008.001.08"
  std::string message_id;
  int64_t count = 0;
  int64_t total = 0;
  std::string execution_date;
  std::string xml;  // empty in lists
  int64_t created_at_ms = 0;
};

struct Recovery {
  int64_t id = 0;
  int64_t holder_id = 0;
  std::string reason;  // "card_chargeback"
  std::string reference;
  int64_t amount_due = 0;
  std::string status;
  int64_t created_at_ms = 0;
};

class Money {
 public:
  Money(Wallet& wallet, payments::PaymentProvider& provider, MoneyOptions options);

  // Card reloads by the holder. below_minimum (422), threshold_exceeded (422: max_reload,
  // max_balance), holder_opposed / holder_not_active (409), card_not_found (404),
  // acquirer_unavailable (503).
  Result<CardPayment> StartCardReload(int64_t holder_id, const CardReloadRequest& request);
  Result<CardPayment> MyCardPayment(int64_t holder_id, std::string_view reference);
  Result<std::vector<SavedCard>> MySavedCards(int64_t holder_id);
  Status ForgetSavedCard(int64_t holder_id, int64_t card_id);

  // The acquirer's signed notification: notification_signature_invalid (400),
  // notification_malformed (400), payment_not_found (404), amount_mismatch (422). The same
  // event twice is answered as a replay and changes nothing.
  Result<NotificationOutcome> HandleNotification(std::string_view signature, std::string_view body);

  // Third-party reload links: self-contained "<holder>.<amount|0>.<expires_ms>.<nonce>.<hmac>".
  Result<ReloadLink> CreateReloadLink(int64_t holder_id, std::optional<int64_t> amount,
                                      std::optional<int64_t> validity_ms);
  // link_invalid (404: forged or unknown), link_expired (404: gone, say so).
  Result<ReloadLink> ReadReloadLink(std::string_view token);
  // The payer's amount when the link has none; amount_mismatch (422) when it has another.
  Result<CardPayment> StartLinkReload(std::string_view token, std::optional<int64_t> amount);

  // Account-to-account, euro only, free: the recipient by e-mail or support number.
  Result<MovementResult> TransferToHolder(int64_t holder_id, std::string_view recipient,
                                          int64_t amount, std::string_view client_id);

  // Cash pack of 5, 10 or 20 € at an authorised point (right wallet.cash.record on the holder's
  // institution): cash_pack_invalid (422), support_not_found (404).
  Result<MovementResult> RecordCashPack(const identity::Caller& caller, std::string_view support_number,
                                        int64_t pack_cents, std::string_view operation_id);

  // W8: debits the wallet at once (to the SEPA clearing account) and queues the transfer.
  // refund_below_minimum (422), insufficient_funds (422), iban_* / bic_malformed (422).
  Result<Refund> RequestRefund(int64_t holder_id, const RefundRequest& request);
  Result<std::vector<Refund>> MyRefunds(int64_t holder_id);
  // Collects every requested refund of the organisation's subtree into one pain.001 file.
  // nothing_to_export (409).
  Result<SepaFile> ExportRefunds(const identity::Caller& caller, int64_t organisation_id);
  Result<std::vector<SepaFile>> SepaFiles(const identity::Caller& caller);
  Result<SepaFile> GetSepaFile(const identity::Caller& caller, int64_t file_id);
  Result<std::vector<Recovery>> Recoveries(const identity::Caller& caller);

  const MoneyOptions& options() const { return options_; }
  // Once the listening port is known (settings without public_url); before requests are served.
  void SetPublicUrl(std::string url) { options_.public_url = std::move(url); }
  Wallet& wallet() { return wallet_; }

 private:
  Result<CardPayment> StartPayment(int64_t holder_id, int64_t amount, std::string mode, bool save_card,
                                   std::optional<std::string> card_token);

  Wallet& wallet_;
  payments::PaymentProvider& provider_;
  MoneyOptions options_;
};

std::vector<storage::Migration> MoneyMigrations();

boost::json::object CardPaymentJson(const CardPayment& payment);
boost::json::object RefundJson(const Refund& refund);
boost::json::object SepaFileJson(const SepaFile& file);

}  // namespace guichet::wallet
