// Frames for the XDP program's tests and benchmark, written byte by byte (no codec involved):
// Ethernet, VLAN tags, IPv4 or IPv6, UDP or TCP, and a BFD Control packet.

#ifndef STROBE_TESTS_UNIT_XDP_PACKET_BUILDER_H_
#define STROBE_TESTS_UNIT_XDP_PACKET_BUILDER_H_

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "src/bfd/rx_checks.h"

namespace strobe::xdp_test {

using Address = std::array<uint8_t, 16>;  // IPv4 in the first 4 bytes, the rest zero

inline Address V4(const char* text) {
  Address a{};
  if (inet_pton(AF_INET, text, a.data()) != 1) std::abort();
  return a;
}

inline Address V6(const char* text) {
  Address a{};
  if (inet_pton(AF_INET6, text, a.data()) != 1) std::abort();
  return a;
}

inline void Put8(std::vector<uint8_t>* out, uint32_t v) { out->push_back(static_cast<uint8_t>(v)); }
inline void Put16(std::vector<uint8_t>* out, uint32_t v) {
  Put8(out, v >> 8);
  Put8(out, v);
}
inline void Put32(std::vector<uint8_t>* out, uint32_t v) {
  Put16(out, v >> 16);
  Put16(out, v);
}

// A BFD Control packet (RFC 5880 section 4.1).
struct Bfd {
  uint8_t version = 1;
  uint8_t diag = 0;
  uint8_t state = STROBE_BFD_STATE_UP;
  uint8_t flags = 0;  // STROBE_BFD_FLAG_*
  uint8_t detect_mult = 3;
  int length = -1;  // the Length byte; -1: 24 + auth.size()
  uint32_t my = 0x11111111;
  uint32_t your = 0;
  uint32_t desired_min_tx = 300'000;
  uint32_t required_min_rx = 300'000;
  uint32_t required_min_echo_rx = 0;
  std::vector<uint8_t> auth;  // the authentication section, if any
  int size = -1;              // bytes to keep (a short packet); -1: all

  std::vector<uint8_t> Bytes() const {
    std::vector<uint8_t> b;
    Put8(&b, (version << 5) | (diag & 0x1f));
    Put8(&b, (state << 6) | (flags & 0x3f));
    Put8(&b, detect_mult);
    Put8(&b, length >= 0 ? length : STROBE_BFD_MANDATORY_LEN + static_cast<int>(auth.size()));
    Put32(&b, my);
    Put32(&b, your);
    Put32(&b, desired_min_tx);
    Put32(&b, required_min_rx);
    Put32(&b, required_min_echo_rx);
    b.insert(b.end(), auth.begin(), auth.end());
    if (size >= 0) b.resize(static_cast<size_t>(size));
    return b;
  }
};

// An Ethernet frame carrying an IP packet (or, with `ethertype`, anything).
struct Packet {
  std::vector<uint16_t> vlan_tpids;  // outermost first: 0x8100, 0x88a8
  uint16_t ethertype = 0;            // 0: IPv4 or IPv6 from `family`
  int family = 4;
  Address source{};
  Address destination{};
  uint8_t ttl = 255;      // or hop limit
  uint8_t protocol = 17;  // IPv4 protocol / IPv6 next header: 17 UDP, 6 TCP, other: raw
  uint16_t source_port = 49152;
  uint16_t destination_port = STROBE_BFD_PORT_SINGLE_HOP;
  std::vector<uint8_t> payload;  // of UDP or TCP (or of the frame, with `ethertype`)
  int udp_length = -1;           // the UDP length field; -1: the real one
  int ip_payload_length = -1;    // IPv4 total length - header, IPv6 payload length; -1: real
  uint16_t fragment = 0;         // IPv4 flags and fragment offset field
  int ihl = 5;                   // IPv4 header length in words; options are NOPs
  bool hop_by_hop = false;       // IPv6: a Hop-by-Hop Options header before the transport
  size_t truncate = 0;           // bytes cut off the end of the frame
  size_t trailer = 0;            // zero bytes appended after the IP packet (padding)

  std::vector<uint8_t> Build() const;
};

inline uint16_t Checksum(const uint8_t* data, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (len & 1) sum += data[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

inline std::vector<uint8_t> Packet::Build() const {
  std::vector<uint8_t> f = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  for (size_t i = 0; i < vlan_tpids.size(); ++i) {
    Put16(&f, vlan_tpids[i]);
    Put16(&f, 100 + static_cast<uint32_t>(i));  // TCI: VLAN 100, 101
  }
  if (ethertype != 0) {
    Put16(&f, ethertype);
    f.insert(f.end(), payload.begin(), payload.end());
    f.resize(f.size() + trailer);
    f.resize(f.size() - truncate);
    return f;
  }
  Put16(&f, family == 4 ? 0x0800 : 0x86dd);

  // The transport: UDP, TCP, or the payload as it is.
  std::vector<uint8_t> l4;
  if (protocol == 17) {
    Put16(&l4, source_port);
    Put16(&l4, destination_port);
    Put16(&l4, udp_length >= 0 ? udp_length : 8 + static_cast<int>(payload.size()));
    Put16(&l4, 0);  // checksum, below
  } else if (protocol == 6) {
    Put16(&l4, source_port);
    Put16(&l4, destination_port);
    Put32(&l4, 1);       // sequence
    Put32(&l4, 0);       // acknowledgment
    Put16(&l4, 0x5002);  // data offset 5, SYN
    Put16(&l4, 65535);   // window
    Put32(&l4, 0);       // checksum, urgent pointer
  }
  l4.insert(l4.end(), payload.begin(), payload.end());
  if (protocol == 17) {
    std::vector<uint8_t> pseudo;
    const size_t alen = family == 4 ? 4 : 16;
    pseudo.insert(pseudo.end(), source.begin(), source.begin() + alen);
    pseudo.insert(pseudo.end(), destination.begin(), destination.begin() + alen);
    Put16(&pseudo, 17);
    Put16(&pseudo, static_cast<uint32_t>(l4.size()));
    pseudo.insert(pseudo.end(), l4.begin(), l4.end());
    uint16_t sum = Checksum(pseudo.data(), pseudo.size());
    if (sum == 0) sum = 0xffff;
    l4[6] = static_cast<uint8_t>(sum >> 8);
    l4[7] = static_cast<uint8_t>(sum);
  }

  const size_t ip_start = f.size();
  if (family == 4) {
    const int header_len = ihl * 4;
    Put8(&f, 0x40 | ihl);
    Put8(&f, 0xc0);  // DSCP CS6
    Put16(&f, static_cast<uint32_t>(header_len +
                                    (ip_payload_length >= 0 ? ip_payload_length : l4.size())));
    Put16(&f, 0x1234);  // identification
    Put16(&f, fragment);
    Put8(&f, ttl);
    Put8(&f, protocol);
    Put16(&f, 0);  // header checksum, below
    f.insert(f.end(), source.begin(), source.begin() + 4);
    f.insert(f.end(), destination.begin(), destination.begin() + 4);
    for (int i = 20; i < header_len; ++i) Put8(&f, 1);  // NOP options
    const uint16_t sum = Checksum(f.data() + ip_start, static_cast<size_t>(header_len));
    f[ip_start + 10] = static_cast<uint8_t>(sum >> 8);
    f[ip_start + 11] = static_cast<uint8_t>(sum);
  } else {
    Put32(&f, 0x6e000000);  // version 6, traffic class CS6
    Put16(&f, static_cast<uint32_t>(ip_payload_length >= 0 ? ip_payload_length
                                                           : l4.size() + (hop_by_hop ? 8 : 0)));
    Put8(&f, hop_by_hop ? 0 : protocol);
    Put8(&f, ttl);
    f.insert(f.end(), source.begin(), source.end());
    f.insert(f.end(), destination.begin(), destination.end());
    if (hop_by_hop) {
      const uint8_t hbh[8] = {protocol, 0, 1, 4, 0, 0, 0, 0};  // PadN
      f.insert(f.end(), hbh, hbh + 8);
    }
  }
  f.insert(f.end(), l4.begin(), l4.end());
  f.resize(f.size() + trailer);
  f.resize(f.size() - truncate);
  return f;
}

}  // namespace strobe::xdp_test

#endif  // STROBE_TESTS_UNIT_XDP_PACKET_BUILDER_H_
