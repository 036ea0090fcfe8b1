#include "src/timer/timing_wheel.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace strobe::timer {
namespace {

constexpr uint16_t kNoBucket = 0xFFFF;

}  // namespace

TimingWheel::TimingWheel(int64_t start_ns, int64_t tick_ns)
    : start_ns_(start_ns), tick_ns_(tick_ns) {
  assert(tick_ns > 0);
}

uint64_t TimingWheel::TickOf(int64_t ns) const {
  if (ns <= start_ns_) return 0;
  // ns > start_ns_, so the difference fits in uint64_t even when it overflows int64_t.
  const uint64_t diff = static_cast<uint64_t>(ns) - static_cast<uint64_t>(start_ns_);
  return std::min(diff / static_cast<uint64_t>(tick_ns_), kMaxTick);
}

int64_t TimingWheel::TickStartNs(uint64_t tick) const {
  const uint64_t tick_ns = static_cast<uint64_t>(tick_ns_);
  // Modular arithmetic gives the exact headroom even for a negative start_ns_.
  const uint64_t headroom = static_cast<uint64_t>(kNever) - static_cast<uint64_t>(start_ns_);
  if (tick > headroom / tick_ns) return kNever;
  return static_cast<int64_t>(static_cast<uint64_t>(start_ns_) + tick * tick_ns);
}

void TimingWheel::Link(TimerNode* node, uint16_t bucket) {
  TimerNode*& head = heads_[bucket];
  if (head == nullptr && bucket < kWheelBuckets) {
    bitmap_[bucket / kSlots][(bucket % kSlots) / 64] |= uint64_t{1} << (bucket % 64);
  }
  node->bucket = bucket;
  node->prev = nullptr;
  node->next = head;
  if (head != nullptr) head->prev = node;
  head = node;
}

void TimingWheel::Unlink(TimerNode* node) {
  const uint16_t bucket = node->bucket;
  assert(bucket < kNumBuckets);
  TimerNode*& head = heads_[bucket];
  if (node->prev != nullptr) {
    node->prev->next = node->next;
  } else {
    assert(head == node);
    head = node->next;
  }
  if (node->next != nullptr) node->next->prev = node->prev;
  node->prev = nullptr;
  node->next = nullptr;
  node->bucket = kNoBucket;
  if (head == nullptr) {
    if (bucket < kWheelBuckets) {
      bitmap_[bucket / kSlots][(bucket % kSlots) / 64] &= ~(uint64_t{1} << (bucket % 64));
    } else if (bucket == kOverflowBucket) {
      overflow_min_tick_ = UINT64_MAX;
    } else if (bucket == kFiringBucket) {
      firing_min_ns_ = kNever;
    } else if (bucket == kDeferredBucket) {
      deferred_min_ns_ = kNever;
    }
  }
}

void TimingWheel::Place(TimerNode* node) {
  const uint64_t tick = std::max(TickOf(node->deadline_ns), now_tick_);
  const uint64_t diff = tick ^ now_tick_;
  const int level = diff == 0 ? 0 : (63 - std::countl_zero(diff)) / kSlotBits;
  if (level >= kLevels) {
    overflow_min_tick_ = std::min(overflow_min_tick_, tick);
    Link(node, kOverflowBucket);
    return;
  }
  const uint64_t slot = (tick >> (level * kSlotBits)) & (kSlots - 1);
  Link(node, static_cast<uint16_t>(level * kSlots + slot));
}

int TimingWheel::FindNextSet(const uint64_t* words, int from) {
  if (from >= kSlots) return -1;
  int word = from / 64;
  uint64_t bits = words[word] & (~uint64_t{0} << (from % 64));
  while (true) {
    if (bits != 0) return word * 64 + std::countr_zero(bits);
    if (++word == kBitmapWords) return -1;
    bits = words[word];
  }
}

TimingWheel::Event TimingWheel::NextEvent() const {
  for (int level = 0; level < kLevels; ++level) {
    const int shift = level * kSlotBits;
    const int index = static_cast<int>((now_tick_ >> shift) & (kSlots - 1));
    // Level 0 holds the current tick itself; a higher level never holds the current digit (those
    // ticks live lower down), so its search starts after it.
    const int slot = FindNextSet(bitmap_[level], level == 0 ? index : index + 1);
    if (slot >= 0) {
      const int upper_shift = shift + kSlotBits;
      const uint64_t base = (now_tick_ >> upper_shift) << upper_shift;
      return {base | (static_cast<uint64_t>(slot) << shift), level};
    }
  }
  if (heads_[kOverflowBucket] != nullptr) {
    constexpr int kSpanBits = kLevels * kSlotBits;
    const uint64_t tick = (overflow_min_tick_ >> kSpanBits) << kSpanBits;
    assert(tick > now_tick_);
    return {tick, kLevels};
  }
  return {UINT64_MAX, -1};
}

void TimingWheel::Arm(TimerNode* node, int64_t deadline_ns) {
  if (node->armed) {
    Unlink(node);
  } else {
    node->armed = true;
    ++size_;
  }
  node->deadline_ns = deadline_ns;
  if (in_advance_ && deadline_ns <= advance_now_ns_) {
    // Already due: holding it back until the Advance ends keeps a callback that re-arms into
    // the past from firing again in the same call.
    deferred_min_ns_ = std::min(deferred_min_ns_, deadline_ns);
    Link(node, kDeferredBucket);
    return;
  }
  Place(node);
}

void TimingWheel::Cancel(TimerNode* node) {
  if (!node->armed) return;
  Unlink(node);
  node->armed = false;
  --size_;
}

int64_t TimingWheel::NextDeadlineNs() const {
  // Both are kNever unless a callback is asking in the middle of an Advance.
  int64_t best = std::min(firing_min_ns_, deferred_min_ns_);
  const Event event = NextEvent();
  if (event.level < 0) return best;
  int64_t candidate;
  if (event.level == kLevels) {
    candidate = TickStartNs(overflow_min_tick_);
  } else if (event.level == 0 && event.tick == now_tick_) {
    // The current tick's slot may also hold nodes armed in the past: take the exact minimum.
    candidate = kNever;
    for (const TimerNode* node = heads_[event.tick % kSlots]; node != nullptr; node = node->next) {
      candidate = std::min(candidate, node->deadline_ns);
    }
  } else {
    candidate = TickStartNs(event.tick);
  }
  return std::min(best, candidate);
}

void TimingWheel::BeginAdvance(int64_t now_ns) {
  assert(!in_advance_ && "Advance called from an expiry callback");
  in_advance_ = true;
  advance_done_ = false;
  advance_now_ns_ = now_ns;
  advance_target_tick_ = std::max(now_tick_, TickOf(now_ns));
}

bool TimingWheel::CollectNextBatch() {
  while (!advance_done_) {
    const Event event = NextEvent();
    if (event.tick > advance_target_tick_) {
      // Nothing is filed at or before the target tick, so jumping there keeps every node's
      // placement valid: no slot start is crossed.
      now_tick_ = advance_target_tick_;
      advance_done_ = true;
      break;
    }
    now_tick_ = event.tick;
    if (event.level > 0) {
      // Cascade: re-file the slot (or the overflow list) relative to the new clock. Cascaded
      // nodes always land at a lower level (or stay in overflow), never back in this bucket.
      const uint16_t bucket =
          event.level == kLevels
              ? kOverflowBucket
              : static_cast<uint16_t>(event.level * kSlots +
                                      ((event.tick >> (event.level * kSlotBits)) & (kSlots - 1)));
      TimerNode* node = heads_[bucket];
      heads_[bucket] = nullptr;
      if (bucket < kWheelBuckets) {
        bitmap_[bucket / kSlots][(bucket % kSlots) / 64] &= ~(uint64_t{1} << (bucket % 64));
      } else {
        overflow_min_tick_ = UINT64_MAX;
      }
      while (node != nullptr) {
        TimerNode* next = node->next;
        Place(node);
        assert(node->bucket != bucket || bucket == kOverflowBucket);
        node = next;
      }
      continue;
    }
    // Level 0: collect what is due from the slot of this tick. Before the target tick everything
    // is due; at the target tick only deadlines <= now, the rest stay for a later Advance.
    const bool at_target = event.tick == advance_target_tick_;
    const uint16_t bucket = static_cast<uint16_t>(event.tick % kSlots);
    TimerNode* node = heads_[bucket];
    while (node != nullptr) {
      TimerNode* next = node->next;
      if (node->deadline_ns <= advance_now_ns_) {
        Unlink(node);
        firing_min_ns_ = std::min(firing_min_ns_, node->deadline_ns);
        Link(node, kFiringBucket);
      } else {
        assert(at_target);
      }
      node = next;
    }
    if (at_target) advance_done_ = true;
    if (heads_[kFiringBucket] != nullptr) return true;
  }
  return false;
}

TimerNode* TimingWheel::PopFiring() {
  TimerNode* node = heads_[kFiringBucket];
  if (node == nullptr) return nullptr;
  Unlink(node);
  node->armed = false;
  --size_;
  return node;
}

void TimingWheel::EndAdvance() {
  assert(heads_[kFiringBucket] == nullptr);
  in_advance_ = false;
  TimerNode* node = heads_[kDeferredBucket];
  heads_[kDeferredBucket] = nullptr;
  deferred_min_ns_ = kNever;
  firing_min_ns_ = kNever;
  while (node != nullptr) {
    TimerNode* next = node->next;
    Place(node);
    node = next;
  }
}

}  // namespace strobe::timer
