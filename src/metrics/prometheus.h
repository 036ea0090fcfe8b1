#ifndef STROBE_SRC_METRICS_PROMETHEUS_H_
#define STROBE_SRC_METRICS_PROMETHEUS_H_

// The Prometheus text exposition format (version 0.0.4) and the two daemons' /metrics pages.
// The pages are rendered from the very JSON the control sockets return (`show bfd counters`,
// `show bfd sessions`, `show bgp summary`, `show bgp neighbors`, `show fib`), so /metrics and
// `strobectl --json` agree by construction.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strobe::metrics {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

using Labels = std::vector<std::pair<std::string, std::string>>;

// Label values: backslash, double quote and line feed escaped. HELP text: backslash and line
// feed.
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);
// Integers without exponent or fraction; "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

// A histogram as the text format wants it: cumulative counts per finite upper bound (the +Inf
// bucket is `count`).
struct HistogramSample {
  std::vector<double> upper_bounds;
  std::vector<uint64_t> cumulative;
  double sum = 0;
  uint64_t count = 0;
};
// From LatencyHistogram::ToJson() (bounds in microseconds) to seconds; several JSON histograms
// of the same bounds are added (the workers'). Returns false when `j` is not such an object.
bool AddHistogramJson(const nlohmann::json& j, HistogramSample* out);

class TextWriter {
 public:
  // `# HELP` and `# TYPE` ("counter", "gauge", "histogram"); each family once, before its
  // samples.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, double value);
  // An integer sample from JSON (unsigned, signed or floating); null or absent counts as 0.
  void Sample(std::string_view name, const Labels& labels, const nlohmann::json& value);
  // name_bucket{...,le="..."} for every bound and +Inf, name_sum, name_count.
  void Histogram(std::string_view name, const Labels& labels, const HistogramSample& h);

  const std::string& text() const { return out_; }

 private:
  void Line(std::string_view name, const Labels& labels, std::string_view value);
  std::string out_;
};

// strobe-dataplane: `counters` is the result of "show bfd counters", `sessions` that of
// "show bfd sessions".
std::string RenderDataplane(const nlohmann::json& counters, const nlohmann::json& sessions);
// strobe-bgpd: "show bgp summary", "show bgp neighbors" and "show fib" {"summary": true} (null
// when the FIB is not programmed).
std::string RenderBgpd(const nlohmann::json& summary, const nlohmann::json& neighbors,
                       const nlohmann::json& fib);

}  // namespace strobe::metrics

#endif  // STROBE_SRC_METRICS_PROMETHEUS_H_
