// Message templates (issue 4, C5): what each message says, per organisation, code and language.
//
// A template code ("wallet.movement") is declared once by the piece that sends it, with the
// variables it may use and a built-in text in French and English. An organisation may save
// its own version of a code and language; its children inherit it and may override it in
// turn. The effective template of an organisation is its own, else its nearest ancestor's,
// else the built-in one.
//
// Syntax: `{{ name }}` or `{{ name | filter }}`. Filters: money (cents → "12,50 €" / "€12.50"),
// date and datetime (epoch milliseconds, shown in Europe/Paris), number, upper. In an HTML
// part every value is HTML-escaped. Only declared variables may appear: saving a template
// that names another is refused with the variable and the part named.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/base/result.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::notify {

inline constexpr int64_t kSubjectLengthMax = 200;  // characters
inline constexpr int64_t kTemplatePartBytesMax = 64 * 1024;
inline constexpr int64_t kTemplateCodeLengthMax = 60;
inline constexpr int64_t kRenderedBytesMax = 256 * 1024;  // one rendered part
inline constexpr std::string_view kDigestTemplate = "notify.digest";

// The languages a person may read messages in.
bool IsLanguage(std::string_view language);

struct VariableSpec {
  std::string name;  // [a-z0-9_]
  std::string kind;  // text, money, date, datetime, number, url, lines
  std::string description;
  boost::json::value sample;  // used by previews
};

struct TemplateText {
  std::string subject;
  std::string text;
  std::string html;
};

struct TemplateCode {
  std::string code;  // "wallet.movement"
  std::string description;
  std::string purpose;  // the purpose its messages are sent for: transactional, alerts…
  std::vector<VariableSpec> variables;
  std::map<std::string, TemplateText, std::less<>> builtin;  // per language: fr, en
};

// Codes declared before serving (read-only afterwards).
class TemplateCatalog {
 public:
  // Asserts the code is new and has a built-in text in every language.
  void Add(TemplateCode code);
  const TemplateCode* Find(std::string_view code) const;
  const std::vector<TemplateCode>& codes() const { return codes_; }

 private:
  std::vector<TemplateCode> codes_;
};

// The platform's own codes: identity invitation and password reset, wallet movement alerts,
// digests, low balance, activation.
void AddPlatformTemplates(TemplateCatalog& catalog);

// Rendering.
struct RenderOptions {
  std::string language = "fr";
  bool html = false;
};
// Checks syntax and that every variable is declared; the error names the variable.
Status CheckTemplate(std::string_view source, const TemplateCode& code, std::string_view part);
Result<std::string> Render(std::string_view source, const boost::json::object& variables,
                           const RenderOptions& options);
// Filters, public for tests and digests.
std::string FormatMoney(int64_t cents, std::string_view language);
std::string FormatDate(int64_t epoch_ms, std::string_view language, bool with_time);

// Europe/Paris: the offset from UTC at an instant (EU rule: CEST from the last Sunday of March
// 01:00 UTC to the last Sunday of October 01:00 UTC).
int64_t ParisOffsetMs(int64_t utc_ms);
// Start of the Paris calendar day / ISO week (Monday) that holds `utc_ms`, in UTC ms.
int64_t ParisDayStartMs(int64_t utc_ms);
int64_t ParisWeekStartMs(int64_t utc_ms);

// Stored templates.
struct StoredTemplate {
  std::string code;
  std::string language;
  std::string source;  // builtin, inherited, own
  std::optional<int64_t> organisation_id;
  TemplateText text;
  std::optional<int64_t> updated_at_ms;
};

std::vector<storage::Migration> TemplateMigrations();

// The effective template for an organisation (nullopt: the platform's only).
Result<StoredTemplate> EffectiveTemplate(storage::Transaction& tx, const TemplateCatalog& catalog,
                                         std::optional<int64_t> organisation_id,
                                         std::string_view code, std::string_view language);
Status SaveTemplate(storage::Transaction& tx, const TemplateCatalog& catalog,
                    int64_t organisation_id, std::string_view code, std::string_view language,
                    const TemplateText& text, int64_t actor_id, int64_t now_ms);
// False when the organisation had none of its own.
Result<bool> DeleteTemplate(storage::Transaction& tx, int64_t organisation_id,
                            std::string_view code, std::string_view language);

// The rendered message.
Result<TemplateText> RenderTemplate(const TemplateText& text, const boost::json::object& variables,
                                    std::string_view language);
boost::json::object SampleVariables(const TemplateCode& code);

}  // namespace guichet::notify
