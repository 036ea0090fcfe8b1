#include "controlplane/fib/fib_writer.h"

#include <errno.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "src/common/clock.h"
#include "src/common/logging.h"

namespace strobe::fib {
namespace {

constexpr char kCompatModePath[] = "/proc/sys/net/ipv4/nexthop_compat_mode";
constexpr int64_t kRetryIntervalNs = 10 * kNsPerSec;
constexpr int kErrorsLoggedPerSecond = 20;
constexpr unsigned kGroups[] = {RTNLGRP_NEXTHOP, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
                                RTNLGRP_IPV6_IFADDR};

int ReadCompatMode() {
  std::ifstream in(kCompatModePath);
  int v = -1;
  if (!(in >> v)) return -1;
  return v;
}

bool WriteCompatMode(int value) {
  std::ofstream out(kCompatModePath);
  out << value << "\n";
  out.flush();
  return static_cast<bool>(out);
}

bool IsDelete(OpKind kind) {
  return kind == OpKind::kDeleteRoute || kind == OpKind::kDeleteGroup ||
         kind == OpKind::kDeleteNexthop;
}

std::string InterfaceName(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(ifindex, name) == nullptr) return absl::StrCat("if", ifindex);
  return name;
}

std::string OpTarget(const Op& op) {
  if (op.kind == OpKind::kSetRoute || op.kind == OpKind::kDeleteRoute) {
    return op.prefix.ToString();
  }
  return absl::StrCat("id ", op.id);
}

}  // namespace

FibWriter::FibWriter(const config::FibConfig& config, FibTableOptions options)
    : config_(config), table_(options, [this](const net::IpAddress& a) { return Resolve(a); }) {}

FibWriter::~FibWriter() = default;

absl::StatusOr<std::unique_ptr<FibWriter>> FibWriter::Open(const config::FibConfig& config) {
  FibTableOptions options;
  options.nexthop_objects = config.nexthop_objects;
  options.resilient = config.resilient;
  options.resilient_buckets = config.resilient_buckets;
  options.table = config.table;
  options.protocol = config.protocol;
  options.metric = config.metric;

  // Detect nexthop objects before the table is built (its mode is fixed).
  absl::StatusOr<std::unique_ptr<RtnlSocket>> probe = RtnlSocket::Open({});
  if (!probe.ok()) return probe.status();
  if (options.nexthop_objects) {
    RequestBatch request(16 * 1024);
    const uint32_t seq = (*probe)->NextSeq();
    request.DumpNexthops(seq);
    absl::Status s = (*probe)->Request(request, seq, [](const nlmsghdr*) {});
    if (!s.ok()) {
      STROBE_LOG(kWarning,
                 "fib: the kernel has no nexthop objects (%s): routes carry their next hops "
                 "(RTA_MULTIPATH), failover is per route",
                 std::string(s.message()));
      options.nexthop_objects = false;
    }
  }

  std::unique_ptr<FibWriter> w(new FibWriter(config, options));
  w->requests_ = *std::move(probe);
  absl::StatusOr<std::unique_ptr<RtnlSocket>> notifications = RtnlSocket::Open(kGroups);
  if (!notifications.ok()) return notifications.status();
  w->notifications_ = *std::move(notifications);

  w->previous_compat_mode_ = ReadCompatMode();
  if (config.nexthop_compat_mode >= 0 && options.nexthop_objects &&
      w->previous_compat_mode_ != config.nexthop_compat_mode) {
    if (!WriteCompatMode(config.nexthop_compat_mode)) {
      STROBE_LOG(kWarning, "fib: cannot set %s to %d: %s", kCompatModePath,
                 config.nexthop_compat_mode, strerror(errno));
    } else {
      STROBE_LOG(kInfo, "fib: %s %d -> %d (routes on groups show as \"nhid N\")", kCompatModePath,
                 w->previous_compat_mode_, config.nexthop_compat_mode);
    }
  }

  std::vector<KernelNexthop> nexthops;
  std::vector<KernelRoute> routes;
  bool supported = options.nexthop_objects;
  absl::Status s = w->Dump(&nexthops, &routes, &supported);
  if (!s.ok()) return s;
  w->table_.Reconcile(nexthops, routes, /*adopt_routes=*/true);
  size_t adopted = 0;
  for (const auto& [prefix, route] : w->table_.routes())
    adopted += route.state == RouteState::kStale;
  if (adopted > 0) {
    w->stale_deadline_ns_ = MonotonicNowNs() + int64_t{config.stale_timeout_s} * kNsPerSec;
    STROBE_LOG(kInfo,
               "fib: %d routes of protocol %d found in table %d, kept until announced again "
               "(at most %d s)",
               adopted, int{config.protocol}, config.table, config.stale_timeout_s);
  }
  STROBE_LOG(kInfo, "fib: table %d, protocol %d, metric %d, %s%s", config.table,
             int{config.protocol}, config.metric,
             options.nexthop_objects ? "nexthop objects" : "RTA_MULTIPATH routes",
             options.resilient
                 ? absl::StrCat(", resilient groups of ", config.resilient_buckets, " buckets")
                 : "");
  return w;
}

absl::Status FibWriter::Dump(std::vector<KernelNexthop>* nexthops, std::vector<KernelRoute>* routes,
                             bool* nexthop_objects_supported) {
  RequestBatch request(16 * 1024);
  absl::Status s;
  // A dump interrupted by a concurrent change is asked again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    nexthops->clear();
    routes->clear();
    s = absl::OkStatus();
    if (*nexthop_objects_supported) {
      request.Clear();
      uint32_t seq = requests_->NextSeq();
      request.DumpNexthops(seq);
      s = requests_->Request(request, seq, [&](const nlmsghdr* m) {
        if (std::optional<KernelNexthop> nh = ParseNexthop(m)) nexthops->push_back(*nh);
      });
    }
    for (int family : {AF_INET, AF_INET6}) {
      if (!s.ok()) break;
      request.Clear();
      uint32_t seq = requests_->NextSeq();
      request.DumpRoutes(seq, family);
      s = requests_->Request(request, seq, [&](const nlmsghdr* m) {
        std::optional<KernelRoute> r = ParseRoute(m);
        if (r && r->protocol == config_.protocol && r->table == config_.table) {
          routes->push_back(std::move(*r));
        }
      });
    }
    if (s.code() != absl::StatusCode::kAborted) break;
  }
  return s;
}

std::optional<Gateway> FibWriter::Resolve(const net::IpAddress& next_hop) {
  if (auto it = resolved_.find(next_hop); it != resolved_.end()) return it->second;
  RequestBatch request(16 * 1024);
  const uint32_t seq = requests_->NextSeq();
  request.GetRoute(seq, next_hop);
  std::optional<RouteLookup> lookup;
  absl::Status s =
      requests_->Request(request, seq, [&](const nlmsghdr* m) { lookup = ParseRouteLookup(m); });
  std::optional<Gateway> out;
  if (s.ok() && lookup && lookup->reachable && lookup->ifindex != 0) {
    out = Gateway{lookup->via.empty() ? next_hop : lookup->via, lookup->ifindex};
  } else {
    STROBE_LOG(kWarning, "fib: next hop %s does not resolve to an interface%s%s",
               next_hop.ToString(), s.ok() ? "" : ": ", std::string(s.message()));
  }
  resolved_[next_hop] = out;
  return out;
}

size_t FibWriter::NextHopsDown(std::span<const net::IpAddress> next_hops, int64_t event_ns) {
  const size_t groups = table_.NextHopsDown(next_hops, event_ns);
  if (groups == 0) return 0;
  // Only the group rewrites (and any nexthop they need): no route work before them.
  Send(table_.TakeOps(0));
  ++counters_.failovers;
  FailoverRecord record;
  record.next_hops.assign(next_hops.begin(), next_hops.end());
  record.groups = groups;
  record.event_ns = event_ns;
  record.acked_ns = MonotonicNowNs();
  STROBE_LOG(kInfo,
             "fib: %d groups rewritten without %d dead next hops, acked %.3f ms after the "
             "event",
             groups, next_hops.size(), (record.acked_ns - event_ns) / 1e6);
  last_failover_ = std::move(record);
  return groups;
}

void FibWriter::Flush(size_t route_budget) {
  if (resync_needed_) Resync();
  if (retry_needed_) {
    retry_needed_ = false;
    table_.RetryFailed();
  }
  table_.Plan();
  Send(table_.TakeOps(route_budget));
  if (resync_needed_) Resync();
}

void FibWriter::Send(const std::vector<Op>& ops) {
  if (ops.empty()) return;
  RequestBatch batch;
  std::vector<Op> in_batch;
  uint32_t first_seq = 0;
  bool nexthops_in_batch = false;
  for (const Op& op : ops) {
    // Groups are built from the nexthops' acked state (a refused member is left out), so the
    // nexthops go in a batch of their own first.
    if (batch.full() || (op.kind == OpKind::kSetGroup && nexthops_in_batch)) {
      SendBatch(batch, first_seq, in_batch);
      nexthops_in_batch = false;
    }
    nexthops_in_batch = nexthops_in_batch || op.kind == OpKind::kAddNexthop;
    const uint32_t seq = requests_->NextSeq();
    if (batch.empty()) first_seq = seq;
    switch (op.kind) {
      case OpKind::kAddNexthop:
      case OpKind::kSetGroup:
        batch.AddNexthop(seq, table_.NexthopMessage(op));
        break;
      case OpKind::kDeleteGroup:
      case OpKind::kDeleteNexthop:
        batch.DeleteNexthop(seq, op.id);
        break;
      case OpKind::kSetRoute:
        batch.AddRoute(seq, table_.RouteMessage(op));
        break;
      case OpKind::kDeleteRoute:
        batch.DeleteRoute(seq, table_.RouteMessage(op));
        break;
    }
    in_batch.push_back(op);
  }
  SendBatch(batch, first_seq, in_batch);
}

void FibWriter::SendBatch(RequestBatch& batch, uint32_t first_seq, std::vector<Op>& in_batch) {
  if (batch.empty()) return;
  ++counters_.batches;
  counters_.requests += batch.messages();
  const int64_t sent = MonotonicNowNs();
  absl::Status s = requests_->Send(batch, first_seq, &acks_);
  const int64_t now = MonotonicNowNs();
  batch_duration_.ObserveNs(now - sent);
  if (!s.ok()) {
    ++counters_.lost_acks;
    STROBE_LOG(kWarning, "fib: %s; resynchronising with the kernel", std::string(s.message()));
    resync_needed_ = true;
  }
  for (size_t i = 0; i < in_batch.size() && i < acks_.size(); ++i) {
    if (!s.ok() && acks_[i].seq == 0) continue;  // its ack was lost: the resync decides
    const Op& op = in_batch[i];
    int error = acks_[i].error;
    // Deleting what is already gone is what we wanted.
    if (IsDelete(op.kind) && (error == ENOENT || error == ESRCH)) error = 0;
    table_.OnResult(op, error, acks_[i].message, now);
    if (error != 0) {
      ++counters_.failed;
      if (errors_logged_++ < kErrorsLoggedPerSecond) {
        STROBE_LOG(kWarning, "fib: %s %s refused: %s%s%s", OpKindName(op.kind), OpTarget(op),
                   strerror(error), acks_[i].message.empty() ? "" : ": ", acks_[i].message);
      }
      continue;
    }
    switch (op.kind) {
      case OpKind::kSetRoute:
        ++counters_.routes_set;
        break;
      case OpKind::kDeleteRoute:
        ++counters_.routes_deleted;
        break;
      case OpKind::kSetGroup:
        ++counters_.groups_set;
        break;
      case OpKind::kAddNexthop:
        ++counters_.nexthops_set;
        break;
      default:
        break;
    }
  }
  batch.Clear();
  in_batch.clear();
}

void FibWriter::Resync() {
  resync_needed_ = false;
  ++counters_.resyncs;
  std::vector<KernelNexthop> nexthops;
  std::vector<KernelRoute> routes;
  bool supported = table_.options().nexthop_objects;
  absl::Status s = Dump(&nexthops, &routes, &supported);
  if (!s.ok()) {
    STROBE_LOG(kWarning, "fib: resynchronisation dump failed: %s", std::string(s.message()));
    resync_needed_ = true;
    return;
  }
  resolved_.clear();
  table_.Reconcile(nexthops, routes, /*adopt_routes=*/false);
  STROBE_LOG(kInfo, "fib: resynchronised with the kernel (%d nexthops, %d routes of ours)",
             nexthops.size(), routes.size());
}

void FibWriter::OnNotifications() {
  absl::Status s =
      notifications_->ReadNotifications([this](const nlmsghdr* m) { OnNotification(m); });
  if (!s.ok()) {
    ++counters_.notification_overruns;
    STROBE_LOG(kWarning, "fib: netlink notifications lost (%s); resynchronising",
               std::string(s.message()));
    resync_needed_ = true;
  }
}

void FibWriter::OnNotification(const nlmsghdr* m) {
  // The echo of our own request (the kernel stamps the requester's port id): the table already
  // holds what it says, or newer; taking an old echo for an outside change would undo it.
  const bool ours = m->nlmsg_pid != 0 && m->nlmsg_pid == requests_->portid();
  if (ours && (m->nlmsg_type == RTM_NEWNEXTHOP || m->nlmsg_type == RTM_DELNEXTHOP)) return;
  switch (m->nlmsg_type) {
    case RTM_DELNEXTHOP:
      if (std::optional<KernelNexthop> nh = ParseNexthop(m)) {
        if (nh->protocol == config_.protocol && table_.OnNexthopDeleted(nh->id)) {
          ++counters_.repairs;
          STROBE_LOG(kWarning, "fib: nexthop %d deleted from outside; installing it again", nh->id);
        }
      }
      return;
    case RTM_NEWNEXTHOP:
      if (std::optional<KernelNexthop> nh = ParseNexthop(m)) {
        if (table_.OnNexthopChanged(*nh)) {
          ++counters_.repairs;
          STROBE_LOG(kWarning, "fib: nexthop %d changed from outside; setting it again", nh->id);
        }
      }
      return;
    case RTM_NEWLINK:
    case RTM_DELLINK:
    case RTM_NEWADDR:
    case RTM_DELADDR: {
      // Where next hops resolve may have changed; what failed may work now.
      resolved_.clear();
      std::optional<LinkEvent> link = ParseLink(m);
      if (!link || link->up || m->nlmsg_type == RTM_NEWADDR) retry_needed_ = true;
      return;
    }
    default:
      return;
  }
}

void FibWriter::Tick(int64_t now_ns) {
  errors_logged_ = 0;
  if (stale_deadline_ns_ != 0 && now_ns >= stale_deadline_ns_) ReleaseStale();
  if (now_ns >= next_retry_ns_) {
    next_retry_ns_ = now_ns + kRetryIntervalNs;
    retry_needed_ = true;
  }
}

void FibWriter::ReleaseStale() {
  stale_deadline_ns_ = 0;
  const size_t n = table_.ExpireStale();
  if (n > 0) STROBE_LOG(kInfo, "fib: removing %d stale routes nobody announced again", n);
}

void FibWriter::RemoveAll() { Send(table_.TakeRemoveAll()); }

nlohmann::json FibWriter::ToJson(const std::optional<bgp::RibPrefix>& prefix, bool summary,
                                 int64_t now_ns) const {
  using nlohmann::json;
  auto ms_ago = [now_ns](int64_t t) -> json {
    if (t == 0) return nullptr;
    return (now_ns - t) / kNsPerMs;
  };
  const FibTableOptions& o = table_.options();
  json out;
  out["mode"] = o.nexthop_objects ? "nexthop-objects" : "multipath";
  out["table"] = o.table;
  out["protocol"] = o.protocol;
  out["metric"] = o.metric;
  out["resilient"] = o.resilient;
  out["resilient_buckets"] = o.resilient_buckets;
  const int compat = ReadCompatMode();
  out["nexthop_compat_mode"] = compat < 0 ? json(nullptr) : json(compat);

  size_t installed = 0, pending = 0, failed = 0, stale = 0;
  for (const auto& [p, r] : table_.routes()) {
    installed += r.state == RouteState::kInstalled;
    pending += r.state == RouteState::kPending;
    failed += r.state == RouteState::kFailed;
    stale += r.state == RouteState::kStale;
  }
  out["summary"] = {{"routes", table_.routes().size()},
                    {"installed", installed},
                    {"pending", pending},
                    {"failed", failed},
                    {"stale", stale},
                    {"groups", table_.groups().size()},
                    {"nexthops", table_.nexthops().size()},
                    {"pending_ops", table_.pending_routes()}};
  const FibCounters& c = counters_;
  out["counters"] = {{"batches", c.batches},
                     {"requests", c.requests},
                     {"failed", c.failed},
                     {"routes_set", c.routes_set},
                     {"routes_deleted", c.routes_deleted},
                     {"groups_set", c.groups_set},
                     {"nexthops_set", c.nexthops_set},
                     {"resyncs", c.resyncs},
                     {"lost_acks", c.lost_acks},
                     {"notification_overruns", c.notification_overruns},
                     {"repairs", c.repairs},
                     {"failovers", c.failovers}};
  out["batch_duration"] = batch_duration_.ToJson();
  if (last_failover_) {
    json hops = json::array();
    for (const net::IpAddress& a : last_failover_->next_hops) hops.push_back(a.ToString());
    out["last_failover"] = {
        {"next_hops", hops},
        {"groups", last_failover_->groups},
        {"event_to_ack_us", (last_failover_->acked_ns - last_failover_->event_ns) / kNsPerUs},
        // CLOCK_MONOTONIC of this host: comparable with other local observers' timestamps.
        {"event_ns", last_failover_->event_ns},
        {"acked_ns", last_failover_->acked_ns},
        {"ms_ago", ms_ago(last_failover_->acked_ns)}};
  } else {
    out["last_failover"] = nullptr;
  }

  json groups = json::array();
  std::vector<uint32_t> ids;
  for (const auto& [id, g] : table_.groups()) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (uint32_t id : ids) {
    const FibTable::GroupEntry& g = table_.groups().at(id);
    json members = json::array();
    for (uint32_t m : g.members) {
      auto nh = table_.nexthops().find(m);
      if (nh == table_.nexthops().end()) continue;
      members.push_back({{"id", m},
                         {"gateway", nh->second.gateway.address.ToString()},
                         {"interface", InterfaceName(nh->second.gateway.ifindex)},
                         {"installed", nh->second.installed}});
    }
    groups.push_back({{"id", id},
                      {"type", o.resilient ? "resilient" : "mpath"},
                      {"members", members},
                      {"routes", g.route_refs},
                      {"installed", g.installed},
                      {"error", g.error == 0 ? "" : strerror(g.error)},
                      {"updated_ms_ago", ms_ago(g.updated_ns)}});
  }
  out["groups"] = groups;

  json routes = json::array();
  if (!summary) {
    std::vector<bgp::RibPrefix> prefixes;
    for (const auto& [p, r] : table_.routes()) {
      if (!prefix || p == *prefix) prefixes.push_back(p);
    }
    std::sort(prefixes.begin(), prefixes.end());
    for (const bgp::RibPrefix& p : prefixes) {
      const FibTable::RouteEntry& r = table_.routes().at(p);
      json next_hops = json::array();
      for (const net::IpAddress& a : r.wanted) next_hops.push_back(a.ToString());
      json gateways = json::array();
      for (const Gateway& g : r.gateways) {
        gateways.push_back(
            {{"gateway", g.address.ToString()}, {"interface", InterfaceName(g.ifindex)}});
      }
      routes.push_back({{"prefix", p.ToString()},
                        {"next_hops", next_hops},
                        {"group", r.group == 0 ? json(nullptr) : json(r.group)},
                        {"gateways", gateways},
                        {"state", RouteStateName(r.state)},
                        {"error", r.error == 0 ? "" : strerror(r.error)},
                        {"error_message", r.error_message},
                        {"updated_ms_ago", ms_ago(r.updated_ns)}});
    }
  }
  out["routes"] = routes;
  return out;
}

}  // namespace strobe::fib
