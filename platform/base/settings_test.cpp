#include "platform/base/settings.h"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace guichet {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Settings, DefaultsAreDocumentedForEveryOption) {
  const auto options = DescribeSettings();
  ASSERT_GT(options.size(), 10u);
  for (const auto& option : options) {
    EXPECT_FALSE(option.doc.empty()) << option.name;
    EXPECT_FALSE(option.range_text.empty()) << option.name;
  }
}

TEST(Settings, EnvironmentOverridesFileAndClampsOutOfRange) {
  const std::string path = testing::TempDir() + "/guichet_settings_test.conf";
  {
    std::ofstream out(path);
    out << "# comment\nhttp_port = 9000\nlog_format = json\nhttp_threads = 3\n";
  }
  std::vector<std::string> warnings;
  auto settings = LoadSettings(
      {path, FakeEnv({{"GUICHET_HTTP_PORT", "9100"}, {"GUICHET_HTTP_BODY_BYTES_MAX", "5"}}), {}},
      &warnings);
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->http_port, 9100);
  EXPECT_EQ(settings->http_threads, 3);
  EXPECT_EQ(settings->log_format, "json");
  EXPECT_EQ(settings->http_body_bytes_max, 1024);  // clamped up to the minimum
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("http_body_bytes_max"), std::string::npos);
  std::remove(path.c_str());
}

TEST(Settings, RefusesUnknownKeysBadNumbersAndBadChoices) {
  std::vector<std::string> warnings;
  EXPECT_FALSE(LoadSettings({{}, FakeEnv({{"GUICHET_HTTP_PORT", "80x"}}), {}}, &warnings).ok());
  EXPECT_FALSE(LoadSettings({{}, FakeEnv({{"GUICHET_LOG_FORMAT", "xml"}}), {}}, &warnings).ok());
  EXPECT_FALSE(LoadSettings({{}, FakeEnv({{"GUICHET_DIAGNOSTICS", "maybe"}}), {}}, &warnings).ok());
  EXPECT_FALSE(LoadSettings({{}, {}, {{"no_such_option", "1"}}}, &warnings).ok());
  EXPECT_FALSE(LoadSettings({"/nonexistent/guichet.conf", {}, {}}, &warnings).ok());
}

TEST(Settings, CommandLineOverridesWin) {
  std::vector<std::string> warnings;
  auto settings = LoadSettings(
      {{}, FakeEnv({{"GUICHET_DB", "sqlite:a.db"}}), {{"db", "sqlite:b.db"}}}, &warnings);
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->db, "sqlite:b.db");
}

}  // namespace
}  // namespace guichet
