#include "controlplane/bgpd/config_diff.h"

#include <optional>

#include "absl/container/btree_map.h"
#include "absl/strings/str_join.h"

namespace strobe::bgpd {
namespace {

// The [[policy]] named `name` without its line numbers, or nothing.
std::optional<config::PolicyConfig> PolicyDefinition(const config::Config& config,
                                                     const std::string& name) {
  for (const config::PolicyConfig& p : config.policies) {
    if (p.name != name) continue;
    config::PolicyConfig copy = p;
    copy.line = 0;
    for (config::PolicyTerm& t : copy.terms) t.line = 0;
    return copy;
  }
  return std::nullopt;
}

bool SameChain(const config::Config& old_config, const std::vector<std::string>& old_names,
               const config::Config& new_config, const std::vector<std::string>& new_names) {
  if (old_names != new_names) return false;
  for (const std::string& name : old_names) {
    if (PolicyDefinition(old_config, name) != PolicyDefinition(new_config, name)) return false;
  }
  return true;
}

const config::BfdProfile* FindProfile(const config::Config& config, const std::string& name) {
  for (const config::BfdProfile& p : config.profiles) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

bool SameProfile(const config::BfdProfile* a, const config::BfdProfile* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return a->name == b->name && a->desired_min_tx_us == b->desired_min_tx_us &&
         a->required_min_rx_us == b->required_min_rx_us && a->detect_mult == b->detect_mult &&
         a->passive == b->passive && a->auth == b->auth;
}

// Clears what a running session can take without starting again (compared separately).
void ClearLiveSettings(config::BgpPeerTemplate* t) {
  t->import_policies.clear();
  t->export_policies.clear();
  t->next_hop_self = true;
  // BFD on or off stays a session setting (wait_for_bfd_up, registration); the profile not.
  if (!t->bfd_profile.empty()) t->bfd_profile = "on";
}

template <typename T>
void Check(std::vector<std::string>* out, const char* name, const T& a, const T& b) {
  if (!(a == b)) out->push_back(name);
}

}  // namespace

std::string PeerChange::ToString() const {
  std::vector<const char*> parts;
  if (session) parts.push_back("session");
  if (import_policy) parts.push_back("import");
  if (export_rules) parts.push_back("export");
  if (bfd) parts.push_back("bfd");
  if (description) parts.push_back("description");
  return parts.empty() ? "nothing" : absl::StrJoin(parts, ", ");
}

PeerChange CompareTemplates(const config::Config& old_config,
                            const config::BgpPeerTemplate& old_peer,
                            const config::Config& new_config,
                            const config::BgpPeerTemplate& new_peer) {
  PeerChange c;
  config::BgpPeerTemplate a = old_peer;
  config::BgpPeerTemplate b = new_peer;
  ClearLiveSettings(&a);
  ClearLiveSettings(&b);
  c.session = !(a == b);
  c.import_policy =
      !SameChain(old_config, old_peer.import_policies, new_config, new_peer.import_policies);
  c.export_rules =
      old_peer.next_hop_self != new_peer.next_hop_self ||
      !SameChain(old_config, old_peer.export_policies, new_config, new_peer.export_policies);
  if (!old_peer.bfd_profile.empty() && !new_peer.bfd_profile.empty()) {
    c.bfd = !SameProfile(FindProfile(old_config, old_peer.bfd_profile),
                         FindProfile(new_config, new_peer.bfd_profile));
  }
  return c;
}

PeerChange CompareNeighbors(const config::Config& old_config,
                            const config::BgpNeighborConfig& old_neighbor,
                            const config::Config& new_config,
                            const config::BgpNeighborConfig& new_neighbor) {
  PeerChange c = CompareTemplates(old_config, old_neighbor, new_config, new_neighbor);
  // Every other field of the table (any added later too) is a session setting.
  config::BgpNeighborConfig a = old_neighbor;
  config::BgpNeighborConfig b = new_neighbor;
  static_cast<config::BgpPeerTemplate&>(a) = {};
  static_cast<config::BgpPeerTemplate&>(b) = {};
  a.line = b.line = 0;
  a.description.clear();
  b.description.clear();
  c.session = c.session || !(a == b);
  c.description = old_neighbor.description != new_neighbor.description;
  return c;
}

PeerChange CompareListenRanges(const config::Config& old_config,
                               const config::BgpListenRangeConfig& old_range,
                               const config::Config& new_config,
                               const config::BgpListenRangeConfig& new_range) {
  PeerChange c = CompareTemplates(old_config, old_range, new_config, new_range);
  config::BgpListenRangeConfig a = old_range;
  config::BgpListenRangeConfig b = new_range;
  static_cast<config::BgpPeerTemplate&>(a) = {};
  static_cast<config::BgpPeerTemplate&>(b) = {};
  a.line = b.line = 0;
  a.max_neighbors = b.max_neighbors = 0;
  c.session = c.session || !(a == b);
  return c;
}

NeighborDiff DiffNeighbors(const config::Config& old_config, const config::Config& new_config) {
  // By address, each configuration's first neighbor of an address (Speaker::Create refuses two).
  absl::btree_map<net::IpAddress, const config::BgpNeighborConfig*> olds;
  absl::btree_map<net::IpAddress, const config::BgpNeighborConfig*> news;
  for (const config::BgpNeighborConfig& n : old_config.bgp.neighbors) olds.emplace(n.address, &n);
  for (const config::BgpNeighborConfig& n : new_config.bgp.neighbors) news.emplace(n.address, &n);
  NeighborDiff d;
  for (const auto& [address, old_neighbor] : olds) {
    auto it = news.find(address);
    if (it == news.end()) {
      d.removed.push_back(address);
      continue;
    }
    const PeerChange c = CompareNeighbors(old_config, *old_neighbor, new_config, *it->second);
    if (c.any()) {
      d.changed.emplace_back(address, c);
    } else {
      d.unchanged.push_back(address);
    }
  }
  for (const auto& [address, n] : news) {
    if (!olds.contains(address)) d.added.push_back(address);
  }
  return d;
}

NetworkDiff DiffNetworks(const absl::btree_map<bgp::RibPrefix, LocalNetwork>& old_networks,
                         const absl::btree_map<bgp::RibPrefix, LocalNetwork>& new_networks) {
  NetworkDiff d;
  for (const auto& [prefix, network] : old_networks) {
    auto it = new_networks.find(prefix);
    if (it == new_networks.end()) {
      d.removed.push_back(prefix);
    } else if (it->second.communities != network.communities ||
               it->second.large_communities != network.large_communities) {
      d.changed.push_back(prefix);
    }
  }
  for (const auto& [prefix, network] : new_networks) {
    if (!old_networks.contains(prefix)) d.added.push_back(prefix);
  }
  return d;
}

std::vector<std::string> RestartRequired(const config::Config& running,
                                         const config::Config& next) {
  std::vector<std::string> out;
  const config::BgpConfig& a = running.bgp;
  const config::BgpConfig& b = next.bgp;
  Check(&out, "bgp.asn", a.asn, b.asn);
  Check(&out, "bgp.router_id", a.router_id, b.router_id);
  Check(&out, "bgp.listen", a.listen, b.listen);
  Check(&out, "bgp.listen_port", a.listen_port, b.listen_port);
  Check(&out, "bgp.max_paths", a.max_paths, b.max_paths);
  Check(&out, "bgp.multipath_relax", a.multipath_relax, b.multipath_relax);
  Check(&out, "controlplane.control_socket", running.controlplane.control_socket,
        next.controlplane.control_socket);
  Check(&out, "controlplane.control_socket_group", running.controlplane.control_socket_group.name,
        next.controlplane.control_socket_group.name);
  Check(&out, "controlplane.metrics_address", running.controlplane.metrics_address,
        next.controlplane.metrics_address);
  Check(&out, "dataplane.control_socket", running.dataplane.control_socket,
        next.dataplane.control_socket);
  const config::FibConfig& f = running.fib;
  const config::FibConfig& g = next.fib;
  Check(&out, "fib.enabled", f.enabled, g.enabled);
  Check(&out, "fib.table", f.table, g.table);
  Check(&out, "fib.protocol", f.protocol, g.protocol);
  Check(&out, "fib.metric", f.metric, g.metric);
  Check(&out, "fib.nexthop_objects", f.nexthop_objects, g.nexthop_objects);
  Check(&out, "fib.resilient", f.resilient, g.resilient);
  Check(&out, "fib.resilient_buckets", f.resilient_buckets, g.resilient_buckets);
  Check(&out, "fib.nexthop_compat_mode", f.nexthop_compat_mode, g.nexthop_compat_mode);
  Check(&out, "fib.stale_timeout_s", f.stale_timeout_s, g.stale_timeout_s);
  return out;
}

void KeepRestartOnlySettings(const config::Config& running, config::Config* next) {
  next->bgp.asn = running.bgp.asn;
  next->bgp.router_id = running.bgp.router_id;
  next->bgp.listen = running.bgp.listen;
  next->bgp.listen_port = running.bgp.listen_port;
  next->bgp.max_paths = running.bgp.max_paths;
  next->bgp.multipath_relax = running.bgp.multipath_relax;
  next->controlplane.control_socket = running.controlplane.control_socket;
  next->controlplane.metrics_address = running.controlplane.metrics_address;
  next->controlplane.control_socket_group = running.controlplane.control_socket_group;
  next->dataplane.control_socket = running.dataplane.control_socket;
  next->fib = running.fib;
}

}  // namespace strobe::bgpd
