#include "dataplane/dpdk/dpdk_eal.h"

#include <pthread.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <sched.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/common/logging.h"

namespace strobe::dataplane {
namespace {

bool eal_ready = false;

constexpr char kReserveHugepages[] =
    "reserve hugepages (echo 512 > /proc/sys/vm/nr_hugepages and mount hugetlbfs on "
    "/dev/hugepages) or pass \"--no-huge\", \"-m\", \"256\" in eal_args";

// Free hugepages of every size (/sys/kernel/mm/hugepages/hugepages-*/free_hugepages).
int64_t FreeHugepages() {
  int64_t total = 0;
  std::error_code ignored;
  for (const auto& entry :
       std::filesystem::directory_iterator("/sys/kernel/mm/hugepages", ignored)) {
    std::ifstream in(entry.path() / "free_hugepages");
    int64_t n = 0;
    if (in >> n) total += n;
  }
  return total;
}

}  // namespace

std::string EalErrorHint(int error, bool no_huge, int64_t free_hugepages) {
  // The EAL answers EACCES when it finds no hugepage information at all, even as root.
  if (!no_huge && free_hugepages == 0 && (error == EACCES || error == ENOMEM)) {
    return absl::StrCat("no free hugepages: ", kReserveHugepages);
  }
  switch (error) {
    case EACCES:
    case EPERM:
      return "permission denied: run as root, or with CAP_SYS_ADMIN, CAP_IPC_LOCK and "
             "CAP_NET_RAW and access to /dev/hugepages and /dev/vfio";
    case ENOMEM:
      return absl::StrCat("not enough memory: ", kReserveHugepages);
    case EALREADY:
      return "the EAL is already initialised in this process";
    case EINVAL:
      return "an argument in eal_args is invalid (the EAL printed which above)";
    case ENODEV:
      return "a device in eal_args could not be found";
    case ENOTSUP:
      return "an option in eal_args is not supported by this DPDK build";
    case EPROTO:
      return "the PCI bus could not be scanned (use \"--no-pci\" when only vdevs are used)";
    case ENOEXEC:
      return "a driver failed to load";
    case EFAULT:
      return "the EAL's shared configuration is held by another process: give each process its "
             "own \"--file-prefix\", or pass \"--no-shconf\"";
    default:
      return rte_strerror(error);
  }
}

absl::Status InitEal(const std::vector<std::string>& args) {
  if (eal_ready) return absl::OkStatus();
  std::vector<std::string> storage;
  storage.push_back("strobe-dataplane");
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);

  cpu_set_t affinity;
  const bool saved = pthread_getaffinity_np(pthread_self(), sizeof(affinity), &affinity) == 0;
  STROBE_LOG(kInfo, "dpdk: rte_eal_init %s", absl::StrJoin(args, " "));
  const bool no_huge = std::find(args.begin(), args.end(), "--no-huge") != args.end();
  const int parsed = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
  if (parsed < 0) {
    const int error = rte_errno;
    return absl::FailedPreconditionError(
        absl::StrCat("dpdk: rte_eal_init(", absl::StrJoin(args, " "),
                     ") failed: ", EalErrorHint(error, no_huge, no_huge ? -1 : FreeHugepages())));
  }
  eal_ready = true;
  if (saved) pthread_setaffinity_np(pthread_self(), sizeof(affinity), &affinity);
  return absl::OkStatus();
}

void CleanupEal() {
  if (!eal_ready) return;
  rte_eal_cleanup();
  eal_ready = false;
}

}  // namespace strobe::dataplane
