#include "dataplane/bfd_frame.h"

#include <cstring>

#include "absl/status/status.h"

namespace strobe::dataplane {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint8_t kProtoUdp = 17;
constexpr uint16_t kPortSingleHop = 3784;
constexpr uint16_t kPortMultiHop = 4784;

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

absl::Status CheckPayload(std::span<const uint8_t> payload) {
  if (payload.size() < BfdFrame::kMinPayload || payload.size() > BfdFrame::kMaxPayload) {
    return absl::InvalidArgumentError("BFD payload must be 24..52 bytes");
  }
  return absl::OkStatus();
}

}  // namespace

uint32_t OnesSum(std::span<const uint8_t> data, uint32_t sum) {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += Get16(&data[i]);
  if (i < data.size()) sum += static_cast<uint32_t>(data[i]) << 8;
  return sum;
}

uint16_t FoldChecksum(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint16_t UdpChecksumFromScratch(std::span<const uint8_t> ip) {
  uint32_t sum = 0;
  size_t udp_off;
  if ((ip[0] >> 4) == 6) {
    sum = OnesSum(ip.subspan(8, 32));  // source and destination addresses
    udp_off = BfdFrame::kIpv6Len;
  } else {
    sum = OnesSum(ip.subspan(12, 8));
    udp_off = (ip[0] & 0x0f) * 4u;
  }
  const uint16_t udp_len = Get16(&ip[udp_off + 4]);
  sum += kProtoUdp;
  sum += udp_len;
  const uint8_t* udp = &ip[udp_off];
  sum = OnesSum({udp, 6}, sum);  // ports and length; checksum field as zero
  sum = OnesSum({udp + 8, static_cast<size_t>(udp_len) - 8}, sum);
  const uint16_t c = FoldChecksum(sum);
  return c == 0 ? 0xffff : c;
}

absl::StatusOr<BfdFrame> BfdFrame::Build(const BfdFrameSpec& spec,
                                         std::span<const uint8_t> payload) {
  if (absl::Status s = CheckPayload(payload); !s.ok()) return s;
  BfdFrame f;
  f.ipv6_ = spec.ipv6;
  uint8_t* b = f.buf_.data();
  std::memcpy(b, spec.dst_mac.data(), 6);
  std::memcpy(b + 6, spec.src_mac.data(), 6);
  Put16(b + 12, spec.ipv6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
  uint8_t* ip = b + kEthLen;
  if (spec.ipv6) {
    // Version 6, traffic class CS6, flow label 0.
    ip[0] = 0x60 | (kTrafficClassCs6 >> 4);
    ip[1] = static_cast<uint8_t>((kTrafficClassCs6 & 0x0f) << 4);
    ip[6] = kProtoUdp;  // next header
    ip[7] = 255;        // hop limit (RFC 5881 §5)
    std::memcpy(ip + 8, spec.src_ip.data(), 16);
    std::memcpy(ip + 24, spec.dst_ip.data(), 16);
    f.udp_off_ = kEthLen + kIpv6Len;
  } else {
    ip[0] = 0x45;
    ip[1] = kTrafficClassCs6;  // DSCP CS6, ECN 0
    // id 0; flags DF, fragment offset 0.
    Put16(ip + 6, 0x4000);
    ip[8] = 255;  // TTL (RFC 5881 §5)
    ip[9] = kProtoUdp;
    std::memcpy(ip + 12, spec.src_ip.data(), 4);
    std::memcpy(ip + 16, spec.dst_ip.data(), 4);
    f.udp_off_ = kEthLen + kIpv4Len;
  }
  uint8_t* udp = b + f.udp_off_;
  Put16(udp, spec.src_port);
  Put16(udp + 2, spec.multihop ? kPortMultiHop : kPortSingleHop);
  f.payload_off_ = f.udp_off_ + kUdpLen;
  f.payload_len_ = payload.size();
  std::memcpy(b + f.payload_off_, payload.data(), payload.size());
  f.SetLengths();
  f.FullChecksums();
  return f;
}

void BfdFrame::SetLengths() {
  uint8_t* ip = buf_.data() + ip_off_;
  const uint16_t udp_len = static_cast<uint16_t>(kUdpLen + payload_len_);
  if (ipv6_) {
    Put16(ip + 4, udp_len);
  } else {
    Put16(ip + 2, static_cast<uint16_t>(kIpv4Len + udp_len));
  }
  Put16(buf_.data() + udp_off_ + 4, udp_len);
  size_ = payload_off_ + payload_len_;
}

void BfdFrame::FullChecksums() {
  uint8_t* ip = buf_.data() + ip_off_;
  if (!ipv6_) {
    Put16(ip + 10, 0);
    Put16(ip + 10, FoldChecksum(OnesSum({ip, kIpv4Len})));
  }
  Put16(buf_.data() + udp_off_ + 6, UdpChecksumFromScratch({ip, size_ - ip_off_}));
}

absl::Status BfdFrame::Patch(std::span<const uint8_t> bfd_payload) {
  if (absl::Status s = CheckPayload(bfd_payload); !s.ok()) return s;
  uint8_t* dst = buf_.data() + payload_off_;
  if (bfd_payload.size() != payload_len_) {
    payload_len_ = bfd_payload.size();
    std::memcpy(dst, bfd_payload.data(), payload_len_);
    SetLengths();
    FullChecksums();
    return absl::OkStatus();
  }
  // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for every changed 16-bit word. The payload starts
  // at an even offset of the UDP datagram, so its words are the checksum's words; an odd tail
  // is padded with zero on both sides.
  uint8_t* csum = buf_.data() + udp_off_ + 6;
  uint32_t sum = static_cast<uint16_t>(~Get16(csum));
  bool changed = false;
  for (size_t i = 0; i < payload_len_; i += 2) {
    const bool pair = i + 1 < payload_len_;
    const uint16_t old_w = static_cast<uint16_t>((dst[i] << 8) | (pair ? dst[i + 1] : 0));
    const uint16_t new_w =
        static_cast<uint16_t>((bfd_payload[i] << 8) | (pair ? bfd_payload[i + 1] : 0));
    if (old_w == new_w) continue;
    changed = true;
    sum += static_cast<uint16_t>(~old_w);
    sum += new_w;
  }
  if (!changed) return absl::OkStatus();
  std::memcpy(dst, bfd_payload.data(), payload_len_);
  const uint16_t c = FoldChecksum(sum);
  Put16(csum, c == 0 ? 0xffff : c);
  return absl::OkStatus();
}

}  // namespace strobe::dataplane
