#ifndef STROBE_DATAPLANE_AF_XDP_TX_H_
#define STROBE_DATAPLANE_AF_XDP_TX_H_

// The transmit half of the XDP fast path: one AF_XDP socket bound to (interface, queue) in copy
// mode, with its own UMEM, a TX ring and a completion ring, driven by one worker thread (no
// locks: the class is not thread-safe; one instance per worker).
//
// Queue() copies a frame into a free UMEM frame and writes a descriptor past the ring's published
// producer index; Flush() publishes every queued descriptor with one release store of the
// producer index, kicks the kernel with sendto() when it asks to be woken (XDP_USE_NEED_WAKEUP;
// always when the kernel lacks it), and reaps the completion ring, returning frames to the free
// stack. Built on the raw uapi of <linux/if_xdp.h>.
//
// No RX ring is created. Open() binds without a fill ring first and registers a small one (never
// mapped or used) only if bind() answers EINVAL; fill_ring_required() tells which happened.
// Verified on kernel 6.18: a socket that owns its UMEM needs a fill ring even when TX-only
// (xsk_bind checks for both the fill and completion rings), but no RX ring.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/frame_tx.h"

namespace strobe::dataplane {

class AfXdpTx final : public FrameTx {
 public:
  struct Options {
    std::string ifname;
    uint32_t queue_id = 0;
    uint32_t frame_count = 4096;  // power of two; also the TX and completion ring sizes
    uint32_t frame_size = 2048;   // power of two, 2048..page size
    // bind() answers EBUSY for a short while after another socket on the same queue closed
    // (the kernel releases its pool from deferred work); retry for up to this long.
    uint32_t bind_busy_wait_ms = 1000;
  };
  struct Counters {
    uint64_t queued = 0;       // descriptors written by Queue()
    uint64_t published = 0;    // descriptors handed to the kernel by Flush()
    uint64_t completed = 0;    // frames reaped from the completion ring
    uint64_t ring_full = 0;    // Queue() refused: no free frame or no TX ring slot
    uint64_t kicks = 0;        // sendto() calls
    uint64_t kick_errors = 0;  // sendto() failures other than EAGAIN/EBUSY/ENOBUFS
  };

  static absl::StatusOr<std::unique_ptr<AfXdpTx>> Open(const Options& options);
  ~AfXdpTx() override;
  AfXdpTx(const AfXdpTx&) = delete;
  AfXdpTx& operator=(const AfXdpTx&) = delete;

  // Copies `frame` into a free UMEM frame and puts a descriptor on the TX ring (not yet
  // published). False when there is no free frame or no ring slot, or the frame is too long.
  bool Queue(std::span<const uint8_t> frame) override;

  // Publishes the queued descriptors, kicks the kernel if needed and reaps completions. Returns
  // the number of frames completed (returned to the free stack) by this call.
  int Flush() override;

  // Frames handed to the kernel and not yet completed, or queued and not yet published.
  uint32_t in_flight() const { return frame_count_ - static_cast<uint32_t>(free_.size()); }
  const Counters& counters() const { return counters_; }
  bool need_wakeup() const { return need_wakeup_; }
  // Whether bind() insisted on a fill ring although no frame is ever received.
  bool fill_ring_required() const { return fill_ring_required_; }
  int fd() const { return fd_; }
  int ifindex() const { return ifindex_; }

 private:
  struct Ring {
    uint32_t* producer = nullptr;
    uint32_t* consumer = nullptr;
    uint32_t* flags = nullptr;
    void* descs = nullptr;
    void* map = nullptr;
    size_t map_len = 0;
    uint32_t size = 0;
    uint32_t mask = 0;
    uint32_t cached_prod = 0;  // local producer (TX: ours; CQ: last seen)
    uint32_t cached_cons = 0;  // local consumer (TX: last seen; CQ: ours)
  };

  AfXdpTx() = default;
  absl::Status Init(const Options& options);
  void Kick();
  int Reap();

  int fd_ = -1;
  int ifindex_ = 0;
  uint8_t* umem_ = nullptr;
  size_t umem_len_ = 0;
  uint32_t frame_count_ = 0;
  uint32_t frame_size_ = 0;
  bool need_wakeup_ = false;
  bool fill_ring_required_ = false;
  Ring tx_;
  Ring cq_;
  std::vector<uint64_t> free_;  // free-frame stack of UMEM addresses
  Counters counters_;
};

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_AF_XDP_TX_H_
