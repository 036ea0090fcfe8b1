// The kernel objects the FIB writer manages, as plain values: gateway next hops, next-hop groups
// (RTM_NEWNEXTHOP, kernel 5.3+) and routes (RTM_NEWROUTE). rtnl_codec.h turns them into netlink
// messages and back.
#ifndef STROBE_CONTROLPLANE_FIB_KERNEL_TYPES_H_
#define STROBE_CONTROLPLANE_FIB_KERNEL_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "controlplane/bgp/rib.h"
#include "src/net/ip_address.h"

namespace strobe::fib {

// A next hop the kernel can forward to: a gateway address on an interface.
struct Gateway {
  net::IpAddress address;
  uint32_t ifindex = 0;

  std::string ToString() const;
  friend bool operator==(const Gateway&, const Gateway&) = default;
  friend auto operator<=>(const Gateway&, const Gateway&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Gateway& g) {
    return H::combine(std::move(h), g.address, g.ifindex);
  }
};

// A nexthop object: either one gateway or a group of other nexthop ids (equal weights).
struct KernelNexthop {
  uint32_t id = 0;
  uint8_t protocol = 0;
  uint32_t flags = 0;  // RTNH_F_* as the kernel reports them (dead, linkdown)
  Gateway gateway;     // when `group` is empty
  bool blackhole = false;
  std::vector<uint32_t> group;  // member ids, as sent (sorted by the writer)
  bool resilient = false;       // NEXTHOP_GRP_TYPE_RES
  uint16_t buckets = 0;         // resilient only

  bool is_group() const { return !group.empty(); }
};

// A unicast route: to a nexthop object (nh_id) or, without nexthop objects, to its gateways
// (one: RTA_GATEWAY + RTA_OIF; several: RTA_MULTIPATH).
struct KernelRoute {
  bgp::RibPrefix prefix;
  uint32_t table = 0;
  uint8_t protocol = 0;
  uint32_t metric = 0;
  uint32_t nh_id = 0;
  std::vector<Gateway> gateways;
};

}  // namespace strobe::fib

#endif  // STROBE_CONTROLPLANE_FIB_KERNEL_TYPES_H_
