#include "controlplane/bgpd/adj_rib_out.h"

#include <algorithm>

#include "controlplane/bgp/message.h"

namespace strobe::bgpd {
namespace {

using bgp::AfiSafi;

AfiSafi FamilyOf(const bgp::RibPrefix& p) {
  return p.address.is_v4() ? bgp::kIpv4Unicast : bgp::kIpv6Unicast;
}

bgp::Prefix ToWire(const bgp::RibPrefix& p) {
  return bgp::MakePrefix(
      p.address.is_v4() ? bgp::kAfiIpv4 : bgp::kAfiIpv6,
      std::span<const uint8_t>(p.address.bytes().data(), p.address.is_v4() ? 4 : 16), p.length);
}

size_t PrefixSize(const bgp::Prefix& p, bool add_path) {
  return 1 + (p.length + 7) / 8 + (add_path ? 4 : 0);
}

bool FourOctetAsIn(const std::vector<bgp::AsPathSegment>& path) {
  for (const auto& s : path) {
    for (uint32_t as : s.asns) {
      if (as > 0xffff) return true;
    }
  }
  return false;
}

// Packs `prefixes` under `base` (whose NLRI fields are empty) into messages of at most
// max_length; `in_mp` says whether they go in MP_REACH (or MP_UNREACH for withdrawals).
absl::Status Pack(const bgp::Update& base, const std::vector<bgp::Prefix>& prefixes, bool withdraw,
                  bool in_mp, const bgp::EncodeOptions& options,
                  std::vector<std::vector<uint8_t>>* out) {
  auto empty = bgp::EncodeUpdate(base, options);
  if (!empty.ok()) return empty.status();
  // +2: an MP attribute may need the extended length form once it grows.
  const size_t base_size = empty->size() + (in_mp ? 2 : 0);
  const AfiSafi family = prefixes.empty() || prefixes.front().afi == bgp::kAfiIpv4
                             ? bgp::kIpv4Unicast
                             : bgp::kIpv6Unicast;
  const bool add_path = options.AddPath(family);
  size_t i = 0;
  while (i < prefixes.size()) {
    bgp::Update u = base;
    std::vector<bgp::Prefix>* target = nullptr;
    if (in_mp) {
      target = withdraw ? &u.attributes.mp_unreach->withdrawn : &u.attributes.mp_reach->nlri;
    } else {
      target = withdraw ? &u.withdrawn : &u.nlri;
    }
    size_t size = base_size;
    while (i < prefixes.size()) {
      const size_t add = PrefixSize(prefixes[i], add_path);
      if (size + add > options.max_length && !target->empty()) break;
      target->push_back(prefixes[i]);
      size += add;
      ++i;
    }
    auto encoded = bgp::EncodeUpdate(u, options);
    if (!encoded.ok()) return encoded.status();
    out->push_back(*std::move(encoded));
  }
  return absl::OkStatus();
}

}  // namespace

bgp::PathAttributes WireAttributes(const bgp::RouteAttributes& a, AfiSafi family,
                                   bool four_octet_as) {
  bgp::PathAttributes w;
  w.origin = a.origin;
  w.as_path = a.as_path;
  if (!four_octet_as && FourOctetAsIn(a.as_path)) w.as4_path = a.as_path;
  if (family == bgp::kIpv4Unicast && a.next_hop.is_v4()) {
    std::array<uint8_t, 4> nh;
    std::copy_n(a.next_hop.bytes().begin(), 4, nh.begin());
    w.next_hop = nh;
  } else {
    bgp::MpReach mp;
    mp.afi_safi = family;
    const size_t n = a.next_hop.is_v4() ? 4 : 16;
    mp.next_hop.assign(a.next_hop.bytes().begin(), a.next_hop.bytes().begin() + n);
    w.mp_reach = std::move(mp);
  }
  w.med = a.med;
  w.local_pref = a.local_pref;
  w.atomic_aggregate = a.atomic_aggregate;
  if (!a.communities.empty()) w.communities = a.communities;
  if (!a.large_communities.empty()) w.large_communities = a.large_communities;
  return w;
}

absl::StatusOr<std::vector<std::vector<uint8_t>>> PackUpdates(const std::vector<OutChange>& changes,
                                                              const bgp::EncodeOptions& options) {
  std::vector<std::vector<uint8_t>> out;
  std::vector<bgp::Prefix> withdraw_v4, withdraw_v6;
  // Announcements grouped by (attribute set, family), in order of first appearance.
  struct Group {
    const bgp::RouteAttributes* attributes;
    AfiSafi family;
    std::vector<bgp::Prefix> prefixes;
  };
  std::vector<Group> groups;
  absl::flat_hash_map<std::pair<const bgp::RouteAttributes*, uint16_t>, size_t> index;
  for (const OutChange& c : changes) {
    const AfiSafi family = FamilyOf(c.prefix);
    if (c.attributes == nullptr) {
      (family == bgp::kIpv4Unicast ? withdraw_v4 : withdraw_v6).push_back(ToWire(c.prefix));
      continue;
    }
    auto [it, inserted] = index.try_emplace({c.attributes.get(), family.afi}, groups.size());
    if (inserted) groups.push_back({c.attributes.get(), family, {}});
    groups[it->second].prefixes.push_back(ToWire(c.prefix));
  }
  if (!withdraw_v4.empty()) {
    absl::Status s = Pack(bgp::Update{}, withdraw_v4, true, false, options, &out);
    if (!s.ok()) return s;
  }
  if (!withdraw_v6.empty()) {
    bgp::Update base;
    base.attributes.mp_unreach = bgp::MpUnreach{bgp::kIpv6Unicast, {}};
    absl::Status s = Pack(base, withdraw_v6, true, true, options, &out);
    if (!s.ok()) return s;
  }
  for (const Group& g : groups) {
    bgp::Update base;
    base.attributes = WireAttributes(*g.attributes, g.family, options.four_octet_as);
    const bool in_mp = base.attributes.mp_reach.has_value();
    absl::Status s = Pack(base, g.prefixes, false, in_mp, options, &out);
    if (!s.ok()) return s;
  }
  return out;
}

std::vector<uint8_t> EndOfRib(AfiSafi family, const bgp::EncodeOptions& options) {
  bgp::Update u;
  if (family != bgp::kIpv4Unicast) u.attributes.mp_unreach = bgp::MpUnreach{family, {}};
  auto encoded = bgp::EncodeUpdate(u, options);
  return encoded.ok() ? *std::move(encoded) : std::vector<uint8_t>{};
}

void AdjRibOut::Set(const bgp::RibPrefix& prefix, bgp::AttributesRef attributes) {
  auto sent = sent_.find(prefix);
  const bool same = sent == sent_.end() ? attributes == nullptr
                                        : (attributes != nullptr && sent->second == attributes);
  auto pending = pending_.find(prefix);
  if (same) {
    if (pending != pending_.end() && !pending->second.force) pending_.erase(pending);
    return;
  }
  if (pending != pending_.end()) {
    pending->second.attributes = std::move(attributes);
  } else {
    pending_.emplace(prefix, Pending{std::move(attributes), false});
  }
}

std::vector<OutChange> AdjRibOut::TakePending() {
  std::vector<OutChange> out;
  out.reserve(pending_.size());
  for (auto& [prefix, p] : pending_) {
    auto sent = sent_.find(prefix);
    if (p.attributes == nullptr) {
      if (sent == sent_.end() && !p.force) continue;
      if (sent != sent_.end()) sent_.erase(sent);
      out.push_back({prefix, nullptr});
    } else {
      sent_[prefix] = p.attributes;
      out.push_back({prefix, p.attributes});
    }
  }
  pending_.clear();
  std::sort(out.begin(), out.end(),
            [](const OutChange& a, const OutChange& b) { return a.prefix < b.prefix; });
  return out;
}

void AdjRibOut::ResendAll(std::optional<AfiSafi> family) {
  for (const auto& [prefix, attributes] : sent_) {
    if (family && *family != FamilyOf(prefix)) continue;
    pending_.insert_or_assign(prefix, Pending{attributes, true});
  }
}

void AdjRibOut::Clear() {
  sent_.clear();
  pending_.clear();
}

const bgp::AttributesRef* AdjRibOut::Find(const bgp::RibPrefix& prefix) const {
  auto it = sent_.find(prefix);
  return it == sent_.end() ? nullptr : &it->second;
}

}  // namespace strobe::bgpd
