// strobectl: show and set over the daemons' control sockets. Every command has --json.

#include <gflags/gflags.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "controlplane/strobectl/bgp_views.h"
#include "controlplane/strobectl/fib_views.h"
#include "controlplane/strobectl/system_views.h"
#include "controlplane/strobectl/table.h"
#include "src/common/version.h"
#include "src/config/config.h"
#include "src/ipc/control_protocol.h"

DEFINE_string(config, "", "The appliance's TOML file: the control sockets are read from it.");
DEFINE_string(socket, "",
              "The control socket of the daemon the command is for (overrides --config): "
              "strobe-dataplane for bfd commands, strobe-bgpd for bgp commands.");
DEFINE_bool(json, false, "Print the daemon's JSON reply instead of a table.");
DEFINE_int32(timeout_ms, 5000, "How long to wait for the daemon's reply.");
DEFINE_int32(interval_ms, 1000, "show workers: the sampling period for rates and busy %.");

namespace {

using nlohmann::json;
using strobe::ctl::FormatDuration;
using strobe::ctl::Table;

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

const char kUsage[] =
    "strobectl [--config FILE | --socket PATH] [--json] COMMAND\n\n"
    "BFD commands (strobe-dataplane):\n"
    "  show bfd sessions [state STATE] [interface IF] [peer ADDR|PREFIX]\n"
    "                               every BFD session, one line each; the filters combine\n"
    "  show bfd session PEER [local ADDR] [interface IF] [multihop]\n"
    "                               one session (or all to PEER) in detail\n"
    "  show bfd counters            packets, errors and drops by reason, per worker\n"
    "  set bfd session PEER admin-down|up\n"
    "                               administratively disable or enable the sessions to PEER\n"
    "  show workers                 per dataplane worker: core, sessions, timers armed (wheel\n"
    "                               load), packets per ms, busy %, sampled over --interval_ms\n\n"
    "BGP commands (strobe-bgpd):\n"
    "  show bgp summary             every neighbor, one line each, like FRR's show bgp summary\n"
    "  show bgp neighbors [ADDR]    neighbors in detail: state, capabilities, counters,\n"
    "                               last NOTIFICATION sent and received, BFD\n"
    "  show bgp routes [PREFIX|ADDR]\n"
    "                               the Loc-RIB: every path, best (>) and multipath (=);\n"
    "                               an address shows the longest prefix covering it\n"
    "  clear bgp neighbor ADDR|* [soft in|out]\n"
    "                               reset the session (Cease/Administrative Reset), or ask for\n"
    "                               the neighbor's routes again (soft in: ROUTE-REFRESH), or\n"
    "                               send ours again (soft out)\n"
    "  show fib [PREFIX|summary]    the kernel FIB as strobe-bgpd programs it: nexthop groups\n"
    "                               and members, routes with their state (installed, pending,\n"
    "                               failed with the kernel's error, stale), request counters\n\n"
    "Appliance commands:\n"
    "  config check FILE            parse FILE as both daemons do: a summary, or FILE:LINE and\n"
    "                               the error (exit status 2)\n"
    "  config reload                both daemons re-read their file (as on SIGHUP) and apply\n"
    "                               only the difference; unchanged sessions and neighbors are\n"
    "                               not touched. A file with an error is refused whole (exit\n"
    "                               status 2) and nothing changes\n"
    "  show version                 strobectl's version and both daemons' (version, pid, "
    "uptime)\n\n"
    "With --config the control socket is read from the file: [dataplane] control_socket for\n"
    "bfd commands, [controlplane] control_socket for bgp commands; otherwise --socket, or the\n"
    "defaults /run/strobe/strobe.sock and /run/strobe/bgpd.sock. --json prints the reply as\n"
    "JSON (stable keys, documented in docs/config.md and docs/architecture.md). Exit status: 0\n"
    "on success, 1 when the daemon is unreachable or refuses, 2 on a usage error.";

std::string Ms(uint64_t us) {
  if (us % 1000 == 0) return absl::StrFormat("%d", us / 1000);
  return absl::StrFormat("%.1f", static_cast<double>(us) / 1000.0);
}

uint64_t TotalDrops(const json& drops) {
  uint64_t total = 0;
  for (const auto& [reason, count] : drops.items()) total += count.get<uint64_t>();
  return total;
}

void PrintSessions(const json& sessions) {
  Table t({"Peer", "Local", "Interface", "Type", "State", "Up/Down", "LocalDisc", "RemoteDisc",
           "Diag", "TX(ms)", "RX(ms)", "Mult", "Detect(ms)", "RxPkts", "TxPkts", "Drops"});
  for (const json& s : sessions) {
    const bool up = s["state"] == "up";
    t.AddRow(
        {s["peer"], s["local"],
         s["interface"].get<std::string>().empty() ? "-" : s["interface"].get<std::string>(),
         s["multihop"].get<bool>() ? "multihop" : "single-hop", s["state"],
         FormatDuration(up ? s["uptime_s"].get<long long>() : s["downtime_s"].get<long long>()),
         std::to_string(s["local_discriminator"].get<uint32_t>()),
         std::to_string(s["remote_discriminator"].get<uint32_t>()),
         std::to_string(s["local_diag"].get<int>()), Ms(s["tx_interval_us"].get<uint64_t>()),
         Ms(s["rx_interval_us"].get<uint64_t>()), std::to_string(s["detect_mult"].get<int>()),
         Ms(s["detect_time_us"].get<uint64_t>()), std::to_string(s["rx_packets"].get<uint64_t>()),
         std::to_string(s["tx_packets"].get<uint64_t>()),
         std::to_string(TotalDrops(s["rx_dropped"]))});
  }
  printf("%s", t.Render().c_str());
}

void PrintSessionDetail(const json& s) {
  printf("peer %s local-address %s%s\n", s["peer"].get<std::string>().c_str(),
         s["local"].get<std::string>().c_str(),
         s["multihop"].get<bool>() ? " multihop"
                                   : (" interface " + s["interface"].get<std::string>()).c_str());
  printf("\tID: %u\n\tRemote ID: %u\n", s["local_discriminator"].get<uint32_t>(),
         s["remote_discriminator"].get<uint32_t>());
  printf("\tStatus: %s\n", s["state"].get<std::string>().c_str());
  if (s["state"] == "up") {
    printf("\tUptime: %s\n", FormatDuration(s["uptime_s"].get<long long>()).c_str());
  } else {
    printf("\tDowntime: %s\n", FormatDuration(s["downtime_s"].get<long long>()).c_str());
  }
  printf("\tDiagnostics: %d (%s)\n\tRemote diagnostics: %d (%s)\n", s["local_diag"].get<int>(),
         s["local_diag_text"].get<std::string>().c_str(), s["remote_diag"].get<int>(),
         s["remote_diag_text"].get<std::string>().c_str());
  printf("\tRemote state: %s\n", s["remote_state"].get<std::string>().c_str());
  printf("\tProfile: %s%s\n\tAuthentication: %s\n", s["profile"].get<std::string>().c_str(),
         s["passive"].get<bool>() ? " (passive)" : "", s["auth_type"].get<std::string>().c_str());
  printf(
      "\tLocal timers:\n\t\tDetect-multiplier: %d\n\t\tReceive interval: %sms\n"
      "\t\tTransmission interval: %sms\n\t\tEcho receive interval: disabled\n",
      s["detect_mult"].get<int>(), Ms(s["required_min_rx_us"].get<uint64_t>()).c_str(),
      Ms(s["desired_min_tx_us"].get<uint64_t>()).c_str());
  printf(
      "\tRemote timers:\n\t\tDetect-multiplier: %d\n\t\tReceive interval: %sms\n"
      "\t\tTransmission interval: %sms\n",
      s["remote_detect_mult"].get<int>(),
      Ms(s["remote_required_min_rx_us"].get<uint64_t>()).c_str(),
      Ms(s["remote_desired_min_tx_us"].get<uint64_t>()).c_str());
  printf("\tNegotiated: transmit %sms, receive %sms, detection time %sms%s\n",
         Ms(s["tx_interval_us"].get<uint64_t>()).c_str(),
         Ms(s["rx_interval_us"].get<uint64_t>()).c_str(),
         Ms(s["detect_time_us"].get<uint64_t>()).c_str(),
         s["poll_in_progress"].get<bool>() ? " (poll sequence in progress)" : "");
  printf("\tLast detection latency: %sms\n",
         Ms(s["last_detection_latency_us"].get<uint64_t>()).c_str());
  printf("\tCounters: up %llu, down %llu, rx %llu, tx %llu, tx errors %llu, poll sequences %llu\n",
         s["up_transitions"].get<unsigned long long>(),
         s["down_transitions"].get<unsigned long long>(), s["rx_packets"].get<unsigned long long>(),
         s["tx_packets"].get<unsigned long long>(), s["tx_errors"].get<unsigned long long>(),
         s["poll_sequences"].get<unsigned long long>());
  std::vector<std::string> drops;
  for (const auto& [reason, count] : s["rx_dropped"].items()) {
    if (count.get<uint64_t>() > 0)
      drops.push_back(absl::StrFormat("%s %d", reason, count.get<uint64_t>()));
  }
  printf("\tDropped: %s\n\n", drops.empty() ? "none" : absl::StrJoin(drops, ", ").c_str());
}

void PrintCounters(const json& c) {
  printf("Backend %s, up %s, %llu sessions: rx %llu, tx %llu, tx errors %llu\n\n",
         c["backend"].get<std::string>().c_str(),
         FormatDuration(c["uptime_s"].get<long long>()).c_str(),
         c["sessions"].get<unsigned long long>(), c["rx_packets"].get<unsigned long long>(),
         c["tx_packets"].get<unsigned long long>(), c["tx_errors"].get<unsigned long long>());
  if (c.contains("xdp")) {
    const json& x = c["xdp"];
    printf(
        "XDP (%s mode on %s): %llu absorbed in the kernel, %llu to user space, %llu ring full, "
        "%llu passed to the kernel\n\n",
        x["mode"].get<std::string>().c_str(),
        absl::StrJoin(x["interfaces"].get<std::vector<std::string>>(), ",").c_str(),
        x["absorbed"].get<unsigned long long>(), x["to_user"].get<unsigned long long>(),
        x["ring_full"].get<unsigned long long>(), x["passed"].get<unsigned long long>());
  }
  Table workers({"Worker", "Core", "Sessions", "Up", "RxPkts", "TxPkts", "TxAfXdp", "TxErrors",
                 "HandedOff", "Drops", "TimerLateMax(us)"});
  for (const json& w : c["workers"]) {
    workers.AddRow({std::to_string(w["worker"].get<int>()), std::to_string(w["core"].get<int>()),
                    std::to_string(w["sessions"].get<uint64_t>()),
                    std::to_string(w["sessions_by_state"]["up"].get<int>()),
                    std::to_string(w["rx_packets"].get<uint64_t>()),
                    std::to_string(w["tx_packets"].get<uint64_t>()),
                    std::to_string(w.value("tx_af_xdp", uint64_t{0})),
                    std::to_string(w["tx_errors"].get<uint64_t>()),
                    std::to_string(w["handed_off"].get<uint64_t>()),
                    std::to_string(TotalDrops(w["rx_dropped"])),
                    std::to_string(w.value("timer_late_max_us", int64_t{0}))});
  }
  printf("%s\n", workers.Render().c_str());
  Table drops({"Drop reason", "Packets"});
  for (const auto& [reason, count] : c["rx_dropped"].items()) {
    drops.AddRow({reason, std::to_string(count.get<uint64_t>())});
  }
  printf("%s", drops.Render().c_str());
}

// The control socket of the dataplane (bgp = false) or of strobe-bgpd: --socket, else the
// config file's, else the default. Empty when --config cannot be read (the error is printed).
std::string SocketFor(bool bgp) {
  if (!FLAGS_socket.empty()) return FLAGS_socket;
  if (!FLAGS_config.empty()) {
    absl::StatusOr<strobe::config::Config> config = strobe::config::LoadConfigFile(FLAGS_config);
    if (!config.ok()) {
      fprintf(stderr, "strobectl: %s\n", std::string(config.status().message()).c_str());
      return "";
    }
    return bgp ? config->controlplane.control_socket : config->dataplane.control_socket;
  }
  return std::string(bgp ? strobe::config::kDefaultControlplaneSocket
                         : strobe::config::kDefaultDataplaneSocket);
}

int Usage(const std::string& why) {
  fprintf(stderr, "strobectl: %s\n\n%s\n", why.c_str(), kUsage);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(kUsage);
  gflags::SetVersionString(strobe::kVersion);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  std::vector<std::string> words(argv + 1, argv + argc);

  auto is = [&words](std::initializer_list<const char*> prefix) {
    if (words.size() < prefix.size()) return false;
    size_t i = 0;
    for (const char* w : prefix) {
      if (words[i++] != w) return false;
    }
    return true;
  };

  // Commands about the appliance as a whole.
  if (is({"config", "check"})) {
    if (words.size() != 3) return Usage("usage: config check FILE");
    return strobe::ctl::ConfigCheck(words[2], FLAGS_json);
  }
  if (is({"config", "reload"}) && words.size() == 2) {
    if (!FLAGS_socket.empty()) {
      return strobe::ctl::ConfigReload(FLAGS_socket, "", FLAGS_json, FLAGS_timeout_ms);
    }
    const std::string dataplane = SocketFor(false), bgpd = SocketFor(true);
    if (dataplane.empty() || bgpd.empty()) return kExitUsage;
    return strobe::ctl::ConfigReload(dataplane, bgpd, FLAGS_json, FLAGS_timeout_ms);
  }
  if (is({"show", "version"}) && words.size() == 2) {
    if (!FLAGS_socket.empty()) {
      return strobe::ctl::ShowVersion(FLAGS_socket, "", FLAGS_json, FLAGS_timeout_ms);
    }
    const std::string dataplane = SocketFor(false), bgpd = SocketFor(true);
    if (dataplane.empty() || bgpd.empty()) return kExitUsage;
    return strobe::ctl::ShowVersion(dataplane, bgpd, FLAGS_json, FLAGS_timeout_ms);
  }
  if (is({"show", "workers"}) && words.size() == 2) {
    const std::string dataplane = SocketFor(false);
    if (dataplane.empty()) return kExitUsage;
    if (FLAGS_interval_ms < 10 || FLAGS_interval_ms > 60000) {
      return Usage("--interval_ms must be 10..60000");
    }
    return strobe::ctl::ShowWorkers(dataplane, FLAGS_json, FLAGS_timeout_ms, FLAGS_interval_ms);
  }

  json request;
  enum class View {
    kSessions,
    kSessionDetail,
    kCounters,
    kSet,
    kBgpSummary,
    kBgpNeighbors,
    kBgpRoutes,
    kBgpClear,
    kFib
  } view;
  bool bgp = false;
  if (is({"show", "bgp", "summary"}) && words.size() == 3) {
    request = {{"command", "show bgp summary"}};
    view = View::kBgpSummary;
    bgp = true;
  } else if (is({"show", "bgp", "neighbors"}) || is({"show", "bgp", "neighbor"})) {
    if (words.size() > 4) return Usage("show bgp neighbors takes at most one address");
    request = {{"command", "show bgp neighbors"}, {"args", json::object()}};
    if (words.size() == 4) request["args"]["address"] = words[3];
    view = View::kBgpNeighbors;
    bgp = true;
  } else if (is({"show", "bgp", "routes"}) || is({"show", "bgp", "route"})) {
    if (words.size() > 4) return Usage("show bgp routes takes at most one prefix or address");
    request = {{"command", "show bgp routes"}, {"args", json::object()}};
    if (words.size() == 4) request["args"]["prefix"] = words[3];
    view = View::kBgpRoutes;
    bgp = true;
  } else if (is({"clear", "bgp", "neighbor"}) || is({"clear", "bgp", "neighbors"})) {
    if (words.size() != 4 &&
        !(words.size() == 6 && words[4] == "soft" && (words[5] == "in" || words[5] == "out"))) {
      return Usage("usage: clear bgp neighbor ADDR|* [soft in|out]");
    }
    request = {{"command", "clear bgp neighbor"}, {"args", {{"address", words[3]}}}};
    if (words.size() == 6) request["args"]["soft"] = words[5];
    view = View::kBgpClear;
    bgp = true;
  } else if (is({"show", "fib"})) {
    request = {{"command", "show fib"}, {"args", json::object()}};
    if (words.size() == 3 && words[2] == "summary") {
      request["args"]["summary"] = true;
    } else if (words.size() == 3) {
      request["args"]["prefix"] = words[2];
    } else if (words.size() > 3) {
      return Usage("show fib takes at most one prefix, or \"summary\"");
    }
    view = View::kFib;
    bgp = true;
  } else if (is({"show", "bfd", "sessions"}) || is({"show", "bfd", "peers"})) {
    request = {{"command", "show bfd sessions"}, {"args", json::object()}};
    for (size_t i = 3; i < words.size(); i += 2) {
      if (i + 1 >= words.size() ||
          (words[i] != "state" && words[i] != "interface" && words[i] != "peer")) {
        return Usage("unknown filter \"" + words[i] + "\"");
      }
      request["args"][words[i]] = words[i + 1];
    }
    view = View::kSessions;
  } else if (is({"show", "bfd", "session"}) || is({"show", "bfd", "peer"})) {
    if (words.size() < 4) return Usage("show bfd session needs a PEER address");
    request = {{"command", "show bfd session"}, {"args", {{"peer", words[3]}}}};
    for (size_t i = 4; i < words.size(); ++i) {
      if (words[i] == "multihop") {
        request["args"]["multihop"] = true;
      } else if ((words[i] == "local" || words[i] == "interface") && i + 1 < words.size()) {
        request["args"][words[i]] = words[i + 1];
        ++i;
      } else {
        return Usage("unexpected \"" + words[i] + "\"");
      }
    }
    view = View::kSessionDetail;
  } else if (is({"show", "bfd", "counters"})) {
    request = {{"command", "show bfd counters"}};
    view = View::kCounters;
  } else if (is({"set", "bfd", "session"}) && words.size() == 5 &&
             (words[4] == "admin-down" || words[4] == "up")) {
    request = {{"command", "set bfd session"}, {"args", {{"peer", words[3]}, {"state", words[4]}}}};
    view = View::kSet;
  } else {
    return Usage(words.empty() ? "no command given"
                               : "unknown command \"" + absl::StrJoin(words, " ") + "\"");
  }

  std::string socket = FLAGS_socket;
  if (socket.empty() && !FLAGS_config.empty()) {
    absl::StatusOr<strobe::config::Config> config = strobe::config::LoadConfigFile(FLAGS_config);
    if (!config.ok()) {
      fprintf(stderr, "strobectl: %s\n", std::string(config.status().message()).c_str());
      return kExitUsage;
    }
    socket = bgp ? config->controlplane.control_socket : config->dataplane.control_socket;
  }
  if (socket.empty()) {
    socket = std::string(bgp ? strobe::config::kDefaultControlplaneSocket
                             : strobe::config::kDefaultDataplaneSocket);
  }

  absl::StatusOr<json> reply = strobe::ipc::CallControl(socket, request, FLAGS_timeout_ms);
  if (!reply.ok()) {
    fprintf(stderr, "strobectl: %s\n", std::string(reply.status().message()).c_str());
    return kExitError;
  }
  if (FLAGS_json) {
    printf("%s\n", reply->dump(2).c_str());
    return 0;
  }
  switch (view) {
    case View::kSessions:
      PrintSessions(*reply);
      break;
    case View::kSessionDetail:
      for (const json& s : *reply) PrintSessionDetail(s);
      break;
    case View::kCounters:
      PrintCounters(*reply);
      break;
    case View::kSet:
      printf("%d session(s) changed\n", (*reply)["sessions_changed"].get<int>());
      break;
    case View::kBgpSummary:
      printf("%s", strobe::ctl::FormatBgpSummary(*reply).c_str());
      break;
    case View::kBgpNeighbors:
      printf("%s", strobe::ctl::FormatBgpNeighbors(*reply).c_str());
      break;
    case View::kBgpRoutes:
      printf("%s", strobe::ctl::FormatBgpRoutes(*reply).c_str());
      break;
    case View::kFib:
      printf("%s", strobe::ctl::FormatFib(*reply).c_str());
      break;
    case View::kBgpClear:
      printf("%d neighbor(s) cleared\n", (*reply)["neighbors_cleared"].get<int>());
      break;
  }
  return 0;
}
