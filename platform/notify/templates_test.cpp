#include "platform/notify/templates.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace guichet::notify {
namespace {

using boost::json::object;

const TemplateCode& Code(const TemplateCatalog& catalog, std::string_view code) {
  const TemplateCode* found = catalog.Find(code);
  GUICHET_ASSERT(found != nullptr);
  return *found;
}

// 2026-11-24 12:30 UTC is 13:30 in Paris (winter); 2026-07-14 10:00 UTC is 12:00 (summer).
constexpr int64_t kWinterMs = 1795523400000;
constexpr int64_t kSummerMs = 1784023200000;

TEST(TemplatesRender, SubstitutesAndEscapesInHtmlOnly) {
  const object variables = {{"name", "Zoé <script>alert('x')</script> & co"}};
  auto text = Render("Bonjour {{ name }} !", variables, {"fr", false});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "Bonjour Zoé <script>alert('x')</script> & co !");
  auto html = Render("<p>{{name}}</p>", variables, {"fr", true});
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(*html, "<p>Zoé &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co</p>");
}

TEST(TemplatesRender, MoneyInTheReadersLocale) {
  EXPECT_EQ(FormatMoney(1250, "fr"), "12,50\u00a0€");
  EXPECT_EQ(FormatMoney(1250, "en"), "€12.50");
  EXPECT_EQ(FormatMoney(-123456789, "fr"), "-1\u202f234\u202f567,89\u00a0€");
  EXPECT_EQ(FormatMoney(-123456789, "en"), "-€1,234,567.89");
  EXPECT_EQ(FormatMoney(5, "en"), "€0.05");
  auto rendered = Render("{{ amount | money }}", {{"amount", 1250}}, {"en", true});
  ASSERT_TRUE(rendered.ok());
  EXPECT_EQ(*rendered, "€12.50");
}

TEST(TemplatesRender, DatesInParisTime) {
  EXPECT_EQ(FormatDate(kWinterMs, "fr", true), "24/11/2026 à 13h30");
  EXPECT_EQ(FormatDate(kWinterMs, "en", false), "24 Nov 2026");
  EXPECT_EQ(FormatDate(kSummerMs, "fr", true), "14/07/2026 à 12h00");
  EXPECT_EQ(FormatDate(kSummerMs, "en", true), "14 Jul 2026, 12:00");
}

TEST(TemplatesRender, ListsAreLinesOrHtmlLists) {
  const object variables = {{"items", boost::json::array{"a < b", "c"}}};
  EXPECT_EQ(*Render("{{ items }}", variables, {"fr", false}), "- a < b\n- c\n");
  EXPECT_EQ(*Render("{{ items }}", variables, {"fr", true}), "<ul><li>a &lt; b</li><li>c</li></ul>");
}

TEST(TemplatesRender, MissingVariableIsEmptyAndFiltersCheckTypes) {
  EXPECT_EQ(*Render("[{{ absent }}]", {}, {"fr", false}), "[]");
  auto wrong = Render("{{ amount | money }}", {{"amount", "douze"}}, {"fr", false});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "template_variable_type");
}

TEST(TemplatesCheck, UnknownVariableNamedWithItsPart) {
  TemplateCatalog catalog;
  AddPlatformTemplates(catalog);
  const TemplateCode& movement = Code(catalog, "wallet.movement");
  EXPECT_TRUE(CheckTemplate("{{ label }}: {{ amount_cents | money }}", movement, "text").ok());
  auto unknown = CheckTemplate("Hello {{ first_name }}", movement, "html");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "template_variable_unknown");
  EXPECT_NE(unknown.error().message.find("first_name"), std::string::npos);
  EXPECT_NE(unknown.error().message.find("html"), std::string::npos);
  ASSERT_EQ(unknown.error().fields.size(), 1u);
  EXPECT_EQ(unknown.error().fields[0].pointer, "/html");
}

TEST(TemplatesCheck, SyntaxErrors) {
  TemplateCatalog catalog;
  AddPlatformTemplates(catalog);
  const TemplateCode& movement = Code(catalog, "wallet.movement");
  EXPECT_EQ(CheckTemplate("Hello {{ label", movement, "text").error().code, "template_syntax");
  EXPECT_EQ(CheckTemplate("{{ label | shout }}", movement, "text").error().code, "template_syntax");
  EXPECT_EQ(CheckTemplate("{{ Label-X }}", movement, "text").error().code, "template_syntax");
}

TEST(TemplatesCatalog, EveryBuiltinRendersWithItsSamplesInBothLanguages) {
  TemplateCatalog catalog;
  AddPlatformTemplates(catalog);
  for (const std::string_view code : {"identity.invitation", "identity.password_reset", "wallet.movement",
                                      "notify.digest", "wallet.low_balance", "wallet.activation"}) {
    const TemplateCode& declared = Code(catalog, code);
    for (const auto& [language, text] : declared.builtin) {
      auto rendered = RenderTemplate(text, SampleVariables(declared), language);
      ASSERT_TRUE(rendered.ok()) << code << " " << language << ": " << rendered.error().message;
      EXPECT_FALSE(rendered->subject.empty());
      EXPECT_EQ(rendered->text.find("{{"), std::string::npos);
    }
  }
  auto fr = RenderTemplate(Code(catalog, "wallet.movement").builtin.at("fr"),
                           SampleVariables(Code(catalog, "wallet.movement")), "fr");
  EXPECT_NE(fr->subject.find("-12,50\u00a0€"), std::string::npos);
  auto en = RenderTemplate(Code(catalog, "wallet.movement").builtin.at("en"),
                           SampleVariables(Code(catalog, "wallet.movement")), "en");
  EXPECT_NE(en->subject.find("-€12.50"), std::string::npos);
}

TEST(TemplatesParis, DayAndWeekBoundaries) {
  constexpr int64_t kHour = 3600000;
  // 2026-11-24 (Tuesday) 13:30 Paris: the day starts at 23:00 UTC the day before; the week
  // on Monday 2026-11-23 00:00 Paris = 2026-11-22 23:00 UTC.
  EXPECT_EQ(ParisDayStartMs(kWinterMs), kWinterMs - 13 * kHour - 30 * 60000);
  EXPECT_EQ(ParisWeekStartMs(kWinterMs), kWinterMs - 13 * kHour - 30 * 60000 - 24 * kHour);
  // Summer: 2026-07-14 (Tuesday) 12:00 Paris: the day starts at 22:00 UTC.
  EXPECT_EQ(ParisDayStartMs(kSummerMs), kSummerMs - 12 * kHour);
  // Across the change to summer time (Sunday 2026-03-29): the offset is +1 before 01:00 UTC.
  constexpr int64_t kChange = 1774746000000;  // 2026-03-29 01:00 UTC
  EXPECT_EQ(ParisOffsetMs(kChange - 1), kHour);
  EXPECT_EQ(ParisOffsetMs(kChange), 2 * kHour);
  // The day of the change starts at 23:00 UTC on Saturday; the next one at 22:00 UTC on Sunday.
  EXPECT_EQ(ParisDayStartMs(kChange), kChange - 2 * kHour);
  EXPECT_EQ(ParisDayStartMs(kChange + 22 * kHour), kChange + 21 * kHour);
}

}  // namespace
}  // namespace guichet::notify
