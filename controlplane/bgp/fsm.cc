#include "controlplane/bgp/fsm.h"

#include <algorithm>

#include "controlplane/bgp/notification.h"
#include "controlplane/bgp/types.h"

namespace strobe::bgp {

const char* FsmStateName(FsmState state) {
  switch (state) {
    case FsmState::kIdle:
      return "idle";
    case FsmState::kConnect:
      return "connect";
    case FsmState::kActive:
      return "active";
    case FsmState::kOpenSent:
      return "opensent";
    case FsmState::kOpenConfirm:
      return "openconfirm";
    case FsmState::kEstablished:
      return "established";
  }
  return "unknown";
}

const char* FsmEventName(FsmEvent event) {
  switch (event) {
    case FsmEvent::kManualStart:
      return "ManualStart";
    case FsmEvent::kManualStop:
      return "ManualStop";
    case FsmEvent::kAutomaticStart:
      return "AutomaticStart";
    case FsmEvent::kManualStartWithPassiveTcpEstablishment:
      return "ManualStart_with_PassiveTcpEstablishment";
    case FsmEvent::kAutomaticStartWithPassiveTcpEstablishment:
      return "AutomaticStart_with_PassiveTcpEstablishment";
    case FsmEvent::kAutomaticStop:
      return "AutomaticStop";
    case FsmEvent::kConnectRetryTimerExpires:
      return "ConnectRetryTimer_Expires";
    case FsmEvent::kHoldTimerExpires:
      return "HoldTimer_Expires";
    case FsmEvent::kKeepaliveTimerExpires:
      return "KeepaliveTimer_Expires";
    case FsmEvent::kDelayOpenTimerExpires:
      return "DelayOpenTimer_Expires";
    case FsmEvent::kIdleHoldTimerExpires:
      return "IdleHoldTimer_Expires";
    case FsmEvent::kTcpConnectionValid:
      return "TcpConnection_Valid";
    case FsmEvent::kTcpCrInvalid:
      return "Tcp_CR_Invalid";
    case FsmEvent::kTcpCrAcked:
      return "Tcp_CR_Acked";
    case FsmEvent::kTcpConnectionConfirmed:
      return "TcpConnectionConfirmed";
    case FsmEvent::kTcpConnectionFails:
      return "TcpConnectionFails";
    case FsmEvent::kBgpOpen:
      return "BGPOpen";
    case FsmEvent::kBgpOpenWithDelayOpenTimerRunning:
      return "BGPOpen_with_DelayOpenTimer_running";
    case FsmEvent::kBgpHeaderErr:
      return "BGPHeaderErr";
    case FsmEvent::kBgpOpenMsgErr:
      return "BGPOpenMsgErr";
    case FsmEvent::kOpenCollisionDump:
      return "OpenCollisionDump";
    case FsmEvent::kNotifMsgVerErr:
      return "NotifMsgVerErr";
    case FsmEvent::kNotifMsg:
      return "NotifMsg";
    case FsmEvent::kKeepAliveMsg:
      return "KeepAliveMsg";
    case FsmEvent::kUpdateMsg:
      return "UpdateMsg";
    case FsmEvent::kUpdateMsgErr:
      return "UpdateMsgErr";
    case FsmEvent::kBfdDown:
      return "BfdDown";
    case FsmEvent::kBfdUp:
      return "BfdUp";
  }
  return "Unknown";
}

int64_t FsmTimers::Earliest() const {
  return std::min({connect_retry, hold, keepalive, delay_open, idle_hold});
}

namespace {

// RFC 6608 FSM Error subcodes.
constexpr uint8_t kSubFsmUnspecified = 0;
constexpr uint8_t kSubFsmOpenSent = 1;
constexpr uint8_t kSubFsmOpenConfirm = 2;
constexpr uint8_t kSubFsmEstablished = 3;

NotificationCode CeaseFor(const FsmEventArgs& args, uint8_t default_subcode) {
  if (args.error.code == kErrCease) return args.error;
  return {kErrCease, default_subcode};
}

NotificationCode ErrorOr(const FsmEventArgs& args, uint8_t default_code) {
  if (args.error.code != 0) return args.error;
  return {default_code, 0};
}

bool IsStart(FsmEvent event) {
  return event == FsmEvent::kManualStart || event == FsmEvent::kAutomaticStart ||
         event == FsmEvent::kManualStartWithPassiveTcpEstablishment ||
         event == FsmEvent::kAutomaticStartWithPassiveTcpEstablishment;
}

bool IsMessageEvent(FsmEvent event) {
  return static_cast<int>(event) >= static_cast<int>(FsmEvent::kBgpOpen) &&
         static_cast<int>(event) <= static_cast<int>(FsmEvent::kUpdateMsgErr);
}

}  // namespace

Fsm::Fsm(FsmConfig config) : config_(config) {}

int64_t Fsm::UptimeSeconds(int64_t now_ns) const {
  if (state_ != FsmState::kEstablished) return 0;
  return (now_ns - counters_.established_since_ns) / kNanosPerSecond;
}

int64_t Fsm::NextIdleHoldNs() const {
  int64_t hold = config_.idle_hold_time_ns;
  for (uint32_t i = 0; i < damp_exponent_ && hold < config_.idle_hold_max_ns; ++i) hold *= 2;
  return std::min(hold, config_.idle_hold_max_ns);
}

void Fsm::RestartHold(int64_t now_ns) {
  timers_.hold = negotiated_hold_time_s_ == 0
                     ? kNever
                     : now_ns + int64_t{negotiated_hold_time_s_} * kNanosPerSecond;
}

void Fsm::RestartKeepalive(int64_t now_ns) {
  timers_.keepalive = negotiated_hold_time_s_ == 0
                          ? kNever
                          : now_ns + int64_t{negotiated_hold_time_s_} * kNanosPerSecond / 3;
}

void Fsm::UpdateSent(int64_t now_ns) {
  if (state_ == FsmState::kEstablished) RestartKeepalive(now_ns);
}

void Fsm::Notify(NotificationCode n, FsmActions& actions) {
  actions.send_notification = n;
  counters_.last_notification_sent = n;
}

void Fsm::Start(int64_t now_ns, bool passive, FsmActions& actions) {
  timers_ = FsmTimers{};
  timers_.connect_retry = now_ns + config_.connect_retry_time_ns;
  open_pending_bfd_ = false;
  if (passive) {
    state_ = FsmState::kActive;
  } else {
    actions.initiate_tcp_connection = true;
    state_ = FsmState::kConnect;
  }
}

void Fsm::SendOpen(int64_t now_ns, FsmActions& actions) {
  actions.send_open = true;
  timers_.connect_retry = kNever;
  timers_.delay_open = kNever;
  timers_.hold = now_ns + config_.large_hold_time_ns;
  state_ = FsmState::kOpenSent;
}

void Fsm::AcceptOpen(int64_t now_ns, uint16_t peer_hold_time_s, FsmActions& actions) {
  timers_.connect_retry = kNever;
  timers_.delay_open = kNever;
  pending_peer_hold_time_s_ = peer_hold_time_s;
  if (config_.wait_for_bfd_up && !bfd_up_) {
    open_pending_bfd_ = true;
    state_ = FsmState::kOpenSent;
    return;
  }
  CompleteOpen(now_ns, actions);
}

void Fsm::CompleteOpen(int64_t now_ns, FsmActions& actions) {
  open_pending_bfd_ = false;
  negotiated_hold_time_s_ = std::min(config_.hold_time_s, pending_peer_hold_time_s_);
  actions.send_keepalive = true;
  RestartKeepalive(now_ns);
  RestartHold(now_ns);
  state_ = FsmState::kOpenConfirm;
}

void Fsm::ToIdle(int64_t now_ns, IdleKind kind, std::optional<NotificationCode> notification,
                 FsmActions& actions) {
  if (notification.has_value()) Notify(*notification, actions);
  actions.drop_tcp_connection = true;
  actions.release_resources = true;
  if (state_ == FsmState::kEstablished) {
    actions.withdraw_routes = true;
    actions.session_down = true;
    if (now_ns - counters_.established_since_ns >= config_.idle_hold_reset_after_ns) {
      damp_exponent_ = 0;
    }
    counters_.established_since_ns = kNever;
  }
  timers_ = FsmTimers{};
  open_pending_bfd_ = false;
  if (kind == IdleKind::kManualStop) {
    connect_retry_counter_ = 0;
    damp_exponent_ = 0;
  } else {
    if (kind == IdleKind::kCounted) ++connect_retry_counter_;
    if (config_.damp_peer_oscillations) {
      timers_.idle_hold = now_ns + NextIdleHoldNs();
      if (damp_exponent_ < 62) ++damp_exponent_;
    }
  }
  state_ = FsmState::kIdle;
}

void Fsm::FsmError(int64_t now_ns, bool message_event, FsmActions& actions) {
  uint8_t subcode = kSubFsmUnspecified;
  if (message_event) {
    subcode = state_ == FsmState::kOpenSent      ? kSubFsmOpenSent
              : state_ == FsmState::kOpenConfirm ? kSubFsmOpenConfirm
                                                 : kSubFsmEstablished;
  }
  ToIdle(now_ns, IdleKind::kCounted, NotificationCode{kErrFsm, subcode}, actions);
}

FsmActions Fsm::Handle(FsmEvent event, int64_t now_ns, const FsmEventArgs& args) {
  FsmActions actions;
  actions.from = state_;
  if (event == FsmEvent::kBgpOpen || event == FsmEvent::kBgpOpenWithDelayOpenTimerRunning) {
    event = timers_.delay_open != kNever ? FsmEvent::kBgpOpenWithDelayOpenTimerRunning
                                         : FsmEvent::kBgpOpen;
  }
  if (event == FsmEvent::kNotifMsg || event == FsmEvent::kNotifMsgVerErr) {
    if (state_ != FsmState::kIdle) counters_.last_notification_received = args.error;
  }
  if (event == FsmEvent::kBfdUp) {
    bfd_up_ = true;
    if (state_ == FsmState::kOpenSent && open_pending_bfd_) CompleteOpen(now_ns, actions);
  } else if (event == FsmEvent::kBfdDown) {
    bfd_up_ = false;
    switch (state_) {
      case FsmState::kIdle:
        break;
      case FsmState::kConnect:
      case FsmState::kActive:
        ToIdle(now_ns, IdleKind::kCounted, std::nullopt, actions);
        break;
      default:
        ToIdle(now_ns, IdleKind::kCounted, NotificationCode{kErrCease, kCeaseBfdDown}, actions);
        break;
    }
  } else {
    switch (state_) {
      case FsmState::kIdle:
        HandleIdle(event, now_ns, actions);
        break;
      case FsmState::kConnect:
      case FsmState::kActive:
        HandleConnectOrActive(event, now_ns, args, actions);
        break;
      case FsmState::kOpenSent:
        HandleOpenSent(event, now_ns, args, actions);
        break;
      case FsmState::kOpenConfirm:
        HandleOpenConfirm(event, now_ns, args, actions);
        break;
      case FsmState::kEstablished:
        HandleEstablished(event, now_ns, args, actions);
        break;
    }
  }
  actions.to = state_;
  actions.timers = timers_;
  return actions;
}

std::optional<FsmActions> Fsm::PollTimers(int64_t now_ns) {
  struct Entry {
    int64_t deadline;
    FsmEvent event;
  };
  const Entry entries[] = {
      {timers_.idle_hold, FsmEvent::kIdleHoldTimerExpires},
      {timers_.hold, FsmEvent::kHoldTimerExpires},
      {timers_.delay_open, FsmEvent::kDelayOpenTimerExpires},
      {timers_.connect_retry, FsmEvent::kConnectRetryTimerExpires},
      {timers_.keepalive, FsmEvent::kKeepaliveTimerExpires},
  };
  const Entry* due = nullptr;
  for (const Entry& e : entries) {
    if (e.deadline <= now_ns && (due == nullptr || e.deadline < due->deadline)) due = &e;
  }
  if (due == nullptr) return std::nullopt;
  return Handle(due->event, now_ns);
}

void Fsm::HandleIdle(FsmEvent event, int64_t now_ns, FsmActions& actions) {
  switch (event) {
    case FsmEvent::kManualStart:
    case FsmEvent::kManualStartWithPassiveTcpEstablishment:
      connect_retry_counter_ = 0;
      damp_exponent_ = 0;
      Start(now_ns, event == FsmEvent::kManualStartWithPassiveTcpEstablishment, actions);
      break;
    case FsmEvent::kAutomaticStart:
    case FsmEvent::kAutomaticStartWithPassiveTcpEstablishment:
      if (timers_.idle_hold != kNever) break;  // Damped: IdleHoldTimer_Expires restarts.
      connect_retry_counter_ = 0;
      Start(now_ns, event == FsmEvent::kAutomaticStartWithPassiveTcpEstablishment, actions);
      break;
    case FsmEvent::kIdleHoldTimerExpires:
      if (timers_.idle_hold == kNever) break;  // Stale: the timer is not running.
      timers_.idle_hold = kNever;
      if (config_.automatic_restart) Start(now_ns, config_.passive, actions);
      break;
    default:
      break;  // Events 2, 8-12, 14-28: no change (the owner refuses connections in Idle).
  }
}

void Fsm::HandleConnectOrActive(FsmEvent event, int64_t now_ns, const FsmEventArgs& args,
                                FsmActions& actions) {
  const bool connect = state_ == FsmState::kConnect;
  const bool delay_open_running = timers_.delay_open != kNever;
  if (IsStart(event)) return;
  switch (event) {
    case FsmEvent::kManualStop:
      ToIdle(now_ns, IdleKind::kManualStop,
             !connect && delay_open_running
                 ? std::optional(CeaseFor(args, kCeaseAdministrativeShutdown))
                 : std::nullopt,
             actions);
      return;
    case FsmEvent::kConnectRetryTimerExpires:
      if (connect) actions.drop_tcp_connection = true;
      timers_.connect_retry = now_ns + config_.connect_retry_time_ns;
      timers_.delay_open = kNever;
      actions.initiate_tcp_connection = true;
      state_ = FsmState::kConnect;
      return;
    case FsmEvent::kDelayOpenTimerExpires:
      SendOpen(now_ns, actions);
      return;
    case FsmEvent::kTcpConnectionValid:
    case FsmEvent::kTcpCrInvalid:
      return;  // Processed / rejected by the owner; no change.
    case FsmEvent::kTcpCrAcked:
    case FsmEvent::kTcpConnectionConfirmed:
      if (config_.delay_open) {
        timers_.connect_retry = kNever;
        timers_.delay_open = now_ns + config_.delay_open_time_ns;
      } else {
        SendOpen(now_ns, actions);
      }
      return;
    case FsmEvent::kTcpConnectionFails:
      if (connect && delay_open_running) {
        actions.drop_tcp_connection = true;
        timers_.connect_retry = now_ns + config_.connect_retry_time_ns;
        timers_.delay_open = kNever;
        state_ = FsmState::kActive;
      } else {
        ToIdle(now_ns, connect ? IdleKind::kUncounted : IdleKind::kCounted, std::nullopt, actions);
      }
      return;
    case FsmEvent::kBgpOpenWithDelayOpenTimerRunning:
      SendOpen(now_ns, actions);
      AcceptOpen(now_ns, args.peer_hold_time_s, actions);
      return;
    case FsmEvent::kBgpHeaderErr:
      ToIdle(now_ns, IdleKind::kCounted, ErrorOr(args, kErrMessageHeader), actions);
      return;
    case FsmEvent::kBgpOpenMsgErr:
      ToIdle(now_ns, IdleKind::kCounted, ErrorOr(args, kErrOpenMessage), actions);
      return;
    case FsmEvent::kNotifMsgVerErr:
      ToIdle(now_ns, delay_open_running ? IdleKind::kUncounted : IdleKind::kCounted, std::nullopt,
             actions);
      return;
    default:
      // 8, 10, 11, 13, 19, 23, 25-28.
      ToIdle(now_ns, IdleKind::kCounted, std::nullopt, actions);
      return;
  }
}

void Fsm::HandleOpenSent(FsmEvent event, int64_t now_ns, const FsmEventArgs& args,
                         FsmActions& actions) {
  if (IsStart(event)) return;
  switch (event) {
    case FsmEvent::kManualStop:
      ToIdle(now_ns, IdleKind::kManualStop, CeaseFor(args, kCeaseAdministrativeShutdown), actions);
      return;
    case FsmEvent::kAutomaticStop:
      ToIdle(now_ns, IdleKind::kCounted, CeaseFor(args, 0), actions);
      return;
    case FsmEvent::kHoldTimerExpires:
      ToIdle(now_ns, IdleKind::kCounted, NotificationCode{kErrHoldTimerExpired, 0}, actions);
      return;
    case FsmEvent::kTcpConnectionValid:
    case FsmEvent::kTcpCrInvalid:
    case FsmEvent::kTcpCrAcked:
    case FsmEvent::kTcpConnectionConfirmed:
      return;  // A second connection: the owner tracks it for collision detection.
    case FsmEvent::kTcpConnectionFails:
      actions.drop_tcp_connection = true;
      timers_ = FsmTimers{};
      timers_.connect_retry = now_ns + config_.connect_retry_time_ns;
      open_pending_bfd_ = false;
      state_ = FsmState::kActive;
      return;
    case FsmEvent::kBgpOpen:
      if (open_pending_bfd_) {
        FsmError(now_ns, true, actions);  // A second OPEN.
      } else {
        AcceptOpen(now_ns, args.peer_hold_time_s, actions);
      }
      return;
    case FsmEvent::kBgpHeaderErr:
      ToIdle(now_ns, IdleKind::kCounted, ErrorOr(args, kErrMessageHeader), actions);
      return;
    case FsmEvent::kBgpOpenMsgErr:
      ToIdle(now_ns, IdleKind::kCounted, ErrorOr(args, kErrOpenMessage), actions);
      return;
    case FsmEvent::kOpenCollisionDump:
      ToIdle(now_ns, IdleKind::kCounted, NotificationCode{kErrCease, kCeaseConnectionCollision},
             actions);
      return;
    case FsmEvent::kNotifMsgVerErr:
      ToIdle(now_ns, IdleKind::kUncounted, std::nullopt, actions);
      return;
    case FsmEvent::kKeepAliveMsg:
      if (open_pending_bfd_) return;  // The peer is in OpenConfirm; we wait for BFD.
      FsmError(now_ns, true, actions);
      return;
    default:
      // 9, 11, 12, 13, 20, 25, 27, 28.
      FsmError(now_ns, IsMessageEvent(event), actions);
      return;
  }
}

// The rows of RFC 4271 section 8.2.2 that OpenConfirm and Established share. Returns true when
// `event` was one of them.
bool Fsm::HandleAfterOpen(FsmEvent event, int64_t now_ns, const FsmEventArgs& args,
                          FsmActions& actions) {
  if (IsStart(event)) return true;
  switch (event) {
    case FsmEvent::kManualStop:
      ToIdle(now_ns, IdleKind::kManualStop, CeaseFor(args, kCeaseAdministrativeShutdown), actions);
      return true;
    case FsmEvent::kAutomaticStop:
      ToIdle(now_ns, IdleKind::kCounted, CeaseFor(args, 0), actions);
      return true;
    case FsmEvent::kHoldTimerExpires:
      ToIdle(now_ns, IdleKind::kCounted, NotificationCode{kErrHoldTimerExpired, 0}, actions);
      return true;
    case FsmEvent::kKeepaliveTimerExpires:
      actions.send_keepalive = true;
      RestartKeepalive(now_ns);
      return true;
    case FsmEvent::kTcpConnectionValid:
    case FsmEvent::kTcpCrInvalid:
    case FsmEvent::kTcpCrAcked:
    case FsmEvent::kTcpConnectionConfirmed:
      return true;
    default:
      return false;
  }
}

void Fsm::HandleOpenConfirm(FsmEvent event, int64_t now_ns, const FsmEventArgs& args,
                            FsmActions& actions) {
  if (HandleAfterOpen(event, now_ns, args, actions)) return;
  switch (event) {
    case FsmEvent::kTcpConnectionFails:
    case FsmEvent::kNotifMsg:
      ToIdle(now_ns, IdleKind::kCounted, std::nullopt, actions);
      return;
    case FsmEvent::kBgpHeaderErr:
      ToIdle(now_ns, IdleKind::kCounted, ErrorOr(args, kErrMessageHeader), actions);
      return;
    case FsmEvent::kBgpOpenMsgErr:
      ToIdle(now_ns, IdleKind::kCounted, ErrorOr(args, kErrOpenMessage), actions);
      return;
    case FsmEvent::kOpenCollisionDump:
      ToIdle(now_ns, IdleKind::kCounted, NotificationCode{kErrCease, kCeaseConnectionCollision},
             actions);
      return;
    case FsmEvent::kNotifMsgVerErr:
      ToIdle(now_ns, IdleKind::kUncounted, std::nullopt, actions);
      return;
    case FsmEvent::kKeepAliveMsg:
      RestartHold(now_ns);
      state_ = FsmState::kEstablished;
      actions.session_established = true;
      ++counters_.established_transitions;
      counters_.established_since_ns = now_ns;
      return;
    default:
      // 9, 12, 13, 19, 20, 27, 28.
      FsmError(now_ns, IsMessageEvent(event), actions);
      return;
  }
}

void Fsm::HandleEstablished(FsmEvent event, int64_t now_ns, const FsmEventArgs& args,
                            FsmActions& actions) {
  if (HandleAfterOpen(event, now_ns, args, actions)) return;
  switch (event) {
    case FsmEvent::kOpenCollisionDump:
      ToIdle(now_ns, IdleKind::kCounted, NotificationCode{kErrCease, kCeaseConnectionCollision},
             actions);
      return;
    case FsmEvent::kNotifMsgVerErr:
    case FsmEvent::kNotifMsg:
    case FsmEvent::kTcpConnectionFails:
      ToIdle(now_ns, IdleKind::kCounted, std::nullopt, actions);
      return;
    case FsmEvent::kKeepAliveMsg:
    case FsmEvent::kUpdateMsg:
      RestartHold(now_ns);
      return;
    case FsmEvent::kUpdateMsgErr:
      ToIdle(now_ns, IdleKind::kCounted, ErrorOr(args, kErrUpdateMessage), actions);
      return;
    case FsmEvent::kBgpHeaderErr:
      ToIdle(now_ns, IdleKind::kCounted, ErrorOr(args, kErrMessageHeader), actions);
      return;
    default:
      // 9, 12, 13, 19, 20, 22.
      FsmError(now_ns, IsMessageEvent(event), actions);
      return;
  }
}

}  // namespace strobe::bgp
