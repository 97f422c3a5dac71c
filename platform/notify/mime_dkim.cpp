#include "platform/notify/mime_dkim.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "platform/base/crypto.h"
#include "platform/notify/mime.h"

namespace guichet::notify {
namespace {

// The headers signed when present: those a forger would change (RFC 6376 §5.4.1).
constexpr std::string_view kSigned[] = {"from",        "to",          "reply-to",         "subject",
                                        "date",        "message-id",  "mime-version",     "content-type",
                                        "auto-submitted", "list-unsubscribe", "list-unsubscribe-post"};

bool Wsp(char c) { return c == ' ' || c == '\t'; }

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

struct Header {
  std::string name;
  std::string value;  // as written, folds included
};

std::vector<Header> SplitHeaders(std::string_view block) {
  std::vector<Header> headers;
  size_t start = 0;
  while (start < block.size()) {
    size_t end = block.find("\r\n", start);
    if (end == std::string_view::npos) end = block.size();
    std::string_view line = block.substr(start, end - start);
    if (!line.empty() && Wsp(line.front()) && !headers.empty()) {
      headers.back().value += "\r\n" + std::string(line);
    } else {
      const size_t colon = line.find(':');
      if (colon != std::string_view::npos) headers.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
    }
    start = end + 2;
  }
  return headers;
}

std::string RsaSha256(std::string_view key_pem, std::string_view data, std::string* error) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr, EVP_PKEY_free);
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    *error = "not a PEM RSA private key";
    return "";
  }
  if (EVP_PKEY_get_bits(key.get()) < kDkimRsaBitsMin) {
    *error = "RSA key shorter than 1024 bits";
    return "";
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t length = 0;
  if (!context || EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(context.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    *error = "signing failed";
    return "";
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    *error = "signing failed";
    return "";
  }
  signature.resize(length);
  return signature;
}

// Long tag values are folded; relaxed canonicalisation makes the folds harmless.
std::string Fold(std::string_view value, size_t width) {
  std::string out;
  for (size_t i = 0; i < value.size(); i += width) {
    if (i > 0) out += "\r\n\t";
    out += value.substr(i, width);
  }
  return out;
}

}  // namespace

std::string DkimRelaxedHeader(std::string_view name, std::string_view value) {
  std::string unfolded;
  for (char c : value) {
    if (c != '\r' && c != '\n') unfolded += c;
  }
  std::string compressed;
  for (char c : unfolded) {
    if (Wsp(c)) {
      if (compressed.empty() || compressed.back() != ' ') compressed += ' ';
    } else {
      compressed += c;
    }
  }
  const size_t begin = compressed.find_first_not_of(' ');
  const size_t end = compressed.find_last_not_of(' ');
  const std::string trimmed = begin == std::string::npos ? "" : compressed.substr(begin, end - begin + 1);
  std::string head = Lower(name);
  while (!head.empty() && Wsp(head.back())) head.pop_back();
  return head + ":" + trimmed;
}

std::string DkimRelaxedBody(std::string_view body) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find("\r\n", start);
    if (end == std::string_view::npos) end = body.size();
    std::string line;
    for (char c : body.substr(start, end - start)) {
      if (Wsp(c)) {
        if (line.empty() || line.back() != ' ') line += ' ';
      } else {
        line += c;
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 2;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (const std::string& line : lines) out += line + "\r\n";
  return out;
}

Result<std::string> DkimSign(std::string_view message, std::string_view domain, std::string_view selector,
                             std::string_view private_key_pem, int64_t now_s) {
  const size_t split = message.find("\r\n\r\n");
  GUICHET_ASSERT(split != std::string_view::npos);
  const std::vector<Header> headers = SplitHeaders(message.substr(0, split));
  const std::string body_hash = Base64(crypto::Sha256(DkimRelaxedBody(message.substr(split + 4))));
  std::string names;
  std::string signed_data;
  for (std::string_view wanted : kSigned) {
    for (auto header = headers.rbegin(); header != headers.rend(); ++header) {
      if (Lower(header->name) != wanted) continue;
      names += (names.empty() ? "" : ":") + std::string(wanted);
      signed_data += DkimRelaxedHeader(header->name, header->value) + "\r\n";
      break;
    }
  }
  const std::string value = fmt::format(
      " v=1; a=rsa-sha256; c=relaxed/relaxed; d={}; s={};\r\n\tt={}; h={};\r\n\tbh={};\r\n\tb=", domain, selector,
      now_s, names, body_hash);
  signed_data += DkimRelaxedHeader("DKIM-Signature", value);  // without its CRLF (§3.7)
  std::string error;
  const std::string signature = RsaSha256(private_key_pem, signed_data, &error);
  if (signature.empty()) return Error::Invalid("dkim_key_invalid", "DKIM: " + error);
  return "DKIM-Signature:" + value + Fold(Base64(signature), 70) + "\r\n" + std::string(message);
}

}  // namespace guichet::notify
