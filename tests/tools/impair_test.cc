// strobe-impair's timing rules (impair.h) with a fake clock: delay and jitter bounds, FIFO
// unless reordering is asked for, swaps, loss, seeds, settings and flows.

#include "tests/tools/impair.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace strobe::impair {
namespace {

constexpr int64_t kMs = 1'000'000;

// A minimal Ethernet + IPv4 + UDP frame from 198.18.0.1:sport to 198.18.0.2:3784.
std::vector<uint8_t> UdpFrame(uint16_t sport, uint16_t payload_tag = 0) {
  std::vector<uint8_t> f(14 + 20 + 8 + 4, 0);
  f[12] = 0x08;
  f[13] = 0x00;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  ip[9] = 17;
  const uint8_t src[4] = {198, 18, 0, 1}, dst[4] = {198, 18, 0, 2};
  std::copy(src, src + 4, ip + 12);
  std::copy(dst, dst + 4, ip + 16);
  uint8_t* udp = ip + 20;
  udp[0] = static_cast<uint8_t>(sport >> 8);
  udp[1] = static_cast<uint8_t>(sport);
  udp[2] = 3784 >> 8;
  udp[3] = 3784 & 0xff;
  f[f.size() - 2] = static_cast<uint8_t>(payload_tag >> 8);
  f.back() = static_cast<uint8_t>(payload_tag);
  return f;
}

int TagOf(const std::vector<uint8_t>& f) { return f[f.size() - 2] << 8 | f.back(); }

struct Out {
  int tag;
  int64_t release_ns;
  int64_t arrival_ns;
};

// Pushes `count` frames of one flow, one every `spacing_ns`, popping due frames at every 0.1 ms
// tick until the line is empty; returns them in the order they left.
std::vector<Out> Feed(DelayLine& line, int count, int64_t spacing_ns, uint16_t sport = 49152) {
  std::vector<Out> out;
  std::vector<Frame> due;
  int pushed = 0;
  for (int64_t now = 0; pushed < count || line.queued() > 0; now += kMs / 10) {
    while (pushed < count && pushed * spacing_ns <= now) {
      auto bytes = UdpFrame(sport, static_cast<uint16_t>(pushed));
      const uint64_t flow = FlowOf(bytes.data(), bytes.size());
      line.Push(std::move(bytes), flow, pushed * spacing_ns);
      ++pushed;
    }
    due.clear();
    line.PopDue(now, &due);
    for (const Frame& f : due) {
      EXPECT_LE(f.release_ns, now);
      out.push_back({TagOf(f.bytes), f.release_ns, f.arrival_ns});
      line.Sent(f, true, now);
    }
  }
  return out;
}

// Frames that left after a frame that arrived later (what a receiver counts as reordered).
int Inversions(const std::vector<Out>& out) {
  int n = 0, highest = -1;
  for (const Out& o : out) {
    n += o.tag < highest;
    highest = std::max(highest, o.tag);
  }
  return n;
}

TEST(DelayLine, FixedDelayIsExact) {
  DelayLine line(Settings{.delay_ms = 7.5}, 1);
  auto out = Feed(line, 200, kMs);
  ASSERT_EQ(out.size(), 200u);
  for (const Out& o : out) EXPECT_EQ(o.release_ns - o.arrival_ns, 7'500'000);
  EXPECT_EQ(Inversions(out), 0);
  EXPECT_EQ(line.counters().forwarded, 200u);
  EXPECT_EQ(line.counters().reordered, 0u);
}

TEST(DelayLine, UniformJitterStaysInItsBoundsAndReordersOnlyWhenAsked) {
  for (bool reorder : {false, true}) {
    DelayLine line(Settings{.delay_ms = 20, .jitter_ms = 10, .reorder = reorder}, 42);
    auto out = Feed(line, 2000, kMs);
    ASSERT_EQ(out.size(), 2000u);
    double sum = 0;
    int64_t lo = INT64_MAX, hi = 0;
    for (const Out& o : out) {
      const int64_t d = o.release_ns - o.arrival_ns;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
      sum += static_cast<double>(d);
    }
    EXPECT_GE(lo, 10 * kMs);
    if (reorder) {
      EXPECT_LE(hi, 30 * kMs);
      EXPECT_NEAR(sum / 2000 / kMs, 20.0, 0.5);  // sd of the mean: 5.8 / sqrt(2000) = 0.13 ms
      EXPECT_GT(Inversions(out), 100);
      EXPECT_EQ(line.counters().reordered, static_cast<uint64_t>(Inversions(out)));
    } else {
      // FIFO: a frame waits for the one before it, so only the upper bound moves.
      EXPECT_EQ(Inversions(out), 0);
      EXPECT_EQ(line.counters().reordered, 0u);
      for (size_t i = 1; i < out.size(); ++i) EXPECT_GE(out[i].release_ns, out[i - 1].release_ns);
    }
  }
}

TEST(DelayLine, NormalJitterHasItsStandardDeviation) {
  DelayLine line(
      Settings{
          .delay_ms = 50, .jitter_ms = 5, .distribution = Distribution::kNormal, .reorder = true},
      3);
  auto out = Feed(line, 4000, kMs / 2);
  double sum = 0, sq = 0;
  for (const Out& o : out) {
    const double d = static_cast<double>(o.release_ns - o.arrival_ns) / kMs;
    sum += d;
    sq += d * d;
  }
  const double mean = sum / static_cast<double>(out.size());
  const double sd = std::sqrt(sq / static_cast<double>(out.size()) - mean * mean);
  EXPECT_NEAR(mean, 50.0, 0.3);
  EXPECT_NEAR(sd, 5.0, 0.3);
  EXPECT_EQ(line.counters().clipped, 0u);
}

TEST(DelayLine, NegativeDrawsAreClippedToZero) {
  DelayLine line(Settings{.delay_ms = 1, .jitter_ms = 5, .reorder = true}, 9);
  auto out = Feed(line, 1000, kMs);
  for (const Out& o : out) EXPECT_GE(o.release_ns, o.arrival_ns);
  EXPECT_GT(line.counters().clipped, 300u);  // P(U(-5, 5) < -1) = 0.4
}

TEST(DelayLine, SwapEveryThirdFrameOfAFlow) {
  DelayLine line(Settings{.delay_ms = 2, .swap_every = 3}, 1);
  auto out = Feed(line, 9, 10 * kMs);
  std::vector<int> order;
  for (const Out& o : out) order.push_back(o.tag);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 3, 2, 4, 6, 5, 7, 8}));
  EXPECT_EQ(line.counters().swapped, 3u);  // frames 2, 5 and 8
  EXPECT_EQ(line.counters().reordered, 2u);
  // Frame 8 had no follower: it left swap_max_hold_ms (50) after its own release time.
  EXPECT_EQ(out.back().tag, 8);
  EXPECT_EQ(out.back().release_ns, 80 * kMs + 2 * kMs + 50 * kMs);
}

TEST(DelayLine, SwapsAreCountedPerFlow) {
  DelayLine line(Settings{.swap_every = 2}, 1);
  std::vector<Frame> due;
  // Two flows interleaved: a1 b1 a2 b2 a3 b3 a4 b4. The 2nd of each flow is held for its 3rd.
  for (int i = 0; i < 8; ++i) {
    auto bytes = UdpFrame(i % 2 == 0 ? 1000 : 2000, static_cast<uint16_t>(i));
    const uint64_t flow = FlowOf(bytes.data(), bytes.size());
    line.Push(std::move(bytes), flow, i * kMs);
    line.PopDue(i * kMs, &due);
  }
  std::vector<int> order;
  for (const Frame& f : due) order.push_back(TagOf(f.bytes));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 4, 2, 5, 3}));
  EXPECT_EQ(line.queued(), 2u);  // 6 and 7 held
}

TEST(DelayLine, LossFollowsItsRate) {
  for (double pct : {0.0, 10.0, 100.0}) {
    DelayLine line(Settings{.loss_pct = pct}, 5);
    auto out = Feed(line, 10000, kMs / 10);
    const double lost = 10000.0 - static_cast<double>(out.size());
    EXPECT_EQ(line.counters().dropped_loss, static_cast<uint64_t>(lost));
    EXPECT_NEAR(lost / 100.0, pct, pct == 10.0 ? 1.0 : 0.0);  // sd 0.3 %
  }
}

TEST(DelayLine, SameSeedSameDraws) {
  auto draws = [](uint64_t seed) {
    DelayLine line(Settings{.delay_ms = 5, .jitter_ms = 5, .reorder = true, .loss_pct = 20}, seed);
    std::vector<int64_t> d;
    for (const Out& o : Feed(line, 300, kMs)) d.push_back(o.release_ns - o.arrival_ns);
    return d;
  };
  EXPECT_EQ(draws(11), draws(11));
  EXPECT_NE(draws(11), draws(12));
}

TEST(DelayLine, NewSettingsApplyToLaterFrames) {
  DelayLine line(Settings{.delay_ms = 100}, 1);
  std::vector<Frame> due;
  line.Push(UdpFrame(1, 0), 0, 0);
  line.set_settings(Settings{.delay_ms = 0});
  line.Push(UdpFrame(1, 1), 0, kMs);  // FIFO: waits for the first frame
  EXPECT_EQ(line.NextDueNs(), 100 * kMs);
  line.PopDue(100 * kMs, &due);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(TagOf(due[0].bytes), 0);
  EXPECT_EQ(TagOf(due[1].bytes), 1);
  line.Push(UdpFrame(1, 2), 0, 101 * kMs);
  EXPECT_EQ(line.NextDueNs(), 101 * kMs);
  line.Drain();
  EXPECT_EQ(line.counters().dropped_at_exit, 1u);
  EXPECT_EQ(line.NextDueNs(), kNever);
}

TEST(Settings, ApplyChecksEveryWord) {
  Settings s;
  EXPECT_TRUE(s.Apply({"delay_ms=12.5", "jitter_ms=3", "distribution=normal", "reorder=true",
                       "swap_every=4", "loss_pct=1"})
                  .ok());
  EXPECT_EQ(s.delay_ms, 12.5);
  EXPECT_EQ(s.distribution, Distribution::kNormal);
  EXPECT_TRUE(s.reorder);
  EXPECT_EQ(s.swap_every, 4);
  const Settings before = s;
  EXPECT_FALSE(s.Apply({"delay_ms=1", "loss_pct=101"}).ok());
  EXPECT_FALSE(s.Apply({"delay_ms=-1"}).ok());
  EXPECT_FALSE(s.Apply({"colour=red"}).ok());
  EXPECT_FALSE(s.Apply({"delay_ms"}).ok());
  EXPECT_FALSE(s.Apply({"distribution=pareto"}).ok());
  EXPECT_EQ(s.ToJson(), before.ToJson());
}

TEST(FlowOf, UdpFlowsByPortsOtherFramesNone) {
  auto a = UdpFrame(1000), b = UdpFrame(1001), a2 = UdpFrame(1000, 9);
  EXPECT_NE(FlowOf(a.data(), a.size()), 0u);
  EXPECT_EQ(FlowOf(a.data(), a.size()), FlowOf(a2.data(), a2.size()));
  EXPECT_NE(FlowOf(a.data(), a.size()), FlowOf(b.data(), b.size()));
  std::vector<uint8_t> arp(42, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_EQ(FlowOf(arp.data(), arp.size()), 0u);
  auto fragment = UdpFrame(1000);
  fragment[14 + 6] = 0x20;  // More Fragments
  EXPECT_EQ(FlowOf(fragment.data(), fragment.size()), 0u);
  EXPECT_EQ(FlowOf(a.data(), 20), 0u);
}

}  // namespace
}  // namespace strobe::impair
