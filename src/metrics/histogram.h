#ifndef STROBE_SRC_METRICS_HISTOGRAM_H_
#define STROBE_SRC_METRICS_HISTOGRAM_H_

// A fixed-bucket latency histogram: no allocation, no locks, owned by one thread (a worker's
// counters, the FIB writer on the event loop) and read by that thread when it builds the JSON of
// its counters. The JSON form is what the Prometheus renderers (prometheus.h) read:
//   {"bounds_us": [100, 250, ...], "cumulative": [n <= 100, n <= 250, ...], "sum_us": S,
//    "count": N}
// so `strobectl --json` and /metrics show the same numbers.

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace strobe::metrics {

class LatencyHistogram {
 public:
  // 100 us to 10 s, about three buckets per decade.
  static constexpr std::array<int64_t, 16> kBoundsUs = {
      100,    250,     500,     1'000,   2'500,     5'000,     10'000,    25'000,
      50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};

  void ObserveNs(int64_t ns) {
    const int64_t us = ns < 0 ? 0 : ns / 1000;
    size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    ++counts_[i];
    sum_us_ += us;
    ++count_;
  }

  uint64_t count() const { return count_; }

  nlohmann::json ToJson() const {
    nlohmann::json bounds = nlohmann::json::array();
    nlohmann::json cumulative = nlohmann::json::array();
    uint64_t running = 0;
    for (size_t i = 0; i < kBoundsUs.size(); ++i) {
      running += counts_[i];
      bounds.push_back(kBoundsUs[i]);
      cumulative.push_back(running);
    }
    return {
        {"bounds_us", bounds}, {"cumulative", cumulative}, {"sum_us", sum_us_}, {"count", count_}};
  }

 private:
  std::array<uint64_t, kBoundsUs.size() + 1> counts_ = {};  // the last one: above 10 s
  uint64_t sum_us_ = 0;
  uint64_t count_ = 0;
};

}  // namespace strobe::metrics

#endif  // STROBE_SRC_METRICS_HISTOGRAM_H_
