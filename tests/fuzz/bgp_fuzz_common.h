// What the two BGP fuzz targets share: the negotiated options from one input byte, the UPDATE
// roundtrip check and the Adj-RIB-In consumer of a decoded UPDATE (as strobe-bgpd's
// Peer::OnUpdate, controlplane/bgpd/peer_routes.cc, feeds the RIB).
#ifndef STROBE_TESTS_FUZZ_BGP_FUZZ_COMMON_H_
#define STROBE_TESTS_FUZZ_BGP_FUZZ_COMMON_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "controlplane/bgp/decision.h"
#include "controlplane/bgp/rib.h"
#include "controlplane/bgp/types.h"
#include "controlplane/bgp/update.h"
#include "src/net/ip_address.h"
#include "tests/fuzz/fuzz_util.h"

namespace strobe::bgp::fuzz {

// The option byte of both targets:
//   bit 0 4-octet AS (RFC 6793)        bit 1 extended next hop (RFC 8950)
//   bit 2 extended messages (RFC 8654) bits 3-5 ADD-PATH receive for IPv4 unicast, IPv6 unicast,
//   bit 6 the peer is eBGP             IPv4 multicast (RFC 7911)
//   bit 7 multipath with as-path relax in the RIB
struct Setup {
  CodecOptions codec;
  bool ebgp = false;
  bool multipath_relax = false;
};

inline Setup SetupFromByte(uint8_t b) {
  Setup s;
  s.codec.four_octet_as = (b & 0x01) != 0;
  s.codec.extended_next_hop = (b & 0x02) != 0;
  s.codec.max_length = (b & 0x04) != 0 ? kMaxExtendedMessageLength : kMaxMessageLength;
  if (b & 0x08) s.codec.add_path.push_back(kIpv4Unicast);
  if (b & 0x10) s.codec.add_path.push_back(kIpv6Unicast);
  if (b & 0x20) s.codec.add_path.push_back({kAfiIpv4, kSafiMulticast});
  s.ebgp = (b & 0x40) != 0;
  s.multipath_relax = (b & 0x80) != 0;
  return s;
}

// An UPDATE as our encoder writes it back: unrecognized transitive attributes are passed on with
// the Partial bit set (RFC 4271 section 5) and attributes go in type order (section 5: SHOULD).
inline Update AsReencoded(Update u) {
  for (RawAttribute& a : u.attributes.unknown) {
    a.flags |= kFlagOptional;
    if ((a.flags & kFlagTransitive) != 0) a.flags |= kFlagPartial;
  }
  std::stable_sort(u.attributes.unknown.begin(), u.attributes.unknown.end(),
                   [](const RawAttribute& x, const RawAttribute& y) { return x.type < y.type; });
  return u;
}

// A decoded UPDATE (not a session reset) re-encodes, and decodes again to the same UPDATE with no
// error; encoding that again gives the same bytes. Returns the encoded body.
inline std::vector<uint8_t> CheckUpdateRoundtrip(const UpdateDecodeResult& first,
                                                 const CodecOptions& options) {
  FUZZ_CHECK(first.action != UpdateDecodeResult::kSessionReset, "not for a session reset");
  FUZZ_CHECK(!first.notification.has_value(), "a NOTIFICATION without session reset");
  const absl::StatusOr<std::vector<uint8_t>> body = EncodeUpdateBody(first.update, options);
  FUZZ_CHECK(body.ok(), "a decoded UPDATE does not encode: %s",
             std::string(body.status().message()).c_str());
  const UpdateDecodeResult second = DecodeUpdateBody(*body, options);
  FUZZ_CHECK(second.action != UpdateDecodeResult::kSessionReset && second.action <= first.action &&
                 second.discarded_types.empty(),
             "re-encoded UPDATE decodes with action %d (first %d), %zu attributes discarded",
             static_cast<int>(second.action), static_cast<int>(first.action),
             second.discarded_types.size());
  FUZZ_CHECK(second.update == AsReencoded(first.update),
             "decode(encode(UPDATE)) differs from the UPDATE");
  const absl::StatusOr<std::vector<uint8_t>> again = EncodeUpdateBody(second.update, options);
  FUZZ_CHECK(again.ok() && *again == *body, "encoding is not a fixpoint");
  return *body;
}

// Peer::OnUpdate on a fresh RIB where another neighbor already has a path for every prefix the
// UPDATE names: that path must survive whatever the UPDATE does, and be the only one left once
// the peer's paths are cleared (its session went down).
inline void FeedRib(const UpdateDecodeResult& result, const Setup& setup) {
  DecisionOptions decision;
  decision.max_paths = 4;
  decision.multipath_relax = setup.multipath_relax;
  Rib rib(decision);
  const net::IpAddress other_address = *net::IpAddress::Parse("198.18.0.2");
  const net::IpAddress peer_address = *net::IpAddress::Parse("198.18.0.1");
  const SourceId other = rib.AddSource(other_address);
  rib.SetSourceSession(other, 2, 65002, true);
  const SourceId peer = rib.AddSource(peer_address);
  rib.SetSourceSession(peer, 1, setup.ebgp ? 65001 : 65000, setup.ebgp);

  RouteAttributes base;
  base.as_path = {{kAsSequence, {65002}}};
  base.next_hop = other_address;
  const AttributesRef base_ref = rib.attribute_pool().Intern(base);

  const Update& u = result.update;
  const PathAttributes& pa = u.attributes;
  std::vector<RibPrefix> touched;
  absl::flat_hash_set<RibPrefix> seen;
  std::vector<RibChange> changes;
  auto note = [&](const std::vector<Prefix>& prefixes) {
    for (const Prefix& p : prefixes) {
      std::optional<RibPrefix> rp = RibPrefix::FromWire(p);
      FUZZ_CHECK(rp.has_value(), "a decoded prefix is not a RIB prefix");
      if (!seen.insert(*rp).second) continue;
      touched.push_back(*rp);
      rib.Announce(other, *rp, 0, base_ref, &changes);
    }
  };
  note(u.withdrawn);
  note(u.nlri);
  if (pa.mp_reach) note(pa.mp_reach->nlri);
  if (pa.mp_unreach) note(pa.mp_unreach->withdrawn);
  FUZZ_CHECK(rib.size() == touched.size(), "RIB size %zu for %zu prefixes", rib.size(),
             touched.size());

  // peer_routes.cc, Peer::OnUpdate (End-of-RIB aside).
  auto withdraw = [&](const Prefix& p) {
    rib.Withdraw(peer, *RibPrefix::FromWire(p), p.path_id, &changes);
  };
  for (const Prefix& p : u.withdrawn) withdraw(p);
  if (pa.mp_unreach) {
    for (const Prefix& p : pa.mp_unreach->withdrawn) withdraw(p);
  }
  const bool has_mp = pa.mp_reach && !pa.mp_reach->nlri.empty();
  if (result.action == UpdateDecodeResult::kTreatAsWithdraw) {
    for (const Prefix& p : u.nlri) withdraw(p);
    if (has_mp) {
      for (const Prefix& p : pa.mp_reach->nlri) withdraw(p);
    }
  } else {
    auto process = [&](const std::vector<Prefix>& prefixes, NlriField field) {
      const RouteAttributes attrs =
          RouteAttributesFromUpdate(pa, field, setup.codec.four_octet_as, setup.ebgp);
      FUZZ_CHECK(AsPathLength(attrs.as_path) <=
                         AsPathLength(pa.as_path.value_or(std::vector<AsPathSegment>{})) ||
                     setup.codec.four_octet_as,
                 "the AS4_PATH merge made the path longer (RFC 6793 section 4.2.3)");
      const AttributesRef shared = rib.attribute_pool().Intern(attrs);
      for (const Prefix& p : prefixes) {
        rib.Announce(peer, *RibPrefix::FromWire(p), p.path_id, shared, &changes);
      }
    };
    if (!u.nlri.empty()) process(u.nlri, NlriField::kIpv4);
    if (has_mp) process(pa.mp_reach->nlri, NlriField::kMpReach);
  }
  for (const RibPrefix& rp : touched) {
    const std::optional<LocRibEntry> entry = rib.Lookup(rp);
    FUZZ_CHECK(entry.has_value() && !entry->multipath.empty(), "%s lost its Loc-RIB entry",
               rp.ToString().c_str());
  }
  rib.Clear(peer, &changes);
  FUZZ_CHECK(rib.stats(peer).paths == 0, "%zu paths left after Clear", rib.stats(peer).paths);
  for (const RibPrefix& rp : touched) {
    const std::optional<Path> best = rib.Best(rp);
    FUZZ_CHECK(best.has_value() && best->neighbor == other_address,
               "%s: the other neighbor's path is not best once the peer is gone",
               rp.ToString().c_str());
  }
}

}  // namespace strobe::bgp::fuzz

#endif  // STROBE_TESTS_FUZZ_BGP_FUZZ_COMMON_H_
