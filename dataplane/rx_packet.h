#ifndef STROBE_DATAPLANE_RX_PACKET_H_
#define STROBE_DATAPLANE_RX_PACKET_H_

#include <cstdint>

#include "src/bfd/packet.h"
#include "src/net/ip_address.h"

namespace strobe::dataplane {

// One received BFD packet with what the network told us about it. Fixed size, so it can be
// handed from the receiving worker to the owning worker through an SpscQueue.
struct RxPacket {
  net::IpAddress source;
  net::IpAddress destination;
  uint16_t source_port = 0;
  int ifindex = 0;
  int ttl = -1;  // TTL or hop limit; -1 when the kernel did not report it
  bool multihop = false;
  int64_t rx_ns = 0;
  uint16_t length = 0;  // bytes in `data`
  uint8_t data[bfd::kMaxPacketLen + 12] = {};
};

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_RX_PACKET_H_
