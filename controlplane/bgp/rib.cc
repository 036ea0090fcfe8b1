#include "controlplane/bgp/rib.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace strobe::bgp {

// ---- RibPrefix ----

std::optional<RibPrefix> RibPrefix::Make(const net::IpAddress& address, int length) {
  int width = address.is_v4() ? 32 : (address.is_v6() ? 128 : -1);
  if (length < 0 || length > width) return std::nullopt;
  std::array<uint8_t, 16> bytes = address.bytes();
  for (int bit = length; bit < width; ++bit) bytes[bit / 8] &= ~(0x80 >> (bit % 8));
  RibPrefix prefix;
  prefix.address = net::IpAddress::FromBytes(bytes.data(), address.is_v4() ? 4 : 6);
  prefix.length = static_cast<uint8_t>(length);
  return prefix;
}

absl::StatusOr<RibPrefix> RibPrefix::Parse(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("prefix without length: ", std::string(text)));
  }
  absl::StatusOr<net::IpAddress> address = net::IpAddress::Parse(text.substr(0, slash));
  if (!address.ok()) return address.status();
  int length = 0;
  if (!absl::SimpleAtoi(std::string(text.substr(slash + 1)), &length)) {
    return absl::InvalidArgumentError(absl::StrCat("bad prefix length: ", std::string(text)));
  }
  std::optional<RibPrefix> prefix = Make(*address, length);
  if (!prefix) {
    return absl::InvalidArgumentError(
        absl::StrCat("prefix length out of range: ", std::string(text)));
  }
  return *prefix;
}

std::optional<RibPrefix> RibPrefix::FromWire(const Prefix& prefix) {
  if (prefix.afi != kAfiIpv4 && prefix.afi != kAfiIpv6) return std::nullopt;
  net::IpAddress address =
      net::IpAddress::FromBytes(prefix.address.data(), prefix.afi == kAfiIpv4 ? 4 : 6);
  return Make(address, prefix.length);
}

std::string RibPrefix::ToString() const {
  return absl::StrCat(address.ToString(), "/", static_cast<int>(length));
}

// ---- LocRibEntry ----

std::vector<net::IpAddress> LocRibEntry::NextHops() const {
  std::vector<net::IpAddress> hops;
  hops.reserve(multipath.size());
  for (const Path& p : multipath) hops.push_back(p.next_hop());
  std::sort(hops.begin(), hops.end());
  hops.erase(std::unique(hops.begin(), hops.end()), hops.end());
  return hops;
}

namespace {

constexpr uint8_t kStale = 1;
constexpr uint8_t kBest = 2;
constexpr uint8_t kMultipath = 4;
constexpr uint8_t kSelectedFlags = kBest | kMultipath;

uint64_t LoadBe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

void StoreBe64(uint64_t v, uint8_t* p) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

bool InFamily(bool v4, std::optional<AfiSafi> family) {
  return !family || (family->afi == kAfiIpv4) == v4;
}

}  // namespace

// ---- keys ----

uint64_t Rib::V4KeyOf(const RibPrefix& prefix) {
  const uint8_t* b = prefix.address.bytes().data();
  const uint32_t a = uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
  return uint64_t{a} << 6 | prefix.length;  // 38 bits: PrefixTable keeps it in its index
}

Rib::V6Key Rib::V6KeyOf(const RibPrefix& prefix) {
  const uint8_t* b = prefix.address.bytes().data();
  return {LoadBe64(b), LoadBe64(b + 8), prefix.length};
}

RibPrefix Rib::PrefixOf(uint64_t key) {
  const uint32_t a = static_cast<uint32_t>(key >> 6);
  const uint8_t bytes[4] = {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
                            static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
  return {net::IpAddress::FromBytes(bytes, 4), static_cast<uint8_t>(key & 0x3f)};
}

RibPrefix Rib::PrefixOf(const V6Key& key) {
  uint8_t bytes[16];
  StoreBe64(key.hi, bytes);
  StoreBe64(key.lo, bytes + 8);
  return {net::IpAddress::FromBytes(bytes, 6), key.length};
}

void Rib::Prefetch(const RibPrefix& prefix) const {
  if (prefix.address.is_v4()) {
    v4_.Prefetch(V4KeyOf(prefix));
  } else if (prefix.address.is_v6()) {
    v6_.Prefetch(V6KeyOf(prefix));
  }
}

// ---- sources ----

SourceId Rib::AddSource(const net::IpAddress& neighbor) {
  if (auto it = source_ids_.find(neighbor); it != source_ids_.end()) return it->second;
  size_t id = 0;
  while (id < sources_.size() && sources_[id].in_use) ++id;
  if (id == sources_.size()) sources_.emplace_back();
  Source& s = sources_[id];
  s = Source{};
  s.neighbor = neighbor;
  s.in_use = true;
  source_ids_[neighbor] = static_cast<SourceId>(id);
  return static_cast<SourceId>(id);
}

void Rib::SetSourceSession(SourceId source, uint32_t router_id, uint32_t neighbor_as, bool ebgp) {
  Source& s = sources_[source];
  s.router_id = router_id;
  s.neighbor_as = neighbor_as;
  s.ebgp = ebgp;
}

std::vector<RibChange> Rib::RemoveSource(SourceId source) {
  std::vector<RibChange> changes;
  Clear(source, &changes);
  source_ids_.erase(sources_[source].neighbor);
  sources_[source] = Source{};
  return changes;
}

// ---- selection ----

const Rib::Candidate* Rib::EffectiveOf(const Node& node, SourceId source) {
  for (const Candidate& c : node.candidates) {
    if (c.source == source && c.attributes != nullptr) return &c;
    if (c.source > source) break;
  }
  return nullptr;
}

Rib::Snapshot Rib::Selection(const Node& node) const {
  Snapshot s;
  for (const Candidate& c : node.candidates) {
    if (c.flags & kSelectedFlags) {
      s.push_back({c.attributes.get(), c.source, static_cast<uint8_t>(c.flags & kSelectedFlags)});
    }
  }
  return s;
}

void Rib::Account(SourceId source, const RouteAttributes* before, const RouteAttributes* after) {
  if (before == after) return;
  Source& s = sources_[source];
  if (before != nullptr) {
    --s.stats.accepted;
    auto it = s.next_hops.find(before->next_hop);
    if (it != s.next_hops.end() && --it->second == 0) s.next_hops.erase(it);
  }
  if (after != nullptr) {
    ++s.stats.accepted;
    ++s.next_hops[after->next_hop];
  }
}

Path Rib::PathOf(const Candidate& c) const {
  const Source& s = sources_[c.source];
  return Path{s.neighbor, s.router_id, s.neighbor_as, s.ebgp, c.attributes};
}

NextHopSet Rib::NextHopsOf(const Snapshot& selection) {
  NextHopSet hops;
  for (const Selected& s : selection) {
    if (s.flags & kMultipath) hops.push_back(s.attributes->next_hop);
  }
  if (hops.size() > 1) {
    std::sort(hops.begin(), hops.end());
    hops.erase(std::unique(hops.begin(), hops.end()), hops.end());
  }
  return hops;
}

void Rib::Select(const RibPrefix& prefix, Node& node, const Snapshot& before,
                 std::vector<RibChange>* changes) {
  // The effective candidates: each source's first accepted path.
  absl::InlinedVector<Candidate*, 4> effective;
  for (Candidate& c : node.candidates) {
    c.flags &= ~kSelectedFlags;
    if (c.attributes != nullptr && (effective.empty() || effective.back()->source != c.source)) {
      effective.push_back(&c);
    }
  }
  if (effective.empty()) {
    node.reason = DecisionStep::kNone;
  } else if (effective.size() == 1) {
    effective[0]->flags |= kSelectedFlags;
    node.reason = DecisionStep::kOnlyPath;
  } else {
    // The attributes move into the Paths and back (no reference count traffic); nothing reads
    // the candidates meanwhile.
    absl::InlinedVector<Path, 4> paths;
    for (Candidate* c : effective) {
      const Source& src = sources_[c->source];
      paths.push_back(
          Path{src.neighbor, src.router_id, src.neighbor_as, src.ebgp, std::move(c->attributes)});
    }
    const Decision decision = Decide(paths, options_);
    for (size_t i = 0; i < effective.size(); ++i) {
      effective[i]->attributes = std::move(paths[i].attributes);
    }
    effective[*decision.best]->flags |= kBest;
    for (size_t i : decision.multipath) effective[i]->flags |= kMultipath;
    node.reason = decision.step;
  }
  Snapshot after = Selection(node);
  if (after == before) return;
  if (before.empty()) ++routes_;
  if (after.empty()) --routes_;
  changes->push_back({prefix, NextHopsOf(before), NextHopsOf(after)});
}

// ---- writes ----

template <typename Table>
void Rib::AnnounceIn(Table& table, typename Table::key_type key, const RibPrefix& prefix,
                     SourceId source, uint32_t path_id, AttributesRef attributes,
                     std::vector<RibChange>* changes) {
  auto* entry = table.FindOrInsert(key);
  if (entry == nullptr) {  // 67 million prefixes of one family: refused, not crashed
    ++refused_full_;
    return;
  }
  Node& node = entry->value;
  auto& cands = node.candidates;
  Source& s = sources_[source];
  if (cands.empty()) {
    // A new prefix (a table arriving): the only path, selected when accepted.
    ++s.stats.received;
    ++s.stats.paths;
    const RouteAttributes* accepted = attributes.get();
    cands.push_back(Candidate{std::move(attributes), path_id, source, 0});
    if (accepted != nullptr) {
      Account(source, nullptr, accepted);
      cands[0].flags = kSelectedFlags;
      node.reason = DecisionStep::kOnlyPath;
      ++routes_;
      changes->push_back({prefix, {}, {accepted->next_hop}});
    }
    return;
  }
  const Snapshot before = Selection(node);
  const Candidate* old_effective = EffectiveOf(node, source);
  const RouteAttributes* old_attributes = old_effective ? old_effective->attributes.get() : nullptr;
  AttributesRef replaced;  // alive until `before` has been compared
  auto it =
      std::lower_bound(cands.begin(), cands.end(), std::make_pair(source, path_id),
                       [](const Candidate& c, const std::pair<SourceId, uint32_t>& k) {
                         return c.source != k.first ? c.source < k.first : c.path_id < k.second;
                       });
  if (it != cands.end() && it->source == source && it->path_id == path_id) {
    if (it->flags & kStale) --s.stats.stale;
    it->flags &= ~kStale;
    replaced = std::exchange(it->attributes, std::move(attributes));
  } else {
    const bool first_of_source = (it == cands.end() || it->source != source) &&
                                 (it == cands.begin() || std::prev(it)->source != source);
    if (first_of_source) ++s.stats.received;
    ++s.stats.paths;
    cands.insert(it, Candidate{std::move(attributes), path_id, source, 0});
  }
  const Candidate* new_effective = EffectiveOf(node, source);
  Account(source, old_attributes, new_effective ? new_effective->attributes.get() : nullptr);
  Select(prefix, node, before, changes);
}

template <typename Table>
void Rib::WithdrawIn(Table& table, typename Table::key_type key, const RibPrefix& prefix,
                     SourceId source, uint32_t path_id, std::vector<RibChange>* changes) {
  auto* found = table.Find(key);
  if (found == nullptr) return;
  Node& node = found->value;
  auto& cands = node.candidates;
  auto it = std::find_if(cands.begin(), cands.end(), [&](const Candidate& c) {
    return c.source == source && c.path_id == path_id;
  });
  if (it == cands.end()) return;
  const Snapshot before = Selection(node);
  const Candidate* old_effective = EffectiveOf(node, source);
  const AttributesRef old_attributes = old_effective ? old_effective->attributes : nullptr;
  Source& s = sources_[source];
  --s.stats.paths;
  if (it->flags & kStale) --s.stats.stale;
  const AttributesRef removed = std::move(it->attributes);  // alive until `before` is compared
  cands.erase(it);
  const Candidate* new_effective = EffectiveOf(node, source);
  if (std::none_of(cands.begin(), cands.end(),
                   [&](const Candidate& c) { return c.source == source; })) {
    --s.stats.received;
  }
  Account(source, old_attributes.get(), new_effective ? new_effective->attributes.get() : nullptr);
  Select(prefix, node, before, changes);
  if (cands.empty()) table.Erase(*found);
}

template <typename Table, typename Pick>
size_t Rib::RemoveWhere(Table& table, SourceId source, Pick pick, std::vector<RibChange>* changes) {
  size_t changed = 0;
  Source& s = sources_[source];
  // In key order, so that the changes go out in prefix order.
  for (typename Table::Entry* e : table.Sorted()) {
    typename Table::Entry& entry = *e;
    Node& node = entry.value;
    auto& cands = node.candidates;
    bool hit = false;
    for (const Candidate& c : cands) hit = hit || (c.source == source && pick(c));
    if (!hit) continue;
    const Snapshot before = Selection(node);
    const Candidate* old_effective = EffectiveOf(node, source);
    const AttributesRef old_attributes = old_effective ? old_effective->attributes : nullptr;
    absl::InlinedVector<AttributesRef, 2> removed;  // alive until `before` is compared
    for (Candidate& c : cands) {
      if (c.source != source || !pick(c)) continue;
      --s.stats.paths;
      if (c.flags & kStale) --s.stats.stale;
      removed.push_back(c.attributes);
    }
    cands.erase(std::remove_if(cands.begin(), cands.end(),
                               [&](const Candidate& c) { return c.source == source && pick(c); }),
                cands.end());
    if (std::none_of(cands.begin(), cands.end(),
                     [&](const Candidate& c) { return c.source == source; })) {
      --s.stats.received;
    }
    const Candidate* new_effective = EffectiveOf(node, source);
    const RouteAttributes* new_attributes =
        new_effective ? new_effective->attributes.get() : nullptr;
    if (old_attributes.get() != new_attributes) ++changed;
    Account(source, old_attributes.get(), new_attributes);
    Select(PrefixOf(entry.key), node, before, changes);
    if (cands.empty()) table.Erase(entry);
  }
  return changed;
}

template <typename Table>
void Rib::MarkStaleIn(Table& table, SourceId source) {
  Source& s = sources_[source];
  table.ForEach([&](typename Table::Entry& entry) {
    for (Candidate& c : entry.value.candidates) {
      if (c.source != source || (c.flags & kStale)) continue;
      c.flags |= kStale;
      ++s.stats.stale;
    }
  });
}

void Rib::Announce(SourceId source, const RibPrefix& prefix, uint32_t path_id,
                   AttributesRef attributes, std::vector<RibChange>* changes) {
  if (prefix.address.is_v4()) {
    AnnounceIn(v4_, V4KeyOf(prefix), prefix, source, path_id, std::move(attributes), changes);
  } else {
    AnnounceIn(v6_, V6KeyOf(prefix), prefix, source, path_id, std::move(attributes), changes);
  }
}

void Rib::Withdraw(SourceId source, const RibPrefix& prefix, uint32_t path_id,
                   std::vector<RibChange>* changes) {
  if (prefix.address.is_v4()) {
    WithdrawIn(v4_, V4KeyOf(prefix), prefix, source, path_id, changes);
  } else {
    WithdrawIn(v6_, V6KeyOf(prefix), prefix, source, path_id, changes);
  }
}

void Rib::Clear(SourceId source, std::vector<RibChange>* changes) {
  if (sources_[source].stats.paths == 0) return;
  auto all = [](const Candidate&) { return true; };
  RemoveWhere(v4_, source, all, changes);
  RemoveWhere(v6_, source, all, changes);
}

void Rib::MarkStale(SourceId source, std::optional<AfiSafi> family) {
  if (sources_[source].stats.paths == sources_[source].stats.stale) return;
  if (InFamily(true, family)) MarkStaleIn(v4_, source);
  if (InFamily(false, family)) MarkStaleIn(v6_, source);
}

size_t Rib::SweepStale(SourceId source, std::optional<AfiSafi> family,
                       std::vector<RibChange>* changes) {
  if (sources_[source].stats.stale == 0) return 0;
  auto stale = [](const Candidate& c) { return (c.flags & kStale) != 0; };
  size_t changed = 0;
  if (InFamily(true, family)) changed += RemoveWhere(v4_, source, stale, changes);
  if (InFamily(false, family)) changed += RemoveWhere(v6_, source, stale, changes);
  return changed;
}

// ---- reads ----

const Rib::Node* Rib::Find(const RibPrefix& prefix) const {
  if (prefix.address.is_v4()) {
    const auto* e = v4_.Find(V4KeyOf(prefix));
    return e == nullptr ? nullptr : &e->value;
  }
  if (!prefix.address.is_v6()) return nullptr;
  const auto* e = v6_.Find(V6KeyOf(prefix));
  return e == nullptr ? nullptr : &e->value;
}

LocRibEntry Rib::EntryOf(const Node& node) const {
  LocRibEntry entry;
  entry.reason = node.reason;
  absl::InlinedVector<const Candidate*, 4> set;
  for (const Candidate& c : node.candidates) {
    if (c.flags & kBest) entry.best = PathOf(c);
    if (c.flags & kMultipath) set.push_back(&c);
  }
  entry.multipath.reserve(set.size());
  for (const Candidate* c : set) entry.multipath.push_back(PathOf(*c));
  std::sort(entry.multipath.begin(), entry.multipath.end(),
            [](const Path& a, const Path& b) { return a.neighbor < b.neighbor; });
  return entry;
}

std::optional<LocRibEntry> Rib::Lookup(const RibPrefix& prefix) const {
  const Node* node = Find(prefix);
  if (node == nullptr || node->reason == DecisionStep::kNone) return std::nullopt;
  return EntryOf(*node);
}

std::optional<Path> Rib::Best(const RibPrefix& prefix) const {
  const Node* node = Find(prefix);
  if (node == nullptr) return std::nullopt;
  for (const Candidate& c : node->candidates) {
    if (c.flags & kBest) return PathOf(c);
  }
  return std::nullopt;
}

void Rib::ForEachRoute(absl::FunctionRef<void(const RibPrefix&, const LocRibEntry&)> visit) const {
  for (const auto* e : v4_.Sorted()) {
    if (e->value.reason != DecisionStep::kNone) visit(PrefixOf(e->key), EntryOf(e->value));
  }
  for (const auto* e : v6_.Sorted()) {
    if (e->value.reason != DecisionStep::kNone) visit(PrefixOf(e->key), EntryOf(e->value));
  }
}

std::vector<Path> Rib::Candidates(const RibPrefix& prefix) const {
  std::vector<Path> out;
  const Node* node = Find(prefix);
  if (node == nullptr) return out;
  for (const Candidate& c : node->candidates) {
    if (c.attributes != nullptr && EffectiveOf(*node, c.source) == &c) {
      out.push_back(PathOf(c));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Path& a, const Path& b) { return a.neighbor < b.neighbor; });
  return out;
}

std::optional<Path> Rib::EffectivePath(SourceId source, const RibPrefix& prefix) const {
  const Node* node = Find(prefix);
  if (node == nullptr) return std::nullopt;
  const Candidate* c = EffectiveOf(*node, source);
  return c == nullptr ? std::nullopt : std::optional<Path>(PathOf(*c));
}

// ---- convenience ----

std::vector<RibChange> Rib::Update(const net::IpAddress& neighbor, const RibPrefix& prefix,
                                   Path path) {
  const SourceId source = AddSource(neighbor);
  SetSourceSession(source, path.router_id, path.neighbor_as, path.ebgp);
  std::vector<RibChange> changes;
  Announce(source, prefix, 0, std::move(path.attributes), &changes);
  return changes;
}

std::vector<RibChange> Rib::Withdraw(const net::IpAddress& neighbor, const RibPrefix& prefix) {
  std::vector<RibChange> changes;
  if (auto it = source_ids_.find(neighbor); it != source_ids_.end()) {
    Withdraw(it->second, prefix, 0, &changes);
  }
  return changes;
}

std::vector<RibChange> Rib::WithdrawAll(const net::IpAddress& neighbor) {
  std::vector<RibChange> changes;
  if (auto it = source_ids_.find(neighbor); it != source_ids_.end()) Clear(it->second, &changes);
  return changes;
}

}  // namespace strobe::bgp
