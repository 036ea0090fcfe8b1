// The FIB writer: Strobe's only rtnetlink client on the control plane. Keeps the kernel's routes,
// nexthop objects and groups (of our protocol, in our table) equal to what FibTable wants:
//   - batches many requests per sendmsg and matches every ack by sequence number; a refused
//     request is counted, logged and shown per route; a lost ack or a notification overrun
//     (ENOBUFS) triggers a full resynchronisation (dump and reconcile);
//   - at start, dumps the kernel and adopts what a previous instance left (no blink), removing
//     routes nobody announces again after stale_timeout_s;
//   - follows nexthop, link and address notifications: an object the kernel or an operator
//     deleted is installed again with every route that used it;
//   - manages net.ipv4.nexthop_compat_mode (with 0 a group change is one notification instead of
//     one per route: ~1 ms instead of ~820 ms for 1,000,000 routes).
// Single-threaded: the owner calls Flush() while HasWork(), OnNotifications() when
// notification_fd() is readable and Tick() about once a second.
#ifndef STROBE_CONTROLPLANE_FIB_FIB_WRITER_H_
#define STROBE_CONTROLPLANE_FIB_FIB_WRITER_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "controlplane/fib/fib_table.h"
#include "controlplane/fib/rtnl_socket.h"
#include "src/config/config.h"
#include "src/metrics/histogram.h"

namespace strobe::fib {

struct FibCounters {
  uint64_t batches = 0;     // sendmsg calls
  uint64_t requests = 0;    // messages sent
  uint64_t failed = 0;      // requests the kernel refused
  uint64_t routes_set = 0;  // route replacements acked
  uint64_t routes_deleted = 0;
  uint64_t groups_set = 0;
  uint64_t nexthops_set = 0;
  uint64_t resyncs = 0;
  uint64_t lost_acks = 0;
  uint64_t notification_overruns = 0;
  uint64_t repairs = 0;    // our objects the kernel lost, queued again
  uint64_t failovers = 0;  // NextHopsDown() calls that rewrote at least one group
};

// One prefix-independent failover, for `show fib` and the benchmarks.
struct FailoverRecord {
  std::vector<net::IpAddress> next_hops;
  size_t groups = 0;
  int64_t event_ns = 0;  // when the caller learnt of the failure (BFD Down, session down)
  int64_t acked_ns = 0;  // when the kernel acked the last group
};

class FibWriter {
 public:
  // Opens the sockets, sets the sysctl (left as set at exit: it is the namespace's), detects
  // nexthop objects, dumps and adopts what the kernel holds of ours. The first Flush() sends
  // what that leaves to do.
  static absl::StatusOr<std::unique_ptr<FibWriter>> Open(const config::FibConfig& config);
  ~FibWriter();

  // `prefix` should forward over `next_hops` (empty: no route). Sent at the next Flush().
  void SetRoute(const bgp::RibPrefix& prefix, std::vector<net::IpAddress> next_hops) {
    table_.SetRoute(prefix, std::move(next_hops));
  }
  // Prefix-independent failover: rewrites every group holding one of `next_hops` and sends those
  // groups before returning, whatever else is queued. `event_ns`: when the failure was learnt.
  size_t NextHopsDown(std::span<const net::IpAddress> next_hops, int64_t event_ns);

  // Plans and sends: every nexthop and group operation, and at most `route_budget` route
  // operations (so a million-route download does not hold the caller's loop for seconds).
  void Flush(size_t route_budget);
  bool HasWork() const { return table_.HasWork() || resync_needed_; }

  int notification_fd() const { return notifications_->fd(); }
  void OnNotifications();
  // Stale routes past their time, periodic retry of what failed.
  void Tick(int64_t now_ns);
  // Stale routes are removed now (every neighbor has sent its routes again).
  void ReleaseStale();

  // A plain stop: removes every route, group and nexthop of ours (the groups first: the kernel
  // then drops their routes itself). A graceful stop just does not call this.
  void RemoveAll();

  // `strobectl show fib`: `prefix` limits the routes listed; `summary` lists none.
  nlohmann::json ToJson(const std::optional<bgp::RibPrefix>& prefix, bool summary,
                        int64_t now_ns) const;

  const FibTable& table() const { return table_; }
  const FibCounters& counters() const { return counters_; }
  const std::optional<FailoverRecord>& last_failover() const { return last_failover_; }

 private:
  FibWriter(const config::FibConfig& config, FibTableOptions options);
  std::optional<Gateway> Resolve(const net::IpAddress& next_hop);
  void Send(const std::vector<Op>& ops);
  void SendBatch(RequestBatch& batch, uint32_t first_seq, std::vector<Op>& in_batch);
  absl::Status Dump(std::vector<KernelNexthop>* nexthops, std::vector<KernelRoute>* routes,
                    bool* nexthop_objects_supported);
  void Resync();
  void OnNotification(const nlmsghdr* message);

  config::FibConfig config_;
  FibTable table_;
  std::unique_ptr<RtnlSocket> requests_;
  std::unique_ptr<RtnlSocket> notifications_;
  absl::flat_hash_map<net::IpAddress, std::optional<Gateway>> resolved_;
  FibCounters counters_;
  metrics::LatencyHistogram batch_duration_;  // RtnlSocket::Send: sendmsg() and its acks
  std::optional<FailoverRecord> last_failover_;
  int previous_compat_mode_ = -1;
  int64_t stale_deadline_ns_ = 0;  // 0: none
  int64_t next_retry_ns_ = 0;
  bool resync_needed_ = false;
  bool retry_needed_ = false;
  int errors_logged_ = 0;
  std::vector<Ack> acks_;
};

}  // namespace strobe::fib

#endif  // STROBE_CONTROLPLANE_FIB_FIB_WRITER_H_
