#ifndef STROBE_SRC_COMMON_LOGGING_H_
#define STROBE_SRC_COMMON_LOGGING_H_

#include <string_view>

#include "absl/strings/str_format.h"

namespace strobe {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
// "debug", "info", "warning" or "error"; false (and no change) for any other name.
bool SetLogLevelByName(std::string_view name);
LogLevel GetLogLevel();
void LogLine(LogLevel level, std::string_view message);

// Usage: STROBE_LOG(kInfo, "session %s up", peer). Never pass secrets.
#define STROBE_LOG(level, ...)                                                    \
  do {                                                                            \
    if (::strobe::LogLevel::level >= ::strobe::GetLogLevel()) {                   \
      ::strobe::LogLine(::strobe::LogLevel::level, absl::StrFormat(__VA_ARGS__)); \
    }                                                                             \
  } while (0)

}  // namespace strobe

#endif  // STROBE_SRC_COMMON_LOGGING_H_
