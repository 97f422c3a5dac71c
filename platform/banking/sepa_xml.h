// SEPA customer-to-bank files in the EPC's 2019 ISO 20022 versions: pain.001.001.09 (credit
// transfers: refunds to holders, settlements to merchants) and pain.008.001.08 (CORE direct
// debits). The writers take plain structs whose identifiers were checked by the caller
// (NormaliseIban, NormaliseBic, NormaliseCreditorId) and bring free text to the SEPA set.
// pain.001 output is validated in tests against the EPC's XSD; the pain.008 XSD is not
// available here, so its output is checked structurally (see sepa_xml_test.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/banking/calendar.h"
#include "platform/base/result.h"

namespace guichet::banking {

constexpr size_t kSepaIdLengthMax = 35;      // MsgId, PmtInfId, EndToEndId, MndtId
constexpr size_t kSepaNameLengthMax = 70;    // party names (EPC restriction of Max140Text)
constexpr size_t kSepaRemittanceLengthMax = 140;

// The account the institution sends from (credit transfers) or collects into (debits).
struct InstitutionAccount {
  std::string name;
  std::string iban;  // normalised
  std::string bic;   // normalised; empty when the bank does not ask for it
};

struct CreditTransfer {
  std::string end_to_end_id;  // SEPA reference, ≤ 35
  int64_t amount_cents = 0;   // > 0, EUR
  std::string creditor_name;
  std::string creditor_iban;
  std::string creditor_bic;  // optional
  std::string remittance;    // free text, ≤ 140 after transliteration
};

struct CreditTransferFile {
  std::string message_id;          // ≤ 35, unique per sending party
  int64_t created_at_ms = 0;
  std::string initiating_party;    // name
  InstitutionAccount debtor;
  Date requested_execution_date{};
  std::vector<CreditTransfer> transfers;  // ≥ 1
};

enum class SequenceType { kFirst, kRecurrent };
std::string_view SequenceTypeCode(SequenceType type);  // "FRST", "RCUR"

struct DirectDebit {
  std::string end_to_end_id;
  int64_t amount_cents = 0;
  std::string mandate_id;       // RUM, ≤ 35
  Date mandate_signed_on{};
  SequenceType sequence = SequenceType::kFirst;
  std::string debtor_name;
  std::string debtor_iban;
  std::string debtor_bic;  // optional
  std::string remittance;
};

struct DirectDebitFile {
  std::string message_id;
  int64_t created_at_ms = 0;
  std::string initiating_party;
  InstitutionAccount creditor;
  std::string creditor_scheme_id;  // ICS, normalised
  Date requested_collection_date{};
  std::vector<DirectDebit> debits;  // ≥ 1; one payment block per sequence type
};

// "12.34" from 1234.
std::string FormatEuros(int64_t cents);

// The XML document, or "sepa_file_invalid" (422) naming the first field that cannot be sent
// (empty list, non-positive amount, reference outside the SEPA set or too long).
Result<std::string> WriteCreditTransferFile(const CreditTransferFile& file);
Result<std::string> WriteDirectDebitFile(const DirectDebitFile& file);

}  // namespace guichet::banking
