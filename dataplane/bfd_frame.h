#ifndef STROBE_DATAPLANE_BFD_FRAME_H_
#define STROBE_DATAPLANE_BFD_FRAME_H_

// A prebuilt BFD control frame per session: Ethernet, IPv4 or IPv6, UDP and the BFD payload.
// The headers are built once; a send patches only the BFD payload and fixes the lengths and
// checksums. When the payload keeps its length, the UDP checksum is updated incrementally
// (RFC 1624, eqn. 3) over the payload words that changed and the IP header is left as it is;
// otherwise the lengths, the IPv4 header checksum and the UDP checksum are recomputed.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/statusor.h"

namespace strobe::dataplane {

struct BfdFrameSpec {
  std::array<uint8_t, 6> src_mac{};
  std::array<uint8_t, 6> dst_mac{};
  bool ipv6 = false;
  // Network byte order. IPv4 uses the first 4 bytes.
  std::array<uint8_t, 16> src_ip{};
  std::array<uint8_t, 16> dst_ip{};
  uint16_t src_port = 49152;  // RFC 5881: 49152..65535
  bool multihop = false;      // false: 3784 (RFC 5881), true: 4784 (RFC 5883)
};

class BfdFrame {
 public:
  static constexpr size_t kEthLen = 14;
  static constexpr size_t kIpv4Len = 20;
  static constexpr size_t kIpv6Len = 40;
  static constexpr size_t kUdpLen = 8;
  static constexpr size_t kMinPayload = 24;
  static constexpr size_t kMaxPayload = 52;
  static constexpr size_t kMaxFrame = kEthLen + kIpv6Len + kUdpLen + kMaxPayload;
  static constexpr uint8_t kTrafficClassCs6 = 0xc0;  // DSCP 48 << 2

  // Builds the template with `payload` (24..52 bytes) in the BFD slot.
  static absl::StatusOr<BfdFrame> Build(const BfdFrameSpec& spec, std::span<const uint8_t> payload);

  // Writes a new BFD payload (24..52 bytes) and fixes lengths and checksums.
  absl::Status Patch(std::span<const uint8_t> bfd_payload);

  std::span<const uint8_t> bytes() const { return {buf_.data(), size_}; }
  std::span<const uint8_t> payload() const { return {buf_.data() + payload_off_, payload_len_}; }
  bool ipv6() const { return ipv6_; }

 private:
  BfdFrame() = default;
  void SetLengths();
  void FullChecksums();

  std::array<uint8_t, kMaxFrame> buf_{};
  size_t size_ = 0;
  size_t ip_off_ = kEthLen;
  size_t udp_off_ = 0;
  size_t payload_off_ = 0;
  size_t payload_len_ = 0;
  bool ipv6_ = false;
};

// Ones' complement helpers, exposed for tests.
// Sum of `data` as big-endian 16-bit words (odd tail padded with zero), not folded.
uint32_t OnesSum(std::span<const uint8_t> data, uint32_t sum = 0);
// Folds and complements a sum into an Internet checksum (host order).
uint16_t FoldChecksum(uint32_t sum);
// The UDP checksum of the IP packet starting at `ip` (IPv4 or IPv6, no extension headers),
// computed from scratch, with the checksum field taken as zero; 0 is returned as 0xffff.
uint16_t UdpChecksumFromScratch(std::span<const uint8_t> ip_packet);

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_BFD_FRAME_H_
