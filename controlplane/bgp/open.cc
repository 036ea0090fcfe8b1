#include "controlplane/bgp/open.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "controlplane/bgp/wire.h"

namespace strobe::bgp {
namespace {

BgpError OpenError(uint8_t subcode, std::vector<uint8_t> data = {}) {
  return BgpError{kErrOpenMessage, subcode, std::move(data)};
}

// Parses one capability's value into caps. Returns false when a recognized capability is
// malformed.
bool ParseCapability(uint8_t code, std::span<const uint8_t> value, Capabilities* caps) {
  wire::Reader r(value);
  switch (code) {
    case kCapMultiprotocol: {
      uint16_t afi = 0;
      uint8_t reserved = 0, safi = 0;
      if (value.size() != 4 || !r.ReadU16(&afi) || !r.ReadU8(&reserved) || !r.ReadU8(&safi)) {
        return false;
      }
      caps->multiprotocol.push_back({afi, safi});
      return true;
    }
    case kCapRouteRefresh:
      if (!value.empty()) return false;
      caps->route_refresh = true;
      return true;
    case kCapEnhancedRouteRefresh:
      if (!value.empty()) return false;
      caps->enhanced_route_refresh = true;
      return true;
    case kCapExtendedMessage:
      if (!value.empty()) return false;
      caps->extended_message = true;
      return true;
    case kCapFourOctetAs: {
      uint32_t asn = 0;
      if (value.size() != 4 || !r.ReadU32(&asn)) return false;
      caps->four_octet_as = asn;
      return true;
    }
    case kCapGracefulRestart: {
      uint16_t flags_time = 0;
      if (value.size() < 2 || (value.size() - 2) % 4 != 0 || !r.ReadU16(&flags_time)) return false;
      GracefulRestartCapability gr;
      gr.restart_state = (flags_time & 0x8000) != 0;
      gr.notification = (flags_time & 0x4000) != 0;
      gr.restart_time = flags_time & 0x0fff;
      while (!r.empty()) {
        uint16_t afi = 0;
        uint8_t safi = 0, flags = 0;
        r.ReadU16(&afi);
        r.ReadU8(&safi);
        r.ReadU8(&flags);
        gr.families.push_back({{afi, safi}, (flags & 0x80) != 0});
      }
      caps->graceful_restart = std::move(gr);
      return true;
    }
    case kCapExtendedNextHop: {
      if (value.size() % 6 != 0) return false;
      while (!r.empty()) {
        ExtendedNextHopEntry e;
        r.ReadU16(&e.nlri_afi);
        r.ReadU16(&e.nlri_safi);
        r.ReadU16(&e.next_hop_afi);
        caps->extended_next_hop.push_back(e);
      }
      return true;
    }
    case kCapAddPath: {
      if (value.size() % 4 != 0) return false;
      while (!r.empty()) {
        AddPathEntry e;
        r.ReadU16(&e.afi_safi.afi);
        r.ReadU8(&e.afi_safi.safi);
        r.ReadU8(&e.send_receive);
        if (e.send_receive < kAddPathReceive || e.send_receive > kAddPathBoth) return false;
        caps->add_path.push_back(e);
      }
      return true;
    }
    default:
      caps->unknown.push_back({code, std::vector<uint8_t>(value.begin(), value.end())});
      return true;
  }
}

std::optional<BgpError> ParseCapabilities(std::span<const uint8_t> value, Capabilities* caps) {
  wire::Reader r(value);
  while (!r.empty()) {
    uint8_t code = 0, length = 0;
    std::span<const uint8_t> cap;
    if (!r.ReadU8(&code) || !r.ReadU8(&length) || !r.ReadBytes(length, &cap)) {
      return OpenError(kSubUnspecific);
    }
    if (!ParseCapability(code, cap, caps)) return OpenError(kSubUnspecific);
  }
  return std::nullopt;
}

// Octets of one capability's value (its length is one octet).
constexpr size_t kMaxCapabilityValue = 255;

void PutCapability(std::vector<uint8_t>& out, uint8_t code, std::span<const uint8_t> value) {
  wire::PutU8(out, code);
  wire::PutU8(out, static_cast<uint8_t>(value.size()));
  wire::PutBytes(out, value);
}

}  // namespace

Open MakeOpen(uint32_t asn, uint16_t hold_time, uint32_t bgp_identifier, Capabilities caps) {
  Open open;
  open.my_as = asn > 0xffff ? kAsTrans : static_cast<uint16_t>(asn);
  open.hold_time = hold_time;
  open.bgp_identifier = bgp_identifier;
  open.capabilities = std::move(caps);
  open.capabilities.four_octet_as = asn;
  return open;
}

std::variant<Open, BgpError> DecodeOpenBody(std::span<const uint8_t> body) {
  wire::Reader r(body);
  Open open;
  uint8_t opt_len = 0;
  if (!r.ReadU8(&open.version) || !r.ReadU16(&open.my_as) || !r.ReadU16(&open.hold_time) ||
      !r.ReadU32(&open.bgp_identifier) || !r.ReadU8(&opt_len)) {
    return BgpError{kErrMessageHeader,
                    kSubBadMessageLength,
                    {static_cast<uint8_t>((body.size() + kHeaderLength) >> 8),
                     static_cast<uint8_t>(body.size() + kHeaderLength)}};
  }
  if (open.version != kBgpVersion) {
    return OpenError(kSubUnsupportedVersionNumber, {0, kBgpVersion});
  }
  if (open.hold_time == 1 || open.hold_time == 2) return OpenError(kSubUnacceptableHoldTime);

  // RFC 9072: Non-Ext OP Type 255 signals 2-octet lengths.
  bool extended = opt_len != 0 && !r.empty() && r.Peek() == 255;
  size_t params_len = opt_len;
  if (extended) {
    uint8_t marker = 0;
    uint16_t ext_len = 0;
    r.ReadU8(&marker);
    if (!r.ReadU16(&ext_len)) return OpenError(kSubUnspecific);
    params_len = ext_len;
  }
  std::span<const uint8_t> params;
  if (!r.ReadBytes(params_len, &params) || !r.empty()) return OpenError(kSubUnspecific);

  wire::Reader pr(params);
  while (!pr.empty()) {
    uint8_t type = 0;
    uint16_t length = 0;
    std::span<const uint8_t> value;
    if (!pr.ReadU8(&type)) return OpenError(kSubUnspecific);
    if (extended) {
      if (!pr.ReadU16(&length)) return OpenError(kSubUnspecific);
    } else {
      uint8_t short_len = 0;
      if (!pr.ReadU8(&short_len)) return OpenError(kSubUnspecific);
      length = short_len;
    }
    if (!pr.ReadBytes(length, &value)) return OpenError(kSubUnspecific);
    if (type != kOptParamCapabilities) return OpenError(kSubUnsupportedOptionalParameter);
    if (auto err = ParseCapabilities(value, &open.capabilities)) return *err;
  }
  return open;
}

std::vector<uint8_t> EncodeCapabilities(const Capabilities& caps) {
  std::vector<uint8_t> out;
  for (const AfiSafi& f : caps.multiprotocol) {
    std::vector<uint8_t> v;
    wire::PutU16(v, f.afi);
    wire::PutU8(v, 0);
    wire::PutU8(v, f.safi);
    PutCapability(out, kCapMultiprotocol, v);
  }
  if (caps.route_refresh) PutCapability(out, kCapRouteRefresh, {});
  if (caps.enhanced_route_refresh) PutCapability(out, kCapEnhancedRouteRefresh, {});
  if (caps.four_octet_as) {
    std::vector<uint8_t> v;
    wire::PutU32(v, *caps.four_octet_as);
    PutCapability(out, kCapFourOctetAs, v);
  }
  if (caps.graceful_restart) {
    const GracefulRestartCapability& gr = *caps.graceful_restart;
    std::vector<uint8_t> v;
    wire::PutU16(
        v, static_cast<uint16_t>((gr.restart_state ? 0x8000 : 0) | (gr.notification ? 0x4000 : 0) |
                                 (gr.restart_time & 0x0fff)));
    for (const auto& f : gr.families) {
      wire::PutU16(v, f.afi_safi.afi);
      wire::PutU8(v, f.afi_safi.safi);
      wire::PutU8(v, f.forwarding_preserved ? 0x80 : 0);
    }
    PutCapability(out, kCapGracefulRestart, v);
  }
  // A capability value has a one-octet length: longer lists go in several instances of the
  // capability, which RFC 5492 section 4 allows and the decoder joins.
  for (size_t i = 0; i < caps.extended_next_hop.size(); i += kMaxCapabilityValue / 6) {
    std::vector<uint8_t> v;
    const size_t end = std::min(caps.extended_next_hop.size(), i + kMaxCapabilityValue / 6);
    for (size_t j = i; j < end; ++j) {
      const ExtendedNextHopEntry& e = caps.extended_next_hop[j];
      wire::PutU16(v, e.nlri_afi);
      wire::PutU16(v, e.nlri_safi);
      wire::PutU16(v, e.next_hop_afi);
    }
    PutCapability(out, kCapExtendedNextHop, v);
  }
  if (caps.extended_message) PutCapability(out, kCapExtendedMessage, {});
  for (size_t i = 0; i < caps.add_path.size(); i += kMaxCapabilityValue / 4) {
    std::vector<uint8_t> v;
    const size_t end = std::min(caps.add_path.size(), i + kMaxCapabilityValue / 4);
    for (size_t j = i; j < end; ++j) {
      const AddPathEntry& e = caps.add_path[j];
      wire::PutU16(v, e.afi_safi.afi);
      wire::PutU8(v, e.afi_safi.safi);
      wire::PutU8(v, e.send_receive);
    }
    PutCapability(out, kCapAddPath, v);
  }
  for (const auto& raw : caps.unknown) PutCapability(out, raw.code, raw.value);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> EncodeOpenBody(const Open& open) {
  // What cannot be split into several instances must fit in one: RFC 4724 section 3 allows one
  // Graceful Restart capability (2 + 4 octets a family); an unknown one is passed as it is.
  if (open.capabilities.graceful_restart &&
      2 + 4 * open.capabilities.graceful_restart->families.size() > kMaxCapabilityValue) {
    return absl::InvalidArgumentError(absl::StrCat(
        "graceful restart capability for ", open.capabilities.graceful_restart->families.size(),
        " families does not fit in 255 octets"));
  }
  for (const RawCapability& raw : open.capabilities.unknown) {
    if (raw.value.size() > kMaxCapabilityValue) {
      return absl::InvalidArgumentError(
          absl::StrCat("capability ", raw.code, " of ", raw.value.size(), " octets"));
    }
  }
  std::vector<uint8_t> caps = EncodeCapabilities(open.capabilities);
  std::vector<uint8_t> out;
  wire::PutU8(out, open.version);
  wire::PutU16(out, open.my_as);
  wire::PutU16(out, open.hold_time);
  wire::PutU32(out, open.bgp_identifier);
  if (caps.empty()) {
    wire::PutU8(out, 0);
  } else if (caps.size() + 2 <= 255) {
    wire::PutU8(out, static_cast<uint8_t>(caps.size() + 2));
    wire::PutU8(out, kOptParamCapabilities);
    wire::PutU8(out, static_cast<uint8_t>(caps.size()));
    wire::PutBytes(out, caps);
  } else {
    if (caps.size() + 3 > 0xffff) {
      return absl::InvalidArgumentError(absl::StrCat("OPEN capabilities too long: ", caps.size()));
    }
    wire::PutU8(out, 255);
    wire::PutU8(out, 255);
    wire::PutU16(out, static_cast<uint16_t>(caps.size() + 3));
    wire::PutU8(out, kOptParamCapabilities);
    wire::PutU16(out, static_cast<uint16_t>(caps.size()));
    wire::PutBytes(out, caps);
  }
  return out;
}

std::optional<BgpError> ValidateOpen(const Open& open, const OpenPolicy& policy) {
  uint32_t peer_as = open.PeerAs();
  if (policy.peer_as ? peer_as != *policy.peer_as
                     : (peer_as < policy.peer_as_min || peer_as > policy.peer_as_max)) {
    return OpenError(kSubBadPeerAs);
  }
  // RFC 6793: with the capability, My AS must be the AS itself or AS_TRANS.
  if (open.capabilities.four_octet_as) {
    uint32_t as4 = *open.capabilities.four_octet_as;
    uint16_t expected = as4 > 0xffff ? kAsTrans : static_cast<uint16_t>(as4);
    if (open.my_as != expected && open.my_as != kAsTrans) return OpenError(kSubBadPeerAs);
  }
  if (open.bgp_identifier == 0 ||
      (peer_as == policy.local_as && open.bgp_identifier == policy.local_identifier)) {
    return OpenError(kSubBadBgpIdentifier);
  }
  std::vector<uint8_t> missing;
  for (const AfiSafi& f : policy.required_families) {
    bool found = false;
    for (const AfiSafi& g : open.capabilities.multiprotocol) found = found || g == f;
    if (!found) {
      Capabilities c;
      c.multiprotocol.push_back(f);
      std::vector<uint8_t> enc = EncodeCapabilities(c);
      missing.insert(missing.end(), enc.begin(), enc.end());
    }
  }
  if (policy.require_four_octet_as && !open.capabilities.four_octet_as) {
    Capabilities c;
    c.four_octet_as = policy.local_as;
    std::vector<uint8_t> enc = EncodeCapabilities(c);
    missing.insert(missing.end(), enc.begin(), enc.end());
  }
  if (!missing.empty()) return OpenError(kSubUnsupportedCapability, std::move(missing));
  return std::nullopt;
}

}  // namespace strobe::bgp
