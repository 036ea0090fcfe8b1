// SpscQueue: the bounded single-producer/single-consumer queue between the dataplane's workers
// (packets handed from the receiving worker to the session's owner). The concurrent tests are
// the ones the ThreadSanitizer pass of scripts/test runs.

#include "src/common/spsc_queue.h"

#include <atomic>
#include <cstdint>
#include <thread>

#include "gtest/gtest.h"

namespace strobe {
namespace {

TEST(SpscQueueTest, CapacityIsRoundedUpToAPowerOfTwo) {
  EXPECT_EQ(SpscQueue<int>(1).capacity(), 1u);
  EXPECT_EQ(SpscQueue<int>(5).capacity(), 8u);
  EXPECT_EQ(SpscQueue<int>(64).capacity(), 64u);
}

TEST(SpscQueueTest, FullAndEmptyAreReportedAndOrderIsKept) {
  SpscQueue<int> q(4);
  int out = 0;
  EXPECT_FALSE(q.TryPop(&out));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(q.TryPush(i));
  EXPECT_FALSE(q.TryPush(4));  // full: nothing overwritten
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(q.TryPop(&out));
    EXPECT_EQ(out, i);
  }
  EXPECT_FALSE(q.TryPop(&out));
  // The indices wrap around the slots many times.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(q.TryPush(i));
    ASSERT_TRUE(q.TryPop(&out));
    EXPECT_EQ(out, i);
  }
}

// A record larger than one word: a torn read (the consumer seeing a slot before the producer's
// write is published) shows up as fields that disagree.
struct Record {
  uint64_t seq;
  uint64_t check;
  uint8_t bytes[48];
};

TEST(SpscQueueTest, TwoThreadsPassEveryRecordOnceInOrderAndWhole) {
  constexpr uint64_t kCount = 200000;
  SpscQueue<Record> q(64);  // small, so both the full and the empty paths are taken often
  std::atomic<uint64_t> producer_full{0};
  std::thread producer([&] {
    for (uint64_t i = 0; i < kCount; ++i) {
      Record r{};
      r.seq = i;
      r.check = ~i;
      for (auto& b : r.bytes) b = static_cast<uint8_t>(i);
      while (!q.TryPush(r)) {
        producer_full.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::yield();
      }
    }
  });
  uint64_t expected = 0;
  uint64_t bad = 0;
  while (expected < kCount) {
    Record r;
    if (!q.TryPop(&r)) {
      std::this_thread::yield();
      continue;
    }
    bad += r.seq != expected || r.check != ~expected;
    for (uint8_t b : r.bytes) bad += b != static_cast<uint8_t>(expected);
    ++expected;
  }
  producer.join();
  EXPECT_EQ(bad, 0u);
  Record extra;
  EXPECT_FALSE(q.TryPop(&extra));
}

}  // namespace
}  // namespace strobe
