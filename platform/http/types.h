// What a route handler sees and returns.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace guichet::http {

namespace beast = boost::beast;
namespace asio = boost::asio;
using Verb = beast::http::verb;
using HttpStatus = beast::http::status;
using Request = beast::http::request<beast::http::string_body>;
using Response = beast::http::response<beast::http::string_body>;
using PathParams = std::vector<std::pair<std::string, std::string>>;

struct RequestContext {
  const Request* request = nullptr;  // owned by the connection, alive for the whole call
  PathParams params;                 // decoded values of {name} segments
  std::string request_id;
  std::string route;                 // the matched template, "/api/v1/jobs/{id}"

  // Empty when the route has no such parameter.
  std::string_view Param(std::string_view name) const {
    for (const auto& [key, value] : params) {
      if (key == name) return value;
    }
    return {};
  }
  std::string_view Path() const;  // the target without its query string
};

using Handler = std::function<asio::awaitable<Response>(RequestContext)>;

}  // namespace guichet::http
