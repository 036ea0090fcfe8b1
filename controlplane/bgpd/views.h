// The JSON of strobe-bgpd's `show bgp ...` commands. Stable keys (docs/architecture.md):
// `show bgp neighbors` is an array of objects with address, remote_as, state, uptime_s,
// prefixes_received, prefixes_accepted, last_notification_sent, last_notification_received
// (null or {code, subcode}) and bfd (null or "down"/"init"/"up"/"admindown"); `show bgp routes`
// an array of {prefix, paths: [{next_hop, neighbor, as_path, local_pref, med, best,
// multipath}]}; `show bgp summary` mirrors FRR's `show bgp summary json` in snake_case.
#ifndef STROBE_CONTROLPLANE_BGPD_VIEWS_H_
#define STROBE_CONTROLPLANE_BGPD_VIEWS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "controlplane/bgp/rib.h"
#include "controlplane/bgpd/peer.h"
#include "controlplane/bgpd/speaker.h"

namespace strobe::bgpd {

// Loc-RIB prefixes in the kernel FIB that forward over at least one of each neighbor's paths
// (best or multipath): one walk of the Loc-RIB, for `show bgp neighbors`.
absl::flat_hash_map<net::IpAddress, uint64_t> PrefixesInstalled(const Speaker& speaker);
nlohmann::json NeighborJson(const Speaker& speaker, const Peer& peer, int64_t now_ns,
                            uint64_t prefixes_installed);
nlohmann::json SummaryJson(const Speaker& speaker, int64_t now_ns);
// Every Loc-RIB prefix (and local network), or those `filter` selects.
nlohmann::json RoutesJson(const Speaker& speaker, const std::vector<bgp::RibPrefix>& only);

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_VIEWS_H_
