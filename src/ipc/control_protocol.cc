#include "src/ipc/control_protocol.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "src/common/clock.h"

namespace strobe::ipc {
namespace {

constexpr size_t kMaxReplyBytes = 256 << 20;  // show output of 100,000 sessions fits

}  // namespace

absl::Status ReadLine(int fd, std::string* line, int timeout_ms, size_t max_len) {
  line->clear();
  const int64_t deadline = MonotonicNowNs() + static_cast<int64_t>(timeout_ms) * kNsPerMs;
  char buffer[64 << 10];
  while (true) {
    // One line per connection in each direction: whatever follows the newline is not ours.
    const ssize_t n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) {
      const char* nl = static_cast<const char*>(std::memchr(buffer, '\n', n));
      line->append(buffer,
                   nl != nullptr ? static_cast<size_t>(nl - buffer) : static_cast<size_t>(n));
      if (line->size() > max_len) return absl::ResourceExhaustedError("line too long");
      if (nl != nullptr) return absl::OkStatus();
      continue;
    }
    if (n == 0) {
      return line->empty() ? absl::UnavailableError("connection closed")
                           : absl::DataLossError("connection closed mid-line");
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return absl::UnavailableError(absl::StrCat("recv: ", strerror(errno)));
    }
    const int64_t left_ms = (deadline - MonotonicNowNs()) / kNsPerMs;
    if (left_ms <= 0) return absl::DeadlineExceededError("timed out waiting for a reply");
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, static_cast<int>(left_ms));
  }
}

absl::Status WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, 1000);
        continue;
      }
      return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
    }
    off += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> CallControl(const std::string& socket_path,
                                           const nlohmann::json& request, int timeout_ms) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", socket_path));
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to ", socket_path, ": ",
                                               strerror(err), " (is the daemon running?)"));
  }
  absl::Status status = WriteAll(fd, request.dump() + "\n");
  std::string line;
  if (status.ok()) status = ReadLine(fd, &line, timeout_ms, kMaxReplyBytes);
  close(fd);
  if (!status.ok()) return status;
  nlohmann::json reply = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded() || !reply.is_object()) {
    return absl::DataLossError("malformed reply from the daemon");
  }
  if (!reply.value("ok", false)) {
    // The daemon's status code when it sent one (InvalidArgument: a refused configuration).
    const int code = reply.value("code", static_cast<int>(absl::StatusCode::kFailedPrecondition));
    const bool known = code > 0 && code <= static_cast<int>(absl::StatusCode::kUnauthenticated);
    return absl::Status(
        known ? static_cast<absl::StatusCode>(code) : absl::StatusCode::kFailedPrecondition,
        reply.value("error", std::string("unknown error")));
  }
  return reply.contains("result") ? reply["result"] : nlohmann::json();
}

}  // namespace strobe::ipc
