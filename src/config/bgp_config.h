#ifndef STROBE_SRC_CONFIG_BGP_CONFIG_H_
#define STROBE_SRC_CONFIG_BGP_CONFIG_H_

// The BGP part of the configuration file: [bgp], [[bgp.neighbor]], [[bgp.listen_range]],
// [[bgp.network]] and [[policy]] (docs/config.md). The key names of the issue are stable; new keys
// may be added, none renamed. Read by bgp_reader.cc with the rest of the file (ParseConfig).
// The tables' operator== compares every field, `line` included (strobe-bgpd's reload compares
// copies with the lines cleared).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "src/net/ip_address.h"

namespace strobe::config {

// An IPv4 or IPv6 prefix; host bits are zero (the parser refuses "10.0.0.1/8").
struct IpPrefix {
  net::IpAddress address;
  uint8_t length = 0;
  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;

  // Whether `address` (of the same family) lies inside this prefix.
  bool Contains(const net::IpAddress& address) const;
  std::string ToString() const;  // "198.18.2.0/24"
};

// A prefix-list entry: "198.19.255.0/24 ge 32 le 32". Matches a route whose prefix lies inside
// `prefix` with a length in [ge, le]; without ge/le only the exact length of `prefix`. As in FRR
// and Cisco prefix lists, "ge N" alone means N up to the family's width and "le M" alone means the
// prefix length up to M.
struct PrefixMatch {
  IpPrefix prefix;
  uint8_t ge = 0;  // resolved: the prefix length when absent
  uint8_t le = 0;  // resolved: the family width (32, 128) when only ge is given, else the length
  friend bool operator==(const PrefixMatch&, const PrefixMatch&) = default;
};

// RFC 1997 community, as "ASN:VALUE" (each 0-65535) or a well-known name ("no-export",
// "no-advertise", "no-export-subconfed", "blackhole", "graceful-shutdown").
using Community = uint32_t;
inline constexpr Community kCommunityGracefulShutdown = 0xFFFF0000;  // RFC 8326
inline constexpr Community kCommunityBlackhole = 0xFFFF029A;         // RFC 7999
inline constexpr Community kCommunityNoExport = 0xFFFFFF01;          // RFC 1997
inline constexpr Community kCommunityNoAdvertise = 0xFFFFFF02;
inline constexpr Community kCommunityNoExportSubconfed = 0xFFFFFF03;
// RFC 8092 large community, as "GLOBAL:LOCAL1:LOCAL2".
struct LargeCommunity {
  uint32_t global = 0;
  uint32_t local1 = 0;
  uint32_t local2 = 0;
  friend bool operator==(const LargeCommunity&, const LargeCommunity&) = default;
};

// The text forms of the file, for the parser, `show` output and tests. Errors are
// InvalidArgument with a message that quotes the text.
// "198.18.2.0/24", "2001:db8::/32"; refuses host bits ("198.18.2.1/24"), saying which.
absl::StatusOr<IpPrefix> ParseIpPrefix(std::string_view text);
// "PREFIX", "PREFIX ge N", "PREFIX le M", "PREFIX ge N le M": len <= ge <= le <= width.
absl::StatusOr<PrefixMatch> ParsePrefixMatch(std::string_view text);
absl::StatusOr<Community> ParseCommunity(std::string_view text);
absl::StatusOr<LargeCommunity> ParseLargeCommunity(std::string_view text);
std::string CommunityToString(Community community);                   // a well-known name, or "A:B"
std::string LargeCommunityToString(const LargeCommunity& community);  // "A:B:C"

enum class PolicyAction : uint8_t { kAccept, kReject, kNext };

// One [[policy.term]]: every match condition present must hold (an absent one always holds);
// a matching term applies its sets and then its action. kNext continues with the next term.
// Sets apply in this order: local_pref, med, delete communities, add communities (so a community
// both deleted and added ends up present once).
struct PolicyTerm {
  std::string name;  // optional, for messages
  // Matches.
  std::vector<PrefixMatch> prefixes;                    // any of them
  std::optional<uint32_t> as_path_length_min;           // inclusive
  std::optional<uint32_t> as_path_length_max;           // inclusive
  std::vector<Community> match_communities;             // any of them
  std::vector<LargeCommunity> match_large_communities;  // any of them
  // Sets.
  std::optional<uint32_t> set_local_pref;
  std::optional<uint32_t> set_med;
  std::vector<Community> add_communities;
  std::vector<Community> delete_communities;
  std::vector<LargeCommunity> add_large_communities;
  std::vector<LargeCommunity> delete_large_communities;
  PolicyAction action = PolicyAction::kAccept;
  int line = 0;
  friend bool operator==(const PolicyTerm&, const PolicyTerm&) = default;
};

// One [[policy]]: terms in order; a route no term decided gets `default_action` (accept/reject).
struct PolicyConfig {
  std::string name;
  std::vector<PolicyTerm> terms;
  PolicyAction default_action = PolicyAction::kReject;
  int line = 0;
  friend bool operator==(const PolicyConfig&, const PolicyConfig&) = default;
};

enum class MaxPrefixAction : uint8_t { kWarning, kTeardown };

// What a configured neighbor and a listen range have in common.
struct BgpPeerTemplate {
  std::string bfd_profile;    // empty: no BFD
  bool passive = false;       // never connect, only accept
  std::string md5_password;   // empty: no TCP-MD5 (RFC 2385)
  bool ttl_security = false;  // GTSM (RFC 5082): send 255, accept only 255 - hops + 1 and up
  uint8_t multihop_ttl = 0;   // eBGP multihop TTL; 0: directly connected (1 hop)
  std::vector<std::string> import_policies;  // names of [[policy]]; empty: accept everything
  std::vector<std::string> export_policies;  // empty: export everything eligible
  uint16_t hold_time_s = 90;                 // 0 or 3..65535
  uint16_t connect_retry_s = 120;
  uint16_t delay_open_s = 0;  // 0: no DelayOpen
  uint32_t max_prefixes = 0;  // 0: unlimited
  MaxPrefixAction max_prefixes_action = MaxPrefixAction::kTeardown;
  bool wait_for_bfd_up = false;   // hold in OpenSent until BFD is Up
  bool next_hop_self = true;      // for routes re-advertised to this peer
  bool add_path_receive = false;  // RFC 7911: ask for multiple paths per prefix
  bool graceful_restart = true;   // RFC 4724 helper mode
  bool ipv4_unicast = true;       // address families offered (RFC 4760)
  bool ipv6_unicast = true;
  bool extended_next_hop = false;  // RFC 8950: IPv4 NLRI over an IPv6 next hop
  friend bool operator==(const BgpPeerTemplate&, const BgpPeerTemplate&) = default;
};

struct BgpNeighborConfig : BgpPeerTemplate {
  net::IpAddress address;
  uint32_t remote_as = 0;
  net::IpAddress local_address;  // optional source address ("update-source")
  std::string description;
  int line = 0;
  friend bool operator==(const BgpNeighborConfig&, const BgpNeighborConfig&) = default;
};

// Dynamic neighbors: a connection from an address inside `prefix` whose OPEN carries an AS in
// [remote_as_min, remote_as_max] is accepted (always passive). A configured [[bgp.neighbor]] whose
// address lies inside a range is that neighbor, not the range's; of several ranges that contain
// an address (only distinct prefixes may overlap) the longest prefix applies.
struct BgpListenRangeConfig : BgpPeerTemplate {
  IpPrefix prefix;
  uint32_t remote_as_min = 0;  // remote_as = N or [MIN, MAX]
  uint32_t remote_as_max = 0;
  uint32_t max_neighbors = 1024;
  int line = 0;
  friend bool operator==(const BgpListenRangeConfig&, const BgpListenRangeConfig&) = default;
};

struct BgpNetworkConfig {
  IpPrefix prefix;
  std::vector<Community> communities;
  std::vector<LargeCommunity> large_communities;
  int line = 0;
  friend bool operator==(const BgpNetworkConfig&, const BgpNetworkConfig&) = default;
};

struct BgpConfig {
  bool present = false;                // the file has a [bgp] table
  uint32_t asn = 0;                    // required when present; 1..4294967295
  net::IpAddress router_id;            // required, IPv4 (RFC 6286: any non-zero 32-bit value)
  std::vector<net::IpAddress> listen;  // empty: do not listen (outbound only)
  uint16_t listen_port = 179;
  uint32_t max_paths = 16;       // 1..256; 1 disables multipath
  bool multipath_relax = false;  // equal AS-path length from different neighbor ASes
  uint16_t hold_time_s = 90;     // defaults for neighbors and ranges that set none
  uint16_t connect_retry_s = 120;
  std::vector<BgpNeighborConfig> neighbors;
  std::vector<BgpListenRangeConfig> listen_ranges;
  std::vector<BgpNetworkConfig> networks;

  // The listen range a connection from `address` belongs to: the longest prefix holding it (as
  // FRR's `bgp listen range`), or null.
  const BgpListenRangeConfig* FindListenRange(const net::IpAddress& address) const;
};

}  // namespace strobe::config

#endif  // STROBE_SRC_CONFIG_BGP_CONFIG_H_
