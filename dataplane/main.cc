// strobe-dataplane: the BFD fast path. Reads the appliance's TOML file, runs one pinned worker per
// configured core, and answers strobectl on its control socket.

#include <gflags/gflags.h>
#include <linux/capability.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/str_join.h"
#include "dataplane/dataplane.h"
#include "src/common/capabilities.h"
#include "src/common/file_limit.h"
#include "src/common/logging.h"
#include "src/common/version.h"
#include "src/config/config.h"
#include "src/ipc/control_server.h"
#include "src/metrics/http_server.h"
#include "src/metrics/prometheus.h"

DEFINE_string(config, "", "Path of the appliance's TOML configuration file (required).");
DEFINE_bool(check, false, "Only check the configuration file: exit 0 if valid, 2 if not.");
DEFINE_bool(keep_capabilities, false,
            "Keep every capability the process started with (for debugging: perf, gdb). By "
            "default only CAP_NET_ADMIN and CAP_NET_RAW remain once the interfaces are set up.");
DEFINE_string(log_level, "info", "Least severe log level printed: debug, info, warning, error.");

namespace {

constexpr int kExitRuntimeError = 1;
constexpr int kExitConfigError = 2;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void OnSignal(int) { g_stop.store(true, std::memory_order_release); }
void OnHangup(int) { g_reload.store(true, std::memory_order_release); }

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "strobe-dataplane --config FILE\n\n"
      "Runs the BFD sessions of FILE's [[bfd.session]] tables (RFC 5880, 5881, 5883) on the\n"
      "backend named by [dataplane] backend, one worker thread pinned to each core in\n"
      "[dataplane] workers, and serves strobectl on [dataplane] control_socket.\n\n"
      "SIGHUP (or `strobectl config reload`) re-reads FILE and applies only the difference:\n"
      "sessions added, changed (new timers through a Poll Sequence) or removed; the others\n"
      "are not touched. A file with an error is refused whole and nothing changes.\n\n"
      "Exit status: 0 after SIGTERM/SIGINT (sessions are sent AdminDown first), 1 on a runtime\n"
      "error (a socket, a core), 2 when the configuration is refused (the message names\n"
      "file:line). See docs/config.md.");
  gflags::SetVersionString(strobe::kVersion);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (!strobe::SetLogLevelByName(FLAGS_log_level)) {
    fprintf(stderr, "strobe-dataplane: --log_level must be debug, info, warning or error\n");
    return kExitConfigError;
  }
  if (FLAGS_config.empty()) {
    fprintf(stderr, "strobe-dataplane: --config FILE is required (see --help)\n");
    return kExitConfigError;
  }
  absl::StatusOr<strobe::config::Config> config = strobe::config::LoadConfigFile(FLAGS_config);
  if (!config.ok()) {
    fprintf(stderr, "strobe-dataplane: %s\n", std::string(config.status().message()).c_str());
    return kExitConfigError;
  }
  if (FLAGS_check) {
    printf("%s: OK (%zu BFD sessions, %zu profiles)\n", FLAGS_config.c_str(),
           config->sessions.size(), config->profiles.size());
    return 0;
  }

  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = OnHangup;
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  strobe::RaiseFileLimit();  // a socket per session

  // The socket first: a second instance must fail before it touches interfaces or programs.
  strobe::ipc::ControlServer control;
  absl::Status status =
      control.Listen(config->dataplane.control_socket, config->dataplane.control_socket_group.gid);
  if (!status.ok()) {
    STROBE_LOG(kError, "%s", std::string(status.message()));
    return kExitRuntimeError;
  }
  // The metrics endpoint, if any, served by this (the control) thread from the same views as
  // `show bfd counters` and `show bfd sessions`: never by a worker.
  strobe::metrics::HttpServer metrics;
  if (!config->dataplane.metrics_address.empty()) {
    status = metrics.Listen(config->dataplane.metrics_address);
    if (!status.ok()) {
      STROBE_LOG(kError, "%s", std::string(status.message()));
      return kExitRuntimeError;
    }
  }
  absl::StatusOr<std::unique_ptr<strobe::dataplane::Dataplane>> dataplane =
      strobe::dataplane::Dataplane::Create(*config);
  if (!dataplane.ok()) {
    STROBE_LOG(kError, "%s", std::string(dataplane.status().message()));
    return kExitRuntimeError;
  }
  status = (*dataplane)->Start();
  if (!status.ok()) {
    STROBE_LOG(kError, "%s", std::string(status.message()));
    return kExitRuntimeError;
  }
  // Least privilege: setup (XDP programs, AF_XDP and DPDK ports, real-time workers, locked
  // memory) is done. The steady state still opens kernel sockets for sessions added by a reload
  // or a ring client (SO_BINDTODEVICE: CAP_NET_RAW) and detaches XDP programs at exit and
  // enlarges netlink buffers (CAP_NET_ADMIN).
  if (!FLAGS_keep_capabilities) {
    status = strobe::KeepOnlyCapabilities({CAP_NET_ADMIN, CAP_NET_RAW});
    if (!status.ok()) {
      STROBE_LOG(kError, "%s", std::string(status.message()));
      (*dataplane)->Stop();
      return kExitRuntimeError;
    }
  }
  STROBE_LOG(kInfo, "strobe-dataplane: capabilities kept: %s",
             absl::StrJoin(strobe::EffectiveCapabilityNames(), ","));
  STROBE_LOG(kInfo, "strobe-dataplane: %zu sessions, backend %s, control socket %s",
             config->sessions.size(), config->dataplane.backend, config->dataplane.control_socket);
  control.SetAttachHandlers([&](const nlohmann::json& args) { return (*dataplane)->Attach(args); },
                            [&] { (*dataplane)->Detach(); });
  const strobe::metrics::HttpServer::Renderer render_metrics = [&] {
    absl::StatusOr<nlohmann::json> counters =
        (*dataplane)->HandleCommand("show bfd counters", nlohmann::json::object());
    absl::StatusOr<nlohmann::json> sessions =
        (*dataplane)->HandleCommand("show bfd sessions", nlohmann::json::object());
    return strobe::metrics::RenderDataplane(counters.ok() ? *counters : nlohmann::json(),
                                            sessions.ok() ? *sessions : nlohmann::json());
  };
  if (metrics.fd() >= 0) {
    control.SetExtraFd(metrics.fd(), [&] { metrics.Process(render_metrics); });
    STROBE_LOG(kInfo, "strobe-dataplane: metrics on http://%s/metrics",
               config->dataplane.metrics_address);
  }
  control.Serve(
      [&](const std::string& command, const nlohmann::json& args) {
        return (*dataplane)->HandleCommand(command, args);
      },
      g_stop,
      [&] {
        (*dataplane)->Tick();
        // SIGHUP: the same as `strobectl config reload` (it logs what it did, or why not).
        if (g_reload.exchange(false)) {
          (void)(*dataplane)->HandleCommand("config reload", nlohmann::json::object());
        }
        metrics.Process(render_metrics);  // drops idle connections
      });
  STROBE_LOG(kInfo, "strobe-dataplane: stopping, sending AdminDown to every peer");
  (*dataplane)->Stop();
  return 0;
}
