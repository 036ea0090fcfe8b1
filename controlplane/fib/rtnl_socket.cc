#include "controlplane/fib/rtnl_socket.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace strobe::fib {
namespace {

// Acks are small but each is its own skb (about 1 KiB of receive-buffer charge): a 64 KiB batch
// holds at most ~1,000 requests, far below this.
constexpr int kReceiveBufferBytes = 32 << 20;
constexpr int kSendBufferBytes = 4 << 20;
constexpr size_t kReadChunk = 256 * 1024;
// The kernel answers inside sendmsg(); this only guards against a lost ack.
constexpr int kAckWaitMs = 2000;

absl::Status Errno(std::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(errno),
                      absl::StrCat(std::string(what), ": ", strerror(errno)));
}

bool WaitReadable(int fd, int timeout_ms) {
  pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&p, 1, timeout_ms) > 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RtnlSocket>> RtnlSocket::Open(std::span<const unsigned> groups) {
  mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (s == nullptr) return Errno("netlink socket");
  std::unique_ptr<RtnlSocket> out(new RtnlSocket(s));
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) return Errno("netlink bind");
  const int fd = mnl_socket_get_fd(s);
  for (unsigned group : groups) {
    int g = static_cast<int>(group);
    if (mnl_socket_setsockopt(s, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0) {
      return Errno(absl::StrCat("netlink group ", group));
    }
  }
  int one = 1;
  mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
  mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof(one));
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBufferBytes, sizeof(int)) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBufferBytes, sizeof(int));
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &kSendBufferBytes, sizeof(int)) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSendBufferBytes, sizeof(int));
  }
  out->receive_buffer_.resize(kReadChunk);
  return out;
}

RtnlSocket::~RtnlSocket() { mnl_socket_close(socket_); }

ssize_t RtnlSocket::Receive() {
  return netlink::ReceiveFromKernel(fd(), receive_buffer_.data(), receive_buffer_.size());
}

int RtnlSocket::fd() const { return mnl_socket_get_fd(socket_); }

uint32_t RtnlSocket::portid() const { return mnl_socket_get_portid(socket_); }

absl::Status RtnlSocket::Send(const RequestBatch& batch, uint32_t first_seq,
                              std::vector<Ack>* acks) {
  acks->clear();
  if (batch.empty()) return absl::OkStatus();
  if (mnl_socket_sendto(socket_, batch.data(), batch.size()) < 0) return Errno("netlink send");
  const size_t want = batch.messages();
  acks->resize(want);
  std::vector<bool> seen(want, false);
  size_t got = 0;
  while (got < want) {
    const ssize_t n = Receive();
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && WaitReadable(fd(), kAckWaitMs)) continue;
      if (errno == EAGAIN) {
        return absl::DeadlineExceededError(
            absl::StrCat("netlink: ", want - got, " of ", want, " acks lost"));
      }
      return Errno("netlink receive");
    }
    size_t left = static_cast<size_t>(n);
    for (auto* m = reinterpret_cast<const nlmsghdr*>(receive_buffer_.data()); MessageOk(m, left);
         m = NextMessage(m, &left)) {
      std::optional<Ack> ack = ParseAck(m);
      if (!ack || ack->seq - first_seq >= want) continue;  // a stale answer
      const size_t i = ack->seq - first_seq;
      if (seen[i]) continue;
      seen[i] = true;
      (*acks)[i] = std::move(*ack);
      ++got;
    }
  }
  return absl::OkStatus();
}

absl::Status RtnlSocket::Request(const RequestBatch& request, uint32_t seq,
                                 const std::function<void(const nlmsghdr*)>& on_message) {
  if (mnl_socket_sendto(socket_, request.data(), request.size()) < 0) {
    return Errno("netlink send");
  }
  for (;;) {
    const ssize_t n = Receive();
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && WaitReadable(fd(), kAckWaitMs)) continue;
      if (errno == EAGAIN) return absl::DeadlineExceededError("netlink: no answer");
      return Errno("netlink receive");
    }
    size_t left = static_cast<size_t>(n);
    for (auto* m = reinterpret_cast<const nlmsghdr*>(receive_buffer_.data()); MessageOk(m, left);
         m = NextMessage(m, &left)) {
      if (m->nlmsg_seq != seq) continue;
      if ((m->nlmsg_flags & NLM_F_DUMP_INTR) != 0) {
        return absl::AbortedError("netlink dump interrupted by a change; try again");
      }
      if (m->nlmsg_type == NLMSG_DONE) return absl::OkStatus();
      if (m->nlmsg_type == NLMSG_ERROR) {
        std::optional<Ack> ack = ParseAck(m);
        if (ack && ack->error != 0) {
          return absl::Status(
              absl::ErrnoToStatusCode(ack->error),
              absl::StrCat(strerror(ack->error), ack->message.empty() ? "" : ": ", ack->message));
        }
        return absl::OkStatus();
      }
      on_message(m);
      if ((m->nlmsg_flags & NLM_F_MULTI) == 0) return absl::OkStatus();  // a single answer
    }
  }
}

absl::Status RtnlSocket::ReadNotifications(const std::function<void(const nlmsghdr*)>& on_message) {
  for (;;) {
    const ssize_t n = Receive();
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return absl::OkStatus();
      return Errno("netlink notifications");
    }
    size_t left = static_cast<size_t>(n);
    for (auto* m = reinterpret_cast<const nlmsghdr*>(receive_buffer_.data()); MessageOk(m, left);
         m = NextMessage(m, &left)) {
      on_message(m);
    }
  }
}

}  // namespace strobe::fib
