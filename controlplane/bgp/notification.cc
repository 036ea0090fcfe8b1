#include "controlplane/bgp/notification.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace strobe::bgp {

std::variant<Notification, BgpError> DecodeNotificationBody(std::span<const uint8_t> body) {
  if (body.size() < 2) {
    size_t len = body.size() + kHeaderLength;
    return BgpError{kErrMessageHeader,
                    kSubBadMessageLength,
                    {static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)}};
  }
  Notification n;
  n.code = body[0];
  n.subcode = body[1];
  n.data.assign(body.begin() + 2, body.end());
  return n;
}

std::vector<uint8_t> EncodeNotificationBody(const Notification& n) {
  std::vector<uint8_t> out(2 + n.data.size());
  out[0] = n.code;
  out[1] = n.subcode;
  std::copy(n.data.begin(), n.data.end(), out.begin() + 2);
  return out;
}

std::string NotificationCodeName(uint8_t code) {
  switch (code) {
    case kErrMessageHeader:
      return "Message Header Error";
    case kErrOpenMessage:
      return "OPEN Message Error";
    case kErrUpdateMessage:
      return "UPDATE Message Error";
    case kErrHoldTimerExpired:
      return "Hold Timer Expired";
    case kErrFsm:
      return "Finite State Machine Error";
    case kErrCease:
      return "Cease";
    case kErrRouteRefresh:
      return "ROUTE-REFRESH Message Error";
    default:
      return "Unknown";
  }
}

namespace {

const char* SubcodeName(uint8_t code, uint8_t subcode) {
  switch (code) {
    case kErrMessageHeader:
      switch (subcode) {
        case 1:
          return "Connection Not Synchronized";
        case 2:
          return "Bad Message Length";
        case 3:
          return "Bad Message Type";
      }
      break;
    case kErrOpenMessage:
      switch (subcode) {
        case 0:
          return "Unspecific";
        case 1:
          return "Unsupported Version Number";
        case 2:
          return "Bad Peer AS";
        case 3:
          return "Bad BGP Identifier";
        case 4:
          return "Unsupported Optional Parameter";
        case 6:
          return "Unacceptable Hold Time";
        case 7:
          return "Unsupported Capability";
        case 11:
          return "Role Mismatch";
      }
      break;
    case kErrUpdateMessage:
      switch (subcode) {
        case 1:
          return "Malformed Attribute List";
        case 2:
          return "Unrecognized Well-known Attribute";
        case 3:
          return "Missing Well-known Attribute";
        case 4:
          return "Attribute Flags Error";
        case 5:
          return "Attribute Length Error";
        case 6:
          return "Invalid ORIGIN Attribute";
        case 8:
          return "Invalid NEXT_HOP Attribute";
        case 9:
          return "Optional Attribute Error";
        case 10:
          return "Invalid Network Field";
        case 11:
          return "Malformed AS_PATH";
      }
      break;
    case kErrFsm:
      switch (subcode) {
        case 0:
          return "Unspecified Error";
        case 1:
          return "Receive Unexpected Message in OpenSent State";
        case 2:
          return "Receive Unexpected Message in OpenConfirm State";
        case 3:
          return "Receive Unexpected Message in Established State";
      }
      break;
    case kErrCease:
      switch (subcode) {
        case 1:
          return "Maximum Number of Prefixes Reached";
        case 2:
          return "Administrative Shutdown";
        case 3:
          return "Peer De-configured";
        case 4:
          return "Administrative Reset";
        case 5:
          return "Connection Rejected";
        case 6:
          return "Other Configuration Change";
        case 7:
          return "Connection Collision Resolution";
        case 8:
          return "Out of Resources";
        case 9:
          return "Hard Reset";
        case 10:
          return "BFD Down";
      }
      break;
    case kErrRouteRefresh:
      if (subcode == 1) return "Invalid Message Length";
      break;
  }
  return nullptr;
}

}  // namespace

std::string NotificationName(uint8_t code, uint8_t subcode) {
  const char* sub = SubcodeName(code, subcode);
  if (sub != nullptr) return absl::StrCat(NotificationCodeName(code), "/", sub);
  // Subcode 0 is Unspecific (RFC 4271 section 4.5), the only one Hold Timer Expired has.
  if (subcode == 0) return NotificationCodeName(code);
  return absl::StrCat(NotificationCodeName(code), "/subcode ", subcode);
}

std::optional<std::string> ShutdownCommunication(const Notification& n) {
  if (n.code != kErrCease ||
      (n.subcode != kCeaseAdministrativeShutdown && n.subcode != kCeaseAdministrativeReset) ||
      n.data.empty()) {
    return std::nullopt;
  }
  size_t len = n.data[0];
  if (len + 1 > n.data.size()) return std::nullopt;
  return std::string(n.data.begin() + 1, n.data.begin() + 1 + static_cast<std::ptrdiff_t>(len));
}

Notification MakeShutdownNotification(uint8_t subcode, const std::string& message) {
  Notification n{kErrCease, subcode, {}};
  size_t len = message.size() > 255 ? 255 : message.size();
  n.data.resize(1 + len);
  n.data[0] = static_cast<uint8_t>(len);
  std::copy_n(message.begin(), len, n.data.begin() + 1);
  return n;
}

}  // namespace strobe::bgp
