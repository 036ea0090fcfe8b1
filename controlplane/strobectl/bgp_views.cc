#include "controlplane/strobectl/bgp_views.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "controlplane/strobectl/table.h"

namespace strobe::ctl {
namespace {

using nlohmann::json;

std::string Str(const json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

std::string AsPathText(const json& path) {
  std::vector<std::string> parts;
  for (const json& as : path) {
    if (as.is_array()) {
      std::vector<std::string> set;
      for (const json& m : as) set.push_back(m.dump());
      parts.push_back("{" + absl::StrJoin(set, ",") + "}");
    } else {
      parts.push_back(as.dump());
    }
  }
  return absl::StrJoin(parts, " ");
}

std::string Capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(toupper(s[0]));
  return s;
}

std::string StateText(const std::string& state) {
  if (state == "opensent") return "OpenSent";
  if (state == "openconfirm") return "OpenConfirm";
  return Capitalized(state);
}

std::string NotificationText(const json& n) {
  if (n.is_null()) return "none";
  std::string out = absl::StrFormat("%d/%d (%s)", n["code"].get<int>(), n["subcode"].get<int>(),
                                    n.value("name", std::string()));
  if (n.contains("message")) out += " \"" + n["message"].get<std::string>() + "\"";
  return out;
}

}  // namespace

std::string FormatBgpSummary(const json& s) {
  std::string out = absl::StrFormat(
      "BGP router identifier %s, local AS number %d\nRIB entries %d, local networks %d, "
      "multipath %d%s\nPeers %d, established %d, dynamic %d\n\n",
      s["router_id"].get<std::string>(), s["as"].get<uint32_t>(), s["rib_count"].get<uint64_t>(),
      s["local_networks"].get<uint64_t>(), s["max_paths"].get<uint64_t>(),
      s["multipath_relax"].get<bool>() ? " (as-path multipath-relax)" : "",
      s["total_peers"].get<uint64_t>(), s["established_peers"].get<uint64_t>(),
      s["dynamic_peers"].get<uint64_t>());
  Table t({"Neighbor", "V", "AS", "MsgRcvd", "MsgSent", "Up/Down", "State/PfxRcd", "PfxSnt", "BFD",
           "Desc"});
  for (const auto& [address, p] : s["peers"].items()) {
    const std::string state = p["state"].get<std::string>();
    const bool up = state == "established";
    std::string desc = p.value("description", std::string());
    if (p.value("dynamic", false)) desc = desc.empty() ? "(dynamic)" : desc + " (dynamic)";
    t.AddRow({(p.value("dynamic", false) ? "*" : "") + address, "4",
              std::to_string(p["remote_as"].get<uint32_t>()),
              std::to_string(p["msg_rcvd"].get<uint64_t>()),
              std::to_string(p["msg_sent"].get<uint64_t>()),
              up ? p["peer_uptime"].get<std::string>() : "never",
              up ? std::to_string(p["pfx_rcd"].get<uint64_t>()) : StateText(state),
              std::to_string(p["pfx_snt"].get<uint64_t>()), Str(p["bfd"]),
              desc.empty() ? "N/A" : desc});
  }
  out += t.Render();
  out += absl::StrFormat("\nTotal number of neighbors %d\n", s["total_peers"].get<uint64_t>());
  return out;
}

std::string FormatBgpNeighbors(const json& neighbors) {
  std::string out;
  for (const json& n : neighbors) {
    const std::string state = n["state"].get<std::string>();
    const bool up = state == "established";
    absl::StrAppendFormat(
        &out, "BGP neighbor is %s, remote AS %d, local AS %d, %s link%s\n",
        n["address"].get<std::string>(), n["remote_as"].get<uint32_t>(),
        n["local_as"].get<uint32_t>(), n["type"] == "ebgp" ? "external" : "internal",
        n["dynamic"].get<bool>() ? ", dynamic from " + n["listen_range"].get<std::string>() : "");
    if (!n["description"].get<std::string>().empty()) {
      absl::StrAppendFormat(&out, " Description: %s\n", n["description"].get<std::string>());
    }
    absl::StrAppendFormat(&out, "  BGP version 4, remote router ID %s\n",
                          n["remote_router_id"].get<std::string>());
    absl::StrAppendFormat(
        &out, "  BGP state = %s, %s %s\n", StateText(state), up ? "up for" : "down for",
        FormatDuration(up ? n["uptime_s"].get<long long>() : n["downtime_s"].get<long long>()));
    absl::StrAppendFormat(&out, "  Hold time is %d, keepalive interval is %d seconds\n",
                          n["hold_time_s"].get<int>(), n["keepalive_s"].get<int>());
    if (!n["local_address"].is_null()) {
      absl::StrAppendFormat(&out, "  Local host: %s, Local port: %d, Foreign port: %d\n",
                            n["local_address"].get<std::string>(), n["local_port"].get<int>(),
                            n["remote_port"].get<int>());
    }
    std::vector<std::string> caps = n["capabilities"].get<std::vector<std::string>>();
    absl::StrAppendFormat(&out, "  Capabilities: %s\n",
                          caps.empty() ? "none negotiated" : absl::StrJoin(caps, ", "));
    const json& rx = n["messages_received"];
    const json& tx = n["messages_sent"];
    out += "  Message statistics:\n                    Sent  Rcvd\n";
    for (const char* k :
         {"open", "notification", "update", "keepalive", "route_refresh", "total"}) {
      absl::StrAppendFormat(&out, "    %-14s %7d %5d\n", k, tx[k].get<uint64_t>(),
                            rx[k].get<uint64_t>());
    }
    absl::StrAppendFormat(
        &out, "  Prefixes: %d received (%d paths), %d accepted, %d stale paths, %d advertised%s\n",
        n["prefixes_received"].get<uint64_t>(), n["paths_received"].get<uint64_t>(),
        n["prefixes_accepted"].get<uint64_t>(), n["paths_stale"].get<uint64_t>(),
        n["prefixes_advertised"].get<uint64_t>(),
        n["max_prefixes"].get<uint32_t>() > 0
            ? absl::StrCat(" (maximum ", n["max_prefixes"].get<uint32_t>(), ")")
            : "");
    absl::StrAppendFormat(&out, "  Connections established %d; last reset: %s\n",
                          n["established_transitions"].get<uint64_t>(),
                          n["last_reset_reason"].get<std::string>().empty()
                              ? "never"
                              : n["last_reset_reason"].get<std::string>());
    absl::StrAppendFormat(&out, "  Last notification sent: %s\n",
                          NotificationText(n["last_notification_sent"]));
    absl::StrAppendFormat(&out, "  Last notification received: %s\n",
                          NotificationText(n["last_notification_received"]));
    if (!n["bfd_profile"].is_null()) {
      absl::StrAppendFormat(&out, "  BFD: profile %s, status %s",
                            n["bfd_profile"].get<std::string>(), Str(n["bfd"]));
      if (!n["bfd_last_down_withdraw_latency_us"].is_null()) {
        absl::StrAppendFormat(&out, ", last Down withdrawn in %.3f ms",
                              n["bfd_last_down_withdraw_latency_us"].get<double>() / 1000.0);
      }
      out += "\n";
    }
    out += "\n";
  }
  return out;
}

std::string FormatBgpRoutes(const json& routes) {
  std::string out =
      "Status codes: * valid, > best, = multipath, l local network\n"
      "Origin codes: i IGP, e EGP, ? incomplete\n\n";
  Table t({"", "Network", "Next Hop", "Metric", "LocPrf", "Neighbor", "Path"});
  size_t paths = 0;
  for (const json& r : routes) {
    bool first = true;
    for (const json& p : r["paths"]) {
      ++paths;
      std::string status = "*";
      if (p.value("local", false)) status = "l";
      if (p["best"].get<bool>()) {
        status += ">";
      } else if (p["multipath"].get<bool>()) {
        status += "=";
      }
      const std::string origin = p.value("origin", std::string("igp"));
      const char* code = origin == "igp" ? "i" : origin == "egp" ? "e" : "?";
      std::string path = AsPathText(p["as_path"]);
      t.AddRow({status, first ? r["prefix"].get<std::string>() : "",
                p["next_hop"].get<std::string>(), Str(p["med"]),
                std::to_string(p["local_pref"].get<uint32_t>()), p["neighbor"].get<std::string>(),
                path.empty() ? code : path + " " + code});
      first = false;
    }
  }
  out += t.Render();
  absl::StrAppendFormat(&out, "\nDisplayed %d routes and %d total paths\n", routes.size(), paths);
  return out;
}

}  // namespace strobe::ctl
