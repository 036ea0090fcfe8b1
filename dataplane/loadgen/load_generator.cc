#include "dataplane/loadgen/load_generator.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "dataplane/dataplane.h"
#include "dataplane/loadgen/load_report.h"
#include "dataplane/loadgen/source_addresses.h"
#include "src/common/clock.h"
#include "src/common/logging.h"
#include "src/common/version.h"
#include "src/config/config.h"
#include "src/ipc/bfd_client.h"
#include "src/ipc/control_server.h"

namespace strobe::loadgen {
namespace {

constexpr int64_t kSampleEveryNs = 100 * kNsPerMs;
constexpr int64_t kProgressEveryNs = 250 * kNsPerMs;

// The dataplane's control thread: serves its control socket (the BfdClient attaches through
// it; strobectl may look in) and runs the load generator's own calls to the Dataplane, whose
// worker task queues take one producer only.
class ControlThread {
 public:
  ControlThread(dataplane::Dataplane* dataplane, ipc::ControlServer* server)
      : dataplane_(dataplane), server_(server) {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    server_->SetAttachHandlers(
        [this](const nlohmann::json& args) { return dataplane_->Attach(args); },
        [this] { dataplane_->Detach(); });
    server_->SetExtraFd(wake_fd_, [this] { RunQueued(); });
    thread_ = std::thread([this] {
      server_->Serve(
          [this](const std::string& command, const nlohmann::json& args) {
            return dataplane_->HandleCommand(command, args);
          },
          stop_, [this] { dataplane_->Tick(); });
    });
  }
  ~ControlThread() {
    stop_.store(true);
    Wake();
    thread_.join();
    close(wake_fd_);
  }

  // Runs `fn` on the control thread and waits for it.
  void Run(std::function<void()> fn) {
    std::packaged_task<void()> task(std::move(fn));
    std::future<void> done = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    Wake();
    done.wait();
  }

 private:
  void Wake() {
    const uint64_t one = 1;
    ssize_t unused = write(wake_fd_, &one, sizeof(one));
    (void)unused;
  }
  void RunQueued() {
    uint64_t value;
    ssize_t unused = read(wake_fd_, &value, sizeof(value));
    (void)unused;
    std::deque<std::packaged_task<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks.swap(queue_);
    }
    for (auto& task : tasks) task();
  }

  dataplane::Dataplane* dataplane_;
  ipc::ControlServer* server_;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::deque<std::packaged_task<void()>> queue_;
  std::thread thread_;
};

std::string Iso8601Now() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
}

// Which sessions a silence round takes: `count` Up sessions spread evenly over the index space
// (so every worker and every part of the address range is represented).
std::vector<size_t> ChooseSilenced(const LoadReport& report, size_t count) {
  std::vector<size_t> up;
  for (size_t i = 0; i < report.sessions(); ++i) {
    if (report.state(i) == bfd::State::kUp) up.push_back(i);
  }
  std::vector<size_t> chosen;
  if (up.empty() || count == 0) return chosen;
  count = std::min(count, up.size());
  for (size_t k = 0; k < count; ++k) chosen.push_back(up[k * up.size() / count]);
  return chosen;
}

}  // namespace

absl::StatusOr<nlohmann::json> RunLoad(const Options& options, const std::atomic<bool>& stop,
                                       std::atomic<bool>& silence_request,
                                       const std::function<void(const Progress&)>& progress) {
  absl::StatusOr<net::IpAddress> dut = net::IpAddress::Parse(options.dut);
  if (!dut.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--dut \"", options.dut, "\" is not an address"));
  }
  absl::StatusOr<std::vector<net::IpAddress>> sources =
      HostsOf(options.sources, options.sessions, *dut);
  if (!sources.ok()) return sources.status();
  if (sources->front().is_v4() != dut->is_v4()) {
    return absl::InvalidArgumentError("--sources and --dut must be of the same address family");
  }

  config::Config config;
  config.dataplane.backend = options.backend;
  config.dataplane.xdp.native = options.xdp_native;
  config.dataplane.xdp.interfaces = {options.interface};
  config.dataplane.workers = options.workers;
  config.dataplane.control_socket = options.control_socket.empty()
                                        ? absl::StrCat("/run/strobe/loadgen-", getpid(), ".sock")
                                        : options.control_socket;

  SourceAddresses addresses;
  if (absl::Status s = addresses.Add(options.interface, *sources); !s.ok()) return s;
  ipc::ControlServer server;
  if (absl::Status s =
          server.Listen(config.dataplane.control_socket, config.dataplane.control_socket_group.gid);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<dataplane::Dataplane>> dataplane =
      dataplane::Dataplane::Create(config);
  if (!dataplane.ok()) return dataplane.status();
  if (absl::Status s = (*dataplane)->Start(); !s.ok()) return s;

  std::vector<ipc::BfdPeerRequest> requests(options.sessions);
  absl::flat_hash_map<ipc::SessionKey, size_t> index_of;
  for (size_t i = 0; i < options.sessions; ++i) {
    ipc::BfdPeerRequest& r = requests[i];
    r.key = {*dut, (*sources)[i], options.interface, false};
    r.desired_min_tx_us = options.tx_us;
    r.required_min_rx_us = options.rx_us;
    r.detect_mult = options.detect_mult;
    r.auth = options.auth;
    index_of[r.key] = i;
  }

  const std::string started_at = Iso8601Now();
  int64_t start_ns = MonotonicNowNs();
  LoadReport report(options.sessions, start_ns);
  nlohmann::json result;
  {
    ControlThread control(dataplane->get(), &server);
    ipc::BfdClient client(config.dataplane.control_socket, [&](const ipc::BfdPeerEvent& e) {
      auto it = index_of.find(e.key);
      if (it == index_of.end()) return;
      SessionChange change;
      change.state = e.state;
      change.local_diag = e.local_diag;
      change.remote_diag = e.remote_diag;
      change.changed_ns = e.changed_ns;
      change.up_transitions = e.up_transitions;
      report.OnChange(it->second, change);
    });
    const int64_t attach_deadline = MonotonicNowNs() + 5 * kNsPerSec;
    while (!client.attached() && MonotonicNowNs() < attach_deadline) client.Wait(10);
    if (!client.attached()) {
      return absl::InternalError(
          absl::StrCat("cannot attach to the in-process dataplane: ", client.last_error()));
    }

    Progress shown;
    shown.sessions = options.sessions;
    int64_t next_progress_ns = 0;
    auto tick = [&](const char* phase) {
      const int64_t now = MonotonicNowNs();
      report.Sample(now);
      if (now >= next_progress_ns && progress) {
        next_progress_ns = now + kProgressEveryNs;
        shown.phase = phase;
        shown.elapsed_s = static_cast<double>(now - start_ns) / 1e9;
        shown.registered = report.registered();
        shown.up = report.up();
        shown.flaps = report.flaps();
        shown.detections = report.detections();
        progress(shown);
      }
    };
    // Waits on the client until `until_ns` (or `done()`), sampling as it goes.
    auto run_until = [&](int64_t until_ns, const char* phase, const std::function<bool()>& done) {
      while (!stop.load() && MonotonicNowNs() < until_ns && !(done && done())) {
        const int64_t left_ms = (until_ns - MonotonicNowNs()) / kNsPerMs;
        client.Wait(static_cast<int>(std::clamp<int64_t>(left_ms, 0, 20)));
        tick(phase);
      }
    };

    // Ramp.
    start_ns = MonotonicNowNs();
    report = LoadReport(options.sessions, start_ns);
    std::vector<std::string> names;
    for (const net::IpAddress& a : *sources) names.push_back(a.ToString());
    report.SetNames(std::move(names));
    report.BeginPhase("ramp", start_ns);
    for (size_t i = 0; i < options.sessions && !stop.load(); ++i) {
      if (options.ramp_per_s > 0) {
        const int64_t due =
            start_ns + static_cast<int64_t>(static_cast<double>(i) * 1e9 / options.ramp_per_s);
        run_until(due, "ramp", nullptr);
      }
      client.Register(requests[i]);
      report.OnRegistered(i, MonotonicNowNs());
      if (options.ramp_per_s <= 0 && i % 256 == 255) client.Poll();  // keep the rings moving
    }

    // Settle: everything Up, then the Poll Sequences finish.
    report.BeginPhase("settle", MonotonicNowNs());
    run_until(MonotonicNowNs() + static_cast<int64_t>(options.up_timeout_s * 1e9), "settle",
              [&] { return report.up() == options.sessions; });
    run_until(MonotonicNowNs() + static_cast<int64_t>(options.settle_s * 1e9), "settle", nullptr);

    // Hold. The DUT's intervals: every part of it but the silence rounds and their recovery.
    metrics::IntervalHistogram intervals;
    control.Run([&] { (*dataplane)->ResetRxIntervals(); });
    const int64_t hold_start = MonotonicNowNs();
    const int64_t hold_end = hold_start + static_cast<int64_t>(options.hold_s * 1e9);
    report.BeginPhase("hold", hold_start);
    std::optional<int64_t> silence_due;
    if (options.silence > 0) {
      const double at = options.silence_at_s.value_or(options.hold_s / 2);
      silence_due = hold_start + static_cast<int64_t>(at * 1e9);
    }
    // The DUT's detection time cannot be known here; a silence round waits for the slower of
    // 2 s and ten times what this side would need.
    const int64_t detection_wait_ns =
        std::max<int64_t>(2 * kNsPerSec, int64_t{10} * options.detect_mult *
                                             std::max(options.tx_us, options.rx_us) * 1000);
    while (!stop.load() && MonotonicNowNs() < hold_end) {
      const bool requested = silence_request.exchange(false);
      if (requested || (silence_due && MonotonicNowNs() >= *silence_due)) {
        silence_due.reset();
        const std::vector<size_t> chosen =
            ChooseSilenced(report, options.silence > 0 ? options.silence : 1);
        report.BeginPhase("silence", MonotonicNowNs());
        control.Run([&] {
          intervals.Merge((*dataplane)->RxIntervals());  // the hold so far
          for (size_t i : chosen) {
            absl::StatusOr<int64_t> last_tx = (*dataplane)->SetTxSilenced(requests[i].key, true);
            if (last_tx.ok()) report.OnSilenced(i, *last_tx);
          }
        });
        run_until(MonotonicNowNs() + detection_wait_ns, "silence", [&] {
          return std::none_of(chosen.begin(), chosen.end(),
                              [&](size_t i) { return report.AwaitingDetection(i); });
        });
        control.Run([&] {
          for (size_t i : chosen) {
            (void)(*dataplane)->SetTxSilenced(requests[i].key, false);
            report.OnResumed(i);
          }
        });
        // Recovery: the silenced sessions come back Up and finish their Poll Sequences, which
        // keeps the DUT at its slow rate for a packet or two. Not the DUT's timer quality:
        // measure again once it is over.
        run_until(MonotonicNowNs() + static_cast<int64_t>(options.up_timeout_s * 1e9), "silence",
                  [&] { return report.up() == options.sessions; });
        run_until(MonotonicNowNs() + static_cast<int64_t>(options.settle_s * 1e9), "silence",
                  nullptr);
        control.Run([&] { (*dataplane)->ResetRxIntervals(); });
        report.BeginPhase("hold", MonotonicNowNs());
        continue;
      }
      run_until(std::min(hold_end, silence_due.value_or(hold_end)), "hold",
                [&] { return silence_request.load(); });
    }
    const int64_t end_ns = MonotonicNowNs();
    report.Sample(end_ns);
    report.EndPhase(end_ns);

    nlohmann::json counters;
    control.Run([&] {
      intervals.Merge((*dataplane)->RxIntervals());
      absl::StatusOr<nlohmann::json> c =
          (*dataplane)->HandleCommand("show bfd counters", nlohmann::json::object());
      if (c.ok()) counters = *c;
    });
    nlohmann::json workers = nlohmann::json::array();
    for (int core : options.workers) workers.push_back(core);
    nlohmann::json extra = {
        {"tool", "strobe-loadgen"},
        {"version", kVersion},
        {"started_at", started_at},
        {"backend", options.backend},
        {"interface", options.interface},
        {"dut", dut->ToString()},
        {"sources", options.sources},
        {"tx_us", options.tx_us},
        {"rx_us", options.rx_us},
        {"detect_mult", options.detect_mult},
        {"ramp_per_s", options.ramp_per_s},
        {"hold_s", options.hold_s},
        {"workers", workers},
        {"auth", options.auth ? std::string(bfd::AuthTypeName(options.auth->type)) : "none"},
        {"interrupted", stop.load()},
        {"duration_s", static_cast<double>(end_ns - start_ns) / 1e9},
        {"tx_packets", counters.value("tx_packets", uint64_t{0})},
        {"rx_packets", counters.value("rx_packets", uint64_t{0})},
        {"rx_dropped", counters.value("rx_dropped", nlohmann::json::object())},
    };
    if (counters.contains("xdp")) extra["xdp"] = counters["xdp"];
    // How late this side's own timers fired: a flap the DUT reports may be ours.
    int64_t late_max_us = 0;
    uint64_t late_1ms = 0;
    for (const nlohmann::json& w : counters.value("workers", nlohmann::json::array())) {
      late_max_us = std::max(late_max_us, w.value("timer_late_max_us", int64_t{0}));
      late_1ms += w.value("timers_late_1ms", uint64_t{0});
    }
    extra["timer_late_max_us"] = late_max_us;
    extra["timers_late_1ms"] = late_1ms;
    result = report.ToJson(intervals, extra);
  }                      // the client detaches, the control thread ends
  (*dataplane)->Stop();  // AdminDown to every peer
  addresses.RemoveAll();
  return result;
}

}  // namespace strobe::loadgen
