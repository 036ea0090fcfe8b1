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

namespace strobe::ipc {

ControlServer::~ControlServer() {
  if (fd_ >= 0) {
    close(fd_);
    unlink(path_.c_str());
  }
}

absl::Status ControlServer::Listen(const std::string& path) {
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
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd_, 16) != 0) {
    return absl::UnavailableError(absl::StrCat("control socket ", path, ": ", strerror(errno)));
  }
  path_ = path;
  chmod(path.c_str(), 0660);
  return absl::OkStatus();
}

void ControlServer::Serve(const ControlHandler& handler, const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_acquire)) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    ServeOne(client, handler);
    close(client);
  }
}

void ControlServer::ServeOne(int fd, const ControlHandler& handler) {
  std::string line;
  if (!ReadLine(fd, &line, 2000, 64 << 10).ok()) return;
  nlohmann::json reply;
  nlohmann::json request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded() || !request.is_object() || !request.contains("command") ||
      !request["command"].is_string()) {
    reply = {{"ok", false}, {"error", "malformed request: want {\"command\": \"...\"}"}};
  } else if (request["command"] == "ping") {
    reply = {{"ok", true}, {"result", "pong"}};
  } else {
    const nlohmann::json args = request.value("args", nlohmann::json::object());
    absl::StatusOr<nlohmann::json> result = handler(request["command"].get<std::string>(), args);
    if (result.ok()) {
      reply = {{"ok", true}, {"result", *result}};
    } else {
      reply = {{"ok", false}, {"error", std::string(result.status().message())}};
    }
  }
  absl::Status s = WriteAll(fd, reply.dump() + "\n");
  if (!s.ok()) STROBE_LOG(kDebug, "control reply: %s", std::string(s.message()));
}

}  // namespace strobe::ipc
