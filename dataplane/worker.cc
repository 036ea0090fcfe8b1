#include "dataplane/worker.h"

#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "dataplane/socket_io.h"
#include "dataplane/worker_slot.h"
#include "src/common/clock.h"
#include "src/common/logging.h"

namespace strobe::dataplane {

namespace {

constexpr uint64_t kTxTimer = 0;
constexpr uint64_t kDetectTimer = 1;
constexpr int64_t kMaxSleepNs = 100 * kNsPerMs;  // wake at least this often to check stop_
// The worker's tick: when the next deadline is nearer than this, the worker still sleeps this
// long, so every timer due within it fires in one batch (and its frames leave in one AF_XDP
// flush). Without it, thousands of sessions at 10 ms put the thread to sleep for a few
// microseconds at a time, and the sleeps and wake-ups cost more than the packets. A transmission
// is at most this late; a detection at most this much later than its deadline.
constexpr int64_t kTickNs = 50 * 1000;
constexpr uint64_t kWakeCookie = ~uint64_t{0};
constexpr uint64_t kRingCookie = ~uint64_t{1};

}  // namespace

Worker::Worker(int index, int core, int worker_count, int realtime_priority)
    : index_(index),
      core_(core),
      worker_count_(worker_count),
      realtime_priority_(realtime_priority) {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) seed = MonotonicNowNs();
  rng_ = seed ^ static_cast<uint64_t>(index);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  for (int i = 0; i < worker_count; ++i) {
    handoff_.push_back(std::make_unique<SpscQueue<RxPacket>>(i == index ? 1 : 4096));
  }
}

Worker::~Worker() {
  Stop();
  for (auto& slot : slots_) {
    if (slot && slot->tx_fd >= 0) close(slot->tx_fd);
  }
  for (auto& [fd, multihop] : listeners_) close(fd);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

// [worker:4][slot:14][random:14] (xdp/strobe_xdp.h): the owner and the array index come straight
// from the value; the random part keeps it unpredictable (RFC 5880 section 6.8.1) and changes
// when a slot is reused.
uint32_t Worker::NewDiscriminator(uint32_t slot_index) {
  while (true) {
    uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    const uint32_t random = static_cast<uint32_t>(z ^ (z >> 31)) & STROBE_XDP_RANDOM_MASK;
    const uint32_t discriminator = static_cast<uint32_t>(index_) << STROBE_XDP_WORKER_SHIFT |
                                   slot_index << STROBE_XDP_SLOT_SHIFT | random;
    if (random != 0 && !by_discriminator_.contains(discriminator)) return discriminator;
  }
}

absl::StatusOr<uint32_t> Worker::CreateSession(const SessionSpec& spec) {
  if (!wheel_) wheel_ = std::make_unique<timer::TimingWheel>(MonotonicNowNs());
  if (by_key_.contains(spec.key)) {
    return absl::AlreadyExistsError(absl::StrCat("a session to ", spec.key.peer.ToString(),
                                                 " from ", spec.key.local.ToString(),
                                                 " already exists"));
  }
  uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
  } else if (slots_.size() < ipc::kMaxSessionsPerWorker) {
    index = static_cast<uint32_t>(slots_.size());
  } else {
    return absl::ResourceExhaustedError(absl::StrCat("worker ", index_, " holds its maximum of ",
                                                     ipc::kMaxSessionsPerWorker, " sessions"));
  }
  const uint32_t discriminator = NewDiscriminator(index);
  auto slot = std::make_unique<Slot>(spec, index, discriminator, MonotonicNowNs());
  // Source ports: spread the search start by discriminator so workers rarely collide.
  slot->source_port = static_cast<uint16_t>(49152 + (discriminator & 0x3fff));
  absl::StatusOr<int> fd =
      OpenTransmitter(spec.key.local, spec.key.peer, spec.key.interface, spec.key.multihop,
                      &slot->source_port, &slot->tx_connected);
  if (!fd.ok()) {
    return absl::Status(fd.status().code(), absl::StrCat("session to ", spec.key.peer.ToString(),
                                                         ": ", std::string(fd.status().message())));
  }
  slot->tx_fd = *fd;
  if (!spec.key.multihop) {
    slot->ifindex = static_cast<int>(if_nametoindex(spec.key.interface.c_str()));
  }
  slot->tx_timer.cookie = uint64_t{index} << 1 | kTxTimer;
  slot->detect_timer.cookie = uint64_t{index} << 1 | kDetectTimer;
  Slot& s = *slot;
  if (index == slots_.size()) {
    slots_.push_back(std::move(slot));
  } else {
    free_slots_.pop_back();
    slots_[index] = std::move(slot);
  }
  by_discriminator_[discriminator] = &s;
  by_key_[spec.key] = &s;
  WriteTable(s);
  XdpPublish(s);
  Apply(s, bfd::kActionRearmTx | bfd::kActionRearmDetect, MonotonicNowNs());
  return discriminator;
}

void Worker::DeleteSlot(Slot& slot) {
  XdpClear(slot);
  wheel_->Cancel(&slot.tx_timer);
  wheel_->Cancel(&slot.detect_timer);
  if (slot.tx_fd >= 0) close(slot.tx_fd);
  by_discriminator_.erase(slot.session.local_discriminator());
  by_key_.erase(slot.spec.key);
  const uint32_t index = slot.index;
  ClearTable(index);
  slots_[index].reset();
  free_slots_.push_back(index);
}

void Worker::AdoptListener(int fd, bool multihop) { listeners_.emplace_back(fd, multihop); }

absl::Status Worker::Start() {
  if (!wheel_) wheel_ = std::make_unique<timer::TimingWheel>(MonotonicNowNs());
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) return absl::InternalError("epoll/eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeCookie;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  for (size_t i = 0; i < listeners_.size(); ++i) {
    ev.data.u64 = i;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listeners_[i].first, &ev);
  }
  if (xdp_ != nullptr) {  // every worker drains its own ring of interesting packets
    ev.data.u64 = kRingCookie;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, xdp_->ring_fd(index_), &ev);
  }
  std::promise<absl::Status> pinned;
  std::future<absl::Status> pinned_result = pinned.get_future();
  thread_ = std::thread([this, &pinned] {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core_, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
      pinned.set_value(absl::FailedPreconditionError(
          absl::StrCat("cannot pin worker ", index_, " to core ", core_,
                       " (does the core exist and is it in this process's cpuset?)")));
      return;
    }
    if (realtime_priority_ > 0) {
      // A worker sleeps between ticks, so SCHED_FIFO costs other threads little, but when it
      // wakes nothing else on its core delays it (the kernel's RT throttling still keeps 5 %).
      sched_param param{};
      param.sched_priority = realtime_priority_;
      if (const int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param); e != 0) {
        pinned.set_value(absl::FailedPreconditionError(absl::StrCat(
            "cannot run worker ", index_, " SCHED_FIFO at priority ", realtime_priority_, ": ",
            std::strerror(e), " (needs CAP_SYS_NICE and an RT budget in this cgroup)")));
        return;
      }
    }
    // Timer slack decides how late epoll wakes us; BFD wants microseconds, not 50 us.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    pthread_setname_np(pthread_self(), absl::StrCat("strobe-w", index_).c_str());
    pinned.set_value(absl::OkStatus());
    Run();
  });
  absl::Status status = pinned_result.get();
  if (!status.ok()) thread_.join();
  return status;
}

void Worker::Stop() {
  if (!thread_.joinable()) return;
  RunOnWorker([this] {
    const int64_t now = MonotonicNowNs();
    for (auto& slot : slots_) {
      if (!slot) continue;
      Apply(*slot, slot->session.SetAdminDown(true, now), now);
      Transmit(*slot, now);
    }
    FlushAfXdp();
    if (events_.attached()) events_.Publish();
  });
  stop_.store(true, std::memory_order_release);
  Wake();
  thread_.join();
}

void Worker::Wake() {
  const uint64_t one = 1;
  ssize_t unused = write(wake_fd_, &one, sizeof(one));
  (void)unused;
}

void Worker::RunOnWorker(std::function<void()> fn) {
  if (!thread_.joinable()) {
    fn();
    return;
  }
  Task task{std::move(fn), {}};
  std::future<void> done = task.done.get_future();
  while (!tasks_.TryPush(&task)) std::this_thread::yield();
  Wake();
  done.wait();
}

void Worker::NoteLoopPhase(int phase, int64_t start_ns, int64_t end_ns) {
  const int64_t took = end_ns - start_ns;
  if (took > counters_.loop_max_ns[phase]) counters_.loop_max_ns[phase] = took;
  if (took > kNsPerMs) ++counters_.loop_over_1ms[phase];
}

void Worker::Run() {
  if (!dpdk_queues_.empty()) DpdkThreadStart();
  run_started_ns_ = MonotonicNowNs();
  epoll_event events[16];
  while (!stop_.load(std::memory_order_acquire)) {
    const int64_t round_start = MonotonicNowNs();
    // The dpdk backend: one burst from each queue first (its frames were waiting), then what
    // the other workers handed over.
    bool received = false;
    if (!dpdk_queues_.empty()) {
      received = PollDpdk();
      received = DrainHandoff() || received;
    }
    int64_t now = MonotonicNowNs();
    NoteLoopPhase(WorkerCounters::kReceive, round_start, now);
    wheel_->Advance(now, [this, now](timer::TimerNode* node) { OnTimer(node, now); });
    FlushAfXdp();  // one kick per socket for every frame of this tick
    const int64_t timers_done = MonotonicNowNs();
    NoteLoopPhase(WorkerCounters::kTimers, now, timers_done);
    if (area_ != nullptr) {
      ProcessCommands();
      RefreshCounters(now);
      // One release store for every event of this iteration (batched publication).
      events_.Publish();
    }
    const int64_t next = wheel_->NextDeadlineNs();
    now = MonotonicNowNs();
    NoteLoopPhase(WorkerCounters::kShared, timers_done, now);
    int64_t sleep_ns = next == timer::TimingWheel::kNever ? kMaxSleepNs : next - now;
    // Overdue (the batch took longer than the gap): no sleep. Due soon: one tick.
    if (sleep_ns > 0) sleep_ns = std::max(sleep_ns, kTickNs);
    sleep_ns = std::clamp<int64_t>(sleep_ns, 0, kMaxSleepNs);
    if (!dpdk_queues_.empty()) {
      // Polling: no sleep while frames arrive; after an empty round, at most the idle sleep
      // (the queues have no interrupt to wake us).
      sleep_ns = received ? 0 : std::min(sleep_ns, dpdk_idle_sleep_ns_);
    }
    timespec timeout{static_cast<time_t>(sleep_ns / kNsPerSec),
                     static_cast<long>(sleep_ns % kNsPerSec)};
    // Tell the control plane to ring our eventfd for new commands while we sleep.
    if (area_ != nullptr && !commands_.PrepareToSleep()) timeout = {0, 0};
    const int64_t sleep_start = MonotonicNowNs();
    const int n = epoll_pwait2(epoll_fd_, events, 16, &timeout, nullptr);
    const int64_t woke = MonotonicNowNs();
    if (n == 0) {  // timed out: anything beyond the timeout is the scheduler's
      NoteLoopPhase(WorkerCounters::kSleepOverrun,
                    sleep_start + timeout.tv_sec * kNsPerSec + timeout.tv_nsec, woke);
    }
    if (area_ != nullptr) commands_.Awake();
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kRingCookie) {
        XdpDrainRing();
      } else if (events[i].data.u64 == kWakeCookie) {
        uint64_t value;
        ssize_t unused = read(wake_fd_, &value, sizeof(value));
        (void)unused;
        DrainQueues();
      } else {
        const auto& [fd, multihop] = listeners_[events[i].data.u64];
        DrainListener(fd, multihop);
      }
    }
    if (n > 0) NoteLoopPhase(WorkerCounters::kEvents, woke, MonotonicNowNs());
  }
  if (!dpdk_queues_.empty()) DpdkThreadStop();
}

bool Worker::DrainHandoff() {
  RxPacket packet;
  bool any = false;
  for (auto& queue : handoff_) {
    while (queue->TryPop(&packet)) {
      ProcessPacket(packet);
      any = true;
    }
  }
  return any;
}

void Worker::DrainQueues() {
  DrainHandoff();
  Task* task;
  while (tasks_.TryPop(&task)) {
    task->fn();
    task->done.set_value();
  }
}

void Worker::DrainListener(int fd, bool multihop) {
  if (rx_buffers_ == nullptr) rx_buffers_ = MakeReceiveBuffers();
  // Bounded (8 batches, 256 datagrams), so timers are never starved by a flood.
  for (int batch = 0; batch < 8; ++batch) {
    const int n = ReceiveBatch(fd, multihop, MonotonicNowNs(), rx_buffers_.get(), rx_batch_);
    for (int i = 0; i < n; ++i) ProcessPacket(rx_batch_[i]);
    if (n < kReceiveBatch) return;
  }
}

void Worker::Drop(Slot* slot, strobe_bfd_drop_reason reason) {
  ++counters_.rx_dropped[reason];
  if (slot != nullptr) slot->session.CountDrop(reason);
}

Worker::Slot* Worker::FindByDiscriminator(uint32_t discriminator) {
  auto it = by_discriminator_.find(discriminator);
  return it == by_discriminator_.end() ? nullptr : it->second;
}

const std::string& Worker::InterfaceName(int ifindex) {
  auto it = ifnames_.find(ifindex);
  if (it != ifnames_.end()) return it->second;
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(static_cast<unsigned>(ifindex), name) == nullptr) name[0] = '\0';
  if (ifnames_.size() > 4096) ifnames_.clear();  // bounded, whatever arrives
  return ifnames_[ifindex] = name;
}

bool Worker::InterfaceMatches(Slot& slot, int ifindex) {
  if (slot.spec.key.multihop) return true;
  if (ifindex == slot.ifindex && ifindex != 0) return true;
  // The interface may have been re-created since we resolved it: look again, once.
  const int now_index = static_cast<int>(if_nametoindex(slot.spec.key.interface.c_str()));
  ifnames_.erase(ifindex);  // the name cache may be stale too
  if (slot.ifindex != now_index) slot.frame.reset();
  slot.ifindex = now_index;
  return now_index != 0 && now_index == ifindex;
}

void Worker::ProcessPacket(const RxPacket& packet) {
  const uint8_t* data = packet.data;
  // Section 6.8.6: the stateless checks first (shared with the XDP and DPDK paths).
  const strobe_bfd_drop_reason header = strobe_bfd_check_header(
      data, packet.length, static_cast<unsigned>(packet.ttl), !packet.multihop);
  const uint32_t your = packet.length >= STROBE_BFD_MANDATORY_LEN
                            ? strobe_bfd_read_be32(data + STROBE_BFD_OFF_YOUR_DISCR)
                            : 0;
  Slot* slot = nullptr;
  int owner = index_;
  if (your != 0) {
    owner = WorkerOfDiscriminator(your);
    // The steady state costs one lookup and one compare (the dpdk backend).
    if (!dpdk_queues_.empty() && owner == index_ && header == STROBE_BFD_OK) {
      slot = FindByDiscriminator(your);
      if (slot != nullptr && slot->steady_ok && AbsorbSteady(*slot, packet)) return;
    }
  } else {
    // Bootstrap (RFC 5880 section 6.8.6): the session is found by addresses and interface.
    ipc::SessionKey key{packet.source, packet.destination,
                        packet.multihop ? std::string() : InterfaceName(packet.ifindex),
                        packet.multihop};
    owner = ipc::OwnerWorker(key, worker_count_);
    if (owner == index_) {
      auto it = by_key_.find(key);
      if (it != by_key_.end()) slot = it->second;
    }
  }
  if (owner != index_ && owner < static_cast<int>(peers_.size())) {
    ++counters_.handed_off;
    Worker* to = peers_[owner];
    if (to->handoff_[static_cast<size_t>(index_)]->TryPush(packet)) {
      // A polling worker (dpdk) drains its queue every round: no system call per packet.
      if (to->dpdk_queues_.empty()) to->Wake();
    } else {
      ++counters_.rx_dropped[STROBE_BFD_DROP_NO_SESSION];
    }
    return;
  }
  ++counters_.rx_packets;
  if (your != 0) slot = FindByDiscriminator(your);
  // A packet that fails the header checks is still charged to the session it claims, if any,
  // so `show bfd session` tells which peer sends garbage.
  if (header != STROBE_BFD_OK) return Drop(slot, header);
  if (slot == nullptr) return Drop(nullptr, STROBE_BFD_DROP_NO_SESSION);
  // A single-hop session's packet on the multihop port would skip the TTL 255 check.
  if (packet.multihop != slot->spec.key.multihop || packet.source != slot->spec.key.peer ||
      (!packet.destination.empty() && packet.destination != slot->spec.key.local) ||
      !InterfaceMatches(*slot, packet.ifindex)) {
    return Drop(slot, STROBE_BFD_DROP_WRONG_SOURCE);
  }
  bfd::ControlPacket decoded;
  const std::span<const uint8_t> wire(data, data[STROBE_BFD_OFF_LENGTH]);
  if (strobe_bfd_drop_reason r = bfd::Decode(wire, &decoded); r != STROBE_BFD_OK)
    return Drop(slot, r);
  uint32_t actions = 0;
  const int64_t previous_rx_ns = slot->session.last_rx_ns();
  const bool was_up = slot->session.state() == bfd::State::kUp;
  const strobe_bfd_drop_reason verdict =
      slot->session.OnReceive(decoded, wire, packet.rx_ns, &actions);
  if (verdict != STROBE_BFD_OK) {
    ++counters_.rx_dropped[verdict];  // the session counted it
  } else {
    // The peer's periodic transmissions only: both ends Up, no Poll Sequence reply. With the
    // XDP fast path the kernel measures (it sees the packets this worker never does).
    if (was_up && decoded.state == bfd::State::kUp && !decoded.poll && !decoded.final &&
        previous_rx_ns > 0 && packet.rx_ns > previous_rx_ns && XdpEntry(*slot) == nullptr) {
      counters_.rx_interval.ObserveUs(static_cast<uint64_t>(packet.rx_ns - previous_rx_ns) / 1000);
    }
    XdpLearn(*slot, wire, packet.rx_ns);
    if (!dpdk_queues_.empty()) SteadyLearn(*slot, wire);
  }
  Apply(*slot, actions, MonotonicNowNs());
}

void Worker::OnTimer(timer::TimerNode* node, int64_t now_ns) {
  Slot& slot = *slots_[node->cookie >> 1];
  // Deadlines from before the thread ran (sessions created at start) are not lateness.
  if (node->deadline_ns >= run_started_ns_) {
    const int64_t late = now_ns - node->deadline_ns;
    counters_.timer_late_max_ns = std::max(counters_.timer_late_max_ns, late);
    if (late > kNsPerMs) ++counters_.timers_late_1ms;
  }
  if ((node->cookie & 1) == kTxTimer) {
    if (node->deadline_ns >= run_started_ns_) {
      counters_.tx_lateness.ObserveUs(
          static_cast<uint64_t>(std::max<int64_t>(0, now_ns - node->deadline_ns)) / 1000);
    }
    Transmit(slot, now_ns);
  } else {
    XdpRefreshRx(slot);  // packets absorbed in the kernel count as received
    if (!dpdk_queues_.empty() && now_ns >= slot.session.detection_deadline_ns()) {
      // Polled queues: the session's packets may be waiting in them (a long batch of timers, a
      // stall). Take what is there before declaring anything Down; a silent peer stays silent.
      const int64_t deadline = slot.session.detection_deadline_ns();
      CatchUpReception();
      if (slot.session.detection_deadline_ns() != deadline) ++counters_.detection_catch_ups;
    }
    Apply(slot, slot.session.OnDetectionTimer(now_ns), now_ns);
  }
}

void Worker::Apply(Slot& slot, uint32_t actions, int64_t now_ns) {
  if (actions & bfd::kActionStateChanged) {
    const bfd::Transition& t = slot.session.last_transition();
    if (t.local_diag == bfd::Diag::kControlDetectionTimeExpired) {
      slot.last_detection_latency_ns = t.detection_latency_ns;
      if (t.detection_latency_ns > 0) counters_.detection_latency.ObserveNs(t.detection_latency_ns);
    }
    const std::string detected =
        t.detection_latency_ns > 0
            ? absl::StrFormat(", %.3f ms after the last packet", t.detection_latency_ns / 1e6)
            : "";
    STROBE_LOG(kInfo, "bfd session %s local %s%s%s: %s -> %s, diag %d (%s)%s",
               slot.spec.key.peer.ToString(), slot.spec.key.local.ToString(),
               slot.spec.key.multihop ? " multihop" : " interface ", slot.spec.key.interface,
               bfd::StateName(t.old_state), bfd::StateName(t.new_state),
               static_cast<int>(t.local_diag), bfd::DiagName(t.local_diag), detected);
    // The table first: if the event does not fit in the ring, the consumer reads it from there.
    WriteTable(slot);
    Emit(EventFor(slot, ipc::EventType::kStateChange), slot.index);
    XdpForget(slot);
    slot.steady_ok = false;
  }
  if (actions & bfd::kActionRearmTx) {
    const int64_t next = slot.session.next_tx_ns();
    if (next == bfd::kNever) {
      wheel_->Cancel(&slot.tx_timer);
    } else {
      wheel_->Arm(&slot.tx_timer, next);
    }
  }
  if (actions & bfd::kActionRearmDetect) {
    const int64_t deadline = slot.session.detection_deadline_ns();
    if (deadline == bfd::kNever) {
      wheel_->Cancel(&slot.detect_timer);
    } else {
      wheel_->Arm(&slot.detect_timer, std::max(deadline, now_ns));
    }
  }
}

absl::StatusOr<int64_t> Worker::SetTxSilenced(const ipc::SessionKey& key, bool silenced) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no session to ", key.peer.ToString(), " from ", key.local.ToString()));
  }
  it->second->tx_silenced = silenced;
  return it->second->last_tx_ns;
}

int Worker::SetAdminDown(const net::IpAddress& peer, bool admin_down) {
  int matched = 0;
  const int64_t now = MonotonicNowNs();
  for (auto& slot : slots_) {
    if (!slot || slot->spec.key.peer != peer) continue;
    ++matched;
    Apply(*slot, slot->session.SetAdminDown(admin_down, now), now);
  }
  return matched;
}

}  // namespace strobe::dataplane
