// Structured logs on stderr: one line per event, `key=value` for people or JSON for
// collectors (log_format). Fields are given explicitly so every line can be parsed.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace guichet::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError };

using FieldValue = std::variant<std::string_view, int64_t, double, bool>;
using Field = std::pair<std::string_view, FieldValue>;

// level: trace|debug|info|warn|error; format: text|json.
void Init(std::string_view level, std::string_view format);
bool Enabled(Level level);
void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void Info(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, message, fields);
}
inline void Warn(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarn, message, fields);
}
inline void Error(std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, message, fields);
}

}  // namespace guichet::log
