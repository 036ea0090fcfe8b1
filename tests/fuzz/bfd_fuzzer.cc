// libFuzzer target: the BFD Control packet codec, authentication and one session's state machine
// and timers (src/bfd: packet.h, rx_checks.h, auth.h, session.h), driven as a worker drives them.
//
// Input: two setup bytes, then operations until the input ends.
//   byte 0: bits 0-2 the session's key (0 none, 1-5 the five types of RFC 5880 section 4.1, 6-7
//           none), bit 3 passive, bit 4 starts AdminDown, bits 5-7 Detect Mult - 1
//   byte 1: local Desired Min TX (low nibble) and Required Min RX (high nibble), from kLocalUs
//   then each operation is one byte, kind = op & 7, arg = op >> 3:
//     0  receive: a length byte and that many bytes of UDP payload, after 2^(arg-1) us (arg > 0)
//     1  the same, but an auth section of the session's type is signed with its key first
//     2  receive a packet built from 4 bytes (state and flags, mult, intervals, sequence step),
//        signed with the session's key
//     3  the TX timer fires      4  the detection timer fires
//     5  2^arg us pass, the armed timers firing in order
//     6  SetTimers (2 bytes: intervals as byte 1, Detect Mult)
//     7  arg % 4: 0 AdminDown, 1 AdminDown off, 2 SetAuth (key arg / 4), 3 NoteAbsorbedRx(now)
//
// Checked: the header checks, Decode() and Encode() agree (a decoded packet re-encodes to the
// same packet); every packet the session sends passes the header checks, decodes, carries its
// state and discriminators, never Poll and Final together, at least 1 s Desired Min TX while not
// Up (section 6.8.3), and verifies with the same key (section 6.7); and the contract the worker
// relies on (as tests/unit/bfd/session_test.cc's Harness): next_tx_ns() never changes without
// kActionRearmTx, and the armed detection timer never fires later than the deadline unless
// kActionRearmDetect was returned.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/bfd/auth.h"
#include "src/bfd/packet.h"
#include "src/bfd/rx_checks.h"
#include "src/bfd/session.h"
#include "src/common/clock.h"
#include "tests/fuzz/fuzz_util.h"

namespace strobe::bfd {
namespace {

using fuzz::Input;

constexpr uint32_t kLocalDiscr = 0x01010101;
constexpr uint32_t kRemoteDiscr = 0x02020202;
constexpr int64_t kStart = 1000 * kNsPerSec;
// CLOCK_MONOTONIC never gets near this (146 years); time stops advancing there.
constexpr int64_t kMaxNow = int64_t{1} << 62;
// Timer fires per "time passes" operation (1 ms intervals over 35 minutes would be millions).
constexpr int kMaxFires = 256;

// Local intervals within what the configuration accepts (1 ms .. 60 s, src/config/config.cc).
constexpr uint32_t kLocalUs[16] = {1'000,     3'300,     10'000,     20'000,     50'000, 100'000,
                                   300'000,   1'000'000, 2'000'000,  60'000'000, 1'001,  999'999,
                                   1'000'001, 7'000,     30'000'000, 250'000};
// What a remote may advertise: anything on the wire.
constexpr uint32_t kRemoteUs[16] = {
    0,         1,          1'000,      3'300,      10'000,  50'000,    300'000, 1'000'000,
    2'000'000, 60'000'000, 0x7fffffff, 0xffffffff, 999'999, 1'000'001, 100,     20'000};

std::optional<AuthKey> KeyFor(uint8_t index) {
  AuthKey key;
  switch (index % 8) {
    case 1:
      key = {AuthType::kSimplePassword, 5, "password"};
      break;
    case 2:
      key = {AuthType::kKeyedMd5, 1, "secret"};
      break;
    case 3:
      key = {AuthType::kMeticulousKeyedMd5, 7, "0123456789abcdef"};
      break;
    case 4:
      key = {AuthType::kKeyedSha1, 2, "secret"};
      break;
    case 5:
      key = {AuthType::kMeticulousKeyedSha1, 255, "0123456789abcdefghij"};
      break;
    case 6:  // another key of a type above: a key change
      key = {AuthType::kKeyedMd5, 9, "another"};
      break;
    case 7:
      key = {AuthType::kSimplePassword, 5, "0123456789abcdef"};
      break;
    default:
      return std::nullopt;
  }
  return key;
}

// Decode() of a packet that passed strobe_bfd_check_header(), and Encode() of the result.
strobe_bfd_drop_reason DecodeChecked(std::span<const uint8_t> wire, ControlPacket* out) {
  const strobe_bfd_drop_reason r = Decode(wire, out);
  FUZZ_CHECK(r == STROBE_BFD_OK || r == STROBE_BFD_DROP_AUTH_MALFORMED,
             "Decode() of a packet that passed the header checks: %s",
             strobe_bfd_drop_reason_name(r));
  if (r != STROBE_BFD_OK) return r;
  FUZZ_CHECK(out->version == 1 && out->detect_mult != 0 && out->my_discriminator != 0,
             "decoded fields the header checks refuse");
  std::array<uint8_t, kMaxPacketLen> buffer{};
  const absl::StatusOr<size_t> length = Encode(*out, buffer);
  FUZZ_CHECK(length.ok(), "a decoded packet does not encode: %s",
             std::string(length.status().message()).c_str());
  FUZZ_CHECK(*length == out->WireLength() && *length <= wire.size(),
             "re-encoded length %zu, WireLength %zu, received %zu", *length, out->WireLength(),
             wire.size());
  ControlPacket again;
  FUZZ_CHECK(Decode(std::span<const uint8_t>(buffer).first(*length), &again) == STROBE_BFD_OK,
             "a re-encoded packet does not decode");
  FUZZ_CHECK(again == *out, "decode(encode(decode(x))) != decode(x)");
  return r;
}

// The owner of one session: Worker::Apply() plus the checks of the contract it relies on.
class Harness {
 public:
  Harness(const SessionParams& params, uint64_t seed)
      : session_(kLocalDiscr, params, kStart, seed), auth_(params.auth) {
    Apply(kActionRearmTx | kActionRearmDetect);  // as Worker::AddSession does
  }

  int64_t now() const { return now_; }
  void Advance(int64_t ns) { now_ = std::min(kMaxNow, now_ + ns); }

  // The worker's receive path: header checks, the Length bytes, Decode(), OnReceive().
  void Receive(std::span<const uint8_t> payload) {
    const strobe_bfd_drop_reason header = strobe_bfd_check_header(
        payload.data(), static_cast<unsigned>(payload.size()), STROBE_BFD_REQUIRED_TTL, 1);
    if (header != STROBE_BFD_OK) return;
    const std::span<const uint8_t> wire = payload.first(payload[STROBE_BFD_OFF_LENGTH]);
    ControlPacket packet;
    if (DecodeChecked(wire, &packet) != STROBE_BFD_OK) return;
    uint32_t actions = 0;
    const strobe_bfd_drop_reason verdict = session_.OnReceive(packet, wire, now_, &actions);
    Record(actions);
    if (verdict != STROBE_BFD_OK) return;
    FUZZ_CHECK(
        session_.remote_discriminator() == packet.my_discriminator && session_.last_rx_ns() == now_,
        "an accepted packet was not taken in");
  }

  // Signs an auth section of the session's own type (the fuzzer cannot forge digests).
  void ReceiveSigned(std::span<const uint8_t> payload) {
    std::vector<uint8_t> copy(payload.begin(), payload.end());
    if (auth_.has_value() && copy.size() > STROBE_BFD_OFF_AUTH &&
        copy[STROBE_BFD_OFF_AUTH] == static_cast<uint8_t>(auth_->type)) {
      SignPacket(*auth_, copy);
    }
    Receive(copy);
  }

  // A well-formed packet from the remote (4 bytes of input), signed with the session's key.
  void ReceiveBuilt(Input& in) {
    const uint8_t flags = in.U8();
    const uint8_t mult = in.U8();
    const uint8_t intervals = in.U8();
    const int8_t step = static_cast<int8_t>(in.U8());
    ControlPacket p;
    p.state = static_cast<State>(flags & 3);
    p.poll = (flags & 0x04) != 0;
    p.final = (flags & 0x08) != 0;
    p.demand = (flags & 0x10) != 0;
    p.control_plane_independent = (flags & 0x20) != 0;
    p.diag = static_cast<Diag>(flags >> 6);
    p.detect_mult = mult == 0 ? 3 : mult;
    p.my_discriminator = kRemoteDiscr;
    const bool bootstrap = p.state == State::kDown || p.state == State::kAdminDown;
    p.your_discriminator = bootstrap && (flags & 0x80) ? 0 : kLocalDiscr;
    p.desired_min_tx_us = kRemoteUs[intervals & 15];
    p.required_min_rx_us = kRemoteUs[intervals >> 4];
    if (auth_.has_value()) {
      AuthSection a;
      a.type = auth_->type;
      a.key_id = auth_->key_id;
      if (a.type == AuthType::kSimplePassword) {
        a.password_len = static_cast<uint8_t>(std::min(auth_->secret.size(), kMaxPasswordLen));
      } else {
        peer_seq_ += static_cast<uint32_t>(static_cast<int32_t>(step));
        a.sequence = peer_seq_;
      }
      p.auth = a;
    }
    std::array<uint8_t, kMaxPacketLen> buffer{};
    const absl::StatusOr<size_t> length = Encode(p, buffer);
    FUZZ_CHECK(length.ok(), "Encode: %s", std::string(length.status().message()).c_str());
    std::span<uint8_t> wire = std::span<uint8_t>(buffer).first(*length);
    if (auth_.has_value()) SignPacket(*auth_, wire);
    Receive(wire);
  }

  void FireTx() {
    if (armed_tx_ == kNever) return;
    now_ = std::max(now_, armed_tx_);
    armed_tx_ = kNever;  // a timing-wheel node is disarmed when it fires
    std::array<uint8_t, kMaxPacketLen> buffer{};
    uint32_t actions = 0;
    const size_t length = session_.OnTxTimer(now_, buffer, &actions);
    Record(actions);
    if (length != 0) CheckSent(std::span<const uint8_t>(buffer).first(length));
  }

  void FireDetect() {
    if (armed_detect_ == kNever) return;
    now_ = std::max(now_, armed_detect_);
    armed_detect_ = kNever;
    Record(session_.OnDetectionTimer(now_));
  }

  // `ns` pass; the armed timers fire in time order (TX first on a tie), a bounded number.
  void Pass(int64_t ns) {
    const int64_t until = std::min(kMaxNow, now_ + ns);
    for (int i = 0; i < kMaxFires; ++i) {
      const int64_t next = std::min(armed_tx_, armed_detect_);
      if (next > until) break;
      if (armed_tx_ <= armed_detect_) {
        FireTx();
      } else {
        FireDetect();
      }
    }
    now_ = std::max(now_, until);
  }

  void SetTimers(uint8_t intervals, uint8_t mult) {
    Record(session_.SetTimers(kLocalUs[intervals & 15], kLocalUs[intervals >> 4],
                              mult == 0 ? 1 : mult, now_));
  }
  void SetAdminDown(bool down) { Record(session_.SetAdminDown(down, now_)); }
  void SetAuth(const std::optional<AuthKey>& key) {
    auth_ = key;
    session_.SetAuth(key);  // returns nothing: no timer changes
    Record(0);
  }
  void NoteAbsorbedRx() {
    session_.NoteAbsorbedRx(now_);
    Record(0);  // only moves last_rx_ns later: the armed timer re-reads it
  }

 private:
  void Record(uint32_t actions) {
    const int64_t deadline = session_.detection_deadline_ns();
    FUZZ_CHECK((actions & kActionRearmTx) != 0 || session_.next_tx_ns() == armed_tx_,
               "next_tx_ns() changed from %lld to %lld without kActionRearmTx",
               static_cast<long long>(armed_tx_), static_cast<long long>(session_.next_tx_ns()));
    FUZZ_CHECK((actions & kActionRearmDetect) != 0 || deadline == kNever ||
                   armed_detect_ <= std::max(deadline, now_),
               "the detection deadline %lld started or moved before the armed %lld without "
               "kActionRearmDetect",
               static_cast<long long>(deadline), static_cast<long long>(armed_detect_));
    Apply(actions);
    const State state = session_.state();
    FUZZ_CHECK(static_cast<uint8_t>(state) <= 3, "state %d", static_cast<int>(state));
    FUZZ_CHECK(state == State::kUp || session_.desired_min_tx_us() >= kSlowTxUs,
               "Desired Min TX %u us while %s (section 6.8.3: at least 1 s)",
               session_.desired_min_tx_us(), std::string(StateName(state)).c_str());
    FUZZ_CHECK(state != State::kAdminDown || deadline == kNever, "detection while AdminDown");
    FUZZ_CHECK((actions & kActionRearmTx) == 0 || session_.next_tx_ns() >= now_,
               "a TX scheduled in the past: %lld < %lld",
               static_cast<long long>(session_.next_tx_ns()), static_cast<long long>(now_));
  }

  void Apply(uint32_t actions) {
    if (actions & kActionRearmTx) armed_tx_ = session_.next_tx_ns();
    if (actions & kActionRearmDetect) {
      const int64_t deadline = session_.detection_deadline_ns();
      armed_detect_ = deadline == kNever ? kNever : std::max(deadline, now_);
    }
  }

  // What the session transmits must be a packet every implementation accepts.
  void CheckSent(std::span<const uint8_t> wire) {
    FUZZ_CHECK(strobe_bfd_check_header(wire.data(), static_cast<unsigned>(wire.size()),
                                       STROBE_BFD_REQUIRED_TTL, 1) == STROBE_BFD_OK,
               "a packet we sent fails the header checks");
    ControlPacket p;
    FUZZ_CHECK(DecodeChecked(wire, &p) == STROBE_BFD_OK, "a packet we sent does not decode");
    FUZZ_CHECK(p.WireLength() == wire.size(), "Length %zu, sent %zu", p.WireLength(), wire.size());
    FUZZ_CHECK(!(p.poll && p.final), "Poll and Final in one packet (section 6.8.7)");
    FUZZ_CHECK(p.state == session_.state() && p.my_discriminator == kLocalDiscr &&
                   p.your_discriminator == session_.remote_discriminator(),
               "the packet does not carry the session's state and discriminators");
    FUZZ_CHECK(p.state == State::kUp || p.desired_min_tx_us >= kSlowTxUs,
               "Desired Min TX %u us while not Up (section 6.8.3)", p.desired_min_tx_us);
    FUZZ_CHECK(p.auth.has_value() == auth_.has_value(), "auth section present %d, key %d",
               p.auth.has_value(), auth_.has_value());
    if (auth_.has_value()) {
      AuthState peer;  // a receiver that has not learnt our sequence yet
      const strobe_bfd_drop_reason r = VerifyPacket(*auth_, p, wire, p.detect_mult, &peer);
      FUZZ_CHECK(r == STROBE_BFD_OK, "our own signed packet fails verification: %s",
                 strobe_bfd_drop_reason_name(r));
    }
  }

  Session session_;
  std::optional<AuthKey> auth_;
  int64_t now_ = kStart;
  int64_t armed_tx_ = kNever;
  int64_t armed_detect_ = kNever;
  uint32_t peer_seq_ = 1000;
};

}  // namespace
}  // namespace strobe::bfd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strobe::bfd;  // NOLINT: a fuzz entry point
  strobe::fuzz::Input in(data, size);
  const uint8_t setup = in.U8();
  const uint8_t intervals = in.U8();
  SessionParams params;
  params.auth = KeyFor(setup & 7);
  params.passive = (setup & 0x08) != 0;
  params.admin_down = (setup & 0x10) != 0;
  params.detect_mult = static_cast<uint8_t>((setup >> 5) + 1);
  params.desired_min_tx_us = kLocalUs[intervals & 15];
  params.required_min_rx_us = kLocalUs[intervals >> 4];
  Harness h(params, /*seed=*/size);

  while (!in.empty()) {
    const uint8_t op = in.U8();
    const unsigned arg = op >> 3;
    switch (op & 7) {
      case 0:
      case 1: {
        if (arg > 0) h.Advance(strobe::kNsPerUs << (arg - 1));
        const std::span<const uint8_t> payload = in.Bytes(in.U8());
        if ((op & 7) == 0) {
          h.Receive(payload);
        } else {
          h.ReceiveSigned(payload);
        }
        break;
      }
      case 2:
        h.ReceiveBuilt(in);
        break;
      case 3:
        h.FireTx();
        break;
      case 4:
        h.FireDetect();
        break;
      case 5:
        h.Pass(strobe::kNsPerUs << arg);
        break;
      case 6: {
        const uint8_t timers = in.U8();
        h.SetTimers(timers, in.U8());
        break;
      }
      case 7:
        switch (arg % 4) {
          case 0:
            h.SetAdminDown(true);
            break;
          case 1:
            h.SetAdminDown(false);
            break;
          case 2:
            h.SetAuth(KeyFor(static_cast<uint8_t>(arg / 4)));
            break;
          case 3:
            h.NoteAbsorbedRx();
            break;
        }
        break;
    }
  }
  return 0;
}
