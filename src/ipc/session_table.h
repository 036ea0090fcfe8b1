#ifndef STROBE_SRC_IPC_SESSION_TABLE_H_
#define STROBE_SRC_IPC_SESSION_TABLE_H_

// Seqlock access to the shared per-session table (shm_layout.h). One writer per entry (the
// owning worker), any number of readers in the other process; readers retry while a write is in
// progress, so they never see a half-written entry and never block the writer.

#include <atomic>
#include <cstring>

#include "src/ipc/shm_layout.h"

namespace strobe::ipc {

inline void WriteSessionStatus(SessionStatus* entry, const SessionStatusPayload& payload) {
  uint64_t words[sizeof(SessionStatusPayload) / 8];
  std::memcpy(words, &payload, sizeof(words));
  const uint64_t seq = entry->seq.load(std::memory_order_relaxed);
  entry->seq.store(seq + 1, std::memory_order_relaxed);  // odd: writing
  std::atomic_thread_fence(std::memory_order_release);
  for (size_t i = 0; i < std::size(words); ++i) {
    entry->words[i].store(words[i], std::memory_order_relaxed);
  }
  entry->seq.store(seq + 2, std::memory_order_release);
}

// Returns false only if the entry kept changing for `max_tries` attempts.
inline bool ReadSessionStatus(const SessionStatus* entry, SessionStatusPayload* out,
                              int max_tries = 1000) {
  uint64_t words[sizeof(SessionStatusPayload) / 8];
  for (int attempt = 0; attempt < max_tries; ++attempt) {
    const uint64_t before = entry->seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    for (size_t i = 0; i < std::size(words); ++i) {
      words[i] = entry->words[i].load(std::memory_order_relaxed);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (entry->seq.load(std::memory_order_relaxed) == before) {
      std::memcpy(out, words, sizeof(words));
      return true;
    }
  }
  return false;
}

}  // namespace strobe::ipc

#endif  // STROBE_SRC_IPC_SESSION_TABLE_H_
