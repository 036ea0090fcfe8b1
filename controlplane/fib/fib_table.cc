#include "controlplane/fib/fib_table.h"

#include <errno.h>

#include <algorithm>
#include <utility>

namespace strobe::fib {

const char* OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kAddNexthop:
      return "add-nexthop";
    case OpKind::kSetGroup:
      return "set-group";
    case OpKind::kSetRoute:
      return "set-route";
    case OpKind::kDeleteRoute:
      return "delete-route";
    case OpKind::kDeleteGroup:
      return "delete-group";
    case OpKind::kDeleteNexthop:
      return "delete-nexthop";
  }
  return "?";
}

const char* RouteStateName(RouteState state) {
  switch (state) {
    case RouteState::kPending:
      return "pending";
    case RouteState::kInstalled:
      return "installed";
    case RouteState::kFailed:
      return "failed";
    case RouteState::kStale:
      return "stale";
  }
  return "?";
}

FibTable::FibTable(FibTableOptions options, Resolver resolver)
    : options_(options),
      resolver_(std::move(resolver)),
      first_id_(options.first_id != 0 ? options.first_id : uint32_t{options.protocol} << 24) {
  if (first_id_ == 0) first_id_ = 1;
  next_id_ = first_id_;
}

uint32_t FibTable::NewId() {
  while (next_id_ == 0 || nexthops_.contains(next_id_) || groups_.contains(next_id_) ||
         kernel_ids_.contains(next_id_)) {
    next_id_ = next_id_ == 0 ? first_id_ : next_id_ + 1;
  }
  return next_id_++;
}

void FibTable::SetRoute(const bgp::RibPrefix& prefix, std::vector<net::IpAddress> next_hops) {
  std::sort(next_hops.begin(), next_hops.end());
  next_hops.erase(std::unique(next_hops.begin(), next_hops.end()), next_hops.end());
  auto [it, inserted] = routes_.try_emplace(prefix);
  RouteEntry& route = it->second;
  if (inserted) route.kernel_metric = options_.metric;
  if (inserted && next_hops.empty()) {
    routes_.erase(it);
    return;
  }
  if (!inserted && route.wanted == next_hops && route.state != RouteState::kStale) return;
  route.wanted = std::move(next_hops);
  MarkDirty(prefix, route);
}

size_t FibTable::NextHopsDown(std::span<const net::IpAddress> next_hops, int64_t now_ns) {
  if (!options_.nexthop_objects || next_hops.empty()) return 0;
  absl::flat_hash_set<uint32_t> dead;
  for (const auto& [id, nh] : nexthops_) {
    if (std::find(next_hops.begin(), next_hops.end(), nh.gateway.address) != next_hops.end()) {
      dead.insert(id);
    }
  }
  if (dead.empty()) return 0;
  std::vector<std::pair<uint32_t, std::vector<uint32_t>>> rewrites;
  for (const auto& [id, group] : groups_) {
    std::vector<uint32_t> left;
    for (uint32_t m : group.members) {
      if (!dead.contains(m)) left.push_back(m);
    }
    // An emptied group stays: the routes' own changes remove or move them.
    if (left.size() != group.members.size() && !left.empty()) rewrites.emplace_back(id, left);
  }
  for (auto& [id, members] : rewrites) {
    SetMembers(id, std::move(members));
    groups_[id].updated_ns = now_ns;
  }
  return rewrites.size();
}

std::vector<uint32_t> FibTable::Resolve(const std::vector<net::IpAddress>& next_hops) {
  std::vector<uint32_t> ids;
  for (const Gateway& g : ResolveGateways(next_hops)) ids.push_back(NexthopFor(g));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<Gateway> FibTable::ResolveGateways(const std::vector<net::IpAddress>& next_hops) {
  std::vector<Gateway> gateways;
  for (const net::IpAddress& a : next_hops) {
    if (std::optional<Gateway> g = resolver_(a)) gateways.push_back(*g);
  }
  std::sort(gateways.begin(), gateways.end());
  gateways.erase(std::unique(gateways.begin(), gateways.end()), gateways.end());
  return gateways;
}

uint32_t FibTable::NexthopFor(const Gateway& gateway) {
  if (auto it = nexthop_by_gateway_.find(gateway); it != nexthop_by_gateway_.end()) {
    return it->second;
  }
  const uint32_t id = NewId();
  nexthops_[id].gateway = gateway;
  nexthop_by_gateway_[gateway] = id;
  unused_nexthops_.insert(id);  // until a group uses it
  QueueNexthop(id);
  return id;
}

uint32_t FibTable::GroupFor(const std::vector<uint32_t>& members) {
  if (auto it = group_by_members_.find(members); it != group_by_members_.end()) return it->second;
  const uint32_t id = NewId();
  GroupEntry& group = groups_[id];
  group.members = members;
  for (uint32_t m : members) ++nexthops_[m].group_refs;
  group_by_members_[members] = id;
  QueueGroup(id);
  return id;
}

void FibTable::SetMembers(uint32_t group_id, std::vector<uint32_t> members) {
  GroupEntry& group = groups_[group_id];
  if (auto it = group_by_members_.find(group.members);
      it != group_by_members_.end() && it->second == group_id) {
    group_by_members_.erase(it);
  }
  // An adopted group may hold members that are not ours (Reconcile counts only ours): no entry
  // is made for them, or it would be "repaired" into the kernel as an empty gateway.
  for (uint32_t m : members) {
    if (auto it = nexthops_.find(m); it != nexthops_.end()) ++it->second.group_refs;
  }
  for (uint32_t m : group.members) {
    auto it = nexthops_.find(m);
    if (it != nexthops_.end() && --it->second.group_refs == 0) unused_nexthops_.insert(m);
  }
  group.members = std::move(members);
  group_by_members_.try_emplace(group.members, group_id);
  QueueGroup(group_id);
}

void FibTable::QueueNexthop(uint32_t id) {
  NexthopEntry& nh = nexthops_[id];
  if (nh.queued) return;
  nh.queued = true;
  nexthop_ops_.push_back(id);
}

void FibTable::QueueGroup(uint32_t id) {
  GroupEntry& group = groups_[id];
  if (group.queued) return;
  group.queued = true;
  group_ops_.push_back(id);
}

void FibTable::QueueRoute(const bgp::RibPrefix& prefix, RouteEntry& route) {
  route.state = RouteState::kPending;
  if (!route.queued) {
    route.queued = true;
    route_ops_.push_back({prefix, false, 0});
  }
  // Adopted with another metric: the new route first, then the old one goes.
  if (route.kernel_metric != options_.metric) {
    route_ops_.push_back({prefix, true, route.kernel_metric});
    route.kernel_metric = options_.metric;
  }
}

void FibTable::MarkDirty(const bgp::RibPrefix& prefix, RouteEntry& route) {
  if (route.dirty) return;
  route.dirty = true;
  dirty_.push_back(prefix);
}

void FibTable::Unref(uint32_t group_id) {
  auto it = groups_.find(group_id);
  if (it != groups_.end() && --it->second.route_refs == 0) unused_groups_.insert(group_id);
}

void FibTable::RemoveRoute(const bgp::RibPrefix& prefix, bool in_kernel) {
  auto it = routes_.find(prefix);
  if (it == routes_.end()) return;
  if (it->second.group != 0) Unref(it->second.group);
  if (in_kernel) route_ops_.push_back({prefix, true, it->second.kernel_metric});
  routes_.erase(it);
}

void FibTable::PlanMultipath(const bgp::RibPrefix& prefix, RouteEntry& route) {
  const bool in_kernel = !route.gateways.empty() || route.state == RouteState::kStale;
  if (route.wanted.empty()) {
    RemoveRoute(prefix, in_kernel);
    return;
  }
  std::vector<Gateway> gateways = ResolveGateways(route.wanted);
  if (route.state == RouteState::kStale && hold_stale_) {
    if (gateways == route.gateways && route.kernel_metric == options_.metric) {
      route.state = RouteState::kInstalled;
    }
    return;  // held as the kernel has it until the stale period ends
  }
  if (gateways.empty()) {
    if (in_kernel) route_ops_.push_back({prefix, true, route.kernel_metric});
    route.gateways.clear();
    route.state = RouteState::kFailed;
    route.error = ENETUNREACH;
    route.error_message = "no next hop resolves to an interface";
    return;
  }
  if (gateways == route.gateways && route.state != RouteState::kFailed &&
      route.kernel_metric == options_.metric) {
    if (route.state == RouteState::kStale) route.state = RouteState::kInstalled;
    return;
  }
  route.gateways = std::move(gateways);
  QueueRoute(prefix, route);
}

void FibTable::Plan() {
  struct Move {
    bgp::RibPrefix prefix;
    std::vector<uint32_t> members;
  };
  std::vector<Move> moves;
  std::vector<bgp::RibPrefix> dirty;
  dirty.swap(dirty_);
  for (const bgp::RibPrefix& prefix : dirty) {
    auto it = routes_.find(prefix);
    if (it == routes_.end() || !it->second.dirty) continue;
    RouteEntry& route = it->second;
    route.dirty = false;
    if (!options_.nexthop_objects) {
      PlanMultipath(prefix, route);
      continue;
    }
    const bool in_kernel = route.group != 0 || route.state == RouteState::kStale;
    if (route.wanted.empty()) {
      RemoveRoute(prefix, in_kernel);
      continue;
    }
    std::vector<uint32_t> members = Resolve(route.wanted);
    if (route.state == RouteState::kStale && hold_stale_) {
      if (route.group != 0 && groups_[route.group].members == members &&
          route.kernel_metric == options_.metric) {
        route.state = RouteState::kInstalled;
      }
      continue;  // held as the kernel has it until the stale period ends
    }
    if (members.empty()) {
      if (in_kernel) route_ops_.push_back({prefix, true, route.kernel_metric});
      if (route.group != 0) Unref(route.group);
      route.group = 0;
      route.state = RouteState::kFailed;
      route.error = ENETUNREACH;
      route.error_message = "no next hop resolves to an interface";
      continue;
    }
    if (route.group != 0 && groups_[route.group].members == members) {
      if (route.state == RouteState::kStale) route.state = RouteState::kInstalled;
      // Failed, or adopted at another metric: set again (QueueRoute removes the old metric's).
      if (route.state == RouteState::kFailed || route.kernel_metric != options_.metric) {
        QueueRoute(prefix, route);
      }
      continue;
    }
    moves.push_back({prefix, std::move(members)});
  }

  // Groups whose every route moves to one same new set are rewritten in place.
  absl::flat_hash_map<std::pair<uint32_t, std::vector<uint32_t>>, uint32_t> moving;
  for (const Move& m : moves) {
    const uint32_t from = routes_[m.prefix].group;
    if (from != 0) ++moving[{from, m.members}];
  }
  for (const auto& [key, count] : moving) {
    const auto& [from, members] = key;
    if (count == groups_[from].route_refs && !group_by_members_.contains(members)) {
      SetMembers(from, members);
    }
  }

  for (Move& m : moves) {
    RouteEntry& route = routes_[m.prefix];
    if (route.group != 0 && groups_[route.group].members == m.members) {
      if (route.state == RouteState::kStale) route.state = RouteState::kInstalled;
      if (route.state == RouteState::kFailed || route.kernel_metric != options_.metric) {
        QueueRoute(m.prefix, route);
      }
      continue;  // its group was rewritten in place
    }
    const uint32_t to = GroupFor(m.members);
    ++groups_[to].route_refs;
    unused_groups_.erase(to);
    if (route.group != 0) Unref(route.group);
    route.group = to;
    QueueRoute(m.prefix, route);
  }
}

std::vector<Op> FibTable::TakeOps(size_t route_budget) {
  std::vector<Op> ops;
  for (uint32_t id : nexthop_ops_) {
    auto it = nexthops_.find(id);
    if (it == nexthops_.end() || !it->second.queued) continue;
    it->second.queued = false;
    ops.push_back({OpKind::kAddNexthop, id, {}});
  }
  nexthop_ops_.clear();
  for (uint32_t id : group_ops_) {
    auto it = groups_.find(id);
    if (it == groups_.end() || !it->second.queued) continue;
    it->second.queued = false;
    ops.push_back({OpKind::kSetGroup, id, {}});
  }
  group_ops_.clear();
  size_t routes = 0;
  while (routes < route_budget && !route_ops_.empty()) {
    RouteOp r = std::move(route_ops_.front());
    route_ops_.pop_front();
    if (r.remove) {
      ops.push_back({OpKind::kDeleteRoute, 0, r.prefix, r.metric});
    } else {
      auto it = routes_.find(r.prefix);
      if (it == routes_.end() || !it->second.queued) continue;
      it->second.queued = false;
      ops.push_back({OpKind::kSetRoute, 0, r.prefix});
    }
    ++routes;
  }
  if (!route_ops_.empty() || !dirty_.empty()) return ops;

  // Nothing in the kernel points at these any more. One deleted here needs no (re)install taken
  // above (a repair, a retry): FibWriter::Send builds that message after this returns, from an
  // entry that is gone.
  absl::flat_hash_set<uint32_t> deleted;
  for (uint32_t id : unused_groups_) {
    auto it = groups_.find(id);
    if (it == groups_.end() || it->second.route_refs != 0) continue;
    for (uint32_t m : it->second.members) {
      auto nh = nexthops_.find(m);
      if (nh != nexthops_.end() && --nh->second.group_refs == 0) unused_nexthops_.insert(m);
    }
    if (auto k = group_by_members_.find(it->second.members);
        k != group_by_members_.end() && k->second == id) {
      group_by_members_.erase(k);
    }
    groups_.erase(it);
    ops.push_back({OpKind::kDeleteGroup, id, {}});
    deleted.insert(id);
  }
  unused_groups_.clear();
  for (uint32_t id : unused_nexthops_) {
    auto it = nexthops_.find(id);
    if (it == nexthops_.end() || it->second.group_refs != 0) continue;
    if (auto k = nexthop_by_gateway_.find(it->second.gateway);
        k != nexthop_by_gateway_.end() && k->second == id) {
      nexthop_by_gateway_.erase(k);
    }
    nexthops_.erase(it);
    ops.push_back({OpKind::kDeleteNexthop, id, {}});
    deleted.insert(id);
  }
  unused_nexthops_.clear();
  if (!deleted.empty()) {
    std::erase_if(ops, [&deleted](const Op& op) {
      return (op.kind == OpKind::kAddNexthop || op.kind == OpKind::kSetGroup) &&
             deleted.contains(op.id);
    });
  }
  return ops;
}

bool FibTable::HasWork() const {
  return !dirty_.empty() || !nexthop_ops_.empty() || !group_ops_.empty() || !route_ops_.empty() ||
         !unused_groups_.empty() || !unused_nexthops_.empty();
}

std::vector<uint32_t> FibTable::KernelMembers(uint32_t group_id) const {
  // A member the kernel refused (its device is down) is left out until it is installed: the
  // group forwards over the others meanwhile.
  const std::vector<uint32_t>& members = groups_.at(group_id).members;
  std::vector<uint32_t> out;
  for (uint32_t m : members) {
    auto it = nexthops_.find(m);
    if (it != nexthops_.end() && it->second.error == 0) out.push_back(m);
  }
  return out.empty() ? members : out;
}

KernelNexthop FibTable::NexthopMessage(const Op& op) const {
  KernelNexthop nh;
  nh.id = op.id;
  nh.protocol = options_.protocol;
  if (op.kind == OpKind::kAddNexthop) {
    nh.gateway = nexthops_.at(op.id).gateway;
  } else if (op.kind == OpKind::kSetGroup) {
    nh.group = KernelMembers(op.id);
    nh.resilient = options_.resilient;
    nh.buckets = options_.resilient_buckets;
  }
  return nh;
}

KernelRoute FibTable::RouteMessage(const Op& op) const {
  KernelRoute r;
  r.prefix = op.prefix;
  r.table = options_.table;
  r.protocol = options_.protocol;
  r.metric = op.kind == OpKind::kDeleteRoute ? op.metric : options_.metric;
  if (op.kind == OpKind::kSetRoute) {
    const RouteEntry& route = routes_.at(op.prefix);
    if (options_.nexthop_objects) {
      r.nh_id = route.group;
    } else {
      r.gateways = route.gateways;
    }
  }
  return r;
}

void FibTable::OnResult(const Op& op, int error, const std::string& message, int64_t now_ns) {
  switch (op.kind) {
    case OpKind::kAddNexthop:
      if (auto it = nexthops_.find(op.id); it != nexthops_.end()) {
        const bool was_left_out = it->second.error != 0;
        it->second.installed = error == 0;
        it->second.error = error;
        if (error == 0 && was_left_out) {
          // Back in the groups it was left out of.
          for (auto& [gid, group] : groups_) {
            if (std::binary_search(group.members.begin(), group.members.end(), op.id)) {
              QueueGroup(gid);
            }
          }
        }
      }
      return;
    case OpKind::kSetGroup:
      if (auto it = groups_.find(op.id); it != groups_.end()) {
        it->second.installed = error == 0;
        it->second.error = error;
        if (error == 0) it->second.updated_ns = now_ns;
      }
      return;
    case OpKind::kSetRoute:
      if (auto it = routes_.find(op.prefix); it != routes_.end() && !it->second.queued) {
        RouteEntry& route = it->second;
        route.state = error == 0 ? RouteState::kInstalled : RouteState::kFailed;
        route.error = error;
        route.error_message = message;
        route.updated_ns = now_ns;
      }
      return;
    case OpKind::kDeleteRoute:
    case OpKind::kDeleteGroup:
    case OpKind::kDeleteNexthop:
      return;
  }
}

void FibTable::Reconcile(const std::vector<KernelNexthop>& nexthops,
                         const std::vector<KernelRoute>& routes, bool adopt_routes) {
  absl::flat_hash_map<uint32_t, const KernelNexthop*> kernel;
  kernel_ids_.clear();
  for (const KernelNexthop& nh : nexthops) {
    kernel_ids_.insert(nh.id);
    kernel_ids_.insert(nh.group.begin(), nh.group.end());
    if (nh.protocol != options_.protocol) continue;
    kernel[nh.id] = &nh;
    if (nh.id >= next_id_) next_id_ = nh.id + 1;
  }
  // Gateways first: groups refer to them.
  for (auto& [id, nh] : nexthops_) {
    auto k = kernel.find(id);
    nh.installed = k != kernel.end() && !k->second->is_group() && k->second->gateway == nh.gateway;
    if (!nh.installed) QueueNexthop(id);
  }
  for (const auto& [id, k] : kernel) {
    if (k->is_group() || nexthops_.contains(id)) continue;
    NexthopEntry& nh = nexthops_[id];
    nh.gateway = k->gateway;
    nh.installed = true;
    nexthop_by_gateway_.try_emplace(k->gateway, id);
    unused_nexthops_.insert(id);
  }
  absl::flat_hash_set<uint32_t> missing_groups;
  for (auto& [id, group] : groups_) {
    auto k = kernel.find(id);
    std::vector<uint32_t> members;
    if (k != kernel.end()) {
      members = k->second->group;
      std::sort(members.begin(), members.end());
    }
    group.installed = k != kernel.end() && k->second->is_group() && members == KernelMembers(id);
    if (!group.installed) {
      QueueGroup(id);
      if (k == kernel.end()) missing_groups.insert(id);
    }
  }
  for (const auto& [id, k] : kernel) {
    if (!k->is_group() || groups_.contains(id)) continue;
    GroupEntry& group = groups_[id];
    group.members = k->group;
    std::sort(group.members.begin(), group.members.end());
    group.installed = true;
    for (uint32_t m : group.members) {
      if (auto nh = nexthops_.find(m); nh != nexthops_.end()) ++nh->second.group_refs;
    }
    group_by_members_.try_emplace(group.members, id);
    unused_groups_.insert(id);
  }

  absl::flat_hash_map<bgp::RibPrefix, const KernelRoute*> kernel_routes;
  for (const KernelRoute& r : routes) {
    if (r.protocol == options_.protocol && r.table == options_.table) kernel_routes[r.prefix] = &r;
  }
  for (auto& [prefix, route] : routes_) {
    auto k = kernel_routes.find(prefix);
    bool match = false;
    if (k != kernel_routes.end()) {
      if (options_.nexthop_objects) {
        match = route.group != 0 && k->second->nh_id == route.group &&
                !missing_groups.contains(route.group);
      } else {
        std::vector<Gateway> gateways = k->second->gateways;
        std::sort(gateways.begin(), gateways.end());
        match = !route.gateways.empty() && gateways == route.gateways;
      }
    }
    if (match) {
      if (route.state == RouteState::kPending && !route.queued)
        route.state = RouteState::kInstalled;
    } else if (route.group != 0 || !route.gateways.empty()) {
      QueueRoute(prefix, route);
    }
  }
  for (const auto& [prefix, k] : kernel_routes) {
    if (routes_.contains(prefix)) continue;
    if (!adopt_routes) {
      route_ops_.push_back({prefix, true, k->metric});
      continue;
    }
    RouteEntry& route = routes_[prefix];
    route.state = RouteState::kStale;
    route.kernel_metric = k->metric;
    hold_stale_ = true;
    if (options_.nexthop_objects) {
      if (auto g = groups_.find(k->nh_id); g != groups_.end()) {
        route.group = k->nh_id;
        ++g->second.route_refs;
        unused_groups_.erase(k->nh_id);
      }
    } else {
      route.gateways = k->gateways;
      std::sort(route.gateways.begin(), route.gateways.end());
    }
  }
}

std::vector<Op> FibTable::TakeRemoveAll() {
  std::vector<Op> ops;
  for (const auto& [prefix, route] : routes_) {
    const bool on_group = options_.nexthop_objects && route.group != 0;
    if (!on_group) ops.push_back({OpKind::kDeleteRoute, 0, prefix, route.kernel_metric});
  }
  for (const auto& [id, group] : groups_) ops.push_back({OpKind::kDeleteGroup, id, {}});
  for (const auto& [id, nh] : nexthops_) ops.push_back({OpKind::kDeleteNexthop, id, {}});
  routes_.clear();
  groups_.clear();
  nexthops_.clear();
  group_by_members_.clear();
  nexthop_by_gateway_.clear();
  dirty_.clear();
  nexthop_ops_.clear();
  group_ops_.clear();
  route_ops_.clear();
  unused_groups_.clear();
  unused_nexthops_.clear();
  return ops;
}

size_t FibTable::ExpireStale() {
  hold_stale_ = false;
  size_t n = 0;
  for (auto& [prefix, route] : routes_) {
    if (route.state != RouteState::kStale) continue;
    MarkDirty(prefix, route);
    n += route.wanted.empty();
  }
  return n;
}

bool FibTable::OnNexthopDeleted(uint32_t id) {
  if (auto it = nexthops_.find(id); it != nexthops_.end()) {
    if (!it->second.installed) return false;
    it->second.installed = false;
    QueueNexthop(id);
    // The kernel took it out of every group too.
    for (auto& [gid, group] : groups_) {
      if (std::binary_search(group.members.begin(), group.members.end(), id)) QueueGroup(gid);
    }
    return true;
  }
  if (auto it = groups_.find(id); it != groups_.end()) {
    if (!it->second.installed) return false;
    it->second.installed = false;
    QueueGroup(id);
    // The kernel deleted every route on it, without telling.
    for (auto& [prefix, route] : routes_) {
      if (route.group == id) QueueRoute(prefix, route);
    }
    return true;
  }
  return false;
}

bool FibTable::OnNexthopChanged(const KernelNexthop& nh) {
  if (nh.protocol != options_.protocol) return false;
  if (auto it = groups_.find(nh.id); it != groups_.end()) {
    std::vector<uint32_t> members = nh.group;
    std::sort(members.begin(), members.end());
    if (members == KernelMembers(nh.id) || it->second.queued) return false;
    QueueGroup(nh.id);
    return true;
  }
  if (auto it = nexthops_.find(nh.id); it != nexthops_.end()) {
    if ((!nh.is_group() && nh.gateway == it->second.gateway) || it->second.queued) return false;
    QueueNexthop(nh.id);
    return true;
  }
  return false;
}

size_t FibTable::RetryFailed() {
  size_t n = 0;
  for (auto& [id, nh] : nexthops_) {
    if (!nh.installed && !nh.queued) {
      QueueNexthop(id);
      ++n;
    }
  }
  for (auto& [id, group] : groups_) {
    if (!group.installed && !group.queued) {
      QueueGroup(id);
      ++n;
    }
  }
  for (auto& [prefix, route] : routes_) {
    if (route.state == RouteState::kFailed) {
      MarkDirty(prefix, route);
      ++n;
    }
  }
  return n;
}

size_t FibTable::failed_routes() const {
  size_t n = 0;
  for (const auto& [prefix, route] : routes_) n += route.state == RouteState::kFailed;
  return n;
}

}  // namespace strobe::fib
