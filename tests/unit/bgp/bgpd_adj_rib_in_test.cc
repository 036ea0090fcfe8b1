// strobe-bgpd's Adj-RIB-In: received vs accepted counts, ADD-PATH identifiers, and the graceful
// restart helper's stale marking and sweeping (RFC 4724 §4.2, RFC 7313 BoRR/EoRR).
#include <string>

#include "controlplane/bgpd/adj_rib_in.h"
#include "gtest/gtest.h"

namespace strobe::bgpd {
namespace {

using bgp::RibPrefix;

RibPrefix Pfx(const std::string& text) { return *RibPrefix::Parse(text); }

class AdjRibInTest : public ::testing::Test {
 protected:
  bgp::AttributesRef Attrs(uint32_t med) {
    bgp::RouteAttributes a;
    a.med = med;
    a.next_hop = *net::IpAddress::Parse("198.18.0.2");
    return pool_.Intern(std::move(a));
  }
  bgp::AttributePool pool_;
  AdjRibIn in_;
};

TEST_F(AdjRibInTest, CountsReceivedAndAccepted) {
  EXPECT_EQ(in_.Announce(Pfx("198.19.0.0/24"), 0, Attrs(1)), Attrs(1));
  EXPECT_EQ(in_.Announce(Pfx("198.19.1.0/24"), 0, nullptr), nullptr);  // rejected by policy
  EXPECT_EQ(in_.received(), 2u);
  EXPECT_EQ(in_.accepted(), 1u);
  EXPECT_EQ(in_.Withdraw(Pfx("198.19.0.0/24"), 0), nullptr);
  EXPECT_EQ(in_.received(), 1u);
  EXPECT_EQ(in_.accepted(), 0u);
  EXPECT_EQ(in_.Withdraw(Pfx("198.19.9.0/24"), 0), nullptr);  // unknown: harmless
}

TEST_F(AdjRibInTest, AddPathKeepsEachIdentifierAndUsesTheLowest) {
  const RibPrefix p = Pfx("198.19.0.0/24");
  EXPECT_EQ(in_.Announce(p, 7, Attrs(7)), Attrs(7));
  EXPECT_EQ(in_.Announce(p, 3, Attrs(3)), Attrs(3));
  EXPECT_EQ(in_.Announce(p, 9, Attrs(9)), Attrs(3));
  EXPECT_EQ(in_.received(), 1u);
  EXPECT_EQ(in_.paths(), 3u);
  EXPECT_EQ(in_.Withdraw(p, 3), Attrs(7));  // the next one takes over
  EXPECT_EQ(in_.Withdraw(p, 9), Attrs(7));
  EXPECT_EQ(in_.Withdraw(p, 7), nullptr);
  EXPECT_EQ(in_.received(), 0u);
}

TEST_F(AdjRibInTest, GracefulRestartSweepsWhatWasNotRefreshed) {
  in_.Announce(Pfx("198.19.0.0/24"), 0, Attrs(1));
  in_.Announce(Pfx("198.19.1.0/24"), 0, Attrs(1));
  in_.Announce(Pfx("2001:db8:1::/48"), 0, Attrs(1));
  in_.MarkStale(std::nullopt);  // the session went down
  EXPECT_EQ(in_.stale(), 3u);
  EXPECT_EQ(in_.accepted(), 3u);  // stale paths stay usable
  // After the restart the peer repeats one IPv4 prefix, then sends End-of-RIB for IPv4.
  in_.Announce(Pfx("198.19.0.0/24"), 0, Attrs(2));
  EXPECT_EQ(in_.stale(), 2u);
  auto swept = in_.SweepStale(bgp::kIpv4Unicast);
  ASSERT_EQ(swept.size(), 1u);
  EXPECT_EQ(swept[0].first, Pfx("198.19.1.0/24"));
  EXPECT_EQ(swept[0].second, nullptr);
  EXPECT_EQ(in_.stale(), 1u);  // IPv6 waits for its own End-of-RIB
  EXPECT_EQ(in_.Effective(Pfx("198.19.0.0/24")), Attrs(2));
  swept = in_.SweepStale(std::nullopt);  // the stale-path timer
  ASSERT_EQ(swept.size(), 1u);
  EXPECT_EQ(swept[0].first, Pfx("2001:db8:1::/48"));
  EXPECT_EQ(in_.stale(), 0u);
  EXPECT_EQ(in_.received(), 1u);
}

TEST_F(AdjRibInTest, StalePathIdentifierReplacedByAFreshOne) {
  const RibPrefix p = Pfx("198.19.0.0/24");
  in_.Announce(p, 1, Attrs(1));
  in_.Announce(p, 2, Attrs(2));
  in_.MarkStale(bgp::kIpv4Unicast);                // BoRR
  in_.Announce(p, 2, Attrs(2));                    // only path 2 is repeated
  auto swept = in_.SweepStale(bgp::kIpv4Unicast);  // EoRR
  ASSERT_EQ(swept.size(), 1u);
  EXPECT_EQ(swept[0].second, Attrs(2));  // path 1 was the effective one; now path 2 is
  EXPECT_EQ(in_.Effective(p), Attrs(2));
}

TEST_F(AdjRibInTest, MarkStaleOfOneFamilyLeavesTheOther) {
  in_.Announce(Pfx("198.19.0.0/24"), 0, Attrs(1));
  in_.Announce(Pfx("2001:db8:1::/48"), 0, Attrs(1));
  in_.MarkStale(bgp::kIpv6Unicast);
  EXPECT_EQ(in_.stale(), 1u);
  EXPECT_TRUE(in_.SweepStale(bgp::kIpv4Unicast).empty());
  EXPECT_EQ(in_.SweepStale(bgp::kIpv6Unicast).size(), 1u);
}

}  // namespace
}  // namespace strobe::bgpd
