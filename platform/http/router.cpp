#include "platform/http/router.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "platform/base/assert.h"

namespace guichet::http {
namespace {

bool IsParameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string MethodName(Verb method) {
  std::string name(beast::http::to_string(method));
  std::transform(name.begin(), name.end(), name.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

boost::json::object ProblemContent() {
  return {{"application/problem+json",
           {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}};
}

boost::json::object Operation(const Route& route) {
  boost::json::object operation;
  operation["operationId"] = route.operation_id;
  operation["summary"] = route.doc.summary;
  if (!route.doc.description.empty()) operation["description"] = route.doc.description;
  operation["tags"] = boost::json::array{route.doc.tag.empty() ? "system" : route.doc.tag};
  if (!route.right.empty()) operation["x-guichet-right"] = route.right;
  boost::json::array parameters;
  for (std::string_view segment : SplitPath(route.path)) {
    if (!IsParameter(segment)) continue;
    parameters.push_back({{"name", segment.substr(1, segment.size() - 2)},
                          {"in", "path"},
                          {"required", true},
                          {"schema", {{"type", "string"}}}});
  }
  if (!parameters.empty()) operation["parameters"] = std::move(parameters);
  if (!route.doc.request_schema.is_null()) {
    operation["requestBody"] = {
        {"required", true},
        {"content", {{"application/json", {{"schema", route.doc.request_schema}}}}}};
  }
  boost::json::object responses;
  boost::json::object success{{"description", route.doc.success_description}};
  if (!route.doc.response_schema.is_null()) {
    success["content"] = {{route.doc.success_media_type, {{"schema", route.doc.response_schema}}}};
  }
  responses[std::to_string(route.doc.success_status)] = std::move(success);
  for (const auto& [status, description] : route.doc.errors) {
    responses[std::to_string(status)] = {{"description", description}, {"content", ProblemContent()}};
  }
  responses["default"] = {{"description", "Any other problem"}, {"content", ProblemContent()}};
  operation["responses"] = std::move(responses);
  return operation;
}

boost::json::object ProblemSchema() {
  return {{"type", "object"},
          {"required", {"type", "title", "status", "code", "request_id"}},
          {"properties",
           {{"type", {{"type", "string"}}},
            {"title", {{"type", "string"}}},
            {"status", {{"type", "integer"}}},
            {"detail", {{"type", "string"}}},
            {"code", {{"type", "string"}, {"description", "stable machine-readable code"}}},
            {"instance", {{"type", "string"}}},
            {"request_id", {{"type", "string"}}},
            {"errors",
             {{"type", "array"},
              {"items",
               {{"type", "object"},
                {"properties",
                 {{"pointer", {{"type", "string"}}}, {"message", {{"type", "string"}}}}}}}}}}}};
}

}  // namespace

std::vector<std::string_view> SplitPath(std::string_view path) {
  GUICHET_ASSERT(!path.empty() && path.front() == '/');
  std::vector<std::string_view> segments;
  size_t start = 1;
  for (;;) {
    const size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash == std::string_view::npos ? path.npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

std::optional<std::string> DecodeSegment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out.push_back(segment[i]);
      continue;
    }
    if (i + 2 >= segment.size()) return std::nullopt;  // a truncated escape
    const int high = HexValue(segment[i + 1]);
    const int low = HexValue(segment[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    const char decoded = static_cast<char>(high * 16 + low);
    if (decoded == '\0' || decoded == '/' || decoded == '\\') return std::nullopt;
    out.push_back(decoded);
    i += 2;
  }
  return out;
}

void Router::Add(Route route) {
  GUICHET_ASSERT(!route.path.empty() && route.path.front() == '/');
  GUICHET_ASSERT(!route.operation_id.empty() && !route.doc.summary.empty());
  GUICHET_ASSERT(route.handler != nullptr);
  Compiled compiled;
  for (std::string_view segment : SplitPath(route.path)) compiled.segments.emplace_back(segment);
  for (size_t i = 0; i < routes_.size(); ++i) {
    GUICHET_ASSERT(routes_[i].operation_id != route.operation_id);
    GUICHET_ASSERT(!(routes_[i].path == route.path && routes_[i].method == route.method));
  }
  routes_.push_back(std::move(route));
  compiled_.push_back(std::move(compiled));
}

RouteMatch Router::Match(Verb method, std::string_view path) const {
  RouteMatch match;
  if (path.empty() || path.front() != '/') return match;
  const auto segments = SplitPath(path);
  const Verb wanted = method == Verb::head ? Verb::get : method;
  for (size_t r = 0; r < routes_.size(); ++r) {
    const Compiled& compiled = compiled_[r];
    if (compiled.segments.size() != segments.size()) continue;
    PathParams params;
    bool matches = true;
    for (size_t s = 0; s < segments.size() && matches; ++s) {
      const std::string& pattern = compiled.segments[s];
      if (IsParameter(pattern)) {
        auto decoded = DecodeSegment(segments[s]);
        matches = decoded.has_value() && !decoded->empty();
        if (matches) params.emplace_back(pattern.substr(1, pattern.size() - 2), std::move(*decoded));
      } else {
        matches = pattern == segments[s];
      }
    }
    if (!matches) continue;
    match.allowed.push_back(routes_[r].method);
    if (routes_[r].method == wanted && match.route == nullptr) {
      match.route = &routes_[r];
      match.params = std::move(params);
    }
  }
  return match;
}

boost::json::object Router::OpenApi(std::string_view title, std::string_view version) const {
  boost::json::object paths;
  for (const Route& route : routes_) {
    boost::json::value& item = paths[route.path];
    if (!item.is_object()) item = boost::json::object();
    item.as_object()[MethodName(route.method)] = Operation(route);
  }
  return {{"openapi", "3.1.0"},
          {"info",
           {{"title", title},
            {"version", version},
            {"description",
             "Guichet REST API. Errors are application/problem+json with a stable `code`."}}},
          {"paths", std::move(paths)},
          {"components", {{"schemas", {{"Problem", ProblemSchema()}}}}}};
}

}  // namespace guichet::http
