#include "src/net/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash_testing.h"
#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace strobe::net {
namespace {

IpAddress MustParse(std::string_view text) {
  absl::StatusOr<IpAddress> a = IpAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text << ": " << a.status();
  return a.ok() ? *a : IpAddress();
}

TEST(IpAddressTest, DefaultIsEmpty) {
  IpAddress a;
  EXPECT_TRUE(a.empty());
  EXPECT_FALSE(a.is_v4());
  EXPECT_FALSE(a.is_v6());
  EXPECT_EQ(a.family(), IpAddress::Family::kNone);
  EXPECT_EQ(a.ToString(), "");
  for (uint8_t b : a.bytes()) EXPECT_EQ(b, 0);
}

TEST(IpAddressTest, ParsesIpv4) {
  IpAddress a = MustParse("192.0.2.1");
  EXPECT_TRUE(a.is_v4());
  EXPECT_FALSE(a.is_v6());
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a.family(), IpAddress::Family::kV4);
  EXPECT_EQ(a.af(), AF_INET);
  EXPECT_EQ(a.ToString(), "192.0.2.1");
  // Network byte order in the first four bytes, the rest zero.
  const std::array<uint8_t, 16> expected = {192, 0, 2, 1};
  EXPECT_EQ(a.bytes(), expected);
  EXPECT_EQ(a.v4().s_addr, htonl(0xc0000201));
}

TEST(IpAddressTest, FormatsIpv4Extremes) {
  EXPECT_EQ(MustParse("0.0.0.0").ToString(), "0.0.0.0");
  EXPECT_EQ(MustParse("255.255.255.255").ToString(), "255.255.255.255");
  EXPECT_EQ(MustParse("10.0.0.10").ToString(), "10.0.0.10");
}

TEST(IpAddressTest, ParsesIpv6) {
  IpAddress a = MustParse("2001:db8::1");
  EXPECT_TRUE(a.is_v6());
  EXPECT_FALSE(a.is_v4());
  EXPECT_EQ(a.family(), IpAddress::Family::kV6);
  EXPECT_EQ(a.af(), AF_INET6);
  const std::array<uint8_t, 16> expected = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                            0,    0,    0,    0,    0, 0, 0, 1};
  EXPECT_EQ(a.bytes(), expected);
  in6_addr v6 = a.v6();
  EXPECT_EQ(std::memcmp(v6.s6_addr, expected.data(), 16), 0);
}

struct FormatCase {
  std::string_view input;
  std::string_view canonical;  // RFC 5952 text form
};

class IpAddressFormatTest : public ::testing::TestWithParam<FormatCase> {};

TEST_P(IpAddressFormatTest, FormatsCanonically) {
  const FormatCase& c = GetParam();
  IpAddress a = MustParse(c.input);
  EXPECT_EQ(a.ToString(), c.canonical);
  // The canonical form parses back to the same address.
  EXPECT_EQ(MustParse(a.ToString()), a);
}

INSTANTIATE_TEST_SUITE_P(
    Canonical, IpAddressFormatTest,
    ::testing::Values(FormatCase{"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
                      FormatCase{"2001:DB8::A", "2001:db8::a"}, FormatCase{"::", "::"},
                      FormatCase{"::1", "::1"}, FormatCase{"0:0:0:0:0:0:0:1", "::1"},
                      FormatCase{"fe80:0:0:0:0:0:0:0", "fe80::"},
                      FormatCase{"fe80::0001:0002", "fe80::1:2"},
                      // The longest run of zeros is compressed, the first one on a tie.
                      FormatCase{"2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::"},
                      FormatCase{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
                      // A single zero group is not compressed.
                      FormatCase{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
                      FormatCase{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                                 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
                      FormatCase{"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
                      FormatCase{"192.0.2.1", "192.0.2.1"}));

TEST(IpAddressTest, ParseKeepsIpv4MappedTextAsIpv6) {
  // Parse() takes the text as written; only FromSockaddr() unmaps.
  IpAddress a = MustParse("::ffff:192.0.2.1");
  EXPECT_TRUE(a.is_v6());
  EXPECT_NE(a, MustParse("192.0.2.1"));
}

TEST(IpAddressTest, ParseUsesOnlyTheViewsCharacters) {
  // A view that is not NUL-terminated where it ends.
  const std::string text = "192.0.2.10";
  EXPECT_EQ(MustParse(std::string_view(text).substr(0, 9)).ToString(), "192.0.2.1");
  const std::string text6 = "2001:db8::12";
  EXPECT_EQ(MustParse(std::string_view(text6).substr(0, 11)).ToString(), "2001:db8::1");
}

class IpAddressInvalidTest : public ::testing::TestWithParam<std::string_view> {};

TEST_P(IpAddressInvalidTest, IsRefused) {
  const std::string text(GetParam());
  absl::StatusOr<IpAddress> a = IpAddress::Parse(text);
  ASSERT_FALSE(a.ok()) << "parsed \"" << text << "\" as " << a->ToString();
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(a.status().message()).find("\"" + text + "\""), std::string::npos)
      << a.status();
}

INSTANTIATE_TEST_SUITE_P(Invalid, IpAddressInvalidTest,
                         ::testing::Values("", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-1",
                                           "01.2.3.4", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/24",
                                           "1.2.3.4:3784", "localhost", "2001:db8:::1",
                                           "2001:db8::1::2", "gggg::1", "1:2:3:4:5:6:7:8:9",
                                           "12345::1", "fe80::1%eth0", "[2001:db8::1]",
                                           "::ffff:1.2.3", "0x7f000001"));

TEST(IpAddressTest, V4AndV6Constructors) {
  in_addr v4;
  ASSERT_EQ(inet_pton(AF_INET, "198.18.0.1", &v4), 1);
  IpAddress a = IpAddress::V4(v4);
  EXPECT_EQ(a, MustParse("198.18.0.1"));
  EXPECT_EQ(a.v4().s_addr, v4.s_addr);

  in6_addr v6;
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::2", &v6), 1);
  IpAddress b = IpAddress::V6(v6);
  EXPECT_EQ(b, MustParse("2001:db8::2"));
  in6_addr back = b.v6();
  EXPECT_EQ(std::memcmp(&back, &v6, sizeof(v6)), 0);
}

TEST(IpAddressTest, FromSockaddrIpv4) {
  sockaddr_in sin = {};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(3784);
  ASSERT_EQ(inet_pton(AF_INET, "198.18.0.2", &sin.sin_addr), 1);
  IpAddress a = IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&sin));
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.ToString(), "198.18.0.2");
}

TEST(IpAddressTest, FromSockaddrIpv6) {
  sockaddr_in6 sin6 = {};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(4784);
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::2", &sin6.sin6_addr), 1);
  IpAddress a = IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&sin6));
  EXPECT_TRUE(a.is_v6());
  EXPECT_EQ(a.ToString(), "2001:db8::2");
}

TEST(IpAddressTest, FromSockaddrUnmapsIpv4MappedIpv6) {
  sockaddr_in6 sin6 = {};
  sin6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:198.18.0.2", &sin6.sin6_addr), 1);
  IpAddress a = IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&sin6));
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a, MustParse("198.18.0.2"));
  EXPECT_EQ(a.ToString(), "198.18.0.2");
}

TEST(IpAddressTest, FromSockaddrKeepsNonMappedIpv6) {
  // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) addresses are not mapped.
  for (std::string_view text : {"::198.18.0.2", "64:ff9b::c612:2", "::1", "::"}) {
    sockaddr_in6 sin6 = {};
    sin6.sin6_family = AF_INET6;
    ASSERT_EQ(inet_pton(AF_INET6, std::string(text).c_str(), &sin6.sin6_addr), 1);
    IpAddress a = IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&sin6));
    EXPECT_TRUE(a.is_v6()) << text;
    EXPECT_EQ(a, MustParse(text));
  }
}

TEST(IpAddressTest, FromSockaddrOtherFamilyIsEmpty) {
  sockaddr_un sun = {};
  sun.sun_family = AF_UNIX;
  EXPECT_TRUE(IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&sun)).empty());
  sockaddr_storage ss = {};
  ss.ss_family = AF_UNSPEC;
  EXPECT_TRUE(IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&ss)).empty());
}

TEST(IpAddressTest, ToSockaddrIpv4RoundTrip) {
  const IpAddress a = MustParse("198.18.0.1");
  sockaddr_storage ss;
  std::memset(&ss, 0xa5, sizeof(ss));  // every byte must be rewritten
  const socklen_t len = a.ToSockaddr(49152, &ss);
  EXPECT_EQ(len, sizeof(sockaddr_in));
  EXPECT_EQ(ss.ss_family, AF_INET);
  const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
  EXPECT_EQ(ntohs(sin->sin_port), 49152);
  EXPECT_EQ(sin->sin_addr.s_addr, a.v4().s_addr);
  for (uint8_t b : sin->sin_zero) EXPECT_EQ(b, 0);
  EXPECT_EQ(IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&ss)), a);
}

TEST(IpAddressTest, ToSockaddrIpv6RoundTrip) {
  const IpAddress a = MustParse("2001:db8::1");
  sockaddr_storage ss;
  std::memset(&ss, 0xa5, sizeof(ss));
  const socklen_t len = a.ToSockaddr(4784, &ss);
  EXPECT_EQ(len, sizeof(sockaddr_in6));
  EXPECT_EQ(ss.ss_family, AF_INET6);
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  EXPECT_EQ(ntohs(sin6->sin6_port), 4784);
  EXPECT_EQ(sin6->sin6_flowinfo, 0u);
  EXPECT_EQ(sin6->sin6_scope_id, 0u);
  EXPECT_EQ(IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&ss)), a);
}

TEST(IpAddressTest, Equality) {
  EXPECT_EQ(MustParse("192.0.2.1"), MustParse("192.0.2.1"));
  EXPECT_EQ(MustParse("2001:db8::1"), MustParse("2001:0DB8:0:0::0:1"));
  EXPECT_NE(MustParse("192.0.2.1"), MustParse("192.0.2.2"));
  EXPECT_NE(MustParse("0.0.0.0"), IpAddress());
  EXPECT_NE(MustParse("::"), IpAddress());
  EXPECT_NE(MustParse("0.0.0.0"), MustParse("::"));
  EXPECT_EQ(IpAddress(), IpAddress());
}

TEST(IpAddressTest, OrderingIsByFamilyThenNumeric) {
  EXPECT_LT(IpAddress(), MustParse("0.0.0.0"));
  EXPECT_LT(MustParse("10.0.0.2"), MustParse("10.0.0.10"));
  EXPECT_LT(MustParse("9.255.255.255"), MustParse("10.0.0.0"));
  EXPECT_LT(MustParse("255.255.255.255"), MustParse("::"));
  EXPECT_LT(MustParse("2001:db8::2"), MustParse("2001:db8::10"));
  EXPECT_GT(MustParse("fe80::1"), MustParse("2001:db8::1"));
  EXPECT_LE(MustParse("192.0.2.1"), MustParse("192.0.2.1"));
  EXPECT_GE(MustParse("192.0.2.1"), MustParse("192.0.2.1"));

  std::vector<IpAddress> v = {MustParse("2001:db8::1"), MustParse("10.0.0.10"), MustParse("::1"),
                              MustParse("10.0.0.2"), MustParse("1.2.3.4")};
  std::sort(v.begin(), v.end());
  std::vector<std::string> text;
  for (const IpAddress& a : v) text.push_back(a.ToString());
  EXPECT_EQ(text,
            (std::vector<std::string>{"1.2.3.4", "10.0.0.2", "10.0.0.10", "::1", "2001:db8::1"}));

  std::set<IpAddress> s = {MustParse("10.0.0.1"), MustParse("10.0.0.1"), MustParse("::1")};
  EXPECT_EQ(s.size(), 2u);
}

TEST(IpAddressTest, HashSet) {
  absl::flat_hash_set<IpAddress> set;
  EXPECT_TRUE(set.insert(MustParse("192.0.2.1")).second);
  EXPECT_FALSE(set.insert(MustParse("192.0.2.1")).second);
  EXPECT_TRUE(set.insert(MustParse("2001:db8::1")).second);
  // Another spelling of the same address.
  EXPECT_FALSE(set.insert(MustParse("2001:0db8:0000::0001")).second);
  EXPECT_TRUE(set.insert(MustParse("0.0.0.0")).second);
  EXPECT_TRUE(set.insert(MustParse("::")).second);
  EXPECT_TRUE(set.insert(IpAddress()).second);
  EXPECT_EQ(set.size(), 5u);
  EXPECT_TRUE(set.contains(MustParse("2001:db8::1")));
  EXPECT_FALSE(set.contains(MustParse("::ffff:192.0.2.1")));
}

TEST(IpAddressTest, HashIsConsistentWithEquality) {
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly({
      IpAddress(),
      MustParse("0.0.0.0"),
      MustParse("192.0.2.1"),
      MustParse("192.0.2.2"),
      MustParse("::"),
      MustParse("::ffff:192.0.2.1"),
      MustParse("2001:db8::1"),
      MustParse("fe80::1"),
  }));
}

}  // namespace
}  // namespace strobe::net
