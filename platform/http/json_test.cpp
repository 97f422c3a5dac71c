#include "platform/http/json.h"

#include <gtest/gtest.h>

namespace guichet::http {
namespace {

Request JsonRequest(std::string body, std::string content_type = "application/json") {
  Request request(Verb::post, "/x", 11);
  if (!content_type.empty()) request.set(beast::http::field::content_type, content_type);
  request.body() = std::move(body);
  return request;
}

TEST(Json, RequiresTheJsonContentType) {
  EXPECT_TRUE(ParseJsonBody(JsonRequest("{}", "application/json; charset=utf-8")).ok());
  EXPECT_TRUE(ParseJsonBody(JsonRequest("{}", "Application/JSON")).ok());
  auto missing = ParseJsonBody(JsonRequest("{}", ""));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kUnsupportedMediaType);
  EXPECT_FALSE(ParseJsonBody(JsonRequest("{}", "text/plain")).ok());
  EXPECT_FALSE(ParseJsonBody(JsonRequest("{}", "application/jsonp")).ok());
}

TEST(Json, RefusesExtensionsAndDeepNesting) {
  for (const char* body : {"{", "{\"a\":1,}", "// c\n{}", "{'a':1}", "", "{\"a\":1} x", "NaN"}) {
    auto parsed = ParseJsonBody(JsonRequest(body));
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_EQ(parsed.error().code, "malformed_json") << body;
  }
  std::string deep(kJsonDepthMax + 1, '[');
  deep += std::string(kJsonDepthMax + 1, ']');
  EXPECT_FALSE(ParseJsonBody(JsonRequest(deep)).ok());
  EXPECT_EQ(ParseJsonObjectBody(JsonRequest("[1]")).error().code, "validation_failed");
}

TEST(Json, ReaderCollectsEveryProblemWithPointers) {
  auto body = ParseJsonObjectBody(JsonRequest(
      R"({"name":"","count":1.5,"big":99999999999999999999,"tags":["ok",3],"extra":true,"a/b":1})"));
  ASSERT_TRUE(body.ok());
  JsonReader reader(*body);
  reader.RequiredString("name", {1, 10});
  reader.RequiredInteger("count", 1, 10);
  reader.OptionalInteger("big", 0, 10);
  reader.OptionalStringArray("tags", 5, {1, 5});
  reader.RequiredString("missing", {1, 10});
  auto status = reader.Finish();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "validation_failed");
  std::vector<std::string> pointers;
  for (const auto& field : status.error().fields) pointers.push_back(field.pointer);
  EXPECT_EQ(pointers, (std::vector<std::string>{"/name", "/count", "/big", "/tags/1", "/missing",
                                                "/extra", "/a~1b"}));
}

TEST(Json, ReaderAcceptsValidInputAndCountsCharacters) {
  auto body = ParseJsonObjectBody(JsonRequest(R"({"name":"Élodie","count":3})"));
  ASSERT_TRUE(body.ok());
  JsonReader reader(*body);
  EXPECT_EQ(reader.RequiredString("name", {1, 6}), "Élodie");  // 6 characters, 7 bytes
  EXPECT_EQ(reader.RequiredInteger("count", 1, 3), 3);
  EXPECT_FALSE(reader.OptionalBool("flag").has_value());
  EXPECT_TRUE(reader.Finish().ok());
}

TEST(Json, ExplicitNullIsRefusedNotIgnored) {
  auto body = ParseJsonObjectBody(JsonRequest(R"({"name":null,"tags":null,"count":null})"));
  ASSERT_TRUE(body.ok());
  JsonReader reader(*body);
  reader.RequiredString("name", {1, 6});
  reader.OptionalStringArray("tags", 3, {1, 3});
  reader.RequiredInteger("count", 1, 3);
  auto status = reader.Finish();
  ASSERT_FALSE(status.ok());
  ASSERT_EQ(status.error().fields.size(), 3u);  // one problem each, not "required" twice
  EXPECT_EQ(status.error().fields[0].pointer, "/name");
  EXPECT_NE(status.error().fields[0].message.find("null"), std::string::npos);
}

}  // namespace
}  // namespace guichet::http
