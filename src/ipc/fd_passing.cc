#include "src/ipc/fd_passing.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "src/common/clock.h"

namespace strobe::ipc {

absl::Status SendWithFds(int socket, const std::string& data, const std::vector<int>& fds) {
  if (fds.size() > kMaxPassedFds) return absl::InvalidArgumentError("too many fds to pass");
  if (data.empty()) return absl::InvalidArgumentError("nothing to send");
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  iovec iov{const_cast<char*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return absl::UnavailableError(absl::StrCat("sendmsg: ", strerror(errno)));
  size_t sent = static_cast<size_t>(n);
  while (sent < data.size()) {  // the rest, without fds
    n = send(socket, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status ReceiveLineWithFds(int socket, std::string* line, std::vector<int>* fds,
                                int timeout_ms) {
  line->clear();
  const int64_t deadline = MonotonicNowNs() + static_cast<int64_t>(timeout_ms) * kNsPerMs;
  while (true) {
    char buffer[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
    iovec iov{buffer, sizeof(buffer)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    // Peek first so we never consume bytes past the newline.
    const ssize_t peeked = recv(socket, buffer, sizeof(buffer), MSG_PEEK | MSG_DONTWAIT);
    if (peeked == 0) return absl::UnavailableError("connection closed");
    if (peeked < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return absl::UnavailableError(absl::StrCat("recv: ", strerror(errno)));
      }
      const int64_t left_ms = (deadline - MonotonicNowNs()) / kNsPerMs;
      if (left_ms <= 0) return absl::DeadlineExceededError("timed out waiting for a reply");
      pollfd p{socket, POLLIN, 0};
      poll(&p, 1, static_cast<int>(left_ms));
      continue;
    }
    const char* nl = static_cast<const char*>(std::memchr(buffer, '\n', peeked));
    iov.iov_len =
        nl != nullptr ? static_cast<size_t>(nl - buffer + 1) : static_cast<size_t>(peeked);
    const ssize_t n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) return absl::UnavailableError("connection closed");
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
          fds->push_back(fd);
        }
      }
    }
    line->append(buffer, static_cast<size_t>(n));
    if (!line->empty() && line->back() == '\n') {
      line->pop_back();
      return absl::OkStatus();
    }
    if (line->size() > (1 << 20)) return absl::ResourceExhaustedError("line too long");
  }
}

}  // namespace strobe::ipc
