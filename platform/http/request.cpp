#include "platform/http/request.h"

#include <charconv>

#include <boost/url/parse.hpp>
#include <fmt/format.h>

namespace guichet::http {

std::string_view HeaderValue(const Request& request, std::string_view name) {
  const auto value = request[name];
  return {value.data(), value.size()};
}

std::string CookieValue(const Request& request, std::string_view name) {
  std::string_view cookies = HeaderValue(request, "Cookie");
  while (!cookies.empty()) {
    const size_t end = cookies.find(';');
    std::string_view pair = cookies.substr(0, end);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    if (end == std::string_view::npos) break;
    cookies.remove_prefix(end + 1);
  }
  return {};
}

std::optional<std::string> QueryParameter(const Request& request, std::string_view name) {
  auto url = boost::urls::parse_origin_form(
      std::string_view(request.target().data(), request.target().size()));
  if (!url) return std::nullopt;
  auto found = url->params().find(name);
  if (found == url->params().end()) return std::nullopt;
  return std::string((*found).value);
}

Result<int64_t> PositiveId(std::string_view text, std::string_view what) {
  int64_t id = 0;
  const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (failure != std::errc() || end != text.data() + text.size() || id <= 0) {
    return Error::Invalid("invalid_parameter",
                          fmt::format("The {} must be a positive integer.", what));
  }
  return id;
}

}  // namespace guichet::http
