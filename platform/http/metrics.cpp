#include "platform/http/metrics.h"

#include <fmt/format.h>

namespace guichet::http {

void PrometheusWriter::Describe(std::string_view name, std::string_view type,
                                std::string_view help) {
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PrometheusWriter::Sample(std::string_view name, std::string_view labels, double value) {
  if (labels.empty()) {
    text_ += fmt::format("{} {}\n", name, value);
  } else {
    text_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
}

std::string PrometheusWriter::Escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void Metrics::Observe(std::string_view route, std::string_view method, int status,
                      double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), std::string(method), status}];
  auto found = latency_.find(route);
  if (found == latency_.end()) found = latency_.emplace(std::string(route), Histogram{}).first;
  Histogram& histogram = found->second;
  for (size_t i = 0; i < kBucketsSeconds.size(); ++i) {
    if (seconds <= kBucketsSeconds[i]) ++histogram.buckets[i];
  }
  ++histogram.count;
  histogram.sum += seconds;
}

void Metrics::Render(PrometheusWriter& writer) const {
  std::lock_guard lock(mutex_);
  writer.Describe("guichet_http_requests_total", "counter", "HTTP requests answered");
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, status] = key;
    writer.Sample("guichet_http_requests_total",
                  fmt::format("method=\"{}\",route=\"{}\",status=\"{}\"", method,
                              PrometheusWriter::Escape(route), status),
                  static_cast<double>(count));
  }
  writer.Describe("guichet_http_request_duration_seconds", "histogram",
                  "time from a complete request to its response, by route");
  for (const auto& [route, histogram] : latency_) {
    const std::string label = PrometheusWriter::Escape(route);
    for (size_t i = 0; i < kBucketsSeconds.size(); ++i) {
      writer.Sample("guichet_http_request_duration_seconds_bucket",
                    fmt::format("route=\"{}\",le=\"{}\"", label, kBucketsSeconds[i]),
                    static_cast<double>(histogram.buckets[i]));
    }
    writer.Sample("guichet_http_request_duration_seconds_bucket",
                  fmt::format("route=\"{}\",le=\"+Inf\"", label), static_cast<double>(histogram.count));
    writer.Sample("guichet_http_request_duration_seconds_sum", fmt::format("route=\"{}\"", label),
                  histogram.sum);
    writer.Sample("guichet_http_request_duration_seconds_count",
                  fmt::format("route=\"{}\"", label), static_cast<double>(histogram.count));
  }
}

}  // namespace guichet::http
