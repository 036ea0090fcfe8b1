#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "src/ipc/shm_layout.h"
#include "src/ipc/shm_region.h"
#include "src/ipc/shm_ring.h"

namespace strobe::ipc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kRecords = 1'000'000;

// Every field of the record is derived from its sequence number, so a slot read before it was
// written, after it was overwritten, or half-written, does not pass CheckRecord().
EventRecord MakeRecord(uint64_t seq) {
  EventRecord r{};
  r.type = EventType::kStateChange;
  r.old_state = static_cast<uint8_t>(seq % 4);
  r.new_state = static_cast<uint8_t>((seq + 1) % 4);
  r.session_id = static_cast<uint32_t>(seq * 2654435761u);
  r.request_id = seq;
  r.timestamp_ns = static_cast<int64_t>(seq * 7 + 1);
  r.up_transitions = ~seq;
  r.down_transitions = seq ^ 0x5555'5555'5555'5555ULL;
  for (int i = 0; i < 16; ++i) r.peer[i] = static_cast<uint8_t>(seq >> (8 * (i % 8)));
  r.family = 4;
  return r;
}

bool CheckRecord(const EventRecord& r, uint64_t seq) {
  const EventRecord expected = MakeRecord(seq);
  return std::memcmp(&r, &expected, sizeof(r)) == 0;
}

// A ring in a real shared-memory region (memfd, MAP_SHARED), as the processes use it.
class RegionRing {
 public:
  RegionRing() {
    absl::StatusOr<ShmRegion> region = ShmRegion::Create(1, getpid());
    EXPECT_TRUE(region.ok()) << region.status();
    region_ = std::move(*region);
  }
  WorkerArea* area() { return region_.worker(0); }
  ShmRingProducer<EventRecord> Producer(int doorbell_fd = -1) {
    return ShmRingProducer<EventRecord>(&area()->events, area()->event_slots, kRingRecords,
                                        doorbell_fd);
  }
  ShmRingConsumer<EventRecord> Consumer() {
    return ShmRingConsumer<EventRecord>(&area()->events, area()->event_slots, kRingRecords);
  }

 private:
  ShmRegion region_;
};

// A small ring in ordinary memory.
template <uint32_t kCapacity>
struct SmallRing {
  explicit SmallRing(uint64_t start = 0) {
    indices.head.store(start);
    indices.tail.store(start);
    indices.consumer_sleeping.store(0);
  }
  ShmRingProducer<EventRecord> Producer(int doorbell_fd = -1) {
    return ShmRingProducer<EventRecord>(&indices, slots, kCapacity, doorbell_fd);
  }
  ShmRingConsumer<EventRecord> Consumer() {
    return ShmRingConsumer<EventRecord>(&indices, slots, kCapacity);
  }
  RingIndices indices;
  EventRecord slots[kCapacity] = {};
};

// What a producer pushed, in order, and what a consumer received, in order.
struct Trace {
  std::vector<uint64_t> pushed;
  std::vector<uint64_t> received;
  uint64_t corrupt = 0;    // records whose content does not match their sequence number
  uint64_t publishes = 0;  // Publish() calls with something to make visible
  uint64_t doorbells = 0;  // Publish() returned true: the consumer was sleeping
  uint64_t sleeps = 0;     // the consumer blocked on the doorbell
  uint64_t wakeups = 0;    // ... and the doorbell woke it
  uint64_t timeouts = 0;   // ... and it timed out (nothing published: legitimate)
  uint64_t missed = 0;     // ... timed out with records published and no doorbell: a lost wake-up
  bool consumer_gave_up = false;
};

// The producer: sequence numbers 0..n-1 in random batches, Publish() after each batch. When the
// ring is full it publishes what it has and waits for the consumer. With `pause`, it sometimes
// stops for a few microseconds so that a sleeping consumer really falls asleep.
void RunProducer(ShmRingProducer<EventRecord>* producer, uint64_t n, uint64_t seed, bool pause,
                 const std::atomic<bool>* stop, Trace* trace) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint64_t> batch_size(1, 200);
  std::uniform_int_distribution<int> pause_us(0, 50);
  uint64_t next = 0;
  trace->pushed.reserve(n);
  while (next < n) {
    const uint64_t end = std::min(n, next + batch_size(rng));
    for (; next < end; ++next) {
      while (!producer->Push(MakeRecord(next))) {
        if (producer->unpublished() > 0) ++trace->publishes;
        if (producer->Publish()) ++trace->doorbells;
        if (stop->load(std::memory_order_relaxed)) return;
        std::this_thread::yield();
      }
      trace->pushed.push_back(next);
    }
    ++trace->publishes;
    if (producer->Publish()) ++trace->doorbells;
    if (pause && rng() % 8 == 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(pause_us(rng)));
    }
  }
}

// The consumer: pops, returning slots in random batches, until it has `n` records or the
// deadline passes. With `doorbell_fd` >= 0 it sleeps on the doorbell whenever the ring is empty.
void RunConsumer(ShmRingConsumer<EventRecord>* consumer, const RingIndices* indices, uint64_t n,
                 uint64_t seed, int doorbell_fd, Clock::time_point deadline, Trace* trace) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint64_t> release_batch(1, 300);
  trace->received.reserve(n);
  uint64_t unreleased = 0;
  uint64_t release_at = release_batch(rng);
  EventRecord record;
  while (trace->received.size() < n) {
    if (consumer->Pop(&record)) {
      const uint64_t expected = trace->received.size();
      if (!CheckRecord(record, record.request_id) || record.request_id != expected) {
        ++trace->corrupt;
      }
      trace->received.push_back(record.request_id);
      if (++unreleased >= release_at) {
        consumer->Release();
        unreleased = 0;
        release_at = release_batch(rng);
      }
      continue;
    }
    // Empty: give every slot back before waiting, or the producer could wait for us forever.
    if (unreleased > 0) {
      consumer->Release();
      unreleased = 0;
    }
    if (Clock::now() > deadline) {
      trace->consumer_gave_up = true;
      return;
    }
    if (doorbell_fd < 0) {
      std::this_thread::yield();
      continue;
    }
    if (!consumer->PrepareToSleep()) continue;  // records arrived meanwhile
    ++trace->sleeps;
    pollfd p{doorbell_fd, POLLIN, 0};
    int ready = poll(&p, 1, 2000);
    if (ready == 0) {
      // Asleep for 2 s. Legitimate only if nothing was published: a producer that published
      // after we set the flag must ring (give it a generous grace for being descheduled).
      const uint64_t tail = trace->received.size();
      if (indices->head.load(std::memory_order_acquire) != tail) {
        ready = poll(&p, 1, 1000);
        if (ready == 0) ++trace->missed;
      }
      if (ready == 0) ++trace->timeouts;
    }
    consumer->Awake();
    uint64_t value = 0;
    if (read(doorbell_fd, &value, sizeof(value)) == sizeof(value)) ++trace->wakeups;
  }
  if (unreleased > 0) consumer->Release();
}

std::vector<uint64_t> Iota(uint64_t n) {
  std::vector<uint64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

TEST(ShmRingTest, TwoThreadsBusyConsumerNoLossNoDuplicationInOrder) {
  RegionRing ring;
  ShmRingProducer<EventRecord> producer = ring.Producer();
  ShmRingConsumer<EventRecord> consumer = ring.Consumer();
  Trace trace;
  std::atomic<bool> stop{false};
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  std::thread consumer_thread(
      [&] { RunConsumer(&consumer, &ring.area()->events, kRecords, 7, -1, deadline, &trace); });
  RunProducer(&producer, kRecords, 11, /*pause=*/false, &stop, &trace);
  consumer_thread.join();

  ASSERT_FALSE(trace.consumer_gave_up) << "received only " << trace.received.size();
  EXPECT_EQ(trace.corrupt, 0u);
  // The reference model: what the producer pushed, in push order, is exactly 0..n-1...
  ASSERT_EQ(trace.pushed, Iota(kRecords));
  // ...and the consumer received exactly that: nothing lost, nothing twice, nothing reordered.
  ASSERT_EQ(trace.received, trace.pushed);
  EXPECT_EQ(ring.area()->events.head.load(), kRecords);
  EXPECT_EQ(ring.area()->events.tail.load(), kRecords);
}

TEST(ShmRingTest, TwoThreadsSleepingConsumerNeverSleepsThroughPublishedRecords) {
  RegionRing ring;
  const int doorbell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(doorbell, 0);
  ShmRingProducer<EventRecord> producer = ring.Producer(doorbell);
  ShmRingConsumer<EventRecord> consumer = ring.Consumer();
  Trace trace;
  std::atomic<bool> stop{false};
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(120);
  std::thread consumer_thread([&] {
    RunConsumer(&consumer, &ring.area()->events, kRecords, 13, doorbell, deadline, &trace);
    stop.store(true);  // a producer waiting for room must not wait for a consumer that quit
  });
  RunProducer(&producer, kRecords, 17, /*pause=*/true, &stop, &trace);
  consumer_thread.join();
  close(doorbell);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  ASSERT_FALSE(trace.consumer_gave_up) << "deadlock? received only " << trace.received.size();
  EXPECT_EQ(trace.missed, 0u) << "the consumer slept through published records";
  EXPECT_EQ(trace.corrupt, 0u);
  ASSERT_EQ(trace.pushed, Iota(kRecords));
  ASSERT_EQ(trace.received, trace.pushed);
  // The doorbell rings only for a sleeping consumer, at most once per Publish(): far fewer
  // wake-ups than records.
  EXPECT_GT(trace.sleeps, 0u);
  EXPECT_GT(trace.doorbells, 0u);
  EXPECT_LE(trace.doorbells, trace.publishes);
  EXPECT_LT(trace.doorbells, kRecords / 20);
  EXPECT_LE(trace.wakeups, trace.doorbells);
  RecordProperty("doorbells", static_cast<int>(trace.doorbells));
  std::printf(
      "%llu records in %.2f s: %llu publishes, %llu sleeps, %llu doorbells rung, %llu wake-ups, "
      "%llu timeouts\n",
      static_cast<unsigned long long>(kRecords), seconds,
      static_cast<unsigned long long>(trace.publishes),
      static_cast<unsigned long long>(trace.sleeps),
      static_cast<unsigned long long>(trace.doorbells),
      static_cast<unsigned long long>(trace.wakeups),
      static_cast<unsigned long long>(trace.timeouts));
}

TEST(ShmRingTest, PushFailsAtCapacityUntilReleased) {
  SmallRing<8> ring;
  ShmRingProducer<EventRecord> producer = ring.Producer();
  ShmRingConsumer<EventRecord> consumer = ring.Consumer();
  for (uint64_t i = 0; i < 8; ++i) ASSERT_TRUE(producer.Push(MakeRecord(i))) << i;
  EXPECT_FALSE(producer.Push(MakeRecord(8)));
  EXPECT_EQ(producer.unpublished(), 8u);

  // Nothing is visible before Publish().
  EventRecord r;
  EXPECT_FALSE(consumer.Pop(&r));
  EXPECT_FALSE(producer.Publish());  // nobody sleeps: no doorbell
  EXPECT_EQ(producer.unpublished(), 0u);
  EXPECT_FALSE(producer.Publish());  // nothing new

  // Popped but not released: the slots still belong to the consumer.
  for (uint64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(consumer.Pop(&r));
    EXPECT_TRUE(CheckRecord(r, i));
  }
  EXPECT_FALSE(producer.Push(MakeRecord(8)));
  consumer.Release();
  for (uint64_t i = 8; i < 11; ++i) ASSERT_TRUE(producer.Push(MakeRecord(i))) << i;
  EXPECT_FALSE(producer.Push(MakeRecord(11)));
  producer.Publish();
  for (uint64_t i = 3; i < 11; ++i) {
    ASSERT_TRUE(consumer.Pop(&r));
    EXPECT_TRUE(CheckRecord(r, i)) << i;
  }
  EXPECT_FALSE(consumer.Pop(&r));
}

TEST(ShmRingTest, RegionRingHoldsExactlyRingRecords) {
  RegionRing ring;
  ShmRingProducer<EventRecord> producer = ring.Producer();
  ShmRingConsumer<EventRecord> consumer = ring.Consumer();
  for (uint64_t i = 0; i < kRingRecords; ++i) ASSERT_TRUE(producer.Push(MakeRecord(i))) << i;
  EXPECT_FALSE(producer.Push(MakeRecord(kRingRecords)));
  producer.Publish();
  EventRecord r;
  ASSERT_TRUE(consumer.Pop(&r));
  consumer.Release();
  EXPECT_TRUE(producer.Push(MakeRecord(kRingRecords)));
  EXPECT_FALSE(producer.Push(MakeRecord(kRingRecords + 1)));
}

TEST(ShmRingTest, SkipToHeadDropsPublishedRecordsOnly) {
  SmallRing<8> ring;
  ShmRingProducer<EventRecord> producer = ring.Producer();
  ShmRingConsumer<EventRecord> consumer = ring.Consumer();
  for (uint64_t i = 0; i < 8; ++i) ASSERT_TRUE(producer.Push(MakeRecord(i)));
  producer.Publish();
  EventRecord r;
  ASSERT_TRUE(consumer.Pop(&r));  // one read, not released: counted as consumed, not skipped
  EXPECT_EQ(consumer.SkipToHead(), 7u);
  EXPECT_FALSE(consumer.Pop(&r));
  EXPECT_EQ(ring.indices.tail.load(), 8u);  // and the slots are returned

  // A full ring's worth fits again; unpublished records are not skipped.
  for (uint64_t i = 8; i < 13; ++i) ASSERT_TRUE(producer.Push(MakeRecord(i)));
  producer.Publish();
  for (uint64_t i = 13; i < 16; ++i) ASSERT_TRUE(producer.Push(MakeRecord(i)));
  EXPECT_FALSE(producer.Push(MakeRecord(16)));
  EXPECT_EQ(consumer.SkipToHead(), 5u);
  EXPECT_FALSE(consumer.Pop(&r));
  producer.Publish();
  for (uint64_t i = 13; i < 16; ++i) {
    ASSERT_TRUE(consumer.Pop(&r));
    EXPECT_TRUE(CheckRecord(r, i)) << i;
  }
  EXPECT_FALSE(consumer.Pop(&r));
  consumer.Release();
  EXPECT_EQ(consumer.SkipToHead(), 0u);
}

TEST(ShmRingTest, ConsumerAttachingLateStartsAtTheSharedTail) {
  SmallRing<8> ring;
  ShmRingProducer<EventRecord> producer = ring.Producer();
  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(producer.Push(MakeRecord(i)));
  producer.Publish();
  {
    ShmRingConsumer<EventRecord> first = ring.Consumer();
    EventRecord r;
    ASSERT_TRUE(first.Pop(&r));
    ASSERT_TRUE(first.Pop(&r));
    first.Release();
    ASSERT_TRUE(first.Pop(&r));  // read but never released: a restarted consumer reads it again
  }
  ShmRingConsumer<EventRecord> second = ring.Consumer();
  EventRecord r;
  for (uint64_t i = 2; i < 5; ++i) {
    ASSERT_TRUE(second.Pop(&r));
    EXPECT_TRUE(CheckRecord(r, i)) << i;
  }
  EXPECT_FALSE(second.Pop(&r));
}

TEST(ShmRingTest, IndicesWrapAroundUint64) {
  constexpr uint64_t kStart = std::numeric_limits<uint64_t>::max() - 5;
  SmallRing<8> ring(kStart);
  ShmRingProducer<EventRecord> producer = ring.Producer();
  ShmRingConsumer<EventRecord> consumer = ring.Consumer();
  uint64_t next_push = 0, next_pop = 0;
  for (int round = 0; round < 5; ++round) {
    while (producer.Push(MakeRecord(next_push))) ++next_push;
    EXPECT_EQ(next_push - next_pop, 8u);
    producer.Publish();
    EventRecord r;
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(consumer.Pop(&r));
      EXPECT_TRUE(CheckRecord(r, next_pop)) << next_pop;
      ++next_pop;
    }
    consumer.Release();
  }
  EXPECT_LT(ring.indices.head.load(), kStart);  // it did wrap
}

TEST(ShmRingTest, DoorbellRingsOnlyForASleepingConsumer) {
  SmallRing<8> ring;
  const int doorbell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(doorbell, 0);
  ShmRingProducer<EventRecord> producer = ring.Producer(doorbell);
  ShmRingConsumer<EventRecord> consumer = ring.Consumer();
  uint64_t value = 0;

  ASSERT_TRUE(producer.Push(MakeRecord(0)));
  EXPECT_FALSE(producer.Publish());
  EXPECT_EQ(read(doorbell, &value, sizeof(value)), -1);  // not rung

  // Records waiting: the consumer must not go to sleep.
  EXPECT_FALSE(consumer.PrepareToSleep());
  EXPECT_EQ(ring.indices.consumer_sleeping.load(), 0u);
  EventRecord r;
  ASSERT_TRUE(consumer.Pop(&r));
  consumer.Release();

  // Empty: it may sleep, and the next Publish() rings once.
  EXPECT_TRUE(consumer.PrepareToSleep());
  EXPECT_EQ(ring.indices.consumer_sleeping.load(), 1u);
  ASSERT_TRUE(producer.Push(MakeRecord(1)));
  EXPECT_TRUE(producer.Publish());
  ASSERT_EQ(read(doorbell, &value, sizeof(value)), static_cast<ssize_t>(sizeof(value)));
  EXPECT_EQ(value, 1u);
  consumer.Awake();
  ASSERT_TRUE(producer.Push(MakeRecord(2)));
  EXPECT_FALSE(producer.Publish());
  EXPECT_EQ(read(doorbell, &value, sizeof(value)), -1);

  // Popped but unreleased records do not keep the consumer awake: it has them already.
  ASSERT_TRUE(consumer.Pop(&r));
  ASSERT_TRUE(consumer.Pop(&r));
  EXPECT_TRUE(consumer.PrepareToSleep());
  consumer.Awake();
  close(doorbell);
}

}  // namespace
}  // namespace strobe::ipc
