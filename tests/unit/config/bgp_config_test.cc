// The BGP_PREAMBLE sections of the configuration file: [bgp], [[bgp.neighbor]],
// [[bgp.listen_range]],
// [[bgp.network]], [[policy]] and [[policy.term]] (docs/config.md).
#include "src/config/bgp_config.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/config/config.h"
#include "src/net/ip_address.h"

namespace strobe::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

net::IpAddress Ip(std::string_view text) {
  absl::StatusOr<net::IpAddress> a = net::IpAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : net::IpAddress();
}

IpPrefix Pfx(std::string_view text) {
  absl::StatusOr<IpPrefix> p = ParseIpPrefix(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : IpPrefix();
}

// Test inputs are raw strings that start on the line after R"(: drop that first newline so
// that line 1 is the first line written.
std::string_view Text(std::string_view raw) {
  if (!raw.empty() && raw.front() == '\n') raw.remove_prefix(1);
  return raw;
}

absl::StatusOr<Config> Parse(std::string_view raw) { return ParseConfig(Text(raw), "test.toml"); }

constexpr uint32_t Community(uint32_t high, uint32_t low) { return high << 16 | low; }

// ---- A complete valid file, field by field ----

constexpr std::string_view kEveryKey = R"(
[[bfd.profile]]
name = "fast"

[[policy]]
name = "allow-vips"
default_action = "reject"

  [[policy.term]]
  name = "vips"
  prefix = ["198.19.255.0/24 le 32", "2001:db8:ff::/48 ge 64 le 128"]
  as_path_length_min = 1
  as_path_length_max = 2
  community = ["64512:100", "no-export"]
  large_community = ["64512:1:2"]
  set_local_pref = 200
  set_med = 10
  add_community = ["64512:200"]
  delete_community = ["64512:300"]
  add_large_community = ["64512:2:3"]
  delete_large_community = ["64512:3:4"]
  action = "accept"

  [[policy.term]]
  action = "next"

[[policy]]
name = "tag"
default_action = "accept"

[bgp]
asn = 64512
router_id = "198.18.0.1"
listen = ["0.0.0.0", "::"]
listen_port = 1179
max_paths = 32
multipath_relax = true
hold_time_s = 30
connect_retry_s = 10

[[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
local_address = "198.18.1.1"
description = "leaf 1"
bfd_profile = "fast"
passive = true
md5_password = "s3cret"
ttl_security = true
multihop_ttl = 1
import = ["allow-vips", "tag"]
export = ["tag"]
hold_time_s = 9
connect_retry_s = 5
delay_open_s = 3
max_prefixes = 1000
max_prefixes_action = "warning"
wait_for_bfd_up = true
next_hop_self = false
add_path_receive = true
graceful_restart = false
ipv4_unicast = true
ipv6_unicast = false
extended_next_hop = true

[[bgp.neighbor]]
address = "2001:db8::2"
remote_as = 4200000000
multihop_ttl = 3

[[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = [64600, 64699]
max_neighbors = 100
bfd_profile = "fast"
import = ["allow-vips"]
hold_time_s = 0

[[bgp.listen_range]]
prefix = "2001:db8:2::/64"
remote_as = 65000

[[bgp.network]]
prefix = "198.19.255.1/32"
communities = ["64512:1", "no-advertise"]
large_communities = ["64512:0:1"]

[[bgp.network]]
prefix = "2001:db8:ff::/48"
)";

TEST(BgpConfigTest, EveryKeyParsed) {
  absl::StatusOr<Config> config = Parse(kEveryKey);
  ASSERT_TRUE(config.ok()) << config.status();

  ASSERT_EQ(config->policies.size(), 2u);
  const PolicyConfig& allow = config->policies[0];
  EXPECT_EQ(allow.name, "allow-vips");
  EXPECT_EQ(allow.default_action, PolicyAction::kReject);
  EXPECT_EQ(allow.line, 4);
  ASSERT_EQ(allow.terms.size(), 2u);
  const PolicyTerm& vips = allow.terms[0];
  EXPECT_EQ(vips.name, "vips");
  EXPECT_EQ(vips.line, 8);
  ASSERT_EQ(vips.prefixes.size(), 2u);
  EXPECT_EQ(vips.prefixes[0].prefix, Pfx("198.19.255.0/24"));
  EXPECT_EQ(vips.prefixes[0].ge, 24);
  EXPECT_EQ(vips.prefixes[0].le, 32);
  EXPECT_EQ(vips.prefixes[1].prefix, Pfx("2001:db8:ff::/48"));
  EXPECT_EQ(vips.prefixes[1].ge, 64);
  EXPECT_EQ(vips.prefixes[1].le, 128);
  EXPECT_EQ(vips.as_path_length_min, 1u);
  EXPECT_EQ(vips.as_path_length_max, 2u);
  EXPECT_THAT(vips.match_communities, ElementsAre(Community(64512, 100), kCommunityNoExport));
  EXPECT_THAT(vips.match_large_communities, ElementsAre(LargeCommunity{64512, 1, 2}));
  EXPECT_EQ(vips.set_local_pref, 200u);
  EXPECT_EQ(vips.set_med, 10u);
  EXPECT_THAT(vips.add_communities, ElementsAre(Community(64512, 200)));
  EXPECT_THAT(vips.delete_communities, ElementsAre(Community(64512, 300)));
  EXPECT_THAT(vips.add_large_communities, ElementsAre(LargeCommunity{64512, 2, 3}));
  EXPECT_THAT(vips.delete_large_communities, ElementsAre(LargeCommunity{64512, 3, 4}));
  EXPECT_EQ(vips.action, PolicyAction::kAccept);
  const PolicyTerm& next = allow.terms[1];
  EXPECT_EQ(next.name, "");
  EXPECT_TRUE(next.prefixes.empty());
  EXPECT_FALSE(next.as_path_length_min.has_value());
  EXPECT_FALSE(next.as_path_length_max.has_value());
  EXPECT_FALSE(next.set_local_pref.has_value());
  EXPECT_FALSE(next.set_med.has_value());
  EXPECT_EQ(next.action, PolicyAction::kNext);
  EXPECT_EQ(next.line, 23);
  EXPECT_EQ(config->policies[1].name, "tag");
  EXPECT_EQ(config->policies[1].default_action, PolicyAction::kAccept);
  EXPECT_TRUE(config->policies[1].terms.empty());

  const BgpConfig& bgp = config->bgp;
  EXPECT_TRUE(bgp.present);
  EXPECT_EQ(bgp.asn, 64512u);
  EXPECT_EQ(bgp.router_id, Ip("198.18.0.1"));
  EXPECT_THAT(bgp.listen, ElementsAre(Ip("0.0.0.0"), Ip("::")));
  EXPECT_EQ(bgp.listen_port, 1179);
  EXPECT_EQ(bgp.max_paths, 32u);
  EXPECT_TRUE(bgp.multipath_relax);
  EXPECT_EQ(bgp.hold_time_s, 30);
  EXPECT_EQ(bgp.connect_retry_s, 10);

  ASSERT_EQ(bgp.neighbors.size(), 2u);
  const BgpNeighborConfig& n = bgp.neighbors[0];
  EXPECT_EQ(n.address, Ip("198.18.1.2"));
  EXPECT_EQ(n.remote_as, 64513u);
  EXPECT_EQ(n.local_address, Ip("198.18.1.1"));
  EXPECT_EQ(n.description, "leaf 1");
  EXPECT_EQ(n.bfd_profile, "fast");
  EXPECT_TRUE(n.passive);
  EXPECT_EQ(n.md5_password, "s3cret");
  EXPECT_TRUE(n.ttl_security);
  EXPECT_EQ(n.multihop_ttl, 1);
  EXPECT_THAT(n.import_policies, ElementsAre("allow-vips", "tag"));
  EXPECT_THAT(n.export_policies, ElementsAre("tag"));
  EXPECT_EQ(n.hold_time_s, 9);
  EXPECT_EQ(n.connect_retry_s, 5);
  EXPECT_EQ(n.delay_open_s, 3);
  EXPECT_EQ(n.max_prefixes, 1000u);
  EXPECT_EQ(n.max_prefixes_action, MaxPrefixAction::kWarning);
  EXPECT_TRUE(n.wait_for_bfd_up);
  EXPECT_FALSE(n.next_hop_self);
  EXPECT_TRUE(n.add_path_receive);
  EXPECT_FALSE(n.graceful_restart);
  EXPECT_TRUE(n.ipv4_unicast);
  EXPECT_FALSE(n.ipv6_unicast);
  EXPECT_TRUE(n.extended_next_hop);
  EXPECT_EQ(n.line, 40);

  // Every key at its default, but the timers of [bgp].
  const BgpNeighborConfig& v6 = bgp.neighbors[1];
  EXPECT_EQ(v6.address, Ip("2001:db8::2"));
  EXPECT_EQ(v6.remote_as, 4200000000u);
  EXPECT_TRUE(v6.local_address.empty());
  EXPECT_EQ(v6.description, "");
  EXPECT_EQ(v6.bfd_profile, "");
  EXPECT_FALSE(v6.passive);
  EXPECT_EQ(v6.md5_password, "");
  EXPECT_FALSE(v6.ttl_security);
  EXPECT_EQ(v6.multihop_ttl, 3);
  EXPECT_TRUE(v6.import_policies.empty());
  EXPECT_TRUE(v6.export_policies.empty());
  EXPECT_EQ(v6.hold_time_s, 30);
  EXPECT_EQ(v6.connect_retry_s, 10);
  EXPECT_EQ(v6.delay_open_s, 0);
  EXPECT_EQ(v6.max_prefixes, 0u);
  EXPECT_EQ(v6.max_prefixes_action, MaxPrefixAction::kTeardown);
  EXPECT_FALSE(v6.wait_for_bfd_up);
  EXPECT_TRUE(v6.next_hop_self);
  EXPECT_FALSE(v6.add_path_receive);
  EXPECT_TRUE(v6.graceful_restart);
  EXPECT_TRUE(v6.ipv4_unicast);
  EXPECT_TRUE(v6.ipv6_unicast);
  EXPECT_FALSE(v6.extended_next_hop);

  ASSERT_EQ(bgp.listen_ranges.size(), 2u);
  const BgpListenRangeConfig& r = bgp.listen_ranges[0];
  EXPECT_EQ(r.prefix, Pfx("198.18.2.0/24"));
  EXPECT_EQ(r.remote_as_min, 64600u);
  EXPECT_EQ(r.remote_as_max, 64699u);
  EXPECT_EQ(r.max_neighbors, 100u);
  EXPECT_EQ(r.bfd_profile, "fast");
  EXPECT_THAT(r.import_policies, ElementsAre("allow-vips"));
  EXPECT_EQ(r.hold_time_s, 0);
  EXPECT_EQ(r.connect_retry_s, 10);
  EXPECT_EQ(r.line, 70);
  const BgpListenRangeConfig& r6 = bgp.listen_ranges[1];
  EXPECT_EQ(r6.prefix, Pfx("2001:db8:2::/64"));
  EXPECT_EQ(r6.remote_as_min, 65000u);
  EXPECT_EQ(r6.remote_as_max, 65000u);
  EXPECT_EQ(r6.max_neighbors, 1024u);
  EXPECT_EQ(r6.hold_time_s, 30);

  ASSERT_EQ(bgp.networks.size(), 2u);
  EXPECT_EQ(bgp.networks[0].prefix, Pfx("198.19.255.1/32"));
  EXPECT_THAT(bgp.networks[0].communities, ElementsAre(Community(64512, 1), kCommunityNoAdvertise));
  EXPECT_THAT(bgp.networks[0].large_communities, ElementsAre(LargeCommunity{64512, 0, 1}));
  EXPECT_EQ(bgp.networks[0].line, 82);
  EXPECT_EQ(bgp.networks[1].prefix, Pfx("2001:db8:ff::/48"));
  EXPECT_TRUE(bgp.networks[1].communities.empty());
  EXPECT_TRUE(bgp.networks[1].large_communities.empty());
}

TEST(BgpConfigTest, NoBgpTableIsAbsent) {
  absl::StatusOr<Config> config = Parse("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->bgp.present);
  EXPECT_TRUE(config->bgp.neighbors.empty());
  EXPECT_TRUE(config->policies.empty());
}

TEST(BgpConfigTest, MinimalBgpGivesDefaults) {
  absl::StatusOr<Config> config = Parse(R"(
[bgp]
asn = 4294967295
router_id = "255.255.255.255"
)");
  ASSERT_TRUE(config.ok()) << config.status();
  const BgpConfig& bgp = config->bgp;
  EXPECT_TRUE(bgp.present);
  EXPECT_EQ(bgp.asn, 4294967295u);
  EXPECT_EQ(bgp.router_id, Ip("255.255.255.255"));
  EXPECT_TRUE(bgp.listen.empty());
  EXPECT_EQ(bgp.listen_port, 179);
  EXPECT_EQ(bgp.max_paths, 16u);
  EXPECT_FALSE(bgp.multipath_relax);
  EXPECT_EQ(bgp.hold_time_s, 90);
  EXPECT_EQ(bgp.connect_retry_s, 120);
  EXPECT_TRUE(bgp.neighbors.empty());
  EXPECT_TRUE(bgp.listen_ranges.empty());
  EXPECT_TRUE(bgp.networks.empty());
}

TEST(BgpConfigTest, RangeLimitsAreInclusive) {
  absl::StatusOr<Config> config = Parse(R"(
[bgp]
asn = 1
router_id = "0.0.0.1"
listen_port = 65535
max_paths = 256
hold_time_s = 65535
connect_retry_s = 65535

[[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 1
hold_time_s = 3
connect_retry_s = 1
delay_open_s = 240
multihop_ttl = 255
max_prefixes = 4294967295
md5_password = "01234567890123456789012345678901234567890123456789012345678901234567890123456789"

[[bgp.listen_range]]
prefix = "0.0.0.0/0"
remote_as = [1, 4294967295]
max_neighbors = 4294967295

[[policy]]
name = "p"
  [[policy.term]]
  as_path_length_min = 0
  as_path_length_max = 4294967295
  set_local_pref = 4294967295
  set_med = 0
  prefix = ["0.0.0.0/0 ge 0 le 32", "::/0 ge 128"]
  community = ["0:0", "65535:65535"]
  large_community = ["0:0:0", "4294967295:4294967295:4294967295"]
  action = "accept"
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->bgp.asn, 1u);
  EXPECT_EQ(config->bgp.listen_port, 65535);
  EXPECT_EQ(config->bgp.max_paths, 256u);
  EXPECT_EQ(config->bgp.hold_time_s, 65535);
  const BgpNeighborConfig& n = config->bgp.neighbors[0];
  EXPECT_EQ(n.hold_time_s, 3);
  EXPECT_EQ(n.connect_retry_s, 1);
  EXPECT_EQ(n.delay_open_s, 240);
  EXPECT_EQ(n.multihop_ttl, 255);
  EXPECT_EQ(n.max_prefixes, 4294967295u);
  EXPECT_EQ(n.md5_password.size(), 80u);
  EXPECT_EQ(config->bgp.listen_ranges[0].remote_as_max, 4294967295u);
  const PolicyTerm& t = config->policies[0].terms[0];
  EXPECT_EQ(t.prefixes[0].ge, 0);
  EXPECT_EQ(t.prefixes[0].le, 32);
  EXPECT_EQ(t.prefixes[1].ge, 128);
  EXPECT_EQ(t.prefixes[1].le, 128);
  EXPECT_THAT(t.match_communities, ElementsAre(0u, 0xFFFFFFFFu));
  EXPECT_EQ(config->policies[0].default_action, PolicyAction::kReject);
}

// ---- [bgp] timers are the defaults of neighbors and ranges that set none ----

TEST(BgpConfigTest, NeighborsAndRangesInheritBgpTimers) {
  absl::StatusOr<Config> config = Parse(R"(
[bgp]
asn = 64512
router_id = "198.18.0.1"
hold_time_s = 30
connect_retry_s = 10

[[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513

[[bgp.neighbor]]
address = "198.18.1.3"
remote_as = 64513
hold_time_s = 9

[[bgp.neighbor]]
address = "198.18.1.4"
remote_as = 64513
connect_retry_s = 120
hold_time_s = 90

[[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = 64600

[[bgp.listen_range]]
prefix = "198.18.3.0/24"
remote_as = 64600
hold_time_s = 0
connect_retry_s = 7
)");
  ASSERT_TRUE(config.ok()) << config.status();
  const std::vector<BgpNeighborConfig>& n = config->bgp.neighbors;
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n[0].hold_time_s, 30);  // both inherited
  EXPECT_EQ(n[0].connect_retry_s, 10);
  EXPECT_EQ(n[1].hold_time_s, 9);  // its own
  EXPECT_EQ(n[1].connect_retry_s, 10);
  // Set explicitly to the built-in defaults: still its own, not [bgp]'s.
  EXPECT_EQ(n[2].hold_time_s, 90);
  EXPECT_EQ(n[2].connect_retry_s, 120);
  const std::vector<BgpListenRangeConfig>& r = config->bgp.listen_ranges;
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].hold_time_s, 30);
  EXPECT_EQ(r[0].connect_retry_s, 10);
  EXPECT_EQ(r[1].hold_time_s, 0);
  EXPECT_EQ(r[1].connect_retry_s, 7);
}

TEST(BgpConfigTest, WithoutBgpTimersNeighborsGetBuiltInDefaults) {
  absl::StatusOr<Config> config = Parse(R"(
[bgp]
asn = 64512
router_id = "198.18.0.1"

[[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->bgp.neighbors[0].hold_time_s, 90);
  EXPECT_EQ(config->bgp.neighbors[0].connect_retry_s, 120);
}

// ---- Accepted on purpose ----

TEST(BgpConfigTest, NeighborInsideAListenRangeIsAllowed) {
  absl::StatusOr<Config> config = Parse(R"(
[bgp]
asn = 64512
router_id = "198.18.0.1"

[[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = [64600, 64699]

[[bgp.neighbor]]
address = "198.18.2.7"
remote_as = 64650
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->bgp.listen_ranges[0].prefix.Contains(config->bgp.neighbors[0].address));
}

TEST(BgpConfigTest, OverlappingDistinctListenRangesAreAllowed) {
  absl::StatusOr<Config> config = Parse(R"(
[bgp]
asn = 64512
router_id = "198.18.0.1"

[[bgp.listen_range]]
prefix = "198.18.0.0/16"
remote_as = 64600

[[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = 64601
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->bgp.listen_ranges.size(), 2u);
  // The longest range holding the address decides, whatever the file order.
  auto range_of = [&](const char* address) -> int {
    const BgpListenRangeConfig* r = config->bgp.FindListenRange(*net::IpAddress::Parse(address));
    return r == nullptr ? 0 : static_cast<int>(r->remote_as_min);
  };
  EXPECT_EQ(range_of("198.18.2.7"), 64601);
  EXPECT_EQ(range_of("198.18.3.7"), 64600);
  EXPECT_EQ(range_of("198.19.2.7"), 0);
  EXPECT_EQ(range_of("2001:db8::1"), 0);
}

TEST(BgpConfigTest, ImplicitBgpTableNeedsAsnToo) {
  // [[bgp.neighbor]] alone creates [bgp]: it is then present and needs its keys.
  absl::StatusOr<Config> config = Parse(R"(
# no [bgp] header
[[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
)");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), StartsWith("test.toml:2: "));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("needs an \"asn\""));
}

TEST(BgpConfigTest, PoliciesWithoutBgpAreParsed) {
  absl::StatusOr<Config> config = Parse(R"(
[[policy]]
name = "p"
default_action = "accept"
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->bgp.present);
  ASSERT_EQ(config->policies.size(), 1u);
  EXPECT_EQ(config->policies[0].line, 1);
}

TEST(BgpConfigTest, Md5PasswordIsNeverInTheMessage) {
  const std::string password = "Zq9#Xw7!Vb5@Nm3$Lk1%" + std::string(61, 'p');  // 81 bytes
  absl::StatusOr<Config> config = ParseConfig(
      "[bgp]\nasn = 1\nrouter_id = \"198.18.0.1\"\n[[bgp.neighbor]]\naddress = \"198.18.1.2\"\n"
      "remote_as = 2\nmd5_password = \"" +
          password + "\"\n",
      "test.toml");
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  EXPECT_THAT(message, StartsWith("test.toml:7: "));
  EXPECT_THAT(message, HasSubstr("1-80 bytes"));
  EXPECT_THAT(message, Not(HasSubstr(password.substr(0, 6))));
  EXPECT_THAT(message, Not(HasSubstr("ppp")));
}

// ---- Refused inputs ----

struct BadCase {
  std::string_view name;
  std::string_view text;  // see Text()
  int line;
  std::string_view what;
};

class BgpConfigRefusedTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BgpConfigRefusedTest, IsRefusedWithFileAndLine) {
  const BadCase& c = GetParam();
  absl::StatusOr<Config> config = Parse(c.text);
  ASSERT_FALSE(config.ok()) << "accepted:\n" << Text(c.text);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  RecordProperty("message", message);
  EXPECT_THAT(message, StartsWith("test.toml:" + std::to_string(c.line) + ": "));
  EXPECT_THAT(message, HasSubstr(std::string(c.what)));
}

// Most cases start with these 3 lines, so that the line numbers below count from 4.
#define BGP_PREAMBLE "[bgp]\nasn = 64512\nrouter_id = \"198.18.0.1\"\n"

const BadCase kBadCases[] = {
    // Unknown keys, in every table.
    {"UnknownKeyInBgp", BGP_PREAMBLE "local_as = 1\n", 4, "unknown key \"local_as\" in [bgp]"},
    {"UnknownKeyInNeighbor", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote-as = 64513
)",
     6, "unknown key \"remote-as\" in [[bgp.neighbor]]"},
    {"UnknownKeyInListenRange", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = 1
address = "198.18.2.1"
)",
     7, "unknown key \"address\" in [[bgp.listen_range]]"},
    {"UnknownKeyInNetwork", BGP_PREAMBLE R"([[bgp.network]]
prefix = "198.19.255.1/32"
community = ["1:1"]
)",
     6, "unknown key \"community\" in [[bgp.network]]"},
    {"UnknownKeyInBgpSubTable", BGP_PREAMBLE R"([[bgp.neighbors]]
address = "198.18.1.2"
)",
     4, "unknown key \"neighbors\" in [bgp]"},
    {"UnknownKeyInPolicy", R"([[policy]]
name = "p"
terms = []
)",
     3, "unknown key \"terms\" in [[policy]]"},
    {"UnknownKeyInTerm", R"([[policy]]
name = "p"
[[policy.term]]
set_localpref = 1
action = "accept"
)",
     4, "unknown key \"set_localpref\" in [[policy.term]]"},
    {"PolicyIsATableNotAnArray", R"([policy]
name = "p"
)",
     1, "\"policy\" must be an array of tables ([[policy]])"},
    {"BgpNotATable", "bgp = 64512\n", 1, "\"bgp\" must be a table"},
    {"NeighborNotATableArray", BGP_PREAMBLE "neighbor = \"198.18.1.2\"\n", 4,
     "\"neighbor\" must be an array of tables ([[bgp.neighbor]])"},
    // [bgp]
    {"AsnMissing", R"(
[bgp]
router_id = "198.18.0.1"
)",
     1, "[bgp] needs an \"asn\""},
    {"AsnZero", "[bgp]\nasn = 0\nrouter_id = \"198.18.0.1\"\n", 2,
     "\"asn\" = 0 is out of range [1, 4294967295]"},
    {"AsnTooLarge", "[bgp]\nasn = 4294967296\nrouter_id = \"198.18.0.1\"\n", 2,
     "\"asn\" = 4294967296 is out of range [1, 4294967295]"},
    {"AsnString", "[bgp]\nasn = \"64512\"\n", 2, "\"asn\" must be an integer"},
    {"RouterIdMissing", "# comment\n[bgp]\nasn = 64512\n", 2, "[bgp] needs a \"router_id\""},
    {"RouterIdIpv6", "[bgp]\nasn = 64512\nrouter_id = \"2001:db8::1\"\n", 3,
     "\"router_id\" must be an IPv4 address"},
    {"RouterIdZero", "[bgp]\nasn = 64512\nrouter_id = \"0.0.0.0\"\n", 3,
     "\"router_id\" must not be 0.0.0.0"},
    {"RouterIdNotAnAddress", "[bgp]\nasn = 64512\nrouter_id = \"rtr1\"\n", 3,
     "\"router_id\": not an IP address"},
    {"ListenNotAnAddress", BGP_PREAMBLE "listen = [\"0.0.0.0\", \"eth0\"]\n", 4,
     "\"listen\": not an IP address: \"eth0\""},
    {"ListenTwice", BGP_PREAMBLE "listen = [\n  \"::\",\n  \"0:0::0\",\n]\n", 6,
     "\"listen\" lists :: twice"},
    {"ListenNotAnArray", BGP_PREAMBLE "listen = \"::\"\n", 4,
     "\"listen\" must be an array of strings"},
    {"ListenEntryNotAString", BGP_PREAMBLE "listen = [0]\n", 4,
     "\"listen\" entries must be strings"},
    {"ListenPortZero", BGP_PREAMBLE "listen_port = 0\n", 4,
     "\"listen_port\" = 0 is out of range [1, 65535]"},
    {"ListenPortTooLarge", BGP_PREAMBLE "listen_port = 65536\n", 4,
     "\"listen_port\" = 65536 is out of range"},
    {"MaxPathsZero", BGP_PREAMBLE "max_paths = 0\n", 4,
     "\"max_paths\" = 0 is out of range [1, 256]"},
    {"MaxPathsTooLarge", BGP_PREAMBLE "max_paths = 257\n", 4,
     "\"max_paths\" = 257 is out of range [1, 256]"},
    {"MultipathRelaxNotBool", BGP_PREAMBLE "multipath_relax = 1\n", 4,
     "\"multipath_relax\" must be true or false"},
    {"BgpHoldTimeOne", BGP_PREAMBLE "hold_time_s = 1\n", 4,
     "\"hold_time_s\" = 1 must be 0 or 3-65535"},
    {"BgpHoldTimeTwo", BGP_PREAMBLE "hold_time_s = 2\n", 4,
     "\"hold_time_s\" = 2 must be 0 or 3-65535"},
    {"BgpHoldTimeTooLarge", BGP_PREAMBLE "hold_time_s = 65536\n", 4,
     "\"hold_time_s\" = 65536 is out of range [0, 65535]"},
    {"BgpConnectRetryZero", BGP_PREAMBLE "connect_retry_s = 0\n", 4,
     "\"connect_retry_s\" = 0 is out of range [1, 65535]"},
    // [[bgp.neighbor]]
    {"NeighborWithoutAddress", BGP_PREAMBLE R"(
[[bgp.neighbor]]
remote_as = 64513
)",
     5, "[[bgp.neighbor]] needs an \"address\""},
    {"NeighborBadAddress", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.256"
remote_as = 64513
)",
     5, "\"address\": not an IP address"},
    {"NeighborUnspecifiedAddress", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "::"
remote_as = 64513
)",
     5, "\"address\" must not be the unspecified address"},
    {"NeighborTwice", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513

[[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64514
)",
     8, "neighbor 198.18.1.2 is defined twice"},
    {"NeighborTwiceOtherSpelling", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "2001:db8::2"
remote_as = 64513

[[bgp.neighbor]]
address = "2001:0db8:0:0::0002"
remote_as = 64513
)",
     8, "neighbor 2001:db8::2 is defined twice"},
    {"NeighborWithoutRemoteAs", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
)",
     4, "[[bgp.neighbor]] needs a \"remote_as\""},
    {"NeighborRemoteAsZero", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 0
)",
     6, "\"remote_as\" = 0 is out of range [1, 4294967295]"},
    {"NeighborRemoteAsTooLarge", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 4294967296
)",
     6, "\"remote_as\" = 4294967296 is out of range [1, 4294967295]"},
    {"NeighborRemoteAsRange", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = [1, 2]
)",
     6, "\"remote_as\" must be an integer"},
    {"NeighborLocalAddressOtherFamily", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
local_address = "2001:db8::1"
)",
     7, "\"local_address\" and \"address\" must both be IPv4 or both IPv6"},
    {"NeighborUnknownBfdProfile",
     "[[bfd.profile]]\nname = \"fast\"\n" BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
bfd_profile = "fsat"
)",
     9, "no [[bfd.profile]] named \"fsat\""},
    {"NeighborUnknownImportPolicy",
     "[[policy]]\nname = \"allow\"\n" BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
import = ["allow", "alow"]
)",
     9, "no [[policy]] named \"alow\""},
    {"NeighborUnknownExportPolicy", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
export = [
  "none-defined",
]
)",
     8, "no [[policy]] named \"none-defined\""},
    {"NeighborPolicyListedTwice", "[[policy]]\nname = \"allow\"\n" BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
import = ["allow", "allow"]
)",
     9, "policy \"allow\" is listed twice in \"import\""},
    {"NeighborImportNotAnArray", "[[policy]]\nname = \"allow\"\n" BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
import = "allow"
)",
     9, "\"import\" must be an array of strings"},
    {"Md5PasswordEmpty", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
md5_password = ""
)",
     7, "\"md5_password\" must be 1-80 bytes"},
    {"Md5PasswordTooLong", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
md5_password = "012345678901234567890123456789012345678901234567890123456789012345678901234567890"
)",
     7, "\"md5_password\" must be 1-80 bytes (TCP_MD5SIG_MAXKEYLEN)"},
    {"Md5PasswordNotAString", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
md5_password = 1234
)",
     7, "\"md5_password\" must be a string"},
    {"TtlSecurityWithMultihop", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
multihop_ttl = 2
ttl_security = true
)",
     8, "\"ttl_security\" and \"multihop_ttl\" > 1 are mutually exclusive"},
    {"MultihopTtlTooLarge", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
multihop_ttl = 256
)",
     7, "\"multihop_ttl\" = 256 is out of range [0, 255]"},
    {"NeighborHoldTimeTwo", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
hold_time_s = 2
)",
     7, "\"hold_time_s\" = 2 must be 0 or 3-65535"},
    {"DelayOpenTooLarge", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
delay_open_s = 241
)",
     7, "\"delay_open_s\" = 241 is out of range [0, 240]"},
    {"MaxPrefixesNegative", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
max_prefixes = -1
)",
     7, "\"max_prefixes\" = -1 is out of range"},
    {"MaxPrefixesActionUnknown", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
max_prefixes_action = "restart"
)",
     7, "\"max_prefixes_action\" must be \"warning\" or \"teardown\""},
    {"WaitForBfdUpWithoutProfile", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
wait_for_bfd_up = true
)",
     7, "\"wait_for_bfd_up\" needs a \"bfd_profile\""},
    {"NoAddressFamily", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
ipv4_unicast = false
ipv6_unicast = false
)",
     4, "\"ipv4_unicast\" and \"ipv6_unicast\" cannot both be false"},
    {"PassiveNotBool", BGP_PREAMBLE R"([[bgp.neighbor]]
address = "198.18.1.2"
remote_as = 64513
passive = "yes"
)",
     7, "\"passive\" must be true or false"},
    // [[bgp.listen_range]]
    {"ListenRangeHostBits", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.1/24"
remote_as = 64600
)",
     5,
     "\"prefix\": \"198.18.2.1/24\" has host bits set beyond /24 (0.0.0.1); the prefix is "
     "198.18.2.0/24"},
    {"ListenRangeHostBitsIpv6", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "2001:db8:0:1::/63"
remote_as = 64600
)",
     5, "has host bits set beyond /63 (0:0:0:1::); the prefix is 2001:db8::/63"},
    {"ListenRangeWithoutPrefix", BGP_PREAMBLE R"([[bgp.listen_range]]
remote_as = 64600
)",
     4, "[[bgp.listen_range]] needs a \"prefix\""},
    {"ListenRangePrefixWithoutLength", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0"
remote_as = 64600
)",
     5, "\"198.18.2.0\" is not a prefix (ADDRESS/LENGTH)"},
    {"ListenRangePrefixLengthTooLong", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0/33"
remote_as = 64600
)",
     5, "has a bad prefix length: 0-32 for IPv4"},
    {"ListenRangeTwice", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = 64600

[[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = 64601
)",
     8, "listen range 198.18.2.0/24 is defined twice (first at line 4)"},
    {"ListenRangeWithoutRemoteAs", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0/24"
)",
     4, "[[bgp.listen_range]] needs a \"remote_as\""},
    {"ListenRangeRemoteAsReversed", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = [64699, 64600]
)",
     6, "\"remote_as\" range [64699, 64600] is empty: MIN must not exceed MAX"},
    {"ListenRangeRemoteAsThree", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = [1, 2, 3]
)",
     6, "\"remote_as\" must be an AS number or a range [MIN, MAX]"},
    {"ListenRangeRemoteAsZeroInRange", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = [0, 5]
)",
     6, "\"remote_as\" range entries must be AS numbers (1-4294967295)"},
    {"ListenRangeRemoteAsString", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = "64600-64699"
)",
     6, "\"remote_as\" must be an AS number or a range [MIN, MAX]"},
    {"ListenRangeRemoteAsZero", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = 0
)",
     6, "\"remote_as\" = 0 is out of range [1, 4294967295]"},
    {"ListenRangeMaxNeighborsZero", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = 64600
max_neighbors = 0
)",
     7, "\"max_neighbors\" = 0 is out of range"},
    {"ListenRangeUnknownBfdProfile", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = 64600
bfd_profile = "fast"
)",
     7, "no [[bfd.profile]] named \"fast\""},
    {"ListenRangeUnknownExportPolicy", BGP_PREAMBLE R"([[bgp.listen_range]]
prefix = "198.18.2.0/24"
remote_as = 64600
export = ["p"]
)",
     7, "no [[policy]] named \"p\""},
    // [[bgp.network]]
    {"NetworkHostBits", BGP_PREAMBLE R"([[bgp.network]]
prefix = "2001:db8:ff::1/48"
)",
     5, "has host bits set beyond /48 (::1); the prefix is 2001:db8:ff::/48"},
    {"NetworkWithoutPrefix", BGP_PREAMBLE R"([[bgp.network]]
communities = ["1:1"]
)",
     4, "[[bgp.network]] needs a \"prefix\""},
    {"NetworkTwice", BGP_PREAMBLE R"([[bgp.network]]
prefix = "198.19.255.1/32"

[[bgp.network]]
prefix = "198.19.255.1/32"
communities = ["1:1"]
)",
     7, "network 198.19.255.1/32 is defined twice (first at line 4)"},
    {"NetworkBadCommunity", BGP_PREAMBLE R"([[bgp.network]]
prefix = "198.19.255.1/32"
communities = ["1:1", "70000:1"]
)",
     6, "\"communities\": \"70000:1\" is not a community"},
    {"NetworkBadLargeCommunity", BGP_PREAMBLE R"([[bgp.network]]
prefix = "198.19.255.1/32"
large_communities = ["1:1"]
)",
     6, "\"large_communities\": \"1:1\" is not a large community"},
    // [[policy]]
    {"PolicyWithoutName", R"([[policy]]
default_action = "accept"
)",
     1, "[[policy]] needs a \"name\""},
    {"PolicyEmptyName", R"([[policy]]
name = ""
)",
     1, "[[policy]] needs a \"name\""},
    {"PolicyTwice", R"([[policy]]
name = "p"

[[policy]]
name = "p"
default_action = "accept"
)",
     4, "policy \"p\" is defined twice"},
    {"DefaultActionNext", R"([[policy]]
name = "p"
default_action = "next"
)",
     3, "\"default_action\" must be \"accept\" or \"reject\""},
    {"DefaultActionDeny", R"([[policy]]
name = "p"
default_action = "deny"
)",
     3, "\"default_action\" must be \"accept\" or \"reject\""},
    {"TermWithoutAction", R"([[policy]]
name = "p"

  [[policy.term]]
  set_med = 1
)",
     4, "[[policy.term]] needs an \"action\""},
    {"TermActionPermit", R"([[policy]]
name = "p"
  [[policy.term]]
  action = "permit"
)",
     4, "\"action\" must be \"accept\", \"reject\" or \"next\""},
    {"TermTwice", R"([[policy]]
name = "p"
  [[policy.term]]
  name = "t"
  action = "next"
  [[policy.term]]
  name = "t"
  action = "accept"
)",
     6, "term \"t\" is defined twice in policy \"p\""},
    {"TermNotATableArray", R"([[policy]]
name = "p"
term = { action = "accept" }
)",
     3, "\"term\" must be an array of tables ([[policy.term]])"},
    {"PrefixGeBelowLength", R"([[policy]]
name = "p"
  [[policy.term]]
  prefix = ["198.19.255.0/24 ge 16"]
  action = "accept"
)",
     4, "needs length <= ge <= le <= 32: here 24 <= 16 <= 32 <= 32 does not hold"},
    {"PrefixLeAboveWidth", R"([[policy]]
name = "p"
  [[policy.term]]
  prefix = ["2001:db8::/32 le 129"]
  action = "accept"
)",
     4, "needs length <= ge <= le <= 128"},
    {"PrefixGeAboveLe", R"([[policy]]
name = "p"
  [[policy.term]]
  prefix = ["198.19.255.0/24 ge 28 le 26"]
  action = "accept"
)",
     4, "here 24 <= 28 <= 26 <= 32 does not hold"},
    {"PrefixHostBits", R"([[policy]]
name = "p"
  [[policy.term]]
  prefix = [
    "198.19.255.0/24 le 32",
    "198.19.255.1/24 le 32",
  ]
  action = "accept"
)",
     6, "\"198.19.255.1/24\" has host bits set beyond /24 (0.0.0.1)"},
    {"PrefixGarbage", R"([[policy]]
name = "p"
  [[policy.term]]
  prefix = ["198.19.255.0/24 upto 32"]
  action = "accept"
)",
     4, "has \"upto\" where \"ge N\" or \"le M\" may follow the prefix"},
    {"PrefixGeWithoutLength", R"([[policy]]
name = "p"
  [[policy.term]]
  prefix = ["198.19.255.0/24 ge"]
  action = "accept"
)",
     4, "needs a prefix length after \"ge\""},
    {"PrefixEmptyList", R"([[policy]]
name = "p"
  [[policy.term]]
  prefix = []
  action = "accept"
)",
     4, "\"prefix\" must not be empty"},
    {"CommunityOutOfRange", R"([[policy]]
name = "p"
  [[policy.term]]
  community = ["65536:1"]
  action = "accept"
)",
     4, "\"community\": \"65536:1\" is not a community: ASN:VALUE with each 0-65535"},
    {"CommunityUnknownName", R"([[policy]]
name = "p"
  [[policy.term]]
  community = ["no-exprot"]
  action = "accept"
)",
     4, "\"no-exprot\" is not a community"},
    {"CommunityEmptyList", R"([[policy]]
name = "p"
  [[policy.term]]
  community = []
  action = "accept"
)",
     4, "\"community\" must not be empty"},
    {"CommunityNotAString", R"([[policy]]
name = "p"
  [[policy.term]]
  community = [65536]
  action = "accept"
)",
     4, "\"community\" entries must be strings"},
    {"LargeCommunityOutOfRange", R"([[policy]]
name = "p"
  [[policy.term]]
  large_community = ["4294967296:1:1"]
  action = "accept"
)",
     4, "\"large_community\": \"4294967296:1:1\" is not a large community"},
    {"LargeCommunityEmptyList", R"([[policy]]
name = "p"
  [[policy.term]]
  large_community = []
  action = "accept"
)",
     4, "\"large_community\" must not be empty"},
    {"AddCommunityBad", R"([[policy]]
name = "p"
  [[policy.term]]
  add_community = ["64512:x"]
  action = "accept"
)",
     4, "\"add_community\": \"64512:x\" is not a community"},
    {"DeleteCommunityBad", R"([[policy]]
name = "p"
  [[policy.term]]
  delete_community = ["64512"]
  action = "accept"
)",
     4, "\"delete_community\": \"64512\" is not a community"},
    {"AddLargeCommunityBad", R"([[policy]]
name = "p"
  [[policy.term]]
  add_large_community = ["1:2:3:4"]
  action = "accept"
)",
     4, "\"add_large_community\": \"1:2:3:4\" is not a large community"},
    {"DeleteLargeCommunityBad", R"([[policy]]
name = "p"
  [[policy.term]]
  delete_large_community = ["a:b:c"]
  action = "accept"
)",
     4, "\"delete_large_community\": \"a:b:c\" is not a large community"},
    {"AsPathMinAboveMax", R"([[policy]]
name = "p"
  [[policy.term]]
  as_path_length_min = 3
  as_path_length_max = 2
  action = "accept"
)",
     5, "\"as_path_length_max\" = 2 is less than \"as_path_length_min\" = 3"},
    {"SetLocalPrefNegative", R"([[policy]]
name = "p"
  [[policy.term]]
  set_local_pref = -1
  action = "accept"
)",
     4, "\"set_local_pref\" = -1 is out of range [0, 4294967295]"},
    {"SetMedTooLarge", R"([[policy]]
name = "p"
  [[policy.term]]
  set_med = 4294967296
  action = "accept"
)",
     4, "\"set_med\" = 4294967296 is out of range [0, 4294967295]"},
};

#undef BGP_PREAMBLE

INSTANTIATE_TEST_SUITE_P(BadInputs, BgpConfigRefusedTest, ::testing::ValuesIn(kBadCases),
                         [](const ::testing::TestParamInfo<BadCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

// ---- Text forms ----

TEST(BgpTextTest, PrefixesAndCommunities) {
  EXPECT_EQ(Pfx("198.18.2.0/24").ToString(), "198.18.2.0/24");
  EXPECT_EQ(Pfx("2001:db8:0::/32").ToString(), "2001:db8::/32");
  EXPECT_TRUE(Pfx("198.18.2.0/24").Contains(Ip("198.18.2.255")));
  EXPECT_FALSE(Pfx("198.18.2.0/24").Contains(Ip("198.18.3.0")));
  EXPECT_FALSE(Pfx("0.0.0.0/0").Contains(Ip("::")));
  EXPECT_TRUE(Pfx("::/0").Contains(Ip("2001:db8::1")));
  EXPECT_EQ(*ParseCommunity("no-export-subconfed"), kCommunityNoExportSubconfed);
  EXPECT_EQ(CommunityToString(kCommunityBlackhole), "blackhole");
  EXPECT_EQ(CommunityToString(Community(64512, 7)), "64512:7");
  EXPECT_EQ(LargeCommunityToString(*ParseLargeCommunity("1:2:3")), "1:2:3");
}

}  // namespace
}  // namespace strobe::config
