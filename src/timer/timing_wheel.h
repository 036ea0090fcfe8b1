#ifndef STROBE_SRC_TIMER_TIMING_WHEEL_H_
#define STROBE_SRC_TIMER_TIMING_WHEEL_H_

// A hierarchical timing wheel for the per-session BFD timers (TX and detection) of one worker.
//
// Single-threaded, no locks, no allocation after construction: timers are intrusive TimerNodes
// embedded in their owner. Arm, Cancel and re-Arm are O(1); Advance costs O(expired + nodes
// cascaded + non-empty slots and levels visited), never O(elapsed ticks), so a long idle gap is
// skipped in one step. Each node cascades at most kLevels - 1 times (plus once per visit to the
// overflow list); timers of the current tick that are not yet due are re-checked per Advance.
//
// Time is int64 nanoseconds (CLOCK_MONOTONIC in Strobe). Internally deadlines are bucketed by tick
// (tick_ns, 1 us by default) counted from start_ns, but the exact nanosecond deadline kept in the
// node is what decides expiry, so a timer never fires before its deadline_ns.
//
// Layout: kLevels (4) levels of kSlots (256) slots. A node whose tick T differs from the wheel's
// current tick in 8-bit digit L (and not above) sits at level L, slot (T >> 8L) & 255. When the
// wheel's clock reaches the start of a level-L slot, that slot is cascaded into the lower levels.
// Ticks more than 2^32 ticks away (about 71 minutes at 1 us) wait in an overflow list that is
// re-examined only when the clock reaches the earliest of them. Each level has a 256-bit
// occupancy bitmap, so finding the next non-empty slot is a handful of word scans.
//
// Expiry contract of Advance(now_ns, on_expire):
//   * It fires exactly the nodes that were armed when Advance was entered with deadline_ns <=
//     now_ns, minus those that an earlier callback of the same call cancelled or re-armed. Each
//     fires once, and the node is already disarmed when its callback runs.
//   * Nodes fire in non-decreasing tick order; within one tick the order is unspecified.
//   * Callbacks may Arm, re-Arm and Cancel any node, including the one firing and nodes that are
//     due in this same call. A node (re-)armed by a callback never fires in the same Advance call:
//     if its new deadline is <= now_ns it fires on the next Advance. So a callback re-arming
//     itself into the past cannot loop.
//   * Advance must not be called from a callback.
//   * now_ns may go backwards; nothing fires before its deadline either way.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace strobe::timer {

// Embedded by the timer's owner. The owner sets `cookie` (any tag that lets the expiry callback
// find it, e.g. a session index or a pointer cast) and otherwise treats the node as opaque:
// every other field belongs to the wheel. A node must not be destroyed, or armed in another
// wheel, while armed. Not copyable or movable: the wheel links to it by address.
struct TimerNode {
  TimerNode() = default;
  TimerNode(const TimerNode&) = delete;
  TimerNode& operator=(const TimerNode&) = delete;

  uint64_t cookie = 0;  // user tag, never touched by the wheel

  // Owned by the wheel. deadline_ns and armed may be read; do not write any of them.
  int64_t deadline_ns = 0;  // the last armed deadline
  TimerNode* prev = nullptr;
  TimerNode* next = nullptr;
  uint16_t bucket = 0xFFFF;  // which wheel list holds the node while armed
  bool armed = false;
};

class TimingWheel {
 public:
  static constexpr int kLevels = 4;
  static constexpr int kSlotBits = 8;
  static constexpr int kSlots = 1 << kSlotBits;  // 256 slots per level
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  // Tick 0 begins at start_ns; tick_ns > 0 is the bucketing granularity.
  explicit TimingWheel(int64_t start_ns, int64_t tick_ns = 1000);
  TimingWheel(const TimingWheel&) = delete;
  TimingWheel& operator=(const TimingWheel&) = delete;

  // Arms `node` to expire at deadline_ns, first cancelling it if it is already armed. A deadline
  // in the past expires on the next Advance. O(1).
  void Arm(TimerNode* node, int64_t deadline_ns);

  // Disarms `node`; a no-op if it is not armed. O(1).
  void Cancel(TimerNode* node);

  bool armed(const TimerNode* node) const { return node->armed; }

  // Moves the wheel's clock to now_ns and calls on_expire(TimerNode*) for each node due, with
  // the contract given at the top of this file. Returns the number of callbacks made.
  template <class F>
  size_t Advance(int64_t now_ns, F&& on_expire);

  // A lower bound of the earliest armed deadline, or kNever when nothing is armed; cheap (bitmap
  // scan, no walk of the timers except those in the wheel's current tick). Exact to the tick when
  // the earliest timer is within 256 ticks of the wheel's clock; otherwise it may be as early as
  // the start of the higher-level slot holding that timer (at most 256^L ticks early at level L,
  // L <= 3), or the earliest overflow tick. Sleeping until it and then calling Advance is always
  // safe: at worst the wake-up only cascades and the caller asks again.
  int64_t NextDeadlineNs() const;

  // Number of armed nodes.
  size_t size() const { return size_; }

 private:
  // Bucket ids: [0, kLevels * kSlots) are wheel slots; then the special lists.
  static constexpr uint16_t kWheelBuckets = kLevels * kSlots;
  static constexpr uint16_t kOverflowBucket = kWheelBuckets;
  static constexpr uint16_t kFiringBucket = kWheelBuckets + 1;    // due in the current Advance
  static constexpr uint16_t kDeferredBucket = kWheelBuckets + 2;  // armed <= now during Advance
  static constexpr uint16_t kNumBuckets = kWheelBuckets + 3;
  static constexpr int kBitmapWords = kSlots / 64;
  // Ticks are clamped here so tick arithmetic never overflows uint64_t.
  static constexpr uint64_t kMaxTick = uint64_t{1} << 62;

  struct Event {
    uint64_t tick;
    int level;  // 0..kLevels-1, or kLevels for the overflow list
  };

  uint64_t TickOf(int64_t ns) const;
  int64_t TickStartNs(uint64_t tick) const;

  void Link(TimerNode* node, uint16_t bucket);
  void Unlink(TimerNode* node);
  // Places an armed node in the wheel relative to now_tick_ (never in the special lists).
  void Place(TimerNode* node);
  // The earliest tick >= now_tick_ at which a wheel slot must be fired or cascaded, or the
  // overflow list re-examined; tick == UINT64_MAX if the wheel is empty.
  Event NextEvent() const;
  static int FindNextSet(const uint64_t* words, int from);

  // Advance, split so the template holds only the callback loop.
  void BeginAdvance(int64_t now_ns);
  // Cascades and collects until the firing list holds the next batch of due nodes; returns false
  // when nothing more is due in this Advance.
  bool CollectNextBatch();
  // Pops and disarms the next due node, or returns nullptr.
  TimerNode* PopFiring();
  void EndAdvance();

  int64_t start_ns_;
  int64_t tick_ns_;
  uint64_t now_tick_ = 0;  // every tick before it has been fully processed
  size_t size_ = 0;

  TimerNode* heads_[kNumBuckets] = {};
  uint64_t bitmap_[kLevels][kBitmapWords] = {};
  // A lower bound of the ticks in the overflow list (stale but still a bound after Cancel).
  uint64_t overflow_min_tick_ = UINT64_MAX;

  // State of the Advance in progress.
  bool in_advance_ = false;
  bool advance_done_ = false;
  int64_t advance_now_ns_ = 0;
  uint64_t advance_target_tick_ = 0;
  int64_t firing_min_ns_ = kNever;    // lower bound of deadlines in the firing list
  int64_t deferred_min_ns_ = kNever;  // lower bound of deadlines in the deferred list
};

template <class F>
size_t TimingWheel::Advance(int64_t now_ns, F&& on_expire) {
  static_assert(std::is_invocable_v<F&, TimerNode*>, "on_expire must accept a TimerNode*");
  BeginAdvance(now_ns);
  size_t fired = 0;
  while (CollectNextBatch()) {
    while (TimerNode* node = PopFiring()) {
      ++fired;
      on_expire(node);
    }
  }
  EndAdvance();
  return fired;
}

}  // namespace strobe::timer

#endif  // STROBE_SRC_TIMER_TIMING_WHEEL_H_
