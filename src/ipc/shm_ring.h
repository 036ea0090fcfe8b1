#ifndef STROBE_SRC_IPC_SHM_RING_H_
#define STROBE_SRC_IPC_SHM_RING_H_

// The two ends of a single-producer/single-consumer ring of fixed-size records living in shared
// memory (shm_layout.h). Each end keeps a private cached copy of the other end's index, so the
// common case touches only its own cache line.
//
// Publication is batched: Push() fills slots, Publish() makes them visible with one release
// store of `head`. Consumption likewise: Pop() reads, Release() returns the slots with one
// release store of `tail`.
//
// Wake-ups cost nothing when nobody sleeps: the consumer announces it is about to sleep
// (PrepareToSleep, a seq_cst store then a re-check), and the producer, after publishing and a
// seq_cst fence, rings the doorbell only if that flag is set. Either the consumer's re-check
// sees the new head, or the producer sees the flag (the two fences forbid both missing).

#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "src/ipc/shm_layout.h"

namespace strobe::ipc {

template <typename Record>
class ShmRingProducer {
 public:
  ShmRingProducer() = default;
  // `doorbell_fd` is an eventfd the consumer waits on (-1: never ring).
  ShmRingProducer(RingIndices* indices, Record* slots, uint32_t capacity, int doorbell_fd)
      : indices_(indices), slots_(slots), mask_(capacity - 1), doorbell_fd_(doorbell_fd) {
    head_ = indices_->head.load(std::memory_order_relaxed);
    cached_tail_ = indices_->tail.load(std::memory_order_acquire);
  }

  // Writes one record; invisible to the consumer until Publish(). False when full.
  bool Push(const Record& record) {
    if (head_ - cached_tail_ > mask_) {
      cached_tail_ = indices_->tail.load(std::memory_order_acquire);
      if (head_ - cached_tail_ > mask_) return false;
    }
    slots_[head_ & mask_] = record;
    ++head_;
    return true;
  }

  // Makes every pushed record visible; rings the doorbell if the consumer sleeps. Returns true
  // when it rang.
  bool Publish() {
    if (indices_->head.load(std::memory_order_relaxed) == head_) return false;
    indices_->head.store(head_, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // Taking the flag (rather than reading it) rings once per sleep, not once per publish.
    if (indices_->consumer_sleeping.load(std::memory_order_relaxed) == 0 ||
        indices_->consumer_sleeping.exchange(0, std::memory_order_relaxed) == 0) {
      return false;
    }
    if (doorbell_fd_ >= 0) {
      const uint64_t one = 1;
      ssize_t unused = write(doorbell_fd_, &one, sizeof(one));
      (void)unused;
    }
    return true;
  }

  uint64_t unpublished() const { return head_ - indices_->head.load(std::memory_order_relaxed); }
  bool attached() const { return indices_ != nullptr; }
  void set_doorbell(int fd) { doorbell_fd_ = fd; }

 private:
  RingIndices* indices_ = nullptr;
  Record* slots_ = nullptr;
  uint64_t mask_ = 0;
  int doorbell_fd_ = -1;
  uint64_t head_ = 0;         // private: next slot to write
  uint64_t cached_tail_ = 0;  // private copy of the consumer's index
};

template <typename Record>
class ShmRingConsumer {
 public:
  ShmRingConsumer() = default;
  ShmRingConsumer(RingIndices* indices, const Record* slots, uint32_t capacity)
      : indices_(indices), slots_(slots), mask_(capacity - 1) {
    tail_ = indices_->tail.load(std::memory_order_relaxed);
    cached_head_ = indices_->head.load(std::memory_order_acquire);
  }

  // Reads the next record; its slot is returned to the producer at Release(). False when empty.
  bool Pop(Record* out) {
    if (tail_ == cached_head_) {
      cached_head_ = indices_->head.load(std::memory_order_acquire);
      if (tail_ == cached_head_) return false;
    }
    *out = slots_[tail_ & mask_];
    ++tail_;
    return true;
  }

  void Release() { indices_->tail.store(tail_, std::memory_order_release); }

  // Drops everything published so far (a consumer that re-attaches and reads the session table
  // instead). Returns how many records were skipped.
  uint64_t SkipToHead() {
    cached_head_ = indices_->head.load(std::memory_order_acquire);
    const uint64_t skipped = cached_head_ - tail_;
    tail_ = cached_head_;
    Release();
    return skipped;
  }

  // Call before sleeping on the doorbell: returns false (and does not sleep-mark) when records
  // are already waiting. After waking, call Awake().
  bool PrepareToSleep() {
    indices_->consumer_sleeping.store(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (indices_->head.load(std::memory_order_relaxed) != tail_) {
      indices_->consumer_sleeping.store(0, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  void Awake() { indices_->consumer_sleeping.store(0, std::memory_order_relaxed); }

  bool attached() const { return indices_ != nullptr; }

 private:
  RingIndices* indices_ = nullptr;
  const Record* slots_ = nullptr;
  uint64_t mask_ = 0;
  uint64_t tail_ = 0;         // private: next slot to read
  uint64_t cached_head_ = 0;  // private copy of the producer's index
};

}  // namespace strobe::ipc

#endif  // STROBE_SRC_IPC_SHM_RING_H_
