// AF_XDP transmit rate of one pinned core: how many BFD frames per millisecond one core encodes
// (bfd::Encode of a Control packet, as Session::OnTxTimer does), patches into its prebuilt frame
// (BfdFrame::Patch, RFC 1624 incremental checksum) and sends over an AF_XDP socket (copy mode on
// a veth), flushed in batches as the worker does per tick.
//
// The receiving end of the veth runs Strobe's XDP program in native mode, which drops the frames
// (no session matches their discriminators), as a peer Strobe would absorb them. On a veth the
// receive side runs on the transmitting CPU, so the rate is for transmit + the peer's XDP work on
// one core: a lower bound of what a NIC, which takes the frame off the core, allows.
//
// Runs in a private network namespace (unshare); needs root. Usage:
//   af_xdp_tx_bench [--core N] [--sessions S] [--batch B] [--seconds T] [--json]
// (--json: one JSON line on stdout instead of the text, for scripts/bench)

#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/af_xdp_tx.h"
#include "dataplane/bfd_frame.h"
#include "dataplane/xdp_fastpath.h"
#include "src/bfd/packet.h"

namespace {

using strobe::dataplane::AfXdpTx;
using strobe::dataplane::BfdFrame;
using strobe::dataplane::BfdFrameSpec;
using strobe::dataplane::XdpFastPath;

int Shell(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

double CpuSeconds(const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  int core = 1, sessions = 1000, batch = 64;
  double seconds = 3;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--json") {
      json = true;
      continue;
    }
    if (i + 1 >= argc) break;
    if (flag == "--core") core = std::atoi(argv[i + 1]);
    if (flag == "--sessions") sessions = std::atoi(argv[i + 1]);
    if (flag == "--batch") batch = std::atoi(argv[i + 1]);
    if (flag == "--seconds") seconds = std::atof(argv[i + 1]);
    ++i;
  }
  if (unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare(CLONE_NEWNET) (run as root)");
    return 1;
  }
  if (Shell("ip link add txa type veth peer name txb") != 0 || Shell("ip link set txa up") != 0 ||
      Shell("ip link set txb up") != 0) {
    std::fprintf(stderr, "cannot create the veth pair\n");
    return 1;
  }
  absl::StatusOr<std::unique_ptr<XdpFastPath>> xdp = XdpFastPath::Load({.interfaces = {"txb"}});
  if (!xdp.ok()) {
    std::fprintf(stderr, "XDP program: %s\n", std::string(xdp.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<AfXdpTx>> tx = AfXdpTx::Open({.ifname = "txa"});
  if (!tx.ok()) {
    std::fprintf(stderr, "AF_XDP: %s\n", std::string(tx.status().message()).c_str());
    return 1;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
    std::fprintf(stderr, "cannot pin to core %d\n", core);
    return 1;
  }

  // One frame template per emulated session, distinct addresses and discriminators.
  std::vector<BfdFrame> frames;
  std::vector<strobe::bfd::ControlPacket> packets(static_cast<size_t>(sessions));
  uint8_t payload[strobe::bfd::kMaxPacketLen];
  for (int i = 0; i < sessions; ++i) {
    strobe::bfd::ControlPacket& p = packets[static_cast<size_t>(i)];
    p.state = strobe::bfd::State::kUp;
    p.detect_mult = 3;
    p.my_discriminator = 0x1000000u + static_cast<uint32_t>(i);
    p.your_discriminator = 0x2000000u + static_cast<uint32_t>(i);
    p.desired_min_tx_us = 10000;
    p.required_min_rx_us = 10000;
    BfdFrameSpec spec;
    spec.src_mac = {2, 0, 0x5e, 0, 0x53, 1};
    spec.dst_mac = {2, 0, 0x5e, 0, 0x53, 2};
    spec.src_ip = {198, 18, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    spec.dst_ip = {198, 19, 0, 1};
    spec.src_port = static_cast<uint16_t>(49152 + i % 16384);
    const size_t n = *strobe::bfd::Encode(p, payload);
    frames.push_back(*BfdFrame::Build(spec, {payload, n}));
  }

  rusage r0, r1;
  getrusage(RUSAGE_THREAD, &r0);
  const auto t0 = std::chrono::steady_clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  uint64_t sent = 0, refused = 0;
  size_t next = 0;
  while (std::chrono::steady_clock::now() < end) {
    for (int b = 0; b < batch; ++b) {
      // What a steady transmission does: encode the session's packet, patch, queue.
      strobe::bfd::ControlPacket& p = packets[next];
      const size_t n = *strobe::bfd::Encode(p, payload);
      BfdFrame& frame = frames[next];
      (void)frame.Patch({payload, n});
      if ((*tx)->Queue(frame.bytes())) {
        ++sent;
      } else {
        ++refused;
      }
      next = next + 1 == frames.size() ? 0 : next + 1;
    }
    (*tx)->Flush();
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  getrusage(RUSAGE_THREAD, &r1);
  while ((*tx)->in_flight() > 0 && (*tx)->Flush() >= 0) {
    if ((*tx)->counters().completed >= sent) break;
  }
  const std::vector<uint64_t> k = (*xdp)->Counters();
  const double user = CpuSeconds(r1.ru_utime) - CpuSeconds(r0.ru_utime);
  const double sys = CpuSeconds(r1.ru_stime) - CpuSeconds(r0.ru_stime);
  // Frames the peer's XDP program saw, and how many of them it dropped as for no session.
  const auto seen = static_cast<unsigned long long>(k[STROBE_BFD_DROP_NO_SESSION] +
                                                    k[STROBE_XDP_ABSORBED] + k[STROBE_XDP_TO_USER]);
  const auto no_session = static_cast<unsigned long long>(k[STROBE_BFD_DROP_NO_SESSION]);
  const auto sent_ull = static_cast<unsigned long long>(sent);
  const auto refused_ull = static_cast<unsigned long long>(refused);
  const double per_ms = sent / elapsed / 1e3;
  const double ns_per_frame = elapsed * 1e9 / static_cast<double>(sent);
  const double user_pct = 100 * user / elapsed;
  const double sys_pct = 100 * sys / elapsed;
  if (json) {
    std::printf(
        "{\"bench\": \"af_xdp_tx_bench\", \"sessions\": %d, \"batch\": %d, \"core\": %d, "
        "\"seconds\": %.3f, \"sent\": %llu, \"frames_per_ms\": %.1f, \"ns_per_frame\": %.1f, "
        "\"user_pct\": %.1f, \"sys_pct\": %.1f, \"refused\": %llu, \"peer_xdp_seen\": %llu, "
        "\"peer_xdp_no_session\": %llu}\n",
        sessions, batch, core, elapsed, sent_ull, per_ms, ns_per_frame, user_pct, sys_pct,
        refused_ull, seen, no_session);
  } else {
    std::printf(
        "%d sessions, batch %d, core %d, %.1f s: %llu frames sent = %.0f frames/ms "
        "(%.0f ns/frame; thread CPU user %.0f%% sys %.0f%%), %llu refused (ring full); "
        "peer XDP saw %llu (dropped as no session: %llu)\n",
        sessions, batch, core, elapsed, sent_ull, per_ms, ns_per_frame, user_pct, sys_pct,
        refused_ull, seen, no_session);
  }
  Shell("ip link del txa");
  return 0;
}
