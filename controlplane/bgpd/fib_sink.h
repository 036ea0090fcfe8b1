// Where Loc-RIB changes go: KernelFibSink (kernel_fib_sink.h) programs the kernel through the FIB
// writer; LoggingFibSink only logs ([fib] enabled = false). The speaker calls NextHopsDown()
// first when a neighbor's session goes down and Apply() in the same step that changed the
// Loc-RIB (a BFD Down withdraws and tells the sink before anything else runs).
#ifndef STROBE_CONTROLPLANE_BGPD_FIB_SINK_H_
#define STROBE_CONTROLPLANE_BGPD_FIB_SINK_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/bgp/rib.h"

namespace strobe::bgpd {

class FibSink {
 public:
  virtual ~FibSink() = default;
  // Changes in the order they happened; only those with FibChanged() alter forwarding.
  virtual void Apply(const std::vector<bgp::RibChange>& changes) = 0;
  // `next_hops` just died (the only neighbor using them is going down): called before the
  // Loc-RIB changes that follow. `event_ns`: when the failure was learnt (CLOCK_MONOTONIC).
  virtual void NextHopsDown(const std::vector<net::IpAddress>& next_hops, int64_t event_ns) {
    (void)next_hops;
    (void)event_ns;
  }
  // Every configured neighbor has sent its routes since start (End-of-RIB).
  virtual void InitialTableComplete() {}
  // Whether the kernel holds `prefix` as we want it (acked). Without a kernel FIB: never.
  virtual bool Installed(const bgp::RibPrefix& prefix) const {
    (void)prefix;
    return false;
  }
  // `strobectl show fib`: args {"prefix": "P", "summary": true}.
  virtual absl::StatusOr<nlohmann::json> Show(const nlohmann::json& args) const;
};

// Logs every forwarding change (debug level) and counts them: [fib] enabled = false.
class LoggingFibSink : public FibSink {
 public:
  void Apply(const std::vector<bgp::RibChange>& changes) override;
  uint64_t applied() const { return applied_; }

 private:
  uint64_t applied_ = 0;
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_FIB_SINK_H_
