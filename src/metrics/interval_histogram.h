#ifndef STROBE_SRC_METRICS_INTERVAL_HISTOGRAM_H_
#define STROBE_SRC_METRICS_INTERVAL_HISTOGRAM_H_

// The received-interval histogram of interval_buckets.h as a C++ value: owned by one thread (a
// worker), merged by whoever reports (the dataplane's `show bfd counters`, the load generator's
// report), together with the XDP program's per-CPU copy of the same buckets.

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "src/metrics/interval_buckets.h"

namespace strobe::metrics {

class IntervalHistogram {
 public:
  static constexpr size_t kBuckets = STROBE_INTERVAL_BUCKETS;

  void ObserveUs(uint64_t us) {
    ++counts_[strobe_interval_bucket(us)];
    ++count_;
    if (us > max_us_) max_us_ = us;
  }
  // Counts taken from elsewhere (the XDP program's buckets).
  void AddBucket(size_t index, uint64_t n) {
    if (index >= kBuckets || n == 0) return;
    counts_[index] += n;
    count_ += n;
  }
  void NoteMaxUs(uint64_t us) {
    if (us > max_us_) max_us_ = us;
  }
  void Merge(const IntervalHistogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    NoteMaxUs(other.max_us_);
  }
  void Reset() { *this = IntervalHistogram(); }

  uint64_t count() const { return count_; }
  uint64_t max_us() const { return max_us_; }
  uint64_t bucket(size_t index) const { return counts_[index]; }

  // The value below which a fraction `q` (0..1) of the gaps fall: the middle of the bucket
  // holding that rank (never above the maximum seen). 0 when empty.
  uint64_t PercentileUs(double q) const {
    if (count_ == 0) return 0;
    const double rank = q * static_cast<double>(count_);
    uint64_t target = static_cast<uint64_t>(rank);
    if (static_cast<double>(target) < rank || target == 0) ++target;  // ceil, at least 1
    uint64_t running = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      running += counts_[i];
      if (running >= target) {
        const uint64_t lower = strobe_interval_bucket_lower_us(static_cast<unsigned>(i));
        const uint64_t upper = i + 1 < kBuckets
                                   ? strobe_interval_bucket_lower_us(static_cast<unsigned>(i + 1))
                                   : lower + 1;
        const uint64_t middle = lower + (upper - lower) / 2;
        return max_us_ != 0 && middle > max_us_ ? max_us_ : middle;
      }
    }
    return max_us_;
  }

  // {"count", "p50", "p90", "p99", "max"} in microseconds.
  nlohmann::json SummaryJson() const {
    return {{"count", count_},
            {"p50", PercentileUs(0.50)},
            {"p90", PercentileUs(0.90)},
            {"p99", PercentileUs(0.99)},
            {"max", max_us_}};
  }
  // The non-empty buckets, [[lower_us, upper_us, count], ...], for plots.
  nlohmann::json BucketsJson() const {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < kBuckets; ++i) {
      if (counts_[i] == 0) continue;
      const uint64_t lower = strobe_interval_bucket_lower_us(static_cast<unsigned>(i));
      const uint64_t upper = i + 1 < kBuckets
                                 ? strobe_interval_bucket_lower_us(static_cast<unsigned>(i + 1))
                                 : lower + 1;
      out.push_back({lower, upper, counts_[i]});
    }
    return out;
  }

 private:
  std::array<uint64_t, kBuckets> counts_ = {};
  uint64_t count_ = 0;
  uint64_t max_us_ = 0;
};

}  // namespace strobe::metrics

#endif  // STROBE_SRC_METRICS_INTERVAL_HISTOGRAM_H_
