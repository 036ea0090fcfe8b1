// FibTable on its own (controlplane/fib/fib_table.h): which kernel operations a change of the
// wanted routes costs, in which order, and what the table believes afterwards. A fake resolver
// maps BGP next hops to gateways; no netlink.

#include "controlplane/fib/fib_table.h"

#include <errno.h>

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/fib/fib_test_util.h"

namespace strobe::fib {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr uint32_t kBase = 200u << 24;  // the first id of protocol 200
constexpr uint32_t kIf0 = 7;
constexpr uint32_t kIf1 = 9;

using ::strobe::fib::testing::Ip;
using ::strobe::fib::testing::Ips;
using ::strobe::fib::testing::Pfx;

// "add-nexthop", "set-route 198.19.0.0/24", ...: readable in a failure message.
std::string Describe(const Op& op) {
  if (op.kind == OpKind::kSetRoute || op.kind == OpKind::kDeleteRoute) {
    return std::string(OpKindName(op.kind)) + " " + op.prefix.ToString();
  }
  return OpKindName(op.kind);
}

std::vector<std::string> Describe(const std::vector<Op>& ops) {
  std::vector<std::string> out;
  for (const Op& op : ops) out.push_back(Describe(op));
  return out;
}

std::vector<uint32_t> IdsOf(const std::vector<Op>& ops, OpKind kind) {
  std::vector<uint32_t> out;
  for (const Op& op : ops) {
    if (op.kind == kind) out.push_back(op.id);
  }
  return out;
}

const Op* Find(const std::vector<Op>& ops, OpKind kind, const bgp::RibPrefix& prefix) {
  for (const Op& op : ops) {
    if (op.kind == kind && op.prefix == prefix) return &op;
  }
  return nullptr;
}

class FibTableTest : public ::testing::Test {
 protected:
  FibTableTest() {
    // Four directly connected neighbors on two interfaces, one IPv6 neighbor, and a next hop
    // that is not connected: the kernel reaches it over 198.18.0.2.
    for (const char* a : {"198.18.0.2", "198.18.0.3"}) gateways_[Ip(a)] = {Ip(a), kIf0};
    for (const char* a : {"198.18.1.2", "198.18.1.3"}) gateways_[Ip(a)] = {Ip(a), kIf1};
    gateways_[Ip("2001:db8::2")] = {Ip("2001:db8::2"), kIf0};
    gateways_[Ip("198.19.99.1")] = {Ip("198.18.0.2"), kIf0};
    Make(FibTableOptions{});
  }

  void Make(FibTableOptions options) {
    table_.emplace(options, [this](const net::IpAddress& a) -> std::optional<Gateway> {
      ++lookups_;
      auto it = gateways_.find(a);
      if (it == gateways_.end()) return std::nullopt;
      return it->second;
    });
  }

  FibTable& table() { return *table_; }

  // Plan() then TakeOps(budget).
  std::vector<Op> PlanAndTake(size_t budget = 1000) {
    table_->Plan();
    return table_->TakeOps(budget);
  }

  // The kernel accepts every operation.
  void Ack(const std::vector<Op>& ops) {
    for (const Op& op : ops) table_->OnResult(op, 0, "", ++now_);
  }
  std::vector<Op> PlanTakeAndAck(size_t budget = 1000) {
    std::vector<Op> ops = PlanAndTake(budget);
    Ack(ops);
    return ops;
  }

  const FibTable::RouteEntry& Route(std::string_view prefix) {
    static const FibTable::RouteEntry kNone;
    auto it = table_->routes().find(Pfx(prefix));
    EXPECT_NE(it, table_->routes().end()) << prefix;
    return it == table_->routes().end() ? kNone : it->second;
  }

  std::vector<net::IpAddress> MembersOf(uint32_t group) {
    std::vector<net::IpAddress> out;
    auto g = table_->groups().find(group);
    if (g == table_->groups().end()) return out;
    for (uint32_t m : g->second.members) out.push_back(table_->nexthops().at(m).gateway.address);
    return out;
  }

  // Four routes' worth of next hops.
  const std::vector<net::IpAddress> four_ =
      Ips({"198.18.0.2", "198.18.0.3", "198.18.1.2", "198.18.1.3"});
  const std::vector<net::IpAddress> three_ = Ips({"198.18.0.2", "198.18.0.3", "198.18.1.2"});

  absl::flat_hash_map<net::IpAddress, Gateway> gateways_;
  std::optional<FibTable> table_;
  int64_t now_ = 1000;
  int lookups_ = 0;
};

// --- Installing ---

TEST_F(FibTableTest, OneRouteOverFourNextHopsIsFourNexthopsAGroupAndARoute) {
  // Given in another order, with a duplicate: the set is what counts.
  table().SetRoute(Pfx("198.19.0.0/24"),
                   Ips({"198.18.1.3", "198.18.0.2", "198.18.1.2", "198.18.0.3", "198.18.0.2"}));
  EXPECT_TRUE(table().HasWork());
  EXPECT_EQ(table().pending_routes(), 1u);
  const std::vector<Op> ops = PlanAndTake();
  EXPECT_THAT(Describe(ops), ElementsAre("add-nexthop", "add-nexthop", "add-nexthop", "add-nexthop",
                                         "set-group", "set-route 198.19.0.0/24"));
  ASSERT_EQ(ops.size(), 6u);
  // Ids start at protocol << 24; gateways in address order.
  EXPECT_EQ(IdsOf(ops, OpKind::kAddNexthop),
            (std::vector<uint32_t>{kBase, kBase + 1, kBase + 2, kBase + 3}));
  EXPECT_EQ(IdsOf(ops, OpKind::kSetGroup), std::vector<uint32_t>{kBase + 4});

  const KernelNexthop nh = table().NexthopMessage(ops[0]);
  EXPECT_EQ(nh.id, kBase);
  EXPECT_EQ(nh.protocol, 200);
  EXPECT_FALSE(nh.is_group());
  EXPECT_EQ(nh.gateway, (Gateway{Ip("198.18.0.2"), kIf0}));
  EXPECT_EQ(table().NexthopMessage(ops[3]).gateway, (Gateway{Ip("198.18.1.3"), kIf1}));

  const KernelNexthop group = table().NexthopMessage(ops[4]);
  EXPECT_EQ(group.id, kBase + 4);
  EXPECT_EQ(group.group, (std::vector<uint32_t>{kBase, kBase + 1, kBase + 2, kBase + 3}));
  EXPECT_FALSE(group.resilient);

  const KernelRoute route = table().RouteMessage(ops[5]);
  EXPECT_EQ(route.prefix, Pfx("198.19.0.0/24"));
  EXPECT_EQ(route.nh_id, kBase + 4);
  EXPECT_TRUE(route.gateways.empty());
  EXPECT_EQ(route.table, 254u);
  EXPECT_EQ(route.protocol, 200);
  EXPECT_EQ(route.metric, 20u);

  EXPECT_EQ(Route("198.19.0.0/24").state, RouteState::kPending);
  EXPECT_EQ(Route("198.19.0.0/24").group, kBase + 4);
  EXPECT_FALSE(table().HasWork());
  Ack(ops);
  EXPECT_EQ(Route("198.19.0.0/24").state, RouteState::kInstalled);
  EXPECT_TRUE(table().groups().at(kBase + 4).installed);
  EXPECT_EQ(table().groups().at(kBase + 4).route_refs, 1u);
  for (uint32_t id = kBase; id < kBase + 4; ++id) {
    EXPECT_TRUE(table().nexthops().at(id).installed);
    EXPECT_EQ(table().nexthops().at(id).group_refs, 1u);
  }
  // Nothing changes, nothing to do.
  table().SetRoute(Pfx("198.19.0.0/24"), four_);
  EXPECT_THAT(PlanAndTake(), IsEmpty());
}

TEST_F(FibTableTest, ASecondRouteWithTheSameSetSharesTheGroup) {
  table().SetRoute(Pfx("198.19.0.0/24"), four_);
  const std::vector<Op> first = PlanTakeAndAck();
  ASSERT_EQ(first.size(), 6u);
  table().SetRoute(Pfx("198.19.1.0/24"), four_);
  const std::vector<Op> second = PlanTakeAndAck();
  EXPECT_THAT(Describe(second), ElementsAre("set-route 198.19.1.0/24"));
  EXPECT_EQ(table().RouteMessage(second[0]).nh_id, Route("198.19.0.0/24").group);
  EXPECT_EQ(table().groups().size(), 1u);
  EXPECT_EQ(table().groups().begin()->second.route_refs, 2u);
  EXPECT_EQ(table().nexthops().size(), 4u);
}

TEST_F(FibTableTest, NextHopsResolvingToOneGatewayShareOneNexthop) {
  // 198.19.99.1 is reached over 198.18.0.2: one gateway, one nexthop, a group of one.
  table().SetRoute(Pfx("198.19.0.0/24"), Ips({"198.18.0.2", "198.19.99.1"}));
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops), ElementsAre("add-nexthop", "set-group", "set-route 198.19.0.0/24"));
  EXPECT_EQ(MembersOf(Route("198.19.0.0/24").group), Ips({"198.18.0.2"}));
}

TEST_F(FibTableTest, Ipv6RouteAndIpv4RouteOverAnIpv6Gateway) {
  table().SetRoute(Pfx("2001:db8:ff::/48"), Ips({"2001:db8::2"}));
  table().SetRoute(Pfx("198.19.5.0/24"), Ips({"2001:db8::2"}));
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops),
              UnorderedElementsAre("add-nexthop", "set-group", "set-route 2001:db8:ff::/48",
                                   "set-route 198.19.5.0/24"));
  EXPECT_EQ(table().NexthopMessage(ops[0]).gateway, (Gateway{Ip("2001:db8::2"), kIf0}));
  EXPECT_EQ(Route("2001:db8:ff::/48").group, Route("198.19.5.0/24").group);
}

// --- Prefix-independent failover ---

TEST_F(FibTableTest, NextHopsDownRewritesTheGroupInPlaceAndTheRoutesFollowForFree) {
  for (const char* p : {"198.19.0.0/24", "198.19.1.0/24", "198.19.2.0/24"}) {
    table().SetRoute(Pfx(p), four_);
  }
  PlanTakeAndAck();
  const uint32_t group = Route("198.19.0.0/24").group;
  const uint32_t dead = kBase + 3;  // 198.18.1.3
  ASSERT_EQ(table().nexthops().at(dead).gateway.address, Ip("198.18.1.3"));

  const std::vector<net::IpAddress> down = Ips({"198.18.1.3"});
  EXPECT_EQ(table().NextHopsDown(down, 5555), 1u);
  EXPECT_EQ(table().groups().at(group).updated_ns, 5555);
  EXPECT_EQ(MembersOf(group), three_);
  // The group first, with no route operation; the dead nexthop, no group's member now, goes.
  const std::vector<Op> ops = table().TakeOps(0);
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(Describe(ops[0]), "set-group");
  EXPECT_EQ(ops[0].id, group);
  EXPECT_EQ(std::count_if(ops.begin(), ops.end(),
                          [](const Op& op) { return op.kind == OpKind::kSetGroup; }),
            1);
  for (const Op& op : ops) {
    EXPECT_NE(op.kind, OpKind::kSetRoute);
    EXPECT_NE(op.kind, OpKind::kDeleteRoute);
    EXPECT_NE(op.kind, OpKind::kDeleteGroup);
    if (op.kind == OpKind::kDeleteNexthop) {
      EXPECT_EQ(op.id, dead);
    }
  }
  EXPECT_EQ(table().NexthopMessage(ops[0]).group,
            (std::vector<uint32_t>{kBase, kBase + 1, kBase + 2}));
  Ack(ops);
  for (const char* p : {"198.19.0.0/24", "198.19.1.0/24", "198.19.2.0/24"}) {
    EXPECT_EQ(Route(p).group, group);
    EXPECT_EQ(Route(p).state, RouteState::kInstalled);
  }

  // BGP catches up: every route now has the three left. The group already is right.
  for (const char* p : {"198.19.0.0/24", "198.19.1.0/24", "198.19.2.0/24"}) {
    table().SetRoute(Pfx(p), three_);
  }
  EXPECT_THAT(PlanAndTake(), IsEmpty());
  EXPECT_FALSE(table().HasWork());
  for (const char* p : {"198.19.0.0/24", "198.19.1.0/24", "198.19.2.0/24"}) {
    EXPECT_EQ(Route(p).group, group);
    EXPECT_EQ(Route(p).state, RouteState::kInstalled);
  }
  EXPECT_EQ(table().groups().size(), 1u);
}

TEST_F(FibTableTest, NextHopsDownTouchesOnlyGroupsHoldingTheDeadGateway) {
  table().SetRoute(Pfx("198.19.0.0/24"), four_);
  table().SetRoute(Pfx("198.19.1.0/24"), Ips({"198.18.0.2", "198.18.0.3"}));
  table().SetRoute(Pfx("198.19.2.0/24"), Ips({"198.18.1.3"}));
  PlanTakeAndAck();
  const uint32_t g4 = Route("198.19.0.0/24").group;
  const uint32_t g2 = Route("198.19.1.0/24").group;
  const uint32_t g1 = Route("198.19.2.0/24").group;
  const std::vector<net::IpAddress> down = Ips({"198.18.1.3"});
  // The group of four loses one; the group of two does not hold it; the group of one would be
  // left empty and stays for its route's own change.
  EXPECT_EQ(table().NextHopsDown(down, 1), 1u);
  EXPECT_EQ(MembersOf(g4), three_);
  EXPECT_EQ(MembersOf(g2), Ips({"198.18.0.2", "198.18.0.3"}));
  EXPECT_EQ(MembersOf(g1), Ips({"198.18.1.3"}));
  EXPECT_EQ(IdsOf(table().TakeOps(0), OpKind::kSetGroup), std::vector<uint32_t>{g4});
  // Unknown addresses, and an empty list, rewrite nothing.
  const std::vector<net::IpAddress> unknown = Ips({"198.18.9.9"});
  EXPECT_EQ(table().NextHopsDown(unknown, 2), 0u);
  EXPECT_EQ(table().NextHopsDown({}, 3), 0u);
  EXPECT_THAT(table().TakeOps(0), IsEmpty());
}

TEST_F(FibTableTest, ARouteBackToFourNextHopsRewritesItsGroupInPlace) {
  table().SetRoute(Pfx("198.19.0.0/24"), four_);
  table().SetRoute(Pfx("198.19.1.0/24"), four_);
  PlanTakeAndAck();
  const uint32_t group = Route("198.19.0.0/24").group;
  const std::vector<net::IpAddress> down = Ips({"198.18.1.3"});
  ASSERT_EQ(table().NextHopsDown(down, 1), 1u);
  Ack(table().TakeOps(0));
  table().SetRoute(Pfx("198.19.0.0/24"), three_);
  table().SetRoute(Pfx("198.19.1.0/24"), three_);
  EXPECT_THAT(PlanTakeAndAck(), IsEmpty());

  // The neighbor comes back: both routes move to the four in one Plan(): the same group.
  table().SetRoute(Pfx("198.19.0.0/24"), four_);
  table().SetRoute(Pfx("198.19.1.0/24"), four_);
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops), ElementsAre("add-nexthop", "set-group"));
  EXPECT_EQ(ops[1].id, group);
  EXPECT_EQ(MembersOf(group), four_);
  EXPECT_EQ(Route("198.19.0.0/24").group, group);
  EXPECT_EQ(Route("198.19.1.0/24").group, group);
  EXPECT_EQ(table().groups().size(), 1u);
}

// --- In-place rewrites from Plan() ---

TEST_F(FibTableTest, EveryRouteOfAGroupMovingToOneNewSetRewritesTheGroupInPlace) {
  for (const char* p : {"198.19.0.0/24", "198.19.1.0/24", "198.19.2.0/24"}) {
    table().SetRoute(Pfx(p), three_);
  }
  PlanTakeAndAck();
  const uint32_t group = Route("198.19.0.0/24").group;
  // A node joins the anycast VIP: every route of the group gets the fourth next hop.
  for (const char* p : {"198.19.0.0/24", "198.19.1.0/24", "198.19.2.0/24"}) {
    table().SetRoute(Pfx(p), four_);
  }
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops), ElementsAre("add-nexthop", "set-group"));
  EXPECT_EQ(table().NexthopMessage(ops[0]).gateway.address, Ip("198.18.1.3"));
  EXPECT_EQ(ops[1].id, group);
  EXPECT_EQ(table().NexthopMessage(ops[1]).group.size(), 4u);
  for (const char* p : {"198.19.0.0/24", "198.19.1.0/24", "198.19.2.0/24"}) {
    EXPECT_EQ(Route(p).group, group);
    EXPECT_EQ(Route(p).state, RouteState::kInstalled);
  }
  EXPECT_EQ(table().groups().size(), 1u);
  EXPECT_EQ(table().groups().at(group).route_refs, 3u);

  // And leaves again (a withdrawal this time, no BFD): in place again, the nexthop goes.
  for (const char* p : {"198.19.0.0/24", "198.19.1.0/24", "198.19.2.0/24"}) {
    table().SetRoute(Pfx(p), three_);
  }
  EXPECT_THAT(Describe(PlanTakeAndAck()), ElementsAre("set-group", "delete-nexthop"));
  EXPECT_EQ(MembersOf(group), three_);
}

TEST_F(FibTableTest, SomeRoutesOfAGroupMovingGetANewGroupAndOnlyTheyAreSet) {
  for (const char* p : {"198.19.0.0/24", "198.19.1.0/24", "198.19.2.0/24"}) {
    table().SetRoute(Pfx(p), three_);
  }
  PlanTakeAndAck();
  const uint32_t group = Route("198.19.0.0/24").group;
  table().SetRoute(Pfx("198.19.0.0/24"), four_);
  table().SetRoute(Pfx("198.19.1.0/24"), four_);
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops),
              UnorderedElementsAre("add-nexthop", "set-group", "set-route 198.19.0.0/24",
                                   "set-route 198.19.1.0/24"));
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(Describe(ops[0]), "add-nexthop");
  EXPECT_EQ(Describe(ops[1]), "set-group");
  const uint32_t moved = ops[1].id;
  EXPECT_NE(moved, group);
  EXPECT_EQ(MembersOf(group), three_);  // untouched: 198.19.2.0/24 still uses it
  EXPECT_EQ(MembersOf(moved), four_);
  EXPECT_EQ(Route("198.19.0.0/24").group, moved);
  EXPECT_EQ(Route("198.19.1.0/24").group, moved);
  EXPECT_EQ(Route("198.19.2.0/24").group, group);
  EXPECT_EQ(table().groups().at(group).route_refs, 1u);
  EXPECT_EQ(table().groups().at(moved).route_refs, 2u);
}

TEST_F(FibTableTest, MovingToASetThatAlreadyHasAGroupUsesThatGroup) {
  table().SetRoute(Pfx("198.19.0.0/24"), three_);
  table().SetRoute(Pfx("198.19.1.0/24"), four_);
  PlanTakeAndAck();
  const uint32_t old_group = Route("198.19.0.0/24").group;
  const uint32_t four_group = Route("198.19.1.0/24").group;
  table().SetRoute(Pfx("198.19.0.0/24"), four_);
  // Not rewritten in place (that would make two groups of one set): the route moves, and the
  // group nobody uses goes, after the route.
  EXPECT_THAT(Describe(PlanTakeAndAck()), ElementsAre("set-route 198.19.0.0/24", "delete-group"));
  EXPECT_EQ(Route("198.19.0.0/24").group, four_group);
  EXPECT_FALSE(table().groups().contains(old_group));
}

// --- Removal and garbage collection ---

TEST_F(FibTableTest, RemovingARouteDeletesItThenItsGroupThenItsNexthops) {
  table().SetRoute(Pfx("198.19.0.0/24"), four_);
  PlanTakeAndAck();
  const uint32_t group = Route("198.19.0.0/24").group;
  table().SetRoute(Pfx("198.19.0.0/24"), {});
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops),
              ElementsAre("delete-route 198.19.0.0/24", "delete-group", "delete-nexthop",
                          "delete-nexthop", "delete-nexthop", "delete-nexthop"));
  ASSERT_EQ(ops.size(), 6u);
  EXPECT_EQ(ops[0].metric, 20u);
  EXPECT_EQ(table().RouteMessage(ops[0]).metric, 20u);
  EXPECT_EQ(table().RouteMessage(ops[0]).nh_id, 0u);
  EXPECT_EQ(ops[1].id, group);
  EXPECT_THAT(IdsOf(ops, OpKind::kDeleteNexthop),
              UnorderedElementsAre(kBase, kBase + 1, kBase + 2, kBase + 3));
  EXPECT_TRUE(table().routes().empty());
  EXPECT_TRUE(table().groups().empty());
  EXPECT_TRUE(table().nexthops().empty());
  EXPECT_FALSE(table().HasWork());
  // Removing what is not there costs nothing.
  table().SetRoute(Pfx("198.19.7.0/24"), {});
  EXPECT_THAT(PlanAndTake(), IsEmpty());
}

TEST_F(FibTableTest, GroupsAndNexthopsAreDeletedOnlyOnceNoRouteOperationIsLeft) {
  table().SetRoute(Pfx("198.19.0.0/24"), Ips({"198.18.0.2", "198.18.0.3"}));
  table().SetRoute(Pfx("198.19.1.0/24"), Ips({"198.18.1.2", "198.18.1.3"}));
  table().SetRoute(Pfx("198.19.2.0/24"), Ips({"198.18.1.2", "198.18.1.3"}));
  PlanTakeAndAck();
  ASSERT_EQ(table().groups().size(), 2u);
  for (const char* p : {"198.19.0.0/24", "198.19.1.0/24", "198.19.2.0/24"}) {
    table().SetRoute(Pfx(p), {});
  }
  table().Plan();
  std::vector<Op> ops = table().TakeOps(1);
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].kind, OpKind::kDeleteRoute);
  EXPECT_EQ(table().groups().size(), 2u);
  ops = table().TakeOps(1);
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].kind, OpKind::kDeleteRoute);
  EXPECT_TRUE(table().HasWork());
  ops = table().TakeOps(1);
  // The last route, then both groups, then the four nexthops.
  EXPECT_THAT(Describe(ops),
              ElementsAre(::testing::StartsWith("delete-route"), "delete-group", "delete-group",
                          "delete-nexthop", "delete-nexthop", "delete-nexthop", "delete-nexthop"));
  EXPECT_FALSE(table().HasWork());
  EXPECT_TRUE(table().groups().empty());
  EXPECT_TRUE(table().nexthops().empty());
}

TEST_F(FibTableTest, TakeOpsSendsAtMostTheRouteBudget) {
  for (int i = 0; i < 5; ++i) {
    table().SetRoute(Pfx("198.19." + std::to_string(i) + ".0/24"), three_);
  }
  EXPECT_EQ(table().pending_routes(), 5u);
  table().Plan();
  EXPECT_EQ(table().pending_routes(), 5u);
  std::vector<Op> ops = table().TakeOps(2);
  // Every nexthop and group operation, whatever the budget.
  EXPECT_EQ(IdsOf(ops, OpKind::kAddNexthop).size(), 3u);
  EXPECT_EQ(IdsOf(ops, OpKind::kSetGroup).size(), 1u);
  EXPECT_EQ(ops.size(), 6u);
  EXPECT_EQ(table().pending_routes(), 3u);
  Ack(ops);
  ops = table().TakeOps(2);
  EXPECT_EQ(ops.size(), 2u);
  for (const Op& op : ops) EXPECT_EQ(op.kind, OpKind::kSetRoute);
  Ack(ops);
  EXPECT_TRUE(table().HasWork());
  ops = table().TakeOps(2);
  EXPECT_EQ(ops.size(), 1u);
  Ack(ops);
  EXPECT_EQ(table().pending_routes(), 0u);
  EXPECT_FALSE(table().HasWork());
  EXPECT_THAT(table().TakeOps(2), IsEmpty());
  for (const auto& [prefix, route] : table().routes()) {
    EXPECT_EQ(route.state, RouteState::kInstalled) << prefix.ToString();
  }
  // A budget of 0 holds every route operation back.
  table().SetRoute(Pfx("198.19.9.0/24"), three_);
  table().Plan();
  EXPECT_THAT(table().TakeOps(0), IsEmpty());
  EXPECT_EQ(table().pending_routes(), 1u);
  EXPECT_THAT(Describe(table().TakeOps(1)), ElementsAre("set-route 198.19.9.0/24"));
}

// --- Errors ---

TEST_F(FibTableTest, ARefusedRouteIsFailedAndRetryFailedQueuesItAgain) {
  table().SetRoute(Pfx("198.19.0.0/24"), three_);
  table().SetRoute(Pfx("198.19.1.0/24"), four_);
  std::vector<Op> ops = PlanAndTake();
  for (const Op& op : ops) {
    const bool refuse = op.kind == OpKind::kSetRoute && op.prefix == Pfx("198.19.0.0/24");
    table().OnResult(op, refuse ? EINVAL : 0, refuse ? "Invalid argument, really" : "", 42);
  }
  const FibTable::RouteEntry& failed = Route("198.19.0.0/24");
  EXPECT_EQ(failed.state, RouteState::kFailed);
  EXPECT_EQ(failed.error, EINVAL);
  EXPECT_EQ(failed.error_message, "Invalid argument, really");
  EXPECT_EQ(failed.updated_ns, 42);
  EXPECT_EQ(Route("198.19.1.0/24").state, RouteState::kInstalled);
  EXPECT_EQ(table().failed_routes(), 1u);
  EXPECT_FALSE(table().HasWork());

  EXPECT_EQ(table().RetryFailed(), 1u);
  EXPECT_TRUE(table().HasWork());
  ops = PlanAndTake();
  EXPECT_THAT(Describe(ops), ElementsAre("set-route 198.19.0.0/24"));
  EXPECT_EQ(Route("198.19.0.0/24").state, RouteState::kPending);
  Ack(ops);
  EXPECT_EQ(Route("198.19.0.0/24").state, RouteState::kInstalled);
  EXPECT_EQ(Route("198.19.0.0/24").error, 0);
  EXPECT_EQ(table().failed_routes(), 0u);
  EXPECT_EQ(table().RetryFailed(), 0u);
}

TEST_F(FibTableTest, RefusedNexthopsAndGroupsAreRetriedToo) {
  table().SetRoute(Pfx("198.19.0.0/24"), Ips({"198.18.0.2", "198.18.0.3"}));
  std::vector<Op> ops = PlanAndTake();
  ASSERT_EQ(ops.size(), 4u);
  for (const Op& op : ops) table().OnResult(op, op.kind == OpKind::kSetRoute ? 0 : ENETDOWN, "", 1);
  // The route's ack said yes (say): only the refused nexthops and group come again.
  for (const auto& [id, nh] : table().nexthops()) EXPECT_FALSE(nh.installed);
  EXPECT_EQ(table().groups().begin()->second.error, ENETDOWN);
  EXPECT_EQ(table().RetryFailed(), 3u);
  EXPECT_THAT(Describe(PlanAndTake()), ElementsAre("add-nexthop", "add-nexthop", "set-group"));
}

TEST_F(FibTableTest, ARouteWhoseNextHopsDoNotResolveIsFailedWithoutAnOperation) {
  table().SetRoute(Pfx("198.19.0.0/24"), Ips({"198.19.200.1"}));
  EXPECT_THAT(PlanAndTake(), IsEmpty());
  EXPECT_EQ(Route("198.19.0.0/24").state, RouteState::kFailed);
  EXPECT_EQ(Route("198.19.0.0/24").error, ENETUNREACH);
  EXPECT_FALSE(Route("198.19.0.0/24").error_message.empty());
  EXPECT_EQ(table().failed_routes(), 1u);

  // A neighbor that does resolve, among some that do not: the route uses what resolves.
  table().SetRoute(Pfx("198.19.1.0/24"), Ips({"198.19.200.1", "198.18.0.2"}));
  EXPECT_THAT(Describe(PlanTakeAndAck()),
              ElementsAre("add-nexthop", "set-group", "set-route 198.19.1.0/24"));
  EXPECT_EQ(MembersOf(Route("198.19.1.0/24").group), Ips({"198.18.0.2"}));

  // The address becomes reachable (an interface came up): retried.
  gateways_[Ip("198.19.200.1")] = {Ip("198.18.1.2"), kIf1};
  EXPECT_EQ(table().RetryFailed(), 1u);
  EXPECT_THAT(Describe(PlanTakeAndAck()),
              ElementsAre("add-nexthop", "set-group", "set-route 198.19.0.0/24"));
  EXPECT_EQ(Route("198.19.0.0/24").state, RouteState::kInstalled);
  EXPECT_EQ(MembersOf(Route("198.19.0.0/24").group), Ips({"198.18.1.2"}));
}

TEST_F(FibTableTest, AnInstalledRouteLosingEveryNextHopIsDeletedAndFailed) {
  table().SetRoute(Pfx("198.19.0.0/24"), Ips({"198.18.0.2"}));
  PlanTakeAndAck();
  gateways_.erase(Ip("198.18.1.2"));
  table().SetRoute(Pfx("198.19.0.0/24"), Ips({"198.18.1.2"}));  // does not resolve
  EXPECT_THAT(Describe(PlanTakeAndAck()),
              ElementsAre("delete-route 198.19.0.0/24", "delete-group", "delete-nexthop"));
  EXPECT_EQ(Route("198.19.0.0/24").state, RouteState::kFailed);
  EXPECT_EQ(Route("198.19.0.0/24").group, 0u);
}

// --- Start-up: adopting what a previous instance left ---

class FibTableReconcileTest : public FibTableTest {
 protected:
  // What a previous instance left: three gateways, a group of them used by three routes (one
  // at another metric), a group of one that nothing uses, and other protocols' objects.
  void SetUp() override {
    auto gateway_nh = [](uint32_t id, const char* address, uint32_t ifindex, uint8_t protocol) {
      KernelNexthop nh;
      nh.id = id;
      nh.protocol = protocol;
      nh.gateway = {Ip(address), ifindex};
      return nh;
    };
    kernel_nexthops_ = {
        gateway_nh(kBase + 1, "198.18.0.2", kIf0, 200),
        gateway_nh(kBase + 2, "198.18.0.3", kIf0, 200),
        gateway_nh(kBase + 3, "198.18.1.2", kIf1, 200),
        gateway_nh(77, "198.18.1.3", kIf1, 3),  // someone else's
    };
    KernelNexthop group;
    group.id = kBase + 10;
    group.protocol = 200;
    group.group = {kBase + 3, kBase + 1, kBase + 2};  // the kernel's order, not sorted
    kernel_nexthops_.push_back(group);
    KernelNexthop unused;
    unused.id = kBase + 11;
    unused.protocol = 200;
    unused.group = {kBase + 1};
    kernel_nexthops_.push_back(unused);

    auto route = [](const char* prefix, uint32_t nh_id, uint32_t metric, uint8_t protocol,
                    uint32_t table) {
      KernelRoute r;
      r.prefix = Pfx(prefix);
      r.nh_id = nh_id;
      r.metric = metric;
      r.protocol = protocol;
      r.table = table;
      return r;
    };
    kernel_routes_ = {
        route("198.19.1.0/24", kBase + 10, 20, 200, 254),
        route("198.19.2.0/24", kBase + 10, 20, 200, 254),
        route("198.19.3.0/24", kBase + 10, 30, 200, 254),
        route("198.19.4.0/24", 77, 20, 186, 254),          // another protocol
        route("198.19.5.0/24", kBase + 10, 20, 200, 100),  // another table
    };
  }

  std::vector<KernelNexthop> kernel_nexthops_;
  std::vector<KernelRoute> kernel_routes_;
};

TEST_F(FibTableReconcileTest, AdoptsNexthopsGroupsAndRoutesAsStale) {
  table().Reconcile(kernel_nexthops_, kernel_routes_, /*adopt_routes=*/true);
  EXPECT_EQ(table().routes().size(), 3u);
  for (const char* p : {"198.19.1.0/24", "198.19.2.0/24", "198.19.3.0/24"}) {
    EXPECT_EQ(Route(p).state, RouteState::kStale) << p;
    EXPECT_EQ(Route(p).group, kBase + 10) << p;
    EXPECT_TRUE(Route(p).wanted.empty());
  }
  EXPECT_EQ(Route("198.19.3.0/24").kernel_metric, 30u);
  EXPECT_FALSE(table().routes().contains(Pfx("198.19.4.0/24")));
  EXPECT_FALSE(table().routes().contains(Pfx("198.19.5.0/24")));
  EXPECT_EQ(table().nexthops().size(), 3u);
  EXPECT_FALSE(table().nexthops().contains(77));
  EXPECT_EQ(table().groups().size(), 2u);
  EXPECT_EQ(table().groups().at(kBase + 10).route_refs, 3u);
  EXPECT_EQ(table().groups().at(kBase + 10).members,
            (std::vector<uint32_t>{kBase + 1, kBase + 2, kBase + 3}));
  EXPECT_TRUE(table().groups().at(kBase + 10).installed);
  EXPECT_EQ(MembersOf(kBase + 10), three_);

  // Nothing to send but the group nobody uses (after the routes: there are none).
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops), ElementsAre("delete-group"));
  EXPECT_EQ(ops[0].id, kBase + 11);
  EXPECT_EQ(table().nexthops().size(), 3u);  // all still members of the used group

  // New ids never collide with adopted ones.
  table().SetRoute(Pfx("198.19.9.0/24"), Ips({"198.18.1.3"}));
  const std::vector<Op> more = PlanTakeAndAck();
  ASSERT_THAT(Describe(more), ElementsAre("add-nexthop", "set-group", "set-route 198.19.9.0/24"));
  EXPECT_GT(more[0].id, kBase + 11);
  EXPECT_GT(more[1].id, more[0].id);
}

TEST_F(FibTableReconcileTest, AReannouncedRouteWithTheSameMembersIsConfirmedWithoutAnOperation) {
  table().Reconcile(kernel_nexthops_, kernel_routes_, /*adopt_routes=*/true);
  PlanTakeAndAck();
  const int lookups = lookups_;
  table().SetRoute(Pfx("198.19.1.0/24"), three_);
  EXPECT_THAT(PlanTakeAndAck(), IsEmpty());
  EXPECT_GT(lookups_, lookups);
  EXPECT_EQ(Route("198.19.1.0/24").state, RouteState::kInstalled);
  EXPECT_EQ(Route("198.19.1.0/24").group, kBase + 10);
  EXPECT_EQ(Route("198.19.2.0/24").state, RouteState::kStale);
  // A new route with the same set uses the adopted group.
  table().SetRoute(Pfx("198.19.8.0/24"), three_);
  EXPECT_THAT(Describe(PlanTakeAndAck()), ElementsAre("set-route 198.19.8.0/24"));
  EXPECT_EQ(Route("198.19.8.0/24").group, kBase + 10);
}

TEST_F(FibTableReconcileTest, StaleRoutesAreHeldUntilExpireStaleThenTheUnannouncedAreDeleted) {
  table().Reconcile(kernel_nexthops_, kernel_routes_, /*adopt_routes=*/true);
  PlanTakeAndAck();
  // Announced again with another set (the first neighbor back): held as the kernel has it.
  table().SetRoute(Pfx("198.19.1.0/24"), Ips({"198.18.0.2"}));
  table().SetRoute(Pfx("198.19.2.0/24"), three_);
  EXPECT_THAT(PlanTakeAndAck(), IsEmpty());
  EXPECT_EQ(Route("198.19.1.0/24").state, RouteState::kStale);
  EXPECT_EQ(Route("198.19.1.0/24").group, kBase + 10);
  EXPECT_EQ(Route("198.19.2.0/24").state, RouteState::kInstalled);

  // The end of the stale period: 198.19.3.0/24 nobody announced (at metric 30 in the kernel).
  EXPECT_EQ(table().ExpireStale(), 1u);
  const std::vector<Op> ops = PlanTakeAndAck();
  const Op* deleted = Find(ops, OpKind::kDeleteRoute, Pfx("198.19.3.0/24"));
  ASSERT_NE(deleted, nullptr) << ::testing::PrintToString(Describe(ops));
  EXPECT_EQ(deleted->metric, 30u);
  EXPECT_EQ(table().RouteMessage(*deleted).metric, 30u);
  // 198.19.1.0/24 now gets its own set: a new group (198.19.2.0/24 stays on the old one).
  const Op* moved = Find(ops, OpKind::kSetRoute, Pfx("198.19.1.0/24"));
  ASSERT_NE(moved, nullptr) << ::testing::PrintToString(Describe(ops));
  EXPECT_NE(table().RouteMessage(*moved).nh_id, kBase + 10);
  EXPECT_EQ(MembersOf(Route("198.19.1.0/24").group), Ips({"198.18.0.2"}));
  EXPECT_EQ(Find(ops, OpKind::kSetRoute, Pfx("198.19.2.0/24")), nullptr);
  EXPECT_FALSE(table().routes().contains(Pfx("198.19.3.0/24")));
  EXPECT_EQ(Route("198.19.1.0/24").state, RouteState::kInstalled);
  EXPECT_EQ(Route("198.19.2.0/24").group, kBase + 10);
  for (const auto& [prefix, route] : table().routes()) {
    EXPECT_NE(route.state, RouteState::kStale) << prefix.ToString();
  }
  // After the stale period a change is not held any more.
  table().SetRoute(Pfx("198.19.2.0/24"), Ips({"198.18.0.2"}));
  EXPECT_THAT(Describe(PlanTakeAndAck()), ::testing::Contains("set-route 198.19.2.0/24"));
}

// An adopted route at another metric than ours, announced again with the same next hops, is
// moved to our metric once the stale period ends (the new route first, then the old one).
TEST_F(FibTableReconcileTest, AnAdoptedRouteAtAnotherMetricGetsOursAfterTheStalePeriod) {
  table().Reconcile(kernel_nexthops_, kernel_routes_, /*adopt_routes=*/true);
  PlanTakeAndAck();
  table().SetRoute(Pfx("198.19.3.0/24"), three_);
  EXPECT_THAT(PlanTakeAndAck(), IsEmpty());
  EXPECT_EQ(Route("198.19.3.0/24").state, RouteState::kStale);  // not as we want it yet
  table().ExpireStale();
  table().Plan();
  const std::vector<Op> ops = table().TakeOps(1000);
  const Op* set = Find(ops, OpKind::kSetRoute, Pfx("198.19.3.0/24"));
  const Op* old = Find(ops, OpKind::kDeleteRoute, Pfx("198.19.3.0/24"));
  ASSERT_NE(set, nullptr) << ::testing::PrintToString(Describe(ops));
  ASSERT_NE(old, nullptr) << ::testing::PrintToString(Describe(ops));
  EXPECT_LT(set, old);
  EXPECT_EQ(table().RouteMessage(*set).metric, 20u);
  EXPECT_EQ(table().RouteMessage(*set).nh_id, kBase + 10);
  EXPECT_EQ(old->metric, 30u);
  Ack(ops);
  EXPECT_EQ(Route("198.19.3.0/24").state, RouteState::kInstalled);
  EXPECT_EQ(Route("198.19.3.0/24").kernel_metric, 20u);
}

TEST_F(FibTableReconcileTest, WithoutAdoptionUnknownRoutesAreDeleted) {
  table().Reconcile(kernel_nexthops_, kernel_routes_, /*adopt_routes=*/false);
  EXPECT_TRUE(table().routes().empty());
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops),
              UnorderedElementsAre("delete-route 198.19.1.0/24", "delete-route 198.19.2.0/24",
                                   "delete-route 198.19.3.0/24", "delete-group", "delete-group",
                                   "delete-nexthop", "delete-nexthop", "delete-nexthop"));
  EXPECT_EQ(Find(ops, OpKind::kDeleteRoute, Pfx("198.19.3.0/24"))->metric, 30u);
  EXPECT_EQ(Find(ops, OpKind::kDeleteRoute, Pfx("198.19.1.0/24"))->metric, 20u);
  EXPECT_TRUE(table().groups().empty());
  EXPECT_TRUE(table().nexthops().empty());
}

// Found by tests/fuzz/rtnl_fuzzer.cc: after adopting a nexthop of ours with id 2^32 - 1 the id
// counter wrapped to 0 (a request with NHA_ID 0 lets the kernel choose), and new ids could land on
// another protocol's nexthop or on a member of an adopted group (NLM_F_REPLACE overwrites them).
TEST_F(FibTableReconcileTest, NewIdsSkipEveryIdOfTheDumpAndNeverWrapToZero) {
  const KernelNexthop foreign{.id = kBase, .protocol = 3, .gateway = {Ip("198.18.0.9"), kIf0}};
  const KernelNexthop last{.id = 0xFFFFFFFF, .protocol = 200, .gateway = {Ip("198.18.0.8"), kIf0}};
  const KernelNexthop group{.id = kBase + 13, .protocol = 200, .group = {kBase + 4}};
  kernel_nexthops_.insert(kernel_nexthops_.end(), {foreign, group, last});  // the highest last
  table().Reconcile(kernel_nexthops_, kernel_routes_, /*adopt_routes=*/true);
  table().SetRoute(Pfx("198.19.8.0/24"), Ips({"198.18.1.3"}));
  table().SetRoute(Pfx("198.19.9.0/24"), Ips({"198.18.0.3", "198.18.1.3"}));
  const std::vector<Op> ops = PlanTakeAndAck();
  const std::vector<uint32_t> taken = {kBase,      kBase + 1,  kBase + 2,  kBase + 3, kBase + 4,
                                       kBase + 10, kBase + 11, kBase + 13, 77,        0xFFFFFFFF};
  size_t created = 0;
  for (const Op& op : ops) {
    if (op.kind != OpKind::kAddNexthop && op.kind != OpKind::kSetGroup) continue;
    ++created;
    EXPECT_NE(op.id, 0u) << Describe(op);
    EXPECT_EQ(std::count(taken.begin(), taken.end(), op.id), 0) << Describe(op) << " " << op.id;
  }
  EXPECT_EQ(created, 3u) << ::testing::PrintToString(Describe(ops));
}

// Found by tests/fuzz/rtnl_fuzzer.cc: an adopted object nothing uses, deleted from outside, was
// queued again and deleted in the same TakeOps(); FibWriter::Send then built the install from the
// deleted entry (std::out_of_range from nexthops_.at(): strobe-bgpd terminated).
TEST_F(FibTableReconcileTest, AnUnusedAdoptedObjectDeletedFromOutsideIsOnlyDeleted) {
  const KernelNexthop spare{.id = kBase + 5, .protocol = 200, .gateway = {Ip("198.18.1.3"), kIf1}};
  kernel_nexthops_.push_back(spare);
  table().Reconcile(kernel_nexthops_, kernel_routes_, /*adopt_routes=*/true);
  EXPECT_TRUE(table().OnNexthopDeleted(kBase + 5));
  EXPECT_TRUE(table().OnNexthopDeleted(kBase + 11));  // the group nothing uses
  const std::vector<Op> ops = PlanAndTake();
  EXPECT_THAT(Describe(ops), UnorderedElementsAre("delete-group", "delete-nexthop"));
  EXPECT_THAT(IdsOf(ops, OpKind::kDeleteNexthop), ElementsAre(kBase + 5));
  EXPECT_THAT(IdsOf(ops, OpKind::kDeleteGroup), ElementsAre(kBase + 11));
}

// Found by tests/fuzz/rtnl_fuzzer.cc: a failover in an adopted group holding another protocol's
// nexthop made an (empty) entry of ours for it, which RetryFailed() then sent to the kernel as
// "replace nexthop 77 with gateway ::".
TEST_F(FibTableReconcileTest, AFailoverInAnAdoptedGroupWithAForeignMemberMakesNoEntryForIt) {
  const KernelNexthop mixed{.id = kBase + 12, .protocol = 200, .group = {kBase + 1, 77}};
  kernel_nexthops_.push_back(mixed);
  KernelRoute route;
  route.prefix = Pfx("198.19.6.0/24");
  route.nh_id = kBase + 12;
  route.metric = 20;
  route.protocol = 200;
  route.table = 254;
  kernel_routes_.push_back(route);
  table().Reconcile(kernel_nexthops_, kernel_routes_, /*adopt_routes=*/true);
  EXPECT_EQ(table().NextHopsDown(Ips({"198.18.0.2"}), 5), 2u);
  EXPECT_EQ(table().groups().at(kBase + 12).members, (std::vector<uint32_t>{77}));
  EXPECT_FALSE(table().nexthops().contains(77));
  table().RetryFailed();
  for (const Op& op : PlanAndTake()) {
    EXPECT_FALSE(op.kind == OpKind::kAddNexthop && op.id == 77) << Describe(op);
  }
}

TEST_F(FibTableTest, ResyncQueuesAgainAMissingGroupAndItsRoutesAndDeletesUnknownRoutes) {
  table().SetRoute(Pfx("198.19.0.0/24"), three_);
  table().SetRoute(Pfx("198.19.1.0/24"), three_);
  table().SetRoute(Pfx("198.19.2.0/24"), Ips({"198.18.1.3"}));
  PlanTakeAndAck();
  const uint32_t group = Route("198.19.0.0/24").group;
  const uint32_t other = Route("198.19.2.0/24").group;

  // The dump: every nexthop, the group `other` and its route; `group` and its routes gone; a
  // route of ours nobody wants.
  std::vector<KernelNexthop> nexthops;
  for (const auto& [id, nh] : table().nexthops()) {
    nexthops.push_back({.id = id, .protocol = 200, .gateway = nh.gateway});
  }
  nexthops.push_back({.id = other, .protocol = 200, .group = table().groups().at(other).members});
  std::vector<KernelRoute> routes = {
      {.prefix = Pfx("198.19.2.0/24"), .table = 254, .protocol = 200, .metric = 20, .nh_id = other},
      {.prefix = Pfx("198.19.66.0/24"),
       .table = 254,
       .protocol = 200,
       .metric = 55,
       .nh_id = other},
  };
  table().Reconcile(nexthops, routes, /*adopt_routes=*/false);
  EXPECT_EQ(Route("198.19.2.0/24").state, RouteState::kInstalled);
  EXPECT_EQ(Route("198.19.0.0/24").state, RouteState::kPending);
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops),
              UnorderedElementsAre("set-group", "set-route 198.19.0.0/24",
                                   "set-route 198.19.1.0/24", "delete-route 198.19.66.0/24"));
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(Describe(ops[0]), "set-group");
  EXPECT_EQ(ops[0].id, group);
  EXPECT_EQ(Find(ops, OpKind::kDeleteRoute, Pfx("198.19.66.0/24"))->metric, 55u);
  EXPECT_FALSE(table().routes().contains(Pfx("198.19.66.0/24")));
  EXPECT_EQ(Route("198.19.0.0/24").state, RouteState::kInstalled);
  EXPECT_EQ(Route("198.19.0.0/24").group, group);

  // A dump that matches everything costs nothing.
  nexthops.push_back({.id = group, .protocol = 200, .group = table().groups().at(group).members});
  routes = {
      {.prefix = Pfx("198.19.0.0/24"), .table = 254, .protocol = 200, .metric = 20, .nh_id = group},
      {.prefix = Pfx("198.19.1.0/24"), .table = 254, .protocol = 200, .metric = 20, .nh_id = group},
      {.prefix = Pfx("198.19.2.0/24"), .table = 254, .protocol = 200, .metric = 20, .nh_id = other},
  };
  table().Reconcile(nexthops, routes, /*adopt_routes=*/false);
  EXPECT_FALSE(table().HasWork());
  EXPECT_THAT(PlanAndTake(), IsEmpty());
}

TEST_F(FibTableTest, ResyncSetsAgainAGroupWithOtherMembersAndANexthopWithAnotherGateway) {
  table().SetRoute(Pfx("198.19.0.0/24"), three_);
  PlanTakeAndAck();
  const uint32_t group = Route("198.19.0.0/24").group;
  std::vector<KernelNexthop> nexthops;
  for (const auto& [id, nh] : table().nexthops()) {
    nexthops.push_back({.id = id, .protocol = 200, .gateway = nh.gateway});
  }
  nexthops[0].gateway.ifindex = 99;
  nexthops.push_back({.id = group, .protocol = 200, .group = {kBase}});
  const std::vector<KernelRoute> routes = {
      {.prefix = Pfx("198.19.0.0/24"), .table = 254, .protocol = 200, .metric = 20, .nh_id = group},
  };
  table().Reconcile(nexthops, routes, /*adopt_routes=*/false);
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops), ElementsAre("add-nexthop", "set-group"));
  EXPECT_EQ(ops[0].id, nexthops[0].id);
  EXPECT_EQ(ops[1].id, group);
}

// --- Repairs ---

TEST_F(FibTableTest, ADeletedGroupIsQueuedAgainWithEveryRouteOnIt) {
  table().SetRoute(Pfx("198.19.0.0/24"), three_);
  table().SetRoute(Pfx("198.19.1.0/24"), three_);
  table().SetRoute(Pfx("198.19.2.0/24"), four_);
  PlanTakeAndAck();
  const uint32_t group = Route("198.19.0.0/24").group;
  EXPECT_TRUE(table().OnNexthopDeleted(group));
  EXPECT_FALSE(table().groups().at(group).installed);
  EXPECT_EQ(Route("198.19.0.0/24").state, RouteState::kPending);
  EXPECT_EQ(Route("198.19.2.0/24").state, RouteState::kInstalled);
  // Already known gone (our own deletion's echo, say): nothing more.
  EXPECT_FALSE(table().OnNexthopDeleted(group));
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops), ElementsAre("set-group", ::testing::StartsWith("set-route"),
                                         ::testing::StartsWith("set-route")));
  EXPECT_EQ(ops[0].id, group);
  EXPECT_THAT(Describe(ops),
              ::testing::IsSupersetOf({"set-route 198.19.0.0/24", "set-route 198.19.1.0/24"}));
  EXPECT_EQ(Route("198.19.0.0/24").state, RouteState::kInstalled);
  // Not ours.
  EXPECT_FALSE(table().OnNexthopDeleted(12345));
}

TEST_F(FibTableTest, ADeletedGatewayNexthopIsQueuedAgainWithEveryGroupHoldingIt) {
  table().SetRoute(Pfx("198.19.0.0/24"), three_);
  table().SetRoute(Pfx("198.19.1.0/24"), Ips({"198.18.0.2"}));
  table().SetRoute(Pfx("198.19.2.0/24"), Ips({"198.18.1.3"}));
  PlanTakeAndAck();
  const uint32_t nh = kBase;  // 198.18.0.2
  ASSERT_EQ(table().nexthops().at(nh).gateway.address, Ip("198.18.0.2"));
  EXPECT_TRUE(table().OnNexthopDeleted(nh));
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops), ElementsAre("add-nexthop", "set-group", "set-group"));
  EXPECT_EQ(ops[0].id, nh);
  EXPECT_THAT(IdsOf(ops, OpKind::kSetGroup),
              UnorderedElementsAre(Route("198.19.0.0/24").group, Route("198.19.1.0/24").group));
}

TEST_F(FibTableTest, ANexthopChangedFromOutsideIsSetAgain) {
  table().SetRoute(Pfx("198.19.0.0/24"), three_);
  PlanTakeAndAck();
  const uint32_t group = Route("198.19.0.0/24").group;
  KernelNexthop echo{.id = group, .protocol = 200, .group = table().groups().at(group).members};
  EXPECT_FALSE(table().OnNexthopChanged(echo));  // what we sent
  KernelNexthop changed{.id = group, .protocol = 200, .group = {kBase}};
  EXPECT_TRUE(table().OnNexthopChanged(changed));
  KernelNexthop foreign{.id = group, .protocol = 3, .group = {kBase}};
  EXPECT_FALSE(table().OnNexthopChanged(foreign));
  KernelNexthop gateway{.id = kBase, .protocol = 200, .gateway = {Ip("198.18.0.9"), kIf0}};
  EXPECT_TRUE(table().OnNexthopChanged(gateway));
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops), ElementsAre("add-nexthop", "set-group"));
}

// --- Without nexthop objects ---

TEST_F(FibTableTest, MultipathModeSetsRoutesCarryingTheirGateways) {
  FibTableOptions options;
  options.nexthop_objects = false;
  Make(options);
  table().SetRoute(Pfx("198.19.0.0/24"), four_);
  table().SetRoute(Pfx("198.19.1.0/24"), Ips({"2001:db8::2", "198.18.0.2"}));
  std::vector<Op> ops = PlanAndTake();
  EXPECT_THAT(Describe(ops),
              UnorderedElementsAre("set-route 198.19.0.0/24", "set-route 198.19.1.0/24"));
  const KernelRoute r = table().RouteMessage(*Find(ops, OpKind::kSetRoute, Pfx("198.19.0.0/24")));
  EXPECT_EQ(r.nh_id, 0u);
  EXPECT_EQ(r.metric, 20u);
  EXPECT_EQ(r.gateways, (std::vector<Gateway>{{Ip("198.18.0.2"), kIf0},
                                              {Ip("198.18.0.3"), kIf0},
                                              {Ip("198.18.1.2"), kIf1},
                                              {Ip("198.18.1.3"), kIf1}}));
  const KernelRoute mixed =
      table().RouteMessage(*Find(ops, OpKind::kSetRoute, Pfx("198.19.1.0/24")));
  EXPECT_EQ(mixed.gateways,
            (std::vector<Gateway>{{Ip("198.18.0.2"), kIf0}, {Ip("2001:db8::2"), kIf0}}));
  Ack(ops);
  EXPECT_TRUE(table().groups().empty());
  EXPECT_TRUE(table().nexthops().empty());
  EXPECT_EQ(Route("198.19.0.0/24").state, RouteState::kInstalled);

  // No groups to rewrite: failover is per route.
  const std::vector<net::IpAddress> down = Ips({"198.18.1.3"});
  EXPECT_EQ(table().NextHopsDown(down, 1), 0u);
  table().SetRoute(Pfx("198.19.0.0/24"), four_);
  EXPECT_THAT(PlanAndTake(), IsEmpty());
  table().SetRoute(Pfx("198.19.0.0/24"), three_);
  ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops), ElementsAre("set-route 198.19.0.0/24"));
  EXPECT_EQ(table().RouteMessage(ops[0]).gateways.size(), 3u);
  table().SetRoute(Pfx("198.19.0.0/24"), {});
  ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops), ElementsAre("delete-route 198.19.0.0/24"));
  EXPECT_EQ(ops[0].metric, 20u);
}

TEST_F(FibTableTest, MultipathModeAdoptsAndHoldsStaleRoutes) {
  FibTableOptions options;
  options.nexthop_objects = false;
  Make(options);
  const std::vector<KernelRoute> kernel = {
      {.prefix = Pfx("198.19.1.0/24"),
       .table = 254,
       .protocol = 200,
       .metric = 20,
       .gateways = {{Ip("198.18.0.3"), kIf0}, {Ip("198.18.0.2"), kIf0}}},
      {.prefix = Pfx("198.19.2.0/24"),
       .table = 254,
       .protocol = 200,
       .metric = 20,
       .gateways = {{Ip("198.18.0.2"), kIf0}}},
  };
  table().Reconcile({}, kernel, /*adopt_routes=*/true);
  EXPECT_EQ(Route("198.19.1.0/24").state, RouteState::kStale);
  table().SetRoute(Pfx("198.19.1.0/24"), Ips({"198.18.0.2", "198.18.0.3"}));
  EXPECT_THAT(PlanAndTake(), IsEmpty());
  EXPECT_EQ(Route("198.19.1.0/24").state, RouteState::kInstalled);
  EXPECT_EQ(Route("198.19.2.0/24").state, RouteState::kStale);
  EXPECT_EQ(table().ExpireStale(), 1u);
  EXPECT_THAT(Describe(PlanTakeAndAck()), ElementsAre("delete-route 198.19.2.0/24"));
  EXPECT_EQ(table().routes().size(), 1u);
}

TEST_F(FibTableTest, MultipathModeMovesAnAdoptedRouteToOurMetricAfterTheStalePeriod) {
  FibTableOptions options;
  options.nexthop_objects = false;
  Make(options);
  const std::vector<KernelRoute> kernel = {
      {.prefix = Pfx("198.19.1.0/24"),
       .table = 254,
       .protocol = 200,
       .metric = 30,
       .gateways = {{Ip("198.18.0.2"), kIf0}}},
  };
  table().Reconcile({}, kernel, /*adopt_routes=*/true);
  table().SetRoute(Pfx("198.19.1.0/24"), Ips({"198.18.0.2"}));
  EXPECT_THAT(PlanAndTake(), IsEmpty());
  EXPECT_EQ(Route("198.19.1.0/24").state, RouteState::kStale);
  table().ExpireStale();
  const std::vector<Op> ops = PlanTakeAndAck();
  EXPECT_THAT(Describe(ops), ElementsAre("set-route 198.19.1.0/24", "delete-route 198.19.1.0/24"));
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[1].metric, 30u);
  EXPECT_EQ(Route("198.19.1.0/24").state, RouteState::kInstalled);
  EXPECT_EQ(Route("198.19.1.0/24").kernel_metric, 20u);
}

// --- Everything out ---

TEST_F(FibTableTest, TakeRemoveAllDeletesGroupsThenNexthopsAndEmptiesTheTable) {
  table().SetRoute(Pfx("198.19.0.0/24"), three_);
  table().SetRoute(Pfx("198.19.1.0/24"), four_);
  table().SetRoute(Pfx("2001:db8:ff::/48"), Ips({"2001:db8::2"}));
  PlanTakeAndAck();
  const size_t groups = table().groups().size();
  const size_t nexthops = table().nexthops().size();
  ASSERT_EQ(groups, 3u);
  ASSERT_EQ(nexthops, 5u);
  const std::vector<Op> ops = table().TakeRemoveAll();
  // Deleting a group deletes its routes in the kernel: no route operation.
  ASSERT_EQ(ops.size(), groups + nexthops);
  for (size_t i = 0; i < ops.size(); ++i) {
    EXPECT_EQ(ops[i].kind, i < groups ? OpKind::kDeleteGroup : OpKind::kDeleteNexthop) << i;
  }
  EXPECT_TRUE(table().routes().empty());
  EXPECT_TRUE(table().groups().empty());
  EXPECT_TRUE(table().nexthops().empty());
  EXPECT_FALSE(table().HasWork());
  EXPECT_THAT(table().TakeRemoveAll(), IsEmpty());
  EXPECT_THAT(PlanAndTake(), IsEmpty());
}

TEST_F(FibTableTest, TakeRemoveAllInMultipathModeDeletesEachRouteAtItsMetric) {
  FibTableOptions options;
  options.nexthop_objects = false;
  options.metric = 50;
  Make(options);
  table().SetRoute(Pfx("198.19.0.0/24"), three_);
  table().SetRoute(Pfx("2001:db8:ff::/48"), Ips({"2001:db8::2"}));
  PlanTakeAndAck();
  const std::vector<Op> ops = table().TakeRemoveAll();
  EXPECT_THAT(Describe(ops),
              UnorderedElementsAre("delete-route 198.19.0.0/24", "delete-route 2001:db8:ff::/48"));
  for (const Op& op : ops) EXPECT_EQ(op.metric, 50u);
  EXPECT_TRUE(table().routes().empty());
}

TEST_F(FibTableTest, OptionsReachTheMessages) {
  FibTableOptions options;
  options.resilient = true;
  options.resilient_buckets = 64;
  options.table = 1000;
  options.protocol = 99;
  options.metric = 7;
  options.first_id = 500;
  Make(options);
  table().SetRoute(Pfx("198.19.0.0/24"), Ips({"198.18.0.2", "198.18.0.3"}));
  const std::vector<Op> ops = PlanAndTake();
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(ops[0].id, 500u);
  const KernelNexthop group = table().NexthopMessage(ops[2]);
  EXPECT_EQ(group.id, 502u);
  EXPECT_TRUE(group.resilient);
  EXPECT_EQ(group.buckets, 64);
  EXPECT_EQ(group.protocol, 99);
  const KernelRoute route = table().RouteMessage(ops[3]);
  EXPECT_EQ(route.table, 1000u);
  EXPECT_EQ(route.protocol, 99);
  EXPECT_EQ(route.metric, 7u);
  EXPECT_EQ(route.nh_id, 502u);
}

TEST(FibTableNamesTest, EveryKindAndStateHasAName) {
  EXPECT_STREQ(OpKindName(OpKind::kAddNexthop), "add-nexthop");
  EXPECT_STREQ(OpKindName(OpKind::kSetGroup), "set-group");
  EXPECT_STREQ(OpKindName(OpKind::kSetRoute), "set-route");
  EXPECT_STREQ(OpKindName(OpKind::kDeleteRoute), "delete-route");
  EXPECT_STREQ(OpKindName(OpKind::kDeleteGroup), "delete-group");
  EXPECT_STREQ(OpKindName(OpKind::kDeleteNexthop), "delete-nexthop");
  EXPECT_STREQ(RouteStateName(RouteState::kPending), "pending");
  EXPECT_STREQ(RouteStateName(RouteState::kInstalled), "installed");
  EXPECT_STREQ(RouteStateName(RouteState::kFailed), "failed");
  EXPECT_STREQ(RouteStateName(RouteState::kStale), "stale");
}

}  // namespace
}  // namespace strobe::fib
