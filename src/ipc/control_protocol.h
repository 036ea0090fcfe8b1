#ifndef STROBE_SRC_IPC_CONTROL_PROTOCOL_H_
#define STROBE_SRC_IPC_CONTROL_PROTOCOL_H_

// The control socket protocol between strobectl and the daemons: a unix stream socket carrying
// one JSON request per line ({"command": "show bfd sessions", "args": {...}}) and one JSON reply
// per line ({"ok": true, "result": ...} or {"ok": false, "error": "..."}).

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"

namespace strobe::ipc {

// Sends `request` to the daemon listening on `socket_path` and returns its "result".
// A daemon-side error comes back as a failed status with the daemon's message.
absl::StatusOr<nlohmann::json> CallControl(const std::string& socket_path,
                                           const nlohmann::json& request, int timeout_ms = 5000);

// Reads one '\n'-terminated line from `fd` into `line` (without the newline), waiting at most
// `timeout_ms`. Lines longer than `max_len` are an error.
absl::Status ReadLine(int fd, std::string* line, int timeout_ms, size_t max_len = 1 << 20);
absl::Status WriteAll(int fd, const std::string& data);

}  // namespace strobe::ipc

#endif  // STROBE_SRC_IPC_CONTROL_PROTOCOL_H_
