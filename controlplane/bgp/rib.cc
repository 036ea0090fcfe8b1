#include "controlplane/bgp/rib.h"

#include <algorithm>
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

bool SamePath(const Path& a, const Path& b) {
  return a.neighbor == b.neighbor && a.router_id == b.router_id && a.neighbor_as == b.neighbor_as &&
         a.ebgp == b.ebgp &&
         (a.attributes == b.attributes ||
          (a.attributes && b.attributes && *a.attributes == *b.attributes));
}

bool SameEntry(const LocRibEntry& a, const LocRibEntry& b) {
  // The reason alone is not a change: it only explains the choice.
  if (!SamePath(a.best, b.best) || a.multipath.size() != b.multipath.size()) {
    return false;
  }
  for (size_t i = 0; i < a.multipath.size(); ++i) {
    if (!SamePath(a.multipath[i], b.multipath[i])) return false;
  }
  return true;
}

}  // namespace

// ---- Rib ----

void Rib::Recompute(const RibPrefix& prefix, std::vector<RibChange>& changes) {
  std::optional<LocRibEntry> next;
  auto cand = candidates_.find(prefix);
  if (cand != candidates_.end() && !cand->second.empty()) {
    Decision decision = Decide(cand->second, options_);
    LocRibEntry entry;
    entry.best = cand->second[*decision.best];
    entry.reason = decision.step;
    for (size_t i : decision.multipath) entry.multipath.push_back(cand->second[i]);
    next = std::move(entry);
  }
  auto current = loc_rib_.find(prefix);
  if (current == loc_rib_.end()) {
    if (!next) return;
    changes.push_back({prefix, {}, next->NextHops()});
    loc_rib_.emplace(prefix, *std::move(next));
    return;
  }
  if (!next) {
    changes.push_back({prefix, current->second.NextHops(), {}});
    loc_rib_.erase(current);
    return;
  }
  if (SameEntry(current->second, *next)) {
    current->second.reason = next->reason;
    return;
  }
  changes.push_back({prefix, current->second.NextHops(), next->NextHops()});
  current->second = *std::move(next);
}

std::vector<RibChange> Rib::Update(const net::IpAddress& neighbor, const RibPrefix& prefix,
                                   Path path) {
  path.neighbor = neighbor;
  std::vector<Path>& paths = candidates_[prefix];
  auto it = std::lower_bound(paths.begin(), paths.end(), neighbor,
                             [](const Path& p, const net::IpAddress& n) { return p.neighbor < n; });
  if (it != paths.end() && it->neighbor == neighbor) {
    *it = std::move(path);
  } else {
    paths.insert(it, std::move(path));
    by_neighbor_[neighbor].insert(prefix);
  }
  std::vector<RibChange> changes;
  Recompute(prefix, changes);
  return changes;
}

std::vector<RibChange> Rib::Withdraw(const net::IpAddress& neighbor, const RibPrefix& prefix) {
  std::vector<RibChange> changes;
  auto cand = candidates_.find(prefix);
  if (cand == candidates_.end()) return changes;
  std::vector<Path>& paths = cand->second;
  auto it = std::find_if(paths.begin(), paths.end(),
                         [&](const Path& p) { return p.neighbor == neighbor; });
  if (it == paths.end()) return changes;
  paths.erase(it);
  if (paths.empty()) candidates_.erase(cand);
  auto owned = by_neighbor_.find(neighbor);
  if (owned != by_neighbor_.end()) {
    owned->second.erase(prefix);
    if (owned->second.empty()) by_neighbor_.erase(owned);
  }
  Recompute(prefix, changes);
  return changes;
}

std::vector<RibChange> Rib::WithdrawAll(const net::IpAddress& neighbor) {
  std::vector<RibChange> changes;
  auto owned = by_neighbor_.find(neighbor);
  if (owned == by_neighbor_.end()) return changes;
  std::vector<RibPrefix> prefixes(owned->second.begin(), owned->second.end());
  by_neighbor_.erase(owned);
  std::sort(prefixes.begin(), prefixes.end());
  for (const RibPrefix& prefix : prefixes) {
    auto cand = candidates_.find(prefix);
    if (cand == candidates_.end()) continue;
    std::erase_if(cand->second, [&](const Path& p) { return p.neighbor == neighbor; });
    if (cand->second.empty()) candidates_.erase(cand);
    Recompute(prefix, changes);
  }
  return changes;
}

const LocRibEntry* Rib::Lookup(const RibPrefix& prefix) const {
  auto it = loc_rib_.find(prefix);
  return it == loc_rib_.end() ? nullptr : &it->second;
}

const Path* Rib::AdjRibIn(const net::IpAddress& neighbor, const RibPrefix& prefix) const {
  auto cand = candidates_.find(prefix);
  if (cand == candidates_.end()) return nullptr;
  for (const Path& p : cand->second) {
    if (p.neighbor == neighbor) return &p;
  }
  return nullptr;
}

size_t Rib::AdjRibInSize(const net::IpAddress& neighbor) const {
  auto owned = by_neighbor_.find(neighbor);
  return owned == by_neighbor_.end() ? 0 : owned->second.size();
}

std::vector<Path> Rib::Candidates(const RibPrefix& prefix) const {
  auto cand = candidates_.find(prefix);
  if (cand == candidates_.end()) return {};
  return cand->second;
}

}  // namespace strobe::bgp
