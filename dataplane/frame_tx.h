#ifndef STROBE_DATAPLANE_FRAME_TX_H_
#define STROBE_DATAPLANE_FRAME_TX_H_

// Where a worker's prebuilt frames leave: an AF_XDP socket (the xdp backend) or a DPDK port queue
// (the dpdk backend). One instance per worker and interface; not thread-safe.

#include <cstdint>
#include <span>

namespace strobe::dataplane {

class FrameTx {
 public:
  virtual ~FrameTx() = default;
  // Copies `frame` into a transmit buffer and queues it (not yet handed to the device). False
  // when no buffer or ring slot is free, or the frame is too long.
  virtual bool Queue(std::span<const uint8_t> frame) = 0;
  // Hands every queued frame to the device and reclaims completed buffers. Returns the number
  // of frames this call reclaimed or sent.
  virtual int Flush() = 0;
};

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_FRAME_TX_H_
