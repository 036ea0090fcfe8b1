// strobe-bgpd's configuration reload (SIGHUP, `config reload`): what differs between the running
// configuration and the file read again, per neighbor, per listen range and per local network,
// and which settings only a restart applies. Pure logic; Speaker::Reload acts on it.
//
// Neighbors are keyed by address, listen ranges by prefix, networks by prefix. Line numbers never
// count as a difference. A neighbor's policies are compared by their definitions (the [[policy]]
// tables its import and export lists name), its BFD profile by the profile's settings.
#ifndef STROBE_CONTROLPLANE_BGPD_CONFIG_DIFF_H_
#define STROBE_CONTROLPLANE_BGPD_CONFIG_DIFF_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "controlplane/bgp/rib.h"
#include "controlplane/bgpd/export_rules.h"
#include "src/config/bgp_config.h"
#include "src/config/config.h"
#include "src/net/ip_address.h"

namespace strobe::bgpd {

// How the settings of one neighbor (or listen range) differ. Nothing set: unchanged.
struct PeerChange {
  // A setting the session was opened with (AS, addresses, timers, families, TCP-MD5, TTL, BFD on
  // or off...): the session must start again (Cease/Other Configuration Change).
  bool session = false;
  bool import_policy = false;  // the import chain: the neighbor's routes are imported again
  bool export_rules = false;   // the export chain or next_hop_self: exports re-evaluated
  bool bfd = false;            // BFD stays on; its profile's name, timers or authentication differ
  bool description = false;

  bool any() const { return session || import_policy || export_rules || bfd || description; }
  // "session, import, export, bfd, description": the parts that differ, for logs.
  std::string ToString() const;
};

// The settings a neighbor and a listen range share, each under its own configuration (policy
// and profile names resolved there).
PeerChange CompareTemplates(const config::Config& old_config,
                            const config::BgpPeerTemplate& old_peer,
                            const config::Config& new_config,
                            const config::BgpPeerTemplate& new_peer);
// A [[bgp.neighbor]]: also remote_as and local_address (session) and description.
PeerChange CompareNeighbors(const config::Config& old_config,
                            const config::BgpNeighborConfig& old_neighbor,
                            const config::Config& new_config,
                            const config::BgpNeighborConfig& new_neighbor);
// A [[bgp.listen_range]] for the dynamic neighbors it already accepted: also the prefix and the
// remote AS range (session). max_neighbors only limits new connections: never a change.
PeerChange CompareListenRanges(const config::Config& old_config,
                               const config::BgpListenRangeConfig& old_range,
                               const config::Config& new_config,
                               const config::BgpListenRangeConfig& new_range);

// The configured neighbors ([[bgp.neighbor]]) of two configurations, each list by address.
struct NeighborDiff {
  std::vector<net::IpAddress> added;
  std::vector<net::IpAddress> removed;
  std::vector<std::pair<net::IpAddress, PeerChange>> changed;
  std::vector<net::IpAddress> unchanged;
};
NeighborDiff DiffNeighbors(const config::Config& old_config, const config::Config& new_config);

// Local networks ([[bgp.network]]) by prefix; changed: other communities.
struct NetworkDiff {
  std::vector<bgp::RibPrefix> added;
  std::vector<bgp::RibPrefix> removed;
  std::vector<bgp::RibPrefix> changed;
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};
NetworkDiff DiffNetworks(const absl::btree_map<bgp::RibPrefix, LocalNetwork>& old_networks,
                         const absl::btree_map<bgp::RibPrefix, LocalNetwork>& new_networks);

// The settings strobe-bgpd applies only when it starts whose value differs, as "table.key":
// bgp.asn, bgp.router_id, bgp.listen, bgp.listen_port, bgp.max_paths, bgp.multipath_relax,
// controlplane.control_socket, controlplane.metrics_address, dataplane.control_socket and
// fib.<key> (enabled, table, protocol, metric, nexthop_objects, resilient, resilient_buckets,
// nexthop_compat_mode, stale_timeout_s).
std::vector<std::string> RestartRequired(const config::Config& running, const config::Config& next);
// Copies those settings from `running` into `next`: the values the daemon keeps using.
void KeepRestartOnlySettings(const config::Config& running, config::Config* next);

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_CONFIG_DIFF_H_
