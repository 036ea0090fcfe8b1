// Peer: its BFD session in strobe-dataplane (registration, and the Up/Down events that drive the
// FSM: BFD Down closes the session at once with Cease/10, RFC 9384).
#include "controlplane/bgpd/peer.h"
#include "controlplane/bgpd/peer_session.h"
#include "controlplane/bgpd/speaker.h"
#include "controlplane/bgpd/tcp_socket.h"
#include "src/common/logging.h"

namespace strobe::bgpd {

using bgp::FsmEvent;
using bgp::FsmState;

// ---- BFD ----

void Peer::RegisterBfd(const net::IpAddress& local) {
  if (!config_.bfd) return;
  ipc::SessionKey key;
  key.peer = config_.address;
  key.local = local;
  key.multihop = config_.settings.multihop_ttl > 1;
  if (!key.multihop) {
    key.interface = InterfaceOf(local);
    if (key.interface.empty()) {
      STROBE_LOG(kWarning, "neighbor %s: no interface holds %s: BFD not registered yet",
                 config_.address.ToString(), local.ToString());
      return;
    }
  }
  if (bfd_key_ == key) return;
  if (bfd_key_) speaker_->bfd()->Unregister(*bfd_key_);
  speaker_->bfd()->Register(BfdRequest(key));
  bfd_key_ = key;
  bfd_state_ = bfd::State::kDown;
  STROBE_LOG(kInfo, "neighbor %s: BFD session registered (local %s%s%s, profile %s)",
             config_.address.ToString(), local.ToString(), key.multihop ? ", multihop" : "",
             key.interface.empty() ? "" : ", interface " + key.interface, config_.bfd->name);
}

ipc::BfdPeerRequest Peer::BfdRequest(const ipc::SessionKey& key) const {
  ipc::BfdPeerRequest r;
  r.key = key;
  r.desired_min_tx_us = config_.bfd->desired_min_tx_us;
  r.required_min_rx_us = config_.bfd->required_min_rx_us;
  r.detect_mult = config_.bfd->detect_mult;
  r.passive = config_.bfd->passive;
  r.auth = config_.bfd->auth;
  return r;
}

void Peer::UpdateBfd() {
  if (!bfd_key_ || !config_.bfd) return;  // registered later with the new settings
  // Registering the key again changes the running session (a Poll Sequence), BGP untouched.
  speaker_->bfd()->Register(BfdRequest(*bfd_key_));
  STROBE_LOG(kInfo, "neighbor %s: BFD session updated (profile %s: %d/%d us x %d)",
             config_.address.ToString(), config_.bfd->name, config_.bfd->desired_min_tx_us,
             config_.bfd->required_min_rx_us, config_.bfd->detect_mult);
}

void Peer::OnBfdEvent(const ipc::BfdPeerEvent& event) {
  if (!bfd_key_ || !(event.key == *bfd_key_)) return;
  bfd_state_ = event.state;
  const int64_t now = loop_->now_ns();
  if (event.state == bfd::State::kUp) {
    bfd_was_up_ = true;
    STROBE_LOG(kInfo, "neighbor %s: BFD up", config_.address.ToString());
    if (other_) Feed(other_.get(), FsmEvent::kBfdUp);
    if (main_) Feed(main_.get(), FsmEvent::kBfdUp);
    return;
  }
  // RFC 5882 §3.2: a session the remote (or we) took AdminDown is no failure; a lost dataplane
  // is (also after it took its sessions AdminDown on the way out).
  const bool lost = event.source == ipc::BfdPeerEvent::Source::kDataplaneLost;
  const bool failure = (lost && bfd_was_up_) ||
                       (event.old_state == bfd::State::kUp && event.state == bfd::State::kDown &&
                        event.remote_diag != bfd::Diag::kAdministrativelyDown);
  if (failure) bfd_was_up_ = false;
  if (failure && established()) {
    // Forwarding first: the FIB drops this neighbor's next hops from every group before the
    // log line, the NOTIFICATION and the Loc-RIB walk below (which then finds nothing to do
    // in the kernel for them).
    speaker_->NextHopsDown(*this, event.changed_ns > 0 ? event.changed_ns : event.received_ns);
  }
  PEER_LOG(failure ? LogLevel::kWarning : LogLevel::kInfo, "neighbor %s: BFD %s (%s)%s",
           config_.address.ToString(), BfdStateJsonName(event.state),
           std::string(bfd::DiagName(event.local_diag)), failure ? ": closing the session" : "");
  if (!failure) return;
  const bool was_established = established();
  failure_event_ns_ = event.changed_ns > 0 ? event.changed_ns : event.received_ns;
  auto deliver = [&](Session* s) {
    if (s == nullptr) return;
    const FsmState st = s->fsm.state();
    if (st == FsmState::kConnect || st == FsmState::kActive) return;  // nothing to close
    Feed(s, FsmEvent::kBfdDown);
  };
  deliver(other_.get());
  deliver(main_.get());
  last_reset_reason_ = lost ? "BFD down (dataplane lost)" : "BFD down";
  if (was_established) {
    last_bfd_down_ns_ = event.changed_ns;
    last_bfd_withdraw_latency_ns_ =
        loop_->now_ns() - (event.changed_ns > 0 ? event.changed_ns : event.received_ns);
    STROBE_LOG(kInfo, "neighbor %s: withdrawn %.3f ms after the dataplane declared BFD down",
               config_.address.ToString(), last_bfd_withdraw_latency_ns_ / 1e6);
  }
  (void)now;
}

}  // namespace strobe::bgpd
