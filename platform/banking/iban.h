// Bank identifiers for SEPA payments: IBAN (ISO 13616, mod-97 check and the length each
// country registers), BIC (ISO 9362), the SEPA creditor identifier (ICS in France) and the
// SEPA character set that every free text in a SEPA file must fit. Not wallet-specific: the
// family product invoices by SEPA direct debit with the same pieces.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "platform/base/result.h"

namespace guichet::banking {

constexpr size_t kIbanLengthMax = 34;

// The IBAN without spaces, upper case, when it is well formed: a country this module knows,
// that country's length, two check digits, alphanumeric body, and the mod-97 remainder 1.
// Codes: "iban_malformed" (characters or shape), "iban_country_unknown",
// "iban_length_wrong", "iban_checksum_wrong". Kind 422.
Result<std::string> NormaliseIban(std::string_view text);

// The two-letter country of a normalised IBAN.
std::string_view IbanCountry(std::string_view normalised_iban);

// True when the country (ISO 3166 alpha-2, as in IBANs and BICs) is in the SEPA schemes'
// geographical scope (EPC409-09, list of countries: EEA, Switzerland, the United Kingdom,
// Monaco, San Marino, Andorra, Vatican, Albania, Montenegro, North Macedonia, Moldova and the
// territories attached to a member such as the French overseas departments).
bool IsSepaCountry(std::string_view country);

// "BNPAFRPP" or "BNPAFRPPXXX" (4 letters, a known country, 2 alphanumeric, optional 3
// alphanumeric), upper case without spaces. Code "bic_malformed". Kind 422.
Result<std::string> NormaliseBic(std::string_view text);

// A SEPA creditor identifier ("FR72ZZZ123456"): country, two check digits computed with
// mod-97 over the national identifier followed by the country and "00" (the three-character
// creditor business code is not part of the check), and for France a 6-character national
// identifier. Codes "creditor_id_malformed", "creditor_id_checksum_wrong". Kind 422.
Result<std::string> NormaliseCreditorId(std::string_view text);

// The check digits ("00".."98" → 2..98) for a creditor identifier of `country` with
// `national_id`: used to issue test identifiers and by the check above.
std::string CreditorIdCheckDigits(std::string_view country, std::string_view national_id);

// Mod-97 of an alphanumeric string where letters count as two digits (A=10 … Z=35), as ISO
// 7064 applies it to IBANs and creditor identifiers. Only digits and upper-case letters.
int Mod97(std::string_view alphanumeric);

// Free text (UTF-8) brought to the SEPA Latin character set of the EPC implementation guides:
// a-z A-Z 0-9 / - ? : ( ) . , ' + and space. Accented Latin letters lose their accent
// (é→e, Ç→C, œ→oe, ß→ss), '&' becomes '+', any other character becomes a space; runs of
// spaces collapse, the ends are trimmed, and the result is cut to `max_length` characters.
std::string ToSepaText(std::string_view utf8, size_t max_length);

// A reference (message, payment or end-to-end id, mandate reference) must use the SEPA set,
// must not start or end with '/' and must not contain "//". Code "sepa_reference_invalid".
bool IsValidSepaReference(std::string_view reference, size_t max_length);

}  // namespace guichet::banking
