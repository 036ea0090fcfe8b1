#ifndef STROBE_SRC_IPC_BFD_CLIENT_H_
#define STROBE_SRC_IPC_BFD_CLIENT_H_

// The BFD client API of the control plane (strobe-bgpd, or any program that wants BFD): register
// interest in a peer, which creates the session in strobe-dataplane with the given timers,
// receive its Up/Down with diagnostics, unregister.
//
// The client attaches to the dataplane over its control socket, receives the shared-memory region
// and its doorbells, and then talks only through the rings. It survives both sides restarting:
//  - restarted itself (even after kill -9), it re-attaches, reads the whole session table and
//    registers again, which adopts the running sessions without disturbing them;
//  - when the dataplane dies, the attach connection closes at once: every registered peer is
//    reported Down (source kDataplaneLost), and when a dataplane appears again the client
//    re-creates its sessions there.
// Single-threaded: call Wait() or Poll() from one thread.

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "src/bfd/auth.h"
#include "src/bfd/packet.h"
#include "src/ipc/session_key.h"
#include "src/ipc/shm_layout.h"
#include "src/ipc/shm_region.h"
#include "src/ipc/shm_ring.h"

namespace strobe::ipc {

struct BfdPeerRequest {
  SessionKey key;
  uint32_t desired_min_tx_us = 300'000;
  uint32_t required_min_rx_us = 300'000;
  uint8_t detect_mult = 3;
  bool passive = false;
  std::optional<bfd::AuthKey> auth;
};

struct BfdPeerEvent {
  enum class Source {
    kRing,           // an event record from the dataplane
    kTable,          // read from the session table (after attaching, or after an overflow)
    kDataplaneLost,  // the dataplane went away: treat the session as Down
  };
  SessionKey key;
  uint32_t session_id = 0;
  bfd::State old_state = bfd::State::kDown;
  bfd::State state = bfd::State::kDown;
  bfd::Diag local_diag = bfd::Diag::kNone;
  bfd::Diag remote_diag = bfd::Diag::kNone;
  int64_t changed_ns = 0;   // when the dataplane changed state (CLOCK_MONOTONIC)
  int64_t received_ns = 0;  // when this client learnt it
  int64_t detection_latency_ns = 0;
  uint64_t up_transitions = 0;  // counted by the dataplane: a flap between two reads shows here
  uint64_t down_transitions = 0;
  Source source = Source::kRing;
};

struct BfdClientStats {
  uint64_t events = 0;       // records read from the rings
  uint64_t overflows = 0;    // times the dirty bitmap had to be read
  uint64_t table_reads = 0;  // session table entries read
  uint64_t attaches = 0;
  uint64_t dataplane_losses = 0;
  uint64_t command_errors = 0;
};

class BfdClient {
 public:
  using Callback = std::function<void(const BfdPeerEvent&)>;

  BfdClient(std::string dataplane_socket, Callback callback);
  ~BfdClient();
  BfdClient(const BfdClient&) = delete;
  BfdClient& operator=(const BfdClient&) = delete;

  // Remembered across restarts of the dataplane; sent at once when attached. Registering a key
  // again with other timers or another key modifies the running session (timers through a Poll
  // Sequence) without re-creating it.
  void Register(const BfdPeerRequest& request);
  // Administratively disables (AdminDown, diag 7) or re-enables a registered session.
  void SetAdminDown(const SessionKey& key, bool admin_down);
  void Unregister(const SessionKey& key);

  // Does the pending work without blocking: attaches when detached (at most every 20 ms), reads
  // the rings, recovers from an overflow, notices a lost dataplane.
  void Poll();
  // Sleeps on the doorbell (and the attach connection) for at most `timeout_ms`, then Poll().
  void Wait(int timeout_ms);

  bool attached() const { return attach_fd_ >= 0; }
  uint64_t generation() const { return generation_; }
  // The last known state of a registered peer (kDown when unknown).
  bfd::State StateOf(const SessionKey& key) const;
  size_t registered() const { return peers_.size(); }
  const BfdClientStats& stats() const { return stats_; }
  // Why the last attach attempt failed (empty after a success).
  const std::string& last_error() const { return last_error_; }

 private:
  struct Peer {
    BfdPeerRequest request;
    uint32_t session_id = 0;
    bfd::State state = bfd::State::kDown;
    uint64_t up_transitions = 0;
    uint64_t down_transitions = 0;
    int64_t changed_ns = 0;  // the dataplane's time of the last state change we know of
    bool create_sent = false;
    bool admin_down = false;
  };

  absl::Status Attach();
  void Lost(const std::string& why);
  // False when the entry could not be read (it kept changing): the caller must retry.
  bool ReadTable(uint32_t worker, uint32_t index);
  void MarkDirty(uint32_t worker, uint32_t index);
  void RecoverOverflow(uint32_t worker);
  void HandleEvent(const EventRecord& e);
  void Report(Peer& peer, const SessionKey& key, bfd::State state, bfd::Diag local_diag,
              bfd::Diag remote_diag, int64_t changed_ns, int64_t latency_ns, uint64_t ups,
              uint64_t downs, BfdPeerEvent::Source source);
  void SendCreate(Peer& peer);
  void SendCommand(const SessionKey& key, const CommandRecord& command);
  void FlushCommands();

  const std::string socket_path_;
  Callback callback_;
  absl::flat_hash_map<SessionKey, Peer> peers_;
  int attach_fd_ = -1;
  int doorbell_fd_ = -1;
  int epoll_fd_ = -1;
  std::vector<int> worker_wake_fds_;
  ShmRegion region_;
  std::vector<ShmRingConsumer<EventRecord>> events_;
  std::vector<ShmRingProducer<CommandRecord>> commands_;
  std::vector<std::deque<CommandRecord>> backlog_;  // commands that did not fit yet
  uint64_t generation_ = 0;
  uint64_t next_request_id_ = 1;
  int64_t next_attach_ns_ = 0;
  std::string last_error_;
  BfdClientStats stats_;
};

}  // namespace strobe::ipc

#endif  // STROBE_SRC_IPC_BFD_CLIENT_H_
