// The control socket of strobe-bgpd: ipc::ControlServer serving on its own thread, each command
// run on the event loop thread (where the speaker lives) and answered from there.
#ifndef STROBE_CONTROLPLANE_BGPD_CONTROL_BRIDGE_H_
#define STROBE_CONTROLPLANE_BGPD_CONTROL_BRIDGE_H_

#include <atomic>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "controlplane/bgpd/event_loop.h"
#include "controlplane/bgpd/speaker.h"
#include "src/ipc/control_server.h"

namespace strobe::bgpd {

class ControlBridge {
 public:
  ControlBridge(EventLoop* loop, Speaker* speaker) : loop_(loop), speaker_(speaker) {}
  ~ControlBridge();

  // Listens on `path` (fails when another daemon serves it) and starts the serving thread, which
  // runs until `stop` is true.
  absl::Status Start(const std::string& path, int gid, const std::atomic<bool>& stop);
  // True once the serving thread has returned (after `stop`).
  bool finished() const { return finished_.load(); }
  void Join();

 private:
  EventLoop* loop_;
  Speaker* speaker_;
  ipc::ControlServer server_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_CONTROL_BRIDGE_H_
