#include "dataplane/loadgen/source_addresses.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "src/common/logging.h"

namespace strobe::loadgen {
namespace {

constexpr size_t kBufferSize = 8192;  // one request or one ack

// The address `steps` hosts after `base` (big-endian addition over the 4 or 16 bytes).
net::IpAddress Advance(const net::IpAddress& base, uint64_t steps) {
  std::array<uint8_t, 16> bytes = base.bytes();
  int i = base.is_v4() ? 3 : 15;
  uint64_t carry = steps;
  for (; i >= 0 && carry != 0; --i) {
    const uint64_t sum = bytes[i] + (carry & 0xff);
    bytes[i] = static_cast<uint8_t>(sum);
    carry = (carry >> 8) + (sum >> 8);
  }
  return net::IpAddress::FromBytes(bytes.data(), base.is_v4() ? 4 : 6);
}

// One request with an ack; returns the errno the kernel answered (0: done).
int Request(mnl_socket* nl, nlmsghdr* nlh) {
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) return errno;
  char buffer[kBufferSize];
  const ssize_t n = mnl_socket_recvfrom(nl, buffer, sizeof(buffer));
  if (n < 0) return errno;
  const int ret = mnl_cb_run(buffer, static_cast<size_t>(n), nlh->nlmsg_seq,
                             mnl_socket_get_portid(nl), nullptr, nullptr);
  return ret < 0 ? errno : 0;
}

struct MnlCloser {
  void operator()(mnl_socket* nl) const { mnl_socket_close(nl); }
};

absl::StatusOr<std::unique_ptr<mnl_socket, MnlCloser>> OpenRtnl() {
  std::unique_ptr<mnl_socket, MnlCloser> nl(mnl_socket_open(NETLINK_ROUTE));
  if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return absl::InternalError(absl::StrCat("rtnetlink socket: ", std::strerror(errno)));
  }
  return nl;
}

nlmsghdr* AddressMessage(char* buffer, uint16_t type, uint16_t flags, int ifindex,
                         const net::IpAddress& address, uint32_t seq) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  nlh->nlmsg_seq = seq;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<uint8_t>(address.af());
  ifa->ifa_prefixlen = address.is_v4() ? 32 : 128;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<uint32_t>(ifindex);
  const size_t length = address.is_v4() ? 4 : 16;
  mnl_attr_put(nlh, IFA_LOCAL, length, address.bytes().data());
  mnl_attr_put(nlh, IFA_ADDRESS, length, address.bytes().data());
  // Usable at once: a load test does not wait a second per address for DAD.
  if (address.is_v6()) mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
  return nlh;
}

}  // namespace

absl::StatusOr<std::vector<net::IpAddress>> HostsOf(std::string_view prefix_view, size_t count,
                                                    const net::IpAddress& exclude) {
  const std::string prefix(prefix_view);
  const size_t slash = prefix.find('/');
  if (slash == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--sources \"", prefix, "\" is not a prefix (ADDRESS/LENGTH)"));
  }
  absl::StatusOr<net::IpAddress> base = net::IpAddress::Parse(prefix.substr(0, slash));
  int length = -1;
  if (!base.ok() || !absl::SimpleAtoi(absl::string_view(prefix).substr(slash + 1), &length) ||
      length < 0 || length > (base->is_v4() ? 32 : 128)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--sources \"", prefix, "\" is not a prefix (ADDRESS/LENGTH)"));
  }
  const int host_bits = (base->is_v4() ? 32 : 128) - length;
  // The prefix's own address (host part zero) is skipped unless the prefix is a single host.
  const uint64_t first = host_bits == 0 ? 0 : 1;
  // Hosts available: 2^host_bits - first, minus the broadcast address for IPv4 subnets.
  const uint64_t capacity = host_bits >= 63 ? UINT64_MAX
                                            : (uint64_t{1} << host_bits) - first -
                                                  (base->is_v4() && host_bits >= 2 ? 1 : 0);
  // Clear the host bits of the base.
  std::array<uint8_t, 16> bytes = base->bytes();
  const int total = base->is_v4() ? 32 : 128;
  for (int bit = length; bit < total; ++bit) bytes[bit / 8] &= ~(0x80 >> (bit % 8));
  const net::IpAddress network = net::IpAddress::FromBytes(bytes.data(), base->is_v4() ? 4 : 6);
  std::vector<net::IpAddress> hosts;
  hosts.reserve(count);
  for (uint64_t i = first; hosts.size() < count && i - first < capacity; ++i) {
    const net::IpAddress host = Advance(network, i);
    if (host != exclude) hosts.push_back(host);
  }
  if (hosts.size() < count) {
    return absl::InvalidArgumentError(absl::StrCat("--sources ", prefix, " holds ", hosts.size(),
                                                   " usable host addresses; ", count,
                                                   " sessions need one each"));
  }
  return hosts;
}

absl::Status SourceAddresses::Add(const std::string& interface,
                                  const std::vector<net::IpAddress>& addresses) {
  ifindex_ = static_cast<int>(if_nametoindex(interface.c_str()));
  if (ifindex_ == 0) {
    return absl::NotFoundError(absl::StrCat("--interface ", interface, ": no such interface"));
  }
  absl::StatusOr<std::unique_ptr<mnl_socket, MnlCloser>> nl = OpenRtnl();
  if (!nl.ok()) return nl.status();
  char buffer[kBufferSize];
  uint32_t seq = 1;
  for (const net::IpAddress& address : addresses) {
    nlmsghdr* nlh =
        AddressMessage(buffer, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex_, address, seq++);
    const int error = Request(nl->get(), nlh);
    if (error == EEXIST) {
      ++already_present_;
    } else if (error != 0) {
      return absl::PermissionDeniedError(absl::StrCat("adding ", address.ToString(), " to ",
                                                      interface, ": ", std::strerror(error)));
    } else {
      added_.push_back(address);
    }
  }
  return absl::OkStatus();
}

void SourceAddresses::RemoveAll() {
  if (added_.empty()) return;
  absl::StatusOr<std::unique_ptr<mnl_socket, MnlCloser>> nl = OpenRtnl();
  if (!nl.ok()) {
    STROBE_LOG(kWarning, "cannot remove %zu source addresses: %s", added_.size(),
               std::string(nl.status().message()));
    return;
  }
  char buffer[kBufferSize];
  uint32_t seq = 1;
  size_t failed = 0;
  for (const net::IpAddress& address : added_) {
    const int error =
        Request(nl->get(), AddressMessage(buffer, RTM_DELADDR, 0, ifindex_, address, seq++));
    // Gone already (the interface was deleted): nothing left to do.
    if (error != 0 && error != EADDRNOTAVAIL && error != ENODEV) ++failed;
  }
  if (failed > 0) STROBE_LOG(kWarning, "%zu source addresses could not be removed", failed);
  added_.clear();
}

}  // namespace strobe::loadgen
