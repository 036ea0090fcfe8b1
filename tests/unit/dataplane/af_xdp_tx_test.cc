// AfXdpTx over a real veth pair. The test process moves itself into a private network namespace
// (unshare(CLONE_NEWNET)) before making the pair, so nothing it makes is visible outside and all
// of it disappears with the process; a guard still deletes the pair on every exit path. Needs
// root and fails (never skips) without it.

#include "dataplane/af_xdp_tx.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dataplane/bfd_frame.h"
#include "gtest/gtest.h"
#include "tests/unit/dataplane/test_frames.h"

namespace strobe::dataplane {
namespace {

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

int Shell(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// Deletes the veth pair when it goes out of scope (deleting one end removes both).
class VethGuard {
 public:
  explicit VethGuard(std::string name) : name_(std::move(name)) {}
  ~VethGuard() { Shell("ip link del " + name_); }

 private:
  std::string name_;
};

class AfXdpTxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string pid = std::to_string(getpid());
    a_ = "sxt" + pid + "a";
    b_ = "sxt" + pid + "b";
    if (unshare(CLONE_NEWNET) != 0) {
      setup_error_ = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
      return;
    }
    // `ip` acts on the namespace of the calling process, which is now the private one.
    if (Shell("ip link set lo up") != 0 ||
        Shell("ip link add " + a_ + " type veth peer name " + b_) != 0) {
      setup_error_ = "cannot create veth pair " + a_ + "/" + b_;
      return;
    }
    guard_ = new VethGuard(a_);
    if (Shell("ip link set " + a_ + " up") != 0 || Shell("ip link set " + b_ + " up") != 0 ||
        Shell("ip addr add 198.18.0.1/30 dev " + a_) != 0 ||
        Shell("ip addr add 198.18.0.2/30 dev " + b_) != 0) {
      setup_error_ = "cannot bring up veth pair";
    }
  }
  static void TearDownTestSuite() {
    delete guard_;
    guard_ = nullptr;
  }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static std::string a_, b_, setup_error_;
  static VethGuard* guard_;
};
std::string AfXdpTxTest::a_, AfXdpTxTest::b_, AfXdpTxTest::setup_error_;
VethGuard* AfXdpTxTest::guard_ = nullptr;

// An AF_PACKET socket receiving every frame that arrives on `ifname`.
class PacketSocket {
 public:
  explicit PacketSocket(const std::string& ifname) {
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd_ < 0) return;
    int rcvbuf = 64 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~PacketSocket() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  // Next incoming frame whose destination MAC is `dst`, or empty after `timeout_ms` of silence.
  std::vector<uint8_t> Receive(const uint8_t* dst, int timeout_ms) {
    std::vector<uint8_t> buf(4096);
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return {};
      sockaddr_ll from{};
      socklen_t fl = sizeof(from);
      const ssize_t n =
          recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 14 || from.sll_pkttype == PACKET_OUTGOING) continue;
      if (std::memcmp(buf.data(), dst, 6) != 0) continue;
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
  }

 private:
  int fd_ = -1;
};

// Verifies the IP header checksum (IPv4) and the UDP checksum of a received frame.
void ExpectValidChecksums(const std::vector<uint8_t>& f) {
  ASSERT_GE(f.size(), 14u + 20 + 8);
  const uint8_t* ip = f.data() + 14;
  const size_t ip_len = f.size() - 14;
  if (Get16(&f[12]) == 0x0800) {
    EXPECT_EQ(FoldChecksum(OnesSum({ip, 20})), 0) << "IPv4 header checksum";
  } else {
    ASSERT_EQ(Get16(&f[12]), 0x86dd);
  }
  const size_t udp_off = Get16(&f[12]) == 0x0800 ? 20 : 40;
  // Sum over pseudo header and the whole datagram including its checksum must be 0xffff.
  uint32_t sum = Get16(&f[12]) == 0x0800 ? OnesSum({ip + 12, 8}) : OnesSum({ip + 8, 32});
  sum += 17;
  sum += Get16(ip + udp_off + 4);
  sum = OnesSum({ip + udp_off, ip_len - udp_off}, sum);
  EXPECT_EQ(FoldChecksum(sum), 0) << "UDP checksum";
  EXPECT_NE(Get16(ip + udp_off + 6), 0) << "UDP checksum must not be 0";
}

TEST_F(AfXdpTxTest, SendsThousandBfdFramesIntact) {
  PacketSocket rx(b_);
  ASSERT_TRUE(rx.ok()) << std::strerror(errno);
  auto tx = AfXdpTx::Open({.ifname = a_, .queue_id = 0, .frame_count = 4096, .frame_size = 2048});
  ASSERT_TRUE(tx.ok()) << tx.status();
  std::printf("AF_XDP TX socket: need_wakeup=%d fill_ring_required=%d\n", (*tx)->need_wakeup(),
              (*tx)->fill_ring_required());

  std::mt19937 rng(42);
  auto v4 = BfdFrame::Build(TestFrameSpec(false), std::vector<uint8_t>(24));
  auto v6 = BfdFrame::Build(TestFrameSpec(true), std::vector<uint8_t>(24));
  ASSERT_TRUE(v4.ok() && v6.ok());
  std::vector<std::vector<uint8_t>> sent;
  constexpr int kFrames = 1000;
  for (int i = 0; i < kFrames; ++i) {
    BfdFrame& f = i % 2 == 0 ? *v4 : *v6;
    // Mostly 24-byte payloads (the incremental path), some with an auth section.
    const size_t len = i % 7 == 0 ? 24 + rng() % 29 : 24;
    std::vector<uint8_t> p(len);
    for (auto& b : p) b = static_cast<uint8_t>(rng());
    p[4] = static_cast<uint8_t>(i >> 8);  // My Discriminator carries the sequence number
    p[5] = static_cast<uint8_t>(i);
    ASSERT_TRUE(f.Patch(p).ok());
    sent.emplace_back(f.bytes().begin(), f.bytes().end());
    ASSERT_TRUE((*tx)->Queue(f.bytes()));
    if (i % 64 == 63) (*tx)->Flush();
  }
  for (int i = 0; i < 1000 && (*tx)->in_flight() > 0; ++i) {
    (*tx)->Flush();
    usleep(1000);
  }
  EXPECT_EQ((*tx)->in_flight(), 0u);
  const auto& c = (*tx)->counters();
  EXPECT_EQ(c.queued, static_cast<uint64_t>(kFrames));
  EXPECT_EQ(c.published, static_cast<uint64_t>(kFrames));
  EXPECT_EQ(c.completed, static_cast<uint64_t>(kFrames));
  EXPECT_EQ(c.ring_full, 0u);
  EXPECT_EQ(c.kick_errors, 0u);

  const std::array<uint8_t, 6> dst_mac = TestFrameSpec(false).dst_mac;
  const uint8_t* dst = dst_mac.data();
  for (int i = 0; i < kFrames; ++i) {
    std::vector<uint8_t> got = rx.Receive(dst, 2000);
    ASSERT_FALSE(got.empty()) << "frame " << i << " missing";
    ASSERT_EQ(got, sent[i]) << "frame " << i;
    ExpectValidChecksums(got);
    if (HasFailure()) return;
  }
  EXPECT_TRUE(rx.Receive(dst, 100).empty()) << "unexpected extra frame";
}

TEST_F(AfXdpTxTest, QueueRefusesWhenFullAndRecovers) {
  auto tx = AfXdpTx::Open({.ifname = a_, .queue_id = 0, .frame_count = 64, .frame_size = 2048});
  ASSERT_TRUE(tx.ok()) << tx.status();
  auto f = BfdFrame::Build(TestFrameSpec(false), std::vector<uint8_t>(24));
  ASSERT_TRUE(f.ok());
  int queued = 0;
  while ((*tx)->Queue(f->bytes())) ++queued;
  EXPECT_EQ(queued, 64);
  EXPECT_EQ((*tx)->counters().ring_full, 1u);
  EXPECT_FALSE((*tx)->Queue(std::vector<uint8_t>(4096)));  // longer than a frame
  for (int i = 0; i < 1000 && (*tx)->in_flight() > 0; ++i) {
    (*tx)->Flush();
    usleep(1000);
  }
  EXPECT_EQ((*tx)->in_flight(), 0u);
  EXPECT_TRUE((*tx)->Queue(f->bytes()));
}

TEST_F(AfXdpTxTest, OpenFailsOnMissingInterface) {
  auto tx = AfXdpTx::Open({.ifname = "sxt-none"});
  EXPECT_FALSE(tx.ok());
  auto bad = AfXdpTx::Open({.ifname = a_, .queue_id = 0, .frame_count = 100});
  EXPECT_FALSE(bad.ok());
}

// Informational: frames per ms one thread builds (patches), queues and flushes over veth in copy
// mode. No timed assertion.
TEST_F(AfXdpTxTest, Microbenchmark) {
  auto tx = AfXdpTx::Open({.ifname = a_, .queue_id = 0, .frame_count = 4096, .frame_size = 2048});
  ASSERT_TRUE(tx.ok()) << tx.status();
  auto f = BfdFrame::Build(TestFrameSpec(false), std::vector<uint8_t>(24));
  ASSERT_TRUE(f.ok());
  std::vector<uint8_t> p(24);
  constexpr int kFrames = 200000;
  constexpr int kBatch = 64;
  int sent = 0;
  const auto start = std::chrono::steady_clock::now();
  while (sent < kFrames) {
    for (int j = 0; j < kBatch && sent < kFrames; ++j) {
      p[4] = static_cast<uint8_t>(sent >> 8);
      p[5] = static_cast<uint8_t>(sent);
      (void)f->Patch(p);
      if (!(*tx)->Queue(f->bytes())) break;
      ++sent;
    }
    (*tx)->Flush();
  }
  for (int i = 0; i < 1000 && (*tx)->in_flight() > 0; ++i) (*tx)->Flush();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const auto& c = (*tx)->counters();
  std::printf(
      "AF_XDP copy-mode TX over veth: %d frames in %.1f ms = %.0f frames/ms "
      "(batch %d, kicks %llu, ring_full %llu, completed %llu)\n",
      kFrames, ms, kFrames / ms, kBatch, static_cast<unsigned long long>(c.kicks),
      static_cast<unsigned long long>(c.ring_full), static_cast<unsigned long long>(c.completed));
  EXPECT_EQ(c.queued, static_cast<uint64_t>(kFrames));
}

}  // namespace
}  // namespace strobe::dataplane
