#ifndef STROBE_DATAPLANE_XDP_FASTPATH_H_
#define STROBE_DATAPLANE_XDP_FASTPATH_H_

// The kernel half of the `xdp` backend: loads xdp/strobe_xdp.bpf.c through its skeleton, attaches
// it to the interfaces, maps the session array into this process, and gives each worker its ring
// buffer of interesting packets (worker 0's also takes bootstrap packets, whose owner is found by
// key). Steady-state packets never leave the kernel; the workers read their sessions' last-rx
// stamps from the mapped array.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "xdp/strobe_xdp.h"

struct strobe_xdp;
struct ring_buffer;

namespace strobe::metrics {
class IntervalHistogram;
}  // namespace strobe::metrics

namespace strobe::dataplane {

class XdpFastPath {
 public:
  struct Options {
    std::vector<std::string> interfaces;
    bool native = true;  // XDP_FLAGS_DRV_MODE; false: generic (skb) mode
    uint32_t worker_count = 1;
  };
  using RecordHandler = std::function<void(const strobe_xdp_rx_record&)>;

  static absl::StatusOr<std::unique_ptr<XdpFastPath>> Load(const Options& options);
  ~XdpFastPath();

  // Session entries, indexed by strobe_xdp_index_of(discriminator). Each worker writes only its
  // own; the program writes last_rx_ns and the counters.
  strobe_xdp_session* sessions() const { return sessions_; }
  uint32_t session_capacity() const { return capacity_; }

  // Worker `worker`'s ring buffer: its epoll-able fd, and a non-blocking drain calling `handler`
  // per record. Each worker drains only its own, from its own thread.
  int ring_fd(int worker) const;
  int Drain(int worker, const RecordHandler& handler);

  // Program-wide counters summed over CPUs, indexed by strobe_xdp_counter / drop reason.
  std::vector<uint64_t> Counters() const;
  // Adds the program's received-interval histogram (rx_intervals: the gaps between absorbed
  // packets of Up sessions), summed over CPUs, to `into`; its maximum through NoteMaxUs.
  void AddRxIntervals(metrics::IntervalHistogram* into) const;
  // Zeroes the program's interval histogram (a packet counted meanwhile may survive or not).
  void ResetRxIntervals();
  const std::vector<std::string>& interfaces() const { return interfaces_; }
  bool native() const { return native_; }

 private:
  XdpFastPath() = default;

  struct WorkerRing {
    ring_buffer* ring = nullptr;
    int map_fd = -1;                         // workers 1..: the ring map user space created
    const RecordHandler* handler = nullptr;  // valid during Drain()
  };

  strobe_xdp* skel_ = nullptr;
  std::vector<std::unique_ptr<WorkerRing>> rings_;  // by worker
  strobe_xdp_session* sessions_ = nullptr;
  size_t mapped_bytes_ = 0;
  uint32_t capacity_ = 0;
  std::vector<std::string> interfaces_;
  std::vector<int> attached_ifindexes_;
  bool native_ = true;
};

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_XDP_FASTPATH_H_
