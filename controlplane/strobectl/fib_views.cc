#include "controlplane/strobectl/fib_views.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "controlplane/strobectl/table.h"

namespace strobe::ctl {
namespace {

using nlohmann::json;

std::string Ago(const json& ms) {
  if (ms.is_null()) return "-";
  return FormatDuration(ms.get<long long>() / 1000);
}

}  // namespace

std::string FormatFib(const json& fib) {
  std::string out;
  const json& s = fib["summary"];
  const json& c = fib["counters"];
  absl::StrAppendFormat(
      &out, "FIB: table %d, protocol %d, metric %d, %s%s\n", fib["table"].get<long long>(),
      fib["protocol"].get<int>(), fib["metric"].get<long long>(), fib["mode"].get<std::string>(),
      fib["resilient"].get<bool>()
          ? absl::StrCat(", resilient groups of ", fib["resilient_buckets"].get<int>(), " buckets")
          : "");
  absl::StrAppendFormat(
      &out, "Routes: %d (%d installed, %d pending, %d failed, %d stale); groups %d, nexthops %d\n",
      s["routes"].get<long long>(), s["installed"].get<long long>(), s["pending"].get<long long>(),
      s["failed"].get<long long>(), s["stale"].get<long long>(), s["groups"].get<long long>(),
      s["nexthops"].get<long long>());
  absl::StrAppendFormat(&out,
                        "Kernel requests: %d in %d batches, %d refused; resyncs %d, repairs %d, "
                        "failovers %d\n",
                        c["requests"].get<long long>(), c["batches"].get<long long>(),
                        c["failed"].get<long long>(), c["resyncs"].get<long long>(),
                        c["repairs"].get<long long>(), c["failovers"].get<long long>());
  if (!fib["last_failover"].is_null()) {
    const json& f = fib["last_failover"];
    std::vector<std::string> hops;
    for (const json& h : f["next_hops"]) hops.push_back(h.get<std::string>());
    absl::StrAppendFormat(&out,
                          "Last failover: %s down, %d groups rewritten, %.3f ms to ack, %s ago\n",
                          absl::StrJoin(hops, ","), f["groups"].get<long long>(),
                          f["event_to_ack_us"].get<long long>() / 1000.0, Ago(f["ms_ago"]));
  }
  if (!fib["groups"].empty()) {
    out += "\n";
    Table t({"Group", "Type", "Routes", "State", "Updated", "Members"});
    for (const json& g : fib["groups"]) {
      std::vector<std::string> members;
      for (const json& m : g["members"]) {
        members.push_back(absl::StrCat(m["id"].get<long long>(), ":",
                                       m["gateway"].get<std::string>(), "@",
                                       m["interface"].get<std::string>()));
      }
      std::string state = g["installed"].get<bool>() ? "installed" : "pending";
      if (!g["error"].get<std::string>().empty())
        state = "failed: " + g["error"].get<std::string>();
      t.AddRow({std::to_string(g["id"].get<long long>()), g["type"],
                std::to_string(g["routes"].get<long long>()), state, Ago(g["updated_ms_ago"]),
                absl::StrJoin(members, " ")});
    }
    out += t.Render();
  }
  if (!fib["routes"].empty()) {
    out += "\n";
    Table t({"Prefix", "Group", "Next hops", "State", "Updated", "Error"});
    for (const json& r : fib["routes"]) {
      std::vector<std::string> hops;
      for (const json& h : r["next_hops"]) hops.push_back(h.get<std::string>());
      std::string error = r["error"].get<std::string>();
      if (!r["error_message"].get<std::string>().empty()) {
        error += ": " + r["error_message"].get<std::string>();
      }
      t.AddRow({r["prefix"],
                r["group"].is_null() ? "-" : std::to_string(r["group"].get<long long>()),
                hops.empty() ? "-" : absl::StrJoin(hops, ","), r["state"], Ago(r["updated_ms_ago"]),
                error.empty() ? "-" : error});
    }
    out += t.Render();
  }
  return out;
}

}  // namespace strobe::ctl
