// The PDF writer of pdf.h: WinAnsi mapping and font metrics, page content operators, the
// object layout of the file (catalog, pages, fonts, info, embedded files, xref) and the flow.
#include "platform/documents/pdf.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

#include "platform/base/assert.h"
#include "platform/base/crypto.h"

namespace guichet::documents {
namespace {

// --- Characters -----------------------------------------------------------------------------

// Unicode code points of WinAnsi 0x80..0x9F (0 where the code is unused).
constexpr std::array<uint16_t, 32> kWinAnsiHigh = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

// Decodes one UTF-8 sequence at `at`; returns U+FFFD for malformed input and advances.
char32_t NextCodePoint(std::string_view text, size_t& at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  size_t length = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xE  ? 3
                  : (lead >> 3) == 0x1E ? 4
                                        : 0;
  if (length == 0 || at + length > text.size()) {
    ++at;
    return 0xFFFD;
  }
  char32_t cp = length == 1 ? lead : lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) {
      ++at;
      return 0xFFFD;
    }
    cp = (cp << 6) | (byte(at + i) & 0x3F);
  }
  at += length;
  const char32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < minimum[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0xFFFD;
  return cp;
}

char WinAnsiByte(char32_t cp) {
  if (cp >= 0x20 && cp < 0x7F) return static_cast<char>(cp);
  if (cp >= 0xA0 && cp <= 0xFF) return static_cast<char>(cp);
  if (cp == 0x202F || cp == 0x2009) return static_cast<char>(0xA0);  // thin spaces of French
  for (size_t i = 0; i < kWinAnsiHigh.size(); ++i) {
    if (kWinAnsiHigh[i] != 0 && kWinAnsiHigh[i] == cp) return static_cast<char>(0x80 + i);
  }
  return '?';
}

// Advance widths of Helvetica and Helvetica-Bold (Adobe AFM, 1/1000 em) for 0x20..0x7E.
constexpr std::array<uint16_t, 95> kHelvetica = {
    278,  278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,  // ' '../
    556,  556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,  // 0..?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,  // @..O
    667,  778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,  // P.._
    333,  556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,  // `..o
    556,  556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584};      // p..~
constexpr std::array<uint16_t, 95> kHelveticaBold = {
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584};

// Latin-1 letters 0xC0..0xFF measured as their base letter ('*' = own width below).
constexpr std::string_view kLatin1Base =
    "AAAAAA*CEEEEIIIIDNOOOOO*OUUUUY*saaaaaa*ceeeeiiiidnooooo*ouuuuy*y";

int GlyphWidth(unsigned char c, Font font) {
  const auto& table = font == Font::kBold ? kHelveticaBold : kHelvetica;
  const bool bold = font == Font::kBold;
  if (c >= 0x20 && c < 0x7F) return table[c - 0x20];
  if (c >= 0xC0) {
    const char base = kLatin1Base[c - 0xC0];
    if (base != '*') return table[static_cast<unsigned char>(base) - 0x20];
    switch (c) {
      case 0xC6:
        return 1000;  // Æ
      case 0xD7:
      case 0xF7:
        return 584;  // × ÷
      case 0xDE:
        return 667;  // Þ
      case 0xE6:
        return 889;  // æ
      case 0xF8:
        return 611;  // ø
      default:
        return bold ? 611 : 556;  // þ
    }
  }
  switch (c) {
    case 0x80:
    case 0xAB:
    case 0xBB:
      return 556;  // € « »
    case 0x82:
    case 0x91:
    case 0x92:
      return bold ? 278 : 222;  // ‚ ‘ ’
    case 0x84:
    case 0x93:
    case 0x94:
      return bold ? 500 : 333;  // „ “ ”
    case 0x85:
    case 0x97:
    case 0x89:
      return 1000;  // … — ‰
    case 0x8C:
      return 1000;  // Œ
    case 0x9C:
      return 944;  // œ
    case 0x95:
      return 350;  // •
    case 0x96:
      return 556;  // –
    case 0xA0:
      return 278;  // no-break space
    case 0xB0:
      return 400;  // °
    case 0xA9:
    case 0xAE:
      return 737;  // © ®
    default:
      return 556;
  }
}

// --- Numbers, strings, dates in PDF syntax ---------------------------------------------------

std::string Number(double value) {
  std::string text = fmt::format("{:.2f}", value);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text == "-0" ? "0" : text;
}

// A literal string of WinAnsi bytes for a content stream.
std::string Literal(std::string_view bytes) {
  std::string out = "(";
  for (char c : bytes) {
    if (c == '(' || c == ')' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + ")";
}

// A text string outside content streams (metadata, file names): UTF-16BE with its mark.
std::string TextString(std::string_view utf8) {
  std::string out = "<FEFF";
  for (size_t at = 0; at < utf8.size();) {
    char32_t cp = NextCodePoint(utf8, at);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += fmt::format("{:04X}{:04X}", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
    } else {
      out += fmt::format("{:04X}", static_cast<uint32_t>(cp));
    }
  }
  return out + ">";
}

// A name object: characters outside the regular set written as #xx.
std::string Name(std::string_view text) {
  std::string out = "/";
  for (unsigned char c : text) {
    const bool regular =
        c > 0x20 && c < 0x7F &&
        std::string_view("()<>[]{}/%#").find(static_cast<char>(c)) == std::string_view::npos;
    out += regular ? std::string(1, static_cast<char>(c)) : fmt::format("#{:02X}", c);
  }
  return out;
}

std::string PdfDate(int64_t epoch_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> at{milliseconds{epoch_ms}};
  const auto day = floor<days>(at);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> time{duration_cast<seconds>(at - day)};
  return fmt::format("D:{:04d}{:02d}{:02d}{:02d}{:02d}{:02d}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count());
}

// The /CheckSum of an embedded file (ISO 32000 names MD5; an integrity check, not security).
std::string Md5(std::string_view data) {
  std::string digest(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  const int ok =
      EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(digest.data()), &size,
                 EVP_md5(), nullptr);
  GUICHET_ASSERT(ok == 1);
  digest.resize(size);
  return digest;
}

std::string Deflate(std::string_view data) {
  uLongf size = compressBound(static_cast<uLong>(data.size()));
  std::string out(size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                           reinterpret_cast<const Bytef*>(data.data()),
                           static_cast<uLong>(data.size()), Z_BEST_COMPRESSION);
  GUICHET_ASSERT(rc == Z_OK);
  out.resize(size);
  return out;
}

// Collects numbered objects and writes the cross-reference table.
class ObjectWriter {
 public:
  explicit ObjectWriter(size_t count) : offsets_(count + 1, 0) {
    out_ = "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n";
  }
  void Object(size_t number, std::string_view body) {
    GUICHET_ASSERT(number < offsets_.size() && offsets_[number] == 0);
    offsets_[number] = out_.size();
    out_ += fmt::format("{} 0 obj\n{}\nendobj\n", number, body);
  }
  void Stream(size_t number, std::string_view dictionary_entries, std::string_view data) {
    const std::string packed = Deflate(data);
    Object(number, fmt::format("<< {} /Length {} /Filter /FlateDecode >>\nstream\n{}\nendstream",
                               dictionary_entries, packed.size(), packed));
  }
  std::string Finish(size_t root, size_t info) {
    for (size_t i = 1; i < offsets_.size(); ++i) GUICHET_ASSERT(offsets_[i] != 0);
    const std::string id = crypto::ToHex(crypto::Sha256(out_)).substr(0, 32);
    const size_t xref = out_.size();
    out_ += fmt::format("xref\n0 {}\n0000000000 65535 f \n", offsets_.size());
    for (size_t i = 1; i < offsets_.size(); ++i)
      out_ += fmt::format("{:010d} 00000 n \n", offsets_[i]);
    out_ += fmt::format(
        "trailer\n<< /Size {} /Root {} 0 R /Info {} 0 R /ID [<{}> <{}>] >>\n"
        "startxref\n{}\n%%EOF\n",
        offsets_.size(), root, info, id, id, xref);
    return std::move(out_);
  }

 private:
  std::string out_;
  std::vector<size_t> offsets_;
};

}  // namespace

std::string ToWinAnsi(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (size_t at = 0; at < utf8.size();) out.push_back(WinAnsiByte(NextCodePoint(utf8, at)));
  return out;
}

double TextWidth(std::string_view win_ansi, Font font, double size_pt) {
  int64_t units = 0;
  for (unsigned char c : win_ansi) units += GlyphWidth(c, font);
  return static_cast<double>(units) * size_pt / 1000.0;
}

std::string FitText(std::string_view utf8, Font font, double size_pt, double width_pt) {
  if (TextWidth(ToWinAnsi(utf8), font, size_pt) <= width_pt) return std::string(utf8);
  // Cut at code point boundaries until the text and the ellipsis fit.
  std::vector<size_t> ends;
  for (size_t at = 0; at < utf8.size();) {
    NextCodePoint(utf8, at);
    ends.push_back(at);
  }
  while (!ends.empty()) {
    ends.pop_back();
    const std::string cut = std::string(utf8.substr(0, ends.empty() ? 0 : ends.back())) + "…";
    if (TextWidth(ToWinAnsi(cut), font, size_pt) <= width_pt) return cut;
  }
  return "";
}

// --- Page ------------------------------------------------------------------------------------

void PdfPage::Text(double x, double y, std::string_view utf8, Font font, double size_pt,
                   Align align) {
  const std::string bytes = ToWinAnsi(utf8);
  const double width = TextWidth(bytes, font, size_pt);
  if (align == Align::kRight) x -= width;
  if (align == Align::kCenter) x -= width / 2;
  content_ += fmt::format("BT /{} {} Tf {} {} Td {} Tj ET\n", font == Font::kBold ? "F2" : "F1",
                          Number(size_pt), Number(x), Number(y), Literal(bytes));
}

void PdfPage::Line(double x1, double y1, double x2, double y2, double width_pt) {
  content_ += fmt::format("{} w {} {} m {} {} l S\n", Number(width_pt), Number(x1), Number(y1),
                          Number(x2), Number(y2));
}

void PdfPage::FillRect(double x, double y, double width, double height, double gray) {
  content_ += fmt::format("{} g {} {} {} {} re f 0 g\n", Number(gray), Number(x), Number(y),
                          Number(width), Number(height));
}

// --- Document --------------------------------------------------------------------------------

PdfPage& PdfDocument::AddPage() {
  GUICHET_ASSERT(pages_.size() < kPdfPagesMax);
  return pages_.emplace_back();
}

void PdfDocument::Attach(EmbeddedFile file) {
  GUICHET_ASSERT(file.content.size() <= kPdfAttachmentBytesMax);
  GUICHET_ASSERT(!file.name.empty());
  attachments_.push_back(std::move(file));
}

std::string PdfDocument::Write() const {
  GUICHET_ASSERT(!pages_.empty());
  // Numbering: 1 catalog, 2 pages, 3–4 fonts, 5 info, then two objects per page (page,
  // content) and two per attachment (file specification, embedded stream).
  constexpr size_t kCatalog = 1, kPages = 2, kRegular = 3, kBold = 4, kInfo = 5;
  const auto page_object = [](size_t i) { return 6 + 2 * i; };
  const size_t first_file = page_object(pages_.size());
  const auto spec_object = [&](size_t i) { return first_file + 2 * i; };
  ObjectWriter writer(first_file - 1 + 2 * attachments_.size());

  // Attachments sorted by name: the name tree requires it.
  std::vector<size_t> order(attachments_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return attachments_[a].name < attachments_[b].name; });

  std::string catalog = fmt::format("<< /Type /Catalog /Pages {} 0 R", kPages);
  if (!attachments_.empty()) {
    std::string names, specs;
    for (size_t i : order) {
      names += fmt::format("{} {} 0 R ", TextString(attachments_[i].name), spec_object(i));
      specs += fmt::format("{} 0 R ", spec_object(i));
    }
    catalog += fmt::format(
        " /Names << /EmbeddedFiles << /Names [{}] >> >> /AF [{}]"
        " /PageMode /UseAttachments",
        names, specs);
  }
  writer.Object(kCatalog, catalog + " >>");

  std::string kids;
  for (size_t i = 0; i < pages_.size(); ++i) kids += fmt::format("{} 0 R ", page_object(i));
  writer.Object(kPages,
                fmt::format("<< /Type /Pages /Kids [{}] /Count {} >>", kids, pages_.size()));
  writer.Object(kRegular,
                "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
                " /Encoding /WinAnsiEncoding >>");
  writer.Object(kBold,
                "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold"
                " /Encoding /WinAnsiEncoding >>");
  const std::string date = PdfDate(info_.created_at_ms);
  writer.Object(kInfo, fmt::format("<< /Title {} /Author {} /Subject {} /Creator (Guichet)"
                                   " /Producer (Guichet PDF writer) /CreationDate ({}) >>",
                                   TextString(info_.title), TextString(info_.author),
                                   TextString(info_.subject), date));

  for (size_t i = 0; i < pages_.size(); ++i) {
    std::string content = pages_[i].content();
    PdfPage footer;
    const double y = PdfFlow::kMarginPt / 2;
    footer.Text(PdfFlow::kMarginPt, y, FitText(info_.title, Font::kRegular, 7, kA4WidthPt / 2),
                Font::kRegular, 7);
    if (info_.page_numbers) {
      footer.Text(kA4WidthPt - PdfFlow::kMarginPt, y,
                  fmt::format("page {} / {}", i + 1, pages_.size()), Font::kRegular, 7,
                  Align::kRight);
    }
    content += footer.content();
    writer.Object(page_object(i), fmt::format("<< /Type /Page /Parent {} 0 R /MediaBox [0 0 {} {}]"
                                              " /Resources << /Font << /F1 {} 0 R /F2 {} 0 R >> >>"
                                              " /Contents {} 0 R >>",
                                              kPages, Number(kA4WidthPt), Number(kA4HeightPt),
                                              kRegular, kBold, page_object(i) + 1));
    writer.Stream(page_object(i) + 1, "", content);
  }

  for (size_t i = 0; i < attachments_.size(); ++i) {
    const EmbeddedFile& file = attachments_[i];
    writer.Object(spec_object(i),
                  fmt::format("<< /Type /Filespec /F {0} /UF {0} /Desc {1} /AFRelationship {2}"
                              " /EF << /F {3} 0 R /UF {3} 0 R >> >>",
                              TextString(file.name), TextString(file.description),
                              Name(file.relationship), spec_object(i) + 1));
    writer.Stream(spec_object(i) + 1,
                  fmt::format("/Type /EmbeddedFile /Subtype {} /Params << /Size {} /ModDate ({})"
                              " /CheckSum <{}> >>",
                              Name(file.mime_type), file.content.size(), date,
                              crypto::ToHex(Md5(file.content))),
                  file.content);
  }
  return writer.Finish(kCatalog, kInfo);
}

// --- Flow ------------------------------------------------------------------------------------

namespace {
constexpr double kLineFactor = 1.35;  // line height over font size
constexpr double kCellPaddingPt = 3;
}  // namespace

PdfFlow::PdfFlow(PdfDocument& document) : document_(document) { NewPage(); }

void PdfFlow::NewPage() {
  page_ = &document_.AddPage();
  y_ = kA4HeightPt - kMarginPt;
}

void PdfFlow::Ensure(double height_pt) {
  // The footer sits in the bottom margin; the body stops at the margin.
  if (y_ - height_pt < kMarginPt) NewPage();
}

void PdfFlow::Space(double height_pt) { y_ -= height_pt; }

void PdfFlow::Title(std::string_view utf8) {
  constexpr double size = 15;
  Ensure(size * kLineFactor);
  y_ -= size;
  page_->Text(kMarginPt, y_, FitText(utf8, Font::kBold, size, content_width()), Font::kBold, size);
  y_ -= size * (kLineFactor - 1) + 4;
}

void PdfFlow::Heading(std::string_view utf8) {
  constexpr double size = 11;
  // Keep a heading with at least three lines of what follows it.
  Ensure(size * kLineFactor + 6 + 3 * kBodySizePt * kLineFactor);
  y_ -= 6 + size;
  page_->Text(kMarginPt, y_, FitText(utf8, Font::kBold, size, content_width()), Font::kBold, size);
  y_ -= size * (kLineFactor - 1) + 2;
}

void PdfFlow::Paragraph(std::string_view utf8, Font font, double size_pt) {
  // Greedy wrapping on spaces; a word longer than the line is cut by FitText.
  std::vector<std::string> lines;
  std::string line;
  size_t at = 0;
  while (at <= utf8.size()) {
    size_t end = utf8.find(' ', at);
    if (end == std::string_view::npos) end = utf8.size();
    const std::string word(utf8.substr(at, end - at));
    const std::string candidate = line.empty() ? word : line + " " + word;
    if (!line.empty() && TextWidth(ToWinAnsi(candidate), font, size_pt) > content_width()) {
      lines.push_back(line);
      line = word;
    } else {
      line = candidate;
    }
    at = end + 1;
  }
  lines.push_back(line);
  for (const std::string& text : lines) {
    Ensure(size_pt * kLineFactor);
    y_ -= size_pt;
    page_->Text(kMarginPt, y_, FitText(text, font, size_pt, content_width()), font, size_pt);
    y_ -= size_pt * (kLineFactor - 1);
  }
}

void PdfFlow::Fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  const double label_width = content_width() * 0.3;
  for (const auto& [label, value] : fields) {
    Ensure(kBodySizePt * kLineFactor);
    y_ -= kBodySizePt;
    page_->Text(kMarginPt, y_, FitText(label, Font::kBold, kBodySizePt, label_width - 6),
                Font::kBold, kBodySizePt);
    page_->Text(kMarginPt + label_width, y_,
                FitText(value, Font::kRegular, kBodySizePt, content_width() - label_width),
                Font::kRegular, kBodySizePt);
    y_ -= kBodySizePt * (kLineFactor - 1);
  }
}

void PdfFlow::TableLine(const std::vector<TableColumn>& columns,
                        const std::vector<std::string>& cells, Font font) {
  y_ -= kBodySizePt;
  double x = kMarginPt;
  for (size_t i = 0; i < columns.size(); ++i) {
    const TableColumn& column = columns[i];
    const double inner = column.width_pt - 2 * kCellPaddingPt;
    const std::string text = i < cells.size() ? FitText(cells[i], font, kBodySizePt, inner) : "";
    const double at = column.align == Align::kRight    ? x + column.width_pt - kCellPaddingPt
                      : column.align == Align::kCenter ? x + column.width_pt / 2
                                                       : x + kCellPaddingPt;
    if (!text.empty()) page_->Text(at, y_, text, font, kBodySizePt, column.align);
    x += column.width_pt;
  }
  y_ -= kBodySizePt * (kLineFactor - 1);
}

void PdfFlow::TableHeader(const std::vector<TableColumn>& columns) {
  double width = 0;
  for (const TableColumn& column : columns) width += column.width_pt;
  const double height = kBodySizePt * kLineFactor + 2;
  page_->FillRect(kMarginPt, y_ - height + 1, width, height, 0.88);
  std::vector<std::string> titles;
  for (const TableColumn& column : columns) titles.push_back(column.title);
  y_ -= 1;
  TableLine(columns, titles, Font::kBold);
  y_ -= 1;
}

void PdfFlow::Table(const std::vector<TableColumn>& columns, const std::vector<TableRow>& rows) {
  double width = 0;
  for (const TableColumn& column : columns) width += column.width_pt;
  GUICHET_ASSERT(width <= content_width() + 0.01);
  const double row_height = kBodySizePt * kLineFactor;
  const double header_height = row_height + 2;
  Ensure(header_height + row_height);  // never a header alone at the bottom of a page
  TableHeader(columns);
  for (const TableRow& row : rows) {
    if (y_ - row_height - (row.rule_above ? 2 : 0) < kMarginPt) {
      NewPage();
      TableHeader(columns);
    }
    if (row.rule_above) {
      y_ -= 1;
      page_->Line(kMarginPt, y_, kMarginPt + width, y_);
      y_ -= 1;
    }
    TableLine(columns, row.cells, row.bold ? Font::kBold : Font::kRegular);
  }
  y_ -= 4;
}

}  // namespace guichet::documents
