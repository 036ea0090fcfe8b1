#ifndef STROBE_SRC_COMMON_FILE_LIMIT_H_
#define STROBE_SRC_COMMON_FILE_LIMIT_H_

// Raises this process's open-file limit (RLIMIT_NOFILE) to its hard limit: a socket-backend
// session holds one socket, and 1,024 (the usual soft limit) is fewer sessions than a BFD
// appliance or a load test needs.

#include <sys/resource.h>

namespace strobe {

// Returns the soft limit now in force.
inline rlim_t RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

}  // namespace strobe

#endif  // STROBE_SRC_COMMON_FILE_LIMIT_H_
