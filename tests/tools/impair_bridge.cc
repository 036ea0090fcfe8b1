#include "tests/tools/impair_bridge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "src/common/clock.h"

namespace strobe::impair {
namespace {

constexpr size_t kFrameMax = 65536 + 64;  // a GSO frame and its virtio_net_hdr
constexpr int kReceiveBurst = 256;  // frames per socket per wake-up, so releases are not starved
constexpr const char* kDirectionName[2] = {"a_to_b", "b_to_a"};

// struct virtio_net_hdr of <linux/virtio_net.h>, which C++ cannot include (a member is named
// `class`). Host byte order (PACKET_VNET_HDR on a little-endian host).
struct VnetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(VnetHdr) == 10);
constexpr uint8_t kVnetNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

}  // namespace

Bridge::Bridge(const BridgeOptions& options)
    : options_(options),
      // Each direction its own stream: changing one direction's settings leaves the other's
      // draws as they were.
      lines_{DelayLine(options.a_to_b, options.seed * 2 + 1),
             DelayLine(options.b_to_a, options.seed * 2 + 2)} {}

Bridge::~Bridge() {
  for (int fd : {fds_[0], fds_[1], control_fd_, signal_fd_}) {
    if (fd >= 0) close(fd);
  }
  if (!options_.control_socket.empty()) unlink(options_.control_socket.c_str());
}

absl::StatusOr<std::unique_ptr<Bridge>> Bridge::Open(const BridgeOptions& options) {
  if (options.if_a.empty() || options.if_b.empty() || options.if_a == options.if_b) {
    return absl::InvalidArgumentError("need two different interfaces");
  }
  for (const Settings* s : {&options.a_to_b, &options.b_to_a}) {
    if (absl::Status st = s->Validate(); !st.ok()) return st;
  }
  std::unique_ptr<Bridge> bridge(new Bridge(options));
  bridge->started_ns_ = MonotonicNowNs();
  if (absl::Status s = bridge->OpenSocket(0, options.if_a); !s.ok()) return s;
  if (absl::Status s = bridge->OpenSocket(1, options.if_b); !s.ok()) return s;
  if (absl::Status s = bridge->OpenControl(); !s.ok()) return s;

  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaddset(&mask, sig);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return Errno("sigprocmask");
  bridge->signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (bridge->signal_fd_ < 0) return Errno("signalfd");

  // ppoll's timeouts are rounded up by the timer slack (50 us by default).
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  if (options.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(options.cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) return Errno("sched_setaffinity");
  }
  if (options.realtime_priority > 0) {
    sched_param param{.sched_priority = options.realtime_priority};
    if (sched_setscheduler(0, SCHED_FIFO, &param) != 0) return Errno("sched_setscheduler");
  }
  return bridge;
}

absl::Status Bridge::OpenSocket(int side, const std::string& ifname) {
  const unsigned index = if_nametoindex(ifname.c_str());
  if (index == 0) return Errno(absl::StrCat("interface ", ifname));
  ifindex_[side] = static_cast<int>(index);
  // Protocol 0 until bound: no frame of another interface is queued in between.
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket(AF_PACKET)");
  fds_[side] = fd;
  const int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0) {
    return Errno("PACKET_IGNORE_OUTGOING");
  }
  // Frames carry a virtio_net_hdr both ways: a frame whose checksum the sender left to the
  // device (CHECKSUM_PARTIAL, the rule on veth) or a GSO frame leaves as it came, with its
  // checksum completed and its segments cut by the kernel on the way out.
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) != 0) {
    return Errno("PACKET_VNET_HDR");
  }
  // VLAN tags the driver took off come back through the auxiliary data (see Receive).
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) != 0) {
    return Errno("PACKET_AUXDATA");
  }
  const int buffer = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof(buffer));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof(buffer));
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = ifindex_[side];
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Errno(absl::StrCat("bind to ", ifname));
  }
  packet_mreq mreq{};
  mreq.mr_ifindex = ifindex_[side];
  mreq.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0) {
    return Errno(absl::StrCat("promiscuous mode on ", ifname));
  }
  return absl::OkStatus();
}

absl::Status Bridge::OpenControl() {
  if (options_.control_socket.empty()) return absl::OkStatus();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (options_.control_socket.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError("control socket path too long");
  }
  memcpy(addr.sun_path, options_.control_socket.data(), options_.control_socket.size());
  control_fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (control_fd_ < 0) return Errno("socket(AF_UNIX)");
  unlink(options_.control_socket.c_str());
  if (bind(control_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Errno(absl::StrCat("bind ", options_.control_socket));
  }
  return absl::OkStatus();
}

void Bridge::Receive(int side, int64_t now_ns) {
  std::vector<uint8_t>& buffer = rx_buffer_;
  buffer.resize(kFrameMax);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
  for (int i = 0; i < kReceiveBurst; ++i) {
    iovec iov{buffer.data(), buffer.size()};
    sockaddr_ll from{};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = recvmsg(fds_[side], &msg, MSG_TRUNC);
    if (n < 0) return;  // EAGAIN (or an error: the next poll tells again)
    DelayLine& line = lines_[side];
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    if (static_cast<size_t>(n) > buffer.size()) {
      ++line.counters().received;
      ++line.counters().truncated;
      continue;
    }
    constexpr size_t kHdr = sizeof(VnetHdr);
    if (static_cast<size_t>(n) < kHdr + 14) continue;
    std::vector<uint8_t> frame(buffer.begin(), buffer.begin() + n);  // header + Ethernet frame
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      tpacket_auxdata aux;
      memcpy(&aux, CMSG_DATA(c), sizeof(aux));
      if (aux.tp_status & TP_STATUS_VLAN_VALID) {
        const uint16_t tpid =
            (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : ETH_P_8021Q;
        const uint8_t tag[4] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid),
                                static_cast<uint8_t>(aux.tp_vlan_tci >> 8),
                                static_cast<uint8_t>(aux.tp_vlan_tci)};
        frame.insert(frame.begin() + kHdr + 12, tag, tag + 4);
        VnetHdr hdr;
        memcpy(&hdr, frame.data(), kHdr);
        if (hdr.flags & kVnetNeedsCsum) hdr.csum_start += 4;
        if (hdr.gso_type != 0) hdr.hdr_len += 4;
        memcpy(frame.data(), &hdr, kHdr);
      }
    }
    const uint64_t flow = FlowOf(frame.data() + kHdr, frame.size() - kHdr);
    line.Push(std::move(frame), flow, now_ns);
  }
}

void Bridge::Release(int64_t now_ns) {
  std::vector<Frame> due;
  for (int side = 0; side < 2; ++side) {
    due.clear();
    lines_[side].PopDue(now_ns, &due);
    for (const Frame& frame : due) {
      const ssize_t n = send(fds_[1 - side], frame.bytes.data(), frame.bytes.size(), 0);
      lines_[side].Sent(frame, n == static_cast<ssize_t>(frame.bytes.size()), MonotonicNowNs());
    }
  }
}

nlohmann::json Bridge::StatsJson() const {
  nlohmann::json out = {{"a", options_.if_a},
                        {"b", options_.if_b},
                        {"seed", options_.seed},
                        {"uptime_s", static_cast<double>(MonotonicNowNs() - started_ns_) / 1e9}};
  for (int side = 0; side < 2; ++side) {
    out[kDirectionName[side]] = {{"settings", lines_[side].settings().ToJson()},
                                 {"counters", lines_[side].counters().ToJson()},
                                 {"queued", lines_[side].queued()},
                                 {"socket_errors", socket_errors_[side]}};
  }
  return out;
}

nlohmann::json Bridge::Command(const std::string& text) {
  std::vector<absl::string_view> words = absl::StrSplit(text, ' ', absl::SkipWhitespace());
  if (words.empty()) return {{"error", "empty command"}};
  if (words[0] == "stats" && words.size() == 1) return StatsJson();
  if (words[0] != "set") return {{"error", absl::StrCat("unknown command '", words[0], "'")}};
  words.erase(words.begin());
  bool apply[2] = {true, true};
  if (!words.empty() && words[0].substr(0, 10) == "direction=") {
    const absl::string_view d = words[0].substr(10);
    if (d == "a_to_b") {
      apply[1] = false;
    } else if (d == "b_to_a") {
      apply[0] = false;
    } else if (d != "both") {
      return {{"error", absl::StrCat("bad direction '", d, "'")}};
    }
    words.erase(words.begin());
  }
  Settings next[2] = {lines_[0].settings(), lines_[1].settings()};
  for (int side = 0; side < 2; ++side) {
    if (!apply[side]) continue;
    if (absl::Status s = next[side].Apply(words); !s.ok()) {
      return {{"error", std::string(s.message())}};
    }
  }
  for (int side = 0; side < 2; ++side) lines_[side].set_settings(next[side]);
  return StatsJson();
}

void Bridge::HandleControl() {
  char buffer[4096];
  for (;;) {
    sockaddr_un from{};
    socklen_t from_len = sizeof(from);
    const ssize_t n = recvfrom(control_fd_, buffer, sizeof(buffer) - 1, 0,
                               reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) return;
    const std::string reply = Command(std::string(buffer, static_cast<size_t>(n))).dump();
    if (from_len > sizeof(sa_family_t)) {
      sendto(control_fd_, reply.data(), reply.size(), MSG_DONTWAIT,
             reinterpret_cast<sockaddr*>(&from), from_len);
    }
  }
}

absl::Status Bridge::Run() {
  pollfd fds[4] = {{fds_[0], POLLIN, 0},
                   {fds_[1], POLLIN, 0},
                   {signal_fd_, POLLIN, 0},
                   {control_fd_, POLLIN, 0}};
  const nfds_t nfds = control_fd_ >= 0 ? 4 : 3;
  for (;;) {
    int64_t now = MonotonicNowNs();
    Release(now);
    const int64_t next = std::min(lines_[0].NextDueNs(), lines_[1].NextDueNs());
    timespec timeout{};
    timespec* timeout_ptr = nullptr;
    if (next != kNever) {
      const int64_t wait = std::max<int64_t>(0, next - MonotonicNowNs());
      timeout = {.tv_sec = wait / kNsPerSec, .tv_nsec = wait % kNsPerSec};
      timeout_ptr = &timeout;
    }
    const int ready = ppoll(fds, nfds, timeout_ptr, nullptr);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Errno("ppoll");
    }
    now = MonotonicNowNs();
    for (int side = 0; side < 2; ++side) {
      if (fds[side].revents & POLLNVAL) return absl::InternalError("socket closed");
      if (fds[side].revents & POLLERR) {
        // ENETDOWN while the link is down: counted and cleared, the socket stays bound.
        int error = 0;
        socklen_t len = sizeof(error);
        getsockopt(fds_[side], SOL_SOCKET, SO_ERROR, &error, &len);
        ++socket_errors_[side];
      }
      if (fds[side].revents & POLLIN) Receive(side, now);
    }
    if (nfds == 4 && (fds[3].revents & POLLIN)) HandleControl();
    if (fds[2].revents & POLLIN) {
      signalfd_siginfo info;
      while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGUSR1) {
          printf("%s\n", StatsJson().dump().c_str());
          fflush(stdout);
          continue;
        }
        Release(MonotonicNowNs());
        for (DelayLine& line : lines_) line.Drain();
        return absl::OkStatus();
      }
    }
  }
}

}  // namespace strobe::impair
