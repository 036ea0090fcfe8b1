#include "dataplane/rx_frame.h"

#include <algorithm>
#include <cstring>

#include "src/bfd/rx_checks.h"

namespace strobe::dataplane {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint16_t kEtherTypeVlan = 0x8100;  // 802.1Q
constexpr uint16_t kEtherTypeQinQ = 0x88a8;  // 802.1ad
constexpr uint8_t kProtocolUdp = 17;
constexpr uint16_t kIpv4FragmentMask = 0x3fff;  // MF and the fragment offset
constexpr size_t kEthernetLen = 14;
constexpr size_t kVlanLen = 4;
constexpr size_t kIpv6Len = 40;
constexpr size_t kUdpLen = 8;

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

FrameClass ClassifyFrame(std::span<const uint8_t> frame, RxPacket* out) {
  const uint8_t* p = frame.data();
  const size_t size = frame.size();
  if (size < kEthernetLen) return FrameClass::kNotBfd;
  uint16_t ether_type = Be16(p + 12);
  size_t offset = kEthernetLen;
  for (int tags = 0; tags < 2 && (ether_type == kEtherTypeVlan || ether_type == kEtherTypeQinQ);
       ++tags) {
    if (size < offset + kVlanLen) return FrameClass::kNotBfd;
    ether_type = Be16(p + offset + 2);
    offset += kVlanLen;
  }
  size_t udp;
  size_t ip_end;  // the end of the IP datagram in the frame (Ethernet padding excluded)
  if (ether_type == kEtherTypeIpv4) {
    if (size < offset + 20) return FrameClass::kNotBfd;
    const uint8_t* ip = p + offset;
    const size_t header_len = size_t{ip[0] & 0x0fu} * 4;
    if ((ip[0] >> 4) != 4 || header_len < 20) return FrameClass::kNotBfd;
    if ((Be16(ip + 6) & kIpv4FragmentMask) != 0 || ip[9] != kProtocolUdp) {
      return FrameClass::kNotBfd;
    }
    out->source = net::IpAddress::FromBytes(ip + 12, 4);
    out->destination = net::IpAddress::FromBytes(ip + 16, 4);
    out->ttl = ip[8];
    udp = offset + header_len;
    ip_end = offset + Be16(ip + 2);
  } else if (ether_type == kEtherTypeIpv6) {
    if (size < offset + kIpv6Len) return FrameClass::kNotBfd;
    const uint8_t* ip = p + offset;
    if ((ip[0] >> 4) != 6 || ip[6] != kProtocolUdp) return FrameClass::kNotBfd;
    out->source = net::IpAddress::FromBytes(ip + 8, 6);
    out->destination = net::IpAddress::FromBytes(ip + 24, 6);
    out->ttl = ip[7];
    udp = offset + kIpv6Len;
    ip_end = udp + Be16(ip + 4);
  } else {
    return FrameClass::kNotBfd;
  }
  if (size < udp + kUdpLen) return FrameClass::kNotBfd;
  const uint16_t destination_port = Be16(p + udp + 2);
  if (destination_port != STROBE_BFD_PORT_SINGLE_HOP &&
      destination_port != STROBE_BFD_PORT_MULTIHOP) {
    return FrameClass::kNotBfd;
  }
  out->multihop = destination_port == STROBE_BFD_PORT_MULTIHOP;
  out->source_port = Be16(p + udp);
  const size_t udp_len = Be16(p + udp + 4);
  // Bounded by the UDP length, the IP datagram and the frame, whichever ends first.
  const size_t end = std::min({udp + std::max(udp_len, kUdpLen), ip_end, size});
  const size_t payload_len = end > udp + kUdpLen ? end - udp - kUdpLen : 0;
  out->length = static_cast<uint16_t>(std::min(payload_len, sizeof(out->data)));
  std::memcpy(out->data, p + udp + kUdpLen, out->length);
  return FrameClass::kBfd;
}

}  // namespace strobe::dataplane
