#include "controlplane/bgpd/negotiation.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace strobe::bgpd {

using bgp::AfiSafi;
using bgp::kIpv4Unicast;
using bgp::kIpv6Unicast;

bgp::Capabilities OurCapabilities(const config::BgpPeerTemplate& peer, uint32_t local_as) {
  bgp::Capabilities caps;
  caps.four_octet_as = local_as;  // RFC 6793: always offered
  if (peer.ipv4_unicast) caps.multiprotocol.push_back(kIpv4Unicast);
  if (peer.ipv6_unicast) caps.multiprotocol.push_back(kIpv6Unicast);
  caps.route_refresh = true;
  caps.enhanced_route_refresh = true;
  caps.extended_message = true;
  if (peer.graceful_restart) {
    // Helper only: no families, so the peer never expects us to have preserved forwarding.
    bgp::GracefulRestartCapability gr;
    gr.restart_time = kGracefulRestartTimeS;
    caps.graceful_restart = gr;
  }
  if (peer.add_path_receive) {
    for (const AfiSafi& f : caps.multiprotocol) caps.add_path.push_back({f, bgp::kAddPathReceive});
  }
  if (peer.extended_next_hop && peer.ipv4_unicast) {
    caps.extended_next_hop.push_back({bgp::kAfiIpv4, bgp::kSafiUnicast, bgp::kAfiIpv6});
  }
  return caps;
}

namespace {

uint8_t AddPathMode(const bgp::Capabilities& caps, AfiSafi family) {
  for (const bgp::AddPathEntry& e : caps.add_path) {
    if (e.afi_safi == family) return e.send_receive;
  }
  return 0;
}

bool OffersExtendedNextHop(const bgp::Capabilities& caps) {
  for (const bgp::ExtendedNextHopEntry& e : caps.extended_next_hop) {
    if (e.nlri_afi == bgp::kAfiIpv4 && e.nlri_safi == bgp::kSafiUnicast &&
        e.next_hop_afi == bgp::kAfiIpv6) {
      return true;
    }
  }
  return false;
}

std::vector<AfiSafi> FamiliesOf(const bgp::Capabilities& caps) {
  // RFC 4760 §8: a speaker without multiprotocol capabilities does IPv4 unicast only.
  if (caps.multiprotocol.empty()) return {kIpv4Unicast};
  return caps.multiprotocol;
}

}  // namespace

bool Negotiated::Has(AfiSafi family) const {
  return std::find(families.begin(), families.end(), family) != families.end();
}

std::string FamilyName(AfiSafi family) {
  std::string afi = family.afi == bgp::kAfiIpv4   ? "ipv4"
                    : family.afi == bgp::kAfiIpv6 ? "ipv6"
                                                  : absl::StrCat("afi", family.afi);
  std::string safi = family.safi == bgp::kSafiUnicast     ? "unicast"
                     : family.safi == bgp::kSafiMulticast ? "multicast"
                                                          : absl::StrCat("safi", family.safi);
  return afi + "-" + safi;
}

Negotiated Negotiate(const bgp::Capabilities& ours, const bgp::Capabilities& theirs) {
  Negotiated n;
  const std::vector<AfiSafi> mine = FamiliesOf(ours);
  for (const AfiSafi& f : FamiliesOf(theirs)) {
    if (std::find(mine.begin(), mine.end(), f) != mine.end() && !n.Has(f)) {
      n.families.push_back(f);
    }
  }
  n.four_octet_as = ours.four_octet_as.has_value() && theirs.four_octet_as.has_value();
  n.extended_message = ours.extended_message && theirs.extended_message;
  n.route_refresh = theirs.route_refresh;
  n.enhanced_route_refresh = ours.enhanced_route_refresh && theirs.enhanced_route_refresh;
  n.peer_graceful_restart = theirs.graceful_restart;
  for (bgp::CodecOptions* o : {&n.decode, &n.encode}) {
    o->four_octet_as = n.four_octet_as;
    o->max_length = n.extended_message ? bgp::kMaxExtendedMessageLength : bgp::kMaxMessageLength;
  }
  for (const AfiSafi& f : n.families) {
    const uint8_t us = AddPathMode(ours, f);
    const uint8_t them = AddPathMode(theirs, f);
    if ((us & bgp::kAddPathReceive) && (them & bgp::kAddPathSend)) n.decode.add_path.push_back(f);
    if ((us & bgp::kAddPathSend) && (them & bgp::kAddPathReceive)) n.encode.add_path.push_back(f);
  }
  n.decode.extended_next_hop = OffersExtendedNextHop(ours);
  n.encode.extended_next_hop = OffersExtendedNextHop(theirs);
  return n;
}

std::vector<std::string> Negotiated::Names() const {
  std::vector<std::string> out;
  for (const AfiSafi& f : families) out.push_back(FamilyName(f));
  if (four_octet_as) out.push_back("4-octet-as");
  if (route_refresh) out.push_back("route-refresh");
  if (enhanced_route_refresh) out.push_back("enhanced-route-refresh");
  if (extended_message) out.push_back("extended-message");
  if (peer_graceful_restart) out.push_back("graceful-restart");
  for (const AfiSafi& f : decode.add_path) out.push_back("add-path-rx(" + FamilyName(f) + ")");
  if (decode.extended_next_hop) out.push_back("extended-next-hop-rx");
  if (encode.extended_next_hop) out.push_back("extended-next-hop-tx");
  return out;
}

}  // namespace strobe::bgpd
