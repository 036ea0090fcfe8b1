// A listening TCP socket for incoming BGP connections (one per `bgp.listen` address). TCP-MD5
// keys of neighbors and listen ranges are installed on it, so the kernel checks the SYN.
#ifndef STROBE_CONTROLPLANE_BGPD_LISTENER_H_
#define STROBE_CONTROLPLANE_BGPD_LISTENER_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "controlplane/bgpd/event_loop.h"
#include "src/net/ip_address.h"

namespace strobe::bgpd {

class Listener {
 public:
  using AcceptCallback = std::function<void(int fd)>;  // a non-blocking connected socket

  // IPv6 wildcard sockets are IPV6_V6ONLY, so "0.0.0.0" and "::" can both listen.
  static absl::StatusOr<std::unique_ptr<Listener>> Open(EventLoop* loop,
                                                        const net::IpAddress& address,
                                                        uint16_t port, AcceptCallback on_accept);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int fd() const { return fd_; }
  const net::IpAddress& address() const { return address_; }

 private:
  Listener(EventLoop* loop, int fd, net::IpAddress address, AcceptCallback on_accept)
      : loop_(loop), fd_(fd), address_(address), on_accept_(std::move(on_accept)) {}
  void OnReadable();

  EventLoop* loop_;
  int fd_;
  net::IpAddress address_;
  AcceptCallback on_accept_;
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_LISTENER_H_
