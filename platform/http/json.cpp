#include "platform/http/json.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

namespace guichet::http {
namespace {

bool IsJsonContentType(std::string_view value) {
  const std::string_view media = value.substr(0, value.find(';'));
  std::string lowered;
  for (char c : media) {
    if (c != ' ' && c != '\t') lowered.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return lowered == "application/json";
}

}  // namespace

int64_t Utf8Length(std::string_view text) {
  int64_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;  // continuation bytes do not start a character
  }
  return count;
}

Result<boost::json::value> ParseJsonBody(const Request& request) {
  const auto content_type = request[beast::http::field::content_type];
  if (!IsJsonContentType(content_type)) {
    return Error{ErrorKind::kUnsupportedMediaType, "unsupported_media_type",
                 content_type.empty()
                     ? "This endpoint takes a JSON body: send Content-Type: application/json."
                     : fmt::format("This endpoint takes application/json, not {}.",
                                   std::string_view(content_type.data(), content_type.size())),
                 {}};
  }
  boost::json::parse_options options;
  options.max_depth = kJsonDepthMax;
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(request.body(), ec, {}, options);
  if (ec) {
    return Error::Invalid("malformed_json",
                          fmt::format("The body is not valid JSON: {}.", ec.message()));
  }
  return value;
}

Result<boost::json::object> ParseJsonObjectBody(const Request& request) {
  auto value = ParseJsonBody(request);
  if (!value.ok()) return std::move(value).error();
  if (!value->is_object()) {
    return Error{ErrorKind::kValidation, "validation_failed", "The body must be a JSON object.",
                 {{"", "must be an object"}}};
  }
  return std::move(value->as_object());
}

JsonReader::JsonReader(const boost::json::object& object, std::string pointer)
    : object_(object), pointer_(std::move(pointer)) {}

std::string JsonReader::PointerTo(std::string_view name) const {
  std::string escaped;  // RFC 6901: ~ becomes ~0 and / becomes ~1
  for (char c : name) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped.push_back(c);
    }
  }
  return pointer_ + "/" + escaped;
}

const boost::json::value* JsonReader::Find(std::string_view name) {
  seen_.emplace(name);
  const boost::json::value* value = object_.if_contains(name);
  if (value != nullptr && value->is_null()) {
    // An explicit null is refused rather than read as absent: a client that sends null
    // believes it means something, and silently ignoring it would hide the mistake.
    Fail(name, "must not be null (leave the field out instead)");
    return nullptr;
  }
  return value;
}

bool JsonReader::Present(std::string_view name) const { return object_.if_contains(name) != nullptr; }

void JsonReader::Fail(std::string_view name, std::string message) {
  errors_.push_back({PointerTo(name), std::move(message)});
}

bool JsonReader::CheckText(const std::string& pointer, const boost::json::value& value,
                           TextRule rule, std::string* out) {
  if (!value.is_string()) {
    errors_.push_back({pointer, "must be a string"});
    return false;
  }
  const auto& text = value.get_string();
  const int64_t length = Utf8Length(text);
  if (length < rule.length_min || length > rule.length_max) {
    errors_.push_back({pointer, fmt::format("must have {} to {} characters (has {})", rule.length_min,
                           rule.length_max, length)});
    return false;
  }
  *out = std::string(text);
  return true;
}

std::string JsonReader::RequiredString(std::string_view name, TextRule rule) {
  const boost::json::value* value = Find(name);
  std::string text;
  if (value == nullptr) {
    if (!Present(name)) Fail(name, "is required");
  } else {
    CheckText(PointerTo(name), *value, rule, &text);
  }
  return text;
}

std::optional<std::string> JsonReader::OptionalString(std::string_view name, TextRule rule) {
  const boost::json::value* value = Find(name);
  if (value == nullptr) return std::nullopt;
  std::string text;
  if (!CheckText(PointerTo(name), *value, rule, &text)) return std::nullopt;
  return text;
}

std::optional<int64_t> JsonReader::OptionalInteger(std::string_view name, int64_t min,
                                                   int64_t max) {
  const boost::json::value* value = Find(name);
  if (value == nullptr) return std::nullopt;
  if (value->is_double() || value->is_uint64()) {
    Fail(name, value->is_double() ? "must be a whole number"
                                  : fmt::format("must be between {} and {}", min, max));
    return std::nullopt;
  }
  if (!value->is_int64()) {
    Fail(name, "must be an integer");
    return std::nullopt;
  }
  const int64_t number = value->get_int64();
  if (number < min || number > max) {
    Fail(name, fmt::format("must be between {} and {}", min, max));
    return std::nullopt;
  }
  return number;
}

int64_t JsonReader::RequiredInteger(std::string_view name, int64_t min, int64_t max) {
  if (!Present(name)) {
    seen_.emplace(name);
    Fail(name, "is required");
    return min;
  }
  return OptionalInteger(name, min, max).value_or(min);
}

std::optional<bool> JsonReader::OptionalBool(std::string_view name) {
  const boost::json::value* value = Find(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_bool()) {
    Fail(name, "must be true or false");
    return std::nullopt;
  }
  return value->get_bool();
}

std::vector<std::string> JsonReader::OptionalStringArray(std::string_view name, int64_t items_max,
                                                         TextRule rule) {
  std::vector<std::string> items;
  const boost::json::value* value = Find(name);
  if (value == nullptr) return items;
  if (!value->is_array()) {
    Fail(name, "must be an array of strings");
    return items;
  }
  const auto& array = value->get_array();
  if (static_cast<int64_t>(array.size()) > items_max) {
    Fail(name, fmt::format("must have at most {} items (has {})", items_max, array.size()));
    return items;
  }
  for (size_t i = 0; i < array.size(); ++i) {
    std::string text;
    if (CheckText(fmt::format("{}/{}", PointerTo(name), i), array[i], rule, &text)) items.push_back(text);
  }
  return items;
}

Status JsonReader::Finish() {
  for (const auto& [key, value] : object_) {
    if (seen_.find(std::string_view(key)) == seen_.end()) Fail(key, "is not a known field");
  }
  if (errors_.empty()) return OkStatus();
  const std::string summary =
      errors_.size() == 1 ? fmt::format("{} {}.", errors_[0].pointer, errors_[0].message)
                          : fmt::format("{} fields are invalid; see errors.", errors_.size());
  return Error{ErrorKind::kValidation, "validation_failed", summary, errors_};
}

}  // namespace guichet::http
