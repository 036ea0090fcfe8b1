// strobe-bgpd's export rules (RFC 4271 §9.2, RFC 1997) and capability negotiation.
#include <string>

#include "controlplane/bgpd/export_rules.h"
#include "controlplane/bgpd/negotiation.h"
#include "gtest/gtest.h"

namespace strobe::bgpd {
namespace {

net::IpAddress Ip(const std::string& text) { return *net::IpAddress::Parse(text); }
bgp::RibPrefix Pfx(const std::string& text) { return *bgp::RibPrefix::Parse(text); }

class ExportTest : public ::testing::Test {
 protected:
  bgp::Path From(const std::string& neighbor, bool ebgp, std::vector<uint32_t> as_path,
                 std::vector<uint32_t> communities = {}) {
    bgp::RouteAttributes a;
    if (!as_path.empty()) a.as_path = {bgp::AsPathSegment{bgp::kAsSequence, as_path}};
    a.next_hop = Ip(neighbor);
    a.med = 50;
    a.local_pref = ebgp ? std::nullopt : std::optional<uint32_t>(200);
    a.communities = std::move(communities);
    bgp::Path p;
    p.neighbor = Ip(neighbor);
    p.ebgp = ebgp;
    p.neighbor_as = ebgp ? as_path.front() : 64512;
    p.attributes = pool_.Intern(std::move(a));
    return p;
  }
  ExportContext To(const std::string& peer, bool ebgp, uint32_t peer_as = 64600) {
    ExportContext c;
    c.local_as = 64512;
    c.peer_address = Ip(peer);
    c.peer_as = ebgp ? peer_as : 64512;
    c.peer_ebgp = ebgp;
    c.self_v4 = Ip("198.18.9.1");
    c.self_v6 = Ip("2001:db8:9::1");
    return c;
  }
  bgp::AttributePool pool_;
};

TEST_F(ExportTest, EbgpToEbgpPrependsAndSetsNextHopSelf) {
  auto a = ExportPath(From("198.18.1.2", true, {64601, 65000}), Pfx("198.19.0.0/24"),
                      To("198.18.2.2", true));
  ASSERT_TRUE(a.has_value());
  ASSERT_EQ(a->as_path.size(), 1u);
  EXPECT_EQ(a->as_path[0].asns, (std::vector<uint32_t>{64512, 64601, 65000}));
  EXPECT_EQ(a->next_hop, Ip("198.18.9.1"));
  EXPECT_FALSE(a->med.has_value());         // not passed to another AS (§5.1.4)
  EXPECT_FALSE(a->local_pref.has_value());  // never to eBGP (§5.1.5)
}

TEST_F(ExportTest, NeverBackToTheNeighborItCameFrom) {
  EXPECT_FALSE(ExportPath(From("198.18.1.2", true, {64601}), Pfx("198.19.0.0/24"),
                          To("198.18.1.2", true, 64601))
                   .has_value());
}

TEST_F(ExportTest, NoIbgpToIbgp) {
  EXPECT_FALSE(
      ExportPath(From("198.18.1.2", false, {}), Pfx("198.19.0.0/24"), To("198.18.2.2", false))
          .has_value());
}

TEST_F(ExportTest, EbgpToIbgpKeepsMedSetsLocalPrefAndNextHopSelf) {
  auto a =
      ExportPath(From("198.18.1.2", true, {64601}), Pfx("198.19.0.0/24"), To("198.18.2.2", false));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->as_path[0].asns, (std::vector<uint32_t>{64601}));  // no prepend inside the AS
  EXPECT_EQ(a->local_pref, 100u);
  EXPECT_EQ(a->med, 50u);
  EXPECT_EQ(a->next_hop, Ip("198.18.9.1"));
  ExportContext keep = To("198.18.2.2", false);
  keep.next_hop_self = false;
  a = ExportPath(From("198.18.1.2", true, {64601}), Pfx("198.19.0.0/24"), keep);
  EXPECT_EQ(a->next_hop, Ip("198.18.1.2"));
}

TEST_F(ExportTest, IbgpToEbgpPrependsOurAs) {
  auto a = ExportPath(From("198.18.1.2", false, {}), Pfx("198.19.0.0/24"), To("198.18.2.2", true));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->as_path[0].asns, (std::vector<uint32_t>{64512}));
}

TEST_F(ExportTest, WellKnownCommunities) {
  auto no_export = From("198.18.1.2", true, {64601}, {kCommunityNoExport});
  EXPECT_FALSE(ExportPath(no_export, Pfx("198.19.0.0/24"), To("198.18.2.2", true)).has_value());
  EXPECT_TRUE(ExportPath(no_export, Pfx("198.19.0.0/24"), To("198.18.2.2", false)).has_value());
  auto no_adv = From("198.18.1.2", true, {64601}, {kCommunityNoAdvertise});
  EXPECT_FALSE(ExportPath(no_adv, Pfx("198.19.0.0/24"), To("198.18.2.2", false)).has_value());
}

TEST_F(ExportTest, NotToAnEbgpPeerWhoseAsIsInThePath) {
  EXPECT_FALSE(ExportPath(From("198.18.1.2", true, {64601, 64600}), Pfx("198.19.0.0/24"),
                          To("198.18.2.2", true, 64600))
                   .has_value());
}

TEST_F(ExportTest, NetworksAndNextHopFamilies) {
  LocalNetwork n{Pfx("198.19.255.1/32"), {0xFDE80001}, {}};
  auto e = ExportNetwork(n, To("198.18.2.2", true));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->origin, bgp::kOriginIgp);
  EXPECT_EQ(e->as_path[0].asns, (std::vector<uint32_t>{64512}));
  EXPECT_EQ(e->communities, (std::vector<uint32_t>{0xFDE80001}));
  auto i = ExportNetwork(n, To("198.18.2.2", false));
  EXPECT_TRUE(i->as_path.empty());
  EXPECT_EQ(i->local_pref, 100u);
  LocalNetwork v6{Pfx("2001:db8:ff::/48"), {}, {}};
  EXPECT_EQ(ExportNetwork(v6, To("198.18.2.2", true))->next_hop, Ip("2001:db8:9::1"));
  ExportContext only_v6 = To("2001:db8:2::2", true);
  only_v6.self_v4.reset();
  EXPECT_FALSE(ExportNetwork(n, only_v6).has_value());  // no IPv4 next hop to give
  only_v6.extended_next_hop = true;                     // RFC 8950
  EXPECT_EQ(ExportNetwork(n, only_v6)->next_hop, Ip("2001:db8:9::1"));
}

TEST(NegotiationTest, FamiliesAndOptionsFromBothOpens) {
  config::BgpPeerTemplate t;
  t.add_path_receive = true;
  t.extended_next_hop = true;
  bgp::Capabilities ours = OurCapabilities(t, 64512);
  EXPECT_EQ(ours.four_octet_as, 64512u);
  ASSERT_TRUE(ours.graceful_restart.has_value());
  EXPECT_TRUE(ours.graceful_restart->families.empty());  // helper only

  bgp::Capabilities theirs;
  theirs.multiprotocol = {bgp::kIpv4Unicast};
  theirs.four_octet_as = 4200000001u;
  theirs.route_refresh = true;
  theirs.add_path = {{bgp::kIpv4Unicast, bgp::kAddPathSend}};
  Negotiated n = Negotiate(ours, theirs);
  EXPECT_EQ(n.families, (std::vector<bgp::AfiSafi>{bgp::kIpv4Unicast}));
  EXPECT_TRUE(n.four_octet_as && n.decode.four_octet_as && n.encode.four_octet_as);
  EXPECT_TRUE(n.route_refresh);
  EXPECT_FALSE(n.enhanced_route_refresh);
  EXPECT_FALSE(n.extended_message);
  EXPECT_EQ(n.decode.max_length, bgp::kMaxMessageLength);
  EXPECT_TRUE(n.decode.AddPath(bgp::kIpv4Unicast));
  EXPECT_FALSE(n.encode.AddPath(bgp::kIpv4Unicast));
  EXPECT_TRUE(n.decode.extended_next_hop);   // we offered it
  EXPECT_FALSE(n.encode.extended_next_hop);  // they did not

  theirs.extended_message = true;
  theirs.enhanced_route_refresh = true;
  n = Negotiate(ours, theirs);
  EXPECT_EQ(n.encode.max_length, bgp::kMaxExtendedMessageLength);
  EXPECT_TRUE(n.enhanced_route_refresh);
}

TEST(NegotiationTest, NoMultiprotocolCapabilityMeansIpv4Unicast) {  // RFC 4760 §8
  bgp::Capabilities ours = OurCapabilities(config::BgpPeerTemplate{}, 64512);
  Negotiated n = Negotiate(ours, bgp::Capabilities{});
  EXPECT_EQ(n.families, (std::vector<bgp::AfiSafi>{bgp::kIpv4Unicast}));
  EXPECT_FALSE(n.four_octet_as);
}

}  // namespace
}  // namespace strobe::bgpd
