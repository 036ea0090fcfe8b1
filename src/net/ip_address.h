#ifndef STROBE_SRC_NET_IP_ADDRESS_H_
#define STROBE_SRC_NET_IP_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <bit>
#include <compare>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace strobe::net {

// An IPv4 or IPv6 address, value type, comparable and hashable.
class IpAddress {
 public:
  enum class Family : uint8_t { kNone = 0, kV4 = 4, kV6 = 6 };

  IpAddress() = default;
  static IpAddress V4(const in_addr& addr);
  static IpAddress V6(const in6_addr& addr);
  static absl::StatusOr<IpAddress> Parse(std::string_view text);
  // From wire bytes: 4 bytes when `family` is 4, 16 otherwise (shared-memory and BPF records).
  static IpAddress FromBytes(const uint8_t* bytes, int family);
  // From a sockaddr_in / sockaddr_in6; an IPv4-mapped IPv6 address becomes IPv4.
  static IpAddress FromSockaddr(const sockaddr* sa);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kV4; }
  bool is_v6() const { return family_ == Family::kV6; }
  bool empty() const { return family_ == Family::kNone; }
  int af() const { return is_v4() ? AF_INET : AF_INET6; }
  in_addr v4() const;
  in6_addr v6() const;
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }

  // Fills a sockaddr_in/sockaddr_in6 for `port`; returns its length.
  socklen_t ToSockaddr(uint16_t port, sockaddr_storage* out) const;
  std::string ToString() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.family_ == b.family_ && a.Half(0) == b.Half(0) && a.Half(1) == b.Half(1);
  }
  // Family first (IPv4 before IPv6), then the address in network order. Two 8-byte compares,
  // not a memcmp call: the RIB's decision and next-hop sets compare addresses per path.
  friend std::strong_ordering operator<=>(const IpAddress& a, const IpAddress& b) {
    if (a.family_ != b.family_) return a.family_ <=> b.family_;
    if (a.Half(0) != b.Half(0)) return a.OrderedHalf(0) <=> b.OrderedHalf(0);
    return a.OrderedHalf(1) <=> b.OrderedHalf(1);
  }

  template <typename H>
  friend H AbslHashValue(H h, const IpAddress& a) {
    return H::combine(std::move(h), a.family_, a.bytes_);
  }

 private:
  // Half `i` of the 16 bytes as loaded (for equality), and as a number in network order.
  uint64_t Half(int i) const {
    uint64_t v;
    std::memcpy(&v, bytes_.data() + 8 * i, sizeof(v));
    return v;
  }
  uint64_t OrderedHalf(int i) const {
    if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(Half(i));
    return Half(i);
  }

  Family family_ = Family::kNone;
  std::array<uint8_t, 16> bytes_{};  // IPv4 uses the first 4 bytes.
};

}  // namespace strobe::net

#endif  // STROBE_SRC_NET_IP_ADDRESS_H_
