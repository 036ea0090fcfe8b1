#include "dataplane/af_xdp_tx.h"

#include <errno.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

namespace strobe::dataplane {
namespace {

// The kernel side of each ring index is written by the kernel; acquire/release pair with it.
uint32_t LoadAcquire(uint32_t* p) {
  return std::atomic_ref<uint32_t>(*p).load(std::memory_order_acquire);
}
void StoreRelease(uint32_t* p, uint32_t v) {
  std::atomic_ref<uint32_t>(*p).store(v, std::memory_order_release);
}

bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

absl::Status Errno(absl::string_view what) {
  const int e = errno;
  return absl::Status(absl::ErrnoToStatusCode(e), absl::StrCat(what, ": ", std::strerror(e)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AfXdpTx>> AfXdpTx::Open(const Options& options) {
  std::unique_ptr<AfXdpTx> tx(new AfXdpTx());
  if (absl::Status s = tx->Init(options); !s.ok()) return s;
  return tx;
}

absl::Status AfXdpTx::Init(const Options& o) {
  if (!IsPowerOfTwo(o.frame_count) || !IsPowerOfTwo(o.frame_size) || o.frame_size < 2048 ||
      o.frame_size > static_cast<uint32_t>(sysconf(_SC_PAGESIZE))) {
    return absl::InvalidArgumentError(
        "frame_count and frame_size must be powers of two, "
        "frame_size 2048..page size");
  }
  const unsigned ifindex = if_nametoindex(o.ifname.c_str());
  if (ifindex == 0) return Errno(absl::StrCat("if_nametoindex(", o.ifname, ")"));
  ifindex_ = static_cast<int>(ifindex);
  frame_count_ = o.frame_count;
  frame_size_ = o.frame_size;

  fd_ = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Errno("socket(AF_XDP)");

  umem_len_ = static_cast<size_t>(frame_count_) * frame_size_;
  void* mem = mmap(nullptr, umem_len_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (mem == MAP_FAILED) return Errno("mmap(UMEM)");
  umem_ = static_cast<uint8_t*>(mem);

  xdp_umem_reg reg{};
  reg.addr = reinterpret_cast<uint64_t>(umem_);
  reg.len = umem_len_;
  reg.chunk_size = frame_size_;
  reg.headroom = 0;
  if (setsockopt(fd_, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg)) != 0) {
    return Errno("setsockopt(XDP_UMEM_REG)");
  }
  uint32_t n = frame_count_;
  if (setsockopt(fd_, SOL_XDP, XDP_UMEM_COMPLETION_RING, &n, sizeof(n)) != 0) {
    return Errno("setsockopt(XDP_UMEM_COMPLETION_RING)");
  }
  if (setsockopt(fd_, SOL_XDP, XDP_TX_RING, &n, sizeof(n)) != 0) {
    return Errno("setsockopt(XDP_TX_RING)");
  }

  xdp_mmap_offsets off{};
  socklen_t optlen = sizeof(off);
  if (getsockopt(fd_, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen) != 0) {
    return Errno("getsockopt(XDP_MMAP_OFFSETS)");
  }

  auto map_ring = [&](Ring& r, const xdp_ring_offset& ro, size_t desc_size, off_t pgoff,
                      absl::string_view what) -> absl::Status {
    r.map_len = ro.desc + static_cast<size_t>(n) * desc_size;
    void* m =
        mmap(nullptr, r.map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, pgoff);
    if (m == MAP_FAILED) {
      r.map = nullptr;
      return Errno(what);
    }
    r.map = m;
    auto* base = static_cast<uint8_t*>(m);
    r.producer = reinterpret_cast<uint32_t*>(base + ro.producer);
    r.consumer = reinterpret_cast<uint32_t*>(base + ro.consumer);
    r.flags = reinterpret_cast<uint32_t*>(base + ro.flags);
    r.descs = base + ro.desc;
    r.size = n;
    r.mask = n - 1;
    return absl::OkStatus();
  };
  if (absl::Status s = map_ring(tx_, off.tx, sizeof(xdp_desc), XDP_PGOFF_TX_RING, "mmap(TX)");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = map_ring(cq_, off.cr, sizeof(uint64_t),
                                static_cast<off_t>(XDP_UMEM_PGOFF_COMPLETION_RING), "mmap(CQ)");
      !s.ok()) {
    return s;
  }
  tx_.cached_prod = LoadAcquire(tx_.producer);
  tx_.cached_cons = LoadAcquire(tx_.consumer);
  cq_.cached_cons = LoadAcquire(cq_.consumer);
  cq_.cached_prod = LoadAcquire(cq_.producer);

  sockaddr_xdp sxdp{};
  sxdp.sxdp_family = AF_XDP;
  sxdp.sxdp_ifindex = ifindex;
  sxdp.sxdp_queue_id = o.queue_id;
  // Try TX-only (no fill ring) first; the kernel may insist on a fill ring for an own UMEM.
  bool with_fill = false;
  uint32_t busy_waited_ms = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const bool wakeup = attempt % 2 == 0;
    sxdp.sxdp_flags = XDP_COPY | (wakeup ? XDP_USE_NEED_WAKEUP : 0);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sxdp), sizeof(sxdp)) == 0) {
      need_wakeup_ = wakeup;
      fill_ring_required_ = with_fill;
      break;
    }
    if (errno == EBUSY && busy_waited_ms < o.bind_busy_wait_ms) {
      // The pool of a socket closed on this queue is released by deferred kernel work.
      usleep(10 * 1000);
      busy_waited_ms += 10;
      --attempt;
      continue;
    }
    if (errno != EINVAL || attempt == 3) {
      return Errno(absl::StrCat("bind(AF_XDP ", o.ifname, " queue ", o.queue_id, ")"));
    }
    if (attempt == 1) {
      uint32_t fill = 64;
      if (setsockopt(fd_, SOL_XDP, XDP_UMEM_FILL_RING, &fill, sizeof(fill)) != 0) {
        return Errno("setsockopt(XDP_UMEM_FILL_RING)");
      }
      with_fill = true;
    }
  }

  free_.reserve(frame_count_);
  for (uint32_t i = frame_count_; i-- > 0;) {
    free_.push_back(static_cast<uint64_t>(i) * frame_size_);
  }
  return absl::OkStatus();
}

AfXdpTx::~AfXdpTx() {
  if (tx_.map != nullptr) munmap(tx_.map, tx_.map_len);
  if (cq_.map != nullptr) munmap(cq_.map, cq_.map_len);
  if (fd_ >= 0) close(fd_);
  // The socket is gone, so the kernel no longer references the UMEM.
  if (umem_ != nullptr) munmap(umem_, umem_len_);
}

bool AfXdpTx::Queue(std::span<const uint8_t> frame) {
  if (frame.size() > frame_size_ || frame.empty()) return false;
  if (free_.empty()) {
    Reap();
    if (free_.empty()) {
      ++counters_.ring_full;
      return false;
    }
  }
  if (tx_.cached_prod - tx_.cached_cons >= tx_.size) {
    tx_.cached_cons = LoadAcquire(tx_.consumer);
    if (tx_.cached_prod - tx_.cached_cons >= tx_.size) {
      ++counters_.ring_full;
      return false;
    }
  }
  const uint64_t addr = free_.back();
  free_.pop_back();
  std::memcpy(umem_ + addr, frame.data(), frame.size());
  auto* desc = static_cast<xdp_desc*>(tx_.descs) + (tx_.cached_prod & tx_.mask);
  desc->addr = addr;
  desc->len = static_cast<uint32_t>(frame.size());
  desc->options = 0;
  ++tx_.cached_prod;
  ++counters_.queued;
  return true;
}

void AfXdpTx::Kick() {
  // In copy mode the kernel sends at most a small batch (32) per call and answers EAGAIN while
  // descriptors remain; call again a bounded number of times.
  for (uint32_t i = 0; i <= tx_.size / 32; ++i) {
    if (need_wakeup_ && (LoadAcquire(tx_.flags) & XDP_RING_NEED_WAKEUP) == 0) return;
    ++counters_.kicks;
    if (sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) {
      if (LoadAcquire(tx_.consumer) == tx_.cached_prod) return;
      continue;
    }
    if (errno == EAGAIN || errno == EBUSY || errno == ENOBUFS) {
      if (LoadAcquire(tx_.consumer) == tx_.cached_prod) return;
      if (errno == EAGAIN) continue;
      return;  // EBUSY/ENOBUFS: try again at the next Flush()
    }
    ++counters_.kick_errors;
    return;
  }
}

int AfXdpTx::Reap() {
  const uint32_t prod = LoadAcquire(cq_.producer);
  const uint32_t n = prod - cq_.cached_cons;
  if (n == 0) return 0;
  const auto* addrs = static_cast<const uint64_t*>(cq_.descs);
  for (uint32_t i = 0; i < n; ++i) {
    free_.push_back(addrs[(cq_.cached_cons + i) & cq_.mask]);
  }
  cq_.cached_cons = prod;
  StoreRelease(cq_.consumer, prod);
  counters_.completed += n;
  return static_cast<int>(n);
}

int AfXdpTx::Flush() {
  const uint32_t published = LoadAcquire(tx_.producer);  // only we write it
  if (tx_.cached_prod != published) {
    counters_.published += tx_.cached_prod - published;
    StoreRelease(tx_.producer, tx_.cached_prod);
  }
  if (LoadAcquire(tx_.consumer) != tx_.cached_prod) Kick();
  return Reap();
}

}  // namespace strobe::dataplane
