// What strobe-bgpd advertises to one neighbor for one prefix (RFC 4271 §9.2): locally configured
// networks and Loc-RIB best paths, with the usual rules: never back to the neighbor the path came
// from, no iBGP to iBGP re-advertisement (no route reflection), NO_ADVERTISE / NO_EXPORT
// (RFC 1997), no path already holding the eBGP neighbor's AS; to eBGP our AS prepended, next hop
// self, LOCAL_PREF and MED removed (RFC 4271 §5.1.4, §5.1.5); to iBGP LOCAL_PREF set, next hop
// self unless configured otherwise. Pure logic; export policy runs on the result.
#ifndef STROBE_CONTROLPLANE_BGPD_EXPORT_RULES_H_
#define STROBE_CONTROLPLANE_BGPD_EXPORT_RULES_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "controlplane/bgp/decision.h"
#include "controlplane/bgp/rib.h"
#include "controlplane/bgp/update.h"
#include "src/net/ip_address.h"

namespace strobe::bgpd {

inline constexpr uint32_t kCommunityNoExport = 0xFFFFFF01;
inline constexpr uint32_t kCommunityNoAdvertise = 0xFFFFFF02;

struct ExportContext {
  uint32_t local_as = 0;
  net::IpAddress peer_address;
  uint32_t peer_as = 0;
  bool peer_ebgp = true;
  bool next_hop_self = true;  // for paths re-advertised to iBGP
  // Our addresses on the session's link, for next hop self (either may be missing).
  std::optional<net::IpAddress> self_v4;
  std::optional<net::IpAddress> self_v6;
  // The neighbor accepts IPv4 NLRI with an IPv6 next hop (RFC 8950).
  bool extended_next_hop = false;
};

// A locally originated prefix ([[bgp.network]]).
struct LocalNetwork {
  bgp::RibPrefix prefix;
  std::vector<uint32_t> communities;
  std::vector<bgp::LargeCommunity> large_communities;
};

std::optional<bgp::RouteAttributes> ExportNetwork(const LocalNetwork& network,
                                                  const ExportContext& context);
std::optional<bgp::RouteAttributes> ExportPath(const bgp::Path& best, const bgp::RibPrefix& prefix,
                                               const ExportContext& context);

// The AS_PATH with `asn` prepended (to the leading AS_SEQUENCE when it has room).
std::vector<bgp::AsPathSegment> PrependAs(const std::vector<bgp::AsPathSegment>& path,
                                          uint32_t asn);

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_EXPORT_RULES_H_
