// One HTTP POST with libcurl for the webhook and web push channels: bounded time, TLS
// certificates checked (the system store or a given CA file), no redirects followed, the
// answer read up to a bound and cut.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace guichet::notify {

struct HttpPostRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  int64_t connect_timeout_ms = 5000;
  int64_t timeout_ms = 15000;
  std::string ca_file;
  bool allow_http = false;
  int64_t response_bytes_max = 64 * 1024;
};

struct HttpPostResult {
  bool transport_ok = false;  // false: no HTTP answer (DNS, connection, TLS, timeout)
  long status = 0;
  std::string error;  // transport error in words
  std::string body;   // at most response_bytes_max
  int64_t duration_ms = 0;
};

HttpPostResult HttpPost(const HttpPostRequest& request);

}  // namespace guichet::notify
