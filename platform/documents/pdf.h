// A small PDF 1.7 writer for the reports Guichet sends and keeps (settlement statements,
// reconciliation reports): A4 pages, the standard fonts Helvetica and Helvetica-Bold in
// WinAnsiEncoding (so no font is embedded), text runs, rules, a flowing layout with tables
// that break across pages and repeat their header row, "page n / N" footers, document
// metadata, zlib-compressed content streams, and embedded files associated with the document
// (/EmbeddedFiles + /AF, as PDF/A-3 and Factur-X carry their XML): one file is both the
// readable report and its machine-readable data.
//
// Output is deterministic: the same input and creation date give the same bytes (the file
// identifier is a hash of the content). The document is not PDF/A conformant: that would need
// embedded fonts, an ICC output intent and XMP metadata.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace guichet::documents {

// Page geometry in points (1/72 inch).
constexpr double kA4WidthPt = 595.28;
constexpr double kA4HeightPt = 841.89;
constexpr size_t kPdfPagesMax = 10'000;              // a report longer than this is a bug
constexpr size_t kPdfAttachmentBytesMax = 64 << 20;  // 64 MiB per embedded file

enum class Font { kRegular, kBold };  // Helvetica, Helvetica-Bold
enum class Align { kLeft, kRight, kCenter };

// UTF-8 brought to WinAnsiEncoding (Windows-1252) bytes: ASCII, Latin-1 letters (French
// accents, « », °), € ’ ‘ “ ” – — … œ Œ Ÿ and the narrow no-break space (as a no-break
// space). Anything else, and malformed UTF-8, becomes '?' so a loss is visible.
std::string ToWinAnsi(std::string_view utf8);

// Width in points of WinAnsi text set in `font` at `size_pt` (Adobe's metrics for the
// standard fonts, as integer 1/1000 em).
double TextWidth(std::string_view win_ansi, Font font, double size_pt);

// UTF-8 text cut so its width fits `width_pt`, ending with "…" when cut.
std::string FitText(std::string_view utf8, Font font, double size_pt, double width_pt);

struct PdfInfo {
  std::string title;  // UTF-8, also the footer's left part
  std::string author;
  std::string subject;
  int64_t created_at_ms = 0;  // /CreationDate and the attachments' dates (UTC)
  bool page_numbers = true;   // "page n / N" at the bottom right of every page
};

struct EmbeddedFile {
  std::string name;         // file name shown by viewers ("statement.xml"), ASCII
  std::string description;  // UTF-8
  std::string mime_type = "application/xml";
  std::string relationship = "Data";  // /AFRelationship: Data, Source, Alternative…
  std::string content;                // bytes
};

// One page's drawing, coordinates from the bottom-left corner. Text is UTF-8.
class PdfPage {
 public:
  void Text(double x, double y, std::string_view utf8, Font font, double size_pt,
            Align align = Align::kLeft);
  void Line(double x1, double y1, double x2, double y2, double width_pt = 0.5);
  void FillRect(double x, double y, double width, double height, double gray);
  const std::string& content() const { return content_; }

 private:
  std::string content_;
};

class PdfDocument {
 public:
  explicit PdfDocument(PdfInfo info) : info_(std::move(info)) {}

  PdfPage& AddPage();
  size_t page_count() const { return pages_.size(); }
  void Attach(EmbeddedFile file);

  // The whole file. At least one page must have been added.
  std::string Write() const;

 private:
  PdfInfo info_;
  std::vector<PdfPage> pages_;
  std::vector<EmbeddedFile> attachments_;
};

// --- Flowing layout ------------------------------------------------------------------------

struct TableColumn {
  std::string title;
  double width_pt = 0;
  Align align = Align::kLeft;  // amounts: kRight
};

struct TableRow {
  std::vector<std::string> cells;  // one per column, UTF-8
  bool bold = false;               // totals
  bool rule_above = false;         // a rule before totals
};

// Writes top to bottom inside the margins and starts a new page when the next block does not
// fit. Tables repeat their header row on every page they run onto.
class PdfFlow {
 public:
  static constexpr double kMarginPt = 42;
  static constexpr double kBodySizePt = 9;

  explicit PdfFlow(PdfDocument& document);

  void Title(std::string_view utf8);    // large bold line
  void Heading(std::string_view utf8);  // bold section heading
  void Paragraph(std::string_view utf8, Font font = Font::kRegular,
                 double size_pt = kBodySizePt);  // wrapped to the page width
  // "Label: value" lines in two aligned columns.
  void Fields(const std::vector<std::pair<std::string, std::string>>& fields);
  void Space(double height_pt);
  void Table(const std::vector<TableColumn>& columns, const std::vector<TableRow>& rows);

  double content_width() const { return kA4WidthPt - 2 * kMarginPt; }

 private:
  void Ensure(double height_pt);  // a new page unless `height_pt` fits below the cursor
  void NewPage();
  void TableHeader(const std::vector<TableColumn>& columns);
  void TableLine(const std::vector<TableColumn>& columns, const std::vector<std::string>& cells,
                 Font font);

  PdfDocument& document_;
  PdfPage* page_ = nullptr;
  double y_ = 0;
};

}  // namespace guichet::documents
