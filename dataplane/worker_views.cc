// Views of a worker's sessions and counters for the control socket. Snapshots and counters are
// taken on the worker's thread (through Worker::RunOnWorker), so they read without locks; the
// session JSON is built from the snapshots on the control thread.

#include <time.h>

#include "dataplane/worker.h"
#include "dataplane/worker_slot.h"
#include "src/common/clock.h"

namespace strobe::dataplane {
namespace {

nlohmann::json DropsJson(const uint64_t (&drops)[STROBE_BFD_DROP_REASON_COUNT]) {
  nlohmann::json out = nlohmann::json::object();
  for (int r = 1; r < STROBE_BFD_DROP_REASON_COUNT; ++r) {
    out[strobe_bfd_drop_reason_name(static_cast<strobe_bfd_drop_reason>(r))] = drops[r];
  }
  return out;
}

}  // namespace

size_t Worker::SnapshotSessions(size_t from, size_t max, std::vector<SessionSnapshot>* out) const {
  size_t i = from;
  for (size_t copied = 0; i < slots_.size() && copied < max; ++i) {
    const Slot* slot = slots_[i].get();
    if (slot == nullptr) continue;
    const strobe_xdp_session* xdp = XdpEntry(*slot);
    out->push_back(SessionSnapshot{
        .spec = slot->spec,
        .session = slot->session,
        .source_port = slot->source_port,
        .last_detection_latency_ns = slot->last_detection_latency_ns,
        .tx_errors = slot->tx_errors,
        .tx_af_xdp = slot->last_tx_af_xdp,
        .tx_frame_path = dpdk_queues_.empty() ? "af_xdp" : "dpdk",
        .rx_steady = slot->rx_steady,
        .rx_absorbed_in_kernel = xdp != nullptr ? xdp->rx_absorbed : 0,
        .rx_dropped_in_kernel = xdp != nullptr ? xdp->rx_dropped : 0,
        .worker = index_,
    });
    ++copied;
  }
  return i;
}

nlohmann::json SessionJson(const SessionSnapshot& snapshot, int64_t now) {
  const bfd::Session& s = snapshot.session;
  const ipc::SessionKey& c = snapshot.spec.key;
  const uint64_t absorbed = snapshot.rx_absorbed_in_kernel + snapshot.rx_steady;
  const uint64_t kernel_dropped = snapshot.rx_dropped_in_kernel;
  const double since_change_s = static_cast<double>(now - s.last_state_change_ns()) / kNsPerSec;
  return {
      // Stable keys (issue contract).
      {"peer", c.peer.ToString()},
      {"local", c.local.ToString()},
      {"interface", c.interface},
      {"multihop", c.multihop},
      {"state", bfd::StateName(s.state())},
      {"local_discriminator", s.local_discriminator()},
      {"remote_discriminator", s.remote_discriminator()},
      {"local_diag", static_cast<int>(s.local_diag())},
      {"remote_diag", static_cast<int>(s.remote_diag())},
      {"tx_interval_us", s.tx_interval_us()},
      {"rx_interval_us", s.rx_interval_us()},
      {"detect_mult", s.detect_mult()},
      {"detect_time_us", s.detection_time_ns() / kNsPerUs},
      {"last_detection_latency_us", snapshot.last_detection_latency_ns / kNsPerUs},
      {"uptime_s", s.state() == bfd::State::kUp ? static_cast<int64_t>(since_change_s) : 0},
      {"up_transitions", s.counters().up_transitions},
      {"down_transitions", s.counters().down_transitions},
      {"rx_packets", s.counters().rx_packets + absorbed},
      {"tx_packets", s.counters().tx_packets},
      {"rx_dropped", DropsJson(s.counters().rx_dropped)},
      // Also shown by FRR's `show bfd peers`.
      {"downtime_s", s.state() != bfd::State::kUp ? static_cast<int64_t>(since_change_s) : 0},
      {"remote_state", bfd::StateName(s.remote_state())},
      {"local_diag_text", bfd::DiagName(s.local_diag())},
      {"remote_diag_text", bfd::DiagName(s.remote_diag())},
      {"profile", snapshot.spec.profile_name},
      {"passive", s.params().passive},
      {"auth_type",
       bfd::AuthTypeName(s.params().auth ? s.params().auth->type : bfd::AuthType::kNone)},
      {"desired_min_tx_us", s.desired_min_tx_us()},
      {"required_min_rx_us", s.required_min_rx_us()},
      {"required_min_echo_rx_us", 0},
      {"remote_detect_mult", s.remote_detect_mult()},
      {"remote_desired_min_tx_us", s.remote_desired_min_tx_us()},
      {"remote_required_min_rx_us", s.remote_min_rx_us()},
      {"remote_demand", s.remote_demand()},
      {"poll_in_progress", s.poll_in_progress()},
      {"poll_sequences", s.counters().poll_sequences},
      {"source_port", snapshot.source_port},
      {"configured", snapshot.spec.configured},
      {"rx_absorbed_in_kernel", snapshot.rx_absorbed_in_kernel},
      {"rx_steady", snapshot.rx_steady},
      {"rx_dropped_in_kernel", kernel_dropped},
      {"rx_to_user", s.counters().rx_packets},
      {"tx_errors", snapshot.tx_errors},
      {"tx_path", snapshot.tx_af_xdp ? snapshot.tx_frame_path : "socket"},
      {"worker", snapshot.worker},
  };
}

namespace {

template <typename T>
nlohmann::json LoopPhasesJson(const T (&values)[WorkerCounters::kLoopPhases], T divisor) {
  return {{"receive", values[WorkerCounters::kReceive] / divisor},
          {"timers", values[WorkerCounters::kTimers] / divisor},
          {"shared", values[WorkerCounters::kShared] / divisor},
          {"events", values[WorkerCounters::kEvents] / divisor},
          {"sleep_overrun", values[WorkerCounters::kSleepOverrun] / divisor}};
}

int64_t ThreadCpuNs() {
  timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

nlohmann::json Worker::CountersJson() const {
  nlohmann::json sessions_by_state = {{"admin-down", 0}, {"down", 0}, {"init", 0}, {"up", 0}};
  size_t sessions = 0;
  // Counted without building a session view: cheap enough for a monitor to poll with 10,000s
  // of sessions (`show bfd sessions` copies every session).
  uint64_t by_state[4] = {};
  uint64_t polling = 0, down_transitions = 0, up_transitions = 0, on_af_xdp = 0;
  for (const auto& slot : slots_) {
    if (!slot) continue;
    ++sessions;
    const bfd::Session& s = slot->session;
    ++by_state[static_cast<int>(s.state()) & 3];
    polling += s.poll_in_progress();
    down_transitions += s.counters().down_transitions;
    up_transitions += s.counters().up_transitions;
    on_af_xdp += slot->last_tx_af_xdp;
  }
  for (int state = 0; state < 4; ++state) {
    sessions_by_state[std::string(bfd::StateName(static_cast<bfd::State>(state)))] =
        by_state[state];
  }
  nlohmann::json af_xdp = nlohmann::json::array();
  for (const auto& tx : af_xdp_) {
    const AfXdpTx::Counters& c = tx->counters();
    af_xdp.push_back({{"ifindex", tx->ifindex()},
                      {"queued", c.queued},
                      {"completed", c.completed},
                      {"ring_full", c.ring_full},
                      {"kicks", c.kicks},
                      {"kick_errors", c.kick_errors},
                      {"in_flight", tx->in_flight()}});
  }
  return {
      {"worker", index_},
      {"core", core_},
      {"sessions", sessions},
      {"sessions_by_state", sessions_by_state},
      {"sessions_polling", polling},
      {"sessions_tx_af_xdp", on_af_xdp},
      {"up_transitions", up_transitions},
      {"down_transitions", down_transitions},
      {"timers_armed", wheel_ ? wheel_->size() : 0},
      {"rx_packets", counters_.rx_packets},
      {"tx_packets", counters_.tx_packets},
      {"tx_errors", counters_.tx_errors},
      {"tx_af_xdp", counters_.tx_af_xdp},
      {"timer_late_max_us", counters_.timer_late_max_ns / 1000},
      {"timers_late_1ms", counters_.timers_late_1ms},
      {"tx_af_xdp_full", counters_.tx_af_xdp_full},
      {"tx_frame_errors", counters_.tx_frame_errors},
      {"af_xdp", af_xdp},
      {"tx_dpdk", counters_.tx_dpdk},
      {"rx_steady", counters_.rx_steady},
      {"detection_catch_ups", counters_.detection_catch_ups},
      {"dpdk_queues", DpdkQueuesJson()},
      {"neighbors_known", neighbors_.size()},
      {"handed_off", counters_.handed_off},
      {"events_published", counters_.events_published},
      {"events_overflowed", counters_.events_overflowed},
      {"commands", counters_.commands},
      {"rx_dropped", DropsJson(counters_.rx_dropped)},
      {"detection_latency", counters_.detection_latency.ToJson()},
      {"rx_interval_us", counters_.rx_interval.SummaryJson()},
      {"tx_lateness_us", counters_.tx_lateness.SummaryJson()},
      {"loop_max_us", LoopPhasesJson(counters_.loop_max_ns, int64_t{1000})},
      {"loop_over_1ms", LoopPhasesJson(counters_.loop_over_1ms, uint64_t{1})},
      // CPU time of the worker thread (this runs on it): `strobectl show workers` turns two
      // samples into a busy percentage.
      {"cpu_ns", ThreadCpuNs()},
  };
}

}  // namespace strobe::dataplane
