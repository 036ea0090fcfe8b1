// The RIB's per-neighbor side (what was its Adj-RIB-In): received vs accepted counts, ADD-PATH
// identifiers, the graceful restart helper's stale marking and sweeping (RFC 4724 §4.2, RFC 7313
// BoRR/EoRR), next-hop reference counts, and sources coming and going.
#include <string>
#include <vector>

#include "controlplane/bgp/rib.h"
#include "gtest/gtest.h"

namespace strobe::bgp {
namespace {

RibPrefix Pfx(const std::string& text) { return *RibPrefix::Parse(text); }
net::IpAddress Ip(const std::string& text) { return *net::IpAddress::Parse(text); }

class RibSourceTest : public ::testing::Test {
 protected:
  RibSourceTest() : source_(rib_.AddSource(Ip("198.18.0.2"))) {
    rib_.SetSourceSession(source_, 2, 65002, true);
  }
  AttributesRef Attrs(uint32_t med, const std::string& next_hop = "198.18.0.2") {
    RouteAttributes a;
    a.med = med;
    a.next_hop = Ip(next_hop);
    return rib_.attribute_pool().Intern(std::move(a));
  }
  // The effective path's MED, or -1 when the source has none for `prefix`.
  int64_t EffectiveMed(const RibPrefix& prefix) {
    std::optional<Path> p = rib_.EffectivePath(source_, prefix);
    return p ? int64_t{*p->attributes->med} : -1;
  }
  const SourceStats& stats() { return rib_.stats(source_); }

  Rib rib_;
  SourceId source_;
  std::vector<RibChange> changes_;
};

TEST_F(RibSourceTest, CountsReceivedAndAccepted) {
  rib_.Announce(source_, Pfx("198.19.0.0/24"), 0, Attrs(1), &changes_);
  rib_.Announce(source_, Pfx("198.19.1.0/24"), 0, nullptr, &changes_);  // rejected by policy
  EXPECT_EQ(changes_.size(), 1u);  // only the accepted one reaches the Loc-RIB
  EXPECT_EQ(stats().received, 2u);
  EXPECT_EQ(stats().accepted, 1u);
  EXPECT_EQ(rib_.size(), 1u);
  EXPECT_FALSE(rib_.Lookup(Pfx("198.19.1.0/24")).has_value());
  rib_.Withdraw(source_, Pfx("198.19.0.0/24"), 0, &changes_);
  EXPECT_EQ(stats().received, 1u);
  EXPECT_EQ(stats().accepted, 0u);
  EXPECT_EQ(rib_.size(), 0u);
  rib_.Withdraw(source_, Pfx("198.19.9.0/24"), 0, &changes_);  // unknown: harmless
  EXPECT_EQ(changes_.size(), 2u);
}

TEST_F(RibSourceTest, AddPathKeepsEachIdentifierAndUsesTheLowest) {
  const RibPrefix p = Pfx("198.19.0.0/24");
  rib_.Announce(source_, p, 7, Attrs(7), &changes_);
  rib_.Announce(source_, p, 3, Attrs(3), &changes_);
  rib_.Announce(source_, p, 9, Attrs(9), &changes_);
  EXPECT_EQ(EffectiveMed(p), 3);
  EXPECT_EQ(stats().received, 1u);
  EXPECT_EQ(stats().paths, 3u);
  EXPECT_EQ(rib_.Candidates(p).size(), 1u);  // one path per neighbor takes part
  rib_.Withdraw(source_, p, 3, &changes_);
  EXPECT_EQ(EffectiveMed(p), 7);  // the next one takes over
  rib_.Withdraw(source_, p, 9, &changes_);
  EXPECT_EQ(EffectiveMed(p), 7);
  rib_.Withdraw(source_, p, 7, &changes_);
  EXPECT_EQ(EffectiveMed(p), -1);
  EXPECT_EQ(stats().received, 0u);
  EXPECT_EQ(stats().paths, 0u);
}

TEST_F(RibSourceTest, GracefulRestartSweepsWhatWasNotRefreshed) {
  rib_.Announce(source_, Pfx("198.19.0.0/24"), 0, Attrs(1), &changes_);
  rib_.Announce(source_, Pfx("198.19.1.0/24"), 0, Attrs(1), &changes_);
  rib_.Announce(source_, Pfx("2001:db8:1::/48"), 0, Attrs(1), &changes_);
  changes_.clear();
  rib_.MarkStale(source_, std::nullopt);  // the session went down
  EXPECT_EQ(stats().stale, 3u);
  EXPECT_EQ(stats().accepted, 3u);  // stale paths stay usable
  EXPECT_EQ(rib_.size(), 3u);
  // After the restart the peer repeats one IPv4 prefix, then sends End-of-RIB for IPv4.
  rib_.Announce(source_, Pfx("198.19.0.0/24"), 0, Attrs(2), &changes_);
  EXPECT_EQ(stats().stale, 2u);
  changes_.clear();
  EXPECT_EQ(rib_.SweepStale(source_, kIpv4Unicast, &changes_), 1u);
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0].prefix, Pfx("198.19.1.0/24"));
  EXPECT_TRUE(changes_[0].new_next_hops.empty());
  EXPECT_EQ(stats().stale, 1u);  // IPv6 waits for its own End-of-RIB
  EXPECT_EQ(EffectiveMed(Pfx("198.19.0.0/24")), 2);
  changes_.clear();
  EXPECT_EQ(rib_.SweepStale(source_, std::nullopt, &changes_), 1u);  // the stale-path timer
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(changes_[0].prefix, Pfx("2001:db8:1::/48"));
  EXPECT_EQ(stats().stale, 0u);
  EXPECT_EQ(stats().received, 1u);
}

TEST_F(RibSourceTest, StalePathIdentifierReplacedByAFreshOne) {
  const RibPrefix p = Pfx("198.19.0.0/24");
  rib_.Announce(source_, p, 1, Attrs(1), &changes_);
  rib_.Announce(source_, p, 2, Attrs(2), &changes_);
  rib_.MarkStale(source_, kIpv4Unicast);              // BoRR
  rib_.Announce(source_, p, 2, Attrs(2), &changes_);  // only path 2 is repeated
  changes_.clear();
  EXPECT_EQ(rib_.SweepStale(source_, kIpv4Unicast, &changes_), 1u);  // EoRR
  EXPECT_EQ(EffectiveMed(p), 2);   // path 1 was the effective one; now path 2 is
  ASSERT_EQ(changes_.size(), 1u);  // same next hop, another path: still reported
  EXPECT_FALSE(changes_[0].FibChanged());
}

TEST_F(RibSourceTest, MarkStaleOfOneFamilyLeavesTheOther) {
  rib_.Announce(source_, Pfx("198.19.0.0/24"), 0, Attrs(1), &changes_);
  rib_.Announce(source_, Pfx("2001:db8:1::/48"), 0, Attrs(1), &changes_);
  rib_.MarkStale(source_, kIpv6Unicast);
  EXPECT_EQ(stats().stale, 1u);
  EXPECT_EQ(rib_.SweepStale(source_, kIpv4Unicast, &changes_), 0u);
  EXPECT_EQ(rib_.SweepStale(source_, kIpv6Unicast, &changes_), 1u);
}

TEST_F(RibSourceTest, NextHopsCountEffectivePaths) {
  rib_.Announce(source_, Pfx("198.19.0.0/24"), 0, Attrs(1, "198.18.0.2"), &changes_);
  rib_.Announce(source_, Pfx("198.19.1.0/24"), 0, Attrs(1, "198.18.0.2"), &changes_);
  rib_.Announce(source_, Pfx("198.19.2.0/24"), 0, Attrs(1, "198.18.0.3"), &changes_);
  rib_.Announce(source_, Pfx("198.19.3.0/24"), 0, nullptr, &changes_);
  EXPECT_EQ(rib_.next_hops(source_).at(Ip("198.18.0.2")), 2u);
  EXPECT_EQ(rib_.next_hops(source_).at(Ip("198.18.0.3")), 1u);
  rib_.Announce(source_, Pfx("198.19.2.0/24"), 0, Attrs(1, "198.18.0.2"), &changes_);
  EXPECT_EQ(rib_.next_hops(source_).at(Ip("198.18.0.2")), 3u);
  EXPECT_FALSE(rib_.next_hops(source_).contains(Ip("198.18.0.3")));
  rib_.Clear(source_, &changes_);
  EXPECT_TRUE(rib_.next_hops(source_).empty());
  EXPECT_EQ(stats().received, 0u);
  EXPECT_EQ(rib_.size(), 0u);
}

TEST_F(RibSourceTest, RemovedSourceWithdrawsAndItsSlotIsReused) {
  const SourceId other = rib_.AddSource(Ip("198.18.0.3"));
  EXPECT_NE(other, source_);
  EXPECT_EQ(rib_.AddSource(Ip("198.18.0.3")), other);
  rib_.SetSourceSession(other, 3, 65003, true);
  rib_.Announce(other, Pfx("198.19.0.0/24"), 0, Attrs(1, "198.18.0.3"), &changes_);
  std::vector<RibChange> removed = rib_.RemoveSource(other);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].old_next_hops, NextHopSet{Ip("198.18.0.3")});
  EXPECT_EQ(rib_.AddSource(Ip("198.18.0.4")), other);
  EXPECT_EQ(rib_.stats(other).received, 0u);
}

TEST_F(RibSourceTest, KeysKeepPrefixOrderAcrossFamilies) {
  for (const char* p : {"2001:db8::/32", "198.19.0.0/24", "10.0.0.0/9", "10.0.0.0/8", "::/0",
                        "2001:db8::/48", "255.255.255.255/32", "0.0.0.0/0"}) {
    rib_.Announce(source_, Pfx(p), 0, Attrs(1), &changes_);
  }
  std::vector<std::string> order;
  rib_.ForEachRoute([&](const RibPrefix& p, const LocRibEntry&) { order.push_back(p.ToString()); });
  EXPECT_EQ(order, (std::vector<std::string>{"0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/9",
                                             "198.19.0.0/24", "255.255.255.255/32", "::/0",
                                             "2001:db8::/32", "2001:db8::/48"}));
  changes_.clear();
  rib_.Clear(source_, &changes_);
  ASSERT_EQ(changes_.size(), 8u);
  EXPECT_EQ(changes_.front().prefix, Pfx("0.0.0.0/0"));
  EXPECT_EQ(changes_.back().prefix, Pfx("2001:db8::/48"));
}

}  // namespace
}  // namespace strobe::bgp
