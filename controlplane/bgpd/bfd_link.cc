#include "controlplane/bgpd/bfd_link.h"

#include "src/common/logging.h"

namespace strobe::bgpd {

const char* BfdStateJsonName(bfd::State state) {
  switch (state) {
    case bfd::State::kAdminDown:
      return "admindown";
    case bfd::State::kDown:
      return "down";
    case bfd::State::kInit:
      return "init";
    case bfd::State::kUp:
      return "up";
  }
  return "down";
}

BfdLink::BfdLink(EventLoop* loop, std::string dataplane_socket, Callback callback)
    : loop_(loop), socket_(std::move(dataplane_socket)), callback_(std::move(callback)) {}

BfdLink::~BfdLink() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void BfdLink::Start() {
  if (thread_.joinable()) return;
  STROBE_LOG(kInfo, "bfd: attaching to strobe-dataplane at %s", socket_);
  thread_ = std::thread([this] { Run(); });
}

void BfdLink::Register(const ipc::BfdPeerRequest& request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    commands_.emplace_back(request);
  }
  Start();
}

void BfdLink::Unregister(const ipc::SessionKey& key) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    commands_.emplace_back(key);
  }
  Start();
}

std::string BfdLink::last_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

void BfdLink::Run() {
  ipc::BfdClient client(socket_, [this](const ipc::BfdPeerEvent& event) {
    loop_->Post([this, event] { callback_(event); });
  });
  while (!stop_.load(std::memory_order_relaxed)) {
    std::vector<Command> commands;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      commands.swap(commands_);
    }
    for (const Command& c : commands) {
      if (const auto* r = std::get_if<ipc::BfdPeerRequest>(&c)) {
        client.Register(*r);
      } else {
        client.Unregister(std::get<ipc::SessionKey>(c));
      }
    }
    // Commands wait at most this long; state events wake the client at once.
    client.Wait(10);
    attached_.store(client.attached(), std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mutex_);
    last_error_ = client.last_error();
  }
}

}  // namespace strobe::bgpd
