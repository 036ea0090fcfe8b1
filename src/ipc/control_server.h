#ifndef STROBE_SRC_IPC_CONTROL_SERVER_H_
#define STROBE_SRC_IPC_CONTROL_SERVER_H_

// The daemon side of the control socket protocol (control_protocol.h). Serves one request per
// connection, sequentially, on the calling thread: control traffic is rare and small.

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"

namespace strobe::ipc {

using ControlHandler = std::function<absl::StatusOr<nlohmann::json>(const std::string& command,
                                                                    const nlohmann::json& args)>;

class ControlServer {
 public:
  ControlServer() = default;
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket's directory if needed, replaces a stale socket file, listens (mode 0660).
  absl::Status Listen(const std::string& path);
  // Serves until `stop` becomes true (checked at least every 100 ms).
  void Serve(const ControlHandler& handler, const std::atomic<bool>& stop);

 private:
  void ServeOne(int fd, const ControlHandler& handler);

  std::string path_;
  int fd_ = -1;
};

}  // namespace strobe::ipc

#endif  // STROBE_SRC_IPC_CONTROL_SERVER_H_
