#include "controlplane/bgpd/tcp_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace strobe::bgpd {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(errno)));
}

bool IsGlobal(const net::IpAddress& a) {
  const auto& b = a.bytes();
  if (a.is_v4()) return b[0] != 127 && !(b[0] == 169 && b[1] == 254);
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;  // link-local
  net::IpAddress loopback = *net::IpAddress::Parse("::1");
  return a != loopback;
}

}  // namespace

TtlPolicy MakeTtlPolicy(bool ebgp, uint8_t multihop_ttl, bool ttl_security) {
  TtlPolicy p;
  const int hops = multihop_ttl > 0 ? multihop_ttl : 1;
  if (ttl_security) {
    p.ttl = 255;
    p.min_ttl = 256 - hops;
  } else if (ebgp) {
    p.ttl = hops;
  } else {
    p.ttl = multihop_ttl > 0 ? multihop_ttl : 255;
  }
  return p;
}

absl::Status SetMd5Key(int fd, const net::IpAddress& peer, int prefix_length,
                       const std::string& key) {
  if (key.size() > TCP_MD5SIG_MAXKEYLEN) {
    return absl::InvalidArgumentError("TCP-MD5 password longer than 80 octets");
  }
  tcp_md5sig sig{};
  sockaddr_storage ss{};
  peer.ToSockaddr(0, &ss);
  std::memcpy(&sig.tcpm_addr, &ss, sizeof(ss));
  sig.tcpm_keylen = static_cast<uint16_t>(key.size());
  std::memcpy(sig.tcpm_key, key.data(), key.size());
  int option = TCP_MD5SIG;
  if (prefix_length >= 0) {
    option = TCP_MD5SIG_EXT;
    sig.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
    sig.tcpm_prefixlen = static_cast<uint8_t>(prefix_length);
  }
  if (setsockopt(fd, IPPROTO_TCP, option, &sig, sizeof(sig)) != 0) {
    // Deleting a key that was never set is not an error worth reporting.
    if (key.empty() && errno == ENOENT) return absl::OkStatus();
    return Errno(absl::StrCat("TCP_MD5SIG for ", peer.ToString()));
  }
  return absl::OkStatus();
}

absl::Status ApplyTtl(int fd, int family, const TtlPolicy& ttl) {
  const int value = ttl.ttl;
  if (family == AF_INET) {
    if (setsockopt(fd, IPPROTO_IP, IP_TTL, &value, sizeof(value)) != 0) return Errno("IP_TTL");
    if (ttl.min_ttl > 0 &&
        setsockopt(fd, IPPROTO_IP, IP_MINTTL, &ttl.min_ttl, sizeof(ttl.min_ttl)) != 0) {
      return Errno("IP_MINTTL");
    }
  } else {
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &value, sizeof(value)) != 0) {
      return Errno("IPV6_UNICAST_HOPS");
    }
    if (ttl.min_ttl > 0 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, &ttl.min_ttl, sizeof(ttl.min_ttl)) != 0) {
      return Errno("IPV6_MINHOPCOUNT");
    }
  }
  return absl::OkStatus();
}

absl::Status SetNoDelay(int fd) {
  const int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
    return Errno("TCP_NODELAY");
  }
  return absl::OkStatus();
}

absl::StatusOr<int> StartConnect(const net::IpAddress& peer, uint16_t port,
                                 const net::IpAddress& local, const TtlPolicy& ttl,
                                 const std::string& md5_key) {
  const int fd = socket(peer.af(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  auto fail = [fd](absl::Status s) {
    close(fd);
    return s;
  };
  absl::Status s = ApplyTtl(fd, peer.af(), ttl);
  if (s.ok()) s = SetNoDelay(fd);
  if (s.ok() && !md5_key.empty()) s = SetMd5Key(fd, peer, -1, md5_key);
  if (!s.ok()) return fail(s);
  if (!local.empty()) {
    const int one = 1;
    setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
    sockaddr_storage ss{};
    const socklen_t len = local.ToSockaddr(0, &ss);
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      return fail(Errno(absl::StrCat("bind ", local.ToString())));
    }
  }
  sockaddr_storage ss{};
  const socklen_t len = peer.ToSockaddr(port, &ss);
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    return fail(Errno(absl::StrCat("connect ", peer.ToString())));
  }
  return fd;
}

int PendingError(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

net::IpAddress LocalAddressOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return net::IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss));
}

net::IpAddress PeerAddressOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return net::IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss));
}

namespace {
uint16_t PortOf(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  }
  return 0;
}
}  // namespace

uint16_t LocalPortOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return PortOf(ss);
}

uint16_t PeerPortOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return PortOf(ss);
}

std::string InterfaceOf(const net::IpAddress& local) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string name;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    const int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    if (net::IpAddress::FromSockaddr(i->ifa_addr) == local) {
      name = i->ifa_name;
      break;
    }
  }
  freeifaddrs(list);
  return name;
}

std::optional<net::IpAddress> GlobalAddressOn(const std::string& ifname, int family) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::optional<net::IpAddress> found;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != family) continue;
    if (ifname != i->ifa_name) continue;
    net::IpAddress a = net::IpAddress::FromSockaddr(i->ifa_addr);
    if (a.af() == family && IsGlobal(a)) {
      found = a;
      break;
    }
  }
  freeifaddrs(list);
  return found;
}

std::optional<net::IpAddress> SourceAddressFor(const net::IpAddress& peer) {
  const int fd = socket(peer.af(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_storage ss{};
  const socklen_t len = peer.ToSockaddr(179, &ss);
  std::optional<net::IpAddress> out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    net::IpAddress a = LocalAddressOf(fd);
    if (!a.empty()) out = a;
  }
  close(fd);
  return out;
}

}  // namespace strobe::bgpd
