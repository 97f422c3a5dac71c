#include "platform/tokens/qr.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace guichet::tokens {
namespace {

constexpr std::string_view kOtpauthUri =
    "otpauth://totp/Guichet%20%C3%89tudiant:jean.dupont@example.fr?secret="
    "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=Guichet%20%C3%89tudiant&algorithm=SHA1&digits=6"
    "&period=30";
// UTF-8 from several scripts, with punctuation and control characters a byte-mode reader must
// hand back untouched.
constexpr std::string_view kUtf8Text =
    "Pass touristique — Saint-Étienne, Noël 2026 ✓ 日本語 € \"q\" <a&b>\ttab ~`{}|";

// Writes the PNG to a temporary file and reads it back with the zbar decoder, as a phone would.
// Without `binary`, zbar hands back text: UTF-8 as is, other bytes read as Latin-1.
std::string DecodeWithZbar(const std::string& png, bool binary = false) {
  std::string path = ::testing::TempDir() + "guichet_qr_XXXXXX.png";
  const int fd = mkstemps(path.data(), 4);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path, std::ios::binary) << png;
  // stdout only: the symbol's bytes. Errors go to the test's stderr.
  const std::string options = binary ? "--raw -q --nodbus -Sbinary" : "--raw -q --nodbus";
  FILE* pipe = popen(("zbarimg " + options + " '" + path + "'").c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buffer{};
  for (size_t n; (n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) {
    output.append(buffer.data(), n);
  }
  const int status = pclose(pipe);
  std::remove(path.c_str());
  EXPECT_EQ(status, 0) << "zbarimg found no symbol";
  // zbarimg ends each text symbol with a newline.
  if (!binary && !output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

uint32_t BigEndian32(const std::string& bytes, size_t at) {
  uint32_t value = 0;
  for (size_t i = at; i < at + 4; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

TEST(QrPng, DecodesToTheOtpauthUri) {
  auto png = QrPng(kOtpauthUri);
  ASSERT_TRUE(png.ok()) << png.error().message;
  EXPECT_EQ(DecodeWithZbar(*png), kOtpauthUri);
}

TEST(QrPng, DecodesToTheSameUtf8Bytes) {
  auto png = QrPng(kUtf8Text);
  ASSERT_TRUE(png.ok()) << png.error().message;
  EXPECT_EQ(DecodeWithZbar(*png), kUtf8Text);
}

TEST(QrPng, DecodesToTheSameBinaryBytes) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(255 - i));  // NUL included
  auto png = QrPng(bytes);
  ASSERT_TRUE(png.ok()) << png.error().message;
  EXPECT_EQ(DecodeWithZbar(*png, true), bytes);
}

TEST(QrPng, DecodesAtEveryErrorCorrectionLevelAndScale) {
  for (auto level : {QrErrorCorrection::kLow, QrErrorCorrection::kMedium,
                     QrErrorCorrection::kQuartile, QrErrorCorrection::kHigh}) {
    for (int64_t scale_px : {3, 8}) {
      auto png = QrPng(kOtpauthUri, {.error_correction = level, .scale_px = scale_px});
      ASSERT_TRUE(png.ok());
      EXPECT_EQ(DecodeWithZbar(*png), kOtpauthUri) << static_cast<int>(level) << " " << scale_px;
    }
  }
}

TEST(QrPng, DecodesALargeSymbol) {
  std::string text;
  while (text.size() < 1000) {
    text += std::string(kUtf8Text.substr(0, 7)) + std::to_string(text.size());
  }
  auto png = QrPng(text, {.error_correction = QrErrorCorrection::kLow, .scale_px = 4});
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(DecodeWithZbar(*png), text);
}

TEST(QrPng, IsAn8BitGrayscaleImageOfScaledModulesAndQuietZone) {
  auto matrix = EncodeQr(kOtpauthUri, QrErrorCorrection::kMedium);
  auto png = QrPng(kOtpauthUri, {.scale_px = 5});
  ASSERT_TRUE(matrix.ok() && png.ok());
  ASSERT_GT(png->size(), 33u);
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(BigEndian32(*png, 8), 13u);
  EXPECT_EQ(png->substr(12, 4), "IHDR");
  const auto side_px = static_cast<uint32_t>((matrix->size + 2 * kQrQuietZoneModules) * 5);
  EXPECT_EQ(BigEndian32(*png, 16), side_px);
  EXPECT_EQ(BigEndian32(*png, 20), side_px);
  EXPECT_EQ((*png)[24], 8);  // bit depth
  EXPECT_EQ((*png)[25], 0);  // colour type: grayscale
  EXPECT_TRUE(png->ends_with(std::string("IEND\xAE\x42\x60\x82", 8)));
}

TEST(QrMatrix, HasTheSizeOfItsVersion) {
  // The classic example: 11 alphanumeric characters at level Q fit version 1 (21 × 21).
  auto hello = EncodeQr("HELLO WORLD", QrErrorCorrection::kQuartile);
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(hello->version, 1);
  EXPECT_EQ(hello->size, 21);
  for (const std::string& text :
       {std::string(kOtpauthUri), std::string(kUtf8Text), std::string(1500, 'x')}) {
    auto matrix = EncodeQr(text, QrErrorCorrection::kMedium);
    ASSERT_TRUE(matrix.ok());
    EXPECT_EQ(matrix->size, 17 + 4 * matrix->version);
    EXPECT_EQ(matrix->dark.size(), static_cast<size_t>(matrix->size * matrix->size));
  }
  // More error correction needs a larger symbol for the same text.
  auto low = EncodeQr(kOtpauthUri, QrErrorCorrection::kLow);
  auto high = EncodeQr(kOtpauthUri, QrErrorCorrection::kHigh);
  ASSERT_TRUE(low.ok() && high.ok());
  EXPECT_LT(low->version, high->version);
}

TEST(QrSvg, IsOnePathInModuleUnitsWithItsQuietZone) {
  auto matrix = EncodeQr(kOtpauthUri, QrErrorCorrection::kMedium);
  auto svg = QrSvg(kOtpauthUri, {.scale_px = 4, .aria_label = "Scan to add \"Guichet\" & co"});
  ASSERT_TRUE(matrix.ok() && svg.ok());
  const int side = matrix->size + 2 * kQrQuietZoneModules;
  EXPECT_TRUE(svg->starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"")) << *svg;
  EXPECT_TRUE(svg->ends_with("</svg>"));
  EXPECT_NE(svg->find(fmt::format("viewBox=\"0 0 {0} {0}\"", side)), std::string::npos);
  EXPECT_NE(svg->find(fmt::format("width=\"{0}\" height=\"{0}\"", side * 4)), std::string::npos);
  EXPECT_NE(svg->find("shape-rendering=\"crispEdges\""), std::string::npos);
  EXPECT_NE(svg->find("role=\"img\""), std::string::npos);
  EXPECT_NE(svg->find("aria-label=\"Scan to add &quot;Guichet&quot; &amp; co\""),
            std::string::npos);
  EXPECT_EQ(svg->find("style"), std::string::npos);  // the CSP refuses inline styles
  EXPECT_EQ(svg->find("<path"), svg->rfind("<path"));

  // Redraw the path's runs: they cover exactly the dark modules, shifted by the quiet zone.
  constexpr std::string_view kPathStart = R"(<path fill="#000" d=")";
  const size_t d_begin = svg->find(kPathStart) + kPathStart.size();
  const std::string d = svg->substr(d_begin, svg->find('"', d_begin) - d_begin);
  std::vector<bool> drawn(static_cast<size_t>(side) * side, false);
  for (size_t at = 0; at < d.size();) {
    unsigned x = 0, y = 0, n = 0, back = 0;
    int used = 0;
    const int read = std::sscanf(d.c_str() + at, "M%u %uh%uv1h-%uz%n", &x, &y, &n, &back, &used);
    ASSERT_EQ(read, 4) << "not a run at " << d.substr(at, 20);
    EXPECT_EQ(n, back);
    for (size_t i = 0; i < n; ++i) drawn.at(static_cast<size_t>(y) * side + x + i) = true;
    at += static_cast<size_t>(used);
  }
  std::vector<bool> expected;
  for (int y = -kQrQuietZoneModules; y < matrix->size + kQrQuietZoneModules; ++y) {
    for (int x = -kQrQuietZoneModules; x < matrix->size + kQrQuietZoneModules; ++x) {
      const bool inside = x >= 0 && y >= 0 && x < matrix->size && y < matrix->size;
      expected.push_back(inside && matrix->Dark(x, y));
    }
  }
  EXPECT_EQ(drawn, expected);
}

TEST(QrLimits, RefuseEmptyOversizedAndUnscalableInput) {
  EXPECT_EQ(QrSvg("").error().code, "qr_text_empty");
  const std::string too_long(kQrTextBytesMax + 1, 'a');
  EXPECT_EQ(QrSvg(too_long).error().code, "qr_text_too_long");
  EXPECT_EQ(QrPng(too_long).error().code, "qr_text_too_long");
  EXPECT_EQ(QrSvg(too_long).error().kind, ErrorKind::kInvalidInput);
  // The limit itself fits at level low, not at level high.
  const std::string at_limit(kQrTextBytesMax, 'a');
  EXPECT_TRUE(EncodeQr(at_limit, QrErrorCorrection::kLow).ok());
  EXPECT_EQ(EncodeQr(at_limit, QrErrorCorrection::kHigh).error().code, "qr_text_too_long");
  EXPECT_EQ(QrPng("x", {.scale_px = 0}).error().code, "qr_scale_out_of_range");
  EXPECT_EQ(QrSvg("x", {.scale_px = kQrScalePxMax + 1}).error().code, "qr_scale_out_of_range");
  EXPECT_TRUE(QrPng("x", {.scale_px = kQrScalePxMax}).ok());
}

}  // namespace
}  // namespace guichet::tokens
