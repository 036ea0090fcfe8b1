#include "dataplane/neighbor_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_arp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "src/common/logging.h"
#include "src/common/netlink_walk.h"

namespace strobe::dataplane {
namespace {

// States in which the kernel itself would put the link-layer address on a frame.
constexpr uint16_t kUsableStates =
    NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;

struct Attributes {
  const nlattr* by_type[32] = {};
};

int CollectAttribute(const nlattr* attr, void* data) {
  auto* attributes = static_cast<Attributes*>(data);
  const uint16_t type = mnl_attr_get_type(attr);
  if (type < 32) attributes->by_type[type] = attr;
  return MNL_CB_OK;
}

bool CopyMac(const nlattr* attr, MacAddress* mac) {
  if (attr == nullptr || mnl_attr_get_payload_len(attr) != mac->size()) return false;
  std::memcpy(mac->data(), mnl_attr_get_payload(attr), mac->size());
  return true;
}

}  // namespace

bool ParseNeighborMessage(const nlmsghdr* message, NeighborUpdate* out) {
  Attributes attributes;
  switch (message->nlmsg_type) {
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH: {
      if (message->nlmsg_len < NLMSG_LENGTH(sizeof(ndmsg))) return false;
      const auto* nd = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(message));
      if ((nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6) ||
          (nd->ndm_flags & NTF_PROXY) != 0) {
        return false;
      }
      // A deletion says nothing about where the peer is now (see the header).
      if (message->nlmsg_type == RTM_DELNEIGH) return false;
      mnl_attr_parse(message, sizeof(ndmsg), CollectAttribute, &attributes);
      const nlattr* dst = attributes.by_type[NDA_DST];
      const size_t width = nd->ndm_family == AF_INET ? 4 : 16;
      if (dst == nullptr || mnl_attr_get_payload_len(dst) != width) return false;
      NeighborUpdate update;
      update.kind = NeighborUpdate::Kind::kNeighbor;
      update.ifindex = nd->ndm_ifindex;
      update.address = net::IpAddress::FromBytes(
          static_cast<const uint8_t*>(mnl_attr_get_payload(dst)), width == 4 ? 4 : 6);
      if (nd->ndm_state & kUsableStates) {
        if (!CopyMac(attributes.by_type[NDA_LLADDR], &update.mac)) return false;
        update.usable = true;
      } else if (nd->ndm_state & NUD_FAILED) {
        update.usable = false;
      } else {
        return false;  // INCOMPLETE, NONE: resolution in progress
      }
      *out = update;
      return true;
    }
    case RTM_NEWLINK:
    case RTM_DELLINK: {
      if (message->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return false;
      const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(message));
      if (ifi->ifi_type != ARPHRD_ETHER) return false;
      NeighborUpdate update;
      update.kind = NeighborUpdate::Kind::kLink;
      update.ifindex = ifi->ifi_index;
      if (message->nlmsg_type == RTM_NEWLINK) {
        mnl_attr_parse(message, sizeof(ifinfomsg), CollectAttribute, &attributes);
        if (!CopyMac(attributes.by_type[IFLA_ADDRESS], &update.mac)) return false;
        update.usable = true;
      }
      *out = update;
      return true;
    }
    default:
      return false;
  }
}

absl::StatusOr<std::unique_ptr<NeighborWatch>> NeighborWatch::Open() {
  std::unique_ptr<NeighborWatch> watch(new NeighborWatch());
  watch->nl_ = mnl_socket_open(NETLINK_ROUTE);
  if (watch->nl_ == nullptr) {
    return absl::InternalError(absl::StrCat("netlink socket: ", std::strerror(errno)));
  }
  if (mnl_socket_bind(watch->nl_, RTMGRP_NEIGH | RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
    return absl::InternalError(absl::StrCat("netlink bind: ", std::strerror(errno)));
  }
  const int fd = mnl_socket_get_fd(watch->nl_);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  // A large receive buffer: a neighbour storm must not overrun us between two polls.
  const int size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
  watch->pending_dumps_ = {RTM_GETLINK, RTM_GETNEIGH};
  watch->StartNextDump();
  return watch;
}

NeighborWatch::~NeighborWatch() {
  if (nl_ != nullptr) mnl_socket_close(nl_);
}

int NeighborWatch::fd() const { return mnl_socket_get_fd(nl_); }

absl::Status NeighborWatch::RequestDump(int type) {
  alignas(nlmsghdr) char buffer[1024];
  nlmsghdr* request = mnl_nlmsg_put_header(buffer);
  request->nlmsg_type = static_cast<uint16_t>(type);
  request->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request->nlmsg_seq = ++seq_;
  if (type == RTM_GETLINK) {
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(request, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
  } else {
    auto* nd = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(request, sizeof(ndmsg)));
    nd->ndm_family = AF_UNSPEC;
  }
  if (mnl_socket_sendto(nl_, request, request->nlmsg_len) < 0) {
    return absl::InternalError(absl::StrCat("netlink dump request: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void NeighborWatch::StartNextDump() {
  while (!dump_in_progress_ && !pending_dumps_.empty()) {
    const int type = pending_dumps_.front();
    pending_dumps_.erase(pending_dumps_.begin());
    if (absl::Status s = RequestDump(type); s.ok()) {
      dump_in_progress_ = true;
    } else {
      STROBE_LOG(kWarning, "%s", std::string(s.message()));
    }
  }
}

std::vector<NeighborUpdate> NeighborWatch::Poll() {
  std::vector<NeighborUpdate> updates;
  alignas(nlmsghdr) char buffer[64 * 1024];
  while (true) {
    const ssize_t n = netlink::ReceiveFromKernel(fd(), buffer, sizeof(buffer));
    if (n == 0) continue;  // not from the kernel: dropped
    if (n < 0) {
      if (errno == ENOBUFS) {
        // Notifications were lost: read the whole state again.
        ++overruns_;
        pending_dumps_ = {RTM_GETLINK, RTM_GETNEIGH};
        dump_in_progress_ = false;
        StartNextDump();
        continue;
      }
      break;  // EAGAIN: nothing more for now
    }
    size_t remaining = static_cast<size_t>(n);
    for (const nlmsghdr* m = reinterpret_cast<const nlmsghdr*>(buffer);
         netlink::MessageOk(m, remaining); m = netlink::NextMessage(m, &remaining)) {
      if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) {
        if (m->nlmsg_seq == seq_ && dump_in_progress_) {
          dump_in_progress_ = false;
          StartNextDump();
        }
        continue;
      }
      NeighborUpdate update;
      if (ParseNeighborMessage(m, &update)) updates.push_back(update);
    }
  }
  return updates;
}

}  // namespace strobe::dataplane
