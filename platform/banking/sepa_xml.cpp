#include "platform/banking/sepa_xml.h"

#include <fmt/format.h>

#include <utility>

#include "platform/banking/iban.h"
#include "platform/base/clock.h"

namespace guichet::banking {
namespace {

constexpr std::string_view kPain001Namespace = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09";
constexpr std::string_view kPain008Namespace = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08";

Error Unsendable(std::string what) {
  return {ErrorKind::kValidation, "sepa_file_invalid",
          fmt::format("The SEPA file cannot be written: {}.", what), {}};
}

// Text content: the SEPA set has no XML-special character except the apostrophe.
std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// "2026-11-29T04:30:00" (ISODateTime without fraction, UTC with its designator).
std::string CreationTime(int64_t epoch_ms) {
  std::string iso = FormatIso8601(epoch_ms - epoch_ms % 1000);  // "…T04:30:00.000Z"
  const auto dot = iso.find('.');
  if (dot != std::string::npos) iso = iso.substr(0, dot) + "Z";
  return iso;
}

std::string Name(std::string_view name) {
  std::string text = ToSepaText(name, kSepaNameLengthMax);
  return text.empty() ? std::string("NOTPROVIDED") : text;
}

std::string Agent(std::string_view bic) {
  if (bic.empty()) return "<FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId>";
  return fmt::format("<FinInstnId><BICFI>{}</BICFI></FinInstnId>", Escape(bic));
}

Status CheckReference(std::string_view what, std::string_view reference) {
  if (!IsValidSepaReference(reference, kSepaIdLengthMax)) {
    return Unsendable(fmt::format("{} \"{}\" is not a SEPA reference", what, reference));
  }
  return OkStatus();
}

Status CheckAmount(std::string_view reference, int64_t cents) {
  // The schemes cap one transaction at 999 999 999.99 EUR.
  if (cents <= 0 || cents > 99'999'999'999) {
    return Unsendable(fmt::format("the amount of {} is out of range", reference));
  }
  return OkStatus();
}

std::string Remittance(std::string_view text) {
  const std::string sepa = ToSepaText(text, kSepaRemittanceLengthMax);
  if (sepa.empty()) return {};
  return fmt::format("<RmtInf><Ustrd>{}</Ustrd></RmtInf>", Escape(sepa));
}

}  // namespace

std::string_view SequenceTypeCode(SequenceType type) {
  return type == SequenceType::kFirst ? "FRST" : "RCUR";
}

std::string FormatEuros(int64_t cents) {
  GUICHET_ASSERT(cents >= 0);
  return fmt::format("{}.{:02d}", cents / 100, cents % 100);
}

Result<std::string> WriteCreditTransferFile(const CreditTransferFile& file) {
  if (auto s = CheckReference("the message id", file.message_id); !s) return s.error();
  if (file.transfers.empty()) return Unsendable("no transfer");
  int64_t total = 0;
  for (const auto& transfer : file.transfers) {
    if (auto s = CheckReference("an end-to-end id", transfer.end_to_end_id); !s) return s.error();
    if (auto s = CheckAmount(transfer.end_to_end_id, transfer.amount_cents); !s) return s.error();
    if (transfer.creditor_iban.empty()) return Unsendable("a creditor has no IBAN");
    total += transfer.amount_cents;
  }
  const std::string count = std::to_string(file.transfers.size());
  std::string xml;
  xml += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += fmt::format("<Document xmlns=\"{}\">\n<CstmrCdtTrfInitn>\n", kPain001Namespace);
  xml += fmt::format(
      "<GrpHdr><MsgId>{}</MsgId><CreDtTm>{}</CreDtTm><NbOfTxs>{}</NbOfTxs><CtrlSum>{}</CtrlSum>"
      "<InitgPty><Nm>{}</Nm></InitgPty></GrpHdr>\n",
      Escape(file.message_id), CreationTime(file.created_at_ms), count, FormatEuros(total),
      Escape(Name(file.initiating_party)));
  xml += fmt::format(
      "<PmtInf><PmtInfId>{}</PmtInfId><PmtMtd>TRF</PmtMtd><BtchBookg>true</BtchBookg>"
      "<NbOfTxs>{}</NbOfTxs><CtrlSum>{}</CtrlSum>"
      "<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>"
      "<ReqdExctnDt><Dt>{}</Dt></ReqdExctnDt>"
      "<Dbtr><Nm>{}</Nm></Dbtr><DbtrAcct><Id><IBAN>{}</IBAN></Id></DbtrAcct>"
      "<DbtrAgt>{}</DbtrAgt><ChrgBr>SLEV</ChrgBr>\n",
      Escape(file.message_id), count, FormatEuros(total),
      FormatDate(file.requested_execution_date), Escape(Name(file.debtor.name)),
      Escape(file.debtor.iban), Agent(file.debtor.bic));
  for (const auto& transfer : file.transfers) {
    xml += fmt::format(
        "<CdtTrfTxInf><PmtId><EndToEndId>{}</EndToEndId></PmtId>"
        "<Amt><InstdAmt Ccy=\"EUR\">{}</InstdAmt></Amt>{}"
        "<Cdtr><Nm>{}</Nm></Cdtr><CdtrAcct><Id><IBAN>{}</IBAN></Id></CdtrAcct>{}</CdtTrfTxInf>\n",
        Escape(transfer.end_to_end_id), FormatEuros(transfer.amount_cents),
        transfer.creditor_bic.empty()
            ? std::string()
            : fmt::format("<CdtrAgt><FinInstnId><BICFI>{}</BICFI></FinInstnId></CdtrAgt>",
                          Escape(transfer.creditor_bic)),
        Escape(Name(transfer.creditor_name)), Escape(transfer.creditor_iban),
        Remittance(transfer.remittance));
  }
  xml += "</PmtInf>\n</CstmrCdtTrfInitn>\n</Document>\n";
  return xml;
}

Result<std::string> WriteDirectDebitFile(const DirectDebitFile& file) {
  if (auto s = CheckReference("the message id", file.message_id); !s) return s.error();
  if (file.debits.empty()) return Unsendable("no debit");
  if (file.creditor_scheme_id.empty()) return Unsendable("no creditor identifier");
  for (const auto& debit : file.debits) {
    if (auto s = CheckReference("an end-to-end id", debit.end_to_end_id); !s) return s.error();
    if (auto s = CheckReference("a mandate reference", debit.mandate_id); !s) return s.error();
    if (auto s = CheckAmount(debit.end_to_end_id, debit.amount_cents); !s) return s.error();
    if (debit.debtor_iban.empty()) return Unsendable("a debtor has no IBAN");
  }
  int64_t total = 0;
  for (const auto& debit : file.debits) total += debit.amount_cents;
  std::string xml;
  xml += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += fmt::format("<Document xmlns=\"{}\">\n<CstmrDrctDbtInitn>\n", kPain008Namespace);
  xml += fmt::format(
      "<GrpHdr><MsgId>{}</MsgId><CreDtTm>{}</CreDtTm><NbOfTxs>{}</NbOfTxs><CtrlSum>{}</CtrlSum>"
      "<InitgPty><Nm>{}</Nm></InitgPty></GrpHdr>\n",
      Escape(file.message_id), CreationTime(file.created_at_ms), file.debits.size(),
      FormatEuros(total), Escape(Name(file.initiating_party)));
  // One payment information block per sequence type: FRST and RCUR cannot share one.
  for (const SequenceType sequence : {SequenceType::kFirst, SequenceType::kRecurrent}) {
    size_t count = 0;
    int64_t sum = 0;
    for (const auto& debit : file.debits) {
      if (debit.sequence != sequence) continue;
      ++count;
      sum += debit.amount_cents;
    }
    if (count == 0) continue;
    const std::string code(SequenceTypeCode(sequence));
    xml += fmt::format(
        "<PmtInf><PmtInfId>{}-{}</PmtInfId><PmtMtd>DD</PmtMtd><BtchBookg>true</BtchBookg>"
        "<NbOfTxs>{}</NbOfTxs><CtrlSum>{}</CtrlSum>"
        "<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl><LclInstrm><Cd>CORE</Cd></LclInstrm>"
        "<SeqTp>{}</SeqTp></PmtTpInf><ReqdColltnDt>{}</ReqdColltnDt>"
        "<Cdtr><Nm>{}</Nm></Cdtr><CdtrAcct><Id><IBAN>{}</IBAN></Id></CdtrAcct>"
        "<CdtrAgt>{}</CdtrAgt><ChrgBr>SLEV</ChrgBr>"
        "<CdtrSchmeId><Id><PrvtId><Othr><Id>{}</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm>"
        "</Othr></PrvtId></Id></CdtrSchmeId>\n",
        Escape(file.message_id.substr(0, kSepaIdLengthMax - 5)), code, count, FormatEuros(sum),
        code, FormatDate(file.requested_collection_date), Escape(Name(file.creditor.name)),
        Escape(file.creditor.iban), Agent(file.creditor.bic), Escape(file.creditor_scheme_id));
    for (const auto& debit : file.debits) {
      if (debit.sequence != sequence) continue;
      xml += fmt::format(
          "<DrctDbtTxInf><PmtId><EndToEndId>{}</EndToEndId></PmtId>"
          "<InstdAmt Ccy=\"EUR\">{}</InstdAmt>"
          "<DrctDbtTx><MndtRltdInf><MndtId>{}</MndtId><DtOfSgntr>{}</DtOfSgntr></MndtRltdInf>"
          "</DrctDbtTx><DbtrAgt>{}</DbtrAgt><Dbtr><Nm>{}</Nm></Dbtr>"
          "<DbtrAcct><Id><IBAN>{}</IBAN></Id></DbtrAcct>{}</DrctDbtTxInf>\n",
          Escape(debit.end_to_end_id), FormatEuros(debit.amount_cents), Escape(debit.mandate_id),
          FormatDate(debit.mandate_signed_on), Agent(debit.debtor_bic),
          Escape(Name(debit.debtor_name)), Escape(debit.debtor_iban),
          Remittance(debit.remittance));
    }
    xml += "</PmtInf>\n";
  }
  xml += "</CstmrDrctDbtInitn>\n</Document>\n";
  return xml;
}

}  // namespace guichet::banking
