#include "controlplane/bgpd/fib_sink.h"

#include <string>

#include "absl/strings/str_join.h"
#include "src/common/logging.h"

namespace strobe::bgpd {
namespace {

std::string Hops(const bgp::NextHopSet& hops) {
  if (hops.empty()) return "-";
  return absl::StrJoin(
      hops, ",", [](std::string* out, const net::IpAddress& a) { out->append(a.ToString()); });
}

}  // namespace

absl::StatusOr<nlohmann::json> FibSink::Show(const nlohmann::json& args) const {
  (void)args;
  return absl::FailedPreconditionError("the FIB is not programmed ([fib] enabled = false)");
}

void LoggingFibSink::Apply(const std::vector<bgp::RibChange>& changes) {
  for (const bgp::RibChange& c : changes) {
    if (!c.FibChanged()) continue;
    ++applied_;
    STROBE_LOG(kDebug, "fib: %s via %s (was %s)", c.prefix.ToString(), Hops(c.new_next_hops),
               Hops(c.old_next_hops));
  }
}

}  // namespace strobe::bgpd
