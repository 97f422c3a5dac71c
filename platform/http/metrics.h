// Request counters and latency histograms per route, rendered in the Prometheus text format.
// Other pieces (database pool, jobs) append their own lines through PrometheusWriter.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace guichet::http {

class PrometheusWriter {
 public:
  // Writes the # HELP and # TYPE lines once per metric name.
  void Describe(std::string_view name, std::string_view type, std::string_view help);
  // labels: `route="/healthz",method="GET"` (already escaped) or empty.
  void Sample(std::string_view name, std::string_view labels, double value);
  std::string Take() { return std::move(text_); }

  static std::string Escape(std::string_view value);

 private:
  std::string text_;
};

class Metrics {
 public:
  static constexpr std::array<double, 14> kBucketsSeconds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  void Observe(std::string_view route, std::string_view method, int status, double seconds);
  void Render(PrometheusWriter& writer) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBucketsSeconds.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram, std::less<>> latency_;
};

}  // namespace guichet::http
