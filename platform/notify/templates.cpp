#include "platform/notify/templates.h"

#include "platform/base/markup.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json/serialize.hpp>
#include <cctype>

#include "platform/orgs/orgs.h"

namespace guichet::notify {
namespace {

constexpr int64_t kDayMs = int64_t{86400} * 1000;
constexpr int64_t kHourMs = int64_t{3600} * 1000;
constexpr std::array<std::string_view, 5> kFilters = {"money", "date", "datetime", "number",
                                                      "upper"};

// Days since 1970-01-01 of a civil date, and back (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  int64_t year = 0, month = 0, day = 0;
};

Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

// 0 = Monday.
int64_t Weekday(int64_t days) { return ((days % 7) + 7 + 3) % 7; }

int64_t LastSundayDays(int64_t year, int64_t month) {
  const int64_t last = DaysFromCivil(year, month + 1, 1) - 1;  // month < 12 here
  return last - ((Weekday(last) + 1) % 7);
}

std::string Trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin])) != 0) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1])) != 0) --end;
  return std::string(text.substr(begin, end - begin));
}

bool ValidName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

struct Placeholder {
  std::string name;
  std::string filter;
};

// Splits a template into literal text and placeholders; calls `on_text` and `on_var` in order.
template <typename OnText, typename OnVar>
Status Walk(std::string_view source, OnText on_text, OnVar on_var) {
  size_t at = 0;
  while (at < source.size()) {
    const size_t open = source.find("{{", at);
    if (open == std::string_view::npos) {
      on_text(source.substr(at));
      break;
    }
    on_text(source.substr(at, open - at));
    const size_t close = source.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return Error{ErrorKind::kValidation,
                   "template_syntax",
                   fmt::format("\"{{{{\" at character {} is never closed by \"}}}}\"", open),
                   {}};
    }
    const std::string_view inside = source.substr(open + 2, close - open - 2);
    Placeholder placeholder;
    const size_t bar = inside.find('|');
    placeholder.name = Trim(inside.substr(0, bar));
    if (bar != std::string_view::npos) placeholder.filter = Trim(inside.substr(bar + 1));
    if (!ValidName(placeholder.name)) {
      return Error{ErrorKind::kValidation,
                   "template_syntax",
                   fmt::format("\"{{{{{}}}}}\" at character {} is not a variable name ([a-z0-9_])",
                               std::string(inside), open),
                   {}};
    }
    if (!placeholder.filter.empty() &&
        std::find(kFilters.begin(), kFilters.end(), placeholder.filter) == kFilters.end()) {
      return Error{
          ErrorKind::kValidation,
          "template_syntax",
          fmt::format(
              "unknown filter \"{}\" on \"{}\" (known: money, date, datetime, number, upper)",
              placeholder.filter, placeholder.name),
          {}};
    }
    auto status = on_var(placeholder);
    if (!status.ok()) return status;
    at = close + 2;
  }
  return OkStatus();
}

std::string Grouped(int64_t whole, char separator_byte, std::string_view separator) {
  std::string digits = std::to_string(whole);
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    out += digits[i];
    const size_t left = n - i - 1;
    if (left > 0 && left % 3 == 0) {
      if (separator.empty()) {
        out += separator_byte;
      } else {
        out += separator;
      }
    }
  }
  return out;
}

std::string ValueText(const boost::json::value& value) {
  if (value.is_string()) return std::string(value.as_string());
  if (value.is_null()) return "";
  if (value.is_bool()) return value.as_bool() ? "true" : "false";
  return boost::json::serialize(value);
}

std::optional<int64_t> ValueInt(const boost::json::value& value) {
  if (value.is_int64()) return value.as_int64();
  if (value.is_uint64() && value.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(value.as_uint64());
  }
  if (value.is_double()) return static_cast<int64_t>(value.as_double());
  return std::nullopt;
}

TemplateText Text(std::string subject, std::string text, std::string html) {
  return {std::move(subject), std::move(text), std::move(html)};
}

}  // namespace

bool IsLanguage(std::string_view language) { return language == "fr" || language == "en"; }

int64_t ParisOffsetMs(int64_t utc_ms) {
  const int64_t days = FloorDiv(utc_ms, kDayMs);
  const int64_t year = CivilFromDays(days).year;
  const int64_t summer_start = LastSundayDays(year, 3) * kDayMs + kHourMs;
  const int64_t summer_end = LastSundayDays(year, 10) * kDayMs + kHourMs;
  return utc_ms >= summer_start && utc_ms < summer_end ? 2 * kHourMs : kHourMs;
}

int64_t ParisDayStartMs(int64_t utc_ms) {
  const int64_t local_day = FloorDiv(utc_ms + ParisOffsetMs(utc_ms), kDayMs);
  // Midnight local: try the offset in force just before and just after (changes happen at
  // 02:00/03:00 local, never at midnight, so the offset at local midnight is the day's first).
  const int64_t guess = local_day * kDayMs - ParisOffsetMs(local_day * kDayMs - kHourMs);
  return guess;
}

int64_t ParisWeekStartMs(int64_t utc_ms) {
  const int64_t local_day = FloorDiv(utc_ms + ParisOffsetMs(utc_ms), kDayMs);
  const int64_t monday = local_day - Weekday(local_day);
  return monday * kDayMs - ParisOffsetMs(monday * kDayMs - kHourMs);
}

std::string FormatMoney(int64_t cents, std::string_view language) {
  const bool negative = cents < 0;
  const int64_t magnitude = negative ? -cents : cents;
  const int64_t whole = magnitude / 100;
  const int64_t fraction = magnitude % 100;
  if (language == "en") {
    return fmt::format("{}€{}.{:02d}", negative ? "-" : "", Grouped(whole, ',', ""), fraction);
  }
  // French: narrow no-break space between thousands, no-break space before the sign.
  return fmt::format("{}{},{:02d}\u00a0€", negative ? "-" : "", Grouped(whole, ' ', "\u202f"),
                     fraction);
}

std::string FormatDate(int64_t epoch_ms, std::string_view language, bool with_time) {
  static constexpr std::array<std::string_view, 12> kMonthsEn = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int64_t local = epoch_ms + ParisOffsetMs(epoch_ms);
  const int64_t days = FloorDiv(local, kDayMs);
  const Civil civil = CivilFromDays(days);
  const int64_t in_day = local - days * kDayMs;
  const int64_t hours = in_day / kHourMs;
  const int64_t minutes = (in_day % kHourMs) / 60000;
  std::string date = language == "en"
                         ? fmt::format("{} {} {}", civil.day,
                                       kMonthsEn[static_cast<size_t>(civil.month - 1)], civil.year)
                         : fmt::format("{:02d}/{:02d}/{}", civil.day, civil.month, civil.year);
  if (!with_time) return date;
  return language == "en" ? fmt::format("{}, {:02d}:{:02d}", date, hours, minutes)
                          : fmt::format("{} à {:02d}h{:02d}", date, hours, minutes);
}


void TemplateCatalog::Add(TemplateCode code) {
  GUICHET_ASSERT(Find(code.code) == nullptr);
  GUICHET_ASSERT(code.builtin.count("fr") == 1 && code.builtin.count("en") == 1);
  for (const auto& [language, text] : code.builtin) {
    GUICHET_ASSERT(CheckTemplate(text.subject, code, "subject").ok());
    GUICHET_ASSERT(CheckTemplate(text.text, code, "text").ok());
    GUICHET_ASSERT(CheckTemplate(text.html, code, "html").ok());
  }
  codes_.push_back(std::move(code));
}

const TemplateCode* TemplateCatalog::Find(std::string_view code) const {
  for (const TemplateCode& item : codes_) {
    if (item.code == code) return &item;
  }
  return nullptr;
}

Status CheckTemplate(std::string_view source, const TemplateCode& code, std::string_view part) {
  return Walk(
      source, [](std::string_view) {},
      [&](const Placeholder& placeholder) -> Status {
        const bool declared =
            std::any_of(code.variables.begin(), code.variables.end(),
                        [&](const VariableSpec& spec) { return spec.name == placeholder.name; });
        if (declared) return OkStatus();
        std::string known;
        for (const VariableSpec& spec : code.variables)
          known += (known.empty() ? "" : ", ") + spec.name;
        return Error{ErrorKind::kValidation,
                     "template_variable_unknown",
                     fmt::format("the {} names \"{}\", which {} does not provide (it provides: {})",
                                 part, placeholder.name, code.code, known),
                     {{std::string("/") + std::string(part),
                       fmt::format("unknown variable \"{}\"", placeholder.name)}}};
      });
}

Result<std::string> Render(std::string_view source, const boost::json::object& variables,
                           const RenderOptions& options) {
  std::string out;
  auto status = Walk(
      source, [&](std::string_view text) { out += text; },
      [&](const Placeholder& placeholder) -> Status {
        const boost::json::value* value = variables.if_contains(placeholder.name);
        std::string text;
        if (value == nullptr || value->is_null()) {
          text = "";
        } else if (value->is_array()) {
          // A list: one line per item, or an HTML list.
          if (options.html) text += "<ul>";
          for (const boost::json::value& item : value->as_array()) {
            if (options.html) {
              text += "<li>" + EscapeMarkup(ValueText(item)) + "</li>";
            } else {
              text += "- " + ValueText(item) + "\n";
            }
          }
          if (options.html) text += "</ul>";
          out += text;
          return OkStatus();
        } else if (placeholder.filter == "money" || placeholder.filter == "date" ||
                   placeholder.filter == "datetime" || placeholder.filter == "number") {
          const std::optional<int64_t> number = ValueInt(*value);
          if (!number) {
            return Error{ErrorKind::kValidation,
                         "template_variable_type",
                         fmt::format("\"{}\" must be a whole number for the {} filter",
                                     placeholder.name, placeholder.filter),
                         {}};
          }
          if (placeholder.filter == "money") {
            text = FormatMoney(*number, options.language);
          } else if (placeholder.filter == "number") {
            text = options.language == "en"
                       ? Grouped(*number < 0 ? -*number : *number, ',', "")
                       : Grouped(*number < 0 ? -*number : *number, ' ', "\u202f");
            if (*number < 0) text = "-" + text;
          } else {
            text = FormatDate(*number, options.language, placeholder.filter == "datetime");
          }
        } else {
          text = ValueText(*value);
          if (placeholder.filter == "upper") {
            std::transform(text.begin(), text.end(), text.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
          }
        }
        out += options.html ? EscapeMarkup(text) : text;
        if (static_cast<int64_t>(out.size()) > kRenderedBytesMax) {
          return Error{ErrorKind::kValidation,
                       "template_too_large",
                       "the rendered message is too large",
                       {}};
        }
        return OkStatus();
      });
  if (!status.ok()) return std::move(status).error();
  return out;
}

Result<TemplateText> RenderTemplate(const TemplateText& text, const boost::json::object& variables,
                                    std::string_view language) {
  RenderOptions plain{std::string(language), false};
  RenderOptions html{std::string(language), true};
  auto subject = Render(text.subject, variables, plain);
  if (!subject.ok()) return std::move(subject).error();
  auto body = Render(text.text, variables, plain);
  if (!body.ok()) return std::move(body).error();
  auto markup = Render(text.html, variables, html);
  if (!markup.ok()) return std::move(markup).error();
  // A subject is one line.
  std::replace(subject->begin(), subject->end(), '\n', ' ');
  std::replace(subject->begin(), subject->end(), '\r', ' ');
  return TemplateText{std::move(subject).value(), std::move(body).value(),
                      std::move(markup).value()};
}

boost::json::object SampleVariables(const TemplateCode& code) {
  boost::json::object sample;
  for (const VariableSpec& spec : code.variables) sample[spec.name] = spec.sample;
  return sample;
}

std::vector<storage::Migration> TemplateMigrations() {
  const std::string columns =
      ", organisation_id BIGINT NOT NULL REFERENCES organisations (id), code TEXT NOT NULL,"
      " language TEXT NOT NULL CHECK (language IN ('fr', 'en')), subject TEXT NOT NULL, text_body "
      "TEXT NOT NULL,"
      " html_body TEXT NOT NULL, updated_by BIGINT, updated_at BIGINT NOT NULL,"
      " UNIQUE (organisation_id, code, language));";
  return {{"platform.notify.content", 1, "templates per organisation, code and language",
           "CREATE TABLE notify_templates (id INTEGER PRIMARY KEY AUTOINCREMENT" + columns,
           "CREATE TABLE notify_templates (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" +
               columns}};
}

Result<StoredTemplate> EffectiveTemplate(storage::Transaction& tx, const TemplateCatalog& catalog,
                                         std::optional<int64_t> organisation_id,
                                         std::string_view code, std::string_view language) {
  const TemplateCode* declared = catalog.Find(code);
  if (declared == nullptr) {
    return Error::NotFound("template_code_unknown", fmt::format("no template code \"{}\"", code));
  }
  const std::string lang = IsLanguage(language) ? std::string(language) : std::string("fr");
  StoredTemplate result;
  result.code = std::string(code);
  result.language = lang;
  if (organisation_id) {
    auto organisation = orgs::Find(tx, *organisation_id);
    if (!organisation.ok()) return std::move(organisation).error();
    if (*organisation) {
      // Own first, then the nearest ancestor's: the deepest path that is a prefix of ours.
      auto row = tx.QueryOne(
          "SELECT t.organisation_id, t.subject, t.text_body, t.html_body, t.updated_at, o.path"
          " FROM notify_templates t JOIN organisations o ON o.id = t.organisation_id"
          " WHERE t.code = $1 AND t.language = $2 AND substr($3, 1, length(o.path)) = o.path"
          " ORDER BY length(o.path) DESC LIMIT 1",
          {std::string(code), lang, (*organisation)->path});
      if (!row.ok()) return std::move(row).error();
      if (*row) {
        result.organisation_id = (*row)->Int(0);
        result.source = result.organisation_id == *organisation_id ? "own" : "inherited";
        result.text = Text((*row)->Text(1), (*row)->Text(2), (*row)->Text(3));
        result.updated_at_ms = (*row)->Int(4);
        return result;
      }
    }
  }
  result.source = "builtin";
  result.text = declared->builtin.at(lang);
  return result;
}

Status SaveTemplate(storage::Transaction& tx, const TemplateCatalog& catalog,
                    int64_t organisation_id, std::string_view code, std::string_view language,
                    const TemplateText& text, int64_t actor_id, int64_t now_ms) {
  const TemplateCode* declared = catalog.Find(code);
  if (declared == nullptr) {
    return Error::NotFound("template_code_unknown", fmt::format("no template code \"{}\"", code));
  }
  if (!IsLanguage(language))
    return Error::NotFound("template_language_unknown", "languages are fr and en");
  for (const auto& [part, source] :
       {std::pair<std::string_view, const std::string*>{"subject", &text.subject},
        {"text", &text.text},
        {"html", &text.html}}) {
    auto checked = CheckTemplate(*source, *declared, part);
    if (!checked.ok()) return checked;
  }
  auto updated = tx.Execute(
      "UPDATE notify_templates SET subject = $4, text_body = $5, html_body = $6, updated_by = $7, "
      "updated_at = $8"
      " WHERE organisation_id = $1 AND code = $2 AND language = $3",
      {organisation_id, std::string(code), std::string(language), text.subject, text.text,
       text.html, actor_id, now_ms});
  if (!updated.ok()) return std::move(updated).error();
  if (*updated > 0) return OkStatus();
  auto inserted = tx.Execute(
      "INSERT INTO notify_templates (organisation_id, code, language, subject, text_body, "
      "html_body, updated_by,"
      " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {organisation_id, std::string(code), std::string(language), text.subject, text.text,
       text.html, actor_id, now_ms});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

Result<bool> DeleteTemplate(storage::Transaction& tx, int64_t organisation_id,
                            std::string_view code, std::string_view language) {
  auto deleted = tx.Execute(
      "DELETE FROM notify_templates WHERE organisation_id = $1 AND code = $2 AND language = $3",
      {organisation_id, std::string(code), std::string(language)});
  if (!deleted.ok()) return std::move(deleted).error();
  return *deleted > 0;
}

void AddPlatformTemplates(TemplateCatalog& catalog) {
  const boost::json::value sample_name = "Camille Martin";
  catalog.Add(
      {"identity.invitation",
       "Invitation of a staff member: the link to choose a password",
       "transactional",
       {{"display_name", "text", "the person's name", sample_name},
        {"token", "text", "the one-time invitation token", "k2Jx9…"},
        {"valid_days", "number", "days the link stays valid", 7}},
       {{"fr", Text("Votre accès à Guichet",
                    "Bonjour {{ display_name }},\n\nUn compte Guichet a été créé pour vous. "
                    "Choisissez votre "
                    "mot de passe avec ce code, valable {{ valid_days }} jours : {{ token }}\n",
                    "<p>Bonjour {{ display_name }},</p><p>Un compte Guichet a été créé pour vous. "
                    "Choisissez "
                    "votre mot de passe avec ce code, valable {{ valid_days }} jours "
                    ":</p><p><code>{{ token "
                    "}}</code></p>")},
        {"en", Text("Your access to Guichet",
                    "Hello {{ display_name }},\n\nA Guichet account was created for you. Choose "
                    "your password "
                    "with this code, valid {{ valid_days }} days: {{ token }}\n",
                    "<p>Hello {{ display_name }},</p><p>A Guichet account was created for you. "
                    "Choose your "
                    "password with this code, valid {{ valid_days }} days:</p><p><code>{{ token "
                    "}}</code></p>")}}});
  catalog.Add(
      {"identity.password_reset",
       "Password reset: the one-time code",
       "transactional",
       {{"display_name", "text", "the person's name", sample_name},
        {"token", "text", "the one-time reset token", "Qp3…"},
        {"valid_minutes", "number", "minutes the code stays valid", 30}},
       {{"fr",
         Text("Réinitialisation de votre mot de passe",
              "Bonjour {{ display_name }},\n\nVoici votre code de réinitialisation, valable {{ "
              "valid_minutes }} minutes : {{ token }}\nSi vous n'avez rien demandé, ignorez ce "
              "message.\n",
              "<p>Bonjour {{ display_name }},</p><p>Voici votre code de réinitialisation, valable "
              "{{ "
              "valid_minutes }} minutes :</p><p><code>{{ token }}</code></p><p>Si vous n'avez rien "
              "demandé, ignorez ce message.</p>")},
        {"en",
         Text(
             "Resetting your password",
             "Hello {{ display_name }},\n\nHere is your reset code, valid {{ valid_minutes }} "
             "minutes: {{ "
             "token }}\nIf you did not ask for it, ignore this message.\n",
             "<p>Hello {{ display_name }},</p><p>Here is your reset code, valid {{ valid_minutes "
             "}} "
             "minutes:</p><p><code>{{ token }}</code></p><p>If you did not ask for it, ignore this "
             "message.</p>")}}});
  catalog.Add(
      {"wallet.movement",
       "A movement on the holder's wallet (mandatory alert, W9)",
       "alerts",
       {{"display_name", "text", "the holder's name", sample_name},
        {"amount_cents", "money", "the amount moved, in cents (negative: a debit)", -1250},
        {"balance_cents", "money", "the balance after the movement, in cents", 3475},
        {"label", "text", "what the movement was", "Restaurant universitaire"},
        {"at", "datetime", "when it happened (epoch ms)", int64_t{1795000000000}}},
       {{"fr",
         Text(
             "Mouvement sur votre porte-monnaie : {{ amount_cents | money }}",
             "Bonjour {{ display_name }},\n\n{{ label }} : {{ amount_cents | money }} le {{ at | "
             "datetime "
             "}}.\nSolde : {{ balance_cents | money }}.\n",
             "<p>Bonjour {{ display_name }},</p><p>{{ label }} : <strong>{{ amount_cents | money "
             "}}</strong> le {{ at | datetime }}.</p><p>Solde : {{ balance_cents | money }}.</p>")},
        {"en",
         Text("Movement on your wallet: {{ amount_cents | money }}",
              "Hello {{ display_name }},\n\n{{ label }}: {{ amount_cents | money }} on {{ at | "
              "datetime "
              "}}.\nBalance: {{ balance_cents | money }}.\n",
              "<p>Hello {{ display_name }},</p><p>{{ label }}: <strong>{{ amount_cents | money "
              "}}</strong> on {{ at | datetime }}.</p><p>Balance: {{ balance_cents | money "
              "}}.</p>")}}});
  catalog.Add(
      {std::string(kDigestTemplate),
       "The digest of alerts kept for a daily or weekly summary",
       "alerts",
       {{"display_name", "text", "the person's name", sample_name},
        {"period", "text", "daily or weekly", "weekly"},
        {"from", "date", "first day covered (epoch ms)", int64_t{1794614400000}},
        {"to", "date", "last day covered (epoch ms)", int64_t{1795132800000}},
        {"count", "number", "number of alerts", 2},
        {"items", "lines", "one line per alert",
         boost::json::array{"Restaurant universitaire : -12,50 €", "Rechargement : 20,00 €"}}},
       {{"fr",
         Text(
             "Votre récapitulatif : {{ count }} mouvement(s) du {{ from | date }} au {{ to | date "
             "}}",
             "Bonjour {{ display_name }},\n\nDu {{ from | date }} au {{ to | date }} :\n{{ items "
             "}}",
             "<p>Bonjour {{ display_name }},</p><p>Du {{ from | date }} au {{ to | date }} :</p>{{ "
             "items }}")},
        {"en",
         Text(
             "Your summary: {{ count }} movement(s) from {{ from | date }} to {{ to | date }}",
             "Hello {{ display_name }},\n\nFrom {{ from | date }} to {{ to | date }}:\n{{ items }}",
             "<p>Hello {{ display_name }},</p><p>From {{ from | date }} to {{ to | date }}:</p>{{ "
             "items "
             "}}")}}});
  catalog.Add(
      {"wallet.low_balance",
       "The balance went under the threshold the holder chose (optional)",
       "low_balance",
       {{"display_name", "text", "the holder's name", sample_name},
        {"balance_cents", "money", "the balance, in cents", 350},
        {"threshold_cents", "money", "the threshold chosen, in cents", 500}},
       {{"fr",
         Text("Solde bas : {{ balance_cents | money }}",
              "Bonjour {{ display_name }},\n\nVotre solde ({{ balance_cents | money }}) est passé "
              "sous "
              "{{ threshold_cents | money }}.\n",
              "<p>Bonjour {{ display_name }},</p><p>Votre solde (<strong>{{ balance_cents | money "
              "}}</strong>) est passé sous {{ threshold_cents | money }}.</p>")},
        {"en",
         Text("Low balance: {{ balance_cents | money }}",
              "Hello {{ display_name }},\n\nYour balance ({{ balance_cents | money }}) went under "
              "{{ "
              "threshold_cents | money }}.\n",
              "<p>Hello {{ display_name }},</p><p>Your balance (<strong>{{ balance_cents | money "
              "}}</strong>) went under {{ threshold_cents | money }}.</p>")}}});
  catalog.Add(
      {"wallet.activation",
       "Activation of a wallet: the link or code to start using it",
       "transactional",
       {{"display_name", "text", "the holder's name", sample_name},
        {"activation_url", "url", "where to activate", "https://guichet.example/activer?c=K7P2"},
        {"code", "text", "the activation code (also shown as a QR code)", "K7P2-9QXD"}},
       {{"fr",
         Text("Activez votre porte-monnaie",
              "Bonjour {{ display_name }},\n\nActivez votre porte-monnaie : {{ activation_url "
              "}}\nCode : "
              "{{ code }}\n",
              "<p>Bonjour {{ display_name }},</p><p><a href=\"{{ activation_url }}\">Activez votre "
              "porte-monnaie</a>.</p><p>Code : <strong>{{ code }}</strong></p><p><img "
              "src=\"cid:qr\" "
              "alt=\"{{ code }}\"></p>")},
        {"en",
         Text("Activate your wallet",
              "Hello {{ display_name }},\n\nActivate your wallet: {{ activation_url }}\nCode: {{ "
              "code }}\n",
              "<p>Hello {{ display_name }},</p><p><a href=\"{{ activation_url }}\">Activate your "
              "wallet</a>.</p><p>Code: <strong>{{ code }}</strong></p><p><img src=\"cid:qr\" "
              "alt=\"{{ "
              "code }}\"></p>")}}});
  catalog.Add(
      {"notify.campaign",
       "A free-form message of a campaign (subject and body written by staff)",
       "campaign",
       {{"display_name", "text", "the person's name", sample_name},
        {"title", "text", "the campaign's title", "Fermeture exceptionnelle"},
        {"body", "text", "the campaign's message", "Le guichet sera fermé le 24 décembre."}},
       {{"fr", Text("{{ title }}", "Bonjour {{ display_name }},\n\n{{ body }}\n",
                    "<p>Bonjour {{ display_name }},</p><p>{{ body }}</p>")},
        {"en", Text("{{ title }}", "Hello {{ display_name }},\n\n{{ body }}\n",
                    "<p>Hello {{ display_name }},</p><p>{{ body }}</p>")}}});
}

}  // namespace guichet::notify
