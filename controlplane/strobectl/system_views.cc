#include "controlplane/strobectl/system_views.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "controlplane/strobectl/table.h"
#include "src/common/version.h"
#include "src/config/config.h"
#include "src/ipc/control_protocol.h"

namespace strobe::ctl {
namespace {

using nlohmann::json;

constexpr int kExitError = 1;
constexpr int kExitConfig = 2;

}  // namespace

int ConfigCheck(const std::string& path, bool as_json) {
  absl::StatusOr<config::Config> c = config::LoadConfigFile(path);
  if (!c.ok()) {
    if (as_json) {
      printf("%s\n",
             json{{"file", path}, {"valid", false}, {"error", std::string(c.status().message())}}
                 .dump(2)
                 .c_str());
    } else {
      fprintf(stderr, "%s\n", std::string(c.status().message()).c_str());
    }
    return kExitConfig;
  }
  const json summary = {{"file", path},
                        {"valid", true},
                        {"bfd_profiles", c->profiles.size()},
                        {"bfd_sessions", c->sessions.size()},
                        {"bgp_neighbors", c->bgp.neighbors.size()},
                        {"bgp_listen_ranges", c->bgp.listen_ranges.size()},
                        {"bgp_networks", c->bgp.networks.size()},
                        {"policies", c->policies.size()},
                        {"fib", c->fib.enabled}};
  if (as_json) {
    printf("%s\n", summary.dump(2).c_str());
  } else {
    printf(
        "%s: OK (%zu BFD profiles, %zu BFD sessions, %zu BGP neighbors, %zu listen ranges, "
        "%zu networks, %zu policies, FIB %s)\n",
        path.c_str(), c->profiles.size(), c->sessions.size(), c->bgp.neighbors.size(),
        c->bgp.listen_ranges.size(), c->bgp.networks.size(), c->policies.size(),
        c->fib.enabled ? "programmed" : "off");
  }
  return 0;
}

int ConfigReload(const std::string& dataplane_socket, const std::string& bgpd_socket, bool as_json,
                 int timeout_ms) {
  json out = json::object();
  int answered = 0, refused = 0;
  for (const auto& [key, socket] :
       {std::pair<const char*, std::string>{"dataplane", dataplane_socket},
        std::pair<const char*, std::string>{"bgpd", bgpd_socket}}) {
    if (socket.empty()) continue;
    absl::StatusOr<json> reply =
        ipc::CallControl(socket, json{{"command", "config reload"}}, timeout_ms);
    if (reply.ok()) {
      // One --socket: the reply says which daemon answered (bgpd names neighbors).
      const bool is_bgpd = reply->contains("neighbors_unchanged");
      out[is_bgpd ? "bgpd" : "dataplane"] = *reply;
      ++answered;
      continue;
    }
    out[key] = nullptr;
    out[std::string(key) + "_error"] = std::string(reply.status().message());
    // A daemon that is not running is reported; one that refused the file fails the command.
    if (reply.status().code() == absl::StatusCode::kInvalidArgument) {
      ++answered;
      ++refused;
    }
  }
  if (as_json) {
    printf("%s\n", out.dump(2).c_str());
  } else {
    for (const char* key : {"dataplane", "bgpd"}) {
      const std::string name = key == std::string("dataplane") ? "strobe-dataplane" : "strobe-bgpd";
      if (!out.contains(key)) continue;
      const json& v = out[key];
      if (v.is_null()) {
        printf("%-17s %s\n", name.c_str(),
               out[std::string(key) + "_error"].get<std::string>().c_str());
        continue;
      }
      // Each daemon names its own objects: sessions_* (dataplane), neighbors_* (bgpd).
      const char* noun = v.contains("sessions_unchanged") ? "sessions" : "neighbors";
      auto count = [&](const char* what) -> size_t {
        const json& field = v[absl::StrCat(noun, "_", what)];
        return field.is_array() ? field.size() : field.get<size_t>();
      };
      printf("%-17s reloaded %s: %s %zu added, %zu changed, %zu removed, %zu unchanged\n",
             name.c_str(), v.value("config", "").c_str(), noun, count("added"), count("changed"),
             count("removed"), count("unchanged"));
      if (v.contains("restart_required") && !v["restart_required"].empty()) {
        printf("%-17s not applied until a restart: %s\n", "",
               absl::StrJoin(v["restart_required"].get<std::vector<std::string>>(), ", ").c_str());
      }
    }
  }
  if (refused > 0) return kExitConfig;
  return answered > 0 ? 0 : kExitError;
}

int ShowVersion(const std::string& dataplane_socket, const std::string& bgpd_socket, bool as_json,
                int timeout_ms) {
  json out = {{"strobectl", kVersion}};
  int answered = 0;
  for (const auto& [key, socket] :
       {std::pair<const char*, std::string>{"dataplane", dataplane_socket},
        std::pair<const char*, std::string>{"bgpd", bgpd_socket}}) {
    if (socket.empty()) continue;
    absl::StatusOr<json> reply =
        ipc::CallControl(socket, json{{"command", "show version"}}, timeout_ms);
    if (reply.ok()) {
      out[key] = *reply;
      ++answered;
    } else {
      out[key] = nullptr;
      out[std::string(key) + "_error"] = std::string(reply.status().message());
    }
  }
  if (as_json) {
    printf("%s\n", out.dump(2).c_str());
  } else {
    printf("strobectl %s\n", kVersion);
    for (const char* key : {"dataplane", "bgpd"}) {
      if (!out.contains(key)) continue;
      const json& v = out[key];
      if (v.is_null()) {
        printf("%-17s not answering: %s\n",
               key == std::string("dataplane") ? "strobe-dataplane" : "strobe-bgpd",
               out[std::string(key) + "_error"].get<std::string>().c_str());
        continue;
      }
      printf("%-17s %s, pid %lld, up %s\n", v["daemon"].get<std::string>().c_str(),
             v["version"].get<std::string>().c_str(), v["pid"].get<long long>(),
             FormatDuration(v["uptime_s"].get<long long>()).c_str());
    }
  }
  return answered > 0 ? 0 : kExitError;
}

int ShowWorkers(const std::string& dataplane_socket, bool as_json, int timeout_ms,
                int interval_ms) {
  const json request = {{"command", "show bfd counters"}};
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<json> first = ipc::CallControl(dataplane_socket, request, timeout_ms);
  if (!first.ok()) {
    fprintf(stderr, "strobectl: %s\n", std::string(first.status().message()).c_str());
    return kExitError;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));  // the sampling period
  absl::StatusOr<json> second = ipc::CallControl(dataplane_socket, request, timeout_ms);
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!second.ok()) {
    fprintf(stderr, "strobectl: %s\n", std::string(second.status().message()).c_str());
    return kExitError;
  }
  json workers = json::array();
  const json& a = (*first)["workers"];
  const json& b = (*second)["workers"];
  for (size_t i = 0; i < b.size() && i < a.size(); ++i) {
    auto delta = [&](const char* key) {
      return static_cast<double>(b[i].value(key, uint64_t{0})) -
             static_cast<double>(a[i].value(key, uint64_t{0}));
    };
    const double cpu_ms =
        (b[i].value("cpu_ns", int64_t{0}) - a[i].value("cpu_ns", int64_t{0})) / 1e6;
    workers.push_back({{"worker", b[i]["worker"]},
                       {"core", b[i]["core"]},
                       {"sessions", b[i]["sessions"]},
                       {"sessions_up", b[i]["sessions_by_state"]["up"]},
                       {"timers_armed", b[i]["timers_armed"]},
                       {"rx_per_ms", delta("rx_packets") / elapsed_ms},
                       {"tx_per_ms", delta("tx_packets") / elapsed_ms},
                       {"busy_percent", 100.0 * cpu_ms / elapsed_ms},
                       {"timer_late_max_us", b[i]["timer_late_max_us"]}});
  }
  const json out = {
      {"interval_ms", elapsed_ms}, {"backend", (*second)["backend"]}, {"workers", workers}};
  if (as_json) {
    printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  Table t({"Worker", "Core", "Sessions", "Up", "Timers", "RX/ms", "TX/ms", "Busy%",
           "TimerLateMax(us)"});
  for (const json& w : workers) {
    t.AddRow({std::to_string(w["worker"].get<int>()), std::to_string(w["core"].get<int>()),
              std::to_string(w["sessions"].get<long long>()),
              std::to_string(w["sessions_up"].get<long long>()),
              std::to_string(w["timers_armed"].get<long long>()),
              absl::StrFormat("%.1f", w["rx_per_ms"].get<double>()),
              absl::StrFormat("%.1f", w["tx_per_ms"].get<double>()),
              absl::StrFormat("%.1f", w["busy_percent"].get<double>()),
              std::to_string(w["timer_late_max_us"].get<long long>())});
  }
  printf("Backend %s, sampled over %.0f ms\n%s", out["backend"].get<std::string>().c_str(),
         elapsed_ms, t.Render().c_str());
  return 0;
}

}  // namespace strobe::ctl
