#ifndef STROBE_SRC_BFD_SESSION_H_
#define STROBE_SRC_BFD_SESSION_H_

// One BFD session: the state machine and timers of RFC 5880 sections 6.8.1-6.8.7, asynchronous
// mode. Pure logic: no sockets, no clock reads, no allocation after construction. The owner (a
// worker) feeds it received packets and timer expiries with the current time and sends what it
// builds; every deadline is kept here in nanoseconds on CLOCK_MONOTONIC.

#include <cstdint>
#include <limits>
#include <optional>
#include <span>

#include "src/bfd/auth.h"
#include "src/bfd/packet.h"
#include "src/bfd/rx_checks.h"

namespace strobe::bfd {

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// RFC 5880 section 6.8.3: while not Up, Desired Min TX is at least one second.
inline constexpr uint32_t kSlowTxUs = 1'000'000;

struct SessionParams {
  uint32_t desired_min_tx_us = 1'000'000;
  uint32_t required_min_rx_us = 1'000'000;
  uint8_t detect_mult = 3;
  bool passive = false;  // section 6.1: do not transmit until the remote has spoken
  bool admin_down = false;
  std::optional<AuthKey> auth;
};

// What a call changed; the owner re-arms its timers accordingly.
enum SessionAction : uint32_t {
  kActionNone = 0,
  kActionStateChanged = 1u << 0,  // see last_transition()
  kActionRearmTx = 1u << 1,       // next_tx_ns() changed (may be "now": send at once)
  kActionRearmDetect = 1u << 2,   // detection_deadline_ns() moved earlier, or started/stopped
};

struct Transition {
  State old_state = State::kDown;
  State new_state = State::kDown;
  Diag local_diag = Diag::kNone;
  int64_t at_ns = 0;
  // For a Down by detection timeout: from the last valid packet received to the declaration.
  int64_t detection_latency_ns = 0;
};

struct SessionCounters {
  uint64_t rx_packets = 0;  // accepted by the FSM
  uint64_t tx_packets = 0;
  uint64_t up_transitions = 0;
  uint64_t down_transitions = 0;  // from Up or Init to Down or AdminDown
  uint64_t poll_sequences = 0;    // completed (Final received)
  uint64_t rx_dropped[STROBE_BFD_DROP_REASON_COUNT] = {};
};

class Session {
 public:
  // `local_discriminator` is non-zero and unique on this system; `seed` drives jitter and the
  // initial authentication sequence number.
  Session(uint32_t local_discriminator, const SessionParams& params, int64_t now_ns, uint64_t seed);

  // A received packet that passed strobe_bfd_check_header() and Decode(), for this session.
  // `wire` is the packet (Length bytes), needed to verify a digest. Returns STROBE_BFD_OK when
  // accepted, or why it was discarded (the drop is also counted). Section 6.8.6.
  strobe_bfd_drop_reason OnReceive(const ControlPacket& packet, std::span<const uint8_t> wire,
                                   int64_t now_ns, uint32_t* actions);

  // Packets accepted on our behalf by a fast path (the XDP program's steady-state absorption):
  // only the time of the last one matters, for detection.
  void NoteAbsorbedRx(int64_t rx_ns) {
    if (last_rx_ns_ != 0 && rx_ns > last_rx_ns_) last_rx_ns_ = rx_ns;
  }

  // The detection timer armed at detection_deadline_ns() fired. Section 6.8.4.
  uint32_t OnDetectionTimer(int64_t now_ns);

  // The TX timer armed at next_tx_ns() fired. Builds (and signs) the packet to send into `out`
  // (kMaxPacketLen bytes) and schedules the next one. Returns the length to send, 0 for none.
  size_t OnTxTimer(int64_t now_ns, std::span<uint8_t> out, uint32_t* actions);

  // Administrative control (section 6.8.16).
  uint32_t SetAdminDown(bool admin_down, int64_t now_ns);
  // Changes the local timers; starts a Poll Sequence when Up (section 6.8.3).
  uint32_t SetTimers(uint32_t desired_min_tx_us, uint32_t required_min_rx_us, uint8_t detect_mult,
                     int64_t now_ns);

  // Replaces the authentication key (or removes authentication). Packets are signed and checked
  // with the new key from now on; the receive sequence is learnt again (section 6.8.1).
  void SetAuth(const std::optional<AuthKey>& auth);

  int64_t next_tx_ns() const { return next_tx_ns_; }
  int64_t detection_deadline_ns() const;

  // Section 6.8.1 state variables and negotiated values, for show commands.
  State state() const { return state_; }
  State remote_state() const { return remote_state_; }
  Diag local_diag() const { return local_diag_; }
  Diag remote_diag() const { return remote_diag_; }
  uint32_t local_discriminator() const { return local_discr_; }
  uint32_t remote_discriminator() const { return remote_discr_; }
  uint8_t detect_mult() const { return params_.detect_mult; }
  uint8_t remote_detect_mult() const { return remote_detect_mult_; }
  uint32_t desired_min_tx_us() const { return advertised_tx_us_; }
  uint32_t required_min_rx_us() const { return advertised_rx_us_; }
  uint32_t remote_desired_min_tx_us() const { return remote_desired_tx_us_; }
  uint32_t remote_min_rx_us() const { return remote_min_rx_us_; }
  bool remote_demand() const { return remote_demand_; }
  bool poll_in_progress() const { return poll_active_; }
  const SessionParams& params() const { return params_; }
  // Negotiated transmit interval (section 6.8.2, before jitter); 0 when not transmitting.
  uint32_t tx_interval_us() const;
  // Negotiated receive interval: how often the remote sends to us.
  uint32_t rx_interval_us() const;
  // Detection time (section 6.8.4); 0 until the remote has been heard.
  int64_t detection_time_ns() const;
  int64_t last_rx_ns() const { return last_rx_ns_; }
  int64_t last_state_change_ns() const { return last_state_change_ns_; }
  const Transition& last_transition() const { return last_transition_; }
  const SessionCounters& counters() const { return counters_; }
  void CountDrop(strobe_bfd_drop_reason reason) { ++counters_.rx_dropped[reason]; }

 private:
  void ChangeState(State new_state, Diag diag, int64_t now_ns, uint32_t* actions);
  void UpdateAdvertisedTimers(int64_t now_ns, uint32_t* actions);
  void ScheduleTx(int64_t now_ns, bool immediately, uint32_t* actions);
  void PullTxEarlier(int64_t now_ns, uint32_t* actions);
  bool PeriodicTxAllowed() const;
  int64_t JitteredIntervalNs(uint32_t interval_us);
  uint64_t NextRandom();

  SessionParams params_;
  const uint32_t local_discr_;
  State state_ = State::kDown;
  State remote_state_ = State::kDown;
  Diag local_diag_ = Diag::kNone;
  Diag remote_diag_ = Diag::kNone;
  uint32_t remote_discr_ = 0;
  uint8_t remote_detect_mult_ = 0;
  uint32_t remote_desired_tx_us_ = 0;
  uint32_t remote_min_rx_us_ = 1;  // section 6.8.1: initialised to 1
  bool remote_demand_ = false;

  // Timer values: advertised in our packets, and active (in use) while a Poll Sequence runs.
  uint32_t advertised_tx_us_ = kSlowTxUs;
  uint32_t advertised_rx_us_ = 0;
  uint32_t active_tx_us_ = kSlowTxUs;
  uint32_t active_rx_us_ = 0;
  bool poll_active_ = false;
  bool send_final_ = false;

  int64_t next_tx_ns_ = kNever;
  int64_t last_tx_ns_ = 0;
  int64_t last_rx_ns_ = 0;  // 0: nothing valid received since the last reset
  int64_t last_state_change_ns_ = 0;
  Transition last_transition_;
  AuthState auth_state_;
  int64_t auth_seq_expiry_ns_ = 0;  // when bfd.AuthSeqKnown lapses (section 6.8.1)
  uint64_t rng_;
  SessionCounters counters_;
};

}  // namespace strobe::bfd

#endif  // STROBE_SRC_BFD_SESSION_H_
