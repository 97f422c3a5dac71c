#include "platform/base/crypto.h"

#include <sodium.h>

#include "platform/base/assert.h"

namespace guichet::crypto {

void Initialize() { GUICHET_ASSERT(sodium_init() >= 0); }

std::string RandomBytes(size_t count) {
  std::string bytes(count, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  return bytes;
}

std::string RandomToken(size_t bytes) {
  GUICHET_ASSERT(bytes >= 16);  // anything guessable is not a token
  return ToBase64Url(RandomBytes(bytes));
}

uint32_t RandomBelow(uint32_t upper_bound) {
  GUICHET_ASSERT(upper_bound > 0);
  return randombytes_uniform(upper_bound);
}

std::string Sha256(std::string_view data) {
  std::string digest(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(digest.data()),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return digest;
}

std::string Sha256Hex(std::string_view data) { return ToHex(Sha256(data)); }

std::string HmacSha256(std::string_view key, std::string_view data) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(mac.data()));
  return mac;
}

std::string ToHex(std::string_view bytes) {
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  hex.pop_back();
  return hex;
}

std::string ToBase64Url(std::string_view bytes) {
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string text(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(text.data(), text.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  text.resize(text.find('\0'));
  return text;
}

bool ConstantTimeEquals(std::string_view left, std::string_view right) {
  if (left.size() != right.size()) return false;
  return sodium_memcmp(left.data(), right.data(), left.size()) == 0;
}

}  // namespace guichet::crypto
