#include "src/metrics/prometheus.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace strobe::metrics {
namespace {

using nlohmann::json;

const json& Field(const json& j, const char* key) {
  static const json* null = new json(nullptr);
  if (!j.is_object()) return *null;
  auto it = j.find(key);
  return it == j.end() ? *null : *it;
}

double Number(const json& j) { return j.is_number() ? j.get<double>() : 0; }

uint64_t Unsigned(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() > 0) return static_cast<uint64_t>(j.get<int64_t>());
  return 0;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrFormat("%.0f", value);
  }
  return absl::StrFormat("%.9g", value);
}

bool AddHistogramJson(const json& j, HistogramSample* out) {
  const json& bounds = Field(j, "bounds_us");
  const json& cumulative = Field(j, "cumulative");
  if (!bounds.is_array() || !cumulative.is_array() || bounds.size() != cumulative.size()) {
    return false;
  }
  if (out->upper_bounds.empty()) {
    for (const json& b : bounds) out->upper_bounds.push_back(Number(b) / 1e6);
    out->cumulative.assign(bounds.size(), 0);
  } else if (out->upper_bounds.size() != bounds.size()) {
    return false;
  }
  for (size_t i = 0; i < cumulative.size(); ++i) {
    out->cumulative[i] += Unsigned(cumulative[i]);
  }
  out->sum += Number(Field(j, "sum_us")) / 1e6;
  const json& count = Field(j, "count");
  out->count += Unsigned(count);
  return true;
}

void TextWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(EscapeHelp(help));
  out_.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void TextWriter::Line(std::string_view name, const Labels& labels, std::string_view value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&out_, i ? "," : "", labels[i].first, "=\"",
                      EscapeLabelValue(labels[i].second), "\"");
    }
    out_ += '}';
  }
  out_.append(" ").append(value).append("\n");
}

void TextWriter::Sample(std::string_view name, const Labels& labels, double value) {
  Line(name, labels, FormatValue(value));
}

void TextWriter::Sample(std::string_view name, const Labels& labels, const json& value) {
  if (value.is_number_unsigned()) {
    Line(name, labels, absl::StrCat(value.get<uint64_t>()));
  } else if (value.is_number_integer()) {
    Line(name, labels, absl::StrCat(value.get<int64_t>()));
  } else if (value.is_boolean()) {
    Line(name, labels, value.get<bool>() ? "1" : "0");
  } else {
    Line(name, labels, FormatValue(Number(value)));
  }
}

void TextWriter::Histogram(std::string_view name, const Labels& labels, const HistogramSample& h) {
  const std::string bucket = std::string(name) + "_bucket";
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  for (size_t i = 0; i < h.upper_bounds.size(); ++i) {
    with_le.back().second = FormatValue(h.upper_bounds[i]);
    Line(bucket, with_le, absl::StrCat(i < h.cumulative.size() ? h.cumulative[i] : 0));
  }
  with_le.back().second = "+Inf";
  Line(bucket, with_le, absl::StrCat(h.count));
  Line(std::string(name) + "_sum", labels, FormatValue(h.sum));
  Line(std::string(name) + "_count", labels, absl::StrCat(h.count));
}

std::string RenderDataplane(const json& counters, const json& sessions) {
  TextWriter w;
  const json& workers = Field(counters, "workers");
  const json empty_array = json::array();
  const json& worker_list = workers.is_array() ? workers : empty_array;

  w.Family("strobe_bfd_sessions", "gauge", "BFD sessions by local state.");
  for (const char* state : {"admin-down", "down", "init", "up"}) {
    uint64_t n = 0;
    for (const json& wk : worker_list) {
      const json& v = Field(Field(wk, "sessions_by_state"), state);
      n += Unsigned(v);
    }
    w.Sample("strobe_bfd_sessions", {{"state", state}}, static_cast<double>(n));
  }
  w.Family("strobe_bfd_session_transitions_total", "counter",
           "State transitions to Up and to Down of the current sessions.");
  for (const char* direction : {"up", "down"}) {
    uint64_t n = 0;
    for (const json& wk : worker_list) {
      const json& v = Field(wk, absl::StrCat(direction, "_transitions").c_str());
      n += Unsigned(v);
    }
    w.Sample("strobe_bfd_session_transitions_total", {{"direction", direction}},
             static_cast<double>(n));
  }
  w.Family("strobe_bfd_packets_total", "counter",
           "BFD control packets received (datagrams read by the workers) and sent.");
  w.Sample("strobe_bfd_packets_total", {{"direction", "rx"}}, Field(counters, "rx_packets"));
  w.Sample("strobe_bfd_packets_total", {{"direction", "tx"}}, Field(counters, "tx_packets"));
  w.Family("strobe_bfd_tx_errors_total", "counter", "BFD packets that could not be sent.");
  w.Sample("strobe_bfd_tx_errors_total", {}, Field(counters, "tx_errors"));
  w.Family("strobe_bfd_rx_drops_total", "counter", "Received BFD packets dropped, by reason.");
  const json& drops = Field(counters, "rx_dropped");
  if (drops.is_object()) {
    for (const auto& [reason, count] : drops.items()) {
      w.Sample("strobe_bfd_rx_drops_total", {{"reason", reason}}, count);
    }
  }
  HistogramSample detection;
  for (const json& wk : worker_list) AddHistogramJson(Field(wk, "detection_latency"), &detection);
  if (!detection.upper_bounds.empty()) {
    w.Family("strobe_bfd_detection_latency_seconds", "histogram",
             "Time from the last packet received to Down by detection timeout.");
    w.Histogram("strobe_bfd_detection_latency_seconds", {}, detection);
  }

  // Per worker: its load.
  struct PerWorker {
    const char* name;
    const char* key;
    const char* type;
    const char* help;
    double scale;
  };
  static constexpr PerWorker kPerWorker[] = {
      {"strobe_bfd_worker_sessions", "sessions", "gauge", "Sessions owned by the worker.", 1},
      {"strobe_bfd_worker_timers_armed", "timers_armed", "gauge",
       "Timers armed in the worker's wheel.", 1},
      {"strobe_bfd_worker_rx_packets_total", "rx_packets", "counter",
       "Datagrams read by the worker.", 1},
      {"strobe_bfd_worker_tx_packets_total", "tx_packets", "counter", "Packets the worker sent.",
       1},
      {"strobe_bfd_worker_handed_off_total", "handed_off", "counter",
       "Packets received by the worker for a session of another worker.", 1},
      {"strobe_bfd_worker_timers_late_total", "timers_late_1ms", "counter",
       "Timers that fired more than 1 ms after their deadline.", 1},
      {"strobe_bfd_worker_timer_late_max_seconds", "timer_late_max_us", "gauge",
       "The latest a timer of the worker has fired after its deadline.", 1e-6},
      {"strobe_bfd_worker_events_published_total", "events_published", "counter",
       "Session events published to the control plane.", 1},
  };
  for (const PerWorker& m : kPerWorker) {
    w.Family(m.name, m.type, m.help);
    for (const json& wk : worker_list) {
      const Labels labels = {{"worker", absl::StrCat(Number(Field(wk, "worker")))},
                             {"core", absl::StrCat(Number(Field(wk, "core")))}};
      if (m.scale == 1) {
        w.Sample(m.name, labels, Field(wk, m.key));
      } else {
        w.Sample(m.name, labels, Number(Field(wk, m.key)) * m.scale);
      }
    }
  }

  // Per session: its state and its last detection.
  if (sessions.is_array()) {
    w.Family("strobe_bfd_session_up", "gauge", "1 when the session is Up, 0 otherwise.");
    auto labels_of = [](const json& s) -> Labels {
      auto text = [&s](const char* key) {
        const json& v = Field(s, key);
        return v.is_string() ? v.get<std::string>() : std::string();
      };
      return {{"peer", text("peer")}, {"local", text("local")}, {"interface", text("interface")}};
    };
    for (const json& s : sessions) {
      w.Sample("strobe_bfd_session_up", labels_of(s), Field(s, "state") == "up" ? 1.0 : 0.0);
    }
    w.Family("strobe_bfd_session_last_detection_latency_seconds", "gauge",
             "The session's last Down by detection timeout: time from its last packet (0: none).");
    for (const json& s : sessions) {
      w.Sample("strobe_bfd_session_last_detection_latency_seconds", labels_of(s),
               Number(Field(s, "last_detection_latency_us")) / 1e6);
    }
  }
  w.Family("strobe_bfd_uptime_seconds", "gauge", "Seconds since strobe-dataplane started.");
  w.Sample("strobe_bfd_uptime_seconds", {}, Field(counters, "uptime_s"));
  return w.text();
}

std::string RenderBgpd(const json& summary, const json& neighbors, const json& fib) {
  TextWriter w;
  static constexpr const char* kStates[] = {"idle",     "connect",     "active",
                                            "opensent", "openconfirm", "established"};
  const json empty_array = json::array();
  const json& list = neighbors.is_array() ? neighbors : empty_array;
  auto address = [](const json& n) {
    const json& a = Field(n, "address");
    return a.is_string() ? a.get<std::string>() : std::string();
  };
  w.Family("strobe_bgp_neighbor_state", "gauge",
           "1 for the neighbor's RFC 4271 state, 0 for the others.");
  for (const json& n : list) {
    for (const char* state : kStates) {
      w.Sample("strobe_bgp_neighbor_state", {{"neighbor", address(n)}, {"state", state}},
               Field(n, "state") == state ? 1.0 : 0.0);
    }
  }
  w.Family("strobe_bgp_neighbor_up", "gauge", "1 when the session is Established.");
  for (const json& n : list) {
    w.Sample("strobe_bgp_neighbor_up", {{"neighbor", address(n)}},
             Field(n, "state") == "established" ? 1.0 : 0.0);
  }
  w.Family("strobe_bgp_neighbor_uptime_seconds", "gauge", "Seconds Established (0: not).");
  for (const json& n : list) {
    w.Sample("strobe_bgp_neighbor_uptime_seconds", {{"neighbor", address(n)}},
             Field(n, "uptime_s"));
  }
  w.Family("strobe_bgp_prefixes_received", "gauge", "Prefixes the neighbor announced to us.");
  for (const json& n : list) {
    w.Sample("strobe_bgp_prefixes_received", {{"neighbor", address(n)}},
             Field(n, "prefixes_received"));
  }
  w.Family("strobe_bgp_prefixes_accepted", "gauge",
           "Prefixes of the neighbor accepted by import policy.");
  for (const json& n : list) {
    w.Sample("strobe_bgp_prefixes_accepted", {{"neighbor", address(n)}},
             Field(n, "prefixes_accepted"));
  }
  w.Family("strobe_bgp_prefixes_installed", "gauge",
           "Prefixes in the kernel FIB forwarding over one of the neighbor's paths.");
  for (const json& n : list) {
    w.Sample("strobe_bgp_prefixes_installed", {{"neighbor", address(n)}},
             Field(n, "prefixes_installed"));
  }
  w.Family("strobe_bgp_neighbor_bfd_up", "gauge",
           "1 when the neighbor's BFD session is Up; absent without BFD.");
  for (const json& n : list) {
    const json& bfd = Field(n, "bfd");
    if (bfd.is_string()) {
      w.Sample("strobe_bgp_neighbor_bfd_up", {{"neighbor", address(n)}}, bfd == "up" ? 1.0 : 0.0);
    }
  }
  const json& peers = Field(summary, "peers");
  if (peers.is_object()) {
    w.Family("strobe_bgp_prefixes_sent", "gauge", "Prefixes advertised to the neighbor.");
    for (const auto& [peer, p] : peers.items()) {
      w.Sample("strobe_bgp_prefixes_sent", {{"neighbor", peer}}, Field(p, "pfx_snt"));
    }
    w.Family("strobe_bgp_messages_total", "counter", "BGP messages received and sent.");
    for (const auto& [peer, p] : peers.items()) {
      w.Sample("strobe_bgp_messages_total", {{"neighbor", peer}, {"direction", "rx"}},
               Field(p, "msg_rcvd"));
      w.Sample("strobe_bgp_messages_total", {{"neighbor", peer}, {"direction", "tx"}},
               Field(p, "msg_sent"));
    }
  }
  w.Family("strobe_bgp_loc_rib_prefixes", "gauge", "Prefixes in the Loc-RIB.");
  w.Sample("strobe_bgp_loc_rib_prefixes", {}, Field(summary, "rib_count"));
  w.Family("strobe_bgp_neighbors", "gauge", "Neighbors, and of them Established.");
  w.Sample("strobe_bgp_neighbors", {{"state", "all"}}, Field(summary, "total_peers"));
  w.Sample("strobe_bgp_neighbors", {{"state", "established"}}, Field(summary, "established_peers"));

  if (!fib.is_object()) return w.text();
  const json& s = Field(fib, "summary");
  w.Family("strobe_fib_routes", "gauge", "Routes of the FIB writer by state.");
  for (const char* state : {"installed", "pending", "failed", "stale"}) {
    w.Sample("strobe_fib_routes", {{"state", state}}, Field(s, state));
  }
  w.Family("strobe_fib_groups", "gauge", "Nexthop groups the FIB writer holds.");
  w.Sample("strobe_fib_groups", {}, Field(s, "groups"));
  w.Family("strobe_fib_nexthops", "gauge", "Gateway nexthop objects the FIB writer holds.");
  w.Sample("strobe_fib_nexthops", {}, Field(s, "nexthops"));
  w.Family("strobe_fib_pending_ops", "gauge", "Route operations not yet sent to the kernel.");
  w.Sample("strobe_fib_pending_ops", {}, Field(s, "pending_ops"));
  const json& c = Field(fib, "counters");
  struct Counter {
    const char* name;
    const char* key;
    const char* help;
  };
  static constexpr Counter kCounters[] = {
      {"strobe_fib_batches_total", "batches", "rtnetlink batches sent (sendmsg calls)."},
      {"strobe_fib_requests_total", "requests", "rtnetlink requests sent."},
      {"strobe_fib_requests_failed_total", "failed", "Requests the kernel refused."},
      {"strobe_fib_routes_set_total", "routes_set", "Route replacements acked."},
      {"strobe_fib_routes_deleted_total", "routes_deleted", "Route deletions acked."},
      {"strobe_fib_groups_set_total", "groups_set", "Nexthop group updates acked."},
      {"strobe_fib_nexthops_set_total", "nexthops_set", "Nexthop updates acked."},
      {"strobe_fib_resyncs_total", "resyncs", "Full resynchronisations with the kernel."},
      {"strobe_fib_lost_acks_total", "lost_acks", "Batches with a lost ack."},
      {"strobe_fib_notification_overruns_total", "notification_overruns",
       "Netlink notification overruns (ENOBUFS)."},
      {"strobe_fib_repairs_total", "repairs", "Objects the kernel lost, queued again."},
      {"strobe_fib_failovers_total", "failovers",
       "Prefix-independent failovers that rewrote at least one group."},
  };
  for (const Counter& k : kCounters) {
    w.Family(k.name, "counter", k.help);
    w.Sample(k.name, {}, Field(c, k.key));
  }
  HistogramSample batches;
  if (AddHistogramJson(Field(fib, "batch_duration"), &batches)) {
    w.Family("strobe_fib_batch_duration_seconds", "histogram",
             "Time the kernel took to execute and ack one rtnetlink batch.");
    w.Histogram("strobe_fib_batch_duration_seconds", {}, batches);
  }
  const json& failover = Field(fib, "last_failover");
  if (failover.is_object()) {
    w.Family("strobe_fib_last_failover_seconds", "gauge",
             "The last failover: from the failure learnt to the kernel's ack of its groups.");
    w.Sample("strobe_fib_last_failover_seconds", {},
             Number(Field(failover, "event_to_ack_us")) / 1e6);
  }
  return w.text();
}

}  // namespace strobe::metrics
