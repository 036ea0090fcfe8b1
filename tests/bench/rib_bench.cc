// RIB benchmark (controlplane/bgp/rib): the in-memory cost of receiving N IPv4 prefixes from K
// neighbors and selecting them, without sockets or message decoding: CPU seconds (this thread,
// CLOCK_THREAD_CPUTIME_ID) and heap bytes (mallinfo2, allocated minus freed) per prefix and per
// path. The whole-daemon figures against BIRD and FRR are tests/bench/bgp_rib_bench.py's; this one
// isolates the RIB so that a change to its layout can be measured in a second.
//
//   rib_bench --prefixes 1000000 --peers 4 --attrs identical|varied [--max_paths 16]
//
// Prefixes are /32s from 10.0.0.0/8 (as the feeder of bgp_rib_bench sends them), announced in a
// shuffled order, peer after peer; `varied` gives prefix i the attribute set i mod (N/4) (an
// AS_PATH of 1-3 ASNs and a community unique to the set), interned as the session would. Then
// every peer is withdrawn (Clear), timed too. Each announcement prefetches the prefix
// Rib::kPrefetchAhead places on, as strobe-bgpd does for the prefixes of an UPDATE (--noprefetch:
// without). One JSON line on stdout.
#include <gflags/gflags.h>
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "controlplane/bgp/rib.h"

DEFINE_uint64(prefixes, 1000000, "IPv4 /32 prefixes per peer");
DEFINE_uint32(peers, 1, "neighbors announcing every prefix");
DEFINE_string(attrs, "identical", "identical | varied");
DEFINE_uint32(max_paths, 16, "ECMP set size (multipath_relax on)");
DEFINE_bool(clear, true, "withdraw every peer at the end (timed apart)");
DEFINE_bool(prefetch, true,
            "prefetch the prefix Rib::kPrefetchAhead places on, as strobe-bgpd does");

namespace {

double ThreadCpuS() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

size_t HeapBytes() { return mallinfo2().uordblks + mallinfo2().hblkhd; }

strobe::bgp::RibPrefix PrefixNumber(uint64_t i) {
  const uint32_t a = (10u << 24) | static_cast<uint32_t>(i);
  const uint8_t bytes[4] = {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
                            static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
  return *strobe::bgp::RibPrefix::Make(strobe::net::IpAddress::FromBytes(bytes, 4), 32);
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("rib_bench --prefixes N --peers K --attrs identical|varied");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  using namespace strobe;
  const bool varied = FLAGS_attrs == "varied";
  if (!varied && FLAGS_attrs != "identical") {
    std::fprintf(stderr, "rib_bench: --attrs must be identical or varied\n");
    return 2;
  }
  const uint64_t n = FLAGS_prefixes;
  const uint64_t sets = varied ? std::max<uint64_t>(1, n / 4) : 1;
  std::vector<uint32_t> order(n);
  for (uint64_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  std::shuffle(order.begin(), order.end(), std::mt19937(42));

  const size_t heap0 = HeapBytes();
  bgp::Rib rib({.max_paths = FLAGS_max_paths, .multipath_relax = true});
  std::vector<bgp::SourceId> sources;
  for (uint32_t k = 0; k < FLAGS_peers; ++k) {
    const uint8_t nb[4] = {198, 18, static_cast<uint8_t>(k + 1), 1};
    const net::IpAddress neighbor = net::IpAddress::FromBytes(nb, 4);
    sources.push_back(rib.AddSource(neighbor));
    rib.SetSourceSession(sources.back(), 0xc6120000 + k, 65001 + k, true);
  }
  std::vector<bgp::RibChange> changes;
  size_t change_count = 0;
  const double cpu0 = ThreadCpuS();
  for (uint32_t k = 0; k < FLAGS_peers; ++k) {
    const uint8_t nb[4] = {198, 18, static_cast<uint8_t>(k + 1), 1};
    // As a session does it: one interned set per UPDATE, reused for the prefixes it carries.
    std::vector<bgp::AttributesRef> interned(sets);
    for (size_t pos = 0; pos < order.size(); ++pos) {
      // As a session does it: the prefix a few places on is prefetched (Peer::ForEachPrefix).
      if (FLAGS_prefetch && pos + bgp::Rib::kPrefetchAhead < order.size()) {
        rib.Prefetch(PrefixNumber(order[pos + bgp::Rib::kPrefetchAhead]));
      }
      const uint32_t i = order[pos];
      const uint64_t set = i % sets;
      if (interned[set] == nullptr) {
        bgp::RouteAttributes a;
        a.next_hop = net::IpAddress::FromBytes(nb, 4);
        std::vector<uint32_t> path = {65001 + k};
        if (varied) {
          for (uint64_t j = 0; j < set % 3; ++j)
            path.push_back(4200000000u + static_cast<uint32_t>(set));
          a.communities = {static_cast<uint32_t>(65001 + k) << 16 |
                           static_cast<uint32_t>(set & 0xffff)};
        }
        a.as_path = {bgp::AsPathSegment{bgp::kAsSequence, path}};
        interned[set] = rib.attribute_pool().Intern(std::move(a));
      }
      rib.Announce(sources[k], PrefixNumber(i), 0, interned[set], &changes);
      change_count += changes.size();
      changes.clear();
    }
  }
  const double cpu_in = ThreadCpuS() - cpu0;
  const size_t heap = HeapBytes() - heap0;
  const size_t routes = rib.size();
  const double cpu1 = ThreadCpuS();
  for (bgp::SourceId s : sources) {
    if (!FLAGS_clear) break;
    rib.Clear(s, &changes);
    change_count += changes.size();
    changes.clear();
  }
  const double cpu_out = ThreadCpuS() - cpu1;
  const double paths = static_cast<double>(n) * FLAGS_peers;
  nlohmann::json out = {{"prefixes", n},
                        {"peers", FLAGS_peers},
                        {"attrs", FLAGS_attrs},
                        {"attribute_sets", sets * FLAGS_peers},
                        {"routes", routes},
                        {"loc_rib_changes", change_count},
                        {"announce_cpu_s", cpu_in},
                        {"ns_per_path", cpu_in * 1e9 / paths},
                        {"heap_bytes", heap},
                        {"bytes_per_prefix", static_cast<double>(heap) / static_cast<double>(n)},
                        {"bytes_per_path", static_cast<double>(heap) / paths},
                        {"clear_cpu_s", cpu_out},
                        {"prefetch", FLAGS_prefetch}};
  std::printf("%s\n", out.dump().c_str());
  return routes == n ? 0 : 1;
}
