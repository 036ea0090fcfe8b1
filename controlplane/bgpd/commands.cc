// Speaker::HandleCommand: the control-socket commands of strobe-bgpd.
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "controlplane/bgpd/speaker.h"
#include "controlplane/bgpd/views.h"
#include "src/common/clock.h"
#include "src/common/version.h"

namespace strobe::bgpd {
namespace {

using nlohmann::json;

absl::StatusOr<net::IpAddress> AddressArg(const json& args, const char* key) {
  if (!args.contains(key) || !args[key].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("missing \"", key, "\""));
  }
  return net::IpAddress::Parse(args[key].get<std::string>());
}

}  // namespace

absl::StatusOr<json> Speaker::HandleCommand(const std::string& command, const json& args) {
  const int64_t now = loop_->now_ns();
  if (command == "show bgp summary") return SummaryJson(*this, now);

  if (command == "show bgp neighbors") {
    json out = json::array();
    if (args.contains("address")) {
      absl::StatusOr<net::IpAddress> a = AddressArg(args, "address");
      if (!a.ok()) return a.status();
      const Peer* peer = FindPeer(*a);
      if (peer == nullptr) {
        return absl::NotFoundError(absl::StrCat("no neighbor ", a->ToString()));
      }
      const auto installed = PrefixesInstalled(*this);
      auto it = installed.find(peer->address());
      out.push_back(NeighborJson(*this, *peer, now, it == installed.end() ? 0 : it->second));
      return out;
    }
    const auto installed = PrefixesInstalled(*this);
    for (const Peer* p : Peers()) {
      auto it = installed.find(p->address());
      out.push_back(NeighborJson(*this, *p, now, it == installed.end() ? 0 : it->second));
    }
    return out;
  }

  if (command == "show bgp routes") {
    std::vector<bgp::RibPrefix> only;
    if (args.contains("prefix")) {
      if (!args["prefix"].is_string()) return absl::InvalidArgumentError("bad \"prefix\"");
      const std::string text = args["prefix"].get<std::string>();
      if (text.find('/') != std::string::npos) {
        absl::StatusOr<bgp::RibPrefix> p = bgp::RibPrefix::Parse(text);
        if (!p.ok()) return p.status();
        only.push_back(*p);
      } else {
        // An address: the longest Loc-RIB prefix (or local network) that covers it.
        absl::StatusOr<net::IpAddress> a = net::IpAddress::Parse(text);
        if (!a.ok()) return a.status();
        const int width = a->is_v4() ? 32 : 128;
        for (int length = width; length >= 0 && only.empty(); --length) {
          std::optional<bgp::RibPrefix> p = bgp::RibPrefix::Make(*a, length);
          if (p && (rib_.Lookup(*p).has_value() || networks_.contains(*p))) only.push_back(*p);
        }
        if (only.empty()) return json::array();
      }
    }
    return RoutesJson(*this, only);
  }

  if (command == "show fib") return fib_->Show(args);
  if (command == "show version") {
    return json{{"daemon", "strobe-bgpd"},
                {"version", kVersion},
                {"pid", static_cast<int64_t>(getpid())},
                {"local_as", local_as()},
                {"uptime_s", (now - started_ns()) / kNsPerSec}};
  }

  if (command == "clear bgp neighbor") {
    const std::string soft = args.value("soft", std::string());
    if (!soft.empty() && soft != "in" && soft != "out") {
      return absl::InvalidArgumentError("soft must be \"in\" or \"out\"");
    }
    std::vector<Peer*> targets;
    if (args.value("address", std::string()) == "*") {
      for (auto& [a, p] : peers_) targets.push_back(p.get());
      for (auto& [a, p] : dynamic_peers_) targets.push_back(p.get());
    } else {
      absl::StatusOr<net::IpAddress> a = AddressArg(args, "address");
      if (!a.ok()) return a.status();
      Peer* peer = FindPeer(*a);
      if (peer == nullptr) return absl::NotFoundError(absl::StrCat("no neighbor ", a->ToString()));
      targets.push_back(peer);
    }
    int cleared = 0;
    for (Peer* p : targets) {
      if (soft == "in") {
        cleared += p->SoftIn();
      } else if (soft == "out") {
        cleared += p->SoftOut();
      } else {
        p->Reset();
        ++cleared;
      }
    }
    if (cleared == 0 && !soft.empty()) {
      return absl::FailedPreconditionError(
          soft == "in" ? "not Established, or the neighbor does not support route refresh"
                       : "not Established");
    }
    return json{{"neighbors_cleared", cleared}};
  }
  if (command == "config reload") return ReloadFile("control command");
  return absl::InvalidArgumentError(absl::StrCat("unknown command \"", command, "\""));
}

}  // namespace strobe::bgpd
