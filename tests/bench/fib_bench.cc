// FIB writer benchmark (controlplane/fib): how fast FibWriter installs N IPv4 /32 routes over one
// 4-way ECMP group, and how long a prefix-independent failover takes (NextHopsDown: event -> the
// kernel's ack) with N routes on the group.
//
// Runs in a private network namespace of its own (unshare(CLONE_NEWNET), needs root; the routes
// are /32s from 10.0.0.0/8 and exist only there): a veth pair fib0 <-> fib1 (this kernel has no
// dummy device) with 198.18.0.1/24 on fib0 and permanent neighbours for the gateways
// 198.18.0.2-.5, so nothing is ever resolved and no packet leaves.
//
//   install:  SetRoute() of every route, then Flush(budget) while HasWork(); the time from the
//             first SetRoute to the last ack, routes/s, and where it went (user vs system CPU of
//             this process, getrusage; the kernel inserts a route inside our sendmsg(), so the
//             system time is the kernel's work).
//   failover: installs first (untimed), then --failovers times: NextHopsDown(one gateway) timed by
//             FailoverRecord (event -> ack); then what BGP does next (every route withdrawn to the
//             3 others: no kernel route operation expected) and the gateway back (every route to
//             the 4 again: the group rewritten in place, again no route operation).
//             With --nexthop_objects=false there is no group: the "failover" is every route
//             rewritten with 3 gateways (SetRoute of all + Flush until done).
//
// Both modes also report the longest single Flush() call (how long the daemon's event loop would
// be held at once). One JSON line per result on stdout (tests/bench/fib_install_bench.py runs it
// with --unshare=false inside a namespace of its own); logs on stderr.
//   fib_bench --mode install --routes 1000000 [--compat_mode 0] [--nexthop_objects]
//   fib_bench --mode failover --routes 100000 --compat_mode 1 [--failovers 10]

#include <gflags/gflags.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "controlplane/fib/fib_writer.h"
#include "src/common/clock.h"
#include "src/common/logging.h"
#include "src/config/config.h"

DEFINE_string(mode, "install", "install | failover");
DEFINE_int64(routes, 100000, "IPv4 /32 routes (10.0.0.1 upwards) on one 4-way group");
DEFINE_int32(compat_mode, 0,
             "net.ipv4.nexthop_compat_mode the writer sets (-1: keep the "
             "namespace's default, 1)");
DEFINE_bool(nexthop_objects, true, "nexthop objects and groups (false: RTA_MULTIPATH routes)");
DEFINE_int64(budget, 1000, "route operations per Flush() (strobe-bgpd uses 1000)");
DEFINE_int32(failovers, 10, "failovers measured (failover mode)");
DEFINE_int32(core, -1, "pin to this CPU (-1: no pinning)");
DEFINE_bool(unshare, true,
            "run in a private network namespace of its own (false: the caller "
            "provides one, e.g. ip netns exec, and it must be empty)");
DEFINE_bool(verify, true, "count the routes in the kernel afterwards (fib_triestat)");
DEFINE_bool(read_notifications, true,
            "failover mode: read the writer's notifications after the install, as the daemon's "
            "loop does (false: leave them queued until after the first failover)");
DEFINE_string(log_level, "warning", "debug | info | warning | error");

namespace {

using nlohmann::json;
using strobe::MonotonicNowNs;
using strobe::bgp::RibPrefix;
using strobe::fib::FibWriter;
using strobe::net::IpAddress;

int Shell(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

struct Cpu {
  double user = 0, sys = 0;
  static Cpu Now() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return {u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6,
            u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6};
  }
  Cpu operator-(const Cpu& o) const { return {user - o.user, sys - o.sys}; }
};

IpAddress V4(uint32_t host_order) {
  in_addr a{};
  a.s_addr = htonl(host_order);
  return IpAddress::V4(a);
}

RibPrefix RouteN(int64_t i) {
  RibPrefix p;
  p.address = V4(0x0a000001u + static_cast<uint32_t>(i));  // 10.0.0.1 + i
  p.length = 32;
  return p;
}

std::vector<IpAddress> Gateways(int count, int skip = -1) {
  std::vector<IpAddress> out;
  for (int g = 0; g < count; ++g) {
    if (g != skip) out.push_back(V4(0xc6120002u + g));  // 198.18.0.2 + g
  }
  return out;
}

// Routes of the main table in this namespace, as the kernel counts them (fib_triestat walks the
// trie in the kernel: far cheaper than dumping a million routes).
int64_t KernelMainRoutes() {
  std::ifstream in("/proc/self/net/fib_triestat");
  std::string line;
  bool main = false;
  while (std::getline(in, line)) {
    if (line.rfind("Main:", 0) == 0) main = true;
    if (line.rfind("Local:", 0) == 0) main = false;
    if (main) {
      const size_t at = line.find("Prefixes:");
      if (at != std::string::npos) return std::atoll(line.c_str() + at + 9);
    }
  }
  return -1;
}

int ReadCompatMode() {
  std::ifstream in("/proc/sys/net/ipv4/nexthop_compat_mode");
  int v = -1;
  in >> v;
  return v;
}

// Flush until the writer has nothing left; returns the number of Flush() calls. `longest_ns`:
// the longest single Flush() (how long the daemon's loop would be held at once).
int64_t Drain(FibWriter& w, int64_t* longest_ns = nullptr) {
  int64_t calls = 0;
  while (w.HasWork()) {
    const int64_t t0 = MonotonicNowNs();
    w.Flush(static_cast<size_t>(FLAGS_budget));
    const int64_t dt = MonotonicNowNs() - t0;
    if (longest_ns != nullptr && dt > *longest_ns) *longest_ns = dt;
    ++calls;
  }
  return calls;
}

json Base(const char* mode) {
  return {{"bench", "fib_bench"},
          {"mode", mode},
          {"routes", FLAGS_routes},
          {"nexthop_objects", FLAGS_nexthop_objects},
          {"compat_mode", ReadCompatMode()},
          {"budget", FLAGS_budget},
          {"core", FLAGS_core}};
}

json Counters(const FibWriter& w) {
  const strobe::fib::FibCounters& c = w.counters();
  return {{"batches", c.batches},       {"requests", c.requests},
          {"failed", c.failed},         {"routes_set", c.routes_set},
          {"groups_set", c.groups_set}, {"nexthops_set", c.nexthops_set},
          {"resyncs", c.resyncs},       {"lost_acks", c.lost_acks},
          {"repairs", c.repairs},       {"failovers", c.failovers}};
}

struct Install {
  double seconds = 0, set_route_s = 0, flush_s = 0;
  Cpu cpu, set_route_cpu, flush_cpu;
  int64_t flushes = 0;
  int64_t longest_flush_ns = 0;
};

Install InstallAll(FibWriter& w, const std::vector<IpAddress>& gateways) {
  Install r;
  const Cpu c0 = Cpu::Now();
  const int64_t t0 = MonotonicNowNs();
  for (int64_t i = 0; i < FLAGS_routes; ++i) w.SetRoute(RouteN(i), gateways);
  const int64_t t1 = MonotonicNowNs();
  const Cpu c1 = Cpu::Now();
  r.flushes = Drain(w, &r.longest_flush_ns);
  const int64_t t2 = MonotonicNowNs();
  const Cpu c2 = Cpu::Now();
  r.seconds = (t2 - t0) / 1e9;
  r.set_route_s = (t1 - t0) / 1e9;
  r.flush_s = (t2 - t1) / 1e9;
  r.cpu = c2 - c0;
  r.set_route_cpu = c1 - c0;
  r.flush_cpu = c2 - c1;
  return r;
}

json InstallJson(const Install& r) {
  return {{"seconds", r.seconds},
          {"routes_per_s", FLAGS_routes / r.seconds},
          {"user_s", r.cpu.user},
          {"sys_s", r.cpu.sys},
          {"set_route_s", r.set_route_s},
          {"set_route_user_s", r.set_route_cpu.user},
          {"flush_s", r.flush_s},
          {"flush_user_s", r.flush_cpu.user},
          {"flush_sys_s", r.flush_cpu.sys},
          {"flushes", r.flushes},
          {"longest_flush_ms", r.longest_flush_ns / 1e6}};
}

void Print(const json& j) {
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  return v[i];
}

int RunInstall(FibWriter& w, int64_t baseline) {
  const Install r = InstallAll(w, Gateways(4));
  json j = Base("install");
  j.update(InstallJson(r));
  j["counters"] = Counters(w);
  if (FLAGS_verify) j["kernel_routes"] = KernelMainRoutes() - baseline;
  Print(j);
  return w.counters().failed == 0 ? 0 : 1;
}

int RunFailover(FibWriter& w, int64_t baseline) {
  const std::vector<IpAddress> all = Gateways(4);
  const Install install = InstallAll(w, all);
  // The notifications of the download, read as the daemon's loop reads them between turns.
  if (FLAGS_read_notifications) w.OnNotifications();
  json j = Base("failover");
  j["install"] = InstallJson(install);
  if (FLAGS_verify) j["kernel_routes"] = KernelMainRoutes() - baseline;
  std::vector<double> event_to_ack_us, withdraw_ms, restore_ms;
  int64_t longest_flush_ns = 0;
  uint64_t withdraw_route_ops = 0, restore_route_ops = 0, restore_group_ops = 0;
  size_t groups = 0;
  for (int k = 0; k < FLAGS_failovers; ++k) {
    const int dead = k % 4;
    const std::vector<IpAddress> left = Gateways(4, dead);
    const IpAddress down[] = {all[dead]};
    if (FLAGS_nexthop_objects) {
      const int64_t event = MonotonicNowNs();
      groups = w.NextHopsDown(down, event);
      if (groups == 0 || !w.last_failover()) {
        std::fprintf(stderr, "NextHopsDown rewrote no group\n");
        return 1;
      }
      event_to_ack_us.push_back((w.last_failover()->acked_ns - event) / 1e3);
      w.OnNotifications();  // what the daemon's loop would read next (not timed)
    }
    // BGP's own follow-up: every route loses the dead next hop.
    strobe::fib::FibCounters before = w.counters();
    int64_t t0 = MonotonicNowNs();
    for (int64_t i = 0; i < FLAGS_routes; ++i) w.SetRoute(RouteN(i), left);
    Drain(w, &longest_flush_ns);
    int64_t t1 = MonotonicNowNs();
    withdraw_route_ops += w.counters().routes_set - before.routes_set;
    if (!FLAGS_nexthop_objects) event_to_ack_us.push_back((t1 - t0) / 1e3);
    withdraw_ms.push_back((t1 - t0) / 1e6);
    w.OnNotifications();
    // The next hop comes back.
    before = w.counters();
    t0 = MonotonicNowNs();
    for (int64_t i = 0; i < FLAGS_routes; ++i) w.SetRoute(RouteN(i), all);
    Drain(w, &longest_flush_ns);
    t1 = MonotonicNowNs();
    restore_route_ops += w.counters().routes_set - before.routes_set;
    restore_group_ops += w.counters().groups_set - before.groups_set;
    restore_ms.push_back((t1 - t0) / 1e6);
    w.OnNotifications();
  }
  j["failovers"] = FLAGS_failovers;
  j["groups_rewritten"] = groups;
  j["event_to_ack_us"] = event_to_ack_us;
  j["event_to_ack_us_min"] = Percentile(event_to_ack_us, 0);
  j["event_to_ack_us_median"] = Percentile(event_to_ack_us, 0.5);
  j["event_to_ack_us_max"] = Percentile(event_to_ack_us, 1);
  j["withdraw_ms_median"] = Percentile(withdraw_ms, 0.5);
  j["withdraw_route_ops"] = withdraw_route_ops;
  j["restore_ms_median"] = Percentile(restore_ms, 0.5);
  j["restore_route_ops"] = restore_route_ops;
  j["restore_group_ops"] = restore_group_ops;
  j["longest_flush_ms"] = longest_flush_ns / 1e6;  // withdraw and restore
  j["counters"] = Counters(w);
  if (FLAGS_verify) j["kernel_routes_after"] = KernelMainRoutes() - baseline;
  Print(j);
  return w.counters().failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("FIB writer benchmark: install rate and failover (see the source)");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  strobe::SetLogLevelByName(FLAGS_log_level);
  if (FLAGS_mode != "install" && FLAGS_mode != "failover") {
    std::fprintf(stderr, "--mode: install or failover\n");
    return 2;
  }
  if (FLAGS_routes < 1 || FLAGS_routes > (1 << 24) - 2) {
    std::fprintf(stderr, "--routes: 1 .. 16777214\n");
    return 2;
  }
  if (FLAGS_unshare && unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare(CLONE_NEWNET) (run as root)");
    return 1;
  }
  if (FLAGS_core >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(FLAGS_core, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
      std::fprintf(stderr, "cannot pin to core %d\n", FLAGS_core);
      return 1;
    }
  }
  bool ok = Shell("ip link set lo up") == 0 &&
            Shell("ip link add fib0 type veth peer name fib1") == 0 &&
            Shell("ip link set fib1 up") == 0 && Shell("ip link set fib0 up") == 0 &&
            Shell("ip addr add 198.18.0.1/24 dev fib0") == 0;
  for (int g = 0; ok && g < 4; ++g) {
    ok = Shell("ip neigh replace 198.18.0." + std::to_string(2 + g) + " lladdr 02:00:00:00:00:0" +
               std::to_string(2 + g) + " dev fib0 nud permanent") == 0;
  }
  if (!ok) {
    std::fprintf(stderr, "cannot set up the veth fib0 (root? empty namespace?)\n");
    return 1;
  }
  const int64_t baseline = KernelMainRoutes();

  strobe::config::FibConfig config;
  config.nexthop_objects = FLAGS_nexthop_objects;
  config.nexthop_compat_mode = FLAGS_compat_mode;
  absl::StatusOr<std::unique_ptr<FibWriter>> writer = FibWriter::Open(config);
  if (!writer.ok()) {
    std::fprintf(stderr, "FibWriter::Open: %s\n", std::string(writer.status().message()).c_str());
    return 1;
  }
  const int rc =
      FLAGS_mode == "install" ? RunInstall(**writer, baseline) : RunFailover(**writer, baseline);
  if (!FLAGS_unshare) {
    (*writer)->RemoveAll();     // leave the caller's namespace as we found it
    Shell("ip link del fib0");  // and its peer
  }
  return rc;
}
