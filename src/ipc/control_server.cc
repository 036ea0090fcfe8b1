#include "src/ipc/control_server.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "src/common/logging.h"
#include "src/ipc/control_protocol.h"
#include "src/ipc/fd_passing.h"

namespace strobe::ipc {

ControlServer::~ControlServer() {
  if (attached_fd_ >= 0) close(attached_fd_);
  if (fd_ >= 0) {
    close(fd_);
    unlink(path_.c_str());
  }
}

absl::Status ControlServer::Listen(const std::string& path, int gid) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("control socket path too long: ", path));
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  // A socket file left by a crashed daemon is replaced; a live daemon is not.
  if (CallControl(path, {{"command", "ping"}}, 200).ok()) {
    return absl::AlreadyExistsError(absl::StrCat("another daemon already serves ", path));
  }
  unlink(path.c_str());
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // bind() creates the file with the umask applied: 0117 makes it 0660 at once, with no moment
  // in which others could connect.
  const mode_t old_umask = umask(0117);
  const bool bound = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  const int bind_errno = errno;
  umask(old_umask);
  if (!bound || listen(fd_, 16) != 0) {
    return absl::UnavailableError(
        absl::StrCat("control socket ", path, ": ", strerror(bound ? errno : bind_errno)));
  }
  path_ = path;
  if (gid >= 0 && chown(path.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(gid)) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("control socket ", path, ": chown to group ", gid, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

void ControlServer::SetAttachHandlers(AttachHandler on_attach, std::function<void()> on_detach) {
  on_attach_ = std::move(on_attach);
  on_detach_ = std::move(on_detach);
}

void ControlServer::SetExtraFd(int fd, std::function<void()> on_readable) {
  extra_fd_ = fd;
  on_extra_readable_ = std::move(on_readable);
}

void ControlServer::Detach() {
  close(attached_fd_);
  attached_fd_ = -1;
  if (on_detach_) on_detach_();
}

void ControlServer::Serve(const ControlHandler& handler, const std::atomic<bool>& stop,
                          const std::function<void()>& tick) {
  while (!stop.load(std::memory_order_acquire)) {
    if (tick) tick();
    pollfd p[3] = {{fd_, POLLIN, 0}, {attached_fd_, POLLIN, 0}, {extra_fd_, POLLIN, 0}};
    if (poll(p, 3, 100) <= 0) continue;  // negative fds are ignored
    if (extra_fd_ >= 0 && (p[2].revents & POLLIN)) on_extra_readable_();
    if (attached_fd_ >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buffer[256];
      const ssize_t n = recv(attached_fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) Detach();
    }
    if (!(p[0].revents & POLLIN)) continue;
    const int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    if (!ServeOne(client, handler)) close(client);
  }
}

bool ControlServer::ServeOne(int fd, const ControlHandler& handler) {
  std::string line;
  if (!ReadLine(fd, &line, 2000, 64 << 10).ok()) return false;
  nlohmann::json reply;
  nlohmann::json request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded() || !request.is_object() || !request.contains("command") ||
      !request["command"].is_string()) {
    reply = {{"ok", false}, {"error", "malformed request: want {\"command\": \"...\"}"}};
  } else if (request["command"] == "ping") {
    reply = {{"ok", true}, {"result", "pong"}};
  } else if (request["command"] == "attach" && on_attach_) {
    absl::StatusOr<AttachReply> attach =
        attached_fd_ >= 0 ? absl::FailedPreconditionError("another client is already attached")
                          : on_attach_(request.value("args", nlohmann::json::object()));
    if (attach.ok()) {
      reply = {{"ok", true}, {"result", attach->result}};
      if (SendWithFds(fd, reply.dump() + "\n", attach->fds).ok()) {
        attached_fd_ = fd;
        return true;
      }
      if (on_detach_) on_detach_();
      return false;
    }
    reply = {{"ok", false}, {"error", std::string(attach.status().message())}};
  } else {
    const nlohmann::json args = request.value("args", nlohmann::json::object());
    absl::StatusOr<nlohmann::json> result = handler(request["command"].get<std::string>(), args);
    if (result.ok()) {
      reply = {{"ok", true}, {"result", *result}};
    } else {
      reply = {{"ok", false},
               {"error", std::string(result.status().message())},
               {"code", static_cast<int>(result.status().code())}};
    }
  }
  absl::Status s = WriteAll(fd, reply.dump() + "\n");
  if (!s.ok()) STROBE_LOG(kDebug, "control reply: %s", std::string(s.message()));
  return false;
}

}  // namespace strobe::ipc
