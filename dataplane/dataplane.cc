#include "dataplane/dataplane.h"

#include <net/if.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "dataplane/dpdk/dpdk_eal.h"
#include "dataplane/socket_io.h"
#include "src/bfd/rx_checks.h"
#include "src/common/clock.h"
#include "src/common/logging.h"
#include "src/common/version.h"

namespace strobe::dataplane {
namespace {

std::vector<SessionSpec> ConfiguredSessions(const config::Config& config) {
  std::vector<SessionSpec> specs;
  for (const config::BfdSessionConfig& c : config.sessions) {
    const config::BfdProfile& profile = config.ProfileFor(c);
    SessionSpec spec;
    spec.key = ipc::SessionKey{c.peer, c.local, c.multihop ? "" : c.interface, c.multihop};
    spec.profile_name = profile.name;
    spec.params.desired_min_tx_us = profile.desired_min_tx_us;
    spec.params.required_min_rx_us = profile.required_min_rx_us;
    spec.params.detect_mult = profile.detect_mult;
    spec.params.passive = profile.passive;
    spec.params.admin_down = c.admin_down;
    spec.params.auth = profile.auth;
    spec.configured = true;
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Dataplane>> Dataplane::Create(const config::Config& config) {
  const int worker_count = static_cast<int>(config.dataplane.workers.size());
  std::unique_ptr<Dataplane> dp(new Dataplane());
  dp->backend_ = config.dataplane.backend;
  absl::StatusOr<ipc::ShmRegion> region =
      ipc::ShmRegion::Create(static_cast<uint32_t>(worker_count), getpid());
  if (!region.ok()) return region.status();
  dp->region_ = std::move(*region);
  dp->events_doorbell_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (dp->events_doorbell_fd_ < 0) return absl::InternalError("eventfd");
  for (int i = 0; i < worker_count; ++i) {
    dp->workers_.push_back(std::make_unique<Worker>(i, config.dataplane.workers[i], worker_count,
                                                    config.dataplane.realtime_priority));
    dp->workers_.back()->AttachShm(dp->region_.worker(static_cast<uint32_t>(i)),
                                   dp->events_doorbell_fd_);
  }

  if (config.dataplane.backend == "xdp") {
    // The program goes on every interface a single-hop session names, and on those listed.
    XdpFastPath::Options options;
    options.native = config.dataplane.xdp.native;
    options.worker_count = static_cast<uint32_t>(worker_count);
    for (const config::BfdSessionConfig& c : config.sessions) {
      if (!c.multihop) options.interfaces.push_back(c.interface);
    }
    for (const std::string& name : config.dataplane.xdp.interfaces)
      options.interfaces.push_back(name);
    std::sort(options.interfaces.begin(), options.interfaces.end());
    options.interfaces.erase(std::unique(options.interfaces.begin(), options.interfaces.end()),
                             options.interfaces.end());
    absl::StatusOr<std::unique_ptr<XdpFastPath>> fp = XdpFastPath::Load(options);
    if (!fp.ok()) return fp.status();
    dp->xdp_ = std::move(*fp);
    for (auto& w : dp->workers_) w->AttachXdp(dp->xdp_.get());
    if (config.dataplane.xdp.af_xdp_tx) {
      if (absl::Status s = dp->OpenAfXdp(options.interfaces); !s.ok()) return s;
    }
  }

  if (config.dataplane.backend == "dpdk") {
    dp->config_ = config;  // its errors name the file
    if (absl::Status s = dp->OpenDpdk(config.dataplane.dpdk); !s.ok()) return s;
  }

  // Each session lives on the worker its key hashes to, as the control plane will compute too.
  for (const SessionSpec& spec : ConfiguredSessions(config)) {
    absl::StatusOr<uint32_t> id =
        dp->workers_[ipc::OwnerWorker(spec.key, worker_count)]->CreateSession(spec);
    if (!id.ok()) return id.status();
  }
  dp->config_ = config;

  // The socket backend receives on worker 0 and hands packets to their owners.
  for (const auto& [family, port] : {std::pair{AF_INET, STROBE_BFD_PORT_SINGLE_HOP},
                                     {AF_INET6, STROBE_BFD_PORT_SINGLE_HOP},
                                     {AF_INET, STROBE_BFD_PORT_MULTIHOP},
                                     {AF_INET6, STROBE_BFD_PORT_MULTIHOP}}) {
    absl::StatusOr<int> fd = OpenListener(family, static_cast<uint16_t>(port));
    if (!fd.ok()) return fd.status();
    // The dpdk backend's links: a vdev on a kernel link (net_af_packet) leaves the kernel a copy
    // of every frame, and the port's queue already delivered the BFD ones. The listeners serve
    // the other interfaces and hold the ports, so the kernel answers nothing with ICMP.
    std::vector<int> ifindexes;
    for (const auto& p : dp->dpdk_ports_) ifindexes.push_back(p->queue(0)->ifindex());
    if (absl::Status s = IgnoreInterfaces(*fd, ifindexes); !s.ok()) {
      close(*fd);
      return s;
    }
    dp->workers_[0]->AdoptListener(*fd, port == STROBE_BFD_PORT_MULTIHOP);
  }
  std::vector<Worker*> peers;
  for (auto& w : dp->workers_) peers.push_back(w.get());
  for (auto& w : dp->workers_) w->SetPeers(peers);
  return dp;
}

Dataplane::~Dataplane() {
  Stop();
  workers_.clear();
  dpdk_ports_.clear();
  for (rte_mempool* pool : dpdk_pools_) FreeWorkerPool(pool);
  dpdk_pools_.clear();
  if (backend_ == "dpdk") CleanupEal();
  if (events_doorbell_fd_ >= 0) close(events_doorbell_fd_);
}

absl::StatusOr<ipc::AttachReply> Dataplane::Attach(const nlohmann::json& args) {
  const int version = args.value("layout_version", -1);
  if (version != static_cast<int>(ipc::kLayoutVersion)) {
    return absl::FailedPreconditionError(
        absl::StrCat("this dataplane speaks shared-memory layout version ", ipc::kLayoutVersion,
                     ", the client ", version, ": upgrade both processes together"));
  }
  ipc::AttachReply reply;
  reply.result = {{"generation", region_.generation()},
                  {"worker_count", workers_.size()},
                  {"layout_version", ipc::kLayoutVersion},
                  {"dataplane_pid", getpid()}};
  reply.fds.push_back(region_.fd());
  reply.fds.push_back(events_doorbell_fd_);
  for (const auto& w : workers_) reply.fds.push_back(w->wake_fd());
  region_.header()->consumer_attached.store(1, std::memory_order_release);
  STROBE_LOG(kInfo, "control-plane client attached (pid %d)", args.value("pid", 0));
  return reply;
}

void Dataplane::Detach() {
  region_.header()->consumer_attached.store(0, std::memory_order_release);
  STROBE_LOG(kInfo, "control-plane client detached; its sessions keep running");
}

void Dataplane::Tick() {
  region_.header()->heartbeat_ns.store(MonotonicNowNs(), std::memory_order_release);
  PollNeighbors();
}

absl::Status Dataplane::OpenAfXdp(const std::vector<std::string>& interfaces) {
  bool any = false;
  for (auto& w : workers_) {
    for (const std::string& name : interfaces) {
      AfXdpTx::Options options;
      options.ifname = name;
      options.queue_id = static_cast<uint32_t>(w->index());
      absl::StatusOr<std::unique_ptr<AfXdpTx>> tx = AfXdpTx::Open(options);
      if (!tx.ok()) {
        // A queue this interface lacks (a single-queue veth with two workers): that worker's
        // sessions there use their kernel sockets, as with tx = "socket".
        STROBE_LOG(kWarning,
                   "worker %d: no AF_XDP socket on %s queue %d (%s); its sessions there transmit "
                   "through kernel sockets",
                   w->index(), name, w->index(), std::string(tx.status().message()));
        continue;
      }
      STROBE_LOG(kInfo, "worker %d: AF_XDP transmission on %s queue %d%s", w->index(), name,
                 w->index(), (*tx)->need_wakeup() ? "" : " (no need_wakeup: kicks every flush)");
      w->AddAfXdpTx(static_cast<int>(if_nametoindex(name.c_str())), std::move(*tx));
      any = true;
    }
  }
  if (!any) return absl::OkStatus();
  return OpenNeighborWatch();
}

absl::Status Dataplane::OpenDpdk(const config::DpdkConfig& dpdk) {
  if (absl::Status s = InitEal(dpdk.eal_args); !s.ok()) return s;
  for (const auto& w : workers_) {
    absl::StatusOr<rte_mempool*> pool = CreateWorkerPool(w->index(), dpdk.mbufs_per_worker);
    if (!pool.ok()) return pool.status();
    dpdk_pools_.push_back(*pool);
  }
  for (const config::DpdkPortConfig& c : dpdk.ports) {
    DpdkPort::Options options;
    options.interface = c.interface;
    options.devargs = c.devargs;
    options.pools = dpdk_pools_;
    options.rx_descriptors = dpdk.rx_descriptors;
    options.tx_descriptors = dpdk.tx_descriptors;
    options.exception_tap = c.exception_tap;
    absl::StatusOr<std::unique_ptr<DpdkPort>> port = DpdkPort::Open(options);
    if (!port.ok()) {
      return absl::Status(port.status().code(),
                          absl::StrCat(config_.path, ":", c.line, ": ", port.status().message()));
    }
    for (auto& w : workers_) {
      const auto i = static_cast<size_t>(w->index());
      w->AddDpdkQueue((*port)->queue(i), int64_t{dpdk.idle_sleep_us} * 1000);
      if (DpdkQueue* e = (*port)->exception_queue(i)) {
        w->AddDpdkQueue(e, int64_t{dpdk.idle_sleep_us} * 1000);
      }
    }
    dpdk_ports_.push_back(std::move(*port));
  }
  return OpenNeighborWatch();
}

nlohmann::json Dataplane::DpdkCountersJson(const nlohmann::json& workers) const {
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& port : dpdk_ports_) {
    nlohmann::json p = port->StatsJson();
    nlohmann::json queues = nlohmann::json::array();
    nlohmann::json exception_queues = nlohmann::json::array();
    const bool has_exception = p["exception"].is_object();
    for (const auto& w : workers) {
      for (const auto& q : w["dpdk_queues"]) {
        const bool mine = q["port_id"] == port->port_id();
        const bool exception = has_exception && q["port_id"] == p["exception"]["port_id"];
        if (!mine && !exception) continue;
        nlohmann::json entry = q;
        entry["worker"] = w["worker"];
        entry.erase("port_id");
        (mine ? queues : exception_queues).push_back(std::move(entry));
      }
    }
    p["queues"] = std::move(queues);
    if (has_exception) p["exception"]["queues"] = std::move(exception_queues);
    ports.push_back(std::move(p));
  }
  return {{"ports", std::move(ports)}};
}

absl::Status Dataplane::OpenNeighborWatch() {
  absl::StatusOr<std::unique_ptr<NeighborWatch>> watch = NeighborWatch::Open();
  if (!watch.ok()) return watch.status();
  neighbors_ = std::move(*watch);
  PollNeighbors();  // the initial dump, before any worker runs
  return absl::OkStatus();
}

// Tick runs at least every 100 ms: a new neighbour reaches the frame templates within that, and
// until then the session keeps transmitting through its kernel socket.
void Dataplane::PollNeighbors() {
  if (neighbors_ == nullptr) return;
  std::vector<NeighborUpdate> updates = neighbors_->Poll();
  if (updates.empty()) return;
  for (auto& w : workers_) w->RunOnWorker([&] { w->ApplyNeighborUpdates(updates); });
}

absl::Status Dataplane::Start() {
  started_ns_ = MonotonicNowNs();
  for (auto& w : workers_) {
    absl::Status s = w->Start();
    if (!s.ok()) return s;
    STROBE_LOG(kInfo, "worker %d pinned to core %d", w->index(), w->core());
  }
  return absl::OkStatus();
}

void Dataplane::Stop() {
  for (auto& w : workers_) w->Stop();
}

absl::StatusOr<nlohmann::json> Dataplane::HandleCommand(const std::string& command,
                                                        const nlohmann::json& args) {
  if (command == "show bfd sessions" || command == "show bfd session") {
    // Filters: peer (an address, or for "show bfd sessions" a prefix), local, interface,
    // multihop (exact), state.
    std::optional<config::IpPrefix> peer_prefix;
    const std::string peer_arg = args.value("peer", std::string());
    if (command == "show bfd sessions" && peer_arg.find('/') != std::string::npos) {
      absl::StatusOr<config::IpPrefix> prefix = config::ParseIpPrefix(peer_arg);
      if (!prefix.ok()) return prefix.status();
      peer_prefix = *prefix;
    }
    auto filter = [&args, &peer_prefix](const nlohmann::json& s) {
      for (const char* key : {"peer", "local", "interface", "state"}) {
        if (peer_prefix && key == std::string_view("peer")) {
          absl::StatusOr<net::IpAddress> peer = net::IpAddress::Parse(s["peer"].get<std::string>());
          if (!peer.ok() || peer->is_v4() != peer_prefix->address.is_v4() ||
              !peer_prefix->Contains(*peer)) {
            return false;
          }
          continue;
        }
        if (args.contains(key) && args[key].is_string() && s[key] != args[key]) return false;
      }
      if (args.contains("multihop") && args["multihop"].is_boolean() &&
          s["multihop"] != args["multihop"])
        return false;
      return true;
    };
    nlohmann::json sessions = nlohmann::json::array();
    // Copied in chunks, so no worker is held off its timers for long; JSON is built here.
    constexpr size_t kChunk = 512;
    std::vector<SessionSnapshot> snapshots;
    const int64_t now = MonotonicNowNs();
    for (auto& w : workers_) {
      for (size_t next = 0, end = 1; next < end;) {
        w->RunOnWorker([&] {
          next = w->SnapshotSessions(next, kChunk, &snapshots);
          end = w->slot_count();
        });
        for (const SessionSnapshot& snapshot : snapshots) {
          nlohmann::json j = SessionJson(snapshot, now);
          if (filter(j)) sessions.push_back(std::move(j));
        }
        snapshots.clear();
      }
    }
    std::sort(sessions.begin(), sessions.end(),
              [](const nlohmann::json& a, const nlohmann::json& b) {
                return std::tie(a["peer"], a["local"], a["interface"]) <
                       std::tie(b["peer"], b["local"], b["interface"]);
              });
    if (command == "show bfd session" && sessions.empty()) {
      return absl::NotFoundError(
          absl::StrCat("no BFD session with peer ", args.value("peer", std::string("?"))));
    }
    return sessions;
  }
  if (command == "show bfd counters") {
    nlohmann::json workers = nlohmann::json::array();
    for (auto& w : workers_) w->RunOnWorker([&] { workers.push_back(w->CountersJson()); });
    nlohmann::json total = {
        {"rx_packets", 0}, {"tx_packets", 0}, {"tx_errors", 0}, {"tx_af_xdp", 0}, {"sessions", 0}};
    nlohmann::json drops = nlohmann::json::object();
    for (const auto& w : workers) {
      for (const char* key : {"rx_packets", "tx_packets", "tx_errors", "tx_af_xdp", "sessions"}) {
        total[key] = total[key].get<uint64_t>() + w[key].get<uint64_t>();
      }
      for (const auto& [reason, count] : w["rx_dropped"].items()) {
        drops[reason] = drops.value(reason, uint64_t{0}) + count.get<uint64_t>();
      }
    }
    if (xdp_ != nullptr) {
      // Drops in the kernel, and what the program did with every packet it saw.
      const std::vector<uint64_t> k = xdp_->Counters();
      for (int r = 1; r < STROBE_BFD_DROP_REASON_COUNT; ++r) {
        const char* reason = strobe_bfd_drop_reason_name(static_cast<strobe_bfd_drop_reason>(r));
        drops[reason] = drops.value(reason, uint64_t{0}) + k[r];
      }
      total["xdp"] = {{"absorbed", k[STROBE_XDP_ABSORBED]},
                      {"to_user", k[STROBE_XDP_TO_USER]},
                      {"ring_full", k[STROBE_XDP_RING_FULL]},
                      {"passed", k[STROBE_XDP_PASSED]},
                      {"mode", xdp_->native() ? "native" : "generic"},
                      {"interfaces", xdp_->interfaces()}};
    }
    if (!dpdk_ports_.empty()) total["dpdk"] = DpdkCountersJson(workers);
    total["rx_dropped"] = drops;
    total["rx_interval_us"] = RxIntervals().SummaryJson();
    total["backend"] = backend_;
    total["uptime_s"] = (MonotonicNowNs() - started_ns_) / kNsPerSec;
    total["workers"] = workers;
    return total;
  }
  if (command == "config reload") {
    absl::StatusOr<config::Config> config = config::LoadConfigFile(config_.path);
    if (!config.ok()) {
      STROBE_LOG(kWarning, "configuration reload refused, nothing changed: %s",
                 std::string(config.status().message()));
      return config.status();
    }
    return Reload(*config);
  }
  if (command == "show version") {
    nlohmann::json cores = nlohmann::json::array();
    for (const auto& w : workers_) cores.push_back(w->core());
    return nlohmann::json{{"daemon", "strobe-dataplane"},
                          {"version", kVersion},
                          {"pid", static_cast<int64_t>(getpid())},
                          {"backend", backend_},
                          {"worker_cores", cores},
                          {"uptime_s", (MonotonicNowNs() - started_ns_) / kNsPerSec}};
  }
  if (command == "set bfd session") {
    const std::string peer_text = args.value("peer", std::string());
    const std::string state = args.value("state", std::string());
    absl::StatusOr<net::IpAddress> peer = net::IpAddress::Parse(peer_text);
    if (!peer.ok()) return peer.status();
    if (state != "admin-down" && state != "up") {
      return absl::InvalidArgumentError("state must be \"admin-down\" or \"up\"");
    }
    int matched = 0;
    for (auto& w : workers_) {
      w->RunOnWorker([&] { matched += w->SetAdminDown(*peer, state == "admin-down"); });
    }
    if (matched == 0)
      return absl::NotFoundError(absl::StrCat("no BFD session with peer ", peer_text));
    return nlohmann::json{{"sessions_changed", matched}};
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command \"", command, "\""));
}

metrics::IntervalHistogram Dataplane::RxIntervals() {
  metrics::IntervalHistogram merged;
  for (auto& w : workers_) w->RunOnWorker([&] { w->AddRxIntervals(&merged); });
  if (xdp_ != nullptr) xdp_->AddRxIntervals(&merged);
  return merged;
}

void Dataplane::ResetRxIntervals() {
  for (auto& w : workers_) w->RunOnWorker([&] { w->ResetRxIntervals(); });
  if (xdp_ != nullptr) xdp_->ResetRxIntervals();
}

absl::StatusOr<int64_t> Dataplane::SetTxSilenced(const ipc::SessionKey& key, bool silenced) {
  absl::StatusOr<int64_t> result = absl::NotFoundError("no worker");
  const int owner = ipc::OwnerWorker(key, static_cast<int>(workers_.size()));
  Worker& w = *workers_[static_cast<size_t>(owner)];
  w.RunOnWorker([&] { result = w.SetTxSilenced(key, silenced); });
  return result;
}

nlohmann::json Dataplane::Reload(const config::Config& config) {
  // What only a restart can change: listed, logged, and the rest applied.
  nlohmann::json restart_required = nlohmann::json::array();
  const config::DataplaneConfig& was = config_.dataplane;
  const config::DataplaneConfig& now = config.dataplane;
  if (now.backend != was.backend) restart_required.push_back("dataplane.backend");
  if (now.workers != was.workers) restart_required.push_back("dataplane.workers");
  if (now.realtime_priority != was.realtime_priority) {
    restart_required.push_back("dataplane.realtime_priority");
  }
  if (now.control_socket != was.control_socket) {
    restart_required.push_back("dataplane.control_socket");
  }
  if (now.control_socket_group != was.control_socket_group) {
    restart_required.push_back("dataplane.control_socket_group");
  }
  if (now.metrics_address != was.metrics_address) {
    restart_required.push_back("dataplane.metrics_address");
  }
  if (now.xdp.native != was.xdp.native || now.xdp.af_xdp_tx != was.xdp.af_xdp_tx ||
      now.xdp.interfaces != was.xdp.interfaces) {
    restart_required.push_back("dataplane.xdp");
  }
  auto ports = [](const config::DpdkConfig& d) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& p : d.ports) {
      out.emplace_back(p.interface, p.devargs + (p.exception_tap ? " exception=tap" : ""));
    }
    return out;
  };
  if (now.dpdk.eal_args != was.dpdk.eal_args || ports(now.dpdk) != ports(was.dpdk) ||
      now.dpdk.idle_sleep_us != was.dpdk.idle_sleep_us ||
      now.dpdk.mbufs_per_worker != was.dpdk.mbufs_per_worker ||
      now.dpdk.rx_descriptors != was.dpdk.rx_descriptors ||
      now.dpdk.tx_descriptors != was.dpdk.tx_descriptors) {
    restart_required.push_back("dataplane.dpdk");
  }
  if (xdp_ != nullptr) {
    // The program stays on the interfaces it was attached to; a session elsewhere works through
    // the kernel's sockets until a restart attaches it there too.
    for (const config::BfdSessionConfig& c : config.sessions) {
      const auto& attached = xdp_->interfaces();
      if (!c.multihop &&
          std::find(attached.begin(), attached.end(), c.interface) == attached.end()) {
        restart_required.push_back(absl::StrCat("dataplane.xdp on ", c.interface));
        break;
      }
    }
  }
  std::vector<std::vector<SessionSpec>> shares(workers_.size());
  for (SessionSpec& spec : ConfiguredSessions(config)) {
    shares[ipc::OwnerWorker(spec.key, static_cast<int>(workers_.size()))].push_back(
        std::move(spec));
  }
  ReloadResult result;
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker& w = *workers_[i];
    w.RunOnWorker([&] { w.ReconcileConfigured(shares[i], &result); });
  }
  const std::string path = config_.path;
  config_ = config;
  config_.path = path.empty() ? config.path : path;
  STROBE_LOG(
      kInfo,
      "configuration reloaded from %s: %zu sessions added, %zu changed, %zu removed, %zu "
      "unchanged%s",
      config_.path, result.added.size(), result.changed.size(), result.removed.size(),
      result.unchanged,
      restart_required.empty() ? "" : absl::StrCat("; needs a restart: ", restart_required.dump()));
  for (const std::string& e : result.errors) STROBE_LOG(kWarning, "reload: %s", e);
  return {{"config", config_.path},
          {"sessions_added", result.added},
          {"sessions_changed", result.changed},
          {"sessions_removed", result.removed},
          {"sessions_unchanged", result.unchanged},
          {"errors", result.errors},
          {"restart_required", restart_required}};
}

}  // namespace strobe::dataplane
