// RFC 4271 §8 FSM: the event table for every state x event (rows written from §8.2.2, RFC 6608 and
// RFC 9384, not derived from the implementation), the timers, DelayOpen, passive, collision, BFD.
#include "controlplane/bgp/fsm.h"

#include <optional>
#include <string>
#include <vector>

#include "controlplane/bgp/notification.h"
#include "controlplane/bgp/types.h"
#include "gtest/gtest.h"

namespace strobe::bgp {
namespace {

using E = FsmEvent;
using S = FsmState;

constexpr int64_t kSec = kNanosPerSecond;
constexpr int64_t kT0 = 1000 * kSec;

// Key actions as a bitmask.
constexpr unsigned kI = 1;   // InitiateTcpConnection
constexpr unsigned kD = 2;   // DropTcpConnection
constexpr unsigned kO = 4;   // SendOpen
constexpr unsigned kK = 8;   // SendKeepalive
constexpr unsigned kR = 16;  // ReleaseResources
constexpr unsigned kW = 32;  // WithdrawRoutes + SessionDown
constexpr unsigned kE = 64;  // SessionEstablished

unsigned Mask(const FsmActions& a) {
  EXPECT_EQ(a.withdraw_routes, a.session_down);
  return (a.initiate_tcp_connection ? kI : 0) | (a.drop_tcp_connection ? kD : 0) |
         (a.send_open ? kO : 0) | (a.send_keepalive ? kK : 0) | (a.release_resources ? kR : 0) |
         (a.withdraw_routes ? kW : 0) | (a.session_established ? kE : 0);
}

FsmEventArgs ArgsFor(E event) {
  FsmEventArgs args;
  switch (event) {
    case E::kBgpOpen:
    case E::kBgpOpenWithDelayOpenTimerRunning:
      args.peer_hold_time_s = 90;
      break;
    case E::kBgpHeaderErr:
      args.error = {kErrMessageHeader, kSubBadMessageLength};
      break;
    case E::kBgpOpenMsgErr:
      args.error = {kErrOpenMessage, kSubBadPeerAs};
      break;
    case E::kUpdateMsgErr:
      args.error = {kErrUpdateMessage, kSubMalformedAttributeList};
      break;
    case E::kNotifMsg:
      args.error = {kErrCease, kCeaseAdministrativeShutdown};
      break;
    case E::kNotifMsgVerErr:
      args.error = {kErrOpenMessage, kSubUnsupportedVersionNumber};
      break;
    default:
      break;
  }
  return args;
}

// Drives a default-configured FSM into `state` at kT0.
Fsm FsmIn(S state, FsmConfig config = {}) {
  Fsm fsm(config);
  FsmEventArgs open;
  open.peer_hold_time_s = 90;
  switch (state) {
    case S::kIdle:
      break;
    case S::kActive:
      fsm.Handle(E::kManualStartWithPassiveTcpEstablishment, kT0);
      break;
    case S::kConnect:
      fsm.Handle(E::kManualStart, kT0);
      break;
    case S::kOpenSent:
      fsm.Handle(E::kManualStart, kT0);
      fsm.Handle(E::kTcpConnectionConfirmed, kT0);
      break;
    case S::kOpenConfirm:
      fsm.Handle(E::kManualStart, kT0);
      fsm.Handle(E::kTcpConnectionConfirmed, kT0);
      fsm.Handle(E::kBgpOpen, kT0, open);
      break;
    case S::kEstablished:
      fsm.Handle(E::kManualStart, kT0);
      fsm.Handle(E::kTcpConnectionConfirmed, kT0);
      fsm.Handle(E::kBgpOpen, kT0, open);
      fsm.Handle(E::kKeepAliveMsg, kT0);
      break;
  }
  EXPECT_EQ(fsm.state(), state);
  return fsm;
}

struct Row {
  S state;
  E event;
  S next;
  unsigned actions;
  std::optional<NotificationCode> notification;
};

constexpr std::nullopt_t kNone = std::nullopt;
NotificationCode N(uint8_t code, uint8_t subcode) { return {code, subcode}; }

// The table. Abbreviations: DR = drop TCP + release resources (every drop to Idle), W = routes
// withdrawn and SessionDown (leaving Established).
const std::vector<Row>& Table() {
  static const auto* rows = new std::vector<Row>{
      // Idle: starts go to Connect (active) or Active (passive); everything else is ignored.
      {S::kIdle, E::kManualStart, S::kConnect, kI, kNone},
      {S::kIdle, E::kManualStop, S::kIdle, 0, kNone},
      {S::kIdle, E::kAutomaticStart, S::kConnect, kI, kNone},
      {S::kIdle, E::kManualStartWithPassiveTcpEstablishment, S::kActive, 0, kNone},
      {S::kIdle, E::kAutomaticStartWithPassiveTcpEstablishment, S::kActive, 0, kNone},
      {S::kIdle, E::kAutomaticStop, S::kIdle, 0, kNone},
      {S::kIdle, E::kConnectRetryTimerExpires, S::kIdle, 0, kNone},
      {S::kIdle, E::kHoldTimerExpires, S::kIdle, 0, kNone},
      {S::kIdle, E::kKeepaliveTimerExpires, S::kIdle, 0, kNone},
      {S::kIdle, E::kDelayOpenTimerExpires, S::kIdle, 0, kNone},
      {S::kIdle, E::kIdleHoldTimerExpires, S::kIdle, 0, kNone},  // Not running: stale.
      {S::kIdle, E::kTcpConnectionValid, S::kIdle, 0, kNone},
      {S::kIdle, E::kTcpCrInvalid, S::kIdle, 0, kNone},
      {S::kIdle, E::kTcpCrAcked, S::kIdle, 0, kNone},
      {S::kIdle, E::kTcpConnectionConfirmed, S::kIdle, 0, kNone},
      {S::kIdle, E::kTcpConnectionFails, S::kIdle, 0, kNone},
      {S::kIdle, E::kBgpOpen, S::kIdle, 0, kNone},
      {S::kIdle, E::kBgpOpenWithDelayOpenTimerRunning, S::kIdle, 0, kNone},
      {S::kIdle, E::kBgpHeaderErr, S::kIdle, 0, kNone},
      {S::kIdle, E::kBgpOpenMsgErr, S::kIdle, 0, kNone},
      {S::kIdle, E::kOpenCollisionDump, S::kIdle, 0, kNone},
      {S::kIdle, E::kNotifMsgVerErr, S::kIdle, 0, kNone},
      {S::kIdle, E::kNotifMsg, S::kIdle, 0, kNone},
      {S::kIdle, E::kKeepAliveMsg, S::kIdle, 0, kNone},
      {S::kIdle, E::kUpdateMsg, S::kIdle, 0, kNone},
      {S::kIdle, E::kUpdateMsgErr, S::kIdle, 0, kNone},
      {S::kIdle, E::kBfdDown, S::kIdle, 0, kNone},
      {S::kIdle, E::kBfdUp, S::kIdle, 0, kNone},

      // Connect (DelayOpen FALSE).
      {S::kConnect, E::kManualStart, S::kConnect, 0, kNone},
      {S::kConnect, E::kManualStop, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kAutomaticStart, S::kConnect, 0, kNone},
      {S::kConnect, E::kManualStartWithPassiveTcpEstablishment, S::kConnect, 0, kNone},
      {S::kConnect, E::kAutomaticStartWithPassiveTcpEstablishment, S::kConnect, 0, kNone},
      {S::kConnect, E::kAutomaticStop, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kConnectRetryTimerExpires, S::kConnect, kD | kI, kNone},
      {S::kConnect, E::kHoldTimerExpires, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kKeepaliveTimerExpires, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kDelayOpenTimerExpires, S::kOpenSent, kO, kNone},
      {S::kConnect, E::kIdleHoldTimerExpires, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kTcpConnectionValid, S::kConnect, 0, kNone},
      {S::kConnect, E::kTcpCrInvalid, S::kConnect, 0, kNone},
      {S::kConnect, E::kTcpCrAcked, S::kOpenSent, kO, kNone},
      {S::kConnect, E::kTcpConnectionConfirmed, S::kOpenSent, kO, kNone},
      {S::kConnect, E::kTcpConnectionFails, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kBgpOpen, S::kIdle, kD | kR, kNone},
      // No DelayOpenTimer running: the OPEN is event 19.
      {S::kConnect, E::kBgpOpenWithDelayOpenTimerRunning, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kBgpHeaderErr, S::kIdle, kD | kR, N(1, 2)},
      {S::kConnect, E::kBgpOpenMsgErr, S::kIdle, kD | kR, N(2, 2)},
      {S::kConnect, E::kOpenCollisionDump, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kNotifMsgVerErr, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kNotifMsg, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kKeepAliveMsg, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kUpdateMsg, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kUpdateMsgErr, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kBfdDown, S::kIdle, kD | kR, kNone},
      {S::kConnect, E::kBfdUp, S::kConnect, 0, kNone},

      // Active (DelayOpen FALSE).
      {S::kActive, E::kManualStart, S::kActive, 0, kNone},
      {S::kActive, E::kManualStop, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kAutomaticStart, S::kActive, 0, kNone},
      {S::kActive, E::kManualStartWithPassiveTcpEstablishment, S::kActive, 0, kNone},
      {S::kActive, E::kAutomaticStartWithPassiveTcpEstablishment, S::kActive, 0, kNone},
      {S::kActive, E::kAutomaticStop, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kConnectRetryTimerExpires, S::kConnect, kI, kNone},
      {S::kActive, E::kHoldTimerExpires, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kKeepaliveTimerExpires, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kDelayOpenTimerExpires, S::kOpenSent, kO, kNone},
      {S::kActive, E::kIdleHoldTimerExpires, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kTcpConnectionValid, S::kActive, 0, kNone},
      {S::kActive, E::kTcpCrInvalid, S::kActive, 0, kNone},
      {S::kActive, E::kTcpCrAcked, S::kOpenSent, kO, kNone},
      {S::kActive, E::kTcpConnectionConfirmed, S::kOpenSent, kO, kNone},
      {S::kActive, E::kTcpConnectionFails, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kBgpOpen, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kBgpOpenWithDelayOpenTimerRunning, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kBgpHeaderErr, S::kIdle, kD | kR, N(1, 2)},
      {S::kActive, E::kBgpOpenMsgErr, S::kIdle, kD | kR, N(2, 2)},
      {S::kActive, E::kOpenCollisionDump, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kNotifMsgVerErr, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kNotifMsg, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kKeepAliveMsg, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kUpdateMsg, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kUpdateMsgErr, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kBfdDown, S::kIdle, kD | kR, kNone},
      {S::kActive, E::kBfdUp, S::kActive, 0, kNone},

      // OpenSent: unexpected messages are FSM Error/1, unexpected timers FSM Error/0.
      {S::kOpenSent, E::kManualStart, S::kOpenSent, 0, kNone},
      {S::kOpenSent, E::kManualStop, S::kIdle, kD | kR, N(6, 2)},
      {S::kOpenSent, E::kAutomaticStart, S::kOpenSent, 0, kNone},
      {S::kOpenSent, E::kManualStartWithPassiveTcpEstablishment, S::kOpenSent, 0, kNone},
      {S::kOpenSent, E::kAutomaticStartWithPassiveTcpEstablishment, S::kOpenSent, 0, kNone},
      {S::kOpenSent, E::kAutomaticStop, S::kIdle, kD | kR, N(6, 0)},
      {S::kOpenSent, E::kConnectRetryTimerExpires, S::kIdle, kD | kR, N(5, 0)},
      {S::kOpenSent, E::kHoldTimerExpires, S::kIdle, kD | kR, N(4, 0)},
      {S::kOpenSent, E::kKeepaliveTimerExpires, S::kIdle, kD | kR, N(5, 0)},
      {S::kOpenSent, E::kDelayOpenTimerExpires, S::kIdle, kD | kR, N(5, 0)},
      {S::kOpenSent, E::kIdleHoldTimerExpires, S::kIdle, kD | kR, N(5, 0)},
      {S::kOpenSent, E::kTcpConnectionValid, S::kOpenSent, 0, kNone},
      {S::kOpenSent, E::kTcpCrInvalid, S::kOpenSent, 0, kNone},
      {S::kOpenSent, E::kTcpCrAcked, S::kOpenSent, 0, kNone},
      {S::kOpenSent, E::kTcpConnectionConfirmed, S::kOpenSent, 0, kNone},
      {S::kOpenSent, E::kTcpConnectionFails, S::kActive, kD, kNone},
      {S::kOpenSent, E::kBgpOpen, S::kOpenConfirm, kK, kNone},
      // No DelayOpenTimer runs in OpenSent: the FSM classifies the OPEN as event 19.
      {S::kOpenSent, E::kBgpOpenWithDelayOpenTimerRunning, S::kOpenConfirm, kK, kNone},
      {S::kOpenSent, E::kBgpHeaderErr, S::kIdle, kD | kR, N(1, 2)},
      {S::kOpenSent, E::kBgpOpenMsgErr, S::kIdle, kD | kR, N(2, 2)},
      {S::kOpenSent, E::kOpenCollisionDump, S::kIdle, kD | kR, N(6, 7)},
      {S::kOpenSent, E::kNotifMsgVerErr, S::kIdle, kD | kR, kNone},
      {S::kOpenSent, E::kNotifMsg, S::kIdle, kD | kR, N(5, 1)},
      {S::kOpenSent, E::kKeepAliveMsg, S::kIdle, kD | kR, N(5, 1)},
      {S::kOpenSent, E::kUpdateMsg, S::kIdle, kD | kR, N(5, 1)},
      {S::kOpenSent, E::kUpdateMsgErr, S::kIdle, kD | kR, N(5, 1)},
      {S::kOpenSent, E::kBfdDown, S::kIdle, kD | kR, N(6, 10)},
      {S::kOpenSent, E::kBfdUp, S::kOpenSent, 0, kNone},

      // OpenConfirm: unexpected messages are FSM Error/2.
      {S::kOpenConfirm, E::kManualStart, S::kOpenConfirm, 0, kNone},
      {S::kOpenConfirm, E::kManualStop, S::kIdle, kD | kR, N(6, 2)},
      {S::kOpenConfirm, E::kAutomaticStart, S::kOpenConfirm, 0, kNone},
      {S::kOpenConfirm, E::kManualStartWithPassiveTcpEstablishment, S::kOpenConfirm, 0, kNone},
      {S::kOpenConfirm, E::kAutomaticStartWithPassiveTcpEstablishment, S::kOpenConfirm, 0, kNone},
      {S::kOpenConfirm, E::kAutomaticStop, S::kIdle, kD | kR, N(6, 0)},
      {S::kOpenConfirm, E::kConnectRetryTimerExpires, S::kIdle, kD | kR, N(5, 0)},
      {S::kOpenConfirm, E::kHoldTimerExpires, S::kIdle, kD | kR, N(4, 0)},
      {S::kOpenConfirm, E::kKeepaliveTimerExpires, S::kOpenConfirm, kK, kNone},
      {S::kOpenConfirm, E::kDelayOpenTimerExpires, S::kIdle, kD | kR, N(5, 0)},
      {S::kOpenConfirm, E::kIdleHoldTimerExpires, S::kIdle, kD | kR, N(5, 0)},
      {S::kOpenConfirm, E::kTcpConnectionValid, S::kOpenConfirm, 0, kNone},
      {S::kOpenConfirm, E::kTcpCrInvalid, S::kOpenConfirm, 0, kNone},
      {S::kOpenConfirm, E::kTcpCrAcked, S::kOpenConfirm, 0, kNone},
      {S::kOpenConfirm, E::kTcpConnectionConfirmed, S::kOpenConfirm, 0, kNone},
      {S::kOpenConfirm, E::kTcpConnectionFails, S::kIdle, kD | kR, kNone},
      {S::kOpenConfirm, E::kBgpOpen, S::kIdle, kD | kR, N(5, 2)},
      {S::kOpenConfirm, E::kBgpOpenWithDelayOpenTimerRunning, S::kIdle, kD | kR, N(5, 2)},
      {S::kOpenConfirm, E::kBgpHeaderErr, S::kIdle, kD | kR, N(1, 2)},
      {S::kOpenConfirm, E::kBgpOpenMsgErr, S::kIdle, kD | kR, N(2, 2)},
      {S::kOpenConfirm, E::kOpenCollisionDump, S::kIdle, kD | kR, N(6, 7)},
      {S::kOpenConfirm, E::kNotifMsgVerErr, S::kIdle, kD | kR, kNone},
      {S::kOpenConfirm, E::kNotifMsg, S::kIdle, kD | kR, kNone},
      {S::kOpenConfirm, E::kKeepAliveMsg, S::kEstablished, kE, kNone},
      {S::kOpenConfirm, E::kUpdateMsg, S::kIdle, kD | kR, N(5, 2)},
      {S::kOpenConfirm, E::kUpdateMsgErr, S::kIdle, kD | kR, N(5, 2)},
      {S::kOpenConfirm, E::kBfdDown, S::kIdle, kD | kR, N(6, 10)},
      {S::kOpenConfirm, E::kBfdUp, S::kOpenConfirm, 0, kNone},

      // Established: leaving withdraws routes; unexpected messages are FSM Error/3.
      {S::kEstablished, E::kManualStart, S::kEstablished, 0, kNone},
      {S::kEstablished, E::kManualStop, S::kIdle, kD | kR | kW, N(6, 2)},
      {S::kEstablished, E::kAutomaticStart, S::kEstablished, 0, kNone},
      {S::kEstablished, E::kManualStartWithPassiveTcpEstablishment, S::kEstablished, 0, kNone},
      {S::kEstablished, E::kAutomaticStartWithPassiveTcpEstablishment, S::kEstablished, 0, kNone},
      {S::kEstablished, E::kAutomaticStop, S::kIdle, kD | kR | kW, N(6, 0)},
      {S::kEstablished, E::kConnectRetryTimerExpires, S::kIdle, kD | kR | kW, N(5, 0)},
      {S::kEstablished, E::kHoldTimerExpires, S::kIdle, kD | kR | kW, N(4, 0)},
      {S::kEstablished, E::kKeepaliveTimerExpires, S::kEstablished, kK, kNone},
      {S::kEstablished, E::kDelayOpenTimerExpires, S::kIdle, kD | kR | kW, N(5, 0)},
      {S::kEstablished, E::kIdleHoldTimerExpires, S::kIdle, kD | kR | kW, N(5, 0)},
      {S::kEstablished, E::kTcpConnectionValid, S::kEstablished, 0, kNone},
      {S::kEstablished, E::kTcpCrInvalid, S::kEstablished, 0, kNone},
      {S::kEstablished, E::kTcpCrAcked, S::kEstablished, 0, kNone},
      {S::kEstablished, E::kTcpConnectionConfirmed, S::kEstablished, 0, kNone},
      {S::kEstablished, E::kTcpConnectionFails, S::kIdle, kD | kR | kW, kNone},
      {S::kEstablished, E::kBgpOpen, S::kIdle, kD | kR | kW, N(5, 3)},
      {S::kEstablished, E::kBgpOpenWithDelayOpenTimerRunning, S::kIdle, kD | kR | kW, N(5, 3)},
      // Deviation (documented in fsm.h): a header error is reported as such (RFC 4271 §6.1).
      {S::kEstablished, E::kBgpHeaderErr, S::kIdle, kD | kR | kW, N(1, 2)},
      {S::kEstablished, E::kBgpOpenMsgErr, S::kIdle, kD | kR | kW, N(5, 3)},
      {S::kEstablished, E::kOpenCollisionDump, S::kIdle, kD | kR | kW, N(6, 7)},
      {S::kEstablished, E::kNotifMsgVerErr, S::kIdle, kD | kR | kW, kNone},
      {S::kEstablished, E::kNotifMsg, S::kIdle, kD | kR | kW, kNone},
      {S::kEstablished, E::kKeepAliveMsg, S::kEstablished, 0, kNone},
      {S::kEstablished, E::kUpdateMsg, S::kEstablished, 0, kNone},
      {S::kEstablished, E::kUpdateMsgErr, S::kIdle, kD | kR | kW, N(3, 1)},
      {S::kEstablished, E::kBfdDown, S::kIdle, kD | kR | kW, N(6, 10)},
      {S::kEstablished, E::kBfdUp, S::kEstablished, 0, kNone},
  };
  return *rows;
}

const E kAllEvents[] = {
    E::kManualStart,
    E::kManualStop,
    E::kAutomaticStart,
    E::kManualStartWithPassiveTcpEstablishment,
    E::kAutomaticStartWithPassiveTcpEstablishment,
    E::kAutomaticStop,
    E::kConnectRetryTimerExpires,
    E::kHoldTimerExpires,
    E::kKeepaliveTimerExpires,
    E::kDelayOpenTimerExpires,
    E::kIdleHoldTimerExpires,
    E::kTcpConnectionValid,
    E::kTcpCrInvalid,
    E::kTcpCrAcked,
    E::kTcpConnectionConfirmed,
    E::kTcpConnectionFails,
    E::kBgpOpen,
    E::kBgpOpenWithDelayOpenTimerRunning,
    E::kBgpHeaderErr,
    E::kBgpOpenMsgErr,
    E::kOpenCollisionDump,
    E::kNotifMsgVerErr,
    E::kNotifMsg,
    E::kKeepAliveMsg,
    E::kUpdateMsg,
    E::kUpdateMsgErr,
    E::kBfdDown,
    E::kBfdUp,
};
const S kAllStates[] = {S::kIdle,     S::kConnect,     S::kActive,
                        S::kOpenSent, S::kOpenConfirm, S::kEstablished};

TEST(BgpFsmTableTest, CoversEveryStateAndEvent) {
  for (S state : kAllStates) {
    for (E event : kAllEvents) {
      int found = 0;
      for (const Row& row : Table()) found += row.state == state && row.event == event;
      EXPECT_EQ(found, 1) << FsmStateName(state) << " x " << FsmEventName(event);
    }
  }
}

TEST(BgpFsmTableTest, EveryRow) {
  for (const Row& row : Table()) {
    SCOPED_TRACE(std::string(FsmStateName(row.state)) + " x " + FsmEventName(row.event));
    Fsm fsm = FsmIn(row.state);
    const int64_t now = kT0 + kSec;
    FsmActions actions = fsm.Handle(row.event, now, ArgsFor(row.event));
    EXPECT_EQ(actions.from, row.state);
    EXPECT_EQ(actions.to, row.next);
    EXPECT_EQ(fsm.state(), row.next);
    EXPECT_EQ(Mask(actions), row.actions);
    EXPECT_EQ(actions.send_notification, row.notification);
    if (row.notification.has_value()) {
      EXPECT_EQ(fsm.counters().last_notification_sent, row.notification);
    }
    EXPECT_EQ(actions.timers, fsm.timers());
    if (row.next == S::kIdle) {
      EXPECT_EQ(actions.timers.connect_retry, kNever);
      EXPECT_EQ(actions.timers.hold, kNever);
      EXPECT_EQ(actions.timers.keepalive, kNever);
      EXPECT_EQ(actions.timers.delay_open, kNever);
    }
  }
}

TEST(BgpFsmTest, StateNames) {
  EXPECT_STREQ(FsmStateName(S::kIdle), "idle");
  EXPECT_STREQ(FsmStateName(S::kConnect), "connect");
  EXPECT_STREQ(FsmStateName(S::kActive), "active");
  EXPECT_STREQ(FsmStateName(S::kOpenSent), "opensent");
  EXPECT_STREQ(FsmStateName(S::kOpenConfirm), "openconfirm");
  EXPECT_STREQ(FsmStateName(S::kEstablished), "established");
  EXPECT_STREQ(FsmEventName(E::kBgpOpen), "BGPOpen");
}

TEST(BgpFsmTimerTest, ConnectRetryTimer) {
  Fsm fsm;
  FsmActions a = fsm.Handle(E::kManualStart, kT0);
  EXPECT_EQ(a.timers.connect_retry, kT0 + 120 * kSec);
  EXPECT_FALSE(fsm.PollTimers(kT0 + 119 * kSec).has_value());
  std::optional<FsmActions> fired = fsm.PollTimers(kT0 + 120 * kSec);
  ASSERT_TRUE(fired.has_value());
  EXPECT_EQ(fired->to, S::kConnect);
  EXPECT_TRUE(fired->drop_tcp_connection);
  EXPECT_TRUE(fired->initiate_tcp_connection);
  EXPECT_EQ(fired->timers.connect_retry, kT0 + 240 * kSec);
}

TEST(BgpFsmTimerTest, LargeHoldTimeWhileWaitingForOpenThenNegotiated) {
  Fsm fsm;
  fsm.Handle(E::kManualStart, kT0);
  FsmActions a = fsm.Handle(E::kTcpConnectionConfirmed, kT0);
  EXPECT_EQ(a.timers.hold, kT0 + 240 * kSec);
  EXPECT_EQ(a.timers.connect_retry, kNever);
  FsmEventArgs open;
  open.peer_hold_time_s = 30;  // Ours is 90: the minimum wins.
  a = fsm.Handle(E::kBgpOpen, kT0 + kSec, open);
  EXPECT_EQ(fsm.negotiated_hold_time_s(), 30);
  EXPECT_EQ(a.timers.hold, kT0 + 31 * kSec);
  EXPECT_EQ(a.timers.keepalive, kT0 + 11 * kSec);
}

TEST(BgpFsmTimerTest, HoldTimerExpirySendsHoldTimerExpiredAndGoesIdle) {
  Fsm fsm = FsmIn(S::kEstablished);
  EXPECT_EQ(fsm.timers().hold, kT0 + 90 * kSec);
  // A KEEPALIVE restarts the HoldTimer.
  FsmActions a = fsm.Handle(E::kKeepAliveMsg, kT0 + 50 * kSec);
  EXPECT_EQ(a.timers.hold, kT0 + 140 * kSec);
  a = fsm.Handle(E::kUpdateMsg, kT0 + 60 * kSec);
  EXPECT_EQ(a.timers.hold, kT0 + 150 * kSec);
  // Keepalives at +30, +60, ... fire first; the hold timer fires at +150.
  std::optional<FsmActions> fired;
  while ((fired = fsm.PollTimers(fsm.timers().Earliest())).has_value()) {
    if (fired->to == S::kIdle) break;
    EXPECT_TRUE(fired->send_keepalive);
  }
  ASSERT_TRUE(fired.has_value());
  EXPECT_EQ(fired->to, S::kIdle);
  EXPECT_EQ(fired->send_notification, N(kErrHoldTimerExpired, 0));
  EXPECT_TRUE(fired->session_down);
  EXPECT_TRUE(fired->withdraw_routes);
  EXPECT_EQ(fsm.counters().last_notification_sent, N(4, 0));
  EXPECT_EQ(fsm.counters().established_since_ns, kNever);
}

TEST(BgpFsmTimerTest, KeepaliveRearm) {
  Fsm fsm = FsmIn(S::kEstablished);
  EXPECT_EQ(fsm.timers().keepalive, kT0 + 30 * kSec);
  FsmActions a = fsm.Handle(E::kKeepaliveTimerExpires, kT0 + 30 * kSec);
  EXPECT_TRUE(a.send_keepalive);
  EXPECT_EQ(a.timers.keepalive, kT0 + 60 * kSec);
  fsm.UpdateSent(kT0 + 45 * kSec);  // Sending an UPDATE restarts it too.
  EXPECT_EQ(fsm.timers().keepalive, kT0 + 75 * kSec);
  // In OpenConfirm as well.
  Fsm confirm = FsmIn(S::kOpenConfirm);
  a = confirm.Handle(E::kKeepaliveTimerExpires, kT0 + 30 * kSec);
  EXPECT_TRUE(a.send_keepalive);
  EXPECT_EQ(a.timers.keepalive, kT0 + 60 * kSec);
}

TEST(BgpFsmTimerTest, HoldTimeZeroDisablesKeepalivesAndHold) {
  Fsm fsm;
  fsm.Handle(E::kManualStart, kT0);
  fsm.Handle(E::kTcpConnectionConfirmed, kT0);
  FsmEventArgs open;
  open.peer_hold_time_s = 0;
  FsmActions a = fsm.Handle(E::kBgpOpen, kT0, open);
  EXPECT_EQ(a.to, S::kOpenConfirm);
  EXPECT_TRUE(a.send_keepalive);  // The one KEEPALIVE that confirms the OPEN.
  EXPECT_EQ(fsm.negotiated_hold_time_s(), 0);
  EXPECT_EQ(a.timers.hold, kNever);
  EXPECT_EQ(a.timers.keepalive, kNever);
  a = fsm.Handle(E::kKeepAliveMsg, kT0 + kSec);
  EXPECT_EQ(a.to, S::kEstablished);
  EXPECT_EQ(a.timers.Earliest(), kNever);
  EXPECT_FALSE(fsm.PollTimers(kT0 + 100000 * kSec).has_value());
  fsm.UpdateSent(kT0 + 2 * kSec);
  EXPECT_EQ(fsm.timers().keepalive, kNever);
}

TEST(BgpFsmDelayOpenTest, DelayOpenTimerSendsOpen) {
  FsmConfig config;
  config.delay_open = true;
  config.delay_open_time_ns = 10 * kSec;
  Fsm fsm(config);
  fsm.Handle(E::kManualStart, kT0);
  FsmActions a = fsm.Handle(E::kTcpConnectionConfirmed, kT0);
  EXPECT_EQ(a.to, S::kConnect);
  EXPECT_FALSE(a.send_open);
  EXPECT_EQ(a.timers.connect_retry, kNever);
  EXPECT_EQ(a.timers.delay_open, kT0 + 10 * kSec);
  std::optional<FsmActions> fired = fsm.PollTimers(kT0 + 10 * kSec);
  ASSERT_TRUE(fired.has_value());
  EXPECT_EQ(fired->to, S::kOpenSent);
  EXPECT_TRUE(fired->send_open);
  EXPECT_EQ(fired->timers.delay_open, kNever);
  EXPECT_EQ(fired->timers.hold, kT0 + 250 * kSec);
}

TEST(BgpFsmDelayOpenTest, OpenWhileDelayOpenRunningGoesToOpenConfirm) {
  FsmConfig config;
  config.delay_open = true;
  for (E start : {E::kManualStart, E::kManualStartWithPassiveTcpEstablishment}) {
    Fsm fsm(config);
    fsm.Handle(start, kT0);
    fsm.Handle(E::kTcpCrAcked, kT0);
    FsmEventArgs open;
    open.peer_hold_time_s = 60;
    FsmActions a = fsm.Handle(E::kBgpOpen, kT0 + kSec, open);
    EXPECT_EQ(a.to, S::kOpenConfirm);
    EXPECT_TRUE(a.send_open);
    EXPECT_TRUE(a.send_keepalive);
    EXPECT_EQ(a.timers.delay_open, kNever);
    EXPECT_EQ(a.timers.hold, kT0 + 61 * kSec);
    EXPECT_EQ(a.timers.keepalive, kT0 + 21 * kSec);
  }
}

TEST(BgpFsmDelayOpenTest, ConnectionFailsWhileDelayOpenRunningGoesActive) {
  FsmConfig config;
  config.delay_open = true;
  Fsm fsm(config);
  fsm.Handle(E::kManualStart, kT0);
  fsm.Handle(E::kTcpConnectionConfirmed, kT0);
  FsmActions a = fsm.Handle(E::kTcpConnectionFails, kT0 + kSec);
  EXPECT_EQ(a.to, S::kActive);
  EXPECT_EQ(a.timers.delay_open, kNever);
  EXPECT_EQ(a.timers.connect_retry, kT0 + 121 * kSec);
  EXPECT_EQ(fsm.connect_retry_counter(), 0u);
}

TEST(BgpFsmDelayOpenTest, VersionErrorWhileDelayOpenRunningIsNotCounted) {
  FsmConfig config;
  config.delay_open = true;
  Fsm fsm(config);
  fsm.Handle(E::kManualStart, kT0);
  fsm.Handle(E::kTcpConnectionConfirmed, kT0);
  FsmActions a = fsm.Handle(E::kNotifMsgVerErr, kT0 + kSec, ArgsFor(E::kNotifMsgVerErr));
  EXPECT_EQ(a.to, S::kIdle);
  EXPECT_FALSE(a.send_notification.has_value());
  EXPECT_EQ(fsm.connect_retry_counter(), 0u);
  EXPECT_EQ(fsm.counters().last_notification_received, N(2, 1));
}

TEST(BgpFsmDelayOpenTest, ManualStopInActiveWithDelayOpenRunningSendsCease) {
  FsmConfig config;
  config.delay_open = true;
  Fsm fsm(config);
  fsm.Handle(E::kManualStartWithPassiveTcpEstablishment, kT0);
  fsm.Handle(E::kTcpConnectionConfirmed, kT0);
  EXPECT_EQ(fsm.state(), S::kActive);
  FsmActions a = fsm.Handle(E::kManualStop, kT0 + kSec);
  EXPECT_EQ(a.to, S::kIdle);
  EXPECT_EQ(a.send_notification, N(kErrCease, kCeaseAdministrativeShutdown));
}

TEST(BgpFsmPassiveTest, PassivePathToEstablished) {
  Fsm fsm;
  FsmActions a = fsm.Handle(E::kManualStartWithPassiveTcpEstablishment, kT0);
  EXPECT_EQ(a.to, S::kActive);
  EXPECT_FALSE(a.initiate_tcp_connection);
  EXPECT_EQ(a.timers.connect_retry, kT0 + 120 * kSec);
  a = fsm.Handle(E::kTcpConnectionConfirmed, kT0 + kSec);
  EXPECT_EQ(a.to, S::kOpenSent);
  EXPECT_TRUE(a.send_open);
  FsmEventArgs open;
  open.peer_hold_time_s = 90;
  a = fsm.Handle(E::kBgpOpen, kT0 + 2 * kSec, open);
  EXPECT_EQ(a.to, S::kOpenConfirm);
  a = fsm.Handle(E::kKeepAliveMsg, kT0 + 3 * kSec);
  EXPECT_EQ(a.to, S::kEstablished);
  EXPECT_TRUE(a.session_established);
  EXPECT_EQ(fsm.counters().established_transitions, 1u);
  EXPECT_EQ(fsm.counters().established_since_ns, kT0 + 3 * kSec);
  EXPECT_EQ(fsm.UptimeSeconds(kT0 + 13 * kSec), 10);
}

TEST(BgpFsmPassiveTest, OpenSentConnectionFailsReturnsToActive) {
  Fsm fsm = FsmIn(S::kOpenSent);
  FsmActions a = fsm.Handle(E::kTcpConnectionFails, kT0 + kSec);
  EXPECT_EQ(a.to, S::kActive);
  EXPECT_EQ(a.timers.connect_retry, kT0 + 121 * kSec);
  EXPECT_EQ(a.timers.hold, kNever);
}

TEST(BgpFsmCollisionTest, CollisionDumpSendsCeaseConnectionCollision) {
  for (S state : {S::kOpenSent, S::kOpenConfirm, S::kEstablished}) {
    Fsm fsm = FsmIn(state);
    FsmActions a = fsm.Handle(E::kOpenCollisionDump, kT0 + kSec);
    EXPECT_EQ(a.to, S::kIdle);
    EXPECT_EQ(a.send_notification, N(kErrCease, kCeaseConnectionCollision));
    EXPECT_TRUE(a.drop_tcp_connection);
    EXPECT_EQ(fsm.connect_retry_counter(), 1u);
  }
}

TEST(BgpFsmBfdTest, BfdDownInEstablished) {
  Fsm fsm = FsmIn(S::kEstablished);
  FsmActions a = fsm.Handle(E::kBfdDown, kT0 + 5 * kSec);
  EXPECT_EQ(a.to, S::kIdle);
  EXPECT_EQ(a.send_notification, N(kErrCease, kCeaseBfdDown));
  EXPECT_TRUE(a.session_down);
  EXPECT_TRUE(a.withdraw_routes);
  EXPECT_TRUE(a.drop_tcp_connection);
  EXPECT_TRUE(a.release_resources);
  EXPECT_EQ(fsm.counters().last_notification_sent, N(6, 10));
  EXPECT_FALSE(fsm.bfd_up());
  // The session restarts per the FSM once the IdleHoldTimer expires.
  EXPECT_EQ(a.timers.idle_hold, kT0 + 10 * kSec);
  std::optional<FsmActions> fired = fsm.PollTimers(kT0 + 10 * kSec);
  ASSERT_TRUE(fired.has_value());
  EXPECT_EQ(fired->to, S::kConnect);
  EXPECT_TRUE(fired->initiate_tcp_connection);
}

TEST(BgpFsmBfdTest, WaitForBfdUpHoldsInOpenSent) {
  FsmConfig config;
  config.wait_for_bfd_up = true;
  Fsm fsm(config);
  fsm.Handle(E::kManualStart, kT0);
  fsm.Handle(E::kTcpConnectionConfirmed, kT0);
  FsmEventArgs open;
  open.peer_hold_time_s = 90;
  FsmActions a = fsm.Handle(E::kBgpOpen, kT0 + kSec, open);
  EXPECT_EQ(a.to, S::kOpenSent);
  EXPECT_FALSE(a.send_keepalive);
  EXPECT_TRUE(fsm.open_pending_bfd());
  EXPECT_EQ(a.timers.hold, kT0 + 240 * kSec);  // The large hold time keeps running.
  // The peer's KEEPALIVEs (it is in OpenConfirm) are tolerated while we wait.
  a = fsm.Handle(E::kKeepAliveMsg, kT0 + 2 * kSec);
  EXPECT_EQ(a.to, S::kOpenSent);
  EXPECT_FALSE(a.send_notification.has_value());
  a = fsm.Handle(E::kBfdUp, kT0 + 3 * kSec);
  EXPECT_EQ(a.to, S::kOpenConfirm);
  EXPECT_TRUE(a.send_keepalive);
  EXPECT_EQ(a.timers.hold, kT0 + 93 * kSec);
  EXPECT_EQ(a.timers.keepalive, kT0 + 33 * kSec);
  a = fsm.Handle(E::kKeepAliveMsg, kT0 + 4 * kSec);
  EXPECT_EQ(a.to, S::kEstablished);
}

TEST(BgpFsmBfdTest, WaitForBfdUpTimesOutWithHoldTimer) {
  FsmConfig config;
  config.wait_for_bfd_up = true;
  Fsm fsm(config);
  fsm.Handle(E::kManualStart, kT0);
  fsm.Handle(E::kTcpConnectionConfirmed, kT0);
  fsm.Handle(E::kBgpOpen, kT0, ArgsFor(E::kBgpOpen));
  std::optional<FsmActions> fired = fsm.PollTimers(kT0 + 240 * kSec);
  ASSERT_TRUE(fired.has_value());
  EXPECT_EQ(fired->to, S::kIdle);
  EXPECT_EQ(fired->send_notification, N(4, 0));
}

TEST(BgpFsmBfdTest, WaitForBfdUpAlreadyUpIsTheNormalPath) {
  FsmConfig config;
  config.wait_for_bfd_up = true;
  Fsm fsm(config);
  fsm.Handle(E::kBfdUp, kT0);
  fsm.Handle(E::kManualStart, kT0);
  fsm.Handle(E::kTcpConnectionConfirmed, kT0);
  FsmActions a = fsm.Handle(E::kBgpOpen, kT0, ArgsFor(E::kBgpOpen));
  EXPECT_EQ(a.to, S::kOpenConfirm);
  EXPECT_TRUE(a.send_keepalive);
}

TEST(BgpFsmBfdTest, WaitForBfdUpWithDelayOpen) {
  FsmConfig config;
  config.wait_for_bfd_up = true;
  config.delay_open = true;
  Fsm fsm(config);
  fsm.Handle(E::kManualStart, kT0);
  fsm.Handle(E::kTcpConnectionConfirmed, kT0);
  FsmActions a = fsm.Handle(E::kBgpOpen, kT0 + kSec, ArgsFor(E::kBgpOpen));
  EXPECT_EQ(a.to, S::kOpenSent);
  EXPECT_TRUE(a.send_open);
  EXPECT_FALSE(a.send_keepalive);
  EXPECT_EQ(a.timers.delay_open, kNever);
  a = fsm.Handle(E::kBfdUp, kT0 + 2 * kSec);
  EXPECT_EQ(a.to, S::kOpenConfirm);
  EXPECT_TRUE(a.send_keepalive);
}

TEST(BgpFsmCounterTest, ConnectRetryCounterAndIdleHoldBackoff) {
  Fsm fsm;  // idle_hold_time 5 s, max 120 s.
  fsm.Handle(E::kManualStartWithPassiveTcpEstablishment, kT0);
  int64_t now = kT0;
  const int64_t expected_hold_s[] = {5, 10, 20, 40, 80, 120, 120};
  uint32_t expected_counter = 0;
  for (int64_t hold_s : expected_hold_s) {
    // A counted failure (the peer's NOTIFICATION in Active/Connect).
    FsmActions a = fsm.Handle(E::kNotifMsg, now, ArgsFor(E::kNotifMsg));
    ++expected_counter;
    EXPECT_EQ(a.to, S::kIdle);
    EXPECT_EQ(fsm.connect_retry_counter(), expected_counter);
    EXPECT_EQ(a.timers.idle_hold, now + hold_s * kSec);
    // AutomaticStart is ignored while the IdleHoldTimer runs.
    a = fsm.Handle(E::kAutomaticStart, now + kSec);
    EXPECT_EQ(a.to, S::kIdle);
    now += hold_s * kSec;
    std::optional<FsmActions> fired = fsm.PollTimers(now);
    ASSERT_TRUE(fired.has_value());
    EXPECT_EQ(fired->to, S::kConnect);  // Not passive by configuration.
    EXPECT_EQ(fsm.connect_retry_counter(), expected_counter);
  }
  EXPECT_EQ(fsm.counters().last_notification_received, N(6, 2));
  // ManualStop resets the counter and the back-off.
  FsmActions a = fsm.Handle(E::kManualStop, now);
  EXPECT_EQ(fsm.connect_retry_counter(), 0u);
  EXPECT_EQ(a.timers.idle_hold, kNever);
  EXPECT_EQ(fsm.NextIdleHoldNs(), 5 * kSec);
}

TEST(BgpFsmCounterTest, StableSessionForgivesBackoff) {
  Fsm fsm = FsmIn(S::kEstablished);
  fsm.Handle(E::kHoldTimerExpires, kT0 + 90 * kSec);  // Short-lived: back-off grows.
  EXPECT_EQ(fsm.NextIdleHoldNs(), 10 * kSec);
  int64_t now = fsm.timers().idle_hold;
  fsm.PollTimers(now);
  fsm.Handle(E::kTcpConnectionConfirmed, now);
  fsm.Handle(E::kBgpOpen, now, ArgsFor(E::kBgpOpen));
  fsm.Handle(E::kKeepAliveMsg, now);
  EXPECT_EQ(fsm.counters().established_transitions, 2u);
  now += 400 * kSec;
  FsmActions a = fsm.Handle(E::kNotifMsg, now, ArgsFor(E::kNotifMsg));
  EXPECT_EQ(a.timers.idle_hold, now + 5 * kSec);
}

TEST(BgpFsmCounterTest, AutomaticStopCeaseSubcodeFromArgs) {
  Fsm fsm = FsmIn(S::kEstablished);
  FsmEventArgs args;
  args.error = {kErrCease, kCeaseMaxPrefixes};
  FsmActions a = fsm.Handle(E::kAutomaticStop, kT0 + kSec, args);
  EXPECT_EQ(a.send_notification, N(6, 1));
}

}  // namespace
}  // namespace strobe::bgp
