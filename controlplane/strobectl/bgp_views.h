#ifndef STROBE_CONTROLPLANE_STROBECTL_BGP_VIEWS_H_
#define STROBE_CONTROLPLANE_STROBECTL_BGP_VIEWS_H_

// strobectl's text output of strobe-bgpd's `show bgp ...` replies, laid out like FRR's.

#include <nlohmann/json.hpp>
#include <string>

namespace strobe::ctl {

std::string FormatBgpSummary(const nlohmann::json& summary);
std::string FormatBgpNeighbors(const nlohmann::json& neighbors);
std::string FormatBgpRoutes(const nlohmann::json& routes);

}  // namespace strobe::ctl

#endif  // STROBE_CONTROLPLANE_STROBECTL_BGP_VIEWS_H_
