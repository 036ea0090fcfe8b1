// Shared BGP codec types: errors (RFC 4271 §4.5/§6), address families, codec options.
#ifndef STROBE_CONTROLPLANE_BGP_TYPES_H_
#define STROBE_CONTROLPLANE_BGP_TYPES_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace strobe::bgp {

inline constexpr size_t kHeaderLength = 19;
inline constexpr size_t kMaxMessageLength = 4096;
inline constexpr size_t kMaxExtendedMessageLength = 65535;  // RFC 8654
inline constexpr uint16_t kAsTrans = 23456;                 // RFC 6793
inline constexpr uint8_t kBgpVersion = 4;

// NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313).
inline constexpr uint8_t kErrMessageHeader = 1;
inline constexpr uint8_t kErrOpenMessage = 2;
inline constexpr uint8_t kErrUpdateMessage = 3;
inline constexpr uint8_t kErrHoldTimerExpired = 4;
inline constexpr uint8_t kErrFsm = 5;
inline constexpr uint8_t kErrCease = 6;
inline constexpr uint8_t kErrRouteRefresh = 7;

// Message Header Error subcodes.
inline constexpr uint8_t kSubConnectionNotSynchronized = 1;
inline constexpr uint8_t kSubBadMessageLength = 2;
inline constexpr uint8_t kSubBadMessageType = 3;

// OPEN Message Error subcodes.
inline constexpr uint8_t kSubUnspecific = 0;
inline constexpr uint8_t kSubUnsupportedVersionNumber = 1;
inline constexpr uint8_t kSubBadPeerAs = 2;
inline constexpr uint8_t kSubBadBgpIdentifier = 3;
inline constexpr uint8_t kSubUnsupportedOptionalParameter = 4;
inline constexpr uint8_t kSubUnacceptableHoldTime = 6;
inline constexpr uint8_t kSubUnsupportedCapability = 7;

// UPDATE Message Error subcodes.
inline constexpr uint8_t kSubMalformedAttributeList = 1;
inline constexpr uint8_t kSubUnrecognizedWellKnownAttribute = 2;
inline constexpr uint8_t kSubMissingWellKnownAttribute = 3;
inline constexpr uint8_t kSubAttributeFlagsError = 4;
inline constexpr uint8_t kSubAttributeLengthError = 5;
inline constexpr uint8_t kSubInvalidOriginAttribute = 6;
inline constexpr uint8_t kSubInvalidNextHopAttribute = 8;
inline constexpr uint8_t kSubOptionalAttributeError = 9;
inline constexpr uint8_t kSubInvalidNetworkField = 10;
inline constexpr uint8_t kSubMalformedAsPath = 11;

// ROUTE-REFRESH Message Error subcode (RFC 7313).
inline constexpr uint8_t kSubInvalidMessageLength = 1;

// An error detected while decoding: exactly the NOTIFICATION the RFC requires us to send.
struct BgpError {
  uint8_t code = 0;
  uint8_t subcode = 0;
  std::vector<uint8_t> data;
  bool operator==(const BgpError&) const = default;
};

inline constexpr uint16_t kAfiIpv4 = 1;
inline constexpr uint16_t kAfiIpv6 = 2;
inline constexpr uint8_t kSafiUnicast = 1;
inline constexpr uint8_t kSafiMulticast = 2;

struct AfiSafi {
  uint16_t afi = 0;
  uint8_t safi = 0;
  auto operator<=>(const AfiSafi&) const = default;
};
inline constexpr AfiSafi kIpv4Unicast{kAfiIpv4, kSafiUnicast};
inline constexpr AfiSafi kIpv6Unicast{kAfiIpv6, kSafiUnicast};

// What the session negotiated; governs both decode (what the peer sends) and encode (what we send).
struct CodecOptions {
  bool four_octet_as = false;  // RFC 6793 capability negotiated both ways.
  // Families with ADD-PATH path identifiers (RFC 7911): for decode the families we receive
  // path ids for, for encode the families we send them for.
  std::vector<AfiSafi> add_path;
  bool extended_next_hop = false;         // RFC 8950: IPv4 NLRI with an IPv6 next hop.
  size_t max_length = kMaxMessageLength;  // kMaxExtendedMessageLength with RFC 8654.

  bool AddPath(AfiSafi family) const {
    for (const AfiSafi& f : add_path) {
      if (f == family) return true;
    }
    return false;
  }
};
using DecodeOptions = CodecOptions;
using EncodeOptions = CodecOptions;

}  // namespace strobe::bgp

#endif  // STROBE_CONTROLPLANE_BGP_TYPES_H_
