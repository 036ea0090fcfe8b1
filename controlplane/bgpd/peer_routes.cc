// Peer: the Adj-RIB-In side (UPDATEs into the Loc-RIB, RFC 7606 outcomes, loop detection, import
// policy, graceful-restart stale paths, max-prefix) and the Adj-RIB-Out side (route refresh,
// packed UPDATEs).
#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "controlplane/bgpd/peer.h"
#include "controlplane/bgpd/peer_session.h"
#include "controlplane/bgpd/speaker.h"
#include "src/common/logging.h"

namespace strobe::bgpd {

using bgp::FsmEvent;
using bgp::FsmState;

namespace {

bool PathHasAs(const std::vector<bgp::AsPathSegment>& path, uint32_t asn) {
  for (const bgp::AsPathSegment& s : path) {
    if (std::find(s.asns.begin(), s.asns.end(), asn) != s.asns.end()) return true;
  }
  return false;
}

}  // namespace

// ---- Adj-RIB-In ----

template <typename Visit>
void Peer::ForEachPrefix(const std::vector<bgp::Prefix>& prefixes, Visit visit) const {
  // A table arrives in an order the RIB's hash scatters: each write would wait for two cache
  // misses in the index; prefetching a few prefixes ahead overlaps them. Each prefix is keyed
  // once, kAhead places before its turn.
  constexpr size_t kAhead = bgp::Rib::kPrefetchAhead;
  const bgp::Rib& rib = speaker_->rib();
  std::array<std::optional<bgp::RibPrefix>, kAhead> ahead;
  auto load = [&](size_t i) {
    std::optional<bgp::RibPrefix>& slot = ahead[i % kAhead];
    slot = bgp::RibPrefix::FromWire(prefixes[i]);
    if (slot) rib.Prefetch(*slot);
  };
  for (size_t i = 0; i < std::min(kAhead, prefixes.size()); ++i) load(i);
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const std::optional<bgp::RibPrefix> rp = ahead[i % kAhead];
    if (i + kAhead < prefixes.size()) load(i + kAhead);
    if (rp) visit(*rp, prefixes[i]);
  }
}

void Peer::Announce(const bgp::RibPrefix& prefix, uint32_t path_id,
                    const bgp::RouteAttributes& attributes, const bgp::AttributesRef& shared,
                    std::vector<bgp::RibChange>* changes) {
  bgp::AttributesRef accepted = shared;
  if (accepted == nullptr) {
    bgp::RouteAttributes copy = attributes;
    if (config_.import_policy.Apply(prefix, &copy)) {
      accepted = speaker_->rib().attribute_pool().Intern(std::move(copy));
    }
  }
  speaker_->rib().Announce(source_, prefix, path_id, std::move(accepted), changes);
}

void Peer::OnUpdate(Session* s, const bgp::UpdateDecodeResult& result) {
  (void)s;
  const bgp::Update& u = result.update;
  const bgp::PathAttributes& pa = u.attributes;
  std::vector<bgp::RibChange> changes;

  // End-of-RIB (RFC 4724 §2): IPv4 an empty UPDATE, others an empty MP_UNREACH_NLRI alone.
  const bool empty_v4 = u.withdrawn.empty() && u.nlri.empty();
  if (empty_v4 && pa == bgp::PathAttributes{}) {
    SweepStale(bgp::kIpv4Unicast, "End-of-RIB");
    OnEndOfRib(bgp::kIpv4Unicast);
    return;
  }
  if (empty_v4 && pa.mp_unreach && pa.mp_unreach->withdrawn.empty() && !pa.mp_reach && !pa.origin &&
      !pa.as_path) {
    SweepStale(pa.mp_unreach->afi_safi, "End-of-RIB");
    OnEndOfRib(pa.mp_unreach->afi_safi);
    return;
  }

  auto withdraw = [&](const bgp::RibPrefix& rp, const bgp::Prefix& p) {
    speaker_->rib().Withdraw(source_, rp, p.path_id, &changes);
  };
  ForEachPrefix(u.withdrawn, withdraw);
  if (pa.mp_unreach) ForEachPrefix(pa.mp_unreach->withdrawn, withdraw);

  const bool has_mp = pa.mp_reach && !pa.mp_reach->nlri.empty();
  if (result.action == bgp::UpdateDecodeResult::kTreatAsWithdraw) {
    STROBE_LOG(kWarning,
               "neighbor %s: malformed UPDATE treated as withdraw (RFC 7606), %d prefixes",
               config_.address.ToString(), u.nlri.size() + (has_mp ? pa.mp_reach->nlri.size() : 0));
    ForEachPrefix(u.nlri, withdraw);
    if (has_mp) ForEachPrefix(pa.mp_reach->nlri, withdraw);
  } else if (!u.nlri.empty() || has_mp) {
    if (result.action == bgp::UpdateDecodeResult::kAttributeDiscard) {
      STROBE_LOG(kInfo, "neighbor %s: UPDATE attributes discarded (RFC 7606): %d",
                 config_.address.ToString(), result.discarded_types.size());
    }
    auto process = [&](const std::vector<bgp::Prefix>& prefixes, bgp::NlriField field) {
      const bgp::RouteAttributes attrs =
          bgp::RouteAttributesFromUpdate(pa, field, negotiated_.four_octet_as, ebgp());
      // Loop detection (RFC 4271 §9.1.2): our own AS in the path makes the route unusable.
      const bool loop = PathHasAs(attrs.as_path, speaker_->local_as());
      bgp::AttributesRef shared;
      if (!loop && config_.import_policy.empty()) {
        shared = speaker_->rib().attribute_pool().Intern(attrs);
      }
      ForEachPrefix(prefixes, [&](const bgp::RibPrefix& rp, const bgp::Prefix& p) {
        if (loop) {
          speaker_->rib().Announce(source_, rp, p.path_id, nullptr, &changes);
        } else {
          Announce(rp, p.path_id, attrs, shared, &changes);
        }
      });
    };
    if (!u.nlri.empty()) process(u.nlri, bgp::NlriField::kIpv4);
    if (has_mp) process(pa.mp_reach->nlri, bgp::NlriField::kMpReach);
  }
  speaker_->ApplyRibChanges(changes);
  CheckMaxPrefixes();
}

void Peer::OnEndOfRib(const bgp::AfiSafi& family) {
  if (std::find(end_of_rib_.begin(), end_of_rib_.end(), family) == end_of_rib_.end()) {
    end_of_rib_.push_back(family);
  }
  speaker_->OnEndOfRib();
}

bool Peer::sent_all_routes() const {
  if (!established()) return false;
  for (const bgp::AfiSafi& f : negotiated_.families) {
    if (std::find(end_of_rib_.begin(), end_of_rib_.end(), f) == end_of_rib_.end()) return false;
  }
  return true;
}

void Peer::SweepStale(std::optional<bgp::AfiSafi> family, const char* why) {
  bgp::Rib& rib = speaker_->rib();
  if (rib.stats(source_).stale == 0) return;
  const size_t stale = rib.stats(source_).stale;
  std::vector<bgp::RibChange> changes;
  rib.SweepStale(source_, family, &changes);
  if (stale != rib.stats(source_).stale) {
    STROBE_LOG(kInfo, "neighbor %s: %d stale paths of %s removed (%s)", config_.address.ToString(),
               stale - rib.stats(source_).stale,
               family ? FamilyName(*family) : std::string("every family"), why);
  }
  speaker_->ApplyRibChanges(changes);
  if (rib.stats(source_).stale == 0) gr_timer_.Cancel();
}

void Peer::CheckMaxPrefixes() {
  const uint32_t max = config_.settings.max_prefixes;
  if (max == 0) return;
  if (rib_stats().accepted <= max) {
    max_prefix_warned_ = false;
    return;
  }
  if (config_.settings.max_prefixes_action == config::MaxPrefixAction::kWarning) {
    if (!max_prefix_warned_) {
      STROBE_LOG(kWarning, "neighbor %s: %d prefixes accepted, more than the maximum %d",
                 config_.address.ToString(), rib_stats().accepted, max);
    }
    max_prefix_warned_ = true;
    return;
  }
  STROBE_LOG(kWarning, "neighbor %s: %d prefixes accepted, more than the maximum %d: closing",
             config_.address.ToString(), rib_stats().accepted, max);
  // RFC 4486 §4: AFI, SAFI and the upper bound.
  main_->notification_data = {0,
                              1,
                              1,
                              static_cast<uint8_t>(max >> 24),
                              static_cast<uint8_t>(max >> 16),
                              static_cast<uint8_t>(max >> 8),
                              static_cast<uint8_t>(max)};
  bgp::FsmEventArgs args;
  args.error = {bgp::kErrCease, bgp::kCeaseMaxPrefixes};
  Feed(main_.get(), FsmEvent::kAutomaticStop, args);
}

// ---- route refresh and Adj-RIB-Out ----

void Peer::OnRouteRefresh(Session* s, const bgp::RouteRefresh& rr) {
  if (!negotiated_.Has(rr.afi_safi)) return;  // RFC 2918 §4: ignore unknown families
  switch (rr.subtype) {
    case 0:
      ResendFamily(s, rr.afi_safi);
      break;
    case 1:  // BoRR: the peer re-sends the family; what it does not repeat goes at EoRR.
      if (negotiated_.enhanced_route_refresh) speaker_->rib().MarkStale(source_, rr.afi_safi);
      break;
    case 2:
      if (negotiated_.enhanced_route_refresh) SweepStale(rr.afi_safi, "EoRR");
      break;
    default:
      break;  // RFC 7313 §4: ignored
  }
}

void Peer::ResendFamily(Session* s, bgp::AfiSafi family) {
  FlushUpdates();
  if (negotiated_.enhanced_route_refresh) {
    Send(s, bgp::EncodeRouteRefresh({family, 1}), bgp::MessageType::kRouteRefresh);
  }
  adj_out_.ResendAll(family);
  FlushUpdates();
  if (negotiated_.enhanced_route_refresh) {
    Send(s, bgp::EncodeRouteRefresh({family, 2}), bgp::MessageType::kRouteRefresh);
  } else if (adj_out_.advertised() == 0) {
    // Nothing to repeat; an End-of-RIB tells the peer the refresh is complete anyway.
    Send(s, EndOfRib(family, negotiated_.encode), bgp::MessageType::kUpdate);
  }
}

void Peer::SetExport(const bgp::RibPrefix& prefix, bgp::AttributesRef attributes) {
  adj_out_.Set(prefix, std::move(attributes));
}

void Peer::FlushUpdates() {
  if (!established() || !adj_out_.HasPending()) return;
  std::vector<OutChange> changes = adj_out_.TakePending();
  auto packed = PackUpdates(changes, negotiated_.encode);
  if (!packed.ok()) {
    STROBE_LOG(kError, "neighbor %s: cannot encode UPDATE: %s", config_.address.ToString(),
               std::string(packed.status().message()));
    return;
  }
  for (const std::vector<uint8_t>& m : *packed) Send(main_.get(), m, bgp::MessageType::kUpdate);
  main_->fsm.UpdateSent(loop_->now_ns());
  ArmTimer(main_.get());
}

}  // namespace strobe::bgpd
