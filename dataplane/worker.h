#ifndef STROBE_DATAPLANE_WORKER_H_
#define STROBE_DATAPLANE_WORKER_H_

// A worker: one thread pinned to one core, owning a shard of the sessions, their sockets and one
// timing wheel. Nothing it owns is touched by another thread. Other threads of this process reach
// it through two in-process SPSC queues (packets handed over by the receiving worker, control
// tasks); the control-plane process reaches it through its pair of shared-memory rings (commands
// down, events up) and the shared session table, all in its ipc::WorkerArea.

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "dataplane/af_xdp_tx.h"
#include "dataplane/frame_tx.h"
#include "dataplane/neighbor_watch.h"
#include "dataplane/rx_packet.h"
#include "dataplane/socket_io.h"
#include "dataplane/xdp_fastpath.h"
#include "src/bfd/session.h"
#include "src/common/spsc_queue.h"
#include "src/ipc/session_key.h"
#include "src/ipc/shm_layout.h"
#include "src/ipc/shm_ring.h"
#include "src/metrics/histogram.h"
#include "src/metrics/interval_histogram.h"
#include "src/timer/timing_wheel.h"

namespace strobe::dataplane {

class DpdkQueue;

// The discriminator ([worker:4][slot:14][random:14], xdp/strobe_xdp.h) names the owning worker,
// so a packet with a non-zero Your Discriminator goes straight to its owner. Packets with Your
// Discriminator 0 find their owner by ipc::OwnerWorker(key).
inline constexpr int kMaxWorkers = STROBE_XDP_MAX_WORKERS;
static_assert(kMaxWorkers == ipc::kMaxRegionWorkers);
static_assert(STROBE_XDP_SLOTS_PER_WORKER == ipc::kMaxSessionsPerWorker);
inline constexpr int WorkerOfDiscriminator(uint32_t discriminator) {
  return static_cast<int>(discriminator >> STROBE_XDP_WORKER_SHIFT);
}

// Everything needed to create one session.
struct SessionSpec {
  ipc::SessionKey key;
  std::string profile_name;
  bfd::SessionParams params;
  bool configured = false;  // from the configuration file (a client cannot delete it)
};

// One session copied on its worker's thread (a memcpy-sized pause), turned into JSON on the
// control thread: a `show` of 10,000 sessions must not hold the worker off its timers.
struct SessionSnapshot {
  SessionSpec spec;
  bfd::Session session;
  uint16_t source_port = 0;
  int64_t last_detection_latency_ns = 0;
  uint64_t tx_errors = 0;
  bool tx_af_xdp = false;  // the last packet left from the prebuilt frame (AF_XDP or DPDK)
  const char* tx_frame_path = "socket";  // "af_xdp" or "dpdk" when tx_af_xdp
  uint64_t rx_steady = 0;                // dpdk: steady-state packets that only stamped the session
  uint64_t rx_absorbed_in_kernel = 0;
  uint64_t rx_dropped_in_kernel = 0;
  int worker = 0;
};
// The `show bfd sessions` object of a snapshot (docs/architecture.md lists the stable keys).
nlohmann::json SessionJson(const SessionSnapshot& snapshot, int64_t now_ns);

struct WorkerCounters {
  uint64_t rx_packets = 0;  // datagrams read from the listeners or handed over
  uint64_t tx_packets = 0;
  uint64_t tx_errors = 0;
  uint64_t tx_af_xdp = 0;       // of tx_packets: sent from a prebuilt frame over AF_XDP
  uint64_t tx_af_xdp_full = 0;  // AF_XDP ring full even after a flush: sent by socket instead
  uint64_t tx_dpdk = 0;         // of tx_packets: sent from a prebuilt frame on a DPDK queue
  uint64_t rx_steady = 0;       // dpdk: steady-state packets that only stamped their session
  // dpdk: detection timers that found the session's packets still waiting in the queues.
  uint64_t detection_catch_ups = 0;
  uint64_t tx_frame_errors = 0;  // a frame template could not be built or patched
  uint64_t handed_off = 0;       // received here, owned by another worker
  uint64_t rx_dropped[STROBE_BFD_DROP_REASON_COUNT] = {};  // every drop, attributed or not
  uint64_t events_published = 0;
  uint64_t events_overflowed = 0;  // did not fit in the events ring: marked dirty instead
  uint64_t commands = 0;
  // How late timers fire (now - deadline when the wheel hands them out): a worker that cannot
  // keep up shows it here before any session flaps.
  int64_t timer_late_max_ns = 0;
  uint64_t timers_late_1ms = 0;  // fired more than 1 ms after their deadline
  // How late each transmission left, in microseconds after its (jittered) scheduled time: the
  // precision of the TX timers.
  metrics::IntervalHistogram tx_lateness;
  // Where a late timer's time went: the longest stretch of each phase of the loop, and how
  // often one took over 1 ms. kSleepOverrun: woken later than asked (preempted, or the vCPU
  // descheduled), the rest is the worker's own work.
  enum LoopPhase { kReceive, kTimers, kShared, kEvents, kSleepOverrun, kLoopPhases };
  int64_t loop_max_ns[kLoopPhases] = {};
  uint64_t loop_over_1ms[kLoopPhases] = {};
  // Down by detection timeout: time from the session's last packet (the worker's own thread
  // records and reads it, so no lock).
  metrics::LatencyHistogram detection_latency;
  // Gaps between consecutive packets of Up sessions that reached this worker (without the XDP
  // fast path: every packet; with it, the XDP program measures the packets it absorbs).
  metrics::IntervalHistogram rx_interval;
};

// What a configuration reload did (Worker::ReconcileConfigured); sessions as
// {peer, local, interface, multihop}.
struct ReloadResult {
  std::vector<nlohmann::json> added;
  std::vector<nlohmann::json> changed;
  std::vector<nlohmann::json> removed;
  size_t unchanged = 0;
  std::vector<std::string> errors;
};

class Worker {
 public:
  // realtime_priority > 0 runs the thread SCHED_FIFO at that priority (1-99).
  Worker(int index, int core, int worker_count, int realtime_priority = 0);
  ~Worker();

  // Before Start(): the shared-memory area and the doorbell to ring when the consumer sleeps,
  // and for the receiving worker the listening sockets (taken over).
  void AttachShm(ipc::WorkerArea* area, int events_doorbell_fd);
  void AdoptListener(int fd, bool multihop);
  // The `xdp` backend: every worker keeps its sessions' entries in the program's array; the
  // receiving worker also drains the ring buffer of interesting packets.
  void AttachXdp(XdpFastPath* fast_path) { xdp_ = fast_path; }
  // AF_XDP transmission on interface `ifindex` (this worker's own socket and queue). Before
  // Start(). Sessions on other interfaces, multihop sessions and sessions not Up transmit through
  // their kernel UDP socket.
  void AddAfXdpTx(int ifindex, std::unique_ptr<AfXdpTx> tx);
  // The `dpdk` backend: this worker's queue pair on one port (owned by the Dataplane, which
  // outlives the thread). Before Start(). The worker polls it, and Up single-hop sessions on its
  // interface transmit their prebuilt frames on it; after `idle_sleep_ns` without a packet the
  // worker sleeps at most that long (0: it never sleeps).
  void AddDpdkQueue(DpdkQueue* queue, int64_t idle_sleep_ns);
  // On the worker thread (or before Start()): neighbour and link MAC changes from the control
  // thread's NeighborWatch.
  void ApplyNeighborUpdates(const std::vector<NeighborUpdate>& updates);
  // Every worker, so the receiving one can hand packets to their owners.
  void SetPeers(std::vector<Worker*> peers) { peers_ = std::move(peers); }

  // Creates a session; before Start() from any thread, afterwards on the worker thread only.
  // Returns its discriminator.
  absl::StatusOr<uint32_t> CreateSession(const SessionSpec& spec);

  absl::Status Start();
  // Sends one AdminDown packet per session (RFC 5880 section 6.8.16), then stops the thread.
  void Stop();

  // Runs `fn` on the worker's thread and waits for it. For the control thread only (the task
  // queue has a single producer).
  void RunOnWorker(std::function<void()> fn);

  // On the worker thread (inside RunOnWorker): copies at most `max` sessions, starting at slot
  // index `from`, into `out`; returns the slot index to continue from (slot count when done).
  size_t SnapshotSessions(size_t from, size_t max, std::vector<SessionSnapshot>* out) const;
  size_t slot_count() const { return slots_.size(); }
  // On the worker thread: the counters view.
  nlohmann::json CountersJson() const;
  // On the worker thread: its DPDK queues' counters (an empty array without them).
  nlohmann::json DpdkQueuesJson() const;
  // Sets the admin state of the sessions to `peer`; returns how many matched.
  int SetAdminDown(const net::IpAddress& peer, bool admin_down);
  // On the worker thread: stops (or resumes) transmission for the session `key` without telling
  // the peer anything, as a dead peer would: the load generator measures the peer's detection
  // time this way. Returns when the session last transmitted (0: never), or NotFound.
  absl::StatusOr<int64_t> SetTxSilenced(const ipc::SessionKey& key, bool silenced);
  // On the worker thread: makes this worker's configured sessions those of `wanted` (its share
  // of a reloaded file). Unchanged sessions are not touched; changed timers go through a Poll
  // Sequence; removed sessions are sent AdminDown first. Sessions a client created stay.
  void ReconcileConfigured(const std::vector<SessionSpec>& wanted, ReloadResult* result);
  // On the worker thread: adds this worker's received-interval histogram to `into`.
  void AddRxIntervals(metrics::IntervalHistogram* into) const {
    into->Merge(counters_.rx_interval);
  }
  void ResetRxIntervals() { counters_.rx_interval.Reset(); }

  int index() const { return index_; }
  int core() const { return core_; }
  // The eventfd that wakes this worker (the control plane rings it after publishing commands).
  int wake_fd() const { return wake_fd_; }

 private:
  struct Slot;

  void Run();
  void ProcessPacket(const RxPacket& packet);
  void DrainListener(int fd, bool multihop);
  void DrainQueues();
  bool DrainHandoff();  // true when it processed a packet
  void NoteLoopPhase(int phase, int64_t start_ns, int64_t end_ns);
  void OnTimer(timer::TimerNode* node, int64_t now_ns);
  void Apply(Slot& slot, uint32_t actions, int64_t now_ns);
  void Transmit(Slot& slot, int64_t now_ns);
  // AF_XDP transmission (worker_tx.cc).
  bool TransmitAfXdp(Slot& slot, std::span<const uint8_t> payload);
  bool BuildFrame(Slot& slot, std::span<const uint8_t> payload);
  void FlushAfXdp();
  void Drop(Slot* slot, strobe_bfd_drop_reason reason);
  Slot* FindByDiscriminator(uint32_t discriminator);
  bool InterfaceMatches(Slot& slot, int ifindex);
  const std::string& InterfaceName(int ifindex);
  uint32_t NewDiscriminator(uint32_t slot_index);
  void DeleteSlot(Slot& slot);
  void Wake();

  // Shared memory (worker_ipc.cc).
  void ProcessCommands();
  void ExecuteCommand(const ipc::CommandRecord& command);
  void WriteTable(const Slot& slot);
  void ClearTable(uint32_t index);
  // `table_index` is the session whose table entry tells the story if the ring is full (-1: none).
  void Emit(const ipc::EventRecord& event, int64_t table_index);
  ipc::EventRecord EventFor(const Slot& slot, ipc::EventType type) const;
  void RefreshCounters(int64_t now_ns);

  // The XDP fast path (worker_xdp.cc); no-ops without one.
  strobe_xdp_session* XdpEntry(const Slot& slot) const;
  void XdpPublish(const Slot& slot);
  void XdpClear(const Slot& slot);
  // `rx_ns`: when `wire` arrived (the kernel's next interval is measured from it).
  void XdpLearn(const Slot& slot, std::span<const uint8_t> wire, int64_t rx_ns);
  void XdpForget(const Slot& slot);
  void XdpRefreshRx(Slot& slot);
  void XdpDrainRing();

  // The dpdk backend (worker_dpdk.cc): one RX burst from every queue; true when any frame came.
  bool PollDpdk();
  // Polls every queue and the handover queues until empty (bounded): before a detection timer
  // declares a session Down.
  void CatchUpReception();
  // The worker thread as an EAL lcore (rte_thread_register), so its mempool has a per-lcore
  // cache; and back.
  void DpdkThreadStart();
  void DpdkThreadStop();
  // A frame received on a DPDK queue: false when it is not BFD.
  bool ReceiveFrame(std::span<const uint8_t> frame, int ifindex, int64_t rx_ns);
  // The user-space twin of the XDP steady-state rule (xdp/strobe_xdp.h): a packet equal to the
  // last one the FSM accepted while Up only stamps the session. True when `packet` was absorbed.
  bool AbsorbSteady(Slot& slot, const RxPacket& packet);
  void SteadyLearn(Slot& slot, std::span<const uint8_t> wire);

  const int index_;
  const int core_;
  const int worker_count_;
  const int realtime_priority_;
  std::vector<Worker*> peers_;
  std::vector<std::unique_ptr<Slot>> slots_;  // index = session table entry
  std::vector<uint32_t> free_slots_;
  absl::flat_hash_map<uint32_t, Slot*> by_discriminator_;
  absl::flat_hash_map<ipc::SessionKey, Slot*> by_key_;
  absl::flat_hash_map<int, std::string> ifnames_;  // ifindex -> name cache
  std::vector<std::pair<int, bool>> listeners_;    // fd, multihop
  std::unique_ptr<ReceiveBuffers> rx_buffers_;     // listeners' recvmmsg areas, made on first use
  RxPacket rx_batch_[kReceiveBatch];
  std::unique_ptr<timer::TimingWheel> wheel_;
  uint64_t rng_;
  // Packets handed over by each worker (index: the sender), one single-producer queue per
  // sender: with the dpdk backend every worker receives and may hand over.
  std::vector<std::unique_ptr<SpscQueue<RxPacket>>> handoff_;
  struct Task {
    std::function<void()> fn;
    std::promise<void> done;
  };
  SpscQueue<Task*> tasks_{64};
  XdpFastPath* xdp_ = nullptr;
  // Prebuilt-frame transmission by ifindex: this worker's AF_XDP sockets (owned here) or DPDK
  // queues (owned by their port).
  absl::flat_hash_map<int, FrameTx*> frame_tx_;
  std::vector<std::unique_ptr<AfXdpTx>> af_xdp_;
  std::vector<FrameTx*> frame_tx_dirty_;  // queued since the last flush
  std::vector<DpdkQueue*> dpdk_queues_;
  int64_t dpdk_idle_sleep_ns_ = 0;
  int64_t last_exception_poll_ns_ = 0;
  absl::flat_hash_map<std::pair<int, net::IpAddress>, MacAddress> neighbors_;
  absl::flat_hash_map<int, MacAddress> link_macs_;
  ipc::WorkerArea* area_ = nullptr;
  ipc::ShmRingProducer<ipc::EventRecord> events_;
  ipc::ShmRingConsumer<ipc::CommandRecord> commands_;
  int64_t counters_epoch_start_ns_ = 0;
  size_t counters_cursor_ = 0;  // next session table entry the epoch refreshes
  int64_t run_started_ns_ = 0;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  WorkerCounters counters_;
};

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_WORKER_H_
