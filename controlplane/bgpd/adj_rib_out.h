// One neighbor's Adj-RIB-Out (RFC 4271 §3.2): what was advertised, what changed since, and the
// packing of the changes into as few UPDATE messages as the negotiated maximum length allows
// (prefixes sharing one attribute set travel together; IPv4 in the classic fields, IPv6 and IPv4
// with an IPv6 next hop in MP_REACH/MP_UNREACH_NLRI). Pure logic.
#ifndef STROBE_CONTROLPLANE_BGPD_ADJ_RIB_OUT_H_
#define STROBE_CONTROLPLANE_BGPD_ADJ_RIB_OUT_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "controlplane/bgp/decision.h"
#include "controlplane/bgp/rib.h"
#include "controlplane/bgp/types.h"
#include "controlplane/bgp/update.h"

namespace strobe::bgpd {

// The wire attributes for advertising `attributes` in `family`: NEXT_HOP for IPv4 over an IPv4
// next hop, MP_REACH_NLRI otherwise (its NLRI left empty); AS4_PATH when the session is not
// 4-octet and the path holds a 4-octet AS (RFC 6793 §4.2.2).
bgp::PathAttributes WireAttributes(const bgp::RouteAttributes& attributes, bgp::AfiSafi family,
                                   bool four_octet_as);

// One announcement or withdrawal to pack.
struct OutChange {
  bgp::RibPrefix prefix;
  bgp::AttributesRef attributes;  // null: withdraw
};

// Encodes `changes` into UPDATE messages of at most options.max_length octets: withdrawals first,
// then one or more messages per attribute set (in order of first appearance).
absl::StatusOr<std::vector<std::vector<uint8_t>>> PackUpdates(const std::vector<OutChange>& changes,
                                                              const bgp::EncodeOptions& options);

// The End-of-RIB marker of `family` (RFC 4724 §2).
std::vector<uint8_t> EndOfRib(bgp::AfiSafi family, const bgp::EncodeOptions& options);

class AdjRibOut {
 public:
  // What should be advertised for `prefix` (null: nothing). A change from what was sent is queued.
  void Set(const bgp::RibPrefix& prefix, bgp::AttributesRef attributes);
  bool HasPending() const { return !pending_.empty(); }
  // The queued changes in prefix order, now counted as sent.
  std::vector<OutChange> TakePending();
  // Queues every advertised route of `family` (all when nullopt) again (ROUTE-REFRESH, soft out).
  void ResendAll(std::optional<bgp::AfiSafi> family);
  void Clear();

  size_t advertised() const { return sent_.size(); }
  const bgp::AttributesRef* Find(const bgp::RibPrefix& prefix) const;

 private:
  absl::flat_hash_map<bgp::RibPrefix, bgp::AttributesRef> sent_;
  // prefix -> the state to send (null: withdraw); flagged `force` to send even when unchanged.
  struct Pending {
    bgp::AttributesRef attributes;
    bool force = false;
  };
  absl::flat_hash_map<bgp::RibPrefix, Pending> pending_;
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_ADJ_RIB_OUT_H_
