// Small cryptographic helpers over libsodium: randomness, digests, constant-time comparison.
// Anything that names an algorithm beyond these lives with its user (passwords, TOTP, audit).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace guichet::crypto {

// Must be called once before any other function (main and the test entry point do).
void Initialize();

std::string RandomBytes(size_t count);
// `bytes` random bytes as unpadded base64url: for session ids, reset tokens, pairing codes.
std::string RandomToken(size_t bytes);
// A uniformly random integer in [0, upper_bound).
uint32_t RandomBelow(uint32_t upper_bound);

std::string Sha256(std::string_view data);     // 32 raw bytes
std::string Sha256Hex(std::string_view data);  // 64 lowercase hex characters
std::string HmacSha256(std::string_view key, std::string_view data);  // 32 raw bytes

std::string ToHex(std::string_view bytes);
std::string ToBase64Url(std::string_view bytes);  // unpadded

bool ConstantTimeEquals(std::string_view left, std::string_view right);

}  // namespace guichet::crypto
