#include "platform/identity/password.h"

#include <crack.h>
#include <fmt/format.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <fstream>
#include <mutex>
#include <optional>
#include <unordered_set>

namespace guichet::identity {
namespace {

// Plain words (one per line) shipped with cracklib-runtime beside its packed dictionary; the
// estimator looks for them inside passwords, which cracklib itself does not do.
constexpr std::string_view kWordListPath = "/usr/share/dict/cracklib-small";
constexpr size_t kDictionaryWordLengthMin = 4;  // shorter words match inside anything
constexpr size_t kPersonalWordLengthMin = 3;
constexpr size_t kPatternLengthMin = 3;  // runs and sequences
// The policy refuses a password when runs and sequences cover this share of it or more.
constexpr double kRepetitiveShareMax = 0.5;
// Scores 1, 2, 3 and 4 start at these estimates (3 and 4: see password.h).
constexpr std::array kScoreBits = {28.0, 40.0, kPasswordEntropyBitsMin, kPasswordEntropyBitsStrong};

// The passwords and password roots people pick most, in French and English, with this
// service's own name: each costs a guesser a handful of tries, far less than a dictionary word.
constexpr auto kCommonWords = std::to_array<std::string_view>(
    {"password", "motdepasse", "azerty",    "qwerty",    "iloveyou",    "jetaime",
     "soleil",   "bonjour",    "loulou",    "doudou",    "chouchou",    "coucou",
     "bisous",   "amour",      "marseille", "paris",     "france",      "football",
     "dragon",   "monkey",     "letmein",   "welcome",   "admin",       "administrateur",
     "master",   "sunshine",   "princess",  "princesse", "shadow",      "superman",
     "batman",   "starwars",   "pokemon",   "chocolat",  "nicolas",     "julien",
     "thomas",   "camille",    "marine",    "celine",    "isabelle",    "nathalie",
     "sandrine", "olivier",    "alexandre", "maxime",    "anthony",     "kevin",
     "jordan",   "michel",     "pierre",    "secret",    "trustno1",    "changeme",
     "summer",   "winter",     "hiver",     "printemps", "automne",     "liberte",
     "marianne", "republique", "vacances",  "famille",   "toulouse",    "lyon",
     "nantes",   "bordeaux",   "lille",     "olympique", "guichet",     "etudiant",
     "student",  "login",      "test",      "user",      "utilisateur", "guest",
     "root",     "bienvenue",  "salut"});

// ---- Text: code points, accents folded, common substitutions undone -----------------------

std::u32string DecodeUtf8(std::string_view text) {
  std::u32string out;
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80           ? 1
                          : (lead >> 5) == 0x6  ? 2
                          : (lead >> 4) == 0xE  ? 3
                          : (lead >> 3) == 0x1E ? 4
                                                : 0;
    bool valid = length != 0 && i + length <= text.size();
    char32_t c = length == 1 ? lead : length == 0 ? 0 : (lead & (0x7F >> length));
    for (size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      valid = (next & 0xC0) == 0x80;
      c = (c << 6) | (next & 0x3F);
    }
    out.push_back(valid ? c : U'\uFFFD');  // a stray byte counts as one character
    i += valid ? length : 1;
  }
  return out;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// The ASCII letter a Latin-1 letter with a diacritic (or Œ, Ÿ) is based on; 0 for others.
char BaseLetter(char32_t c) {
  if (c >= 0xC0 && c <= 0xFF) {
    if (c == 0xFF) return 'y';
    constexpr std::string_view kBases = "aaaaaaaceeeeiiiidnooooo-ouuuuy-s";  // from U+00C0/E0
    const char base = kBases[(c - 0xC0) % 32];
    return base == '-' ? '\0' : base;
  }
  if (c == 0x152 || c == 0x153) return 'o';
  if (c == 0x178) return 'y';
  return 0;
}

bool IsAsciiUpper(char32_t c) { return c >= 'A' && c <= 'Z'; }
bool IsAsciiDigit(char32_t c) { return c >= '0' && c <= '9'; }
bool IsLatinUpper(char32_t c) {
  return IsAsciiUpper(c) || (BaseLetter(c) != 0 && c <= 0xDE) || c == 0x152 || c == 0x178;
}
bool IsLatinLower(char32_t c) {
  return (c >= 'a' && c <= 'z') || (BaseLetter(c) != 0 && !IsLatinUpper(c));
}

// One character for one: lowercase ASCII, accents removed, other characters unchanged.
char32_t FoldChar(char32_t c) {
  if (IsAsciiUpper(c)) return c - 'A' + 'a';
  const char base = BaseLetter(c);
  return base != 0 ? static_cast<char32_t>(base) : c;
}

// For containment tests, where lengths may change: "Œuvre" gives "oeuvre", "Straße" "strasse".
std::string FoldExpanded(std::string_view text) {
  std::string out;
  for (char32_t c : DecodeUtf8(text)) {
    if (c == 0xC6 || c == 0xE6) {
      out += "ae";
    } else if (c == 0x152 || c == 0x153) {
      out += "oe";
    } else if (c == 0xDF) {
      out += "ss";
    } else {
      AppendUtf8(FoldChar(c), &out);
    }
  }
  return out;
}

// Undoes the substitutions people use to "strengthen" a word; `one` is what 1 stands for.
char Unleet(char c, char one) {
  switch (c) {
    case '0':
      return 'o';
    case '1':
      return one;
    case '3':
      return 'e';
    case '4':
    case '@':
      return 'a';
    case '5':
    case '$':
      return 's';
    case '7':
    case '+':
      return 't';
    case '!':
      return 'i';
    default:
      return c;
  }
}

std::string Unleeted(std::string_view text, char one) {
  std::string out(text);
  for (char& c : out) c = Unleet(c, one);
  return out;
}

std::string AlphanumericOnly(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || byte >= 0x80) out.push_back(c);
  }
  return out;
}

size_t CodePointCount(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// ---- Personal words ---------------------------------------------------------------------

std::vector<std::string> PersonalTokens(const std::vector<std::string>& personal_words) {
  std::vector<std::string> tokens;
  for (const std::string& word : personal_words) {
    // Only the local part of an address: "gouv" or "com" must not forbid half the language.
    const std::string folded = FoldExpanded(std::string_view(word).substr(0, word.find('@')));
    std::vector<std::string> parts;
    std::string part;
    for (char c : folded + ' ') {
      const auto byte = static_cast<unsigned char>(c);
      if (std::isalnum(byte) || byte >= 0x80) {
        part.push_back(c);
      } else if (!part.empty()) {
        parts.push_back(std::move(part));
        part.clear();
      }
    }
    std::string joined;  // "Jean-Pierre" is also "jeanpierre"
    for (const std::string& piece : parts) joined += piece;
    if (parts.size() > 1) parts.push_back(std::move(joined));
    for (std::string& piece : parts) {
      if (CodePointCount(piece) >= kPersonalWordLengthMin) tokens.push_back(std::move(piece));
    }
  }
  return tokens;
}

std::optional<std::string> FindPersonalWord(std::string_view password,
                                            const std::vector<std::string>& personal_words) {
  const std::vector<std::string> tokens = PersonalTokens(personal_words);
  if (tokens.empty()) return std::nullopt;
  const std::string folded = FoldExpanded(password);
  std::vector<std::string> variants = {folded, Unleeted(folded, 'i'), Unleeted(folded, 'l')};
  for (size_t i = 0, count = variants.size(); i < count; ++i) {
    variants.push_back(AlphanumericOnly(variants[i]));  // "gui-chet" hides nothing
  }
  for (const std::string& token : tokens) {
    for (const std::string& variant : variants) {
      if (variant.find(token) != std::string::npos) return token;
    }
  }
  return std::nullopt;
}

// ---- Cracklib -----------------------------------------------------------------------------

bool CracklibDictionaryPresent() {
  const std::string base = GetDefaultCracklibDict();
  return access((base + ".pwd").c_str(), R_OK) == 0 && access((base + ".pwi").c_str(), R_OK) == 0;
}

// FascistCheckUser with an empty user rather than FascistCheck: the latter also compares the
// password with the passwd entry of the account the server runs as, which means nothing here,
// and refuses every password when that uid has no entry (containers with an arbitrary uid).
std::optional<std::string> CracklibReason(std::string_view password) {
  static std::mutex mutex;  // cracklib mangles words in static buffers
  const std::string terminated(password);
  const std::lock_guard lock(mutex);
  const char* reason = FascistCheckUser(terminated.c_str(), GetDefaultCracklibDict(), "", "");
  if (reason == nullptr) return std::nullopt;
  return std::string(reason);
}

std::string CracklibMessage(std::string_view reason) {
  if (reason.find("dictionary") != std::string_view::npos) {
    return "This password is a dictionary word or a common password, even with a few letters "
           "changed or reversed; attackers try those first.";
  }
  if (reason.find("DIFFERENT") != std::string_view::npos ||
      reason.find("systematic") != std::string_view::npos) {
    return "This password is too systematic (few different characters, or long runs such as "
           "\"123456\" or \"abcd\"); attackers try such patterns first.";
  }
  return "This password follows a common pattern that attackers try first.";
}

// ---- Entropy estimate ---------------------------------------------------------------------

// A part of the password a guesser would find as a whole, and the bits that costs them.
struct Match {
  size_t begin = 0;
  size_t end = 0;
  double bits = 0.0;
  bool repetitive = false;  // a run or a sequence, for the "mostly repetitive" rule
};

struct WordLists {
  std::unordered_set<std::string> common;
  std::unordered_set<std::string> dictionary;
  size_t length_max = 0;
  double common_bits = 0.0;
  double dictionary_bits = 0.0;
};

const WordLists& Words() {
  static const WordLists lists = [] {
    WordLists loaded;
    for (std::string_view word : kCommonWords) loaded.common.emplace(word);
    std::ifstream file{std::string(kWordListPath)};
    std::string line;
    while (std::getline(file, line)) {
      const bool plain = std::all_of(line.begin(), line.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      });
      if (plain && line.size() >= kDictionaryWordLengthMin) loaded.dictionary.insert(line);
    }
    for (const auto* set : {&loaded.common, &loaded.dictionary}) {
      for (const std::string& word : *set) {
        loaded.length_max = std::max(loaded.length_max, word.size());
      }
    }
    // Without frequencies, a word costs the guesser the size of its list.
    loaded.common_bits = std::log2(static_cast<double>(loaded.common.size()));
    loaded.dictionary_bits =
        std::log2(static_cast<double>(std::max<size_t>(loaded.dictionary.size(), 2)));
    return loaded;
  }();
  return lists;
}

// Character classes present, as the number of symbols a brute-force guesser must try.
double BruteForceBitsPerChar(const std::u32string& password) {
  bool lower = false, upper = false, digit = false, symbol = false, accented = false, other = false;
  for (char32_t c : password) {
    if (c >= 'a' && c <= 'z') {
      lower = true;
    } else if (IsAsciiUpper(c)) {
      upper = true;
    } else if (IsAsciiDigit(c)) {
      digit = true;
    } else if (c >= 0x20 && c < 0x7F) {
      symbol = true;
    } else if (BaseLetter(c) != 0) {
      accented = true;  // French adds about thirty: é, è, à, ç, œ and their capitals
    } else {
      other = true;
    }
  }
  const int pool = 26 * lower + 26 * upper + 10 * digit + 33 * symbol + 32 * accented + 100 * other;
  return std::log2(static_cast<double>(std::max(pool, 2)));
}

// Capitals add little when they follow habits (first letter, all capitals).
double CapitalBits(const std::u32string& password, size_t begin, size_t end) {
  int upper = 0;
  int lower = 0;
  for (size_t i = begin; i < end; ++i) {
    if (IsLatinUpper(password[i])) {
      ++upper;
    } else if (IsLatinLower(password[i])) {
      ++lower;
    }
  }
  if (upper == 0) return 0.0;
  if (lower == 0 || (upper == 1 && IsLatinUpper(password[begin]))) return 1.0;
  double choices = 0.0;  // which of the letters are capitals, up to the smaller side
  for (int k = 1; k <= std::min(upper, lower); ++k) {
    choices += std::round(std::exp(std::lgamma(upper + lower + 1) - std::lgamma(k + 1) -
                                   std::lgamma(upper + lower - k + 1)));
  }
  return std::log2(choices);
}

// The folded password as bytes, one per character (non-ASCII becomes 0x01, in no word list).
std::string AsciiKey(const std::u32string& folded) {
  std::string key;
  for (char32_t c : folded) key.push_back(c < 0x80 ? static_cast<char>(c) : '\x01');
  return key;
}

void AddDictionaryMatches(const std::u32string& password, const std::u32string& folded,
                          std::vector<Match>* matches) {
  const WordLists& words = Words();
  const std::string plain = AsciiKey(folded);
  for (const std::string& variant : {plain, Unleeted(plain, 'i'), Unleeted(plain, 'l')}) {
    for (size_t begin = 0; begin < variant.size(); ++begin) {
      const size_t length_max = std::min(words.length_max, variant.size() - begin);
      for (size_t length = kDictionaryWordLengthMin; length <= length_max; ++length) {
        const std::string word = variant.substr(begin, length);
        const std::string reversed(word.rbegin(), word.rend());
        double bits = 0.0;
        if (words.common.contains(word)) {
          bits = words.common_bits;
        } else if (words.dictionary.contains(word)) {
          bits = words.dictionary_bits;
        } else if (words.common.contains(reversed) || words.dictionary.contains(reversed)) {
          bits =
              1.0 + (words.common.contains(reversed) ? words.common_bits : words.dictionary_bits);
        } else {
          continue;
        }
        // One bit per substituted character: "p@ssw0rd" is barely harder than "password".
        const size_t end = begin + length;
        for (size_t k = begin; k < end; ++k) bits += variant[k] != plain[k] ? 1.0 : 0.0;
        matches->push_back({begin, end, bits + CapitalBits(password, begin, end), false});
      }
    }
  }
}

// Every stretch of at least kPatternLengthMin inside [begin, end), each costing `bits_of`.
template <typename BitsOf>
void AddStretches(size_t begin, size_t end, bool repetitive, BitsOf bits_of,
                  std::vector<Match>* matches) {
  for (size_t from = begin; from < end; ++from) {
    for (size_t to = from + kPatternLengthMin; to <= end; ++to) {
      matches->push_back({from, to, bits_of(from, to), repetitive});
    }
  }
}

void AddRunMatches(const std::u32string& folded, double char_bits, std::vector<Match>* matches) {
  for (size_t begin = 0; begin < folded.size();) {
    size_t end = begin + 1;
    while (end < folded.size() && folded[end] == folded[begin]) ++end;
    if (end - begin >= kPatternLengthMin) {
      AddStretches(
          begin, end, true,
          [&](size_t from, size_t to) {
            return char_bits + std::log2(static_cast<double>(to - from));
          },
          matches);
    }
    begin = end;
  }
}

struct Row {
  std::u32string keys;
  double start_bits;  // where a sequence may start, when it does not start at an end
};

const std::vector<Row>& Rows() {
  const double keyboard = std::log2(47.0);  // keys on the main block
  static const std::vector<Row> rows = {
      {U"abcdefghijklmnopqrstuvwxyz", std::log2(26.0)},
      {U"0123456789", std::log2(10.0)},
      {U"1234567890", keyboard},
      {U"qwertyuiop", keyboard},
      {U"asdfghjkl", keyboard},
      {U"zxcvbnm", keyboard},
      {U"azertyuiop", keyboard},
      {U"qsdfghjklm", keyboard},
      {U"wxcvbn", keyboard},
      {U"&e\"'(-e_ca", keyboard},  // the AZERTY digit row unshifted (é è ç à folded)
  };
  return rows;
}

bool FollowsInRow(const std::u32string& keys, char32_t from, char32_t to, bool forward) {
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    if (forward ? (keys[i] == from && keys[i + 1] == to) : (keys[i + 1] == from && keys[i] == to)) {
      return true;
    }
  }
  return false;
}

void AddSequenceMatches(const std::u32string& password, const std::u32string& folded,
                        std::vector<Match>* matches) {
  for (const Row& row : Rows()) {
    for (bool forward : {true, false}) {
      for (size_t begin = 0; begin < folded.size();) {
        size_t end = begin + 1;
        while (end < folded.size() &&
               FollowsInRow(row.keys, folded[end - 1], folded[end], forward)) {
          ++end;
        }
        if (end - begin >= kPatternLengthMin) {
          AddStretches(
              begin, end, true,
              [&](size_t from, size_t to) {
                const bool obvious =
                    folded[from] == row.keys.front() || folded[from] == row.keys.back();
                return (obvious ? 2.0 : row.start_bits) +
                       std::log2(static_cast<double>(to - from)) + (forward ? 0.0 : 1.0) +
                       CapitalBits(password, from, to);
              },
              matches);
        }
        begin = end;
      }
    }
  }
}

int DigitsValue(const std::u32string& folded, size_t begin, size_t length) {
  int value = 0;
  for (size_t i = begin; i < begin + length; ++i) {
    value = value * 10 + static_cast<int>(folded[i] - '0');
  }
  return value;
}

// Years from 1900 to 2099 and dates (ddmmyy, yymmdd, ddmmyyyy, yyyymmdd) cost what choosing
// among them costs: birthdays and anniversaries are the first numbers people add.
void AddDateMatches(const std::u32string& folded, std::vector<Match>* matches) {
  auto digits = [&](size_t begin, size_t length) {
    if (begin + length > folded.size()) return false;
    const std::u32string_view part = std::u32string_view(folded).substr(begin, length);
    return std::all_of(part.begin(), part.end(), IsAsciiDigit);
  };
  auto day_month = [&](size_t at) {
    const int day = DigitsValue(folded, at, 2);
    const int month = DigitsValue(folded, at + 2, 2);
    return day >= 1 && day <= 31 && month >= 1 && month <= 12;
  };
  auto month_day = [&](size_t at) {
    const int month = DigitsValue(folded, at, 2);
    const int day = DigitsValue(folded, at + 2, 2);
    return day >= 1 && day <= 31 && month >= 1 && month <= 12;
  };
  auto year = [&](size_t at) {
    const int value = DigitsValue(folded, at, 4);
    return value >= 1900 && value <= 2099;
  };
  for (size_t i = 0; i < folded.size(); ++i) {
    if (digits(i, 4) && year(i)) matches->push_back({i, i + 4, std::log2(200.0), false});
    if (digits(i, 6) && (day_month(i) || month_day(i + 2))) {
      matches->push_back({i, i + 6, std::log2(31.0 * 12 * 100), false});
    }
    if (digits(i, 8) && ((day_month(i) && year(i + 4)) || (year(i) && month_day(i + 4)))) {
      matches->push_back({i, i + 8, std::log2(31.0 * 12 * 200), false});
    }
  }
}

struct Estimate {
  double bits = 0.0;
  double repetitive_share = 0.0;
};

Estimate EstimateEntropy(const std::u32string& password);

// True when `block` is itself a shorter block repeated ("abab"): the shorter one is matched.
bool IsRepetition(std::u32string_view block) {
  for (size_t part = 1; part <= block.size() / 2; ++part) {
    if (block.size() % part != 0) continue;
    bool repeated = true;
    for (size_t i = part; repeated && i < block.size(); ++i) repeated = block[i] == block[i - part];
    if (repeated) return true;
  }
  return false;
}

// "abcabc", "passwordpassword": a block typed again costs what the block costs, plus the
// number of copies. Only repeats that cannot extend to the left are taken, each estimated
// once, so a long repetitive password does not cost a guess per rotation of its block.
void AddRepeatedBlockMatches(const std::u32string& password, const std::u32string& folded,
                             std::vector<Match>* matches) {
  const size_t n = folded.size();
  const std::u32string_view view(folded);
  for (size_t begin = 0; begin < n; ++begin) {
    for (size_t block = 2; begin + 2 * block <= n; ++block) {
      if (begin > 0 && folded[begin - 1] == folded[begin - 1 + block]) continue;
      if (IsRepetition(view.substr(begin, block))) continue;
      size_t copies = 1;
      while (begin + (copies + 1) * block <= n &&
             view.substr(begin + copies * block, block) == view.substr(begin, block)) {
        ++copies;
      }
      if (copies < 2) continue;
      const double block_bits = EstimateEntropy(password.substr(begin, block)).bits;
      matches->push_back({begin, begin + copies * block,
                          block_bits + std::log2(static_cast<double>(copies)), false});
    }
  }
}

// The cheapest way to guess the password piece by piece: each character costs the brute-force
// bits unless it belongs to a match (word, run, sequence, date, repeated block) that costs less.
Estimate EstimateEntropy(const std::u32string& password) {
  std::u32string folded;
  for (char32_t c : password) folded.push_back(FoldChar(c));
  const double char_bits = BruteForceBitsPerChar(password);
  std::vector<Match> matches;
  AddDictionaryMatches(password, folded, &matches);
  AddRunMatches(folded, char_bits, &matches);
  AddSequenceMatches(password, folded, &matches);
  AddDateMatches(folded, &matches);
  AddRepeatedBlockMatches(password, folded, &matches);

  const size_t n = folded.size();
  std::vector<double> best(n + 1, HUGE_VAL);
  best[0] = 0.0;
  std::sort(matches.begin(), matches.end(),
            [](const Match& a, const Match& b) { return a.begin < b.begin; });
  auto next = matches.begin();
  std::vector<bool> repetitive(n, false);
  for (size_t i = 0; i < n; ++i) {
    best[i + 1] = std::min(best[i + 1], best[i] + char_bits);
    for (; next != matches.end() && next->begin == i; ++next) {
      GUICHET_ASSERT(next->end <= n && next->end > i);
      best[next->end] = std::min(best[next->end], best[i] + next->bits);
      for (size_t k = i; next->repetitive && k < next->end; ++k) repetitive[k] = true;
    }
  }
  Estimate estimate;
  estimate.bits = best[n];
  const auto covered = std::count(repetitive.begin(), repetitive.end(), true);
  estimate.repetitive_share = n == 0 ? 0.0 : static_cast<double>(covered) / static_cast<double>(n);
  return estimate;
}

int ScoreFromBits(double bits) {
  int score = 0;
  for (double floor : kScoreBits) score += bits >= floor ? 1 : 0;
  return score;
}

// ---- The policy ---------------------------------------------------------------------------

struct Refusal {
  PasswordWeakness weakness = PasswordWeakness::kNone;
  std::string message;
};

Refusal FirstRefusal(std::string_view password, size_t length, const Estimate& estimate,
                     const std::vector<std::string>& personal_words) {
  if (length < static_cast<size_t>(kPasswordLengthMin)) {
    return {PasswordWeakness::kTooShort,
            fmt::format("This password is too short: use at least {} characters. A few "
                        "unrelated words make a long password that is easy to remember.",
                        kPasswordLengthMin)};
  }
  if (estimate.repetitive_share >= kRepetitiveShareMax) {
    return {PasswordWeakness::kRepetitive,
            "This password is mostly a repeated character or a keyboard or alphabet sequence "
            "(such as \"aaaa\", \"1234\" or \"azerty\"), which attackers try first."};
  }
  if (const auto word = FindPersonalWord(password, personal_words)) {
    return {PasswordWeakness::kPersonal,
            fmt::format("This password contains \"{}\", taken from your name, e-mail address or "
                        "organisation, which people who know you would try first.",
                        *word)};
  }
  if (!CracklibDictionaryPresent()) {
    return {PasswordWeakness::kCheckUnavailable,
            "Passwords cannot be checked at the moment; please try again later."};
  }
  if (const auto reason = CracklibReason(password)) {
    return {PasswordWeakness::kDictionary, CracklibMessage(*reason)};
  }
  if (estimate.bits < kPasswordEntropyBitsMin) {
    return {PasswordWeakness::kGuessable,
            "This password is too easy to guess: it is made of common words, names, dates or "
            "patterns. Make it longer, for instance with a few unrelated words."};
  }
  return {};
}

}  // namespace

std::string_view PasswordWeaknessCode(PasswordWeakness weakness) {
  switch (weakness) {
    case PasswordWeakness::kNone:
      return "none";
    case PasswordWeakness::kTooShort:
      return "too_short";
    case PasswordWeakness::kTooLong:
      return "too_long";
    case PasswordWeakness::kRepetitive:
      return "repetitive";
    case PasswordWeakness::kPersonal:
      return "personal";
    case PasswordWeakness::kDictionary:
      return "dictionary";
    case PasswordWeakness::kGuessable:
      return "guessable";
    case PasswordWeakness::kCheckUnavailable:
      return "check_unavailable";
  }
  return "unknown";
}

PasswordAssessment AssessPassword(std::string_view password,
                                  const std::vector<std::string>& personal_words) {
  PasswordAssessment assessment;
  // Bytes first, so that a huge input is refused without being read.
  std::u32string code_points;
  if (password.size() <= static_cast<size_t>(kPasswordBytesMax)) code_points = DecodeUtf8(password);
  if (password.size() > static_cast<size_t>(kPasswordBytesMax) ||
      code_points.size() > static_cast<size_t>(kPasswordLengthMax)) {
    assessment.weakness = PasswordWeakness::kTooLong;
    assessment.message =
        fmt::format("This password is too long: use at most {} characters.", kPasswordLengthMax);
    return assessment;
  }
  const Estimate estimate = EstimateEntropy(code_points);
  assessment.entropy_bits = estimate.bits;
  assessment.score = ScoreFromBits(estimate.bits);
  Refusal refusal = FirstRefusal(password, code_points.size(), estimate, personal_words);
  if (refusal.weakness != PasswordWeakness::kNone) {
    // A refused password never shows as good on the meter, whatever its length.
    assessment.score = std::min(assessment.score, 2);
    if (refusal.weakness == PasswordWeakness::kCheckUnavailable) assessment.score = 0;
    assessment.weakness = refusal.weakness;
    assessment.message = std::move(refusal.message);
  }
  return assessment;
}

Status CheckPasswordPolicy(std::string_view password,
                           const std::vector<std::string>& personal_words) {
  PasswordAssessment assessment = AssessPassword(password, personal_words);
  if (assessment.weakness == PasswordWeakness::kNone) return OkStatus();
  if (assessment.weakness == PasswordWeakness::kCheckUnavailable) {
    return Error::Unavailable("password_check_unavailable", std::move(assessment.message));
  }
  return Error{ErrorKind::kValidation,
               "weak_password",
               assessment.message,
               {{"/password", assessment.message}}};
}

int EstimateStrength(std::string_view password, const std::vector<std::string>& personal_words) {
  return AssessPassword(password, personal_words).score;
}

// ---- Hashing ------------------------------------------------------------------------------

namespace {

// Options come from code and settings (clamped when loaded), never from a request.
void AssertValidOptions(const PasswordHashOptions& options) {
  GUICHET_ASSERT(options.ops >= static_cast<int64_t>(crypto_pwhash_argon2id_OPSLIMIT_MIN));
  GUICHET_ASSERT(options.ops <= 64);  // beyond, a login would take minutes
  GUICHET_ASSERT(options.memory_kib * 1024 >=
                 static_cast<int64_t>(crypto_pwhash_argon2id_MEMLIMIT_MIN));
  GUICHET_ASSERT(options.memory_kib <= int64_t{4} * 1024 * 1024);  // 4 GiB
}

}  // namespace

Result<std::string> HashPassword(std::string_view password, const PasswordHashOptions& options) {
  AssertValidOptions(options);
  if (password.size() > static_cast<size_t>(kPasswordBytesMax)) {
    return Error::Invalid("password_too_long",
                          fmt::format("A password has at most {} characters.", kPasswordLengthMax));
  }
  std::array<char, crypto_pwhash_STRBYTES> hash{};
  if (crypto_pwhash_str_alg(hash.data(), password.data(), password.size(),
                            static_cast<unsigned long long>(options.ops),
                            static_cast<size_t>(options.memory_kib) * 1024,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error::Internal("Argon2id could not allocate its memory");
  }
  return std::string(hash.data());
}

bool VerifyPassword(std::string_view password, std::string_view stored_hash) {
  if (password.size() > static_cast<size_t>(kPasswordBytesMax)) return false;
  if (stored_hash.size() >= crypto_pwhash_STRBYTES ||
      stored_hash.find('\0') != std::string_view::npos) {
    return false;
  }
  const std::string terminated(stored_hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

bool NeedsRehash(std::string_view stored_hash, const PasswordHashOptions& options) {
  AssertValidOptions(options);
  if (!stored_hash.starts_with(crypto_pwhash_argon2id_STRPREFIX) ||
      stored_hash.size() >= crypto_pwhash_STRBYTES ||
      stored_hash.find('\0') != std::string_view::npos) {
    return true;
  }
  const std::string terminated(stored_hash);
  // 0: same parameters; 1: others; -1: malformed, which a new hash fixes too.
  return crypto_pwhash_str_needs_rehash(terminated.c_str(),
                                        static_cast<unsigned long long>(options.ops),
                                        static_cast<size_t>(options.memory_kib) * 1024) != 0;
}

}  // namespace guichet::identity
