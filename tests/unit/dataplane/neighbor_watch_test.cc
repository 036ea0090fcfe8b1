// NeighborWatch against the real kernel: the test process moves into a private network namespace
// (unshare(CLONE_NEWNET)), makes a veth pair and changes neighbour entries and MAC addresses with
// `ip`, and checks what the watch reports. Needs root; fails (never skips) without it.

#include "dataplane/neighbor_watch.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace strobe::dataplane {
namespace {

int Shell(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

MacAddress Mac(uint8_t last) { return {0x02, 0x00, 0x5e, 0x00, 0x53, last}; }

class NeighborWatchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (unshare(CLONE_NEWNET) != 0) {
      setup_error_ = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
      return;
    }
    if (Shell("ip link add nwa type veth peer name nwb") != 0 ||
        Shell("ip link set nwa address 02:00:5e:00:53:01") != 0 ||
        Shell("ip link set nwa up") != 0 || Shell("ip link set nwb up") != 0 ||
        Shell("ip addr add 198.18.0.1/24 dev nwa") != 0 ||
        Shell("ip -6 addr add 2001:db8::1/64 dev nwa nodad") != 0 ||
        Shell("ip neigh add 198.18.0.2 lladdr 02:00:5e:00:53:02 dev nwa nud permanent") != 0) {
      setup_error_ = "cannot set up the veth pair and its neighbour";
    }
  }
  static void TearDownTestSuite() { Shell("ip link del nwa"); }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    absl::StatusOr<std::unique_ptr<NeighborWatch>> watch = NeighborWatch::Open();
    ASSERT_TRUE(watch.ok()) << watch.status();
    watch_ = std::move(*watch);
    ifindex_ = static_cast<int>(if_nametoindex("nwa"));
  }

  // Polls until an update satisfies `match` or 5 s pass (notifications are asynchronous).
  std::optional<NeighborUpdate> WaitFor(const std::function<bool(const NeighborUpdate&)>& match) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      for (const NeighborUpdate& u : watch_->Poll()) {
        if (match(u)) return u;
      }
      usleep(1000);
    }
    return std::nullopt;
  }

  std::function<bool(const NeighborUpdate&)> NeighborOf(const std::string& address) {
    const net::IpAddress a = *net::IpAddress::Parse(address);
    return [a, this](const NeighborUpdate& u) {
      return u.kind == NeighborUpdate::Kind::kNeighbor && u.address == a && u.ifindex == ifindex_;
    };
  }

  static std::string setup_error_;
  std::unique_ptr<NeighborWatch> watch_;
  int ifindex_ = 0;
};
std::string NeighborWatchTest::setup_error_;

TEST_F(NeighborWatchTest, DumpHasTheLinkAndTheExistingNeighbour) {
  bool link = false, neighbor = false;
  for (const NeighborUpdate& u : watch_->Poll()) {
    if (u.ifindex != ifindex_) continue;
    if (u.kind == NeighborUpdate::Kind::kLink) link = u.usable && u.mac == Mac(1);
    if (u.kind == NeighborUpdate::Kind::kNeighbor &&
        u.address == *net::IpAddress::Parse("198.18.0.2")) {
      neighbor = u.usable && u.mac == Mac(2);
    }
  }
  EXPECT_TRUE(link);
  EXPECT_TRUE(neighbor);
}

TEST_F(NeighborWatchTest, ReportsANewNeighbourAndAChangedOne) {
  watch_->Poll();
  ASSERT_EQ(Shell("ip neigh replace 198.18.0.3 lladdr 02:00:5e:00:53:03 dev nwa nud reachable"), 0);
  std::optional<NeighborUpdate> u = WaitFor(NeighborOf("198.18.0.3"));
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(u->usable);
  EXPECT_EQ(u->mac, Mac(3));

  ASSERT_EQ(Shell("ip neigh replace 198.18.0.3 lladdr 02:00:5e:00:53:04 dev nwa nud stale"), 0);
  u = WaitFor(NeighborOf("198.18.0.3"));
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(u->usable);  // STALE still names a usable address
  EXPECT_EQ(u->mac, Mac(4));
}

TEST_F(NeighborWatchTest, Ipv6Neighbour) {
  watch_->Poll();
  ASSERT_EQ(Shell("ip -6 neigh replace 2001:db8::2 lladdr 02:00:5e:00:53:06 dev nwa nud reachable"),
            0);
  std::optional<NeighborUpdate> u = WaitFor(NeighborOf("2001:db8::2"));
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(u->usable);
  EXPECT_EQ(u->mac, Mac(6));
}

TEST_F(NeighborWatchTest, FailedResolutionIsUnusable) {
  watch_->Poll();
  ASSERT_EQ(Shell("ip neigh replace 198.18.0.5 lladdr 02:00:5e:00:53:05 dev nwa nud reachable"), 0);
  ASSERT_TRUE(WaitFor(NeighborOf("198.18.0.5")).has_value());
  ASSERT_EQ(Shell("ip neigh replace 198.18.0.5 dev nwa nud failed"), 0);
  std::optional<NeighborUpdate> u = WaitFor(NeighborOf("198.18.0.5"));
  ASSERT_TRUE(u.has_value());
  EXPECT_FALSE(u->usable);
}

// `ip neigh del` first fails the entry (an RTM_NEWNEIGH in state FAILED), then deletes it: the
// session falls back to its kernel socket, which resolves the address again. (A deletion alone,
// as the garbage collector does to a STALE entry nobody uses, changes nothing: see the
// RTM_DELNEIGH case of the hand-built test below.)
TEST_F(NeighborWatchTest, AdministrativeDeletionMakesItUnusable) {
  watch_->Poll();
  ASSERT_EQ(Shell("ip neigh replace 198.18.0.7 lladdr 02:00:5e:00:53:07 dev nwa nud reachable"), 0);
  ASSERT_TRUE(WaitFor(NeighborOf("198.18.0.7")).has_value());
  ASSERT_EQ(Shell("ip neigh del 198.18.0.7 dev nwa"), 0);
  std::optional<NeighborUpdate> u = WaitFor(NeighborOf("198.18.0.7"));
  ASSERT_TRUE(u.has_value());
  EXPECT_FALSE(u->usable);
}

TEST_F(NeighborWatchTest, LinkAddressChange) {
  watch_->Poll();
  ASSERT_EQ(Shell("ip link set nwa address 02:00:5e:00:53:09"), 0);
  std::optional<NeighborUpdate> link = WaitFor([this](const NeighborUpdate& u) {
    return u.kind == NeighborUpdate::Kind::kLink && u.ifindex == ifindex_ && u.mac == Mac(9);
  });
  EXPECT_TRUE(link.has_value());
  ASSERT_EQ(Shell("ip link set nwa address 02:00:5e:00:53:01"), 0);
}

// Any process may send to the watch's netlink port id. A forged "neighbour moved" must not
// redirect a session's frames: only the kernel's datagrams are read. The forged datagrams are
// queued before the kernel's notification of a real change, so once that one is seen the forged
// ones have been read (and must have been dropped).
TEST_F(NeighborWatchTest, IgnoresDatagramsNotSentByTheKernel) {
  watch_->Poll();
  sockaddr_nl watch_address{};
  socklen_t length = sizeof(watch_address);
  ASSERT_EQ(getsockname(watch_->fd(), reinterpret_cast<sockaddr*>(&watch_address), &length), 0);
  const int forger = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  ASSERT_GE(forger, 0);

  alignas(nlmsghdr) char buffer[256] = {};
  nlmsghdr* m = mnl_nlmsg_put_header(buffer);
  m->nlmsg_type = RTM_NEWNEIGH;
  auto* nd = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(ndmsg)));
  nd->ndm_family = AF_INET;
  nd->ndm_ifindex = ifindex_;
  nd->ndm_state = NUD_REACHABLE;
  const uint8_t dst[4] = {198, 18, 0, 2};  // the permanent neighbour of the fixture
  const uint8_t lladdr[6] = {2, 0, 0x5e, 0, 0x53, 0x66};
  mnl_attr_put(m, NDA_DST, sizeof(dst), dst);
  mnl_attr_put(m, NDA_LLADDR, sizeof(lladdr), lladdr);
  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  to.nl_pid = watch_address.nl_pid;
  ASSERT_EQ(sendto(forger, buffer, m->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
            static_cast<ssize_t>(m->nlmsg_len));
  // And one whose length field, read as a signed int, is negative (the walk's old flaw).
  const uint32_t real_length = m->nlmsg_len;
  m->nlmsg_len = 0x80000000u;
  ASSERT_EQ(sendto(forger, buffer, real_length, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
            static_cast<ssize_t>(real_length));
  close(forger);

  ASSERT_EQ(Shell("ip neigh replace 198.18.0.11 lladdr 02:00:5e:00:53:0b dev nwa nud reachable"),
            0);
  const net::IpAddress forged = *net::IpAddress::Parse("198.18.0.2");
  bool forged_seen = false;
  std::optional<NeighborUpdate> real = WaitFor([&](const NeighborUpdate& u) {
    if (u.address == forged) forged_seen = true;
    return NeighborOf("198.18.0.11")(u);
  });
  EXPECT_TRUE(real.has_value());
  EXPECT_FALSE(forged_seen);
}

// Hand-built messages for what the kernel above will not easily produce.
TEST(ParseNeighborMessageTest, IgnoresProxyEntriesAndOtherFamilies) {
  alignas(nlmsghdr) char buffer[256] = {};
  nlmsghdr* m = mnl_nlmsg_put_header(buffer);
  m->nlmsg_type = RTM_NEWNEIGH;
  auto* nd = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(ndmsg)));
  nd->ndm_family = AF_INET;
  nd->ndm_ifindex = 7;
  nd->ndm_state = NUD_REACHABLE;
  const uint8_t dst[4] = {198, 18, 0, 2};
  const uint8_t lladdr[6] = {2, 0, 0x5e, 0, 0x53, 2};
  mnl_attr_put(m, NDA_DST, sizeof(dst), dst);
  mnl_attr_put(m, NDA_LLADDR, sizeof(lladdr), lladdr);
  NeighborUpdate u;
  ASSERT_TRUE(ParseNeighborMessage(m, &u));
  EXPECT_EQ(u.ifindex, 7);
  EXPECT_EQ(u.address, *net::IpAddress::Parse("198.18.0.2"));
  EXPECT_EQ(u.mac, Mac(2));

  nd->ndm_flags = NTF_PROXY;
  EXPECT_FALSE(ParseNeighborMessage(m, &u));
  nd->ndm_flags = 0;
  nd->ndm_family = AF_BRIDGE;
  EXPECT_FALSE(ParseNeighborMessage(m, &u));
  nd->ndm_family = AF_INET;
  nd->ndm_state = NUD_INCOMPLETE;
  EXPECT_FALSE(ParseNeighborMessage(m, &u));
  m->nlmsg_type = RTM_DELNEIGH;
  nd->ndm_state = NUD_REACHABLE;
  EXPECT_FALSE(ParseNeighborMessage(m, &u));
}

}  // namespace
}  // namespace strobe::dataplane
