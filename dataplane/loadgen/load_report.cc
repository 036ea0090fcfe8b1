#include "dataplane/loadgen/load_report.h"

#include <algorithm>
#include <cmath>

namespace strobe::loadgen {
namespace {

constexpr size_t kMaxPoints = 4000;

// The value below which a fraction q of the sorted samples lie (nearest rank).
double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

double Round3(double v) { return std::round(v * 1000) / 1000; }

}  // namespace

LoadReport::LoadReport(size_t sessions, int64_t start_ns)
    : start_ns_(start_ns), sessions_(sessions) {}

void LoadReport::OnRegistered(size_t session, int64_t now_ns) {
  Session& s = sessions_[session];
  if (s.registered) return;
  s.registered = true;
  ++registered_;
  (void)now_ns;
}

void LoadReport::OnChange(size_t session, const SessionChange& change) {
  Session& s = sessions_[session];
  const bool was_up = s.state == bfd::State::kUp;
  const bool is_up = change.state == bfd::State::kUp;
  if (was_up && !is_up) --up_;
  if (!was_up && is_up) {
    ++up_;
    s.ever_up = true;
    if (up_ == sessions_.size() && all_up_ns_ == 0) all_up_ns_ = change.changed_ns;
  }
  s.state = change.state;

  // Every entry into Up is followed by an exit, except the current one: the exits counted by
  // the dataplane include those that happened between two reads.
  uint64_t exits = change.up_transitions - (is_up && change.up_transitions > 0 ? 1 : 0);
  if (was_up && !is_up) exits = std::max(exits, s.exits_from_up + 1);  // counts not yet seen
  uint64_t new_exits = exits > s.exits_from_up ? exits - s.exits_from_up : 0;
  s.exits_from_up = std::max(s.exits_from_up, exits);
  if (new_exits == 0) return;

  if (s.awaiting_detection) {
    // The DUT's verdict on our silence: its Down, with its own diagnostic.
    s.awaiting_detection = false;
    --new_exits;
    if (!is_up && change.remote_diag == bfd::Diag::kControlDetectionTimeExpired) {
      detections_.push_back(
          {session, static_cast<double>(change.changed_ns - s.silenced_last_tx_ns) / 1e6});
    } else {
      ++detection_wrong_diag_;
    }
  }
  if (s.silenced || new_exits == 0) return;  // whatever follows our own silence is no flap
  flaps_ += new_exits;
  if (flap_records_.size() < kMaxFlapRecords) {
    flap_records_.push_back({session, change.changed_ns, new_exits, change.state, change.local_diag,
                             change.remote_diag});
  }
  if (change.local_diag == bfd::Diag::kControlDetectionTimeExpired) {
    flaps_dut_silent_ += new_exits;
  } else if (change.local_diag == bfd::Diag::kNeighborSignaledSessionDown) {
    flaps_dut_signaled_ += new_exits;
  } else {
    flaps_other_ += new_exits;
  }
}

void LoadReport::OnSilenced(size_t session, int64_t last_tx_ns) {
  Session& s = sessions_[session];
  s.silenced = true;
  s.awaiting_detection = true;
  s.silenced_last_tx_ns = last_tx_ns;
}

void LoadReport::OnResumed(size_t session) {
  Session& s = sessions_[session];
  if (s.awaiting_detection) ++detection_missed_;
  s.silenced = false;
  s.awaiting_detection = false;
}

bool LoadReport::AwaitingDetection(size_t session) const {
  return sessions_[session].awaiting_detection;
}

void LoadReport::Sample(int64_t now_ns) {
  if (!timeline_.empty() && now_ns - timeline_.back().t_ns < sample_every_ns_) return;
  timeline_.push_back({now_ns, registered_, up_});
  if (timeline_.size() <= kMaxPoints) return;
  // Halve the resolution of the whole timeline, and of what follows.
  std::vector<Point> kept;
  kept.reserve(timeline_.size() / 2 + 1);
  for (size_t i = 0; i < timeline_.size(); i += 2) kept.push_back(timeline_[i]);
  if (kept.back().t_ns != timeline_.back().t_ns) kept.push_back(timeline_.back());
  const int64_t span = timeline_.back().t_ns - timeline_.front().t_ns;
  timeline_ = std::move(kept);
  sample_every_ns_ = std::max<int64_t>(2 * sample_every_ns_, span / (kMaxPoints / 2));
}

void LoadReport::BeginPhase(const std::string& name, int64_t now_ns) {
  EndPhase(now_ns);
  phases_.push_back({name, now_ns, 0});
}

void LoadReport::EndPhase(int64_t now_ns) {
  if (!phases_.empty() && phases_.back().end_ns == 0) phases_.back().end_ns = now_ns;
}

nlohmann::json LoadReport::ToJson(const metrics::IntervalHistogram& dut_intervals,
                                  const nlohmann::json& extra) const {
  nlohmann::json report = extra.is_object() ? extra : nlohmann::json::object();
  size_t never_up = 0;
  for (const Session& s : sessions_) never_up += s.registered && !s.ever_up;
  report["sessions"] = sessions_.size();
  report["registered"] = registered_;
  report["up_at_end"] = up_;
  report["never_up"] = never_up;
  report["time_to_all_up_s"] =
      all_up_ns_ == 0 ? nlohmann::json(nullptr) : nlohmann::json(Round3(Seconds(all_up_ns_)));
  report["flaps"] = flaps_;
  report["flaps_by_cause"] = {{"dut_silent", flaps_dut_silent_},
                              {"dut_signaled_down", flaps_dut_signaled_},
                              {"other", flaps_other_}};
  nlohmann::json flap_events = nlohmann::json::array();
  for (const Flap& f : flap_records_) {
    flap_events.push_back(
        {{"session", f.session < names_.size() ? names_[f.session] : std::to_string(f.session)},
         {"t_s", Round3(Seconds(f.changed_ns))},
         {"count", f.count},
         {"state", std::string(bfd::StateName(f.state))},
         {"local_diag", std::string(bfd::DiagName(f.local_diag))},
         {"remote_diag", std::string(bfd::DiagName(f.remote_diag))}});
  }
  report["flap_events"] = flap_events;
  nlohmann::json intervals = dut_intervals.SummaryJson();
  intervals["buckets"] = dut_intervals.BucketsJson();
  report["dut_interval_us"] = intervals;
  if (!detections_.empty() || detection_missed_ > 0 || detection_wrong_diag_ > 0) {
    std::vector<double> sorted;
    nlohmann::json samples = nlohmann::json::array();
    nlohmann::json names = nlohmann::json::array();
    for (const Detection& d : detections_) {
      sorted.push_back(d.ms);
      samples.push_back(Round3(d.ms));
      names.push_back(d.session < names_.size() ? names_[d.session] : std::to_string(d.session));
    }
    std::sort(sorted.begin(), sorted.end());
    report["detection_ms"] = {{"count", sorted.size()},
                              {"missed", detection_missed_},
                              {"wrong_diag", detection_wrong_diag_},
                              {"p50", Round3(Quantile(sorted, 0.50))},
                              {"p99", Round3(Quantile(sorted, 0.99))},
                              {"max", Round3(sorted.empty() ? 0 : sorted.back())},
                              {"samples", samples},
                              {"sessions", names}};
  }
  nlohmann::json timeline = nlohmann::json::array();
  for (const Point& p : timeline_) {
    timeline.push_back(
        {{"t_s", Round3(Seconds(p.t_ns))}, {"registered", p.registered}, {"up", p.up}});
  }
  report["timeline"] = timeline;
  nlohmann::json phases = nlohmann::json::array();
  for (const Phase& p : phases_) {
    phases.push_back({{"name", p.name},
                      {"start_s", Round3(Seconds(p.start_ns))},
                      {"end_s", p.end_ns == 0 ? nlohmann::json(nullptr)
                                              : nlohmann::json(Round3(Seconds(p.end_ns)))}});
  }
  report["phases"] = phases;
  return report;
}

}  // namespace strobe::loadgen
