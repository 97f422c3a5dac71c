#include "platform/banking/iban.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <utility>

#include <fmt/format.h>

namespace guichet::banking {
namespace {

struct CountryLength {
  std::string_view country;
  size_t length;
};

// The ISO 13616 registry (SWIFT, IBAN registry release 2024): country and total IBAN length.
// The French overseas territories use the French format under their own code.
constexpr std::array<CountryLength, 94> kIbanLengths = {{
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BL", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21},
    {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28},
    {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27},
    {"GB", 22}, {"GE", 22}, {"GF", 27}, {"GI", 23}, {"GL", 18}, {"GP", 27}, {"GR", 27},
    {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26},
    {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21},
    {"LT", 20}, {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22},
    {"MF", 27}, {"MK", 19}, {"MN", 20}, {"MQ", 27}, {"MR", 27}, {"MT", 31}, {"MU", 30},
    {"NC", 27}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PF", 27}, {"PK", 24},
    {"PL", 28}, {"PM", 27}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RE", 27}, {"RO", 24},
    {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19},
    {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TF", 27}, {"TL", 23},
    {"TN", 24}, {"TR", 26}, {"UA", 29},
}};
constexpr std::array<CountryLength, 4> kIbanLengthsMore = {{
    {"VA", 22}, {"VG", 24}, {"WF", 27}, {"XK", 20},
}};

// EPC409-09 "EPC list of SEPA scheme countries" (2024): EU and EEA members, their attached
// territories that use their IBAN format, and the other participating countries.
constexpr std::array<std::string_view, 52> kSepaCountries = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU",
    "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES",
    "SE", "IS", "LI", "NO", "CH", "GB", "MC", "SM", "AD", "VA", "AL", "ME", "MK",
    "MD", "GI", "GF", "GP", "MQ", "RE", "YT", "BL", "MF", "PM", "AX", "GG", "JE",
};

std::optional<size_t> IbanLength(std::string_view country) {
  for (const auto& entry : kIbanLengths) {
    if (entry.country == country) return entry.length;
  }
  for (const auto& entry : kIbanLengthsMore) {
    if (entry.country == country) return entry.length;
  }
  return std::nullopt;
}

Error Invalid(std::string code, std::string message) {
  return {ErrorKind::kValidation, std::move(code), std::move(message), {}};
}

bool IsUpperAlpha(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpperAlnum(char c) { return IsUpperAlpha(c) || IsDigit(c); }

// Upper case, without spaces; nullopt when anything else than letters, digits and spaces.
std::optional<std::string> Compact(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == ' ') continue;
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) || u >= 0x80) return std::nullopt;
    out.push_back(static_cast<char>(std::toupper(u)));
  }
  return out;
}

bool IsSepaChar(char c) {
  if (IsUpperAlnum(c) || (c >= 'a' && c <= 'z')) return true;
  switch (c) {
    case '/': case '-': case '?': case ':': case '(': case ')': case '.': case ',':
    case '\'': case '+': case ' ':
      return true;
    default:
      return false;
  }
}

// Decodes one UTF-8 code point at `i` (advancing it); invalid bytes decode as U+FFFD.
char32_t NextCodePoint(std::string_view text, size_t& i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  int extra = 0;
  char32_t cp = 0;
  if (b0 < 0x80) {
    ++i;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    extra = 1;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3;
    cp = b0 & 0x07;
  } else {
    ++i;
    return 0xFFFD;
  }
  if (i + static_cast<size_t>(extra) >= text.size()) {
    i = text.size();
    return 0xFFFD;
  }
  for (int k = 1; k <= extra; ++k) {
    const auto b = static_cast<unsigned char>(text[i + static_cast<size_t>(k)]);
    if ((b & 0xC0) != 0x80) {
      i += static_cast<size_t>(k);
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  i += static_cast<size_t>(extra) + 1;
  return cp;
}

// The Latin letters with diacritics French and neighbouring languages use, without them.
std::string_view Unaccent(char32_t cp) {
  switch (cp) {
    case U'À': case U'Á': case U'Â': case U'Ã': case U'Ä': case U'Å': case U'Ā': case U'Ă':
    case U'Ą': return "A";
    case U'à': case U'á': case U'â': case U'ã': case U'ä': case U'å': case U'ā': case U'ă':
    case U'ą': return "a";
    case U'Æ': return "AE";
    case U'æ': return "ae";
    case U'Ç': case U'Ć': case U'Č': return "C";
    case U'ç': case U'ć': case U'č': return "c";
    case U'Ď': case U'Đ': return "D";
    case U'ď': case U'đ': return "d";
    case U'È': case U'É': case U'Ê': case U'Ë': case U'Ē': case U'Ė': case U'Ę': case U'Ě':
      return "E";
    case U'è': case U'é': case U'ê': case U'ë': case U'ē': case U'ė': case U'ę': case U'ě':
      return "e";
    case U'Ğ': return "G";
    case U'ğ': return "g";
    case U'Ì': case U'Í': case U'Î': case U'Ï': case U'Ī': case U'İ': return "I";
    case U'ì': case U'í': case U'î': case U'ï': case U'ī': case U'ı': return "i";
    case U'Ł': case U'Ľ': return "L";
    case U'ł': case U'ľ': return "l";
    case U'Ñ': case U'Ń': case U'Ň': return "N";
    case U'ñ': case U'ń': case U'ň': return "n";
    case U'Ò': case U'Ó': case U'Ô': case U'Õ': case U'Ö': case U'Ø': case U'Ő': return "O";
    case U'ò': case U'ó': case U'ô': case U'õ': case U'ö': case U'ø': case U'ő': return "o";
    case U'Œ': return "OE";
    case U'œ': return "oe";
    case U'Ř': return "R";
    case U'ř': return "r";
    case U'Ś': case U'Š': case U'Ş': return "S";
    case U'ś': case U'š': case U'ş': return "s";
    case U'ß': return "ss";
    case U'Ť': case U'Ţ': return "T";
    case U'ť': case U'ţ': return "t";
    case U'Ù': case U'Ú': case U'Û': case U'Ü': case U'Ū': case U'Ů': case U'Ű': return "U";
    case U'ù': case U'ú': case U'û': case U'ü': case U'ū': case U'ů': case U'ű': return "u";
    case U'Ý': case U'Ÿ': return "Y";
    case U'ý': case U'ÿ': return "y";
    case U'Ź': case U'Ż': case U'Ž': return "Z";
    case U'ź': case U'ż': case U'ž': return "z";
    case U'’': case U'‘': return "'";
    case U'&': return "+";
    default: return {};
  }
}

}  // namespace

int Mod97(std::string_view alphanumeric) {
  int remainder = 0;
  for (char c : alphanumeric) {
    if (IsDigit(c)) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else {
      GUICHET_ASSERT(IsUpperAlpha(c));
      const int value = c - 'A' + 10;
      remainder = (remainder * 100 + value) % 97;
    }
  }
  return remainder;
}

Result<std::string> NormaliseIban(std::string_view text) {
  auto compact = Compact(text);
  if (!compact || compact->size() < 5 || compact->size() > kIbanLengthMax ||
      !IsUpperAlpha((*compact)[0]) || !IsUpperAlpha((*compact)[1]) ||
      !IsDigit((*compact)[2]) || !IsDigit((*compact)[3])) {
    return Invalid("iban_malformed",
                   "An IBAN is a country code, two check digits and up to 30 letters or digits.");
  }
  const std::string country = compact->substr(0, 2);
  const auto length = IbanLength(country);
  if (!length) return Invalid("iban_country_unknown", "This country does not issue IBANs.");
  if (compact->size() != *length) {
    return Invalid("iban_length_wrong",
                   fmt::format("An IBAN from {} has {} characters.", country, *length));
  }
  const std::string rearranged = compact->substr(4) + compact->substr(0, 4);
  if (Mod97(rearranged) != 1) {
    return Invalid("iban_checksum_wrong", "The IBAN's check digits do not match: a typing error?");
  }
  return std::move(*compact);
}

std::string_view IbanCountry(std::string_view normalised_iban) {
  return normalised_iban.substr(0, 2);
}

bool IsSepaCountry(std::string_view country) {
  return std::find(kSepaCountries.begin(), kSepaCountries.end(), country) != kSepaCountries.end();
}

Result<std::string> NormaliseBic(std::string_view text) {
  auto compact = Compact(text);
  const auto bad = [] {
    return Invalid("bic_malformed",
                   "A BIC is 8 or 11 characters: bank (4 letters), country, location, branch.");
  };
  if (!compact || (compact->size() != 8 && compact->size() != 11)) return bad();
  const std::string& bic = *compact;
  for (size_t i = 0; i < 4; ++i) {
    if (!IsUpperAlpha(bic[i])) return bad();
  }
  if (!IbanLength(bic.substr(4, 2)) && !IsSepaCountry(bic.substr(4, 2))) {
    // Countries without IBANs (US, JP…) still have BICs: accept any two letters.
    if (!IsUpperAlpha(bic[4]) || !IsUpperAlpha(bic[5])) return bad();
  }
  for (size_t i = 6; i < bic.size(); ++i) {
    if (!IsUpperAlnum(bic[i])) return bad();
  }
  return std::move(*compact);
}

std::string CreditorIdCheckDigits(std::string_view country, std::string_view national_id) {
  std::string digits(national_id);
  digits += country;
  digits += "00";
  return fmt::format("{:02d}", 98 - Mod97(digits));
}

Result<std::string> NormaliseCreditorId(std::string_view text) {
  auto compact = Compact(text);
  const auto bad = [] {
    return Invalid("creditor_id_malformed",
                   "A SEPA creditor identifier is a country, two check digits, a 3-character "
                   "business code and the national identifier (FR: 6 characters).");
  };
  if (!compact || compact->size() < 8 || compact->size() > 35) return bad();
  const std::string& id = *compact;
  if (!IsUpperAlpha(id[0]) || !IsUpperAlpha(id[1]) || !IsDigit(id[2]) || !IsDigit(id[3])) {
    return bad();
  }
  const std::string country = id.substr(0, 2);
  const std::string national = id.substr(7);
  if (country == "FR" && national.size() != 6) return bad();
  if (CreditorIdCheckDigits(country, national) != id.substr(2, 2)) {
    return Invalid("creditor_id_checksum_wrong",
                   "The creditor identifier's check digits do not match.");
  }
  return std::move(*compact);
}

std::string ToSepaText(std::string_view utf8, size_t max_length) {
  std::string out;
  size_t i = 0;
  auto put = [&out](std::string_view piece) {
    for (char c : piece) {
      if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
      out.push_back(c);
    }
  };
  while (i < utf8.size()) {
    const char32_t cp = NextCodePoint(utf8, i);
    if (cp < 0x80 && IsSepaChar(static_cast<char>(cp))) {
      const char c = static_cast<char>(cp);
      put(std::string_view(&c, 1));
      continue;
    }
    const std::string_view replacement = Unaccent(cp);
    put(replacement.empty() ? std::string_view(" ") : replacement);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > max_length) {
    out.resize(max_length);
    while (!out.empty() && out.back() == ' ') out.pop_back();
  }
  return out;
}

bool IsValidSepaReference(std::string_view reference, size_t max_length) {
  if (reference.empty() || reference.size() > max_length) return false;
  if (reference.front() == '/' || reference.back() == '/') return false;
  if (reference.find("//") != std::string_view::npos) return false;
  if (reference.front() == ' ' || reference.back() == ' ') return false;
  return std::all_of(reference.begin(), reference.end(), IsSepaChar);
}

}  // namespace guichet::banking
