#ifndef STROBE_DATAPLANE_DATAPLANE_H_
#define STROBE_DATAPLANE_DATAPLANE_H_

// strobe-dataplane assembled from a Config: the shared-memory region, the workers (each pinned
// and owning its shard) and the answers to control-socket commands.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/dpdk/dpdk_port.h"
#include "dataplane/neighbor_watch.h"
#include "dataplane/worker.h"
#include "dataplane/xdp_fastpath.h"
#include "src/config/config.h"
#include "src/ipc/control_server.h"
#include "src/ipc/shm_region.h"
#include "src/metrics/interval_histogram.h"

namespace strobe::dataplane {

class Dataplane {
 public:
  // Builds everything (sockets, sessions) but starts no thread.
  static absl::StatusOr<std::unique_ptr<Dataplane>> Create(const config::Config& config);
  ~Dataplane();

  absl::Status Start();
  void Stop();

  // Control-socket commands: "show bfd sessions", "show bfd counters", "set bfd session",
  // "config reload".
  absl::StatusOr<nlohmann::json> HandleCommand(const std::string& command,
                                               const nlohmann::json& args);

  // The shared-memory consumer (strobe-bgpd, or any ipc::BfdClient) attaches over the control
  // socket and receives the region's memfd, the events doorbell and each worker's eventfd.
  absl::StatusOr<ipc::AttachReply> Attach(const nlohmann::json& args);
  void Detach();
  // Called by the control loop at least every 100 ms.
  void Tick();

  // The gaps between consecutive packets received on Up sessions, from every worker and from
  // the XDP program: how regular the peers' timers are.
  metrics::IntervalHistogram RxIntervals();
  void ResetRxIntervals();

  // Applies a new configuration file's difference (SIGHUP, `strobectl config reload`): sessions
  // added, changed (timers through a Poll Sequence) and removed; unchanged sessions are not
  // touched. What needs a restart (backend, workers, sockets, XDP attachment) is listed under
  // "restart_required" and left as it is. Returns the reply of "config reload".
  nlohmann::json Reload(const config::Config& config);
  // Stops or resumes transmission on one session without telling the peer (Worker::
  // SetTxSilenced). Returns when the session last transmitted.
  absl::StatusOr<int64_t> SetTxSilenced(const ipc::SessionKey& key, bool silenced);

 private:
  Dataplane() = default;
  // Opens worker i's AF_XDP socket on queue i of every XDP interface.
  absl::Status OpenAfXdp(const std::vector<std::string>& interfaces);
  // The dpdk backend: the EAL, a packet pool per worker, every port with a queue pair per worker.
  absl::Status OpenDpdk(const config::DpdkConfig& dpdk);
  absl::Status OpenNeighborWatch();
  // The `dpdk` part of "show bfd counters": per port the device's counters and, per queue, the
  // worker's.
  nlohmann::json DpdkCountersJson(const nlohmann::json& workers) const;
  void PollNeighbors();

  ipc::ShmRegion region_;
  std::unique_ptr<XdpFastPath> xdp_;  // the `xdp` backend only; outlives nothing of the workers
  // AF_XDP transmission only: neighbour and link MACs for the workers' frame templates.
  std::unique_ptr<NeighborWatch> neighbors_;
  int events_doorbell_fd_ = -1;
  // The dpdk backend: destroyed after the workers (declared before them), pools after ports.
  std::vector<rte_mempool*> dpdk_pools_;
  std::vector<std::unique_ptr<DpdkPort>> dpdk_ports_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::string backend_;
  config::Config config_;  // what is applied (Reload compares against it)
  int64_t started_ns_ = 0;
};

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_DATAPLANE_H_
