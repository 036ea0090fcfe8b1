#ifndef STROBE_SRC_BFD_PACKET_H_
#define STROBE_SRC_BFD_PACKET_H_

// BFD Control packet codec (RFC 5880 section 4). The wire diagram is in rx_checks.h.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "src/bfd/rx_checks.h"

namespace strobe::bfd {

enum class State : uint8_t { kAdminDown = 0, kDown = 1, kInit = 2, kUp = 3 };

// RFC 5880 section 4.1, Diagnostic.
enum class Diag : uint8_t {
  kNone = 0,
  kControlDetectionTimeExpired = 1,
  kEchoFunctionFailed = 2,
  kNeighborSignaledSessionDown = 3,
  kForwardingPlaneReset = 4,
  kPathDown = 5,
  kConcatenatedPathDown = 6,
  kAdministrativelyDown = 7,
  kReverseConcatenatedPathDown = 8,
};

// RFC 5880 section 4.1, Auth Type.
enum class AuthType : uint8_t {
  kNone = 0,
  kSimplePassword = 1,
  kKeyedMd5 = 2,
  kMeticulousKeyedMd5 = 3,
  kKeyedSha1 = 4,
  kMeticulousKeyedSha1 = 5,
};

std::string_view StateName(State state);       // "admin-down", "down", "init", "up"
std::string_view DiagName(Diag diag);          // FRR-like: "control detection time expired", ...
std::string_view AuthTypeName(AuthType type);  // config names: "keyed-md5", ...
std::optional<AuthType> AuthTypeFromName(std::string_view name);

// Length of the authentication section for `type` (RFC 5880 sections 4.2-4.4); for a simple
// password `password_len` is 1..16.
size_t AuthSectionLength(AuthType type, size_t password_len = 0);
// Digest bytes carried by a keyed type: 16 for MD5, 20 for SHA1, 0 otherwise.
size_t AuthDigestLength(AuthType type);

inline constexpr size_t kMaxPasswordLen = 16;
inline constexpr size_t kMaxPacketLen = STROBE_BFD_MANDATORY_LEN + 28;  // keyed SHA1 is longest

// The authentication section as it is on the wire (decoded, not verified).
struct AuthSection {
  AuthType type = AuthType::kNone;
  uint8_t key_id = 0;
  // Simple password (RFC 5880 section 4.2): 1..16 bytes.
  std::array<uint8_t, kMaxPasswordLen> password{};
  uint8_t password_len = 0;
  // Keyed MD5 / SHA1 (sections 4.3, 4.4).
  uint32_t sequence = 0;
  std::array<uint8_t, 20> digest{};  // first AuthDigestLength(type) bytes are used

  friend bool operator==(const AuthSection&, const AuthSection&) = default;
};

struct ControlPacket {
  uint8_t version = 1;
  Diag diag = Diag::kNone;
  State state = State::kDown;
  bool poll = false;
  bool final = false;
  bool control_plane_independent = false;
  bool demand = false;
  bool multipoint = false;
  uint8_t detect_mult = 3;
  uint32_t my_discriminator = 0;
  uint32_t your_discriminator = 0;
  uint32_t desired_min_tx_us = 0;
  uint32_t required_min_rx_us = 0;
  uint32_t required_min_echo_rx_us = 0;
  std::optional<AuthSection> auth;  // present iff the A bit is set

  // Total length on the wire (the Length field).
  size_t WireLength() const;

  friend bool operator==(const ControlPacket&, const ControlPacket&) = default;
};

// Writes `packet` into `out` (at least WireLength() bytes) and returns the bytes written.
// Keyed digests are written as given; auth.h fills them (SignPacket) after encoding.
absl::StatusOr<size_t> Encode(const ControlPacket& packet, std::span<uint8_t> out);

// Decodes a UDP payload that already passed strobe_bfd_check_header(). Returns the reason on a
// malformed authentication section (STROBE_BFD_DROP_AUTH_MALFORMED); STROBE_BFD_OK otherwise.
strobe_bfd_drop_reason Decode(std::span<const uint8_t> payload, ControlPacket* out);

}  // namespace strobe::bfd

#endif  // STROBE_SRC_BFD_PACKET_H_
