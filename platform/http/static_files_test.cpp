#include "platform/http/static_files.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <zlib.h>

namespace guichet::http {
namespace {
namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("guichet-static-" + std::to_string(::getpid()));
    fs::create_directories(base_ / "root/assets");
    Write(base_ / "root/index.html", "<!doctype html><title>Guichet</title>");
    Write(base_ / "root/assets/app-1234.js", std::string(4096, 'a'));
    Write(base_ / "root/.env", "secret");
    Write(base_ / "outside.txt", "outside");
    fs::create_symlink(base_ / "outside.txt", base_ / "root/link.txt");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void Write(const fs::path& path, const std::string& content) { std::ofstream(path) << content; }

  std::optional<Response> Get(std::string_view path, std::string accept = "*/*",
                              std::string encoding = "") {
    StaticFiles files(base_ / "root");
    Request request(Verb::get, std::string(path), 11);
    request.set(beast::http::field::accept, accept);
    if (!encoding.empty()) request.set(beast::http::field::accept_encoding, encoding);
    return files.Serve(request, path);
  }

  fs::path base_;
};

TEST_F(StaticFilesTest, ServesIndexAndAssetsWithCacheHeaders) {
  auto index = Get("/");
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ((*index)[beast::http::field::cache_control], "no-cache");
  EXPECT_EQ((*index)[beast::http::field::content_type], "text/html; charset=utf-8");
  auto asset = Get("/assets/app-1234.js");
  ASSERT_TRUE(asset.has_value());
  EXPECT_EQ((*asset)[beast::http::field::cache_control], "public, max-age=31536000, immutable");
}

TEST_F(StaticFilesTest, CompressesTextWhenAskedAndItPays) {
  auto plain = Get("/assets/app-1234.js");
  auto gzipped = Get("/assets/app-1234.js", "*/*", "br, gzip");
  ASSERT_TRUE(plain && gzipped);
  EXPECT_EQ((*gzipped)[beast::http::field::content_encoding], "gzip");
  EXPECT_EQ((*gzipped)[beast::http::field::vary], "Accept-Encoding");
  EXPECT_LT(gzipped->body().size(), plain->body().size());
  // Decompresses to the original.
  std::string out(8192, '\0');
  z_stream stream{};
  ASSERT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  stream.next_in = reinterpret_cast<Bytef*>(gzipped->body().data());
  stream.avail_in = static_cast<uInt>(gzipped->body().size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  ASSERT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  EXPECT_EQ(out, plain->body());
}

TEST_F(StaticFilesTest, NeverLeavesTheRoot) {
  for (const char* path : {"/../outside.txt", "/%2e%2e/outside.txt", "/assets/..%2f..%2foutside.txt",
                           "/link.txt", "/.env", "/index.html%00.js", "/assets/%2e%2e/%2e%2e/outside.txt"}) {
    EXPECT_FALSE(Get(path).has_value()) << path;
  }
}

TEST_F(StaticFilesTest, FallsBackToIndexForClientRoutesOnly) {
  EXPECT_TRUE(Get("/wallet/accounts", "text/html,application/xhtml+xml").has_value());
  EXPECT_FALSE(Get("/wallet/accounts", "application/json").has_value());
  EXPECT_FALSE(Get("/missing.js", "text/html").has_value());
}

TEST_F(StaticFilesTest, AnswersNotModifiedForAMatchingEtag) {
  auto first = Get("/");
  ASSERT_TRUE(first.has_value());
  const std::string etag((*first)[beast::http::field::etag]);
  StaticFiles files(base_ / "root");
  Request request(Verb::get, "/", 11);
  request.set(beast::http::field::if_none_match, etag);
  auto again = files.Serve(request, "/");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->result(), HttpStatus::not_modified);
  EXPECT_TRUE(again->body().empty());
}

}  // namespace
}  // namespace guichet::http
