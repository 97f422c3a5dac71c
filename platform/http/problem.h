// application/problem+json (RFC 9457) answers. The HTTP status of every ErrorKind is decided
// here and nowhere else.
#pragma once

#include <boost/json/value.hpp>

#include "platform/base/result.h"
#include "platform/http/types.h"

namespace guichet::http {

HttpStatus StatusOf(ErrorKind kind);

// Builds the problem response for an error. `instance` is the request path. Internal errors
// are answered with a generic sentence: their details are for the log, never for the client.
Response ProblemResponse(const Error& error, std::string_view instance,
                         std::string_view request_id, unsigned http_version = 11);

// A JSON answer with the given status.
Response JsonResponse(HttpStatus status, const boost::json::value& body, unsigned http_version = 11);

}  // namespace guichet::http
