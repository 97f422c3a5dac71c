// The PDF writer checked by the tools readers and archivists use: qpdf --check for the file
// structure, pdftotext for what a reader sees (accents, €, quotes), qpdf
// --show-attachment for the embedded XML, and pdfinfo for the metadata.
#include "platform/documents/pdf.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "platform/documents/testing.h"

namespace guichet::documents {
namespace {

using testing::PdfText;
using testing::ShellOn;

constexpr int64_t kCreated = 1'796'000'000'123;  // 2026-11-30T00:53:20Z

std::string SamplePdf(int rows, const std::string& attachment) {
  PdfDocument document({"Relevé — « Café » 12 €", "CROUS de Besançon", "essai", kCreated});
  PdfFlow flow(document);
  flow.Title("Relevé de règlement — Café de l’Université");
  flow.Paragraph("Œuvres « universitaires » à Besançon : 12,50 € reçus ; ελλάδα");
  flow.Fields({{"Commerçant", "Crêperie Noël"}});
  const std::vector<TableColumn> columns = {
      {"Ligne", 120}, {"Montant", 100, Align::kRight}, {"Note", 200}};
  std::vector<TableRow> rows_out;
  for (int i = 1; i <= rows; ++i) {
    rows_out.push_back({{fmt::format("ligne {}", i), fmt::format("{},00 €", i), "déjà vu"}});
  }
  rows_out.push_back({{"Total", "9 999,00 €", ""}, true, true});
  flow.Table(columns, rows_out);
  if (!attachment.empty()) {
    document.Attach({"statement.xml", "Données du relevé", "application/xml", "Data", attachment});
  }
  return document.Write();
}

TEST(DocumentsPdf, QpdfFindsNoErrorAndTextKeepsAccentsEuroAndQuotes) {
  const std::string pdf = SamplePdf(3, "");
  const auto check = ShellOn(pdf, ".pdf", "qpdf --check '{}'");
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_NE(check.output.find("No syntax or stream encoding errors"), std::string::npos);
  const std::string text = PdfText(pdf);
  EXPECT_NE(text.find("Relevé de règlement — Café de l’Université"), std::string::npos) << text;
  EXPECT_NE(text.find("Œuvres « universitaires » à Besançon : 12,50 € reçus"), std::string::npos);
  EXPECT_NE(text.find("Crêperie Noël"), std::string::npos);
  // A character WinAnsi lacks is replaced visibly, never dropped.
  EXPECT_NE(text.find("??????"), std::string::npos);
  EXPECT_NE(text.find("page 1 / 1"), std::string::npos);
  EXPECT_NE(pdf.find("/Filter /FlateDecode"), std::string::npos);
}

TEST(DocumentsPdf, LongTablesBreakAcrossPagesRepeatingTheHeader) {
  const std::string pdf = SamplePdf(200, "");
  EXPECT_EQ(ShellOn(pdf, ".pdf", "qpdf --check '{}'").status, 0);
  const std::string text = PdfText(pdf);
  const auto info = ShellOn(pdf, ".pdf", "pdfinfo '{}'").output;
  EXPECT_EQ(std::stoi(info.substr(info.find("Pages:") + 6)), 4) << info;
  for (int page = 1; page <= 4; ++page) {
    EXPECT_NE(text.find(fmt::format("page {} / 4", page)), std::string::npos) << page;
  }
  size_t headers = 0;
  for (size_t at = 0; (at = text.find("Montant", at)) != std::string::npos; ++at) ++headers;
  EXPECT_EQ(headers, 4u);
  EXPECT_NE(text.find("ligne 200"), std::string::npos);
  EXPECT_NE(text.find("Total"), std::string::npos);
}

TEST(DocumentsPdf, TheEmbeddedXmlIsExtractedIdentical) {
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<statement>Crêpe 3,20 €"
      "</statement>\n" +
      std::string(5000, ' ');
  const std::string pdf = SamplePdf(2, xml);
  EXPECT_EQ(ShellOn(pdf, ".pdf", "qpdf --check '{}'").status, 0);
  const auto listed = ShellOn(pdf, ".pdf", "qpdf --list-attachments '{}'");
  EXPECT_NE(listed.output.find("statement.xml"), std::string::npos) << listed.output;
  const auto shown = ShellOn(pdf, ".pdf", "qpdf --show-attachment=statement.xml '{}'");
  EXPECT_EQ(shown.status, 0);
  EXPECT_EQ(shown.output, xml);
  // Associated with the document, as PDF/A-3 and Factur-X expect.
  EXPECT_NE(pdf.find("/AF ["), std::string::npos);
  EXPECT_NE(pdf.find("/AFRelationship /Data"), std::string::npos);
  EXPECT_NE(pdf.find("/Subtype /application#2Fxml"), std::string::npos);
}

TEST(DocumentsPdf, MetadataCarriesTitleAuthorAndCreationDate) {
  const auto info = ShellOn(SamplePdf(1, ""), ".pdf", "pdfinfo -isodates '{}'").output;
  EXPECT_NE(info.find("Relevé — « Café » 12 €"), std::string::npos) << info;
  EXPECT_NE(info.find("CROUS de Besançon"), std::string::npos);
  EXPECT_NE(info.find("2026-11-30T00:53:20Z"), std::string::npos) << info;
}

TEST(DocumentsPdf, OutputIsDeterministic) {
  EXPECT_EQ(SamplePdf(80, "<a/>"), SamplePdf(80, "<a/>"));
  EXPECT_NE(SamplePdf(80, "<a/>"), SamplePdf(81, "<a/>"));
}

TEST(DocumentsPdf, WinAnsiMappingAndMetrics) {
  EXPECT_EQ(ToWinAnsi("é€’«»"), "\xE9\x80\x92\xAB\xBB");
  EXPECT_EQ(ToWinAnsi("a\u202F:"), "a\xA0:");  // narrow no-break space
  EXPECT_EQ(ToWinAnsi("日\xFF"
                      "b"),
            "??b");  // unknown and malformed
  EXPECT_DOUBLE_EQ(TextWidth("0", Font::kRegular, 10), 5.56);
  EXPECT_DOUBLE_EQ(TextWidth(ToWinAnsi("é"), Font::kRegular, 10),
                   TextWidth("e", Font::kRegular, 10));
  EXPECT_GT(TextWidth("Total", Font::kBold, 10), TextWidth("Total", Font::kRegular, 10));
  EXPECT_EQ(FitText("court", Font::kRegular, 10, 100), "court");
  std::string long_text(100, 'x');
  long_text += "é";  // appended, not operator+: GCC 12 -O2 warns falsely on the temporary
  const std::string cut = FitText(long_text, Font::kRegular, 10, 50);
  EXPECT_LE(TextWidth(ToWinAnsi(cut), Font::kRegular, 10), 50);
  EXPECT_EQ(cut.substr(cut.size() - 3), "…");
}

}  // namespace
}  // namespace guichet::documents
