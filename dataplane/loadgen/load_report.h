#ifndef STROBE_DATAPLANE_LOADGEN_LOAD_REPORT_H_
#define STROBE_DATAPLANE_LOADGEN_LOAD_REPORT_H_

// What the load generator learns during a run, and the JSON report made of it. Pure
// bookkeeping: it is fed state changes (with the dataplane's own timestamps), registrations,
// silences and clock samples, and never looks at a clock itself, so it is tested without a
// network.
//
// Vocabulary:
//  - a flap is an Up session going Down that the load generator did not cause. The local
//    diagnostic says which side noticed: "control detection time expired" means the device under
//    test (DUT) went quiet; "neighbor signaled session down" means the DUT declared the session
//    Down (its own diagnostic, e.g. its detection timer, comes with it);
//  - a silenced session stops transmitting on purpose; the DUT's detection time is the time
//    from the session's last packet to the DUT's Down packet, which names its diagnostic
//    "control detection time expired".

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/bfd/packet.h"
#include "src/metrics/interval_histogram.h"

namespace strobe::loadgen {

struct SessionChange {
  bfd::State state = bfd::State::kDown;
  bfd::Diag local_diag = bfd::Diag::kNone;
  bfd::Diag remote_diag = bfd::Diag::kNone;
  int64_t changed_ns = 0;       // CLOCK_MONOTONIC, in the dataplane
  uint64_t up_transitions = 0;  // the dataplane's count: shows flaps between two reads
};

class LoadReport {
 public:
  // `start_ns`: the run's time zero (the first registration).
  LoadReport(size_t sessions, int64_t start_ns);

  // How sessions are named in the report (their source addresses); default: their index.
  void SetNames(std::vector<std::string> names) { names_ = std::move(names); }
  void OnRegistered(size_t session, int64_t now_ns);
  void OnChange(size_t session, const SessionChange& change);
  // Starts a detection measurement on an Up session whose last packet left at `last_tx_ns`.
  void OnSilenced(size_t session, int64_t last_tx_ns);
  // Ends it (transmission resumes); a measurement still open counts as missed.
  void OnResumed(size_t session);
  // Whether `session` is silenced and still waiting for the DUT's Down.
  bool AwaitingDetection(size_t session) const;
  // Adds a point to the timeline (the caller samples every 100 ms or so).
  void Sample(int64_t now_ns);
  void BeginPhase(const std::string& name, int64_t now_ns);
  void EndPhase(int64_t now_ns);

  size_t sessions() const { return sessions_.size(); }
  size_t up() const { return up_; }
  size_t registered() const { return registered_; }
  uint64_t flaps() const { return flaps_; }
  bool all_up_seen() const { return all_up_ns_ != 0; }
  bfd::State state(size_t session) const { return sessions_[session].state; }
  size_t detections() const { return detections_.size(); }

  // The report: `sessions`, `up_at_end`, `time_to_all_up_s` (null when never all Up),
  // `flaps`, `flaps_by_cause`, `flap_events` (the first 100: session, t_s, diagnostics),
  // `dut_interval_us` {count, p50, p90, p99, max, buckets}, `detection_ms` {count, missed,
  // wrong_diag, p50, p99, max, samples, sessions} when measured, `timeline`, `phases`. `extra`'s
  // keys (the run's parameters) are merged in.
  nlohmann::json ToJson(const metrics::IntervalHistogram& dut_intervals,
                        const nlohmann::json& extra) const;

 private:
  struct Session {
    bfd::State state = bfd::State::kDown;
    uint64_t exits_from_up = 0;  // Up -> anything, as of the last change seen
    bool registered = false;
    bool ever_up = false;
    bool silenced = false;
    bool awaiting_detection = false;
    int64_t silenced_last_tx_ns = 0;
  };
  struct Phase {
    std::string name;
    int64_t start_ns;
    int64_t end_ns;  // 0: open
  };
  struct Point {
    int64_t t_ns;
    size_t registered;
    size_t up;
  };

  double Seconds(int64_t ns) const { return static_cast<double>(ns - start_ns_) / 1e9; }

  int64_t start_ns_;
  std::vector<Session> sessions_;
  size_t registered_ = 0;
  size_t up_ = 0;
  int64_t all_up_ns_ = 0;
  uint64_t flaps_ = 0;
  uint64_t flaps_dut_silent_ = 0;    // we stopped hearing the DUT
  uint64_t flaps_dut_signaled_ = 0;  // the DUT said Down
  uint64_t flaps_other_ = 0;
  struct Detection {
    size_t session;
    double ms;
  };
  std::vector<Detection> detections_;
  struct Flap {
    size_t session;
    int64_t changed_ns;
    uint64_t count;  // flaps this change revealed (more than one: some happened between reads)
    bfd::State state;
    bfd::Diag local_diag;
    bfd::Diag remote_diag;
  };
  static constexpr size_t kMaxFlapRecords = 100;
  std::vector<Flap> flap_records_;  // the first kMaxFlapRecords, for the report
  std::vector<std::string> names_;
  uint64_t detection_missed_ = 0;
  uint64_t detection_wrong_diag_ = 0;  // Down, but not for the DUT's detection timer
  std::vector<Phase> phases_;
  std::vector<Point> timeline_;
  int64_t sample_every_ns_ = 0;  // grows so the timeline stays under kMaxPoints
};

}  // namespace strobe::loadgen

#endif  // STROBE_DATAPLANE_LOADGEN_LOAD_REPORT_H_
