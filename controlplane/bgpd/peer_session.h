// Internal to Peer (peer.cc, peer_routes.cc, peer_bfd.cc): one connection with its FSM.
#ifndef STROBE_CONTROLPLANE_BGPD_PEER_SESSION_H_
#define STROBE_CONTROLPLANE_BGPD_PEER_SESSION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "controlplane/bgp/fsm.h"
#include "controlplane/bgp/open.h"
#include "controlplane/bgpd/connection.h"
#include "controlplane/bgpd/event_loop.h"
#include "controlplane/bgpd/negotiation.h"
#include "controlplane/bgpd/peer.h"
#include "src/common/logging.h"

// STROBE_LOG with a level chosen at run time.
#define PEER_LOG(level, ...)                                    \
  do {                                                          \
    if ((level) >= ::strobe::GetLogLevel()) {                   \
      ::strobe::LogLine((level), absl::StrFormat(__VA_ARGS__)); \
    }                                                           \
  } while (0)

namespace strobe::bgpd {

struct Peer::Session {
  Session(Peer* peer, const bgp::FsmConfig& config, uint64_t session_id)
      : fsm(config), timer(peer->loop_, [peer, this] { peer->OnTimer(this); }), id(session_id) {}
  bgp::Fsm fsm;
  std::unique_ptr<Connection> connection;
  bool outgoing = false;
  std::optional<bgp::Open> peer_open;
  Negotiated negotiated;
  std::vector<uint8_t> notification_data;  // the data of the next NOTIFICATION we send
  Timer timer;
  uint64_t id;
  bool discarded = false;
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_PEER_SESSION_H_
