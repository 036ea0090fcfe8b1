// What one neighbor sent us, before the Loc-RIB: every received prefix (also those import policy
// rejected, for `prefixes_received`), its ADD-PATH identifiers (RFC 7911), and the graceful
// restart stale marks (RFC 4724 §4.2). The Loc-RIB (bgp::Rib) holds one path per neighbor and
// prefix: the accepted path with the lowest path identifier. Pure logic.
#ifndef STROBE_CONTROLPLANE_BGPD_ADJ_RIB_IN_H_
#define STROBE_CONTROLPLANE_BGPD_ADJ_RIB_IN_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "controlplane/bgp/decision.h"
#include "controlplane/bgp/rib.h"
#include "controlplane/bgp/types.h"

namespace strobe::bgpd {

class AdjRibIn {
 public:
  // Records path `path_id` of `prefix`; `attributes` null when import policy rejected it. Returns
  // the attributes the Loc-RIB should now hold for this neighbor (null: none).
  bgp::AttributesRef Announce(const bgp::RibPrefix& prefix, uint32_t path_id,
                              bgp::AttributesRef attributes);
  // Removes path `path_id` of `prefix`; returns what the Loc-RIB should now hold.
  bgp::AttributesRef Withdraw(const bgp::RibPrefix& prefix, uint32_t path_id);

  // Graceful restart (the session went down) or an enhanced route refresh (BoRR, RFC 7313): keep
  // the paths of `family` (every family when nullopt), marked stale.
  void MarkStale(std::optional<bgp::AfiSafi> family);
  // Removes the stale paths of `family` (every family when nullopt): End-of-RIB received, or the
  // restart/stale timer expired. Returns the prefixes whose effective path changed, each with what
  // the Loc-RIB should now hold.
  std::vector<std::pair<bgp::RibPrefix, bgp::AttributesRef>> SweepStale(
      std::optional<bgp::AfiSafi> family);

  void Clear();
  size_t received() const { return prefixes_.size(); }
  size_t accepted() const { return accepted_; }
  size_t stale() const { return stale_; }  // stale paths
  size_t paths() const { return paths_; }  // paths (more than prefixes with ADD-PATH)
  // The effective attributes of `prefix` (null when none).
  bgp::AttributesRef Effective(const bgp::RibPrefix& prefix) const;

 private:
  struct PathEntry {
    uint32_t path_id = 0;
    bgp::AttributesRef attributes;  // null: rejected by policy
    bool stale = false;
  };
  using Paths = absl::InlinedVector<PathEntry, 1>;
  static bgp::AttributesRef EffectiveOf(const Paths& paths);
  void Count(const Paths& paths, int sign);

  absl::flat_hash_map<bgp::RibPrefix, Paths> prefixes_;
  size_t accepted_ = 0;  // prefixes with an effective path
  size_t stale_ = 0;     // stale path entries
  size_t paths_ = 0;     // path entries
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_ADJ_RIB_IN_H_
