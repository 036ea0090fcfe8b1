// Reading rtnetlink datagrams safely: the walk over the messages of one datagram, and a receive
// that keeps only what the kernel sent. Shared by the only two modules that read rtnetlink: the
// control plane's FIB writer (controlplane/fib/rtnl_socket.cc) and the dataplane's neighbour
// watch (dataplane/neighbor_watch.cc).
#ifndef STROBE_SRC_COMMON_NETLINK_WALK_H_
#define STROBE_SRC_COMMON_NETLINK_WALK_H_

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <cstddef>

namespace strobe::netlink {

// The walk over the messages of one received datagram (NLMSG_OK / NLMSG_NEXT):
//   for (const nlmsghdr* m = first; MessageOk(m, left); m = NextMessage(m, &left)) ...
// Not mnl_nlmsg_ok(): it compares nlmsg_len as a signed int, so a length of 2^31 or more passes
// and the walk reads far past the datagram (found by tests/fuzz/rtnl_fuzzer.cc).
inline bool MessageOk(const nlmsghdr* m, size_t left) {
  return left >= sizeof(nlmsghdr) && m->nlmsg_len >= sizeof(nlmsghdr) && m->nlmsg_len <= left;
}

inline const nlmsghdr* NextMessage(const nlmsghdr* m, size_t* left) {
  // NLMSG_ALIGN in size_t: the macro's ~3U would clear the upper half.
  const size_t step = std::min((size_t{m->nlmsg_len} + 3) & ~size_t{3}, *left);
  *left -= step;
  return reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(m) + step);
}

// recvfrom(2) of one datagram without blocking. Any process may send to a netlink port id
// (unicast needs no privilege), so a datagram not sent by the kernel (nl_pid 0) is read and
// dropped: the result is then 0, as for an empty read. Otherwise recvfrom's result and errno.
inline ssize_t ReceiveFromKernel(int fd, void* buffer, size_t size) {
  sockaddr_nl from{};
  socklen_t from_len = sizeof(from);
  const ssize_t n =
      recvfrom(fd, buffer, size, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
  if (n > 0 && (from_len != sizeof(from) || from.nl_pid != 0)) return 0;
  return n;
}

}  // namespace strobe::netlink

#endif  // STROBE_SRC_COMMON_NETLINK_WALK_H_
