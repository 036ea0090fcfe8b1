#include "dataplane/dataplane.h"

#include <sys/random.h>

#include <algorithm>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "dataplane/socket_io.h"
#include "src/bfd/rx_checks.h"
#include "src/common/clock.h"
#include "src/common/logging.h"

namespace strobe::dataplane {
namespace {

uint64_t RandomSeed() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
    seed = static_cast<uint64_t>(MonotonicNowNs());
  return seed;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Dataplane>> Dataplane::Create(const config::Config& config) {
  if (config.dataplane.backend != "socket") {
    return absl::UnimplementedError(
        absl::StrCat("backend \"", config.dataplane.backend, "\" is not available in this build"));
  }
  const int worker_count = static_cast<int>(config.dataplane.workers.size());
  if (worker_count > kMaxWorkers) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxWorkers, " workers"));
  }
  std::unique_ptr<Dataplane> dp(new Dataplane());
  dp->backend_ = config.dataplane.backend;
  for (int i = 0; i < worker_count; ++i) {
    dp->workers_.push_back(
        std::make_unique<Worker>(i, config.dataplane.workers[i], &dp->directory_));
  }

  // Discriminators: random (RFC 5880 section 6.8.1 asks for unpredictable ones), unique, with
  // the owning worker in the top bits. Sessions are spread round-robin over the workers.
  std::mt19937_64 rng(RandomSeed());
  absl::flat_hash_set<uint32_t> used;
  std::vector<SessionSpec> specs;
  for (size_t i = 0; i < config.sessions.size(); ++i) {
    const config::BfdSessionConfig& c = config.sessions[i];
    const config::BfdProfile& profile = config.ProfileFor(c);
    SessionSpec spec;
    spec.config = c;
    spec.profile_name = profile.name;
    spec.params.desired_min_tx_us = profile.desired_min_tx_us;
    spec.params.required_min_rx_us = profile.required_min_rx_us;
    spec.params.detect_mult = profile.detect_mult;
    spec.params.passive = profile.passive;
    spec.params.admin_down = c.admin_down;
    spec.params.auth = profile.auth;
    const uint32_t worker = static_cast<uint32_t>(i % worker_count);
    do {
      const uint32_t low = static_cast<uint32_t>(rng()) & ((1u << (32 - kWorkerBits)) - 1);
      spec.discriminator = worker << (32 - kWorkerBits) | low;
    } while ((spec.discriminator & ((1u << (32 - kWorkerBits)) - 1)) == 0 ||
             !used.insert(spec.discriminator).second);
    dp->directory_[DirectoryKey{c.peer, c.local, c.multihop ? "" : c.interface, c.multihop}] =
        spec.discriminator;
    specs.push_back(std::move(spec));
  }
  for (const SessionSpec& spec : specs) {
    absl::Status s = dp->workers_[WorkerOfDiscriminator(spec.discriminator)]->AddSession(spec);
    if (!s.ok()) return s;
  }

  // The socket backend receives on worker 0 and hands packets to their owners.
  for (const auto& [family, port] : {std::pair{AF_INET, STROBE_BFD_PORT_SINGLE_HOP},
                                     {AF_INET6, STROBE_BFD_PORT_SINGLE_HOP},
                                     {AF_INET, STROBE_BFD_PORT_MULTIHOP},
                                     {AF_INET6, STROBE_BFD_PORT_MULTIHOP}}) {
    absl::StatusOr<int> fd = OpenListener(family, static_cast<uint16_t>(port));
    if (!fd.ok()) return fd.status();
    dp->workers_[0]->AdoptListener(*fd, port == STROBE_BFD_PORT_MULTIHOP);
  }
  std::vector<Worker*> peers;
  for (auto& w : dp->workers_) peers.push_back(w.get());
  for (auto& w : dp->workers_) w->SetPeers(peers);
  return dp;
}

Dataplane::~Dataplane() { Stop(); }

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
    // Filters: peer, local, interface, multihop (exact), state.
    auto filter = [&args](const nlohmann::json& s) {
      for (const char* key : {"peer", "local", "interface", "state"}) {
        if (args.contains(key) && args[key].is_string() && s[key] != args[key]) return false;
      }
      if (args.contains("multihop") && args["multihop"].is_boolean() &&
          s["multihop"] != args["multihop"])
        return false;
      return true;
    };
    nlohmann::json sessions = nlohmann::json::array();
    for (auto& w : workers_) w->RunOnWorker([&] { w->AppendSessionsJson(&sessions, filter); });
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
        {"rx_packets", 0}, {"tx_packets", 0}, {"tx_errors", 0}, {"sessions", 0}};
    nlohmann::json drops = nlohmann::json::object();
    for (const auto& w : workers) {
      for (const char* key : {"rx_packets", "tx_packets", "tx_errors", "sessions"}) {
        total[key] = total[key].get<uint64_t>() + w[key].get<uint64_t>();
      }
      for (const auto& [reason, count] : w["rx_dropped"].items()) {
        drops[reason] = drops.value(reason, uint64_t{0}) + count.get<uint64_t>();
      }
    }
    total["rx_dropped"] = drops;
    total["backend"] = backend_;
    total["uptime_s"] = (MonotonicNowNs() - started_ns_) / kNsPerSec;
    total["workers"] = workers;
    return total;
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

}  // namespace strobe::dataplane
