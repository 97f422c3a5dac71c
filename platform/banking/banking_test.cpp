// Bank identifiers, the business-day calendar and the SEPA files. pain.001 output is validated
// by xmllint against the EPC's XSD (tests/schemas); pain.008 (no XSD available) is parsed by
// xmllint and checked with XPath: namespace, mandatory elements, control sums, sequence types.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "platform/banking/calendar.h"
#include "platform/banking/iban.h"
#include "platform/banking/sepa_xml.h"

namespace guichet::banking {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

Date D(int y, unsigned m, unsigned d) { return Date{year{y}, month{m}, day{d}}; }

// --- IBAN, BIC, creditor identifier -------------------------------------------------------

TEST(BankingIban, AcceptsValidIbansWithSpacesAndLowerCase) {
  auto fr = NormaliseIban("fr76 3000 6000 0112 3456 7890 189");
  ASSERT_TRUE(fr.ok()) << fr.error().message;
  EXPECT_EQ(*fr, "FR7630006000011234567890189");
  EXPECT_EQ(IbanCountry(*fr), "FR");
  EXPECT_TRUE(NormaliseIban("DE89370400440532013000").ok());
  EXPECT_TRUE(NormaliseIban("GB82 WEST 1234 5698 7654 32").ok());
  EXPECT_TRUE(NormaliseIban("BE71096123456769").ok());
}

TEST(BankingIban, RefusesEachKindOfMistakeWithItsCode) {
  EXPECT_EQ(NormaliseIban("FR76-3000").error().code, "iban_malformed");
  EXPECT_EQ(NormaliseIban("").error().code, "iban_malformed");
  EXPECT_EQ(NormaliseIban("7630006000011234567890189FR").error().code, "iban_malformed");
  EXPECT_EQ(NormaliseIban("ZZ7630006000011234567890189").error().code, "iban_country_unknown");
  EXPECT_EQ(NormaliseIban("FR763000600001123456789018").error().code, "iban_length_wrong");
  // One digit typed wrong, then two adjacent digits swapped: both caught by mod-97.
  EXPECT_EQ(NormaliseIban("FR7630006000011234567890188").error().code, "iban_checksum_wrong");
  EXPECT_EQ(NormaliseIban("FR7630006000011234567809189").error().code, "iban_checksum_wrong");
  EXPECT_EQ(NormaliseIban("FR7630006000011234567890189").ok(), true);
  EXPECT_EQ(NormaliseIban("FR76300060000112345678901é9").error().code, "iban_malformed");
}

TEST(BankingIban, SepaScopeIncludesFrenchOverseasAndExcludesOthers) {
  EXPECT_TRUE(IsSepaCountry("FR"));
  EXPECT_TRUE(IsSepaCountry("RE"));
  EXPECT_TRUE(IsSepaCountry("CH"));
  EXPECT_FALSE(IsSepaCountry("TR"));
  EXPECT_FALSE(IsSepaCountry("US"));
}

TEST(BankingBic, AcceptsEightAndElevenCharacters) {
  EXPECT_EQ(*NormaliseBic("bnpa fr pp"), "BNPAFRPP");
  EXPECT_EQ(*NormaliseBic("DEUTDEFF500"), "DEUTDEFF500");
  EXPECT_TRUE(NormaliseBic("CHASUS33").ok());
  EXPECT_EQ(NormaliseBic("BNPAFRP").error().code, "bic_malformed");
  EXPECT_EQ(NormaliseBic("BNP1FRPP").error().code, "bic_malformed");
  EXPECT_EQ(NormaliseBic("BNPAF1PP").error().code, "bic_malformed");
  EXPECT_EQ(NormaliseBic("BNPAFRPPXX").error().code, "bic_malformed");
}

TEST(BankingCreditorId, ChecksTheMod97OverTheNationalPart) {
  EXPECT_EQ(CreditorIdCheckDigits("FR", "123456"), "72");
  EXPECT_EQ(*NormaliseCreditorId("fr72 zzz 123456"), "FR72ZZZ123456");
  // The business code is outside the check: any code keeps the identifier valid.
  EXPECT_TRUE(NormaliseCreditorId("FR72ABC123456").ok());
  EXPECT_TRUE(NormaliseCreditorId("DE98ZZZ09999999999").ok());
  EXPECT_EQ(NormaliseCreditorId("FR73ZZZ123456").error().code, "creditor_id_checksum_wrong");
  EXPECT_EQ(NormaliseCreditorId("FR72ZZZ1234567").error().code, "creditor_id_malformed");
  EXPECT_EQ(NormaliseCreditorId("72FRZZZ123456").error().code, "creditor_id_malformed");
}

TEST(BankingText, TransliteratesToTheSepaSet) {
  EXPECT_EQ(ToSepaText("Hélène Lefèvre-Çağlar", 70), "Helene Lefevre-Caglar");
  EXPECT_EQ(ToSepaText("Œuvres & Cœur — Straße", 70), "OEuvres + Coeur Strasse");
  EXPECT_EQ(ToSepaText("  l’été  à  Noël 2026 !  ", 70), "l'ete a Noel 2026");
  EXPECT_EQ(ToSepaText("日本語", 70), "");
  EXPECT_EQ(ToSepaText("abcdefghij", 4), "abcd");
  EXPECT_EQ(ToSepaText("ab cdef", 3), "ab");
  // An invalid UTF-8 sequence becomes a space, not a crash.
  EXPECT_EQ(ToSepaText("a\xC3", 10), "a");
  EXPECT_EQ(ToSepaText("a\xFF" "b", 10), "a b");
}

TEST(BankingText, ReferencesFollowTheEpcRules) {
  EXPECT_TRUE(IsValidSepaReference("RUM-2026-000042", 35));
  EXPECT_FALSE(IsValidSepaReference("/RUM", 35));
  EXPECT_FALSE(IsValidSepaReference("RUM/", 35));
  EXPECT_FALSE(IsValidSepaReference("R//M", 35));
  EXPECT_FALSE(IsValidSepaReference("RUM_1", 35));
  EXPECT_FALSE(IsValidSepaReference(std::string(36, 'A'), 35));
  EXPECT_FALSE(IsValidSepaReference("", 35));
}

// --- Calendar -------------------------------------------------------------------------------

TEST(BankingCalendar, EasterSundayOfKnownYears) {
  EXPECT_EQ(EasterSunday(2019), D(2019, 4, 21));
  EXPECT_EQ(EasterSunday(2024), D(2024, 3, 31));
  EXPECT_EQ(EasterSunday(2025), D(2025, 4, 20));
  EXPECT_EQ(EasterSunday(2026), D(2026, 4, 5));
  EXPECT_EQ(EasterSunday(2027), D(2027, 3, 28));
  EXPECT_EQ(EasterSunday(2038), D(2038, 4, 25));
}

TEST(BankingCalendar, ClosingDaysAndHolidays2026) {
  EXPECT_TRUE(IsTarget2ClosingDay(D(2026, 4, 3)));    // Good Friday: TARGET2 only
  EXPECT_FALSE(IsFrenchPublicHoliday(D(2026, 4, 3)));
  EXPECT_TRUE(IsFrenchPublicHoliday(D(2026, 4, 6)));  // Easter Monday
  EXPECT_TRUE(IsFrenchPublicHoliday(D(2026, 5, 14)));  // Ascension
  EXPECT_TRUE(IsFrenchPublicHoliday(D(2026, 5, 25)));  // Whit Monday
  EXPECT_TRUE(IsFrenchPublicHoliday(D(2026, 7, 14)));
  EXPECT_FALSE(IsTarget2ClosingDay(D(2026, 7, 14)));   // TARGET2 settles on 14 July
  EXPECT_TRUE(IsTarget2ClosingDay(D(2026, 12, 26)));
  EXPECT_FALSE(IsFrenchPublicHoliday(D(2026, 12, 26)));
  EXPECT_FALSE(IsBusinessDay(D(2026, 11, 28)));  // Saturday
  EXPECT_TRUE(IsBusinessDay(D(2026, 11, 30)));
  EXPECT_FALSE(IsBusinessDay(D(2026, 11, 11)));
}

TEST(BankingCalendar, AddsBusinessDaysOverHolidaysAndWeekends) {
  // First debit signed on Thursday 2 April 2026: Good Friday, the weekend and Easter Monday
  // are skipped; five business days later is Monday 13 April.
  EXPECT_EQ(AddBusinessDays(D(2026, 4, 2), 5), D(2026, 4, 13));
  // Recurrent debit on Christmas Eve: 25 and 26 December, the weekend, then Mon 28, Tue 29.
  EXPECT_EQ(AddBusinessDays(D(2026, 12, 24), 2), D(2026, 12, 29));
  // Wednesday before Ascension: Thursday is a holiday.
  EXPECT_EQ(AddBusinessDays(D(2026, 5, 13), 1), D(2026, 5, 15));
  // From a closed day, counting starts at the next business day.
  EXPECT_EQ(AddBusinessDays(D(2026, 11, 28), 0), D(2026, 11, 30));
  EXPECT_EQ(AddBusinessDays(D(2026, 11, 30), 0), D(2026, 11, 30));
}

TEST(BankingCalendar, DatesParseAndFormat) {
  EXPECT_EQ(FormatDate(D(2026, 3, 9)), "2026-03-09");
  EXPECT_EQ(ParseDate("2026-03-09"), D(2026, 3, 9));
  EXPECT_FALSE(ParseDate("2026-02-30").has_value());
  EXPECT_FALSE(ParseDate("2026-3-09").has_value());
  EXPECT_FALSE(ParseDate("20260309xx").has_value());
}

TEST(BankingCalendar, ParisDateFollowsSummerTime) {
  // 2026-06-30T22:30Z is already 1 July in Paris (UTC+2); 2026-12-31T22:30Z is 31 December
  // 23:30 (UTC+1).
  EXPECT_EQ(ParisDate(1'782'858'600'000), D(2026, 7, 1));
  EXPECT_EQ(ParisDate(1'798'756'200'000), D(2026, 12, 31));
}

// --- SEPA files -----------------------------------------------------------------------------

// The repository root: the test binary is in build/ (or build-asan/) right under it.
std::filesystem::path SourceRoot() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  for (auto dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    if (std::filesystem::exists(dir / "tests/schemas")) return dir;
  }
  return std::filesystem::current_path();
}

std::string WriteTemp(const std::string& content) {
  std::string path = ::testing::TempDir() + "guichet_sepa_XXXXXX.xml";
  const int fd = mkstemps(path.data(), 4);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

struct ShellRun {
  int status = 0;
  std::string output;
};

ShellRun Shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  ShellRun run;
  std::array<char, 4096> buffer{};
  for (size_t n; (n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) {
    run.output.append(buffer.data(), n);
  }
  run.status = pclose(pipe);
  return run;
}

ShellRun ValidatePain001(const std::string& xml) {
  const std::string path = WriteTemp(xml);
  const auto schema = SourceRoot() / "tests/schemas/EPC132-08_2023_V1.0_pain.001.001.09.xsd";
  ShellRun run = Shell(fmt::format("xmllint --noout --schema '{}' '{}'", schema.string(), path));
  std::remove(path.c_str());
  return run;
}

// XPath over the document, after checking its default namespace is `ns` and removing it so
// that plain names match ("p:" prefixes in the expression are dropped too).
std::string XPath(const std::string& xml, std::string_view ns, std::string_view expression) {
  const std::string declaration = fmt::format(" xmlns=\"{}\"", ns);
  const auto at = xml.find(declaration);
  EXPECT_NE(at, std::string::npos) << "namespace " << ns;
  std::string plain = xml;
  if (at != std::string::npos) plain.erase(at, declaration.size());
  std::string expr(expression);
  for (size_t p; (p = expr.find("p:")) != std::string::npos;) expr.erase(p, 2);
  const std::string path = WriteTemp(plain);
  ShellRun run = Shell(fmt::format("xmllint --xpath \"{}\" '{}'", expr, path));
  std::remove(path.c_str());
  EXPECT_EQ(run.status, 0) << run.output;
  while (!run.output.empty() && (run.output.back() == '\n' || run.output.back() == ' ')) {
    run.output.pop_back();
  }
  return run.output;
}

CreditTransferFile RefundFile() {
  CreditTransferFile file;
  file.message_id = "REFUND-20261130-0001";
  file.created_at_ms = 1'796'000'000'123;
  file.initiating_party = "CROUS de Lyon — régie";
  file.debtor = {"Œuvres universitaires", "FR7630006000011234567890189", "AGRIFRPP"};
  file.requested_execution_date = D(2026, 11, 30);
  file.transfers.push_back({"RF-1", 1234, "Hélène Lefèvre", "DE89370400440532013000", "", "Remboursement du solde Guichet"});
  file.transfers.push_back({"RF-2", 5000, "Zoë O’Brien & fils", "GB82WEST12345698765432", "BNPAFRPPXXX", ""});
  file.transfers.push_back({"RF-3", 7, std::string(120, 'x'), "BE71096123456769", "", std::string(300, 'r')});
  return file;
}

TEST(SepaPain001, RefundFileIsValidAgainstTheEpcSchema) {
  auto xml = WriteCreditTransferFile(RefundFile());
  ASSERT_TRUE(xml.ok()) << xml.error().message;
  const ShellRun run = ValidatePain001(*xml);
  EXPECT_EQ(run.status, 0) << run.output << *xml;
  EXPECT_NE(xml->find("<CtrlSum>62.41</CtrlSum>"), std::string::npos);
  EXPECT_NE(xml->find("<Nm>Helene Lefevre</Nm>"), std::string::npos);
  EXPECT_NE(xml->find("Zoe O&apos;Brien + fils"), std::string::npos);
  EXPECT_NE(xml->find("<CreDtTm>2026-11-30T00:53:20Z</CreDtTm>"), std::string::npos) << *xml;
}

TEST(SepaPain001, OneTransferWithoutBicsIsValidToo) {
  CreditTransferFile file = RefundFile();
  file.debtor.bic.clear();
  file.transfers.resize(1);
  auto xml = WriteCreditTransferFile(file);
  ASSERT_TRUE(xml.ok());
  const ShellRun run = ValidatePain001(*xml);
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(xml->find("NOTPROVIDED"), std::string::npos);
}

TEST(SepaPain001, TheSchemaRefusesABrokenFile) {
  // The validator itself is live: a file missing its mandatory debtor account fails.
  auto xml = WriteCreditTransferFile(RefundFile());
  ASSERT_TRUE(xml.ok());
  std::string broken = *xml;
  const auto from = broken.find("<DbtrAcct>");
  const auto to = broken.find("</DbtrAcct>") + std::string("</DbtrAcct>").size();
  broken.erase(from, to - from);
  EXPECT_NE(ValidatePain001(broken).status, 0);
}

TEST(SepaPain001, RefusesWhatCannotBeSent) {
  CreditTransferFile file = RefundFile();
  file.transfers.clear();
  EXPECT_EQ(WriteCreditTransferFile(file).error().code, "sepa_file_invalid");
  file = RefundFile();
  file.transfers[1].amount_cents = 0;
  EXPECT_EQ(WriteCreditTransferFile(file).error().code, "sepa_file_invalid");
  file = RefundFile();
  file.transfers[0].end_to_end_id = "RF_1";
  EXPECT_EQ(WriteCreditTransferFile(file).error().code, "sepa_file_invalid");
  file = RefundFile();
  file.message_id = std::string(36, 'M');
  EXPECT_EQ(WriteCreditTransferFile(file).error().code, "sepa_file_invalid");
}

DirectDebitFile CollectionFile() {
  DirectDebitFile file;
  file.message_id = "DD-20261203";
  file.created_at_ms = 1'796'000'000'000;
  file.initiating_party = "CROUS de Lyon";
  file.creditor = {"Œuvres universitaires", "FR7630006000011234567890189", "AGRIFRPP"};
  file.creditor_scheme_id = "FR72ZZZ123456";
  file.requested_collection_date = D(2026, 12, 3);
  file.debits.push_back({"DD-1", 2000, "RUM-000001", D(2026, 11, 20), SequenceType::kFirst,
                         "Hélène Lefèvre", "DE89370400440532013000", "", "Rechargement Guichet"});
  file.debits.push_back({"DD-2", 550, "RUM-000002", D(2026, 9, 1), SequenceType::kRecurrent,
                         "Jean Dupont", "BE71096123456769", "GEBABEBB", ""});
  file.debits.push_back({"DD-3", 1000, "RUM-000003", D(2026, 9, 2), SequenceType::kRecurrent,
                         "Zoë", "GB82WEST12345698765432", "", ""});
  return file;
}

constexpr std::string_view kPain008 = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08";

TEST(SepaPain008, StructureControlSumsAndSequenceTypes) {
  auto xml = WriteDirectDebitFile(CollectionFile());
  ASSERT_TRUE(xml.ok()) << xml.error().message;
  const ShellRun wellformed = Shell(fmt::format("xmllint --noout '{}'", WriteTemp(*xml)));
  EXPECT_EQ(wellformed.status, 0) << wellformed.output;
  // Namespace and root.
  EXPECT_EQ(XPath(*xml, kPain008, "count(/p:Document/p:CstmrDrctDbtInitn)"), "1");
  // Group header: count and control sum over every transaction.
  EXPECT_EQ(XPath(*xml, kPain008, "string(//p:GrpHdr/p:NbOfTxs)"), "3");
  EXPECT_EQ(XPath(*xml, kPain008, "string(//p:GrpHdr/p:CtrlSum)"), "35.50");
  EXPECT_EQ(XPath(*xml, kPain008, "sum(//p:DrctDbtTxInf/p:InstdAmt)"), "35.5");
  // One payment block per sequence type, each with its own count and sum.
  EXPECT_EQ(XPath(*xml, kPain008, "count(//p:PmtInf)"), "2");
  EXPECT_EQ(XPath(*xml, kPain008, "string(//p:PmtInf[p:PmtTpInf/p:SeqTp='FRST']/p:CtrlSum)"), "20.00");
  EXPECT_EQ(XPath(*xml, kPain008, "string(//p:PmtInf[p:PmtTpInf/p:SeqTp='RCUR']/p:NbOfTxs)"), "2");
  EXPECT_EQ(XPath(*xml, kPain008, "string(//p:PmtInf[p:PmtTpInf/p:SeqTp='RCUR']/p:CtrlSum)"), "15.50");
  EXPECT_EQ(XPath(*xml, kPain008, "count(//p:PmtInf[p:PmtTpInf/p:SeqTp='RCUR']/p:DrctDbtTxInf)"), "2");
  // Mandatory elements of every block and transaction.
  EXPECT_EQ(XPath(*xml, kPain008, "count(//p:PmtInf[p:PmtMtd='DD' and p:PmtTpInf/p:SvcLvl/p:Cd='SEPA' and p:PmtTpInf/p:LclInstrm/p:Cd='CORE' and p:ReqdColltnDt='2026-12-03' and p:Cdtr/p:Nm and p:CdtrAcct/p:Id/p:IBAN and p:CdtrAgt/p:FinInstnId/p:BICFI='AGRIFRPP' and p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr[p:Id='FR72ZZZ123456']/p:SchmeNm/p:Prtry='SEPA'])"), "2");
  EXPECT_EQ(XPath(*xml, kPain008, "count(//p:DrctDbtTxInf[p:PmtId/p:EndToEndId and p:InstdAmt/@Ccy='EUR' and p:DrctDbtTx/p:MndtRltdInf/p:MndtId and p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr and p:DbtrAgt/p:FinInstnId and p:Dbtr/p:Nm and p:DbtrAcct/p:Id/p:IBAN])"), "3");
  EXPECT_EQ(XPath(*xml, kPain008, "string(//p:DrctDbtTxInf[p:PmtId/p:EndToEndId='DD-1']/p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr)"), "2026-11-20");
  EXPECT_EQ(XPath(*xml, kPain008, "string(//p:DrctDbtTxInf[p:PmtId/p:EndToEndId='DD-1']/p:Dbtr/p:Nm)"), "Helene Lefevre");
  // The character set: nothing outside the SEPA Latin set in any text node.
  const std::string text = XPath(*xml, kPain008, "string(/)");
  for (char c : text) {
    EXPECT_TRUE(IsValidSepaReference(std::string("a") + c + "a", 3) || c == '\n') << int(c);
  }
}

TEST(SepaPain008, RefusesMissingCreditorIdAndBadMandate) {
  DirectDebitFile file = CollectionFile();
  file.creditor_scheme_id.clear();
  EXPECT_EQ(WriteDirectDebitFile(file).error().code, "sepa_file_invalid");
  file = CollectionFile();
  file.debits[0].mandate_id = "RUM//1";
  EXPECT_EQ(WriteDirectDebitFile(file).error().code, "sepa_file_invalid");
  file = CollectionFile();
  file.debits.clear();
  EXPECT_EQ(WriteDirectDebitFile(file).error().code, "sepa_file_invalid");
}

}  // namespace
}  // namespace guichet::banking
