// Passwords: a memory-hard hash for storage and a strength policy for choosing one.
//
// Hashing runs Argon2id for hundreds of milliseconds and tens of MiB on purpose: call it from a
// worker or database thread, never from the HTTP event loop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/result.h"

namespace guichet::identity {

// Argon2id (RFC 9106) through libsodium. The defaults are RFC 9106's second recommended option
// (t = 3 passes over m = 64 MiB; libsodium always uses one lane): about 80 ms on one core of
// the development machine, few enough for a login, while 64 MiB per guess makes guessing a
// stolen hash on GPUs or ASICs expensive. Both are written into each hash, so raising them later
// only needs NeedsRehash at the next successful login. Every concurrent hash holds its 64 MiB:
// size the pool that runs them accordingly. Tests pass libsodium's minimums (ops 1, 8 KiB).
struct PasswordHashOptions {
  int64_t ops = 3;
  int64_t memory_kib = 64 * 1024;
};

// Counted in characters (UTF-8 code points), not bytes. 12 is the length the CNIL's 2022
// recommendation on passwords takes as its example for a password that is the only secret; the
// maximum bounds the work done per check and leaves room for passphrases.
inline constexpr int64_t kPasswordLengthMin = 12;
inline constexpr int64_t kPasswordLengthMax = 128;
// The most bytes kPasswordLengthMax characters can take in UTF-8. Longer input is refused
// before any hashing, so a huge body cannot buy expensive work.
inline constexpr int64_t kPasswordBytesMax = 4 * kPasswordLengthMax;
// The policy's entropy floor, on the pattern-aware estimate below: brute force over the
// character classes used (log2 of the pool per character), except where a dictionary word,
// common password, run of one character, keyboard or alphabet sequence, date or repeated block
// costs a guesser less. 50 bits is the CNIL's floor (délibération 2022-100) for a password
// backed by limits on attempts, which login must enforce; 80 bits, its floor for a password
// that protects alone, earns the top score.
inline constexpr double kPasswordEntropyBitsMin = 50.0;
inline constexpr double kPasswordEntropyBitsStrong = 80.0;

// A `$argon2id$…` string holding the parameters and a fresh random salt.
Result<std::string> HashPassword(std::string_view password, const PasswordHashOptions& options);
// False for a wrong password and for a stored hash that is malformed or not a libsodium one.
bool VerifyPassword(std::string_view password, std::string_view stored_hash);
// True when the stored hash was made with other parameters or another algorithm: hash the
// password again (it is known right after a successful VerifyPassword) and store the result.
bool NeedsRehash(std::string_view stored_hash, const PasswordHashOptions& options);

// Why a password is refused, first reason found, checks in this order.
enum class PasswordWeakness {
  kNone,
  kTooShort,
  kTooLong,
  kRepetitive,        // mostly one repeated character or a keyboard/alphabet sequence
  kPersonal,          // contains a personal word (name, e-mail, organisation)
  kDictionary,        // cracklib: a dictionary word, slightly altered, or too systematic
  kGuessable,         // the entropy estimate is under kPasswordEntropyBitsMin
  kCheckUnavailable,  // the cracklib dictionary is missing: a deployment fault
};

// Stable names for logs and tests: "too_short", "personal", "guessable"…
std::string_view PasswordWeaknessCode(PasswordWeakness weakness);

struct PasswordAssessment {
  int score = 0;              // 0..4 for a strength meter; the policy needs >= 3
  double entropy_bits = 0.0;  // the pattern-aware estimate
  PasswordWeakness weakness = PasswordWeakness::kNone;
  std::string message;  // an English sentence for the person; empty when accepted
};

// personal_words: what people around the user, or anyone reading their profile, would try —
// names, the e-mail address (only its local part is used), organisation. Each is split into
// words; those of 3+ characters must not appear in the password, ignoring case, accents and
// common character substitutions (0 for o, 3 for e, @ for a…).
PasswordAssessment AssessPassword(std::string_view password,
                                  const std::vector<std::string>& personal_words);

// The policy: OkStatus, or Error{kValidation, "weak_password", sentence, {{"/password", …}}}
// (kUnavailable "password_check_unavailable" if the dictionary is missing).
Status CheckPasswordPolicy(std::string_view password,
                           const std::vector<std::string>& personal_words);

// 0..4, from the same assessment: CheckPasswordPolicy passes exactly when this is >= 3.
int EstimateStrength(std::string_view password, const std::vector<std::string>& personal_words);

}  // namespace guichet::identity
