#ifndef STROBE_SRC_COMMON_SPSC_QUEUE_H_
#define STROBE_SRC_COMMON_SPSC_QUEUE_H_

// A bounded single-producer/single-consumer queue between two threads of one process. The
// producer's and the consumer's indices live on separate cache lines, and each side keeps a
// cached copy of the other's index so the common case touches only its own line.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>

namespace strobe {

inline constexpr size_t kCacheLine = 64;

template <typename T>
class SpscQueue {
 public:
  // `capacity` is rounded up to a power of two.
  explicit SpscQueue(size_t capacity) {
    size_t c = 1;
    while (c < capacity) c <<= 1;
    mask_ = c - 1;
    slots_ = std::make_unique<T[]>(c);
  }

  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  // Producer side. Returns false when full.
  bool TryPush(const T& value) {
    const uint64_t head = producer_.head.load(std::memory_order_relaxed);
    if (head - producer_.cached_tail > mask_) {
      producer_.cached_tail = consumer_.tail.load(std::memory_order_acquire);
      if (head - producer_.cached_tail > mask_) return false;
    }
    slots_[head & mask_] = value;
    producer_.head.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer side. Returns false when empty.
  bool TryPop(T* out) {
    const uint64_t tail = consumer_.tail.load(std::memory_order_relaxed);
    if (tail == consumer_.cached_head) {
      consumer_.cached_head = producer_.head.load(std::memory_order_acquire);
      if (tail == consumer_.cached_head) return false;
    }
    *out = slots_[tail & mask_];
    consumer_.tail.store(tail + 1, std::memory_order_release);
    return true;
  }

  size_t capacity() const { return mask_ + 1; }

 private:
  struct alignas(kCacheLine) Producer {
    std::atomic<uint64_t> head{0};
    uint64_t cached_tail = 0;
  };
  struct alignas(kCacheLine) Consumer {
    std::atomic<uint64_t> tail{0};
    uint64_t cached_head = 0;
  };

  Producer producer_;
  Consumer consumer_;
  size_t mask_ = 0;
  std::unique_ptr<T[]> slots_;
};

}  // namespace strobe

#endif  // STROBE_SRC_COMMON_SPSC_QUEUE_H_
