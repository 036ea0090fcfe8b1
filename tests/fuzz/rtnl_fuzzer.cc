// libFuzzer target: what the kernel sends strobe-bgpd's FIB writer over rtnetlink
// (controlplane/fib/rtnl_codec.h: RTM_NEWNEXTHOP/DELNEXTHOP, RTM_NEWROUTE/DELROUTE, the answer to
// RTM_GETROUTE, NLMSG_ERROR acks with extended-ack text, RTM_NEWLINK/DELLINK), and what the writer
// does with a dump and with notifications (controlplane/fib/fib_table.h: Reconcile at start and on
// a resynchronisation, repairs, the operations that follow).
//
// Input: one setup byte (bit 0 nexthop objects, bit 1 resilient groups, bit 2 the kernel refuses
// every third request), then one datagram as recv() returns it: netlink messages, walked with
// MessageOk/NextMessage as controlplane/fib/rtnl_socket.cc does. The kernel pads every message to 4
// octets (NLMSG_ALIGN), so the datagram is padded with zeros to a multiple of 4.
//
// Checked: whatever parses re-encodes through RequestBatch (the writer's own builders) and parses
// back to the same value; the ack text lies inside the message; the table stays consistent
// (nexthop and group ids disjoint and non-zero, reference counts exact, every route's group
// exists, every operation names an object the table has) through start-up, repairs,
// resynchronisation, the end of the stale period and the final removal.

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "controlplane/bgp/rib.h"
#include "controlplane/fib/fib_table.h"
#include "controlplane/fib/kernel_types.h"
#include "controlplane/fib/rtnl_codec.h"
#include "src/net/ip_address.h"
#include "tests/fuzz/fuzz_util.h"

namespace strobe::fib {
namespace {

constexpr uint8_t kProtocol = 200;
constexpr uint32_t kTable = 254;
constexpr int kMaxRounds = 64;

// The first message of a batch holding one request.
const nlmsghdr* OnlyMessage(const RequestBatch& batch) {
  FUZZ_CHECK(batch.messages() == 1, "%zu messages", batch.messages());
  const auto* m = reinterpret_cast<const nlmsghdr*>(batch.data());
  FUZZ_CHECK(MessageOk(m, batch.size()), "a malformed request");
  return m;
}

void CheckNexthopRoundtrip(const KernelNexthop& nh) {
  // The writer only ever sends groups, and gateways with an address.
  if (!nh.is_group() && (nh.blackhole || nh.gateway.address.empty())) return;
  RequestBatch batch;
  batch.AddNexthop(1, nh);
  const std::optional<KernelNexthop> back = ParseNexthop(OnlyMessage(batch));
  FUZZ_CHECK(back.has_value(), "our RTM_NEWNEXTHOP does not parse");
  FUZZ_CHECK(back->id == nh.id && back->protocol == nh.protocol && back->group == nh.group,
             "nexthop %u does not survive a roundtrip", nh.id);
  if (nh.is_group()) {
    FUZZ_CHECK(back->resilient == nh.resilient && (!nh.resilient || back->buckets == nh.buckets),
               "group %u: resilient %d/%d buckets %u/%u", nh.id, nh.resilient, back->resilient,
               nh.buckets, back->buckets);
  } else {
    FUZZ_CHECK(back->gateway == nh.gateway, "nexthop %u: gateway %s became %s", nh.id,
               nh.gateway.ToString().c_str(), back->gateway.ToString().c_str());
  }
}

void CheckRouteRoundtrip(const KernelRoute& r) {
  for (const Gateway& g : r.gateways) {
    if (g.address.empty()) return;  // a device route: the writer never sends one
  }
  RequestBatch batch;
  batch.AddRoute(1, r);
  const std::optional<KernelRoute> back = ParseRoute(OnlyMessage(batch));
  FUZZ_CHECK(back.has_value(), "our RTM_NEWROUTE for %s does not parse",
             r.prefix.ToString().c_str());
  FUZZ_CHECK(back->prefix == r.prefix && back->table == r.table && back->protocol == r.protocol &&
                 back->metric == r.metric && back->nh_id == r.nh_id && back->gateways == r.gateways,
             "route %s does not survive a roundtrip", r.prefix.ToString().c_str());
  RequestBatch del;
  del.DeleteRoute(1, r);
  const std::optional<KernelRoute> gone = ParseRoute(OnlyMessage(del));
  FUZZ_CHECK(gone.has_value() && gone->prefix == r.prefix && gone->metric == r.metric,
             "our RTM_DELROUTE does not parse");
}

// Every parser on every message, as the writer's callbacks would call them.
void ParseAll(const nlmsghdr* m, std::vector<KernelNexthop>* nexthops,
              std::vector<KernelRoute>* routes, std::vector<const nlmsghdr*>* nexthop_events) {
  if (std::optional<KernelNexthop> nh = ParseNexthop(m)) {
    FUZZ_CHECK(nh->id != 0, "nexthop id 0");
    CheckNexthopRoundtrip(*nh);
    nexthops->push_back(*nh);
    nexthop_events->push_back(m);
  }
  if (std::optional<KernelRoute> r = ParseRoute(m)) {
    FUZZ_CHECK(
        r->prefix.length <= (r->prefix.address.is_v4() ? 32 : 128) && !r->prefix.address.empty(),
        "route prefix %s", r->prefix.ToString().c_str());
    CheckRouteRoundtrip(*r);
    // FibWriter::Dump keeps our protocol and table only.
    if (r->protocol == kProtocol && r->table == kTable) routes->push_back(*r);
  }
  if (std::optional<RouteLookup> lookup = ParseRouteLookup(m)) {
    FUZZ_CHECK(lookup->via.empty() || lookup->via.is_v4() || lookup->via.is_v6(), "via");
  }
  if (std::optional<Ack> ack = ParseAck(m)) {
    FUZZ_CHECK(ack->message.size() < m->nlmsg_len, "ack text of %zu octets in a %u-octet message",
               ack->message.size(), m->nlmsg_len);
    FUZZ_CHECK(ack->message.find('\0') == std::string::npos, "NUL in the ack text");
  }
  (void)ParseLink(m);
}

class Writer {
 public:
  Writer(const FibTableOptions& options, bool refuse_some)
      : table_(options, Resolve), refuse_some_(refuse_some) {}

  FibTable& table() { return table_; }

  // FibWriter::Flush until nothing is left, each operation answered by the "kernel".
  void Drain() {
    for (int round = 0; round < kMaxRounds && table_.HasWork(); ++round) {
      table_.Plan();
      for (const Op& op : table_.TakeOps(16)) Answer(op);
      CheckConsistent();
    }
  }

  void Answer(const Op& op) {
    // FibWriter::Send builds each request from the table's current state.
    RequestBatch batch;
    switch (op.kind) {
      case OpKind::kAddNexthop:
      case OpKind::kSetGroup: {
        FUZZ_CHECK(op.id != 0, "%s with id 0", OpKindName(op.kind));
        FUZZ_CHECK(op.kind == OpKind::kAddNexthop ? table_.nexthops().contains(op.id)
                                                  : table_.groups().contains(op.id),
                   "%s %u of an unknown object", OpKindName(op.kind), op.id);
        const KernelNexthop nh = table_.NexthopMessage(op);
        FUZZ_CHECK(op.kind == OpKind::kAddNexthop || !nh.group.empty(), "an empty group %u", op.id);
        batch.AddNexthop(1, nh);
        FUZZ_CHECK(ParseNexthop(OnlyMessage(batch)).has_value(), "our nexthop does not parse");
        break;
      }
      case OpKind::kDeleteGroup:
      case OpKind::kDeleteNexthop:
        FUZZ_CHECK(op.id != 0, "%s with id 0", OpKindName(op.kind));
        batch.DeleteNexthop(1, op.id);
        break;
      case OpKind::kSetRoute: {
        FUZZ_CHECK(table_.routes().contains(op.prefix), "set-route of an unknown prefix");
        const KernelRoute r = table_.RouteMessage(op);
        if (table_.options().nexthop_objects) {
          FUZZ_CHECK(table_.groups().contains(r.nh_id), "route %s on unknown group %u",
                     op.prefix.ToString().c_str(), r.nh_id);
        }
        batch.AddRoute(1, r);
        FUZZ_CHECK(ParseRoute(OnlyMessage(batch)).has_value(), "our route does not parse");
        break;
      }
      case OpKind::kDeleteRoute:
        batch.DeleteRoute(1, table_.RouteMessage(op));
        break;
    }
    const int error = refuse_some_ && ++answered_ % 3 == 0 ? EINVAL : 0;
    table_.OnResult(op, error, error != 0 ? "refused" : "", 0);
  }

  void CheckConsistent() const {
    for (const auto& [id, nh] : table_.nexthops()) {
      FUZZ_CHECK(id != 0 && !table_.groups().contains(id), "nexthop id %u is also a group", id);
      uint32_t refs = 0;
      for (const auto& [gid, group] : table_.groups()) {
        refs += static_cast<uint32_t>(std::count(group.members.begin(), group.members.end(), id));
      }
      FUZZ_CHECK(nh.group_refs == refs, "nexthop %u: group_refs %u, in %u groups", id,
                 nh.group_refs, refs);
    }
    for (const auto& [id, group] : table_.groups()) {
      FUZZ_CHECK(id != 0, "group id 0");
      uint32_t refs = 0;
      for (const auto& [prefix, route] : table_.routes()) refs += route.group == id;
      FUZZ_CHECK(group.route_refs == refs, "group %u: route_refs %u, %u routes", id,
                 group.route_refs, refs);
    }
    for (const auto& [prefix, route] : table_.routes()) {
      FUZZ_CHECK(route.group == 0 || table_.groups().contains(route.group),
                 "route %s on group %u, which is gone", prefix.ToString().c_str(), route.group);
    }
  }

 private:
  // Next hops in 198.18.1.0/24 resolve on interface 2 or 3; .255 does not resolve.
  static std::optional<Gateway> Resolve(const net::IpAddress& a) {
    const uint8_t last = a.bytes()[a.is_v4() ? 3 : 15];
    if (last == 255) return std::nullopt;
    return Gateway{a, 2u + last % 2};
  }

  FibTable table_;
  bool refuse_some_;
  uint32_t answered_ = 0;
};

bgp::RibPrefix PrefixOf(const char* text) { return *bgp::RibPrefix::Parse(text); }

}  // namespace
}  // namespace strobe::fib

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strobe::fib;  // NOLINT: a fuzz entry point
  using strobe::net::IpAddress;
  if (size == 0) return 0;
  const uint8_t setup = data[0];
  // The datagram, padded as the kernel pads it, in an allocation of exactly that size (a
  // vector's spare capacity would hide a read past the end from AddressSanitizer).
  const size_t datagram_size = NLMSG_ALIGN(size - 1);
  const std::unique_ptr<uint8_t[]> buffer(new uint8_t[datagram_size]());
  std::memcpy(buffer.get(), data + 1, size - 1);
  const std::span<const uint8_t> datagram(buffer.get(), datagram_size);

  std::vector<KernelNexthop> nexthops;
  std::vector<KernelRoute> routes;
  std::vector<const nlmsghdr*> nexthop_events;
  size_t left = datagram.size();
  for (auto* m = reinterpret_cast<const nlmsghdr*>(datagram.data()); MessageOk(m, left);
       m = NextMessage(m, &left)) {
    FUZZ_CHECK(
        reinterpret_cast<const uint8_t*>(m) + m->nlmsg_len <= datagram.data() + datagram.size(),
        "a message of %u octets past the datagram's end", m->nlmsg_len);
    ParseAll(m, &nexthops, &routes, &nexthop_events);
  }

  FibTableOptions options;
  options.nexthop_objects = (setup & 1) != 0;
  options.resilient = options.nexthop_objects && (setup & 2) != 0;
  options.table = kTable;
  options.protocol = kProtocol;
  Writer w(options, (setup & 4) != 0);

  // Start-up: the dump is adopted (FibWriter::Open), then BGP's routes arrive.
  w.table().Reconcile(nexthops, routes, /*adopt_routes=*/true);
  w.CheckConsistent();
  const std::vector<IpAddress> two = {*IpAddress::Parse("198.18.1.1"),
                                      *IpAddress::Parse("198.18.1.2")};
  const std::vector<IpAddress> one = {*IpAddress::Parse("198.18.1.2")};
  w.table().SetRoute(PrefixOf("198.18.100.0/24"), two);
  w.table().SetRoute(PrefixOf("198.18.101.0/24"), two);
  w.table().SetRoute(PrefixOf("2001:db8:100::/48"), one);
  w.table().SetRoute(PrefixOf("198.18.102.0/24"), {*IpAddress::Parse("198.18.1.255")});
  for (const KernelRoute& r : routes) w.table().SetRoute(r.prefix, one);  // announced again
  w.Drain();

  // The same messages as notifications (FibWriter::OnNotification), then a failover.
  for (const nlmsghdr* m : nexthop_events) {
    const std::optional<KernelNexthop> nh = ParseNexthop(m);
    if (m->nlmsg_type == RTM_DELNEXTHOP) {
      if (nh->protocol == kProtocol) w.table().OnNexthopDeleted(nh->id);
    } else {
      w.table().OnNexthopChanged(*nh);
    }
  }
  w.CheckConsistent();
  w.table().NextHopsDown(std::vector<IpAddress>{two[0]}, 0);
  w.Drain();

  // A resynchronisation finds the same dump; then the stale period ends; then a route changes.
  w.table().Reconcile(nexthops, routes, /*adopt_routes=*/false);
  w.CheckConsistent();
  w.Drain();
  w.table().ExpireStale();
  w.table().RetryFailed();
  w.table().SetRoute(PrefixOf("198.18.101.0/24"), {});
  w.Drain();

  // Shutdown: everything of ours goes.
  for (const Op& op : w.table().TakeRemoveAll()) {
    FUZZ_CHECK(op.kind == OpKind::kDeleteRoute || op.id != 0, "%s with id 0", OpKindName(op.kind));
  }
  FUZZ_CHECK(w.table().routes().empty() && w.table().groups().empty() &&
                 w.table().nexthops().empty() && !w.table().HasWork(),
             "the table is not empty after TakeRemoveAll");
  return 0;
}
