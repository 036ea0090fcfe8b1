// Benchmark of one events ring (src/ipc/shm_ring.h) in a real shared-memory region, between two
// threads pinned to two CPUs, the way strobe-dataplane's worker and its control-plane client use
// it:
//  - latency from the producer's CLOCK_MONOTONIC timestamp, taken right before Push() + Publish()
//    and carried in the record's timestamp_ns, to the consumer's receipt, for events sent one at
//    a time with a gap (so each is on its own), with the consumer busy-polling, then sleeping on
//    the eventfd doorbell (PrepareToSleep, epoll_wait, Awake) the way BfdClient::Wait does;
//  - throughput: records per second the ring carries with a busy consumer, in batches of 64.
//
// Usage: ring_bench [events [gap_us]] [--records N] [--json]
//   (defaults: 100000 events, one every 20 us; 20,000,000 records for the throughput; --json:
//   one JSON line on stdout instead of the tables, for scripts/bench)

#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "src/common/clock.h"
#include "src/ipc/shm_layout.h"
#include "src/ipc/shm_region.h"
#include "src/ipc/shm_ring.h"

namespace {

using strobe::MonotonicNowNs;
using strobe::ipc::EventRecord;
using strobe::ipc::EventType;
using strobe::ipc::kRingRecords;
using strobe::ipc::ShmRegion;
using strobe::ipc::ShmRingConsumer;
using strobe::ipc::ShmRingProducer;
using strobe::ipc::WorkerArea;

constexpr int kBatch = 64;
constexpr uint64_t kThroughputRecords = 20'000'000;
constexpr int64_t kSlowNs = 100 * strobe::kNsPerUs;

// Pins the calling thread; returns the CPU it then runs on, or -1 when pinning failed.
int PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) return -1;
  return sched_getcpu();
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

struct Cpus {
  int producer = 0;
  int consumer = 1;
  int producer_ran_on = -1;
  int consumer_ran_on = -1;
};

class Ring {
 public:
  Ring() {
    absl::StatusOr<ShmRegion> region = ShmRegion::Create(1, getpid());
    if (!region.ok()) {
      std::fprintf(stderr, "ShmRegion::Create: %s\n",
                   std::string(region.status().message()).c_str());
      std::exit(1);
    }
    region_ = std::move(*region);
    doorbell_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = doorbell_;
    if (doorbell_ < 0 || epoll_ < 0 || epoll_ctl(epoll_, EPOLL_CTL_ADD, doorbell_, &ev) != 0) {
      std::perror("eventfd/epoll");
      std::exit(1);
    }
  }
  ~Ring() {
    close(epoll_);
    close(doorbell_);
  }
  WorkerArea* area() const { return region_.worker(0); }
  ShmRingProducer<EventRecord> Producer() const {
    return ShmRingProducer<EventRecord>(&area()->events, area()->event_slots, kRingRecords,
                                        doorbell_);
  }
  ShmRingConsumer<EventRecord> Consumer() const {
    return ShmRingConsumer<EventRecord>(&area()->events, area()->event_slots, kRingRecords);
  }
  int doorbell() const { return doorbell_; }
  int epoll() const { return epoll_; }

 private:
  ShmRegion region_;
  int doorbell_ = -1;
  int epoll_ = -1;
};

struct LatencyResult {
  std::vector<int64_t> ns;  // one per measured event
  uint64_t doorbells = 0;   // Publish() rang: the consumer was asleep
  uint64_t sleeps = 0;      // the consumer blocked in epoll_wait
  uint64_t missed = 0;      // epoll_wait timed out although records were waiting
};

// Sends `events` records one at a time, one every `gap_ns`, after a warm-up pass over every slot.
LatencyResult MeasureLatency(bool sleeping, int events, int64_t gap_ns, Cpus* cpus) {
  Ring ring;
  LatencyResult result;
  result.ns.reserve(static_cast<size_t>(events));
  const int warmup = static_cast<int>(kRingRecords) * 2;
  std::atomic<bool> consumer_ready{false};

  std::thread consumer_thread([&] {
    cpus->consumer_ran_on = PinTo(cpus->consumer);
    ShmRingConsumer<EventRecord> consumer = ring.Consumer();
    consumer_ready.store(true);
    int measured = 0;
    EventRecord r;
    while (measured < events) {
      if (consumer.Pop(&r)) {
        const int64_t now = MonotonicNowNs();
        consumer.Release();
        if (r.type == EventType::kStateChange) {
          result.ns.push_back(now - r.timestamp_ns);
          ++measured;
        }
        continue;
      }
      if (!sleeping) {
        CpuRelax();
        continue;
      }
      if (!consumer.PrepareToSleep()) continue;
      ++result.sleeps;
      epoll_event ev;
      const int n = epoll_wait(ring.epoll(), &ev, 1, 1000);
      consumer.Awake();
      uint64_t value;
      if (read(ring.doorbell(), &value, sizeof(value)) < 0 && n == 0 &&
          ring.area()->events.head.load() != ring.area()->events.tail.load()) {
        ++result.missed;
      }
    }
  });

  cpus->producer_ran_on = PinTo(cpus->producer);
  ShmRingProducer<EventRecord> producer = ring.Producer();
  while (!consumer_ready.load()) CpuRelax();
  EventRecord r{};
  r.type = EventType::kCountersEpoch;  // warm-up: touches every slot, not measured
  for (int i = 0; i < warmup; ++i) {
    while (!producer.Push(r)) producer.Publish();
    if (i % kBatch == 0) producer.Publish();
  }
  producer.Publish();
  while (ring.area()->events.tail.load() != ring.area()->events.head.load()) CpuRelax();

  r.type = EventType::kStateChange;
  int64_t next = MonotonicNowNs() + 100 * strobe::kNsPerUs;
  for (int i = 0; i < events; ++i) {
    while (MonotonicNowNs() < next) CpuRelax();
    r.request_id = static_cast<uint64_t>(i);
    r.timestamp_ns = MonotonicNowNs();
    while (!producer.Push(r)) CpuRelax();  // never full at this rate
    if (producer.Publish()) ++result.doorbells;
    next += gap_ns;
    // Fell behind (preempted): restart the gap from now rather than send a burst.
    const int64_t now = MonotonicNowNs();
    if (next < now) next = now + gap_ns;
  }
  consumer_thread.join();
  return result;
}

struct ThroughputResult {
  double records_per_sec = 0;
  uint64_t out_of_order = 0;
  uint64_t full = 0;  // Push() found the ring full
};

ThroughputResult MeasureThroughput(uint64_t records, Cpus* cpus) {
  Ring ring;
  ThroughputResult result;
  std::atomic<bool> consumer_ready{false};
  int64_t start_ns = 0, end_ns = 0;
  std::thread consumer_thread([&] {
    PinTo(cpus->consumer);
    ShmRingConsumer<EventRecord> consumer = ring.Consumer();
    consumer_ready.store(true);
    EventRecord r;
    uint64_t received = 0;
    while (received < records) {
      int n = 0;
      while (n < kBatch && consumer.Pop(&r)) {
        if (r.request_id != received + static_cast<uint64_t>(n)) ++result.out_of_order;
        ++n;
      }
      if (n == 0) {
        CpuRelax();
        continue;
      }
      if (received == 0) start_ns = MonotonicNowNs();
      consumer.Release();
      received += static_cast<uint64_t>(n);
    }
    end_ns = MonotonicNowNs();
  });

  PinTo(cpus->producer);
  ShmRingProducer<EventRecord> producer = ring.Producer();
  while (!consumer_ready.load()) CpuRelax();
  EventRecord r{};
  r.type = EventType::kStateChange;
  for (uint64_t i = 0; i < records;) {
    for (int b = 0; b < kBatch && i < records; ++b, ++i) {
      r.request_id = i;
      while (!producer.Push(r)) {
        ++result.full;
        producer.Publish();
        CpuRelax();
      }
    }
    producer.Publish();
  }
  consumer_thread.join();
  // The first batch's arrival starts the clock: it is not counted.
  result.records_per_sec = static_cast<double>(records - kBatch) / ((end_ns - start_ns) / 1e9);
  return result;
}

double Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p * static_cast<double>(sorted.size()) + 0.999999);
  index = std::clamp<size_t>(index, 1, sorted.size()) - 1;
  return static_cast<double>(sorted[index]) / 1000.0;
}

struct LatencySummary {
  double p50 = 0, p99 = 0, p999 = 0, max = 0;  // us
  uint64_t slow = 0, stalls = 0, doorbells = 0, missed = 0;
  size_t received = 0;
};

LatencySummary Summarize(LatencyResult result) {
  LatencySummary s;
  // Slow events in arrival order: one stall of either thread (a preempted vCPU) delays every
  // event sent during it, so count the stalls too.
  bool in_stall = false;
  for (int64_t ns : result.ns) {
    const bool is_slow = ns > kSlowNs;
    s.slow += is_slow;
    s.stalls += is_slow && !in_stall;
    in_stall = is_slow;
  }
  std::sort(result.ns.begin(), result.ns.end());
  s.p50 = Percentile(result.ns, 0.5);
  s.p99 = Percentile(result.ns, 0.99);
  s.p999 = Percentile(result.ns, 0.999);
  s.max = result.ns.empty() ? 0 : static_cast<double>(result.ns.back()) / 1000.0;
  s.doorbells = result.doorbells;
  s.missed = result.missed;
  s.received = result.ns.size();
  return s;
}

void PrintLatency(const char* mode, const LatencySummary& s, int events) {
  std::printf(
      "%-10s %8.2f %8.2f %9.2f %9.2f %8llu %7llu %10llu %7llu\n", mode, s.p50, s.p99, s.p999, s.max,
      static_cast<unsigned long long>(s.slow), static_cast<unsigned long long>(s.stalls),
      static_cast<unsigned long long>(s.doorbells), static_cast<unsigned long long>(s.missed));
  if (s.received != static_cast<size_t>(events)) std::printf("  (lost events!)\n");
}

std::string LatencyJson(const LatencySummary& s) {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "{\"p50_us\": %.3f, \"p99_us\": %.3f, \"p999_us\": %.3f, \"max_us\": %.3f, "
                "\"over_100us\": %llu, \"stalls\": %llu, \"doorbells\": %llu, \"missed\": %llu, "
                "\"received\": %zu}",
                s.p50, s.p99, s.p999, s.max, static_cast<unsigned long long>(s.slow),
                static_cast<unsigned long long>(s.stalls),
                static_cast<unsigned long long>(s.doorbells),
                static_cast<unsigned long long>(s.missed), s.received);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  bool json = false;
  uint64_t records = kThroughputRecords;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "--records" && i + 1 < argc) {
      records = std::strtoull(argv[++i], nullptr, 10);
    } else {
      positional.push_back(arg);
    }
  }
  const int events = positional.size() > 0 ? std::atoi(positional[0].c_str()) : 100'000;
  const int gap_us = positional.size() > 1 ? std::atoi(positional[1].c_str()) : 20;
  if (events <= 0 || gap_us < 0 || positional.size() > 2 || records <= kBatch) {
    std::fprintf(stderr, "usage: %s [events [gap_us]] [--records N] [--json]\n", argv[0]);
    return 2;
  }
  Cpus cpus;
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online < 2) cpus.consumer = 0;

  const LatencySummary busy =
      Summarize(MeasureLatency(false, events, gap_us * strobe::kNsPerUs, &cpus));
  if (!json) {
    std::printf("ring_bench: %d events of %zu bytes, one every %d us; %ld CPUs online\n", events,
                sizeof(EventRecord), gap_us, online);
    std::printf(
        "producer pinned to CPU %d (running on %d), consumer pinned to CPU %d (running on "
        "%d)\n\n",
        cpus.producer, cpus.producer_ran_on, cpus.consumer, cpus.consumer_ran_on);
    std::printf("latency, producer timestamp -> consumer receipt, in us\n");
    std::printf("%-10s %8s %8s %9s %9s %8s %7s %10s %7s\n", "consumer", "p50", "p99", "p99.9",
                "max", ">100us", "stalls", "doorbells", "missed");
    PrintLatency("busy-poll", busy, events);
  }
  const LatencySummary sleeping =
      Summarize(MeasureLatency(true, events, gap_us * strobe::kNsPerUs, &cpus));
  if (!json) PrintLatency("sleeping", sleeping, events);

  const ThroughputResult t = MeasureThroughput(records, &cpus);
  const bool ok = t.out_of_order == 0 && busy.missed == 0 && sleeping.missed == 0 &&
                  busy.received == static_cast<size_t>(events) &&
                  sleeping.received == static_cast<size_t>(events);
  if (json) {
    std::printf(
        "{\"bench\": \"ring_bench\", \"events\": %d, \"gap_us\": %d, \"record_bytes\": %zu, "
        "\"producer_cpu\": %d, \"consumer_cpu\": %d, \"busy\": %s, \"sleeping\": %s, "
        "\"throughput_records\": %llu, \"throughput_mrecords_per_s\": %.3f, "
        "\"throughput_gb_per_s\": %.3f, \"ring_full\": %llu, \"order_ok\": %s, \"ok\": %s}\n",
        events, gap_us, sizeof(EventRecord), cpus.producer_ran_on, cpus.consumer_ran_on,
        LatencyJson(busy).c_str(), LatencyJson(sleeping).c_str(),
        static_cast<unsigned long long>(records), t.records_per_sec / 1e6,
        t.records_per_sec * sizeof(EventRecord) / 1e9, static_cast<unsigned long long>(t.full),
        t.out_of_order == 0 ? "true" : "false", ok ? "true" : "false");
    return ok ? 0 : 1;
  }
  std::printf(
      "\nthroughput, consumer busy, batches of %d: %.1f M records/s (%.2f GB/s), %llu "
      "records, %llu pushes found the ring full, order %s\n",
      kBatch, t.records_per_sec / 1e6, t.records_per_sec * sizeof(EventRecord) / 1e9,
      static_cast<unsigned long long>(records), static_cast<unsigned long long>(t.full),
      t.out_of_order == 0 ? "ok" : "BROKEN");
  return t.out_of_order == 0 && busy.missed == 0 && sleeping.missed == 0 ? 0 : 1;
}
