#include "dataplane/bfd_frame.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/dataplane/test_frames.h"

namespace strobe::dataplane {
namespace {

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

std::vector<uint8_t> RandomPayload(std::mt19937& rng, size_t len) {
  std::vector<uint8_t> p(len);
  for (auto& b : p) b = static_cast<uint8_t>(rng());
  return p;
}

// Checks every length and checksum of `f` against values computed from scratch.
void ExpectConsistent(const BfdFrame& f) {
  auto b = f.bytes();
  const uint8_t* ip = b.data() + BfdFrame::kEthLen;
  const size_t ip_len = b.size() - BfdFrame::kEthLen;
  const size_t udp_off = f.ipv6() ? BfdFrame::kIpv6Len : BfdFrame::kIpv4Len;
  if (f.ipv6()) {
    EXPECT_EQ(Get16(ip + 4), ip_len - BfdFrame::kIpv6Len);
  } else {
    EXPECT_EQ(Get16(ip + 2), ip_len);
    EXPECT_EQ(FoldChecksum(OnesSum({ip, BfdFrame::kIpv4Len})), 0);  // header verifies
  }
  EXPECT_EQ(Get16(ip + udp_off + 4), ip_len - udp_off);
  EXPECT_EQ(Get16(ip + udp_off + 6), UdpChecksumFromScratch({ip, ip_len}));
}

TEST(BfdFrame, KnownGoodIpv4Packet) {
  // A BFD control packet: Up, detect mult 3, my discr 1, your discr 2, 300 ms intervals.
  const std::vector<uint8_t> bfd = {0x20, 0xc0, 0x03, 0x18, 0x00, 0x00, 0x00, 0x01,
                                    0x00, 0x00, 0x00, 0x02, 0x00, 0x04, 0x93, 0xe0,
                                    0x00, 0x04, 0x93, 0xe0, 0x00, 0x00, 0x00, 0x00};
  auto f = BfdFrame::Build(TestFrameSpec(false), bfd);
  ASSERT_TRUE(f.ok()) << f.status();
  // Independently computed (Python: ipaddress/struct with RFC 1071 sums) expected frame.
  const std::vector<uint8_t> expected = {
      0x02, 0x53, 0x54, 0x00, 0x00, 0x02, 0x02, 0x53, 0x54, 0x00, 0x00, 0x01, 0x08, 0x00,  // eth
      0x45, 0xc0, 0x00, 0x34, 0x00, 0x00, 0x40, 0x00, 0xff, 0x11, 0xee, 0xd0,              // ip
      0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,  // addresses
      0xc0, 0x00, 0x0e, 0xc8, 0x00, 0x20, 0x59, 0x19,  // udp
  };
  auto b = f->bytes();
  ASSERT_EQ(b.size(), expected.size() + bfd.size());
  EXPECT_EQ(std::vector<uint8_t>(b.begin(), b.begin() + expected.size()), expected);
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + expected.size(), b.end()), bfd);
}

TEST(BfdFrame, KnownGoodIpv6Packet) {
  const std::vector<uint8_t> bfd = {0x20, 0xc0, 0x03, 0x18, 0x00, 0x00, 0x00, 0x01,
                                    0x00, 0x00, 0x00, 0x02, 0x00, 0x04, 0x93, 0xe0,
                                    0x00, 0x04, 0x93, 0xe0, 0x00, 0x00, 0x00, 0x00};
  auto f = BfdFrame::Build(TestFrameSpec(true), bfd);
  ASSERT_TRUE(f.ok()) << f.status();
  auto b = f->bytes();
  ASSERT_EQ(b.size(), 14u + 40 + 8 + 24);
  // Payload length 32; UDP checksum computed independently (Python, RFC 2460 pseudo header).
  EXPECT_EQ(Get16(&b[14 + 4]), 32);
  EXPECT_EQ(Get16(&b[14 + 40 + 4]), 32);
  EXPECT_EQ(Get16(&b[14 + 40 + 6]), 0x89cc);
}

TEST(BfdFrame, Ipv6Header) {
  std::mt19937 rng(1);
  auto f = BfdFrame::Build(TestFrameSpec(true), RandomPayload(rng, 24));
  ASSERT_TRUE(f.ok());
  auto b = f->bytes();
  ASSERT_EQ(b.size(), 14u + 40 + 8 + 24);
  EXPECT_EQ(Get16(&b[12]), 0x86dd);
  EXPECT_EQ(b[14], 0x6c);  // version 6, traffic class 0xc0
  EXPECT_EQ(b[15], 0x00);
  EXPECT_EQ(b[20], 17);
  EXPECT_EQ(b[21], 255);
  EXPECT_EQ(Get16(&b[14 + 40 + 2]), 3784);
  ExpectConsistent(*f);
}

TEST(BfdFrame, MultihopPortAndBadLengths) {
  auto spec = TestFrameSpec(false);
  spec.multihop = true;
  std::vector<uint8_t> p(24);
  auto f = BfdFrame::Build(spec, p);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Get16(&f->bytes()[14 + 20 + 2]), 4784);
  EXPECT_FALSE(BfdFrame::Build(spec, std::vector<uint8_t>(23)).ok());
  EXPECT_FALSE(f->Patch(std::vector<uint8_t>(53)).ok());
}

class BfdFramePatch : public ::testing::TestWithParam<bool> {};

TEST_P(BfdFramePatch, RandomPayloadsSameLengthIncremental) {
  std::mt19937 rng(GetParam() ? 6 : 4);
  for (size_t len : {24u, 25u, 27u, 48u, 52u}) {
    auto f = BfdFrame::Build(TestFrameSpec(GetParam()), RandomPayload(rng, len));
    ASSERT_TRUE(f.ok());
    for (int i = 0; i < 2000; ++i) {
      std::vector<uint8_t> p = RandomPayload(rng, len);
      if (i % 3 == 0) {  // typical send: only a few bytes change
        p.assign(f->payload().begin(), f->payload().end());
        p[rng() % len] = static_cast<uint8_t>(rng());
      }
      ASSERT_TRUE(f->Patch(p).ok());
      ASSERT_EQ(std::vector<uint8_t>(f->payload().begin(), f->payload().end()), p);
      ExpectConsistent(*f);
      if (HasFailure()) return;
    }
  }
}

TEST_P(BfdFramePatch, RandomPayloadsChangingLength) {
  std::mt19937 rng(GetParam() ? 8 : 9);
  auto f = BfdFrame::Build(TestFrameSpec(GetParam()), RandomPayload(rng, 24));
  ASSERT_TRUE(f.ok());
  for (int i = 0; i < 2000; ++i) {
    const size_t len = 24 + rng() % 29;
    std::vector<uint8_t> p = RandomPayload(rng, len);
    ASSERT_TRUE(f->Patch(p).ok());
    ASSERT_EQ(f->bytes().size(),
              BfdFrame::kEthLen + (GetParam() ? 40u : 20u) + BfdFrame::kUdpLen + len);
    ASSERT_EQ(std::vector<uint8_t>(f->payload().begin(), f->payload().end()), p);
    ExpectConsistent(*f);
    if (HasFailure()) return;
  }
}

TEST_P(BfdFramePatch, ZeroSumPayloadKeepsNonZeroChecksum) {
  // Drive the checksum towards 0, which UDP must send as 0xffff.
  std::mt19937 rng(3);
  auto f = BfdFrame::Build(TestFrameSpec(GetParam()), std::vector<uint8_t>(24));
  ASSERT_TRUE(f.ok());
  for (int i = 0; i < 65536 * 2; ++i) {
    std::vector<uint8_t> p(f->payload().begin(), f->payload().end());
    p[0] = static_cast<uint8_t>(i >> 8);
    p[1] = static_cast<uint8_t>(i);
    ASSERT_TRUE(f->Patch(p).ok());
    const uint8_t* udp = f->bytes().data() + 14 + (GetParam() ? 40 : 20);
    ASSERT_NE(Get16(udp + 6), 0);
  }
  ExpectConsistent(*f);
}

INSTANTIATE_TEST_SUITE_P(Families, BfdFramePatch, ::testing::Bool(),
                         [](const auto& param_info) { return param_info.param ? "Ipv6" : "Ipv4"; });

}  // namespace
}  // namespace strobe::dataplane
