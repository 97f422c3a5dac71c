// Operations routes (health, readiness, metrics, the OpenAPI document, service status) and the
// diagnostics routes that tests and smoke checks use (an echo and test jobs), off by default.
#pragma once

#include <string>

#include "platform/base/clock.h"
#include "platform/http/metrics.h"
#include "platform/http/router.h"
#include "platform/jobs/jobs.h"
#include "platform/storage/async_database.h"

namespace guichet::system {

struct SystemContext {
  storage::AsyncDatabase& database;
  http::Metrics& metrics;
  const Clock& clock;
  const http::Router& router;  // for the OpenAPI document
  std::string version;
  int64_t started_at_ms = 0;
};

void AddSystemRoutes(http::Router& router, const SystemContext& context);

inline constexpr std::string_view kDiagnosticsPingKind = "diagnostics.ping";
inline constexpr int64_t kEchoDelayMsMax = 10000;

void AddDiagnosticsRoutes(http::Router& router, const SystemContext& context);
// The job behind POST /api/v1/diagnostics/jobs: fails its first `fail_times` attempts.
void RegisterDiagnosticsJobs(jobs::Runner& runner);

}  // namespace guichet::system
