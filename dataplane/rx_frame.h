#ifndef STROBE_DATAPLANE_RX_FRAME_H_
#define STROBE_DATAPLANE_RX_FRAME_H_

// Classifies a received Ethernet frame for a poll-mode backend (dpdk), where no kernel stack has
// parsed it: Ethernet, up to two VLAN tags (802.1Q, 802.1ad), IPv4 without fragments or IPv6
// with UDP as the next header, then UDP to 3784 (single-hop, RFC 5881) or 4784 (multihop, RFC
// 5883). The same rules as the XDP program (xdp/strobe_xdp.bpf.c): what they call BFD is BFD
// here, and everything else is not (it belongs to the kernel's stack).

#include <cstdint>
#include <span>

#include "dataplane/rx_packet.h"

namespace strobe::dataplane {

enum class FrameClass : uint8_t {
  kBfd,     // `out` holds the addresses, TTL, ports and the UDP payload
  kNotBfd,  // anything else, including truncated headers: not ours
};

// Fills `out` (all but ifindex and rx_ns) for a BFD frame; on kNotBfd `out` may be partly
// written. The payload is the UDP payload as the UDP length gives it, bounded by the IP datagram
// (IPv4 total length, IPv6 payload length), the frame and RxPacket::data; a UDP length below 8
// gives an empty payload, which the header checks then drop as too short.
FrameClass ClassifyFrame(std::span<const uint8_t> frame, RxPacket* out);

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_RX_FRAME_H_
