// Every header, OPEN and NOTIFICATION error path to its NOTIFICATION code/subcode/data.
#include <variant>

#include "controlplane/bgp/message.h"
#include "gtest/gtest.h"
#include "tests/unit/bgp/golden_vectors.h"
#include "tests/unit/bgp/test_util.h"

namespace strobe::bgp {
namespace {

using testing::Framed;
using testing::FromHex;

BgpError ErrorOf(const std::vector<uint8_t>& bytes, const DecodeOptions& options = {}) {
  auto decoded = DecodeMessage(bytes, options);
  EXPECT_TRUE(std::holds_alternative<BgpError>(decoded));
  if (!std::holds_alternative<BgpError>(decoded)) return {};
  return std::get<BgpError>(decoded);
}

BgpError Err(uint8_t code, uint8_t subcode, std::vector<uint8_t> data = {}) {
  return BgpError{code, subcode, std::move(data)};
}

TEST(BgpHeaderErrorTest, MarkerNotAllOnes) {
  auto bytes = EncodeKeepalive();
  bytes[7] = 0xfe;
  EXPECT_EQ(ErrorOf(bytes), Err(1, kSubConnectionNotSynchronized));
}

TEST(BgpHeaderErrorTest, LengthBelow19) {
  auto bytes = EncodeKeepalive();
  bytes[17] = 18;
  EXPECT_EQ(ErrorOf(bytes), Err(1, kSubBadMessageLength, {0, 18}));
}

TEST(BgpHeaderErrorTest, LengthAboveMax) {
  std::vector<uint8_t> bytes = Framed(2, std::vector<uint8_t>(4097 - 19, 0));
  EXPECT_EQ(ErrorOf(bytes), Err(1, kSubBadMessageLength, {0x10, 0x01}));
  // Accepted by the header with extended messages (then the UPDATE itself is malformed).
  CodecOptions ext;
  ext.max_length = kMaxExtendedMessageLength;
  auto h = DecodeHeader(bytes, ext.max_length);
  ASSERT_TRUE(std::holds_alternative<Header>(h));
  EXPECT_EQ(std::get<Header>(h).length, 4097);
}

TEST(BgpHeaderErrorTest, BadType) {
  EXPECT_EQ(ErrorOf(Framed(6, {})), Err(1, kSubBadMessageType, {6}));
  EXPECT_EQ(ErrorOf(Framed(0, {})), Err(1, kSubBadMessageType, {0}));
}

TEST(BgpHeaderErrorTest, PerTypeMinimumLengths) {
  EXPECT_EQ(ErrorOf(Framed(1, std::vector<uint8_t>(9, 0))), Err(1, 2, {0, 28}));
  EXPECT_EQ(ErrorOf(Framed(2, std::vector<uint8_t>(3, 0))), Err(1, 2, {0, 22}));
  EXPECT_EQ(ErrorOf(Framed(3, std::vector<uint8_t>(1, 6))), Err(1, 2, {0, 20}));
  EXPECT_EQ(ErrorOf(Framed(4, std::vector<uint8_t>(1, 0))), Err(1, 2, {0, 20}));
  EXPECT_EQ(ErrorOf(Framed(5, {0, 1, 0, 1, 0})), Err(1, 2, {0, 24}));
}

TEST(BgpHeaderErrorTest, EnhancedRouteRefreshBadLength) {
  auto bytes = Framed(5, {0, 1, 1, 1, 0});  // BoRR, 5 octets.
  EXPECT_EQ(ErrorOf(bytes), Err(kErrRouteRefresh, kSubInvalidMessageLength, bytes));
}

TEST(BgpHeaderErrorTest, BufferShorterThanLength) {
  auto bytes = EncodeKeepalive();
  bytes.push_back(0);
  EXPECT_EQ(ErrorOf(bytes), Err(1, 2, {0, 19}));
}

TEST(BgpHeaderErrorTest, FrameLength) {
  auto ka = EncodeKeepalive();
  std::vector<uint8_t> stream(ka.begin(), ka.begin() + 10);
  EXPECT_EQ(std::get<size_t>(FrameLength(stream, 4096)), 0u);
  stream = ka;
  stream.push_back(0xff);
  EXPECT_EQ(std::get<size_t>(FrameLength(stream, 4096)), 19u);
  stream[0] = 0;
  EXPECT_EQ(std::get<BgpError>(FrameLength(stream, 4096)), Err(1, 1));
}

std::vector<uint8_t> OpenBody(uint8_t version, uint16_t as, uint16_t hold, uint32_t id,
                              std::vector<uint8_t> params) {
  std::vector<uint8_t> b{version,
                         static_cast<uint8_t>(as >> 8),
                         static_cast<uint8_t>(as),
                         static_cast<uint8_t>(hold >> 8),
                         static_cast<uint8_t>(hold),
                         static_cast<uint8_t>(id >> 24),
                         static_cast<uint8_t>(id >> 16),
                         static_cast<uint8_t>(id >> 8),
                         static_cast<uint8_t>(id),
                         static_cast<uint8_t>(params.size())};
  b.insert(b.end(), params.begin(), params.end());
  return b;
}

TEST(BgpOpenErrorTest, UnsupportedVersion) {
  EXPECT_EQ(ErrorOf(Framed(1, OpenBody(3, 65001, 90, 1, {}))),
            Err(2, kSubUnsupportedVersionNumber, {0, 4}));
  EXPECT_EQ(ErrorOf(Framed(1, OpenBody(5, 65001, 90, 1, {}))),
            Err(2, kSubUnsupportedVersionNumber, {0, 4}));
}

TEST(BgpOpenErrorTest, UnacceptableHoldTime) {
  EXPECT_EQ(ErrorOf(Framed(1, OpenBody(4, 65001, 1, 1, {}))), Err(2, kSubUnacceptableHoldTime));
  EXPECT_EQ(ErrorOf(Framed(1, OpenBody(4, 65001, 2, 1, {}))), Err(2, kSubUnacceptableHoldTime));
  EXPECT_TRUE(std::holds_alternative<MessageBody>(
      DecodeMessage(Framed(1, OpenBody(4, 65001, 0, 1, {})), {})));
  EXPECT_TRUE(std::holds_alternative<MessageBody>(
      DecodeMessage(Framed(1, OpenBody(4, 65001, 3, 1, {})), {})));
}

TEST(BgpOpenErrorTest, UnsupportedOptionalParameter) {
  EXPECT_EQ(ErrorOf(Framed(1, OpenBody(4, 65001, 90, 1, {1, 2, 0, 0}))),
            Err(2, kSubUnsupportedOptionalParameter));
}

TEST(BgpOpenErrorTest, MalformedParametersAreUnspecific) {
  // Parameter overruns the optional parameters.
  EXPECT_EQ(ErrorOf(Framed(1, OpenBody(4, 65001, 90, 1, {2, 5, 2, 0}))), Err(2, kSubUnspecific));
  // Capability length overruns the parameter.
  EXPECT_EQ(ErrorOf(Framed(1, OpenBody(4, 65001, 90, 1, {2, 2, 65, 4}))), Err(2, kSubUnspecific));
  // Known capability with the wrong length.
  EXPECT_EQ(ErrorOf(Framed(1, OpenBody(4, 65001, 90, 1, {2, 4, 65, 2, 0, 1}))),
            Err(2, kSubUnspecific));
  EXPECT_EQ(ErrorOf(Framed(1, OpenBody(4, 65001, 90, 1, {2, 3, 2, 1, 0}))), Err(2, 0));
  // Trailing bytes after the optional parameters.
  auto body = OpenBody(4, 65001, 90, 1, {});
  body.push_back(0);
  EXPECT_EQ(ErrorOf(Framed(1, body)), Err(2, kSubUnspecific));
}

TEST(BgpOpenErrorTest, UnknownCapabilityKeptRaw) {
  auto decoded = DecodeMessage(Framed(1, OpenBody(4, 65001, 90, 1, {2, 5, 200, 3, 1, 2, 3})), {});
  ASSERT_TRUE(std::holds_alternative<MessageBody>(decoded));
  const Open& open = std::get<Open>(std::get<MessageBody>(decoded));
  ASSERT_EQ(open.capabilities.unknown.size(), 1u);
  EXPECT_EQ(open.capabilities.unknown[0], (RawCapability{200, {1, 2, 3}}));
  auto re = EncodeOpen(open);
  ASSERT_TRUE(re.ok());
  EXPECT_EQ(*re, Framed(1, OpenBody(4, 65001, 90, 1, {2, 5, 200, 3, 1, 2, 3})));
}

TEST(BgpOpenErrorTest, ExtendedOptionalParametersLength) {
  // RFC 9072: 255, 255, 2-octet length, then parameters with 2-octet lengths.
  std::vector<uint8_t> params{255, 0, 9, 2, 0, 6, 65, 4, 0, 0, 0xfd, 0xe9};
  auto body = OpenBody(4, 65001, 90, 1, {});
  body.back() = 255;
  body.insert(body.end(), params.begin(), params.end());
  auto decoded = DecodeMessage(Framed(1, body), {});
  ASSERT_TRUE(std::holds_alternative<MessageBody>(decoded));
  EXPECT_EQ(std::get<Open>(std::get<MessageBody>(decoded)).capabilities.four_octet_as, 65001u);
  // Encode switches to the extended form when the capabilities exceed 255 octets.
  Capabilities caps;
  for (int i = 0; i < 100; ++i) caps.multiprotocol.push_back({static_cast<uint16_t>(i), 1});
  Open big = MakeOpen(65001, 90, 1, caps);
  auto enc = EncodeOpen(big);
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ((*enc)[28], 255);
  EXPECT_EQ((*enc)[29], 255);
  auto back = DecodeMessage(*enc, {});
  ASSERT_TRUE(std::holds_alternative<MessageBody>(back));
  EXPECT_EQ(std::get<Open>(std::get<MessageBody>(back)), big);
}

TEST(BgpOpenErrorTest, ValidateOpen) {
  OpenPolicy policy;
  policy.local_as = 65000;
  policy.local_identifier = 0x0a000001;
  policy.peer_as = 65001;
  Open open = MakeOpen(65001, 90, 0x0a000002, {});
  EXPECT_EQ(ValidateOpen(open, policy), std::nullopt);

  Open wrong_as = MakeOpen(65002, 90, 0x0a000002, {});
  EXPECT_EQ(ValidateOpen(wrong_as, policy), Err(2, kSubBadPeerAs));
  Open inconsistent = open;
  inconsistent.my_as = 65005;
  EXPECT_EQ(ValidateOpen(inconsistent, policy), Err(2, kSubBadPeerAs));

  Open zero_id = MakeOpen(65001, 90, 0, {});
  EXPECT_EQ(ValidateOpen(zero_id, policy), Err(2, kSubBadBgpIdentifier));
  // iBGP with our own identifier.
  OpenPolicy ibgp = policy;
  ibgp.peer_as = 65000;
  Open same_id = MakeOpen(65000, 90, 0x0a000001, {});
  EXPECT_EQ(ValidateOpen(same_id, ibgp), Err(2, kSubBadBgpIdentifier));
  // Same identifier over eBGP is fine (RFC 6286).
  Open ebgp_same_id = MakeOpen(65001, 90, 0x0a000001, {});
  EXPECT_EQ(ValidateOpen(ebgp_same_id, policy), std::nullopt);

  // AS range for dynamic neighbors.
  OpenPolicy range = policy;
  range.peer_as.reset();
  range.peer_as_min = 65001;
  range.peer_as_max = 65010;
  EXPECT_EQ(ValidateOpen(open, range), std::nullopt);
  EXPECT_EQ(ValidateOpen(MakeOpen(65011, 90, 2, {}), range), Err(2, kSubBadPeerAs));

  // Required capability missing: data is the capability as we would send it.
  OpenPolicy need_v6 = policy;
  need_v6.required_families = {kIpv6Unicast};
  EXPECT_EQ(ValidateOpen(open, need_v6), Err(2, kSubUnsupportedCapability, {1, 4, 0, 2, 0, 1}));
  OpenPolicy need_as4 = policy;
  need_as4.require_four_octet_as = true;
  Open old = open;
  old.capabilities.four_octet_as.reset();
  EXPECT_EQ(ValidateOpen(old, need_as4),
            Err(2, kSubUnsupportedCapability, {65, 4, 0, 0, 0xfd, 0xe8}));
}

TEST(BgpNotificationTest, NamesAndShutdownCommunication) {
  EXPECT_EQ(NotificationName(6, 2), "Cease/Administrative Shutdown");
  EXPECT_EQ(NotificationName(1, 1), "Message Header Error/Connection Not Synchronized");
  EXPECT_EQ(NotificationName(3, 11), "UPDATE Message Error/Malformed AS_PATH");
  EXPECT_EQ(NotificationName(6, 99), "Cease/subcode 99");
  EXPECT_EQ(NotificationName(42, 1), "Unknown/subcode 1");
  EXPECT_EQ(NotificationName(4, 0), "Hold Timer Expired");
  EXPECT_EQ(NotificationName(6, 0), "Cease");
  EXPECT_EQ(NotificationName(2, 0), "OPEN Message Error/Unspecific");
  EXPECT_EQ(NotificationName(5, 0), "Finite State Machine Error/Unspecified Error");
  for (uint8_t sub = 1; sub <= 10; ++sub) {
    EXPECT_EQ(NotificationName(6, sub).find("subcode"), std::string::npos) << int{sub};
  }

  Notification n = MakeShutdownNotification(kCeaseAdministrativeShutdown, "maintenance");
  auto bytes = EncodeNotification(n);
  auto decoded = DecodeMessage(bytes, {});
  ASSERT_TRUE(std::holds_alternative<MessageBody>(decoded));
  const Notification& back = std::get<Notification>(std::get<MessageBody>(decoded));
  EXPECT_EQ(ShutdownCommunication(back), "maintenance");
  EXPECT_EQ(ShutdownCommunication(MakeShutdownNotification(4, "")), "");
  // Length larger than the data, wrong subcode, no data.
  EXPECT_EQ(ShutdownCommunication({6, 2, {5, 'a'}}), std::nullopt);
  EXPECT_EQ(ShutdownCommunication({6, 10, {1, 'a'}}), std::nullopt);
  EXPECT_EQ(ShutdownCommunication({6, 2, {}}), std::nullopt);
  EXPECT_EQ(MakeShutdownNotification(2, std::string(300, 'x')).data.size(), 256u);
}

TEST(BgpNotificationTest, FromErrorAndTruncation) {
  BgpError e{1, 2, {0, 18}};
  EXPECT_EQ(EncodeNotification(Notification::FromError(e)),
            Framed(3, std::vector<uint8_t>{1, 2, 0, 18}));
  Notification huge{3, 1, std::vector<uint8_t>(5000, 7)};
  EXPECT_EQ(EncodeNotification(huge).size(), 4096u);
}

}  // namespace
}  // namespace strobe::bgp
