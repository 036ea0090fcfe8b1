// BGP message framing (RFC 4271 §4.1): header checks, message decode and encode.
#ifndef STROBE_CONTROLPLANE_BGP_MESSAGE_H_
#define STROBE_CONTROLPLANE_BGP_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/bgp/notification.h"
#include "controlplane/bgp/open.h"
#include "controlplane/bgp/types.h"
#include "controlplane/bgp/update.h"

namespace strobe::bgp {

enum class MessageType : uint8_t {
  kOpen = 1,
  kUpdate = 2,
  kNotification = 3,
  kKeepalive = 4,
  kRouteRefresh = 5,
};

struct Keepalive {
  bool operator==(const Keepalive&) const = default;
};

// RFC 2918 with the RFC 7313 subtype (0 normal, 1 BoRR, 2 EoRR; others must be ignored).
struct RouteRefresh {
  AfiSafi afi_safi;
  uint8_t subtype = 0;
  bool operator==(const RouteRefresh&) const = default;
};

struct Header {
  uint16_t length = 0;
  MessageType type = MessageType::kKeepalive;
};

// Checks the 19-octet header at the start of `bytes` (at least 19 octets): marker, length within
// 19..max_length and the type's minimum (§6.1), type known. The error data is as §6.1 requires.
std::variant<Header, BgpError> DecodeHeader(std::span<const uint8_t> bytes, size_t max_length);

// For a byte stream: 0 when more bytes are needed, else the length of the first message, or the
// header error.
std::variant<size_t, BgpError> FrameLength(std::span<const uint8_t> stream, size_t max_length);

// An UPDATE is returned as its UpdateDecodeResult (never with kSessionReset: that is returned as
// the BgpError).
using MessageBody = std::variant<Open, UpdateDecodeResult, Notification, Keepalive, RouteRefresh>;

// Decodes exactly one message: `bytes` must hold exactly the header's length.
std::variant<MessageBody, BgpError> DecodeMessage(std::span<const uint8_t> bytes,
                                                  const DecodeOptions& options);

absl::StatusOr<std::vector<uint8_t>> EncodeOpen(const Open& open);
absl::StatusOr<std::vector<uint8_t>> EncodeUpdate(const Update& update,
                                                  const EncodeOptions& options);
// Data beyond max_length is truncated (a NOTIFICATION must always be sendable).
std::vector<uint8_t> EncodeNotification(const Notification& n,
                                        size_t max_length = kMaxMessageLength);
std::vector<uint8_t> EncodeKeepalive();
std::vector<uint8_t> EncodeRouteRefresh(const RouteRefresh& rr);

}  // namespace strobe::bgp

#endif  // STROBE_CONTROLPLANE_BGP_MESSAGE_H_
