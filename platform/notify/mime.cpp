#include "platform/notify/mime.h"

#include <ctime>

#include <fmt/format.h>

#include "platform/base/crypto.h"

namespace guichet::notify {
namespace {

constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// 52 base64 characters + 12 of framing = 64: with "Subject: " the first line stays ≤ 78.
constexpr size_t kEncodedWordBytesMax = 39;

bool PlainAscii(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  // "=?" would be read as the start of an encoded-word.
  return text.find("=?") == std::string_view::npos;
}

// Header values never carry line breaks of their own (header injection).
std::string OneLine(std::string_view text) {
  std::string line;
  for (char c : text) line += (c == '\r' || c == '\n') ? ' ' : c;
  return line;
}

// Splits UTF-8 text into chunks of at most `max` bytes without cutting a character.
std::vector<std::string_view> Utf8Chunks(std::string_view text, size_t max) {
  std::vector<std::string_view> chunks;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = std::min(start + max, text.size());
    while (end < text.size() && end > start && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    if (end == start) end = std::min(start + max, text.size());  // not UTF-8: cut anyway
    chunks.push_back(text.substr(start, end - start));
    start = end;
  }
  return chunks;
}

std::string Boundary(int part) { return fmt::format("=_guichet_{}_{}", crypto::ToHex(crypto::RandomBytes(12)), part); }

std::string TextPart(std::string_view subtype, std::string_view body) {
  return fmt::format("Content-Type: text/{}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}",
                     subtype, QuotedPrintable(body));
}

std::string Multipart(std::string_view subtype, const std::vector<std::string>& parts, int index,
                      std::string_view extra_params = "") {
  const std::string boundary = Boundary(index);
  std::string out = fmt::format("Content-Type: multipart/{};\r\n boundary=\"{}\"{}\r\n\r\n", subtype, boundary, extra_params);
  for (const std::string& part : parts) out += "--" + boundary + "\r\n" + part + "\r\n";
  out += "--" + boundary + "--\r\n";
  return out;
}

std::string QuotedParam(std::string_view value) {
  std::string out = "\"";
  for (char c : OneLine(value)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string FilenameParam(std::string_view filename) {
  // RFC 2231 for non-ASCII names; plain quoted otherwise.
  if (PlainAscii(filename)) return "filename=" + QuotedParam(filename);
  std::string encoded = "filename*=utf-8''";
  for (unsigned char c : filename) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      encoded += static_cast<char>(c);
    } else {
      encoded += fmt::format("%{:02X}", c);
    }
  }
  return encoded;
}

std::string BinaryPart(const Attachment& attachment) {
  std::string head = fmt::format("Content-Type: {}\r\nContent-Transfer-Encoding: base64\r\n", OneLine(attachment.content_type));
  if (!attachment.content_id.empty()) {
    head += fmt::format("Content-ID: <{}>\r\nContent-Disposition: inline; {}\r\n", OneLine(attachment.content_id),
                        FilenameParam(attachment.filename));
  } else {
    head += fmt::format("Content-Disposition: attachment; {}\r\n", FilenameParam(attachment.filename));
  }
  return head + "\r\n" + Base64Lines(attachment.bytes);
}

}  // namespace

std::string EncodeHeaderText(std::string_view text) {
  const std::string line = OneLine(text);
  if (PlainAscii(line)) return line;
  std::string out;
  for (std::string_view chunk : Utf8Chunks(line, kEncodedWordBytesMax)) {
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(chunk) + "?=";
  }
  return out;
}

std::string FormatMailbox(std::string_view name, std::string_view address) {
  const std::string bare = OneLine(address);
  if (name.empty()) return "<" + bare + ">";
  const std::string display = OneLine(name);
  if (!PlainAscii(display)) return EncodeHeaderText(display) + " <" + bare + ">";
  return QuotedParam(display) + " <" + bare + ">";
}

std::string QuotedPrintable(std::string_view text) {
  std::string out;
  size_t column = 0;
  auto emit = [&](std::string_view piece) {
    if (column + piece.size() > kMimeLineLengthMax - 1) {  // room for the soft break "="
      out += "=\r\n";
      column = 0;
    }
    out += piece;
    column += piece.size();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    if (c == '\n' || c == '\r') {
      out += "\r\n";
      column = 0;
      continue;
    }
    const bool line_end = i + 1 == text.size() || text[i + 1] == '\n' || text[i + 1] == '\r';
    const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end);
    // A "." alone at a line start is safe in DATA (libcurl escapes it) but encode it anyway
    // for relays that do not.
    if (literal && !(c == '.' && column == 0)) {
      const char one[1] = {static_cast<char>(c)};
      emit(std::string_view(one, 1));
    } else {
      emit(fmt::format("={:02X}", c));
    }
  }
  return out;
}

std::string Base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += kBase64Alphabet[(n >> 6) & 63];
    out += kBase64Alphabet[n & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kBase64Alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> DecodeBase64(std::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '\r' || c == '\n' || c == ' ' || c == '=') continue;
    const size_t value = kBase64Alphabet.find(c);
    if (value == std::string_view::npos) return Error::Invalid("base64_invalid", "not base64");
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

std::string Base64Lines(std::string_view bytes) {
  const std::string encoded = Base64(bytes);
  std::string out;
  for (size_t i = 0; i < encoded.size(); i += kMimeLineLengthMax) {
    out += encoded.substr(i, kMimeLineLengthMax) + "\r\n";
  }
  return out;
}

std::string RfcDate(int64_t epoch_ms) {
  const std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} +0000", kDays[utc.tm_wday], utc.tm_mday,
                     kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

std::string NewMessageId(std::string_view domain) {
  return crypto::ToHex(crypto::RandomBytes(16)) + "@" + std::string(domain);
}

std::string BuildMime(const MimeEnvelope& envelope, const ComposedMessage& composed) {
  GUICHET_ASSERT(!envelope.from_address.empty() && !envelope.to_address.empty() && !envelope.message_id.empty());
  std::string headers;
  headers += "From: " + FormatMailbox(envelope.from_name, envelope.from_address) + "\r\n";
  headers += "To: " + FormatMailbox("", envelope.to_address) + "\r\n";
  if (!envelope.reply_to.empty()) headers += "Reply-To: " + FormatMailbox("", envelope.reply_to) + "\r\n";
  headers += "Subject: " + EncodeHeaderText(composed.subject) + "\r\n";
  headers += "Date: " + RfcDate(envelope.date_ms) + "\r\n";
  headers += "Message-ID: <" + OneLine(envelope.message_id) + ">\r\n";
  if (envelope.auto_submitted) headers += "Auto-Submitted: auto-generated\r\n";
  if (!composed.unsubscribe_url.empty()) {
    // RFC 2369 and RFC 8058: one-click unsubscription by POST to the same URL.
    headers += "List-Unsubscribe: <" + OneLine(composed.unsubscribe_url) + ">\r\n";
    headers += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
  }
  for (const auto& [name, value] : envelope.extra_headers) headers += OneLine(name) + ": " + EncodeHeaderText(value) + "\r\n";
  headers += "MIME-Version: 1.0\r\n";

  std::string body = composed.html.empty()
                         ? TextPart("plain", composed.text) + "\r\n"
                         : Multipart("alternative", {TextPart("plain", composed.text), TextPart("html", composed.html)}, 1);
  std::vector<std::string> inline_parts;
  std::vector<std::string> attached;
  for (const Attachment& attachment : composed.attachments) {
    (attachment.content_id.empty() ? attached : inline_parts).push_back(BinaryPart(attachment));
  }
  if (!inline_parts.empty()) {
    std::vector<std::string> parts = {body};
    parts.insert(parts.end(), inline_parts.begin(), inline_parts.end());
    body = Multipart("related", parts, 2, composed.html.empty() ? "" : ";\r\n type=\"multipart/alternative\"");
  }
  if (!attached.empty()) {
    std::vector<std::string> parts = {body};
    parts.insert(parts.end(), attached.begin(), attached.end());
    body = Multipart("mixed", parts, 3);
  }
  return headers + body;
}

}  // namespace guichet::notify
