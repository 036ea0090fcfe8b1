// strobe-bgpd: the BGP speaker of the appliance. Reads [bgp] (and [controlplane], [dataplane],
// [[bfd.profile]], [[policy]]) from the TOML file, peers with its neighbors, selects best paths
// and ECMP sets, and serves `strobectl show bgp ...` on [controlplane] control_socket. SIGHUP (or
// `strobectl config reload`) applies the file's differences without touching the rest.

#include <gflags/gflags.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_join.h"
#include "controlplane/bgpd/control_bridge.h"
#include "controlplane/bgpd/event_loop.h"
#include "controlplane/bgpd/fib_sink.h"
#include "controlplane/bgpd/kernel_fib_sink.h"
#include "controlplane/bgpd/speaker.h"
#include "src/common/capabilities.h"
#include "src/common/clock.h"
#include "src/common/logging.h"
#include "src/common/version.h"
#include "src/config/config.h"
#include "src/metrics/http_server.h"
#include "src/metrics/prometheus.h"

DEFINE_string(config, "", "Path of the appliance's TOML configuration file (required).");
DEFINE_bool(check, false, "Only check the configuration file: exit 0 if valid, 2 if not.");
DEFINE_bool(keep_capabilities, false,
            "Keep every capability the process started with (for debugging). By default only "
            "CAP_NET_ADMIN (netlink routes) and CAP_NET_BIND_SERVICE (port 179) remain once the "
            "listeners and the FIB are set up.");
DEFINE_string(log_level, "info", "Least severe log level printed: debug, info, warning, error.");
DEFINE_int32(connect_port, 179,
             "TCP port of the neighbors for outgoing connections (tests run peers elsewhere).");
DEFINE_int32(idle_hold_ms, 5000,
             "Idle hold time after a session drops (RFC 4271 DampPeerOscillations), doubled for "
             "each consecutive drop up to --idle_hold_max_ms.");
DEFINE_int32(idle_hold_max_ms, 120000, "Longest idle hold time.");

namespace {

constexpr int kExitRuntimeError = 1;
constexpr int kExitConfigError = 2;
constexpr int64_t kShutdownFlushNs = 2 * strobe::kNsPerSec;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_keep_fib{false};
strobe::bgpd::EventLoop* g_loop = nullptr;
int g_reload_fd = -1;  // an eventfd: SIGHUP counts on it, the event loop reloads

void OnSignal(int signum) {
  if (signum == SIGHUP) {
    const uint64_t one = 1;
    ssize_t unused = write(g_reload_fd, &one, sizeof(one));
    (void)unused;
    return;
  }
  if (signum == SIGUSR2) g_keep_fib.store(true, std::memory_order_release);
  g_stop.store(true, std::memory_order_release);
  if (g_loop != nullptr) g_loop->Wake();
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "strobe-bgpd --config FILE [--check] [--log_level LEVEL]\n\n"
      "The BGP-4 speaker of Strobe (RFC 4271 with 4760, 5492, 6793, 7606, 7911, 8654, 8950,\n"
      "2918/7313 route refresh, 4724 graceful-restart helper, 2385 TCP-MD5, 5082 GTSM). Peers\n"
      "with FILE's [[bgp.neighbor]]s and accepts dynamic neighbors from [[bgp.listen_range]]s,\n"
      "announces [[bgp.network]]s, selects best paths and ECMP sets (max_paths,\n"
      "multipath_relax), and protects neighbors that name a bfd_profile with a BFD session in\n"
      "strobe-dataplane ([dataplane] control_socket): BFD Down closes the session at once with\n"
      "NOTIFICATION Cease/BFD Down and withdraws its routes. Serves `strobectl show bgp ...` on\n"
      "[controlplane] control_socket.\n\n"
      "Programs the Loc-RIB into the kernel ([fib]: nexthop groups shared by every route with\n"
      "the same ECMP set; a neighbor's failure rewrites its groups before any route).\n\n"
      "Signals: SIGTERM/SIGINT stop (every neighbor is sent Cease/Administrative Shutdown and\n"
      "our routes leave the kernel); SIGUSR2 is a graceful stop: routes stay in the kernel and\n"
      "the next strobe-bgpd adopts them without a blink, removing those nobody announces again\n"
      "after [fib] stale_timeout_s. SIGHUP reloads FILE (as `strobectl config reload`): only\n"
      "what changed is applied (neighbors added, removed or changed; networks; policies), the\n"
      "sessions of unchanged neighbors are not touched; a file with an error is refused whole\n"
      "and nothing changes; settings that need a restart (bgp.asn, bgp.router_id, bgp.listen,\n"
      "[fib], the sockets) are logged. One log line tells the outcome.\n\n"
      "Exit status: 0 after SIGTERM/SIGINT/SIGUSR2, 1 on a runtime error (a socket or the\n"
      "FIB's netlink), 2 when the configuration is refused (the message names file:line).\n"
      "See docs/config.md.");
  gflags::SetVersionString(strobe::kVersion);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (!strobe::SetLogLevelByName(FLAGS_log_level)) {
    fprintf(stderr, "strobe-bgpd: --log_level must be debug, info, warning or error\n");
    return kExitConfigError;
  }
  if (FLAGS_config.empty()) {
    fprintf(stderr, "strobe-bgpd: --config FILE is required (see --help)\n");
    return kExitConfigError;
  }
  absl::StatusOr<strobe::config::Config> config = strobe::config::LoadConfigFile(FLAGS_config);
  if (!config.ok()) {
    fprintf(stderr, "strobe-bgpd: %s\n", std::string(config.status().message()).c_str());
    return kExitConfigError;
  }
  if (config->path.empty()) config->path = FLAGS_config;
  if (FLAGS_connect_port <= 0 || FLAGS_connect_port > 65535 || FLAGS_idle_hold_ms < 0) {
    fprintf(stderr, "strobe-bgpd: bad --connect_port or --idle_hold_ms\n");
    return kExitConfigError;
  }

  strobe::bgpd::EventLoop loop;
  std::unique_ptr<strobe::bgpd::KernelFibSink> kernel_fib;
  strobe::bgpd::LoggingFibSink logging_fib;
  if (config->fib.enabled && !FLAGS_check) {
    absl::StatusOr<std::unique_ptr<strobe::bgpd::KernelFibSink>> sink =
        strobe::bgpd::KernelFibSink::Create(&loop, config->fib);
    if (!sink.ok()) {
      fprintf(stderr, "strobe-bgpd: fib: %s\n", std::string(sink.status().message()).c_str());
      return kExitRuntimeError;
    }
    kernel_fib = *std::move(sink);
  }
  strobe::bgpd::FibSink& fib =
      kernel_fib ? static_cast<strobe::bgpd::FibSink&>(*kernel_fib) : logging_fib;
  strobe::bgpd::SpeakerOptions options;
  options.connect_port = static_cast<uint16_t>(FLAGS_connect_port);
  options.idle_hold_ns = int64_t{FLAGS_idle_hold_ms} * strobe::kNsPerMs;
  options.idle_hold_max_ns = int64_t{FLAGS_idle_hold_max_ms} * strobe::kNsPerMs;
  const std::string control_socket = config->controlplane.control_socket;
  const int control_socket_gid = config->controlplane.control_socket_group.gid;
  const std::string metrics_address = config->controlplane.metrics_address;
  const size_t neighbors = config->bgp.neighbors.size();
  const size_t ranges = config->bgp.listen_ranges.size();
  const size_t networks = config->bgp.networks.size();
  absl::StatusOr<std::unique_ptr<strobe::bgpd::Speaker>> speaker =
      strobe::bgpd::Speaker::Create(&loop, *std::move(config), options, &fib);
  if (!speaker.ok()) {
    fprintf(stderr, "%s\n", std::string(speaker.status().message()).c_str());
    return kExitConfigError;
  }
  if (FLAGS_check) {
    printf("%s: OK (%zu neighbors, %zu listen ranges, %zu networks)\n", FLAGS_config.c_str(),
           neighbors, ranges, networks);
    return 0;
  }

  g_loop = &loop;
  g_reload_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (g_reload_fd < 0) {
    fprintf(stderr, "strobe-bgpd: eventfd: %s\n", strerror(errno));
    return kExitRuntimeError;
  }
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGUSR2, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // The control socket first: a second instance must fail before it touches port 179.
  strobe::bgpd::ControlBridge control(&loop, speaker->get());
  absl::Status status = control.Start(control_socket, control_socket_gid, g_stop);
  // The metrics endpoint is served on the event loop, rendered from the same views as
  // `show bgp summary`, `show bgp neighbors` and `show fib`.
  strobe::metrics::HttpServer metrics;
  if (status.ok() && !metrics_address.empty()) status = metrics.Listen(metrics_address);
  if (status.ok()) status = (*speaker)->Start();
  if (!status.ok()) {
    STROBE_LOG(kError, "%s", std::string(status.message()));
    g_stop.store(true);
    while (!control.finished()) loop.RunOnce(10 * strobe::kNsPerMs);
    return kExitRuntimeError;
  }
  // Least privilege: the steady state writes routes (CAP_NET_ADMIN) and may listen on port 179
  // at another address after a reload (CAP_NET_BIND_SERVICE); nothing else.
  if (!FLAGS_keep_capabilities) {
    status = strobe::KeepOnlyCapabilities({CAP_NET_ADMIN, CAP_NET_BIND_SERVICE});
    if (!status.ok()) {
      STROBE_LOG(kError, "%s", std::string(status.message()));
      g_stop.store(true);
      while (!control.finished()) loop.RunOnce(10 * strobe::kNsPerMs);
      return kExitRuntimeError;
    }
  }
  STROBE_LOG(kInfo, "strobe-bgpd: capabilities kept: %s",
             absl::StrJoin(strobe::EffectiveCapabilityNames(), ","));
  STROBE_LOG(kInfo, "strobe-bgpd: AS %d, %zu neighbors, %zu listen ranges, control socket %s",
             (*speaker)->local_as(), neighbors, ranges, control_socket);
  const strobe::metrics::HttpServer::Renderer render_metrics = [&] {
    strobe::bgpd::Speaker& sp = **speaker;
    const nlohmann::json none = nlohmann::json::object();
    absl::StatusOr<nlohmann::json> summary = sp.HandleCommand("show bgp summary", none);
    absl::StatusOr<nlohmann::json> neighbor_list = sp.HandleCommand("show bgp neighbors", none);
    absl::StatusOr<nlohmann::json> fib_json = sp.HandleCommand("show fib", {{"summary", true}});
    return strobe::metrics::RenderBgpd(summary.ok() ? *summary : nlohmann::json(),
                                       neighbor_list.ok() ? *neighbor_list : nlohmann::json(),
                                       fib_json.ok() ? *fib_json : nlohmann::json());
  };
  if (metrics.fd() >= 0) {
    loop.Add(metrics.fd(), EPOLLIN, [&](uint32_t) { metrics.Process(render_metrics); });
    STROBE_LOG(kInfo, "strobe-bgpd: metrics on http://%s/metrics", metrics_address);
  }
  // SIGHUP: the configuration file read again and applied as a difference, on the loop (several
  // signals before the loop gets to it make one reload).
  loop.Add(g_reload_fd, EPOLLIN, [&](uint32_t) {
    uint64_t count = 0;
    if (read(g_reload_fd, &count, sizeof(count)) != sizeof(count) || count == 0) return;
    (*speaker)->ReloadFile("SIGHUP").IgnoreError();
  });
  loop.Run(g_stop);
  if (metrics.fd() >= 0) loop.Remove(metrics.fd());
  loop.Remove(g_reload_fd);

  const bool keep_fib = g_keep_fib.load(std::memory_order_acquire);
  if (kernel_fib) kernel_fib->Stop(keep_fib);
  STROBE_LOG(kInfo, "strobe-bgpd: stopping, sending Cease/Administrative Shutdown to every peer");
  (*speaker)->Shutdown("strobe-bgpd shutting down");
  const int64_t deadline = strobe::MonotonicNowNs() + kShutdownFlushNs;
  while ((strobe::bgpd::Connection::lingering() > 0 || !control.finished()) &&
         strobe::MonotonicNowNs() < deadline) {
    loop.RunOnce(10 * strobe::kNsPerMs);
  }
  while (!control.finished()) loop.RunOnce(10 * strobe::kNsPerMs);
  control.Join();
  speaker->reset();
  g_loop = nullptr;
  return 0;
}
