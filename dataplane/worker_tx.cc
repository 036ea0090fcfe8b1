// A worker's transmit path. A single-hop session that is Up on an interface where this worker
// has an AF_XDP socket sends from its prebuilt frame: the BFD payload is patched in (RFC 1624
// incremental checksum), the frame is copied into the socket's UMEM, and the whole tick's frames
// are published with one producer store and at most one kick (FlushAfXdp, after the wheel has
// fired). Everything else goes through the session's kernel UDP socket: bootstrap and Down
// sessions (so the kernel resolves and refreshes the neighbour itself), multihop sessions,
// interfaces without a socket, and any frame AF_XDP cannot take.

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "dataplane/socket_io.h"
#include "dataplane/worker.h"
#include "dataplane/worker_slot.h"
#include "src/common/logging.h"

namespace strobe::dataplane {

void Worker::AddAfXdpTx(int ifindex, std::unique_ptr<AfXdpTx> tx) {
  frame_tx_[ifindex] = tx.get();
  af_xdp_.push_back(std::move(tx));
}

void Worker::Transmit(Slot& slot, int64_t now_ns) {
  uint8_t buffer[bfd::kMaxPacketLen];
  uint32_t actions = 0;
  const size_t length = slot.session.OnTxTimer(now_ns, buffer, &actions);
  if (length > 0 && slot.tx_silenced) {
    // Built and discarded: the FSM and its timers run as if it had left.
  } else if (length > 0) {
    slot.last_tx_ns = now_ns;
    const std::span<const uint8_t> payload(buffer, length);
    slot.last_tx_af_xdp = TransmitAfXdp(slot, payload);
    if (slot.last_tx_af_xdp) {
      ++counters_.tx_packets;
      ++(dpdk_queues_.empty() ? counters_.tx_af_xdp : counters_.tx_dpdk);
    } else if ((slot.tx_connected ||
                (slot.tx_connected =
                     ConnectTransmitter(slot.tx_fd, slot.spec.key.peer, slot.spec.key.multihop))) &&
               send(slot.tx_fd, buffer, length, MSG_DONTWAIT) == static_cast<ssize_t>(length)) {
      ++counters_.tx_packets;
    } else {
      // ENETUNREACH before the address exists, ECONNREFUSED after an ICMP error: keep going.
      ++counters_.tx_errors;
      ++slot.tx_errors;
    }
  }
  Apply(slot, actions, now_ns);
}

bool Worker::TransmitAfXdp(Slot& slot, std::span<const uint8_t> payload) {
  if (frame_tx_.empty() || slot.spec.key.multihop || slot.session.state() != bfd::State::kUp) {
    return false;
  }
  if (slot.frame == nullptr) {
    if (!BuildFrame(slot, payload)) return false;
  } else if (!slot.frame->Patch(payload).ok()) {
    ++counters_.tx_frame_errors;
    slot.frame.reset();
    return false;
  }
  FrameTx* tx = slot.frame_tx;
  if (!tx->Queue(slot.frame->bytes())) {
    // Every frame is queued or in flight: publish and reap, then try once more.
    tx->Flush();
    if (!tx->Queue(slot.frame->bytes())) {
      ++counters_.tx_af_xdp_full;
      return false;
    }
  }
  // A handful of sockets per worker: a linear search beats a set.
  if (std::find(frame_tx_dirty_.begin(), frame_tx_dirty_.end(), tx) == frame_tx_dirty_.end()) {
    frame_tx_dirty_.push_back(tx);
  }
  return true;
}

bool Worker::BuildFrame(Slot& slot, std::span<const uint8_t> payload) {
  auto tx = frame_tx_.find(slot.ifindex);
  if (tx == frame_tx_.end()) return false;
  auto link = link_macs_.find(slot.ifindex);
  auto neighbor = neighbors_.find({slot.ifindex, slot.spec.key.peer});
  if (link == link_macs_.end() || neighbor == neighbors_.end()) return false;
  BfdFrameSpec spec;
  spec.src_mac = link->second;
  spec.dst_mac = neighbor->second;
  spec.ipv6 = slot.spec.key.peer.is_v6();
  spec.src_ip = slot.spec.key.local.bytes();
  spec.dst_ip = slot.spec.key.peer.bytes();
  spec.src_port = slot.source_port;
  spec.multihop = false;
  absl::StatusOr<BfdFrame> frame = BfdFrame::Build(spec, payload);
  if (!frame.ok()) {
    ++counters_.tx_frame_errors;
    return false;
  }
  slot.frame = std::make_unique<BfdFrame>(*frame);
  slot.frame_tx = tx->second;
  return true;
}

void Worker::FlushAfXdp() {
  for (FrameTx* tx : frame_tx_dirty_) tx->Flush();
  frame_tx_dirty_.clear();
}

void Worker::ApplyNeighborUpdates(const std::vector<NeighborUpdate>& updates) {
  if (frame_tx_.empty()) return;
  // The changes first, then one pass over the sessions: a burst of updates (the dump at start,
  // a neighbour storm) costs one walk of the slots, not one per update.
  absl::flat_hash_set<std::pair<int, net::IpAddress>> changed_neighbors;
  absl::flat_hash_set<int> changed_links;
  for (const NeighborUpdate& u : updates) {
    if (!frame_tx_.contains(u.ifindex)) continue;
    if (u.kind == NeighborUpdate::Kind::kLink) {
      auto it = link_macs_.find(u.ifindex);
      if (u.usable && it != link_macs_.end() && it->second == u.mac) continue;
      if (u.usable) {
        link_macs_[u.ifindex] = u.mac;
      } else {
        link_macs_.erase(u.ifindex);
      }
      changed_links.insert(u.ifindex);
    } else {
      const std::pair<int, net::IpAddress> key{u.ifindex, u.address};
      auto it = neighbors_.find(key);
      if (u.usable && it != neighbors_.end() && it->second == u.mac) continue;
      if (u.usable) {
        neighbors_[key] = u.mac;
      } else {
        neighbors_.erase(key);
      }
      changed_neighbors.insert(key);
    }
  }
  if (changed_links.empty() && changed_neighbors.empty()) return;
  // Rebuild the frames this changes at their next transmission.
  for (auto& slot : slots_) {
    if (slot && slot->frame != nullptr &&
        (changed_links.contains(slot->ifindex) ||
         changed_neighbors.contains({slot->ifindex, slot->spec.key.peer}))) {
      slot->frame.reset();
    }
  }
}

}  // namespace strobe::dataplane
