#include "controlplane/bgpd/collision.h"

namespace strobe::bgpd {

CollisionOutcome ResolveCollision(const CollisionInput& in) {
  if (!in.other_state.has_value()) return CollisionOutcome::kNone;
  if (*in.other_state == bgp::FsmState::kEstablished) return CollisionOutcome::kDumpThis;
  if (*in.other_state != bgp::FsmState::kOpenConfirm) return CollisionOutcome::kNone;
  // Two connections initiated by the same side cannot be told apart: the newer one goes.
  if (in.this_outgoing == in.other_outgoing) return CollisionOutcome::kDumpThis;
  bool keep_locally_initiated;
  if (in.local_id != in.remote_id) {
    keep_locally_initiated = in.local_id > in.remote_id;
  } else {
    keep_locally_initiated = in.local_as > in.remote_as;
  }
  const bool dump_this = in.this_outgoing != keep_locally_initiated;
  return dump_this ? CollisionOutcome::kDumpThis : CollisionOutcome::kDumpOther;
}

}  // namespace strobe::bgpd
