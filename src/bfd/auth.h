#ifndef STROBE_SRC_BFD_AUTH_H_
#define STROBE_SRC_BFD_AUTH_H_

// BFD authentication (RFC 5880 sections 6.7.2-6.7.4): signing on transmit, verification and the
// sequence-number replay rules on receive.

#include <cstdint>
#include <span>
#include <string>

#include "src/bfd/packet.h"
#include "src/bfd/rx_checks.h"

namespace strobe::bfd {

// One configured key (the config file's `auth = { type, key_id, secret }`).
struct AuthKey {
  AuthType type = AuthType::kNone;
  uint8_t key_id = 0;
  std::string secret;  // 1..16 bytes for passwords and MD5, 1..20 for SHA1. Never logged.
  // Configuration comparison (a reload, a client registering again), not packet checking.
  friend bool operator==(const AuthKey&, const AuthKey&) = default;
};

// Per-session authentication sequence state (RFC 5880 section 6.8.1 variables).
struct AuthState {
  uint32_t xmit_auth_seq = 0;   // bfd.XmitAuthSeq, initialised to a random value
  uint32_t rcv_auth_seq = 0;    // bfd.RcvAuthSeq
  bool auth_seq_known = false;  // bfd.AuthSeqKnown
};

// Fills the auth section of an encoded packet `wire` (Length bytes, A bit set, section already
// encoded with type/key id/sequence) with the password or digest for `key`.
// For keyed types the digest is computed over the packet with the key in the digest field.
void SignPacket(const AuthKey& key, std::span<uint8_t> wire);

// Verifies the decoded `packet` against `key` and the session's replay window
// (section 6.7.3: within 3 * detect_mult of the last sequence, strictly greater for meticulous).
// `wire` is the received packet (Length bytes). On success updates `state` and returns
// STROBE_BFD_OK; otherwise the drop reason (AUTH_MISMATCH, AUTH_FAILED, AUTH_SEQUENCE).
strobe_bfd_drop_reason VerifyPacket(const AuthKey& key, const ControlPacket& packet,
                                    std::span<const uint8_t> wire, uint8_t detect_mult,
                                    AuthState* state);

// Whether `type` increments its transmit sequence on every packet (meticulous) or may keep it.
bool IsMeticulous(AuthType type);

}  // namespace strobe::bfd

#endif  // STROBE_SRC_BFD_AUTH_H_
