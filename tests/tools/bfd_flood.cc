// strobe-bfd-flood: floods a link with malformed and near-valid BFD control packets (RFC 5880,
// RFC 5881 single-hop, IPv4) as fast as one core can, for fault-injection tests. Frames are
// built here from scratch (Ethernet, IPv4, UDP to port 3784, BFD) into a pool and sent round
// robin over an AF_PACKET socket with sendmmsg(2), bypassing the qdisc.
//
//   strobe-bfd-flood --interface IF --dst_mac MAC --src IP --dst IP --kind KIND
//       [--sessions_file FILE] [--spoof_src IP] [--seconds S | --count N] [--batch N]
//
// One kind per run; prints one JSON line: {"kind", "sent", "refused", "first_errno", "seconds",
// "pps"}. `sent` counts frames the device took; `refused` those it dropped at once (ENOBUFS: a
// veth whose peer's queue is full), which are sent again and not counted in `sent`. Kinds, with
// the RFC 5880 section 6.8.6 (or RFC 5881 section 5) rule each one breaks:
//   bad_ttl            TTL 254 on a single-hop packet (RFC 5881 s5)
//   short              20-byte UDP payload: shorter than the mandatory section
//   bad_version        version 2
//   bad_length_long    Length 40 with a 24-byte payload (Length > payload)
//   bad_length_short   Length 16 (< 24)
//   zero_mult          Detect Mult 0
//   multipoint         M bit set
//   zero_my            My Discriminator 0
//   zero_your          Your Discriminator 0 while state is Up
//   unknown_your       Your Discriminator that names no session
//   unknown_bootstrap  a valid Down packet (Your Discriminator 0) from --spoof_src: no session
//   wrong_source       a session's own discriminators, from --spoof_src
//   auth_mismatch      A bit and a keyed MD5 section on a session without authentication
//   auth_malformed     A bit and an authentication section whose length is wrong
//   bad_udp_length     UDP length 8 bytes larger than the IP payload, for no session (the
//                      kernel drops it; the XDP program reads what is there)
//   bad_udp_checksum   a valid-looking bootstrap packet from --spoof_src with a wrong UDP
//                      checksum (the kernel drops it; XDP does not check UDP checksums)
//   random             0-64 random bytes
// --sessions_file lists real sessions, one per line: "YOUR MY DST" (Your Discriminator = the
// receiver's local discriminator, My = the sender's, DST = the receiver's address of that
// session). The kinds that carry discriminators cycle through them, so that each packet claims a
// real session at its own address; without the file they use made-up values and --dst.

#include <arpa/inet.h>
#include <gflags/gflags.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

DEFINE_string(interface, "", "Interface to send on (in the current network namespace).");
DEFINE_string(dst_mac, "", "Destination MAC (the receiver's interface), aa:bb:cc:dd:ee:ff.");
DEFINE_string(src, "", "IPv4 source address.");
DEFINE_string(dst, "", "IPv4 destination address.");
DEFINE_string(spoof_src, "", "Source of unknown_bootstrap, wrong_source, bad_udp_checksum.");
DEFINE_string(kind, "", "What to send (see the top of the source).");
DEFINE_string(sessions_file, "", "Real sessions: lines of YOUR MY DST (see the top).");
DEFINE_double(seconds, 1.0, "How long to send (ignored with --count).");
DEFINE_uint64(count, 0, "Send exactly this many frames instead of for --seconds.");
DEFINE_uint32(batch, 256, "Frames per sendmmsg call.");
DEFINE_uint32(seed, 1, "Seed of the random kinds and source ports.");

namespace {

constexpr size_t kPool = 4096;  // distinct frames, sent round robin
constexpr uint16_t kBfdPort = 3784;
constexpr uint8_t kStateDown = 1;
constexpr uint8_t kStateUp = 3;

struct Disc {
  uint32_t your = 0;
  uint32_t my = 0;
  in_addr dst{};
};

struct Frame {
  std::vector<uint8_t> bytes;
};

uint32_t Sum16(const uint8_t* p, size_t n, uint32_t sum) {
  for (; n > 1; p += 2, n -= 2) sum += static_cast<uint32_t>(p[0] << 8 | p[1]);
  if (n == 1) sum += static_cast<uint32_t>(p[0] << 8);
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// The 24-byte mandatory section (RFC 5880 section 4.1), timers 1 s.
std::vector<uint8_t> Bfd(uint8_t version, uint8_t state, uint8_t flags, uint8_t mult,
                         uint8_t length, uint32_t my, uint32_t your) {
  std::vector<uint8_t> b(24);
  b[0] = static_cast<uint8_t>(version << 5);
  b[1] = static_cast<uint8_t>(state << 6 | flags);
  b[2] = mult;
  b[3] = length;
  Put32(&b[4], my);
  Put32(&b[8], your);
  Put32(&b[12], 1000000);
  Put32(&b[16], 1000000);
  Put32(&b[20], 0);
  return b;
}

struct Addrs {
  std::array<uint8_t, 6> src_mac{};
  std::array<uint8_t, 6> dst_mac{};
  in_addr src{};
  in_addr dst{};
};

// Ethernet + IPv4 + UDP around `payload`. `udp_len_extra` lies in the UDP length field;
// `bad_checksum` spoils the UDP checksum.
Frame Wrap(const Addrs& a, in_addr src, in_addr dst, uint8_t ttl, uint16_t sport,
           const std::vector<uint8_t>& payload, int udp_len_extra, bool bad_checksum) {
  Frame f;
  f.bytes.resize(14 + 20 + 8 + payload.size());
  uint8_t* p = f.bytes.data();
  memcpy(p, a.dst_mac.data(), 6);
  memcpy(p + 6, a.src_mac.data(), 6);
  Put16(p + 12, ETH_P_IP);
  uint8_t* ip = p + 14;
  ip[0] = 0x45;
  ip[1] = 0xc0;  // DSCP CS6, as BFD is sent
  Put16(ip + 2, static_cast<uint16_t>(20 + 8 + payload.size()));
  Put16(ip + 4, sport);   // identification: anything
  Put16(ip + 6, 0x4000);  // DF
  ip[8] = ttl;
  ip[9] = IPPROTO_UDP;
  memcpy(ip + 12, &src, 4);
  memcpy(ip + 16, &dst, 4);
  Put16(ip + 10, Fold(Sum16(ip, 20, 0)));
  uint8_t* udp = ip + 20;
  const uint16_t udp_len = static_cast<uint16_t>(8 + payload.size());
  Put16(udp, sport);
  Put16(udp + 2, kBfdPort);
  Put16(udp + 4, static_cast<uint16_t>(udp_len + udp_len_extra));
  memcpy(udp + 8, payload.data(), payload.size());
  // Pseudo-header (RFC 768) over the true length; a lying length gets the same checksum.
  uint32_t sum = Sum16(ip + 12, 8, 0) + IPPROTO_UDP + udp_len;
  sum = Sum16(udp, udp_len, sum);
  uint16_t csum = Fold(sum);
  if (csum == 0) csum = 0xffff;
  if (bad_checksum) csum = static_cast<uint16_t>(csum ^ 0x5a5a);
  Put16(udp + 6, csum);
  return f;
}

bool ParseMac(const std::string& text, std::array<uint8_t, 6>* mac) {
  unsigned v[6];
  if (sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) {
    return false;
  }
  for (int i = 0; i < 6; ++i) (*mac)[i] = static_cast<uint8_t>(v[i]);
  return true;
}

bool ReadSessions(const std::string& path, std::vector<Disc>* out) {
  if (path.empty()) return true;
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) return false;
  unsigned long your = 0, my = 0;
  char dst[64];
  bool ok = true;
  while (fscanf(f, "%lu %lu %63s", &your, &my, dst) == 3) {
    Disc d{static_cast<uint32_t>(your), static_cast<uint32_t>(my), {}};
    ok = ok && inet_pton(AF_INET, dst, &d.dst) == 1;
    out->push_back(d);
  }
  ok = ok && feof(f);
  fclose(f);
  return ok;
}

// The pool of frames of one kind; empty with an unknown kind.
std::vector<Frame> BuildPool(const std::string& kind, const Addrs& a, in_addr spoof,
                             const std::vector<Disc>& sessions, std::mt19937& rng) {
  std::vector<Frame> pool;
  auto disc = [&](size_t i) -> Disc {
    if (!sessions.empty()) return sessions[i % sessions.size()];
    return {static_cast<uint32_t>(rng() | 1), static_cast<uint32_t>(rng() | 1), a.dst};
  };
  // Never a real discriminator (the real ones are in --sessions_file).
  auto unknown_your = [&]() {
    uint32_t your;
    do {
      your = static_cast<uint32_t>(rng()) | 1;
    } while (std::any_of(sessions.begin(), sessions.end(),
                         [&](const Disc& s) { return s.your == your; }));
    return your;
  };
  for (size_t i = 0; i < kPool; ++i) {
    const uint16_t sport = static_cast<uint16_t>(49152 + (i * 7 + rng()) % 16384);
    const Disc d = disc(i);
    in_addr src = a.src;
    uint8_t ttl = 255;
    int udp_extra = 0;
    bool bad_checksum = false;
    std::vector<uint8_t> payload;
    if (kind == "bad_ttl") {
      payload = Bfd(1, kStateUp, 0, 3, 24, d.my, d.your);
      ttl = 254;
    } else if (kind == "short") {
      payload = Bfd(1, kStateUp, 0, 3, 24, d.my, d.your);
      payload.resize(20);
    } else if (kind == "bad_version") {
      payload = Bfd(2, kStateUp, 0, 3, 24, d.my, d.your);
    } else if (kind == "bad_length_long") {
      payload = Bfd(1, kStateUp, 0, 3, 40, d.my, d.your);
    } else if (kind == "bad_length_short") {
      payload = Bfd(1, kStateUp, 0, 3, 16, d.my, d.your);
    } else if (kind == "zero_mult") {
      payload = Bfd(1, kStateUp, 0, 0, 24, d.my, d.your);
    } else if (kind == "multipoint") {
      payload = Bfd(1, kStateUp, 0x01, 3, 24, d.my, d.your);
    } else if (kind == "zero_my") {
      payload = Bfd(1, kStateUp, 0, 3, 24, 0, d.your);
    } else if (kind == "zero_your") {
      payload = Bfd(1, kStateUp, 0, 3, 24, d.my, 0);
    } else if (kind == "unknown_your") {
      payload = Bfd(1, kStateUp, 0, 3, 24, d.my, unknown_your());
    } else if (kind == "unknown_bootstrap") {
      payload = Bfd(1, kStateDown, 0, 3, 24, static_cast<uint32_t>(rng()) | 1, 0);
      src = spoof;
    } else if (kind == "wrong_source") {
      payload = Bfd(1, kStateUp, 0, 3, 24, d.my, d.your);
      src = spoof;
    } else if (kind == "auth_mismatch") {
      // A bit (0x04) with a keyed MD5 section (RFC 5880 section 4.3): type 2, length 24.
      payload = Bfd(1, kStateUp, 0x04, 3, 48, d.my, d.your);
      std::vector<uint8_t> auth(24, 0);
      auth[0] = 2;
      auth[1] = 24;
      auth[2] = 1;
      Put32(&auth[4], static_cast<uint32_t>(i));
      payload.insert(payload.end(), auth.begin(), auth.end());
    } else if (kind == "auth_malformed") {
      // Keyed MD5 whose Auth Len says 10: the section's length is wrong for its type.
      payload = Bfd(1, kStateUp, 0x04, 3, 34, d.my, d.your);
      std::vector<uint8_t> auth(10, 0);
      auth[0] = 2;
      auth[1] = 10;
      auth[2] = 1;
      payload.insert(payload.end(), auth.begin(), auth.end());
    } else if (kind == "bad_udp_length") {
      payload = Bfd(1, kStateUp, 0, 3, 24, d.my, unknown_your());
      udp_extra = 8;
    } else if (kind == "bad_udp_checksum") {
      payload = Bfd(1, kStateDown, 0, 3, 24, static_cast<uint32_t>(rng()) | 1, 0);
      src = spoof;
      bad_checksum = true;
    } else if (kind == "random") {
      payload.resize(rng() % 65);
      for (auto& byte : payload) byte = static_cast<uint8_t>(rng());
    } else {
      return {};
    }
    pool.push_back(Wrap(a, src, d.dst, ttl, sport, payload, udp_extra, bad_checksum));
  }
  return pool;
}

void PrintResult(const std::string& kind, uint64_t sent, uint64_t refused, int first_errno,
                 double seconds) {
  printf(
      "{\"kind\": \"%s\", \"sent\": %llu, \"refused\": %llu, \"first_errno\": %d, "
      "\"seconds\": %.6f, \"pps\": %.0f}\n",
      kind.c_str(), static_cast<unsigned long long>(sent), static_cast<unsigned long long>(refused),
      first_errno, seconds, seconds > 0 ? static_cast<double>(sent) / seconds : 0.0);
  fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "strobe-bfd-flood --interface IF --dst_mac MAC --src IP --dst IP --kind KIND");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  Addrs a;
  in_addr spoof{};
  std::vector<Disc> sessions;
  if (FLAGS_interface.empty() || !ParseMac(FLAGS_dst_mac, &a.dst_mac) ||
      inet_pton(AF_INET, FLAGS_src.c_str(), &a.src) != 1 ||
      inet_pton(AF_INET, FLAGS_dst.c_str(), &a.dst) != 1 ||
      !ReadSessions(FLAGS_sessions_file, &sessions) || FLAGS_batch == 0 || FLAGS_batch > 1024) {
    fprintf(stderr,
            "strobe-bfd-flood: need --interface, --dst_mac, --src, --dst, --kind "
            "(see --help); --sessions_file of YOUR MY DST lines; --batch 1..1024\n");
    return 2;
  }
  if (!FLAGS_spoof_src.empty() && inet_pton(AF_INET, FLAGS_spoof_src.c_str(), &spoof) != 1) {
    fprintf(stderr, "strobe-bfd-flood: bad --spoof_src\n");
    return 2;
  }
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // protocol 0: send only
  if (fd < 0) {
    perror("strobe-bfd-flood: socket(AF_PACKET)");
    return 1;
  }
  ifreq ifr{};
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", FLAGS_interface.c_str());
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
    perror("strobe-bfd-flood: SIOCGIFHWADDR");
    return 1;
  }
  memcpy(a.src_mac.data(), ifr.ifr_hwaddr.sa_data, 6);
  const int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
  int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_IP);
  ll.sll_ifindex = static_cast<int>(if_nametoindex(FLAGS_interface.c_str()));
  ll.sll_halen = 6;
  memcpy(ll.sll_addr, a.dst_mac.data(), 6);
  if (ll.sll_ifindex == 0) {
    perror("strobe-bfd-flood: if_nametoindex");
    return 1;
  }

  std::mt19937 rng(FLAGS_seed);
  std::vector<Frame> pool = BuildPool(FLAGS_kind, a, spoof, sessions, rng);
  if (pool.empty()) {
    fprintf(stderr, "strobe-bfd-flood: unknown --kind %s\n", FLAGS_kind.c_str());
    return 2;
  }
  std::vector<iovec> iov(pool.size());
  std::vector<mmsghdr> msgs(pool.size());
  for (size_t i = 0; i < pool.size(); ++i) {
    iov[i] = {pool[i].bytes.data(), pool[i].bytes.size()};
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_name = &ll;
    msgs[i].msg_hdr.msg_namelen = sizeof(ll);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point until = start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(FLAGS_seconds));
  uint64_t sent = 0;
  uint64_t refused = 0;  // frames the device dropped (ENOBUFS): not sent, tried again
  int first_errno = 0;
  size_t next = 0;
  while (FLAGS_count > 0 ? sent < FLAGS_count : Clock::now() < until) {
    size_t n = std::min<size_t>(FLAGS_batch, pool.size() - next);
    if (FLAGS_count > 0) n = std::min<size_t>(n, FLAGS_count - sent);
    const int r = sendmmsg(fd, &msgs[next], static_cast<unsigned>(n), 0);
    if (r < 0) {
      if (first_errno == 0) first_errno = errno;
      if (errno == ENOBUFS) ++refused;
      if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) break;
      continue;
    }
    // A blocking sendmmsg stops early only when a message failed; its error is not reported
    // (sendmmsg(2)), but the device counted the frame as dropped: count it as refused too.
    if (static_cast<size_t>(r) < n) ++refused;
    sent += static_cast<uint64_t>(r);
    next = (next + static_cast<size_t>(r)) % pool.size();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  close(fd);
  PrintResult(FLAGS_kind, sent, refused, first_errno, seconds);
  return sent == 0 ? 1 : 0;
}
