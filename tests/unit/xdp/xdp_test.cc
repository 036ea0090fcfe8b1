// The XDP program (xdp/strobe_xdp.bpf.c) run through BPF_PROG_TEST_RUN on frames written byte by
// byte: verdicts, counters, session side effects, the received-interval histogram and ring-buffer
// records. Needs root (CAP_BPF and CAP_NET_ADMIN); a program that cannot be loaded fails every
// test, it never skips.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/xdp/packet_builder.h"
#include "xdp/strobe_xdp.h"
#include "xdp/strobe_xdp_skel.h"

namespace strobe::xdp_test {
namespace {

// The array map's stride is the value size rounded up to 8: the mmap is an array of these.
static_assert(sizeof(strobe_xdp_session) % 8 == 0);
static_assert(offsetof(strobe_xdp_session, expect) % 8 == 0);
static_assert(offsetof(strobe_xdp_session, last_rx_ns) % 8 == 0);
static_assert(sizeof(strobe_xdp_rx_record) == 120);

constexpr uint32_t kMaxEntries = 64;
constexpr int64_t kMs = 1'000'000;

// A discriminator as the dataplane builds them: [worker:4][slot:14][random:14].
constexpr uint32_t Discriminator(uint32_t worker, uint32_t slot, uint32_t random) {
  return (worker << STROBE_XDP_WORKER_SHIFT) | (slot << STROBE_XDP_SLOT_SHIFT) |
         (random & STROBE_XDP_RANDOM_MASK);
}

// The sessions every test starts with (worker 0; the slot is the map index).
constexpr uint32_t kV4 = Discriminator(0, 1, 0x0a1);         // IPv4 single-hop, on lo
constexpr uint32_t kV6 = Discriminator(0, 2, 0x0b2);         // IPv6 single-hop, on lo
constexpr uint32_t kMh4 = Discriminator(0, 3, 0x0c3);        // IPv4 multihop
constexpr uint32_t kMh6 = Discriminator(0, 4, 0x0d4);        // IPv6 multihop
constexpr uint32_t kOtherIf = Discriminator(0, 5, 0x0e5);    // IPv4 single-hop, another ifindex
constexpr uint32_t kNotSteady = Discriminator(0, 6, 0x0f6);  // IPv4 single-hop, steady_ok 0
constexpr uint32_t kSessions[] = {kV4, kV6, kMh4, kMh6, kOtherIf, kNotSteady};

const Address kPeer4 = V4("192.0.2.1");
const Address kLocal4 = V4("192.0.2.2");
const Address kPeer6 = V6("2001:db8::1");
const Address kLocal6 = V6("2001:db8::2");
const Address kMhPeer4 = V4("198.51.100.1");
const Address kMhLocal4 = V4("203.0.113.1");
const Address kMhPeer6 = V6("2001:db8:1::1");
const Address kMhLocal6 = V6("2001:db8:2::1");
const Address kOtherPeer4 = V4("192.0.2.5");
const Address kNotSteadyPeer4 = V4("192.0.2.6");

uint32_t Lo() { return if_nametoindex("lo"); }

// The steady-state packet of a session: what its peer sends while Up and nothing changes.
Bfd Steady(uint32_t your) {
  Bfd b;
  b.your = your;
  return b;
}

Packet Single4(const Bfd& bfd, const Address& source = kPeer4) {
  Packet p;
  p.source = source;
  p.destination = kLocal4;
  p.payload = bfd.Bytes();
  return p;
}

Packet Single6(const Bfd& bfd) {
  Packet p;
  p.family = 6;
  p.source = kPeer6;
  p.destination = kLocal6;
  p.payload = bfd.Bytes();
  return p;
}

Packet Multi4(const Bfd& bfd) {
  Packet p;
  p.source = kMhPeer4;
  p.destination = kMhLocal4;
  p.ttl = 250;
  p.destination_port = STROBE_BFD_PORT_MULTIHOP;
  p.payload = bfd.Bytes();
  return p;
}

Packet Multi6(const Bfd& bfd) {
  Packet p = Multi4(bfd);
  p.family = 6;
  p.source = kMhPeer6;
  p.destination = kMhLocal6;
  p.ttl = 64;
  return p;
}

strobe_xdp_session MakeSession(uint32_t discriminator, int family, bool multihop, uint32_t ifindex,
                               const Address& peer, const Address& local, bool steady_ok) {
  strobe_xdp_session s{};
  s.discriminator = discriminator;
  s.ifindex = ifindex;
  s.family = static_cast<uint8_t>(family);
  s.multihop = multihop ? 1 : 0;
  s.steady_ok = steady_ok ? 1 : 0;
  std::memcpy(s.peer, peer.data(), 16);
  std::memcpy(s.local, local.data(), 16);
  const std::vector<uint8_t> expect = Steady(discriminator).Bytes();
  std::memcpy(s.expect, expect.data(), sizeof(s.expect));
  return s;
}

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// One row of the table: a frame, and everything it must change.
enum class Effect { kNone, kAbsorbed, kInteresting, kDropped };

struct Row {
  std::string name;
  Packet packet;
  int verdict = XDP_DROP;
  int counter = STROBE_XDP_PASSED;  // the one program counter that moves, by one
  uint32_t session = 0;             // the session charged (discriminator), 0: none
  Effect effect = Effect::kNone;
  uint32_t ifindex = 0;  // 0: lo
};

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

Row Drop(std::string name, Packet packet, int reason, uint32_t charged = 0) {
  return Row{std::move(name), std::move(packet), XDP_DROP,
             reason,          charged,           charged != 0 ? Effect::kDropped : Effect::kNone};
}

Row Absorb(std::string name, Packet packet, uint32_t session) {
  return Row{std::move(name),     std::move(packet), XDP_DROP,
             STROBE_XDP_ABSORBED, session,           Effect::kAbsorbed};
}

Row ToUser(std::string name, Packet packet, uint32_t session = 0) {
  return Row{std::move(name), std::move(packet),
             XDP_DROP,        STROBE_XDP_TO_USER,
             session,         session != 0 ? Effect::kInteresting : Effect::kNone};
}

Row Pass(std::string name, Packet packet) {
  return Row{std::move(name), std::move(packet), XDP_PASS, STROBE_XDP_PASSED};
}

template <typename F>
Bfd With(Bfd b, F change) {
  change(b);
  return b;
}

template <typename F>
Packet With(Packet p, F change) {
  change(p);
  return p;
}

std::vector<Row> Rows() {
  std::vector<Row> rows;
  const Bfd steady4 = Steady(kV4);

  // Each drop reason the program produces, in the order of RFC 5880 section 6.8.6.
  rows.push_back(Drop("BadTtlSingleHop", With(Single4(steady4), [](Packet& p) { p.ttl = 254; }),
                      STROBE_BFD_DROP_BAD_TTL, kV4));
  rows.push_back(
      Drop("BadTtlBeforeShort",
           With(Single4(With(steady4, [](Bfd& b) { b.size = 20; })), [](Packet& p) { p.ttl = 1; }),
           STROBE_BFD_DROP_BAD_TTL, kV4));
  rows.push_back(Drop("ShortPacket", Single4(With(steady4, [](Bfd& b) { b.size = 20; })),
                      STROBE_BFD_DROP_SHORT_PACKET, kV4));
  rows.push_back(Drop("ShortPacketWithoutYourDiscriminator",
                      Single4(With(steady4, [](Bfd& b) { b.size = 11; })),
                      STROBE_BFD_DROP_SHORT_PACKET));
  rows.push_back(Drop("ShortPacketEmpty", Single4(With(steady4, [](Bfd& b) { b.size = 0; })),
                      STROBE_BFD_DROP_SHORT_PACKET));
  rows.push_back(Drop("ShortByUdpLength",
                      With(Single4(steady4), [](Packet& p) { p.udp_length = 8 + 20; }),
                      STROBE_BFD_DROP_SHORT_PACKET, kV4));
  rows.push_back(Drop("ShortByBogusUdpLength",
                      With(Single4(steady4), [](Packet& p) { p.udp_length = 4; }),
                      STROBE_BFD_DROP_SHORT_PACKET));
  // Found by tests/fuzz/xdp_frame_fuzzer.cc: a UDP length beyond the IP datagram was believed
  // (the kernel's stack and the poll-mode classifier stop at the datagram's end).
  rows.push_back(Drop("ShortByIpv4TotalLength",
                      With(Single4(steady4), [](Packet& p) { p.ip_payload_length = 8 + 20; }),
                      STROBE_BFD_DROP_SHORT_PACKET, kV4));
  rows.push_back(Drop("ShortByIpv6PayloadLength",
                      With(Single6(Steady(kV6)), [](Packet& p) { p.ip_payload_length = 8 + 20; }),
                      STROBE_BFD_DROP_SHORT_PACKET, kV6));
  rows.push_back(Drop("ShortByAnIpv4TotalLengthOfItsHeaderAlone",
                      With(Single4(steady4), [](Packet& p) { p.ip_payload_length = 0; }),
                      STROBE_BFD_DROP_SHORT_PACKET));
  rows.push_back(Drop("BadVersion0", Single4(With(steady4, [](Bfd& b) { b.version = 0; })),
                      STROBE_BFD_DROP_BAD_VERSION, kV4));
  rows.push_back(Drop("BadVersion2", Single6(With(Steady(kV6), [](Bfd& b) { b.version = 2; })),
                      STROBE_BFD_DROP_BAD_VERSION, kV6));
  rows.push_back(Drop("BadLengthBelow24", Single4(With(steady4, [](Bfd& b) { b.length = 23; })),
                      STROBE_BFD_DROP_BAD_LENGTH, kV4));
  rows.push_back(Drop("BadLengthBeyondPayload",
                      Single4(With(steady4, [](Bfd& b) { b.length = 28; })),
                      STROBE_BFD_DROP_BAD_LENGTH, kV4));
  rows.push_back(Drop("BadLengthAuthBelow26",
                      Single4(With(steady4,
                                   [](Bfd& b) {
                                     b.flags = STROBE_BFD_FLAG_AUTH;
                                     b.length = 24;
                                   })),
                      STROBE_BFD_DROP_BAD_LENGTH, kV4));
  rows.push_back(Drop("BadLengthBeyondTruncatedFrame",
                      With(Single4(With(steady4, [](Bfd& b) { b.length = 30; })),
                           [](Packet& p) {
                             p.payload.resize(40);  // UDP says 40 bytes, the frame holds 28
                             p.truncate = 12;
                           }),
                      STROBE_BFD_DROP_BAD_LENGTH, kV4));
  rows.push_back(Drop("ZeroDetectMult", Single4(With(steady4, [](Bfd& b) { b.detect_mult = 0; })),
                      STROBE_BFD_DROP_ZERO_DETECT_MULT, kV4));
  rows.push_back(Drop("Multipoint",
                      Single4(With(steady4, [](Bfd& b) { b.flags = STROBE_BFD_FLAG_MULTIPOINT; })),
                      STROBE_BFD_DROP_MULTIPOINT, kV4));
  rows.push_back(Drop("ZeroMyDiscriminator", Single4(With(steady4, [](Bfd& b) { b.my = 0; })),
                      STROBE_BFD_DROP_ZERO_MY_DISCR, kV4));
  rows.push_back(
      Drop("ZeroYourDiscriminatorUp", Single4(Steady(0)), STROBE_BFD_DROP_ZERO_YOUR_DISCR));
  rows.push_back(Drop("ZeroYourDiscriminatorInit",
                      Single4(With(Steady(0), [](Bfd& b) { b.state = STROBE_BFD_STATE_INIT; })),
                      STROBE_BFD_DROP_ZERO_YOUR_DISCR));
  rows.push_back(Drop("NoSessionUnusedSlot", Single4(Steady(Discriminator(0, 10, 0x0a1))),
                      STROBE_BFD_DROP_NO_SESSION));
  rows.push_back(Drop("NoSessionMismatchingDiscriminator",
                      Single4(Steady(Discriminator(0, 1, 0x0a2))), STROBE_BFD_DROP_NO_SESSION));
  rows.push_back(Drop("NoSessionBeyondMaxEntries",
                      Single4(Steady(Discriminator(0, kMaxEntries, 0x0a1))),
                      STROBE_BFD_DROP_NO_SESSION));
  rows.push_back(Drop("NoSessionOtherWorker", Single4(Steady(Discriminator(1, 1, 0x0a1))),
                      STROBE_BFD_DROP_NO_SESSION));
  rows.push_back(Drop("WrongSourceAddress", Single4(steady4, V4("192.0.2.9")),
                      STROBE_BFD_DROP_WRONG_SOURCE, kV4));
  rows.push_back(Drop("WrongDestinationAddress",
                      With(Single4(steady4), [](Packet& p) { p.destination = V4("192.0.2.3"); }),
                      STROBE_BFD_DROP_WRONG_SOURCE, kV4));
  rows.push_back(Drop("WrongSourceAddressIpv6LastByte",
                      With(Single6(Steady(kV6)), [](Packet& p) { p.source[15] ^= 1; }),
                      STROBE_BFD_DROP_WRONG_SOURCE, kV6));
  rows.push_back(Drop("WrongDestinationAddressIpv6FirstByte",
                      With(Single6(Steady(kV6)), [](Packet& p) { p.destination[0] ^= 1; }),
                      STROBE_BFD_DROP_WRONG_SOURCE, kV6));
  rows.push_back(Drop("WrongSourceAddressIpv6MiddleByte",
                      With(Single6(Steady(kV6)), [](Packet& p) { p.source[7] ^= 1; }),
                      STROBE_BFD_DROP_WRONG_SOURCE, kV6));
  rows.push_back(Drop("WrongDestinationAddressIpv6LastByte",
                      With(Single6(Steady(kV6)), [](Packet& p) { p.destination[15] ^= 1; }),
                      STROBE_BFD_DROP_WRONG_SOURCE, kV6));
  rows.push_back(Drop("WrongFamily",
                      With(Single6(steady4),
                           [](Packet& p) {
                             p.source = V6("c000:201::");  // 192.0.2.1 in the first 4 bytes
                             p.destination = V6("c000:202::");
                           }),
                      STROBE_BFD_DROP_WRONG_SOURCE, kV4));
  rows.push_back(Drop("WrongIfindexSingleHop", Single4(Steady(kOtherIf), kOtherPeer4),
                      STROBE_BFD_DROP_WRONG_SOURCE, kOtherIf));
  rows.push_back(
      Drop("SingleHopSessionOnMultihopPort",
           With(Single4(steady4), [](Packet& p) { p.destination_port = STROBE_BFD_PORT_MULTIHOP; }),
           STROBE_BFD_DROP_WRONG_SOURCE, kV4));
  rows.push_back(Drop("MultihopSessionOnSingleHopPort",
                      With(Multi4(Steady(kMh4)),
                           [](Packet& p) {
                             p.destination_port = STROBE_BFD_PORT_SINGLE_HOP;
                             p.ttl = 255;
                           }),
                      STROBE_BFD_DROP_WRONG_SOURCE, kMh4));

  // The steady state, absorbed in the kernel.
  rows.push_back(Absorb("SteadyIpv4", Single4(steady4), kV4));
  rows.push_back(Absorb("SteadyIpv4Vlan",
                        With(Single4(steady4), [](Packet& p) { p.vlan_tpids = {0x8100}; }), kV4));
  rows.push_back(Absorb("SteadyIpv4QinQ",
                        With(Single4(steady4),
                             [](Packet& p) {
                               p.vlan_tpids = {0x88a8, 0x8100};
                             }),
                        kV4));
  rows.push_back(Absorb("SteadyIpv4DoubleDot1Q",
                        With(Single4(steady4),
                             [](Packet& p) {
                               p.vlan_tpids = {0x8100, 0x8100};
                             }),
                        kV4));
  rows.push_back(
      Absorb("SteadyIpv4Options", With(Single4(steady4), [](Packet& p) { p.ihl = 7; }), kV4));
  rows.push_back(
      Absorb("SteadyIpv4Padding", With(Single4(steady4), [](Packet& p) { p.trailer = 6; }), kV4));
  rows.push_back(Absorb("SteadyIpv6", Single6(Steady(kV6)), kV6));
  rows.push_back(Absorb("SteadyIpv6Vlan",
                        With(Single6(Steady(kV6)), [](Packet& p) { p.vlan_tpids = {0x8100}; }),
                        kV6));
  rows.push_back(Absorb("SteadyIpv6QinQ",
                        With(Single6(Steady(kV6)),
                             [](Packet& p) {
                               p.vlan_tpids = {0x88a8, 0x8100};
                             }),
                        kV6));
  rows.push_back(Absorb("SteadyMultihopIpv4AnyInterface", Multi4(Steady(kMh4)), kMh4));
  rows.push_back(Absorb("SteadyMultihopIpv6", Multi6(Steady(kMh6)), kMh6));

  // Interesting: handed to user space.
  rows.push_back(
      ToUser("Poll", Single4(With(steady4, [](Bfd& b) { b.flags = STROBE_BFD_FLAG_POLL; })), kV4));
  rows.push_back(ToUser(
      "Final", Single4(With(steady4, [](Bfd& b) { b.flags = STROBE_BFD_FLAG_FINAL; })), kV4));
  rows.push_back(ToUser("StateChange",
                        Single4(With(steady4,
                                     [](Bfd& b) {
                                       b.state = STROBE_BFD_STATE_DOWN;
                                       b.diag = 1;
                                     })),
                        kV4));
  rows.push_back(ToUser("IntervalChange",
                        Single6(With(Steady(kV6), [](Bfd& b) { b.desired_min_tx = 1'000'000; })),
                        kV6));
  rows.push_back(ToUser("EchoIntervalChange",
                        Single4(With(steady4,
                                     [](Bfd& b) {
                                       b.required_min_echo_rx = 50'000;  // the last byte compared
                                     })),
                        kV4));
  rows.push_back(ToUser("PeerDiscriminatorChange",
                        Single4(With(steady4, [](Bfd& b) { b.my = 0x22222222; })), kV4));
  rows.push_back(ToUser("DetectMultChange",
                        Multi4(With(Steady(kMh4), [](Bfd& b) { b.detect_mult = 5; })), kMh4));
  rows.push_back(ToUser("AuthWithSession",
                        Single4(With(steady4,
                                     [](Bfd& b) {
                                       b.flags = STROBE_BFD_FLAG_AUTH;
                                       b.auth = {1, 11, 5, 'p', 'a', 's', 's', 'w', 'o', 'r', 'd'};
                                     })),
                        kV4));
  rows.push_back(ToUser("BootstrapYourDiscriminatorZero",
                        Single4(With(Steady(0), [](Bfd& b) { b.state = STROBE_BFD_STATE_DOWN; })),
                        0));
  rows.push_back(
      ToUser("BootstrapMultihopIpv6AdminDown",
             Multi6(With(Steady(0), [](Bfd& b) { b.state = STROBE_BFD_STATE_ADMIN_DOWN; })), 0));
  rows.push_back(ToUser("SteadyOkZero", Single4(Steady(kNotSteady), kNotSteadyPeer4), kNotSteady));
  rows.push_back(ToUser("LongUdpPayload",
                        With(Single4(With(steady4, [](Bfd& b) { b.flags = STROBE_BFD_FLAG_POLL; })),
                             [](Packet& p) {
                               p.payload.resize(80);
                               for (size_t i = 24; i < 80; ++i)
                                 p.payload[i] = static_cast<uint8_t>(i);
                             }),
                        kV4));
  rows.push_back(
      ToUser("TruncatedFrame",
             With(Single4(With(steady4, [](Bfd& b) { b.flags = STROBE_BFD_FLAG_FINAL; })),
                  [](Packet& p) {
                    p.payload.resize(40);  // UDP says 40 bytes, the frame holds 30
                    for (size_t i = 24; i < 40; ++i) p.payload[i] = static_cast<uint8_t>(0xa0 + i);
                    p.truncate = 10;
                  }),
             kV4));

  // Not BFD: to the kernel, untouched.
  rows.push_back(Pass("TcpBgp", With(Single4(steady4), [](Packet& p) {
                        p.protocol = 6;
                        p.destination_port = 179;
                      })));
  rows.push_back(Pass("TcpBgpIpv6", With(Single6(Steady(kV6)), [](Packet& p) {
                        p.protocol = 6;
                        p.destination_port = 179;
                      })));
  rows.push_back(
      Pass("UdpDns", With(Single4(steady4), [](Packet& p) { p.destination_port = 53; })));
  rows.push_back(
      Pass("UdpBfdEcho", With(Single4(steady4), [](Packet& p) { p.destination_port = 3785; })));
  rows.push_back(Pass("UdpToSourcePort3784", With(Single4(steady4), [](Packet& p) {
                        p.destination_port = 50000;
                        p.source_port = 3784;
                      })));
  rows.push_back(Pass("Arp", With(Packet{}, [](Packet& p) {
                        p.ethertype = 0x0806;
                        p.payload = {0,   1, 8, 0, 6, 4, 0, 1, 2, 0, 0,   0, 0, 1,
                                     192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 192, 0, 2, 2};
                      })));
  rows.push_back(Pass("ArpInVlan", With(Packet{}, [](Packet& p) {
                        p.vlan_tpids = {0x8100};
                        p.ethertype = 0x0806;
                        p.payload.assign(28, 0);
                      })));
  rows.push_back(Pass("Ipv4FragmentMoreFragments",
                      With(Single4(steady4), [](Packet& p) { p.fragment = 0x2000; })));
  rows.push_back(
      Pass("Ipv4FragmentOffset", With(Single4(steady4), [](Packet& p) { p.fragment = 0x0004; })));
  rows.push_back(Pass("Ipv6HopByHopHeader",
                      With(Single6(Steady(kV6)), [](Packet& p) { p.hop_by_hop = true; })));
  rows.push_back(Pass("Ipv6NeighborSolicitation", With(Single6(Steady(kV6)), [](Packet& p) {
                        p.protocol = 58;
                        p.payload = {135, 0, 0, 0, 0, 0, 0, 0};
                        p.payload.insert(p.payload.end(), kLocal6.begin(), kLocal6.end());
                      })));
  rows.push_back(Pass("ThreeVlanTags", With(Single4(steady4), [](Packet& p) {
                        p.vlan_tpids = {0x88a8, 0x8100, 0x8100};
                      })));
  rows.push_back(
      Pass("Ipv4HeaderLengthBelow5", With(Single4(steady4), [](Packet& p) { p.ihl = 4; })));
  // (BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header.)
  rows.push_back(Pass("EthernetHeaderOnly", With(Single4(steady4), [](Packet& p) {
                        p.truncate = p.Build().size() - 14;
                      })));
  rows.push_back(Pass("TruncatedVlanTag", With(Single4(steady4), [](Packet& p) {
                        p.vlan_tpids = {0x88a8, 0x8100};
                        p.truncate = p.Build().size() - 14 - 4 - 2;
                      })));
  rows.push_back(Pass("TruncatedIpv4Header", With(Single4(steady4), [](Packet& p) {
                        p.truncate = p.Build().size() - 14 - 12;
                      })));
  rows.push_back(Pass("TruncatedUdpHeader", With(Single6(Steady(kV6)), [](Packet& p) {
                        p.truncate = p.Build().size() - 14 - 40 - 4;
                      })));
  return rows;
}

// The skeleton, loaded once for the suite, and views of its maps.
class XdpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skel_ = strobe_xdp::open();
    if (skel_ == nullptr) {
      load_error_ = std::string("open: ") + strerror(errno);
      return;
    }
    if (int err = bpf_map__set_max_entries(skel_->maps.sessions, kMaxEntries); err != 0) {
      load_error_ = std::string("set_max_entries: ") + strerror(-err);
      return Destroy();
    }
    if (int err = strobe_xdp::load(skel_); err != 0) {
      load_error_ = std::string("load (are we root?): ") + strerror(-err);
      return Destroy();
    }
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    map_bytes_ =
        (bpf_map__max_entries(skel_->maps.sessions) * sizeof(strobe_xdp_session) + page - 1) /
        page * page;
    void* mem = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED,
                     bpf_map__fd(skel_->maps.sessions), 0);
    if (mem == MAP_FAILED) {
      load_error_ = std::string("mmap: ") + strerror(errno);
      return Destroy();
    }
    sessions_ = static_cast<strobe_xdp_session*>(mem);
    ring_ =
        ring_buffer__new(bpf_map__fd(skel_->maps.rx_ring), &XdpTest::OnRecord, nullptr, nullptr);
    if (ring_ == nullptr) {
      load_error_ = std::string("ring_buffer__new: ") + strerror(errno);
      return Destroy();
    }
  }

  static void TearDownTestSuite() { Destroy(); }

  static void Destroy() {
    if (ring_ != nullptr) ring_buffer__free(ring_);
    ring_ = nullptr;
    if (sessions_ != nullptr) munmap(sessions_, map_bytes_);
    sessions_ = nullptr;
    strobe_xdp::destroy(skel_);
    skel_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(skel_, nullptr) << "the XDP program did not load: " << load_error_;
    ASSERT_NE(sessions_, nullptr) << load_error_;
    // Every test starts from the same sessions; the program's counters only ever grow.
    std::memset(sessions_, 0, kMaxEntries * sizeof(strobe_xdp_session));
    Write(MakeSession(kV4, 4, false, Lo(), kPeer4, kLocal4, true));
    Write(MakeSession(kMh4, 4, true, 0, kMhPeer4, kMhLocal4, true));
    Write(MakeSession(kMh6, 6, true, 0, kMhPeer6, kMhLocal6, true));
    Write(MakeSession(kOtherIf, 4, false, Lo() + 1000, kOtherPeer4, kLocal4, true));
    Write(MakeSession(kNotSteady, 4, false, Lo(), kNotSteadyPeer4, kLocal4, false));
    // One through the syscall, as a control-plane tool would; the dataplane uses the mmap.
    const uint32_t index = strobe_xdp_index_of(kV6);
    const strobe_xdp_session v6 = MakeSession(kV6, 6, false, Lo(), kPeer6, kLocal6, true);
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.sessions), &index, &v6, BPF_ANY), 0);
    // The histogram starts empty, so that its maximum is the test's own.
    ResetIntervals();
    Drain();
  }

  static void Write(const strobe_xdp_session& s) {
    sessions_[strobe_xdp_index_of(s.discriminator)] = s;
  }
  static strobe_xdp_session& Session(uint32_t discriminator) {
    return sessions_[strobe_xdp_index_of(discriminator)];
  }

  // Runs the program once on `frame`; returns its verdict, or -1.
  static int Run(const std::vector<uint8_t>& frame, uint32_t ifindex = 0, int repeat = 1) {
    xdp_md ctx{};
    ctx.data_end = static_cast<uint32_t>(frame.size());
    ctx.ingress_ifindex = ifindex != 0 ? ifindex : Lo();
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
    opts.repeat = repeat;
    const int err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.strobe_xdp_rx), &opts);
    EXPECT_EQ(err, 0) << strerror(errno);
    return err == 0 ? static_cast<int>(opts.retval) : -1;
  }

  static std::vector<uint64_t> Counters() {
    const int cpus = libbpf_num_possible_cpus();
    std::vector<uint64_t> totals(STROBE_XDP_COUNTER_COUNT);
    std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
    for (uint32_t i = 0; i < STROBE_XDP_COUNTER_COUNT; ++i) {
      EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.counters), &i, per_cpu.data()), 0);
      for (uint64_t v : per_cpu) totals[i] += v;
    }
    return totals;
  }

  // rx_intervals read with one batch lookup, as the dataplane does: each value is one u64 per
  // possible CPU, values[key * cpus + cpu].
  static std::vector<uint64_t> IntervalsPerCpu() {
    const size_t cpus = static_cast<size_t>(libbpf_num_possible_cpus());
    std::vector<uint32_t> keys(STROBE_XDP_INTERVAL_ENTRIES);
    std::vector<uint64_t> values(keys.size() * cpus);
    uint32_t out_batch = 0;
    uint32_t count = STROBE_XDP_INTERVAL_ENTRIES;
    const int err = bpf_map_lookup_batch(bpf_map__fd(skel_->maps.rx_intervals), nullptr, &out_batch,
                                         keys.data(), values.data(), &count, nullptr);
    // A walk to the end of the map ends with ENOENT.
    EXPECT_TRUE(err == 0 || errno == ENOENT) << strerror(errno);
    EXPECT_EQ(count, static_cast<uint32_t>(STROBE_XDP_INTERVAL_ENTRIES));
    for (uint32_t i = 0; i < count; ++i) EXPECT_EQ(keys[i], i);
    return values;
  }

  // The same, one lookup per entry.
  static std::vector<uint64_t> IntervalsPerCpuOneByOne() {
    const size_t cpus = static_cast<size_t>(libbpf_num_possible_cpus());
    std::vector<uint64_t> values(STROBE_XDP_INTERVAL_ENTRIES * cpus);
    for (uint32_t key = 0; key < STROBE_XDP_INTERVAL_ENTRIES; ++key) {
      EXPECT_EQ(
          bpf_map_lookup_elem(bpf_map__fd(skel_->maps.rx_intervals), &key, &values[key * cpus]), 0);
    }
    return values;
  }

  // rx_intervals over all CPUs: the buckets summed, the maximum at STROBE_XDP_INTERVAL_MAX the
  // largest of the CPUs' maxima.
  static std::vector<uint64_t> Intervals() {
    const size_t cpus = static_cast<size_t>(libbpf_num_possible_cpus());
    const std::vector<uint64_t> per_cpu = IntervalsPerCpu();
    std::vector<uint64_t> out(STROBE_XDP_INTERVAL_ENTRIES, 0);
    for (size_t key = 0; key < out.size(); ++key) {
      for (size_t cpu = 0; cpu < cpus; ++cpu) {
        const uint64_t v = per_cpu[key * cpus + cpu];
        out[key] = key == STROBE_XDP_INTERVAL_MAX ? std::max(out[key], v) : out[key] + v;
      }
    }
    return out;
  }

  // The buckets of `after` that differ from `before` (default: empty), and by how much.
  static std::map<unsigned, uint64_t> Buckets(const std::vector<uint64_t>& after,
                                              const std::vector<uint64_t>& before = {}) {
    std::map<unsigned, uint64_t> out;
    for (unsigned i = 0; i < STROBE_INTERVAL_BUCKETS; ++i) {
      const uint64_t delta = after[i] - (before.empty() ? 0 : before[i]);
      if (delta != 0) out[i] = delta;
    }
    return out;
  }

  static void ResetIntervals() {
    const size_t cpus = static_cast<size_t>(libbpf_num_possible_cpus());
    std::vector<uint32_t> keys(STROBE_XDP_INTERVAL_ENTRIES);
    for (uint32_t i = 0; i < keys.size(); ++i) keys[i] = i;
    std::vector<uint64_t> zeros(keys.size() * cpus, 0);
    uint32_t count = STROBE_XDP_INTERVAL_ENTRIES;
    ASSERT_EQ(bpf_map_update_batch(bpf_map__fd(skel_->maps.rx_intervals), keys.data(), zeros.data(),
                                   &count, nullptr),
              0)
        << strerror(errno);
    ASSERT_EQ(count, static_cast<uint32_t>(STROBE_XDP_INTERVAL_ENTRIES));
  }

  static int OnRecord(void*, void* data, size_t size) {
    EXPECT_EQ(size, sizeof(strobe_xdp_rx_record));
    strobe_xdp_rx_record r{};
    std::memcpy(&r, data, std::min(size, sizeof(r)));
    records_.push_back(r);
    return 0;
  }

  static std::vector<strobe_xdp_rx_record> Drain() {
    records_.clear();
    while (ring_buffer__consume(ring_) > 0) {
    }
    return std::move(records_);
  }

  static inline strobe_xdp* skel_ = nullptr;
  static inline std::string load_error_;
  static inline strobe_xdp_session* sessions_ = nullptr;
  static inline size_t map_bytes_ = 0;
  static inline ring_buffer* ring_ = nullptr;
  static inline std::vector<strobe_xdp_rx_record> records_;
};

class XdpTableTest : public XdpTest, public ::testing::WithParamInterface<Row> {};

TEST_P(XdpTableTest, VerdictCountersSessionsAndRecord) {
  const Row& row = GetParam();
  const std::vector<uint8_t> frame = row.packet.Build();
  // Every session (Up) last received a packet 10 ms ago: only an absorbed packet counts a gap.
  const uint64_t earlier = static_cast<uint64_t>(MonotonicNs() - 10 * kMs);
  for (uint32_t d : kSessions) Session(d).last_rx_ns = earlier;
  // Twice: counters and session counters add up, last_rx_ns increases.
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    const std::vector<uint64_t> counters_before = Counters();
    const std::vector<uint64_t> intervals_before = Intervals();
    strobe_xdp_session before[std::size(kSessions)];
    for (size_t i = 0; i < std::size(kSessions); ++i) before[i] = Session(kSessions[i]);
    const int64_t t0 = MonotonicNs();

    EXPECT_EQ(Run(frame, row.ifindex), row.verdict);

    const int64_t t1 = MonotonicNs();
    const std::vector<uint64_t> counters_after = Counters();
    for (int c = 0; c < STROBE_XDP_COUNTER_COUNT; ++c) {
      EXPECT_EQ(counters_after[c] - counters_before[c], c == row.counter ? 1u : 0u)
          << "counter " << c
          << (c < STROBE_BFD_DROP_REASON_COUNT
                  ? strobe_bfd_drop_reason_name(static_cast<strobe_bfd_drop_reason>(c))
                  : "");
    }
    std::map<unsigned, uint64_t> gaps;  // expected in rx_intervals: bucket -> count
    uint64_t max_us = intervals_before[STROBE_XDP_INTERVAL_MAX];
    for (size_t i = 0; i < std::size(kSessions); ++i) {
      SCOPED_TRACE(i);
      const strobe_xdp_session& after = Session(kSessions[i]);
      const bool charged = kSessions[i] == row.session;
      if (charged && row.effect == Effect::kAbsorbed) {
        const uint64_t gap_us = (after.last_rx_ns - before[i].last_rx_ns) / 1000;
        ++gaps[strobe_interval_bucket(gap_us)];
        max_us = std::max(max_us, gap_us);
      }
      EXPECT_EQ(after.rx_absorbed - before[i].rx_absorbed,
                charged && row.effect == Effect::kAbsorbed ? 1u : 0u);
      EXPECT_EQ(after.rx_interesting - before[i].rx_interesting,
                charged && row.effect == Effect::kInteresting ? 1u : 0u);
      EXPECT_EQ(after.rx_dropped - before[i].rx_dropped,
                charged && row.effect == Effect::kDropped ? 1u : 0u);
      if (charged && row.effect == Effect::kAbsorbed) {
        EXPECT_GT(after.last_rx_ns, before[i].last_rx_ns);
        EXPECT_GE(static_cast<int64_t>(after.last_rx_ns), t0);
        EXPECT_LE(static_cast<int64_t>(after.last_rx_ns), t1);
      } else {
        EXPECT_EQ(after.last_rx_ns, before[i].last_rx_ns);
      }
      // Nothing but the program's fields changes.
      EXPECT_EQ(std::memcmp(&after, &before[i], offsetof(strobe_xdp_session, last_rx_ns)), 0);
    }
    const std::vector<uint64_t> intervals_after = Intervals();
    EXPECT_EQ(Buckets(intervals_after, intervals_before), gaps);
    EXPECT_EQ(intervals_after[STROBE_XDP_INTERVAL_MAX], max_us);

    const std::vector<strobe_xdp_rx_record> records = Drain();
    if (row.counter != STROBE_XDP_TO_USER) {
      EXPECT_TRUE(records.empty());
      continue;
    }
    ASSERT_EQ(records.size(), 1u);
    const strobe_xdp_rx_record& r = records[0];
    const Packet& p = row.packet;
    // What the frame really holds of the UDP payload.
    const size_t present = p.payload.size() + p.trailer - p.truncate;
    const size_t udp_payload = std::min(
        present, static_cast<size_t>(p.udp_length >= 0 ? p.udp_length - 8 : p.payload.size()));
    EXPECT_GE(static_cast<int64_t>(r.rx_ns), t0);
    EXPECT_LE(static_cast<int64_t>(r.rx_ns), t1);
    EXPECT_EQ(r.ifindex, Lo());
    EXPECT_EQ(r.source_port, p.source_port);
    EXPECT_EQ(r.family, p.family);
    EXPECT_EQ(r.multihop, p.destination_port == STROBE_BFD_PORT_MULTIHOP ? 1 : 0);
    EXPECT_EQ(r.ttl, p.ttl);
    EXPECT_EQ(r.udp_payload_len, udp_payload);
    EXPECT_EQ(r.payload_len, std::min<size_t>(udp_payload, STROBE_XDP_MAX_PAYLOAD));
    EXPECT_EQ(std::memcmp(r.source, p.source.data(), 16), 0);
    EXPECT_EQ(std::memcmp(r.destination, p.destination.data(), 16), 0);
    EXPECT_EQ(std::vector<uint8_t>(r.payload, r.payload + r.payload_len),
              std::vector<uint8_t>(p.payload.begin(), p.payload.begin() + r.payload_len));
  }
}

INSTANTIATE_TEST_SUITE_P(Table, XdpTableTest, ::testing::ValuesIn(Rows()),
                         [](const ::testing::TestParamInfo<Row>& row) { return row.param.name; });

TEST_F(XdpTest, MaxEntriesIsWhatUserSpaceSet) {
  EXPECT_EQ(bpf_map__max_entries(skel_->maps.sessions), kMaxEntries);
  EXPECT_EQ(bpf_map__value_size(skel_->maps.sessions), sizeof(strobe_xdp_session));
  EXPECT_EQ(bpf_map__max_entries(skel_->maps.counters),
            static_cast<uint32_t>(STROBE_XDP_COUNTER_COUNT));
  EXPECT_EQ(bpf_map__type(skel_->maps.rx_intervals), BPF_MAP_TYPE_PERCPU_ARRAY);
  EXPECT_EQ(bpf_map__max_entries(skel_->maps.rx_intervals),
            static_cast<uint32_t>(STROBE_XDP_INTERVAL_ENTRIES));
  EXPECT_EQ(bpf_map__value_size(skel_->maps.rx_intervals), sizeof(uint64_t));
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_map__fd(skel_->maps.sessions), &info, &len), 0);
  EXPECT_EQ(info.max_entries, kMaxEntries);
  EXPECT_EQ(info.map_flags & BPF_F_MMAPABLE, static_cast<uint32_t>(BPF_F_MMAPABLE));
}

TEST_F(XdpTest, MmapAndSyscallViewsAgree) {
  const int fd = bpf_map__fd(skel_->maps.sessions);
  // Written through the mmap (SetUp), read through the syscall.
  uint32_t index = strobe_xdp_index_of(kV4);
  strobe_xdp_session read{};
  ASSERT_EQ(bpf_map_lookup_elem(fd, &index, &read), 0);
  EXPECT_EQ(std::memcmp(&read, &Session(kV4), sizeof(read)), 0);
  EXPECT_EQ(read.discriminator, kV4);
  // Written through the syscall (SetUp), read through the mmap.
  EXPECT_EQ(Session(kV6).discriminator, kV6);
  EXPECT_EQ(Session(kV6).family, 6);
  // The program's writes are visible through both.
  EXPECT_EQ(Run(Single6(Steady(kV6)).Build()), XDP_DROP);
  index = strobe_xdp_index_of(kV6);
  ASSERT_EQ(bpf_map_lookup_elem(fd, &index, &read), 0);
  EXPECT_EQ(read.rx_absorbed, 1u);
  EXPECT_EQ(Session(kV6).rx_absorbed, 1u);
  EXPECT_EQ(read.last_rx_ns, Session(kV6).last_rx_ns);
  // The last index is mapped too; one past it is not in the map.
  index = kMaxEntries - 1;
  sessions_[index].discriminator = 0xdeadbeef;
  ASSERT_EQ(bpf_map_lookup_elem(fd, &index, &read), 0);
  EXPECT_EQ(read.discriminator, 0xdeadbeefu);
  index = kMaxEntries;
  EXPECT_NE(bpf_map_lookup_elem(fd, &index, &read), 0);
}

// Found by tests/fuzz/xdp_frame_fuzzer.cc: an IPv6 EtherType whose header says another version
// was taken for IPv6 and dropped as BFD; the kernel's stack and the poll-mode classifier
// (dataplane/rx_frame.cc) leave it to the kernel, as the program does with IPv4's version.
TEST_F(XdpTest, AnIpv6HeaderOfAnotherVersionIsNotBfd) {
  std::vector<uint8_t> frame = Single6(Steady(kV6)).Build();
  ASSERT_EQ(frame[14] >> 4, 6);
  frame[14] = static_cast<uint8_t>((frame[14] & 0x0f) | 0x70);
  const std::vector<uint64_t> before = Counters();
  EXPECT_EQ(Run(frame), XDP_PASS);
  EXPECT_EQ(Counters()[STROBE_XDP_PASSED], before[STROBE_XDP_PASSED] + 1);
  EXPECT_EQ(Session(kV6).rx_absorbed + Session(kV6).rx_interesting + Session(kV6).rx_dropped, 0u);
}

TEST_F(XdpTest, SteadyOkAndExpectationAreReadOnEveryPacket) {
  const std::vector<uint8_t> steady = Single4(Steady(kV4)).Build();
  const std::vector<uint8_t> slower =
      Single4(With(Steady(kV4), [](Bfd& b) { b.desired_min_tx = 1'000'000; })).Build();
  EXPECT_EQ(Run(steady), XDP_DROP);
  EXPECT_EQ(Session(kV4).rx_absorbed, 1u);
  // The worker withdraws the expectation: the same packet is interesting.
  Session(kV4).steady_ok = 0;
  EXPECT_EQ(Run(steady), XDP_DROP);
  EXPECT_EQ(Session(kV4).rx_interesting, 1u);
  EXPECT_EQ(Drain().size(), 1u);
  // A new expectation: the old packet is interesting, the new one absorbed.
  const std::vector<uint8_t> expect =
      With(Steady(kV4), [](Bfd& b) { b.desired_min_tx = 1'000'000; }).Bytes();
  std::memcpy(Session(kV4).expect, expect.data(), sizeof(Session(kV4).expect));
  Session(kV4).steady_ok = 1;
  EXPECT_EQ(Run(steady), XDP_DROP);
  EXPECT_EQ(Session(kV4).rx_interesting, 2u);
  EXPECT_EQ(Run(slower), XDP_DROP);
  EXPECT_EQ(Session(kV4).rx_absorbed, 2u);
  EXPECT_EQ(Drain().size(), 1u);
  // The slot is freed: NO_SESSION, nothing charged.
  Session(kV4).discriminator = 0;
  const std::vector<uint64_t> before = Counters();
  EXPECT_EQ(Run(slower), XDP_DROP);
  EXPECT_EQ(Counters()[STROBE_BFD_DROP_NO_SESSION] - before[STROBE_BFD_DROP_NO_SESSION], 1u);
  EXPECT_EQ(Session(kV4).rx_absorbed, 2u);
}

// A worker with a ring of its own (worker_rings[w]) receives its sessions' interesting packets
// there; bootstrap packets (Your Discriminator 0) and workers without one use rx_ring.
TEST_F(XdpTest, InterestingPacketsGoToTheOwningWorkersRing) {
  const uint32_t worker = kV4 >> STROBE_XDP_WORKER_SHIFT;
  const int own =
      bpf_map_create(BPF_MAP_TYPE_RINGBUF, "test_ring", 0, 0, STROBE_XDP_RING_BYTES, nullptr);
  ASSERT_GE(own, 0) << strerror(errno);
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.worker_rings), &worker, &own, BPF_ANY), 0);
  std::vector<strobe_xdp_rx_record> got;
  ring_buffer* own_ring = ring_buffer__new(
      own,
      [](void* ctx, void* data, size_t) -> int {
        static_cast<std::vector<strobe_xdp_rx_record>*>(ctx)->push_back(
            *static_cast<const strobe_xdp_rx_record*>(data));
        return 0;
      },
      &got, nullptr);
  ASSERT_NE(own_ring, nullptr);
  Session(kV4).steady_ok = 0;  // every packet is interesting
  EXPECT_EQ(Run(Single4(Steady(kV4)).Build()), XDP_DROP);
  EXPECT_EQ(ring_buffer__consume(own_ring), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload_len, STROBE_BFD_MANDATORY_LEN);
  EXPECT_EQ(Drain().size(), 0u);  // nothing on worker 0's ring
  // Bootstrap: Your Discriminator 0 goes to rx_ring whatever the worker rings.
  EXPECT_EQ(Run(Single4(With(Steady(kV4),
                             [](Bfd& b) {
                               b.your = 0;
                               b.state = STROBE_BFD_STATE_DOWN;
                             }))
                    .Build()),
            XDP_DROP);
  EXPECT_EQ(ring_buffer__consume(own_ring), 0);
  EXPECT_EQ(Drain().size(), 1u);
  // Without the worker's ring, rx_ring again.
  ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(skel_->maps.worker_rings), &worker), 0);
  EXPECT_EQ(Run(Single4(Steady(kV4)).Build()), XDP_DROP);
  EXPECT_EQ(Drain().size(), 1u);
  ring_buffer__free(own_ring);
  close(own);
  Session(kV4).steady_ok = 1;
}

TEST_F(XdpTest, RepeatedRunsCountEveryPacket) {
  const std::vector<uint64_t> before = Counters();
  EXPECT_EQ(Run(Single4(Steady(kV4)).Build(), 0, 1000), XDP_DROP);
  EXPECT_EQ(Counters()[STROBE_XDP_ABSORBED] - before[STROBE_XDP_ABSORBED], 1000u);
  EXPECT_EQ(Session(kV4).rx_absorbed, 1000u);
}

// The gap between two absorbed packets of an Up session, in microseconds, is counted into its
// bucket of src/metrics/interval_buckets.h, and the maximum follows the largest gap.
TEST_F(XdpTest, GapBetweenSteadyPacketsIsCountedInItsBucket) {
  const std::vector<uint8_t> steady = Single4(Steady(kV4)).Build();
  // The previous packet arrived 10 ms ago (CLOCK_MONOTONIC is bpf_ktime_get_ns()'s clock).
  const uint64_t earlier = static_cast<uint64_t>(MonotonicNs() - 10 * kMs);
  Session(kV4).last_rx_ns = earlier;
  EXPECT_EQ(Run(steady), XDP_DROP);
  const uint64_t first = Session(kV4).last_rx_ns;
  const uint64_t gap_us = (first - earlier) / 1000;
  // 10 ms, plus however long this test took between the two clocks (generously).
  EXPECT_GE(gap_us, 10'000u);
  EXPECT_LT(gap_us, 10'000u + 1'000'000u);
  const unsigned bucket = strobe_interval_bucket(gap_us);
  EXPECT_GE(bucket, strobe_interval_bucket(10'000));
  EXPECT_LE(bucket, strobe_interval_bucket(10'000 + 1'000'000));
  EXPECT_LE(strobe_interval_bucket_lower_us(bucket), gap_us);
  EXPECT_GT(strobe_interval_bucket_lower_us(bucket + 1), gap_us);
  std::vector<uint64_t> got = Intervals();
  EXPECT_EQ(Buckets(got), (std::map<unsigned, uint64_t>{{bucket, 1}}));
  EXPECT_EQ(got[STROBE_XDP_INTERVAL_MAX], gap_us);
  EXPECT_EQ(Session(kV4).rx_absorbed, 1u);

  // The next packet: a second gap, measured from the first packet; the maximum stays.
  EXPECT_EQ(Run(steady), XDP_DROP);
  const uint64_t short_gap_us = (Session(kV4).last_rx_ns - first) / 1000;
  EXPECT_LT(short_gap_us, gap_us);
  std::map<unsigned, uint64_t> expected{{bucket, 1}};
  ++expected[strobe_interval_bucket(short_gap_us)];
  got = Intervals();
  EXPECT_EQ(Buckets(got), expected);
  EXPECT_EQ(got[STROBE_XDP_INTERVAL_MAX], gap_us);

  // A longer gap (300 ms), on another session: it raises the maximum.
  const uint64_t long_ago = static_cast<uint64_t>(MonotonicNs() - 300 * kMs);
  Session(kV6).last_rx_ns = long_ago;
  EXPECT_EQ(Run(Single6(Steady(kV6)).Build()), XDP_DROP);
  const uint64_t long_gap_us = (Session(kV6).last_rx_ns - long_ago) / 1000;
  EXPECT_GE(long_gap_us, 300'000u);
  EXPECT_LT(long_gap_us, 300'000u + 1'000'000u);
  ++expected[strobe_interval_bucket(long_gap_us)];
  got = Intervals();
  EXPECT_EQ(Buckets(got), expected);
  EXPECT_EQ(got[STROBE_XDP_INTERVAL_MAX], long_gap_us);
}

// Without a previous packet (last_rx_ns 0: the entry was just published) there is no gap.
TEST_F(XdpTest, NoGapWithoutAPreviousPacket) {
  const std::vector<uint8_t> steady = Single4(Steady(kV4)).Build();
  ASSERT_EQ(Session(kV4).last_rx_ns, 0u);
  EXPECT_EQ(Run(steady), XDP_DROP);
  EXPECT_EQ(Session(kV4).rx_absorbed, 1u);
  const uint64_t first = Session(kV4).last_rx_ns;
  EXPECT_NE(first, 0u);
  std::vector<uint64_t> got = Intervals();
  EXPECT_EQ(Buckets(got), (std::map<unsigned, uint64_t>{}));
  EXPECT_EQ(got[STROBE_XDP_INTERVAL_MAX], 0u);
  // The packet it stamped is the next one's previous.
  EXPECT_EQ(Run(steady), XDP_DROP);
  const uint64_t gap_us = (Session(kV4).last_rx_ns - first) / 1000;
  got = Intervals();
  EXPECT_EQ(Buckets(got), (std::map<unsigned, uint64_t>{{strobe_interval_bucket(gap_us), 1}}));
  EXPECT_EQ(got[STROBE_XDP_INTERVAL_MAX], gap_us);
}

// A previous stamp later than the packet (another CPU's, or the worker's) counts no gap.
TEST_F(XdpTest, NoGapFromALaterStamp) {
  const uint64_t later = static_cast<uint64_t>(MonotonicNs() + 1000 * kMs);
  Session(kV4).last_rx_ns = later;
  EXPECT_EQ(Run(Single4(Steady(kV4)).Build()), XDP_DROP);
  EXPECT_EQ(Session(kV4).rx_absorbed, 1u);
  EXPECT_LT(Session(kV4).last_rx_ns, later);
  const std::vector<uint64_t> got = Intervals();
  EXPECT_EQ(Buckets(got), (std::map<unsigned, uint64_t>{}));
  EXPECT_EQ(got[STROBE_XDP_INTERVAL_MAX], 0u);
}

// A steady state that is not Up (the expectation's state field) is absorbed, but its gaps are not
// the peer's Up timers: not counted.
TEST_F(XdpTest, NoGapUnlessTheExpectationIsUp) {
  for (int state : {STROBE_BFD_STATE_ADMIN_DOWN, STROBE_BFD_STATE_DOWN, STROBE_BFD_STATE_INIT,
                    STROBE_BFD_STATE_UP}) {
    SCOPED_TRACE(state);
    const Bfd bfd = With(Steady(kV4), [state](Bfd& b) {
      b.state = static_cast<uint8_t>(state);
      if (state != STROBE_BFD_STATE_UP) b.diag = 1;
    });
    const std::vector<uint8_t> expect = bfd.Bytes();
    std::memcpy(Session(kV4).expect, expect.data(), sizeof(Session(kV4).expect));
    const uint64_t earlier = static_cast<uint64_t>(MonotonicNs() - 10 * kMs);
    Session(kV4).last_rx_ns = earlier;
    const uint64_t absorbed = Session(kV4).rx_absorbed;
    const std::vector<uint64_t> before = Intervals();
    EXPECT_EQ(Run(Single4(bfd).Build()), XDP_DROP);
    EXPECT_EQ(Session(kV4).rx_absorbed, absorbed + 1);
    EXPECT_GT(Session(kV4).last_rx_ns, earlier);
    const std::vector<uint64_t> after = Intervals();
    if (state == STROBE_BFD_STATE_UP) {
      const uint64_t gap_us = (Session(kV4).last_rx_ns - earlier) / 1000;
      EXPECT_EQ(Buckets(after, before),
                (std::map<unsigned, uint64_t>{{strobe_interval_bucket(gap_us), 1}}));
      EXPECT_EQ(after[STROBE_XDP_INTERVAL_MAX], gap_us);
    } else {
      EXPECT_EQ(Buckets(after, before), (std::map<unsigned, uint64_t>{}));
      EXPECT_EQ(after[STROBE_XDP_INTERVAL_MAX], 0u);
    }
  }
}

// Only absorbed packets count gaps: interesting ones (the FSM measures those) and invalid ones
// neither count nor move last_rx_ns.
TEST_F(XdpTest, NoGapForInterestingOrDroppedPackets) {
  const uint64_t earlier = static_cast<uint64_t>(MonotonicNs() - 10 * kMs);
  Session(kV4).last_rx_ns = earlier;
  Session(kNotSteady).last_rx_ns = earlier;
  const Bfd steady4 = Steady(kV4);
  const std::vector<uint64_t> counters_before = Counters();
  // Interesting: Poll, Final, a changed interval, an entry without an expectation.
  EXPECT_EQ(Run(Single4(With(steady4, [](Bfd& b) { b.flags = STROBE_BFD_FLAG_POLL; })).Build()),
            XDP_DROP);
  EXPECT_EQ(Run(Single4(With(steady4, [](Bfd& b) { b.flags = STROBE_BFD_FLAG_FINAL; })).Build()),
            XDP_DROP);
  EXPECT_EQ(Run(Single4(With(steady4, [](Bfd& b) { b.desired_min_tx = 1'000'000; })).Build()),
            XDP_DROP);
  EXPECT_EQ(Run(Single4(Steady(kNotSteady), kNotSteadyPeer4).Build()), XDP_DROP);
  EXPECT_EQ(Drain().size(), 4u);
  // Invalid, charged to the session: bad TTL, bad version, wrong source.
  EXPECT_EQ(Run(With(Single4(steady4), [](Packet& p) { p.ttl = 254; }).Build()), XDP_DROP);
  EXPECT_EQ(Run(Single4(With(steady4, [](Bfd& b) { b.version = 0; })).Build()), XDP_DROP);
  EXPECT_EQ(Run(Single4(steady4, V4("192.0.2.9")).Build()), XDP_DROP);
  const std::vector<uint64_t> counters_after = Counters();
  EXPECT_EQ(counters_after[STROBE_XDP_TO_USER] - counters_before[STROBE_XDP_TO_USER], 4u);
  EXPECT_EQ(counters_after[STROBE_XDP_ABSORBED] - counters_before[STROBE_XDP_ABSORBED], 0u);
  EXPECT_EQ(Session(kV4).rx_interesting, 3u);
  EXPECT_EQ(Session(kV4).rx_dropped, 3u);
  EXPECT_EQ(Session(kV4).last_rx_ns, earlier);
  EXPECT_EQ(Session(kNotSteady).last_rx_ns, earlier);
  const std::vector<uint64_t> got = Intervals();
  EXPECT_EQ(Buckets(got), (std::map<unsigned, uint64_t>{}));
  EXPECT_EQ(got[STROBE_XDP_INTERVAL_MAX], 0u);
}

TEST_F(XdpTest, RepeatedRunsCountEveryGap) {
  const uint64_t earlier = static_cast<uint64_t>(MonotonicNs() - 10 * kMs);
  Session(kV4).last_rx_ns = earlier;
  EXPECT_EQ(Run(Single4(Steady(kV4)).Build(), 0, 1000), XDP_DROP);
  EXPECT_EQ(Session(kV4).rx_absorbed, 1000u);
  const std::vector<uint64_t> got = Intervals();
  uint64_t total = 0;
  for (const auto& [bucket, n] : Buckets(got)) total += n;
  EXPECT_EQ(total, 1000u);  // the first from 10 ms ago, then one per run
  // The largest is the first.
  EXPECT_GE(got[STROBE_XDP_INTERVAL_MAX], 10'000u);
  EXPECT_LT(got[STROBE_XDP_INTERVAL_MAX], 10'000u + 1'000'000u);
  EXPECT_EQ(got[strobe_interval_bucket(got[STROBE_XDP_INTERVAL_MAX])], 1u);
}

// Each CPU counts into its own copy: user space sums the buckets and takes the largest maximum.
TEST_F(XdpTest, GapsAreCountedPerCpu) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE && cpus.size() < 2; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  ASSERT_FALSE(cpus.empty());
  const size_t possible = static_cast<size_t>(libbpf_num_possible_cpus());
  std::map<unsigned, uint64_t> expected;
  uint64_t expected_max = 0;
  for (size_t k = 0; k < cpus.size(); ++k) {
    SCOPED_TRACE(cpus[k]);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus[k], &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0) << strerror(errno);
    const std::vector<uint64_t> before = IntervalsPerCpu();
    // A different gap on each CPU: 10 ms, 20 ms.
    const uint64_t earlier =
        static_cast<uint64_t>(MonotonicNs() - 10 * kMs * static_cast<int64_t>(k + 1));
    Session(kV4).last_rx_ns = earlier;
    EXPECT_EQ(Run(Single4(Steady(kV4)).Build()), XDP_DROP);
    const uint64_t gap_us = (Session(kV4).last_rx_ns - earlier) / 1000;
    const unsigned bucket = strobe_interval_bucket(gap_us);
    const std::vector<uint64_t> after = IntervalsPerCpu();
    // Only this CPU's copy moved.
    for (size_t cpu = 0; cpu < possible; ++cpu) {
      SCOPED_TRACE(cpu);
      const bool here = static_cast<int>(cpu) == cpus[k];
      EXPECT_EQ(after[bucket * possible + cpu] - before[bucket * possible + cpu], here ? 1u : 0u);
      EXPECT_EQ(after[STROBE_XDP_INTERVAL_MAX * possible + cpu],
                here ? gap_us : before[STROBE_XDP_INTERVAL_MAX * possible + cpu]);
    }
    ++expected[bucket];
    expected_max = std::max(expected_max, gap_us);
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof(allowed), &allowed), 0);
  const std::vector<uint64_t> got = Intervals();
  EXPECT_EQ(Buckets(got), expected);
  EXPECT_EQ(got[STROBE_XDP_INTERVAL_MAX], expected_max);
}

// The dataplane reads rx_intervals with one batch lookup: the same values as one lookup per
// entry, in the same layout.
TEST_F(XdpTest, BatchLookupOfIntervalsMatchesOneByOne) {
  const uint64_t earlier = static_cast<uint64_t>(MonotonicNs() - 10 * kMs);
  Session(kV4).last_rx_ns = earlier;
  EXPECT_EQ(Run(Single4(Steady(kV4)).Build(), 0, 10), XDP_DROP);
  const std::vector<uint64_t> batch = IntervalsPerCpu();
  EXPECT_EQ(batch, IntervalsPerCpuOneByOne());
  uint64_t total = 0;
  for (size_t i = 0; i < STROBE_INTERVAL_BUCKETS * static_cast<size_t>(libbpf_num_possible_cpus());
       ++i) {
    total += batch[i];
  }
  EXPECT_EQ(total, 10u);
}

TEST_F(XdpTest, FullRingDropsAndCounts) {
  // 1 MiB of 128-byte slots (120-byte records + 8-byte headers): 8192 slots, of which the
  // kernel (6.18) hands out one less than all.
  constexpr uint64_t kSlots = (1 << 20) / 128;
  constexpr uint64_t kSent = kSlots + 100;
  const std::vector<uint64_t> before = Counters();
  const std::vector<uint8_t> poll =
      Single4(With(Steady(kV4), [](Bfd& b) { b.flags = STROBE_BFD_FLAG_POLL; })).Build();
  EXPECT_EQ(Run(poll, 0, static_cast<int>(kSent)), XDP_DROP);
  const std::vector<uint64_t> after = Counters();
  const uint64_t to_user = after[STROBE_XDP_TO_USER] - before[STROBE_XDP_TO_USER];
  EXPECT_GE(to_user, kSlots - 1);
  EXPECT_LE(to_user, kSlots);
  EXPECT_EQ(after[STROBE_XDP_RING_FULL] - before[STROBE_XDP_RING_FULL], kSent - to_user);
  EXPECT_EQ(Session(kV4).rx_interesting, to_user);
  EXPECT_EQ(Drain().size(), to_user);
  // Drained, it takes records again.
  EXPECT_EQ(Run(poll), XDP_DROP);
  EXPECT_EQ(Drain().size(), 1u);
}

}  // namespace
}  // namespace strobe::xdp_test
