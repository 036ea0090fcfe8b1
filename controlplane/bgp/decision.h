// RFC 4271 §9.1 decision process over the candidate paths of one prefix, with multipath (ECMP)
// selection in the manner of FRR (`maximum-paths`, `bestpath as-path multipath-relax`), and the
// interning of path attribute sets so that many prefixes with identical attributes share one
// object.
//
// Pure logic: no sockets, no netlink, not thread-safe (one RIB per control-plane thread).
#ifndef STROBE_CONTROLPLANE_BGP_DECISION_H_
#define STROBE_CONTROLPLANE_BGP_DECISION_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "controlplane/bgp/update.h"
#include "src/net/ip_address.h"

namespace strobe::bgp {

inline constexpr uint32_t kDefaultLocalPref = 100;

// The attributes of a path that the decision process and `show bgp routes` need, decoded and
// normalised by the session (AS4_PATH already merged into as_path, RFC 6793 §4.2.3). Immutable once
// interned: every Path refers to one through a shared pointer.
struct RouteAttributes {
  uint8_t origin = kOriginIgp;
  std::vector<AsPathSegment> as_path;
  net::IpAddress next_hop;
  std::optional<uint32_t> med;
  // As carried in the attribute (iBGP) or set by import policy. The session drops a LOCAL_PREF
  // received from an eBGP peer (RFC 4271 §5.1.5) before import policy runs.
  std::optional<uint32_t> local_pref;
  bool atomic_aggregate = false;
  std::vector<uint32_t> communities;
  std::vector<LargeCommunity> large_communities;

  bool operator==(const RouteAttributes&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, const RouteAttributes& a) {
    h = H::combine(std::move(h), a.origin, a.next_hop, a.med, a.local_pref, a.atomic_aggregate,
                   a.communities, a.as_path.size());
    for (const AsPathSegment& s : a.as_path) h = H::combine(std::move(h), s.type, s.asns);
    h = H::combine(std::move(h), a.large_communities.size());
    for (const LargeCommunity& c : a.large_communities) {
      h = H::combine(std::move(h), c.global_admin, c.local_data1, c.local_data2);
    }
    return h;
  }
};

using AttributesRef = std::shared_ptr<const RouteAttributes>;

// The AS_PATH to use from a decoded UPDATE: as_path itself with a 4-octet AS session; otherwise
// AS_PATH merged with AS4_PATH per RFC 6793 §4.2.3 (AS4_PATH ignored when longer than AS_PATH).
std::vector<AsPathSegment> EffectiveAsPath(const PathAttributes& attributes, bool four_octet_as);

// Where an UPDATE carries the prefixes the attributes are for; one UPDATE may use both.
enum class NlriField {
  kIpv4,     // The IPv4 NLRI field of RFC 4271: next hop in NEXT_HOP.
  kMpReach,  // MP_REACH_NLRI (RFC 4760): next hop in that attribute.
};

// RouteAttributes from a decoded UPDATE for the prefixes of `field`. The next hop is NEXT_HOP for
// kIpv4, the MP_REACH_NLRI next hop for kMpReach (its global address when a link-local one
// follows); empty when that attribute is absent. A LOCAL_PREF is dropped for eBGP (RFC 4271
// §5.1.5). Policy may modify the result before it is interned.
RouteAttributes RouteAttributesFromUpdate(const PathAttributes& attributes, NlriField field,
                                          bool four_octet_as, bool ebgp);

// AS_PATH length for the decision process (RFC 4271 §9.1.2.2 a): an AS_SEQUENCE counts each AS,
// an AS_SET counts 1, confederation segments (RFC 5065) count 0.
size_t AsPathLength(const std::vector<AsPathSegment>& as_path);

// Interns RouteAttributes by content. Intern() returns the one shared object for equal contents;
// the object is reference counted by its AttributesRef holders and removed from the pool when the
// last one goes. References may outlive the pool.
class AttributePool {
 public:
  AttributePool();
  AttributePool(const AttributePool&) = delete;
  AttributePool& operator=(const AttributePool&) = delete;

  AttributesRef Intern(RouteAttributes attributes);
  // Number of distinct attribute sets alive.
  size_t size() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// One candidate path for a prefix, from one neighbor.
struct Path {
  net::IpAddress neighbor;   // The peer's address: last tie-break.
  uint32_t router_id = 0;    // The peer's BGP Identifier, host byte order.
  uint32_t neighbor_as = 0;  // The peer's AS (our own AS for iBGP).
  bool ebgp = false;
  AttributesRef attributes;  // Never null in a RIB.

  const net::IpAddress& next_hop() const { return attributes->next_hop; }
};

struct DecisionOptions {
  // ECMP set size; 1 disables multipath.
  size_t max_paths = 1;
  // Paths from different neighbor ASes with AS_PATHs of equal length may share the set. Without it
  // they must have the same neighbor AS and an identical AS_PATH (FRR's default).
  bool multipath_relax = false;
  // LOCAL_PREF of an eBGP-learned path without one (set by policy); iBGP paths without LOCAL_PREF
  // use kDefaultLocalPref.
  uint32_t default_local_pref = kDefaultLocalPref;
};

// The step of §9.1.2.2 that decided, for `show bgp routes` explanations.
enum class DecisionStep : uint8_t {
  kNone,             // No candidates.
  kOnlyPath,         // A single candidate.
  kLocalPref,        // Higher LOCAL_PREF (§9.1.1).
  kAsPathLength,     // Shorter AS_PATH.
  kOrigin,           // Lower ORIGIN.
  kMed,              // Lower MED among paths from the same neighbor AS.
  kEbgpOverIbgp,     // eBGP over iBGP. (IGP cost to the next hop is not modelled: skipped.)
  kRouterId,         // Lower BGP Identifier.
  kNeighborAddress,  // Lower peer address.
  kEqual,            // Indistinguishable (same neighbor address): the first one is kept.
};
std::string_view DecisionStepName(DecisionStep step);

// The effective LOCAL_PREF of `path` under `options`.
uint32_t EffectiveLocalPref(const Path& path, const DecisionOptions& options);
// The MED used for comparison: an absent MED is 0 (RFC 4271 §9.1.2.2 c). FRR's
// `bestpath med missing-as-worst` is not implemented.
uint32_t EffectiveMed(const Path& path);
// The neighbor AS of RFC 4271 §9.1.2.2 c, for the MED comparison: the first AS of the AS_PATH when
// it begins (after confederation segments) with a non-empty AS_SEQUENCE, else the peer's AS (the
// local AS for a path originated inside our AS).
uint32_t MedNeighborAs(const Path& path);

// Pairwise comparison: order < 0 when `a` is preferred, > 0 when `b` is, 0 when indistinguishable;
// `step` says which rule decided.
struct Comparison {
  int order = 0;
  DecisionStep step = DecisionStep::kEqual;
};
Comparison ComparePaths(const Path& a, const Path& b, const DecisionOptions& options);

struct Decision {
  std::optional<size_t> best;  // Index into the candidates.
  DecisionStep step = DecisionStep::kNone;
  // Indices of the ECMP set, including `best`, ordered by neighbor address; just `best` when
  // multipath is disabled or no other path qualifies. Empty when there are no candidates.
  absl::InlinedVector<size_t, 8> multipath;
};

// Runs §9.1.2.2 over the whole set as the RFC writes it: each rule removes the paths it does not
// prefer (MED removes a path only in favour of a path from the same neighbor AS), so the result
// does not depend on the order of `candidates`. Then selects the ECMP set: paths that survive
// through the MED and eBGP/iBGP rules with the best (equal LOCAL_PREF, AS_PATH length, ORIGIN, not
// beaten on MED, same type), and without multipath_relax the best's neighbor AS and an identical
// AS_PATH. When more than max_paths qualify the best is kept and the rest are filled by lowest
// neighbor address.
Decision Decide(std::span<const Path> candidates, const DecisionOptions& options);

}  // namespace strobe::bgp

#endif  // STROBE_CONTROLPLANE_BGP_DECISION_H_
