#ifndef STROBE_DATAPLANE_DPDK_DPDK_EAL_H_
#define STROBE_DATAPLANE_DPDK_DPDK_EAL_H_

// DPDK's Environment Abstraction Layer, once per process, from [dataplane.dpdk] eal_args.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace strobe::dataplane {

// Calls rte_eal_init with `args` as given (argv[0] is the program's name). The EAL pins the
// calling thread to its main lcore; the thread's CPU affinity is put back afterwards, as the
// workers pin themselves and the control thread runs where the operator lets it. Errors say what
// is missing: hugepages, permissions, a device.
absl::Status InitEal(const std::vector<std::string>& args);

// rte_eal_cleanup, after every port is closed. No-op when InitEal did not succeed.
void CleanupEal();

// What to tell the operator when rte_eal_init failed with `error` (rte_errno): `no_huge` when
// eal_args hold --no-huge, `free_hugepages` as the kernel counts them.
std::string EalErrorHint(int error, bool no_huge, int64_t free_hugepages);

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_DPDK_DPDK_EAL_H_
