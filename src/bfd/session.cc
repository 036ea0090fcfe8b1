#include "src/bfd/session.h"

#include <algorithm>

#include "src/common/clock.h"

namespace strobe::bfd {
namespace {

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Session::Session(uint32_t local_discriminator, const SessionParams& params, int64_t now_ns,
                 uint64_t seed)
    : params_(params), local_discr_(local_discriminator), rng_(seed) {
  auth_state_.xmit_auth_seq = static_cast<uint32_t>(NextRandom());
  last_state_change_ns_ = now_ns;
  uint32_t actions = 0;
  if (params_.admin_down) {
    state_ = State::kAdminDown;
    local_diag_ = Diag::kAdministrativelyDown;
  }
  UpdateAdvertisedTimers(now_ns, &actions);
  ScheduleTx(now_ns, /*immediately=*/true, &actions);
}

uint64_t Session::NextRandom() { return SplitMix64(&rng_); }

// Section 6.8.7: each interval is reduced by a random 0-25 %, or 10-25 % when Detect Mult is 1.
int64_t Session::JitteredIntervalNs(uint32_t interval_us) {
  const int64_t interval_ns = static_cast<int64_t>(interval_us) * kNsPerUs;
  const uint32_t min_pct = 75;
  const uint32_t max_pct = params_.detect_mult == 1 ? 90 : 100;
  const uint64_t r = NextRandom() % 1'000'000;  // fraction of the allowed range, in ppm
  const int64_t pct_ppm = static_cast<int64_t>(min_pct * 10'000 + (max_pct - min_pct) * r / 100);
  return interval_ns * pct_ppm / 1'000'000;
}

uint32_t Session::tx_interval_us() const {
  if (remote_min_rx_us_ == 0) return 0;
  return std::max(active_tx_us_, remote_min_rx_us_);
}

uint32_t Session::rx_interval_us() const {
  if (remote_desired_tx_us_ == 0) return 0;
  return std::max(active_rx_us_, remote_desired_tx_us_);
}

// Section 6.8.4, asynchronous mode: the remote's Detect Mult times the agreed receive interval.
int64_t Session::detection_time_ns() const {
  if (remote_detect_mult_ == 0) return 0;
  return static_cast<int64_t>(remote_detect_mult_) * rx_interval_us() * kNsPerUs;
}

int64_t Session::detection_deadline_ns() const {
  if (last_rx_ns_ == 0 || state_ == State::kAdminDown) return kNever;
  // In Down nothing is detected, but the remote's variables still age out (section 6.8.1).
  return last_rx_ns_ + detection_time_ns();
}

bool Session::PeriodicTxAllowed() const {
  // Section 6.8.7: never with a remote Required Min RX of zero, never as a passive system that
  // has not heard its peer, and not in Demand mode once both ends are Up (except when polling).
  if (remote_min_rx_us_ == 0) return false;
  if (params_.passive && remote_discr_ == 0) return false;
  if (remote_demand_ && state_ == State::kUp && remote_state_ == State::kUp && !poll_active_) {
    return false;
  }
  return true;
}

void Session::ScheduleTx(int64_t now_ns, bool immediately, uint32_t* actions) {
  int64_t next = kNever;
  if (send_final_) {
    next = now_ns;  // a Final answers a Poll as soon as practicable (section 6.8.7)
  } else if (PeriodicTxAllowed()) {
    next = immediately ? now_ns : now_ns + JitteredIntervalNs(tx_interval_us());
  }
  if (next != next_tx_ns_) {
    next_tx_ns_ = next;
    *actions |= kActionRearmTx;
  }
}

// A shorter interval applies from now on, not only after the packet already scheduled.
void Session::PullTxEarlier(int64_t now_ns, uint32_t* actions) {
  if (!PeriodicTxAllowed()) return;
  const int64_t candidate = now_ns + JitteredIntervalNs(tx_interval_us());
  if (candidate < next_tx_ns_) {
    next_tx_ns_ = candidate;
    *actions |= kActionRearmTx;
  }
}

// Section 6.8.3: Desired Min TX is at least one second while not Up. A change of either value
// while Up starts a Poll Sequence; a larger TX interval or a smaller RX interval only takes effect
// when it completes, so the remote's detection never fires on our slower packets.
void Session::UpdateAdvertisedTimers(int64_t now_ns, uint32_t* actions) {
  const uint32_t want_tx = state_ == State::kUp ? params_.desired_min_tx_us
                                                : std::max(params_.desired_min_tx_us, kSlowTxUs);
  // Until Up, the receive interval asked for is slow too (as FRR and BIRD do). Going Up is then
  // a reduction of Required Min RX Interval, so the Detection Time stays long until the Poll
  // Sequence it starts has terminated (section 6.8.3): the peer's fast packets arrive one round
  // trip after our Final, and a round trip longer than the fast detection time must not take
  // the session Down again (found with strobe-impair at 150 ms one-way delay).
  const uint32_t want_rx = state_ == State::kUp ? params_.required_min_rx_us
                                                : std::max(params_.required_min_rx_us, kSlowTxUs);
  if (want_tx == advertised_tx_us_ && want_rx == advertised_rx_us_) return;
  const int64_t old_deadline = detection_deadline_ns();
  const uint32_t old_tx_interval = tx_interval_us();
  advertised_tx_us_ = want_tx;
  advertised_rx_us_ = want_rx;
  if (state_ == State::kUp) {
    poll_active_ = true;
    if (want_tx < active_tx_us_) active_tx_us_ = want_tx;
    if (want_rx > active_rx_us_) active_rx_us_ = want_rx;
  } else {
    active_tx_us_ = want_tx;
    active_rx_us_ = want_rx;
  }
  if (tx_interval_us() < old_tx_interval) PullTxEarlier(now_ns, actions);
  if (detection_deadline_ns() < old_deadline) *actions |= kActionRearmDetect;
}

void Session::ChangeState(State new_state, Diag diag, int64_t now_ns, uint32_t* actions) {
  if (new_state == state_) return;
  last_transition_ = Transition{state_, new_state, diag, now_ns, 0};
  if (new_state == State::kUp) ++counters_.up_transitions;
  if ((state_ == State::kUp || state_ == State::kInit) &&
      (new_state == State::kDown || new_state == State::kAdminDown)) {
    ++counters_.down_transitions;
  }
  state_ = new_state;
  local_diag_ = diag;
  last_state_change_ns_ = now_ns;
  if (new_state != State::kUp && poll_active_) {
    // Leaving Up ends the Poll Sequence: what it deferred (section 6.8.3) applies now.
    poll_active_ = false;
    active_tx_us_ = advertised_tx_us_;
    active_rx_us_ = advertised_rx_us_;
  }
  *actions |= kActionStateChanged;
  UpdateAdvertisedTimers(now_ns, actions);
  // Tell the peer at once rather than on the next (possibly one-second) tick.
  ScheduleTx(now_ns, /*immediately=*/true, actions);
}

strobe_bfd_drop_reason Session::OnReceive(const ControlPacket& packet,
                                          std::span<const uint8_t> wire, int64_t now_ns,
                                          uint32_t* actions) {
  // Section 6.8.6, after the stateless checks of strobe_bfd_check_header().
  strobe_bfd_drop_reason verdict = STROBE_BFD_OK;
  if (packet.auth.has_value() != params_.auth.has_value()) {
    verdict = STROBE_BFD_DROP_AUTH_MISMATCH;
  } else if (params_.auth.has_value()) {
    // bfd.AuthSeqKnown resets after two Detection Times of silence (section 6.8.1).
    if (now_ns >= auth_seq_expiry_ns_) auth_state_.auth_seq_known = false;
    verdict = VerifyPacket(*params_.auth, packet, wire, packet.detect_mult, &auth_state_);
  }
  if (verdict != STROBE_BFD_OK) {
    CountDrop(verdict);
    return verdict;
  }

  ++counters_.rx_packets;
  const int64_t old_deadline = detection_deadline_ns();
  const uint32_t old_tx_interval = tx_interval_us();
  const bool was_tx_allowed = PeriodicTxAllowed();
  const State old_state = state_;

  remote_discr_ = packet.my_discriminator;
  remote_state_ = packet.state;
  remote_diag_ = packet.diag;
  remote_demand_ = packet.demand;
  remote_min_rx_us_ = packet.required_min_rx_us;
  remote_desired_tx_us_ = packet.desired_min_tx_us;
  remote_detect_mult_ = packet.detect_mult;
  last_rx_ns_ = now_ns;
  auth_seq_expiry_ns_ = now_ns + 2 * std::max<int64_t>(detection_time_ns(), kNsPerSec);

  if (packet.final && poll_active_) {
    // The Poll Sequence completes: the advertised values are now in force on both ends.
    poll_active_ = false;
    active_tx_us_ = advertised_tx_us_;
    active_rx_us_ = advertised_rx_us_;
    ++counters_.poll_sequences;
  }

  if (state_ != State::kAdminDown) {
    if (packet.state == State::kAdminDown) {
      if (state_ != State::kDown)
        ChangeState(State::kDown, Diag::kNeighborSignaledSessionDown, now_ns, actions);
    } else if (state_ == State::kDown) {
      if (packet.state == State::kDown) {
        ChangeState(State::kInit, Diag::kNone, now_ns, actions);
      } else if (packet.state == State::kInit) {
        ChangeState(State::kUp, Diag::kNone, now_ns, actions);
      }
    } else if (state_ == State::kInit) {
      if (packet.state == State::kInit || packet.state == State::kUp) {
        ChangeState(State::kUp, Diag::kNone, now_ns, actions);
      }
    } else if (packet.state == State::kDown) {  // Up
      ChangeState(State::kDown, Diag::kNeighborSignaledSessionDown, now_ns, actions);
    }
  }

  // Section 6.8.6: in AdminDown the packet is discarded before its Poll is answered.
  if (packet.poll && state_ != State::kAdminDown) send_final_ = true;

  // Timer bookkeeping: the detection deadline moves with every packet, but the owner's timer only
  // needs re-arming when it moved earlier (it re-reads last_rx_ns_ when it fires).
  const int64_t new_deadline = detection_deadline_ns();
  if (old_deadline == kNever || new_deadline < old_deadline) *actions |= kActionRearmDetect;
  if (send_final_ || !was_tx_allowed || state_ != old_state) {
    ScheduleTx(now_ns, /*immediately=*/true, actions);
  } else if (!PeriodicTxAllowed() && next_tx_ns_ != kNever) {
    next_tx_ns_ = kNever;  // remote Demand mode (section 6.6): stop periodic transmission
    *actions |= kActionRearmTx;
  } else if (tx_interval_us() < old_tx_interval) {
    PullTxEarlier(now_ns, actions);
  }
  return STROBE_BFD_OK;
}

uint32_t Session::OnDetectionTimer(int64_t now_ns) {
  uint32_t actions = 0;
  const int64_t deadline = detection_deadline_ns();
  if (deadline == kNever) return actions;
  if (now_ns < deadline) {
    actions |= kActionRearmDetect;  // packets arrived since it was armed
    return actions;
  }
  const int64_t latency = now_ns - last_rx_ns_;
  if (state_ == State::kInit || state_ == State::kUp) {
    ChangeState(State::kDown, Diag::kControlDetectionTimeExpired, now_ns, &actions);
    last_transition_.detection_latency_ns = latency;
  }
  // Section 6.8.1: the remote's variables reset once a Detection Time passes in silence.
  remote_discr_ = 0;
  remote_state_ = State::kDown;
  remote_demand_ = false;
  remote_min_rx_us_ = 1;
  remote_desired_tx_us_ = 0;
  remote_detect_mult_ = 0;
  last_rx_ns_ = 0;
  actions |= kActionRearmDetect;
  if (next_tx_ns_ == kNever) ScheduleTx(now_ns, /*immediately=*/true, &actions);
  return actions;
}

size_t Session::OnTxTimer(int64_t now_ns, std::span<uint8_t> out, uint32_t* actions) {
  if (!send_final_ && !PeriodicTxAllowed()) {
    if (next_tx_ns_ != kNever) {
      next_tx_ns_ = kNever;
      *actions |= kActionRearmTx;
    }
    return 0;
  }
  ControlPacket packet;
  packet.diag = local_diag_;
  packet.state = state_;
  packet.final = send_final_;
  // A Poll and a Final never share a packet (section 6.8.7); the Poll goes out next time.
  packet.poll = poll_active_ && !send_final_;
  // strobe-dataplane runs apart from the routing process and survives its restart (section 4.1).
  packet.control_plane_independent = true;
  packet.detect_mult = params_.detect_mult;
  packet.my_discriminator = local_discr_;
  packet.your_discriminator = remote_discr_;
  packet.desired_min_tx_us = advertised_tx_us_;
  packet.required_min_rx_us = advertised_rx_us_;
  packet.required_min_echo_rx_us = 0;  // no Echo function
  if (params_.auth.has_value()) {
    AuthSection section;
    section.type = params_.auth->type;
    section.key_id = params_.auth->key_id;
    if (section.type == AuthType::kSimplePassword) {
      section.password_len =
          static_cast<uint8_t>(std::min(params_.auth->secret.size(), kMaxPasswordLen));
    } else {
      // Section 6.7.3: meticulous types advance on every packet; we advance the others too,
      // which the receiver's window always accepts.
      section.sequence = ++auth_state_.xmit_auth_seq;
    }
    packet.auth = section;
  }
  absl::StatusOr<size_t> length = Encode(packet, out);
  if (!length.ok()) return 0;
  if (params_.auth.has_value()) SignPacket(*params_.auth, out.first(*length));
  send_final_ = false;
  last_tx_ns_ = now_ns;
  ++counters_.tx_packets;
  ScheduleTx(now_ns, /*immediately=*/false, actions);
  *actions |= kActionRearmTx;
  return *length;
}

uint32_t Session::SetAdminDown(bool admin_down, int64_t now_ns) {
  uint32_t actions = 0;
  params_.admin_down = admin_down;
  if (admin_down && state_ != State::kAdminDown) {
    ChangeState(State::kAdminDown, Diag::kAdministrativelyDown, now_ns, &actions);
    actions |= kActionRearmDetect;
  } else if (!admin_down && state_ == State::kAdminDown) {
    ChangeState(State::kDown, Diag::kNone, now_ns, &actions);
    actions |= kActionRearmDetect;  // detection_deadline_ns() is no longer kNever
  }
  return actions;
}

uint32_t Session::SetTimers(uint32_t desired_min_tx_us, uint32_t required_min_rx_us,
                            uint8_t detect_mult, int64_t now_ns) {
  uint32_t actions = 0;
  params_.desired_min_tx_us = desired_min_tx_us;
  params_.required_min_rx_us = required_min_rx_us;
  params_.detect_mult = detect_mult;
  UpdateAdvertisedTimers(now_ns, &actions);
  if (poll_active_) ScheduleTx(now_ns, /*immediately=*/true, &actions);
  return actions;
}

void Session::SetAuth(const std::optional<AuthKey>& auth) {
  params_.auth = auth;
  auth_state_.auth_seq_known = false;
}

}  // namespace strobe::bfd
