#include "dataplane/socket_io.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "src/bfd/rx_checks.h"

namespace strobe::dataplane {
namespace {

constexpr uint16_t kFirstSourcePort = 49152;  // RFC 5881 section 4
constexpr int kTtl = STROBE_BFD_REQUIRED_TTL;

absl::Status Errno(std::string_view what) {
  return absl::InternalError(absl::StrCat(std::string(what), ": ", strerror(errno)));
}

bool SetInt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof(value)) == 0;
}

}  // namespace

absl::Status IgnoreInterfaces(int fd, const std::vector<int>& ifindexes) {
  if (ifindexes.empty()) return absl::OkStatus();
  if (ifindexes.size() > 250) {
    return absl::InvalidArgumentError("at most 250 interfaces can be left to the dpdk backend");
  }
  // A <- ifindex; for each: if A == ifindex goto drop; accept; drop.
  std::vector<sock_filter> code;
  code.push_back(
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_IFINDEX)));
  const auto n = static_cast<uint8_t>(ifindexes.size());
  for (uint8_t i = 0; i < n; ++i) {
    // Jump over the remaining comparisons and the accept to the drop.
    code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(ifindexes[i]),
                            static_cast<uint8_t>(n - i), 0));
  }
  code.push_back(BPF_STMT(BPF_RET | BPF_K, 0xffffffffu));
  code.push_back(BPF_STMT(BPF_RET | BPF_K, 0));
  sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) != 0) {
    return absl::InternalError(absl::StrCat("SO_ATTACH_FILTER: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> OpenListener(int family, uint16_t port) {
  const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  bool ok = SetInt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  SetInt(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20);
  if (family == AF_INET) {
    ok = ok && SetInt(fd, IPPROTO_IP, IP_RECVTTL, 1) && SetInt(fd, IPPROTO_IP, IP_PKTINFO, 1);
  } else {
    ok = ok && SetInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) &&
         SetInt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) &&
         SetInt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
  }
  if (!ok) {
    absl::Status s = Errno("setsockopt");
    close(fd);
    return s;
  }
  net::IpAddress any =
      family == AF_INET ? net::IpAddress::V4(in_addr{INADDR_ANY}) : net::IpAddress::V6(in6addr_any);
  sockaddr_storage ss;
  const socklen_t len = any.ToSockaddr(port, &ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("bind to UDP port ", port, " (", family == AF_INET ? "IPv4" : "IPv6",
                     "): ", strerror(errno), "; is another BFD daemon running here?"));
    close(fd);
    return s;
  }
  return fd;
}

std::unique_ptr<ReceiveBuffers> MakeReceiveBuffers() { return std::make_unique<ReceiveBuffers>(); }

namespace {

// The addresses, TTL or hop limit and interface of one received datagram.
void ParseReceived(const msghdr& msg, const sockaddr_storage& from, RxPacket* out) {
  out->source = net::IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&from));
  out->source_port =
      ntohs(from.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(&from)->sin_port
                                      : reinterpret_cast<const sockaddr_in6*>(&from)->sin6_port);
  out->ttl = -1;
  out->ifindex = 0;
  out->destination = net::IpAddress();
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
      int ttl;
      std::memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
      out->ttl = ttl;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      out->destination = net::IpAddress::V4(info.ipi_addr);
      out->ifindex = info.ipi_ifindex;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
      int hops;
      std::memcpy(&hops, CMSG_DATA(c), sizeof(hops));
      out->ttl = hops;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      out->destination = net::IpAddress::V6(info.ipi6_addr);
      out->ifindex = static_cast<int>(info.ipi6_ifindex);
    }
  }
}

}  // namespace

int ReceiveBatch(int fd, bool multihop, int64_t now_ns, ReceiveBuffers* b,
                 RxPacket (&out)[kReceiveBatch]) {
  for (int i = 0; i < kReceiveBatch; ++i) {
    b->iov[i] = {out[i].data, sizeof(out[i].data)};
    msghdr& msg = b->messages[i].msg_hdr;
    msg = msghdr{};
    msg.msg_name = &b->from[i];
    msg.msg_namelen = sizeof(b->from[i]);
    msg.msg_iov = &b->iov[i];
    msg.msg_iovlen = 1;
    msg.msg_control = b->control[i];
    msg.msg_controllen = sizeof(b->control[i]);
  }
  const int n = recvmmsg(fd, b->messages, kReceiveBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;
  for (int i = 0; i < n; ++i) {
    RxPacket& p = out[i];
    // msg_len is what was copied: a longer datagram was truncated (MSG_TRUNC in msg_flags).
    p.length = static_cast<uint16_t>(std::min<size_t>(b->messages[i].msg_len, sizeof(p.data)));
    p.multihop = multihop;
    p.rx_ns = now_ns;
    ParseReceived(b->messages[i].msg_hdr, b->from[i], &p);
  }
  return n;
}

absl::StatusOr<int> OpenTransmitter(const net::IpAddress& local, const net::IpAddress& peer,
                                    const std::string& interface, bool multihop,
                                    uint16_t* port_hint, bool* connected) {
  const int fd = socket(local.af(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  auto fail = [fd](absl::Status s) {
    close(fd);
    return s;
  };
  // The local address may not be configured yet (an interface coming up later): bind anyway.
  if (local.is_v4()) {
    if (!SetInt(fd, IPPROTO_IP, IP_TTL, kTtl) || !SetInt(fd, IPPROTO_IP, IP_FREEBIND, 1)) {
      return fail(Errno("setsockopt IP_TTL"));
    }
  } else if (!SetInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, kTtl) ||
             !SetInt(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1)) {
    return fail(Errno("setsockopt IPV6_UNICAST_HOPS"));
  }
  // Network control traffic: DSCP CS6, as FRR and BIRD send BFD.
  if (local.is_v4()) {
    SetInt(fd, IPPROTO_IP, IP_TOS, 0xc0);
  } else {
    SetInt(fd, IPPROTO_IPV6, IPV6_TCLASS, 0xc0);
  }
  if (!multihop && !interface.empty() &&
      setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(), interface.size()) != 0) {
    return fail(Errno(absl::StrCat("SO_BINDTODEVICE ", interface)));
  }
  const uint16_t span = 65535 - kFirstSourcePort + 1;
  uint16_t port = *port_hint < kFirstSourcePort ? kFirstSourcePort : *port_hint;
  bool bound = false;
  for (uint32_t tries = 0; tries < span; ++tries) {
    sockaddr_storage ss;
    const socklen_t len = local.ToSockaddr(port, &ss);
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
      bound = true;
      break;
    }
    if (errno != EADDRINUSE) return fail(Errno(absl::StrCat("bind ", local.ToString())));
    port = port == 65535 ? kFirstSourcePort : port + 1;
  }
  if (!bound) return fail(absl::ResourceExhaustedError("no free UDP source port in 49152-65535"));
  *port_hint = port;
  *connected = ConnectTransmitter(fd, peer, multihop);
  if (!*connected && errno != ENETUNREACH && errno != EHOSTUNREACH && errno != EADDRNOTAVAIL) {
    return fail(Errno(absl::StrCat("connect ", peer.ToString())));
  }
  return fd;
}

bool ConnectTransmitter(int fd, const net::IpAddress& peer, bool multihop) {
  sockaddr_storage ss;
  const socklen_t len =
      peer.ToSockaddr(multihop ? STROBE_BFD_PORT_MULTIHOP : STROBE_BFD_PORT_SINGLE_HOP, &ss);
  return connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
}

}  // namespace strobe::dataplane
