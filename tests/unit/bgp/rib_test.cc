// Adj-RIB-In / Loc-RIB: add, replace, withdraw, withdraw-all (BFD Down) and the Loc-RIB changes
// handed to the FIB writer; attribute interning across many prefixes.
#include "controlplane/bgp/rib.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace strobe::bgp {
namespace {

net::IpAddress Ip(const std::string& text) { return *net::IpAddress::Parse(text); }
RibPrefix Pfx(const std::string& text) { return *RibPrefix::Parse(text); }
using Hops = NextHopSet;

class RibTest : public ::testing::Test {
 protected:
  explicit RibTest(DecisionOptions options = {}) : rib_(options) {}

  Path MakePath(const std::string& neighbor, uint32_t as, uint32_t router_id,
                std::optional<uint32_t> local_pref = std::nullopt, std::string next_hop = "") {
    RouteAttributes a;
    a.as_path = {AsPathSegment{kAsSequence, {as}}};
    a.next_hop = Ip(next_hop.empty() ? neighbor : next_hop);
    a.local_pref = local_pref;
    Path p;
    p.router_id = router_id;
    p.neighbor_as = as;
    p.ebgp = true;
    p.attributes = rib_.attribute_pool().Intern(std::move(a));
    return p;
  }

  std::optional<Path> AdjRibIn(const net::IpAddress& neighbor, const RibPrefix& prefix) {
    return rib_.EffectivePath(rib_.AddSource(neighbor), prefix);
  }
  size_t AdjRibInSize(const net::IpAddress& neighbor) {
    return rib_.stats(rib_.AddSource(neighbor)).received;
  }

  Rib rib_;
};

TEST(RibPrefixTest, ParseMasksOrdersAndConverts) {
  EXPECT_EQ(Pfx("10.1.2.3/8").ToString(), "10.0.0.0/8");
  EXPECT_EQ(Pfx("2001:db8:ffff::1/32").ToString(), "2001:db8::/32");
  EXPECT_FALSE(RibPrefix::Parse("10.0.0.0/33").ok());
  EXPECT_FALSE(RibPrefix::Parse("10.0.0.0").ok());
  EXPECT_LT(Pfx("10.0.0.0/8"), Pfx("10.0.0.0/9"));
  EXPECT_LT(Pfx("10.0.0.0/8"), Pfx("::/0"));  // IPv4 before IPv6.
  Prefix wire;
  wire.afi = kAfiIpv6;
  wire.length = 64;
  wire.address = Ip("2001:db8::").bytes();
  EXPECT_EQ(RibPrefix::FromWire(wire), Pfx("2001:db8::/64"));
}

TEST_F(RibTest, AddReplaceWithdraw) {
  const RibPrefix vip = Pfx("198.19.255.1/32");
  auto changes = rib_.Update(Ip("10.0.0.1"), vip, MakePath("10.0.0.1", 65001, 2));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].prefix, vip);
  EXPECT_EQ(changes[0].old_next_hops, Hops{});
  EXPECT_EQ(changes[0].new_next_hops, Hops{Ip("10.0.0.1")});
  ASSERT_TRUE(rib_.Lookup(vip).has_value());
  EXPECT_EQ(rib_.Lookup(vip)->reason, DecisionStep::kOnlyPath);

  // A better path from another neighbor takes over.
  changes = rib_.Update(Ip("10.0.0.2"), vip, MakePath("10.0.0.2", 65002, 1));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].old_next_hops, Hops{Ip("10.0.0.1")});
  EXPECT_EQ(changes[0].new_next_hops, Hops{Ip("10.0.0.2")});
  EXPECT_EQ(rib_.Lookup(vip)->best.neighbor, Ip("10.0.0.2"));
  EXPECT_EQ(rib_.Lookup(vip)->reason, DecisionStep::kRouterId);

  // Re-announcing the same path changes nothing; a worse path changes nothing.
  EXPECT_TRUE(rib_.Update(Ip("10.0.0.2"), vip, MakePath("10.0.0.2", 65002, 1)).empty());
  EXPECT_TRUE(rib_.Update(Ip("10.0.0.3"), vip, MakePath("10.0.0.3", 65003, 9)).empty());
  EXPECT_EQ(rib_.Candidates(vip).size(), 3u);

  // Replacing the best with a lower local-pref hands the route back.
  changes = rib_.Update(Ip("10.0.0.2"), vip, MakePath("10.0.0.2", 65002, 1, 50));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].new_next_hops, Hops{Ip("10.0.0.1")});
  EXPECT_EQ(rib_.Lookup(vip)->reason, DecisionStep::kRouterId);  // 10.0.0.1 over 10.0.0.3.
  ASSERT_TRUE(AdjRibIn(Ip("10.0.0.2"), vip).has_value());
  EXPECT_EQ(AdjRibIn(Ip("10.0.0.2"), vip)->attributes->local_pref, 50u);

  // Withdrawing a non-best path, an unknown path, then the rest.
  // Withdrawing a non-best path changes nothing but the explanation.
  EXPECT_TRUE(rib_.Withdraw(Ip("10.0.0.3"), vip).empty());
  EXPECT_EQ(rib_.Lookup(vip)->reason, DecisionStep::kLocalPref);
  EXPECT_TRUE(rib_.Withdraw(Ip("10.0.0.99"), vip).empty());
  EXPECT_TRUE(rib_.Withdraw(Ip("10.0.0.1"), Pfx("10.9.0.0/16")).empty());
  changes = rib_.Withdraw(Ip("10.0.0.1"), vip);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].old_next_hops, Hops{Ip("10.0.0.1")});
  EXPECT_EQ(changes[0].new_next_hops, Hops{Ip("10.0.0.2")});
  changes = rib_.Withdraw(Ip("10.0.0.2"), vip);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].old_next_hops, Hops{Ip("10.0.0.2")});
  EXPECT_EQ(changes[0].new_next_hops, Hops{});
  EXPECT_FALSE(rib_.Lookup(vip).has_value());
  EXPECT_EQ(rib_.size(), 0u);
  EXPECT_EQ(AdjRibInSize(Ip("10.0.0.2")), 0u);
}

TEST_F(RibTest, BestChangeWithSameNextHopIsReportedButNotFib) {
  const RibPrefix p = Pfx("10.1.0.0/16");
  rib_.Update(Ip("10.0.0.1"), p, MakePath("10.0.0.1", 65001, 2, std::nullopt, "192.0.2.1"));
  auto changes =
      rib_.Update(Ip("10.0.0.2"), p, MakePath("10.0.0.2", 65002, 1, std::nullopt, "192.0.2.1"));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].FibChanged());
}

TEST_F(RibTest, WithdrawAllReturnsChangedPrefixesOnly) {
  const net::IpAddress n1 = Ip("10.0.0.1");
  const net::IpAddress n2 = Ip("2001:db8::2");
  rib_.Update(n1, Pfx("10.1.0.0/16"), MakePath("10.0.0.1", 65001, 5));
  rib_.Update(n1, Pfx("10.2.0.0/16"), MakePath("10.0.0.1", 65001, 5));
  rib_.Update(n1, Pfx("2001:db8:1::/48"), MakePath("10.0.0.1", 65001, 5));
  // n2 is better for 10.2.0.0/16 (lower router id) and the only path for 10.3.0.0/16.
  rib_.Update(n2, Pfx("10.2.0.0/16"), MakePath("2001:db8::2", 65002, 1));
  rib_.Update(n2, Pfx("10.3.0.0/16"), MakePath("2001:db8::2", 65002, 1));
  // n2 is worse for 10.1.0.0/16.
  rib_.Update(n2, Pfx("10.1.0.0/16"), MakePath("2001:db8::2", 65002, 9));
  EXPECT_EQ(AdjRibInSize(n1), 3u);

  auto changes = rib_.WithdrawAll(n1);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].prefix, Pfx("10.1.0.0/16"));
  EXPECT_EQ(changes[0].old_next_hops, Hops{n1});
  EXPECT_EQ(changes[0].new_next_hops, Hops{n2});
  EXPECT_EQ(changes[1].prefix, Pfx("2001:db8:1::/48"));
  EXPECT_EQ(changes[1].new_next_hops, Hops{});
  EXPECT_EQ(AdjRibInSize(n1), 0u);
  EXPECT_EQ(rib_.size(), 3u);
  EXPECT_TRUE(rib_.WithdrawAll(n1).empty());
}

class RibMultipathTest : public RibTest {
 protected:
  RibMultipathTest() : RibTest({.max_paths = 16, .multipath_relax = true}) {}
};

TEST_F(RibMultipathTest, EcmpSetGrowsAndShrinks) {
  const RibPrefix vip = Pfx("198.19.255.1/32");
  for (int i = 4; i >= 1; --i) {
    std::string n = "10.0.0." + std::to_string(i);
    auto changes = rib_.Update(Ip(n), vip, MakePath(n, 65000 + i, 100 + i));
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].new_next_hops.size(), static_cast<size_t>(5 - i));
  }
  std::optional<LocRibEntry> entry = rib_.Lookup(vip);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->best.neighbor, Ip("10.0.0.1"));
  ASSERT_EQ(entry->multipath.size(), 4u);
  EXPECT_EQ(entry->multipath[0].neighbor, Ip("10.0.0.1"));
  EXPECT_EQ(entry->multipath[3].neighbor, Ip("10.0.0.4"));

  // BFD Down on node 3: the FIB loses exactly that next hop in the same step.
  auto changes = rib_.WithdrawAll(Ip("10.0.0.3"));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].old_next_hops,
            (Hops{Ip("10.0.0.1"), Ip("10.0.0.2"), Ip("10.0.0.3"), Ip("10.0.0.4")}));
  EXPECT_EQ(changes[0].new_next_hops, (Hops{Ip("10.0.0.1"), Ip("10.0.0.2"), Ip("10.0.0.4")}));
}

TEST_F(RibTest, InterningSharesOneObjectAcrossPrefixesAndFreesIt) {
  const net::IpAddress n1 = Ip("10.0.0.1");
  constexpr int kPrefixes = 10000;
  {
    Path path = MakePath("10.0.0.1", 65001, 1);
    for (int i = 0; i < kPrefixes; ++i) {
      RibPrefix p = *RibPrefix::Make(
          net::IpAddress::FromBytes(
              std::array<uint8_t, 4>{10, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i), 0}
                  .data(),
              4),
          24);
      // Each announcement interns its own (equal) copy, as the session would per UPDATE.
      Path copy = MakePath("10.0.0.1", 65001, 1);
      EXPECT_EQ(copy.attributes.get(), path.attributes.get());
      rib_.Update(n1, p, std::move(copy));
    }
  }
  EXPECT_EQ(rib_.size(), static_cast<size_t>(kPrefixes));
  EXPECT_EQ(rib_.attribute_pool().size(), 1u);
  {
    const std::optional<Path> first = rib_.Best(Pfx("10.0.0.0/24"));
    ASSERT_TRUE(first.has_value());
    rib_.ForEachRoute([&](const RibPrefix&, const LocRibEntry& entry) {
      ASSERT_EQ(entry.best.attributes.get(), first->attributes.get());
    });
    // One reference per prefix (the Loc-RIB is flags on the candidate, not a copy), + `first`.
    EXPECT_EQ(first->attributes.use_count(), kPrefixes + 1);
  }

  // A different attribute set is a second object.
  rib_.Update(Ip("10.0.0.2"), Pfx("10.200.0.0/16"), MakePath("10.0.0.2", 65002, 2));
  EXPECT_EQ(rib_.attribute_pool().size(), 2u);

  auto changes = rib_.WithdrawAll(n1);
  EXPECT_EQ(changes.size(), static_cast<size_t>(kPrefixes));
  EXPECT_EQ(rib_.attribute_pool().size(), 1u);
  rib_.WithdrawAll(Ip("10.0.0.2"));
  EXPECT_EQ(rib_.attribute_pool().size(), 0u);
}

}  // namespace
}  // namespace strobe::bgp
