#include "controlplane/bgpd/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "src/common/logging.h"

namespace strobe::bgpd {

absl::StatusOr<std::unique_ptr<Listener>> Listener::Open(EventLoop* loop,
                                                         const net::IpAddress& address,
                                                         uint16_t port, AcceptCallback on_accept) {
  const int fd = socket(address.af(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
  if (address.is_v6()) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  // The SYN-ACK leaves with the listening socket's TTL: 255, so a GTSM peer (IP_MINTTL 255,
  // RFC 5082) accepts it. Accepted sockets get each neighbor's own TTL right after accept().
  const int ttl = 255;
  if (address.is_v6()) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl));
  } else {
    setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
  }
  sockaddr_storage ss{};
  const socklen_t len = address.ToSockaddr(port, &ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 128) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("listen on ", address.ToString(), " port ", port, ": ", strerror(err)));
  }
  std::unique_ptr<Listener> listener(new Listener(loop, fd, address, std::move(on_accept)));
  Listener* raw = listener.get();
  if (!loop->Add(fd, EPOLLIN, [raw](uint32_t) { raw->OnReadable(); })) {
    return absl::InternalError("cannot watch the listening socket");
  }
  return listener;
}

Listener::~Listener() {
  loop_->Remove(fd_);
  close(fd_);
}

void Listener::OnReadable() {
  for (int i = 0; i < 64; ++i) {
    const int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        STROBE_LOG(kWarning, "accept on %s: %s", address_.ToString(), strerror(errno));
      }
      return;
    }
    on_accept_(fd);
  }
}

}  // namespace strobe::bgpd
