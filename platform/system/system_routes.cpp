#include "platform/system/system_routes.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "platform/http/problem.h"
#include "platform/storage/migrations.h"

namespace guichet::system {
namespace {

using boost::json::object;
using boost::json::value;
using http::JsonResponse;
using http::ProblemResponse;
using http::RequestContext;
using http::Response;
using storage::Transaction;
using storage::TransactionMode;

Response Problem(const Error& error, const RequestContext& request) {
  return ProblemResponse(error, request.Path(), request.request_id, request.request->version());
}

object JobCountsJson(const std::map<jobs::JobState, int64_t>& counts) {
  object json;
  for (const auto& [state, count] : counts) json[jobs::JobStateName(state)] = count;
  return json;
}

struct StatusSnapshot {
  int64_t schema_version = 0;
  std::map<jobs::JobState, int64_t> jobs;
  std::map<std::pair<std::string, jobs::JobState>, int64_t> jobs_by_kind;
};

Result<StatusSnapshot> ReadSnapshotNow(Transaction& tx);

boost::asio::awaitable<Result<StatusSnapshot>> ReadSnapshot(storage::AsyncDatabase& database) {
  // Built apart from the co_await: GCC 12 destroys temporaries of a co_await expression twice.
  std::function<Result<StatusSnapshot>(Transaction&)> work = ReadSnapshotNow;
  auto read = database.Transact<StatusSnapshot>(TransactionMode::kRead, std::move(work));
  co_return co_await std::move(read);
}

Result<StatusSnapshot> ReadSnapshotNow(Transaction& tx) {
  StatusSnapshot snapshot;
  auto version = tx.QueryOne("SELECT count(*) FROM schema_migrations");
  if (!version.ok()) return std::move(version).error();
  snapshot.schema_version = (*version)->Int(0);
  auto counts = jobs::CountByState(tx);
  if (!counts.ok()) return std::move(counts).error();
  snapshot.jobs = std::move(*counts);
  auto by_kind = jobs::CountByKindAndState(tx);
  if (!by_kind.ok()) return std::move(by_kind).error();
  snapshot.jobs_by_kind = std::move(*by_kind);
  return snapshot;
}

const object kStatusSchema = {
    {"type", "object"},
    {"properties",
     {{"version", {{"type", "string"}}},
      {"backend", {{"type", "string"}, {"enum", {"sqlite", "postgres"}}}},
      {"schema_version", {{"type", "integer"}}},
      {"uptime_s", {{"type", "integer"}}},
      {"jobs", {{"type", "object"}, {"additionalProperties", {{"type", "integer"}}}}}}}};

// Responses are built in plain functions: GCC 12 mishandles some aggregate and
// initializer-list temporaries inside coroutine bodies.
Response HealthResponse() { return JsonResponse(http::HttpStatus::ok, object{{"status", "ok"}}); }

Response ReadyResponse(const Result<StatusSnapshot>& snapshot, const SystemContext& context,
                       const RequestContext& request) {
  if (!snapshot.ok()) {
    return Problem(Error::Unavailable("database_unavailable",
                                      "The database does not answer: " + snapshot.error().message),
                   request);
  }
  return JsonResponse(http::HttpStatus::ok,
                      object{{"status", "ready"},
                             {"database", storage::BackendName(context.database.database().backend())},
                             {"schema_version", snapshot->schema_version}});
}

Response StatusResponse(const Result<StatusSnapshot>& snapshot, const SystemContext& context,
                        const RequestContext& request) {
  if (!snapshot.ok()) return Problem(snapshot.error(), request);
  return JsonResponse(http::HttpStatus::ok,
                      object{{"version", context.version},
                             {"backend", storage::BackendName(context.database.database().backend())},
                             {"schema_version", snapshot->schema_version},
                             {"uptime_s", (context.clock.NowMs() - context.started_at_ms) / 1000},
                             {"jobs", JobCountsJson(snapshot->jobs)}});
}

void AddHealth(http::Router& router, const SystemContext& context) {
  router.Add({http::Verb::get, "/healthz", "getHealth", "",
              {.summary = "Liveness: the process answers",
               .response_schema = object{{"type", "object"}}},
              [](RequestContext) -> boost::asio::awaitable<Response> { co_return HealthResponse(); }});
  router.Add({http::Verb::get, "/readyz", "getReadiness", "",
              {.summary = "Readiness: the database answers and is migrated",
               .response_schema = object{{"type", "object"}},
               .errors = {{503, "The database cannot be reached"}}},
              [&context](RequestContext request) -> boost::asio::awaitable<Response> {
                auto snapshot = co_await ReadSnapshot(context.database);
                co_return ReadyResponse(snapshot, context, request);
              }});
}

Response MetricsResponse(const SystemContext& context, const Result<StatusSnapshot>& snapshot) {
  http::PrometheusWriter writer;
  context.metrics.Render(writer);
  const storage::PoolStats pool = context.database.database().Stats();
  writer.Describe("guichet_db_pool_connections", "gauge", "database connections by state");
  writer.Sample("guichet_db_pool_connections", "state=\"idle\"", static_cast<double>(pool.idle));
  writer.Sample("guichet_db_pool_connections", "state=\"busy\"", static_cast<double>(pool.busy));
  writer.Sample("guichet_db_pool_connections", "state=\"max\"", static_cast<double>(pool.max));
  writer.Describe("guichet_db_pool_waits_total", "counter", "connection requests that had to wait");
  writer.Sample("guichet_db_pool_waits_total", "", static_cast<double>(pool.waits_total));
  writer.Describe("guichet_db_pool_timeouts_total", "counter", "connection requests that gave up");
  writer.Sample("guichet_db_pool_timeouts_total", "", static_cast<double>(pool.timeouts_total));
  const storage::WorkStats work = context.database.database().Work();
  writer.Describe("guichet_db_transactions_total", "counter",
                  "database transactions begun (retries included)");
  writer.Sample("guichet_db_transactions_total", "", static_cast<double>(work.transactions_total));
  writer.Describe("guichet_db_statements_total", "counter",
                  "statements sent inside transactions (BEGIN and COMMIT excluded)");
  writer.Sample("guichet_db_statements_total", "", static_cast<double>(work.statements_total));
  writer.Describe("guichet_db_joined_total", "counter",
                  "Transact calls that joined a request's shared transaction");
  writer.Sample("guichet_db_joined_total", "", static_cast<double>(work.joined_total));
  writer.Describe("guichet_db_shared_fallbacks_total", "counter",
                  "shared transactions rolled back and run again step by step");
  writer.Sample("guichet_db_shared_fallbacks_total", "",
                static_cast<double>(work.shared_fallbacks_total));
  writer.Describe("guichet_database_up", "gauge", "1 when the last query succeeded");
  writer.Sample("guichet_database_up", "", snapshot.ok() ? 1 : 0);
  if (snapshot.ok()) {
    writer.Describe("guichet_jobs", "gauge", "background jobs by state");
    for (const auto& [state, count] : snapshot->jobs) {
      writer.Sample("guichet_jobs", fmt::format("state=\"{}\"", jobs::JobStateName(state)),
                    static_cast<double>(count));
    }
    // Per kind as its own family, so sum(guichet_jobs) stays the total: which kind is dying.
    writer.Describe("guichet_jobs_by_kind", "gauge", "background jobs by kind and state");
    for (const auto& [key, count] : snapshot->jobs_by_kind) {
      writer.Sample("guichet_jobs_by_kind",
                    fmt::format("kind=\"{}\",state=\"{}\"", http::PrometheusWriter::Escape(key.first),
                                  jobs::JobStateName(key.second)),
                    static_cast<double>(count));
    }
  }
  writer.Describe("guichet_uptime_seconds", "gauge", "seconds since the process started");
  writer.Sample("guichet_uptime_seconds", "",
                static_cast<double>(context.clock.NowMs() - context.started_at_ms) / 1000.0);
  Response response(http::HttpStatus::ok, 11);
  response.set(http::beast::http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  response.body() = writer.Take();
  return response;
}

boost::asio::awaitable<Response> RenderMetrics(const SystemContext& context) {
  auto snapshot = co_await ReadSnapshot(context.database);
  co_return MetricsResponse(context, snapshot);
}

}  // namespace

void AddSystemRoutes(http::Router& router, const SystemContext& context) {
  AddHealth(router, context);
  router.Add({http::Verb::get, "/metrics", "getMetrics", "",
              {.summary = "Prometheus metrics: requests, latency, database pool, jobs",
               .success_media_type = "text/plain",
               .response_schema = object{{"type", "string"}}},
              [&context](RequestContext) -> boost::asio::awaitable<Response> {
                co_return co_await RenderMetrics(context);
              }});
  router.Add({http::Verb::get, "/api/openapi.json", "getOpenApi", "",
              {.summary = "This API described in OpenAPI 3.1",
               .response_schema = object{{"type", "object"}}},
              [&context](RequestContext) -> boost::asio::awaitable<Response> {
                co_return JsonResponse(http::HttpStatus::ok,
                                       context.router.OpenApi("Guichet API", context.version));
              }});
  router.Add({http::Verb::get, "/api/v1/system/status", "getSystemStatus", "",
              {.summary = "Version, database, schema version, uptime and job counts",
               .response_schema = kStatusSchema,
               .errors = {{503, "The database cannot be reached"}}},
              [&context](RequestContext request) -> boost::asio::awaitable<Response> {
                auto snapshot = co_await ReadSnapshot(context.database);
                co_return StatusResponse(snapshot, context, request);
              }});
}

}  // namespace guichet::system
