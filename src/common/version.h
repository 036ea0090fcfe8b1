#ifndef STROBE_SRC_COMMON_VERSION_H_
#define STROBE_SRC_COMMON_VERSION_H_

// The release of every Strobe binary (`--version`, `strobectl show version`).
namespace strobe {

inline constexpr char kVersion[] = "0.1.0";

}  // namespace strobe

#endif  // STROBE_SRC_COMMON_VERSION_H_
