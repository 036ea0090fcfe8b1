#include "src/common/capabilities.h"

#include <cap-ng.h>
#include <linux/capability.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace strobe {

absl::Status KeepOnlyCapabilities(absl::Span<const int> keep) {
  capng_get_caps_process();
  const bool can_drop_bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP) != 0;
  std::vector<int> kept;
  for (int cap : keep) {
    if (capng_have_capability(CAPNG_PERMITTED, cap)) kept.push_back(cap);
  }
  // Without this, a root process keeps its capabilities only until its next execve; with it and
  // the bounding set emptied, it can never regain what it drops here.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return absl::InternalError(absl::StrCat("prctl(PR_SET_NO_NEW_PRIVS): ", strerror(errno)));
  }
  // CAPNG_SELECT_CAPS is the effective, permitted and inheritable sets; ambient capabilities
  // (systemd's AmbientCapabilities=) would be inherited by children: cleared too.
  const int select =
      CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT | (can_drop_bounding ? CAPNG_SELECT_BOUNDS : 0);
  capng_clear(static_cast<capng_select_t>(select));
  for (int cap : kept) {
    capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED), cap);
    if (can_drop_bounding) capng_update(CAPNG_ADD, CAPNG_BOUNDING_SET, cap);
  }
  const int rc = capng_apply(static_cast<capng_select_t>(select));
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("dropping capabilities failed (capng_apply ", rc, ")"));
  }
  return absl::OkStatus();
}

std::vector<std::string> EffectiveCapabilityNames() {
  capng_get_caps_process();
  std::vector<std::string> names;
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (!capng_have_capability(CAPNG_EFFECTIVE, cap)) continue;
    const char* name = capng_capability_to_name(static_cast<unsigned int>(cap));
    names.push_back(name != nullptr ? absl::AsciiStrToLower(name) : absl::StrCat("cap_", cap));
  }
  return names;
}

}  // namespace strobe
