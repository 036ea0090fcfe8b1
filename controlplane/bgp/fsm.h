// The BGP finite state machine of RFC 4271 §8 as pure logic: no sockets, no clock reads, no
// threads.
//
// The owner (the peer/network code) feeds `Fsm` with events and the current CLOCK_MONOTONIC time in
// nanoseconds and performs the returned `FsmActions`, in this order: send the NOTIFICATION /
// OPEN / KEEPALIVE, drop the TCP connection, withdraw routes and release resources, report
// SessionDown / SessionEstablished, then initiate a new TCP connection. It arms its own timers from
// `FsmActions::timers` (kNever means stopped) and delivers the matching *_Expires event when one
// is due (or calls PollTimers()).
//
// Modelling choices (the RFC leaves them open or they are Strobe extensions):
// - BGPOpen (19) and "BGPOpen with DelayOpenTimer running" (20) are one event for the owner: the
//   FSM classifies a received OPEN as 20 exactly when its DelayOpenTimer is running, as 19
//   otherwise.
// - Optional attributes fixed as: SendNOTIFICATIONwithoutOPEN = TRUE (errors detected before our
//   OPEN went out are still reported), CollisionDetectEstablishedState = FALSE (the owner runs the
//   §6.8 collision detection and delivers OpenCollisionDump (23) to the connection it closes).
// - On entering Idle every timer except the IdleHoldTimer is stopped (a ConnectRetryTimer running
//   in Idle, as the RFC writes for Active/TcpConnectionFails, has no effect there anyway).
// - BGPHeaderErr (21) sends the Message Header Error it carries in every state (RFC 4271 §6.1);
//   BGPOpenMsgErr (22) in Established is an OPEN in Established, an FSM Error.
// - FSM Error subcodes (RFC 6608): an unexpected *message* gets 1/2/3 for OpenSent/OpenConfirm/
//   Established; an unexpected timer or other local event gets 0 (Unspecified).
// - DampPeerOscillations: every drop to Idle other than ManualStop starts the IdleHoldTimer at
//   idle_hold_time_ns doubled for each consecutive drop, capped at idle_hold_max_ns. While it runs
//   AutomaticStart events (3, 5) are ignored; when it expires (13) and automatic_restart is set,
//   the FSM performs an AutomaticStart itself (passive when `passive`) without resetting the
//   ConnectRetryCounter. The back-off is forgiven by ManualStart, ManualStop, and by a session that
//   stayed Established for idle_hold_reset_after_ns.
// - BfdDown (Strobe, RFC 9384) is handled like AutomaticStop, with NOTIFICATION Cease/BFD Down
//   where a NOTIFICATION is sent (OpenSent, OpenConfirm, Established). BfdUp only records state,
//   except as below.
// - wait_for_bfd_up: while BFD is not Up, a received OPEN is accepted and remembered but answered
//   with no KEEPALIVE: the FSM holds in OpenSent (sending its own OPEN first if it came from
//   Connect/Active with DelayOpen), ignores the peer's KEEPALIVEs, and the large hold time keeps
//   running. BfdUp then completes the OPEN (KEEPALIVE, negotiated timers, OpenConfirm).
#ifndef STROBE_CONTROLPLANE_BGP_FSM_H_
#define STROBE_CONTROLPLANE_BGP_FSM_H_

#include <cstdint>
#include <limits>
#include <optional>

namespace strobe::bgp {

enum class FsmState : uint8_t { kIdle, kConnect, kActive, kOpenSent, kOpenConfirm, kEstablished };

// "idle", "connect", "active", "opensent", "openconfirm", "established" (the JSON names).
const char* FsmStateName(FsmState state);

// RFC 4271 §8.1 event numbers; 100+ are Strobe events.
enum class FsmEvent : uint8_t {
  kManualStart = 1,
  kManualStop = 2,
  kAutomaticStart = 3,
  kManualStartWithPassiveTcpEstablishment = 4,
  kAutomaticStartWithPassiveTcpEstablishment = 5,
  kAutomaticStop = 8,
  kConnectRetryTimerExpires = 9,
  kHoldTimerExpires = 10,
  kKeepaliveTimerExpires = 11,
  kDelayOpenTimerExpires = 12,
  kIdleHoldTimerExpires = 13,
  kTcpConnectionValid = 14,
  kTcpCrInvalid = 15,
  kTcpCrAcked = 16,
  kTcpConnectionConfirmed = 17,
  kTcpConnectionFails = 18,
  kBgpOpen = 19,
  kBgpOpenWithDelayOpenTimerRunning = 20,
  kBgpHeaderErr = 21,
  kBgpOpenMsgErr = 22,
  kOpenCollisionDump = 23,
  kNotifMsgVerErr = 24,
  kNotifMsg = 25,
  kKeepAliveMsg = 26,
  kUpdateMsg = 27,
  kUpdateMsgErr = 28,
  kBfdDown = 100,
  kBfdUp = 101,
};

// "ManualStart", "BGPOpen", "BfdDown", ...
const char* FsmEventName(FsmEvent event);

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

struct FsmConfig {
  uint16_t hold_time_s = 90;  // Ours, as sent in our OPEN; 0 = no keepalives.
  int64_t connect_retry_time_ns = 120 * kNanosPerSecond;
  int64_t large_hold_time_ns = 240 * kNanosPerSecond;  // While waiting for the peer's OPEN.
  bool delay_open = false;
  int64_t delay_open_time_ns = 5 * kNanosPerSecond;
  bool passive = false;  // Used for the automatic restart after the IdleHoldTimer.
  bool damp_peer_oscillations = true;
  int64_t idle_hold_time_ns = 5 * kNanosPerSecond;
  int64_t idle_hold_max_ns = 120 * kNanosPerSecond;
  int64_t idle_hold_reset_after_ns = 300 * kNanosPerSecond;
  bool automatic_restart = true;  // IdleHoldTimer_Expires performs an AutomaticStart.
  bool wait_for_bfd_up = false;
};

struct NotificationCode {
  uint8_t code = 0;
  uint8_t subcode = 0;
  bool operator==(const NotificationCode&) const = default;
};

struct FsmEventArgs {
  // BGPOpen: the Hold Time of the received (already validated) OPEN.
  uint16_t peer_hold_time_s = 0;
  // BGPHeaderErr / BGPOpenMsgErr / UpdateMsgErr: the NOTIFICATION to send (the codec's BgpError).
  // NotifMsg / NotifMsgVerErr: the NOTIFICATION received. ManualStop / AutomaticStop: a Cease
  // subcode to use instead of the default (code must be kErrCease).
  NotificationCode error;
};

// Absolute CLOCK_MONOTONIC deadlines in ns; kNever when the timer is stopped.
struct FsmTimers {
  int64_t connect_retry = kNever;
  int64_t hold = kNever;
  int64_t keepalive = kNever;
  int64_t delay_open = kNever;
  int64_t idle_hold = kNever;
  int64_t Earliest() const;
  bool operator==(const FsmTimers&) const = default;
};

struct FsmActions {
  FsmState from = FsmState::kIdle;
  FsmState to = FsmState::kIdle;
  bool initiate_tcp_connection = false;
  bool drop_tcp_connection = false;
  bool send_open = false;
  bool send_keepalive = false;
  std::optional<NotificationCode> send_notification;
  bool release_resources = false;
  bool withdraw_routes = false;  // Leaving Established: delete the peer's routes.
  bool session_established = false;
  bool session_down = false;  // Leaving Established.
  FsmTimers timers;           // All deadlines after the event.
};

struct FsmCounters {
  uint64_t established_transitions = 0;
  std::optional<NotificationCode> last_notification_sent;
  std::optional<NotificationCode> last_notification_received;
  int64_t established_since_ns = kNever;  // Uptime start; kNever when not Established.
};

class Fsm {
 public:
  explicit Fsm(FsmConfig config = {});

  FsmActions Handle(FsmEvent event, int64_t now_ns, const FsmEventArgs& args = {});

  // Delivers the *_Expires event of the earliest timer due at now_ns; nullopt when none is due.
  std::optional<FsmActions> PollTimers(int64_t now_ns);

  // The owner sent an UPDATE: restarts the KeepaliveTimer (§8.2.2 Established).
  void UpdateSent(int64_t now_ns);

  FsmState state() const { return state_; }
  const FsmConfig& config() const { return config_; }
  const FsmTimers& timers() const { return timers_; }
  const FsmCounters& counters() const { return counters_; }
  uint32_t connect_retry_counter() const { return connect_retry_counter_; }
  // min(ours, the peer's OPEN); meaningful from OpenConfirm on.
  uint16_t negotiated_hold_time_s() const { return negotiated_hold_time_s_; }
  bool bfd_up() const { return bfd_up_; }
  bool open_pending_bfd() const { return open_pending_bfd_; }
  // Seconds Established at now_ns; 0 when not Established.
  int64_t UptimeSeconds(int64_t now_ns) const;
  // The IdleHoldTimer duration the next drop to Idle would use.
  int64_t NextIdleHoldNs() const;

 private:
  enum class IdleKind { kManualStop, kCounted, kUncounted };

  void Start(int64_t now_ns, bool passive, FsmActions& actions);
  void SendOpen(int64_t now_ns, FsmActions& actions);
  void AcceptOpen(int64_t now_ns, uint16_t peer_hold_time_s, FsmActions& actions);
  void CompleteOpen(int64_t now_ns, FsmActions& actions);
  void Notify(NotificationCode n, FsmActions& actions);
  void ToIdle(int64_t now_ns, IdleKind kind, std::optional<NotificationCode> notification,
              FsmActions& actions);
  void FsmError(int64_t now_ns, bool message_event, FsmActions& actions);
  void RestartHold(int64_t now_ns);
  void RestartKeepalive(int64_t now_ns);

  void HandleIdle(FsmEvent event, int64_t now_ns, FsmActions& actions);
  void HandleConnectOrActive(FsmEvent event, int64_t now_ns, const FsmEventArgs& args,
                             FsmActions& actions);
  void HandleOpenSent(FsmEvent event, int64_t now_ns, const FsmEventArgs& args,
                      FsmActions& actions);
  bool HandleAfterOpen(FsmEvent event, int64_t now_ns, const FsmEventArgs& args,
                       FsmActions& actions);
  void HandleOpenConfirm(FsmEvent event, int64_t now_ns, const FsmEventArgs& args,
                         FsmActions& actions);
  void HandleEstablished(FsmEvent event, int64_t now_ns, const FsmEventArgs& args,
                         FsmActions& actions);

  FsmConfig config_;
  FsmState state_ = FsmState::kIdle;
  FsmTimers timers_;
  FsmCounters counters_;
  uint32_t connect_retry_counter_ = 0;
  uint16_t negotiated_hold_time_s_ = 0;
  uint16_t pending_peer_hold_time_s_ = 0;
  uint32_t damp_exponent_ = 0;
  bool bfd_up_ = false;
  bool open_pending_bfd_ = false;
};

}  // namespace strobe::bgp

#endif  // STROBE_CONTROLPLANE_BGP_FSM_H_
