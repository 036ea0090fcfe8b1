// Per-packet cost of the XDP program (xdp/strobe_xdp.bpf.c), measured in the kernel with
// BPF_PROG_TEST_RUN (repeat = 1,000,000; opts.duration is the mean per run, which includes the
// test-run loop itself). Needs root. Prints ns per packet for each path through the program:
// steady state (absorbed), interesting (to user space through the ring buffer), ring full,
// invalid (bad version), no session, and not BFD (passed).
//
// Usage: xdp_bench [--repeat N] [--json]   (--repeat: runs per round, default 1,000,000; --json:
// one JSON line on stdout instead of the text, for scripts/bench)

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tests/unit/xdp/packet_builder.h"
#include "xdp/strobe_xdp.h"
#include "xdp/strobe_xdp_skel.h"

namespace {

using strobe::xdp_test::Address;
using strobe::xdp_test::Bfd;
using strobe::xdp_test::Packet;
using strobe::xdp_test::V4;
using strobe::xdp_test::V6;

int repeat_runs = 1'000'000;  // runs per round (--repeat)
constexpr int kRounds = 5;
// The ring holds 8191 records: interesting packets are run in batches, drained in between.
constexpr int kInterestingBatch = 4096;

// Worker 2, slot 1234: index 2 * 16384 + 1234 in a map sized for 4 workers.
constexpr uint32_t kWorkers = 4;
constexpr uint32_t kDiscriminator4 =
    (2u << STROBE_XDP_WORKER_SHIFT) | (1234u << STROBE_XDP_SLOT_SHIFT) | 0x1a5;
constexpr uint32_t kDiscriminator6 =
    (2u << STROBE_XDP_WORKER_SHIFT) | (1235u << STROBE_XDP_SLOT_SHIFT) | 0x2b6;

strobe_xdp* skel = nullptr;
ring_buffer* ring = nullptr;
bool json_output = false;
std::string json_paths;  // the "paths" array's members, with --json

uint64_t Counter(int which) {
  std::vector<uint64_t> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
  const uint32_t key = static_cast<uint32_t>(which);
  if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &key, per_cpu.data()) != 0) return 0;
  uint64_t total = 0;
  for (uint64_t v : per_cpu) total += v;
  return total;
}

int Ignore(void*, void*, size_t) { return 0; }

void Drain() {
  while (ring_buffer__consume(ring) > 0) {
  }
}

// Mean ns per run of `repeat` runs of program `prog_fd` on `frame`, or -1.
double RunNs(int prog_fd, const std::vector<uint8_t>& frame, int repeat, int* verdict) {
  xdp_md ctx{};
  ctx.data_end = static_cast<uint32_t>(frame.size());
  ctx.ingress_ifindex = if_nametoindex("lo");
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<uint32_t>(frame.size());
  opts.ctx_in = &ctx;
  opts.ctx_size_in = sizeof(ctx);
  opts.repeat = repeat;
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
    std::fprintf(stderr, "BPF_PROG_TEST_RUN: %s\n", std::strerror(errno));
    return -1;
  }
  *verdict = static_cast<int>(opts.retval);
  return opts.duration;
}

// Runs `frame` kRounds times kRepeat times; prints the median and the best round. Checks that
// every run took the path `counter` names (unless -1) and returned `verdict`. `prog_fd` -1: the
// XDP program.
bool Bench(const char* key, const char* name, const std::vector<uint8_t>& frame, int counter,
           int verdict, bool drain_between_batches = false, int prog_fd = -1) {
  if (prog_fd < 0) prog_fd = bpf_program__fd(skel->progs.strobe_xdp_rx);
  std::vector<double> rounds;
  const uint64_t before = counter >= 0 ? Counter(counter) : 0;
  for (int round = 0; round < kRounds; ++round) {
    double total_ns = 0;
    int done = 0;
    while (done < repeat_runs) {
      const int batch =
          drain_between_batches ? std::min(kInterestingBatch, repeat_runs - done) : repeat_runs;
      int got = -1;
      const double ns = RunNs(prog_fd, frame, batch, &got);
      if (ns < 0) return false;
      if (got != verdict) {
        std::fprintf(stderr, "%s: verdict %d, expected %d\n", name, got, verdict);
        return false;
      }
      total_ns += ns * batch;
      done += batch;
      if (drain_between_batches) Drain();  // not timed: user space's work
    }
    rounds.push_back(total_ns / repeat_runs);
  }
  const uint64_t counted = counter >= 0 ? Counter(counter) - before : 0;
  if (counter >= 0 && counted != static_cast<uint64_t>(kRounds) * repeat_runs) {
    std::fprintf(stderr, "%s: %llu runs counted on counter %d, expected %llu\n", name,
                 static_cast<unsigned long long>(counted), counter,
                 static_cast<unsigned long long>(kRounds) * repeat_runs);
    return false;
  }
  std::sort(rounds.begin(), rounds.end());
  if (json_output) {
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "%s{\"key\": \"%s\", \"path\": \"%s\", \"median_ns\": %.2f, \"best_ns\": %.2f}",
                  json_paths.empty() ? "" : ", ", key, name, rounds[kRounds / 2], rounds[0]);
    json_paths += buf;
    return true;
  }
  std::printf("%-44s %6.1f ns/packet (best %5.1f)\n", name, rounds[kRounds / 2], rounds[0]);
  return true;
}

// A program of raw instructions, for the floors: what BPF_PROG_TEST_RUN costs by itself, and
// what bpf_ktime_get_ns() costs on this kernel.
int LoadRaw(bool call_ktime) {
  std::vector<bpf_insn> insns;
  if (call_ktime) insns.push_back(bpf_insn{BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ktime_get_ns});
  insns.push_back(bpf_insn{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_DROP});
  insns.push_back(bpf_insn{BPF_JMP | BPF_EXIT, 0, 0, 0, 0});
  return bpf_prog_load(BPF_PROG_TYPE_XDP, call_ktime ? "floor_ktime" : "floor_empty", "GPL",
                       insns.data(), insns.size(), nullptr);
}

strobe_xdp_session MakeSession(uint32_t discriminator, int family, const Address& peer,
                               const Address& local) {
  strobe_xdp_session s{};
  s.discriminator = discriminator;
  s.ifindex = if_nametoindex("lo");
  s.family = static_cast<uint8_t>(family);
  std::memcpy(s.peer, peer.data(), 16);
  std::memcpy(s.local, local.data(), 16);
  Bfd steady;
  steady.your = discriminator;
  std::memcpy(s.expect, steady.Bytes().data(), sizeof(s.expect));
  s.steady_ok = 1;
  return s;
}

Packet Frame(const Bfd& bfd, int family = 4) {
  Packet p;
  p.family = family;
  p.source = family == 4 ? V4("192.0.2.1") : V6("2001:db8::1");
  p.destination = family == 4 ? V4("192.0.2.2") : V6("2001:db8::2");
  p.payload = bfd.Bytes();
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") {
      json_output = true;
    } else if (arg == "--repeat" && i + 1 < argc && std::atoi(argv[i + 1]) > 0) {
      repeat_runs = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--repeat N] [--json]\n", argv[0]);
      return 2;
    }
  }
  skel = strobe_xdp::open();
  if (skel == nullptr ||
      bpf_map__set_max_entries(skel->maps.sessions, kWorkers * STROBE_XDP_SLOTS_PER_WORKER) != 0 ||
      strobe_xdp::load(skel) != 0) {
    std::fprintf(stderr, "cannot load the XDP program (root?): %s\n", std::strerror(errno));
    return 1;
  }
  const size_t entries = bpf_map__max_entries(skel->maps.sessions);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t bytes = (entries * sizeof(strobe_xdp_session) + page - 1) / page * page;
  void* mem =
      mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(skel->maps.sessions), 0);
  if (mem == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  auto* sessions = static_cast<strobe_xdp_session*>(mem);
  sessions[strobe_xdp_index_of(kDiscriminator4)] =
      MakeSession(kDiscriminator4, 4, V4("192.0.2.1"), V4("192.0.2.2"));
  sessions[strobe_xdp_index_of(kDiscriminator6)] =
      MakeSession(kDiscriminator6, 6, V6("2001:db8::1"), V6("2001:db8::2"));
  ring = ring_buffer__new(bpf_map__fd(skel->maps.rx_ring), Ignore, nullptr, nullptr);
  if (ring == nullptr) {
    std::perror("ring_buffer__new");
    return 1;
  }

  Bfd steady4;
  steady4.your = kDiscriminator4;
  Bfd steady6;
  steady6.your = kDiscriminator6;
  Bfd poll = steady4;
  poll.flags = STROBE_BFD_FLAG_POLL;
  Bfd bad_version = steady4;
  bad_version.version = 2;
  Bfd no_session = steady4;
  no_session.your ^= 1;
  Packet qinq = Frame(steady4);
  qinq.vlan_tpids = {0x88a8, 0x8100};
  Packet bgp = Frame(steady4);
  bgp.protocol = 6;
  bgp.destination_port = 179;
  bgp.payload.assign(19, 0xff);  // a BGP keepalive's size

  if (!json_output) {
    std::printf("XDP program, BPF_PROG_TEST_RUN, %d x %d runs per line (median, best round)\n",
                kRounds, repeat_runs);
  }
  bool ok = true;
  const int empty_fd = LoadRaw(false);
  const int ktime_fd = LoadRaw(true);
  if (empty_fd < 0 || ktime_fd < 0) {
    std::fprintf(stderr, "cannot load the floor programs\n");
    return 1;
  }
  ok &= Bench("floor_empty", "(floor) empty program: the test-run loop", Frame(steady4).Build(), -1,
              XDP_DROP, false, empty_fd);
  ok &= Bench("floor_ktime", "(floor) bpf_ktime_get_ns() alone", Frame(steady4).Build(), -1,
              XDP_DROP, false, ktime_fd);
  ok &= Bench("steady_v4", "(a) steady state, IPv4 (absorbed)", Frame(steady4).Build(),
              STROBE_XDP_ABSORBED, XDP_DROP);
  ok &= Bench("steady_v6", "(a) steady state, IPv6 (absorbed)", Frame(steady6, 6).Build(),
              STROBE_XDP_ABSORBED, XDP_DROP);
  ok &= Bench("steady_qinq", "(a) steady state, IPv4 in QinQ (absorbed)", qinq.Build(),
              STROBE_XDP_ABSORBED, XDP_DROP);
  ok &= Bench("interesting", "(b) interesting, Poll (to the ring, drained)", Frame(poll).Build(),
              STROBE_XDP_TO_USER, XDP_DROP, /*drain_between_batches=*/true);
  Drain();
  {
    // Fill the ring, then measure the cost of a full ring.
    int verdict = 0;
    RunNs(bpf_program__fd(skel->progs.strobe_xdp_rx), Frame(poll).Build(), 10'000, &verdict);
    ok &= Bench("ring_full", "(b') interesting, ring full (counted)", Frame(poll).Build(),
                STROBE_XDP_RING_FULL, XDP_DROP);
    Drain();
  }
  ok &= Bench("bad_version", "(c) invalid, bad version", Frame(bad_version).Build(),
              STROBE_BFD_DROP_BAD_VERSION, XDP_DROP);
  ok &= Bench("no_session", "(c') invalid, no session", Frame(no_session).Build(),
              STROBE_BFD_DROP_NO_SESSION, XDP_DROP);
  ok &= Bench("not_bfd", "(d) not BFD, TCP to port 179 (passed)", bgp.Build(), STROBE_XDP_PASSED,
              XDP_PASS);

  if (json_output) {
    std::printf(
        "{\"bench\": \"xdp_bench\", \"rounds\": %d, \"repeat\": %d, \"ok\": %s, \"paths\": "
        "[%s]}\n",
        kRounds, repeat_runs, ok ? "true" : "false", json_paths.c_str());
  }
  close(empty_fd);
  close(ktime_fd);
  ring_buffer__free(ring);
  munmap(mem, bytes);
  strobe_xdp::destroy(skel);
  return ok ? 0 : 1;
}
