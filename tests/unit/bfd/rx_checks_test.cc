#include "src/bfd/rx_checks.h"

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace {

// A valid single-hop Down packet written out byte by byte (no codec involved):
// Vers 1 | Down | Mult 3 | Len 24 | My 1 | Your 0 | 1 s | 1 s | echo 0.
std::vector<uint8_t> ValidDown() {
  return {0x20, 0x40, 0x03, 0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
          0x00, 0x0f, 0x42, 0x40, 0x00, 0x0f, 0x42, 0x40, 0x00, 0x00, 0x00, 0x00};
}

// Up + A with Your 2, Len 35 and a simple password section ("password", key id 5).
std::vector<uint8_t> ValidUpWithAuth() {
  return {0x20, 0xc4, 0x03, 0x23, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
          0x00, 0x0f, 0x42, 0x40, 0x00, 0x0f, 0x42, 0x40, 0x00, 0x00, 0x00, 0x00,
          0x01, 0x0b, 0x05, 'p',  'a',  's',  's',  'w',  'o',  'r',  'd'};
}

strobe_bfd_drop_reason Check(const std::vector<uint8_t>& p, unsigned int ttl = 255,
                             bool single_hop = true) {
  return strobe_bfd_check_header(p.data(), static_cast<unsigned int>(p.size()), ttl,
                                 single_hop ? 1 : 0);
}

void SetState(std::vector<uint8_t>& p, unsigned int state) {
  p[STROBE_BFD_OFF_FLAGS] = static_cast<uint8_t>((p[STROBE_BFD_OFF_FLAGS] & 0x3f) | (state << 6));
}

TEST(RxChecksTest, Ok) {
  EXPECT_EQ(Check(ValidDown()), STROBE_BFD_OK);
  EXPECT_EQ(Check(ValidUpWithAuth()), STROBE_BFD_OK);
}

TEST(RxChecksTest, OkWithTrailingBytesBeyondLength) {
  std::vector<uint8_t> p = ValidDown();
  p.resize(40, 0xee);  // e.g. Ethernet padding handed up with the payload
  EXPECT_EQ(Check(p), STROBE_BFD_OK);
}

TEST(RxChecksTest, BadTtl) {
  EXPECT_EQ(Check(ValidDown(), 254), STROBE_BFD_DROP_BAD_TTL);
  EXPECT_EQ(Check(ValidDown(), 1), STROBE_BFD_DROP_BAD_TTL);
  EXPECT_EQ(Check(ValidDown(), 0), STROBE_BFD_DROP_BAD_TTL);
  EXPECT_EQ(Check(ValidDown(), 256), STROBE_BFD_DROP_BAD_TTL);
}

TEST(RxChecksTest, MultihopLeavesTtlAlone) {
  EXPECT_EQ(Check(ValidDown(), 254, /*single_hop=*/false), STROBE_BFD_OK);
  EXPECT_EQ(Check(ValidDown(), 1, /*single_hop=*/false), STROBE_BFD_OK);
}

TEST(RxChecksTest, ShortPacket) {
  std::vector<uint8_t> p = ValidDown();
  p.resize(STROBE_BFD_MANDATORY_LEN - 1);
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_SHORT_PACKET);
  EXPECT_EQ(strobe_bfd_check_header(p.data(), 0, 255, 1), STROBE_BFD_DROP_SHORT_PACKET);
}

TEST(RxChecksTest, BadVersion) {
  for (uint8_t version : {0, 2, 7}) {
    std::vector<uint8_t> p = ValidDown();
    p[STROBE_BFD_OFF_VERS_DIAG] = static_cast<uint8_t>(version << 5);
    EXPECT_EQ(Check(p), STROBE_BFD_DROP_BAD_VERSION) << "version " << int{version};
  }
}

TEST(RxChecksTest, BadLengthBelowMandatory) {
  std::vector<uint8_t> p = ValidDown();
  p[STROBE_BFD_OFF_LENGTH] = STROBE_BFD_MANDATORY_LEN - 1;
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_BAD_LENGTH);
  p[STROBE_BFD_OFF_LENGTH] = 0;
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_BAD_LENGTH);
}

TEST(RxChecksTest, BadLengthBelowMinimumWithAuthBit) {
  std::vector<uint8_t> p = ValidUpWithAuth();
  p[STROBE_BFD_OFF_LENGTH] = STROBE_BFD_MIN_AUTH_LEN - 1;
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_BAD_LENGTH);
  p[STROBE_BFD_OFF_LENGTH] = STROBE_BFD_MIN_AUTH_LEN;  // the check itself is only a minimum
  EXPECT_EQ(Check(p), STROBE_BFD_OK);
}

TEST(RxChecksTest, BadLengthBeyondPayload) {
  std::vector<uint8_t> p = ValidUpWithAuth();
  p.pop_back();  // Length says 35, only 34 bytes arrived
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_BAD_LENGTH);
  std::vector<uint8_t> q = ValidDown();
  q[STROBE_BFD_OFF_LENGTH] = 25;
  EXPECT_EQ(Check(q), STROBE_BFD_DROP_BAD_LENGTH);
}

TEST(RxChecksTest, ZeroDetectMult) {
  std::vector<uint8_t> p = ValidDown();
  p[STROBE_BFD_OFF_DETECT_MULT] = 0;
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_ZERO_DETECT_MULT);
}

TEST(RxChecksTest, Multipoint) {
  std::vector<uint8_t> p = ValidDown();
  p[STROBE_BFD_OFF_FLAGS] |= STROBE_BFD_FLAG_MULTIPOINT;
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_MULTIPOINT);
}

TEST(RxChecksTest, ZeroMyDiscriminator) {
  std::vector<uint8_t> p = ValidDown();
  p[STROBE_BFD_OFF_MY_DISCR + 3] = 0;
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_ZERO_MY_DISCR);
}

TEST(RxChecksTest, ZeroYourDiscriminatorInInitOrUp) {
  for (unsigned int state : {STROBE_BFD_STATE_INIT, STROBE_BFD_STATE_UP}) {
    std::vector<uint8_t> p = ValidUpWithAuth();
    SetState(p, state);
    EXPECT_EQ(Check(p), STROBE_BFD_OK) << "state " << state;
    p[STROBE_BFD_OFF_YOUR_DISCR + 3] = 0;
    EXPECT_EQ(Check(p), STROBE_BFD_DROP_ZERO_YOUR_DISCR) << "state " << state;
  }
}

TEST(RxChecksTest, ZeroYourDiscriminatorAllowedInDownAndAdminDown) {
  for (unsigned int state : {STROBE_BFD_STATE_DOWN, STROBE_BFD_STATE_ADMIN_DOWN}) {
    std::vector<uint8_t> p = ValidDown();
    SetState(p, state);
    EXPECT_EQ(Check(p), STROBE_BFD_OK) << "state " << state;
  }
}

TEST(RxChecksTest, OtherFlagsDoNotMatter) {
  std::vector<uint8_t> p = ValidDown();
  p[STROBE_BFD_OFF_FLAGS] |=
      STROBE_BFD_FLAG_POLL | STROBE_BFD_FLAG_FINAL | STROBE_BFD_FLAG_CPI | STROBE_BFD_FLAG_DEMAND;
  p[STROBE_BFD_OFF_VERS_DIAG] |= 0x1f;  // any diag, even unassigned ones
  EXPECT_EQ(Check(p), STROBE_BFD_OK);
}

// Several faults at once: the first check in RFC 5880 section 6.8.6 order wins.
TEST(RxChecksTest, ChecksRunInRfcOrder) {
  std::vector<uint8_t> p = ValidDown();
  SetState(p, STROBE_BFD_STATE_UP);
  p[STROBE_BFD_OFF_YOUR_DISCR + 3] = 0;
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_ZERO_YOUR_DISCR);
  p[STROBE_BFD_OFF_MY_DISCR + 3] = 0;
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_ZERO_MY_DISCR);
  p[STROBE_BFD_OFF_FLAGS] |= STROBE_BFD_FLAG_MULTIPOINT;
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_MULTIPOINT);
  p[STROBE_BFD_OFF_DETECT_MULT] = 0;
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_ZERO_DETECT_MULT);
  p[STROBE_BFD_OFF_LENGTH] = 60;
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_BAD_LENGTH);
  p[STROBE_BFD_OFF_VERS_DIAG] = 0;
  EXPECT_EQ(Check(p), STROBE_BFD_DROP_BAD_VERSION);
  EXPECT_EQ(Check(p, 64), STROBE_BFD_DROP_BAD_TTL);
}

TEST(RxChecksTest, ReadBe32) {
  const std::array<unsigned char, 4> bytes = {0xde, 0xad, 0xbe, 0xef};
  EXPECT_EQ(strobe_bfd_read_be32(bytes.data()), 0xdeadbeefu);
}

TEST(RxChecksTest, DropReasonNamesAreDistinct) {
  std::set<std::string> names;
  for (int r = 0; r < STROBE_BFD_DROP_REASON_COUNT; ++r) {
    const std::string name = strobe_bfd_drop_reason_name(static_cast<strobe_bfd_drop_reason>(r));
    EXPECT_NE(name, "unknown") << r;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(STROBE_BFD_DROP_REASON_COUNT));
  EXPECT_STREQ(strobe_bfd_drop_reason_name(STROBE_BFD_OK), "ok");
  EXPECT_STREQ(strobe_bfd_drop_reason_name(STROBE_BFD_DROP_REASON_COUNT), "unknown");
}

// The counters are indexed by these values; they must not move.
TEST(RxChecksTest, DropReasonValuesAreStable) {
  EXPECT_EQ(STROBE_BFD_OK, 0);
  EXPECT_EQ(STROBE_BFD_DROP_BAD_TTL, 1);
  EXPECT_EQ(STROBE_BFD_DROP_ZERO_YOUR_DISCR, 8);
  EXPECT_EQ(STROBE_BFD_DROP_AUTH_SEQUENCE, 14);
  EXPECT_EQ(STROBE_BFD_DROP_REASON_COUNT, 15);
}

}  // namespace
