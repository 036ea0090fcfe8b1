#ifndef STROBE_SRC_COMMON_CAPABILITIES_H_
#define STROBE_SRC_COMMON_CAPABILITIES_H_

// Least privilege after setup: a daemon starts with what its setup needs (root, or systemd's
// AmbientCapabilities=), then keeps only the capabilities its steady state needs. Everything else
// leaves the effective, permitted, inheritable and ambient sets and the bounding set, and
// no_new_privs is set, so nothing the process executes later can gain privileges back.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace strobe {

// Keeps exactly `keep` (CAP_* numbers from <linux/capability.h>) among the capabilities the
// process has now; one it does not have is not added. Dropping the bounding set needs
// CAP_SETPCAP: without it (an unprivileged run) the bounding set is left as it is. Returns an
// error only if the kernel refused the change.
absl::Status KeepOnlyCapabilities(absl::Span<const int> keep);

// The effective capabilities of this process, as names ("net_admin", ...), for logs and status.
std::vector<std::string> EffectiveCapabilityNames();

}  // namespace strobe

#endif  // STROBE_SRC_COMMON_CAPABILITIES_H_
