// The TCP socket options of a BGP connection and the address look-ups the speaker needs:
// TCP-MD5 (RFC 2385, Linux TCP_MD5SIG / TCP_MD5SIG_EXT for prefixes), TTL and GTSM (RFC 5082,
// IP_MINTTL / IPV6_MINHOPCOUNT), TCP_NODELAY, non-blocking connect bound to a source address.
#ifndef STROBE_CONTROLPLANE_BGPD_TCP_SOCKET_H_
#define STROBE_CONTROLPLANE_BGPD_TCP_SOCKET_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/net/ip_address.h"

namespace strobe::bgpd {

// TTL policy of one neighbor, as FRR does it: eBGP 1 hop unless multihop, iBGP 255; with GTSM
// send 255 and accept only packets that crossed at most `hops` routers.
struct TtlPolicy {
  int ttl = 255;    // IP_TTL / IPV6_UNICAST_HOPS
  int min_ttl = 0;  // IP_MINTTL / IPV6_MINHOPCOUNT; 0: no check
};
TtlPolicy MakeTtlPolicy(bool ebgp, uint8_t multihop_ttl, bool ttl_security);

// Installs (or with an empty key removes) a TCP-MD5 key for `peer` on `fd`: a listening socket
// (the key applies to connections it accepts) or a socket before connect(). `prefix_length` < 0
// keys the single address; otherwise every address of the prefix (TCP_MD5SIG_EXT).
absl::Status SetMd5Key(int fd, const net::IpAddress& peer, int prefix_length,
                       const std::string& key);

absl::Status ApplyTtl(int fd, int family, const TtlPolicy& ttl);
absl::Status SetNoDelay(int fd);

// A non-blocking socket connecting to peer:port, bound to `local` when not empty, with the MD5
// key and TTL set before the SYN. The connection completes asynchronously (EPOLLOUT).
absl::StatusOr<int> StartConnect(const net::IpAddress& peer, uint16_t port,
                                 const net::IpAddress& local, const TtlPolicy& ttl,
                                 const std::string& md5_key);
// The SO_ERROR of a connecting socket: 0 when connected.
int PendingError(int fd);

net::IpAddress LocalAddressOf(int fd);
net::IpAddress PeerAddressOf(int fd);
uint16_t LocalPortOf(int fd);
uint16_t PeerPortOf(int fd);

// The name of the interface holding `local` (empty when none does).
std::string InterfaceOf(const net::IpAddress& local);
// A global unicast address of `family` (AF_INET, AF_INET6) on interface `ifname`.
std::optional<net::IpAddress> GlobalAddressOn(const std::string& ifname, int family);
// The source address the kernel would use towards `peer` (no packet is sent).
std::optional<net::IpAddress> SourceAddressFor(const net::IpAddress& peer);

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_TCP_SOCKET_H_
