#ifndef STROBE_SRC_CONFIG_CONFIG_H_
#define STROBE_SRC_CONFIG_CONFIG_H_

// The appliance's one TOML configuration file (docs/config.md). Parsing is all-or-nothing: a
// file with any error is refused whole, and the error names file:line.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "src/bfd/auth.h"
#include "src/config/bgp_config.h"
#include "src/net/ip_address.h"

namespace strobe::config {

inline constexpr std::string_view kDefaultDataplaneSocket = "/run/strobe/strobe.sock";
inline constexpr std::string_view kDefaultControlplaneSocket = "/run/strobe/bgpd.sock";
// The dataplane's limit (dataplane/session_directory.h kMaxWorkers: 4 discriminator bits).
inline constexpr size_t kMaxWorkers = 16;

// `control_socket_group`: the group that owns a daemon's control socket (mode 0660), so its
// members may run strobectl without root. Resolved when the file is read.
struct ControlSocketGroup {
  std::string name;  // as written: a group name or a number; empty: root's group (gid 0)
  int gid = -1;      // -1: not set
  bool operator==(const ControlSocketGroup&) const = default;
};

struct XdpConfig {
  bool native = true;                   // mode = "native" | "generic"
  bool af_xdp_tx = true;                // tx = "af_xdp" | "socket"
  std::vector<std::string> interfaces;  // attached besides those of single-hop sessions
};

// [[dataplane.dpdk.port]]: one poll-mode port. Sessions name `interface`, as with every backend.
struct DpdkPortConfig {
  std::string interface;  // the kernel's name for this link (ifindex, MAC, neighbours)
  std::string devargs;    // "net_af_packet0,iface=eth0", a PCI address, "net_memif0,...", ...
  // exception = "tap": the NIC is DPDK's alone; a TAP named `interface` carries the kernel's
  // side of the link (non-BFD frames both ways). "none": the kernel has the link itself.
  bool exception_tap = false;
  int line = 0;
};

// [dataplane.dpdk]: the `dpdk` backend (dataplane/dpdk/).
struct DpdkConfig {
  std::vector<std::string> eal_args;  // passed to rte_eal_init as given
  std::vector<DpdkPortConfig> ports;
  // A worker that found nothing to do sleeps this long (at most; a due timer wakes it earlier).
  // 0: busy polling, the lowest latency and a whole core per worker.
  int idle_sleep_us = 20;
  uint32_t mbufs_per_worker = 8191;  // per-worker packet buffer pool
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
};

struct DataplaneConfig {
  std::string backend = "socket";
  XdpConfig xdp;
  DpdkConfig dpdk;
  std::vector<int> workers = {0};  // cores the workers are pinned to
  int realtime_priority = 0;       // SCHED_FIFO priority of the workers; 0: normal scheduling
  std::string control_socket = std::string(kDefaultDataplaneSocket);
  ControlSocketGroup control_socket_group;
  std::string metrics_address;  // "ADDRESS:PORT" of the Prometheus endpoint; empty: none
};

struct ControlplaneConfig {
  std::string control_socket = std::string(kDefaultControlplaneSocket);
  ControlSocketGroup control_socket_group;
  std::string metrics_address;  // "ADDRESS:PORT" of the Prometheus endpoint; empty: none
};

struct BfdProfile {
  std::string name;
  uint32_t desired_min_tx_us = 300'000;  // FRR's default
  uint32_t required_min_rx_us = 300'000;
  uint8_t detect_mult = 3;
  bool passive = false;
  std::optional<bfd::AuthKey> auth;
  int line = 0;
};

struct BfdSessionConfig {
  net::IpAddress peer;
  net::IpAddress local;
  std::string interface;  // required for single-hop; optional for multihop
  bool multihop = false;
  std::string profile;  // empty: the built-in defaults (300 ms x 3, no auth)
  bool admin_down = false;
  int line = 0;
};

// [fib]: how strobe-bgpd programs the kernel FIB (controlplane/fib, docs/config.md).
struct FibConfig {
  bool enabled = true;          // false: the Loc-RIB is not installed anywhere
  uint32_t table = 254;         // kernel table id (main)
  uint8_t protocol = 200;       // rtnetlink protocol tagged on routes and nexthops
  uint32_t metric = 20;         // route priority
  bool nexthop_objects = true;  // nexthop_objects = "auto" | "off" (RTA_MULTIPATH)
  bool resilient = false;       // resilient nexthop groups
  uint16_t resilient_buckets = 128;
  int nexthop_compat_mode = 0;     // net.ipv4.nexthop_compat_mode to set; -1: "keep"
  uint32_t stale_timeout_s = 120;  // routes found at start, kept until re-announced
};

struct Config {
  std::string path;
  DataplaneConfig dataplane;
  ControlplaneConfig controlplane;
  std::vector<BfdProfile> profiles;
  std::vector<BfdSessionConfig> sessions;
  BgpConfig bgp;
  std::vector<PolicyConfig> policies;
  FibConfig fib;

  // The profile a session uses (built-in defaults when it names none).
  const BfdProfile& ProfileFor(const BfdSessionConfig& session) const;
};

// Parses `text`; `source_name` prefixes error messages ("FILE:LINE: ...").
absl::StatusOr<Config> ParseConfig(std::string_view text, std::string_view source_name);
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

}  // namespace strobe::config

#endif  // STROBE_SRC_CONFIG_CONFIG_H_
