#ifndef STROBE_CONTROLPLANE_STROBECTL_FIB_VIEWS_H_
#define STROBE_CONTROLPLANE_STROBECTL_FIB_VIEWS_H_

// strobectl's text output of strobe-bgpd's `show fib` reply: a summary, the nexthop groups with
// their members, and the routes (like `ip route` with our state beside each).

#include <nlohmann/json.hpp>
#include <string>

namespace strobe::ctl {

std::string FormatFib(const nlohmann::json& fib);

}  // namespace strobe::ctl

#endif  // STROBE_CONTROLPLANE_STROBECTL_FIB_VIEWS_H_
