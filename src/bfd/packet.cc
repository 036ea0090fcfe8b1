#include "src/bfd/packet.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace strobe::bfd {
namespace {

// Offsets inside the authentication section (RFC 5880 sections 4.2-4.4), relative to its start.
constexpr size_t kAuthOffType = 0;
constexpr size_t kAuthOffLen = 1;
constexpr size_t kAuthOffKeyId = 2;
constexpr size_t kAuthOffPassword = 3;  // simple password
constexpr size_t kAuthOffReserved = 3;  // keyed types
constexpr size_t kAuthOffSequence = 4;  // keyed types
constexpr size_t kAuthOffDigest = 8;    // keyed types

constexpr size_t kKeyedMd5SectionLen = 24;
constexpr size_t kKeyedSha1SectionLen = 28;
constexpr size_t kSimplePasswordHeaderLen = 3;

constexpr uint8_t kMaxVersion = 7;
constexpr uint8_t kMaxDiag = 31;

void WriteBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

uint32_t ReadBe32(const uint8_t* p) { return strobe_bfd_read_be32(p); }

}  // namespace

std::string_view StateName(State state) {
  switch (state) {
    case State::kAdminDown:
      return "admin-down";
    case State::kDown:
      return "down";
    case State::kInit:
      return "init";
    case State::kUp:
      return "up";
  }
  return "unknown";
}

std::string_view DiagName(Diag diag) {
  switch (diag) {
    case Diag::kNone:
      return "ok";
    case Diag::kControlDetectionTimeExpired:
      return "control detection time expired";
    case Diag::kEchoFunctionFailed:
      return "echo function failed";
    case Diag::kNeighborSignaledSessionDown:
      return "neighbor signaled session down";
    case Diag::kForwardingPlaneReset:
      return "forwarding plane reset";
    case Diag::kPathDown:
      return "path down";
    case Diag::kConcatenatedPathDown:
      return "concatenated path down";
    case Diag::kAdministrativelyDown:
      return "administratively down";
    case Diag::kReverseConcatenatedPathDown:
      return "reverse concatenated path down";
  }
  return "unknown";
}

std::string_view AuthTypeName(AuthType type) {
  switch (type) {
    case AuthType::kNone:
      return "none";
    case AuthType::kSimplePassword:
      return "simple-password";
    case AuthType::kKeyedMd5:
      return "keyed-md5";
    case AuthType::kMeticulousKeyedMd5:
      return "meticulous-keyed-md5";
    case AuthType::kKeyedSha1:
      return "keyed-sha1";
    case AuthType::kMeticulousKeyedSha1:
      return "meticulous-keyed-sha1";
  }
  return "unknown";
}

std::optional<AuthType> AuthTypeFromName(std::string_view name) {
  for (AuthType type :
       {AuthType::kNone, AuthType::kSimplePassword, AuthType::kKeyedMd5,
        AuthType::kMeticulousKeyedMd5, AuthType::kKeyedSha1, AuthType::kMeticulousKeyedSha1}) {
    if (AuthTypeName(type) == name) return type;
  }
  return std::nullopt;
}

size_t AuthSectionLength(AuthType type, size_t password_len) {
  switch (type) {
    case AuthType::kNone:
      return 0;
    case AuthType::kSimplePassword:
      return kSimplePasswordHeaderLen + password_len;
    case AuthType::kKeyedMd5:
    case AuthType::kMeticulousKeyedMd5:
      return kKeyedMd5SectionLen;
    case AuthType::kKeyedSha1:
    case AuthType::kMeticulousKeyedSha1:
      return kKeyedSha1SectionLen;
  }
  return 0;
}

size_t AuthDigestLength(AuthType type) {
  switch (type) {
    case AuthType::kKeyedMd5:
    case AuthType::kMeticulousKeyedMd5:
      return 16;
    case AuthType::kKeyedSha1:
    case AuthType::kMeticulousKeyedSha1:
      return 20;
    case AuthType::kNone:
    case AuthType::kSimplePassword:
      break;
  }
  return 0;
}

size_t ControlPacket::WireLength() const {
  size_t len = STROBE_BFD_MANDATORY_LEN;
  if (auth.has_value()) len += AuthSectionLength(auth->type, auth->password_len);
  return len;
}

absl::StatusOr<size_t> Encode(const ControlPacket& packet, std::span<uint8_t> out) {
  if (packet.version > kMaxVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("BFD version ", static_cast<int>(packet.version), " does not fit in 3 bits"));
  }
  const uint8_t diag = static_cast<uint8_t>(packet.diag);
  if (diag > kMaxDiag) {
    return absl::InvalidArgumentError(
        absl::StrCat("BFD diag ", static_cast<int>(diag), " does not fit in 5 bits"));
  }
  const uint8_t state = static_cast<uint8_t>(packet.state);
  if (state > STROBE_BFD_STATE_UP) {
    return absl::InvalidArgumentError(absl::StrCat("invalid BFD state ", static_cast<int>(state)));
  }
  if (packet.auth.has_value()) {
    const AuthSection& auth = *packet.auth;
    switch (auth.type) {
      case AuthType::kNone:
        return absl::InvalidArgumentError("auth section present with auth type none");
      case AuthType::kSimplePassword:
        if (auth.password_len < 1 || auth.password_len > kMaxPasswordLen) {
          return absl::InvalidArgumentError(absl::StrCat(
              "simple password length ", static_cast<int>(auth.password_len), " is not in 1..16"));
        }
        break;
      case AuthType::kKeyedMd5:
      case AuthType::kMeticulousKeyedMd5:
      case AuthType::kKeyedSha1:
      case AuthType::kMeticulousKeyedSha1:
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("unknown auth type ", static_cast<int>(auth.type)));
    }
  }
  const size_t length = packet.WireLength();
  if (out.size() < length) {
    return absl::InvalidArgumentError(
        absl::StrCat("output buffer of ", out.size(), " bytes is too small for ", length));
  }

  uint8_t* p = out.data();
  std::memset(p, 0, length);
  p[STROBE_BFD_OFF_VERS_DIAG] = static_cast<uint8_t>((packet.version << 5) | diag);
  uint8_t flags = static_cast<uint8_t>(state << 6);
  if (packet.poll) flags |= STROBE_BFD_FLAG_POLL;
  if (packet.final) flags |= STROBE_BFD_FLAG_FINAL;
  if (packet.control_plane_independent) flags |= STROBE_BFD_FLAG_CPI;
  if (packet.auth.has_value()) flags |= STROBE_BFD_FLAG_AUTH;
  if (packet.demand) flags |= STROBE_BFD_FLAG_DEMAND;
  if (packet.multipoint) flags |= STROBE_BFD_FLAG_MULTIPOINT;
  p[STROBE_BFD_OFF_FLAGS] = flags;
  p[STROBE_BFD_OFF_DETECT_MULT] = packet.detect_mult;
  p[STROBE_BFD_OFF_LENGTH] = static_cast<uint8_t>(length);
  WriteBe32(p + STROBE_BFD_OFF_MY_DISCR, packet.my_discriminator);
  WriteBe32(p + STROBE_BFD_OFF_YOUR_DISCR, packet.your_discriminator);
  WriteBe32(p + STROBE_BFD_OFF_DESIRED_MIN_TX, packet.desired_min_tx_us);
  WriteBe32(p + STROBE_BFD_OFF_REQUIRED_MIN_RX, packet.required_min_rx_us);
  WriteBe32(p + STROBE_BFD_OFF_REQUIRED_MIN_ECHO_RX, packet.required_min_echo_rx_us);

  if (packet.auth.has_value()) {
    const AuthSection& auth = *packet.auth;
    uint8_t* a = p + STROBE_BFD_OFF_AUTH;
    a[kAuthOffType] = static_cast<uint8_t>(auth.type);
    a[kAuthOffLen] = static_cast<uint8_t>(length - STROBE_BFD_OFF_AUTH);
    a[kAuthOffKeyId] = auth.key_id;
    if (auth.type == AuthType::kSimplePassword) {
      std::memcpy(a + kAuthOffPassword, auth.password.data(), auth.password_len);
    } else {
      a[kAuthOffReserved] = 0;
      WriteBe32(a + kAuthOffSequence, auth.sequence);
      std::memcpy(a + kAuthOffDigest, auth.digest.data(), AuthDigestLength(auth.type));
    }
  }
  return length;
}

strobe_bfd_drop_reason Decode(std::span<const uint8_t> payload, ControlPacket* out) {
  // Defensive re-checks of what strobe_bfd_check_header() guarantees, so that a caller that
  // skipped it cannot make us read out of bounds.
  if (payload.size() < STROBE_BFD_MANDATORY_LEN) return STROBE_BFD_DROP_SHORT_PACKET;
  const uint8_t* p = payload.data();
  const size_t length = p[STROBE_BFD_OFF_LENGTH];
  const uint8_t flags = p[STROBE_BFD_OFF_FLAGS];
  const bool has_auth = (flags & STROBE_BFD_FLAG_AUTH) != 0;
  if (length > payload.size() ||
      length < (has_auth ? STROBE_BFD_MIN_AUTH_LEN : STROBE_BFD_MANDATORY_LEN)) {
    return STROBE_BFD_DROP_BAD_LENGTH;
  }

  ControlPacket packet;
  packet.version = static_cast<uint8_t>(p[STROBE_BFD_OFF_VERS_DIAG] >> 5);
  packet.diag = static_cast<Diag>(p[STROBE_BFD_OFF_VERS_DIAG] & 0x1f);
  packet.state = static_cast<State>(flags >> 6);
  packet.poll = (flags & STROBE_BFD_FLAG_POLL) != 0;
  packet.final = (flags & STROBE_BFD_FLAG_FINAL) != 0;
  packet.control_plane_independent = (flags & STROBE_BFD_FLAG_CPI) != 0;
  packet.demand = (flags & STROBE_BFD_FLAG_DEMAND) != 0;
  packet.multipoint = (flags & STROBE_BFD_FLAG_MULTIPOINT) != 0;
  packet.detect_mult = p[STROBE_BFD_OFF_DETECT_MULT];
  packet.my_discriminator = ReadBe32(p + STROBE_BFD_OFF_MY_DISCR);
  packet.your_discriminator = ReadBe32(p + STROBE_BFD_OFF_YOUR_DISCR);
  packet.desired_min_tx_us = ReadBe32(p + STROBE_BFD_OFF_DESIRED_MIN_TX);
  packet.required_min_rx_us = ReadBe32(p + STROBE_BFD_OFF_REQUIRED_MIN_RX);
  packet.required_min_echo_rx_us = ReadBe32(p + STROBE_BFD_OFF_REQUIRED_MIN_ECHO_RX);

  if (has_auth) {
    // Length >= 26 here, so Auth Type and Auth Len are inside the packet.
    const uint8_t* a = p + STROBE_BFD_OFF_AUTH;
    const size_t auth_len = a[kAuthOffLen];
    if (auth_len > length - STROBE_BFD_OFF_AUTH) return STROBE_BFD_DROP_AUTH_MALFORMED;
    AuthSection auth;
    auth.type = static_cast<AuthType>(a[kAuthOffType]);
    switch (auth.type) {
      case AuthType::kSimplePassword:
        if (auth_len < kSimplePasswordHeaderLen + 1 ||
            auth_len > kSimplePasswordHeaderLen + kMaxPasswordLen) {
          return STROBE_BFD_DROP_AUTH_MALFORMED;
        }
        auth.key_id = a[kAuthOffKeyId];
        auth.password_len = static_cast<uint8_t>(auth_len - kSimplePasswordHeaderLen);
        std::memcpy(auth.password.data(), a + kAuthOffPassword, auth.password_len);
        break;
      case AuthType::kKeyedMd5:
      case AuthType::kMeticulousKeyedMd5:
      case AuthType::kKeyedSha1:
      case AuthType::kMeticulousKeyedSha1:
        if (auth_len != AuthSectionLength(auth.type)) return STROBE_BFD_DROP_AUTH_MALFORMED;
        auth.key_id = a[kAuthOffKeyId];
        // The Reserved byte is ignored on receipt (RFC 5880 section 4.3).
        auth.sequence = ReadBe32(a + kAuthOffSequence);
        std::memcpy(auth.digest.data(), a + kAuthOffDigest, AuthDigestLength(auth.type));
        break;
      default:  // kNone (0) and the unassigned types.
        return STROBE_BFD_DROP_AUTH_MALFORMED;
    }
    packet.auth = auth;
  }
  *out = packet;
  return STROBE_BFD_OK;
}

}  // namespace strobe::bfd
