// An Internet message (RFC 5322 + MIME) built here rather than by a library, so every byte
// that leaves is ours to test:
//   multipart/mixed                      when there are attachments (PDF invoices…)
//     multipart/related                  when there are inline images (QR codes, cid:…)
//       multipart/alternative            when there is an HTML part
//         text/plain; charset=utf-8      quoted-printable
//         text/html; charset=utf-8       quoted-printable
//       image/png (Content-ID)           base64
//     application/pdf (attachment)       base64
// Lines end with CRLF and stay within 78 characters (RFC 5322 §2.1.1); non-ASCII header text
// is sent as RFC 2047 encoded-words.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/notify/message.h"

namespace guichet::notify {

inline constexpr size_t kMimeLineLengthMax = 76;  // body lines, before CRLF

struct MimeEnvelope {
  std::string from_address;
  std::string from_name;
  std::string to_address;
  std::string reply_to;      // empty: none
  std::string message_id;    // without angle brackets: "abc@guichet.example"
  int64_t date_ms = 0;
  bool auto_submitted = true;  // RFC 3834: a machine wrote it; no vacation replies
  std::vector<std::pair<std::string, std::string>> extra_headers;
};

// RFC 2047 "B" encoded-words of at most 75 characters, separated by CRLF SP (folded), when
// `text` is not plain printable ASCII; otherwise `text` unchanged.
std::string EncodeHeaderText(std::string_view text);
// "Name <address>", with the name quoted or encoded as needed.
std::string FormatMailbox(std::string_view name, std::string_view address);
// RFC 2045 §6.7 quoted-printable; line breaks become CRLF; soft breaks keep lines ≤ 76.
std::string QuotedPrintable(std::string_view text);
// Base64 in lines of 76 characters, each ended by CRLF.
std::string Base64Lines(std::string_view bytes);
std::string Base64(std::string_view bytes);
Result<std::string> DecodeBase64(std::string_view text);  // ignores CR, LF and spaces
// RFC 5322 date in UTC: "Sun, 29 Nov 2026 04:30:00 +0000".
std::string RfcDate(int64_t epoch_ms);
// A new Message-ID on `domain`: random, without angle brackets.
std::string NewMessageId(std::string_view domain);

// The whole message, headers and body, ready for SMTP DATA (CRLF line ends).
std::string BuildMime(const MimeEnvelope& envelope, const ComposedMessage& composed);

}  // namespace guichet::notify
