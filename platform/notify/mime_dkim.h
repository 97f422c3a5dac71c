// DKIM signatures (RFC 6376): rsa-sha256, relaxed/relaxed canonicalisation, over the headers
// that make a message what it is. Applied by the SMTP channel when the sender domain has a
// selector and a private key (senders.h); receivers check it against the public key the
// organisation publishes at <selector>._domainkey.<domain>.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "platform/base/result.h"

namespace guichet::notify {

inline constexpr int64_t kDkimRsaBitsMin = 1024;  // RFC 8301: verifiers refuse smaller keys

// Relaxed canonicalisation (RFC 6376 §3.4.2 and §3.4.4).
std::string DkimRelaxedHeader(std::string_view name, std::string_view value);
std::string DkimRelaxedBody(std::string_view body);

// Returns `message` (CRLF line ends, headers then a blank line then the body) with a
// DKIM-Signature header in front. Errors: dkim_key_invalid.
Result<std::string> DkimSign(std::string_view message, std::string_view domain, std::string_view selector,
                             std::string_view private_key_pem, int64_t now_s);

}  // namespace guichet::notify
