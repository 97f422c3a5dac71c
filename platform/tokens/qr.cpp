#include "platform/tokens/qr.h"

#include <fmt/format.h>
#include <qrencode.h>
#include <zlib.h>

#include <cerrno>
#include <iterator>
#include <memory>

namespace guichet::tokens {
namespace {

QRecLevel Level(QrErrorCorrection error_correction) {
  switch (error_correction) {
    case QrErrorCorrection::kLow:
      return QR_ECLEVEL_L;
    case QrErrorCorrection::kMedium:
      return QR_ECLEVEL_M;
    case QrErrorCorrection::kQuartile:
      return QR_ECLEVEL_Q;
    case QrErrorCorrection::kHigh:
      return QR_ECLEVEL_H;
  }
  GUICHET_ASSERT(false);
  return QR_ECLEVEL_M;
}

struct QrcodeFree {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

Status CheckScale(const QrOptions& options) {
  if (options.scale_px < 1 || options.scale_px > kQrScalePxMax) {
    return Error::Invalid(
        "qr_scale_out_of_range",
        fmt::format("A QR code is drawn with 1 to {} pixels per module.", kQrScalePxMax));
  }
  return OkStatus();
}

std::string XmlAttribute(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// One subpath per horizontal run of dark modules: "M x y h n v 1 h -n z".
std::string DarkModulesPath(const QrMatrix& matrix) {
  std::string path;
  auto out = std::back_inserter(path);
  for (int y = 0; y < matrix.size; ++y) {
    for (int x = 0; x < matrix.size;) {
      if (!matrix.Dark(x, y)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < matrix.size && matrix.Dark(x + run, y)) ++run;
      fmt::format_to(out, "M{} {}h{}v1h-{}z", x + kQrQuietZoneModules, y + kQrQuietZoneModules, run,
                     run);
      x += run;
    }
  }
  return path;
}

void AppendBigEndian32(uint32_t value, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

// Length, type, data, then the CRC-32 of type and data (PNG specification §5.3).
void AppendPngChunk(std::string_view type, std::string_view data, std::string* png) {
  AppendBigEndian32(static_cast<uint32_t>(data.size()), png);
  const size_t crc_from = png->size();
  png->append(type);
  png->append(data);
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(png->data() + crc_from),
                          static_cast<uInt>(png->size() - crc_from));
  AppendBigEndian32(static_cast<uint32_t>(crc), png);
}

// Scanlines of one byte per pixel (0 black, 255 white), each after filter type 0 (none).
std::string Scanlines(const QrMatrix& matrix, int scale_px) {
  const int side_modules = matrix.size + 2 * kQrQuietZoneModules;
  const size_t side_px = static_cast<size_t>(side_modules) * scale_px;
  std::string raw;
  raw.reserve((side_px + 1) * side_px);
  std::string row;
  for (int y = -kQrQuietZoneModules; y < matrix.size + kQrQuietZoneModules; ++y) {
    row.assign(1, '\0');
    for (int x = -kQrQuietZoneModules; x < matrix.size + kQrQuietZoneModules; ++x) {
      const bool inside = x >= 0 && y >= 0 && x < matrix.size && y < matrix.size;
      row.append(static_cast<size_t>(scale_px), inside && matrix.Dark(x, y) ? '\0' : '\xFF');
    }
    for (int i = 0; i < scale_px; ++i) raw += row;
  }
  GUICHET_ASSERT(raw.size() == (side_px + 1) * side_px);
  return raw;
}

}  // namespace

Result<QrMatrix> EncodeQr(std::string_view text, QrErrorCorrection error_correction) {
  if (text.empty()) return Error::Invalid("qr_text_empty", "There is nothing to encode.");
  if (text.size() > static_cast<size_t>(kQrTextBytesMax)) {
    return Error::Invalid("qr_text_too_long",
                          fmt::format("A QR code holds at most {} bytes here; this text has {}.",
                                      kQrTextBytesMax, text.size()));
  }
  // encodeString picks numeric and alphanumeric segments where they are shorter (a smaller,
  // easier to scan symbol) but stops at a NUL byte; encodeData takes any bytes.
  errno = 0;
  const std::string terminated(text);
  std::unique_ptr<QRcode, QrcodeFree> code(
      terminated.find('\0') == std::string::npos
          ? QRcode_encodeString(terminated.c_str(), 0, Level(error_correction), QR_MODE_8, 1)
          : QRcode_encodeData(static_cast<int>(text.size()),
                              reinterpret_cast<const unsigned char*>(text.data()), 0,
                              Level(error_correction)));
  if (code == nullptr && errno == ERANGE) {
    return Error::Invalid("qr_text_too_long",
                          "This text is too long for a QR code at this error correction level.");
  }
  if (code == nullptr) return Error::Internal(fmt::format("libqrencode failed: errno {}", errno));
  QrMatrix matrix;
  matrix.version = code->version;
  matrix.size = code->width;
  GUICHET_ASSERT(matrix.version >= 1 && matrix.version <= 40);
  GUICHET_ASSERT(matrix.size == 17 + 4 * matrix.version);
  matrix.dark.resize(static_cast<size_t>(matrix.size) * matrix.size);
  for (size_t i = 0; i < matrix.dark.size(); ++i) matrix.dark[i] = (code->data[i] & 1) != 0;
  return matrix;
}

Result<std::string> QrSvg(std::string_view text, const QrOptions& options) {
  GUICHET_TRY_STATUS(CheckScale(options));
  auto matrix = EncodeQr(text, options.error_correction);
  if (!matrix.ok()) return std::move(matrix).error();
  const int side = matrix->size + 2 * kQrQuietZoneModules;
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{0}\" "
      "viewBox=\"0 0 {1} {1}\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"{2}\">"
      "<rect width=\"{1}\" height=\"{1}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{3}\"/></svg>",
      side * options.scale_px, side, XmlAttribute(options.aria_label), DarkModulesPath(*matrix));
}

// Written with zlib, already linked for HTTP compression, rather than adding libpng for three
// chunks: a grayscale PNG is a signature, IHDR, one IDAT of deflated scanlines and IEND.
Result<std::string> QrPng(std::string_view text, const QrOptions& options) {
  GUICHET_TRY_STATUS(CheckScale(options));
  auto matrix = EncodeQr(text, options.error_correction);
  if (!matrix.ok()) return std::move(matrix).error();
  const int scale_px = static_cast<int>(options.scale_px);
  const std::string raw = Scanlines(*matrix, scale_px);
  std::string deflated(compressBound(static_cast<uLong>(raw.size())), '\0');
  auto deflated_size = static_cast<uLongf>(deflated.size());
  if (compress2(reinterpret_cast<Bytef*>(deflated.data()), &deflated_size,
                reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                Z_BEST_COMPRESSION) != Z_OK) {
    return Error::Internal("zlib could not compress the QR code image");
  }
  deflated.resize(deflated_size);

  const auto side_px = static_cast<uint32_t>((matrix->size + 2 * kQrQuietZoneModules) * scale_px);
  std::string header;
  AppendBigEndian32(side_px, &header);                    // width
  AppendBigEndian32(side_px, &header);                    // height
  header += std::string_view("\x08\x00\x00\x00\x00", 5);  // 8 bits, grayscale, deflate, no
                                                          // filter method, no interlace
  std::string png("\x89PNG\r\n\x1a\n", 8);
  AppendPngChunk("IHDR", header, &png);
  AppendPngChunk("IDAT", deflated, &png);
  AppendPngChunk("IEND", {}, &png);
  return png;
}

}  // namespace guichet::tokens
