// Reading what a request carries beyond its body: header values, query parameters and
// numeric path parameters, with the same refusals everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "platform/base/result.h"
#include "platform/http/types.h"

namespace guichet::http {

// The value of a header, empty when absent.
std::string_view HeaderValue(const Request& request, std::string_view name);

// The value of a cookie sent by the client, empty when absent.
std::string CookieValue(const Request& request, std::string_view name);

// The decoded value of a query parameter, nullopt when absent or the target is malformed.
std::optional<std::string> QueryParameter(const Request& request, std::string_view name);

// A positive integer id from a path or query parameter; `what` names it in the refusal
// (400 invalid_parameter: "The staff id must be a positive integer.").
Result<int64_t> PositiveId(std::string_view text, std::string_view what);

}  // namespace guichet::http
