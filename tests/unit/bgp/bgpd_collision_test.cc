// RFC 4271 §6.8 connection collision resolution (strobe-bgpd's collision.h).
#include "controlplane/bgpd/collision.h"
#include "gtest/gtest.h"

namespace strobe::bgpd {
namespace {

using bgp::FsmState;

CollisionInput Input(bool this_outgoing, std::optional<FsmState> other, bool other_outgoing,
                     uint32_t local_id, uint32_t remote_id) {
  CollisionInput in;
  in.this_outgoing = this_outgoing;
  in.other_state = other;
  in.other_outgoing = other_outgoing;
  in.local_id = local_id;
  in.remote_id = remote_id;
  in.local_as = 64512;
  in.remote_as = 64513;
  return in;
}

TEST(CollisionTest, NoOtherConnectionIsNoCollision) {
  EXPECT_EQ(ResolveCollision(Input(true, std::nullopt, false, 1, 2)), CollisionOutcome::kNone);
}

TEST(CollisionTest, OnlyOpenConfirmAndEstablishedCollide) {
  for (FsmState s : {FsmState::kIdle, FsmState::kConnect, FsmState::kActive, FsmState::kOpenSent}) {
    EXPECT_EQ(ResolveCollision(Input(false, s, true, 1, 2)), CollisionOutcome::kNone)
        << bgp::FsmStateName(s);
  }
}

TEST(CollisionTest, EstablishedKeepsTheExistingConnection) {
  EXPECT_EQ(ResolveCollision(Input(false, FsmState::kEstablished, true, 9, 1)),
            CollisionOutcome::kDumpThis);
  EXPECT_EQ(ResolveCollision(Input(true, FsmState::kEstablished, false, 1, 9)),
            CollisionOutcome::kDumpThis);
}

// Rows: which side's identifier is higher x which connection received the OPEN.
TEST(CollisionTest, HigherIdentifierKeepsTheConnectionItInitiated) {
  struct Row {
    uint32_t local_id, remote_id;
    bool this_outgoing;
    CollisionOutcome want;
  };
  const Row rows[] = {
      // We are higher: keep ours (outgoing), close the one the peer initiated.
      {0xC6120002, 0xC6120001, true, CollisionOutcome::kDumpOther},
      {0xC6120002, 0xC6120001, false, CollisionOutcome::kDumpThis},
      // The peer is higher: keep its connection (incoming), close ours.
      {0xC6120001, 0xC6120002, true, CollisionOutcome::kDumpThis},
      {0xC6120001, 0xC6120002, false, CollisionOutcome::kDumpOther},
      // Compared as unsigned integers: 200.0.0.1 > 10.0.0.1.
      {0xC8000001, 0x0A000001, true, CollisionOutcome::kDumpOther},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(ResolveCollision(Input(r.this_outgoing, FsmState::kOpenConfirm, !r.this_outgoing,
                                     r.local_id, r.remote_id)),
              r.want)
        << std::hex << r.local_id << " vs " << r.remote_id << " outgoing=" << r.this_outgoing;
  }
}

TEST(CollisionTest, EqualIdentifiersCompareAsNumbers) {  // RFC 6286 §2.3
  CollisionInput in = Input(true, FsmState::kOpenConfirm, false, 7, 7);
  in.local_as = 65000;
  in.remote_as = 64000;
  EXPECT_EQ(ResolveCollision(in), CollisionOutcome::kDumpOther);  // we are larger: keep ours
  in.local_as = 64000;
  in.remote_as = 65000;
  EXPECT_EQ(ResolveCollision(in), CollisionOutcome::kDumpThis);
}

TEST(CollisionTest, TwoConnectionsFromTheSameSideDropTheNewOne) {
  EXPECT_EQ(ResolveCollision(Input(false, FsmState::kOpenConfirm, false, 1, 2)),
            CollisionOutcome::kDumpThis);
}

}  // namespace
}  // namespace strobe::bgpd
