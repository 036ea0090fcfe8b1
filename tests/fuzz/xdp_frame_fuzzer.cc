// libFuzzer target: one received Ethernet frame through both fast paths, which must agree
// (docs/architecture.md: "the XDP program and the DPDK loop can never disagree"):
//   - the poll-mode backends' classifier (dataplane/rx_frame.h: Ethernet, VLAN tags, IPv4/IPv6,
//     UDP to 3784/4784) and then the reception checks of src/bfd/rx_checks.h and Decode(), as the
//     worker runs them (dataplane/worker.cc, ProcessPacket);
//   - the XDP program itself (xdp/strobe_xdp.bpf.c, the skeleton loaded once, run on the frame
//     with BPF_PROG_TEST_RUN; its sessions map is empty), then the worker's checks on the record
//     it hands to user space (dataplane/worker_xdp.cc).
// Also the host builds of xdp/strobe_xdp.h (the session index of a discriminator) and
// src/metrics/interval_buckets.h (the XDP program's received-interval histogram).
//
// Input: the frame, as it comes off the wire (no FCS). Its first 8 bytes, big-endian, are also
// a gap in microseconds for the interval buckets.
//
// Needs root (CAP_BPF, CAP_NET_ADMIN) to load the program; without it the target stops at once
// with an error, it never skips the comparison.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "dataplane/rx_frame.h"
#include "dataplane/rx_packet.h"
#include "src/bfd/packet.h"
#include "src/bfd/rx_checks.h"
#include "src/metrics/interval_buckets.h"
#include "tests/fuzz/fuzz_util.h"
#include "xdp/strobe_xdp.h"
#include "xdp/strobe_xdp_skel.h"

namespace {

using strobe::dataplane::ClassifyFrame;
using strobe::dataplane::FrameClass;
using strobe::dataplane::RxPacket;

// What became of a frame, end to end: not BFD (to the kernel's stack), or the drop reason of the
// first check that refused it. With no session configured every valid packet ends as
// STROBE_BFD_DROP_NO_SESSION.
constexpr int kNotBfd = -1;

// The bucket of `us` is the one whose range holds it (interval_buckets.h).
void CheckIntervalBucket(uint64_t us) {
  const unsigned bucket = strobe_interval_bucket(us);
  FUZZ_CHECK(bucket < STROBE_INTERVAL_BUCKETS, "bucket %u of %llu us", bucket,
             static_cast<unsigned long long>(us));
  FUZZ_CHECK(strobe_interval_bucket_lower_us(bucket) <= us, "bucket %u starts at %llu > %llu us",
             bucket, strobe_interval_bucket_lower_us(bucket), static_cast<unsigned long long>(us));
  if (bucket + 1 < STROBE_INTERVAL_BUCKETS) {
    FUZZ_CHECK(us < strobe_interval_bucket_lower_us(bucket + 1),
               "%llu us is past bucket %u, which ends at %llu", static_cast<unsigned long long>(us),
               bucket, strobe_interval_bucket_lower_us(bucket + 1));
  }
}

// The worker's checks (ProcessPacket) on a packet with no session to find.
int WorkerVerdict(const RxPacket& packet) {
  const strobe_bfd_drop_reason header = strobe_bfd_check_header(
      packet.data, packet.length, static_cast<unsigned>(packet.ttl), packet.multihop ? 0 : 1);
  if (packet.length >= STROBE_BFD_OFF_YOUR_DISCR + 4) {
    const uint32_t your = strobe_bfd_read_be32(packet.data + STROBE_BFD_OFF_YOUR_DISCR);
    FUZZ_CHECK(strobe_xdp_index_of(your) < STROBE_XDP_MAX_WORKERS * STROBE_XDP_SLOTS_PER_WORKER,
               "session index %u of discriminator %08x", strobe_xdp_index_of(your), your);
  }
  if (header != STROBE_BFD_OK) return header;
  const size_t length = packet.data[STROBE_BFD_OFF_LENGTH];
  FUZZ_CHECK(length >= STROBE_BFD_MANDATORY_LEN && length <= packet.length,
             "Length %zu passed the checks with a payload of %u", length, packet.length);
  strobe::bfd::ControlPacket decoded;
  const strobe_bfd_drop_reason r =
      strobe::bfd::Decode(std::span<const uint8_t>(packet.data, length), &decoded);
  FUZZ_CHECK(r == STROBE_BFD_OK || r == STROBE_BFD_DROP_AUTH_MALFORMED,
             "Decode() of a packet that passed the header checks: %s",
             strobe_bfd_drop_reason_name(r));
  if (r == STROBE_BFD_OK) {
    FUZZ_CHECK(decoded.version == 1 && decoded.detect_mult != 0 && !decoded.multipoint &&
                   decoded.my_discriminator != 0 && decoded.WireLength() <= length,
               "decoded fields the header checks refuse");
  }
  return STROBE_BFD_DROP_NO_SESSION;
}

// The XDP program, loaded once; its sessions map stays empty.
class Program {
 public:
  static Program& Get() {
    static Program* p = new Program();  // never destroyed: libFuzzer may exit from anywhere
    return *p;
  }

  // Runs the program on `frame`: kNotBfd, the reason it dropped the frame, or (a record for
  // user space) the worker's verdict on that record, which `record` receives.
  int Run(std::span<const uint8_t> frame, RxPacket* record) {
    xdp_md ctx{};
    ctx.data_end = static_cast<uint32_t>(frame.size());
    ctx.ingress_ifindex = ifindex_;
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
    opts.repeat = 1;
    const int err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.strobe_xdp_rx), &opts);
    FUZZ_CHECK(err == 0, "BPF_PROG_TEST_RUN of a %zu-byte frame: %s", frame.size(),
               strerror(errno));
    const int counter = CounterMoved();
    records_.clear();
    while (ring_buffer__consume(ring_) > 0) {
    }
    if (opts.retval == XDP_PASS) {
      FUZZ_CHECK(counter == STROBE_XDP_PASSED && records_.empty(), "XDP_PASS counted as %d",
                 counter);
      return kNotBfd;
    }
    FUZZ_CHECK(opts.retval == XDP_DROP, "verdict %u", opts.retval);
    if (counter != STROBE_XDP_TO_USER) {
      FUZZ_CHECK(records_.empty() && counter < STROBE_BFD_DROP_REASON_COUNT,
                 "dropped as %d with %zu records", counter, records_.size());
      return counter;
    }
    FUZZ_CHECK(records_.size() == 1, "%zu records for one packet", records_.size());
    const strobe_xdp_rx_record& r = records_[0];
    // dataplane/worker_xdp.cc, XdpDrainRing.
    record->source = strobe::net::IpAddress::FromBytes(r.source, r.family);
    record->destination = strobe::net::IpAddress::FromBytes(r.destination, r.family);
    record->source_port = r.source_port;
    record->ttl = r.ttl;
    record->multihop = r.multihop != 0;
    FUZZ_CHECK(r.payload_len <= STROBE_XDP_MAX_PAYLOAD && r.payload_len <= r.udp_payload_len,
               "record of %u of %u bytes", r.payload_len, r.udp_payload_len);
    record->length = std::min<uint16_t>(r.payload_len, sizeof(record->data));
    std::memcpy(record->data, r.payload, record->length);
    return WorkerVerdict(*record);
  }

 private:
  Program() {
    skel_ = strobe_xdp::open();
    if (skel_ == nullptr) Fail("open");
    if (int err = bpf_map__set_max_entries(skel_->maps.sessions, 64); err != 0) {
      errno = -err;
      Fail("set_max_entries");
    }
    if (int err = strobe_xdp::load(skel_); err != 0) {
      errno = -err;
      Fail("load (are we root?)");
    }
    ring_ = ring_buffer__new(bpf_map__fd(skel_->maps.rx_ring), &Program::OnRecord, this, nullptr);
    if (ring_ == nullptr) Fail("ring_buffer__new");
    ifindex_ = if_nametoindex("lo");
    cpus_ = static_cast<size_t>(libbpf_num_possible_cpus());
    totals_ = Counters();
  }

  [[noreturn]] static void Fail(const char* what) {
    std::fprintf(stderr, "fuzz_xdp_frame: the XDP program: %s: %s\n", what, strerror(errno));
    std::abort();
  }

  static int OnRecord(void* self, void* data, size_t size) {
    FUZZ_CHECK(size == sizeof(strobe_xdp_rx_record), "record of %zu bytes", size);
    strobe_xdp_rx_record r;
    std::memcpy(&r, data, sizeof(r));
    static_cast<Program*>(self)->records_.push_back(r);
    return 0;
  }

  std::vector<uint64_t> Counters() const {
    std::vector<uint64_t> totals(STROBE_XDP_COUNTER_COUNT);
    std::vector<uint64_t> per_cpu(cpus_);
    for (uint32_t i = 0; i < STROBE_XDP_COUNTER_COUNT; ++i) {
      FUZZ_CHECK(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.counters), &i, per_cpu.data()) == 0,
                 "counters: %s", strerror(errno));
      for (uint64_t v : per_cpu) totals[i] += v;
    }
    return totals;
  }

  // The one counter the last run moved, by one.
  int CounterMoved() {
    const std::vector<uint64_t> now = Counters();
    int moved = -1;
    for (int i = 0; i < STROBE_XDP_COUNTER_COUNT; ++i) {
      const uint64_t delta = now[i] - totals_[i];
      FUZZ_CHECK(delta <= 1 && (delta == 0 || moved < 0), "counter %d moved by %llu", i,
                 static_cast<unsigned long long>(delta));
      if (delta == 1) moved = i;
    }
    FUZZ_CHECK(moved >= 0, "no counter moved");
    totals_ = now;
    return moved;
  }

  strobe_xdp* skel_ = nullptr;
  ring_buffer* ring_ = nullptr;
  uint32_t ifindex_ = 0;
  size_t cpus_ = 0;
  std::vector<uint64_t> totals_;
  std::vector<strobe_xdp_rx_record> records_;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Program::Get();  // load once, before the first input: a load failure stops the run
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> frame(data, size);
  if (size >= 8) {
    uint64_t us = 0;
    for (size_t i = 0; i < 8; ++i) us = us << 8 | data[i];
    CheckIntervalBucket(us);
    CheckIntervalBucket(us >> 24);  // the common range: up to 2^40 us
  }

  // The poll-mode path.
  RxPacket packet;
  int dpdk = kNotBfd;
  if (ClassifyFrame(frame, &packet) == FrameClass::kBfd) {
    // Ethernet, an IPv4 header (20) or IPv6 (40), UDP (8): the payload lies inside the frame.
    const size_t min_headers = 14 + (packet.source.is_v4() ? 20 : 40) + 8;
    FUZZ_CHECK(size >= min_headers, "a BFD frame of %zu bytes", size);
    FUZZ_CHECK(packet.length <= sizeof(packet.data) && packet.length <= size - min_headers,
               "payload of %u bytes from a frame of %zu", packet.length, size);
    FUZZ_CHECK(!packet.source.empty() && packet.source.family() == packet.destination.family(),
               "addresses of a BFD frame");
    dpdk = WorkerVerdict(packet);
  }

  // The XDP path. BPF_PROG_TEST_RUN takes an Ethernet header at least, and one page at most.
  if (size < 14 || size > 3000) return 0;
  RxPacket record;
  const int xdp = Program::Get().Run(frame, &record);
  // Known and left (see docs/testing.md): user space keeps the first 64 bytes of a payload
  // (RxPacket::data, and the socket backend's receive buffers), so a Length beyond them fails
  // its Length check there, while the program checks it against the whole payload and goes on
  // (to no_session here). No valid packet is that long (52 bytes at most): both drop it, under
  // different counters.
  if (dpdk == STROBE_BFD_DROP_BAD_LENGTH && packet.length == sizeof(packet.data) &&
      packet.data[STROBE_BFD_OFF_LENGTH] > sizeof(packet.data)) {
    FUZZ_CHECK(xdp != kNotBfd, "a BFD frame the XDP program passes to the kernel");
    return 0;
  }
  FUZZ_CHECK(xdp == dpdk, "the XDP path ends in %s, the poll-mode path in %s",
             xdp == kNotBfd ? "not BFD"
                            : strobe_bfd_drop_reason_name(static_cast<strobe_bfd_drop_reason>(xdp)),
             dpdk == kNotBfd
                 ? "not BFD"
                 : strobe_bfd_drop_reason_name(static_cast<strobe_bfd_drop_reason>(dpdk)));
  if (record.length > 0 || !record.source.empty()) {
    // What the program hands to user space is what the classifier found.
    FUZZ_CHECK(record.source == packet.source && record.destination == packet.destination &&
                   record.source_port == packet.source_port && record.ttl == packet.ttl &&
                   record.multihop == packet.multihop,
               "the record's addresses, port, TTL or kind differ from the classifier's");
    FUZZ_CHECK(
        record.length == packet.length && std::memcmp(record.data, packet.data, record.length) == 0,
        "the record's payload (%u bytes) differs from the classifier's (%u bytes)", record.length,
        packet.length);
  }
  return 0;
}
