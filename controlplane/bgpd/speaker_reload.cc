// Speaker::Reload: the configuration file read again, applied as a difference from the running
// one (config_diff.h): what did not change is not touched, not even for one packet.
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controlplane/bgp/notification.h"
#include "controlplane/bgpd/config_diff.h"
#include "controlplane/bgpd/speaker.h"
#include "controlplane/bgpd/tcp_socket.h"
#include "src/common/logging.h"

namespace strobe::bgpd {
namespace {

using nlohmann::json;

json AddressList(const std::vector<net::IpAddress>& addresses) {
  json out = json::array();
  for (const net::IpAddress& a : addresses) out.push_back(a.ToString());
  return out;
}

json PrefixList(const std::vector<bgp::RibPrefix>& prefixes) {
  json out = json::array();
  for (const bgp::RibPrefix& p : prefixes) out.push_back(p.ToString());
  return out;
}

bool IsNeighbor(const config::Config& config, const net::IpAddress& address) {
  for (const config::BgpNeighborConfig& n : config.bgp.neighbors) {
    if (n.address == address) return true;
  }
  return false;
}

const config::BgpListenRangeConfig* FindRange(const config::Config& config,
                                              const std::string& prefix) {
  for (const config::BgpListenRangeConfig& r : config.bgp.listen_ranges) {
    if (r.prefix.ToString() == prefix) return &r;
  }
  return nullptr;
}

// The TCP-MD5 keys a configuration puts on the listening sockets: by "ADDRESS" for neighbors
// (prefix length -1) and "ADDRESS/LENGTH" for listen ranges.
struct Md5Key {
  net::IpAddress address;
  int prefix_length = -1;
  std::string key;
};
absl::btree_map<std::string, Md5Key> Md5Keys(const config::Config& config) {
  absl::btree_map<std::string, Md5Key> keys;
  for (const config::BgpNeighborConfig& n : config.bgp.neighbors) {
    if (n.md5_password.empty()) continue;
    keys.emplace(n.address.ToString(), Md5Key{n.address, -1, n.md5_password});
  }
  for (const config::BgpListenRangeConfig& r : config.bgp.listen_ranges) {
    if (r.md5_password.empty()) continue;
    keys.emplace(r.prefix.ToString(), Md5Key{r.prefix.address, r.prefix.length, r.md5_password});
  }
  return keys;
}

}  // namespace

void Speaker::SetListenerMd5(const net::IpAddress& address, int prefix_length,
                             const std::string& key) {
  for (const std::unique_ptr<Listener>& l : listeners_) {
    if (l->address().family() != address.family()) continue;
    absl::Status st = SetMd5Key(l->fd(), address, prefix_length, key);
    if (!st.ok()) {
      STROBE_LOG(kWarning, "config reload: TCP-MD5 key on the socket listening on %s: %s",
                 l->address().ToString(), std::string(st.message()));
    }
  }
}

void Speaker::RemovePeer(const net::IpAddress& address, uint8_t cease_subcode) {
  auto it = peers_.find(address);
  if (it == peers_.end()) return;
  Peer* peer = it->second.get();
  peer->Deconfigure(cease_subcode);
  if (peer->bfd_key() && bfd_) bfd_->Unregister(*peer->bfd_key());
  loop_->DeleteSoon(std::move(it->second));
  peers_.erase(it);
}

void Speaker::AddPeer(PeerConfig config) {
  const net::IpAddress address = config.address;
  auto peer = std::make_unique<Peer>(this, std::move(config));
  Peer* raw = peer.get();
  peers_[address] = std::move(peer);
  if (started_) raw->Start();
}

std::vector<net::IpAddress> Speaker::ReloadDynamicPeers(const config::Config& old_config) {
  // Stopping a dynamic neighbor deletes it from dynamic_peers_: iterate over a copy.
  std::vector<Peer*> all;
  for (auto& [address, peer] : dynamic_peers_) all.push_back(peer.get());
  std::vector<net::IpAddress> closed;
  for (Peer* peer : all) {
    const net::IpAddress address = peer->address();
    const std::string from = peer->config().listen_range;
    const config::BgpListenRangeConfig* old_range = FindRange(old_config, from);
    const config::BgpListenRangeConfig* range = config_.bgp.FindListenRange(address);
    uint8_t cease = 0;
    std::string why;
    if (IsNeighbor(config_, address)) {
      cease = bgp::kCeaseOtherConfigurationChange;
      why = "it is a configured neighbor now";
    } else if (range == nullptr) {
      cease = bgp::kCeasePeerDeconfigured;
      why = "no listen range holds it any more";
    } else if (old_range == nullptr || range->prefix.ToString() != from) {
      cease = bgp::kCeaseOtherConfigurationChange;
      why = absl::StrCat("it belongs to listen range ", range->prefix.ToString(), " now");
    } else {
      const PeerChange change = CompareListenRanges(old_config, *old_range, config_, *range);
      if (!change.any()) continue;
      if (!change.session) {
        absl::StatusOr<PeerConfig> pc = MakeDynamicPeerConfig(*range, address);
        if (pc.ok() && peer->Reconfigure(*pc, change)) {
          STROBE_LOG(kInfo, "config reload: dynamic neighbor %s reconfigured, session kept (%s)",
                     address.ToString(), change.ToString());
          continue;
        }
      }
      cease = bgp::kCeaseOtherConfigurationChange;
      why = absl::StrCat("listen range ", from, " changed (", change.ToString(), ")");
    }
    STROBE_LOG(kInfo, "config reload: dynamic neighbor %s closed: %s", address.ToString(), why);
    closed.push_back(address);
    peer->Stop(cease, "");
    PeerFinished(peer);  // when stopping it did not already (deleted after this turn)
  }
  return closed;
}

absl::StatusOr<nlohmann::json> Speaker::Reload(config::Config next) {
  if (next.path.empty()) next.path = config_.path;
  // Everything is checked before anything changes.
  absl::StatusOr<Plan> plan = MakePlan(next);
  if (!plan.ok()) return absl::InvalidArgumentError(plan.status().message());
  const std::vector<std::string> restart = RestartRequired(config_, next);
  KeepRestartOnlySettings(config_, &next);
  const NeighborDiff neighbors = DiffNeighbors(config_, next);
  const NetworkDiff networks = DiffNetworks(networks_, plan->networks);
  const config::Config old = std::exchange(config_, std::move(next));
  policies_ = std::move(plan->policies);
  networks_ = std::move(plan->networks);
  for (const std::string& setting : restart) {
    STROBE_LOG(kWarning, "config reload: %s changed: applied only when strobe-bgpd restarts",
               setting);
  }

  for (const net::IpAddress& address : neighbors.removed) {
    STROBE_LOG(kInfo, "config reload: neighbor %s removed", address.ToString());
    RemovePeer(address, bgp::kCeasePeerDeconfigured);
  }
  // Before neighbors start: a dynamic neighbor that became a configured one goes first (with its
  // BFD registration).
  const std::vector<net::IpAddress> closed = ReloadDynamicPeers(old);

  // TCP-MD5 keys on the listening sockets, before the new neighbors connect.
  const absl::btree_map<std::string, Md5Key> old_keys = Md5Keys(old);
  const absl::btree_map<std::string, Md5Key> new_keys = Md5Keys(config_);
  for (const auto& [name, k] : old_keys) {
    if (!new_keys.contains(name)) SetListenerMd5(k.address, k.prefix_length, "");
  }
  for (const auto& [name, k] : new_keys) {
    auto it = old_keys.find(name);
    if (it == old_keys.end() || it->second.key != k.key) {
      SetListenerMd5(k.address, k.prefix_length, k.key);
    }
  }

  std::vector<net::IpAddress> changed;
  std::vector<net::IpAddress> reset;
  for (const auto& [address, change] : neighbors.changed) {
    changed.push_back(address);
    PeerConfig& pc = plan->neighbors.at(address);
    auto it = peers_.find(address);
    if (it != peers_.end() && !change.session && it->second->Reconfigure(pc, change)) {
      STROBE_LOG(kInfo, "config reload: neighbor %s reconfigured, session kept (%s)",
                 address.ToString(), change.ToString());
      continue;
    }
    STROBE_LOG(kInfo, "config reload: neighbor %s changed (%s): its session starts again",
               address.ToString(), change.ToString());
    RemovePeer(address, bgp::kCeaseOtherConfigurationChange);
    AddPeer(std::move(pc));
    reset.push_back(address);
  }
  for (const net::IpAddress& address : neighbors.added) {
    STROBE_LOG(kInfo, "config reload: neighbor %s added", address.ToString());
    AddPeer(std::move(plan->neighbors.at(address)));
  }

  for (const std::vector<bgp::RibPrefix>* list :
       {&networks.added, &networks.removed, &networks.changed}) {
    for (const bgp::RibPrefix& prefix : *list) MarkDirty(prefix);
  }
  if (!networks.empty()) {
    STROBE_LOG(kInfo, "config reload: networks: %d added, %d removed, %d changed",
               networks.added.size(), networks.removed.size(), networks.changed.size());
  }
  // Without the removed neighbors, the others may have sent all their routes already.
  if (!neighbors.removed.empty()) OnEndOfRib();

  return json{{"config", config_.path},
              {"neighbors_added", AddressList(neighbors.added)},
              {"neighbors_removed", AddressList(neighbors.removed)},
              {"neighbors_changed", AddressList(changed)},
              {"neighbors_reset", AddressList(reset)},
              {"neighbors_unchanged", neighbors.unchanged.size()},
              {"dynamic_neighbors_closed", AddressList(closed)},
              {"networks_added", PrefixList(networks.added)},
              {"networks_removed", PrefixList(networks.removed)},
              {"networks_changed", PrefixList(networks.changed)},
              {"restart_required", restart}};
}

absl::StatusOr<nlohmann::json> Speaker::ReloadFile(const std::string& trigger) {
  const std::string path = config_.path;
  absl::StatusOr<json> result;
  if (path.empty()) {
    result = absl::FailedPreconditionError("no configuration file to read again");
  } else if (absl::StatusOr<config::Config> next = config::LoadConfigFile(path); !next.ok()) {
    result = absl::InvalidArgumentError(next.status().message());
  } else {
    if (next->path.empty()) next->path = path;
    result = Reload(*std::move(next));
  }
  if (!result.ok()) {
    STROBE_LOG(kWarning, "config reload (%s) of %s refused, nothing changed: %s", trigger, path,
               std::string(result.status().message()));
    return result;
  }
  const json& r = *result;
  const std::vector<std::string> restart = r["restart_required"].get<std::vector<std::string>>();
  STROBE_LOG(kInfo,
             "config reload (%s) of %s: neighbors %d added, %d removed, %d changed (%d reset), %d "
             "unchanged; %d dynamic neighbors closed; networks %d added, %d removed, %d changed; "
             "restart required: %s",
             trigger, path, r["neighbors_added"].size(), r["neighbors_removed"].size(),
             r["neighbors_changed"].size(), r["neighbors_reset"].size(),
             r["neighbors_unchanged"].get<size_t>(), r["dynamic_neighbors_closed"].size(),
             r["networks_added"].size(), r["networks_removed"].size(), r["networks_changed"].size(),
             restart.empty() ? "none" : absl::StrJoin(restart, ", "));
  return result;
}

}  // namespace strobe::bgpd
