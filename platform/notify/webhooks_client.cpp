#include "platform/notify/webhooks_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <chrono>
#include <mutex>

#include "platform/base/assert.h"

namespace guichet::notify {
namespace {

struct Sink {
  std::string* body;
  size_t limit;
};

size_t Collect(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t bytes = size * count;
  if (sink->body->size() < sink->limit) {
    sink->body->append(data, std::min(bytes, sink->limit - sink->body->size()));
  }
  return bytes;  // the rest is read and dropped: the answer is not ours to keep
}

}  // namespace

HttpPostResult HttpPost(const HttpPostRequest& request) {
  static std::once_flag once;
  std::call_once(once, [] { GUICHET_ASSERT(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK); });
  HttpPostResult result;
  Sink sink{&result.body, static_cast<size_t>(request.response_bytes_max)};
  char error[CURL_ERROR_SIZE] = {0};
  CURL* curl = curl_easy_init();
  GUICHET_ASSERT(curl != nullptr);
  curl_slist* headers = nullptr;
  for (const std::string& header : request.headers)
    headers = curl_slist_append(headers, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, request.allow_http ? "http,https" : "https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!request.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  const auto started = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(curl);
  result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  result.transport_ok = code == CURLE_OK;
  if (!result.transport_ok) {
    result.error = fmt::format("{}: {}", curl_easy_strerror(code), error);
  }
  return result;
}

}  // namespace guichet::notify
