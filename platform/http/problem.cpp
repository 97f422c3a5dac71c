#include "platform/http/problem.h"

#include <boost/json/serialize.hpp>

namespace guichet::http {

HttpStatus StatusOf(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput: return HttpStatus::bad_request;
    case ErrorKind::kValidation: return HttpStatus::unprocessable_entity;
    case ErrorKind::kUnauthenticated: return HttpStatus::unauthorized;
    case ErrorKind::kForbidden: return HttpStatus::forbidden;
    case ErrorKind::kNotFound: return HttpStatus::not_found;
    case ErrorKind::kConflict: return HttpStatus::conflict;
    case ErrorKind::kUnsupportedMediaType: return HttpStatus::unsupported_media_type;
    case ErrorKind::kTooLarge: return HttpStatus::payload_too_large;
    case ErrorKind::kTooManyRequests: return HttpStatus::too_many_requests;
    case ErrorKind::kMethodNotAllowed: return HttpStatus::method_not_allowed;
    case ErrorKind::kHeaderTooLarge: return HttpStatus::request_header_fields_too_large;
    case ErrorKind::kUnavailable: return HttpStatus::service_unavailable;
    case ErrorKind::kInternal: return HttpStatus::internal_server_error;
  }
  return HttpStatus::internal_server_error;
}

Response ProblemResponse(const Error& error, std::string_view instance,
                         std::string_view request_id, unsigned http_version) {
  const HttpStatus status = StatusOf(error.kind);
  const bool internal = error.kind == ErrorKind::kInternal;
  boost::json::object body;
  const std::string code = internal ? "internal_error" : error.code;
  body["type"] = "https://guichet.fr/problems/" + code;
  body["title"] = std::string(beast::http::obsolete_reason(status));
  body["status"] = static_cast<int>(status);
  body["detail"] = internal ? "An unexpected error occurred; it has been logged with the request id."
                            : error.message;
  body["code"] = code;
  body["instance"] = instance;
  body["request_id"] = request_id;
  if (!error.fields.empty()) {
    boost::json::array fields;
    for (const FieldError& field : error.fields) {
      fields.push_back({{"pointer", field.pointer}, {"message", field.message}});
    }
    body["errors"] = std::move(fields);
  }
  Response response(status, http_version);
  response.set(beast::http::field::content_type, "application/problem+json");
  response.body() = boost::json::serialize(body);
  response.prepare_payload();
  return response;
}

Response JsonResponse(HttpStatus status, const boost::json::value& body, unsigned http_version) {
  Response response(status, http_version);
  response.set(beast::http::field::content_type, "application/json");
  response.body() = boost::json::serialize(body);
  response.prepare_payload();
  return response;
}

}  // namespace guichet::http
