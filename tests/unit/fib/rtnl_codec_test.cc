// The rtnetlink codec (controlplane/fib/rtnl_codec.h): requests built with RequestBatch and parsed
// back with the parsers the writer uses on dumps and notifications; acks as the kernel sends
// them; malformed input.

#include "controlplane/fib/rtnl_codec.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strobe::fib {
namespace {

using ::testing::ElementsAre;

constexpr uint16_t kAckCreateReplace = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;

net::IpAddress Ip(std::string_view text) {
  absl::StatusOr<net::IpAddress> a = net::IpAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : net::IpAddress();
}

bgp::RibPrefix Pfx(std::string_view text) {
  absl::StatusOr<bgp::RibPrefix> p = bgp::RibPrefix::Parse(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : bgp::RibPrefix();
}

// The messages of a batch, in order; every byte accounted for.
std::vector<const nlmsghdr*> Messages(const RequestBatch& batch) {
  std::vector<const nlmsghdr*> out;
  int left = static_cast<int>(batch.size());
  for (auto* m = reinterpret_cast<const nlmsghdr*>(batch.data()); mnl_nlmsg_ok(m, left);
       m = mnl_nlmsg_next(m, &left)) {
    out.push_back(m);
  }
  EXPECT_EQ(left, 0);
  EXPECT_EQ(out.size(), batch.messages());
  return out;
}

const nlmsghdr* Only(const RequestBatch& batch) {
  std::vector<const nlmsghdr*> m = Messages(batch);
  EXPECT_EQ(m.size(), 1u);
  return m.empty() ? nullptr : m[0];
}

// The attribute types at the top level of `m` after a family header of `header` bytes.
std::set<uint16_t> AttrTypes(const nlmsghdr* m, size_t header) {
  std::set<uint16_t> out;
  mnl_attr_parse(
      m, static_cast<unsigned>(header),
      [](const nlattr* a, void* data) {
        static_cast<std::set<uint16_t>*>(data)->insert(mnl_attr_get_type(a));
        return MNL_CB_OK;
      },
      &out);
  return out;
}

KernelNexthop GatewayNexthop(uint32_t id, std::string_view address, uint32_t ifindex) {
  KernelNexthop nh;
  nh.id = id;
  nh.protocol = 200;
  nh.gateway = {Ip(address), ifindex};
  return nh;
}

KernelRoute Route(std::string_view prefix, uint32_t nh_id, std::vector<Gateway> gateways = {}) {
  KernelRoute r;
  r.prefix = Pfx(prefix);
  r.table = 254;
  r.protocol = 200;
  r.metric = 20;
  r.nh_id = nh_id;
  r.gateways = std::move(gateways);
  return r;
}

// --- Nexthops ---

TEST(RtnlCodecTest, Ipv4GatewayNexthopRoundTrip) {
  RequestBatch batch;
  EXPECT_TRUE(batch.empty());
  batch.AddNexthop(41, GatewayNexthop(0xC8000001, "198.18.0.2", 3));
  const nlmsghdr* m = Only(batch);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->nlmsg_type, RTM_NEWNEXTHOP);
  EXPECT_EQ(m->nlmsg_flags, kAckCreateReplace);
  EXPECT_EQ(m->nlmsg_seq, 41u);
  const auto* h = static_cast<const nhmsg*>(mnl_nlmsg_get_payload(m));
  EXPECT_EQ(h->nh_family, AF_INET);
  EXPECT_EQ(h->nh_protocol, 200);

  std::optional<KernelNexthop> nh = ParseNexthop(m);
  ASSERT_TRUE(nh.has_value());
  EXPECT_EQ(nh->id, 0xC8000001u);
  EXPECT_EQ(nh->protocol, 200);
  EXPECT_FALSE(nh->is_group());
  EXPECT_FALSE(nh->blackhole);
  EXPECT_EQ(nh->gateway, (Gateway{Ip("198.18.0.2"), 3}));
  EXPECT_EQ(nh->gateway.ToString(), "198.18.0.2%3");
}

TEST(RtnlCodecTest, Ipv6GatewayNexthopRoundTrip) {
  RequestBatch batch;
  batch.AddNexthop(1, GatewayNexthop(7, "2001:db8::2", 12));
  const nlmsghdr* m = Only(batch);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(static_cast<const nhmsg*>(mnl_nlmsg_get_payload(m))->nh_family, AF_INET6);
  std::optional<KernelNexthop> nh = ParseNexthop(m);
  ASSERT_TRUE(nh.has_value());
  EXPECT_EQ(nh->id, 7u);
  EXPECT_EQ(nh->gateway, (Gateway{Ip("2001:db8::2"), 12}));
}

TEST(RtnlCodecTest, BlackholeNexthopRoundTrip) {
  RequestBatch batch;
  KernelNexthop nh;
  nh.id = 9;
  nh.protocol = 200;
  nh.blackhole = true;
  batch.AddNexthop(1, nh);
  std::optional<KernelNexthop> parsed = ParseNexthop(Only(batch));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(parsed->blackhole);
  EXPECT_TRUE(parsed->gateway.address.empty());
}

TEST(RtnlCodecTest, GroupRoundTripKeepsTheMembersInOrder) {
  RequestBatch batch;
  KernelNexthop group;
  group.id = 0xC8000010;
  group.protocol = 200;
  group.group = {0xC8000001, 0xC8000002, 0xC8000003, 0xC8000004};
  batch.AddNexthop(5, group);
  const nlmsghdr* m = Only(batch);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->nlmsg_flags, kAckCreateReplace);
  EXPECT_EQ(static_cast<const nhmsg*>(mnl_nlmsg_get_payload(m))->nh_family, AF_UNSPEC);
  const std::set<uint16_t> attrs = AttrTypes(m, sizeof(nhmsg));
  EXPECT_TRUE(attrs.contains(NHA_GROUP));
  EXPECT_TRUE(attrs.contains(NHA_GROUP_TYPE));
  EXPECT_FALSE(attrs.contains(NHA_RES_GROUP));
  EXPECT_FALSE(attrs.contains(NHA_OIF));

  std::optional<KernelNexthop> nh = ParseNexthop(m);
  ASSERT_TRUE(nh.has_value());
  EXPECT_EQ(nh->id, 0xC8000010u);
  EXPECT_TRUE(nh->is_group());
  EXPECT_EQ(nh->group, group.group);
  EXPECT_FALSE(nh->resilient);
  EXPECT_EQ(nh->buckets, 0);
}

TEST(RtnlCodecTest, ResilientGroupRoundTripWithBuckets) {
  RequestBatch batch;
  KernelNexthop group;
  group.id = 300;
  group.protocol = 200;
  group.group = {101, 102, 103};
  group.resilient = true;
  group.buckets = 512;
  batch.AddNexthop(6, group);
  const nlmsghdr* m = Only(batch);
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(AttrTypes(m, sizeof(nhmsg)).contains(NHA_RES_GROUP));
  std::optional<KernelNexthop> nh = ParseNexthop(m);
  ASSERT_TRUE(nh.has_value());
  EXPECT_EQ(nh->group, (std::vector<uint32_t>{101, 102, 103}));
  EXPECT_TRUE(nh->resilient);
  EXPECT_EQ(nh->buckets, 512);
}

TEST(RtnlCodecTest, DeleteNexthopCarriesOnlyTheId) {
  RequestBatch batch;
  batch.DeleteNexthop(77, 0xC8000010);
  const nlmsghdr* m = Only(batch);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->nlmsg_type, RTM_DELNEXTHOP);
  EXPECT_EQ(m->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  EXPECT_EQ(m->nlmsg_seq, 77u);
  EXPECT_EQ(AttrTypes(m, sizeof(nhmsg)), std::set<uint16_t>{NHA_ID});
  std::optional<KernelNexthop> nh = ParseNexthop(m);
  ASSERT_TRUE(nh.has_value());
  EXPECT_EQ(nh->id, 0xC8000010u);
  EXPECT_FALSE(nh->is_group());
}

// --- Routes ---

TEST(RtnlCodecTest, RouteOnANexthopObjectRoundTrip) {
  RequestBatch batch;
  batch.AddRoute(8, Route("198.19.0.0/24", 0xC8000010));
  const nlmsghdr* m = Only(batch);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->nlmsg_type, RTM_NEWROUTE);
  EXPECT_EQ(m->nlmsg_flags, kAckCreateReplace);
  EXPECT_EQ(m->nlmsg_seq, 8u);
  const auto* rt = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m));
  EXPECT_EQ(rt->rtm_family, AF_INET);
  EXPECT_EQ(rt->rtm_dst_len, 24);
  EXPECT_EQ(rt->rtm_table, 254);
  EXPECT_EQ(rt->rtm_protocol, 200);
  EXPECT_EQ(rt->rtm_type, RTN_UNICAST);
  EXPECT_EQ(rt->rtm_scope, RT_SCOPE_UNIVERSE);
  const std::set<uint16_t> attrs = AttrTypes(m, sizeof(rtmsg));
  EXPECT_TRUE(attrs.contains(RTA_NH_ID));
  EXPECT_FALSE(attrs.contains(RTA_GATEWAY));
  EXPECT_FALSE(attrs.contains(RTA_MULTIPATH));

  std::optional<KernelRoute> r = ParseRoute(m);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->prefix, Pfx("198.19.0.0/24"));
  EXPECT_EQ(r->table, 254u);
  EXPECT_EQ(r->protocol, 200);
  EXPECT_EQ(r->metric, 20u);
  EXPECT_EQ(r->nh_id, 0xC8000010u);
  EXPECT_TRUE(r->gateways.empty());
}

TEST(RtnlCodecTest, Ipv6RouteInATableAbove255RoundTrip) {
  RequestBatch batch;
  KernelRoute route = Route("2001:db8:ff::/48", 55);
  route.table = 1000;
  route.metric = 1024;
  batch.AddRoute(1, route);
  const nlmsghdr* m = Only(batch);
  ASSERT_NE(m, nullptr);
  // The header's table is one byte: RT_TABLE_UNSPEC there, the real id in RTA_TABLE.
  EXPECT_EQ(static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m))->rtm_table, RT_TABLE_UNSPEC);
  std::optional<KernelRoute> r = ParseRoute(m);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->prefix, Pfx("2001:db8:ff::/48"));
  EXPECT_EQ(r->table, 1000u);
  EXPECT_EQ(r->metric, 1024u);
  EXPECT_EQ(r->nh_id, 55u);
}

TEST(RtnlCodecTest, RouteOverOneGatewayUsesGatewayAndOif) {
  RequestBatch batch;
  batch.AddRoute(1, Route("198.19.1.0/24", 0, {{Ip("198.18.0.2"), 3}}));
  const nlmsghdr* m = Only(batch);
  ASSERT_NE(m, nullptr);
  const std::set<uint16_t> attrs = AttrTypes(m, sizeof(rtmsg));
  EXPECT_TRUE(attrs.contains(RTA_GATEWAY));
  EXPECT_TRUE(attrs.contains(RTA_OIF));
  EXPECT_FALSE(attrs.contains(RTA_VIA));
  EXPECT_FALSE(attrs.contains(RTA_NH_ID));
  std::optional<KernelRoute> r = ParseRoute(m);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->nh_id, 0u);
  EXPECT_EQ(r->gateways, (std::vector<Gateway>{{Ip("198.18.0.2"), 3}}));
}

TEST(RtnlCodecTest, Ipv4RouteOverAnIpv6GatewayUsesRtaVia) {
  RequestBatch batch;
  batch.AddRoute(1, Route("198.19.2.0/24", 0, {{Ip("2001:db8::2"), 4}}));
  const nlmsghdr* m = Only(batch);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m))->rtm_family, AF_INET);
  const std::set<uint16_t> attrs = AttrTypes(m, sizeof(rtmsg));
  EXPECT_TRUE(attrs.contains(RTA_VIA));
  EXPECT_FALSE(attrs.contains(RTA_GATEWAY));
  std::optional<KernelRoute> r = ParseRoute(m);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->prefix, Pfx("198.19.2.0/24"));
  EXPECT_EQ(r->gateways, (std::vector<Gateway>{{Ip("2001:db8::2"), 4}}));
}

TEST(RtnlCodecTest, RouteOverThreeGatewaysUsesRtaMultipath) {
  const std::vector<Gateway> gateways = {
      {Ip("198.18.0.2"), 3}, {Ip("198.18.1.2"), 4}, {Ip("2001:db8::2"), 3}};
  RequestBatch batch;
  batch.AddRoute(3, Route("198.19.3.0/24", 0, gateways));
  const nlmsghdr* m = Only(batch);
  ASSERT_NE(m, nullptr);
  const std::set<uint16_t> attrs = AttrTypes(m, sizeof(rtmsg));
  EXPECT_TRUE(attrs.contains(RTA_MULTIPATH));
  EXPECT_FALSE(attrs.contains(RTA_GATEWAY));
  EXPECT_FALSE(attrs.contains(RTA_OIF));
  std::optional<KernelRoute> r = ParseRoute(m);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->nh_id, 0u);
  EXPECT_EQ(r->gateways, gateways);  // the third one in an RTA_VIA

  RequestBatch v6;
  const std::vector<Gateway> v6_gateways = {{Ip("2001:db8::2"), 3}, {Ip("2001:db8:1::2"), 4}};
  v6.AddRoute(4, Route("2001:db8:ff::/48", 0, v6_gateways));
  std::optional<KernelRoute> r6 = ParseRoute(Only(v6));
  ASSERT_TRUE(r6.has_value());
  EXPECT_EQ(r6->gateways, v6_gateways);
}

TEST(RtnlCodecTest, DeleteRouteMatchesPrefixTableProtocolAndMetric) {
  RequestBatch batch;
  KernelRoute route = Route("198.19.0.0/24", 0);
  route.metric = 30;
  batch.DeleteRoute(90, route);
  const nlmsghdr* m = Only(batch);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->nlmsg_type, RTM_DELROUTE);
  EXPECT_EQ(m->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  EXPECT_EQ(m->nlmsg_seq, 90u);
  EXPECT_EQ(static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m))->rtm_scope, RT_SCOPE_NOWHERE);
  EXPECT_EQ(AttrTypes(m, sizeof(rtmsg)), (std::set<uint16_t>{RTA_DST, RTA_TABLE, RTA_PRIORITY}));
  std::optional<KernelRoute> r = ParseRoute(m);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->prefix, Pfx("198.19.0.0/24"));
  EXPECT_EQ(r->table, 254u);
  EXPECT_EQ(r->protocol, 200);
  EXPECT_EQ(r->metric, 30u);
  EXPECT_TRUE(r->gateways.empty());
}

TEST(RtnlCodecTest, DefaultRouteHasNoDestinationAttribute) {
  // The kernel sends a default route without RTA_DST.
  alignas(4) char buffer[256] = {};
  nlmsghdr* m = mnl_nlmsg_put_header(buffer);
  m->nlmsg_type = RTM_NEWROUTE;
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(rtmsg)));
  rt->rtm_family = AF_INET6;
  rt->rtm_type = RTN_UNICAST;
  rt->rtm_table = 254;
  rt->rtm_protocol = 200;
  mnl_attr_put_u32(m, RTA_NH_ID, 5);
  std::optional<KernelRoute> r = ParseRoute(m);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->prefix, Pfx("::/0"));
  EXPECT_EQ(r->table, 254u);  // from the header
  EXPECT_EQ(r->nh_id, 5u);
}

// --- Batches ---

TEST(RtnlCodecTest, ABatchHoldsItsRequestsInOrderWithTheirSequenceNumbers) {
  RequestBatch batch;
  KernelNexthop group;
  group.id = 20;
  group.group = {10, 11};
  batch.AddNexthop(100, GatewayNexthop(10, "198.18.0.2", 3));
  batch.AddNexthop(101, GatewayNexthop(11, "2001:db8::2", 3));
  batch.AddNexthop(102, group);
  batch.AddRoute(103, Route("198.19.0.0/24", 20));
  batch.DeleteRoute(104, Route("198.19.9.0/24", 0));
  batch.DeleteNexthop(105, 12);
  EXPECT_EQ(batch.messages(), 6u);
  EXPECT_FALSE(batch.empty());
  const std::vector<const nlmsghdr*> messages = Messages(batch);
  ASSERT_EQ(messages.size(), 6u);
  size_t total = 0;
  std::vector<uint16_t> types;
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(messages[i]->nlmsg_seq, 100 + i);
    EXPECT_NE(messages[i]->nlmsg_flags & NLM_F_ACK, 0) << i;
    EXPECT_NE(messages[i]->nlmsg_flags & NLM_F_REQUEST, 0) << i;
    types.push_back(messages[i]->nlmsg_type);
    total += NLMSG_ALIGN(messages[i]->nlmsg_len);
  }
  EXPECT_THAT(types, ElementsAre(RTM_NEWNEXTHOP, RTM_NEWNEXTHOP, RTM_NEWNEXTHOP, RTM_NEWROUTE,
                                 RTM_DELROUTE, RTM_DELNEXTHOP));
  EXPECT_EQ(total, batch.size());
  EXPECT_EQ(ParseNexthop(messages[2])->group, (std::vector<uint32_t>{10, 11}));
  EXPECT_EQ(ParseRoute(messages[3])->nh_id, 20u);

  batch.Clear();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(batch.size(), 0u);
  EXPECT_EQ(batch.messages(), 0u);
  batch.DeleteNexthop(200, 1);
  EXPECT_EQ(Only(batch)->nlmsg_seq, 200u);
}

TEST(RtnlCodecTest, DumpAndGetRequestsAskForNoAck) {
  RequestBatch batch;
  batch.DumpNexthops(1);
  batch.DumpRoutes(2, AF_INET6);
  batch.GetRoute(3, Ip("198.18.0.2"));
  const std::vector<const nlmsghdr*> m = Messages(batch);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0]->nlmsg_type, RTM_GETNEXTHOP);
  EXPECT_EQ(m[0]->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(m[1]->nlmsg_type, RTM_GETROUTE);
  EXPECT_EQ(m[1]->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m[1]))->rtm_family, AF_INET6);
  EXPECT_EQ(m[2]->nlmsg_type, RTM_GETROUTE);
  EXPECT_EQ(m[2]->nlmsg_flags, NLM_F_REQUEST);
  const auto* rt = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m[2]));
  EXPECT_EQ(rt->rtm_family, AF_INET);
  EXPECT_EQ(rt->rtm_dst_len, 32);
}

TEST(RtnlCodecTest, TheLargestMessagesFitInKMaxMessage) {
  KernelNexthop group;
  group.id = 1;
  group.resilient = true;
  group.buckets = 32768;
  for (uint32_t i = 0; i < 256; ++i) group.group.push_back(1000 + i);
  RequestBatch a;
  a.AddNexthop(1, group);
  EXPECT_LE(a.size(), RequestBatch::kMaxMessage);
  EXPECT_EQ(ParseNexthop(Only(a))->group.size(), 256u);

  // A route over 256 gateways, of the widest kind: an IPv4 route over IPv6 gateways (RTA_VIA)
  // and an IPv6 route over IPv6 gateways.
  std::vector<Gateway> gateways;
  for (int i = 0; i < 256; ++i) {
    gateways.push_back({Ip("2001:db8:" + std::to_string(i) + "::2"), static_cast<uint32_t>(i)});
  }
  for (const char* prefix : {"198.19.0.0/24", "2001:db8:ff::/48"}) {
    RequestBatch b;
    b.AddRoute(1, Route(prefix, 0, gateways));
    EXPECT_LE(b.size(), RequestBatch::kMaxMessage) << prefix;
    std::optional<KernelRoute> r = ParseRoute(Only(b));
    ASSERT_TRUE(r.has_value()) << prefix;
    EXPECT_EQ(r->gateways, gateways) << prefix;
  }
}

// full() is asked before each request: whenever it says no, the widest request still fits.
TEST(RtnlCodecTest, ARequestAddedWhenNotFullStaysInsideTheBuffer) {
  constexpr size_t kCapacity = 64 * 1024;
  std::vector<Gateway> gateways;
  for (int i = 0; i < 256; ++i) {
    gateways.push_back({Ip("2001:db8:" + std::to_string(i) + "::2"), static_cast<uint32_t>(i)});
  }
  RequestBatch batch(kCapacity);
  uint32_t seq = 0;
  // Small requests up to the last size at which full() still says there is room.
  constexpr size_t kSmall = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(nhmsg)) + 8);
  while (batch.size() + kSmall + RequestBatch::kMaxMessage <= kCapacity) {
    batch.DeleteNexthop(++seq, 1);
  }
  ASSERT_FALSE(batch.full());
  batch.AddRoute(++seq, Route("198.19.0.0/24", 0, gateways));
  EXPECT_LE(batch.size(), kCapacity);
  EXPECT_TRUE(batch.full());
  const std::vector<const nlmsghdr*> messages = Messages(batch);
  ASSERT_EQ(messages.size(), seq);
  EXPECT_EQ(ParseRoute(messages.back())->gateways.size(), 256u);
}

// --- Acks ---

// An NLMSG_ERROR as the kernel builds it: the error, the echoed request header (and, unless
// capped, the request's payload), then the extended-ack attributes.
std::vector<char> ErrorMessage(uint32_t seq, int error, bool capped, std::string_view text,
                               uint32_t echoed_payload = 24) {
  std::vector<char> buffer(1024, 0);
  nlmsghdr* m = mnl_nlmsg_put_header(buffer.data());
  m->nlmsg_type = NLMSG_ERROR;
  m->nlmsg_seq = seq;
  auto* e = static_cast<nlmsgerr*>(mnl_nlmsg_put_extra_header(m, sizeof(nlmsgerr)));
  e->error = -error;
  e->msg.nlmsg_type = RTM_NEWNEXTHOP;
  e->msg.nlmsg_seq = seq;
  e->msg.nlmsg_len = static_cast<uint32_t>(sizeof(nlmsghdr) + echoed_payload);
  if (capped) {
    m->nlmsg_flags |= NLM_F_CAPPED;
  } else {
    mnl_nlmsg_put_extra_header(m, echoed_payload);  // zeroes: the echoed request's payload
  }
  if (!text.empty()) {
    m->nlmsg_flags |= NLM_F_ACK_TLVS;
    mnl_attr_put_strz(m, NLMSGERR_ATTR_MSG, std::string(text).c_str());
    mnl_attr_put_u32(m, NLMSGERR_ATTR_OFFS, 20);
  }
  buffer.resize(m->nlmsg_len);
  return buffer;
}

const nlmsghdr* Header(const std::vector<char>& buffer) {
  return reinterpret_cast<const nlmsghdr*>(buffer.data());
}

TEST(RtnlCodecTest, ParseAckOfASuccess) {
  const std::vector<char> buffer = ErrorMessage(12, 0, true, "");
  std::optional<Ack> ack = ParseAck(Header(buffer));
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->seq, 12u);
  EXPECT_EQ(ack->error, 0);
  EXPECT_EQ(ack->message, "");
}

TEST(RtnlCodecTest, ParseAckOfAnErrorWithoutExtendedAck) {
  const std::vector<char> buffer = ErrorMessage(13, EEXIST, false, "");
  std::optional<Ack> ack = ParseAck(Header(buffer));
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->seq, 13u);
  EXPECT_EQ(ack->error, EEXIST);
  EXPECT_EQ(ack->message, "");
}

TEST(RtnlCodecTest, ParseAckOfAnErrorWithAnExtendedAckMessage) {
  // NETLINK_CAP_ACK: only the request's header is echoed.
  const std::vector<char> capped = ErrorMessage(14, EINVAL, true, "Nexthop device is not up");
  std::optional<Ack> ack = ParseAck(Header(capped));
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->seq, 14u);
  EXPECT_EQ(ack->error, EINVAL);
  EXPECT_EQ(ack->message, "Nexthop device is not up");

  // Without it, the whole request comes back before the attributes.
  for (uint32_t payload : {0u, 4u, 24u, 37u, 100u}) {
    const std::vector<char> full = ErrorMessage(15, ENODEV, false, "Invalid gateway", payload);
    ack = ParseAck(Header(full));
    ASSERT_TRUE(ack.has_value()) << payload;
    EXPECT_EQ(ack->error, ENODEV);
    EXPECT_EQ(ack->message, "Invalid gateway") << payload;
  }
}

TEST(RtnlCodecTest, ParseAckRefusesOtherAndShortMessages) {
  std::vector<char> buffer = ErrorMessage(1, 0, true, "");
  auto* m = reinterpret_cast<nlmsghdr*>(buffer.data());
  m->nlmsg_type = RTM_NEWROUTE;
  EXPECT_FALSE(ParseAck(m).has_value());
  m->nlmsg_type = NLMSG_DONE;
  EXPECT_FALSE(ParseAck(m).has_value());
  m->nlmsg_type = NLMSG_ERROR;
  m->nlmsg_len = NLMSG_LENGTH(sizeof(int));  // the error but no echoed header
  EXPECT_FALSE(ParseAck(m).has_value());
  m->nlmsg_len = NLMSG_HDRLEN;
  EXPECT_FALSE(ParseAck(m).has_value());
}

// The echoed header's length is the sender's word: a wrong one must not send the parser
// outside the message.
TEST(RtnlCodecTest, ParseAckWithAWrongEchoedLengthStaysInsideTheMessage) {
  for (uint32_t echoed : {0u, 4u, 15u, 0x7FFFFFF0u, 0xFFFFFFF0u, 0xFFFFFFFFu}) {
    std::vector<char> buffer = ErrorMessage(2, EINVAL, false, "some text", 8);
    auto* m = reinterpret_cast<nlmsghdr*>(buffer.data());
    static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(m))->msg.nlmsg_len = echoed;
    std::optional<Ack> ack = ParseAck(m);
    ASSERT_TRUE(ack.has_value()) << echoed;
    EXPECT_EQ(ack->error, EINVAL);
    EXPECT_EQ(ack->seq, 2u);
  }
}

// An extended-ack text that is not NUL-terminated is cut at the end of its attribute.
TEST(RtnlCodecTest, ParseAckWithAnUnterminatedMessageReadsNoFurther) {
  std::vector<char> buffer(256, 'X');
  nlmsghdr* m = mnl_nlmsg_put_header(buffer.data());
  m->nlmsg_type = NLMSG_ERROR;
  m->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
  auto* e = static_cast<nlmsgerr*>(mnl_nlmsg_put_extra_header(m, sizeof(nlmsgerr)));
  e->error = -EINVAL;
  e->msg.nlmsg_len = sizeof(nlmsghdr);
  mnl_attr_put(m, NLMSGERR_ATTR_MSG, 8, "abcdefgh");  // no NUL, fills its attribute exactly
  ASSERT_EQ(m->nlmsg_len % 4, 0u);
  std::optional<Ack> ack = ParseAck(m);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->message, "abcdefgh");
}

// Found by tests/fuzz/rtnl_fuzzer.cc: an error field that is not 0 or a negative errno (INT_MIN
// cannot even be negated) is no ack.
TEST(RtnlCodecTest, ParseAckRefusesAnErrorThatIsNotANegativeErrno) {
  for (int error : {INT_MIN, -4096, 1, INT_MAX}) {
    std::vector<char> buffer = ErrorMessage(3, 0, true, "");
    static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(Header(buffer)))->error = error;
    EXPECT_FALSE(ParseAck(Header(buffer)).has_value()) << error;
  }
  std::vector<char> buffer = ErrorMessage(3, 4095, true, "");
  std::optional<Ack> ack = ParseAck(Header(buffer));
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->error, 4095);
}

// --- Walking a datagram ---

// The messages MessageOk/NextMessage visit in `datagram`.
std::vector<const nlmsghdr*> Walk(const std::vector<char>& datagram) {
  std::vector<const nlmsghdr*> out;
  size_t left = datagram.size();
  for (auto* m = reinterpret_cast<const nlmsghdr*>(datagram.data()); MessageOk(m, left);
       m = NextMessage(m, &left)) {
    out.push_back(m);
  }
  return out;
}

TEST(RtnlCodecTest, TheWalkVisitsEveryMessageOfADatagram) {
  RequestBatch batch;
  batch.AddNexthop(1, GatewayNexthop(10, "198.18.0.2", 3));
  batch.DeleteNexthop(2, 10);
  batch.DumpRoutes(3, AF_INET6);
  const std::vector<char> datagram(batch.data(), batch.data() + batch.size());
  EXPECT_EQ(Walk(datagram).size(), 3u);
}

// Found by tests/fuzz/rtnl_fuzzer.cc: mnl_nlmsg_ok() takes a length of 2^31 or more for a
// negative int and lets the walk run past the datagram; MessageOk() stops there.
TEST(RtnlCodecTest, TheWalkStopsAtAMessageLongerThanTheDatagram) {
  RequestBatch batch;
  batch.DeleteNexthop(1, 10);
  batch.DeleteNexthop(2, 11);
  for (uint32_t length : {0x80000000u, 0xFFFFFFF0u, 0xFFFFFFFFu, 1000u, 15u, 0u}) {
    std::vector<char> datagram(batch.data(), batch.data() + batch.size());
    const size_t second =
        NLMSG_ALIGN(reinterpret_cast<const nlmsghdr*>(datagram.data())->nlmsg_len);
    reinterpret_cast<nlmsghdr*>(datagram.data() + second)->nlmsg_len = length;
    const std::vector<const nlmsghdr*> seen = Walk(datagram);
    ASSERT_EQ(seen.size(), 1u) << length;
    EXPECT_EQ(static_cast<const void*>(seen[0]), static_cast<const void*>(datagram.data()));
  }
  // A last message whose length is not a multiple of 4, without the padding: visited, then the
  // walk ends inside the datagram.
  std::vector<char> datagram(batch.data(), batch.data() + batch.size());
  auto* last = reinterpret_cast<nlmsghdr*>(
      datagram.data() + NLMSG_ALIGN(reinterpret_cast<const nlmsghdr*>(datagram.data())->nlmsg_len));
  last->nlmsg_len -= 1;
  datagram.resize(datagram.size() - 1);
  EXPECT_EQ(Walk(datagram).size(), 2u);
}

// --- Lookups and links ---

TEST(RtnlCodecTest, ParseRouteLookup) {
  alignas(4) char buffer[256] = {};
  nlmsghdr* m = mnl_nlmsg_put_header(buffer);
  m->nlmsg_type = RTM_NEWROUTE;
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(rtmsg)));
  rt->rtm_family = AF_INET;
  rt->rtm_type = RTN_UNICAST;
  rt->rtm_dst_len = 32;
  const in_addr via = Ip("198.18.0.2").v4();
  mnl_attr_put(m, RTA_GATEWAY, 4, &via);
  mnl_attr_put_u32(m, RTA_OIF, 3);
  std::optional<RouteLookup> lookup = ParseRouteLookup(m);
  ASSERT_TRUE(lookup.has_value());
  EXPECT_TRUE(lookup->reachable);
  EXPECT_EQ(lookup->ifindex, 3u);
  EXPECT_EQ(lookup->via, Ip("198.18.0.2"));

  rt->rtm_type = RTN_UNREACHABLE;
  lookup = ParseRouteLookup(m);
  ASSERT_TRUE(lookup.has_value());
  EXPECT_FALSE(lookup->reachable);
  m->nlmsg_type = RTM_DELROUTE;
  EXPECT_FALSE(ParseRouteLookup(m).has_value());
}

TEST(RtnlCodecTest, ParseLink) {
  alignas(4) char buffer[128] = {};
  nlmsghdr* m = mnl_nlmsg_put_header(buffer);
  m->nlmsg_type = RTM_NEWLINK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(m, sizeof(ifinfomsg)));
  ifi->ifi_index = 5;
  ifi->ifi_flags = IFF_UP | IFF_RUNNING;
  std::optional<LinkEvent> link = ParseLink(m);
  ASSERT_TRUE(link.has_value());
  EXPECT_EQ(link->ifindex, 5u);
  EXPECT_TRUE(link->up);
  ifi->ifi_flags = IFF_UP;  // no carrier
  EXPECT_FALSE(ParseLink(m)->up);
  ifi->ifi_flags = IFF_UP | IFF_RUNNING;
  m->nlmsg_type = RTM_DELLINK;
  EXPECT_FALSE(ParseLink(m)->up);
  m->nlmsg_len = NLMSG_HDRLEN + 4;
  EXPECT_FALSE(ParseLink(m).has_value());
}

// --- Malformed input ---

TEST(RtnlCodecTest, ParsersRefuseOtherMessageTypes) {
  RequestBatch batch;
  batch.AddNexthop(1, GatewayNexthop(1, "198.18.0.2", 3));
  batch.AddRoute(2, Route("198.19.0.0/24", 1));
  const std::vector<const nlmsghdr*> m = Messages(batch);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_FALSE(ParseRoute(m[0]).has_value());
  EXPECT_FALSE(ParseNexthop(m[1]).has_value());
  EXPECT_FALSE(ParseAck(m[0]).has_value());
  EXPECT_FALSE(ParseLink(m[1]).has_value());
}

TEST(RtnlCodecTest, ParseNexthopRefusesMalformedMessages) {
  RequestBatch batch;
  batch.AddNexthop(1, GatewayNexthop(9, "198.18.0.2", 3));
  std::vector<char> buffer(batch.data(), batch.data() + batch.size());
  auto* m = reinterpret_cast<nlmsghdr*>(buffer.data());
  ASSERT_TRUE(ParseNexthop(m).has_value());
  // Shorter than its family header.
  const uint32_t length = m->nlmsg_len;
  m->nlmsg_len = NLMSG_LENGTH(sizeof(nhmsg) - 1);
  EXPECT_FALSE(ParseNexthop(m).has_value());
  // The header alone: no NHA_ID.
  m->nlmsg_len = NLMSG_LENGTH(sizeof(nhmsg));
  EXPECT_FALSE(ParseNexthop(m).has_value());
  m->nlmsg_len = length;

  // A gateway of the wrong width for the family: parsed, with no gateway.
  alignas(4) char raw[128] = {};
  nlmsghdr* n = mnl_nlmsg_put_header(raw);
  n->nlmsg_type = RTM_NEWNEXTHOP;
  auto* h = static_cast<nhmsg*>(mnl_nlmsg_put_extra_header(n, sizeof(nhmsg)));
  h->nh_family = AF_INET6;
  mnl_attr_put_u32(n, NHA_ID, 3);
  const in_addr v4 = Ip("198.18.0.2").v4();
  mnl_attr_put(n, NHA_GATEWAY, 4, &v4);
  std::optional<KernelNexthop> nh = ParseNexthop(n);
  ASSERT_TRUE(nh.has_value());
  EXPECT_TRUE(nh->gateway.address.empty());
  // An NHA_ID too short to hold an id.
  alignas(4) char raw2[64] = {};
  n = mnl_nlmsg_put_header(raw2);
  n->nlmsg_type = RTM_NEWNEXTHOP;
  mnl_nlmsg_put_extra_header(n, sizeof(nhmsg));
  mnl_attr_put_u16(n, NHA_ID, 3);
  EXPECT_FALSE(ParseNexthop(n).has_value());
}

// Found while writing tests/fuzz/rtnl_fuzzer.cc (libmnl is not instrumented, so the fuzzer cannot
// see its reads): an NHA_GROUP_TYPE or NHA_RES_GROUP_BUCKETS without its two octets was read past
// the attribute. Here the octets after the message say "resilient", then 257 buckets.
TEST(RtnlCodecTest, ParseNexthopReadsNoU16PastAShortAttribute) {
  const nexthop_grp member{.id = 10};
  alignas(4) char raw[128];
  std::memset(raw, 0x01, sizeof(raw));
  nlmsghdr* n = mnl_nlmsg_put_header(raw);
  n->nlmsg_type = RTM_NEWNEXTHOP;
  mnl_nlmsg_put_extra_header(n, sizeof(nhmsg));
  mnl_attr_put_u32(n, NHA_ID, 20);
  mnl_attr_put(n, NHA_GROUP, sizeof(member), &member);
  mnl_attr_put(n, NHA_GROUP_TYPE, 0, nullptr);  // last: the message's end follows
  const uint16_t resilient = NEXTHOP_GRP_TYPE_RES;
  std::memcpy(raw + n->nlmsg_len, &resilient, sizeof(resilient));
  std::optional<KernelNexthop> nh = ParseNexthop(n);
  ASSERT_TRUE(nh.has_value());
  EXPECT_THAT(nh->group, ElementsAre(10u));
  EXPECT_FALSE(nh->resilient);

  std::memset(raw, 0x01, sizeof(raw));
  n = mnl_nlmsg_put_header(raw);
  n->nlmsg_type = RTM_NEWNEXTHOP;
  mnl_nlmsg_put_extra_header(n, sizeof(nhmsg));
  mnl_attr_put_u32(n, NHA_ID, 20);
  mnl_attr_put(n, NHA_GROUP, sizeof(member), &member);
  mnl_attr_put_u16(n, NHA_GROUP_TYPE, NEXTHOP_GRP_TYPE_RES);
  nlattr* nest = mnl_attr_nest_start(n, NHA_RES_GROUP);
  mnl_attr_put(n, NHA_RES_GROUP_BUCKETS, 0, nullptr);
  mnl_attr_nest_end(n, nest);
  nh = ParseNexthop(n);
  ASSERT_TRUE(nh.has_value());
  EXPECT_TRUE(nh->resilient);
  EXPECT_EQ(nh->buckets, 0);
}

TEST(RtnlCodecTest, ParseRouteRefusesWhatIsNotAUnicastRoute) {
  RequestBatch batch;
  batch.AddRoute(1, Route("198.19.0.0/24", 1));
  std::vector<char> buffer(batch.data(), batch.data() + batch.size());
  auto* m = reinterpret_cast<nlmsghdr*>(buffer.data());
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_get_payload(m));
  ASSERT_TRUE(ParseRoute(m).has_value());
  for (uint8_t type : {RTN_LOCAL, RTN_BROADCAST, RTN_MULTICAST, RTN_BLACKHOLE}) {
    rt->rtm_type = type;
    EXPECT_FALSE(ParseRoute(m).has_value()) << int{type};
  }
  rt->rtm_type = RTN_UNICAST;
  rt->rtm_family = AF_UNSPEC;
  EXPECT_FALSE(ParseRoute(m).has_value());
  rt->rtm_family = AF_INET6;  // a 4-byte RTA_DST is not an IPv6 destination
  EXPECT_FALSE(ParseRoute(m).has_value());
  rt->rtm_family = AF_INET;
  rt->rtm_dst_len = 33;
  EXPECT_FALSE(ParseRoute(m).has_value());
  rt->rtm_dst_len = 24;
  m->nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg) - 1);
  EXPECT_FALSE(ParseRoute(m).has_value());
  // The header alone: no RTA_DST with a non-zero length.
  m->nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  EXPECT_FALSE(ParseRoute(m).has_value());
}

TEST(RtnlCodecTest, ParseRouteSurvivesABrokenMultipath) {
  for (uint16_t bad_len : {0, 4, 7, 200, 0xFFFF}) {
    alignas(4) char buffer[512] = {};
    nlmsghdr* m = mnl_nlmsg_put_header(buffer);
    m->nlmsg_type = RTM_NEWROUTE;
    auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(rtmsg)));
    rt->rtm_family = AF_INET;
    rt->rtm_type = RTN_UNICAST;
    rt->rtm_dst_len = 24;
    const in_addr dst = Ip("198.19.0.0").v4();
    mnl_attr_put(m, RTA_DST, 4, &dst);
    nlattr* nest = mnl_attr_nest_start(m, RTA_MULTIPATH);
    // One good hop, then one whose length is wrong.
    for (int i = 0; i < 2; ++i) {
      auto* hop = static_cast<rtnexthop*>(mnl_nlmsg_get_payload_tail(m));
      std::memset(hop, 0, sizeof(*hop));
      hop->rtnh_ifindex = 3 + i;
      m->nlmsg_len += MNL_ALIGN(sizeof(rtnexthop));
      const in_addr gw = Ip(i == 0 ? "198.18.0.2" : "198.18.0.3").v4();
      mnl_attr_put(m, RTA_GATEWAY, 4, &gw);
      hop->rtnh_len = static_cast<unsigned short>(
          static_cast<char*>(mnl_nlmsg_get_payload_tail(m)) - reinterpret_cast<char*>(hop));
      if (i == 1) hop->rtnh_len = bad_len;
    }
    mnl_attr_nest_end(m, nest);
    std::optional<KernelRoute> r = ParseRoute(m);
    ASSERT_TRUE(r.has_value()) << bad_len;
    ASSERT_FALSE(r->gateways.empty()) << bad_len;
    EXPECT_EQ(r->gateways[0], (Gateway{Ip("198.18.0.2"), 3})) << bad_len;
    EXPECT_LE(r->gateways.size(), 2u);
  }
}

TEST(RtnlCodecTest, ParseRouteWithABadViaHasNoGateway) {
  alignas(4) char buffer[256] = {};
  nlmsghdr* m = mnl_nlmsg_put_header(buffer);
  m->nlmsg_type = RTM_NEWROUTE;
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(m, sizeof(rtmsg)));
  rt->rtm_family = AF_INET;
  rt->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(m, RTA_OIF, 3);
  char via[2 + 4] = {};
  reinterpret_cast<rtvia*>(via)->rtvia_family = AF_INET6;  // says IPv6, carries 4 bytes
  mnl_attr_put(m, RTA_VIA, sizeof(via), via);
  std::optional<KernelRoute> r = ParseRoute(m);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->gateways.size(), 1u);
  EXPECT_TRUE(r->gateways[0].address.empty());
  EXPECT_EQ(r->gateways[0].ifindex, 3u);
}

// Every message the builders make, cut at every length and with bytes flipped, through every
// parser: answers or nullopt, never a read outside the message.
TEST(RtnlCodecTest, TruncatedAndCorruptedMessagesNeverCrashTheParsers) {
  RequestBatch batch;
  KernelNexthop group;
  group.id = 20;
  group.group = {10, 11, 12};
  group.resilient = true;
  group.buckets = 64;
  batch.AddNexthop(1, GatewayNexthop(10, "198.18.0.2", 3));
  batch.AddNexthop(2, GatewayNexthop(11, "2001:db8::2", 3));
  batch.AddNexthop(3, group);
  batch.DeleteNexthop(4, 20);
  batch.AddRoute(5, Route("198.19.0.0/24", 20));
  batch.AddRoute(6, Route("198.19.1.0/24", 0,
                          {{Ip("198.18.0.2"), 3}, {Ip("2001:db8::2"), 3}, {Ip("198.18.1.2"), 4}}));
  batch.AddRoute(7, Route("198.19.2.0/24", 0, {{Ip("2001:db8::2"), 3}}));
  batch.DeleteRoute(8, Route("2001:db8:ff::/48", 0));
  std::vector<std::vector<char>> inputs;
  for (const nlmsghdr* m : Messages(batch)) {
    inputs.emplace_back(reinterpret_cast<const char*>(m),
                        reinterpret_cast<const char*>(m) + m->nlmsg_len);
  }
  inputs.push_back(ErrorMessage(9, EINVAL, false, "Invalid argument", 40));
  inputs.push_back(ErrorMessage(10, EINVAL, true, "Nexthop id does not exist"));

  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1103515245u + 12345u;
    return state >> 16;
  };
  size_t parsed = 0;
  for (const std::vector<char>& input : inputs) {
    for (size_t len = NLMSG_HDRLEN; len <= input.size(); ++len) {
      for (int variant = 0; variant < 4; ++variant) {
        // Exactly the (aligned) message: a read past it is a read past the allocation.
        std::vector<char> copy(input.begin(), input.begin() + static_cast<ptrdiff_t>(len));
        copy.resize(NLMSG_ALIGN(len), 0);
        auto* m = reinterpret_cast<nlmsghdr*>(copy.data());
        m->nlmsg_len = static_cast<uint32_t>(len);
        if (variant > 0 && len > NLMSG_HDRLEN) {
          for (int flips = 0; flips < variant * 2; ++flips) {
            const size_t at = NLMSG_HDRLEN + next() % (len - NLMSG_HDRLEN);
            copy[at] = static_cast<char>(next());
          }
        }
        parsed += ParseNexthop(m).has_value();
        parsed += ParseRoute(m).has_value();
        parsed += ParseRouteLookup(m).has_value();
        parsed += ParseAck(m).has_value();
        parsed += ParseLink(m).has_value();
      }
    }
  }
  EXPECT_GT(parsed, 0u);
}

}  // namespace
}  // namespace strobe::fib
