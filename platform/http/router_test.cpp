#include "platform/http/router.h"

#include <gtest/gtest.h>

namespace guichet::http {
namespace {

Handler Noop() {
  return [](RequestContext) -> asio::awaitable<Response> { co_return Response(); };
}

Router Sample() {
  Router router;
  router.Add({Verb::get, "/api/v1/items", "listItems", "", {.summary = "List"}, Noop()});
  router.Add({Verb::post, "/api/v1/items", "createItem", "items.write", {.summary = "Create"}, Noop()});
  router.Add({Verb::get, "/api/v1/items/{id}", "getItem", "", {.summary = "Get"}, Noop()});
  router.Add({Verb::get, "/api/v1/items/{id}/parts/{part}", "getPart", "", {.summary = "Part"}, Noop()});
  return router;
}

TEST(Router, MatchesLiteralAndParameterSegments) {
  const Router router = Sample();
  auto match = router.Match(Verb::get, "/api/v1/items/42/parts/a%20b");
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.route->operation_id, "getPart");
  ASSERT_EQ(match.params.size(), 2u);
  EXPECT_EQ(match.params[0], (std::pair<std::string, std::string>{"id", "42"}));
  EXPECT_EQ(match.params[1].second, "a b");  // decoded
  EXPECT_EQ(router.Match(Verb::post, "/api/v1/items").route->operation_id, "createItem");
  EXPECT_EQ(router.Match(Verb::head, "/api/v1/items").route->operation_id, "listItems");
}

TEST(Router, ReportsAllowedMethodsForAKnownPath) {
  const Router router = Sample();
  auto match = router.Match(Verb::delete_, "/api/v1/items");
  EXPECT_EQ(match.route, nullptr);
  EXPECT_EQ(match.allowed, (std::vector<Verb>{Verb::get, Verb::post}));
}

TEST(Router, RefusesUnknownPathsAndBadParameters) {
  const Router router = Sample();
  EXPECT_TRUE(router.Match(Verb::get, "/api/v1/nothing").allowed.empty());
  EXPECT_EQ(router.Match(Verb::get, "/api/v1/items/").route, nullptr);      // empty parameter
  EXPECT_EQ(router.Match(Verb::get, "/api/v1/items/%00").route, nullptr);   // encoded NUL
  EXPECT_EQ(router.Match(Verb::get, "/api/v1/items/a%2Fb").route, nullptr); // encoded slash
  EXPECT_EQ(router.Match(Verb::get, "/api/v1/items/%zz").route, nullptr);   // bad escape
  EXPECT_EQ(router.Match(Verb::get, "/api/v1/items/%4").route, nullptr);    // truncated escape
  EXPECT_EQ(router.Match(Verb::get, "api/v1/items").route, nullptr);
}

TEST(Router, OpenApiDocumentsEveryRoute) {
  const Router router = Sample();
  const auto document = router.OpenApi("Test", "1.0");
  EXPECT_EQ(document.at("openapi").as_string(), "3.1.0");
  const auto& paths = document.at("paths").as_object();
  size_t operations = 0;
  for (const Route& route : router.routes()) {
    const auto* item = paths.if_contains(route.path);
    ASSERT_NE(item, nullptr) << route.path;
    std::string method(beast::http::to_string(route.method));
    for (auto& c : method) c = static_cast<char>(std::tolower(c));
    const auto* operation = item->as_object().if_contains(method);
    ASSERT_NE(operation, nullptr) << method << " " << route.path;
    EXPECT_EQ(operation->at("operationId").as_string(), route.operation_id);
    EXPECT_TRUE(operation->as_object().contains("responses"));
    ++operations;
  }
  EXPECT_EQ(operations, 4u);
  const auto& part = paths.at("/api/v1/items/{id}/parts/{part}").at("get");
  EXPECT_EQ(part.at("parameters").as_array().size(), 2u);
  EXPECT_EQ(paths.at("/api/v1/items").at("post").at("x-guichet-right").as_string(), "items.write");
}

}  // namespace
}  // namespace guichet::http
