#ifndef STROBE_DATAPLANE_SOCKET_IO_H_
#define STROBE_DATAPLANE_SOCKET_IO_H_

// Kernel UDP sockets for the `socket` backend (RFC 5881 / RFC 5883 transport).

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/rx_packet.h"
#include "src/net/ip_address.h"

namespace strobe::dataplane {

// A non-blocking socket listening on the wildcard address of `family` (AF_INET or AF_INET6) at
// `port` (3784 single-hop, 4784 multihop), reporting TTL/hop limit, destination and interface.
absl::StatusOr<int> OpenListener(int family, uint16_t port);

// Makes the kernel drop, for listener `fd`, every datagram that arrives on one of `ifindexes`
// (a classic BPF socket filter on the receiving interface): the dpdk backend receives those
// itself. No-op for an empty list.
absl::Status IgnoreInterfaces(int fd, const std::vector<int>& ifindexes);

// Up to kReceiveBatch datagrams from a listener in one system call (recvmmsg): a flood costs one
// call per batch, not per packet. Each is stamped `now_ns`. Returns how many were received (0
// when none is waiting). A datagram longer than RxPacket::data is truncated to it; the Length
// check of RFC 5880 6.8.6 judges what was kept.
inline constexpr int kReceiveBatch = 32;
// The kernel's scatter/gather and ancillary-data areas of one batch, per worker.
struct ReceiveBuffers {
  mmsghdr messages[kReceiveBatch];
  iovec iov[kReceiveBatch];
  sockaddr_storage from[kReceiveBatch];
  alignas(cmsghdr) char control[kReceiveBatch][256];
};
std::unique_ptr<ReceiveBuffers> MakeReceiveBuffers();
int ReceiveBatch(int fd, bool multihop, int64_t now_ns, ReceiveBuffers* buffers,
                 RxPacket (&out)[kReceiveBatch]);

// The per-session transmit socket: bound to `local` and a source port from 49152-65535 unique on
// the system (RFC 5881 section 4), TTL/hop limit 255, bound to `interface` for single-hop, and
// connected to the peer's BFD port. `port_hint` is where the search for a free port starts; the
// chosen port is written back. No route to the peer yet (the interface has no address: a TAP
// the dpdk backend just created, a link still coming up) is not an error: the socket is
// returned unconnected (`*connected` false) and ConnectTransmitter tries again later.
absl::StatusOr<int> OpenTransmitter(const net::IpAddress& local, const net::IpAddress& peer,
                                    const std::string& interface, bool multihop,
                                    uint16_t* port_hint, bool* connected);
// Connects a transmitter to the peer's BFD port; false (errno set) when there is no route yet.
bool ConnectTransmitter(int fd, const net::IpAddress& peer, bool multihop);

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_SOCKET_IO_H_
