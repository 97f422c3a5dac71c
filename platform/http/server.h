// The HTTP/1.1 server: Boost.Beast over Asio with C++20 coroutines, one strand per connection,
// deadlines on every read and write, bounded headers and bodies, and a graceful stop on
// SIGTERM/SIGINT that lets requests in flight finish.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "platform/base/result.h"
#include "platform/http/metrics.h"
#include "platform/http/router.h"
#include "platform/http/static_files.h"

namespace guichet::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int64_t port = 8080;
  int64_t threads = 2;
  int64_t header_bytes_max = 16 * 1024;
  int64_t body_bytes_max = 1024 * 1024;
  int64_t read_timeout_s = 10;
  int64_t write_timeout_s = 30;
  int64_t idle_timeout_s = 30;
  int64_t shutdown_grace_s = 20;
};

class Server {
 public:
  // `static_files` may be null (no web app to serve).
  Server(ServerOptions options, const Router& router, Metrics& metrics, StaticFiles* static_files);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; returns the port (useful with port 0).
  Result<uint16_t> Listen();

  // Serves until SIGTERM or SIGINT (or Stop), then stops accepting, lets requests in flight
  // finish within the grace period, and returns.
  void Run();

  // Starts the graceful stop from any thread.
  void Stop();

  boost::asio::io_context& context() { return context_; }

 private:
  struct Session;
  boost::asio::awaitable<void> Accept();
  boost::asio::awaitable<void> Serve(std::shared_ptr<Session> session);
  boost::asio::awaitable<Response> Dispatch(const Request& request, std::string request_id);
  boost::asio::awaitable<void> Drain();
  void BeginStop();
  void Finish(Response& response, const Request* request, const std::string& request_id) const;
  Response Unrouted(const Request& request, const RouteMatch& match, const std::string& request_id,
                    std::string& route_label) const;
  Response Failed(const std::exception& error, const Request& request, const std::string& request_id,
                  const std::string& route) const;
  Response Refused(const boost::system::error_code& read_error, const Request* header);
  void Record(const Request& request, const Response& response, const std::string& request_id,
              const std::string& route_label, std::chrono::steady_clock::time_point started);

  ServerOptions options_;
  const Router& router_;
  Metrics& metrics_;
  StaticFiles* static_files_;
  boost::asio::io_context context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex sessions_mutex_;
  std::map<uint64_t, std::weak_ptr<Session>> sessions_;
  uint64_t next_session_id_ = 0;
};

// A fresh request id: 16 random hex characters.
std::string NewRequestId();
// A client-sent id is kept when it is 1..64 characters of [A-Za-z0-9._-].
bool IsValidRequestId(std::string_view id);

}  // namespace guichet::http
