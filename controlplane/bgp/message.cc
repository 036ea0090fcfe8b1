#include "controlplane/bgp/message.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "controlplane/bgp/wire.h"

namespace strobe::bgp {
namespace {

BgpError BadLength(size_t length) {
  return BgpError{kErrMessageHeader,
                  kSubBadMessageLength,
                  {static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)}};
}

std::vector<uint8_t> Frame(MessageType type, std::span<const uint8_t> body) {
  std::vector<uint8_t> out(16, 0xff);
  wire::PutU16(out, static_cast<uint16_t>(kHeaderLength + body.size()));
  wire::PutU8(out, static_cast<uint8_t>(type));
  wire::PutBytes(out, body);
  return out;
}

}  // namespace

std::variant<Header, BgpError> DecodeHeader(std::span<const uint8_t> bytes, size_t max_length) {
  if (bytes.size() < kHeaderLength) return BadLength(bytes.size());
  for (size_t i = 0; i < 16; ++i) {
    if (bytes[i] != 0xff) return BgpError{kErrMessageHeader, kSubConnectionNotSynchronized, {}};
  }
  Header h;
  h.length = static_cast<uint16_t>((bytes[16] << 8) | bytes[17]);
  uint8_t type = bytes[18];
  if (h.length < kHeaderLength || h.length > max_length) return BadLength(h.length);
  size_t min = 0;
  bool exact = false;
  switch (type) {
    case 1:
      min = 29;
      break;
    case 2:
      min = 23;
      break;
    case 3:
      min = 21;
      break;
    case 4:
      min = 19;
      exact = true;
      break;
    case 5:
      min = 23;
      exact = true;
      break;
    default:
      return BgpError{kErrMessageHeader, kSubBadMessageType, {type}};
  }
  if (h.length < min || (exact && h.length != min)) {
    // RFC 7313 §5: a BoRR/EoRR of the wrong length is a ROUTE-REFRESH Message Error carrying the
    // whole message.
    if (type == 5 && bytes.size() >= 22 && (bytes[21] == 1 || bytes[21] == 2)) {
      size_t n = std::min<size_t>(bytes.size(), h.length);
      return BgpError{kErrRouteRefresh, kSubInvalidMessageLength,
                      std::vector<uint8_t>(bytes.begin(), bytes.begin() + n)};
    }
    return BadLength(h.length);
  }
  h.type = static_cast<MessageType>(type);
  return h;
}

std::variant<size_t, BgpError> FrameLength(std::span<const uint8_t> stream, size_t max_length) {
  if (stream.size() < kHeaderLength) return size_t{0};
  auto h = DecodeHeader(stream, max_length);
  if (auto* err = std::get_if<BgpError>(&h)) {
    // A ROUTE-REFRESH error needs the whole message for its data.
    if (err->code == kErrRouteRefresh) {
      size_t length = (stream[16] << 8) | stream[17];
      if (stream.size() < length) return size_t{0};
      return std::get<BgpError>(DecodeHeader(stream.first(length), max_length));
    }
    return *err;
  }
  size_t length = std::get<Header>(h).length;
  return stream.size() < length ? 0 : length;
}

std::variant<MessageBody, BgpError> DecodeMessage(std::span<const uint8_t> bytes,
                                                  const DecodeOptions& options) {
  auto h = DecodeHeader(bytes, options.max_length);
  if (auto* err = std::get_if<BgpError>(&h)) return *err;
  const Header& header = std::get<Header>(h);
  if (bytes.size() != header.length) return BadLength(header.length);
  std::span<const uint8_t> body = bytes.subspan(kHeaderLength);
  switch (header.type) {
    case MessageType::kOpen: {
      auto open = DecodeOpenBody(body);
      if (auto* err = std::get_if<BgpError>(&open)) return *err;
      return MessageBody(std::move(std::get<Open>(open)));
    }
    case MessageType::kUpdate: {
      UpdateDecodeResult result = DecodeUpdateBody(body, options);
      if (result.action == UpdateDecodeResult::kSessionReset) return *result.notification;
      return MessageBody(std::move(result));
    }
    case MessageType::kNotification: {
      auto n = DecodeNotificationBody(body);
      if (auto* err = std::get_if<BgpError>(&n)) return *err;
      return MessageBody(std::move(std::get<Notification>(n)));
    }
    case MessageType::kKeepalive:
      return MessageBody(Keepalive{});
    case MessageType::kRouteRefresh: {
      RouteRefresh rr;
      wire::Reader r(body);
      r.ReadU16(&rr.afi_safi.afi);
      r.ReadU8(&rr.subtype);
      r.ReadU8(&rr.afi_safi.safi);
      return MessageBody(rr);
    }
  }
  return BgpError{kErrMessageHeader, kSubBadMessageType, {static_cast<uint8_t>(header.type)}};
}

absl::StatusOr<std::vector<uint8_t>> EncodeOpen(const Open& open) {
  auto body = EncodeOpenBody(open);
  if (!body.ok()) return body.status();
  if (body->size() + kHeaderLength > kMaxMessageLength) {
    return absl::InvalidArgumentError(absl::StrCat("OPEN too long: ", body->size()));
  }
  return Frame(MessageType::kOpen, *body);
}

absl::StatusOr<std::vector<uint8_t>> EncodeUpdate(const Update& update,
                                                  const EncodeOptions& options) {
  auto body = EncodeUpdateBody(update, options);
  if (!body.ok()) return body.status();
  if (body->size() + kHeaderLength > options.max_length) {
    return absl::InvalidArgumentError(absl::StrCat("UPDATE of ", body->size() + kHeaderLength,
                                                   " octets exceeds ", options.max_length));
  }
  return Frame(MessageType::kUpdate, *body);
}

std::vector<uint8_t> EncodeNotification(const Notification& n, size_t max_length) {
  std::vector<uint8_t> body = EncodeNotificationBody(n);
  size_t limit = std::min(max_length, kMaxExtendedMessageLength) - kHeaderLength;
  if (body.size() > limit) body.resize(limit);
  return Frame(MessageType::kNotification, body);
}

std::vector<uint8_t> EncodeKeepalive() { return Frame(MessageType::kKeepalive, {}); }

std::vector<uint8_t> EncodeRouteRefresh(const RouteRefresh& rr) {
  std::vector<uint8_t> body;
  wire::PutU16(body, rr.afi_safi.afi);
  wire::PutU8(body, rr.subtype);
  wire::PutU8(body, rr.afi_safi.safi);
  return Frame(MessageType::kRouteRefresh, body);
}

}  // namespace strobe::bgp
