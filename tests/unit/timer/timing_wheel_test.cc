#include "src/timer/timing_wheel.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strobe::timer {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

constexpr int64_t kUs = 1000;
constexpr int64_t kMs = 1000 * kUs;
constexpr int64_t kSec = 1000 * kMs;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// An arbitrary, non-aligned CLOCK_MONOTONIC-like origin.
constexpr int64_t kStart = 123 * kSec + 456'789;

// A set of timers whose cookie is their index.
class Timers {
 public:
  explicit Timers(size_t n) : nodes_(n) {
    for (size_t i = 0; i < n; ++i) nodes_[i].cookie = i;
  }
  TimerNode* operator[](size_t i) { return &nodes_[i]; }
  size_t count() const { return nodes_.size(); }

 private:
  std::vector<TimerNode> nodes_;
};

// Advances and returns the cookies fired, in firing order.
std::vector<uint64_t> AdvanceAndCollect(TimingWheel& wheel, int64_t now_ns) {
  std::vector<uint64_t> fired;
  const size_t n = wheel.Advance(now_ns, [&](TimerNode* node) {
    EXPECT_FALSE(node->armed);
    EXPECT_LE(node->deadline_ns, now_ns) << "fired early";
    fired.push_back(node->cookie);
  });
  EXPECT_EQ(n, fired.size());
  return fired;
}

TEST(TimingWheelTest, EmptyWheel) {
  TimingWheel wheel(kStart);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.NextDeadlineNs(), kNever);
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + kSec), IsEmpty());
  EXPECT_EQ(wheel.NextDeadlineNs(), kNever);
}

TEST(TimingWheelTest, ArmAndExpireExactlyAtDeadline) {
  TimingWheel wheel(kStart);
  Timers t(1);
  wheel.Arm(t[0], kStart + 5 * kUs);
  EXPECT_TRUE(wheel.armed(t[0]));
  EXPECT_EQ(t[0]->deadline_ns, kStart + 5 * kUs);
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.NextDeadlineNs(), kStart + 5 * kUs);

  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 5 * kUs - 1), IsEmpty());
  EXPECT_TRUE(wheel.armed(t[0]));
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 5 * kUs), ElementsAre(0u));
  EXPECT_FALSE(wheel.armed(t[0]));
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + kSec), IsEmpty());
}

TEST(TimingWheelTest, SubTickDeadlineNeverFiresEarly) {
  TimingWheel wheel(kStart);
  Timers t(3);
  wheel.Arm(t[0], kStart + 7 * kUs + 100);
  wheel.Arm(t[1], kStart + 7 * kUs + 900);
  wheel.Arm(t[2], kStart + 7 * kUs + 901);
  EXPECT_EQ(wheel.NextDeadlineNs(), kStart + 7 * kUs);  // the tick's start: a lower bound
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 7 * kUs + 99), IsEmpty());
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 7 * kUs + 100), ElementsAre(0u));
  // Now the rest sit in the wheel's current tick: NextDeadlineNs is exact there.
  EXPECT_EQ(wheel.NextDeadlineNs(), kStart + 7 * kUs + 900);
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 7 * kUs + 900), ElementsAre(1u));
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 8 * kUs), ElementsAre(2u));
}

TEST(TimingWheelTest, SameDeadlineAllFireTogether) {
  TimingWheel wheel(kStart);
  Timers t(100);
  for (size_t i = 0; i < t.count(); ++i) wheel.Arm(t[i], kStart + 3300 * kUs);
  std::vector<uint64_t> fired = AdvanceAndCollect(wheel, kStart + 3300 * kUs);
  std::vector<uint64_t> all(t.count());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  EXPECT_THAT(fired, UnorderedElementsAreArray(all));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimingWheelTest, FiresInDeadlineTickOrder) {
  TimingWheel wheel(kStart);
  Timers t(5);
  wheel.Arm(t[0], kStart + 900 * kUs);
  wheel.Arm(t[1], kStart + 3 * kUs);
  wheel.Arm(t[2], kStart + 70 * kMs);
  wheel.Arm(t[3], kStart + 255 * kUs);
  wheel.Arm(t[4], kStart + 256 * kUs);
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + kSec), ElementsAre(1u, 3u, 4u, 0u, 2u));
}

TEST(TimingWheelTest, Cancel) {
  TimingWheel wheel(kStart);
  Timers t(3);
  wheel.Arm(t[0], kStart + 10 * kUs);
  wheel.Arm(t[1], kStart + 10 * kUs);
  wheel.Arm(t[2], kStart + 10 * kSec);
  wheel.Cancel(t[0]);
  wheel.Cancel(t[2]);
  EXPECT_FALSE(wheel.armed(t[0]));
  EXPECT_FALSE(wheel.armed(t[2]));
  EXPECT_EQ(wheel.size(), 1u);
  wheel.Cancel(t[0]);  // not armed: no-op
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 20 * kSec), ElementsAre(1u));
  wheel.Cancel(t[1]);  // fired: no-op
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.NextDeadlineNs(), kNever);
}

TEST(TimingWheelTest, CancelLastFarTimerEmptiesWheel) {
  TimingWheel wheel(kStart);
  Timers t(1);
  wheel.Arm(t[0], kStart + 3 * 3600 * kSec);  // overflow
  EXPECT_NE(wheel.NextDeadlineNs(), kNever);
  wheel.Cancel(t[0]);
  EXPECT_EQ(wheel.NextDeadlineNs(), kNever);
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 4 * 3600 * kSec), IsEmpty());
}

TEST(TimingWheelTest, RearmEarlierAndLater) {
  TimingWheel wheel(kStart);
  Timers t(2);
  wheel.Arm(t[0], kStart + 50 * kMs);
  wheel.Arm(t[0], kStart + 2 * kUs);  // earlier
  wheel.Arm(t[1], kStart + 3 * kUs);
  wheel.Arm(t[1], kStart + 40 * kSec);  // later, to a higher level
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_EQ(wheel.NextDeadlineNs(), kStart + 2 * kUs);
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 39 * kSec), ElementsAre(0u));
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 40 * kSec - 1), IsEmpty());
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 40 * kSec), ElementsAre(1u));
}

TEST(TimingWheelTest, RearmToSameDeadlineFiresOnce) {
  TimingWheel wheel(kStart);
  Timers t(1);
  for (int i = 0; i < 10; ++i) wheel.Arm(t[0], kStart + kMs);
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + kSec), ElementsAre(0u));
}

TEST(TimingWheelTest, PastDeadlinesExpireOnNextAdvance) {
  TimingWheel wheel(kStart);
  Timers t(4);
  const int64_t now = kStart + 10 * kSec;
  EXPECT_THAT(AdvanceAndCollect(wheel, now), IsEmpty());
  wheel.Arm(t[0], now - 100 * kUs);
  wheel.Arm(t[1], kStart - kSec);  // before the wheel's origin
  wheel.Arm(t[2], std::numeric_limits<int64_t>::min());
  wheel.Arm(t[3], now);
  EXPECT_EQ(wheel.NextDeadlineNs(), std::numeric_limits<int64_t>::min());
  // Same now: they are all due.
  EXPECT_THAT(AdvanceAndCollect(wheel, now), UnorderedElementsAre(0u, 1u, 2u, 3u));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimingWheelTest, NowGoingBackwardsNeverFiresEarly) {
  TimingWheel wheel(kStart);
  Timers t(2);
  const int64_t now = kStart + kSec;
  EXPECT_THAT(AdvanceAndCollect(wheel, now), IsEmpty());
  wheel.Arm(t[0], now - 500 * kUs);
  wheel.Arm(t[1], now - 100 * kUs);
  EXPECT_THAT(AdvanceAndCollect(wheel, now - 300 * kUs), ElementsAre(0u));
  EXPECT_THAT(AdvanceAndCollect(wheel, now - 101 * kUs), IsEmpty());
  EXPECT_THAT(AdvanceAndCollect(wheel, now + 7 * kUs), ElementsAre(1u));
}

TEST(TimingWheelTest, FarDeadlinesAcrossAllLevelsAndOverflow) {
  for (const int64_t tick_ns : {int64_t{1}, int64_t{1000}, int64_t{777}}) {
    SCOPED_TRACE(tick_ns);
    TimingWheel wheel(kStart, tick_ns);
    const std::vector<int64_t> ticks = {
        0,
        1,
        255,
        256,
        257,
        65535,
        65536,
        65537,
        (1 << 24) - 1,
        1 << 24,
        (1 << 24) + 3,
        (int64_t{1} << 32) - 1,
        int64_t{1} << 32,
        (int64_t{1} << 32) + 1,
        (int64_t{1} << 33) + 12345,
        int64_t{1} << 40,
        (int64_t{1} << 44) + 99,
    };
    Timers t(ticks.size());
    for (size_t i = 0; i < ticks.size(); ++i) {
      // Deadlines in the middle of their tick, to check sub-tick handling at every level.
      wheel.Arm(t[i], kStart + ticks[i] * tick_ns + tick_ns / 2);
    }
    for (size_t i = 0; i < ticks.size(); ++i) {
      const int64_t deadline = t[i]->deadline_ns;
      const int64_t next = wheel.NextDeadlineNs();
      EXPECT_LE(next, deadline);
      EXPECT_EQ(wheel.size(), ticks.size() - i);
      EXPECT_THAT(AdvanceAndCollect(wheel, deadline - 1), IsEmpty()) << i;
      EXPECT_THAT(AdvanceAndCollect(wheel, deadline), ElementsAre(i)) << i;
    }
    EXPECT_EQ(wheel.size(), 0u);
    EXPECT_EQ(wheel.NextDeadlineNs(), kNever);
  }
}

TEST(TimingWheelTest, FarDeadlinesFireInOrderOnOneLongJump) {
  TimingWheel wheel(kStart);
  Timers t(4);
  wheel.Arm(t[0], kStart + 5 * 3600 * kSec);    // overflow (> 71 min)
  wheel.Arm(t[1], kStart + 30 * 60 * kSec);     // level 3
  wheel.Arm(t[2], kStart + 100 * 3600 * kSec);  // overflow, several 2^32-tick blocks away
  wheel.Arm(t[3], kStart + 20 * kMs);           // level 2
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 1000 * 3600 * kSec), ElementsAre(3u, 1u, 0u, 2u));
}

TEST(TimingWheelTest, HugeJumpsDoNotIteratePerTick) {
  // 1 ns ticks and jumps of ~2^62 ticks: per-tick iteration would never finish.
  TimingWheel wheel(0, 1);
  Timers t(3);
  wheel.Arm(t[0], int64_t{1} << 40);
  wheel.Arm(t[1], int64_t{1} << 61);
  wheel.Arm(t[2], kNever);
  EXPECT_THAT(AdvanceAndCollect(wheel, int64_t{1} << 50), ElementsAre(0u));
  EXPECT_THAT(AdvanceAndCollect(wheel, (int64_t{1} << 61) - 1), IsEmpty());
  EXPECT_THAT(AdvanceAndCollect(wheel, int64_t{1} << 62), ElementsAre(1u));
  // A timer armed for INT64_MAX is indistinguishable from "nothing armed" here.
  EXPECT_EQ(wheel.NextDeadlineNs(), kNever);
  EXPECT_THAT(AdvanceAndCollect(wheel, kNever - 1), IsEmpty());
  EXPECT_THAT(AdvanceAndCollect(wheel, kNever), ElementsAre(2u));
}

TEST(TimingWheelTest, NegativeStartAndExtremeDeadlines) {
  TimingWheel wheel(std::numeric_limits<int64_t>::min() + 5, 1);
  Timers t(2);
  wheel.Arm(t[0], kNever);
  wheel.Arm(t[1], 0);
  EXPECT_LE(wheel.NextDeadlineNs(), 0);
  EXPECT_THAT(AdvanceAndCollect(wheel, -1), IsEmpty());
  EXPECT_THAT(AdvanceAndCollect(wheel, 0), ElementsAre(1u));
  EXPECT_THAT(AdvanceAndCollect(wheel, kNever - 1), IsEmpty());
  EXPECT_THAT(AdvanceAndCollect(wheel, kNever), ElementsAre(0u));
}

TEST(TimingWheelTest, PeriodicSelfRearmAcrossLongJump) {
  // A TX timer re-arming itself drift-free from its own deadline. After a stall it fires once
  // per Advance (the re-armed deadline is already past, so it waits for the next call).
  TimingWheel wheel(kStart);
  Timers t(1);
  const int64_t period = 3300 * kUs;
  wheel.Arm(t[0], kStart + period);
  int fires = 0;
  auto rearm = [&](TimerNode* node) {
    ++fires;
    wheel.Arm(node, node->deadline_ns + period);
  };
  EXPECT_EQ(wheel.Advance(kStart + 10 * period + 1, rearm), 1u);
  EXPECT_TRUE(wheel.armed(t[0]));
  EXPECT_EQ(t[0]->deadline_ns, kStart + 2 * period);
  EXPECT_EQ(wheel.Advance(kStart + 10 * period + 1, rearm), 1u);
  EXPECT_EQ(t[0]->deadline_ns, kStart + 3 * period);
  // Catch-up: each call fires it once more.
  while (t[0]->deadline_ns <= kStart + 10 * period + 1) {
    EXPECT_EQ(wheel.Advance(kStart + 10 * period + 1, rearm), 1u);
  }
  EXPECT_EQ(fires, 10);
  EXPECT_EQ(wheel.Advance(kStart + 10 * period + 1, rearm), 0u);
  EXPECT_EQ(wheel.Advance(kStart + 11 * period, rearm), 1u);
}

TEST(TimingWheelTest, CallbackRearmingItselfIntoThePastDoesNotLoop) {
  TimingWheel wheel(kStart);
  Timers t(1);
  wheel.Arm(t[0], kStart + kUs);
  int fires = 0;
  auto rearm_past = [&](TimerNode* node) {
    ++fires;
    wheel.Arm(node, kStart - kSec);
  };
  EXPECT_EQ(wheel.Advance(kStart + kMs, rearm_past), 1u);
  EXPECT_TRUE(wheel.armed(t[0]));
  EXPECT_EQ(wheel.NextDeadlineNs(), kStart - kSec);
  EXPECT_EQ(wheel.Advance(kStart + kMs, rearm_past), 1u);
  EXPECT_EQ(fires, 2);
}

TEST(TimingWheelTest, CallbackRearmingItselfRelativeToNow) {
  TimingWheel wheel(kStart);
  Timers t(1);
  wheel.Arm(t[0], kStart + kUs);
  std::vector<int64_t> fired_deadlines;
  // Re-arming relative to the advance's now (not to the old deadline) gives one fire per call.
  const int64_t now = kStart + 10 * kMs;
  EXPECT_EQ(wheel.Advance(now,
                          [&](TimerNode* node) {
                            fired_deadlines.push_back(node->deadline_ns);
                            wheel.Arm(node, now + kMs);
                          }),
            1u);
  EXPECT_THAT(fired_deadlines, ElementsAre(kStart + kUs));
  EXPECT_EQ(t[0]->deadline_ns, now + kMs);
  // Tick 11000 is at level 1: the bound is its 256-tick slot's start, tick 10752.
  EXPECT_EQ(wheel.NextDeadlineNs(), kStart + 10'752 * kUs);
  EXPECT_THAT(AdvanceAndCollect(wheel, now + kMs - 1), IsEmpty());
  EXPECT_THAT(AdvanceAndCollect(wheel, now + kMs), ElementsAre(0u));
}

TEST(TimingWheelTest, CallbackCancelsOtherDueTimers) {
  TimingWheel wheel(kStart);
  Timers t(4);
  // 0 and 1 are due in the same tick, 2 later in the same Advance, 3 not due.
  wheel.Arm(t[0], kStart + 10 * kUs);
  wheel.Arm(t[1], kStart + 10 * kUs);
  wheel.Arm(t[2], kStart + 900 * kUs);
  wheel.Arm(t[3], kStart + 5 * kSec);
  std::vector<uint64_t> fired;
  const size_t n = wheel.Advance(kStart + kMs, [&](TimerNode* node) {
    fired.push_back(node->cookie);
    // Whichever of 0 and 1 fires first cancels the other, plus 2 and 3.
    wheel.Cancel(t[node->cookie == 0 ? 1 : 0]);
    wheel.Cancel(t[2]);
    wheel.Cancel(t[3]);
  });
  EXPECT_EQ(n, 1u);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_THAT(fired[0], ::testing::AnyOf(0u, 1u));
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 10 * kSec), IsEmpty());
}

TEST(TimingWheelTest, CallbackRearmsOtherDueTimer) {
  TimingWheel wheel(kStart);
  Timers t(3);
  wheel.Arm(t[0], kStart + 1 * kUs);
  wheel.Arm(t[1], kStart + 2 * kUs);  // due, but pushed into the future by 0's callback
  wheel.Arm(t[2], kStart + 3 * kUs);  // due, re-armed by 0's callback to another due deadline
  std::vector<uint64_t> fired;
  EXPECT_EQ(wheel.Advance(kStart + kMs,
                          [&](TimerNode* node) {
                            fired.push_back(node->cookie);
                            if (node->cookie == 0) {
                              wheel.Arm(t[1], kStart + 2 * kMs);
                              wheel.Arm(t[2], kStart + 500 * kUs);
                            }
                          }),
            1u);
  EXPECT_THAT(fired, ElementsAre(0u));
  // 2 was re-armed during the Advance, into the past: it fires on the next call.
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + kMs), ElementsAre(2u));
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 2 * kMs), ElementsAre(1u));
}

TEST(TimingWheelTest, CallbackArmsNewTimers) {
  TimingWheel wheel(kStart);
  Timers t(4);
  wheel.Arm(t[0], kStart + 5 * kUs);
  const int64_t now = kStart + 100 * kUs;
  std::vector<uint64_t> fired;
  wheel.Advance(now, [&](TimerNode* node) {
    fired.push_back(node->cookie);
    if (node->cookie == 0) {
      wheel.Arm(t[1], kStart + 50 * kUs);  // due already: deferred to the next Advance
      wheel.Arm(t[2], now + 1);            // same tick as now, not due
      wheel.Arm(t[3], now + 3 * kSec);     // far
      // Asked from inside a callback, NextDeadlineNs still sees the deferred timer.
      EXPECT_LE(wheel.NextDeadlineNs(), kStart + 50 * kUs);
    }
  });
  EXPECT_THAT(fired, ElementsAre(0u));
  EXPECT_EQ(wheel.size(), 3u);
  EXPECT_EQ(wheel.NextDeadlineNs(), kStart + 50 * kUs);
  EXPECT_THAT(AdvanceAndCollect(wheel, now), ElementsAre(1u));
  EXPECT_THAT(AdvanceAndCollect(wheel, now + 1), ElementsAre(2u));
  EXPECT_THAT(AdvanceAndCollect(wheel, now + 3 * kSec), ElementsAre(3u));
}

TEST(TimingWheelTest, NextDeadlineIsALowerBoundWithinSlotGranularity) {
  TimingWheel wheel(kStart);
  Timers t(1);
  // Level 0: exact to the tick.
  wheel.Arm(t[0], kStart + 200 * kUs + 17);
  EXPECT_EQ(wheel.NextDeadlineNs(), kStart + 200 * kUs);
  // Level 1 (ticks 256..65535): the start of its 256-tick slot.
  wheel.Arm(t[0], kStart + 1000 * kUs);
  EXPECT_EQ(wheel.NextDeadlineNs(), kStart + 768 * kUs);
  // Level 2: the start of its 65536-tick slot.
  wheel.Arm(t[0], kStart + 200'000 * kUs);
  EXPECT_EQ(wheel.NextDeadlineNs(), kStart + 196'608 * kUs);
  // Advancing to the slot start cascades it: the bound tightens.
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 196'608 * kUs), IsEmpty());
  EXPECT_EQ(wheel.NextDeadlineNs(), kStart + 199'936 * kUs);
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 199'936 * kUs), IsEmpty());
  EXPECT_EQ(wheel.NextDeadlineNs(), kStart + 200'000 * kUs);
  EXPECT_THAT(AdvanceAndCollect(wheel, kStart + 200'000 * kUs), ElementsAre(0u));
}

TEST(TimingWheelTest, SleepUntilNextDeadlineLoopReachesEveryTimer) {
  // The worker's loop: sleep until NextDeadlineNs, Advance, repeat. It must make progress and
  // fire each timer at (not before) its deadline.
  TimingWheel wheel(kStart);
  Timers t(4);
  wheel.Arm(t[0], kStart + 37 * kUs);
  wheel.Arm(t[1], kStart + 123'456 * kUs + 5);
  wheel.Arm(t[2], kStart + 2 * 3600 * kSec);
  wheel.Arm(t[3], kStart + 9 * kSec);
  std::vector<uint64_t> fired;
  int wakeups = 0;
  int64_t now = kStart;
  while (wheel.size() > 0) {
    const int64_t next = wheel.NextDeadlineNs();
    ASSERT_GE(next, now) << "the wheel asks to be woken in the past";
    now = next;
    ++wakeups;
    ASSERT_LT(wakeups, 100);
    wheel.Advance(now, [&](TimerNode* node) {
      EXPECT_EQ(node->deadline_ns, now);
      fired.push_back(node->cookie);
    });
  }
  EXPECT_THAT(fired, ElementsAre(0u, 1u, 3u, 2u));
}

// Randomized comparison against a reference model.

struct RandomParams {
  uint32_t seed;
  int64_t tick_ns;
};

class TimingWheelRandomTest : public ::testing::TestWithParam<RandomParams> {};

// Reference model: an ordered multimap of armed deadlines.
class Model {
 public:
  explicit Model(size_t n) : where_(n) {}

  bool armed(size_t i) const { return where_[i].has_value(); }
  int64_t deadline(size_t i) const { return (*where_[i])->first; }
  size_t size() const { return by_deadline_.size(); }
  std::optional<int64_t> earliest() const {
    if (by_deadline_.empty()) return std::nullopt;
    return by_deadline_.begin()->first;
  }

  void Arm(size_t i, int64_t deadline_ns) {
    Cancel(i);
    where_[i] = by_deadline_.emplace(deadline_ns, i);
  }
  void Cancel(size_t i) {
    if (!where_[i]) return;
    by_deadline_.erase(*where_[i]);
    where_[i].reset();
  }
  std::set<size_t> DueAt(int64_t now_ns) const {
    std::set<size_t> due;
    for (auto it = by_deadline_.begin(); it != by_deadline_.end() && it->first <= now_ns; ++it) {
      due.insert(it->second);
    }
    return due;
  }

 private:
  std::multimap<int64_t, size_t> by_deadline_;
  std::vector<std::optional<std::multimap<int64_t, size_t>::iterator>> where_;
};

uint64_t TickOf(int64_t ns, int64_t start_ns, int64_t tick_ns) {
  return ns <= start_ns ? 0 : static_cast<uint64_t>(ns - start_ns) / static_cast<uint64_t>(tick_ns);
}

TEST_P(TimingWheelRandomTest, MatchesReferenceModel) {
  const RandomParams params = GetParam();
  std::mt19937_64 rng(params.seed);
  const int64_t tick = params.tick_ns;
  const int64_t start = static_cast<int64_t>(rng() % (1000 * kSec)) - 500 * kSec;
  constexpr size_t kTimers = 600;
  constexpr int kSteps = 6000;

  TimingWheel wheel(start, tick);
  Timers timers(kTimers);
  Model model(kTimers);
  int64_t now = start;
  uint64_t wheel_tick = 0;  // the wheel's clock: the highest tick advanced to
  size_t total_fired = 0;

  auto uniform = [&](int64_t lo, int64_t hi) {  // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  // Deadlines spread over every level and the overflow, plus the past.
  auto random_deadline = [&]() -> int64_t {
    switch (uniform(0, 9)) {
      case 0:
        return now - uniform(0, 300 * tick);  // past
      case 1:
        return now + uniform(0, 2 * tick);  // this or the next tick
      case 2:
      case 3:
        return now + uniform(0, 256 * tick);  // level 0
      case 4:
      case 5:
        return now + uniform(0, 65536 * tick);  // level 1
      case 6:
        return now + uniform(0, (int64_t{1} << 24) * tick);  // level 2
      case 7:
        return now + uniform(0, (int64_t{1} << 32) * tick);  // level 3
      case 8:
        return now + uniform(0, (int64_t{1} << 36) * tick);  // overflow
      default:
        return now + 3300 * kUs + uniform(-tick, tick);  // BFD-like
    }
  };
  auto random_step = [&]() -> int64_t {
    switch (uniform(0, 9)) {
      case 0:
        return -uniform(0, 50 * tick);  // the clock going backwards a little
      case 1:
        return 0;
      case 2:
      case 3:
        return uniform(0, tick);
      case 4:
      case 5:
        return uniform(0, 300 * tick);
      case 6:
        return uniform(0, 70'000 * tick);
      case 7:
        return uniform(0, (int64_t{1} << 25) * tick);
      case 8:
        return uniform(0, (int64_t{1} << 33) * tick);
      default:
        return 3300 * kUs;
    }
  };
  auto check_next_deadline = [&](const char* where) {
    const int64_t next = wheel.NextDeadlineNs();
    const std::optional<int64_t> earliest = model.earliest();
    if (!earliest) {
      EXPECT_EQ(next, kNever) << where;
      return;
    }
    EXPECT_LE(next, *earliest) << where;
    // Not absurdly early: no earlier than the start of the slot holding the earliest timer.
    const uint64_t t = std::max(TickOf(*earliest, start, tick), wheel_tick);
    const uint64_t diff = t ^ wheel_tick;
    int level = 0;
    while (level < 4 && (diff >> (8 * (level + 1))) != 0) ++level;
    if (t == wheel_tick) {
      EXPECT_EQ(next, *earliest) << where;  // the current tick is scanned exactly
    } else if (level < 4) {
      const uint64_t slot_start = (t >> (8 * level)) << (8 * level);
      EXPECT_GE(next, start + static_cast<int64_t>(slot_start) * tick) << where;
    } else {
      const uint64_t block_end = ((wheel_tick >> 32) + 1) << 32;
      EXPECT_GE(next, start + static_cast<int64_t>(block_end) * tick) << where;
    }
  };

  for (int step = 0; step < kSteps; ++step) {
    const int64_t op = uniform(0, 9);
    if (op <= 3) {
      const size_t i = static_cast<size_t>(uniform(0, kTimers - 1));
      const int64_t deadline = random_deadline();
      wheel.Arm(timers[i], deadline);
      model.Arm(i, deadline);
    } else if (op <= 4) {
      const size_t i = static_cast<size_t>(uniform(0, kTimers - 1));
      wheel.Cancel(timers[i]);
      model.Cancel(i);
    } else if (op <= 5) {
      // Re-arm an armed timer, if any.
      const size_t i = static_cast<size_t>(uniform(0, kTimers - 1));
      if (model.armed(i)) {
        const int64_t deadline = model.deadline(i) + uniform(-1000 * tick, 1000 * tick);
        wheel.Arm(timers[i], deadline);
        model.Arm(i, deadline);
      }
    } else {
      now += random_step();
      const uint64_t entry_tick = wheel_tick;
      std::set<size_t> pending = model.DueAt(now);
      const size_t expected = pending.size();
      std::set<size_t> fired;
      uint64_t last_tick = 0;
      size_t callbacks = 0;
      const size_t n = wheel.Advance(now, [&](TimerNode* node) {
        ++callbacks;
        const size_t i = node->cookie;
        ASSERT_LT(i, kTimers);
        EXPECT_TRUE(fired.insert(i).second) << "fired twice: " << i;
        EXPECT_EQ(pending.erase(i), 1u) << "fired but not due (or re-armed/cancelled): " << i;
        EXPECT_LE(node->deadline_ns, now) << "fired early";
        ASSERT_TRUE(model.armed(i));
        EXPECT_EQ(node->deadline_ns, model.deadline(i));
        EXPECT_FALSE(wheel.armed(node));
        // Non-decreasing tick order (nodes armed in the past count as the entry tick).
        const uint64_t t = std::max(TickOf(node->deadline_ns, start, tick), entry_tick);
        EXPECT_GE(t, last_tick);
        last_tick = t;
        model.Cancel(i);
        // Callback actions: re-arm itself, cancel or re-arm another (possibly due) timer.
        const int64_t action = uniform(0, 9);
        if (action <= 2) {
          const int64_t deadline = random_deadline();
          wheel.Arm(node, deadline);
          model.Arm(i, deadline);
        } else if (action == 3) {
          const size_t j = static_cast<size_t>(uniform(0, kTimers - 1));
          wheel.Cancel(timers[j]);
          model.Cancel(j);
          pending.erase(j);
        } else if (action == 4) {
          const size_t j = static_cast<size_t>(uniform(0, kTimers - 1));
          const int64_t deadline = random_deadline();
          wheel.Arm(timers[j], deadline);
          model.Arm(j, deadline);
          pending.erase(j);  // re-armed during the Advance: not fired in this call
        }
        EXPECT_EQ(wheel.size(), model.size());
        if (action == 5) {
          EXPECT_LE(wheel.NextDeadlineNs(), model.earliest().value_or(kNever));
        }
      });
      EXPECT_EQ(n, callbacks);
      EXPECT_THAT(pending, IsEmpty()) << "due but not fired, step " << step;
      EXPECT_LE(n, expected);
      total_fired += n;
      wheel_tick = std::max(wheel_tick, TickOf(now, start, tick));
      // Nothing due may remain except timers (re-)armed by a callback.
      check_next_deadline("after advance");
    }
    ASSERT_EQ(wheel.size(), model.size()) << "step " << step;
    if (step % 64 == 0) {
      for (size_t i = 0; i < kTimers; ++i) {
        ASSERT_EQ(wheel.armed(timers[i]), model.armed(i)) << i;
        if (model.armed(i)) {
          ASSERT_EQ(timers[i]->deadline_ns, model.deadline(i)) << i;
        }
      }
      check_next_deadline("periodic");
    }
    if (::testing::Test::HasFailure()) break;
  }
  // Drain: everything eventually fires, exactly once.
  std::set<size_t> remaining = model.DueAt(kNever);
  wheel.Advance(kNever, [&](TimerNode* node) {
    EXPECT_EQ(remaining.erase(node->cookie), 1u);
    model.Cancel(node->cookie);
  });
  EXPECT_THAT(remaining, IsEmpty());
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.NextDeadlineNs(), kNever);
  EXPECT_GT(total_fired, 0u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, TimingWheelRandomTest,
                         ::testing::Values(RandomParams{1, 1000}, RandomParams{2, 1000},
                                           RandomParams{3, 1000}, RandomParams{4, 1000},
                                           RandomParams{5, 1000}, RandomParams{6, 1},
                                           RandomParams{7, 1}, RandomParams{8, 777},
                                           RandomParams{9, 777}, RandomParams{10, 65536}),
                         [](const ::testing::TestParamInfo<RandomParams>& param_info) {
                           return "seed" + std::to_string(param_info.param.seed) + "_tick" +
                                  std::to_string(param_info.param.tick_ns);
                         });

}  // namespace
}  // namespace strobe::timer
