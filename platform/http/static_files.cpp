#include "platform/http/static_files.h"

#include <zlib.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "platform/base/assert.h"
#include "platform/http/router.h"

namespace guichet::http {
namespace fs = std::filesystem;
namespace {

struct MediaType {
  std::string_view extension;
  std::string_view type;
  bool compressible;
};

constexpr MediaType kMediaTypes[] = {
    {".html", "text/html; charset=utf-8", true},
    {".js", "text/javascript; charset=utf-8", true},
    {".mjs", "text/javascript; charset=utf-8", true},
    {".css", "text/css; charset=utf-8", true},
    {".json", "application/json", true},
    {".webmanifest", "application/manifest+json", true},
    {".svg", "image/svg+xml", true},
    {".txt", "text/plain; charset=utf-8", true},
    {".map", "application/json", true},
    {".png", "image/png", false},
    {".jpg", "image/jpeg", false},
    {".webp", "image/webp", false},
    {".ico", "image/x-icon", false},
    {".woff2", "font/woff2", false},
    {".pdf", "application/pdf", false},
};

const MediaType& MediaTypeOf(const fs::path& file) {
  static constexpr MediaType kDefault{"", "application/octet-stream", false};
  const std::string extension = file.extension().string();
  for (const MediaType& media : kMediaTypes) {
    if (media.extension == extension) return media;
  }
  return kDefault;
}

bool AcceptsGzip(const Request& request) {
  const auto header = request[beast::http::field::accept_encoding];
  const std::string_view value(header.data(), header.size());
  const size_t at = value.find("gzip");
  if (at == std::string_view::npos) return false;
  const std::string_view rest = value.substr(at + 4, 6);
  return rest.rfind(";q=0", 0) != 0 || rest.rfind(";q=0.", 0) == 0;
}

bool WantsHtml(const Request& request) {
  const auto accept = request[beast::http::field::accept];
  return std::string_view(accept.data(), accept.size()).find("text/html") != std::string_view::npos;
}

std::string HashText(std::string_view data) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return fmt::format("\"{:016x}\"", hash);
}

}  // namespace

std::string Gzip(std::string_view data) {
  z_stream stream{};
  // 15 + 16: a gzip wrapper rather than raw zlib, as browsers expect for Content-Encoding: gzip.
  const int init = deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  GUICHET_ASSERT(init == Z_OK);
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  GUICHET_ASSERT(result == Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

StaticFiles::StaticFiles(fs::path root) {
  std::error_code ec;
  root_ = fs::weakly_canonical(root, ec);
  if (ec) root_ = std::move(root);
}

std::optional<fs::path> StaticFiles::Resolve(std::string_view path) const {
  fs::path file = root_;
  const auto segments = SplitPath(path);
  for (size_t i = 0; i < segments.size(); ++i) {
    auto decoded = DecodeSegment(segments[i]);
    if (!decoded) return std::nullopt;
    // No dot segments, no hidden files, no empty segment except a trailing one.
    if (*decoded == "." || *decoded == ".." || (!decoded->empty() && decoded->front() == '.')) {
      return std::nullopt;
    }
    if (decoded->empty()) {
      if (i + 1 != segments.size()) return std::nullopt;
      *decoded = "index.html";
    }
    file /= *decoded;
  }
  std::error_code ec;
  const fs::path real = fs::canonical(file, ec);
  if (ec || !fs::is_regular_file(real, ec)) return std::nullopt;
  // A symbolic link must not lead out of the root either.
  const auto [root_end, ignored] = std::mismatch(root_.begin(), root_.end(), real.begin(), real.end());
  if (root_end != root_.end()) return std::nullopt;
  return real;
}

std::shared_ptr<const StaticFiles::Entry> StaticFiles::Load(const fs::path& file) {
  std::error_code ec;
  const auto modified = fs::last_write_time(file, ec);
  const auto size = fs::file_size(file, ec);
  if (ec || size > static_cast<uintmax_t>(kFileBytesMax)) return nullptr;
  {
    std::lock_guard lock(mutex_);
    auto found = cache_.find(file);
    if (found != cache_.end() && found->second->modified == modified && found->second->size == size) {
      return found->second;
    }
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return nullptr;
  std::ostringstream content;
  content << in.rdbuf();
  auto entry = std::make_shared<Entry>();
  entry->modified = modified;
  entry->size = size;
  entry->body = content.str();
  entry->etag = HashText(entry->body);
  const MediaType& media = MediaTypeOf(file);
  entry->content_type = media.type;
  if (media.compressible && static_cast<int64_t>(entry->body.size()) >= kGzipBytesMin) {
    std::string compressed = Gzip(entry->body);
    if (compressed.size() < entry->body.size() * 9 / 10) entry->gzip = std::move(compressed);
  }
  std::lock_guard lock(mutex_);
  cache_[file] = entry;
  return entry;
}

std::optional<Response> StaticFiles::Serve(const Request& request, std::string_view path) {
  auto file = Resolve(path);
  const auto segments = SplitPath(path);
  const bool client_route = segments.back().find('.') == std::string_view::npos;
  if (!file && client_route && WantsHtml(request)) file = Resolve("/");  // single-page app
  if (!file) return std::nullopt;
  auto entry = Load(*file);
  if (!entry) return std::nullopt;

  const bool hashed_asset = path.rfind("/assets/", 0) == 0;
  Response response(HttpStatus::ok, request.version());
  response.set(beast::http::field::cache_control,
               hashed_asset ? "public, max-age=31536000, immutable" : "no-cache");
  response.set(beast::http::field::etag, entry->etag);
  if (!entry->gzip.empty()) response.set(beast::http::field::vary, "Accept-Encoding");
  if (request[beast::http::field::if_none_match] == entry->etag) {
    response.result(HttpStatus::not_modified);
    return response;
  }
  response.set(beast::http::field::content_type, entry->content_type);
  if (!entry->gzip.empty() && AcceptsGzip(request)) {
    response.set(beast::http::field::content_encoding, "gzip");
    response.body() = entry->gzip;
  } else {
    response.body() = entry->body;
  }
  response.prepare_payload();
  return response;
}

}  // namespace guichet::http
