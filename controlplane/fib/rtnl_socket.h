// A NETLINK_ROUTE socket (libmnl): batched requests with acks matched by sequence number, dumps,
// and multicast notifications. The kernel handles a request inside sendmsg(), so every ack of a
// batch is queued on the socket when Send() returns; Send() collects them at once.
#ifndef STROBE_CONTROLPLANE_FIB_RTNL_SOCKET_H_
#define STROBE_CONTROLPLANE_FIB_RTNL_SOCKET_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controlplane/fib/rtnl_codec.h"

struct mnl_socket;

namespace strobe::fib {

class RtnlSocket {
 public:
  // `groups`: RTNLGRP_* multicast groups to join (none for a request socket).
  static absl::StatusOr<std::unique_ptr<RtnlSocket>> Open(std::span<const unsigned> groups);
  ~RtnlSocket();
  RtnlSocket(const RtnlSocket&) = delete;
  RtnlSocket& operator=(const RtnlSocket&) = delete;

  int fd() const;
  // The port id the kernel stamps on notifications caused by this socket's requests.
  uint32_t portid() const;
  uint32_t NextSeq() { return ++seq_; }

  // Sends `batch` (requests numbered first_seq, first_seq+1, ...) and collects one ack per
  // request into `acks`, in order. An error status means the acks could not all be read (a
  // lost ack): the caller must assume nothing about the unacked requests.
  absl::Status Send(const RequestBatch& batch, uint32_t first_seq, std::vector<Ack>* acks);

  // Sends one dump (or get) request and hands every answer message to `on_message`.
  absl::Status Request(const RequestBatch& request, uint32_t seq,
                       const std::function<void(const nlmsghdr*)>& on_message);

  // Reads every notification waiting (never blocks). Returns ENOBUFS as an error when the
  // kernel dropped some (the caller must resynchronise).
  absl::Status ReadNotifications(const std::function<void(const nlmsghdr*)>& on_message);

 private:
  explicit RtnlSocket(mnl_socket* socket) : socket_(socket) {}
  // One datagram into receive_buffer_ without blocking (recv's result); one that is not from the
  // kernel reads as empty.
  ssize_t Receive();
  mnl_socket* socket_;
  uint32_t seq_ = 0;
  std::vector<char> receive_buffer_;
};

}  // namespace strobe::fib

#endif  // STROBE_CONTROLPLANE_FIB_RTNL_SOCKET_H_
