#include "controlplane/bgpd/speaker.h"

#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "controlplane/bgpd/tcp_socket.h"
#include "src/common/logging.h"

namespace strobe::bgpd {
namespace {

uint32_t RouterIdOf(const net::IpAddress& a) {
  const auto& b = a.bytes();
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

}  // namespace

Speaker::Speaker(EventLoop* loop, config::Config config, SpeakerOptions options, FibSink* fib)
    : loop_(loop),
      config_(std::move(config)),
      options_(options),
      fib_(fib),
      rib_(bgp::DecisionOptions{std::max<size_t>(1, config_.bgp.max_paths),
                                config_.bgp.multipath_relax, bgp::kDefaultLocalPref}) {}

Speaker::~Speaker() {
  // Peers refer to the BFD link and the loop; they go first.
  peers_.clear();
  dynamic_peers_.clear();
  listeners_.clear();
  bfd_.reset();
}

absl::StatusOr<PeerConfig> Speaker::MakePeerConfig(const bgp::PolicyLibrary& policies,
                                                   const config::Config& config,
                                                   const config::BgpPeerTemplate& settings) {
  PeerConfig pc;
  pc.settings = settings;
  absl::StatusOr<bgp::PolicyChain> import = policies.Chain(settings.import_policies);
  if (!import.ok()) return import.status();
  absl::StatusOr<bgp::PolicyChain> export_chain = policies.Chain(settings.export_policies);
  if (!export_chain.ok()) return export_chain.status();
  pc.import_policy = *std::move(import);
  pc.export_policy = *std::move(export_chain);
  if (!settings.bfd_profile.empty()) {
    for (const config::BfdProfile& p : config.profiles) {
      if (p.name == settings.bfd_profile) pc.bfd = p;
    }
    if (!pc.bfd) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown bfd_profile \"", settings.bfd_profile, "\""));
    }
  }
  return pc;
}

absl::StatusOr<PeerConfig> Speaker::MakeDynamicPeerConfig(const config::BgpListenRangeConfig& r,
                                                          const net::IpAddress& address) {
  absl::StatusOr<PeerConfig> pc = MakePeerConfig(policies_, config_, r);
  if (!pc.ok()) return pc.status();
  pc->address = address;
  pc->remote_as = r.remote_as_min == r.remote_as_max ? r.remote_as_min : 0;
  pc->remote_as_min = r.remote_as_min;
  pc->remote_as_max = r.remote_as_max;
  pc->dynamic = true;
  pc->listen_range = r.prefix.ToString();
  return pc;
}

absl::StatusOr<Speaker::Plan> Speaker::MakePlan(const config::Config& config) {
  const std::string source = config.path.empty() ? "config" : config.path;
  if (!config.bgp.present) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": no [bgp] table"));
  }
  if (config.bgp.asn == 0 || !config.bgp.router_id.is_v4()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": [bgp] needs asn and an IPv4 router_id"));
  }
  Plan plan;
  const config::BgpConfig& bgp = config.bgp;
  absl::StatusOr<bgp::PolicyLibrary> policies = bgp::PolicyLibrary::Compile(config.policies);
  if (!policies.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", std::string(policies.status().message())));
  }
  plan.policies = *std::move(policies);
  for (const config::BgpNetworkConfig& n : bgp.networks) {
    std::optional<bgp::RibPrefix> prefix = bgp::RibPrefix::Make(n.prefix.address, n.prefix.length);
    if (!prefix) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", n.line, ": bad network prefix"));
    }
    LocalNetwork local{*prefix, n.communities, {}};
    for (const config::LargeCommunity& c : n.large_communities) {
      local.large_communities.push_back({c.global, c.local1, c.local2});
    }
    plan.networks.emplace(*prefix, std::move(local));
  }
  for (const config::BgpNeighborConfig& n : bgp.neighbors) {
    absl::StatusOr<PeerConfig> pc = MakePeerConfig(plan.policies, config, n);
    if (!pc.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", n.line, ": neighbor ",
                                                     n.address.ToString(), ": ",
                                                     std::string(pc.status().message())));
    }
    if (plan.neighbors.contains(n.address)) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", n.line, ": neighbor ", n.address.ToString(), " twice"));
    }
    pc->address = n.address;
    pc->remote_as = n.remote_as;
    pc->local_address = n.local_address;
    pc->description = n.description;
    plan.neighbors.emplace(n.address, *std::move(pc));
  }
  for (const config::BgpListenRangeConfig& r : bgp.listen_ranges) {
    absl::StatusOr<PeerConfig> pc = MakePeerConfig(plan.policies, config, r);
    if (!pc.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", r.line, ": listen range ",
                                                     r.prefix.ToString(), ": ",
                                                     std::string(pc.status().message())));
    }
  }
  return plan;
}

absl::StatusOr<std::unique_ptr<Speaker>> Speaker::Create(EventLoop* loop, config::Config config,
                                                         SpeakerOptions options, FibSink* fib) {
  absl::StatusOr<Plan> plan = MakePlan(config);
  if (!plan.ok()) return plan.status();
  std::unique_ptr<Speaker> s(new Speaker(loop, std::move(config), options, fib));
  s->router_id_ = RouterIdOf(s->config_.bgp.router_id);
  s->policies_ = std::move(plan->policies);
  s->networks_ = std::move(plan->networks);
  for (auto& [address, pc] : plan->neighbors) {
    s->peers_.emplace(address, std::make_unique<Peer>(s.get(), std::move(pc)));
  }
  return s;
}

absl::Status Speaker::Start() {
  started_ns_ = loop_->now_ns();
  const config::BgpConfig& bgp = config_.bgp;
  for (const net::IpAddress& address : bgp.listen) {
    absl::StatusOr<std::unique_ptr<Listener>> l =
        Listener::Open(loop_, address, bgp.listen_port, [this](int fd) { OnAccept(fd); });
    if (!l.ok()) return l.status();
    Listener* listener = l->get();
    listeners_.push_back(*std::move(l));
    // TCP-MD5 keys live on the listening socket: the kernel checks the SYN before accept().
    for (const config::BgpNeighborConfig& n : bgp.neighbors) {
      if (n.md5_password.empty() || n.address.family() != address.family()) continue;
      absl::Status st = SetMd5Key(listener->fd(), n.address, -1, n.md5_password);
      if (!st.ok()) return st;
    }
    for (const config::BgpListenRangeConfig& r : bgp.listen_ranges) {
      if (r.md5_password.empty() || r.prefix.address.family() != address.family()) continue;
      absl::Status st =
          SetMd5Key(listener->fd(), r.prefix.address, r.prefix.length, r.md5_password);
      if (!st.ok()) return st;
    }
    STROBE_LOG(kInfo, "listening on %s port %d", address.ToString(), bgp.listen_port);
  }
  started_ = true;
  for (auto& [address, peer] : peers_) peer->Start();
  return absl::OkStatus();
}

void Speaker::Shutdown(const std::string& message) {
  listeners_.clear();
  // Stopping a dynamic neighbor deletes it from dynamic_peers_: iterate over a copy.
  std::vector<Peer*> all;
  for (auto& [address, peer] : peers_) all.push_back(peer.get());
  for (auto& [address, peer] : dynamic_peers_) all.push_back(peer.get());
  for (Peer* peer : all) peer->Stop(bgp::kCeaseAdministrativeShutdown, message);
}

Peer* Speaker::FindPeer(const net::IpAddress& address) const {
  if (auto it = peers_.find(address); it != peers_.end()) return it->second.get();
  if (auto it = dynamic_peers_.find(address); it != dynamic_peers_.end()) {
    return it->second.get();
  }
  return nullptr;
}

std::vector<const Peer*> Speaker::Peers() const {
  std::vector<const Peer*> out;
  for (const auto& [a, p] : peers_) out.push_back(p.get());
  for (const auto& [a, p] : dynamic_peers_) out.push_back(p.get());
  std::sort(out.begin(), out.end(),
            [](const Peer* x, const Peer* y) { return x->address() < y->address(); });
  return out;
}

void Speaker::OnAccept(int fd) {
  const net::IpAddress remote = PeerAddressOf(fd);
  if (Peer* peer = FindPeer(remote)) {
    peer->Accept(fd);
    return;
  }
  if (const config::BgpListenRangeConfig* best = config_.bgp.FindListenRange(remote)) {
    const config::BgpListenRangeConfig& r = *best;
    const std::string range = r.prefix.ToString();
    size_t in_range = 0;
    for (const auto& [a, p] : dynamic_peers_) in_range += p->config().listen_range == range;
    if (in_range >= r.max_neighbors) {
      STROBE_LOG(kWarning, "connection from %s refused: listen range %s is full (%d)",
                 remote.ToString(), range, r.max_neighbors);
      close(fd);
      return;
    }
    if (!rib_.HasFreeSource()) {
      STROBE_LOG(kWarning, "connection from %s refused: 65,535 neighbors exist already",
                 remote.ToString());
      close(fd);
      return;
    }
    absl::StatusOr<PeerConfig> pc = MakeDynamicPeerConfig(r, remote);
    if (!pc.ok()) {
      close(fd);
      return;
    }
    auto peer = std::make_unique<Peer>(this, *std::move(pc));
    Peer* raw = peer.get();
    dynamic_peers_.emplace(remote, std::move(peer));
    STROBE_LOG(kInfo, "dynamic neighbor %s from listen range %s", remote.ToString(), range);
    raw->Start();
    raw->Accept(fd);
    return;
  }
  STROBE_LOG(kInfo, "connection from %s refused: not a neighbor", remote.ToString());
  close(fd);
}

void Speaker::PeerFinished(Peer* peer) {
  auto it = dynamic_peers_.find(peer->address());
  if (it == dynamic_peers_.end() || it->second.get() != peer) return;
  if (peer->bfd_key() && bfd_) bfd_->Unregister(*peer->bfd_key());
  peer->ReleaseRib();
  STROBE_LOG(kInfo, "dynamic neighbor %s deleted", peer->address().ToString());
  loop_->DeleteSoon(std::move(it->second));
  dynamic_peers_.erase(it);
}

BfdLink* Speaker::bfd() {
  if (!bfd_) {
    bfd_ = std::make_unique<BfdLink>(loop_, config_.dataplane.control_socket,
                                     [this](const ipc::BfdPeerEvent& e) { OnBfdEvent(e); });
  }
  return bfd_.get();
}

void Speaker::OnBfdEvent(const ipc::BfdPeerEvent& event) {
  if (Peer* peer = FindPeer(event.key.peer)) peer->OnBfdEvent(event);
}

// ---- export ----

void Speaker::ApplyRibChanges(const std::vector<bgp::RibChange>& changes) {
  if (changes.empty()) return;
  fib_->Apply(changes);
  for (const bgp::RibChange& c : changes) MarkDirty(c.prefix);
}

void Speaker::NextHopsDown(const Peer& peer, int64_t event_ns) {
  std::vector<net::IpAddress> dead;
  const std::vector<const Peer*> peers = Peers();
  for (const auto& [next_hop, paths] : peer.next_hops()) {
    bool shared = false;
    for (const Peer* other : peers) {
      shared = shared || (other != &peer && other->next_hops().contains(next_hop));
    }
    if (!shared) dead.push_back(next_hop);
  }
  if (!dead.empty()) fib_->NextHopsDown(dead, event_ns);
}

void Speaker::OnEndOfRib() {
  if (initial_table_complete_) return;
  for (const auto& [address, peer] : peers_) {
    if (!peer->sent_all_routes()) return;
  }
  initial_table_complete_ = true;
  STROBE_LOG(kInfo,
             "every neighbor has sent its routes (End-of-RIB): the initial table is "
             "complete");
  fib_->InitialTableComplete();
}

void Speaker::MarkDirty(const bgp::RibPrefix& prefix) {
  dirty_.push_back(prefix);
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  loop_->Defer([this] { FlushExports(); });
}

ExportContext Speaker::ContextFor(const Peer& peer) const {
  ExportContext c;
  c.local_as = local_as();
  c.peer_address = peer.address();
  c.peer_as = peer.remote_as();
  c.peer_ebgp = peer.ebgp();
  c.next_hop_self = peer.config().settings.next_hop_self;
  c.self_v4 = peer.self_v4();
  c.self_v6 = peer.self_v6();
  c.extended_next_hop = peer.negotiated().encode.extended_next_hop;
  return c;
}

Speaker::ExportSource Speaker::SourceOf(const bgp::RibPrefix& prefix) const {
  ExportSource source;
  if (auto n = networks_.find(prefix); n != networks_.end()) {
    source.network = &n->second;
  } else {
    source.best = rib_.Best(prefix);
  }
  return source;
}

bgp::AttributesRef Speaker::ExportFrom(const Peer& peer, const ExportContext& context,
                                       const bgp::RibPrefix& prefix, const ExportSource& source) {
  const bgp::AfiSafi family = prefix.address.is_v4() ? bgp::kIpv4Unicast : bgp::kIpv6Unicast;
  if (!peer.negotiated().Has(family) || peer.config().export_policy.RejectsAll()) return nullptr;
  std::optional<bgp::RouteAttributes> a;
  if (source.network != nullptr) {
    a = ExportNetwork(*source.network, context);
  } else if (source.best) {
    // Never back to the neighbor it came from (as BIRD and FRR do): an eBGP peer would drop it
    // as a loop, an iBGP one would hold a copy of its own route.
    if (source.best->neighbor == peer.address()) return nullptr;
    a = ExportPath(*source.best, prefix, context);
  }
  if (!a) return nullptr;
  if (!peer.config().export_policy.Apply(prefix, &*a)) return nullptr;
  return export_pool_.Intern(*std::move(a));
}

void Speaker::FlushExports() {
  flush_scheduled_ = false;
  if (dirty_.empty()) return;
  std::vector<bgp::RibPrefix> dirty;
  dirty.swap(dirty_);
  // Only peers that can take a route: Established, and not behind an export-nothing policy (an
  // Established peer starts from the whole Loc-RIB anyway, FillAdjRibOut).
  std::vector<Peer*> peers;
  std::vector<ExportContext> contexts;
  for (auto* table : {&peers_, &dynamic_peers_}) {
    for (auto& [a, p] : *table) {
      if (!p->established() || p->config().export_policy.RejectsAll()) continue;
      peers.push_back(p.get());
      contexts.push_back(ContextFor(*p));
    }
  }
  if (peers.empty()) return;
  std::sort(dirty.begin(), dirty.end());
  dirty.erase(std::unique(dirty.begin(), dirty.end()), dirty.end());
  for (const bgp::RibPrefix& prefix : dirty) {
    const ExportSource source = SourceOf(prefix);  // one lookup, whatever the number of peers
    for (size_t i = 0; i < peers.size(); ++i) {
      peers[i]->SetExport(prefix, ExportFrom(*peers[i], contexts[i], prefix, source));
    }
  }
  for (Peer* peer : peers) peer->FlushUpdates();
}

void Speaker::FillAdjRibOut(Peer* peer) {
  const ExportContext context = ContextFor(*peer);
  for (const auto& [prefix, network] : networks_) {
    peer->SetExport(prefix, ExportFrom(*peer, context, prefix, {.network = &network}));
  }
  rib_.ForEachRoute([&](const bgp::RibPrefix& prefix, const bgp::LocRibEntry& entry) {
    if (networks_.contains(prefix)) return;
    peer->SetExport(prefix, ExportFrom(*peer, context, prefix, {.best = entry.best}));
  });
}

}  // namespace strobe::bgpd
