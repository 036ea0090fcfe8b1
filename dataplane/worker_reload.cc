// A worker's side of a configuration reload: its share of the file's [[bfd.session]] tables is
// brought to what the new file says, touching only what differs. An unchanged session is not
// even looked at twice: its timers, packets and discriminator go on as if nothing happened.

#include "dataplane/worker.h"
#include "dataplane/worker_slot.h"
#include "src/common/clock.h"
#include "src/common/logging.h"

namespace strobe::dataplane {
namespace {

nlohmann::json KeyJson(const ipc::SessionKey& key) {
  nlohmann::json j = {{"peer", key.peer.ToString()}, {"local", key.local.ToString()}};
  if (!key.multihop) j["interface"] = key.interface;
  j["multihop"] = key.multihop;
  return j;
}

}  // namespace

void Worker::ReconcileConfigured(const std::vector<SessionSpec>& wanted, ReloadResult* result) {
  const int64_t now = MonotonicNowNs();
  absl::flat_hash_set<ipc::SessionKey> keep;
  for (const SessionSpec& spec : wanted) {
    keep.insert(spec.key);
    auto it = by_key_.find(spec.key);
    if (it == by_key_.end()) {
      absl::StatusOr<uint32_t> id = CreateSession(spec);
      if (id.ok()) {
        result->added.push_back(KeyJson(spec.key));
      } else {
        result->errors.push_back(std::string(id.status().message()));
      }
      continue;
    }
    Slot& slot = *it->second;
    const bfd::SessionParams& have = slot.session.params();
    const bfd::SessionParams& want = spec.params;
    if (have.passive != want.passive) {
      // Passive only matters before the first packet: the session starts over with it.
      Apply(slot, slot.session.SetAdminDown(true, now), now);
      Transmit(slot, now);
      DeleteSlot(slot);
      absl::StatusOr<uint32_t> id = CreateSession(spec);
      if (id.ok()) {
        result->changed.push_back(KeyJson(spec.key));
      } else {
        result->errors.push_back(std::string(id.status().message()));
      }
      continue;
    }
    bool changed = false;
    if (have.desired_min_tx_us != want.desired_min_tx_us ||
        have.required_min_rx_us != want.required_min_rx_us ||
        have.detect_mult != want.detect_mult) {
      // A Poll Sequence when Up (RFC 5880 section 6.8.3): the peer agrees before it applies.
      Apply(slot,
            slot.session.SetTimers(want.desired_min_tx_us, want.required_min_rx_us,
                                   want.detect_mult, now),
            now);
      changed = true;
    }
    if (have.auth != want.auth) {
      slot.session.SetAuth(want.auth);
      XdpForget(slot);  // authenticated packets are never steady state
      changed = true;
    }
    if (have.admin_down != want.admin_down) {
      Apply(slot, slot.session.SetAdminDown(want.admin_down, now), now);
      changed = true;
    }
    if (!slot.spec.configured || slot.spec.profile_name != spec.profile_name) changed = true;
    slot.spec.configured = true;
    slot.spec.profile_name = spec.profile_name;
    if (changed) {
      WriteTable(slot);
      result->changed.push_back(KeyJson(spec.key));
    } else {
      ++result->unchanged;
    }
  }
  // Configured sessions the file no longer has: AdminDown to the peer (section 6.8.16), then
  // gone. Sessions a client (strobe-bgpd) created are not the file's to remove.
  std::vector<Slot*> removed;
  for (auto& slot : slots_) {
    if (slot && slot->spec.configured && !keep.contains(slot->spec.key)) removed.push_back(&*slot);
  }
  for (Slot* slot : removed) {
    result->removed.push_back(KeyJson(slot->spec.key));
    Apply(*slot, slot->session.SetAdminDown(true, now), now);
    Transmit(*slot, now);
    ipc::EventRecord e = EventFor(*slot, ipc::EventType::kSessionDeleted);
    const uint32_t index = slot->index;
    DeleteSlot(*slot);
    Emit(e, index);
  }
  FlushAfXdp();
}

}  // namespace strobe::dataplane
