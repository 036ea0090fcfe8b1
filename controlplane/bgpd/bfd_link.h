// strobe-bgpd's link to strobe-dataplane's BFD sessions: an ipc::BfdClient on a thread of its
// own (the client blocks on its doorbell), with registrations queued to it and state events
// posted back to the event loop. Started on the first registration, so the daemon runs without a
// dataplane when no neighbor uses BFD. A lost dataplane reports every session Down (the client's
// kDataplaneLost) and the client keeps trying to attach again.
#ifndef STROBE_CONTROLPLANE_BGPD_BFD_LINK_H_
#define STROBE_CONTROLPLANE_BGPD_BFD_LINK_H_

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "controlplane/bgpd/event_loop.h"
#include "src/ipc/bfd_client.h"

namespace strobe::bgpd {

class BfdLink {
 public:
  using Callback = std::function<void(const ipc::BfdPeerEvent& event)>;  // on the loop thread

  BfdLink(EventLoop* loop, std::string dataplane_socket, Callback callback);
  ~BfdLink();
  BfdLink(const BfdLink&) = delete;
  BfdLink& operator=(const BfdLink&) = delete;

  // Loop thread. Registering a key again updates its timers.
  void Register(const ipc::BfdPeerRequest& request);
  void Unregister(const ipc::SessionKey& key);

  bool started() const { return thread_.joinable(); }
  bool attached() const { return attached_.load(std::memory_order_relaxed); }
  std::string last_error() const;
  const std::string& socket() const { return socket_; }

 private:
  using Command = std::variant<ipc::BfdPeerRequest, ipc::SessionKey>;  // register / unregister
  void Start();
  void Run();

  EventLoop* loop_;
  const std::string socket_;
  Callback callback_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> attached_{false};
  mutable std::mutex mutex_;
  std::vector<Command> commands_;
  std::string last_error_;
};

// "down", "init", "up", "admindown": the `bfd` key of `show bgp neighbors --json`.
const char* BfdStateJsonName(bfd::State state);

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_BFD_LINK_H_
