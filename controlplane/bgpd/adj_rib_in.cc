#include "controlplane/bgpd/adj_rib_in.h"

#include <algorithm>

namespace strobe::bgpd {

bgp::AttributesRef AdjRibIn::EffectiveOf(const Paths& paths) {
  for (const PathEntry& p : paths) {  // sorted by path id
    if (p.attributes != nullptr) return p.attributes;
  }
  return nullptr;
}

void AdjRibIn::Count(const Paths& paths, int sign) {
  if (EffectiveOf(paths) != nullptr) accepted_ += sign;
  paths_ += sign * static_cast<int>(paths.size());
  for (const PathEntry& p : paths) {
    if (p.stale) stale_ += sign;
  }
}

bgp::AttributesRef AdjRibIn::Announce(const bgp::RibPrefix& prefix, uint32_t path_id,
                                      bgp::AttributesRef attributes) {
  Paths& paths = prefixes_[prefix];
  Count(paths, -1);
  auto it = std::lower_bound(paths.begin(), paths.end(), path_id,
                             [](const PathEntry& e, uint32_t id) { return e.path_id < id; });
  if (it != paths.end() && it->path_id == path_id) {
    it->attributes = std::move(attributes);
    it->stale = false;
  } else {
    paths.insert(it, PathEntry{path_id, std::move(attributes), false});
  }
  Count(paths, +1);
  return EffectiveOf(paths);
}

bgp::AttributesRef AdjRibIn::Withdraw(const bgp::RibPrefix& prefix, uint32_t path_id) {
  auto found = prefixes_.find(prefix);
  if (found == prefixes_.end()) return nullptr;
  Paths& paths = found->second;
  Count(paths, -1);
  auto it = std::find_if(paths.begin(), paths.end(),
                         [&](const PathEntry& e) { return e.path_id == path_id; });
  if (it != paths.end()) paths.erase(it);
  if (paths.empty()) {
    prefixes_.erase(found);
    return nullptr;
  }
  Count(paths, +1);
  return EffectiveOf(paths);
}

void AdjRibIn::MarkStale(std::optional<bgp::AfiSafi> family) {
  for (auto& [prefix, paths] : prefixes_) {
    if (family && (family->afi == bgp::kAfiIpv4) != prefix.address.is_v4()) continue;
    for (PathEntry& p : paths) {
      if (!p.stale) ++stale_;
      p.stale = true;
    }
  }
}

std::vector<std::pair<bgp::RibPrefix, bgp::AttributesRef>> AdjRibIn::SweepStale(
    std::optional<bgp::AfiSafi> family) {
  std::vector<std::pair<bgp::RibPrefix, bgp::AttributesRef>> changed;
  if (stale_ == 0) return changed;
  for (auto it = prefixes_.begin(); it != prefixes_.end();) {
    const bgp::RibPrefix& prefix = it->first;
    const bool v4 = prefix.address.is_v4();
    if (family && (family->afi == bgp::kAfiIpv4) != v4) {
      ++it;
      continue;
    }
    Paths& paths = it->second;
    const bgp::AttributesRef before = EffectiveOf(paths);
    Count(paths, -1);
    paths.erase(
        std::remove_if(paths.begin(), paths.end(), [](const PathEntry& e) { return e.stale; }),
        paths.end());
    Count(paths, +1);
    const bgp::AttributesRef after = EffectiveOf(paths);
    if (before != after) changed.emplace_back(prefix, after);
    if (paths.empty()) {
      prefixes_.erase(it++);
    } else {
      ++it;
    }
  }
  std::sort(changed.begin(), changed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return changed;
}

void AdjRibIn::Clear() {
  prefixes_.clear();
  accepted_ = 0;
  stale_ = 0;
  paths_ = 0;
}

bgp::AttributesRef AdjRibIn::Effective(const bgp::RibPrefix& prefix) const {
  auto it = prefixes_.find(prefix);
  return it == prefixes_.end() ? nullptr : EffectiveOf(it->second);
}

}  // namespace strobe::bgpd
