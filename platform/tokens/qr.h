// QR codes (libqrencode) as SVG, to inline in a page or serve as image/svg+xml, and as PNG,
// for e-mails, PDF tickets and anything that does not render SVG.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/result.h"

namespace guichet::tokens {

// The share of the symbol that may be damaged or hidden and still read: 7, 15, 25, 30 %.
// Medium suits screens; quartile or high suits printed tickets that get folded or scuffed.
enum class QrErrorCorrection { kLow, kMedium, kQuartile, kHigh };

// Longer texts make symbols too dense for a phone camera at arm's length; 2048 bytes still fits
// version 40 at levels low and medium. Quartile and high hold less (1663 and 1273 bytes).
inline constexpr int64_t kQrTextBytesMax = 2048;
// ISO/IEC 18004 asks for 4 light modules around the symbol; readers fail without them.
inline constexpr int kQrQuietZoneModules = 4;
// 16 px per module is already 2960 px for the largest symbol.
inline constexpr int64_t kQrScalePxMax = 16;

struct QrOptions {
  QrErrorCorrection error_correction = QrErrorCorrection::kMedium;
  // Pixels per module: the PNG's resolution, and the SVG's intrinsic width and height.
  int64_t scale_px = 8;
  // What a screen reader announces for the SVG (role="img").
  std::string aria_label = "QR code";
};

// The symbol itself, without its quiet zone.
struct QrMatrix {
  int version = 0;         // 1..40
  int size = 0;            // modules per side: 17 + 4 × version
  std::vector<bool> dark;  // size × size, row by row

  bool Dark(int x, int y) const { return dark[static_cast<size_t>(y) * size + x]; }
};

// The text is encoded as bytes (UTF-8 stays UTF-8), in the smallest version that holds it.
// Errors: qr_text_empty, qr_text_too_long (kQrTextBytesMax, or more than the level holds).
Result<QrMatrix> EncodeQr(std::string_view text, QrErrorCorrection error_correction);

// `<svg …>`: one white rect and one black path, in module units (viewBox), crisp edges, no style
// attribute (the CSP forbids inline styles). Errors: those of EncodeQr, qr_scale_out_of_range.
Result<std::string> QrSvg(std::string_view text, const QrOptions& options = {});

// An 8-bit grayscale PNG, options.scale_px pixels per module. Errors: as QrSvg.
Result<std::string> QrPng(std::string_view text, const QrOptions& options = {});

}  // namespace guichet::tokens
