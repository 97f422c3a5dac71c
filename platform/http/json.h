// Strict JSON input: the body must be declared application/json, parse without extensions
// (no comments, no trailing commas, bounded depth), and every field is checked by a
// JsonReader that collects all problems at once and refuses unknown fields.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "platform/base/result.h"
#include "platform/http/types.h"

namespace guichet::http {

inline constexpr int kJsonDepthMax = 32;

Result<boost::json::value> ParseJsonBody(const Request& request);
Result<boost::json::object> ParseJsonObjectBody(const Request& request);

struct TextRule {
  int64_t length_min = 0;     // in characters (Unicode code points), not bytes
  int64_t length_max = 1000;
};

class JsonReader {
 public:
  explicit JsonReader(const boost::json::object& object, std::string pointer = "");

  std::string RequiredString(std::string_view name, TextRule rule);
  std::optional<std::string> OptionalString(std::string_view name, TextRule rule);
  int64_t RequiredInteger(std::string_view name, int64_t min, int64_t max);
  std::optional<int64_t> OptionalInteger(std::string_view name, int64_t min, int64_t max);
  std::optional<bool> OptionalBool(std::string_view name);
  std::vector<std::string> OptionalStringArray(std::string_view name, int64_t items_max,
                                               TextRule rule);

  // Adds a problem found by the caller (a rule across fields).
  void Fail(std::string_view name, std::string message);

  // validation_failed with every problem found, unknown fields included; OK when none.
  Status Finish();

 private:
  const boost::json::value* Find(std::string_view name);
  bool Present(std::string_view name) const;
  std::string PointerTo(std::string_view name) const;
  bool CheckText(const std::string& pointer, const boost::json::value& value, TextRule rule,
                 std::string* out);

  const boost::json::object& object_;
  std::string pointer_;
  std::set<std::string, std::less<>> seen_;
  std::vector<FieldError> errors_;
};

// Number of Unicode code points in valid UTF-8 text.
int64_t Utf8Length(std::string_view text);

}  // namespace guichet::http
