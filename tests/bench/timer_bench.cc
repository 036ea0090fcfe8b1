// Micro-benchmark of strobe::timer::TimingWheel at BFD scale: 10,000 sessions, each with a TX
// timer re-armed every 3.3 ms and a detection timer pushed back on every (simulated) received
// packet, driven in simulated time the way a worker drives it. Prints ns per operation.
//
// Usage: timer_bench [--quick] [--json]   (--quick: 5 rounds and 1 s of simulated time instead
// of 50 and 10 s; --json: one JSON line on stdout instead of the text, for scripts/bench)

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include "src/timer/timing_wheel.h"

namespace {

using strobe::timer::TimerNode;
using strobe::timer::TimingWheel;
using Clock = std::chrono::steady_clock;

constexpr int kTimers = 10'000;
constexpr int64_t kUs = 1000;
constexpr int64_t kPeriod = 3300 * kUs;
constexpr int64_t kDetect = 3 * kPeriod;

double NsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

struct Session {
  TimerNode tx;
  TimerNode detect;
};

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--json") {
      json = true;
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--json]\n", argv[0]);
      return 2;
    }
  }
  std::mt19937_64 rng(42);
  auto sessions = std::make_unique<Session[]>(kTimers);
  for (int i = 0; i < kTimers; ++i) {
    sessions[i].tx.cookie = static_cast<uint64_t>(i);
    sessions[i].detect.cookie = static_cast<uint64_t>(i);
  }
  const int64_t start = 1'000'000'000;
  TimingWheel wheel(start);
  std::uniform_int_distribution<int64_t> phase(0, kPeriod - 1);

  // Arm from unarmed, re-arm an armed timer, cancel.
  const int kRounds = quick ? 5 : 50;
  double arm_ns = 0, rearm_ns = 0, cancel_ns = 0;
  for (int round = 0; round < kRounds; ++round) {
    auto t0 = Clock::now();
    for (int i = 0; i < kTimers; ++i) wheel.Arm(&sessions[i].tx, start + phase(rng));
    arm_ns += NsSince(t0);
    t0 = Clock::now();
    for (int i = 0; i < kTimers; ++i) wheel.Arm(&sessions[i].tx, start + kPeriod + phase(rng));
    rearm_ns += NsSince(t0);
    t0 = Clock::now();
    for (int i = 0; i < kTimers; ++i) wheel.Cancel(&sessions[i].tx);
    cancel_ns += NsSince(t0);
  }
  // Subtract the cost of the random numbers themselves.
  auto t0 = Clock::now();
  int64_t sink = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kTimers; ++i) sink += phase(rng);
  }
  const double rng_ns = NsSince(t0);
  const double ops = static_cast<double>(kRounds) * kTimers;
  if (json) {
    std::printf(
        "{\"bench\": \"timer_bench\", \"timers\": %d, \"period_us\": %lld, \"rounds\": %d, "
        "\"arm_ns\": %.2f, \"rearm_ns\": %.2f, \"cancel_ns\": %.2f, \"advance\": [",
        kTimers, static_cast<long long>(kPeriod / kUs), kRounds, (arm_ns - rng_ns) / ops,
        (rearm_ns - rng_ns) / ops, cancel_ns / ops);
  } else {
    std::printf("arm (unarmed)        %6.1f ns\n", (arm_ns - rng_ns) / ops);
    std::printf("re-arm (armed)       %6.1f ns\n", (rearm_ns - rng_ns) / ops);
    std::printf("cancel               %6.1f ns\n", cancel_ns / ops);
  }

  // Steady state: TX every 3.3 ms, drift-free; each TX "delivers" a packet to another session,
  // pushing its detection timer back (so detection timers are re-armed, never expire).
  for (int i = 0; i < kTimers; ++i) {
    wheel.Arm(&sessions[i].tx, start + phase(rng));
    wheel.Arm(&sessions[i].detect, start + kDetect + phase(rng));
  }
  const int64_t kSimulated = (quick ? 1LL : 10LL) * 1000 * 1000 * kUs;  // 10 s (quick: 1 s)
  const char* separator = "";
  int64_t now = start;
  for (const int64_t step : {int64_t{1} * kUs, int64_t{10} * kUs, int64_t{100} * kUs}) {
    const int64_t end = now + kSimulated;
    size_t fired = 0;
    size_t advances = 0;
    t0 = Clock::now();
    while (now < end) {
      now += step;
      fired += wheel.Advance(now, [&](TimerNode* node) {
        wheel.Arm(node, node->deadline_ns + kPeriod);
        const uint64_t peer = (node->cookie * 7919 + 1) % kTimers;
        wheel.Arm(&sessions[peer].detect, now + kDetect);
      });
      ++advances;
    }
    const double advance_total = NsSince(t0);
    const auto t1 = Clock::now();
    for (int i = 0; i < 1'000'000; ++i) sink += wheel.NextDeadlineNs();
    const double next_ns = NsSince(t1) / 1e6;
    if (json) {
      std::printf(
          "%s{\"step_us\": %lld, \"expiries\": %zu, \"calls\": %zu, \"ns_per_expiry\": %.2f, "
          "\"ns_per_call\": %.2f, \"next_deadline_ns\": %.2f}",
          separator, static_cast<long long>(step / kUs), fired, advances, advance_total / fired,
          advance_total / advances, next_ns);
      separator = ", ";
      continue;
    }
    std::printf(
        "advance step %4lld us: %zu expiries in %zu calls, %6.1f ns per expiry (incl. 2 re-arms), "
        "%6.1f ns per call; NextDeadlineNs %5.1f ns\n",
        static_cast<long long>(step / kUs), fired, advances, advance_total / fired,
        advance_total / advances, next_ns);
  }
  if (json) {
    std::printf("], \"armed\": %zu, \"sink\": %lld}\n", wheel.size(),
                static_cast<long long>(sink & 1));
    return 0;
  }
  std::printf("(armed: %zu, sink %lld)\n", wheel.size(), static_cast<long long>(sink & 1));
  return 0;
}
