// BGP OPEN message body (RFC 4271 §4.2) with capabilities (RFC 5492) and the RFC 9072 extended
// optional parameters length.
#ifndef STROBE_CONTROLPLANE_BGP_OPEN_H_
#define STROBE_CONTROLPLANE_BGP_OPEN_H_

#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/bgp/types.h"

namespace strobe::bgp {

// Capability codes.
inline constexpr uint8_t kCapMultiprotocol = 1;
inline constexpr uint8_t kCapRouteRefresh = 2;
inline constexpr uint8_t kCapExtendedNextHop = 5;
inline constexpr uint8_t kCapExtendedMessage = 6;
inline constexpr uint8_t kCapGracefulRestart = 64;
inline constexpr uint8_t kCapFourOctetAs = 65;
inline constexpr uint8_t kCapAddPath = 69;
inline constexpr uint8_t kCapEnhancedRouteRefresh = 70;

// Optional parameter type for capabilities (RFC 5492).
inline constexpr uint8_t kOptParamCapabilities = 2;

struct GracefulRestartCapability {
  struct Family {
    AfiSafi afi_safi;
    bool forwarding_preserved = false;  // F bit.
    bool operator==(const Family&) const = default;
  };
  bool restart_state = false;  // R bit.
  bool notification = false;   // N bit (RFC 8538).
  uint16_t restart_time = 0;   // 12 bits, seconds.
  std::vector<Family> families;
  bool operator==(const GracefulRestartCapability&) const = default;
};

struct ExtendedNextHopEntry {  // RFC 8950: NLRI AFI, NLRI SAFI (2 octets), next hop AFI.
  uint16_t nlri_afi = 0;
  uint16_t nlri_safi = 0;
  uint16_t next_hop_afi = 0;
  bool operator==(const ExtendedNextHopEntry&) const = default;
};

inline constexpr uint8_t kAddPathReceive = 1;
inline constexpr uint8_t kAddPathSend = 2;
inline constexpr uint8_t kAddPathBoth = 3;

struct AddPathEntry {
  AfiSafi afi_safi;
  uint8_t send_receive = 0;  // kAddPathReceive / kAddPathSend / kAddPathBoth.
  bool operator==(const AddPathEntry&) const = default;
};

struct RawCapability {
  uint8_t code = 0;
  std::vector<uint8_t> value;
  bool operator==(const RawCapability&) const = default;
};

struct Capabilities {
  std::vector<AfiSafi> multiprotocol;
  bool route_refresh = false;
  bool enhanced_route_refresh = false;
  std::optional<uint32_t> four_octet_as;
  std::optional<GracefulRestartCapability> graceful_restart;
  std::vector<ExtendedNextHopEntry> extended_next_hop;
  bool extended_message = false;
  std::vector<AddPathEntry> add_path;
  std::vector<RawCapability> unknown;  // Kept as received.
  bool operator==(const Capabilities&) const = default;
};

struct Open {
  uint8_t version = kBgpVersion;
  uint16_t my_as = 0;  // AS_TRANS when the real AS does not fit; see PeerAs().
  uint16_t hold_time = 0;
  uint32_t bgp_identifier = 0;
  Capabilities capabilities;
  bool operator==(const Open&) const = default;

  // The speaker's AS: the 4-octet AS capability if present, else My AS.
  uint32_t PeerAs() const { return capabilities.four_octet_as.value_or(my_as); }
};

// Builds an OPEN for `asn` (My AS is AS_TRANS when asn > 65535; the 4-octet AS capability is
// always set to asn).
Open MakeOpen(uint32_t asn, uint16_t hold_time, uint32_t bgp_identifier, Capabilities caps);

// Decodes the OPEN body (after the 19-byte header). Syntax errors and the checks that need no
// configuration (version, hold time 1 or 2, unsupported optional parameter) map to NOTIFICATIONs.
std::variant<Open, BgpError> DecodeOpenBody(std::span<const uint8_t> body);

// Encodes the OPEN body; uses the RFC 9072 extended form when parameters exceed 255 octets.
absl::StatusOr<std::vector<uint8_t>> EncodeOpenBody(const Open& open);

// Encodes one capability (code, length, value) as it appears in an OPEN.
std::vector<uint8_t> EncodeCapabilities(const Capabilities& caps);

// The checks of RFC 4271 §6.2 that depend on local configuration.
struct OpenPolicy {
  uint32_t local_as = 0;
  uint32_t local_identifier = 0;
  std::optional<uint32_t> peer_as;  // nullopt: any AS is accepted (e.g. dynamic neighbors).
  uint32_t peer_as_min = 0;         // Range check when peer_as is nullopt.
  uint32_t peer_as_max = 0xffffffff;
  // Capabilities we insist on; a peer lacking one gets Unsupported Capability with the
  // capability as we would encode it.
  std::vector<AfiSafi> required_families;
  bool require_four_octet_as = false;
};
std::optional<BgpError> ValidateOpen(const Open& open, const OpenPolicy& policy);

}  // namespace strobe::bgp

#endif  // STROBE_CONTROLPLANE_BGP_OPEN_H_
