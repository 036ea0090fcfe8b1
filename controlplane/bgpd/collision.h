// BGP connection collision detection and resolution (RFC 4271 §6.8, RFC 6286 §2.3). Pure logic.
#ifndef STROBE_CONTROLPLANE_BGPD_COLLISION_H_
#define STROBE_CONTROLPLANE_BGPD_COLLISION_H_

#include <cstdint>
#include <optional>

#include "controlplane/bgp/fsm.h"

namespace strobe::bgpd {

enum class CollisionOutcome : uint8_t {
  kNone,       // no collision: process the OPEN
  kDumpThis,   // close the connection that received the OPEN (Cease/7)
  kDumpOther,  // close the other connection (Cease/7), then process the OPEN
};

struct CollisionInput {
  bool this_outgoing = false;                // the connection that just received an OPEN
  std::optional<bgp::FsmState> other_state;  // the neighbor's other connection, if any
  bool other_outgoing = false;
  uint32_t local_id = 0;  // BGP Identifiers in host byte order
  uint32_t remote_id = 0;
  uint32_t local_as = 0;
  uint32_t remote_as = 0;
};

// A collision exists when the other connection is in OpenConfirm (the only state where its
// peer's identifier is known from the protocol) or Established (CollisionDetectEstablishedState
// is FALSE: the new connection loses). Otherwise the connection initiated by the speaker with the
// higher BGP Identifier is kept; equal identifiers (RFC 6286) compare AS numbers.
CollisionOutcome ResolveCollision(const CollisionInput& in);

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_COLLISION_H_
