// BGP NOTIFICATION (RFC 4271 §4.5), Cease subcodes (RFC 4486, RFC 9384) and the shutdown
// communication (RFC 8203 / RFC 9003).
#ifndef STROBE_CONTROLPLANE_BGP_NOTIFICATION_H_
#define STROBE_CONTROLPLANE_BGP_NOTIFICATION_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "controlplane/bgp/types.h"

namespace strobe::bgp {

// Cease subcodes.
inline constexpr uint8_t kCeaseMaxPrefixes = 1;
inline constexpr uint8_t kCeaseAdministrativeShutdown = 2;
inline constexpr uint8_t kCeasePeerDeconfigured = 3;
inline constexpr uint8_t kCeaseAdministrativeReset = 4;
inline constexpr uint8_t kCeaseConnectionRejected = 5;
inline constexpr uint8_t kCeaseOtherConfigurationChange = 6;
inline constexpr uint8_t kCeaseConnectionCollision = 7;
inline constexpr uint8_t kCeaseOutOfResources = 8;
inline constexpr uint8_t kCeaseHardReset = 9;
inline constexpr uint8_t kCeaseBfdDown = 10;

struct Notification {
  uint8_t code = 0;
  uint8_t subcode = 0;
  std::vector<uint8_t> data;
  bool operator==(const Notification&) const = default;

  static Notification FromError(const BgpError& e) { return {e.code, e.subcode, e.data}; }
};

// The body is at least 2 octets (the header check guarantees it); never fails otherwise.
std::variant<Notification, BgpError> DecodeNotificationBody(std::span<const uint8_t> body);
std::vector<uint8_t> EncodeNotificationBody(const Notification& n);

// "Cease", "OPEN Message Error", ...; "Unknown" when unassigned.
std::string NotificationCodeName(uint8_t code);
// "Cease/BFD Down", "OPEN Message Error/Bad Peer AS", "UPDATE Message Error/subcode 42"; the
// code's name alone for an unnamed subcode 0 (Unspecific): "Hold Timer Expired".
std::string NotificationName(uint8_t code, uint8_t subcode);

// The shutdown communication of a Cease/Administrative Shutdown or Reset (RFC 8203, length up to
// 255 per RFC 9003), when present and well formed (length fits the data).
std::optional<std::string> ShutdownCommunication(const Notification& n);
// Builds Cease/subcode with a shutdown communication (truncated to 255 octets).
Notification MakeShutdownNotification(uint8_t subcode, const std::string& message);

}  // namespace strobe::bgp

#endif  // STROBE_CONTROLPLANE_BGP_NOTIFICATION_H_
