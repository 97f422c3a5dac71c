#include "platform/base/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>

#include "platform/base/clock.h"

namespace guichet::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_json{false};
std::mutex g_output;

constexpr std::string_view kLevelNames[] = {"trace", "debug", "info", "warn", "error"};

void AppendJsonString(std::string& out, std::string_view text) {
  out += boost::json::serialize(boost::json::string(text));
}

void AppendValue(std::string& out, const FieldValue& value, bool json) {
  if (auto* text = std::get_if<std::string_view>(&value)) {
    if (json) {
      AppendJsonString(out, *text);
    } else if (text->find_first_of(" \"=") != std::string_view::npos || text->empty()) {
      AppendJsonString(out, *text);  // quoted so the line stays parseable
    } else {
      out += *text;
    }
  } else if (auto* number = std::get_if<int64_t>(&value)) {
    out += std::to_string(*number);
  } else if (auto* real = std::get_if<double>(&value)) {
    out += fmt::format("{:.6g}", *real);
  } else {
    out += std::get<bool>(value) ? "true" : "false";
  }
}

}  // namespace

void Init(std::string_view level, std::string_view format) {
  for (size_t i = 0; i < std::size(kLevelNames); ++i) {
    if (kLevelNames[i] == level) g_level = static_cast<int>(i);
  }
  g_json = format == "json";
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  const bool json = g_json.load();
  const std::string time = FormatIso8601(SystemClock().NowMs());
  const std::string_view level_name = kLevelNames[static_cast<int>(level)];
  std::string line;
  line.reserve(256);
  if (json) {
    line += "{\"time\":\"" + time + "\",\"level\":\"" + std::string(level_name) + "\",\"msg\":";
    AppendJsonString(line, message);
    for (const auto& [key, value] : fields) {
      line += ",\"" + std::string(key) + "\":";
      AppendValue(line, value, true);
    }
    line += "}\n";
  } else {
    line += fmt::format("{} {:5} {}", time, level_name, message);
    for (const auto& [key, value] : fields) {
      line += " " + std::string(key) + "=";
      AppendValue(line, value, false);
    }
    line += "\n";
  }
  std::lock_guard lock(g_output);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace guichet::log
