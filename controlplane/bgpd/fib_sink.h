// Where Loc-RIB changes go: the FIB writer (netlink, a later issue) implements FibSink. The
// speaker calls Apply() in the same step that changed the Loc-RIB (a BFD Down withdraws and
// tells the sink before anything else runs).
#ifndef STROBE_CONTROLPLANE_BGPD_FIB_SINK_H_
#define STROBE_CONTROLPLANE_BGPD_FIB_SINK_H_

#include <cstdint>
#include <vector>

#include "controlplane/bgp/rib.h"

namespace strobe::bgpd {

class FibSink {
 public:
  virtual ~FibSink() = default;
  // Changes in the order they happened; only those with FibChanged() alter forwarding.
  virtual void Apply(const std::vector<bgp::RibChange>& changes) = 0;
};

// Logs every forwarding change (debug level) and counts them; the placeholder until the netlink
// writer exists.
class LoggingFibSink : public FibSink {
 public:
  void Apply(const std::vector<bgp::RibChange>& changes) override;
  uint64_t applied() const { return applied_; }

 private:
  uint64_t applied_ = 0;
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_FIB_SINK_H_
