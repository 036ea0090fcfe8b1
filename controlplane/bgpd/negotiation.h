// The capabilities strobe-bgpd offers a neighbor (RFC 5492) and what a session negotiated from
// both OPENs: families, 4-octet AS, ADD-PATH, extended next hop, extended messages, route
// refresh, the peer's graceful restart. Pure logic.
#ifndef STROBE_CONTROLPLANE_BGPD_NEGOTIATION_H_
#define STROBE_CONTROLPLANE_BGPD_NEGOTIATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/bgp/open.h"
#include "controlplane/bgp/types.h"
#include "src/config/bgp_config.h"

namespace strobe::bgpd {

// Restart Time we advertise as a graceful-restart helper (RFC 4724 §3).
inline constexpr uint16_t kGracefulRestartTimeS = 120;

// The capabilities of our OPEN for a neighbor (or listen range) configured as `peer`.
bgp::Capabilities OurCapabilities(const config::BgpPeerTemplate& peer, uint32_t local_as);

struct Negotiated {
  std::vector<bgp::AfiSafi> families;  // both sides (IPv4 unicast implied without MP caps)
  bgp::CodecOptions decode;            // what the peer sends us
  bgp::CodecOptions encode;            // what we send the peer
  bool four_octet_as = false;
  bool route_refresh = false;           // the peer accepts ROUTE-REFRESH
  bool enhanced_route_refresh = false;  // both sides (RFC 7313)
  bool extended_message = false;
  std::optional<bgp::GracefulRestartCapability> peer_graceful_restart;

  bool Has(bgp::AfiSafi family) const;
  // Short names ("ipv4-unicast", "route-refresh", "add-path-rx(ipv4)") for `show`.
  std::vector<std::string> Names() const;
};

Negotiated Negotiate(const bgp::Capabilities& ours, const bgp::Capabilities& theirs);

std::string FamilyName(bgp::AfiSafi family);

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_NEGOTIATION_H_
