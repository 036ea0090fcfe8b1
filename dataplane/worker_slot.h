#ifndef STROBE_DATAPLANE_WORKER_SLOT_H_
#define STROBE_DATAPLANE_WORKER_SLOT_H_

// One session as a worker holds it: the FSM, its socket and its two timers. Private to the
// worker's .cc files.

#include <array>
#include <memory>

#include "dataplane/bfd_frame.h"
#include "dataplane/worker.h"

namespace strobe::dataplane {

struct Worker::Slot {
  Slot(const SessionSpec& s, uint32_t slot_index, uint32_t discriminator, int64_t now_ns)
      : spec(s),
        index(slot_index),
        session(discriminator, s.params, now_ns, discriminator * 0x9e3779b97f4a7c15ULL ^ now_ns) {}

  SessionSpec spec;
  const uint32_t index;  // the session table entry
  bfd::Session session;
  int tx_fd = -1;
  bool tx_connected = false;  // tx_fd is connected to the peer (no route yet: retried per send)
  uint16_t source_port = 0;
  int ifindex = 0;
  timer::TimerNode tx_timer;
  timer::TimerNode detect_timer;
  int64_t last_detection_latency_ns = 0;
  uint64_t tx_errors = 0;
  int64_t last_tx_ns = 0;    // when a packet last left (0: never)
  bool tx_silenced = false;  // Worker::SetTxSilenced: the FSM runs, nothing is sent
  // AF_XDP: the prebuilt frame (addresses resolved) and the socket it goes out on; both reset
  // when the neighbour's or the interface's MAC changes.
  std::unique_ptr<BfdFrame> frame;
  FrameTx* frame_tx = nullptr;
  bool last_tx_af_xdp = false;  // the last packet left from `frame` (AF_XDP or DPDK)
  // dpdk: the steady state (the first 24 bytes of the last packet the FSM accepted while Up,
  // without Poll, Final or authentication), valid while steady_ok.
  std::array<uint8_t, STROBE_BFD_MANDATORY_LEN> steady_expect{};
  bool steady_ok = false;
  uint64_t rx_steady = 0;
};

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_WORKER_SLOT_H_
