#include <variant>

#include "controlplane/bgp/message.h"
#include "gtest/gtest.h"
#include "tests/unit/bgp/golden_vectors.h"
#include "tests/unit/bgp/test_util.h"

namespace strobe::bgp {
namespace {

using testing::FromHex;
using testing::ToHex;

template <typename T>
T DecodeAs(const std::vector<uint8_t>& bytes, const DecodeOptions& options = {}) {
  auto decoded = DecodeMessage(bytes, options);
  EXPECT_TRUE(std::holds_alternative<MessageBody>(decoded));
  if (!std::holds_alternative<MessageBody>(decoded)) return T{};
  const MessageBody& body = std::get<MessageBody>(decoded);
  EXPECT_TRUE(std::holds_alternative<T>(body));
  if (!std::holds_alternative<T>(body)) return T{};
  return std::get<T>(body);
}

std::array<uint8_t, 16> V6(const std::string& hex) {
  std::array<uint8_t, 16> a{};
  auto b = FromHex(hex);
  std::copy(b.begin(), b.end(), a.begin());
  return a;
}

TEST(BgpGoldenTest, Open) {
  Capabilities caps;
  caps.multiprotocol = {kIpv4Unicast, kIpv6Unicast};
  caps.route_refresh = true;
  caps.enhanced_route_refresh = true;
  caps.graceful_restart = GracefulRestartCapability{false, false, 120, {{kIpv4Unicast, true}}};
  caps.extended_next_hop = {{kAfiIpv4, kSafiUnicast, kAfiIpv6}};
  caps.extended_message = true;
  caps.add_path = {{kIpv4Unicast, kAddPathReceive}};
  Open open = MakeOpen(65001, 90, 0x0a000001, caps);

  auto encoded = EncodeOpen(open);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(ToHex(*encoded), ToHex(FromHex(golden::kGoldenOpenHex)));
  Open decoded = DecodeAs<Open>(FromHex(golden::kGoldenOpenHex));
  EXPECT_EQ(decoded, open);
  EXPECT_EQ(decoded.PeerAs(), 65001u);
}

TEST(BgpGoldenTest, OpenWithLargeAsUsesAsTrans) {
  Open open = MakeOpen(4200000000u, 180, 1, {});
  EXPECT_EQ(open.my_as, kAsTrans);
  auto encoded = EncodeOpen(open);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(ToHex(*encoded),
            "ffffffffffffffffffffffffffffffff002501045ba000b40000000108020641"
            "04fa56ea00");
  EXPECT_EQ(DecodeAs<Open>(*encoded).PeerAs(), 4200000000u);
}

TEST(BgpGoldenTest, Keepalive) {
  EXPECT_EQ(ToHex(EncodeKeepalive()), ToHex(FromHex(golden::kGoldenKeepaliveHex)));
  DecodeAs<Keepalive>(FromHex(golden::kGoldenKeepaliveHex));
}

TEST(BgpGoldenTest, UpdateIpv4) {
  Update u;
  PathAttributes& a = u.attributes;
  a.origin = kOriginIgp;
  a.as_path = std::vector<AsPathSegment>{{kAsSequence, {65001, 65002}}};
  a.next_hop = std::array<uint8_t, 4>{10, 0, 0, 1};
  a.med = 100;
  a.communities = std::vector<uint32_t>{(65001u << 16) | 100};
  a.large_communities = std::vector<LargeCommunity>{{65001, 1, 2}};
  const uint8_t p1[] = {10, 1, 0, 0};
  const uint8_t p2[] = {192, 0, 2, 0};
  u.nlri = {MakePrefix(kAfiIpv4, p1, 16), MakePrefix(kAfiIpv4, p2, 24)};
  CodecOptions options;
  options.four_octet_as = true;
  auto encoded = EncodeUpdate(u, options);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(ToHex(*encoded), ToHex(FromHex(golden::kGoldenUpdateIpv4Hex)));
  auto result = DecodeAs<UpdateDecodeResult>(FromHex(golden::kGoldenUpdateIpv4Hex), options);
  EXPECT_EQ(result.action, UpdateDecodeResult::kOk);
  EXPECT_EQ(result.update, u);
}

TEST(BgpGoldenTest, UpdateMpReachIpv6) {
  Update u;
  u.attributes.origin = kOriginIgp;
  u.attributes.as_path = std::vector<AsPathSegment>{{kAsSequence, {65001}}};
  MpReach mp;
  mp.afi_safi = kIpv6Unicast;
  auto nh = FromHex("20010db8000000000000000000000001");
  mp.next_hop = nh;
  auto p = V6("20010db80001");
  mp.nlri = {MakePrefix(kAfiIpv6, p, 48)};
  u.attributes.mp_reach = mp;
  CodecOptions options;
  options.four_octet_as = true;
  auto encoded = EncodeUpdate(u, options);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(ToHex(*encoded), ToHex(FromHex(golden::kGoldenUpdateMpIpv6Hex)));
  auto result = DecodeAs<UpdateDecodeResult>(FromHex(golden::kGoldenUpdateMpIpv6Hex), options);
  EXPECT_EQ(result.action, UpdateDecodeResult::kOk);
  EXPECT_EQ(result.update, u);
}

TEST(BgpGoldenTest, UpdateIpv4OverIpv6NextHop) {
  Update u;
  u.attributes.origin = kOriginIgp;
  u.attributes.as_path = std::vector<AsPathSegment>{{kAsSequence, {65001}}};
  MpReach mp;
  mp.afi_safi = kIpv4Unicast;
  mp.next_hop = FromHex("20010db8000000000000000000000001fe800000000000000000000000000001");
  const uint8_t p[] = {198, 51, 100, 0};
  mp.nlri = {MakePrefix(kAfiIpv4, p, 24)};
  u.attributes.mp_reach = mp;
  CodecOptions options;
  options.four_octet_as = true;
  options.extended_next_hop = true;
  auto encoded = EncodeUpdate(u, options);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(ToHex(*encoded), ToHex(FromHex(golden::kGoldenUpdateIpv4OverIpv6Hex)));
  auto bytes = FromHex(golden::kGoldenUpdateIpv4OverIpv6Hex);
  auto result = DecodeAs<UpdateDecodeResult>(bytes, options);
  EXPECT_EQ(result.action, UpdateDecodeResult::kOk);
  EXPECT_EQ(result.update, u);
  // Without the extended next hop capability the next hop is unacceptable: treat-as-withdraw.
  options.extended_next_hop = false;
  EXPECT_EQ(DecodeAs<UpdateDecodeResult>(bytes, options).action,
            UpdateDecodeResult::kTreatAsWithdraw);
}

TEST(BgpGoldenTest, NotificationCeaseBfdDown) {
  Notification n{kErrCease, kCeaseBfdDown, {}};
  EXPECT_EQ(ToHex(EncodeNotification(n)),
            ToHex(FromHex(golden::kGoldenNotificationCeaseBfdDownHex)));
  Notification decoded =
      DecodeAs<Notification>(FromHex(golden::kGoldenNotificationCeaseBfdDownHex));
  EXPECT_EQ(decoded, n);
  EXPECT_EQ(NotificationName(decoded.code, decoded.subcode), "Cease/BFD Down");
}

TEST(BgpGoldenTest, RouteRefresh) {
  RouteRefresh rr{kIpv4Unicast, 0};
  EXPECT_EQ(ToHex(EncodeRouteRefresh(rr)), ToHex(FromHex(golden::kGoldenRouteRefreshHex)));
  EXPECT_EQ(DecodeAs<RouteRefresh>(FromHex(golden::kGoldenRouteRefreshHex)), rr);
  RouteRefresh borr{kIpv6Unicast, 1};
  EXPECT_EQ(DecodeAs<RouteRefresh>(EncodeRouteRefresh(borr)), borr);
}

}  // namespace
}  // namespace strobe::bgp
