#include "controlplane/bgpd/kernel_fib_sink.h"

#include <sys/epoll.h>

#include <utility>

#include "src/common/clock.h"
#include "src/common/logging.h"

namespace strobe::bgpd {

absl::StatusOr<std::unique_ptr<KernelFibSink>> KernelFibSink::Create(
    EventLoop* loop, const config::FibConfig& config) {
  absl::StatusOr<std::unique_ptr<fib::FibWriter>> writer = fib::FibWriter::Open(config);
  if (!writer.ok()) return writer.status();
  std::unique_ptr<KernelFibSink> sink(new KernelFibSink(loop, *std::move(writer)));
  KernelFibSink* raw = sink.get();
  if (!loop->Add(raw->writer_->notification_fd(), EPOLLIN, [raw](uint32_t) {
        raw->writer_->OnNotifications();
        if (raw->writer_->HasWork()) raw->ScheduleFlush();
      })) {
    return absl::InternalError("fib: cannot watch the netlink notification socket");
  }
  raw->tick_timer_.ArmAt(loop->now_ns() + kNsPerSec);
  raw->ScheduleFlush();  // what reconciliation at start left to do
  return sink;
}

KernelFibSink::KernelFibSink(EventLoop* loop, std::unique_ptr<fib::FibWriter> writer)
    : loop_(loop),
      writer_(std::move(writer)),
      continue_timer_(loop, [this] { RunFlush(); }),
      tick_timer_(loop, [this] {
        writer_->Tick(loop_->now_ns());
        if (writer_->HasWork()) ScheduleFlush();
        tick_timer_.ArmAt(loop_->now_ns() + kNsPerSec);
      }) {}

KernelFibSink::~KernelFibSink() { loop_->Remove(writer_->notification_fd()); }

void KernelFibSink::Apply(const std::vector<bgp::RibChange>& changes) {
  if (stopped_) return;
  bool any = false;
  for (const bgp::RibChange& c : changes) {
    if (!c.FibChanged()) continue;
    writer_->SetRoute(c.prefix, {c.new_next_hops.begin(), c.new_next_hops.end()});
    any = true;
  }
  if (any) ScheduleFlush();
}

void KernelFibSink::NextHopsDown(const std::vector<net::IpAddress>& next_hops, int64_t event_ns) {
  if (stopped_) return;
  writer_->NextHopsDown(next_hops, event_ns);
}

void KernelFibSink::InitialTableComplete() {
  if (stopped_) return;
  writer_->ReleaseStale();
  ScheduleFlush();
}

void KernelFibSink::ScheduleFlush() {
  if (flush_deferred_ || stopped_) return;
  flush_deferred_ = true;
  // After the current callback: every change of one UPDATE (or one session down) in one Plan.
  loop_->Defer([this] {
    flush_deferred_ = false;
    RunFlush();
  });
}

void KernelFibSink::RunFlush() {
  if (stopped_) return;
  writer_->Flush(kRouteBudget);
  // More to do: continue at the next turn, after whatever else is waiting.
  if (writer_->HasWork() && !continue_timer_.armed()) continue_timer_.ArmAt(0);
}

bool KernelFibSink::Installed(const bgp::RibPrefix& prefix) const {
  const auto& routes = writer_->table().routes();
  auto it = routes.find(prefix);
  return it != routes.end() && it->second.state == fib::RouteState::kInstalled;
}

absl::StatusOr<nlohmann::json> KernelFibSink::Show(const nlohmann::json& args) const {
  std::optional<bgp::RibPrefix> prefix;
  if (args.contains("prefix")) {
    if (!args["prefix"].is_string()) return absl::InvalidArgumentError("bad \"prefix\"");
    absl::StatusOr<bgp::RibPrefix> p = bgp::RibPrefix::Parse(args["prefix"].get<std::string>());
    if (!p.ok()) return p.status();
    prefix = *p;
  }
  const bool summary = args.value("summary", false);
  return writer_->ToJson(prefix, summary, loop_->now_ns());
}

void KernelFibSink::Stop(bool keep_routes) {
  if (stopped_) return;
  stopped_ = true;
  continue_timer_.Cancel();
  tick_timer_.Cancel();
  if (keep_routes) {
    STROBE_LOG(kInfo, "fib: graceful stop, %d routes stay in the kernel for the next instance",
               writer_->table().routes().size());
    return;
  }
  const size_t routes = writer_->table().routes().size();
  writer_->RemoveAll();
  STROBE_LOG(kInfo, "fib: removed %d routes and their groups", routes);
}

}  // namespace strobe::bgpd
