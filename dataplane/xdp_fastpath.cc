#include "dataplane/xdp_fastpath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "src/common/logging.h"
#include "src/metrics/interval_histogram.h"
#include "xdp/strobe_xdp_skel.h"

namespace strobe::dataplane {
namespace {

// A per-CPU map's value is one u64 per possible CPU.
size_t PossibleCpus() {
  const int possible = libbpf_num_possible_cpus();
  return static_cast<size_t>(possible > 0 ? possible : 1);
}

absl::Status Errno(int err, std::string_view what) {
  return absl::InternalError(absl::StrCat(std::string(what), ": ", strerror(err)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<XdpFastPath>> XdpFastPath::Load(const Options& options) {
  std::unique_ptr<XdpFastPath> fp(new XdpFastPath());
  fp->native_ = options.native;
  fp->skel_ = strobe_xdp__open();
  if (fp->skel_ == nullptr) return Errno(errno, "opening the XDP program");
  fp->capacity_ = options.worker_count * STROBE_XDP_SLOTS_PER_WORKER;
  bpf_map__set_max_entries(fp->skel_->maps.sessions, fp->capacity_);
  if (int err = strobe_xdp__load(fp->skel_); err != 0) {
    return Errno(-err, "loading the XDP program (root, or CAP_BPF and CAP_NET_ADMIN, needed)");
  }
  // An mmapable array is laid out as max_entries values of round_up(value_size, 8) bytes.
  static_assert(sizeof(strobe_xdp_session) % 8 == 0);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  fp->mapped_bytes_ = (sizeof(strobe_xdp_session) * fp->capacity_ + page - 1) / page * page;
  void* p = mmap(nullptr, fp->mapped_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED,
                 bpf_map__fd(fp->skel_->maps.sessions), 0);
  if (p == MAP_FAILED) return Errno(errno, "mapping the session array");
  fp->sessions_ = static_cast<strobe_xdp_session*>(p);

  // Worker 0 drains the program's rx_ring; every other worker gets a ring of its own, put in
  // worker_rings at its index, where the program looks first.
  auto on_record = [](void* ctx, void* data, size_t size) -> int {
    auto* ring = static_cast<WorkerRing*>(ctx);
    if (size >= sizeof(strobe_xdp_rx_record) && ring->handler != nullptr) {
      (*ring->handler)(*static_cast<const strobe_xdp_rx_record*>(data));
    }
    return 0;
  };
  for (uint32_t worker = 0; worker < std::max(options.worker_count, 1u); ++worker) {
    auto ring = std::make_unique<WorkerRing>();
    int map_fd = bpf_map__fd(fp->skel_->maps.rx_ring);
    if (worker > 0) {
      ring->map_fd =
          bpf_map_create(BPF_MAP_TYPE_RINGBUF, "strobe_ring", 0, 0, STROBE_XDP_RING_BYTES, nullptr);
      if (ring->map_fd < 0) return Errno(errno, absl::StrCat("ring buffer of worker ", worker));
      map_fd = ring->map_fd;
      if (bpf_map_update_elem(bpf_map__fd(fp->skel_->maps.worker_rings), &worker, &map_fd,
                              BPF_ANY) != 0) {
        return Errno(errno, absl::StrCat("installing the ring buffer of worker ", worker));
      }
    }
    ring->ring = ring_buffer__new(map_fd, on_record, ring.get(), nullptr);
    if (ring->ring == nullptr) return Errno(errno, "opening an XDP ring buffer");
    fp->rings_.push_back(std::move(ring));
  }

  const uint32_t flags = options.native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  for (const std::string& name : options.interfaces) {
    const int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
    if (ifindex == 0) {
      return absl::NotFoundError(absl::StrCat("XDP: no interface named \"", name, "\""));
    }
    const int err = bpf_xdp_attach(ifindex, bpf_program__fd(fp->skel_->progs.strobe_xdp_rx),
                                   flags | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr);
    if (err != 0) {
      return Errno(-err, absl::StrCat("attaching XDP to ", name,
                                      options.native ? " in native mode (does the driver "
                                                       "support XDP? try mode = \"generic\")"
                                                     : " in generic mode",
                                      "; is another XDP program attached?"));
    }
    fp->attached_ifindexes_.push_back(ifindex);
    fp->interfaces_.push_back(name);
    STROBE_LOG(kInfo, "XDP program attached to %s (%s mode)", name,
               options.native ? "native" : "generic");
  }
  return fp;
}

XdpFastPath::~XdpFastPath() {
  const uint32_t flags = native_ ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  for (int ifindex : attached_ifindexes_) bpf_xdp_detach(ifindex, flags, nullptr);
  for (auto& ring : rings_) {
    if (ring->ring != nullptr) ring_buffer__free(ring->ring);
    if (ring->map_fd >= 0) close(ring->map_fd);
  }
  if (sessions_ != nullptr) munmap(sessions_, mapped_bytes_);
  if (skel_ != nullptr) strobe_xdp__destroy(skel_);
}

int XdpFastPath::ring_fd(int worker) const { return ring_buffer__epoll_fd(rings_[worker]->ring); }

int XdpFastPath::Drain(int worker, const RecordHandler& handler) {
  WorkerRing& ring = *rings_[worker];
  ring.handler = &handler;
  const int n = ring_buffer__consume(ring.ring);
  ring.handler = nullptr;
  return n;
}

std::vector<uint64_t> XdpFastPath::Counters() const {
  std::vector<uint64_t> totals(STROBE_XDP_COUNTER_COUNT, 0);
  std::vector<uint64_t> per_cpu(PossibleCpus());
  const int fd = bpf_map__fd(skel_->maps.counters);
  for (uint32_t key = 0; key < STROBE_XDP_COUNTER_COUNT; ++key) {
    if (bpf_map_lookup_elem(fd, &key, per_cpu.data()) != 0) continue;
    for (uint64_t v : per_cpu) totals[key] += v;
  }
  return totals;
}

void XdpFastPath::AddRxIntervals(metrics::IntervalHistogram* into) const {
  const size_t cpus = PossibleCpus();
  const int fd = bpf_map__fd(skel_->maps.rx_intervals);
  constexpr uint32_t kEntries = STROBE_XDP_INTERVAL_ENTRIES;
  // A per-CPU array's value is one u64 per possible CPU: values[key * cpus + cpu].
  std::vector<uint64_t> values(kEntries * cpus, 0);
  // One syscall for the whole map; the kernel ends a complete walk with ENOENT. Should batching
  // be refused (older kernels), one lookup per entry.
  std::vector<uint32_t> keys(kEntries);
  uint32_t out_batch = 0;
  uint32_t count = kEntries;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  const int err =
      bpf_map_lookup_batch(fd, nullptr, &out_batch, keys.data(), values.data(), &count, &opts);
  bool batched = (err == 0 || errno == ENOENT) && count == kEntries;
  for (uint32_t i = 0; batched && i < kEntries; ++i) batched = keys[i] == i;
  if (!batched) {
    std::fill(values.begin(), values.end(), 0);
    for (uint32_t key = 0; key < kEntries; ++key) {
      if (bpf_map_lookup_elem(fd, &key, &values[key * cpus]) != 0) {
        std::fill_n(&values[key * cpus], cpus, 0);
      }
    }
  }
  for (uint32_t key = 0; key < STROBE_INTERVAL_BUCKETS; ++key) {
    uint64_t n = 0;
    for (size_t cpu = 0; cpu < cpus; ++cpu) n += values[key * cpus + cpu];
    into->AddBucket(key, n);
  }
  uint64_t max_us = 0;
  for (size_t cpu = 0; cpu < cpus; ++cpu) {
    max_us = std::max(max_us, values[STROBE_XDP_INTERVAL_MAX * cpus + cpu]);
  }
  into->NoteMaxUs(max_us);
}

void XdpFastPath::ResetRxIntervals() {
  const size_t cpus = PossibleCpus();
  const int fd = bpf_map__fd(skel_->maps.rx_intervals);
  constexpr uint32_t kEntries = STROBE_XDP_INTERVAL_ENTRIES;
  std::vector<uint64_t> zeros(kEntries * cpus, 0);
  std::vector<uint32_t> keys(kEntries);
  for (uint32_t i = 0; i < kEntries; ++i) keys[i] = i;
  uint32_t count = kEntries;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  if (bpf_map_update_batch(fd, keys.data(), zeros.data(), &count, &opts) == 0) return;
  for (uint32_t key = 0; key < kEntries; ++key) {
    bpf_map_update_elem(fd, &key, &zeros[key * cpus], BPF_ANY);
  }
}

}  // namespace strobe::dataplane
