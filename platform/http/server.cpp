#include "platform/http/server.h"

#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include "platform/base/log.h"
#include "platform/http/problem.h"

namespace guichet::http {
namespace {

using tcp = asio::ip::tcp;
// kNoTemporariesInCoAwait: GCC 12 destroys the temporaries of a co_await expression twice
// (arguments passed by value to the awaited coroutine among them), so every awaitable that
// takes such arguments is created in a statement of its own and then awaited.
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadChunkBytes = 8 * 1024;
constexpr auto kLingerTime = std::chrono::milliseconds(500);
constexpr size_t kLingerBytesMax = 1024 * 1024;

std::string_view PathOf(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

// The size of the request line and header fields as sent (CRLFs included).
int64_t HeaderBytes(const Request& request) {
  int64_t bytes = static_cast<int64_t>(request.method_string().size() + request.target().size()) + 12;
  for (const auto& field : request) {
    bytes += static_cast<int64_t>(field.name_string().size() + field.value().size()) + 4;
  }
  return bytes + 2;
}

void LogAcceptFailure(const boost::system::error_code& ec) {
  log::Warn("accept failed", {{"error", ec.message()}});
}

}  // namespace

std::string_view RequestContext::Path() const {
  return PathOf(std::string_view(request->target().data(), request->target().size()));
}

std::string NewRequestId() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return fmt::format("{:016x}", generator());
}

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

struct Server::Session {
  explicit Session(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  std::atomic<bool> idle{true};  // waiting for a request: safe to close on shutdown
};

Server::Server(ServerOptions options, const Router& router, Metrics& metrics,
               StaticFiles* static_files)
    : options_(std::move(options)),
      router_(router),
      metrics_(metrics),
      static_files_(static_files),
      context_(static_cast<int>(options_.threads)),
      acceptor_(context_) {
  GUICHET_ASSERT(options_.threads >= 1);
  GUICHET_ASSERT(options_.header_bytes_max > 0 && options_.body_bytes_max > 0);
}

Server::~Server() = default;

Result<uint16_t> Server::Listen() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options_.host, ec);
  if (ec) return Error::Invalid("invalid_setting", "http_host is not an IP address: " + options_.host);
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(options_.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::Unavailable("listen_failed", fmt::format("cannot listen on {}:{}: {}",
                                                           options_.host, options_.port, ec.message()));
  }
  return acceptor_.local_endpoint().port();
}

void Server::Run() {
  GUICHET_ASSERT(acceptor_.is_open());
  asio::signal_set signals(context_, SIGTERM, SIGINT);
  signals.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log::Info("shutting down", {{"signal", static_cast<int64_t>(signal)}});
    BeginStop();
  });
  asio::co_spawn(context_, Accept(), asio::detached);
  std::vector<std::thread> threads;
  for (int64_t i = 1; i < options_.threads; ++i) threads.emplace_back([this] { context_.run(); });
  context_.run();
  for (auto& thread : threads) thread.join();
}

void Server::Stop() {
  asio::post(context_, [this] { BeginStop(); });
}

void Server::BeginStop() {
  if (stopping_.exchange(true)) return;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& [id, weak] : sessions_) {
      if (auto session = weak.lock()) {
        // Cancel on the session's own strand; a busy session closes after its response.
        asio::post(session->stream.get_executor(), [session] {
          if (session->idle) session->stream.cancel();
        });
      }
    }
  }
  // Outside the lock: co_spawn may start Drain at once on this thread, and Drain takes it.
  asio::co_spawn(context_, Drain(), asio::detached);
}

asio::awaitable<void> Server::Drain() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options_.shutdown_grace_s);
  asio::steady_timer timer(context_);
  for (;;) {
    {
      std::lock_guard lock(sessions_mutex_);
      if (sessions_.empty()) break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      log::Warn("shutdown grace period over; closing remaining connections");
      break;
    }
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(kUseTuple);
  }
  context_.stop();
}

asio::awaitable<void> Server::Accept() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(context_), kUseTuple);
    if (stopping_) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      LogAcceptFailure(ec);
      continue;
    }
    auto session = std::make_shared<Session>(std::move(socket));
    uint64_t id = 0;
    {
      std::lock_guard lock(sessions_mutex_);
      id = next_session_id_++;
      sessions_.emplace(id, session);
    }
    auto executor = session->stream.get_executor();
    asio::co_spawn(executor, Serve(session), [this, id](std::exception_ptr error) {
      if (error) {
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          log::Error("connection failed", {{"error", std::string_view(e.what())}});
        }
      }
      std::lock_guard lock(sessions_mutex_);
      sessions_.erase(id);
    });
  }
}

namespace {

bool IsHttpProtocolError(const boost::system::error_code& ec) {
  return ec.category() == beast::http::make_error_code(beast::http::error::bad_method).category() &&
         ec != beast::http::error::end_of_stream && ec != beast::http::error::partial_message;
}

Error ReadError(const boost::system::error_code& ec, int64_t header_max, int64_t body_max) {
  if (ec == beast::http::error::header_limit) {
    return {ErrorKind::kHeaderTooLarge, "header_too_large",
            fmt::format("The request headers exceed {} bytes.", header_max), {}};
  }
  if (ec == beast::http::error::body_limit) {
    return {ErrorKind::kTooLarge, "body_too_large",
            fmt::format("The request body exceeds {} bytes.", body_max), {}};
  }
  return Error::Invalid("bad_request", "The request is not valid HTTP/1.1: " + ec.message() + ".");
}

}  // namespace

// A request refused before any route saw it. When its header was read whole (a body too
// large), the answer still names the path and keeps the client's request id.
Response Server::Refused(const boost::system::error_code& read_error, const Request* header) {
  std::string request_id;
  std::string_view path;
  if (header != nullptr) {
    request_id = std::string((*header)["X-Request-Id"]);
    path = PathOf(std::string_view(header->target().data(), header->target().size()));
  }
  if (!IsValidRequestId(request_id)) request_id = NewRequestId();
  const Error error = ReadError(read_error, options_.header_bytes_max, options_.body_bytes_max);
  Response response = ProblemResponse(error, path, request_id);
  Finish(response, nullptr, request_id);
  metrics_.Observe("unmatched", "-", response.result_int(), 0);
  log::Info("request refused", {{"request_id", request_id}, {"status", int64_t{response.result_int()}},
                                {"error", std::string_view(error.code)}});
  return response;
}

asio::awaitable<void> Server::Serve(std::shared_ptr<Session> session) {
  beast::tcp_stream& stream = session->stream;
  beast::flat_buffer buffer;
  for (;;) {
    if (buffer.size() == 0) {
      // Idle between requests: only the idle deadline applies, and shutdown may close us.
      session->idle = true;
      if (stopping_) break;
      stream.expires_after(std::chrono::seconds(options_.idle_timeout_s));
      auto [ec, bytes] = co_await stream.async_read_some(buffer.prepare(kReadChunkBytes), kUseTuple);
      if (ec) break;
      buffer.commit(bytes);
    }
    session->idle = false;
    beast::http::request_parser<beast::http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options_.header_bytes_max));
    parser.body_limit(static_cast<uint64_t>(options_.body_bytes_max));
    stream.expires_after(std::chrono::seconds(options_.read_timeout_s));
    auto [read_error, ignored] = co_await beast::http::async_read(stream, buffer, parser, kUseTuple);
    Response response;
    bool close = stopping_;
    if (!read_error && HeaderBytes(parser.get()) > options_.header_bytes_max) {
      read_error = beast::http::error::header_limit;  // Beast limits fields one by one only
    }
    if (read_error) {
      if (!IsHttpProtocolError(read_error)) break;  // timeout, reset, end of stream: just close
      // On a body too large the request line and fields were parsed whole; otherwise the
      // header is partial or malformed and nothing of it is trusted.
      const bool header_read = read_error == beast::http::error::body_limit;
      response = Refused(read_error, header_read ? &parser.get() : nullptr);
      close = true;
    } else {
      const Request& request = parser.get();
      std::string request_id(request["X-Request-Id"]);
      if (!IsValidRequestId(request_id)) request_id = NewRequestId();
      auto dispatch = Dispatch(request, std::move(request_id));  // see kNoTemporariesInCoAwait
      response = co_await std::move(dispatch);
      close = close || stopping_ || !request.keep_alive();
    }
    response.keep_alive(!close);
    stream.expires_after(std::chrono::seconds(options_.write_timeout_s));
    auto [write_error, written] = co_await beast::http::async_write(stream, response, kUseTuple);
    if (write_error || close) break;
  }
  // Lingering close: stop sending, then read what the client still sends for a moment, so that
  // it receives our answer (413, 431…) rather than a connection reset.
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(kLingerTime);
  for (size_t drained = 0; drained < kLingerBytesMax;) {
    std::array<char, kReadChunkBytes> sink{};
    auto [ec, bytes] = co_await stream.async_read_some(asio::buffer(sink), kUseTuple);
    if (ec) break;
    drained += bytes;
  }
  stream.close();
}

// Answers for requests no route takes: a bad target, a wrong method, a static file or 404.
// A plain function, like everything that builds aggregates: GCC 12 destroys some aggregate
// and initializer-list temporaries twice inside coroutine bodies.
Response Server::Unrouted(const Request& request, const RouteMatch& match,
                          const std::string& request_id, std::string& route_label) const {
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = PathOf(target);
  if (path.empty() || path.front() != '/') {
    return ProblemResponse(Error::Invalid("bad_request", "The request target must be a path."), "",
                           request_id, request.version());
  }
  if (!match.allowed.empty()) {
    std::string allow;
    for (Verb verb : match.allowed) {
      allow += (allow.empty() ? "" : ", ") + std::string(beast::http::to_string(verb));
      if (verb == Verb::get) allow += ", HEAD";
    }
    Error error{ErrorKind::kMethodNotAllowed, "method_not_allowed",
                fmt::format("{} is not allowed on {}; use {}.",
                            std::string_view(request.method_string()), path, allow),
                {}};
    Response response = ProblemResponse(error, path, request_id, request.version());
    response.set(beast::http::field::allow, allow);
    return response;
  }
  const bool readable = request.method() == Verb::get || request.method() == Verb::head;
  if (static_files_ != nullptr && readable && path.rfind("/api/", 0) != 0) {
    if (auto file = static_files_->Serve(request, path)) {
      route_label = "static";
      return std::move(*file);
    }
  }
  return ProblemResponse(Error::NotFound("not_found", fmt::format("Nothing is at {}.", path)), path,
                         request_id, request.version());
}

Response Server::Failed(const std::exception& error, const Request& request,
                        const std::string& request_id, const std::string& route) const {
  log::Error("handler failed", {{"request_id", request_id}, {"route", route},
                                {"error", std::string_view(error.what())}});
  const std::string_view target(request.target().data(), request.target().size());
  return ProblemResponse(Error::Internal(error.what()), PathOf(target), request_id, request.version());
}

void Server::Record(const Request& request, const Response& response, const std::string& request_id,
                    const std::string& route_label, std::chrono::steady_clock::time_point started) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string_view method(request.method_string());
  const std::string_view target(request.target().data(), request.target().size());
  metrics_.Observe(route_label, method, response.result_int(), seconds);
  log::Info("request", {{"request_id", request_id}, {"method", method}, {"path", PathOf(target)},
                        {"route", route_label}, {"status", int64_t{response.result_int()}},
                        {"duration_ms", seconds * 1000.0},
                        {"bytes", static_cast<int64_t>(response.body().size())}});
}

asio::awaitable<Response> Server::Dispatch(const Request& request, std::string request_id) {
  const auto started = std::chrono::steady_clock::now();
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = PathOf(target);
  RouteMatch match;
  if (!path.empty() && path.front() == '/') match = router_.Match(request.method(), path);
  std::string route_label = "unmatched";
  Response response;
  if (match.route != nullptr) {
    route_label = match.route->path;
    RequestContext context;
    context.request = &request;
    context.params = std::move(match.params);
    context.request_id = request_id;
    context.route = match.route->path;
    std::exception_ptr failure;
    try {
      auto handled = match.route->handler(std::move(context));  // see kNoTemporariesInCoAwait
      response = co_await std::move(handled);
    } catch (const std::exception&) {
      failure = std::current_exception();
    }
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& error) {
        response = Failed(error, request, request_id, route_label);
      }
    }
  } else {
    response = Unrouted(request, match, request_id, route_label);
  }
  Finish(response, &request, request_id);
  Record(request, response, request_id, route_label, started);
  co_return response;
}

void Server::Finish(Response& response, const Request* request, const std::string& request_id) const {
  response.version(request != nullptr ? request->version() : 11);
  response.set("X-Request-Id", request_id);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
  response.set("Cross-Origin-Opener-Policy", "same-origin");
  response.set("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()");
  response.set("Content-Security-Policy",
               "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
               "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'");
  if (response.find(beast::http::field::cache_control) == response.end()) {
    response.set(beast::http::field::cache_control, "no-store");
  }
  if (request != nullptr && request->method() == Verb::head) {
    // HEAD: the headers of the GET, without its body.
    const auto length = response.body().size();
    response.body().clear();
    response.content_length(length);
  } else if (response.result() != HttpStatus::not_modified) {
    response.prepare_payload();
  }
}

}  // namespace guichet::http
