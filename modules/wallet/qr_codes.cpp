// One-time QR codes (W17): the binary format and its signatures, offline verification, phone
// enrolment and revocation, printable codes and redemption once per phone and counter.
#include "modules/wallet/qr_codes.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <boost/json/object.hpp>

#include "modules/wallet/internal.h"
#include "modules/wallet/offline.h"
#include "platform/base/assert.h"
#include "platform/base/crypto.h"

namespace guichet::wallet {

using boost::json::object;
using storage::Transaction;
using storage::TransactionMode;

namespace {

constexpr size_t kSeedBytes = 32;
constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;
constexpr int64_t kMsPerS = 1000;

Error Refuse(ErrorKind kind, std::string_view code, std::string message) {
  return Error{kind, std::string(code), std::move(message), {}};
}
Error Malformed(std::string message) {
  return Refuse(ErrorKind::kValidation, code::kQrMalformed, std::move(message));
}
Error BadSignature(std::string message) {
  return Refuse(ErrorKind::kValidation, code::kQrSignatureInvalid, std::move(message));
}

void PutUnsigned(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}
uint64_t GetUnsigned(std::string_view bytes, size_t at, int count) {
  uint64_t value = 0;
  for (int i = 0; i < count; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

std::string Sign(std::string_view message, std::string_view secret_key) {
  GUICHET_ASSERT(secret_key.size() == crypto_sign_SECRETKEYBYTES);
  std::string signature(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr, Bytes(message),
                       message.size(), Bytes(secret_key));
  return signature;
}

bool Verify(std::string_view signature, std::string_view message, std::string_view public_key) {
  if (signature.size() != crypto_sign_BYTES || public_key.size() != crypto_sign_PUBLICKEYBYTES)
    return false;
  return crypto_sign_verify_detached(Bytes(signature), Bytes(message), message.size(),
                                     Bytes(public_key)) == 0;
}

// Strict unpadded base64url: anything that does not encode back to the same text is refused,
// so one code has exactly one spelling.
std::optional<std::string> FromBase64Url(std::string_view text) {
  std::string bytes(text.size(), '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), text.data(),
                        text.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  bytes.resize(length);
  if (crypto::ToBase64Url(bytes) != text) return std::nullopt;
  return bytes;
}

std::optional<std::string> FromHex(std::string_view hex) {
  std::string bytes(hex.size() / 2, '\0');
  size_t length = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), hex.data(),
                     hex.size(), nullptr, &length, nullptr) != 0 ||
      length != bytes.size()) {
    return std::nullopt;
  }
  return bytes;
}

std::string KeyIdOf(std::string_view public_key) {
  return crypto::Sha256(public_key).substr(0, kQrKeyIdBytes);
}

}  // namespace

// ---- Format ------------------------------------------------------------------------------------

QrKeyPair QrKeyPairFromSeed(std::string_view seed) {
  GUICHET_ASSERT(seed.size() == kSeedBytes);
  QrKeyPair pair;
  pair.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  pair.secret_key.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(pair.public_key.data()),
                           reinterpret_cast<unsigned char*>(pair.secret_key.data()), Bytes(seed));
  pair.key_id = KeyIdOf(pair.public_key);
  return pair;
}

QrKeyPair QrServiceKeyFromSecret(std::string_view secret) {
  GUICHET_ASSERT(!secret.empty());
  return QrKeyPairFromSeed(crypto::Sha256(secret));
}

std::string SignQrCertificate(const QrKeyPair& service, const QrCertificate& certificate) {
  GUICHET_ASSERT(certificate.phone_id > 0 && certificate.holder_id > 0);
  GUICHET_ASSERT(certificate.phone_public_key.size() == kPublicKeyBytes);
  GUICHET_ASSERT(certificate.expires_at_s > 0 && certificate.expires_at_s <= kQrCounterMax);
  std::string bytes;
  bytes.push_back(static_cast<char>(kQrFormatVersion));
  bytes += service.key_id;
  PutUnsigned(bytes, static_cast<uint64_t>(certificate.phone_id), 8);
  PutUnsigned(bytes, static_cast<uint64_t>(certificate.holder_id), 8);
  bytes += certificate.phone_public_key;
  PutUnsigned(bytes, static_cast<uint64_t>(certificate.expires_at_s), 4);
  GUICHET_ASSERT(bytes.size() == kQrCertificateSignedBytes);
  bytes += Sign(bytes, service.secret_key);
  GUICHET_ASSERT(bytes.size() == kQrCertificateBytes);
  return bytes;
}

std::string MakeQrCode(std::string_view certificate_bytes, const QrKeyPair& phone, int64_t counter,
                       int64_t made_at_s) {
  GUICHET_ASSERT(certificate_bytes.size() == kQrCertificateBytes);
  GUICHET_ASSERT(counter >= 0 && counter <= kQrCounterMax);
  GUICHET_ASSERT(made_at_s >= 0 && made_at_s <= kQrCounterMax);
  std::string bytes(certificate_bytes);
  PutUnsigned(bytes, static_cast<uint64_t>(counter), 4);
  PutUnsigned(bytes, static_cast<uint64_t>(made_at_s), 4);
  bytes += Sign(bytes, phone.secret_key);
  GUICHET_ASSERT(bytes.size() == kQrCodeBytes);
  return std::string(kQrPrefix) + crypto::ToBase64Url(bytes);
}

Result<QrCode> ParseQrCode(std::string_view text) {
  if (static_cast<int64_t>(text.size()) > kQrTextLengthMax || !text.starts_with(kQrPrefix)) {
    return Malformed("This is not a Guichet QR code.");
  }
  auto bytes = FromBase64Url(text.substr(kQrPrefix.size()));
  if (!bytes || bytes->size() != kQrCodeBytes)
    return Malformed("This QR code is damaged or incomplete.");
  if (static_cast<uint8_t>((*bytes)[0]) != kQrFormatVersion)
    return Malformed("Unknown QR code version.");
  QrCode out;
  out.certificate.key_id = bytes->substr(1, kQrKeyIdBytes);
  const uint64_t phone_id = GetUnsigned(*bytes, 5, 8);
  const uint64_t holder_id = GetUnsigned(*bytes, 13, 8);
  if (phone_id == 0 || holder_id == 0 || phone_id > INT64_MAX || holder_id > INT64_MAX) {
    return Malformed("This QR code names no phone.");
  }
  out.certificate.phone_id = static_cast<int64_t>(phone_id);
  out.certificate.holder_id = static_cast<int64_t>(holder_id);
  out.certificate.phone_public_key = bytes->substr(21, kPublicKeyBytes);
  out.certificate.expires_at_s = static_cast<int64_t>(GetUnsigned(*bytes, 53, 4));
  out.certificate_bytes = bytes->substr(0, kQrCertificateBytes);
  out.counter = static_cast<int64_t>(GetUnsigned(*bytes, kQrCertificateBytes, 4));
  out.made_at_s = static_cast<int64_t>(GetUnsigned(*bytes, kQrCertificateBytes + 4, 4));
  out.bytes = std::move(*bytes);
  return out;
}

Result<QrCode> VerifyQrOffline(std::string_view text,
                               const std::vector<QrVerifyingKey>& service_keys,
                               const std::set<int64_t>& revoked_phone_ids, int64_t point_now_ms,
                               int64_t lifetime_s) {
  auto parsed = ParseQrCode(text);
  if (!parsed.ok()) return parsed;
  const QrCode& code = *parsed;
  const QrVerifyingKey* key = nullptr;
  for (const QrVerifyingKey& candidate : service_keys) {
    if (candidate.key_id == code.certificate.key_id) key = &candidate;
  }
  const std::string_view bytes = code.bytes;
  if (key == nullptr) return BadSignature("This QR code was not certified by this service.");
  if (!Verify(bytes.substr(kQrCertificateSignedBytes, kSignatureBytes),
              bytes.substr(0, kQrCertificateSignedBytes), key->public_key)) {
    return BadSignature("This QR code's certificate is forged.");
  }
  if (!Verify(bytes.substr(kQrCodeSignedBytes, kSignatureBytes),
              bytes.substr(0, kQrCodeSignedBytes), code.certificate.phone_public_key)) {
    return BadSignature("This QR code's signature is forged.");
  }
  if (revoked_phone_ids.contains(code.certificate.phone_id)) {
    return Refuse(ErrorKind::kConflict, code::kQrPhoneRevoked,
                  "The phone that made this QR code was revoked.");
  }
  const int64_t made_at_ms = code.made_at_s * kMsPerS;
  if (made_at_ms > point_now_ms + kQrClockDriftS * kMsPerS) {
    return Refuse(ErrorKind::kValidation, code::kQrNotYetValid,
                  "This QR code is dated in the future.");
  }
  if (code.made_at_s > code.certificate.expires_at_s ||
      point_now_ms > code.certificate.expires_at_s * kMsPerS) {
    return Refuse(ErrorKind::kValidation, code::kQrExpired,
                  "The phone's certificate has expired: renew it.");
  }
  if (point_now_ms > made_at_ms + lifetime_s * kMsPerS) {
    return Refuse(ErrorKind::kValidation, code::kQrExpired,
                  "This QR code has expired: make a new one.");
  }
  return parsed;
}

// ---- Redemption --------------------------------------------------------------------------------

namespace {

Result<std::vector<QrVerifyingKey>> StoredKeys(Transaction& tx) {
  auto rows = tx.Query(
      "SELECT key_id, public_key FROM wallet_qr_keys WHERE retired_at IS NULL ORDER BY created_at "
      "DESC",
      {});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<QrVerifyingKey> keys;
  for (const storage::Row& row : rows->rows) {
    auto id = FromHex(row.Text(0));
    auto public_key = FromBase64Url(row.Text(1));
    GUICHET_ASSERT(id && public_key && public_key->size() == kPublicKeyBytes);
    keys.push_back({*id, *public_key});
  }
  return keys;
}

}  // namespace

Result<QrRedemption> RedeemQr(Transaction& tx, std::string_view text, int64_t point_now_ms,
                              int64_t now_ms) {
  auto keys = StoredKeys(tx);
  if (!keys.ok()) return std::move(keys).error();
  auto thresholds = LoadThresholds(tx);
  if (!thresholds.ok()) return std::move(thresholds).error();
  auto code = VerifyQrOffline(text, *keys, {}, point_now_ms, thresholds->qr_lifetime_s);
  if (!code.ok()) return std::move(code).error();
  // A point's clock may be wrong: the code must not be dated after the server's clock either.
  if (code->made_at_s * kMsPerS > now_ms + kQrClockDriftS * kMsPerS) {
    return Refuse(ErrorKind::kValidation, code::kQrNotYetValid,
                  "This QR code is dated in the future.");
  }
  const QrCertificate& certificate = code->certificate;
  auto phone = tx.QueryOne(
      "SELECT holder_id, support_id, public_key, status FROM wallet_qr_phones WHERE id = $1",
      {certificate.phone_id});
  if (!phone.ok()) return std::move(phone).error();
  if (!phone->has_value() || (*phone)->Int(0) != certificate.holder_id ||
      (*phone)->Text(2) != crypto::ToBase64Url(certificate.phone_public_key)) {
    return Refuse(ErrorKind::kValidation, code::kQrPhoneUnknown,
                  "This QR code's phone is not enrolled.");
  }
  if ((*phone)->Text(3) != "active") {
    return Refuse(ErrorKind::kConflict, code::kQrPhoneRevoked,
                  "The phone that made this QR code was revoked.");
  }
  const int64_t support_id = (*phone)->Int(1);
  auto holder = FindHolder(tx, certificate.holder_id);
  if (!holder.ok()) return std::move(holder).error();
  GUICHET_ASSERT(holder->has_value());  // the phone's foreign key
  GUICHET_TRY_STATUS(RequireHolderUsable(**holder));
  auto support = FindSupport(tx, support_id);
  if (!support.ok()) return std::move(support).error();
  GUICHET_ASSERT(support->has_value() && (*support)->holder_id == certificate.holder_id);
  GUICHET_TRY_STATUS(RequireSupportUsable(**support));
  // The one check that makes a code single-use, in the database: every process, every order.
  auto used = tx.QueryOne(
      "INSERT INTO wallet_qr_codes (phone_id, counter, holder_id, made_at, point_now, redeemed_at)"
      " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (phone_id, counter) DO NOTHING RETURNING id",
      {certificate.phone_id, code->counter, certificate.holder_id, code->made_at_s * kMsPerS,
       point_now_ms, now_ms});
  if (!used.ok()) return std::move(used).error();
  if (!used->has_value())
    return Refuse(ErrorKind::kConflict, code::kQrReplayed, "This QR code was already used.");
  return QrRedemption{certificate.holder_id, support_id, (*used)->Int(0)};
}

bool IsQrCodeRefusal(const Error& error) {
  return error.code.starts_with("qr_") && error.code != "qr_not_supported" &&
         error.kind != ErrorKind::kInternal && error.kind != ErrorKind::kUnavailable;
}

Status RecordQrRefusal(Transaction& tx, const QrRefusal& refusal, int64_t now_ms) {
  // What the code claims, signed or not: enough to count attempts per phone.
  std::optional<int64_t> phone_id, holder_id, counter;
  if (auto parsed = ParseQrCode(refusal.text); parsed.ok()) {
    phone_id = parsed->certificate.phone_id;
    holder_id = parsed->certificate.holder_id;
    counter = parsed->counter;
  }
  auto inserted = tx.Execute(
      "INSERT INTO wallet_qr_refusals (claimed_phone_id, claimed_holder_id, counter, code, "
      "text_sha256, point_id,"
      " point_now, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {internal::Nullable(phone_id), internal::Nullable(holder_id), internal::Nullable(counter),
       refusal.code, crypto::Sha256Hex(refusal.text), internal::Nullable(refusal.point_id),
       refusal.point_now_ms, now_ms});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

Result<std::vector<int64_t>> RevokedQrPhones(Transaction& tx, int64_t since_ms, int64_t now_ms) {
  auto rows = tx.Query(
      "SELECT id FROM wallet_qr_phones WHERE status = 'revoked' AND revoked_at > $1 AND "
      "certificate_expires_at > $2"
      " ORDER BY id",
      {since_ms, now_ms});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<int64_t> ids;
  for (const storage::Row& row : rows->rows) ids.push_back(row.Int(0));
  return ids;
}

// ---- Phones ------------------------------------------------------------------------------------

namespace {

constexpr std::string_view kPhoneColumns =
    "id, holder_id, support_id, kind, label, status, public_key, certificate, "
    "certificate_expires_at, created_at,"
    " revoked_at";

QrPhone PhoneOf(const storage::Row& row) {
  QrPhone phone;
  phone.id = row.Int(0);
  phone.holder_id = row.Int(1);
  phone.support_id = row.Int(2);
  phone.kind = row.Text(3);
  phone.label = row.Text(4);
  phone.status = row.Text(5);
  phone.public_key = row.Text(6);
  phone.certificate = row.Text(7);
  phone.certificate_expires_at_ms = row.Int(8);
  phone.created_at_ms = row.Int(9);
  phone.revoked_at_ms = row.OptionalInt(10);
  return phone;
}

Result<std::optional<QrPhone>> FindPhone(Transaction& tx, int64_t holder_id, int64_t phone_id) {
  auto row =
      tx.QueryOne(fmt::format("SELECT {} FROM wallet_qr_phones WHERE id = $1 AND holder_id = $2",
                              kPhoneColumns),
                  {phone_id, holder_id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<QrPhone>();
  return std::optional<QrPhone>(PhoneOf(**row));
}

Result<std::vector<QrPhone>> PhonesOf(Transaction& tx, int64_t holder_id) {
  auto rows = tx.Query(
      fmt::format("SELECT {} FROM wallet_qr_phones WHERE holder_id = $1 ORDER BY id DESC LIMIT $2",
                  kPhoneColumns),
      {holder_id, kQrPhonesListMax});
  if (!rows.ok()) return std::move(rows).error();
  std::vector<QrPhone> phones;
  for (const storage::Row& row : rows->rows) phones.push_back(PhoneOf(row));
  return phones;
}

Error PhoneNotFound() {
  return Error::NotFound(std::string(code::kQrPhoneNotFound), "No such phone.");
}

object PhoneAudit(const QrPhone& phone) {
  return object{{"id", phone.id},
                {"kind", phone.kind},
                {"label", phone.label},
                {"status", phone.status},
                {"support_id", phone.support_id},
                {"by", "holder"}};
}

// A virtual support of technology "qr" for one phone: its thresholds, its opposition.
Result<int64_t> CreateQrSupport(Transaction& tx, int64_t holder_id, int64_t now_ms) {
  auto row = tx.QueryOne(
      "INSERT INTO wallet_supports (holder_id, number, technology, form, opposition, created_at, "
      "updated_at)"
      " VALUES ($1, $2, $3, 'virtual', 'none', $4, $4) RETURNING id",
      {holder_id, "QR-" + crypto::ToHex(crypto::RandomBytes(8)), std::string(kQrSupportTechnology),
       now_ms});
  if (!row.ok()) return std::move(row).error();
  return (*row)->Int(0);
}

Result<int64_t> CreatePhoneRow(Transaction& tx, int64_t holder_id, int64_t support_id,
                               std::string_view kind, std::string_view label,
                               const std::string& public_key, int64_t now_ms) {
  auto row = tx.QueryOne(
      "INSERT INTO wallet_qr_phones (holder_id, support_id, kind, label, status, public_key, "
      "certificate,"
      " certificate_expires_at, next_counter, created_at) VALUES ($1, $2, $3, $4, 'active', $5, "
      "'', 0, 0, $6)"
      " RETURNING id",
      {holder_id, support_id, std::string(kind), std::string(label), public_key, now_ms});
  if (!row.ok()) {
    if (row.error().code == storage::kUniqueViolation) {
      return Error::Conflict("phone_already_enrolled", "This phone's key is already enrolled.");
    }
    return std::move(row).error();
  }
  return (*row)->Int(0);
}

// Signs a certificate valid kQrCertificateLifetimeS from now and stores it on the phone row.
Result<QrPhone> Certify(Transaction& tx, const QrKeyPair& service, int64_t holder_id,
                        int64_t phone_id, std::string_view public_key, int64_t now_ms) {
  QrCertificate certificate;
  certificate.phone_id = phone_id;
  certificate.holder_id = holder_id;
  certificate.phone_public_key = std::string(public_key);
  certificate.expires_at_s = now_ms / kMsPerS + kQrCertificateLifetimeS;
  const std::string signed_certificate = SignQrCertificate(service, certificate);
  GUICHET_TRY_STATUS(tx.Execute(
      "UPDATE wallet_qr_phones SET certificate = $1, certificate_expires_at = $2 WHERE id = $3",
      {crypto::ToBase64Url(signed_certificate), certificate.expires_at_s * kMsPerS, phone_id}));
  auto phone = FindPhone(tx, holder_id, phone_id);
  if (!phone.ok()) return std::move(phone).error();
  GUICHET_ASSERT(phone->has_value());
  return std::move(**phone);
}

Result<Holder> UsableHolder(Transaction& tx, int64_t holder_id) {
  auto holder = FindHolder(tx, holder_id);
  if (!holder.ok()) return std::move(holder).error();
  if (!holder->has_value())
    return Error::NotFound(std::string(code::kHolderNotFound), "No such holder.");
  GUICHET_TRY_STATUS(RequireHolderUsable(**holder));
  return std::move(**holder);
}

Status ValidateLabel(std::string_view label) {
  bool control = false;
  for (char c : label) control = control || static_cast<unsigned char>(c) < 0x20;
  if (label.empty() || static_cast<int64_t>(label.size()) > kQrPhoneLabelLengthMax || control) {
    return Error{ErrorKind::kValidation,
                 "validation_failed",
                 "Name the phone.",
                 {{"/label", fmt::format("1 to {} characters, no control characters",
                                         kQrPhoneLabelLengthMax)}}};
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<QrCodes>> QrCodes::Open(Wallet& wallet, QrKeyPair service_key) {
  const int64_t now = wallet.clock().NowMs();
  GUICHET_TRY_STATUS(
      wallet.database().Transact<Ok>(TransactionMode::kWrite, [&](Transaction& tx) -> Status {
        GUICHET_TRY_STATUS(tx.Execute(
            "INSERT INTO wallet_qr_keys (key_id, public_key, created_at) VALUES ($1, $2, $3) ON "
            "CONFLICT DO NOTHING",
            {crypto::ToHex(service_key.key_id), crypto::ToBase64Url(service_key.public_key), now}));
        return OkStatus();
      }));
  return std::unique_ptr<QrCodes>(new QrCodes(wallet, std::move(service_key)));
}

Result<std::vector<QrVerifyingKey>> QrCodes::VerifyingKeys() {
  auto keys =
      wallet_.database().Transact<std::vector<QrVerifyingKey>>(TransactionMode::kRead, StoredKeys);
  if (!keys.ok()) return keys;
  std::stable_partition(keys->begin(), keys->end(),
                        [this](const QrVerifyingKey& key) { return key.key_id == key_.key_id; });
  return keys;
}

Result<int64_t> QrCodes::LifetimeS() {
  return wallet_.database().Transact<int64_t>(TransactionMode::kRead,
                                              [](Transaction& tx) -> Result<int64_t> {
                                                auto thresholds = LoadThresholds(tx);
                                                if (!thresholds.ok())
                                                  return std::move(thresholds).error();
                                                return thresholds->qr_lifetime_s;
                                              });
}

Result<QrPhone> QrCodes::EnrolPhone(int64_t holder_id, std::string_view public_key,
                                    std::string_view label, std::string_view request_id) {
  auto key = FromBase64Url(public_key);
  if (!key || key->size() != kPublicKeyBytes ||
      crypto_core_ed25519_is_valid_point(Bytes(*key)) != 1) {
    return Error{ErrorKind::kValidation,
                 std::string(code::kQrPublicKeyInvalid),
                 "The phone's key is not an Ed25519 public key.",
                 {{"/public_key", "base64url of a 32-byte Ed25519 public key"}}};
  }
  GUICHET_TRY_STATUS(ValidateLabel(label));
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<QrPhone>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<QrPhone> {
        auto holder = UsableHolder(tx, holder_id);
        if (!holder.ok()) return std::move(holder).error();
        auto active = tx.QueryOne(
            "SELECT COUNT(*) FROM wallet_qr_phones WHERE holder_id = $1 AND kind = 'phone' AND "
            "status = 'active'",
            {holder_id});
        if (!active.ok()) return std::move(active).error();
        if ((*active)->Int(0) >= kQrPhonesPerHolderMax) {
          return Error::Conflict(
              std::string(code::kQrPhonesLimit),
              fmt::format("At most {} phones: revoke one first.", kQrPhonesPerHolderMax));
        }
        auto support = CreateQrSupport(tx, holder_id, now);
        if (!support.ok()) return std::move(support).error();
        auto id =
            CreatePhoneRow(tx, holder_id, *support, "phone", label, std::string(public_key), now);
        if (!id.ok()) return std::move(id).error();
        auto phone = Certify(tx, key_, holder_id, *id, *key, now);
        if (!phone.ok()) return phone;
        GUICHET_TRY_STATUS(internal::Audit(tx, nullptr, "wallet.qr_phone.enrol", "wallet_holder",
                                           holder_id, holder->organisation_id, nullptr,
                                           PhoneAudit(*phone), request_id, now));
        return phone;
      });
}

Result<QrPhone> QrCodes::RenewCertificate(int64_t holder_id, int64_t phone_id,
                                          std::string_view request_id) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<QrPhone>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<QrPhone> {
        auto holder = UsableHolder(tx, holder_id);
        if (!holder.ok()) return std::move(holder).error();
        auto phone = FindPhone(tx, holder_id, phone_id);
        if (!phone.ok()) return std::move(phone).error();
        if (!phone->has_value() || (*phone)->kind != "phone") return PhoneNotFound();
        if ((*phone)->status != "active") {
          return Refuse(ErrorKind::kConflict, code::kQrPhoneRevoked,
                        "This phone was revoked: enrol it again.");
        }
        auto key = FromBase64Url((*phone)->public_key);
        GUICHET_ASSERT(key.has_value());
        auto renewed = Certify(tx, key_, holder_id, phone_id, *key, now);
        if (!renewed.ok()) return renewed;
        GUICHET_TRY_STATUS(internal::Audit(tx, nullptr, "wallet.qr_phone.renew", "wallet_holder",
                                           holder_id, holder->organisation_id, nullptr,
                                           PhoneAudit(*renewed), request_id, now));
        return renewed;
      });
}

Result<std::vector<QrPhone>> QrCodes::MyPhones(int64_t holder_id) {
  return wallet_.database().Transact<std::vector<QrPhone>>(
      TransactionMode::kRead, [&](Transaction& tx) { return PhonesOf(tx, holder_id); });
}

Result<QrPhone> QrCodes::Revoke(const identity::Caller* caller, int64_t holder_id, int64_t phone_id,
                                std::string_view request_id) {
  const int64_t now = wallet_.clock().NowMs();
  return wallet_.database().Transact<QrPhone>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<QrPhone> {
        if (caller != nullptr) {
          auto holder =
              HolderInScope(tx, holder_id, wallet_.authorizer().Scopes(*caller, right::kOppose));
          if (!holder.ok()) {
            if (HolderInScope(tx, holder_id, wallet_.authorizer().Scopes(*caller, right::kRead))
                    .ok()) {
              return Error{ErrorKind::kForbidden,
                           "forbidden",
                           "You cannot revoke this holder's phones.",
                           {}};
            }
            return std::move(holder).error();
          }
        }
        auto phone = FindPhone(tx, holder_id, phone_id);
        if (!phone.ok()) return std::move(phone).error();
        if (!phone->has_value()) return PhoneNotFound();
        if ((*phone)->status == "revoked")
          return std::move(**phone);  // revoking twice changes nothing
        GUICHET_TRY_STATUS(
            tx.Execute("UPDATE wallet_qr_phones SET status = 'revoked', revoked_at = $1, "
                       "revoked_by = $2 WHERE id = $3",
                       {now, std::string(caller != nullptr ? "staff" : "holder"), phone_id}));
        GUICHET_TRY_STATUS(
            tx.Execute("UPDATE wallet_supports SET opposition = 'permanent', opposed_at = $1, "
                       "updated_at = $1 WHERE id = $2",
                       {now, (*phone)->support_id}));
        GUICHET_TRY_STATUS(PublishRevokedPhone(tx, phone_id, now));
        GUICHET_TRY_STATUS(PublishSupportOpposition(tx, (*phone)->support_id, now));
        auto revoked = FindPhone(tx, holder_id, phone_id);
        if (!revoked.ok()) return std::move(revoked).error();
        auto holder = FindHolder(tx, holder_id);
        if (!holder.ok()) return std::move(holder).error();
        object after = PhoneAudit(**revoked);
        if (caller != nullptr) after.erase("by");
        GUICHET_TRY_STATUS(internal::Audit(tx, caller, "wallet.qr_phone.revoke", "wallet_holder",
                                           holder_id, (*holder)->organisation_id,
                                           PhoneAudit(**phone), after, request_id, now));
        return std::move(**revoked);
      });
}

Result<QrPhone> QrCodes::RevokeMyPhone(int64_t holder_id, int64_t phone_id,
                                       std::string_view request_id) {
  return Revoke(nullptr, holder_id, phone_id, request_id);
}

Result<std::vector<QrPhone>> QrCodes::HolderPhones(const identity::Caller& caller,
                                                   int64_t holder_id) {
  return wallet_.database().Transact<std::vector<QrPhone>>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<std::vector<QrPhone>> {
        auto holder =
            HolderInScope(tx, holder_id, wallet_.authorizer().Scopes(caller, right::kRead));
        if (!holder.ok()) return std::move(holder).error();
        return PhonesOf(tx, holder_id);
      });
}

Result<QrPhone> QrCodes::RevokePhone(const identity::Caller& caller, int64_t holder_id,
                                     int64_t phone_id) {
  return Revoke(&caller, holder_id, phone_id, caller.request_id);
}

// ---- Printed codes -----------------------------------------------------------------------------

QrKeyPair QrCodes::PrintPhoneKey(int64_t phone_id) const {
  // Derived, never stored: the service key's seed (the first half of libsodium's secret key)
  // and the phone's id.
  return QrKeyPairFromSeed(crypto::HmacSha256(key_.secret_key.substr(0, kSeedBytes),
                                              fmt::format("guichet-qr-print-phone:{}", phone_id)));
}

Result<std::vector<PrintedQrCode>> QrCodes::PrintCodes(int64_t holder_id, int64_t count,
                                                       std::string_view request_id) {
  if (count < 1 || count > kQrPrintedCodesMax) {
    return Error{ErrorKind::kValidation,
                 "validation_failed",
                 "Ask for 1 to 3 codes.",
                 {{"/count", fmt::format("1 to {}", kQrPrintedCodesMax)}}};
  }
  const int64_t now = wallet_.clock().NowMs();
  using Codes = std::vector<PrintedQrCode>;
  return wallet_.database().Transact<Codes>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<Codes> {
        auto holder = UsableHolder(tx, holder_id);
        if (!holder.ok()) return std::move(holder).error();
        auto thresholds = LoadThresholds(tx);
        if (!thresholds.ok()) return std::move(thresholds).error();
        auto found = tx.QueryOne(
            fmt::format("SELECT {} FROM wallet_qr_phones WHERE holder_id = $1 AND kind = 'print'"
                        " AND status = 'active' ORDER BY id DESC LIMIT 1",
                        kPhoneColumns),
            {holder_id});
        if (!found.ok()) return std::move(found).error();
        std::optional<QrPhone> phone;
        if (found->has_value()) phone = PhoneOf(**found);
        if (!phone) {
          auto support = CreateQrSupport(tx, holder_id, now);
          if (!support.ok()) return std::move(support).error();
          // The key depends on the row's id: a unique placeholder until it is known.
          auto id =
              CreatePhoneRow(tx, holder_id, *support, "print", "Codes imprimés / Printed codes",
                             "pending:" + crypto::RandomToken(16), now);
          if (!id.ok()) return std::move(id).error();
          GUICHET_TRY_STATUS(tx.Execute("UPDATE wallet_qr_phones SET public_key = $1 WHERE id = $2",
                                        {crypto::ToBase64Url(PrintPhoneKey(*id).public_key), *id}));
          auto fresh = FindPhone(tx, holder_id, *id);
          if (!fresh.ok()) return std::move(fresh).error();
          phone = std::move(**fresh);
        }
        const QrKeyPair print_key = PrintPhoneKey(phone->id);
        if (phone->certificate_expires_at_ms < now + thresholds->qr_lifetime_s * kMsPerS) {
          auto certified = Certify(tx, key_, holder_id, phone->id, print_key.public_key, now);
          if (!certified.ok()) return std::move(certified).error();
          phone = std::move(*certified);
        }
        auto last = tx.QueryOne(
            "UPDATE wallet_qr_phones SET next_counter = next_counter + $1 WHERE id = $2"
            " RETURNING next_counter",
            {count, phone->id});
        if (!last.ok()) return std::move(last).error();
        const int64_t first_counter = (*last)->Int(0) - count;
        auto certificate = FromBase64Url(phone->certificate);
        GUICHET_ASSERT(certificate && certificate->size() == kQrCertificateBytes);
        Codes codes;
        for (int64_t i = 0; i < count; ++i) {
          PrintedQrCode code;
          code.text = MakeQrCode(*certificate, print_key, first_counter + i, now / kMsPerS);
          code.made_at_ms = now / kMsPerS * kMsPerS;
          code.expires_at_ms = code.made_at_ms + thresholds->qr_lifetime_s * kMsPerS;
          auto row = tx.QueryOne(
              "INSERT INTO wallet_qr_printed (holder_id, phone_id, counter, text, made_at, "
              "expires_at, created_at)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
              {holder_id, phone->id, first_counter + i, code.text, code.made_at_ms,
               code.expires_at_ms, now});
          if (!row.ok()) return std::move(row).error();
          code.id = (*row)->Int(0);
          codes.push_back(std::move(code));
        }
        GUICHET_TRY_STATUS(internal::Audit(
            tx, nullptr, "wallet.qr_codes.print", "wallet_holder", holder_id,
            holder->organisation_id, nullptr,
            object{{"count", count}, {"phone_id", phone->id}, {"by", "holder"}}, request_id, now));
        return codes;
      });
}

namespace {

constexpr std::string_view kPrintedSelect =
    "SELECT p.id, p.text, p.made_at, p.expires_at, CASE WHEN c.id IS NULL THEN 0 ELSE 1 END"
    " FROM wallet_qr_printed p LEFT JOIN wallet_qr_codes c ON c.phone_id = p.phone_id AND "
    "c.counter = p.counter";

PrintedQrCode PrintedOf(const storage::Row& row) {
  return PrintedQrCode{row.Int(0), row.Text(1), row.Int(2), row.Int(3), row.Int(4) == 1};
}

}  // namespace

Result<std::vector<PrintedQrCode>> QrCodes::MyPrintedCodes(int64_t holder_id) {
  const int64_t now = wallet_.clock().NowMs();
  using Codes = std::vector<PrintedQrCode>;
  return wallet_.database().Transact<Codes>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<Codes> {
        auto rows =
            tx.Query(fmt::format("{} WHERE p.holder_id = $1 AND p.expires_at > $2 AND c.id IS NULL"
                                 " ORDER BY p.id DESC LIMIT $3",
                                 kPrintedSelect),
                     {holder_id, now, kQrPrintedCodesMax * 10});
        if (!rows.ok()) return std::move(rows).error();
        Codes codes;
        for (const storage::Row& row : rows->rows) codes.push_back(PrintedOf(row));
        return codes;
      });
}

Result<PrintedQrCode> QrCodes::MyPrintedCode(int64_t holder_id, int64_t id) {
  return wallet_.database().Transact<PrintedQrCode>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<PrintedQrCode> {
        auto row =
            tx.QueryOne(fmt::format("{} WHERE p.holder_id = $1 AND p.id = $2", kPrintedSelect),
                        {holder_id, id});
        if (!row.ok()) return std::move(row).error();
        if (!row->has_value()) {
          return Error::NotFound(std::string(code::kQrPrintedCodeNotFound), "No such QR code.");
        }
        return PrintedOf(**row);
      });
}

Result<QrRedemption> QrCodes::Redeem(std::string_view text, int64_t point_now_ms,
                                     std::optional<int64_t> point_id) {
  const int64_t now = wallet_.clock().NowMs();
  auto redeemed = wallet_.database().Transact<QrRedemption>(
      TransactionMode::kWrite,
      [&](Transaction& tx) { return RedeemQr(tx, text, point_now_ms, now); });
  if (redeemed.ok() || redeemed.error().kind == ErrorKind::kInternal ||
      redeemed.error().kind == ErrorKind::kUnavailable) {
    return redeemed;
  }
  const QrRefusal refusal{std::string(text), redeemed.error().code, point_now_ms, point_id};
  GUICHET_TRY_STATUS(wallet_.database().Transact<Ok>(
      TransactionMode::kWrite, [&](Transaction& tx) { return RecordQrRefusal(tx, refusal, now); }));
  return redeemed;
}

// ---- Schema ------------------------------------------------------------------------------------

std::vector<storage::Migration> QrMigrations() {
  constexpr std::string_view kSchema =
      // The service's verifying keys (hex key id, base64url public key); retired keys stay for
      // codes already printed, until their certificates expire.
      "CREATE TABLE wallet_qr_keys (key_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, created_at "
      "BIGINT NOT NULL,"
      " retired_at BIGINT);"
      // Phones (kind 'phone') and the service's own printer of codes per holder (kind 'print').
      " CREATE TABLE wallet_qr_phones ({id}, holder_id BIGINT NOT NULL REFERENCES wallet_holders "
      "(id),"
      " support_id BIGINT NOT NULL REFERENCES wallet_supports (id),"
      " kind TEXT NOT NULL CHECK (kind IN ('phone', 'print')), label TEXT NOT NULL,"
      " status TEXT NOT NULL CHECK (status IN ('active', 'revoked')), public_key TEXT NOT NULL "
      "UNIQUE,"
      " certificate TEXT NOT NULL, certificate_expires_at BIGINT NOT NULL, next_counter BIGINT NOT "
      "NULL,"
      " created_at BIGINT NOT NULL, revoked_at BIGINT, revoked_by TEXT);"
      " CREATE INDEX wallet_qr_phones_holder ON wallet_qr_phones (holder_id, status);"
      " CREATE INDEX wallet_qr_phones_revoked ON wallet_qr_phones (status, revoked_at);"
      // Codes used: one row per phone and counter, whatever order they arrive in.
      " CREATE TABLE wallet_qr_codes ({id}, phone_id BIGINT NOT NULL REFERENCES wallet_qr_phones "
      "(id),"
      " counter BIGINT NOT NULL CHECK (counter >= 0), holder_id BIGINT NOT NULL REFERENCES "
      "wallet_holders (id),"
      " made_at BIGINT NOT NULL, point_now BIGINT NOT NULL, redeemed_at BIGINT NOT NULL,"
      " UNIQUE (phone_id, counter));"
      // Codes the service made for printing (the text lives as long as the code).
      " CREATE TABLE wallet_qr_printed ({id}, holder_id BIGINT NOT NULL REFERENCES wallet_holders "
      "(id),"
      " phone_id BIGINT NOT NULL REFERENCES wallet_qr_phones (id), counter BIGINT NOT NULL, text "
      "TEXT NOT NULL,"
      " made_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, created_at BIGINT NOT NULL,"
      " UNIQUE (phone_id, counter));"
      " CREATE INDEX wallet_qr_printed_holder ON wallet_qr_printed (holder_id, expires_at);"
      // Refused codes, for fraud detection (W20): what the code claimed, why, when, where.
      " CREATE TABLE wallet_qr_refusals ({id}, claimed_phone_id BIGINT, claimed_holder_id BIGINT, "
      "counter BIGINT,"
      " code TEXT NOT NULL, text_sha256 TEXT NOT NULL, point_id BIGINT, point_now BIGINT NOT NULL,"
      " at BIGINT NOT NULL);"
      " CREATE INDEX wallet_qr_refusals_phone ON wallet_qr_refusals (claimed_phone_id, at);"
      " CREATE INDEX wallet_qr_refusals_code ON wallet_qr_refusals (code, at);";
  const auto schema = [&](std::string_view id) {
    std::string text(kSchema);
    for (size_t at; (at = text.find("{id}")) != std::string::npos;) text.replace(at, 4, id);
    return text;
  };
  return {{"wallet.qr", 1, "create QR phones, used codes, printed codes, refusals",
           schema("id INTEGER PRIMARY KEY AUTOINCREMENT"),
           schema("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")}};
}

}  // namespace guichet::wallet
