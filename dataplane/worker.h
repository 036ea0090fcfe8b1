#ifndef STROBE_DATAPLANE_WORKER_H_
#define STROBE_DATAPLANE_WORKER_H_

// A worker: one thread pinned to one core, owning a shard of the sessions, their sockets and one
// timing wheel. Nothing it owns is touched by another thread; other threads reach it only through
// its two SPSC queues (packets handed over by the receiving worker, and control tasks), each
// followed by a write to its eventfd.

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "dataplane/rx_packet.h"
#include "dataplane/session_directory.h"
#include "src/bfd/session.h"
#include "src/common/spsc_queue.h"
#include "src/config/config.h"
#include "src/timer/timing_wheel.h"

namespace strobe::dataplane {

// Everything a worker needs to create one session, computed before launch.
struct SessionSpec {
  config::BfdSessionConfig config;
  std::string profile_name;
  bfd::SessionParams params;
  uint32_t discriminator = 0;
};

struct WorkerCounters {
  uint64_t rx_packets = 0;  // datagrams read from the listeners or handed over
  uint64_t tx_packets = 0;
  uint64_t tx_errors = 0;
  uint64_t handed_off = 0;                                 // received here, owned by another worker
  uint64_t rx_dropped[STROBE_BFD_DROP_REASON_COUNT] = {};  // every drop, attributed or not
};

class Worker {
 public:
  Worker(int index, int core, const SessionDirectory* directory);
  ~Worker();

  // Before Start(): sessions and, for the receiving worker, the listening sockets (taken over).
  absl::Status AddSession(const SessionSpec& spec);
  void AdoptListener(int fd, bool multihop);
  // Every worker, so the receiving one can hand packets to their owners.
  void SetPeers(std::vector<Worker*> peers) { peers_ = std::move(peers); }

  absl::Status Start();
  // Sends one AdminDown packet per session (RFC 5880 section 6.8.16), then stops the thread.
  void Stop();

  // Runs `fn` on the worker's thread and waits for it. For the control thread only (the task
  // queue has a single producer).
  void RunOnWorker(std::function<void()> fn);

  // On the worker thread (inside RunOnWorker): JSON views for show commands.
  void AppendSessionsJson(nlohmann::json* out,
                          const std::function<bool(const nlohmann::json&)>& filter) const;
  nlohmann::json CountersJson() const;
  // Sets admin state of the sessions to `peer`; returns how many matched.
  int SetAdminDown(const net::IpAddress& peer, bool admin_down);

  int index() const { return index_; }
  int core() const { return core_; }

 private:
  struct Slot;

  void Run();
  void ProcessPacket(const RxPacket& packet);
  void DrainListener(int fd, bool multihop);
  void DrainQueues();
  void OnTimer(timer::TimerNode* node, int64_t now_ns);
  void Apply(Slot& slot, uint32_t actions, int64_t now_ns);
  void Transmit(Slot& slot, int64_t now_ns);
  void Drop(Slot* slot, strobe_bfd_drop_reason reason);
  Slot* FindByDiscriminator(uint32_t discriminator);
  bool InterfaceMatches(Slot& slot, int ifindex);
  void Wake();

  const int index_;
  const int core_;
  const SessionDirectory* directory_;
  std::vector<Worker*> peers_;
  std::vector<std::unique_ptr<Slot>> slots_;
  absl::flat_hash_map<uint32_t, Slot*> by_discriminator_;
  std::vector<std::pair<int, bool>> listeners_;  // fd, multihop
  std::unique_ptr<timer::TimingWheel> wheel_;
  SpscQueue<RxPacket> handoff_{4096};
  struct Task {
    std::function<void()> fn;
    std::promise<void> done;
  };
  SpscQueue<Task*> tasks_{64};
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  WorkerCounters counters_;
};

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_WORKER_H_
