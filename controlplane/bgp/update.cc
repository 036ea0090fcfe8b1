#include "controlplane/bgp/update.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "controlplane/bgp/wire.h"

namespace strobe::bgp {
namespace {

using Action = UpdateDecodeResult::Action;

class Outcome {
 public:
  explicit Outcome(UpdateDecodeResult* result) : result_(result) {}

  void Discard(uint8_t type) {
    result_->discarded_types.push_back(type);
    Escalate(UpdateDecodeResult::kAttributeDiscard);
  }
  void Withdraw() { Escalate(UpdateDecodeResult::kTreatAsWithdraw); }
  void Reset(uint8_t subcode, std::span<const uint8_t> data = {}) {
    if (result_->action == UpdateDecodeResult::kSessionReset) return;
    result_->action = UpdateDecodeResult::kSessionReset;
    result_->notification =
        BgpError{kErrUpdateMessage, subcode, std::vector<uint8_t>(data.begin(), data.end())};
  }

 private:
  void Escalate(Action a) {
    if (a > result_->action) result_->action = a;
  }
  UpdateDecodeResult* result_;
};

uint8_t MaxPrefixLength(uint16_t afi) { return afi == kAfiIpv6 ? 128 : 32; }

void MaskPrefix(Prefix* p) {
  size_t full = p->length / 8;
  if (p->length % 8 != 0) {
    p->address[full] &= static_cast<uint8_t>(0xff << (8 - p->length % 8));
    ++full;
  }
  for (size_t i = full; i < p->address.size(); ++i) p->address[i] = 0;
}

bool DecodePrefixes(std::span<const uint8_t> data, uint16_t afi, bool add_path,
                    std::vector<Prefix>* out) {
  wire::Reader r(data);
  while (!r.empty()) {
    Prefix p;
    p.afi = afi;
    if (add_path && !r.ReadU32(&p.path_id)) return false;
    if (!r.ReadU8(&p.length) || p.length > MaxPrefixLength(afi)) return false;
    std::span<const uint8_t> bytes;
    if (!r.ReadBytes((p.length + 7) / 8, &bytes)) return false;
    std::copy(bytes.begin(), bytes.end(), p.address.begin());
    MaskPrefix(&p);
    out->push_back(p);
  }
  return true;
}

void EncodePrefixes(std::vector<uint8_t>& out, const std::vector<Prefix>& prefixes, bool add_path) {
  for (const Prefix& p : prefixes) {
    if (add_path) wire::PutU32(out, p.path_id);
    uint8_t length = std::min(p.length, MaxPrefixLength(p.afi));
    wire::PutU8(out, length);
    Prefix masked = p;
    masked.length = length;
    MaskPrefix(&masked);
    out.insert(out.end(), masked.address.begin(), masked.address.begin() + (length + 7) / 8);
  }
}

// The Optional and Transitive bits each known attribute must carry; -1 when unrecognized.
int ExpectedFlags(uint8_t type) {
  switch (type) {
    case kAttrOrigin:
    case kAttrAsPath:
    case kAttrNextHop:
    case kAttrLocalPref:
    case kAttrAtomicAggregate:
      return kFlagTransitive;
    case kAttrMed:
    case kAttrMpReachNlri:
    case kAttrMpUnreachNlri:
      return kFlagOptional;
    case kAttrAggregator:
    case kAttrCommunities:
    case kAttrAs4Path:
    case kAttrAs4Aggregator:
    case kAttrLargeCommunities:
      return kFlagOptional | kFlagTransitive;
    default:
      return -1;
  }
}

bool ParseAsPath(std::span<const uint8_t> value, size_t asn_size, bool allow_confed,
                 std::vector<AsPathSegment>* out) {
  wire::Reader r(value);
  while (!r.empty()) {
    AsPathSegment seg;
    uint8_t count = 0;
    if (!r.ReadU8(&seg.type) || !r.ReadU8(&count)) return false;
    if (seg.type < kAsSet || seg.type > (allow_confed ? kAsConfedSet : kAsSequence)) return false;
    if (count == 0) return false;
    for (int i = 0; i < count; ++i) {
      uint32_t asn = 0;
      if (asn_size == 4) {
        if (!r.ReadU32(&asn)) return false;
      } else {
        uint16_t as2 = 0;
        if (!r.ReadU16(&as2)) return false;
        asn = as2;
      }
      seg.asns.push_back(asn);
    }
    out->push_back(std::move(seg));
  }
  return true;
}

bool ParseAggregator(std::span<const uint8_t> value, size_t asn_size, Aggregator* out) {
  if (value.size() != asn_size + 4) return false;
  wire::Reader r(value);
  if (asn_size == 4) {
    r.ReadU32(&out->asn);
  } else {
    uint16_t as2 = 0;
    r.ReadU16(&as2);
    out->asn = as2;
  }
  std::copy(value.end() - 4, value.end(), out->address.begin());
  return true;
}

bool SupportedFamily(uint16_t afi, uint8_t safi) {
  return (afi == kAfiIpv4 || afi == kAfiIpv6) && (safi == kSafiUnicast || safi == kSafiMulticast);
}

void DecodeMpReach(std::span<const uint8_t> value, std::span<const uint8_t> whole,
                   const DecodeOptions& options, PathAttributes* attrs, Outcome* outcome) {
  wire::Reader r(value);
  MpReach mp;
  uint8_t nh_len = 0, reserved = 0;
  std::span<const uint8_t> nh;
  if (!r.ReadU16(&mp.afi_safi.afi) || !r.ReadU8(&mp.afi_safi.safi) || !r.ReadU8(&nh_len) ||
      !r.ReadBytes(nh_len, &nh) || !r.ReadU8(&reserved)) {
    // The NLRI cannot be located: RFC 7606 §7.11 leaves only session reset.
    outcome->Reset(kSubOptionalAttributeError, whole);
    return;
  }
  if (!SupportedFamily(mp.afi_safi.afi, mp.afi_safi.safi)) {
    outcome->Discard(kAttrMpReachNlri);
    return;
  }
  mp.next_hop.assign(nh.begin(), nh.end());
  bool nh_ok = mp.afi_safi.afi == kAfiIpv6
                   ? (nh_len == 16 || nh_len == 32)
                   : (nh_len == 4 || (options.extended_next_hop && (nh_len == 16 || nh_len == 32)));
  if (!nh_ok) outcome->Withdraw();  // §7.11: next hop precedes NLRI, so NLRI stays locatable.
  if (!DecodePrefixes(r.Rest(), mp.afi_safi.afi, options.AddPath(mp.afi_safi), &mp.nlri)) {
    outcome->Reset(kSubOptionalAttributeError, whole);
    return;
  }
  attrs->mp_reach = std::move(mp);
}

void DecodeMpUnreach(std::span<const uint8_t> value, std::span<const uint8_t> whole,
                     const DecodeOptions& options, PathAttributes* attrs, Outcome* outcome) {
  wire::Reader r(value);
  MpUnreach mp;
  if (!r.ReadU16(&mp.afi_safi.afi) || !r.ReadU8(&mp.afi_safi.safi)) {
    outcome->Reset(kSubOptionalAttributeError, whole);
    return;
  }
  if (!SupportedFamily(mp.afi_safi.afi, mp.afi_safi.safi)) {
    outcome->Discard(kAttrMpUnreachNlri);
    return;
  }
  if (!DecodePrefixes(r.Rest(), mp.afi_safi.afi, options.AddPath(mp.afi_safi), &mp.withdrawn)) {
    outcome->Reset(kSubOptionalAttributeError, whole);
    return;
  }
  attrs->mp_unreach = std::move(mp);
}

void DecodeAttribute(uint8_t flags, uint8_t type, std::span<const uint8_t> value,
                     std::span<const uint8_t> whole, const DecodeOptions& options,
                     PathAttributes* attrs, Outcome* outcome) {
  int expected = ExpectedFlags(type);
  if (expected < 0) {
    if ((flags & kFlagOptional) == 0) {
      outcome->Reset(kSubUnrecognizedWellKnownAttribute, whole);
    } else if ((flags & kFlagTransitive) != 0) {
      attrs->unknown.push_back({static_cast<uint8_t>(flags & ~kFlagExtendedLength), type,
                                std::vector<uint8_t>(value.begin(), value.end())});
    }
    return;
  }
  bool partial_allowed = expected == (kFlagOptional | kFlagTransitive);
  if ((flags & (kFlagOptional | kFlagTransitive)) != expected ||
      (!partial_allowed && (flags & kFlagPartial) != 0)) {
    outcome->Withdraw();  // RFC 7606 §3(c); keep parsing so MP NLRI can be withdrawn.
  }
  const size_t as_size = options.four_octet_as ? 4 : 2;
  wire::Reader r(value);
  switch (type) {
    case kAttrOrigin:
      if (value.size() == 1 && value[0] <= kOriginIncomplete) {
        attrs->origin = value[0];
      } else {
        outcome->Withdraw();
      }
      break;
    case kAttrAsPath: {
      std::vector<AsPathSegment> path;
      if (ParseAsPath(value, as_size, true, &path)) {
        attrs->as_path = std::move(path);
      } else {
        outcome->Withdraw();
      }
      break;
    }
    case kAttrNextHop:
      // Length, and the semantic checks of RFC 4271 §6.3 that need no local state.
      if (value.size() == 4 && value[0] != 0 && value[0] < 224) {
        attrs->next_hop.emplace();
        std::copy(value.begin(), value.end(), attrs->next_hop->begin());
      } else {
        outcome->Withdraw();
      }
      break;
    case kAttrMed:
    case kAttrLocalPref: {
      uint32_t v = 0;
      if (value.size() == 4 && r.ReadU32(&v)) {
        (type == kAttrMed ? attrs->med : attrs->local_pref) = v;
      } else {
        outcome->Withdraw();
      }
      break;
    }
    case kAttrAtomicAggregate:
      if (value.empty()) {
        attrs->atomic_aggregate = true;
      } else {
        outcome->Discard(type);
      }
      break;
    case kAttrAggregator: {
      Aggregator agg;
      if (ParseAggregator(value, as_size, &agg)) {
        attrs->aggregator = agg;
      } else {
        outcome->Discard(type);
      }
      break;
    }
    case kAttrCommunities: {
      if (value.empty() || value.size() % 4 != 0) {
        outcome->Withdraw();
        break;
      }
      std::vector<uint32_t> communities;
      uint32_t c = 0;
      while (r.ReadU32(&c)) communities.push_back(c);
      attrs->communities = std::move(communities);
      break;
    }
    case kAttrLargeCommunities: {
      if (value.empty() || value.size() % 12 != 0) {
        outcome->Withdraw();
        break;
      }
      std::vector<LargeCommunity> large;
      LargeCommunity lc;
      while (r.ReadU32(&lc.global_admin) && r.ReadU32(&lc.local_data1) &&
             r.ReadU32(&lc.local_data2)) {
        large.push_back(lc);
      }
      attrs->large_communities = std::move(large);
      break;
    }
    case kAttrAs4Path: {
      // RFC 6793 §3/§6: ignored from a 4-octet speaker; malformed -> discard.
      std::vector<AsPathSegment> path;
      if (!options.four_octet_as && ParseAsPath(value, 4, false, &path)) {
        attrs->as4_path = std::move(path);
      } else {
        outcome->Discard(type);
      }
      break;
    }
    case kAttrAs4Aggregator: {
      Aggregator agg;
      if (!options.four_octet_as && ParseAggregator(value, 4, &agg)) {
        attrs->as4_aggregator = agg;
      } else {
        outcome->Discard(type);
      }
      break;
    }
    case kAttrMpReachNlri:
      DecodeMpReach(value, whole, options, attrs, outcome);
      break;
    case kAttrMpUnreachNlri:
      DecodeMpUnreach(value, whole, options, attrs, outcome);
      break;
  }
}

// --- Encoding ---

using EncodedAttr = std::pair<uint8_t, std::vector<uint8_t>>;

absl::Status PutAttr(std::vector<EncodedAttr>& out, uint8_t flags, uint8_t type,
                     const std::vector<uint8_t>& value) {
  if (value.size() > 0xffff) {
    return absl::InvalidArgumentError(
        absl::StrCat("attribute ", type, " too long: ", value.size()));
  }
  std::vector<uint8_t> a;
  flags &= static_cast<uint8_t>(~kFlagExtendedLength);
  if (value.size() > 255) flags |= kFlagExtendedLength;
  wire::PutU8(a, flags);
  wire::PutU8(a, type);
  if (value.size() > 255) {
    wire::PutU16(a, static_cast<uint16_t>(value.size()));
  } else {
    wire::PutU8(a, static_cast<uint8_t>(value.size()));
  }
  wire::PutBytes(a, value);
  out.emplace_back(type, std::move(a));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> EncodeAsPath(const std::vector<AsPathSegment>& path,
                                                  size_t as_size) {
  std::vector<uint8_t> v;
  for (const AsPathSegment& seg : path) {
    if (seg.asns.empty()) return absl::InvalidArgumentError("empty AS_PATH segment");
    if (seg.asns.size() > 255 && seg.type != kAsSequence && seg.type != kAsConfedSequence) {
      return absl::InvalidArgumentError("AS_SET with more than 255 members");
    }
    for (size_t start = 0; start < seg.asns.size(); start += 255) {
      size_t count = std::min<size_t>(255, seg.asns.size() - start);
      wire::PutU8(v, seg.type);
      wire::PutU8(v, static_cast<uint8_t>(count));
      for (size_t i = start; i < start + count; ++i) {
        uint32_t asn = seg.asns[i];
        if (as_size == 4) {
          wire::PutU32(v, asn);
        } else {
          wire::PutU16(v, asn > 0xffff ? kAsTrans : static_cast<uint16_t>(asn));
        }
      }
    }
  }
  return v;
}

std::vector<uint8_t> EncodeAggregator(const Aggregator& agg, size_t as_size) {
  std::vector<uint8_t> v;
  if (as_size == 4) {
    wire::PutU32(v, agg.asn);
  } else {
    wire::PutU16(v, agg.asn > 0xffff ? kAsTrans : static_cast<uint16_t>(agg.asn));
  }
  wire::PutBytes(v, agg.address);
  return v;
}

absl::StatusOr<std::vector<EncodedAttr>> EncodeAttributes(const PathAttributes& a,
                                                          const EncodeOptions& options) {
  std::vector<EncodedAttr> out;
  const size_t as_size = options.four_octet_as ? 4 : 2;
  absl::Status s;
  if (a.origin) s.Update(PutAttr(out, kFlagTransitive, kAttrOrigin, {*a.origin}));
  if (a.as_path) {
    auto v = EncodeAsPath(*a.as_path, as_size);
    if (!v.ok()) return v.status();
    s.Update(PutAttr(out, kFlagTransitive, kAttrAsPath, *v));
  }
  if (a.next_hop) {
    s.Update(PutAttr(out, kFlagTransitive, kAttrNextHop,
                     std::vector<uint8_t>(a.next_hop->begin(), a.next_hop->end())));
  }
  if (a.med) {
    std::vector<uint8_t> v;
    wire::PutU32(v, *a.med);
    s.Update(PutAttr(out, kFlagOptional, kAttrMed, v));
  }
  if (a.local_pref) {
    std::vector<uint8_t> v;
    wire::PutU32(v, *a.local_pref);
    s.Update(PutAttr(out, kFlagTransitive, kAttrLocalPref, v));
  }
  if (a.atomic_aggregate) s.Update(PutAttr(out, kFlagTransitive, kAttrAtomicAggregate, {}));
  if (a.aggregator) {
    s.Update(PutAttr(out, kFlagOptional | kFlagTransitive, kAttrAggregator,
                     EncodeAggregator(*a.aggregator, as_size)));
  }
  if (a.communities) {
    std::vector<uint8_t> v;
    for (uint32_t c : *a.communities) wire::PutU32(v, c);
    s.Update(PutAttr(out, kFlagOptional | kFlagTransitive, kAttrCommunities, v));
  }
  if (a.mp_reach) {
    const MpReach& mp = *a.mp_reach;
    if (mp.next_hop.size() > 255) return absl::InvalidArgumentError("MP_REACH next hop too long");
    std::vector<uint8_t> v;
    wire::PutU16(v, mp.afi_safi.afi);
    wire::PutU8(v, mp.afi_safi.safi);
    wire::PutU8(v, static_cast<uint8_t>(mp.next_hop.size()));
    wire::PutBytes(v, mp.next_hop);
    wire::PutU8(v, 0);
    EncodePrefixes(v, mp.nlri, options.AddPath(mp.afi_safi));
    s.Update(PutAttr(out, kFlagOptional, kAttrMpReachNlri, v));
  }
  if (a.mp_unreach) {
    const MpUnreach& mp = *a.mp_unreach;
    std::vector<uint8_t> v;
    wire::PutU16(v, mp.afi_safi.afi);
    wire::PutU8(v, mp.afi_safi.safi);
    EncodePrefixes(v, mp.withdrawn, options.AddPath(mp.afi_safi));
    s.Update(PutAttr(out, kFlagOptional, kAttrMpUnreachNlri, v));
  }
  if (a.as4_path) {
    auto v = EncodeAsPath(*a.as4_path, 4);
    if (!v.ok()) return v.status();
    s.Update(PutAttr(out, kFlagOptional | kFlagTransitive, kAttrAs4Path, *v));
  }
  if (a.as4_aggregator) {
    s.Update(PutAttr(out, kFlagOptional | kFlagTransitive, kAttrAs4Aggregator,
                     EncodeAggregator(*a.as4_aggregator, 4)));
  }
  if (a.large_communities) {
    std::vector<uint8_t> v;
    for (const LargeCommunity& lc : *a.large_communities) {
      wire::PutU32(v, lc.global_admin);
      wire::PutU32(v, lc.local_data1);
      wire::PutU32(v, lc.local_data2);
    }
    s.Update(PutAttr(out, kFlagOptional | kFlagTransitive, kAttrLargeCommunities, v));
  }
  for (const RawAttribute& raw : a.unknown) {
    uint8_t flags = raw.flags | kFlagOptional;
    if ((flags & kFlagTransitive) != 0) flags |= kFlagPartial;  // Passed on (RFC 4271 §5).
    s.Update(PutAttr(out, flags, raw.type, raw.value));
  }
  if (!s.ok()) return s;
  std::stable_sort(out.begin(), out.end(),
                   [](const EncodedAttr& x, const EncodedAttr& y) { return x.first < y.first; });
  return out;
}

}  // namespace

Prefix MakePrefix(uint16_t afi, std::span<const uint8_t> address, uint8_t length,
                  uint32_t path_id) {
  Prefix p;
  p.afi = afi;
  p.length = std::min(length, MaxPrefixLength(afi));
  p.path_id = path_id;
  std::copy_n(address.begin(), std::min<size_t>(address.size(), 16), p.address.begin());
  MaskPrefix(&p);
  return p;
}

UpdateDecodeResult DecodeUpdateBody(std::span<const uint8_t> body, const DecodeOptions& options) {
  UpdateDecodeResult result;
  Outcome outcome(&result);
  wire::Reader r(body);
  uint16_t withdrawn_len = 0, attrs_len = 0;
  std::span<const uint8_t> withdrawn, attrs;
  if (!r.ReadU16(&withdrawn_len) || !r.ReadBytes(withdrawn_len, &withdrawn) ||
      !r.ReadU16(&attrs_len) || !r.ReadBytes(attrs_len, &attrs)) {
    // The NLRI cannot be located (RFC 4271 §6.3, still session reset under RFC 7606).
    outcome.Reset(kSubMalformedAttributeList);
    return result;
  }
  std::span<const uint8_t> nlri = r.Rest();
  const bool add_path_v4 = options.AddPath(kIpv4Unicast);
  if (!DecodePrefixes(withdrawn, kAfiIpv4, add_path_v4, &result.update.withdrawn)) {
    outcome.Reset(kSubInvalidNetworkField);
    return result;
  }

  PathAttributes& pa = result.update.attributes;
  std::array<bool, 256> seen{};
  wire::Reader ar(attrs);
  while (!ar.empty()) {
    size_t start = ar.position();
    uint8_t flags = 0, type = 0;
    size_t length = 0;
    if (ar.remaining() < 3) {  // RFC 7606 §4: too short for an attribute header.
      outcome.Withdraw();
      break;
    }
    ar.ReadU8(&flags);
    ar.ReadU8(&type);
    if ((flags & kFlagExtendedLength) != 0) {
      uint16_t l = 0;
      if (!ar.ReadU16(&l)) {
        outcome.Withdraw();
        break;
      }
      length = l;
    } else {
      uint8_t l = 0;
      ar.ReadU8(&l);
      length = l;
    }
    std::span<const uint8_t> value;
    if (!ar.ReadBytes(length, &value)) {  // RFC 7606 §4: overruns the attribute list.
      outcome.Withdraw();
      break;
    }
    std::span<const uint8_t> whole = attrs.subspan(start, ar.position() - start);
    if (seen[type]) {
      if (type == kAttrMpReachNlri || type == kAttrMpUnreachNlri) {
        outcome.Reset(kSubMalformedAttributeList);  // RFC 7606 §3(g).
      } else {
        outcome.Discard(type);
      }
      continue;
    }
    seen[type] = true;
    DecodeAttribute(flags, type, value, whole, options, &pa, &outcome);
  }

  if (!DecodePrefixes(nlri, kAfiIpv4, add_path_v4, &result.update.nlri)) {
    outcome.Reset(kSubInvalidNetworkField);
    return result;
  }

  // RFC 7606 §3(d): missing well-known mandatory attributes -> treat-as-withdraw.
  bool has_v4_nlri = !result.update.nlri.empty();
  bool has_mp_nlri = pa.mp_reach && !pa.mp_reach->nlri.empty();
  if (has_v4_nlri || has_mp_nlri) {
    if (!pa.origin || !pa.as_path || (has_v4_nlri && !pa.next_hop)) outcome.Withdraw();
  }
  return result;
}

absl::StatusOr<std::vector<uint8_t>> EncodeUpdateBody(const Update& update,
                                                      const EncodeOptions& options) {
  const bool add_path_v4 = options.AddPath(kIpv4Unicast);
  std::vector<uint8_t> out{0, 0};
  EncodePrefixes(out, update.withdrawn, add_path_v4);
  size_t withdrawn_len = out.size() - 2;
  auto attrs = EncodeAttributes(update.attributes, options);
  if (!attrs.ok()) return attrs.status();
  size_t attrs_at = out.size();
  wire::PutU16(out, 0);
  for (const auto& [type, bytes] : *attrs) wire::PutBytes(out, bytes);
  size_t attrs_len = out.size() - attrs_at - 2;
  if (withdrawn_len > 0xffff || attrs_len > 0xffff) {
    return absl::InvalidArgumentError("UPDATE too long");
  }
  wire::SetU16(out, 0, static_cast<uint16_t>(withdrawn_len));
  wire::SetU16(out, attrs_at, static_cast<uint16_t>(attrs_len));
  EncodePrefixes(out, update.nlri, add_path_v4);
  return out;
}

}  // namespace strobe::bgp
