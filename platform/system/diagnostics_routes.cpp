// Diagnostics: an echo that exercises strict JSON validation and slow requests, and test jobs
// that exercise persistence, retries and backoff end to end. Enabled by `diagnostics = true`.
#include <charconv>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"
#include "platform/system/system_routes.h"

namespace guichet::system {
namespace {

using boost::json::array;
using boost::json::object;
using http::JsonReader;
using http::JsonResponse;
using http::RequestContext;
using http::Response;
using storage::Transaction;
using storage::TransactionMode;

constexpr int64_t kJobDelayMsMax = 24 * 3600 * 1000;
constexpr int64_t kFailTimesMax = 10;
constexpr int64_t kMaxAttemptsMax = 10;

Response Problem(const Error& error, const RequestContext& request) {
  return http::ProblemResponse(error, request.Path(), request.request_id, request.request->version());
}

object JobJson(const jobs::JobRecord& job) {
  return {{"id", job.id},
          {"kind", job.kind},
          {"state", jobs::JobStateName(job.state)},
          {"attempts", job.attempts},
          {"max_attempts", job.max_attempts},
          {"last_error", job.last_error ? boost::json::value(*job.last_error) : nullptr},
          {"run_at", FormatIso8601(job.run_at_ms)}};
}

const object kEchoSchema = {
    {"type", "object"},
    {"required", {"message", "count"}},
    {"additionalProperties", false},
    {"properties",
     {{"message", {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}}},
      {"count", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}},
      {"tags", {{"type", "array"}, {"maxItems", 10},
                {"items", {{"type", "string"}, {"minLength", 1}, {"maxLength", 32}}}}},
      {"delay_ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", kEchoDelayMsMax}}}}}};

const object kJobRequestSchema = {
    {"type", "object"},
    {"additionalProperties", false},
    {"properties",
     {{"fail_times", {{"type", "integer"}, {"minimum", 0}, {"maximum", kFailTimesMax}}},
      {"max_attempts", {{"type", "integer"}, {"minimum", 1}, {"maximum", kMaxAttemptsMax}}},
      {"delay_ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", kJobDelayMsMax}}}}}};

const object kJobSchema = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}}},
      {"kind", {{"type", "string"}}},
      {"state", {{"type", "string"}, {"enum", {"queued", "running", "succeeded", "dead"}}}},
      {"attempts", {{"type", "integer"}}},
      {"max_attempts", {{"type", "integer"}}},
      {"last_error", {{"type", {"string", "null"}}}},
      {"run_at", {{"type", "string"}, {"format", "date-time"}}}}}};

// Coroutine bodies stay small and build no aggregates or initializer lists: GCC 12 destroys
// some temporaries of those twice inside coroutines. Plain functions do the work.
struct EchoInput {
  std::string message;
  int64_t count = 0;
  std::vector<std::string> tags;
  int64_t delay_ms = 0;
};

Result<EchoInput> ParseEcho(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  EchoInput input;
  input.message = reader.RequiredString("message", {1, 200});
  input.count = reader.RequiredInteger("count", 1, 100);
  input.tags = reader.OptionalStringArray("tags", 10, {1, 32});
  input.delay_ms = reader.OptionalInteger("delay_ms", 0, kEchoDelayMsMax).value_or(0);
  GUICHET_TRY_STATUS(reader.Finish());
  return input;
}

Response EchoResponse(const EchoInput& input, const RequestContext& request) {
  array tags(input.tags.begin(), input.tags.end());
  return JsonResponse(http::HttpStatus::ok, object{{"message", input.message},
                                                   {"count", input.count},
                                                   {"tags", std::move(tags)},
                                                   {"request_id", request.request_id}});
}

boost::asio::awaitable<Response> Echo(RequestContext request) {
  auto input = ParseEcho(*request.request);
  if (!input.ok()) co_return Problem(input.error(), request);
  if (input->delay_ms > 0) {
    // Waits without holding a thread: other requests are served meanwhile.
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(input->delay_ms));
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
  co_return EchoResponse(*input, request);
}

Result<jobs::JobRequest> ParseJobRequest(const http::Request& request, int64_t now_ms) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  const int64_t fail_times = reader.OptionalInteger("fail_times", 0, kFailTimesMax).value_or(0);
  jobs::JobRequest job;
  job.kind = std::string(kDiagnosticsPingKind);
  job.max_attempts = reader.OptionalInteger("max_attempts", 1, kMaxAttemptsMax).value_or(3);
  job.run_at_ms = now_ms + reader.OptionalInteger("delay_ms", 0, kJobDelayMsMax).value_or(0);
  GUICHET_TRY_STATUS(reader.Finish());
  job.payload = boost::json::serialize(object{{"fail_times", fail_times}});
  return job;
}

Response JobAccepted(int64_t id) {
  Response response = JsonResponse(http::HttpStatus::accepted, object{{"id", id}, {"state", "queued"}});
  response.set(http::beast::http::field::location, fmt::format("/api/v1/diagnostics/jobs/{}", id));
  return response;
}

boost::asio::awaitable<Response> PostJob(const SystemContext& context, RequestContext request) {
  const int64_t now = context.clock.NowMs();
  auto job = ParseJobRequest(*request.request, now);
  if (!job.ok()) co_return Problem(job.error(), request);
  std::function<Result<int64_t>(Transaction&)> work = [job = *job, now](Transaction& tx) {
    return jobs::Enqueue(tx, job, now);
  };
  // Built apart from the co_await: GCC 12 destroys temporaries of a co_await expression twice.
  auto enqueue = context.database.Transact<int64_t>(TransactionMode::kWrite, std::move(work));
  auto id = co_await std::move(enqueue);
  if (!id.ok()) co_return Problem(id.error(), request);
  co_return JobAccepted(*id);
}

Response JobFound(const Result<std::optional<jobs::JobRecord>>& job, int64_t id,
                  const RequestContext& request) {
  if (!job.ok()) return Problem(job.error(), request);
  if (!job->has_value()) {
    return Problem(Error::NotFound("job_not_found", fmt::format("There is no job {}.", id)), request);
  }
  return JsonResponse(http::HttpStatus::ok, JobJson(**job));
}

boost::asio::awaitable<Response> GetJob(const SystemContext& context, RequestContext request) {
  auto id = http::PositiveId(request.Param("id"), "job id");
  if (!id.ok()) co_return Problem(id.error(), request);
  std::function<Result<std::optional<jobs::JobRecord>>(Transaction&)> work =
      [id = *id](Transaction& tx) { return jobs::Find(tx, id); };
  auto find = context.database.Transact<std::optional<jobs::JobRecord>>(TransactionMode::kRead,
                                                                       std::move(work));
  auto job = co_await std::move(find);
  co_return JobFound(job, *id, request);
}

}  // namespace

void AddDiagnosticsRoutes(http::Router& router, const SystemContext& context) {
  router.Add({http::Verb::post, "/api/v1/diagnostics/echo", "postDiagnosticsEcho", "",
              {.summary = "Echo a validated body, optionally after a delay",
               .tag = "diagnostics",
               .request_schema = kEchoSchema,
               .response_schema = object{{"type", "object"}},
               .errors = {{400, "Malformed JSON"}, {415, "Not application/json"},
                          {422, "A field is missing, mistyped or out of range"}}},
              Echo});
  router.Add({http::Verb::post, "/api/v1/diagnostics/jobs", "postDiagnosticsJob", "",
              {.summary = "Enqueue a test job that fails a chosen number of times",
               .tag = "diagnostics",
               .request_schema = kJobRequestSchema,
               .success_status = 202,
               .success_description = "Accepted: the job is queued",
               .response_schema = object{{"type", "object"}},
               .errors = {{400, "Malformed JSON"}, {415, "Not application/json"},
                          {422, "A field is mistyped or out of range"}}},
              [&context](RequestContext request) { return PostJob(context, std::move(request)); }});
  router.Add({http::Verb::get, "/api/v1/diagnostics/jobs/{id}", "getDiagnosticsJob", "",
              {.summary = "State of a job: attempts, last error, next run",
               .tag = "diagnostics",
               .response_schema = kJobSchema,
               .errors = {{400, "The id is not a positive integer"}, {404, "No such job"}}},
              [&context](RequestContext request) { return GetJob(context, std::move(request)); }});
}

void RegisterDiagnosticsJobs(jobs::Runner& runner) {
  runner.Register(std::string(kDiagnosticsPingKind), [](const jobs::JobRecord& job) -> Status {
    boost::system::error_code ec;
    const auto payload = boost::json::parse(job.payload, ec);
    GUICHET_ASSERT(!ec && payload.is_object());  // written by the route above
    const int64_t fail_times = payload.as_object().at("fail_times").as_int64();
    if (job.attempts <= fail_times) {
      return Error::Internal(fmt::format("planned failure {} of {}", job.attempts, fail_times));
    }
    return OkStatus();
  });
}

}  // namespace guichet::system
