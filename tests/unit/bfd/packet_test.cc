#include "src/bfd/packet.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "src/bfd/rx_checks.h"
#include "tests/unit/bfd/golden_vectors.h"

namespace strobe::bfd {
namespace {

using ::strobe::bfd::testing::kGoldenVectors;

std::vector<uint8_t> FromHex(std::string_view hex) {
  std::vector<uint8_t> out;
  int high = -1;
  for (char c : hex) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    const int v = std::isdigit(static_cast<unsigned char>(c))
                      ? c - '0'
                      : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
    EXPECT_TRUE(v >= 0 && v < 16) << "bad hex digit " << c;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  EXPECT_EQ(high, -1) << "odd number of hex digits";
  return out;
}

std::vector<uint8_t> Golden(std::string_view name) {
  for (const auto& v : kGoldenVectors) {
    if (name == v.name) return FromHex(v.hex);
  }
  ADD_FAILURE() << "no golden vector " << name;
  return {};
}

AuthSection Password(uint8_t key_id, std::string_view password) {
  AuthSection auth;
  auth.type = AuthType::kSimplePassword;
  auth.key_id = key_id;
  auth.password_len = static_cast<uint8_t>(password.size());
  std::copy(password.begin(), password.end(), auth.password.begin());
  return auth;
}

AuthSection Keyed(AuthType type, uint8_t key_id, uint32_t sequence, std::string_view digest_hex) {
  AuthSection auth;
  auth.type = type;
  auth.key_id = key_id;
  auth.sequence = sequence;
  const std::vector<uint8_t> digest = FromHex(digest_hex);
  EXPECT_EQ(digest.size(), AuthDigestLength(type));
  std::copy(digest.begin(), digest.end(), auth.digest.begin());
  return auth;
}

ControlPacket Base(State state, uint32_t my, uint32_t your, uint32_t tx, uint32_t rx) {
  ControlPacket p;
  p.state = state;
  p.detect_mult = 3;
  p.my_discriminator = my;
  p.your_discriminator = your;
  p.desired_min_tx_us = tx;
  p.required_min_rx_us = rx;
  return p;
}

// What each golden vector means, written independently of its bytes.
std::map<std::string, ControlPacket> GoldenPackets() {
  std::map<std::string, ControlPacket> m;
  m["down_plain"] = Base(State::kDown, 1, 0, 1000000, 1000000);

  m["down_diag_detect_expired"] = Base(State::kDown, 1, 0, 1000000, 1000000);
  m["down_diag_detect_expired"].diag = Diag::kControlDetectionTimeExpired;

  m["admin_down"] = Base(State::kAdminDown, 1, 2, 1000000, 1000000);
  m["admin_down"].diag = Diag::kAdministrativelyDown;

  m["init_cpi"] = Base(State::kInit, 1, 2, 1000000, 1000000);
  m["init_cpi"].control_plane_independent = true;

  ControlPacket up_poll = Base(State::kUp, 0x11223344, 0x55667788, 300000, 300000);
  up_poll.poll = true;
  up_poll.detect_mult = 5;
  up_poll.required_min_echo_rx_us = 50000;
  m["up_poll"] = up_poll;

  m["up_final"] = Base(State::kUp, 0x55667788, 0x11223344, 300000, 300000);
  m["up_final"].final = true;

  m["up_demand"] = Base(State::kUp, 0x55667788, 0x11223344, 300000, 300000);
  m["up_demand"].demand = true;

  m["simple_password"] = Base(State::kUp, 1, 2, 1000000, 1000000);
  m["simple_password"].auth = Password(5, "password");

  m["keyed_md5"] = Base(State::kUp, 1, 2, 1000000, 1000000);
  m["keyed_md5"].auth = Keyed(AuthType::kKeyedMd5, 1, 100, "bd6dffebbf6f824c63c714415eb71a6c");

  m["meticulous_keyed_md5"] = Base(State::kInit, 10, 11, 100000, 100000);
  m["meticulous_keyed_md5"].auth =
      Keyed(AuthType::kMeticulousKeyedMd5, 7, 0xfffffffe, "348f34fc11d0897e2daefeac62c0439d");

  m["keyed_sha1"] = Base(State::kUp, 3, 4, 500000, 500000);
  m["keyed_sha1"].detect_mult = 5;
  m["keyed_sha1"].auth =
      Keyed(AuthType::kKeyedSha1, 2, 0x1000, "33dad2f6b8319fa8e3c9e97ba3c5f0c1cd42258a");

  m["meticulous_keyed_sha1"] = Base(State::kDown, 5, 6, 1000000, 1000000);
  m["meticulous_keyed_sha1"].diag = Diag::kNeighborSignaledSessionDown;
  m["meticulous_keyed_sha1"].auth = Keyed(AuthType::kMeticulousKeyedSha1, 255, 0x80000000,
                                          "e2eca44d11b38466696109e5729b758e43d7586f");
  return m;
}

std::vector<uint8_t> EncodeOrDie(const ControlPacket& packet) {
  std::vector<uint8_t> out(kMaxPacketLen, 0xaa);
  absl::StatusOr<size_t> n = Encode(packet, out);
  EXPECT_TRUE(n.ok()) << n.status();
  out.resize(n.ok() ? *n : 0);
  return out;
}

strobe_bfd_drop_reason CheckHeader(const std::vector<uint8_t>& p) {
  return strobe_bfd_check_header(p.data(), static_cast<unsigned int>(p.size()), 255, 1);
}

// ---- Golden vectors -------------------------------------------------------------------------

TEST(PacketGoldenTest, EveryVectorHasAMeaningAndViceVersa) {
  const std::map<std::string, ControlPacket> packets = GoldenPackets();
  std::set<std::string> names;
  for (const auto& v : kGoldenVectors) {
    EXPECT_TRUE(names.insert(v.name).second) << "duplicate " << v.name;
    EXPECT_TRUE(packets.contains(v.name)) << v.name;
  }
  EXPECT_EQ(names.size(), packets.size());
}

TEST(PacketGoldenTest, CoverTheRequiredCases) {
  const std::map<std::string, ControlPacket> packets = GoldenPackets();
  std::set<AuthType> auth_types;
  bool plain_down = false, up_poll = false, final = false;
  for (const auto& [name, p] : packets) {
    if (p.auth) auth_types.insert(p.auth->type);
    plain_down |= p.state == State::kDown && !p.auth && !p.poll && !p.final;
    up_poll |= p.state == State::kUp && p.poll;
    final |= p.final;
  }
  EXPECT_TRUE(plain_down);
  EXPECT_TRUE(up_poll);
  EXPECT_TRUE(final);
  EXPECT_EQ(auth_types.size(), 5u);
}

TEST(PacketGoldenTest, EncodeEqualsBytes) {
  for (const auto& [name, packet] : GoldenPackets()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(EncodeOrDie(packet), Golden(name));
  }
}

TEST(PacketGoldenTest, DecodeEqualsStruct) {
  for (const auto& [name, packet] : GoldenPackets()) {
    SCOPED_TRACE(name);
    const std::vector<uint8_t> bytes = Golden(name);
    ASSERT_EQ(CheckHeader(bytes), STROBE_BFD_OK);
    ControlPacket decoded;
    ASSERT_EQ(Decode(bytes, &decoded), STROBE_BFD_OK);
    EXPECT_EQ(decoded, packet);
    EXPECT_EQ(decoded.WireLength(), bytes.size());
  }
}

TEST(PacketGoldenTest, SpotCheckDownPlainBytes) {
  // The first golden vector restated as an array, to guard against a wrong hex parser.
  const std::vector<uint8_t> expected = {0x20, 0x40, 0x03, 0x18, 0, 0,    0,    1,    0, 0, 0, 0,
                                         0,    0x0f, 0x42, 0x40, 0, 0x0f, 0x42, 0x40, 0, 0, 0, 0};
  EXPECT_EQ(Golden("down_plain"), expected);
}

// ---- Round trips ----------------------------------------------------------------------------

std::vector<std::optional<AuthSection>> AllAuthVariants() {
  return {
      std::nullopt,
      Password(0, "x"),
      Password(9, "0123456789abcdef"),
      Keyed(AuthType::kKeyedMd5, 1, 0, "00112233445566778899aabbccddeeff"),
      Keyed(AuthType::kMeticulousKeyedMd5, 2, 0xffffffff, "ffeeddccbbaa99887766554433221100"),
      Keyed(AuthType::kKeyedSha1, 3, 12345, "00112233445566778899aabbccddeeff01234567"),
      Keyed(AuthType::kMeticulousKeyedSha1, 255, 0x80000001,
            "0123456789abcdef0123456789abcdef01234567"),
  };
}

TEST(PacketRoundTripTest, EveryStateFlagAndAuthType) {
  int cases = 0;
  for (State state : {State::kAdminDown, State::kDown, State::kInit, State::kUp}) {
    for (int flags = 0; flags < 32; ++flags) {
      for (const std::optional<AuthSection>& auth : AllAuthVariants()) {
        ControlPacket p = Base(state, 0xdeadbeef, 0x01020304, 0x11111111, 0x22222222);
        p.required_min_echo_rx_us = 0x33333333;
        p.detect_mult = 255;
        p.diag = static_cast<Diag>(flags % 9);
        p.poll = flags & 1;
        p.final = flags & 2;
        p.control_plane_independent = flags & 4;
        p.demand = flags & 8;
        p.multipoint = flags & 16;
        p.auth = auth;
        SCOPED_TRACE(::testing::Message() << StateName(state) << " flags " << flags << " auth "
                                          << AuthTypeName(auth ? auth->type : AuthType::kNone));
        const std::vector<uint8_t> wire = EncodeOrDie(p);
        ASSERT_EQ(wire.size(), p.WireLength());
        EXPECT_EQ(wire[STROBE_BFD_OFF_LENGTH], p.WireLength());
        EXPECT_EQ((wire[STROBE_BFD_OFF_FLAGS] & STROBE_BFD_FLAG_AUTH) != 0, auth.has_value());
        EXPECT_EQ(CheckHeader(wire), p.multipoint ? STROBE_BFD_DROP_MULTIPOINT : STROBE_BFD_OK);
        ControlPacket decoded;
        ASSERT_EQ(Decode(wire, &decoded), STROBE_BFD_OK);
        EXPECT_EQ(decoded, p);
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 4 * 32 * 7);
}

TEST(PacketRoundTripTest, EveryDiag) {
  for (uint8_t d = 0; d <= 8; ++d) {
    ControlPacket p = Base(State::kDown, 1, 0, 1, 1);
    p.diag = static_cast<Diag>(d);
    const std::vector<uint8_t> wire = EncodeOrDie(p);
    EXPECT_EQ(wire[0], 0x20 | d);
    ControlPacket decoded;
    ASSERT_EQ(Decode(wire, &decoded), STROBE_BFD_OK);
    EXPECT_EQ(decoded, p);
  }
}

TEST(PacketRoundTripTest, ExtremeFieldValues) {
  ControlPacket p = Base(State::kUp, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff);
  p.required_min_echo_rx_us = 0xffffffff;
  p.detect_mult = 1;
  ControlPacket decoded;
  ASSERT_EQ(Decode(EncodeOrDie(p), &decoded), STROBE_BFD_OK);
  EXPECT_EQ(decoded, p);
}

// ---- Encode ---------------------------------------------------------------------------------

TEST(PacketEncodeTest, WritesExactlyWireLengthBytes) {
  for (const std::optional<AuthSection>& auth : AllAuthVariants()) {
    ControlPacket p = Base(State::kUp, 1, 2, 3, 4);
    p.auth = auth;
    std::vector<uint8_t> out(kMaxPacketLen + 8, 0xaa);
    absl::StatusOr<size_t> n = Encode(p, out);
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, p.WireLength());
    for (size_t i = *n; i < out.size(); ++i) EXPECT_EQ(out[i], 0xaa) << i;
  }
}

TEST(PacketEncodeTest, BufferExactlyLargeEnough) {
  ControlPacket p = GoldenPackets()["keyed_sha1"];
  std::vector<uint8_t> out(p.WireLength());
  EXPECT_TRUE(Encode(p, out).ok());
  EXPECT_EQ(out, Golden("keyed_sha1"));
}

TEST(PacketEncodeTest, BufferTooSmall) {
  for (const std::optional<AuthSection>& auth : AllAuthVariants()) {
    ControlPacket p = Base(State::kUp, 1, 2, 3, 4);
    p.auth = auth;
    std::vector<uint8_t> out(p.WireLength() - 1);
    EXPECT_FALSE(Encode(p, out).ok());
  }
  EXPECT_FALSE(Encode(ControlPacket{}, std::span<uint8_t>()).ok());
}

TEST(PacketEncodeTest, KeyedReservedByteIsZero) {
  const std::vector<uint8_t> wire = EncodeOrDie(GoldenPackets()["keyed_md5"]);
  EXPECT_EQ(wire[STROBE_BFD_OFF_AUTH + 3], 0);
}

TEST(PacketEncodeTest, RejectsUnrepresentableFields) {
  std::vector<uint8_t> out(kMaxPacketLen);
  ControlPacket p = Base(State::kDown, 1, 0, 1, 1);
  p.version = 8;
  EXPECT_FALSE(Encode(p, out).ok());
  p.version = 7;  // encodable; the receiver rejects it
  EXPECT_TRUE(Encode(p, out).ok());

  p = Base(State::kDown, 1, 0, 1, 1);
  p.diag = static_cast<Diag>(32);
  EXPECT_FALSE(Encode(p, out).ok());
  p.diag = static_cast<Diag>(31);
  EXPECT_TRUE(Encode(p, out).ok());

  p = Base(static_cast<State>(4), 1, 0, 1, 1);
  EXPECT_FALSE(Encode(p, out).ok());
}

TEST(PacketEncodeTest, RejectsBadAuthSections) {
  std::vector<uint8_t> out(kMaxPacketLen);
  ControlPacket p = Base(State::kUp, 1, 2, 1, 1);
  p.auth = AuthSection{};  // type none
  EXPECT_FALSE(Encode(p, out).ok());

  p.auth = Password(1, "x");
  p.auth->password_len = 0;
  EXPECT_FALSE(Encode(p, out).ok());
  p.auth->password_len = kMaxPasswordLen + 1;
  EXPECT_FALSE(Encode(p, out).ok());
  p.auth->password_len = kMaxPasswordLen;
  EXPECT_TRUE(Encode(p, out).ok());

  p.auth->type = static_cast<AuthType>(6);
  EXPECT_FALSE(Encode(p, out).ok());
}

// ---- Decode ---------------------------------------------------------------------------------

// Decodes `bytes` after asserting that strobe_bfd_check_header() accepts them (Decode's
// precondition).
strobe_bfd_drop_reason CheckedDecode(const std::vector<uint8_t>& bytes, ControlPacket* out) {
  EXPECT_EQ(CheckHeader(bytes), STROBE_BFD_OK);
  return Decode(bytes, out);
}

TEST(PacketDecodeTest, IgnoresBytesBeyondLength) {
  std::vector<uint8_t> bytes = Golden("up_poll");
  bytes.resize(bytes.size() + 6, 0xee);
  ControlPacket decoded;
  ASSERT_EQ(CheckedDecode(bytes, &decoded), STROBE_BFD_OK);
  EXPECT_EQ(decoded, GoldenPackets()["up_poll"]);
}

TEST(PacketDecodeTest, IgnoresKeyedReservedByte) {
  std::vector<uint8_t> bytes = Golden("keyed_sha1");
  bytes[STROBE_BFD_OFF_AUTH + 3] = 0x5a;
  ControlPacket decoded;
  ASSERT_EQ(CheckedDecode(bytes, &decoded), STROBE_BFD_OK);
  EXPECT_EQ(decoded, GoldenPackets()["keyed_sha1"]);
}

TEST(PacketDecodeTest, KeepsUnassignedDiag) {
  std::vector<uint8_t> bytes = Golden("down_plain");
  bytes[0] = 0x20 | 31;
  ControlPacket decoded;
  ASSERT_EQ(CheckedDecode(bytes, &decoded), STROBE_BFD_OK);
  EXPECT_EQ(static_cast<uint8_t>(decoded.diag), 31);
  EXPECT_EQ(DiagName(decoded.diag), "unknown");
}

TEST(PacketDecodeTest, LeavesOutputAloneOnError) {
  std::vector<uint8_t> bytes = Golden("keyed_md5");
  bytes[STROBE_BFD_OFF_AUTH] = 0;
  ControlPacket decoded = GoldenPackets()["up_final"];
  EXPECT_EQ(CheckedDecode(bytes, &decoded), STROBE_BFD_DROP_AUTH_MALFORMED);
  EXPECT_EQ(decoded, GoldenPackets()["up_final"]);
}

// A payload that skipped strobe_bfd_check_header() still cannot make Decode read out of bounds.
TEST(PacketDecodeTest, DefensiveAgainstUncheckedPayloads) {
  ControlPacket decoded;
  std::vector<uint8_t> bytes = Golden("down_plain");
  bytes.pop_back();
  EXPECT_EQ(Decode(bytes, &decoded), STROBE_BFD_DROP_SHORT_PACKET);
  bytes = Golden("keyed_md5");
  bytes.pop_back();
  EXPECT_EQ(Decode(bytes, &decoded), STROBE_BFD_DROP_BAD_LENGTH);
  bytes = Golden("keyed_md5");
  bytes[STROBE_BFD_OFF_LENGTH] = 25;
  EXPECT_EQ(Decode(bytes, &decoded), STROBE_BFD_DROP_BAD_LENGTH);
}

struct MalformedCase {
  const char* what;
  const char* golden;
  size_t offset;  // byte to overwrite
  uint8_t value;
};

TEST(PacketDecodeTest, AuthMalformed) {
  const size_t kType = STROBE_BFD_OFF_AUTH;
  const size_t kLen = STROBE_BFD_OFF_AUTH + 1;
  const MalformedCase cases[] = {
      {"auth type 0 (none) with the A bit", "keyed_md5", kType, 0},
      {"unassigned auth type 6", "keyed_md5", kType, 6},
      {"unassigned auth type 255", "keyed_sha1", kType, 255},
      {"keyed MD5 with Auth Len 23", "keyed_md5", kLen, 23},
      {"keyed MD5 with Auth Len 20", "keyed_md5", kLen, 20},
      {"keyed MD5 with Auth Len 0", "keyed_md5", kLen, 0},
      {"meticulous MD5 with Auth Len 28 > Length - 24", "meticulous_keyed_md5", kLen, 28},
      {"keyed MD5 section typed SHA1 (Auth Len 24 != 28)", "keyed_md5", kType, 4},
      {"keyed SHA1 with Auth Len 24", "keyed_sha1", kLen, 24},
      {"meticulous SHA1 with Auth Len 27", "meticulous_keyed_sha1", kLen, 27},
      {"keyed SHA1 section typed MD5 (Auth Len 28 != 24)", "keyed_sha1", kType, 2},
      {"simple password with Auth Len 3 (empty password)", "simple_password", kLen, 3},
      {"simple password with Auth Len 2", "simple_password", kLen, 2},
      {"simple password with Auth Len 12 > Length - 24", "simple_password", kLen, 12},
      {"simple password with Auth Len 255", "simple_password", kLen, 255},
  };
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.what);
    std::vector<uint8_t> bytes = Golden(c.golden);
    bytes[c.offset] = c.value;
    ControlPacket decoded;
    EXPECT_EQ(CheckedDecode(bytes, &decoded), STROBE_BFD_DROP_AUTH_MALFORMED);
  }
}

TEST(PacketDecodeTest, AuthMalformedWhenLengthCutsTheSection) {
  // Length 40 < 24 + 24: the keyed MD5 section does not fit even though the payload is longer.
  std::vector<uint8_t> bytes = Golden("keyed_md5");
  bytes[STROBE_BFD_OFF_LENGTH] = 40;
  ControlPacket decoded;
  EXPECT_EQ(CheckedDecode(bytes, &decoded), STROBE_BFD_DROP_AUTH_MALFORMED);
  // The smallest Length with the A bit: only Auth Type and Auth Len are inside.
  bytes[STROBE_BFD_OFF_LENGTH] = STROBE_BFD_MIN_AUTH_LEN;
  EXPECT_EQ(CheckedDecode(bytes, &decoded), STROBE_BFD_DROP_AUTH_MALFORMED);
}

TEST(PacketDecodeTest, SimplePasswordLengths) {
  for (size_t len = 1; len <= kMaxPasswordLen; ++len) {
    ControlPacket p = Base(State::kUp, 1, 2, 1, 1);
    p.auth = Password(3, std::string(len, 'k'));
    const std::vector<uint8_t> wire = EncodeOrDie(p);
    EXPECT_EQ(wire.size(), STROBE_BFD_MANDATORY_LEN + 3 + len);
    EXPECT_EQ(wire[STROBE_BFD_OFF_AUTH + 1], 3 + len);
    ControlPacket decoded;
    ASSERT_EQ(CheckedDecode(wire, &decoded), STROBE_BFD_OK);
    EXPECT_EQ(decoded, p);
  }
}

TEST(PacketDecodeTest, PasswordSectionShorterThanLength) {
  // Length 36 but Auth Len 11: the section fits, the extra byte is ignored.
  std::vector<uint8_t> bytes = Golden("simple_password");
  bytes.push_back(0x00);
  bytes[STROBE_BFD_OFF_LENGTH] = 36;
  ControlPacket decoded;
  ASSERT_EQ(CheckedDecode(bytes, &decoded), STROBE_BFD_OK);
  EXPECT_EQ(decoded, GoldenPackets()["simple_password"]);
}

// ---- Names and lengths ----------------------------------------------------------------------

TEST(PacketNamesTest, StateNames) {
  EXPECT_EQ(StateName(State::kAdminDown), "admin-down");
  EXPECT_EQ(StateName(State::kDown), "down");
  EXPECT_EQ(StateName(State::kInit), "init");
  EXPECT_EQ(StateName(State::kUp), "up");
}

TEST(PacketNamesTest, DiagNames) {
  EXPECT_EQ(DiagName(Diag::kNone), "ok");
  EXPECT_EQ(DiagName(Diag::kControlDetectionTimeExpired), "control detection time expired");
  EXPECT_EQ(DiagName(Diag::kEchoFunctionFailed), "echo function failed");
  EXPECT_EQ(DiagName(Diag::kNeighborSignaledSessionDown), "neighbor signaled session down");
  EXPECT_EQ(DiagName(Diag::kForwardingPlaneReset), "forwarding plane reset");
  EXPECT_EQ(DiagName(Diag::kPathDown), "path down");
  EXPECT_EQ(DiagName(Diag::kConcatenatedPathDown), "concatenated path down");
  EXPECT_EQ(DiagName(Diag::kAdministrativelyDown), "administratively down");
  EXPECT_EQ(DiagName(Diag::kReverseConcatenatedPathDown), "reverse concatenated path down");
  EXPECT_EQ(DiagName(static_cast<Diag>(9)), "unknown");
}

TEST(PacketNamesTest, AuthTypeNames) {
  const std::pair<AuthType, std::string_view> names[] = {
      {AuthType::kNone, "none"},
      {AuthType::kSimplePassword, "simple-password"},
      {AuthType::kKeyedMd5, "keyed-md5"},
      {AuthType::kMeticulousKeyedMd5, "meticulous-keyed-md5"},
      {AuthType::kKeyedSha1, "keyed-sha1"},
      {AuthType::kMeticulousKeyedSha1, "meticulous-keyed-sha1"},
  };
  for (const auto& [type, name] : names) {
    EXPECT_EQ(AuthTypeName(type), name);
    EXPECT_EQ(AuthTypeFromName(name), type) << name;
  }
  EXPECT_EQ(AuthTypeFromName(""), std::nullopt);
  EXPECT_EQ(AuthTypeFromName("md5"), std::nullopt);
  EXPECT_EQ(AuthTypeFromName("Keyed-MD5"), std::nullopt);
  EXPECT_EQ(AuthTypeFromName("unknown"), std::nullopt);
  EXPECT_EQ(AuthTypeName(static_cast<AuthType>(6)), "unknown");
}

TEST(PacketLengthsTest, AuthSectionLength) {
  EXPECT_EQ(AuthSectionLength(AuthType::kNone), 0u);
  EXPECT_EQ(AuthSectionLength(AuthType::kSimplePassword, 1), 4u);
  EXPECT_EQ(AuthSectionLength(AuthType::kSimplePassword, 16), 19u);
  EXPECT_EQ(AuthSectionLength(AuthType::kKeyedMd5), 24u);
  EXPECT_EQ(AuthSectionLength(AuthType::kMeticulousKeyedMd5), 24u);
  EXPECT_EQ(AuthSectionLength(AuthType::kKeyedSha1), 28u);
  EXPECT_EQ(AuthSectionLength(AuthType::kMeticulousKeyedSha1), 28u);
  EXPECT_EQ(AuthSectionLength(AuthType::kKeyedSha1, 5), 28u);  // password_len is ignored
}

TEST(PacketLengthsTest, AuthDigestLength) {
  EXPECT_EQ(AuthDigestLength(AuthType::kNone), 0u);
  EXPECT_EQ(AuthDigestLength(AuthType::kSimplePassword), 0u);
  EXPECT_EQ(AuthDigestLength(AuthType::kKeyedMd5), 16u);
  EXPECT_EQ(AuthDigestLength(AuthType::kMeticulousKeyedMd5), 16u);
  EXPECT_EQ(AuthDigestLength(AuthType::kKeyedSha1), 20u);
  EXPECT_EQ(AuthDigestLength(AuthType::kMeticulousKeyedSha1), 20u);
}

TEST(PacketLengthsTest, WireLength) {
  ControlPacket p;
  EXPECT_EQ(p.WireLength(), 24u);
  p.auth = Password(1, "abc");
  EXPECT_EQ(p.WireLength(), 30u);
  p.auth = Keyed(AuthType::kKeyedMd5, 1, 0, "00000000000000000000000000000000");
  EXPECT_EQ(p.WireLength(), 48u);
  p.auth = Keyed(AuthType::kMeticulousKeyedSha1, 1, 0, "0000000000000000000000000000000000000000");
  EXPECT_EQ(p.WireLength(), 52u);
  EXPECT_EQ(p.WireLength(), kMaxPacketLen);
}

}  // namespace
}  // namespace strobe::bfd
