#include "controlplane/bgp/decision.h"

#include <algorithm>
#include <utility>

namespace strobe::bgp {

size_t AsPathLength(const std::vector<AsPathSegment>& as_path) {
  size_t length = 0;
  for (const AsPathSegment& segment : as_path) {
    if (segment.type == kAsSequence) {
      length += segment.asns.size();
    } else if (segment.type == kAsSet && !segment.asns.empty()) {
      length += 1;
    }
  }
  return length;
}

namespace {

// RFC 6793 §4.2.3 counting: AS_SET counts 1, confederation segments 0 (same as the decision).
std::vector<AsPathSegment> LeadingAses(const std::vector<AsPathSegment>& path, size_t count) {
  std::vector<AsPathSegment> out;
  for (const AsPathSegment& segment : path) {
    if (count == 0) break;
    if (segment.type == kAsConfedSequence || segment.type == kAsConfedSet) {
      out.push_back(segment);
      continue;
    }
    if (segment.type == kAsSet) {
      out.push_back(segment);
      count -= segment.asns.empty() ? 0 : 1;
      continue;
    }
    AsPathSegment part{segment.type, {}};
    for (uint32_t as : segment.asns) {
      if (count == 0) break;
      part.asns.push_back(as);
      --count;
    }
    out.push_back(std::move(part));
  }
  return out;
}

}  // namespace

std::vector<AsPathSegment> EffectiveAsPath(const PathAttributes& attributes, bool four_octet_as) {
  std::vector<AsPathSegment> as_path = attributes.as_path.value_or(std::vector<AsPathSegment>{});
  if (four_octet_as || !attributes.as4_path.has_value()) return as_path;
  const std::vector<AsPathSegment>& as4_path = *attributes.as4_path;
  size_t length = AsPathLength(as_path);
  size_t length4 = AsPathLength(as4_path);
  if (length < length4) return as_path;
  std::vector<AsPathSegment> merged = LeadingAses(as_path, length - length4);
  merged.insert(merged.end(), as4_path.begin(), as4_path.end());
  return merged;
}

RouteAttributes RouteAttributesFromUpdate(const PathAttributes& attributes, NlriField field,
                                          bool four_octet_as, bool ebgp) {
  RouteAttributes out;
  out.origin = attributes.origin.value_or(kOriginIgp);
  out.as_path = EffectiveAsPath(attributes, four_octet_as);
  if (field == NlriField::kIpv4) {
    if (attributes.next_hop.has_value()) {
      out.next_hop = net::IpAddress::FromBytes(attributes.next_hop->data(), 4);
    }
  } else if (attributes.mp_reach.has_value()) {
    const std::vector<uint8_t>& nh = attributes.mp_reach->next_hop;
    if (nh.size() >= 16) {
      out.next_hop = net::IpAddress::FromBytes(nh.data(), 6);
    } else if (nh.size() == 4) {
      out.next_hop = net::IpAddress::FromBytes(nh.data(), 4);
    }
  }
  out.med = attributes.med;
  if (!ebgp) out.local_pref = attributes.local_pref;
  out.atomic_aggregate = attributes.atomic_aggregate;
  out.communities = attributes.communities.value_or(std::vector<uint32_t>{});
  out.large_communities = attributes.large_communities.value_or(std::vector<LargeCommunity>{});
  return out;
}

// ---- AttributePool ----

namespace {

struct DerefHash {
  using is_transparent = void;
  size_t operator()(const RouteAttributes* a) const { return absl::Hash<RouteAttributes>()(*a); }
};
struct DerefEq {
  using is_transparent = void;
  bool operator()(const RouteAttributes* a, const RouteAttributes* b) const { return *a == *b; }
};

}  // namespace

struct AttributePool::State {
  // The raw pointers are owned by the shared_ptrs handed out; the deleter erases the entry.
  absl::flat_hash_map<const RouteAttributes*, std::weak_ptr<const RouteAttributes>, DerefHash,
                      DerefEq>
      entries;
};

AttributePool::AttributePool() : state_(std::make_shared<State>()) {}

AttributesRef AttributePool::Intern(RouteAttributes attributes) {
  auto it = state_->entries.find(&attributes);
  if (it != state_->entries.end()) {
    if (AttributesRef existing = it->second.lock()) return existing;
  }
  auto* raw = new RouteAttributes(std::move(attributes));
  // The deleter keeps the state alive, so references may outlive the pool.
  AttributesRef ref(raw, [state = state_](const RouteAttributes* p) {
    auto found = state->entries.find(p);
    if (found != state->entries.end() && found->first == p) state->entries.erase(found);
    delete p;
  });
  state_->entries.insert_or_assign(raw, ref);
  return ref;
}

size_t AttributePool::size() const { return state_->entries.size(); }

// ---- Decision process ----

std::string_view DecisionStepName(DecisionStep step) {
  switch (step) {
    case DecisionStep::kNone:
      return "none";
    case DecisionStep::kOnlyPath:
      return "only-path";
    case DecisionStep::kLocalPref:
      return "local-pref";
    case DecisionStep::kAsPathLength:
      return "as-path-length";
    case DecisionStep::kOrigin:
      return "origin";
    case DecisionStep::kMed:
      return "med";
    case DecisionStep::kEbgpOverIbgp:
      return "ebgp-over-ibgp";
    case DecisionStep::kRouterId:
      return "router-id";
    case DecisionStep::kNeighborAddress:
      return "neighbor-address";
    case DecisionStep::kEqual:
      return "equal";
  }
  return "unknown";
}

uint32_t EffectiveLocalPref(const Path& path, const DecisionOptions& options) {
  if (path.attributes->local_pref.has_value()) return *path.attributes->local_pref;
  return path.ebgp ? options.default_local_pref : kDefaultLocalPref;
}

uint32_t EffectiveMed(const Path& path) { return path.attributes->med.value_or(0); }

uint32_t MedNeighborAs(const Path& path) {
  for (const AsPathSegment& segment : path.attributes->as_path) {
    if (segment.type == kAsConfedSequence || segment.type == kAsConfedSet) continue;
    if (segment.type == kAsSequence && !segment.asns.empty()) return segment.asns.front();
    break;
  }
  return path.neighbor_as;
}

namespace {

// A rule that ranks paths by a key, lower key preferred.
template <typename Key>
int CompareKeys(const Key& a, const Key& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// Keys in the order of §9.1.2.2 (MED handled separately, it is not a total order).
uint64_t LocalPrefKey(const Path& p, const DecisionOptions& o) {
  return ~uint64_t{EffectiveLocalPref(p, o)};  // Higher preferred.
}
uint64_t AsPathKey(const Path& p) { return AsPathLength(p.attributes->as_path); }
uint64_t OriginKey(const Path& p) { return p.attributes->origin; }
uint64_t TypeKey(const Path& p) { return p.ebgp ? 0 : 1; }
uint64_t RouterIdKey(const Path& p) { return p.router_id; }

// Keeps the indices whose key is minimal; returns whether any was removed.
using Indices = absl::InlinedVector<size_t, 8>;

template <typename KeyFn>
bool KeepMin(Indices& alive, KeyFn key) {
  auto best = key(alive.front());
  for (size_t i : alive) best = std::min(best, key(i));
  size_t before = alive.size();
  alive.erase(std::remove_if(alive.begin(), alive.end(), [&](size_t i) { return best < key(i); }),
              alive.end());
  return alive.size() != before;
}

// Sorts `v` stably by `less`. A decision sees a handful of paths: an insertion sort, which
// std::stable_sort would not do without a temporary buffer from the heap on every call.
template <typename Less>
void StableSortSmall(Indices& v, Less less) {
  if (v.size() > 16) {
    std::stable_sort(v.begin(), v.end(), less);
    return;
  }
  for (size_t i = 1; i < v.size(); ++i) {
    const size_t x = v[i];
    size_t j = i;
    for (; j > 0 && less(x, v[j - 1]); --j) v[j] = v[j - 1];
    v[j] = x;
  }
}

}  // namespace

Comparison ComparePaths(const Path& a, const Path& b, const DecisionOptions& options) {
  if (int c = CompareKeys(LocalPrefKey(a, options), LocalPrefKey(b, options))) {
    return {c, DecisionStep::kLocalPref};
  }
  if (int c = CompareKeys(AsPathKey(a), AsPathKey(b))) return {c, DecisionStep::kAsPathLength};
  if (int c = CompareKeys(OriginKey(a), OriginKey(b))) return {c, DecisionStep::kOrigin};
  if (MedNeighborAs(a) == MedNeighborAs(b)) {
    if (int c = CompareKeys(EffectiveMed(a), EffectiveMed(b))) return {c, DecisionStep::kMed};
  }
  if (int c = CompareKeys(TypeKey(a), TypeKey(b))) return {c, DecisionStep::kEbgpOverIbgp};
  if (int c = CompareKeys(RouterIdKey(a), RouterIdKey(b))) return {c, DecisionStep::kRouterId};
  if (int c = CompareKeys(a.neighbor, b.neighbor)) return {c, DecisionStep::kNeighborAddress};
  return {0, DecisionStep::kEqual};
}

Decision Decide(std::span<const Path> candidates, const DecisionOptions& options) {
  Decision decision;
  if (candidates.empty()) return decision;
  if (candidates.size() == 1) {
    decision.best = 0;
    decision.step = DecisionStep::kOnlyPath;
    decision.multipath = {0};
    return decision;
  }
  // Ordered by neighbor address (stable), which also makes the last rule "keep the front".
  Indices alive(candidates.size());
  for (size_t i = 0; i < alive.size(); ++i) alive[i] = i;
  StableSortSmall(
      alive, [&](size_t x, size_t y) { return candidates[x].neighbor < candidates[y].neighbor; });
  auto at = [&](size_t i) -> const Path& { return candidates[i]; };

  DecisionStep step = DecisionStep::kEqual;
  bool decided = false;
  auto note = [&](DecisionStep s) {
    if (!decided && alive.size() == 1) {
      decided = true;
      step = s;
    }
  };

  KeepMin(alive, [&](size_t i) { return LocalPrefKey(at(i), options); });
  note(DecisionStep::kLocalPref);
  KeepMin(alive, [&](size_t i) { return AsPathKey(at(i)); });
  note(DecisionStep::kAsPathLength);
  KeepMin(alive, [&](size_t i) { return OriginKey(at(i)); });
  note(DecisionStep::kOrigin);
  {
    // §9.1.2.2 c: remove a path when another from the same neighbor AS has a lower MED.
    absl::InlinedVector<std::pair<uint32_t, uint32_t>, 8> as_med;  // per alive path
    for (size_t i : alive) as_med.emplace_back(MedNeighborAs(at(i)), EffectiveMed(at(i)));
    Indices kept;
    for (size_t x = 0; x < alive.size(); ++x) {
      bool beaten = false;
      for (size_t y = 0; y < alive.size() && !beaten; ++y) {
        beaten = as_med[y].first == as_med[x].first && as_med[y].second < as_med[x].second;
      }
      if (!beaten) kept.push_back(alive[x]);
    }
    alive = std::move(kept);
  }
  note(DecisionStep::kMed);
  KeepMin(alive, [&](size_t i) { return TypeKey(at(i)); });
  note(DecisionStep::kEbgpOverIbgp);
  const Indices multipath_candidates = alive;
  KeepMin(alive, [&](size_t i) { return RouterIdKey(at(i)); });
  note(DecisionStep::kRouterId);
  KeepMin(alive, [&](size_t i) { return at(i).neighbor; });
  note(DecisionStep::kNeighborAddress);

  const size_t best = alive.front();
  decision.best = best;
  decision.step = step;

  // ECMP set, in neighbor address order (multipath_candidates is already in that order).
  Indices set = {best};
  if (options.max_paths > 1) {
    const Path& b = at(best);
    for (size_t i : multipath_candidates) {
      if (set.size() >= options.max_paths) break;
      if (i == best) continue;
      const Path& p = at(i);
      if (p.neighbor == b.neighbor) continue;  // One path per neighbor.
      if (!options.multipath_relax &&
          (p.neighbor_as != b.neighbor_as || p.attributes->as_path != b.attributes->as_path)) {
        continue;
      }
      set.push_back(i);
    }
  }
  StableSortSmall(
      set, [&](size_t x, size_t y) { return candidates[x].neighbor < candidates[y].neighbor; });
  decision.multipath = std::move(set);
  return decision;
}

}  // namespace strobe::bgp
