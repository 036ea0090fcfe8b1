#include "controlplane/bgpd/export_rules.h"

#include <algorithm>

namespace strobe::bgpd {
namespace {

bool Contains(const std::vector<uint32_t>& v, uint32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool PathHasAs(const std::vector<bgp::AsPathSegment>& path, uint32_t asn) {
  for (const bgp::AsPathSegment& s : path) {
    if (s.type == bgp::kAsConfedSequence || s.type == bgp::kAsConfedSet) continue;
    if (Contains(s.asns, asn)) return true;
  }
  return false;
}

// Next hop self for `prefix`'s family; false when we have no usable address.
bool SetNextHopSelf(const bgp::RibPrefix& prefix, const ExportContext& c,
                    bgp::RouteAttributes* out) {
  if (prefix.address.is_v4()) {
    if (c.self_v4) {
      out->next_hop = *c.self_v4;
      return true;
    }
    if (c.extended_next_hop && c.self_v6) {
      out->next_hop = *c.self_v6;
      return true;
    }
    return false;
  }
  if (c.self_v6) {
    out->next_hop = *c.self_v6;
    return true;
  }
  return false;
}

}  // namespace

std::vector<bgp::AsPathSegment> PrependAs(const std::vector<bgp::AsPathSegment>& path,
                                          uint32_t asn) {
  std::vector<bgp::AsPathSegment> out = path;
  if (!out.empty() && out.front().type == bgp::kAsSequence && out.front().asns.size() < 255) {
    out.front().asns.insert(out.front().asns.begin(), asn);
  } else {
    out.insert(out.begin(), bgp::AsPathSegment{bgp::kAsSequence, {asn}});
  }
  return out;
}

std::optional<bgp::RouteAttributes> ExportNetwork(const LocalNetwork& network,
                                                  const ExportContext& context) {
  bgp::RouteAttributes a;
  a.origin = bgp::kOriginIgp;
  a.communities = network.communities;
  a.large_communities = network.large_communities;
  if (Contains(a.communities, kCommunityNoAdvertise)) return std::nullopt;
  if (context.peer_ebgp && Contains(a.communities, kCommunityNoExport)) return std::nullopt;
  if (!SetNextHopSelf(network.prefix, context, &a)) return std::nullopt;
  if (context.peer_ebgp) {
    a.as_path = PrependAs({}, context.local_as);
  } else {
    a.local_pref = bgp::kDefaultLocalPref;
  }
  return a;
}

std::optional<bgp::RouteAttributes> ExportPath(const bgp::Path& best, const bgp::RibPrefix& prefix,
                                               const ExportContext& context) {
  if (best.neighbor == context.peer_address) return std::nullopt;
  if (!best.ebgp && !context.peer_ebgp) return std::nullopt;
  const bgp::RouteAttributes& in = *best.attributes;
  if (Contains(in.communities, kCommunityNoAdvertise)) return std::nullopt;
  if (context.peer_ebgp && Contains(in.communities, kCommunityNoExport)) return std::nullopt;
  if (context.peer_ebgp && PathHasAs(in.as_path, context.peer_as)) return std::nullopt;
  bgp::RouteAttributes a = in;
  if (context.peer_ebgp) {
    a.as_path = PrependAs(in.as_path, context.local_as);
    a.local_pref.reset();
    a.med.reset();
    if (!SetNextHopSelf(prefix, context, &a)) return std::nullopt;
  } else {
    a.local_pref = in.local_pref.value_or(bgp::kDefaultLocalPref);
    if (context.next_hop_self && !SetNextHopSelf(prefix, context, &a)) return std::nullopt;
  }
  return a;
}

}  // namespace strobe::bgpd
