#include "controlplane/fib/rtnl_codec.h"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace strobe::fib {
namespace {

struct Attributes {
  static constexpr int kMax = 64;
  const nlattr* by_type[kMax] = {};
};

int Collect(const nlattr* attr, void* data) {
  auto* a = static_cast<Attributes*>(data);
  const uint16_t type = mnl_attr_get_type(attr);
  if (type < Attributes::kMax) a->by_type[type] = attr;
  return MNL_CB_OK;
}

uint32_t U32(const nlattr* a) {
  return a != nullptr && mnl_attr_get_payload_len(a) >= 4 ? mnl_attr_get_u32(a) : 0;
}

// mnl_attr_get_u16() reads two octets whatever the attribute's length.
uint16_t U16(const nlattr* a) {
  return a != nullptr && mnl_attr_get_payload_len(a) >= 2 ? mnl_attr_get_u16(a) : 0;
}

// An address attribute of `family`'s width; empty when absent or of the wrong size.
net::IpAddress AddressOf(const nlattr* a, int family) {
  if (a == nullptr) return {};
  const size_t width = family == AF_INET ? 4 : 16;
  if (mnl_attr_get_payload_len(a) != width) return {};
  return net::IpAddress::FromBytes(static_cast<const uint8_t*>(mnl_attr_get_payload(a)),
                                   family == AF_INET ? 4 : 6);
}

void PutAddress(nlmsghdr* m, uint16_t type, const net::IpAddress& a) {
  mnl_attr_put(m, type, a.is_v4() ? 4 : 16, a.bytes().data());
}

// RTA_GATEWAY for a gateway of the route's family, RTA_VIA otherwise (RFC 5549: an IPv4 route
// over an IPv6 next hop).
void PutRouteGateway(nlmsghdr* m, int route_family, const net::IpAddress& gateway) {
  if (gateway.af() == route_family) {
    PutAddress(m, RTA_GATEWAY, gateway);
    return;
  }
  char via[sizeof(rtvia) + 16];
  auto* v = reinterpret_cast<rtvia*>(via);
  v->rtvia_family = static_cast<__kernel_sa_family_t>(gateway.af());
  const size_t width = gateway.is_v4() ? 4 : 16;
  std::memcpy(via + sizeof(rtvia), gateway.bytes().data(), width);
  mnl_attr_put(m, RTA_VIA, sizeof(rtvia) + width, via);
}

rtmsg* PutRtmsg(nlmsghdr* m, const KernelRoute& r) {
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(rtmsg)));
  rt->rtm_family = static_cast<uint8_t>(r.prefix.address.af());
  rt->rtm_dst_len = r.prefix.length;
  rt->rtm_table = r.table < 256 ? static_cast<uint8_t>(r.table) : uint8_t{RT_TABLE_UNSPEC};
  rt->rtm_protocol = r.protocol;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  PutAddress(m, RTA_DST, r.prefix.address);
  mnl_attr_put_u32(m, RTA_TABLE, r.table);
  mnl_attr_put_u32(m, RTA_PRIORITY, r.metric);
  return rt;
}

}  // namespace

std::string Gateway::ToString() const { return absl::StrCat(address.ToString(), "%", ifindex); }

RequestBatch::RequestBatch(size_t capacity) : buffer_(std::max(capacity, 2 * kMaxMessage)) {}

nlmsghdr* RequestBatch::Begin(uint16_t type, uint16_t flags, uint32_t seq) {
  nlmsghdr* m = mnl_nlmsg_put_header(buffer_.data() + size_);
  m->nlmsg_type = type;
  m->nlmsg_flags = flags;
  m->nlmsg_seq = seq;
  return m;
}

void RequestBatch::End(nlmsghdr* m) {
  size_ += NLMSG_ALIGN(m->nlmsg_len);
  ++messages_;
}

void RequestBatch::AddNexthop(uint32_t seq, const KernelNexthop& nh) {
  nlmsghdr* m =
      Begin(RTM_NEWNEXTHOP, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
  auto* h = static_cast<nhmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(nhmsg)));
  h->nh_protocol = nh.protocol;
  mnl_attr_put_u32(m, NHA_ID, nh.id);
  if (nh.is_group()) {
    h->nh_family = AF_UNSPEC;
    std::vector<nexthop_grp> members(nh.group.size());
    for (size_t i = 0; i < nh.group.size(); ++i) members[i] = {.id = nh.group[i]};
    mnl_attr_put(m, NHA_GROUP, members.size() * sizeof(nexthop_grp), members.data());
    mnl_attr_put_u16(m, NHA_GROUP_TYPE,
                     nh.resilient ? NEXTHOP_GRP_TYPE_RES : NEXTHOP_GRP_TYPE_MPATH);
    if (nh.resilient) {
      nlattr* nest = mnl_attr_nest_start(m, NHA_RES_GROUP);
      mnl_attr_put_u16(m, NHA_RES_GROUP_BUCKETS, nh.buckets);
      mnl_attr_nest_end(m, nest);
    }
  } else if (nh.blackhole) {
    h->nh_family = AF_INET;
    mnl_attr_put(m, NHA_BLACKHOLE, 0, nullptr);
  } else {
    h->nh_family = static_cast<uint8_t>(nh.gateway.address.af());
    mnl_attr_put_u32(m, NHA_OIF, nh.gateway.ifindex);
    PutAddress(m, NHA_GATEWAY, nh.gateway.address);
  }
  End(m);
}

void RequestBatch::DeleteNexthop(uint32_t seq, uint32_t id) {
  nlmsghdr* m = Begin(RTM_DELNEXTHOP, NLM_F_REQUEST | NLM_F_ACK, seq);
  auto* h = static_cast<nhmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(nhmsg)));
  h->nh_family = AF_UNSPEC;
  mnl_attr_put_u32(m, NHA_ID, id);
  End(m);
}

void RequestBatch::AddRoute(uint32_t seq, const KernelRoute& r) {
  nlmsghdr* m = Begin(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
  const int family = r.prefix.address.af();
  PutRtmsg(m, r);
  if (r.nh_id != 0) {
    mnl_attr_put_u32(m, RTA_NH_ID, r.nh_id);
  } else if (r.gateways.size() == 1) {
    PutRouteGateway(m, family, r.gateways[0].address);
    mnl_attr_put_u32(m, RTA_OIF, r.gateways[0].ifindex);
  } else {
    nlattr* nest = mnl_attr_nest_start(m, RTA_MULTIPATH);
    for (const Gateway& g : r.gateways) {
      auto* hop = static_cast<rtnexthop*>(
          static_cast<void*>(static_cast<char*>(mnl_nlmsg_get_payload_tail(m))));
      std::memset(hop, 0, sizeof(rtnexthop));
      hop->rtnh_ifindex = static_cast<int>(g.ifindex);
      m->nlmsg_len += MNL_ALIGN(sizeof(rtnexthop));
      PutRouteGateway(m, family, g.address);
      hop->rtnh_len = static_cast<unsigned short>(
          static_cast<char*>(mnl_nlmsg_get_payload_tail(m)) - reinterpret_cast<char*>(hop));
    }
    mnl_attr_nest_end(m, nest);
  }
  End(m);
}

void RequestBatch::DeleteRoute(uint32_t seq, const KernelRoute& r) {
  nlmsghdr* m = Begin(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq);
  rtmsg* rt = PutRtmsg(m, r);
  rt->rtm_scope = RT_SCOPE_NOWHERE;  // any scope
  End(m);
}

void RequestBatch::DumpNexthops(uint32_t seq) {
  nlmsghdr* m = Begin(RTM_GETNEXTHOP, NLM_F_REQUEST | NLM_F_DUMP, seq);
  auto* h = static_cast<nhmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(nhmsg)));
  h->nh_family = AF_UNSPEC;
  End(m);
}

void RequestBatch::DumpRoutes(uint32_t seq, int family) {
  nlmsghdr* m = Begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq);
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(rtmsg)));
  rt->rtm_family = static_cast<uint8_t>(family);
  End(m);
}

void RequestBatch::GetRoute(uint32_t seq, const net::IpAddress& destination) {
  nlmsghdr* m = Begin(RTM_GETROUTE, NLM_F_REQUEST, seq);
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(rtmsg)));
  rt->rtm_family = static_cast<uint8_t>(destination.af());
  rt->rtm_dst_len = destination.is_v4() ? 32 : 128;
  PutAddress(m, RTA_DST, destination);
  End(m);
}

std::optional<KernelNexthop> ParseNexthop(const nlmsghdr* m) {
  if ((m->nlmsg_type != RTM_NEWNEXTHOP && m->nlmsg_type != RTM_DELNEXTHOP) ||
      m->nlmsg_len < NLMSG_LENGTH(sizeof(nhmsg))) {
    return std::nullopt;
  }
  const auto* h = static_cast<const nhmsg*>(mnl_nlmsg_get_payload(m));
  Attributes a;
  if (mnl_attr_parse(m, sizeof(nhmsg), Collect, &a) < 0) return std::nullopt;
  KernelNexthop nh;
  nh.id = U32(a.by_type[NHA_ID]);
  if (nh.id == 0) return std::nullopt;
  nh.protocol = h->nh_protocol;
  nh.flags = h->nh_flags;
  if (const nlattr* g = a.by_type[NHA_GROUP]) {
    const size_t n = mnl_attr_get_payload_len(g) / sizeof(nexthop_grp);
    const auto* members = static_cast<const nexthop_grp*>(mnl_attr_get_payload(g));
    for (size_t i = 0; i < n; ++i) nh.group.push_back(members[i].id);
    nh.resilient = U16(a.by_type[NHA_GROUP_TYPE]) == NEXTHOP_GRP_TYPE_RES;
    if (const nlattr* res = a.by_type[NHA_RES_GROUP]) {
      Attributes r;
      mnl_attr_parse_nested(res, Collect, &r);
      nh.buckets = U16(r.by_type[NHA_RES_GROUP_BUCKETS]);
    }
    return nh;
  }
  nh.blackhole = a.by_type[NHA_BLACKHOLE] != nullptr;
  nh.gateway.ifindex = U32(a.by_type[NHA_OIF]);
  nh.gateway.address = AddressOf(a.by_type[NHA_GATEWAY], h->nh_family);
  return nh;
}

namespace {

// RTA_GATEWAY (the route's family) or RTA_VIA (another family) from `a`.
net::IpAddress RouteGatewayOf(const Attributes& a, int route_family) {
  if (a.by_type[RTA_GATEWAY] != nullptr) return AddressOf(a.by_type[RTA_GATEWAY], route_family);
  if (const nlattr* via = a.by_type[RTA_VIA]) {
    const size_t len = mnl_attr_get_payload_len(via);
    if (len < sizeof(rtvia)) return {};
    const auto* v = static_cast<const rtvia*>(mnl_attr_get_payload(via));
    const size_t width = v->rtvia_family == AF_INET ? 4 : 16;
    if (len != sizeof(rtvia) + width) return {};
    return net::IpAddress::FromBytes(v->rtvia_addr, v->rtvia_family == AF_INET ? 4 : 6);
  }
  return {};
}

}  // namespace

std::optional<KernelRoute> ParseRoute(const nlmsghdr* m) {
  if ((m->nlmsg_type != RTM_NEWROUTE && m->nlmsg_type != RTM_DELROUTE) ||
      m->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) {
    return std::nullopt;
  }
  const auto* rt = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m));
  if ((rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6) || rt->rtm_type != RTN_UNICAST) {
    return std::nullopt;
  }
  Attributes a;
  if (mnl_attr_parse(m, sizeof(rtmsg), Collect, &a) < 0) return std::nullopt;
  KernelRoute r;
  net::IpAddress dst = AddressOf(a.by_type[RTA_DST], rt->rtm_family);
  if (dst.empty()) {
    if (rt->rtm_dst_len != 0) return std::nullopt;
    in6_addr zero{};
    dst = rt->rtm_family == AF_INET ? net::IpAddress::V4(in_addr{}) : net::IpAddress::V6(zero);
  }
  std::optional<bgp::RibPrefix> prefix = bgp::RibPrefix::Make(dst, rt->rtm_dst_len);
  if (!prefix) return std::nullopt;
  r.prefix = *prefix;
  r.table = a.by_type[RTA_TABLE] != nullptr ? U32(a.by_type[RTA_TABLE]) : rt->rtm_table;
  r.protocol = rt->rtm_protocol;
  r.metric = U32(a.by_type[RTA_PRIORITY]);
  r.nh_id = U32(a.by_type[RTA_NH_ID]);
  if (r.nh_id != 0) return r;
  if (const nlattr* mp = a.by_type[RTA_MULTIPATH]) {
    const auto* payload = static_cast<const char*>(mnl_attr_get_payload(mp));
    size_t left = mnl_attr_get_payload_len(mp);
    while (left >= sizeof(rtnexthop)) {
      const auto* hop = reinterpret_cast<const rtnexthop*>(payload);
      if (hop->rtnh_len < sizeof(rtnexthop) || hop->rtnh_len > left) break;
      Attributes ha;
      const char* attrs = payload + RTNH_ALIGN(sizeof(rtnexthop));
      const char* end = payload + hop->rtnh_len;
      for (const auto* attr = reinterpret_cast<const nlattr*>(attrs);
           mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr)));
           attr = mnl_attr_next(attr)) {
        Collect(attr, &ha);
      }
      r.gateways.push_back(
          {RouteGatewayOf(ha, rt->rtm_family), static_cast<uint32_t>(hop->rtnh_ifindex)});
      const size_t step = RTNH_ALIGN(hop->rtnh_len);
      if (step >= left) break;
      payload += step;
      left -= step;
    }
    return r;
  }
  net::IpAddress gw = RouteGatewayOf(a, rt->rtm_family);
  const uint32_t oif = U32(a.by_type[RTA_OIF]);
  if (!gw.empty() || oif != 0) r.gateways.push_back({gw, oif});
  return r;
}

std::optional<RouteLookup> ParseRouteLookup(const nlmsghdr* m) {
  if (m->nlmsg_type != RTM_NEWROUTE || m->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) {
    return std::nullopt;
  }
  const auto* rt = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m));
  Attributes a;
  if (mnl_attr_parse(m, sizeof(rtmsg), Collect, &a) < 0) return std::nullopt;
  RouteLookup out;
  out.reachable = rt->rtm_type == RTN_UNICAST || rt->rtm_type == RTN_LOCAL;
  out.ifindex = U32(a.by_type[RTA_OIF]);
  out.via = RouteGatewayOf(a, rt->rtm_family);
  return out;
}

std::optional<Ack> ParseAck(const nlmsghdr* m) {
  if (m->nlmsg_type != NLMSG_ERROR || m->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
    return std::nullopt;
  }
  const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
  // netlink(7): a negative errno, or 0 for an ack. Anything else (INT_MIN, which cannot even be
  // negated) is not an answer the kernel gives.
  constexpr int kMaxErrno = 4095;  // MAX_ERRNO, include/linux/err.h
  if (e->error > 0 || e->error < -kMaxErrno) return std::nullopt;
  Ack ack;
  ack.seq = m->nlmsg_seq;
  ack.error = -e->error;
  // Extended ack TLVs follow the echoed header (only the header: NETLINK_CAP_ACK).
  if ((m->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
    size_t offset = sizeof(nlmsgerr);
    if ((m->nlmsg_flags & NLM_F_CAPPED) == 0) {
      offset += std::max<size_t>(e->msg.nlmsg_len, sizeof(nlmsghdr)) - sizeof(nlmsghdr);
    }
    Attributes a;
    // The echoed length is the sender's word: never parse from outside the message.
    if (offset <= mnl_nlmsg_get_payload_len(m) && mnl_attr_parse(m, offset, Collect, &a) >= 0 &&
        a.by_type[NLMSGERR_ATTR_MSG] != nullptr) {
      const nlattr* text = a.by_type[NLMSGERR_ATTR_MSG];
      const auto* s = static_cast<const char*>(mnl_attr_get_payload(text));
      ack.message.assign(s, strnlen(s, mnl_attr_get_payload_len(text)));  // NUL or attribute end
    }
  }
  return ack;
}

std::optional<LinkEvent> ParseLink(const nlmsghdr* m) {
  if ((m->nlmsg_type != RTM_NEWLINK && m->nlmsg_type != RTM_DELLINK) ||
      m->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) {
    return std::nullopt;
  }
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m));
  LinkEvent e;
  e.ifindex = static_cast<uint32_t>(ifi->ifi_index);
  e.up = m->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) != 0 &&
         (ifi->ifi_flags & IFF_RUNNING) != 0;
  return e;
}

}  // namespace strobe::fib
