// The worker's side of the XDP fast path: it owns its sessions' entries in the program's array.
//
// Memory ordering: the worker writes identity and expectation with plain stores and publishes
// them with a release store of `steady_ok` (or of `discriminator` for a new entry); the program
// reads those flags first. The program stamps `last_rx_ns` with an 8-byte store; the worker reads
// it with an acquire load when the session's detection timer fires, so a steady session costs
// user space nothing per packet. The worker writes `last_rx_ns` too: 0 when it publishes an entry,
// and the arrival of each packet its FSM accepts while Up (XdpLearn), from which the program
// measures the next received interval.

#include <atomic>
#include <cstring>

#include "dataplane/worker.h"
#include "dataplane/worker_slot.h"
#include "src/common/clock.h"

namespace strobe::dataplane {

strobe_xdp_session* Worker::XdpEntry(const Slot& slot) const {
  if (xdp_ == nullptr) return nullptr;
  const uint32_t index = strobe_xdp_index_of(slot.session.local_discriminator());
  return index < xdp_->session_capacity() ? &xdp_->sessions()[index] : nullptr;
}

void Worker::XdpPublish(const Slot& slot) {
  strobe_xdp_session* e = XdpEntry(slot);
  if (e == nullptr) return;
  std::atomic_ref<uint32_t>(e->discriminator).store(0, std::memory_order_relaxed);
  std::atomic_ref<uint8_t>(e->steady_ok).store(0, std::memory_order_relaxed);
  const ipc::SessionKey& key = slot.spec.key;
  e->ifindex = key.multihop ? 0 : static_cast<uint32_t>(slot.ifindex);
  e->family = key.peer.is_v4() ? 4 : 6;
  e->multihop = key.multihop;
  std::memcpy(e->peer, key.peer.bytes().data(), 16);
  std::memcpy(e->local, key.local.bytes().data(), 16);
  std::memset(e->expect, 0, sizeof(e->expect));
  e->last_rx_ns = 0;
  e->rx_absorbed = 0;
  e->rx_interesting = 0;
  e->rx_dropped = 0;
  std::atomic_ref<uint32_t>(e->discriminator)
      .store(slot.session.local_discriminator(), std::memory_order_release);
}

void Worker::XdpClear(const Slot& slot) {
  if (strobe_xdp_session* e = XdpEntry(slot)) {
    std::atomic_ref<uint8_t>(e->steady_ok).store(0, std::memory_order_relaxed);
    std::atomic_ref<uint32_t>(e->discriminator).store(0, std::memory_order_release);
  }
}

// After the FSM accepted `wire`: when the session is Up with nothing in flight, packets equal to
// this one are the steady state and need no user-space work.
void Worker::XdpLearn(const Slot& slot, std::span<const uint8_t> wire, int64_t rx_ns) {
  strobe_xdp_session* e = XdpEntry(slot);
  if (e == nullptr) return;
  const bfd::Session& s = slot.session;
  // Up: the program measures the next received interval from this packet (rx_ns is its
  // bpf_ktime_get_ns() stamp, the same clock). Detection reads last_rx_ns through
  // NoteAbsorbedRx, which only ever moves forward, so a value older than one the program wrote
  // meanwhile cannot hurt it; relaxed, as nothing else is published with it.
  if (s.state() == bfd::State::kUp && rx_ns > 0) {
    std::atomic_ref<uint64_t>(e->last_rx_ns)
        .store(static_cast<uint64_t>(rx_ns), std::memory_order_relaxed);
  }
  const uint8_t flags = wire.size() > STROBE_BFD_OFF_FLAGS ? wire[STROBE_BFD_OFF_FLAGS] : 0;
  const bool steady =
      s.state() == bfd::State::kUp && !s.poll_in_progress() && !s.params().auth.has_value() &&
      wire.size() == STROBE_BFD_MANDATORY_LEN &&
      (flags & (STROBE_BFD_FLAG_POLL | STROBE_BFD_FLAG_FINAL | STROBE_BFD_FLAG_AUTH)) == 0;
  std::atomic_ref<uint8_t> steady_ok(e->steady_ok);
  if (!steady) {
    steady_ok.store(0, std::memory_order_release);
    return;
  }
  if (steady_ok.load(std::memory_order_relaxed) != 0 &&
      std::memcmp(e->expect, wire.data(), STROBE_BFD_MANDATORY_LEN) == 0) {
    return;
  }
  steady_ok.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  std::memcpy(e->expect, wire.data(), STROBE_BFD_MANDATORY_LEN);
  steady_ok.store(1, std::memory_order_release);
}

// Our own state changed: the peer's unchanged packets must reach the FSM again.
void Worker::XdpForget(const Slot& slot) {
  if (strobe_xdp_session* e = XdpEntry(slot)) {
    std::atomic_ref<uint8_t>(e->steady_ok).store(0, std::memory_order_release);
  }
}

void Worker::XdpRefreshRx(Slot& slot) {
  if (strobe_xdp_session* e = XdpEntry(slot)) {
    const uint64_t stamp = std::atomic_ref<uint64_t>(e->last_rx_ns).load(std::memory_order_acquire);
    slot.session.NoteAbsorbedRx(static_cast<int64_t>(stamp));
  }
}

void Worker::XdpDrainRing() {
  xdp_->Drain(index_, [this](const strobe_xdp_rx_record& r) {
    RxPacket packet;
    packet.source = net::IpAddress::FromBytes(r.source, r.family);
    packet.destination = net::IpAddress::FromBytes(r.destination, r.family);
    packet.source_port = r.source_port;
    packet.ifindex = static_cast<int>(r.ifindex);
    packet.ttl = r.ttl;
    packet.multihop = r.multihop != 0;
    packet.rx_ns = static_cast<int64_t>(r.rx_ns);
    packet.length = std::min<uint16_t>(r.payload_len, sizeof(packet.data));
    std::memcpy(packet.data, r.payload, packet.length);
    ProcessPacket(packet);
  });
}

}  // namespace strobe::dataplane
