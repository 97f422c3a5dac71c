// The wallet's one-time QR codes (W17), after Izly's offline QR: a holder's phone holds an
// Ed25519 key pair and a certificate signed by the service key binding that key to the phone
// and the holder; the phone makes codes without the network, each with a counter that goes up
// and the time it was made, signed with its own key. A point of sale verifies a code offline with
// the service's public keys and a list of revoked phones (VerifyQrOffline); the service redeems
// it once (RedeemQr: unique per phone and counter, whatever order offline points upload codes
// in). Holders without a phone ask for 1–3 printable codes made by the service itself, through
// a "print" phone whose key is derived from the service key, so they follow the same format and
// the same redemption. The format, byte by byte, is in docs/wallet-qr.md.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "modules/wallet/wallet.h"
#include "platform/base/result.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::wallet {

// ---- Format ------------------------------------------------------------------------------------

inline constexpr std::string_view kQrPrefix = "GQ1.";  // text prefix of format version 1
inline constexpr uint8_t kQrFormatVersion = 1;
inline constexpr size_t kQrKeyIdBytes = 4;  // first bytes of SHA-256(public key)
inline constexpr size_t kQrCertificateSignedBytes = 57;
inline constexpr size_t kQrCertificateBytes = 121;             // signed part + service signature
inline constexpr size_t kQrCodeSignedBytes = 129;              // certificate + counter + made-at
inline constexpr size_t kQrCodeBytes = 193;                    // + the phone's signature
inline constexpr int64_t kQrTextLengthMax = 300;               // the text is 262 characters
inline constexpr int64_t kQrCounterMax = int64_t{0xFFFFFFFF};  // u32
// How far in the future of the verifier's clock a code may be stamped (phone clocks drift).
inline constexpr int64_t kQrClockDriftS = 60;
// A phone's certificate lasts this long; the phone asks for a new one before (same key).
inline constexpr int64_t kQrCertificateLifetimeS = int64_t{180} * 24 * 3600;
inline constexpr int64_t kQrPhonesPerHolderMax = 5;  // active phones
inline constexpr int64_t kQrPhoneLabelLengthMax = 60;
inline constexpr int64_t kQrPrintedCodesMax = 3;  // per request, as Izly's portal
inline constexpr int64_t kQrPhonesListMax = 100;
// The deployment secret (platform/secrets) the service key pair is derived from.
inline constexpr std::string_view kQrServiceKeySecretName = "wallet.qr_service_key";
// The technology of the virtual support created for each phone (thresholds per support type).
inline constexpr std::string_view kQrSupportTechnology = "qr";

namespace code {
inline constexpr std::string_view kQrMalformed = "qr_malformed";
inline constexpr std::string_view kQrSignatureInvalid = "qr_signature_invalid";
inline constexpr std::string_view kQrExpired = "qr_expired";
inline constexpr std::string_view kQrNotYetValid = "qr_not_yet_valid";
inline constexpr std::string_view kQrReplayed = "qr_replayed";
inline constexpr std::string_view kQrPhoneRevoked = "qr_phone_revoked";
inline constexpr std::string_view kQrPhoneUnknown = "qr_phone_unknown";
inline constexpr std::string_view kQrPhoneNotFound = "phone_not_found";          // routes (404)
inline constexpr std::string_view kQrPhonesLimit = "phones_limit_reached";       // 409
inline constexpr std::string_view kQrPublicKeyInvalid = "public_key_invalid";    // 422
inline constexpr std::string_view kQrPrintedCodeNotFound = "qr_code_not_found";  // 404
}  // namespace code

// An Ed25519 key pair (libsodium's forms: 32-byte public key, 64-byte secret key).
struct QrKeyPair {
  std::string key_id;      // kQrKeyIdBytes raw bytes
  std::string public_key;  // 32 raw bytes
  std::string secret_key;  // 64 raw bytes
};
// The key pair whose 32-byte Ed25519 seed is `seed` (exactly 32 bytes).
QrKeyPair QrKeyPairFromSeed(std::string_view seed);
// The service's key pair from the deployment secret (any length): seed = SHA-256(secret).
QrKeyPair QrServiceKeyFromSecret(std::string_view secret);

struct QrVerifyingKey {
  std::string key_id;      // kQrKeyIdBytes raw bytes
  std::string public_key;  // 32 raw bytes
};

struct QrCertificate {
  std::string key_id;  // of the service key that signed it
  int64_t phone_id = 0;
  int64_t holder_id = 0;
  std::string phone_public_key;  // 32 raw bytes
  int64_t expires_at_s = 0;      // Unix seconds
};

struct QrCode {
  QrCertificate certificate;
  std::string certificate_bytes;  // the kQrCertificateBytes as they came
  int64_t counter = 0;
  int64_t made_at_s = 0;
  std::string bytes;  // all kQrCodeBytes
};

// The certificate's kQrCertificateBytes, signed by `service`.
std::string SignQrCertificate(const QrKeyPair& service, const QrCertificate& certificate);
// The text a phone shows: kQrPrefix + base64url(certificate ‖ counter ‖ made_at ‖ signature).
std::string MakeQrCode(std::string_view certificate_bytes, const QrKeyPair& phone, int64_t counter,
                       int64_t made_at_s);
// Structure only (no signature checked): qr_malformed.
Result<QrCode> ParseQrCode(std::string_view text);

// What a point checks without the network: the certificate's signature by one of the service's
// keys and the phone's signature (qr_signature_invalid), the phone not revoked
// (qr_phone_revoked), the certificate and the code within their lifetime at `point_now_ms`
// (qr_expired) and not made more than kQrClockDriftS after it (qr_not_yet_valid). Pure.
Result<QrCode> VerifyQrOffline(std::string_view text,
                               const std::vector<QrVerifyingKey>& service_keys,
                               const std::set<int64_t>& revoked_phone_ids, int64_t point_now_ms,
                               int64_t lifetime_s);

// ---- Service -----------------------------------------------------------------------------------

struct QrRedemption {
  int64_t holder_id = 0;
  std::optional<int64_t> support_id;  // the phone's virtual support
  int64_t qr_code_id = 0;             // the wallet_qr_codes row of the used code
};

// Verifies the code against the database (the service keys recorded by QrCodes, the phone's
// row: exists, same holder and key, not revoked; the holder usable; the phone's support not
// opposed) and records it as used, in the caller's transaction. The code's lifetime is the
// national qr_lifetime_s threshold, counted on the point's clock (`point_now_ms`), and a code is
// never accepted if made after the server's clock plus the drift. Errors: qr_malformed,
// qr_signature_invalid, qr_expired, qr_not_yet_valid, qr_replayed (409), qr_phone_revoked,
// qr_phone_unknown, holder_not_active, holder_opposed, support_opposed. On error the caller
// rolls back, then may call RecordQrRefusal in a transaction of its own.
Result<QrRedemption> RedeemQr(storage::Transaction& tx, std::string_view text, int64_t point_now_ms,
                              int64_t now_ms);

// Keeps a refused code (its digest, what it named, the reason and when) for fraud detection
// (W20): replays, forgeries and revoked phones are counted per phone and per point.
struct QrRefusal {
  std::string text;
  std::string code;  // the refusal's error code
  int64_t point_now_ms = 0;
  std::optional<int64_t> point_id;
};
Status RecordQrRefusal(storage::Transaction& tx, const QrRefusal& refusal, int64_t now_ms);
// Whether an error is a refusal of the code itself (qr_replayed, qr_expired…: worth keeping with
// RecordQrRefusal), not a failure of the database or a misuse such as qr_not_supported.
bool IsQrCodeRefusal(const Error& error);

// Phones revoked after `since_ms` (0: all whose certificate may still be valid): what points
// keep for offline verification.
Result<std::vector<int64_t>> RevokedQrPhones(storage::Transaction& tx, int64_t since_ms,
                                             int64_t now_ms);

struct QrPhone {
  int64_t id = 0;
  int64_t holder_id = 0;
  int64_t support_id = 0;
  std::string kind;  // phone | print
  std::string label;
  std::string status;       // active | revoked
  std::string public_key;   // base64url
  std::string certificate;  // base64url of kQrCertificateBytes
  int64_t certificate_expires_at_ms = 0;
  int64_t created_at_ms = 0;
  std::optional<int64_t> revoked_at_ms;
};

struct PrintedQrCode {
  int64_t id = 0;
  std::string text;
  int64_t made_at_ms = 0;
  int64_t expires_at_ms = 0;
  bool used = false;
};

class QrCodes {
 public:
  // Records the service key's public half (wallet_qr_keys) so RedeemQr can find it.
  static Result<std::unique_ptr<QrCodes>> Open(Wallet& wallet, QrKeyPair service_key);

  // The service's verifying keys (current first): GET /api/v1/wallet/qr-key.
  Result<std::vector<QrVerifyingKey>> VerifyingKeys();
  Result<int64_t> LifetimeS();

  // The holder's phone sends its public key (base64url of 32 bytes): a phone row, a virtual
  // support of technology "qr" and the certificate. Errors: public_key_invalid,
  // validation_failed (label), phones_limit_reached, holder_not_active, holder_opposed.
  Result<QrPhone> EnrolPhone(int64_t holder_id, std::string_view public_key, std::string_view label,
                             std::string_view request_id);
  // A new certificate for the same key (phone_not_found, qr_phone_revoked).
  Result<QrPhone> RenewCertificate(int64_t holder_id, int64_t phone_id,
                                   std::string_view request_id);
  Result<std::vector<QrPhone>> MyPhones(int64_t holder_id);
  // Revocation: the phone's codes are refused at once by the service and by points once their
  // list is updated; its support is opposed for good.
  Result<QrPhone> RevokeMyPhone(int64_t holder_id, int64_t phone_id, std::string_view request_id);
  // Staff: read with wallet.holders.read, revoke with wallet.holders.oppose, in scope.
  Result<std::vector<QrPhone>> HolderPhones(const identity::Caller& caller, int64_t holder_id);
  Result<QrPhone> RevokePhone(const identity::Caller& caller, int64_t holder_id, int64_t phone_id);

  // 1–kQrPrintedCodesMax codes made by the service for a holder without a phone.
  Result<std::vector<PrintedQrCode>> PrintCodes(int64_t holder_id, int64_t count,
                                                std::string_view request_id);
  // The holder's printed codes still valid and unused, newest first.
  Result<std::vector<PrintedQrCode>> MyPrintedCodes(int64_t holder_id);
  Result<PrintedQrCode> MyPrintedCode(int64_t holder_id, int64_t id);

  // RedeemQr in a transaction of its own; a refusal is recorded (RecordQrRefusal).
  Result<QrRedemption> Redeem(std::string_view text, int64_t point_now_ms,
                              std::optional<int64_t> point_id);

 private:
  QrCodes(Wallet& wallet, QrKeyPair service_key) : wallet_(wallet), key_(std::move(service_key)) {}
  Result<QrPhone> Revoke(const identity::Caller* caller, int64_t holder_id, int64_t phone_id,
                         std::string_view request_id);
  QrKeyPair PrintPhoneKey(int64_t phone_id) const;

  Wallet& wallet_;
  const QrKeyPair key_;
};

std::vector<storage::Migration> QrMigrations();

}  // namespace guichet::wallet
