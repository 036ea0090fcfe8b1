// The worker's side of the dpdk backend: it polls its queue on every port (one RX burst each per
// loop), classifies each frame (dataplane/rx_frame.h) and gives BFD packets to the same checks
// and FSM as the other backends. A steady-state packet (the same 24 bytes as the last one the FSM
// accepted while Up, xdp/strobe_xdp.h's rule) only stamps its session's last reception: no
// decode, no FSM. Frames that are not BFD belong to the kernel: a vdev on a kernel link
// (net_af_packet) leaves the kernel its copy, so they are freed; a port with an exception TAP
// passes them to it (DpdkQueue::Poll). Transmission goes through worker_tx.cc's prebuilt frames,
// queued on this worker's TX queue and sent as one burst per loop (FlushAfXdp).

#include <rte_errno.h>
#include <rte_lcore.h>

#include <cstring>

#include "dataplane/dpdk/dpdk_port.h"
#include "dataplane/rx_frame.h"
#include "dataplane/worker.h"
#include "dataplane/worker_slot.h"
#include "src/common/clock.h"
#include "src/common/logging.h"

namespace strobe::dataplane {

void Worker::AddDpdkQueue(DpdkQueue* queue, int64_t idle_sleep_ns) {
  dpdk_queues_.push_back(queue);
  // Prebuilt frames leave on the link, never on the exception TAP.
  if (queue->role() == DpdkQueue::Role::kPort) frame_tx_[queue->ifindex()] = queue;
  dpdk_idle_sleep_ns_ = idle_sleep_ns;
}

namespace {

// The kernel's side of an exception TAP is read with a system call per attempt, and its traffic
// (ARP, ND, BGP's TCP) waits well for this long; the link's own queues are polled every round.
constexpr int64_t kExceptionPollNs = 100 * 1000;

}  // namespace

void Worker::DpdkThreadStart() {
  if (rte_thread_register() != 0) {
    STROBE_LOG(kWarning, "worker %d: not an EAL lcore (%s): its packet pool works without a cache",
               index_, rte_strerror(rte_errno));
    return;
  }
  STROBE_LOG(kInfo, "worker %d: EAL lcore %u", index_, rte_lcore_id());
}

void Worker::DpdkThreadStop() { rte_thread_unregister(); }

bool Worker::PollDpdk() {
  bool any = false;
  const int64_t round_ns = MonotonicNowNs();
  const bool exceptions_due = round_ns - last_exception_poll_ns_ >= kExceptionPollNs;
  if (exceptions_due) last_exception_poll_ns_ = round_ns;
  for (DpdkQueue* queue : dpdk_queues_) {
    if (queue->role() == DpdkQueue::Role::kException && !exceptions_due) continue;
    const int64_t rx_ns = MonotonicNowNs();  // one clock read per burst
    const int ifindex = queue->ifindex();
    const uint16_t n = queue->Poll(
        [&](std::span<const uint8_t> frame) { return ReceiveFrame(frame, ifindex, rx_ns); });
    any = any || n > 0;
  }
  return any;
}

void Worker::CatchUpReception() {
  // At most 64 rounds: 2,048 frames per queue.
  for (int round = 0; round < 64; ++round) {
    const bool polled = PollDpdk();
    if (!DrainHandoff() && !polled) return;
  }
}

bool Worker::ReceiveFrame(std::span<const uint8_t> frame, int ifindex, int64_t rx_ns) {
  RxPacket packet;
  if (ClassifyFrame(frame, &packet) != FrameClass::kBfd) return false;
  packet.ifindex = ifindex;
  packet.rx_ns = rx_ns;
  ProcessPacket(packet);
  return true;
}

bool Worker::AbsorbSteady(Slot& slot, const RxPacket& packet) {
  const ipc::SessionKey& key = slot.spec.key;
  if (packet.length != STROBE_BFD_MANDATORY_LEN || packet.multihop != key.multihop ||
      packet.source != key.peer || packet.destination != key.local ||
      (!key.multihop && packet.ifindex != slot.ifindex) ||
      std::memcmp(packet.data, slot.steady_expect.data(), STROBE_BFD_MANDATORY_LEN) != 0) {
    return false;
  }
  const int64_t previous = slot.session.last_rx_ns();
  if (previous > 0 && packet.rx_ns > previous) {
    counters_.rx_interval.ObserveUs(static_cast<uint64_t>(packet.rx_ns - previous) / 1000);
  }
  slot.session.NoteAbsorbedRx(packet.rx_ns);
  ++slot.rx_steady;
  ++counters_.rx_steady;
  return true;
}

// After the FSM accepted `wire`: the same rule as XdpLearn.
void Worker::SteadyLearn(Slot& slot, std::span<const uint8_t> wire) {
  const bfd::Session& s = slot.session;
  const uint8_t flags = wire.size() > STROBE_BFD_OFF_FLAGS ? wire[STROBE_BFD_OFF_FLAGS] : 0;
  slot.steady_ok =
      s.state() == bfd::State::kUp && !s.poll_in_progress() && !s.params().auth.has_value() &&
      wire.size() == STROBE_BFD_MANDATORY_LEN &&
      (flags & (STROBE_BFD_FLAG_POLL | STROBE_BFD_FLAG_FINAL | STROBE_BFD_FLAG_AUTH)) == 0;
  if (slot.steady_ok) std::memcpy(slot.steady_expect.data(), wire.data(), wire.size());
}

nlohmann::json Worker::DpdkQueuesJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const DpdkQueue* q : dpdk_queues_) {
    const DpdkQueueCounters& c = q->counters();
    out.push_back({{"port_id", q->port_id()},
                   {"queue", q->queue_id()},
                   {"role", q->role() == DpdkQueue::Role::kPort ? "port" : "exception"},
                   {"forwarded", c.forwarded},
                   {"ifindex", q->ifindex()},
                   {"rx_frames", c.rx_frames},
                   {"rx_bfd", c.rx_bfd},
                   {"rx_not_bfd", c.rx_not_bfd},
                   {"rx_own", c.rx_own},
                   {"tx_frames", c.tx_frames},
                   {"tx_no_mbuf", c.tx_no_mbuf},
                   {"tx_dropped", c.tx_dropped}});
  }
  return out;
}

}  // namespace strobe::dataplane
