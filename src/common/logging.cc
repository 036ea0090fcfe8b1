#include "src/common/logging.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "src/common/clock.h"

namespace strobe {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }

bool SetLogLevelByName(std::string_view name) {
  static constexpr std::pair<std::string_view, LogLevel> kNames[] = {
      {"debug", LogLevel::kDebug},
      {"info", LogLevel::kInfo},
      {"warning", LogLevel::kWarning},
      {"error", LogLevel::kError}};
  for (const auto& [n, level] : kNames) {
    if (n == name) {
      SetLogLevel(level);
      return true;
    }
  }
  return false;
}
LogLevel GetLogLevel() { return g_level.load(std::memory_order_relaxed); }

void LogLine(LogLevel level, std::string_view message) {
  const int64_t now = WallNowNs();
  const time_t secs = static_cast<time_t>(now / kNsPerSec);
  tm utc;
  gmtime_r(&secs, &utc);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  // One write(2) per line so lines from several threads never interleave.
  std::string line =
      absl::StrFormat("%s.%06dZ %-5s %s\n", stamp, static_cast<int>((now % kNsPerSec) / kNsPerUs),
                      LevelName(level), message);
  ssize_t unused = write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

}  // namespace strobe
