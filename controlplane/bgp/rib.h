// BGP RIBs (RFC 4271 §3.2) in one table: for every prefix, every path each neighbor sent (its
// Adj-RIB-In, also the paths import policy rejected, with their ADD-PATH identifiers and graceful
// restart stale marks), and which of them the decision process selected (the Loc-RIB: best path
// plus ECMP set). Every write returns the Loc-RIB changes it caused, with the old and new next-hop
// sets, so the FIB writer is told in the same step.
//
// Layout, for a million prefixes: one PrefixTable per family (an arena of nodes indexed by a hash
// set of 4-byte slots) keyed by the prefix packed into integers; a node holds its candidates
// inline when there is one (a 24-byte Candidate: interned attributes, path id, source, flags).
// The Loc-RIB is flags on the candidates, not a copy. Neighbors are "sources", small integers,
// whose session facts (router id, AS, eBGP) the decision reads from a side table.
//
// A neighbor's effective path for a prefix is its accepted path with the lowest ADD-PATH
// identifier: one path per neighbor and prefix takes part in the decision.
//
// Pure logic, not thread-safe.
#ifndef STROBE_CONTROLPLANE_BGP_RIB_H_
#define STROBE_CONTROLPLANE_BGP_RIB_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "controlplane/bgp/decision.h"
#include "controlplane/bgp/prefix_table.h"
#include "controlplane/bgp/types.h"
#include "controlplane/bgp/update.h"
#include "src/net/ip_address.h"

namespace strobe::bgp {

// An IPv4 or IPv6 prefix as the RIB keys it (the codec's Prefix also carries the wire AFI and the
// ADD-PATH id). Bits past `length` are zero (Make() masks them). IPv4 orders before IPv6.
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

// A Loc-RIB entry as read from the RIB: the best path and the ECMP set (which contains the best),
// ordered by neighbor address.
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
// A next-hop set: sorted, without duplicates; inline up to 4 (no allocation for most routes).
using NextHopSet = absl::InlinedVector<net::IpAddress, 4>;

struct RibChange {
  RibPrefix prefix;
  NextHopSet old_next_hops;
  NextHopSet new_next_hops;
  bool FibChanged() const { return old_next_hops != new_next_hops; }
};

// A neighbor as a source of paths.
using SourceId = uint16_t;

// What one source has in the RIB.
struct SourceStats {
  size_t received = 0;  // prefixes with any path (also those import policy rejected)
  size_t accepted = 0;  // prefixes with an effective (accepted) path
  size_t paths = 0;     // path entries (more than prefixes with ADD-PATH)
  size_t stale = 0;     // path entries kept stale for a graceful restart
};

class Rib {
 public:
  explicit Rib(DecisionOptions options = {}) : options_(options) {}
  Rib(const Rib&) = delete;
  Rib& operator=(const Rib&) = delete;

  // ---- sources ----

  // The source of `neighbor`'s paths, created on first use; a new one needs HasFreeSource().
  SourceId AddSource(const net::IpAddress& neighbor);
  // Fewer than 65,536 sources exist (a removed source's id is reused).
  bool HasFreeSource() const { return source_ids_.size() < 65536; }
  // The session facts the decision process uses (RFC 4271 §9.1.2.2 d-f); set when the session is
  // established. Paths kept stale across a restart take the new session's facts.
  void SetSourceSession(SourceId source, uint32_t router_id, uint32_t neighbor_as, bool ebgp);
  // The source goes (its neighbor was deleted); its paths, if any remain, are withdrawn.
  std::vector<RibChange> RemoveSource(SourceId source);
  const SourceStats& stats(SourceId source) const { return sources_[source].stats; }
  // The next hops of the source's effective paths, each with its number of prefixes (what dies
  // with the session: the FIB's prefix-independent failover).
  const absl::flat_hash_map<net::IpAddress, uint32_t>& next_hops(SourceId source) const {
    return sources_[source].next_hops;
  }

  // ---- Adj-RIB-In writes; each appends the Loc-RIB changes it caused ----

  // Records path `path_id` of `prefix` from `source`; `attributes` null when import policy
  // rejected it (kept, counted as received, never selected). Replaces a path with the same id
  // (clearing its stale mark).
  void Announce(SourceId source, const RibPrefix& prefix, uint32_t path_id,
                AttributesRef attributes, std::vector<RibChange>* changes);
  // Removes path `path_id` of `prefix` from `source` (nothing when it has none).
  void Withdraw(SourceId source, const RibPrefix& prefix, uint32_t path_id,
                std::vector<RibChange>* changes);
  // Removes every path of `source`: session down, BFD Down. Changes are in prefix order. Walks
  // the table (a flush, as BIRD does it); a source without paths costs nothing.
  void Clear(SourceId source, std::vector<RibChange>* changes);
  // Graceful restart (the session went down) or an enhanced route refresh (BoRR, RFC 7313): keep
  // the paths of `family` (every family when nullopt), marked stale. The Loc-RIB is unchanged.
  void MarkStale(SourceId source, std::optional<AfiSafi> family);
  // Removes the stale paths of `family` (every family when nullopt): End-of-RIB received, or the
  // restart/stale timer expired. Changes are in prefix order. Returns the number of prefixes whose
  // effective path changed.
  size_t SweepStale(SourceId source, std::optional<AfiSafi> family,
                    std::vector<RibChange>* changes);

  // Starts loading the memory a write or lookup of `prefix` will read. Writes of a batch of
  // prefixes (one UPDATE) go faster when each prefetches the prefix kPrefetchAhead places on.
  void Prefetch(const RibPrefix& prefix) const;
  static constexpr size_t kPrefetchAhead = 8;

  // ---- reads ----

  // The Loc-RIB entry of `prefix`, or nullopt when no path is selected.
  std::optional<LocRibEntry> Lookup(const RibPrefix& prefix) const;
  // Only the best path (the export hot path).
  std::optional<Path> Best(const RibPrefix& prefix) const;
  // Every Loc-RIB entry, in prefix order.
  void ForEachRoute(absl::FunctionRef<void(const RibPrefix&, const LocRibEntry&)> visit) const;
  // Number of Loc-RIB entries.
  size_t size() const { return routes_; }
  // Announcements refused because a family's table was full (PrefixTable::kMaxEntries).
  uint64_t refused_full() const { return refused_full_; }
  // The effective path of every source for `prefix`, in neighbor address order (for `show bgp
  // routes`).
  std::vector<Path> Candidates(const RibPrefix& prefix) const;
  // `source`'s effective path for `prefix`, or nullopt.
  std::optional<Path> EffectivePath(SourceId source, const RibPrefix& prefix) const;

  AttributePool& attribute_pool() { return pool_; }
  const DecisionOptions& options() const { return options_; }

  // ---- one-neighbor-per-call convenience (tests, and callers without ADD-PATH) ----

  // Adds or replaces `neighbor`'s path (path id 0); the source takes path's session facts.
  std::vector<RibChange> Update(const net::IpAddress& neighbor, const RibPrefix& prefix, Path path);
  std::vector<RibChange> Withdraw(const net::IpAddress& neighbor, const RibPrefix& prefix);
  std::vector<RibChange> WithdrawAll(const net::IpAddress& neighbor);

 private:
  struct Candidate {
    AttributesRef attributes;  // null: received, rejected by import policy
    uint32_t path_id = 0;
    SourceId source = 0;
    uint8_t flags = 0;  // kStale | kBest | kMultipath
  };
  struct Node {
    absl::InlinedVector<Candidate, 1> candidates;  // by (source, path_id)
    DecisionStep reason = DecisionStep::kNone;
  };
  // A selected candidate before a change, to compare with after it.
  // Raw: a write keeps the attributes it replaces or removes alive until it has compared.
  struct Selected {
    const RouteAttributes* attributes;
    SourceId source;
    uint8_t flags;
    bool operator==(const Selected& o) const {
      return source == o.source && flags == o.flags &&
             (attributes == o.attributes || *attributes == *o.attributes);
    }
  };
  using Snapshot = absl::InlinedVector<Selected, 4>;
  struct Source {
    net::IpAddress neighbor;
    uint32_t router_id = 0;
    uint32_t neighbor_as = 0;
    bool ebgp = false;
    bool in_use = false;
    SourceStats stats;
    absl::flat_hash_map<net::IpAddress, uint32_t> next_hops;
  };
  // IPv6 key: the address as two big-endian halves, then the length.
  struct V6Key {
    uint64_t hi = 0;
    uint64_t lo = 0;
    uint8_t length = 0;
    friend auto operator<=>(const V6Key&, const V6Key&) = default;
    friend bool operator==(const V6Key&, const V6Key&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const V6Key& k) {
      return H::combine(std::move(h), k.hi, k.lo, k.length);
    }
  };
  using V4Table = PrefixTable<uint64_t, Node>;  // address << 6 | length
  using V6Table = PrefixTable<V6Key, Node>;

  static uint64_t V4KeyOf(const RibPrefix& prefix);
  static V6Key V6KeyOf(const RibPrefix& prefix);
  static RibPrefix PrefixOf(uint64_t key);
  static RibPrefix PrefixOf(const V6Key& key);

  template <typename Table>
  void AnnounceIn(Table& table, typename Table::key_type key, const RibPrefix& prefix,
                  SourceId source, uint32_t path_id, AttributesRef attributes,
                  std::vector<RibChange>* changes);
  template <typename Table>
  void WithdrawIn(Table& table, typename Table::key_type key, const RibPrefix& prefix,
                  SourceId source, uint32_t path_id, std::vector<RibChange>* changes);
  // Removes `source`'s candidates matching `pick` from every node of `table`; returns the number
  // of prefixes whose effective path of the source changed.
  template <typename Table, typename Pick>
  size_t RemoveWhere(Table& table, SourceId source, Pick pick, std::vector<RibChange>* changes);
  template <typename Table>
  void MarkStaleIn(Table& table, SourceId source);
  const Node* Find(const RibPrefix& prefix) const;

  Snapshot Selection(const Node& node) const;
  // The source's effective candidate in `node`: its first accepted one.
  static const Candidate* EffectiveOf(const Node& node, SourceId source);
  // Book-keeping of the source's effective path moving from `before` to `after`.
  void Account(SourceId source, const RouteAttributes* before, const RouteAttributes* after);
  // Re-runs the decision on `node` and appends a change when its selection differs from `before`.
  void Select(const RibPrefix& prefix, Node& node, const Snapshot& before,
              std::vector<RibChange>* changes);
  Path PathOf(const Candidate& c) const;
  LocRibEntry EntryOf(const Node& node) const;
  static NextHopSet NextHopsOf(const Snapshot& selection);

  DecisionOptions options_;
  AttributePool pool_;
  V4Table v4_;
  V6Table v6_;
  size_t routes_ = 0;  // nodes with a selected path
  uint64_t refused_full_ = 0;
  std::vector<Source> sources_;
  absl::flat_hash_map<net::IpAddress, SourceId> source_ids_;
};

}  // namespace strobe::bgp

#endif  // STROBE_CONTROLPLANE_BGP_RIB_H_
