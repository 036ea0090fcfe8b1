#ifndef STROBE_CONTROLPLANE_STROBECTL_SYSTEM_VIEWS_H_
#define STROBE_CONTROLPLANE_STROBECTL_SYSTEM_VIEWS_H_

// strobectl commands about the appliance rather than one protocol: `config check FILE`,
// `show version` (both daemons) and `show workers` (the dataplane's cores, sampled twice).
// Each returns strobectl's exit status.

#include <string>

namespace strobe::ctl {

// Parses FILE like both daemons do: 0 and a summary when valid, 2 and FILE:LINE when not.
int ConfigCheck(const std::string& path, bool json);
// An empty socket is skipped (another was named with --socket).
// `config reload`: asks each daemon whose socket is given to re-read its configuration file and
// apply the difference. Exit status 0 when every daemon that answered applied it, 2 when one
// refused the file (the error names FILE:LINE), 1 when none answered.
int ConfigReload(const std::string& dataplane_socket, const std::string& bgpd_socket, bool json,
                 int timeout_ms);
int ShowVersion(const std::string& dataplane_socket, const std::string& bgpd_socket, bool json,
                int timeout_ms);
// Per worker: sessions, timers armed (wheel load), packets per ms, busy %, over `interval_ms`.
int ShowWorkers(const std::string& dataplane_socket, bool json, int timeout_ms, int interval_ms);

}  // namespace strobe::ctl

#endif  // STROBE_CONTROLPLANE_STROBECTL_SYSTEM_VIEWS_H_
