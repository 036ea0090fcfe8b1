#include "controlplane/bgpd/control_bridge.h"

namespace strobe::bgpd {

ControlBridge::~ControlBridge() { Join(); }

absl::Status ControlBridge::Start(const std::string& path, int gid, const std::atomic<bool>& stop) {
  absl::Status s = server_.Listen(path, gid);
  if (!s.ok()) return s;
  thread_ = std::thread([this, &stop] {
    server_.Serve(
        [this](const std::string& command,
               const nlohmann::json& args) -> absl::StatusOr<nlohmann::json> {
          absl::StatusOr<nlohmann::json> result = absl::InternalError("not run");
          loop_->RunSync([&] { result = speaker_->HandleCommand(command, args); });
          return result;
        },
        stop);
    finished_.store(true);
    loop_->Wake();
  });
  return absl::OkStatus();
}

void ControlBridge::Join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace strobe::bgpd
