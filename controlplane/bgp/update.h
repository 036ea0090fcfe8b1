// BGP UPDATE (RFC 4271 §4.3) with MP-BGP (RFC 4760), 4-octet AS (RFC 6793), ADD-PATH (RFC 7911),
// extended next hop (RFC 8950), large communities (RFC 8092) and RFC 7606 revised error handling.
#ifndef STROBE_CONTROLPLANE_BGP_UPDATE_H_
#define STROBE_CONTROLPLANE_BGP_UPDATE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/bgp/types.h"

namespace strobe::bgp {

// Path attribute type codes.
inline constexpr uint8_t kAttrOrigin = 1;
inline constexpr uint8_t kAttrAsPath = 2;
inline constexpr uint8_t kAttrNextHop = 3;
inline constexpr uint8_t kAttrMed = 4;
inline constexpr uint8_t kAttrLocalPref = 5;
inline constexpr uint8_t kAttrAtomicAggregate = 6;
inline constexpr uint8_t kAttrAggregator = 7;
inline constexpr uint8_t kAttrCommunities = 8;
inline constexpr uint8_t kAttrMpReachNlri = 14;
inline constexpr uint8_t kAttrMpUnreachNlri = 15;
inline constexpr uint8_t kAttrAs4Path = 17;
inline constexpr uint8_t kAttrAs4Aggregator = 18;
inline constexpr uint8_t kAttrLargeCommunities = 32;

// Attribute flags.
inline constexpr uint8_t kFlagOptional = 0x80;
inline constexpr uint8_t kFlagTransitive = 0x40;
inline constexpr uint8_t kFlagPartial = 0x20;
inline constexpr uint8_t kFlagExtendedLength = 0x10;

inline constexpr uint8_t kOriginIgp = 0;
inline constexpr uint8_t kOriginEgp = 1;
inline constexpr uint8_t kOriginIncomplete = 2;

inline constexpr uint8_t kAsSet = 1;
inline constexpr uint8_t kAsSequence = 2;
inline constexpr uint8_t kAsConfedSequence = 3;
inline constexpr uint8_t kAsConfedSet = 4;

// An IPv4 or IPv6 prefix; bits past `length` are always zero after decode.
struct Prefix {
  uint16_t afi = kAfiIpv4;
  uint8_t length = 0;
  std::array<uint8_t, 16> address{};
  uint32_t path_id = 0;  // ADD-PATH identifier; only on the wire when negotiated.
  bool operator==(const Prefix&) const = default;
};

struct AsPathSegment {
  uint8_t type = kAsSequence;
  std::vector<uint32_t> asns;
  bool operator==(const AsPathSegment&) const = default;
};

struct Aggregator {
  uint32_t asn = 0;
  std::array<uint8_t, 4> address{};
  bool operator==(const Aggregator&) const = default;
};

struct LargeCommunity {
  uint32_t global_admin = 0;
  uint32_t local_data1 = 0;
  uint32_t local_data2 = 0;
  bool operator==(const LargeCommunity&) const = default;
};

struct MpReach {
  AfiSafi afi_safi;
  std::vector<uint8_t> next_hop;  // 4, 16 or 32 (global + link-local) octets.
  std::vector<Prefix> nlri;
  bool operator==(const MpReach&) const = default;
};

struct MpUnreach {
  AfiSafi afi_safi;
  std::vector<Prefix> withdrawn;  // Empty: End-of-RIB for the family (RFC 4724).
  bool operator==(const MpUnreach&) const = default;
};

struct RawAttribute {
  uint8_t flags = 0;  // Without the Extended Length bit.
  uint8_t type = 0;
  std::vector<uint8_t> value;
  bool operator==(const RawAttribute&) const = default;
};

struct PathAttributes {
  std::optional<uint8_t> origin;
  std::optional<std::vector<AsPathSegment>> as_path;
  std::optional<std::array<uint8_t, 4>> next_hop;
  std::optional<uint32_t> med;
  std::optional<uint32_t> local_pref;
  bool atomic_aggregate = false;
  std::optional<Aggregator> aggregator;
  std::optional<std::vector<uint32_t>> communities;
  std::optional<MpReach> mp_reach;
  std::optional<MpUnreach> mp_unreach;
  std::optional<std::vector<AsPathSegment>> as4_path;
  std::optional<Aggregator> as4_aggregator;
  std::optional<std::vector<LargeCommunity>> large_communities;
  // Unrecognized optional transitive attributes, in order; re-encoded with the Partial bit set.
  // Unrecognized optional non-transitive attributes are dropped (RFC 4271 §5).
  std::vector<RawAttribute> unknown;
  bool operator==(const PathAttributes&) const = default;
};

struct Update {
  std::vector<Prefix> withdrawn;  // IPv4 unicast.
  PathAttributes attributes;
  std::vector<Prefix> nlri;  // IPv4 unicast.
  bool operator==(const Update&) const = default;
};

struct UpdateDecodeResult {
  Update update;
  enum Action {
    kOk,
    kAttributeDiscard,  // Use the update; the listed attributes were dropped.
    kTreatAsWithdraw,   // Withdraw every prefix in nlri and mp_reach (RFC 7606 §2).
    kSessionReset,      // Send `notification` and close.
  } action = kOk;
  std::optional<BgpError> notification;  // Set only for kSessionReset.
  std::vector<uint8_t> discarded_types;  // Attribute types discarded (malformed or repeated).
};

// Decodes the UPDATE body (after the header).
UpdateDecodeResult DecodeUpdateBody(std::span<const uint8_t> body, const DecodeOptions& options);

// Encodes the UPDATE body. Attributes are written in type order; AS numbers in 2 octets unless
// options.four_octet_as (an AS > 65535 is then written as AS_TRANS).
absl::StatusOr<std::vector<uint8_t>> EncodeUpdateBody(const Update& update,
                                                      const EncodeOptions& options);

// Builds a prefix from address bytes (4 for IPv4, 16 for IPv6); bits past length are cleared.
Prefix MakePrefix(uint16_t afi, std::span<const uint8_t> address, uint8_t length,
                  uint32_t path_id = 0);

}  // namespace strobe::bgp

#endif  // STROBE_CONTROLPLANE_BGP_UPDATE_H_
