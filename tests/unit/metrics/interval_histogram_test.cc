// The received-interval buckets (src/metrics/interval_buckets.h, shared with the XDP program) and
// their C++ accumulator (src/metrics/interval_histogram.h).

#include "src/metrics/interval_histogram.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "src/metrics/interval_buckets.h"

namespace strobe::metrics {
namespace {

constexpr unsigned kBuckets = STROBE_INTERVAL_BUCKETS;

uint64_t Lower(unsigned index) { return strobe_interval_bucket_lower_us(index); }

// Checks that `v` falls in its bucket: [lower, next lower), or the last bucket from its lower on.
void ExpectInItsBucket(uint64_t v) {
  const unsigned b = strobe_interval_bucket(v);
  ASSERT_LT(b, kBuckets) << v;
  EXPECT_LE(Lower(b), v) << "bucket " << b;
  if (b + 1 < kBuckets) {
    EXPECT_LT(v, Lower(b + 1)) << "bucket " << b;
  }
}

TEST(IntervalBuckets, BoundariesAreContiguousAndIncreasing) {
  EXPECT_EQ(Lower(0), 0u);
  for (unsigned i = 0; i + 1 < kBuckets; ++i) {
    SCOPED_TRACE(i);
    ASSERT_LT(Lower(i), Lower(i + 1));
    // The bucket's first and last values map to it: no gap, no overlap with its neighbours.
    EXPECT_EQ(strobe_interval_bucket(Lower(i)), i);
    EXPECT_EQ(strobe_interval_bucket(Lower(i + 1) - 1), i);
  }
  EXPECT_EQ(strobe_interval_bucket(Lower(kBuckets - 1)), kBuckets - 1);
}

TEST(IntervalBuckets, OneMicrosecondWideBelow256) {
  for (unsigned v = 0; v < 256; ++v) {
    EXPECT_EQ(strobe_interval_bucket(v), v);
    EXPECT_EQ(Lower(v), v);
  }
  EXPECT_EQ(strobe_interval_bucket(256), 256u);
  EXPECT_EQ(strobe_interval_bucket(257), 256u);  // width 2 in [256, 512)
  EXPECT_EQ(strobe_interval_bucket(258), 257u);
}

TEST(IntervalBuckets, EveryValueBelowTwoToTheTwentyFallsInItsBucket) {
  for (uint64_t v = 0; v < (uint64_t{1} << 20); ++v) {
    ExpectInItsBucket(v);
    if (HasFailure()) return;  // one report, not a million
  }
}

TEST(IntervalBuckets, SampledValuesAboveFallInTheirBuckets) {
  std::vector<uint64_t> values;
  // Around every power of two up to 2^40.
  for (int k = 20; k <= 40; ++k) {
    const uint64_t p = uint64_t{1} << k;
    for (uint64_t d : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{3}}) {
      values.push_back(p - 1 - d);
      values.push_back(p + d);
    }
  }
  // A geometric sweep (ratio about 1.001) from 2^20 up to 2^36.
  for (uint64_t v = uint64_t{1} << 20; v < (uint64_t{1} << 36); v += v / 997 + 1) {
    values.push_back(v);
  }
  // Every bucket boundary above 2^20, and either side of it.
  for (unsigned i = 0; i < kBuckets; ++i) {
    const uint64_t lower = Lower(i);
    if (lower < (uint64_t{1} << 20)) continue;
    values.push_back(lower - 1);
    values.push_back(lower);
    values.push_back(lower + 1);
  }
  values.push_back(UINT64_MAX);
  for (uint64_t v : values) {
    ExpectInItsBucket(v);
    if (HasFailure()) return;
  }
}

TEST(IntervalBuckets, TwoToTheThirtyTwoAndAboveShareTheLastBucket) {
  const uint64_t limit = uint64_t{1} << 32;
  EXPECT_EQ(strobe_interval_bucket(limit - 1), kBuckets - 1);
  EXPECT_EQ(strobe_interval_bucket(limit), kBuckets - 1);
  EXPECT_EQ(strobe_interval_bucket(limit * 1000), kBuckets - 1);
  EXPECT_EQ(strobe_interval_bucket(UINT64_MAX), kBuckets - 1);
  EXPECT_LT(strobe_interval_bucket(Lower(kBuckets - 1) - 1), kBuckets - 1);
}

TEST(IntervalBuckets, NeverWiderThanOne128thAbove256) {
  for (unsigned i = 256; i + 1 < kBuckets; ++i) {
    SCOPED_TRACE(i);
    const uint64_t width = Lower(i + 1) - Lower(i);
    EXPECT_LE(width * 128, Lower(i));
  }
  // The examples of the header: 64 us at 10 ms, 2 ms at 300 ms.
  const unsigned at_10ms = strobe_interval_bucket(10'000);
  EXPECT_EQ(Lower(at_10ms + 1) - Lower(at_10ms), 64u);
  const unsigned at_300ms = strobe_interval_bucket(300'000);
  EXPECT_EQ(Lower(at_300ms + 1) - Lower(at_300ms), 2048u);
}

// 1,000 gaps of 10 ms and 10 of 20 ms: the shape of a steady peer with a few late packets.
IntervalHistogram TenMillisecondsMostly() {
  IntervalHistogram h;
  for (int i = 0; i < 1000; ++i) h.ObserveUs(10'000);
  for (int i = 0; i < 10; ++i) h.ObserveUs(20'000);
  return h;
}

// Whether `us` lies in the bucket of `value`.
bool InBucketOf(uint64_t us, uint64_t value) {
  const unsigned b = strobe_interval_bucket(value);
  return Lower(b) <= us && us < Lower(b + 1);
}

TEST(IntervalHistogram, EmptyReportsZeros) {
  const IntervalHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.max_us(), 0u);
  EXPECT_EQ(h.PercentileUs(0.5), 0u);
  EXPECT_EQ(h.PercentileUs(0.99), 0u);
  EXPECT_EQ(h.SummaryJson(),
            (nlohmann::json{{"count", 0}, {"p50", 0}, {"p90", 0}, {"p99", 0}, {"max", 0}}));
  EXPECT_EQ(h.BucketsJson(), nlohmann::json::array());
}

TEST(IntervalHistogram, PercentilesOnKnownData) {
  const IntervalHistogram h = TenMillisecondsMostly();
  EXPECT_EQ(h.count(), 1010u);
  EXPECT_EQ(h.max_us(), 20'000u);
  EXPECT_EQ(h.bucket(strobe_interval_bucket(10'000)), 1000u);
  EXPECT_EQ(h.bucket(strobe_interval_bucket(20'000)), 10u);
  // The middle of 10 ms's bucket [9984, 10048): 10016.
  EXPECT_EQ(h.PercentileUs(0.50), 10'016u);
  EXPECT_TRUE(InBucketOf(h.PercentileUs(0.50), 10'000));
  EXPECT_TRUE(InBucketOf(h.PercentileUs(0.90), 10'000));
  // Rank 999.9 -> the 1,000th gap: still 10 ms. The 1,001st is 20 ms.
  EXPECT_TRUE(InBucketOf(h.PercentileUs(0.99), 10'000));
  EXPECT_TRUE(InBucketOf(h.PercentileUs(1001.0 / 1010), 20'000));
  // The middle of 20 ms's bucket (20032) is above the largest gap seen: the maximum instead.
  EXPECT_EQ(h.PercentileUs(1.0), 20'000u);
  EXPECT_EQ(h.PercentileUs(0.0), 10'016u);  // at least the first gap
}

TEST(IntervalHistogram, SummaryJson) {
  const IntervalHistogram h = TenMillisecondsMostly();
  EXPECT_EQ(
      h.SummaryJson(),
      (nlohmann::json{
          {"count", 1010}, {"p50", 10'016}, {"p90", 10'016}, {"p99", 10'016}, {"max", 20'000}}));
  EXPECT_EQ(h.BucketsJson(), (nlohmann::json{{9984, 10048, 1000}, {19968, 20096, 10}}));
}

TEST(IntervalHistogram, MergeDoublesCounts) {
  const IntervalHistogram one = TenMillisecondsMostly();
  IntervalHistogram two = one;
  two.Merge(one);
  EXPECT_EQ(two.count(), 2020u);
  EXPECT_EQ(two.max_us(), 20'000u);
  for (size_t i = 0; i < IntervalHistogram::kBuckets; ++i) {
    ASSERT_EQ(two.bucket(i), 2 * one.bucket(i)) << i;
  }
  EXPECT_EQ(two.PercentileUs(0.50), one.PercentileUs(0.50));
  EXPECT_EQ(two.PercentileUs(0.99), one.PercentileUs(0.99));
  // A larger maximum from the other side is taken.
  IntervalHistogram late;
  late.ObserveUs(300'000);
  two.Merge(late);
  EXPECT_EQ(two.count(), 2021u);
  EXPECT_EQ(two.max_us(), 300'000u);
  two.Reset();
  EXPECT_EQ(two.count(), 0u);
  EXPECT_EQ(two.max_us(), 0u);
}

// The XDP program's buckets come in as counts per bucket and a maximum: the same histogram as
// observing the values one by one.
TEST(IntervalHistogram, AddBucketAndNoteMaxMatchObserving) {
  const IntervalHistogram observed = TenMillisecondsMostly();
  IntervalHistogram added;
  added.AddBucket(strobe_interval_bucket(10'000), 1000);
  added.AddBucket(strobe_interval_bucket(20'000), 10);
  added.AddBucket(5, 0);         // nothing
  added.AddBucket(kBuckets, 7);  // out of range: ignored
  added.NoteMaxUs(20'000);
  added.NoteMaxUs(15'000);  // not a new maximum
  EXPECT_EQ(added.count(), observed.count());
  EXPECT_EQ(added.max_us(), observed.max_us());
  for (size_t i = 0; i < IntervalHistogram::kBuckets; ++i) {
    ASSERT_EQ(added.bucket(i), observed.bucket(i)) << i;
  }
  EXPECT_EQ(added.SummaryJson(), observed.SummaryJson());
}

}  // namespace
}  // namespace strobe::metrics
