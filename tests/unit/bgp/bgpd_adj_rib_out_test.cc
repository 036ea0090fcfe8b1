// strobe-bgpd's Adj-RIB-Out: change tracking and the packing of changes into UPDATE messages,
// checked by decoding what was packed.
#include <set>
#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "controlplane/bgp/message.h"
#include "controlplane/bgpd/adj_rib_out.h"
#include "gtest/gtest.h"

namespace strobe::bgpd {
namespace {

using bgp::RibPrefix;

RibPrefix Pfx(const std::string& text) { return *RibPrefix::Parse(text); }
net::IpAddress Ip(const std::string& text) { return *net::IpAddress::Parse(text); }

class AdjRibOutTest : public ::testing::Test {
 protected:
  bgp::AttributesRef Attrs(const std::string& next_hop, uint32_t as = 64512,
                           std::vector<uint32_t> communities = {}) {
    bgp::RouteAttributes a;
    a.as_path = {bgp::AsPathSegment{bgp::kAsSequence, {as}}};
    a.next_hop = Ip(next_hop);
    a.communities = std::move(communities);
    return pool_.Intern(std::move(a));
  }

  // Decodes every message; returns the prefixes announced (with their next hop) and withdrawn.
  struct Seen {
    std::multiset<std::string> announced;  // "prefix via next-hop"
    std::multiset<std::string> withdrawn;
    size_t messages = 0;
  };
  Seen Decode(const std::vector<std::vector<uint8_t>>& messages, const bgp::CodecOptions& o) {
    Seen seen;
    for (const auto& m : messages) {
      EXPECT_LE(m.size(), o.max_length);
      auto decoded = bgp::DecodeMessage(m, o);
      EXPECT_TRUE(std::holds_alternative<bgp::MessageBody>(decoded));
      if (!std::holds_alternative<bgp::MessageBody>(decoded)) continue;
      const auto& r = std::get<bgp::UpdateDecodeResult>(std::get<bgp::MessageBody>(decoded));
      EXPECT_EQ(r.action, bgp::UpdateDecodeResult::kOk);
      ++seen.messages;
      const bgp::PathAttributes& pa = r.update.attributes;
      for (const bgp::Prefix& p : r.update.withdrawn) {
        seen.withdrawn.insert(RibPrefix::FromWire(p)->ToString());
      }
      if (pa.mp_unreach) {
        for (const bgp::Prefix& p : pa.mp_unreach->withdrawn) {
          seen.withdrawn.insert(RibPrefix::FromWire(p)->ToString());
        }
      }
      for (const bgp::Prefix& p : r.update.nlri) {
        seen.announced.insert(
            absl::StrCat(RibPrefix::FromWire(p)->ToString(), " via ",
                         net::IpAddress::FromBytes(pa.next_hop->data(), 4).ToString()));
      }
      if (pa.mp_reach) {
        const int family = pa.mp_reach->next_hop.size() == 4 ? 4 : 6;
        const std::string nh =
            net::IpAddress::FromBytes(pa.mp_reach->next_hop.data(), family).ToString();
        for (const bgp::Prefix& p : pa.mp_reach->nlri) {
          seen.announced.insert(absl::StrCat(RibPrefix::FromWire(p)->ToString(), " via ", nh));
        }
      }
    }
    return seen;
  }

  bgp::AttributePool pool_;
};

TEST_F(AdjRibOutTest, SetQueuesOnlyRealChanges) {
  AdjRibOut out;
  auto a = Attrs("198.18.0.1");
  out.Set(Pfx("198.19.0.0/24"), a);
  EXPECT_TRUE(out.HasPending());
  auto changes = out.TakePending();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(out.advertised(), 1u);
  out.Set(Pfx("198.19.0.0/24"), a);  // unchanged
  EXPECT_FALSE(out.HasPending());
  out.Set(Pfx("198.19.1.0/24"), nullptr);  // never advertised: nothing to withdraw
  EXPECT_TRUE(out.TakePending().empty());
  out.Set(Pfx("198.19.0.0/24"), nullptr);
  out.Set(Pfx("198.19.0.0/24"), a);  // back to what was sent before the flush
  EXPECT_FALSE(out.HasPending());
  out.Set(Pfx("198.19.0.0/24"), nullptr);
  changes = out.TakePending();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].attributes, nullptr);
  EXPECT_EQ(out.advertised(), 0u);
}

TEST_F(AdjRibOutTest, ResendAllRepeatsOneFamily) {
  AdjRibOut out;
  out.Set(Pfx("198.19.0.0/24"), Attrs("198.18.0.1"));
  out.Set(Pfx("2001:db8:1::/48"), Attrs("2001:db8::1"));
  out.TakePending();
  out.ResendAll(bgp::kIpv6Unicast);
  auto changes = out.TakePending();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].prefix, Pfx("2001:db8:1::/48"));
  out.ResendAll(std::nullopt);
  EXPECT_EQ(out.TakePending().size(), 2u);
}

TEST_F(AdjRibOutTest, PacksManyPrefixesPerAttributeSetWithinTheMaximumLength) {
  bgp::CodecOptions o;
  o.four_octet_as = true;
  auto a = Attrs("198.18.0.1");
  auto b = Attrs("198.18.0.1", 64512, {0xFFFF0001});
  std::vector<OutChange> changes;
  for (int i = 0; i < 3000; ++i) {
    changes.push_back({Pfx(absl::StrCat("10.", i / 256, ".", i % 256, ".0/24")), i % 2 ? a : b});
  }
  auto packed = PackUpdates(changes, o);
  ASSERT_TRUE(packed.ok()) << packed.status();
  Seen seen = Decode(*packed, o);
  EXPECT_EQ(seen.announced.size(), 3000u);
  std::set<std::string> unique(seen.announced.begin(), seen.announced.end());
  EXPECT_EQ(unique.size(), 3000u);
  // 1,500 /24s of 4 octets each fit in two 4,096-octet messages per attribute set.
  EXPECT_LE(packed->size(), 6u);
  EXPECT_GE(packed->size(), 4u);
}

TEST_F(AdjRibOutTest, ExtendedMessagesPackMore) {
  bgp::CodecOptions o;
  o.max_length = bgp::kMaxExtendedMessageLength;
  auto a = Attrs("198.18.0.1");
  std::vector<OutChange> changes;
  for (int i = 0; i < 10000; ++i) {
    changes.push_back({Pfx(absl::StrCat("10.", i / 256, ".", i % 256, ".0/24")), a});
  }
  auto packed = PackUpdates(changes, o);
  ASSERT_TRUE(packed.ok());
  EXPECT_EQ(packed->size(), 1u);
  EXPECT_EQ(Decode(*packed, o).announced.size(), 10000u);
}

TEST_F(AdjRibOutTest, Ipv6GoesInMpReachAndWithdrawalsComeFirst) {
  bgp::CodecOptions o;
  std::vector<OutChange> changes;
  for (int i = 0; i < 600; ++i) {
    changes.push_back({Pfx(absl::StrCat("2001:db8:", i, "::/48")), Attrs("2001:db8::1")});
  }
  changes.push_back({Pfx("198.19.1.0/24"), nullptr});
  changes.push_back({Pfx("2001:db8:ffff::/48"), nullptr});
  changes.push_back({Pfx("198.19.2.0/24"), Attrs("198.18.0.1")});
  auto packed = PackUpdates(changes, o);
  ASSERT_TRUE(packed.ok()) << packed.status();
  Seen seen = Decode(*packed, o);
  EXPECT_EQ(seen.announced.size(), 601u);
  EXPECT_EQ(seen.announced.count("2001:db8:7::/48 via 2001:db8::1"), 1u);
  EXPECT_EQ(seen.announced.count("198.19.2.0/24 via 198.18.0.1"), 1u);
  EXPECT_EQ(seen.withdrawn, (std::multiset<std::string>{"198.19.1.0/24", "2001:db8:ffff::/48"}));
  // The first message withdraws (IPv4 in the classic field).
  auto first = bgp::DecodeMessage((*packed)[0], o);
  const auto& r = std::get<bgp::UpdateDecodeResult>(std::get<bgp::MessageBody>(first));
  EXPECT_EQ(r.update.withdrawn.size(), 1u);
  EXPECT_TRUE(r.update.nlri.empty());
}

TEST_F(AdjRibOutTest, Ipv4WithAnIpv6NextHopUsesMpReach) {  // RFC 8950
  bgp::CodecOptions o;
  o.extended_next_hop = true;
  auto packed = PackUpdates({{Pfx("198.19.3.0/24"), Attrs("2001:db8::1")}}, o);
  ASSERT_TRUE(packed.ok());
  Seen seen = Decode(*packed, o);
  EXPECT_EQ(seen.announced.count("198.19.3.0/24 via 2001:db8::1"), 1u);
}

TEST_F(AdjRibOutTest, FourOctetAsOnATwoOctetSessionAddsAs4Path) {
  bgp::RouteAttributes a;
  a.as_path = {bgp::AsPathSegment{bgp::kAsSequence, {4200000001, 64512}}};
  a.next_hop = Ip("198.18.0.1");
  bgp::PathAttributes w = WireAttributes(a, bgp::kIpv4Unicast, /*four_octet_as=*/false);
  ASSERT_TRUE(w.as4_path.has_value());
  EXPECT_EQ(*w.as4_path, a.as_path);
  EXPECT_FALSE(WireAttributes(a, bgp::kIpv4Unicast, true).as4_path.has_value());
}

TEST_F(AdjRibOutTest, EndOfRibMarkers) {
  bgp::CodecOptions o;
  std::vector<uint8_t> v4 = EndOfRib(bgp::kIpv4Unicast, o);
  EXPECT_EQ(v4.size(), 23u);  // header + two zero lengths
  std::vector<uint8_t> v6 = EndOfRib(bgp::kIpv6Unicast, o);
  auto decoded = bgp::DecodeMessage(v6, o);
  const auto& r = std::get<bgp::UpdateDecodeResult>(std::get<bgp::MessageBody>(decoded));
  ASSERT_TRUE(r.update.attributes.mp_unreach.has_value());
  EXPECT_EQ(r.update.attributes.mp_unreach->afi_safi, bgp::kIpv6Unicast);
  EXPECT_TRUE(r.update.attributes.mp_unreach->withdrawn.empty());
}

}  // namespace
}  // namespace strobe::bgpd
