// FibWriter against the real kernel: the test process moves into a private network namespace
// (unshare(CLONE_NEWNET)), makes two veth pairs with addresses from 198.18.0.0/15 and
// 2001:db8::/32, programs routes through the writer and reads the kernel back with `ip -j`.
// Needs root; fails (never skips) without it.

#include "controlplane/fib/fib_writer.h"

#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/clock.h"
#include "tests/unit/fib/fib_test_util.h"

namespace strobe::fib {
namespace {

using nlohmann::json;
using ::testing::UnorderedElementsAreArray;

constexpr size_t kBudget = 100000;

int Shell(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// The standard output of `cmd`.
std::string Output(const std::string& cmd) {
  std::string out;
  FILE* f = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (f == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0) out.append(buffer, n);
  pclose(f);
  return out;
}

// `ip -j ARGS` as JSON (an array; null when ip printed nothing parseable).
json Ip(const std::string& args) {
  const std::string out = Output("ip -j " + args);
  json j = json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    ADD_FAILURE() << "ip -j " << args << " printed: " << out;
    return json();
  }
  return j;
}

using ::strobe::fib::testing::Pfx;
// (`Ip` here runs `ip -j`.)
std::vector<net::IpAddress> Addrs(std::initializer_list<std::string_view> texts) {
  return ::strobe::fib::testing::Ips(texts);
}

// Polls `done` until it holds or 5 s pass.
bool WaitUntil(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    pollfd none{.fd = -1, .events = 0, .revents = 0};
    poll(&none, 0, 10);
  }
  return done();
}

class FibWriterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (unshare(CLONE_NEWNET) != 0) {
      setup_error_ = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
      return;
    }
    const char* commands[] = {
        "ip link set lo up",
        "ip link add fwa0 type veth peer name fwb0",
        "ip link add fwa1 type veth peer name fwb1",
        "ip link set fwa0 up",
        "ip link set fwb0 up",
        "ip link set fwa1 up",
        "ip link set fwb1 up",
        "ip addr add 198.18.0.1/24 dev fwa0",
        "ip addr add 198.18.1.1/24 dev fwa1",
        "ip -6 addr add 2001:db8::1/64 dev fwa0 nodad",
        "ip -6 addr add 2001:db8:1::1/64 dev fwa1 nodad",
    };
    for (const char* c : commands) {
      if (Shell(c) != 0) {
        setup_error_ = std::string("cannot set up the namespace: `") + c + "` failed";
        return;
      }
    }
    // Carrier and the connected routes of both families, on both links.
    const bool ready = WaitUntil([] {
      for (const char* link : {"fwa0", "fwa1"}) {
        json j = Ip(std::string("link show ") + link);
        if (!j.is_array() || j.empty() || j[0].value("operstate", "") != "UP") return false;
      }
      for (const char* a : {"198.18.0.2", "198.18.1.2", "2001:db8::2", "2001:db8:1::2"}) {
        if (Shell(std::string("ip route get ") + a) != 0) return false;
      }
      return true;
    });
    if (!ready) setup_error_ = "the veth links did not come up with their routes";
  }
  static void TearDownTestSuite() {
    Shell("ip link del fwa0");
    Shell("ip link del fwa1");
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    Clean();
    ASSERT_TRUE(Ip("nexthop show proto 200").empty());
    ASSERT_TRUE(Ip("-4 route show proto 200").empty());
    ASSERT_TRUE(Ip("-6 route show proto 200").empty());
    if0_ = if_nametoindex("fwa0");
    if1_ = if_nametoindex("fwa1");
    ASSERT_NE(if0_, 0u);
    ASSERT_NE(if1_, 0u);
  }
  void TearDown() override {
    writer_.reset();
    Clean();
  }
  static void Clean() {
    Shell("ip nexthop flush");
    Shell("ip -4 route flush proto 200");
    Shell("ip -6 route flush proto 200");
  }

  static std::unique_ptr<FibWriter> Open(const config::FibConfig& config) {
    absl::StatusOr<std::unique_ptr<FibWriter>> w = FibWriter::Open(config);
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? std::move(*w) : nullptr;
  }

  // Flushes until nothing is left (bounded: a writer that never settles fails the test).
  static void Settle(FibWriter& w) {
    for (int i = 0; i < 100 && w.HasWork(); ++i) w.Flush(kBudget);
    EXPECT_FALSE(w.HasWork());
  }

  // Reads the notifications the kernel has queued for `w` until `done` holds (5 s at most).
  static bool NotifyUntil(FibWriter& w, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      w.OnNotifications();
      if (done()) return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{.fd = w.notification_fd(), .events = POLLIN, .revents = 0};
      poll(&p, 1, static_cast<int>(left.count()));
    }
  }

  // Our routes of one family in the main table.
  static json Routes(int family) {
    return Ip(std::string(family == 4 ? "-4" : "-6") + " route show proto 200");
  }
  static json RouteTo(const std::string& dst, int family = 4) {
    for (const json& r : Routes(family)) {
      if (r.value("dst", "") == dst) return r;
    }
    return json();
  }
  // `ip -j nexthop show id ID`: one object, or null (ip prints nothing for an unknown id).
  static json Nexthop(uint64_t id) {
    json j = json::parse(Output("ip -j nexthop show id " + std::to_string(id)), nullptr,
                         /*allow_exceptions=*/false);
    return j.is_array() && j.size() == 1 ? j[0] : json();
  }
  // The gateways ("ADDRESS@DEV") of the members of group `id`.
  static std::vector<std::string> MemberGateways(uint64_t id) {
    std::vector<std::string> out;
    json group = Nexthop(id);
    if (!group.contains("group")) return out;
    for (const json& m : group["group"]) {
      json nh = Nexthop(m["id"].get<uint64_t>());
      out.push_back(nh.value("gateway", "?") + "@" + nh.value("dev", "?"));
    }
    return out;
  }
  static std::map<int, uint64_t> Buckets(uint64_t group) {
    std::map<int, uint64_t> out;
    for (const json& b : Ip("nexthop bucket show id " + std::to_string(group))) {
      out[b["bucket"]["index"].get<int>()] = b["bucket"]["nhid"].get<uint64_t>();
    }
    return out;
  }
  // Everything of ours, as ip prints it: equal strings, unchanged kernel.
  static std::string Snapshot() {
    return Output("ip -j nexthop show proto 200") + Output("ip -j -4 route show proto 200") +
           Output("ip -j -6 route show proto 200");
  }

  const FibTable::RouteEntry* Route(const FibWriter& w, std::string_view prefix) {
    auto it = w.table().routes().find(Pfx(prefix));
    return it == w.table().routes().end() ? nullptr : &it->second;
  }

  const std::vector<net::IpAddress> four_ =
      Addrs({"198.18.0.2", "198.18.0.3", "198.18.1.2", "198.18.1.3"});
  const std::vector<net::IpAddress> three_ = Addrs({"198.18.0.2", "198.18.0.3", "198.18.1.2"});
  const std::vector<std::string> four_gateways_ = {"198.18.0.2@fwa0", "198.18.0.3@fwa0",
                                                   "198.18.1.2@fwa1", "198.18.1.3@fwa1"};
  const std::vector<std::string> three_gateways_ = {"198.18.0.2@fwa0", "198.18.0.3@fwa0",
                                                    "198.18.1.2@fwa1"};

  static std::string setup_error_;
  std::unique_ptr<FibWriter> writer_;
  uint32_t if0_ = 0;
  uint32_t if1_ = 0;
};
std::string FibWriterTest::setup_error_;

TEST_F(FibWriterTest, FourWayIpv4EcmpIsOneRouteOnOneGroupOfFour) {
  writer_ = Open({});
  ASSERT_NE(writer_, nullptr);
  writer_->SetRoute(Pfx("198.19.0.0/24"), four_);
  Settle(*writer_);

  const json routes = Routes(4);
  ASSERT_EQ(routes.size(), 1u) << routes.dump();
  EXPECT_EQ(routes[0].value("dst", ""), "198.19.0.0/24");
  EXPECT_EQ(routes[0].value("metric", 0), 20);
  ASSERT_TRUE(routes[0].contains("nhid")) << routes.dump();
  const uint64_t group = routes[0]["nhid"].get<uint64_t>();
  EXPECT_THAT(MemberGateways(group), UnorderedElementsAreArray(four_gateways_));
  EXPECT_EQ(Nexthop(group).value("protocol", ""), "200");
  EXPECT_EQ(Ip("nexthop show proto 200").size(), 5u);  // four gateways and the group

  const FibTable::RouteEntry* r = Route(*writer_, "198.19.0.0/24");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->state, RouteState::kInstalled);
  EXPECT_EQ(r->group, group);
  EXPECT_EQ(writer_->counters().routes_set, 1u);
  EXPECT_EQ(writer_->counters().groups_set, 1u);
  EXPECT_EQ(writer_->counters().nexthops_set, 4u);
  EXPECT_EQ(writer_->counters().failed, 0u);
  // nexthop_compat_mode = 0 (the default "off") in this namespace: routes show only "nhid".
  EXPECT_EQ(Output("cat /proc/sys/net/ipv4/nexthop_compat_mode"), "0\n");
  EXPECT_FALSE(routes[0].contains("nexthops"));
}

TEST_F(FibWriterTest, NextHopsDownLeavesTheRouteOnTheSameGroupWithThreeMembers) {
  writer_ = Open({});
  ASSERT_NE(writer_, nullptr);
  writer_->SetRoute(Pfx("198.19.0.0/24"), four_);
  writer_->SetRoute(Pfx("198.19.1.0/24"), four_);
  Settle(*writer_);
  const uint64_t group = RouteTo("198.19.0.0/24").value("nhid", uint64_t{0});
  ASSERT_NE(group, 0u);
  ASSERT_EQ(RouteTo("198.19.1.0/24").value("nhid", uint64_t{0}), group);
  const uint64_t routes_set = writer_->counters().routes_set;

  const std::vector<net::IpAddress> dead = Addrs({"198.18.1.3"});
  const int64_t event = MonotonicNowNs();
  EXPECT_EQ(writer_->NextHopsDown(dead, event), 1u);
  // Sent before NextHopsDown() returned.
  EXPECT_THAT(MemberGateways(group), UnorderedElementsAreArray(three_gateways_));
  EXPECT_EQ(RouteTo("198.19.0.0/24").value("nhid", uint64_t{0}), group);
  EXPECT_EQ(RouteTo("198.19.1.0/24").value("nhid", uint64_t{0}), group);
  EXPECT_EQ(writer_->counters().routes_set, routes_set);
  EXPECT_EQ(writer_->counters().failovers, 1u);
  ASSERT_TRUE(writer_->last_failover().has_value());
  EXPECT_EQ(writer_->last_failover()->groups, 1u);
  EXPECT_EQ(writer_->last_failover()->event_ns, event);
  EXPECT_GE(writer_->last_failover()->acked_ns, event);

  // BGP follows: nothing more reaches the kernel for the routes.
  writer_->SetRoute(Pfx("198.19.0.0/24"), three_);
  writer_->SetRoute(Pfx("198.19.1.0/24"), three_);
  Settle(*writer_);
  EXPECT_EQ(writer_->counters().routes_set, routes_set);
  EXPECT_EQ(RouteTo("198.19.0.0/24").value("nhid", uint64_t{0}), group);
  EXPECT_THAT(MemberGateways(group), UnorderedElementsAreArray(three_gateways_));
  EXPECT_EQ(writer_->counters().failed, 0u);
  const json j = writer_->ToJson(std::nullopt, /*summary=*/true, MonotonicNowNs());
  EXPECT_EQ(j["counters"]["failovers"], 1);
  EXPECT_EQ(j["last_failover"]["groups"], 1);
}

TEST_F(FibWriterTest, Ipv6Route) {
  writer_ = Open({});
  ASSERT_NE(writer_, nullptr);
  writer_->SetRoute(Pfx("2001:db8:ff::/48"), Addrs({"2001:db8::2", "2001:db8:1::2"}));
  Settle(*writer_);
  const json r = RouteTo("2001:db8:ff::/48", 6);
  ASSERT_TRUE(r.contains("nhid")) << Routes(6).dump();
  EXPECT_EQ(r.value("metric", 0), 20);
  EXPECT_THAT(MemberGateways(r["nhid"].get<uint64_t>()),
              UnorderedElementsAreArray({"2001:db8::2@fwa0", "2001:db8:1::2@fwa1"}));
  EXPECT_EQ(Route(*writer_, "2001:db8:ff::/48")->state, RouteState::kInstalled);
}

TEST_F(FibWriterTest, Ipv4RouteOverAnIpv6NextHop) {
  writer_ = Open({});
  ASSERT_NE(writer_, nullptr);
  writer_->SetRoute(Pfx("198.19.1.0/24"), Addrs({"2001:db8::2"}));
  Settle(*writer_);
  const json r = RouteTo("198.19.1.0/24");
  ASSERT_TRUE(r.contains("nhid")) << Routes(4).dump();
  EXPECT_THAT(MemberGateways(r["nhid"].get<uint64_t>()),
              ::testing::ElementsAre("2001:db8::2@fwa0"));
  EXPECT_EQ(Route(*writer_, "198.19.1.0/24")->state, RouteState::kInstalled);
  // The kernel forwards 198.19.1.0/24 to the IPv6 neighbor.
  const json lookup = Ip("route get 198.19.1.5");
  ASSERT_EQ(lookup.size(), 1u) << lookup.dump();
  EXPECT_EQ(lookup[0]["via"].value("host", ""), "2001:db8::2") << lookup.dump();
  EXPECT_EQ(lookup[0].value("dev", ""), "fwa0");
}

TEST_F(FibWriterTest, WithoutNexthopObjectsRoutesCarryTheSameNextHops) {
  config::FibConfig config;
  config.nexthop_objects = false;
  writer_ = Open(config);
  ASSERT_NE(writer_, nullptr);
  EXPECT_FALSE(writer_->table().options().nexthop_objects);
  writer_->SetRoute(Pfx("198.19.0.0/24"), four_);
  writer_->SetRoute(Pfx("198.19.2.0/24"), Addrs({"198.18.0.2", "2001:db8::2"}));
  writer_->SetRoute(Pfx("198.19.3.0/24"), Addrs({"198.18.1.2"}));
  writer_->SetRoute(Pfx("2001:db8:ff::/48"), Addrs({"2001:db8::2", "2001:db8:1::2"}));
  Settle(*writer_);
  EXPECT_EQ(writer_->counters().failed, 0u);
  EXPECT_TRUE(Ip("nexthop show proto 200").empty());

  auto hops = [](const json& route) {
    std::vector<std::string> out;
    for (const json& h : route.value("nexthops", json::array())) {
      const std::string via = h.contains("via") ? h["via"].value("host", "?") : "";
      out.push_back(h.value("gateway", via) + "@" + h.value("dev", "?"));
    }
    return out;
  };
  const json ecmp = RouteTo("198.19.0.0/24");
  EXPECT_FALSE(ecmp.contains("nhid"));
  EXPECT_THAT(hops(ecmp), UnorderedElementsAreArray(four_gateways_)) << ecmp.dump();
  EXPECT_THAT(hops(RouteTo("198.19.2.0/24")),
              UnorderedElementsAreArray({"198.18.0.2@fwa0", "2001:db8::2@fwa0"}));
  const json single = RouteTo("198.19.3.0/24");
  EXPECT_EQ(single.value("gateway", ""), "198.18.1.2") << single.dump();
  EXPECT_EQ(single.value("dev", ""), "fwa1");
  EXPECT_THAT(hops(RouteTo("2001:db8:ff::/48", 6)),
              UnorderedElementsAreArray({"2001:db8::2@fwa0", "2001:db8:1::2@fwa1"}));

  // No groups: a dead next hop is dropped route by route.
  const std::vector<net::IpAddress> dead = Addrs({"198.18.1.3"});
  EXPECT_EQ(writer_->NextHopsDown(dead, MonotonicNowNs()), 0u);
  writer_->SetRoute(Pfx("198.19.0.0/24"), three_);
  Settle(*writer_);
  EXPECT_THAT(hops(RouteTo("198.19.0.0/24")), UnorderedElementsAreArray(three_gateways_));

  writer_->RemoveAll();
  EXPECT_TRUE(Routes(4).empty()) << Routes(4).dump();
  EXPECT_TRUE(Routes(6).empty()) << Routes(6).dump();
}

TEST_F(FibWriterTest, ResilientGroupKeepsTheBucketsOfSurvivingMembers) {
  config::FibConfig config;
  config.resilient = true;
  config.resilient_buckets = 32;
  writer_ = Open(config);
  ASSERT_NE(writer_, nullptr);
  writer_->SetRoute(Pfx("198.19.0.0/24"), four_);
  Settle(*writer_);
  const uint64_t group = RouteTo("198.19.0.0/24").value("nhid", uint64_t{0});
  ASSERT_NE(group, 0u);
  const json g = Nexthop(group);
  EXPECT_EQ(g.value("type", ""), "resilient") << g.dump();
  EXPECT_EQ(g["resilient_args"].value("buckets", 0), 32);
  const std::map<int, uint64_t> before = Buckets(group);
  ASSERT_EQ(before.size(), 32u);

  uint64_t dead_id = 0;
  for (const json& m : g["group"]) {
    const uint64_t id = m["id"].get<uint64_t>();
    if (Nexthop(id).value("gateway", "") == "198.18.1.3") dead_id = id;
  }
  ASSERT_NE(dead_id, 0u);
  const std::vector<net::IpAddress> dead = Addrs({"198.18.1.3"});
  ASSERT_EQ(writer_->NextHopsDown(dead, MonotonicNowNs()), 1u);
  EXPECT_EQ(Nexthop(group).value("type", ""), "resilient");
  EXPECT_THAT(MemberGateways(group), UnorderedElementsAreArray(three_gateways_));
  const std::map<int, uint64_t> after = Buckets(group);
  ASSERT_EQ(after.size(), 32u);
  int kept = 0;
  for (const auto& [index, nhid] : before) {
    if (nhid == dead_id) {
      EXPECT_NE(after.at(index), dead_id) << "bucket " << index;
    } else {
      EXPECT_EQ(after.at(index), nhid) << "bucket " << index << " moved";
      ++kept;
    }
  }
  EXPECT_GE(kept, 16);
  EXPECT_EQ(RouteTo("198.19.0.0/24").value("nhid", uint64_t{0}), group);
}

TEST_F(FibWriterTest, ASecondWriterAdoptsTheRoutesOfTheFirstAndReleasesTheStaleOnes) {
  writer_ = Open({});
  ASSERT_NE(writer_, nullptr);
  writer_->SetRoute(Pfx("198.19.0.0/24"), four_);
  writer_->SetRoute(Pfx("198.19.1.0/24"), Addrs({"198.18.0.2", "198.18.0.3"}));
  writer_->SetRoute(Pfx("2001:db8:ff::/48"), Addrs({"2001:db8::2"}));
  Settle(*writer_);
  const uint64_t kept_group = RouteTo("198.19.0.0/24").value("nhid", uint64_t{0});
  const uint64_t dropped_group = RouteTo("198.19.1.0/24").value("nhid", uint64_t{0});
  ASSERT_NE(kept_group, 0u);
  ASSERT_NE(dropped_group, 0u);
  const std::string before = Snapshot();
  writer_.reset();  // a graceful stop leaves everything in place
  EXPECT_EQ(Snapshot(), before);

  config::FibConfig config;
  config.stale_timeout_s = 3600;
  writer_ = Open(config);
  ASSERT_NE(writer_, nullptr);
  ASSERT_EQ(writer_->table().routes().size(), 3u);
  for (const auto& [prefix, route] : writer_->table().routes()) {
    EXPECT_EQ(route.state, RouteState::kStale) << prefix.ToString();
  }
  EXPECT_EQ(Route(*writer_, "198.19.0.0/24")->group, kept_group);
  Settle(*writer_);
  writer_->Tick(MonotonicNowNs());  // long before the stale timeout
  Settle(*writer_);
  EXPECT_EQ(writer_->counters().requests, 0u);
  EXPECT_EQ(Snapshot(), before);

  // One route announced again as it was: confirmed, not rewritten.
  writer_->SetRoute(Pfx("198.19.0.0/24"), four_);
  Settle(*writer_);
  EXPECT_EQ(Route(*writer_, "198.19.0.0/24")->state, RouteState::kInstalled);
  EXPECT_EQ(writer_->counters().requests, 0u);
  EXPECT_EQ(Snapshot(), before);

  writer_->ReleaseStale();
  Settle(*writer_);
  EXPECT_EQ(writer_->counters().failed, 0u);
  const json routes = Routes(4);
  ASSERT_EQ(routes.size(), 1u) << routes.dump();
  EXPECT_EQ(routes[0].value("dst", ""), "198.19.0.0/24");
  EXPECT_EQ(routes[0].value("nhid", uint64_t{0}), kept_group);
  EXPECT_TRUE(Routes(6).empty()) << Routes(6).dump();
  EXPECT_THAT(MemberGateways(kept_group), UnorderedElementsAreArray(four_gateways_));
  EXPECT_TRUE(Nexthop(dropped_group).is_null());
  // What is left: the kept group and its four gateways; the IPv6 gateway went with its route.
  EXPECT_EQ(Ip("nexthop show proto 200").size(), 5u) << Ip("nexthop show proto 200").dump();
  EXPECT_EQ(writer_->table().routes().size(), 1u);
}

TEST_F(FibWriterTest, AGroupDeletedFromOutsideIsInstalledAgainWithItsRoute) {
  writer_ = Open({});
  ASSERT_NE(writer_, nullptr);
  writer_->SetRoute(Pfx("198.19.0.0/24"), four_);
  Settle(*writer_);
  // The writer's own changes come back as notifications first: none of them is a repair.
  writer_->OnNotifications();
  Settle(*writer_);
  EXPECT_EQ(writer_->counters().repairs, 0u);
  const uint64_t group = RouteTo("198.19.0.0/24").value("nhid", uint64_t{0});
  ASSERT_NE(group, 0u);

  ASSERT_EQ(Shell("ip nexthop del id " + std::to_string(group)), 0);
  EXPECT_TRUE(RouteTo("198.19.0.0/24").is_null());  // the kernel took the route with it
  ASSERT_TRUE(NotifyUntil(*writer_, [&] { return writer_->HasWork(); }))
      << "no RTM_DELNEXTHOP seen for group " << group;
  EXPECT_EQ(writer_->counters().repairs, 1u);
  EXPECT_EQ(Route(*writer_, "198.19.0.0/24")->state, RouteState::kPending);
  Settle(*writer_);

  EXPECT_EQ(RouteTo("198.19.0.0/24").value("nhid", uint64_t{0}), group);
  EXPECT_THAT(MemberGateways(group), UnorderedElementsAreArray(four_gateways_));
  EXPECT_EQ(Route(*writer_, "198.19.0.0/24")->state, RouteState::kInstalled);
  EXPECT_EQ(writer_->counters().failed, 0u);
}

TEST_F(FibWriterTest, RemoveAllLeavesNothingOfProtocol200) {
  writer_ = Open({});
  ASSERT_NE(writer_, nullptr);
  writer_->SetRoute(Pfx("198.19.0.0/24"), four_);
  writer_->SetRoute(Pfx("198.19.1.0/24"), three_);
  writer_->SetRoute(Pfx("198.19.2.0/24"), Addrs({"2001:db8::2"}));
  writer_->SetRoute(Pfx("2001:db8:ff::/48"), Addrs({"2001:db8::2", "2001:db8:1::2"}));
  Settle(*writer_);
  ASSERT_EQ(Routes(4).size(), 3u);
  ASSERT_EQ(Routes(6).size(), 1u);
  // Someone else's route stays.
  ASSERT_EQ(Shell("ip route add 198.19.9.0/24 via 198.18.0.2 proto static"), 0);

  writer_->RemoveAll();
  EXPECT_EQ(writer_->counters().failed, 0u);
  EXPECT_TRUE(Ip("nexthop show proto 200").empty()) << Ip("nexthop show proto 200").dump();
  EXPECT_TRUE(Routes(4).empty()) << Routes(4).dump();
  EXPECT_TRUE(Routes(6).empty()) << Routes(6).dump();
  EXPECT_TRUE(writer_->table().routes().empty());
  EXPECT_FALSE(writer_->HasWork());
  EXPECT_EQ(Ip("route show 198.19.9.0/24").size(), 1u);
  Shell("ip route del 198.19.9.0/24");
}

TEST_F(FibWriterTest, ARouteWhoseNextHopDoesNotResolveIsShownFailed) {
  writer_ = Open({});
  ASSERT_NE(writer_, nullptr);
  // Nothing in the namespace reaches 198.19.200.1.
  writer_->SetRoute(Pfx("198.19.5.0/24"), Addrs({"198.19.200.1"}));
  writer_->SetRoute(Pfx("198.19.6.0/24"), Addrs({"198.19.200.1", "198.18.0.2"}));
  Settle(*writer_);
  const FibTable::RouteEntry* failed = Route(*writer_, "198.19.5.0/24");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->state, RouteState::kFailed);
  EXPECT_TRUE(RouteTo("198.19.5.0/24").is_null());
  EXPECT_EQ(writer_->table().failed_routes(), 1u);
  // The other route uses what resolves.
  EXPECT_EQ(Route(*writer_, "198.19.6.0/24")->state, RouteState::kInstalled);
  const json partial = RouteTo("198.19.6.0/24");
  ASSERT_TRUE(partial.contains("nhid")) << Routes(4).dump();
  EXPECT_THAT(MemberGateways(partial["nhid"].get<uint64_t>()),
              ::testing::ElementsAre("198.18.0.2@fwa0"));

  const json j = writer_->ToJson(Pfx("198.19.5.0/24"), /*summary=*/false, MonotonicNowNs());
  ASSERT_EQ(j["routes"].size(), 1u) << j.dump();
  EXPECT_EQ(j["routes"][0]["prefix"], "198.19.5.0/24");
  EXPECT_EQ(j["routes"][0]["state"], "failed");
  EXPECT_NE(j["routes"][0]["error"], "");
  EXPECT_EQ(j["summary"]["failed"], 1);
  EXPECT_EQ(j["summary"]["installed"], 1);
  // Retrying changes nothing while it stays unreachable, and does not crash.
  writer_->Tick(MonotonicNowNs());
  Settle(*writer_);
  EXPECT_EQ(Route(*writer_, "198.19.5.0/24")->state, RouteState::kFailed);
}

}  // namespace
}  // namespace strobe::fib
