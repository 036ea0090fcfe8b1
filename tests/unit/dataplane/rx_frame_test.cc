// ClassifyFrame (dataplane/rx_frame.h): the dpdk backend's parser of raw Ethernet frames. One
// row per frame: what it is classified as and, for BFD, every field it fills in the RxPacket.

#include "dataplane/rx_frame.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "dataplane/bfd_frame.h"
#include "gtest/gtest.h"
#include "src/bfd/rx_checks.h"

namespace strobe::dataplane {
namespace {

constexpr uint16_t kIpv4 = 0x0800;
constexpr uint16_t kIpv6 = 0x86dd;
constexpr uint16_t kArp = 0x0806;
constexpr uint16_t kDot1q = 0x8100;
constexpr uint16_t kDot1ad = 0x88a8;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kTcp = 6;
constexpr uint16_t kDontFragment = 0x4000;
constexpr uint16_t kMoreFragments = 0x2000;

// A BFD control packet: Up, detect mult 3, my discr 1, your discr 2, 300 ms intervals.
std::vector<uint8_t> BfdPayload() {
  return {0x20, 0xc0, 0x03, 0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
          0x00, 0x04, 0x93, 0xe0, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x00, 0x00, 0x00};
}

// `n` bytes 1, 2, 3, ... (mod 256): a payload whose every byte is told apart.
std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i + 1);
  return p;
}

// What to put in a frame. The defaults give a well-formed IPv4 single-hop BFD frame.
struct Spec {
  std::vector<uint16_t> tags;         // VLAN TPIDs, outermost first
  std::optional<uint16_t> ethertype;  // default: IPv4 or IPv6 per `ipv6`
  bool ipv6 = false;
  std::optional<uint8_t> version;  // default: 4 or 6
  uint8_t ihl = 5;                 // IPv4 header length in words; > 5 adds NOP options
  uint16_t fragment = kDontFragment;
  uint8_t protocol = kUdp;  // IPv4 protocol or IPv6 next header
  uint8_t ttl = 255;        // TTL or hop limit
  uint16_t source_port = 49152;
  uint16_t destination_port = STROBE_BFD_PORT_SINGLE_HOP;
  std::optional<uint16_t> udp_length;  // default: 8 + payload
  std::vector<uint8_t> payload = BfdPayload();
  std::vector<uint8_t> trailer;  // after the UDP datagram (Ethernet padding)
};

void Put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void Append(std::vector<uint8_t>& b, const std::vector<uint8_t>& more) {
  b.insert(b.end(), more.begin(), more.end());
}

const std::vector<uint8_t> kSource4 = {198, 18, 0, 1};
const std::vector<uint8_t> kDestination4 = {198, 18, 0, 2};
const std::vector<uint8_t> kSource6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const std::vector<uint8_t> kDestination6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                            0,    0,    0,    0,    0, 0, 0, 2};

std::vector<uint8_t> Build(const Spec& s) {
  std::vector<uint8_t> b = {0x02, 0x53, 0x54, 0x00, 0x00, 0x02,   // destination MAC
                            0x02, 0x53, 0x54, 0x00, 0x00, 0x01};  // source MAC
  for (size_t i = 0; i < s.tags.size(); ++i) {
    Put16(b, s.tags[i]);
    Put16(b, static_cast<uint16_t>(100 + i));  // PCP 0, VID 100, 101, ...
  }
  Put16(b, s.ethertype.value_or(s.ipv6 ? kIpv6 : kIpv4));
  const uint16_t udp_length =
      s.udp_length.value_or(static_cast<uint16_t>(BfdFrame::kUdpLen + s.payload.size()));
  const size_t datagram = BfdFrame::kUdpLen + s.payload.size();
  if (s.ipv6) {
    const size_t ip = b.size();
    b.push_back(static_cast<uint8_t>(s.version.value_or(6) << 4 | 0x0c));  // traffic class 0xc0
    b.insert(b.end(), {0x00, 0x00, 0x00});
    Put16(b, static_cast<uint16_t>(datagram));
    b.push_back(s.protocol);
    b.push_back(s.ttl);
    Append(b, kSource6);
    Append(b, kDestination6);
    EXPECT_EQ(b.size() - ip, BfdFrame::kIpv6Len);
  } else {
    const size_t ip = b.size();
    const size_t header_len = size_t{s.ihl} * 4;
    b.push_back(static_cast<uint8_t>(s.version.value_or(4) << 4 | (s.ihl & 0x0f)));
    b.push_back(0xc0);  // DSCP CS6
    Put16(b, static_cast<uint16_t>(header_len + datagram));
    Put16(b, 0);  // identification
    Put16(b, s.fragment);
    b.push_back(s.ttl);
    b.push_back(s.protocol);
    Put16(b, 0);  // header checksum, filled below
    Append(b, kSource4);
    Append(b, kDestination4);
    while (b.size() - ip < header_len) b.push_back(0x01);  // NOP options
    const uint16_t checksum =
        FoldChecksum(OnesSum({b.data() + ip, std::min(header_len, b.size() - ip)}));
    b[ip + 10] = static_cast<uint8_t>(checksum >> 8);
    b[ip + 11] = static_cast<uint8_t>(checksum);
  }
  Put16(b, s.source_port);
  Put16(b, s.destination_port);
  Put16(b, udp_length);
  Put16(b, 0);  // no UDP checksum: the classifier does not look at it
  Append(b, s.payload);
  Append(b, s.trailer);
  return b;
}

std::vector<uint8_t> Truncate(std::vector<uint8_t> frame, size_t size) {
  frame.resize(size);
  return frame;
}

// The frame's offset of the UDP header for the spec `s` (no truncation).
size_t UdpOffset(const Spec& s) {
  return 14 + 4 * s.tags.size() + (s.ipv6 ? BfdFrame::kIpv6Len : size_t{s.ihl} * 4);
}

struct Row {
  std::string name;
  std::vector<uint8_t> frame;
  FrameClass want = FrameClass::kNotBfd;
  // For kBfd only:
  std::string source;
  std::string destination;
  int ttl = 255;
  uint16_t source_port = 49152;
  bool multihop = false;
  std::vector<uint8_t> payload;
};

// gtest prints a failing row by its name, not as raw bytes.
void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

// A row for a frame that is not BFD.
Row NotBfd(std::string name, std::vector<uint8_t> frame) {
  Row r;
  r.name = std::move(name);
  r.frame = std::move(frame);
  return r;
}

// A row for a BFD frame built from `s`, expecting `payload` and the spec's header fields.
Row Bfd(std::string name, const Spec& s, std::vector<uint8_t> payload) {
  Row r;
  r.name = std::move(name);
  r.frame = Build(s);
  r.want = FrameClass::kBfd;
  r.source = s.ipv6 ? "2001:db8::1" : "198.18.0.1";
  r.destination = s.ipv6 ? "2001:db8::2" : "198.18.0.2";
  r.ttl = s.ttl;
  r.source_port = s.source_port;
  r.multihop = s.destination_port == STROBE_BFD_PORT_MULTIHOP;
  r.payload = std::move(payload);
  return r;
}

std::vector<Row> Rows() {
  std::vector<Row> rows;
  const Spec v4;
  Spec v6;
  v6.ipv6 = true;

  // Well-formed BFD.
  rows.push_back(Bfd("Ipv4SingleHop", v4, BfdPayload()));
  {
    Spec s = v4;
    s.destination_port = STROBE_BFD_PORT_MULTIHOP;
    s.ttl = 250;
    s.source_port = 65535;
    rows.push_back(Bfd("Ipv4Multihop", s, BfdPayload()));
  }
  rows.push_back(Bfd("Ipv6SingleHop", v6, BfdPayload()));
  {
    Spec s = v6;
    s.destination_port = STROBE_BFD_PORT_MULTIHOP;
    s.ttl = 64;
    rows.push_back(Bfd("Ipv6Multihop", s, BfdPayload()));
  }
  {
    Spec s = v4;
    s.fragment = 0;  // DF clear: still not a fragment
    rows.push_back(Bfd("Ipv4WithoutDf", s, BfdPayload()));
  }
  {
    Spec s = v4;
    s.ttl = 1;
    rows.push_back(Bfd("Ipv4SingleHopLowTtlIsStillBfd", s, BfdPayload()));
  }

  // VLAN tags: up to two are parsed.
  {
    Spec s = v4;
    s.tags = {kDot1q};
    rows.push_back(Bfd("Ipv4OneDot1qTag", s, BfdPayload()));
  }
  {
    Spec s = v6;
    s.tags = {kDot1q};
    rows.push_back(Bfd("Ipv6OneDot1qTag", s, BfdPayload()));
  }
  {
    Spec s = v4;
    s.tags = {kDot1ad};
    rows.push_back(Bfd("Ipv4OneDot1adTag", s, BfdPayload()));
  }
  {
    Spec s = v4;
    s.tags = {kDot1ad, kDot1q};
    rows.push_back(Bfd("Ipv4Dot1adAndDot1q", s, BfdPayload()));
  }
  {
    Spec s = v6;
    s.tags = {kDot1ad, kDot1q};
    s.destination_port = STROBE_BFD_PORT_MULTIHOP;
    rows.push_back(Bfd("Ipv6Dot1adAndDot1qMultihop", s, BfdPayload()));
  }
  {
    Spec s = v4;
    s.tags = {kDot1q, kDot1q};
    rows.push_back(Bfd("Ipv4TwoDot1qTags", s, BfdPayload()));
  }
  {
    Spec s = v4;
    s.tags = {kDot1ad, kDot1q, kDot1q};
    rows.push_back(NotBfd("ThreeTags", Build(s)));
  }

  // IPv4 header variants.
  {
    Spec s = v4;
    s.ihl = 6;
    rows.push_back(Bfd("Ipv4WithOptionsIhl6", s, BfdPayload()));
  }
  {
    Spec s = v4;
    s.ihl = 15;
    s.tags = {kDot1q};
    rows.push_back(Bfd("Ipv4WithOptionsIhl15Tagged", s, BfdPayload()));
  }
  {
    Spec s = v4;
    s.ihl = 4;
    rows.push_back(NotBfd("Ipv4IhlBelow5", Build(s)));
  }
  {
    Spec s = v4;
    s.version = 6;
    rows.push_back(NotBfd("Ipv4EthertypeWithVersion6", Build(s)));
  }
  {
    Spec s = v4;
    s.fragment = kDontFragment | kMoreFragments;
    rows.push_back(NotBfd("Ipv4FirstFragmentMf", Build(s)));
  }
  {
    Spec s = v4;
    s.fragment = 185;  // offset 1480 bytes, MF clear: the last fragment
    rows.push_back(NotBfd("Ipv4LastFragmentOffset", Build(s)));
  }
  {
    Spec s = v4;
    s.fragment = kMoreFragments | 1;
    rows.push_back(NotBfd("Ipv4MiddleFragment", Build(s)));
  }
  {
    Spec s = v4;
    s.protocol = kTcp;
    rows.push_back(NotBfd("Ipv4Tcp", Build(s)));
  }

  // IPv6 header variants.
  {
    Spec s = v6;
    s.protocol = kTcp;
    rows.push_back(NotBfd("Ipv6Tcp", Build(s)));
  }
  {
    Spec s = v6;
    s.protocol = 0;  // hop-by-hop options: extension headers are not followed
    rows.push_back(NotBfd("Ipv6HopByHop", Build(s)));
  }
  {
    Spec s = v6;
    s.protocol = 44;  // fragment header
    rows.push_back(NotBfd("Ipv6FragmentHeader", Build(s)));
  }
  {
    Spec s = v6;
    s.version = 4;
    rows.push_back(NotBfd("Ipv6EthertypeWithVersion4", Build(s)));
  }

  // Other ethertypes and ports.
  {
    Spec s = v4;
    s.ethertype = kArp;
    rows.push_back(NotBfd("Arp", Build(s)));
  }
  {
    Spec s = v4;
    s.tags = {kDot1q};
    s.ethertype = kArp;
    rows.push_back(NotBfd("ArpTagged", Build(s)));
  }
  {
    Spec s = v4;
    s.destination_port = 179;
    rows.push_back(NotBfd("UdpToPort179", Build(s)));
  }
  {
    Spec s = v6;
    s.destination_port = 53;
    rows.push_back(NotBfd("Ipv6UdpToPort53", Build(s)));
  }
  {
    Spec s = v4;
    s.destination_port = 3785;  // BFD echo (RFC 5881 section 4): not handled here
    rows.push_back(NotBfd("UdpToEchoPort3785", Build(s)));
  }
  {
    Spec s = v4;
    s.source_port = STROBE_BFD_PORT_SINGLE_HOP;  // only the destination port counts
    s.destination_port = 49152;
    rows.push_back(NotBfd("UdpFromPort3784", Build(s)));
  }

  // Truncated at every layer.
  rows.push_back(NotBfd("Empty", {}));
  rows.push_back(NotBfd("TruncatedEthernet", Truncate(Build(v4), 13)));
  {
    Spec s = v4;
    s.tags = {kDot1q};
    rows.push_back(NotBfd("TruncatedVlanTag", Truncate(Build(s), 14 + 3)));
    rows.push_back(NotBfd("TruncatedAfterVlanTag", Truncate(Build(s), 14 + 4)));
  }
  {
    Spec s = v4;
    s.tags = {kDot1ad, kDot1q};
    rows.push_back(NotBfd("TruncatedSecondVlanTag", Truncate(Build(s), 14 + 4 + 3)));
  }
  rows.push_back(NotBfd("TruncatedEthertypeOnly", Truncate(Build(v4), 14)));
  rows.push_back(NotBfd("TruncatedIpv4Header", Truncate(Build(v4), 14 + 19)));
  {
    Spec s = v4;
    s.ihl = 6;
    rows.push_back(NotBfd("TruncatedIpv4Options", Truncate(Build(s), 14 + 22)));
  }
  rows.push_back(NotBfd("TruncatedIpv6Header", Truncate(Build(v6), 14 + 39)));
  rows.push_back(NotBfd("TruncatedIpv4UdpHeader", Truncate(Build(v4), UdpOffset(v4) + 7)));
  rows.push_back(NotBfd("TruncatedIpv6UdpHeader", Truncate(Build(v6), UdpOffset(v6) + 7)));
  {
    Spec s = v4;
    s.tags = {kDot1ad, kDot1q};
    rows.push_back(NotBfd("TruncatedTaggedUdpHeader", Truncate(Build(s), UdpOffset(s) + 7)));
  }

  // The payload's length: the UDP length, bounded by the frame and by RxPacket::data.
  {
    Spec s = v4;
    s.payload = {};
    rows.push_back(Bfd("UdpHeaderOnly", s, {}));
  }
  {
    Spec s = v4;
    s.udp_length = 0;
    rows.push_back(Bfd("UdpLength0", s, {}));
  }
  {
    Spec s = v6;
    s.udp_length = 7;
    rows.push_back(Bfd("UdpLength7", s, {}));
  }
  {
    Spec s = v4;
    s.udp_length = 8 + 12;
    rows.push_back(Bfd("UdpLengthShorterThanPayload", s, Truncate(BfdPayload(), 12)));
  }
  {
    Spec s = v4;
    s.udp_length = 8 + 40;  // the frame holds 24 bytes of payload
    rows.push_back(Bfd("UdpLengthBeyondFrame", s, BfdPayload()));
  }
  {
    Spec s = v6;
    s.udp_length = 0xffff;
    rows.push_back(Bfd("UdpLengthMaxBeyondFrame", s, BfdPayload()));
  }
  {
    Spec s = v4;
    s.payload = Pattern(sizeof(RxPacket::data) + 36);
    rows.push_back(Bfd("PayloadLongerThanData", s, Pattern(sizeof(RxPacket::data))));
  }
  {
    Spec s = v6;
    s.payload = Pattern(sizeof(RxPacket::data));
    rows.push_back(Bfd("PayloadExactlyData", s, Pattern(sizeof(RxPacket::data))));
  }
  {
    Spec s = v4;
    s.payload = Pattern(sizeof(RxPacket::data) + 1);
    s.udp_length = 0xffff;
    rows.push_back(
        Bfd("PayloadLongerThanDataAndUdpLengthBeyondFrame", s, Pattern(sizeof(RxPacket::data))));
  }
  {
    // A 2-byte datagram payload in a minimum-size (60-byte) frame: the rest is padding.
    Spec s = v4;
    s.payload = {0xab, 0xcd};
    s.trailer = std::vector<uint8_t>(60 - (UdpOffset(s) + 8 + 2), 0xee);
    rows.push_back(Bfd("EthernetPaddingIsNotPayload", s, {0xab, 0xcd}));
  }
  {
    Spec s = v4;
    s.tags = {kDot1q};
    s.trailer = {0xde, 0xad, 0xbe, 0xef};  // e.g. an FCS the driver kept
    rows.push_back(Bfd("TrailerAfterBfdIsNotPayload", s, BfdPayload()));
  }
  return rows;
}

class ClassifyFrameTest : public testing::TestWithParam<Row> {};

TEST_P(ClassifyFrameTest, Classifies) {
  const Row& row = GetParam();
  RxPacket out;
  out.ifindex = 7;  // left alone: the caller stamps them
  out.rx_ns = 123;
  std::fill(std::begin(out.data), std::end(out.data), uint8_t{0x5a});
  ASSERT_EQ(ClassifyFrame(row.frame, &out), row.want);
  if (row.want != FrameClass::kBfd) return;
  EXPECT_EQ(out.source.ToString(), row.source);
  EXPECT_EQ(out.destination.ToString(), row.destination);
  EXPECT_EQ(out.ttl, row.ttl);
  EXPECT_EQ(out.source_port, row.source_port);
  EXPECT_EQ(out.multihop, row.multihop);
  ASSERT_EQ(out.length, row.payload.size());
  EXPECT_EQ(std::vector<uint8_t>(out.data, out.data + out.length), row.payload);
  EXPECT_EQ(out.ifindex, 7);
  EXPECT_EQ(out.rx_ns, 123);
}

INSTANTIATE_TEST_SUITE_P(Frames, ClassifyFrameTest, testing::ValuesIn(Rows()),
                         [](const testing::TestParamInfo<Row>& row) { return row.param.name; });

// The same frame classifies the same way through a span that is a view into a larger buffer:
// the classifier reads nothing past the span's end.
TEST(ClassifyFrame, ReadsOnlyTheSpan) {
  std::vector<uint8_t> buffer = Build(Spec{});
  const size_t size = buffer.size();
  buffer.resize(size + 64, 0x77);
  RxPacket out;
  ASSERT_EQ(ClassifyFrame({buffer.data(), size}, &out), FrameClass::kBfd);
  EXPECT_EQ(std::vector<uint8_t>(out.data, out.data + out.length), BfdPayload());
  for (size_t cut = 0; cut < UdpOffset(Spec{}) + 8; ++cut) {
    EXPECT_EQ(ClassifyFrame({buffer.data(), cut}, &out), FrameClass::kNotBfd) << cut;
  }
}

}  // namespace
}  // namespace strobe::dataplane
