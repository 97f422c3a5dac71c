#include "platform/identity/totp.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <set>

#include "platform/base/crypto.h"

namespace guichet::identity {
namespace {

constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
// Lowercase letters and digits without 0/o and 1/l/i, which people misread on paper.
constexpr std::string_view kRecoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789";
constexpr int kRecoveryGroups = 3;
constexpr int kRecoveryGroupLength = 4;

int Base32Value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

const EVP_MD* Digest(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return EVP_sha1();
    case TotpAlgorithm::kSha256:
      return EVP_sha256();
    case TotpAlgorithm::kSha512:
      return EVP_sha512();
  }
  GUICHET_ASSERT(false);
  return nullptr;
}

bool IsDecimal(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// RFC 3986 percent-encoding of everything but the unreserved characters and `keep`.
std::string PercentEncode(std::string_view text, std::string_view keep = {}) {
  std::string out;
  for (char c : text) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || keep.find(c) != std::string_view::npos) {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

}  // namespace

std::string Base32Encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 5) {
      text.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 0x1F]);
      bits -= 5;
    }
  }
  if (bits > 0) text.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1F]);
  return text;
}

Result<std::string> Base32Decode(std::string_view text) {
  while (!text.empty() && (text.back() == '=' || text.back() == ' ')) text.remove_suffix(1);
  std::string bytes;
  uint32_t buffer = 0;
  int bits = 0;
  size_t symbols = 0;
  for (char c : text) {
    if (c == ' ') continue;
    const int value = Base32Value(c);
    if (value < 0) {
      return Error::Invalid("invalid_base32",
                            "The key may only contain the letters A to Z and the digits 2 to 7.");
    }
    ++symbols;
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      bytes.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xFF));
      bits -= 8;
    }
  }
  // 8 symbols carry 5 bytes; a last group of 1, 3 or 6 symbols cannot come from whole bytes,
  // so the key was cut or mistyped.
  const size_t tail = symbols % 8;
  if (tail == 1 || tail == 3 || tail == 6) {
    return Error::Invalid("invalid_base32", "The key is incomplete: a character is missing.");
  }
  return bytes;
}

std::string NewTotpSecret() { return Base32Encode(crypto::RandomBytes(kTotpSecretBytes)); }

std::string HotpCode(std::string_view secret_bytes, uint64_t counter, int digits,
                     TotpAlgorithm algorithm) {
  GUICHET_ASSERT(digits >= 6 && digits <= 8);
  GUICHET_ASSERT(!secret_bytes.empty());
  std::array<unsigned char, 8> message{};  // the counter, big-endian
  for (size_t i = 0; i < message.size(); ++i) {
    message[i] = static_cast<unsigned char>((counter >> (8 * (message.size() - 1 - i))) & 0xFF);
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_length = 0;
  const unsigned char* done =
      HMAC(Digest(algorithm), secret_bytes.data(), static_cast<int>(secret_bytes.size()),
           message.data(), message.size(), mac.data(), &mac_length);
  GUICHET_ASSERT(done != nullptr && mac_length >= 20);
  // RFC 4226 §5.3 dynamic truncation: 31 bits from the offset the last nibble names.
  const unsigned offset = mac[mac_length - 1] & 0x0F;
  const uint32_t binary = (static_cast<uint32_t>(mac[offset] & 0x7F) << 24) |
                          (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                          (static_cast<uint32_t>(mac[offset + 2]) << 8) |
                          static_cast<uint32_t>(mac[offset + 3]);
  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  return fmt::format("{:0{}}", binary % modulus, digits);
}

std::string TotpCode(std::string_view secret_bytes, int64_t unix_seconds, int digits,
                     int64_t step_s, TotpAlgorithm algorithm) {
  GUICHET_ASSERT(step_s > 0);
  GUICHET_ASSERT(unix_seconds >= 0);
  return HotpCode(secret_bytes, static_cast<uint64_t>(unix_seconds / step_s), digits, algorithm);
}

std::optional<int64_t> VerifyTotp(std::string_view secret_base32, std::string_view code,
                                  int64_t unix_seconds, int64_t last_used_step, int window_steps) {
  GUICHET_ASSERT(window_steps >= 0 && window_steps <= kTotpWindowStepsMax);
  GUICHET_ASSERT(unix_seconds >= 0);
  if (code.size() != static_cast<size_t>(kTotpDigits) || !IsDecimal(code)) return std::nullopt;
  const auto secret = Base32Decode(secret_base32);
  if (!secret.ok() || secret->size() < kTotpSecretBytesMin) return std::nullopt;
  const int64_t now_step = unix_seconds / kTotpStepS;
  std::optional<int64_t> matched;
  // Every candidate is computed and compared, so the time taken says nothing about which
  // step, if any, matched.
  for (int64_t step = now_step - window_steps; step <= now_step + window_steps; ++step) {
    if (step < 0 || step <= last_used_step) continue;
    const std::string expected =
        HotpCode(*secret, static_cast<uint64_t>(step), kTotpDigits, TotpAlgorithm::kSha1);
    if (crypto::ConstantTimeEquals(expected, code) && !matched) matched = step;
  }
  return matched;
}

std::string OtpauthUri(std::string_view issuer, std::string_view account,
                       std::string_view secret_base32) {
  GUICHET_ASSERT(!issuer.empty() && !account.empty());
  const auto secret = Base32Decode(secret_base32);
  GUICHET_ASSERT(secret.ok());  // secrets come from NewTotpSecret, never from a request
  const std::string encoded_issuer = PercentEncode(issuer);
  // '@' may stay as it is in a path (RFC 3986 pchar), as in "john.doe@email.com"; ':' may not,
  // since it separates the issuer from the account.
  return fmt::format("otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={}&period={}",
                     encoded_issuer, PercentEncode(account, "@"), Base32Encode(*secret),
                     encoded_issuer, kTotpDigits, kTotpStepS);
}

std::vector<std::string> NewRecoveryCodes(int count) {
  GUICHET_ASSERT(count >= 1 && count <= kRecoveryCodesMax);
  std::vector<std::string> codes;
  std::set<std::string> seen;
  while (static_cast<int>(codes.size()) < count) {
    std::string code;
    for (int group = 0; group < kRecoveryGroups; ++group) {
      if (group > 0) code.push_back('-');
      for (int i = 0; i < kRecoveryGroupLength; ++i) {
        code.push_back(kRecoveryAlphabet[crypto::RandomBelow(
            static_cast<uint32_t>(kRecoveryAlphabet.size()))]);
      }
    }
    // A repeat is astronomically unlikely, but two equal codes would hash equally.
    if (seen.insert(code).second) codes.push_back(std::move(code));
  }
  return codes;
}

std::string NormalizeRecoveryCode(std::string_view code) {
  std::string normalized;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    normalized.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return normalized;
}

std::string HashRecoveryCode(std::string_view code) {
  return crypto::Sha256Hex(NormalizeRecoveryCode(code));
}

}  // namespace guichet::identity
