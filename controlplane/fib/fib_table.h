// What Strobe wants in the kernel FIB and what it believes is there: gateway nexthop objects,
// next-hop groups (one per distinct ECMP set, shared by every route with that set,
// reference-counted) and routes. Turns route changes into an ordered list of kernel operations;
// the writer (fib_writer.h) sends them and reports each result back. Pure logic: no netlink, no
// clock; unit-tested on its own.
//
// Prefix-independent failover: NextHopsDown() rewrites every group that holds a dead next hop,
// once, without touching a route; the routes' own changes that follow find their group already
// right and cost nothing in the kernel. The same in-place rewrite happens whenever every route of
// a group moves to the same new set in one Plan() (a node leaving or joining an anycast VIP), so
// a resilient group keeps the buckets of its surviving members.
#ifndef STROBE_CONTROLPLANE_FIB_FIB_TABLE_H_
#define STROBE_CONTROLPLANE_FIB_FIB_TABLE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "controlplane/fib/kernel_types.h"

namespace strobe::fib {

struct FibTableOptions {
  bool nexthop_objects = true;  // false: RTA_MULTIPATH routes, no groups
  bool resilient = false;
  uint16_t resilient_buckets = 128;
  uint32_t table = 254;
  uint8_t protocol = 200;
  uint32_t metric = 20;
  uint32_t first_id = 0;  // 0: protocol << 24 (ids never collide with another protocol's)
};

enum class OpKind : uint8_t {
  kAddNexthop,  // create or replace a gateway nexthop
  kSetGroup,    // create or replace a group (in place: its routes follow)
  kSetRoute,    // create or replace a route
  kDeleteRoute,
  kDeleteGroup,
  kDeleteNexthop,
};
const char* OpKindName(OpKind kind);

struct Op {
  OpKind kind = OpKind::kSetRoute;
  uint32_t id = 0;        // nexthops and groups
  bgp::RibPrefix prefix;  // routes
  uint32_t metric = 0;    // kDeleteRoute: the metric of the route in the kernel
};

enum class RouteState : uint8_t {
  kPending,    // an operation is queued
  kInstalled,  // the kernel acked what we want
  kFailed,     // the kernel refused it, or no next hop resolves
  kStale,      // found in the kernel at start, not (yet) announced again
};
const char* RouteStateName(RouteState state);

// BGP next hop -> kernel gateway (the interface it is reached on; for a next hop that is not
// directly connected, the gateway the kernel uses to reach it). nullopt: unreachable.
using Resolver = std::function<std::optional<Gateway>(const net::IpAddress&)>;

class FibTable {
 public:
  struct NexthopEntry {
    Gateway gateway;
    uint32_t group_refs = 0;
    bool installed = false;
    bool queued = false;
    int error = 0;
  };
  struct GroupEntry {
    std::vector<uint32_t> members;  // nexthop ids, sorted
    uint32_t route_refs = 0;
    bool installed = false;
    bool queued = false;
    int error = 0;
    int64_t updated_ns = 0;
  };
  struct RouteEntry {
    std::vector<net::IpAddress> wanted;  // from BGP (empty: stale, or being removed)
    uint32_t group = 0;                  // nexthop objects: the group it points at
    std::vector<Gateway> gateways;       // RTA_MULTIPATH mode: what it carries
    RouteState state = RouteState::kPending;
    bool dirty = false;   // wanted changed since the last Plan()
    bool queued = false;  // a kSetRoute is queued
    int error = 0;
    std::string error_message;
    int64_t updated_ns = 0;
    uint32_t kernel_metric = 0;  // the metric it has (or will have) in the kernel
  };

  FibTable(FibTableOptions options, Resolver resolver);

  // `prefix` should now forward over `next_hops` (empty: remove the route).
  void SetRoute(const bgp::RibPrefix& prefix, std::vector<net::IpAddress> next_hops);
  // Prefix-independent failover: removes the gateways of `next_hops` from every group holding
  // them (a group that would be left empty is left for its routes' own changes). Returns the
  // number of groups rewritten; their kSetGroup ops come out of the next TakeOps() first.
  size_t NextHopsDown(std::span<const net::IpAddress> next_hops, int64_t now_ns);

  // Decides the groups of every route changed since the last call and queues the operations.
  void Plan();
  // The next operations in dependency order: nexthops, groups, at most `route_budget` routes,
  // then (once no route operation is left) the deletion of unused groups and nexthops.
  std::vector<Op> TakeOps(size_t route_budget);
  bool HasWork() const;
  size_t pending_routes() const { return route_ops_.size() + dirty_.size(); }

  // The message for an operation, from the current state.
  KernelNexthop NexthopMessage(const Op& op) const;
  KernelRoute RouteMessage(const Op& op) const;
  // The kernel's answer to `op` (errno, 0 for success).
  void OnResult(const Op& op, int error, const std::string& message, int64_t now_ns);

  // What a dump of the kernel found (only our protocol and table are looked at). Objects we
  // want are confirmed or queued again; kernel objects we do not know are adopted: nexthops and
  // groups (deleted later if nothing uses them) and, when `adopt_routes`, routes (kept as stale
  // until ExpireStale(), so a restart keeps forwarding without a blink); otherwise such routes
  // are deleted.
  void Reconcile(const std::vector<KernelNexthop>& nexthops, const std::vector<KernelRoute>& routes,
                 bool adopt_routes);
  // Everything of ours out of the kernel, with as few operations as possible (deleting a group
  // deletes its routes in the kernel); the table is empty afterwards.
  std::vector<Op> TakeRemoveAll();
  // The end of the stale period: stale routes not announced again are removed, and those
  // announced with another set of next hops than the kernel holds get it (until then they keep
  // forwarding as before the restart, not over whichever neighbor came back first).
  size_t ExpireStale();
  // Repairs: the kernel deleted one of our objects (an operator, an interface going away).
  // Returns true when `id` was ours and is queued again.
  bool OnNexthopDeleted(uint32_t id);
  // The kernel reports `nh` (ours) with other contents than we want: queued again.
  bool OnNexthopChanged(const KernelNexthop& nh);
  // Queues again everything that failed (after an interface came up or an address changed).
  size_t RetryFailed();

  const FibTableOptions& options() const { return options_; }
  const absl::flat_hash_map<bgp::RibPrefix, RouteEntry>& routes() const { return routes_; }
  const absl::flat_hash_map<uint32_t, GroupEntry>& groups() const { return groups_; }
  const absl::flat_hash_map<uint32_t, NexthopEntry>& nexthops() const { return nexthops_; }
  size_t failed_routes() const;

 private:
  struct RouteOp {
    bgp::RibPrefix prefix;
    bool remove = false;
    uint32_t metric = 0;  // removals
  };
  // The next id for a nexthop or group: never 0 (in a request the kernel would pick one), nor an
  // id the table holds, nor one the last dump showed in use (another protocol's nexthop, a member
  // of an adopted group: NLM_F_REPLACE would overwrite it). Reconcile() moves the counter past
  // every adopted id, so an adopted id near 2^32 wraps it: it starts over at the first id.
  uint32_t NewId();
  // The members a group is sent with: those the kernel has not refused.
  std::vector<uint32_t> KernelMembers(uint32_t group_id) const;
  uint32_t NexthopFor(const Gateway& gateway);
  uint32_t GroupFor(const std::vector<uint32_t>& members);
  // Sorted nexthop ids of `next_hops` (unresolvable ones left out).
  std::vector<uint32_t> Resolve(const std::vector<net::IpAddress>& next_hops);
  std::vector<Gateway> ResolveGateways(const std::vector<net::IpAddress>& next_hops);
  void SetMembers(uint32_t group_id, std::vector<uint32_t> members);
  void QueueNexthop(uint32_t id);
  void QueueGroup(uint32_t id);
  void QueueRoute(const bgp::RibPrefix& prefix, RouteEntry& route);
  void MarkDirty(const bgp::RibPrefix& prefix, RouteEntry& route);
  void Unref(uint32_t group_id);
  void RemoveRoute(const bgp::RibPrefix& prefix, bool in_kernel);
  void PlanMultipath(const bgp::RibPrefix& prefix, RouteEntry& route);

  FibTableOptions options_;
  Resolver resolver_;
  uint32_t first_id_;
  uint32_t next_id_;
  absl::flat_hash_set<uint32_t> kernel_ids_;  // every nexthop id of the last dump, and members

  absl::flat_hash_map<uint32_t, NexthopEntry> nexthops_;
  absl::flat_hash_map<Gateway, uint32_t> nexthop_by_gateway_;
  absl::flat_hash_map<uint32_t, GroupEntry> groups_;
  absl::flat_hash_map<std::vector<uint32_t>, uint32_t> group_by_members_;
  absl::flat_hash_map<bgp::RibPrefix, RouteEntry> routes_;

  std::vector<bgp::RibPrefix> dirty_;
  std::vector<uint32_t> nexthop_ops_;
  std::vector<uint32_t> group_ops_;
  std::deque<RouteOp> route_ops_;
  absl::flat_hash_set<uint32_t> unused_groups_;
  absl::flat_hash_set<uint32_t> unused_nexthops_;
  bool hold_stale_ = false;  // between Reconcile(adopt_routes) and ExpireStale()
};

}  // namespace strobe::fib

#endif  // STROBE_CONTROLPLANE_FIB_FIB_TABLE_H_
