#ifndef STROBE_SRC_IPC_CONTROL_SERVER_H_
#define STROBE_SRC_IPC_CONTROL_SERVER_H_

// The daemon side of the control socket protocol (control_protocol.h). Serves one request per
// connection, sequentially, on the calling thread: control traffic is rare and small.

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace strobe::ipc {

// The reply to "attach": a result and the fds passed with it (SCM_RIGHTS). The connection then
// stays open: its closing is how each side learns the other is gone.
struct AttachReply {
  nlohmann::json result;
  std::vector<int> fds;
};
using AttachHandler = std::function<absl::StatusOr<AttachReply>(const nlohmann::json& args)>;

using ControlHandler = std::function<absl::StatusOr<nlohmann::json>(const std::string& command,
                                                                    const nlohmann::json& args)>;

class ControlServer {
 public:
  ControlServer() = default;
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket's directory if needed, replaces a stale socket file, listens. The socket
  // is mode 0660 from its creation on, owned by group `gid` (-1: the process's group).
  absl::Status Listen(const std::string& path, int gid = -1);
  // One client at a time may attach (the shared-memory consumer). `on_detach` runs when its
  // connection closes, however it ended (exit, crash, kill -9).
  void SetAttachHandlers(AttachHandler on_attach, std::function<void()> on_detach);
  // One more fd to watch in Serve(): `on_readable` runs on the serving thread when it is
  // readable (the dataplane's metrics endpoint).
  void SetExtraFd(int fd, std::function<void()> on_readable);
  // Serves until `stop` becomes true; calls `tick` at least every 100 ms.
  void Serve(const ControlHandler& handler, const std::atomic<bool>& stop,
             const std::function<void()>& tick = nullptr);

 private:
  // Returns true when the connection was kept (an attach).
  bool ServeOne(int fd, const ControlHandler& handler);
  void Detach();

  AttachHandler on_attach_;
  std::function<void()> on_detach_;
  int attached_fd_ = -1;
  int extra_fd_ = -1;
  std::function<void()> on_extra_readable_;

  std::string path_;
  int fd_ = -1;
};

}  // namespace strobe::ipc

#endif  // STROBE_SRC_IPC_CONTROL_SERVER_H_
