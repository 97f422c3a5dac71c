// Serves the built web app (web/dist): hashed assets cached for a year, index.html revalidated
// with an ETag, gzip for text when it pays, the single-page-app fallback for client routes,
// and nothing outside the root whatever the path says.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "platform/http/types.h"

namespace guichet::http {

class StaticFiles {
 public:
  static constexpr int64_t kGzipBytesMin = 1024;  // smaller files are not worth compressing
  static constexpr int64_t kFileBytesMax = 32 * 1024 * 1024;

  explicit StaticFiles(std::filesystem::path root);

  // The response for a GET or HEAD of `path`, or nullopt when no file answers it.
  std::optional<Response> Serve(const Request& request, std::string_view path);

 private:
  struct Entry {
    std::filesystem::file_time_type modified;
    uintmax_t size = 0;
    std::string body;
    std::string gzip;  // empty when not worth it
    std::string etag;
    std::string content_type;
  };

  std::optional<std::filesystem::path> Resolve(std::string_view path) const;
  std::shared_ptr<const Entry> Load(const std::filesystem::path& file);

  std::filesystem::path root_;
  std::mutex mutex_;
  std::map<std::filesystem::path, std::shared_ptr<const Entry>> cache_;
};

std::string Gzip(std::string_view data);

}  // namespace guichet::http
