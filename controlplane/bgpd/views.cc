#include "controlplane/bgpd/views.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "controlplane/bgp/notification.h"
#include "controlplane/bgpd/bfd_link.h"

namespace strobe::bgpd {
namespace {

using nlohmann::json;

constexpr int64_t kNs = bgp::kNanosPerSecond;

json NotificationJson(const std::optional<bgp::Notification>& n) {
  if (!n) return nullptr;
  json j = {{"code", n->code},
            {"subcode", n->subcode},
            {"name", bgp::NotificationName(n->code, n->subcode)}};
  if (auto text = bgp::ShutdownCommunication(*n)) j["message"] = *text;
  return j;
}

json Counters(const MessageCounters& c) {
  return {{"open", c.opens},
          {"update", c.updates},
          {"notification", c.notifications},
          {"keepalive", c.keepalives},
          {"route_refresh", c.route_refreshes},
          {"total", c.total()}};
}

std::string Duration(int64_t seconds) {
  const int64_t days = seconds / 86400;
  if (days > 0) {
    return absl::StrFormat("%dd%02dh%02dm", days, seconds % 86400 / 3600, seconds % 3600 / 60);
  }
  return absl::StrFormat("%02d:%02d:%02d", seconds / 3600, seconds % 3600 / 60, seconds % 60);
}

std::string RouterIdText(uint32_t id) {
  return absl::StrFormat("%d.%d.%d.%d", id >> 24, (id >> 16) & 255, (id >> 8) & 255, id & 255);
}

json AsPathJson(const std::vector<bgp::AsPathSegment>& path) {
  json out = json::array();
  for (const bgp::AsPathSegment& s : path) {
    if (s.type == bgp::kAsSequence || s.type == bgp::kAsConfedSequence) {
      for (uint32_t as : s.asns) out.push_back(as);
    } else {
      out.push_back(s.asns);  // an AS_SET as a nested array
    }
  }
  return out;
}

std::string CommunityText(uint32_t c) { return absl::StrFormat("%d:%d", c >> 16, c & 0xffff); }

json PathJson(const bgp::Path& p, bool best, bool multipath, const bgp::DecisionOptions& options) {
  const bgp::RouteAttributes& a = *p.attributes;
  json communities = json::array();
  for (uint32_t c : a.communities) communities.push_back(CommunityText(c));
  json large = json::array();
  for (const bgp::LargeCommunity& c : a.large_communities) {
    large.push_back(absl::StrFormat("%d:%d:%d", c.global_admin, c.local_data1, c.local_data2));
  }
  return {{"next_hop", a.next_hop.ToString()},
          {"neighbor", p.neighbor.ToString()},
          {"as_path", AsPathJson(a.as_path)},
          {"local_pref", bgp::EffectiveLocalPref(p, options)},
          {"med", a.med ? json(*a.med) : json(nullptr)},
          {"best", best},
          {"multipath", multipath},
          {"origin", a.origin == bgp::kOriginIgp   ? "igp"
                     : a.origin == bgp::kOriginEgp ? "egp"
                                                   : "incomplete"},
          {"ebgp", p.ebgp},
          {"neighbor_as", p.neighbor_as},
          {"router_id", RouterIdText(p.router_id)},
          {"communities", communities},
          {"large_communities", large},
          {"local", false}};
}

bool SamePath(const bgp::Path& a, const bgp::Path& b) { return a.neighbor == b.neighbor; }

}  // namespace

absl::flat_hash_map<net::IpAddress, uint64_t> PrefixesInstalled(const Speaker& speaker) {
  absl::flat_hash_map<net::IpAddress, uint64_t> installed;
  const FibSink* fib = speaker.fib();
  if (fib == nullptr) return installed;
  std::vector<net::IpAddress> seen;  // a neighbor counts once per prefix (ADD-PATH)
  speaker.rib().ForEachRoute([&](const bgp::RibPrefix& prefix, const bgp::LocRibEntry& entry) {
    if (!fib->Installed(prefix)) return;
    seen.clear();
    for (const bgp::Path& path : entry.multipath) {
      if (std::find(seen.begin(), seen.end(), path.neighbor) != seen.end()) continue;
      seen.push_back(path.neighbor);
      ++installed[path.neighbor];
    }
  });
  return installed;
}

json NeighborJson(const Speaker& speaker, const Peer& peer, int64_t now_ns,
                  uint64_t prefixes_installed) {
  const PeerConfig& c = peer.config();
  const bool established = peer.established();
  json bfd = nullptr;
  if (peer.uses_bfd()) bfd = BfdStateJsonName(peer.bfd_state().value_or(bfd::State::kDown));
  const uint16_t hold = peer.negotiated_hold_time_s();
  json j = {
      {"address", peer.address().ToString()},
      {"remote_as", peer.remote_as()},
      {"local_as", speaker.local_as()},
      {"state", peer.StateName()},
      {"uptime_s", established ? (now_ns - peer.established_since_ns()) / kNs : 0},
      {"downtime_s",
       !established && peer.down_since_ns() > 0 ? (now_ns - peer.down_since_ns()) / kNs : 0},
      {"prefixes_received", peer.rib_stats().received},
      {"prefixes_accepted", peer.rib_stats().accepted},
      {"prefixes_installed", prefixes_installed},
      {"paths_received", peer.rib_stats().paths},
      {"paths_stale", peer.rib_stats().stale},
      {"prefixes_advertised", peer.adj_rib_out().advertised()},
      {"last_notification_sent", NotificationJson(peer.last_notification_sent())},
      {"last_notification_received", NotificationJson(peer.last_notification_received())},
      {"last_reset_reason", peer.last_reset_reason()},
      {"bfd", bfd},
      {"bfd_profile", c.bfd ? json(c.bfd->name) : json(nullptr)},
      {"type", peer.ebgp() ? "ebgp" : "ibgp"},
      {"dynamic", c.dynamic},
      {"listen_range", c.dynamic ? json(c.listen_range) : json(nullptr)},
      {"passive", c.settings.passive},
      {"description", c.description},
      {"local_address",
       peer.local_address().empty() ? json(nullptr) : json(peer.local_address().ToString())},
      {"local_port", peer.local_port()},
      {"remote_port", peer.remote_port()},
      {"remote_router_id", RouterIdText(peer.remote_router_id())},
      {"hold_time_s", established ? hold : c.settings.hold_time_s},
      {"keepalive_s", established ? hold / 3 : c.settings.hold_time_s / 3},
      {"capabilities", peer.negotiated().Names()},
      {"established_transitions", peer.established_transitions()},
      {"messages_received", Counters(peer.messages_in())},
      {"messages_sent", Counters(peer.messages_out())},
      {"graceful_restart_helper_active", peer.graceful_restart_active()},
      {"max_prefixes", c.settings.max_prefixes},
      {"bfd_last_down_withdraw_latency_us", peer.last_bfd_down_ns() > 0
                                                ? json(peer.last_bfd_withdraw_latency_ns() / 1000)
                                                : json(nullptr)},
  };
  return j;
}

json SummaryJson(const Speaker& speaker, int64_t now_ns) {
  json peers = json::object();
  size_t established = 0;
  size_t dynamic = 0;
  for (const Peer* p : speaker.Peers()) {
    const bool up = p->established();
    established += up;
    dynamic += p->config().dynamic;
    const int64_t uptime_s = up ? (now_ns - p->established_since_ns()) / kNs : 0;
    json bfd = nullptr;
    if (p->uses_bfd()) bfd = BfdStateJsonName(p->bfd_state().value_or(bfd::State::kDown));
    peers[p->address().ToString()] = {
        {"remote_as", p->remote_as()},
        {"local_as", speaker.local_as()},
        {"version", 4},
        {"state", p->StateName()},
        {"peer_uptime", Duration(uptime_s)},
        {"peer_uptime_s", uptime_s},
        {"pfx_rcd", p->rib_stats().accepted},
        {"pfx_snt", p->adj_rib_out().advertised()},
        {"msg_rcvd", p->messages_in().total()},
        {"msg_sent", p->messages_out().total()},
        {"dynamic", p->config().dynamic},
        {"description", p->config().description},
        {"bfd", bfd},
    };
  }
  return {{"router_id", speaker.config().bgp.router_id.ToString()},
          {"as", speaker.local_as()},
          {"rib_count", speaker.rib().size()},
          {"local_networks", speaker.networks().size()},
          {"peers", peers},
          {"total_peers", speaker.Peers().size()},
          {"established_peers", established},
          {"dynamic_peers", dynamic},
          {"max_paths", speaker.rib().options().max_paths},
          {"multipath_relax", speaker.rib().options().multipath_relax}};
}

json RoutesJson(const Speaker& speaker, const std::vector<bgp::RibPrefix>& only) {
  std::vector<bgp::RibPrefix> prefixes = only;
  if (prefixes.empty()) {
    speaker.rib().ForEachRoute(
        [&](const bgp::RibPrefix& p, const bgp::LocRibEntry&) { prefixes.push_back(p); });
    for (const auto& [p, n] : speaker.networks()) prefixes.push_back(p);
    std::sort(prefixes.begin(), prefixes.end());
    prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  }
  const bgp::DecisionOptions& options = speaker.rib().options();
  json out = json::array();
  for (const bgp::RibPrefix& prefix : prefixes) {
    json paths = json::array();
    const std::optional<bgp::LocRibEntry> entry = speaker.rib().Lookup(prefix);
    if (speaker.networks().contains(prefix)) {
      paths.push_back({{"next_hop", prefix.address.is_v4() ? "0.0.0.0" : "::"},
                       {"neighbor", "local"},
                       {"as_path", json::array()},
                       {"local_pref", bgp::kDefaultLocalPref},
                       {"med", nullptr},
                       {"best", !entry.has_value()},
                       {"multipath", false},
                       {"origin", "igp"},
                       {"local", true}});
    }
    if (entry) {
      for (const bgp::Path& p : speaker.rib().Candidates(prefix)) {
        const bool best = SamePath(p, entry->best);
        bool multipath = false;
        for (const bgp::Path& m : entry->multipath) multipath = multipath || SamePath(p, m);
        // FRR marks the ECMP set "multipath" only when it has more than one member.
        paths.push_back(PathJson(p, best, multipath && entry->multipath.size() > 1, options));
      }
    }
    if (paths.empty()) continue;
    out.push_back({{"prefix", prefix.ToString()}, {"paths", paths}});
  }
  return out;
}

}  // namespace strobe::bgpd
