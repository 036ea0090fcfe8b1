#ifndef STROBE_SRC_IPC_FD_PASSING_H_
#define STROBE_SRC_IPC_FD_PASSING_H_

// File descriptors over a unix stream socket (SCM_RIGHTS), alongside one line of text.

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace strobe::ipc {

inline constexpr size_t kMaxPassedFds = 32;

// Sends `data` with `fds` attached to its first byte.
absl::Status SendWithFds(int socket, const std::string& data, const std::vector<int>& fds);

// Receives one '\n'-terminated line (without the newline) and every fd attached to it, waiting
// at most `timeout_ms`. The caller owns the received fds.
absl::Status ReceiveLineWithFds(int socket, std::string* line, std::vector<int>* fds,
                                int timeout_ms);

}  // namespace strobe::ipc

#endif  // STROBE_SRC_IPC_FD_PASSING_H_
