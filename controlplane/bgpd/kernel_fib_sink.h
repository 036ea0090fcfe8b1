// The FibSink that programs the kernel: Loc-RIB changes go to the FIB writer (controlplane/fib),
// flushed right after the event that caused them, a bounded number of routes per loop turn so
// a full table download never stalls keepalives or BFD events; next-hop failures are sent before
// anything else. The writer's netlink notifications are watched on the speaker's event loop.
#ifndef STROBE_CONTROLPLANE_BGPD_KERNEL_FIB_SINK_H_
#define STROBE_CONTROLPLANE_BGPD_KERNEL_FIB_SINK_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/bgpd/event_loop.h"
#include "controlplane/bgpd/fib_sink.h"
#include "controlplane/fib/fib_writer.h"
#include "src/config/config.h"

namespace strobe::bgpd {

class KernelFibSink : public FibSink {
 public:
  static absl::StatusOr<std::unique_ptr<KernelFibSink>> Create(EventLoop* loop,
                                                               const config::FibConfig& config);
  ~KernelFibSink() override;

  void Apply(const std::vector<bgp::RibChange>& changes) override;
  void NextHopsDown(const std::vector<net::IpAddress>& next_hops, int64_t event_ns) override;
  absl::StatusOr<nlohmann::json> Show(const nlohmann::json& args) const override;
  bool Installed(const bgp::RibPrefix& prefix) const override;
  // The routes a previous instance left and nobody announced again go now.
  void InitialTableComplete() override;

  // Shutting down: later changes are ignored (the sessions closing must not empty the FIB one
  // route at a time). A plain stop then removes everything of ours; a graceful stop keeps the
  // kernel forwarding for the next instance, which adopts it.
  void Stop(bool keep_routes);

  fib::FibWriter& writer() { return *writer_; }

 private:
  // Route operations per loop turn: about 20 ms of kernel work.
  static constexpr size_t kRouteBudget = 1000;
  KernelFibSink(EventLoop* loop, std::unique_ptr<fib::FibWriter> writer);
  void ScheduleFlush();
  void RunFlush();

  EventLoop* loop_;
  std::unique_ptr<fib::FibWriter> writer_;
  Timer continue_timer_;
  Timer tick_timer_;
  bool flush_deferred_ = false;
  bool stopped_ = false;
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_KERNEL_FIB_SINK_H_
