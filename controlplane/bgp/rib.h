// BGP RIBs (RFC 4271 §3.2): the Adj-RIB-In of every neighbor and the Loc-RIB (best path plus ECMP
// set per prefix), for IPv4 and IPv6 unicast. Every operation returns the Loc-RIB changes it
// caused, with the old and new next-hop sets, so the FIB writer is told in the same step.
//
// Pure logic, not thread-safe. Import policy runs before Update(); Adj-RIB-In holds post-policy
// paths (no soft-reconfiguration copy). One path per (neighbor, prefix): ADD-PATH path ids are not
// kept apart here.
#ifndef STROBE_CONTROLPLANE_BGP_RIB_H_
#define STROBE_CONTROLPLANE_BGP_RIB_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "controlplane/bgp/decision.h"
#include "controlplane/bgp/update.h"
#include "src/net/ip_address.h"

namespace strobe::bgp {

// An IPv4 or IPv6 prefix as the RIB keys it (the codec's Prefix also carries the wire AFI and the
// ADD-PATH id). Bits past `length` are zero (Make() masks them).
struct RibPrefix {
  net::IpAddress address;
  uint8_t length = 0;

  // Masks host bits; nullopt for a length beyond the family's width or an empty address.
  static std::optional<RibPrefix> Make(const net::IpAddress& address, int length);
  static absl::StatusOr<RibPrefix> Parse(std::string_view text);  // "10.0.0.0/8", "2001:db8::/32"
  static std::optional<RibPrefix> FromWire(const Prefix& prefix);
  std::string ToString() const;

  friend bool operator==(const RibPrefix&, const RibPrefix&) = default;
  friend auto operator<=>(const RibPrefix&, const RibPrefix&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const RibPrefix& p) {
    return H::combine(std::move(h), p.address, p.length);
  }
};

// A Loc-RIB entry: the best path and the ECMP set (which contains the best), ordered by neighbor.
struct LocRibEntry {
  Path best;
  DecisionStep reason = DecisionStep::kOnlyPath;
  std::vector<Path> multipath;

  // Sorted, without duplicates.
  std::vector<net::IpAddress> NextHops() const;
};

// One Loc-RIB change. An empty next-hop set means no route (added: old empty; removed: new empty).
// A change of best path or ECMP membership with the same next hops is still reported (show output
// and export change); a change of `reason` alone is not reported. FibChanged() says whether the
// kernel route needs rewriting.
struct RibChange {
  RibPrefix prefix;
  std::vector<net::IpAddress> old_next_hops;
  std::vector<net::IpAddress> new_next_hops;
  bool FibChanged() const { return old_next_hops != new_next_hops; }
};

class Rib {
 public:
  explicit Rib(DecisionOptions options = {}) : options_(options) {}

  // Adds or replaces `neighbor`'s path for `prefix`. path.neighbor is set to `neighbor`.
  std::vector<RibChange> Update(const net::IpAddress& neighbor, const RibPrefix& prefix, Path path);
  // Removes `neighbor`'s path for `prefix` (no change when it had none).
  std::vector<RibChange> Withdraw(const net::IpAddress& neighbor, const RibPrefix& prefix);
  // Removes every path of `neighbor`: session down, BFD Down. Changes are in prefix order.
  std::vector<RibChange> WithdrawAll(const net::IpAddress& neighbor);

  const LocRibEntry* Lookup(const RibPrefix& prefix) const;
  const absl::btree_map<RibPrefix, LocRibEntry>& loc_rib() const { return loc_rib_; }
  // Adj-RIB-In of `neighbor`: its path for `prefix`, or null.
  const Path* AdjRibIn(const net::IpAddress& neighbor, const RibPrefix& prefix) const;
  size_t AdjRibInSize(const net::IpAddress& neighbor) const;
  // All candidate paths for `prefix`, in neighbor order (for `show bgp routes`).
  std::vector<Path> Candidates(const RibPrefix& prefix) const;

  AttributePool& attribute_pool() { return pool_; }
  const DecisionOptions& options() const { return options_; }

 private:
  // Re-runs the decision for `prefix`; appends a change when the entry changed.
  void Recompute(const RibPrefix& prefix, std::vector<RibChange>& changes);

  DecisionOptions options_;
  AttributePool pool_;
  // Adj-RIB-In, indexed by prefix: one path per neighbor.
  absl::flat_hash_map<RibPrefix, std::vector<Path>> candidates_;
  // Which prefixes each neighbor has in its Adj-RIB-In.
  absl::flat_hash_map<net::IpAddress, absl::flat_hash_set<RibPrefix>> by_neighbor_;
  absl::btree_map<RibPrefix, LocRibEntry> loc_rib_;
};

}  // namespace strobe::bgp

#endif  // STROBE_CONTROLPLANE_BGP_RIB_H_
