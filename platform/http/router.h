// Routes with path parameters and the metadata that documents them: every route carries its
// OpenAPI entry and the right a caller needs, so the published document and the rights
// checks come from the same table as the dispatch.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "platform/http/types.h"

namespace guichet::http {

struct RouteDoc {
  std::string summary;
  std::string description;
  std::string tag;                        // "system", "wallet"…
  boost::json::value request_schema;      // JSON Schema of the body; null: no body
  int success_status = 200;
  std::string success_description = "OK";
  std::string success_media_type = "application/json";
  boost::json::value response_schema;     // JSON Schema of the success body; null: none
  std::vector<std::pair<int, std::string>> errors;  // documented problem statuses
};

struct Route {
  Verb method = Verb::get;
  std::string path;          // "/api/v1/diagnostics/jobs/{id}"
  std::string operation_id;  // unique, camelCase
  std::string right;         // right needed; empty for public routes
  RouteDoc doc;
  Handler handler;
};

struct RouteMatch {
  const Route* route = nullptr;  // null: no route for this method
  PathParams params;
  std::vector<Verb> allowed;     // methods the path accepts (for 405 and Allow)
};

class Router {
 public:
  // Asserts the template is well formed and not already taken for this method.
  void Add(Route route);

  // HEAD matches GET routes.
  RouteMatch Match(Verb method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

  // The OpenAPI 3.1 document of every route.
  boost::json::object OpenApi(std::string_view title, std::string_view version) const;

 private:
  struct Compiled {
    std::vector<std::string> segments;  // "{id}" marks a parameter
  };
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

// Splits "/a/b/" into {"a", "b", ""}; the leading slash is required.
std::vector<std::string_view> SplitPath(std::string_view path);

// Percent-decodes one path segment; nullopt for bad escapes or an encoded NUL or slash.
std::optional<std::string> DecodeSegment(std::string_view segment);

}  // namespace guichet::http
