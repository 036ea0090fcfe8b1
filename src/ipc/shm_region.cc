#include "src/ipc/shm_region.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"

namespace strobe::ipc {

ShmRegion::~ShmRegion() { Reset(); }

ShmRegion::ShmRegion(ShmRegion&& other) noexcept { *this = std::move(other); }

ShmRegion& ShmRegion::operator=(ShmRegion&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = other.fd_;
    size_ = other.size_;
    header_ = other.header_;
    other.fd_ = -1;
    other.size_ = 0;
    other.header_ = nullptr;
  }
  return *this;
}

void ShmRegion::Reset() {
  if (header_ != nullptr) munmap(header_, size_);
  if (fd_ >= 0) close(fd_);
  header_ = nullptr;
  fd_ = -1;
  size_ = 0;
}

WorkerArea* ShmRegion::worker(uint32_t index) const {
  auto* base = reinterpret_cast<uint8_t*>(header_) + kWorkerAreaOffset;
  return reinterpret_cast<WorkerArea*>(base + static_cast<size_t>(index) * sizeof(WorkerArea));
}

absl::StatusOr<ShmRegion> ShmRegion::Create(uint32_t worker_count, int32_t dataplane_pid) {
  if (worker_count == 0 || worker_count > kMaxRegionWorkers) {
    return absl::InvalidArgumentError(absl::StrCat("bad worker count ", worker_count));
  }
  ShmRegion region;
  region.size_ = RegionSize(worker_count);
  region.fd_ = memfd_create("strobe-dataplane", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (region.fd_ < 0) return absl::InternalError(absl::StrCat("memfd_create: ", strerror(errno)));
  if (ftruncate(region.fd_, static_cast<off_t>(region.size_)) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat("ftruncate: ", strerror(errno)));
  }
  // The size can never change under the other process's mapping.
  fcntl(region.fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  void* p = mmap(nullptr, region.size_, PROT_READ | PROT_WRITE, MAP_SHARED, region.fd_, 0);
  if (p == MAP_FAILED) return absl::InternalError(absl::StrCat("mmap: ", strerror(errno)));
  // A fresh memfd is zero-filled, which is every atomic's initial value; construct the header.
  region.header_ = new (p) RegionHeader();
  RegionHeader& h = *region.header_;
  h.magic = kShmMagic;
  h.layout_version = kLayoutVersion;
  h.worker_count = worker_count;
  uint64_t generation = 0;
  while (generation == 0) {
    if (getrandom(&generation, sizeof(generation), 0) != sizeof(generation)) {
      generation =
          static_cast<uint64_t>(dataplane_pid) << 32 | static_cast<uint32_t>(time(nullptr));
    }
  }
  h.generation = generation;
  h.region_size = region.size_;
  h.ring_records = kRingRecords;
  h.max_sessions_per_worker = kMaxSessionsPerWorker;
  h.dataplane_pid = dataplane_pid;
  return region;
}

absl::StatusOr<ShmRegion> ShmRegion::Attach(int fd) {
  ShmRegion region;
  region.fd_ = fd;
  struct stat st;
  if (fstat(fd, &st) != 0) return absl::InternalError(absl::StrCat("fstat: ", strerror(errno)));
  if (static_cast<size_t>(st.st_size) < sizeof(RegionHeader)) {
    return absl::FailedPreconditionError(
        absl::StrCat("shared memory region of ", st.st_size, " bytes is too small for a header"));
  }
  region.size_ = static_cast<size_t>(st.st_size);
  void* p = mmap(nullptr, region.size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return absl::InternalError(absl::StrCat("mmap: ", strerror(errno)));
  region.header_ = static_cast<RegionHeader*>(p);
  const RegionHeader& h = *region.header_;
  if (h.magic != kShmMagic) {
    return absl::FailedPreconditionError("the shared memory region is not a Strobe region (magic)");
  }
  if (h.layout_version != kLayoutVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the dataplane speaks shared-memory layout version ", h.layout_version,
        ", this program version ", kLayoutVersion, ": upgrade both processes together"));
  }
  if (h.worker_count == 0 || h.worker_count > kMaxRegionWorkers || h.ring_records != kRingRecords ||
      h.max_sessions_per_worker != kMaxSessionsPerWorker || h.region_size != region.size_ ||
      region.size_ != RegionSize(h.worker_count)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the shared memory region's geometry does not match this build (",
                     h.worker_count, " workers, ", h.region_size, " bytes)"));
  }
  return region;
}

}  // namespace strobe::ipc
