#ifndef STROBE_SRC_IPC_SHM_REGION_H_
#define STROBE_SRC_IPC_SHM_REGION_H_

// The shared-memory region itself: created by the dataplane as a sealed memfd, mapped by the
// control plane from the fd it receives. Attaching checks magic, layout version and size, so a
// mismatched or stale peer is refused with a clear error.

#include <cstdint>

#include "absl/status/statusor.h"
#include "src/ipc/shm_layout.h"

namespace strobe::ipc {

class ShmRegion {
 public:
  ShmRegion() = default;
  ~ShmRegion();
  ShmRegion(ShmRegion&& other) noexcept;
  ShmRegion& operator=(ShmRegion&& other) noexcept;
  ShmRegion(const ShmRegion&) = delete;
  ShmRegion& operator=(const ShmRegion&) = delete;

  // Dataplane side: a new region for `worker_count` workers with a fresh random generation.
  static absl::StatusOr<ShmRegion> Create(uint32_t worker_count, int32_t dataplane_pid);
  // Control-plane side: maps `fd` (taking ownership) after validating the header.
  static absl::StatusOr<ShmRegion> Attach(int fd);

  RegionHeader* header() const { return header_; }
  WorkerArea* worker(uint32_t index) const;
  uint32_t worker_count() const { return header_->worker_count; }
  uint64_t generation() const { return header_->generation; }
  int fd() const { return fd_; }
  size_t size() const { return size_; }

 private:
  void Reset();

  int fd_ = -1;
  size_t size_ = 0;
  RegionHeader* header_ = nullptr;
};

}  // namespace strobe::ipc

#endif  // STROBE_SRC_IPC_SHM_REGION_H_
