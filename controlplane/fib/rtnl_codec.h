// rtnetlink messages for nexthop objects and routes: builders that append a request to a batch
// buffer (many messages per sendmsg) and parsers for what the kernel sends back (dumps and
// notifications). Built on libmnl; no socket here.
#ifndef STROBE_CONTROLPLANE_FIB_RTNL_CODEC_H_
#define STROBE_CONTROLPLANE_FIB_RTNL_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/fib/kernel_types.h"
#include "src/common/netlink_walk.h"

struct nlmsghdr;

namespace strobe::fib {

// Concatenated netlink requests for one sendmsg. Every request asks for an ack (NLM_F_ACK) and
// carries the sequence number the caller gives.
class RequestBatch {
 public:
  // The largest single message (a group of 256 members, a route over 256 gateways) fits in this:
  // an IPv4 route over 256 IPv6 gateways (RTA_VIA, 32 bytes a hop) is 8,248 bytes.
  static constexpr size_t kMaxMessage = 12 * 1024;
  explicit RequestBatch(size_t capacity = 64 * 1024);

  // True when one more message of any kind may not fit.
  bool full() const { return size_ + kMaxMessage > buffer_.size(); }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  size_t messages() const { return messages_; }
  const char* data() const { return buffer_.data(); }
  void Clear() {
    size_ = 0;
    messages_ = 0;
  }

  // RTM_NEWNEXTHOP with NLM_F_CREATE | NLM_F_REPLACE: creates or replaces `nh` in place (a group
  // keeps its id, so every route on it follows at once).
  void AddNexthop(uint32_t seq, const KernelNexthop& nh);
  void DeleteNexthop(uint32_t seq, uint32_t id);
  // RTM_NEWROUTE with NLM_F_CREATE | NLM_F_REPLACE.
  void AddRoute(uint32_t seq, const KernelRoute& route);
  // RTM_DELROUTE matching prefix, table, protocol and metric.
  void DeleteRoute(uint32_t seq, const KernelRoute& route);

  // Requests answered with data rather than an ack.
  void DumpNexthops(uint32_t seq);
  void DumpRoutes(uint32_t seq, int family);
  // RTM_GETROUTE for one address: the kernel's own lookup (which interface, which gateway).
  void GetRoute(uint32_t seq, const net::IpAddress& destination);

 private:
  nlmsghdr* Begin(uint16_t type, uint16_t flags, uint32_t seq);
  void End(nlmsghdr* message);

  std::vector<char> buffer_;
  size_t size_ = 0;
  size_t messages_ = 0;
};

// The walk over the messages of one received datagram (src/common/netlink_walk.h).
using netlink::MessageOk;
using netlink::NextMessage;

// RTM_NEWNEXTHOP / RTM_DELNEXTHOP; nullopt when malformed or not a nexthop message.
std::optional<KernelNexthop> ParseNexthop(const nlmsghdr* message);
// RTM_NEWROUTE / RTM_DELROUTE of a unicast IPv4/IPv6 route; nullopt for anything else (local,
// broadcast, multicast, malformed). The table is RTA_TABLE when present.
std::optional<KernelRoute> ParseRoute(const nlmsghdr* message);

// What the kernel answered to RTM_GETROUTE for one destination.
struct RouteLookup {
  uint32_t ifindex = 0;
  net::IpAddress via;  // the gateway when not directly connected
  bool reachable = false;
};
std::optional<RouteLookup> ParseRouteLookup(const nlmsghdr* message);

// NLMSG_ERROR: the errno (0 for an ack, positive otherwise) and the extended-ack text if any;
// nullopt when its error field is not 0 or a negative errno (netlink(7)).
struct Ack {
  uint32_t seq = 0;
  int error = 0;
  std::string message;
};
std::optional<Ack> ParseAck(const nlmsghdr* message);

// RTM_NEWLINK / RTM_DELLINK: interface index and whether it is administratively and
// operationally up (deleted links are down).
struct LinkEvent {
  uint32_t ifindex = 0;
  bool up = false;
};
std::optional<LinkEvent> ParseLink(const nlmsghdr* message);

}  // namespace strobe::fib

#endif  // STROBE_CONTROLPLANE_FIB_RTNL_CODEC_H_
