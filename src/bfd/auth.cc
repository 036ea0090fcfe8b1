#include "src/bfd/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace strobe::bfd {
namespace {

// Offsets inside the authentication section, relative to its start (RFC 5880 sections 4.2-4.4).
constexpr size_t kAuthOffLen = 1;
constexpr size_t kAuthOffPassword = 3;
constexpr size_t kAuthOffDigest = 8;

bool IsKeyedType(AuthType type) { return AuthDigestLength(type) != 0; }

// Whether `key.secret` has a length RFC 5880 allows for `key.type`.
bool SecretLengthValid(const AuthKey& key) {
  const size_t len = key.secret.size();
  if (len == 0) return false;
  switch (key.type) {
    case AuthType::kSimplePassword:
      return len <= kMaxPasswordLen;
    case AuthType::kKeyedMd5:
    case AuthType::kMeticulousKeyedMd5:
    case AuthType::kKeyedSha1:
    case AuthType::kMeticulousKeyedSha1:
      return len <= AuthDigestLength(key.type);
    case AuthType::kNone:
      break;
  }
  return false;
}

// Computes the RFC 5880 section 6.7.3/6.7.4 digest of `packet` (the whole packet, Length bytes,
// keyed type) with the zero-padded key in place of the digest field. Returns false on a crypto
// failure.
bool ComputeDigest(const AuthKey& key, std::span<const uint8_t> packet, uint8_t* digest_out) {
  const size_t digest_len = AuthDigestLength(key.type);
  std::array<uint8_t, 255> buf{};  // Length is one byte, so a packet fits
  if (packet.size() > buf.size() ||
      packet.size() < STROBE_BFD_OFF_AUTH + kAuthOffDigest + digest_len) {
    return false;
  }
  std::memcpy(buf.data(), packet.data(), packet.size());
  uint8_t* field = buf.data() + STROBE_BFD_OFF_AUTH + kAuthOffDigest;
  std::memset(field, 0, digest_len);
  std::memcpy(field, key.secret.data(), std::min(key.secret.size(), digest_len));

  const EVP_MD* md = digest_len == 16 ? EVP_md5() : EVP_sha1();
  unsigned int out_len = 0;
  std::array<uint8_t, EVP_MAX_MD_SIZE> out{};
  const bool ok = EVP_Digest(buf.data(), packet.size(), out.data(), &out_len, md, nullptr) == 1 &&
                  out_len == digest_len;
  if (ok) std::memcpy(digest_out, out.data(), digest_len);
  OPENSSL_cleanse(buf.data(), buf.size());  // held the key
  OPENSSL_cleanse(out.data(), out.size());
  return ok;
}

// The packet's Length bytes of `wire`, or an empty span if `wire` is shorter than Length or
// Length cannot hold the auth section its Auth Len announces.
std::span<const uint8_t> PacketBytes(std::span<const uint8_t> wire) {
  if (wire.size() < STROBE_BFD_MIN_AUTH_LEN) return {};
  const size_t length = wire[STROBE_BFD_OFF_LENGTH];
  if (length > wire.size() || length < STROBE_BFD_MIN_AUTH_LEN) return {};
  const size_t auth_len = wire[STROBE_BFD_OFF_AUTH + kAuthOffLen];
  if (auth_len > length - STROBE_BFD_OFF_AUTH) return {};
  return wire.first(length);
}

}  // namespace

bool IsMeticulous(AuthType type) {
  return type == AuthType::kMeticulousKeyedMd5 || type == AuthType::kMeticulousKeyedSha1;
}

void SignPacket(const AuthKey& key, std::span<uint8_t> wire) {
  const std::span<const uint8_t> packet = PacketBytes(wire);
  if (packet.empty() || (wire[STROBE_BFD_OFF_FLAGS] & STROBE_BFD_FLAG_AUTH) == 0) return;
  uint8_t* section = wire.data() + STROBE_BFD_OFF_AUTH;
  if (section[0] != static_cast<uint8_t>(key.type)) return;
  const size_t auth_len = section[kAuthOffLen];
  if (auth_len != AuthSectionLength(key.type, key.secret.size())) return;

  if (key.type == AuthType::kSimplePassword) {
    if (!SecretLengthValid(key)) return;
    std::memcpy(section + kAuthOffPassword, key.secret.data(), key.secret.size());
    return;
  }
  if (!IsKeyedType(key.type)) return;
  uint8_t* digest = section + kAuthOffDigest;
  const size_t digest_len = AuthDigestLength(key.type);
  // An invalid key or a crypto failure leaves an all-zero digest, which no peer accepts.
  if (!SecretLengthValid(key) || !ComputeDigest(key, packet, digest)) {
    std::memset(digest, 0, digest_len);
  }
}

strobe_bfd_drop_reason VerifyPacket(const AuthKey& key, const ControlPacket& packet,
                                    std::span<const uint8_t> wire, uint8_t detect_mult,
                                    AuthState* state) {
  // Section 6.8.6: the A bit and the session's bfd.AuthType must agree.
  if (!packet.auth.has_value()) {
    return key.type == AuthType::kNone ? STROBE_BFD_OK : STROBE_BFD_DROP_AUTH_MISMATCH;
  }
  const AuthSection& auth = *packet.auth;
  if (key.type == AuthType::kNone || auth.type != key.type) return STROBE_BFD_DROP_AUTH_MISMATCH;
  if (auth.key_id != key.key_id) return STROBE_BFD_DROP_AUTH_FAILED;
  if (!SecretLengthValid(key)) return STROBE_BFD_DROP_AUTH_FAILED;

  if (key.type == AuthType::kSimplePassword) {
    // Section 6.7.2.
    if (auth.password_len != key.secret.size() ||
        CRYPTO_memcmp(auth.password.data(), key.secret.data(), key.secret.size()) != 0) {
      return STROBE_BFD_DROP_AUTH_FAILED;
    }
    return STROBE_BFD_OK;
  }

  // Sections 6.7.3 and 6.7.4: the sequence window first, then the digest.
  if (state->auth_seq_known) {
    const uint32_t window = 3u * detect_mult;
    const uint32_t ahead = auth.sequence - state->rcv_auth_seq;  // modulo 2^32
    const uint32_t min_ahead = IsMeticulous(key.type) ? 1 : 0;
    if (ahead < min_ahead || ahead > window) return STROBE_BFD_DROP_AUTH_SEQUENCE;
  }
  const std::span<const uint8_t> bytes = PacketBytes(wire);
  if (bytes.empty()) return STROBE_BFD_DROP_AUTH_MALFORMED;
  const size_t digest_len = AuthDigestLength(key.type);
  std::array<uint8_t, 20> expected{};
  if (!ComputeDigest(key, bytes, expected.data())) return STROBE_BFD_DROP_AUTH_FAILED;
  const bool match = CRYPTO_memcmp(expected.data(), auth.digest.data(), digest_len) == 0;
  if (!match) return STROBE_BFD_DROP_AUTH_FAILED;
  state->rcv_auth_seq = auth.sequence;
  state->auth_seq_known = true;
  return STROBE_BFD_OK;
}

}  // namespace strobe::bfd
