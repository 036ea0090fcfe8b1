#ifndef STROBE_SRC_COMMON_CLOCK_H_
#define STROBE_SRC_COMMON_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace strobe {

inline constexpr int64_t kNsPerUs = 1000;
inline constexpr int64_t kNsPerMs = 1000 * kNsPerUs;
inline constexpr int64_t kNsPerSec = 1000 * kNsPerMs;

// CLOCK_MONOTONIC in nanoseconds: every deadline in Strobe is on this clock.
inline int64_t MonotonicNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

// CLOCK_REALTIME in nanoseconds, for timestamps shown to people only.
inline int64_t WallNowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

}  // namespace strobe

#endif  // STROBE_SRC_COMMON_CLOCK_H_
