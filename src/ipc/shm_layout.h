#ifndef STROBE_SRC_IPC_SHM_LAYOUT_H_
#define STROBE_SRC_IPC_SHM_LAYOUT_H_

// The shared-memory region between strobe-dataplane and its control-plane client (a memfd the
// dataplane creates and passes over its control socket). Everything here is standard layout and
// fixed size; a change of layout bumps kLayoutVersion so a mismatched peer is refused.
//
//   RegionHeader
//   WorkerArea[worker_count]:
//     events ring    (producer: the worker; consumer: the control plane)
//     commands ring  (producer: the control plane; consumer: the worker)
//     dirty bitmap + overflow flag (events that did not fit in the events ring)
//     session table  (current state of every session slot, seqlock per entry)

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace strobe::ipc {

inline constexpr uint64_t kShmMagic = 0x5354524f42453031ULL;  // "STROBE01"
inline constexpr uint32_t kLayoutVersion = 1;
inline constexpr uint32_t kRingRecords = 4096;            // per ring, a power of two
inline constexpr uint32_t kMaxSessionsPerWorker = 16384;  // session table slots per worker
inline constexpr int kMaxRegionWorkers = 16;
inline constexpr size_t kCacheLineBytes = 64;

// Indices of one single-producer/single-consumer ring. Producer and consumer each own a cache
// line; `consumer_sleeping` tells the producer to ring the doorbell (an eventfd) after publishing.
struct RingIndices {
  alignas(kCacheLineBytes) std::atomic<uint64_t> head;  // written by the producer only
  alignas(kCacheLineBytes) std::atomic<uint64_t> tail;  // written by the consumer only
  alignas(kCacheLineBytes) std::atomic<uint32_t> consumer_sleeping;
};

enum class EventType : uint16_t {
  kNone = 0,
  kStateChange = 1,     // a session changed state
  kSessionCreated = 2,  // answers kCreate (status 0), also for an existing session (adopted)
  kSessionDeleted = 3,  // answers kDelete
  kCommandResult = 4,   // answers kModify, or any command that failed (status != 0)
  kCountersEpoch = 5,   // the per-session counters in the table were refreshed
};

struct EventRecord {
  EventType type;
  uint8_t old_state;  // bfd::State values
  uint8_t new_state;
  uint8_t local_diag;
  uint8_t remote_diag;
  uint8_t multihop;
  uint8_t adopted;      // kSessionCreated: the session already existed
  uint32_t session_id;  // the local discriminator
  int32_t status;       // absl::StatusCode of a command, 0 = OK
  uint64_t request_id;
  int64_t timestamp_ns;          // CLOCK_MONOTONIC of the change in the dataplane
  int64_t detection_latency_ns;  // for a Down by detection timeout
  uint64_t up_transitions;
  uint64_t down_transitions;
  uint8_t peer[16];  // IPv4 in the first 4 bytes when family == 4
  uint8_t local[16];
  char interface[16];
  uint8_t family;  // 4 or 6
  uint8_t reserved[23];
};
static_assert(sizeof(EventRecord) == 128);

enum class CommandType : uint16_t { kNone = 0, kCreate = 1, kModify = 2, kDelete = 3 };

// Which fields of a kModify apply.
enum ModifyFields : uint8_t {
  kModifyTimers = 1u << 0,
  kModifyAdmin = 1u << 1,
  kModifyAuth = 1u << 2,
};

struct CommandRecord {
  CommandType type;
  uint8_t multihop;
  uint8_t family;  // 4 or 6
  uint8_t passive;
  uint8_t admin_down;
  uint8_t detect_mult;
  uint8_t modify_fields;  // ModifyFields, for kModify
  uint32_t session_id;    // kModify / kDelete
  uint32_t desired_min_tx_us;
  uint64_t request_id;
  uint32_t required_min_rx_us;
  uint8_t auth_type;  // bfd::AuthType, 0 = none
  uint8_t auth_key_id;
  uint8_t secret_len;
  uint8_t reserved0;
  uint8_t peer[16];
  uint8_t local[16];
  char interface[16];
  uint8_t secret[20];  // the memfd is shared by the two processes only; never logged
  uint8_t reserved[28];
};
static_assert(sizeof(CommandRecord) == 128);

// The current state of one session slot. Written only by the owning worker under a seqlock
// (`seq` odd while writing); the payload is copied in 8-byte words so readers never tear a word.
struct SessionStatusPayload {
  uint32_t session_id;  // 0: the slot is free
  uint8_t state;
  uint8_t remote_state;
  uint8_t local_diag;
  uint8_t remote_diag;
  uint8_t multihop;
  uint8_t family;
  uint8_t configured;  // from the configuration file, not created by a client
  uint8_t reserved[5];
  uint64_t up_transitions;
  uint64_t down_transitions;
  int64_t last_change_ns;
  int64_t detection_latency_ns;
  uint64_t rx_packets;
  uint64_t tx_packets;
  uint8_t peer[16];
  uint8_t local[16];
  char interface[16];
};
static_assert(sizeof(SessionStatusPayload) % 8 == 0);

struct SessionStatus {
  std::atomic<uint64_t> seq;
  std::atomic<uint64_t> words[sizeof(SessionStatusPayload) / 8];
};

struct alignas(kCacheLineBytes) WorkerArea {
  RingIndices events;
  RingIndices commands;
  alignas(kCacheLineBytes) std::atomic<uint32_t> overflow;  // set after a dirty bit
  alignas(kCacheLineBytes) std::atomic<uint64_t> dirty[kMaxSessionsPerWorker / 64];
  alignas(kCacheLineBytes) EventRecord event_slots[kRingRecords];
  CommandRecord command_slots[kRingRecords];
  SessionStatus table[kMaxSessionsPerWorker];
};

struct alignas(kCacheLineBytes) RegionHeader {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t worker_count;
  uint64_t generation;  // random, new at every dataplane start
  uint64_t region_size;
  uint32_t ring_records;
  uint32_t max_sessions_per_worker;
  int32_t dataplane_pid;
  uint32_t reserved;
  std::atomic<int64_t> heartbeat_ns;  // CLOCK_MONOTONIC, refreshed by the dataplane
  std::atomic<uint32_t> consumer_attached;
};

inline constexpr size_t kWorkerAreaOffset =
    (sizeof(RegionHeader) + kCacheLineBytes - 1) / kCacheLineBytes * kCacheLineBytes;

inline constexpr size_t RegionSize(uint32_t worker_count) {
  return kWorkerAreaOffset + static_cast<size_t>(worker_count) * sizeof(WorkerArea);
}

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

}  // namespace strobe::ipc

#endif  // STROBE_SRC_IPC_SHM_LAYOUT_H_
