// Second factor: time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), as authenticator
// apps compute them, and single-use recovery codes for when the phone is lost.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/result.h"

namespace guichet::identity {

// What every authenticator app understands; OtpauthUri states them explicitly and VerifyTotp
// checks exactly these.
inline constexpr int kTotpDigits = 6;
inline constexpr int64_t kTotpStepS = 30;
// RFC 4226 recommends 160-bit secrets and requires at least 128 bits.
inline constexpr size_t kTotpSecretBytes = 20;
inline constexpr size_t kTotpSecretBytesMin = 16;
// A window of 1 step each side absorbs 30 s of clock drift and the time taken to type the code;
// wider windows give guessers more codes to hit.
inline constexpr int kTotpWindowStepsMax = 10;
// last_used_step for an account that has never used a code.
inline constexpr int64_t kTotpNoStepUsed = -1;
inline constexpr int kRecoveryCodesMax = 20;

// RFC 4648 base32, as otpauth secrets are written: encoded without padding; decoding ignores
// case, spaces and trailing '=' padding, and refuses other characters and impossible lengths.
std::string Base32Encode(std::string_view bytes);
Result<std::string> Base32Decode(std::string_view text);

// kTotpSecretBytes random bytes, base32-encoded (32 characters): store it, show it once.
std::string NewTotpSecret();

enum class TotpAlgorithm { kSha1, kSha256, kSha512 };

// RFC 4226 HOTP of raw secret bytes: `digits` (6 to 8) decimal digits, zero-padded.
std::string HotpCode(std::string_view secret_bytes, uint64_t counter, int digits = kTotpDigits,
                     TotpAlgorithm algorithm = TotpAlgorithm::kSha1);
// RFC 6238: HOTP of the number of whole steps since the Unix epoch.
std::string TotpCode(std::string_view secret_bytes, int64_t unix_seconds, int digits = kTotpDigits,
                     int64_t step_s = kTotpStepS, TotpAlgorithm algorithm = TotpAlgorithm::kSha1);

// Checks a 6-digit SHA-1 code on 30 s steps within `window_steps` steps of now. Returns the
// matched step: store it and pass it back as last_used_step, so that a code, once accepted,
// cannot be used again (steps <= last_used_step never match; RFC 6238 §5.2). Codes that are not
// exactly kTotpDigits ASCII digits, and secrets that are not valid base32 of at least
// kTotpSecretBytesMin bytes, never match. Comparison is in constant time.
std::optional<int64_t> VerifyTotp(std::string_view secret_base32, std::string_view code,
                                  int64_t unix_seconds, int64_t last_used_step,
                                  int window_steps = 1);

// The otpauth://totp/ URI authenticator apps read from a QR code (Google's Key Uri Format):
// label "issuer:account" and the issuer parameter, percent-encoded, with the algorithm, digits
// and period VerifyTotp expects.
std::string OtpauthUri(std::string_view issuer, std::string_view account,
                       std::string_view secret_base32);

// `count` codes "xxxx-xxxx-xxxx" of lowercase letters and digits without the look-alikes
// 0/o, 1/l/i: 12 characters from 31 give 59 bits each.
std::vector<std::string> NewRecoveryCodes(int count = 10);
// Lowercase, dashes and spaces removed: what a person may retype differently.
std::string NormalizeRecoveryCode(std::string_view code);
// SHA-256 (hex) of the normalized code, for storage. A fast hash is enough here, unlike for
// passwords: the codes are random with 59 bits each, so a stolen table cannot be reversed by
// trying likely values, and equal codes hash equally so a code is found by its hash.
std::string HashRecoveryCode(std::string_view code);

}  // namespace guichet::identity
