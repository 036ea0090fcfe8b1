// The worker's side of the shared-memory region: commands from the control plane, events to
// it, and the session table it can read at any time (src/ipc/shm_layout.h).

#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "dataplane/worker.h"
#include "dataplane/worker_slot.h"
#include "src/common/clock.h"
#include "src/common/logging.h"
#include "src/ipc/session_table.h"

namespace strobe::dataplane {
namespace {

constexpr int64_t kCountersEpochNs = kNsPerSec;

void CopyKey(const ipc::SessionKey& key, uint8_t* peer, uint8_t* local, char* interface,
             uint8_t* family) {
  std::memcpy(peer, key.peer.bytes().data(), 16);
  std::memcpy(local, key.local.bytes().data(), 16);
  std::memset(interface, 0, 16);
  std::memcpy(interface, key.interface.data(), std::min<size_t>(key.interface.size(), 15));
  *family = key.peer.is_v4() ? 4 : 6;
}

std::optional<bfd::AuthKey> AuthFrom(const ipc::CommandRecord& c) {
  if (c.auth_type == 0) return std::nullopt;
  return bfd::AuthKey{static_cast<bfd::AuthType>(c.auth_type), c.auth_key_id,
                      std::string(reinterpret_cast<const char*>(c.secret), c.secret_len)};
}

}  // namespace

void Worker::AttachShm(ipc::WorkerArea* area, int events_doorbell_fd) {
  area_ = area;
  events_ = ipc::ShmRingProducer<ipc::EventRecord>(&area->events, area->event_slots,
                                                   ipc::kRingRecords, events_doorbell_fd);
  commands_ = ipc::ShmRingConsumer<ipc::CommandRecord>(&area->commands, area->command_slots,
                                                       ipc::kRingRecords);
  for (const auto& slot : slots_) {
    if (slot) WriteTable(*slot);
  }
}

void Worker::WriteTable(const Slot& slot) {
  if (area_ == nullptr) return;
  const bfd::Session& s = slot.session;
  ipc::SessionStatusPayload p{};
  p.session_id = s.local_discriminator();
  p.state = static_cast<uint8_t>(s.state());
  p.remote_state = static_cast<uint8_t>(s.remote_state());
  p.local_diag = static_cast<uint8_t>(s.local_diag());
  p.remote_diag = static_cast<uint8_t>(s.remote_diag());
  p.multihop = slot.spec.key.multihop;
  p.configured = slot.spec.configured;
  p.up_transitions = s.counters().up_transitions;
  p.down_transitions = s.counters().down_transitions;
  p.last_change_ns = s.last_state_change_ns();
  p.detection_latency_ns = slot.last_detection_latency_ns;
  p.rx_packets = s.counters().rx_packets;
  p.tx_packets = s.counters().tx_packets;
  CopyKey(slot.spec.key, p.peer, p.local, p.interface, &p.family);
  ipc::WriteSessionStatus(&area_->table[slot.index], p);
}

void Worker::ClearTable(uint32_t index) {
  if (area_ == nullptr) return;
  ipc::WriteSessionStatus(&area_->table[index], ipc::SessionStatusPayload{});
}

ipc::EventRecord Worker::EventFor(const Slot& slot, ipc::EventType type) const {
  const bfd::Session& s = slot.session;
  ipc::EventRecord e{};
  e.type = type;
  e.old_state = static_cast<uint8_t>(s.last_transition().old_state);
  e.new_state = static_cast<uint8_t>(s.state());
  e.local_diag = static_cast<uint8_t>(s.local_diag());
  e.remote_diag = static_cast<uint8_t>(s.remote_diag());
  e.multihop = slot.spec.key.multihop;
  e.session_id = s.local_discriminator();
  e.timestamp_ns =
      type == ipc::EventType::kStateChange ? s.last_transition().at_ns : MonotonicNowNs();
  e.detection_latency_ns = s.last_transition().detection_latency_ns;
  e.up_transitions = s.counters().up_transitions;
  e.down_transitions = s.counters().down_transitions;
  CopyKey(slot.spec.key, e.peer, e.local, e.interface, &e.family);
  return e;
}

// Nothing is ever lost: an event that does not fit marks its session dirty; the consumer, seeing
// the overflow flag, reads those sessions from the table (with their transition counters, so a
// flap in between still shows).
void Worker::Emit(const ipc::EventRecord& event, int64_t table_index) {
  if (area_ == nullptr) return;
  if (events_.Push(event)) {
    ++counters_.events_published;
    return;
  }
  ++counters_.events_overflowed;
  if (table_index >= 0) {
    // Release: a consumer that takes this bit (acquire) before seeing the flag below must still
    // see the table entry written before it.
    area_->dirty[table_index / 64].fetch_or(uint64_t{1} << (table_index % 64),
                                            std::memory_order_release);
  }
  area_->overflow.store(1, std::memory_order_release);
}

// Every session's table entry is rewritten once per epoch, spread over the epoch in proportion
// to the time elapsed, so 10,000 sessions never hold the worker for a millisecond at once (a
// 3.3 ms session tolerates little more). The epoch event follows the last entry. (At most
// 16,384 slots times 1e9 ns: the product fits in 64 bits.)
void Worker::RefreshCounters(int64_t now_ns) {
  if (counters_epoch_start_ns_ == 0) counters_epoch_start_ns_ = now_ns;
  const int64_t elapsed = std::min(now_ns - counters_epoch_start_ns_, kCountersEpochNs);
  const size_t target =
      static_cast<size_t>(static_cast<int64_t>(slots_.size()) * elapsed / kCountersEpochNs);
  for (; counters_cursor_ < std::min(target, slots_.size()); ++counters_cursor_) {
    if (const auto& slot = slots_[counters_cursor_]) WriteTable(*slot);
  }
  if (elapsed < kCountersEpochNs) return;
  counters_cursor_ = 0;
  counters_epoch_start_ns_ = now_ns;
  ipc::EventRecord e{};
  e.type = ipc::EventType::kCountersEpoch;
  e.timestamp_ns = now_ns;
  Emit(e, -1);
}

void Worker::ProcessCommands() {
  // Bounded per turn: a create opens and binds a socket (tens of microseconds), and a client
  // registering a thousand sessions at once must not hold the wheel off the sessions already
  // Up for longer than a fraction of a millisecond. What is left waits for the next turn, which
  // comes at once (the ring is not empty, so the worker does not sleep).
  constexpr int kMaxCommandsPerTurn = 32;
  ipc::CommandRecord command;
  bool any = false;
  for (int n = 0; n < kMaxCommandsPerTurn && commands_.Pop(&command); ++n) {
    any = true;
    ++counters_.commands;
    ExecuteCommand(command);
  }
  if (any) commands_.Release();
}

void Worker::ExecuteCommand(const ipc::CommandRecord& c) {
  const int64_t now = MonotonicNowNs();
  ipc::EventRecord reply{};
  reply.type = ipc::EventType::kCommandResult;
  reply.request_id = c.request_id;
  reply.session_id = c.session_id;
  auto fail = [&](absl::StatusCode code, std::string_view why) {
    STROBE_LOG(kWarning, "worker %d: command %d (request %d) refused: %s", index_,
               static_cast<int>(c.type), c.request_id, why);
    reply.status = static_cast<int32_t>(code);
    Emit(reply, -1);
  };

  if (c.type == ipc::CommandType::kCreate) {
    if ((c.family != 4 && c.family != 6) || c.detect_mult == 0 || c.desired_min_tx_us == 0 ||
        c.required_min_rx_us == 0 || c.secret_len > 20) {
      return fail(absl::StatusCode::kInvalidArgument, "malformed create");
    }
    SessionSpec spec;
    spec.key.peer = net::IpAddress::FromBytes(c.peer, c.family);
    spec.key.local = net::IpAddress::FromBytes(c.local, c.family);
    spec.key.multihop = c.multihop != 0;
    if (!spec.key.multihop) spec.key.interface = std::string(c.interface, strnlen(c.interface, 16));
    if (ipc::OwnerWorker(spec.key, worker_count_) != index_) {
      return fail(absl::StatusCode::kInvalidArgument, "session sent to the wrong worker");
    }
    spec.profile_name = "client";
    spec.params.desired_min_tx_us = c.desired_min_tx_us;
    spec.params.required_min_rx_us = c.required_min_rx_us;
    spec.params.detect_mult = c.detect_mult;
    spec.params.passive = c.passive != 0;
    spec.params.admin_down = c.admin_down != 0;
    if (c.auth_type != 0) {
      spec.params.auth =
          bfd::AuthKey{static_cast<bfd::AuthType>(c.auth_type), c.auth_key_id,
                       std::string(reinterpret_cast<const char*>(c.secret), c.secret_len)};
    }
    auto existing = by_key_.find(spec.key);
    if (existing != by_key_.end()) {
      // A restarted client registering again: adopt the session without disturbing it, only
      // applying timers that differ (which starts a Poll Sequence, as any timer change does).
      Slot& slot = *existing->second;
      const bfd::SessionParams& p = slot.session.params();
      if (p.desired_min_tx_us != c.desired_min_tx_us ||
          p.required_min_rx_us != c.required_min_rx_us || p.detect_mult != c.detect_mult) {
        Apply(slot,
              slot.session.SetTimers(c.desired_min_tx_us, c.required_min_rx_us, c.detect_mult, now),
              now);
      }
      if (p.auth != spec.params.auth) slot.session.SetAuth(spec.params.auth);
      ipc::EventRecord e = EventFor(slot, ipc::EventType::kSessionCreated);
      e.request_id = c.request_id;
      e.adopted = 1;
      return Emit(e, slot.index);
    }
    absl::StatusOr<uint32_t> id = CreateSession(spec);
    if (!id.ok()) return fail(id.status().code(), std::string(id.status().message()));
    const Slot& created = *by_discriminator_[*id];
    ipc::EventRecord e = EventFor(created, ipc::EventType::kSessionCreated);
    e.request_id = c.request_id;
    return Emit(e, created.index);
  }

  Slot* slot = FindByDiscriminator(c.session_id);
  if (slot == nullptr) return fail(absl::StatusCode::kNotFound, "no such session");
  if (c.type == ipc::CommandType::kModify) {
    if (c.modify_fields & ipc::kModifyTimers) {
      if (c.detect_mult == 0 || c.desired_min_tx_us == 0 || c.required_min_rx_us == 0) {
        return fail(absl::StatusCode::kInvalidArgument, "malformed timers");
      }
      Apply(*slot,
            slot->session.SetTimers(c.desired_min_tx_us, c.required_min_rx_us, c.detect_mult, now),
            now);
    }
    if (c.modify_fields & ipc::kModifyAdmin) {
      Apply(*slot, slot->session.SetAdminDown(c.admin_down != 0, now), now);
    }
    if (c.modify_fields & ipc::kModifyAuth) {
      if (c.auth_type > static_cast<uint8_t>(bfd::AuthType::kMeticulousKeyedSha1) ||
          c.secret_len > 20) {
        return fail(absl::StatusCode::kInvalidArgument, "malformed authentication");
      }
      slot->session.SetAuth(AuthFrom(c));
    }
    reply.new_state = static_cast<uint8_t>(slot->session.state());
    return Emit(reply, -1);
  }
  if (c.type == ipc::CommandType::kDelete) {
    if (slot->spec.configured) {
      return fail(absl::StatusCode::kFailedPrecondition,
                  "the session is in the configuration file");
    }
    // Tell the peer this is administrative, not a failure (section 6.8.16), then forget it.
    Apply(*slot, slot->session.SetAdminDown(true, now), now);
    Transmit(*slot, now);
    ipc::EventRecord e = EventFor(*slot, ipc::EventType::kSessionDeleted);
    e.request_id = c.request_id;
    const uint32_t index = slot->index;
    DeleteSlot(*slot);
    return Emit(e, index);  // overflowed: the cleared table entry tells the consumer
  }
  fail(absl::StatusCode::kInvalidArgument, "unknown command type");
}

}  // namespace strobe::dataplane
