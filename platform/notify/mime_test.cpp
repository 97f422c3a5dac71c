#include "platform/notify/mime.h"

#include <gtest/gtest.h>

#include "platform/notify/sms.h"

namespace guichet::notify {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t at = text.find("\r\n"); at != std::string::npos; at = text.find("\r\n", start)) {
    lines.push_back(text.substr(start, at - start));
    start = at + 2;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

TEST(Mime, QuotedPrintableKeepsLinesShortAndEncodesWhatItMust) {
  const std::string long_line(200, 'a');
  const std::string encoded = QuotedPrintable("Héllo = world \n" + long_line + "\n.dot");
  for (const std::string& line : Lines(encoded)) EXPECT_LE(line.size(), kMimeLineLengthMax);
  EXPECT_NE(encoded.find("H=C3=A9llo =3D world=20\r\n"), std::string::npos);  // trailing space encoded
  EXPECT_NE(encoded.find("=2Edot"), std::string::npos);
  EXPECT_EQ(encoded.find('\n'), encoded.find("\r\n") + 1);  // CRLF only
}

TEST(Mime, EncodedWordsForNonAsciiHeadersAndPlainTextOtherwise) {
  EXPECT_EQ(EncodeHeaderText("Plain subject"), "Plain subject");
  EXPECT_EQ(EncodeHeaderText("Bad\r\nBcc: evil@example.com"), "Bad  Bcc: evil@example.com");  // no injection
  const std::string encoded = EncodeHeaderText("Facture de décembre — école ✓ et encore un peu de texte accentué");
  for (const std::string& line : Lines(encoded)) {
    const std::string word = line.starts_with(" ") ? line.substr(1) : line;
    EXPECT_TRUE(word.starts_with("=?UTF-8?B?") && word.ends_with("?=")) << word;
    EXPECT_LE(word.size(), 75u);
  }
  // Decoding the words gives back the text, with no character cut in two.
  std::string decoded;
  for (const std::string& line : Lines(encoded)) {
    const std::string word = line.starts_with(" ") ? line.substr(1) : line;
    auto bytes = DecodeBase64(word.substr(10, word.size() - 12));
    ASSERT_TRUE(bytes.ok());
    decoded += *bytes;
  }
  EXPECT_EQ(decoded, "Facture de décembre — école ✓ et encore un peu de texte accentué");
  EXPECT_EQ(FormatMailbox("Mairie \"centre\"", "m@example.fr"), "\"Mairie \\\"centre\\\"\" <m@example.fr>");
}

TEST(Mime, Base64RoundTripsAndWrapsAt76) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) bytes += static_cast<char>(i % 256);
  const std::string lines = Base64Lines(bytes);
  for (const std::string& line : Lines(lines)) EXPECT_LE(line.size(), 76u);
  auto back = DecodeBase64(lines);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, bytes);
  EXPECT_EQ(Base64("ab"), "YWI=");
  EXPECT_EQ(Base64("abc"), "YWJj");
}

TEST(Mime, DateIsRfc5322InUtc) { EXPECT_EQ(RfcDate(0), "Thu, 01 Jan 1970 00:00:00 +0000"); }

MimeEnvelope Envelope() {
  MimeEnvelope envelope;
  envelope.from_address = "contact@ville.example";
  envelope.from_name = "Ville de Vénissieux";
  envelope.to_address = "a@example.fr";
  envelope.message_id = "abc@ville.example";
  envelope.date_ms = 0;
  return envelope;
}

TEST(Mime, TextOnlyMessageIsOnePart) {
  ComposedMessage composed;
  composed.subject = "Bonjour";
  composed.text = "Ligne 1\nLigne 2";
  const std::string message = BuildMime(Envelope(), composed);
  EXPECT_NE(message.find("From: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(message.find("Message-ID: <abc@ville.example>\r\n"), std::string::npos);
  EXPECT_NE(message.find("Auto-Submitted: auto-generated\r\n"), std::string::npos);
  EXPECT_NE(message.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
  EXPECT_EQ(message.find("multipart"), std::string::npos);
  EXPECT_EQ(message.find("List-Unsubscribe"), std::string::npos);  // mandatory message: none
  for (const std::string& line : Lines(message)) EXPECT_LE(line.size(), 78u) << line;
}

TEST(Mime, NestingFollowsWhatTheMessageHolds) {
  ComposedMessage composed;
  composed.subject = "Facture";
  composed.text = "Texte";
  composed.html = "<p>HTML <img src=\"cid:qr\"></p>";
  composed.unsubscribe_url = "https://guichet.example/u/x";
  composed.attachments.push_back({"qr.png", "image/png", "qr", std::string("\x89PNG\r\n", 6)});
  composed.attachments.push_back({"facture é.pdf", "application/pdf", "", "%PDF-1.4"});
  const std::string message = BuildMime(Envelope(), composed);
  const size_t mixed = message.find("multipart/mixed");
  const size_t related = message.find("multipart/related");
  const size_t alternative = message.find("multipart/alternative;");
  const size_t html = message.find("text/html");
  const size_t image = message.find("Content-ID: <qr>");
  const size_t pdf = message.find("Content-Disposition: attachment; filename*=utf-8''facture%20%C3%A9.pdf");
  ASSERT_NE(mixed, std::string::npos);
  ASSERT_NE(pdf, std::string::npos);
  EXPECT_LT(mixed, related);
  EXPECT_LT(related, alternative);
  EXPECT_LT(alternative, html);
  EXPECT_LT(html, image);
  EXPECT_LT(image, pdf);
  EXPECT_NE(message.find("List-Unsubscribe: <https://guichet.example/u/x>\r\nList-Unsubscribe-Post: "
                         "List-Unsubscribe=One-Click\r\n"),
            std::string::npos);
}

TEST(Sms, FrenchMobileNumbersInE164) {
  EXPECT_EQ(FrenchMobileE164("06 12 34 56 78"), "+33612345678");
  EXPECT_EQ(FrenchMobileE164("+33 7.12.34.56.78"), "+33712345678");
  EXPECT_EQ(FrenchMobileE164("0033612345678"), "+33612345678");
  EXPECT_EQ(FrenchMobileE164("+262 692 12 34 56"), "+262692123456");
  EXPECT_EQ(FrenchMobileE164("01 23 45 67 89"), std::nullopt);  // a fixed line
  EXPECT_EQ(FrenchMobileE164("06 12 34 56"), std::nullopt);
  EXPECT_EQ(FrenchMobileE164("+44 7700 900123"), std::nullopt);
  EXPECT_EQ(FrenchMobileE164("06-12-34-56-7a"), std::nullopt);
}

TEST(Sms, ReportSignatureIsHmacOfTheBody) {
  EXPECT_FALSE(ReportSignatureValid("", "{}", ""));
  EXPECT_TRUE(ReportSignatureValid("key", "The quick brown fox jumps over the lazy dog",
                                   "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"));
  EXPECT_FALSE(ReportSignatureValid("key", "The quick brown fox jumps over the lazy dog.",
                                    "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"));
}

}  // namespace
}  // namespace guichet::notify
