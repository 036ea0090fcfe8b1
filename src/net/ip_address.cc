#include "src/net/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace strobe::net {

IpAddress IpAddress::V4(const in_addr& addr) {
  IpAddress a;
  a.family_ = Family::kV4;
  std::memcpy(a.bytes_.data(), &addr, 4);
  return a;
}

IpAddress IpAddress::V6(const in6_addr& addr) {
  IpAddress a;
  a.family_ = Family::kV6;
  std::memcpy(a.bytes_.data(), &addr, 16);
  return a;
}

absl::StatusOr<IpAddress> IpAddress::Parse(std::string_view text) {
  std::string s(text);
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) return V4(v4);
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) return V6(v6);
  return absl::InvalidArgumentError(absl::StrCat("not an IP address: \"", s, "\""));
}

IpAddress IpAddress::FromBytes(const uint8_t* bytes, int family) {
  IpAddress a;
  a.family_ = family == 4 ? Family::kV4 : Family::kV6;
  std::memcpy(a.bytes_.data(), bytes, family == 4 ? 4 : 16);
  return a;
}

IpAddress IpAddress::FromSockaddr(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    return V4(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
  }
  if (sa->sa_family == AF_INET6) {
    const in6_addr& a6 = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      in_addr v4;
      std::memcpy(&v4, &a6.s6_addr[12], 4);
      return V4(v4);
    }
    return V6(a6);
  }
  return IpAddress();
}

in_addr IpAddress::v4() const {
  in_addr a;
  std::memcpy(&a, bytes_.data(), 4);
  return a;
}

in6_addr IpAddress::v6() const {
  in6_addr a;
  std::memcpy(&a, bytes_.data(), 16);
  return a;
}

socklen_t IpAddress::ToSockaddr(uint16_t port, sockaddr_storage* out) const {
  std::memset(out, 0, sizeof(*out));
  if (is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr = v4();
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  sin6->sin6_addr = v6();
  return sizeof(sockaddr_in6);
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    in_addr a = v4();
    inet_ntop(AF_INET, &a, buf, sizeof(buf));
    return buf;
  }
  if (is_v6()) {
    in6_addr a = v6();
    inet_ntop(AF_INET6, &a, buf, sizeof(buf));
    return buf;
  }
  return "";
}

}  // namespace strobe::net
