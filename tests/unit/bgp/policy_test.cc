// Route policy (controlplane/bgp/policy.h): prefix, AS-path length and community matches, the
// sets, term actions including `next`, the default action, and chains of policies.
#include "controlplane/bgp/policy.h"

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/config/bgp_config.h"

namespace strobe::bgp {
namespace {

using config::PolicyAction;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

RibPrefix P(std::string_view text) {
  absl::StatusOr<RibPrefix> p = RibPrefix::Parse(text);
  EXPECT_TRUE(p.ok()) << text << ": " << p.status();
  return p.ok() ? *p : RibPrefix{};
}

config::PrefixMatch M(std::string_view text) {
  absl::StatusOr<config::PrefixMatch> m = config::ParsePrefixMatch(text);
  EXPECT_TRUE(m.ok()) << text << ": " << m.status();
  return m.ok() ? *m : config::PrefixMatch{};
}

uint32_t C(std::string_view text) {
  absl::StatusOr<config::Community> c = config::ParseCommunity(text);
  EXPECT_TRUE(c.ok()) << text << ": " << c.status();
  return c.ok() ? *c : 0;
}

config::LargeCommunity CL(std::string_view text) {
  absl::StatusOr<config::LargeCommunity> c = config::ParseLargeCommunity(text);
  EXPECT_TRUE(c.ok()) << text << ": " << c.status();
  return c.ok() ? *c : config::LargeCommunity{};
}

LargeCommunity L(uint32_t a, uint32_t b, uint32_t c) {
  return LargeCommunity{.global_admin = a, .local_data1 = b, .local_data2 = c};
}

std::vector<AsPathSegment> Seq(std::vector<uint32_t> asns) {
  return {AsPathSegment{kAsSequence, std::move(asns)}};
}

RouteAttributes Attrs() {
  RouteAttributes a;
  a.as_path = Seq({64513});
  a.next_hop = *net::IpAddress::Parse("198.18.1.2");
  return a;
}

Policy Compile(const config::PolicyConfig& c) {
  absl::StatusOr<Policy> p = Policy::Compile(c);
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) {
    config::PolicyConfig empty{.name = "invalid"};
    return *Policy::Compile(empty);
  }
  return *std::move(p);
}

// A policy of one term that accepts what `term` matches, rejecting the rest.
config::PolicyConfig OneTerm(config::PolicyTerm term) {
  term.action = PolicyAction::kAccept;
  return config::PolicyConfig{
      .name = "p", .terms = {std::move(term)}, .default_action = PolicyAction::kReject};
}

// ---- Prefix matches ----

struct PrefixCase {
  std::string_view entry;
  std::string_view route;
  bool matches;
};

void PrintTo(const PrefixCase& c, std::ostream* os) {
  *os << "\"" << c.entry << "\" vs " << c.route << (c.matches ? ": match" : ": no match");
}

class PolicyPrefixTest : public ::testing::TestWithParam<PrefixCase> {};

TEST_P(PolicyPrefixTest, Matches) {
  const PrefixCase& c = GetParam();
  const Policy policy = Compile(OneTerm({.prefixes = {M(c.entry)}}));
  RouteAttributes attrs = Attrs();
  EXPECT_EQ(policy.Apply(P(c.route), &attrs), c.matches) << c.entry << " vs " << c.route;
}

INSTANTIATE_TEST_SUITE_P(
    Table, PolicyPrefixTest,
    ::testing::Values(
        // Without ge/le: that prefix exactly.
        PrefixCase{"198.19.255.0/24", "198.19.255.0/24", true},
        PrefixCase{"198.19.255.0/24", "198.19.255.0/25", false},
        PrefixCase{"198.19.255.0/24", "198.19.254.0/24", false},
        PrefixCase{"198.19.255.0/24", "198.19.0.0/16", false},
        PrefixCase{"198.19.255.1/32", "198.19.255.1/32", true},
        PrefixCase{"198.19.255.1/32", "198.19.255.2/32", false},
        // le: the prefix length up to le.
        PrefixCase{"198.19.255.0/24 le 32", "198.19.255.0/24", true},
        PrefixCase{"198.19.255.0/24 le 32", "198.19.255.7/32", true},
        PrefixCase{"198.19.255.0/24 le 32", "198.19.254.0/23", false},
        PrefixCase{"198.19.255.0/24 le 32", "198.19.0.1/32", false},
        PrefixCase{"198.19.255.0/24 le 26", "198.19.255.64/26", true},
        PrefixCase{"198.19.255.0/24 le 26", "198.19.255.64/27", false},
        // ge alone: ge up to the family width.
        PrefixCase{"198.19.255.0/24 ge 28", "198.19.255.16/28", true},
        PrefixCase{"198.19.255.0/24 ge 28", "198.19.255.255/32", true},
        PrefixCase{"198.19.255.0/24 ge 28", "198.19.255.0/27", false},
        PrefixCase{"198.19.255.0/24 ge 28", "198.19.255.0/24", false},
        // ge and le: both bounds inclusive.
        PrefixCase{"198.19.255.0/24 ge 26 le 28", "198.19.255.0/25", false},
        PrefixCase{"198.19.255.0/24 ge 26 le 28", "198.19.255.0/26", true},
        PrefixCase{"198.19.255.0/24 ge 26 le 28", "198.19.255.240/28", true},
        PrefixCase{"198.19.255.0/24 ge 26 le 28", "198.19.255.240/29", false},
        PrefixCase{"198.19.255.0/24 ge 24 le 24", "198.19.255.0/24", true},
        // The boundary bit of the entry's prefix.
        PrefixCase{"198.18.2.128/25 le 32", "198.18.2.127/32", false},
        PrefixCase{"198.18.2.128/25 le 32", "198.18.2.128/32", true},
        PrefixCase{"198.18.0.0/15 le 16", "198.19.0.0/16", true},
        PrefixCase{"198.18.0.0/15 le 16", "198.20.0.0/16", false},
        // The default route, and everything.
        PrefixCase{"0.0.0.0/0", "0.0.0.0/0", true}, PrefixCase{"0.0.0.0/0", "10.0.0.0/8", false},
        PrefixCase{"0.0.0.0/0 le 32", "10.0.0.0/8", true},
        PrefixCase{"0.0.0.0/0 le 32", "198.19.255.1/32", true},
        // The family must match, even where the bits would.
        PrefixCase{"0.0.0.0/0 le 32", "::/0", false}, PrefixCase{"::/0 le 128", "0.0.0.0/0", false},
        PrefixCase{"::/0 le 128", "2001:db8::/32", true}, PrefixCase{"::/0", "::/0", true},
        // IPv6.
        PrefixCase{"2001:db8:ff::/48 ge 64 le 128", "2001:db8:ff::/64", true},
        PrefixCase{"2001:db8:ff::/48 ge 64 le 128", "2001:db8:ff:1::1/128", true},
        PrefixCase{"2001:db8:ff::/48 ge 64 le 128", "2001:db8:ff::/48", false},
        PrefixCase{"2001:db8:ff::/48 ge 64 le 128", "2001:db8:ff::/63", false},
        PrefixCase{"2001:db8:ff::/48 ge 64 le 128", "2001:db8:fe::/64", false},
        PrefixCase{"2001:db8::/32", "2001:db8::/32", true},
        PrefixCase{"2001:db8::/32", "2001:db9::/32", false},
        PrefixCase{"2001:db8::1/128", "2001:db8::1/128", true},
        PrefixCase{"2001:db8::1/128", "2001:db8::2/128", false},
        PrefixCase{"2001:db8:0:2::/63 le 64", "2001:db8:0:3::/64", true},
        PrefixCase{"2001:db8:0:2::/63 le 64", "2001:db8:0:1::/64", false}));

TEST(PolicyPrefixListTest, AnyEntryMatches) {
  const Policy policy =
      Compile(OneTerm({.prefixes = {M("198.19.255.0/24 le 32"), M("2001:db8:ff::/48 le 128")}}));
  RouteAttributes a = Attrs();
  EXPECT_TRUE(policy.Apply(P("198.19.255.1/32"), &a));
  EXPECT_TRUE(policy.Apply(P("2001:db8:ff::1/128"), &a));
  EXPECT_FALSE(policy.Apply(P("198.18.0.0/24"), &a));
}

// ---- AS-path length ----

struct AsPathCase {
  std::string_view name;
  std::vector<AsPathSegment> as_path;
  std::optional<uint32_t> min;
  std::optional<uint32_t> max;
  bool matches;
};

class PolicyAsPathTest : public ::testing::TestWithParam<AsPathCase> {};

TEST_P(PolicyAsPathTest, Matches) {
  const AsPathCase& c = GetParam();
  const Policy policy =
      Compile(OneTerm({.as_path_length_min = c.min, .as_path_length_max = c.max}));
  RouteAttributes attrs = Attrs();
  attrs.as_path = c.as_path;
  EXPECT_EQ(policy.Apply(P("198.19.255.1/32"), &attrs), c.matches);
}

std::vector<AsPathSegment> SetAfterSeq() {
  return {AsPathSegment{kAsSequence, {1, 2}}, AsPathSegment{kAsSet, {3, 4, 5}}};
}
std::vector<AsPathSegment> ConfedThenSeq() {
  return {AsPathSegment{kAsConfedSequence, {9, 9, 9}}, AsPathSegment{kAsConfedSet, {8}},
          AsPathSegment{kAsSequence, {1}}};
}

INSTANTIATE_TEST_SUITE_P(
    Table, PolicyAsPathTest,
    ::testing::Values(AsPathCase{"ThreeAtMin3", Seq({1, 2, 3}), 3, std::nullopt, true},
                      AsPathCase{"ThreeBelowMin4", Seq({1, 2, 3}), 4, std::nullopt, false},
                      AsPathCase{"ThreeAtMax3", Seq({1, 2, 3}), std::nullopt, 3, true},
                      AsPathCase{"ThreeAboveMax2", Seq({1, 2, 3}), std::nullopt, 2, false},
                      AsPathCase{"ThreeInside2To4", Seq({1, 2, 3}), 2, 4, true},
                      AsPathCase{"PrependsCount", Seq({1, 1, 1, 1}), std::nullopt, 3, false},
                      // An AS_SET counts 1: 2 + 1 = 3.
                      AsPathCase{"SetCountsOneAtMax3", SetAfterSeq(), std::nullopt, 3, true},
                      AsPathCase{"SetCountsOneAtMin3", SetAfterSeq(), 3, std::nullopt, true},
                      AsPathCase{"SetCountsOneBelowMin4", SetAfterSeq(), 4, std::nullopt, false},
                      // Confederation segments count 0.
                      AsPathCase{"ConfedCountsZeroMax1", ConfedThenSeq(), std::nullopt, 1, true},
                      AsPathCase{"ConfedCountsZeroMin2", ConfedThenSeq(), 2, std::nullopt, false},
                      // A locally originated route: length 0.
                      AsPathCase{"EmptyAtMax0", {}, std::nullopt, 0, true},
                      AsPathCase{"EmptyBelowMin1", {}, 1, std::nullopt, false}),
    [](const ::testing::TestParamInfo<AsPathCase>& param_info) {
      return std::string(param_info.param.name);
    });

// ---- Communities ----

struct CommunityCase {
  std::string_view name;
  std::vector<uint32_t> match;
  std::vector<config::LargeCommunity> match_large;
  std::vector<uint32_t> route;
  std::vector<LargeCommunity> route_large;
  bool matches;
};

class PolicyCommunityTest : public ::testing::TestWithParam<CommunityCase> {};

TEST_P(PolicyCommunityTest, Matches) {
  const CommunityCase& c = GetParam();
  const Policy policy =
      Compile(OneTerm({.match_communities = c.match, .match_large_communities = c.match_large}));
  RouteAttributes attrs = Attrs();
  attrs.communities = c.route;
  attrs.large_communities = c.route_large;
  EXPECT_EQ(policy.Apply(P("198.19.255.1/32"), &attrs), c.matches);
}

INSTANTIATE_TEST_SUITE_P(
    Table, PolicyCommunityTest,
    ::testing::Values(
        CommunityCase{"Present", {C("64512:100")}, {}, {C("64512:100")}, {}, true},
        CommunityCase{"AnyOfList", {C("64512:1"), C("64512:100")}, {}, {C("64512:100")}, {}, true},
        CommunityCase{"AmongOthers", {C("64512:100")}, {}, {1, C("64512:100"), 7}, {}, true},
        CommunityCase{"Absent", {C("64512:100")}, {}, {C("64512:101")}, {}, false},
        CommunityCase{"SwappedHalves", {C("100:64512")}, {}, {C("64512:100")}, {}, false},
        CommunityCase{"RouteHasNone", {C("64512:100")}, {}, {}, {}, false},
        CommunityCase{"WellKnownByName", {C("no-export")}, {}, {0xFFFFFF01}, {}, true},
        CommunityCase{"BlackholeByName", {C("blackhole")}, {}, {C("65535:666")}, {}, true},
        CommunityCase{"LargePresent", {}, {CL("64512:1:2")}, {}, {L(64512, 1, 2)}, true},
        CommunityCase{"LargeAnyOf",
                      {},
                      {CL("64512:9:9"), CL("4294967295:0:4294967295")},
                      {},
                      {L(1, 2, 3), L(4294967295u, 0, 4294967295u)},
                      true},
        CommunityCase{"LargeOneFieldDiffers", {}, {CL("64512:1:2")}, {}, {L(64512, 1, 3)}, false},
        CommunityCase{"LargeRouteHasNone", {}, {CL("64512:1:2")}, {}, {}, false},
        // A standard community does not match a large one with the same digits.
        CommunityCase{"LargeIsNotStandard", {}, {CL("0:64512:100")}, {C("64512:100")}, {}, false},
        // Both conditions must hold.
        CommunityCase{"BothHold",
                      {C("64512:100")},
                      {CL("64512:1:2")},
                      {C("64512:100")},
                      {L(64512, 1, 2)},
                      true},
        CommunityCase{
            "OnlyOneHolds", {C("64512:100")}, {CL("64512:1:2")}, {C("64512:100")}, {}, false}),
    [](const ::testing::TestParamInfo<CommunityCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(PolicyMatchTest, TermWithoutConditionsMatchesEverything) {
  const Policy policy = Compile(OneTerm({}));
  RouteAttributes attrs = Attrs();
  EXPECT_TRUE(policy.Apply(P("198.18.0.0/15"), &attrs));
  EXPECT_TRUE(policy.Apply(P("2001:db8::/32"), &attrs));
}

TEST(PolicyMatchTest, EveryConditionMustHold) {
  const Policy policy = Compile(OneTerm({.prefixes = {M("198.19.255.0/24 le 32")},
                                         .as_path_length_max = 1,
                                         .match_communities = {C("64512:100")}}));
  RouteAttributes ok = Attrs();
  ok.communities = {C("64512:100")};
  EXPECT_TRUE(policy.Apply(P("198.19.255.1/32"), &ok));
  RouteAttributes long_path = ok;
  long_path.as_path = Seq({64513, 64514});
  EXPECT_FALSE(policy.Apply(P("198.19.255.1/32"), &long_path));
  RouteAttributes no_community = Attrs();
  EXPECT_FALSE(policy.Apply(P("198.19.255.1/32"), &no_community));
  RouteAttributes other_prefix = ok;
  EXPECT_FALSE(policy.Apply(P("198.19.254.1/32"), &other_prefix));
}

// ---- Sets ----

TEST(PolicySetTest, LocalPrefAndMedReplaceOrAdd) {
  const Policy policy = Compile(OneTerm({.set_local_pref = 200, .set_med = 10}));
  RouteAttributes absent = Attrs();
  ASSERT_TRUE(policy.Apply(P("198.19.255.1/32"), &absent));
  EXPECT_EQ(absent.local_pref, 200u);
  EXPECT_EQ(absent.med, 10u);

  RouteAttributes present = Attrs();
  present.local_pref = 50;
  present.med = 7;
  ASSERT_TRUE(policy.Apply(P("198.19.255.1/32"), &present));
  EXPECT_EQ(present.local_pref, 200u);
  EXPECT_EQ(present.med, 10u);

  const Policy zero = Compile(OneTerm({.set_local_pref = 0, .set_med = 0}));
  ASSERT_TRUE(zero.Apply(P("198.19.255.1/32"), &present));
  EXPECT_EQ(present.local_pref, 0u);
  EXPECT_EQ(present.med, 0u);
}

TEST(PolicySetTest, NothingSetLeavesAttributesAlone) {
  const Policy policy = Compile(OneTerm({}));
  RouteAttributes attrs = Attrs();
  attrs.med = 5;
  attrs.communities = {3, 1, 2};
  const RouteAttributes before = attrs;
  ASSERT_TRUE(policy.Apply(P("198.19.255.1/32"), &attrs));
  EXPECT_EQ(attrs, before);
}

struct CommunitySetCase {
  std::string_view name;
  std::vector<uint32_t> add;
  std::vector<uint32_t> remove;
  std::vector<uint32_t> route;
  std::vector<uint32_t> expected;
};

class PolicyCommunitySetTest : public ::testing::TestWithParam<CommunitySetCase> {};

TEST_P(PolicyCommunitySetTest, Result) {
  const CommunitySetCase& c = GetParam();
  const Policy policy =
      Compile(OneTerm({.add_communities = c.add, .delete_communities = c.remove}));
  RouteAttributes attrs = Attrs();
  attrs.communities = c.route;
  ASSERT_TRUE(policy.Apply(P("198.19.255.1/32"), &attrs));
  EXPECT_EQ(attrs.communities, c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, PolicyCommunitySetTest,
    ::testing::Values(
        CommunitySetCase{"AddToNone", {C("64512:200")}, {}, {}, {C("64512:200")}},
        CommunitySetCase{"AddAppends", {C("64512:200")}, {}, {5, 1}, {5, 1, C("64512:200")}},
        CommunitySetCase{"AddPresentIsNotRepeated", {5}, {}, {1, 5, 9}, {1, 5, 9}},
        CommunitySetCase{"AddSeveralInOrder", {7, 3, 7}, {}, {1}, {1, 7, 3}},
        CommunitySetCase{"AddWellKnown", {C("no-export")}, {}, {}, {0xFFFFFF01}},
        CommunitySetCase{"DeletePresent", {}, {C("64512:300")}, {1, C("64512:300"), 2}, {1, 2}},
        CommunitySetCase{"DeleteAbsentIsNoOp", {}, {C("64512:300")}, {1, 2}, {1, 2}},
        CommunitySetCase{"DeleteFromNone", {}, {C("64512:300")}, {}, {}},
        CommunitySetCase{"DeleteEveryCopy", {}, {4}, {4, 1, 4}, {1}},
        CommunitySetCase{"DeleteSeveral", {}, {1, 3}, {1, 2, 3, 4}, {2, 4}},
        // Deletions run first: deleting and adding the same community leaves it once, last.
        CommunitySetCase{"DeleteThenAddSame", {2}, {2}, {2, 1}, {1, 2}},
        CommunitySetCase{"ReplaceOneByAnother",
                         {C("64512:200")},
                         {C("64512:100")},
                         {C("64512:100")},
                         {C("64512:200")}}),
    [](const ::testing::TestParamInfo<CommunitySetCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(PolicySetTest, LargeCommunitiesAddAndDelete) {
  const Policy policy =
      Compile(OneTerm({.add_large_communities = {CL("64512:2:2"), CL("1:1:1")},
                       .delete_large_communities = {CL("64512:3:3"), CL("9:9:9")}}));
  RouteAttributes attrs = Attrs();
  attrs.large_communities = {L(1, 1, 1), L(64512, 3, 3), L(5, 5, 5)};
  ASSERT_TRUE(policy.Apply(P("198.19.255.1/32"), &attrs));
  // 64512:3:3 deleted, 9:9:9 absent (nothing happens), 1:1:1 already there, 64512:2:2 appended.
  EXPECT_THAT(attrs.large_communities, ElementsAre(L(1, 1, 1), L(5, 5, 5), L(64512, 2, 2)));

  RouteAttributes none = Attrs();
  ASSERT_TRUE(policy.Apply(P("198.19.255.1/32"), &none));
  EXPECT_THAT(none.large_communities, ElementsAre(L(64512, 2, 2), L(1, 1, 1)));
}

TEST(PolicySetTest, SetsOfATermThatDoesNotMatchAreNotApplied) {
  config::PolicyConfig c{.name = "p", .default_action = PolicyAction::kAccept};
  c.terms.push_back({.prefixes = {M("10.0.0.0/8 le 32")},
                     .set_local_pref = 300,
                     .add_communities = {1},
                     .action = PolicyAction::kAccept});
  const Policy policy = Compile(c);
  RouteAttributes attrs = Attrs();
  ASSERT_TRUE(policy.Apply(P("198.19.255.1/32"), &attrs));
  EXPECT_EQ(attrs.local_pref, std::nullopt);
  EXPECT_TRUE(attrs.communities.empty());
}

// ---- Actions and the default ----

// Three terms over 198.19.255.0/24 le 32: t0 tags 64512:1 and goes on, t1 accepts what carries
// 64512:1 with a /32 (so only t0's tag lets it match), t2 rejects the rest.
config::PolicyConfig Tagging(PolicyAction default_action) {
  config::PolicyConfig c{.name = "tagging", .default_action = default_action};
  c.terms.push_back({.name = "tag",
                     .prefixes = {M("198.19.255.0/24 le 32")},
                     .add_communities = {C("64512:1")},
                     .action = PolicyAction::kNext});
  c.terms.push_back({.name = "hosts",
                     .prefixes = {M("198.19.255.0/24 ge 32")},
                     .match_communities = {C("64512:1")},
                     .set_local_pref = 200,
                     .action = PolicyAction::kAccept});
  c.terms.push_back({.name = "rest",
                     .prefixes = {M("198.19.255.0/24 le 31")},
                     .set_med = 99,
                     .action = PolicyAction::kReject});
  return c;
}

TEST(PolicyActionTest, NextContinuesWithTheModifiedAttributes) {
  const Policy policy = Compile(Tagging(PolicyAction::kReject));
  RouteAttributes attrs = Attrs();
  const PolicyVerdict v = policy.Evaluate(P("198.19.255.1/32"), &attrs);
  EXPECT_TRUE(v.accepted);
  EXPECT_EQ(v.policy, &policy);
  EXPECT_EQ(v.term, 1);
  EXPECT_THAT(attrs.communities, ElementsAre(C("64512:1")));
  EXPECT_EQ(attrs.local_pref, 200u);
  EXPECT_EQ(attrs.med, std::nullopt);  // t2 never ran
  EXPECT_EQ(v.ToString(), "accepted by tagging term 1 (hosts)");
}

TEST(PolicyActionTest, RejectsAllOnlyWhenNoTermNorDefaultAccepts) {
  EXPECT_TRUE(Compile({.name = "nothing", .default_action = PolicyAction::kReject}).RejectsAll());
  EXPECT_FALSE(Compile({.name = "all", .default_action = PolicyAction::kAccept}).RejectsAll());
  EXPECT_FALSE(Compile(Tagging(PolicyAction::kReject)).RejectsAll());  // term "hosts" accepts
  config::PolicyConfig c{.name = "p", .default_action = PolicyAction::kReject};
  c.terms.push_back({.add_communities = {C("64512:1")}, .action = PolicyAction::kNext});
  c.terms.push_back({.prefixes = {M("198.19.255.0/24 le 32")}, .action = PolicyAction::kReject});
  EXPECT_TRUE(Compile(c).RejectsAll());
}

TEST(PolicyActionTest, RejectStops) {
  const Policy policy = Compile(Tagging(PolicyAction::kAccept));
  RouteAttributes attrs = Attrs();
  const PolicyVerdict v = policy.Evaluate(P("198.19.255.0/24"), &attrs);
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.term, 2);
  EXPECT_EQ(v.ToString(), "rejected by tagging term 2 (rest)");
}

TEST(PolicyActionTest, AcceptStopsBeforeLaterTerms) {
  config::PolicyConfig c{.name = "p", .default_action = PolicyAction::kReject};
  c.terms.push_back({.set_local_pref = 1, .action = PolicyAction::kAccept});
  c.terms.push_back({.set_local_pref = 2, .action = PolicyAction::kReject});
  const Policy policy = Compile(c);
  RouteAttributes attrs = Attrs();
  const PolicyVerdict v = policy.Evaluate(P("198.19.255.1/32"), &attrs);
  EXPECT_TRUE(v.accepted);
  EXPECT_EQ(v.term, 0);
  EXPECT_EQ(attrs.local_pref, 1u);
}

TEST(PolicyActionTest, RejectingTermsSetsDoNotMatter) {
  config::PolicyConfig c{.name = "p", .default_action = PolicyAction::kAccept};
  c.terms.push_back({.set_local_pref = 1, .action = PolicyAction::kReject});
  const Policy policy = Compile(c);
  RouteAttributes attrs = Attrs();
  EXPECT_FALSE(policy.Apply(P("198.19.255.1/32"), &attrs));
}

TEST(PolicyActionTest, NoTermDecidesThenDefaultAction) {
  for (PolicyAction d : {PolicyAction::kAccept, PolicyAction::kReject}) {
    const Policy policy = Compile(Tagging(d));
    RouteAttributes attrs = Attrs();
    const PolicyVerdict v = policy.Evaluate(P("198.18.0.0/24"), &attrs);  // no term matches
    EXPECT_EQ(v.accepted, d == PolicyAction::kAccept);
    EXPECT_EQ(v.term, -1);
    EXPECT_TRUE(attrs.communities.empty());
    EXPECT_EQ(v.ToString(), d == PolicyAction::kAccept ? "accepted by tagging default action"
                                                       : "rejected by tagging default action");
  }
}

TEST(PolicyActionTest, OnlyNextTermsFallToTheDefaultWithTheirSets) {
  config::PolicyConfig c{.name = "p", .default_action = PolicyAction::kAccept};
  c.terms.push_back({.set_med = 5, .action = PolicyAction::kNext});
  c.terms.push_back({.add_communities = {7}, .action = PolicyAction::kNext});
  const Policy policy = Compile(c);
  RouteAttributes attrs = Attrs();
  const PolicyVerdict v = policy.Evaluate(P("198.19.255.1/32"), &attrs);
  EXPECT_TRUE(v.accepted);
  EXPECT_EQ(v.term, -1);
  EXPECT_EQ(attrs.med, 5u);
  EXPECT_THAT(attrs.communities, ElementsAre(7u));
}

TEST(PolicyActionTest, PolicyWithoutTermsIsItsDefault) {
  RouteAttributes attrs = Attrs();
  EXPECT_FALSE(Compile({.name = "deny"}).Apply(P("198.19.255.1/32"), &attrs));  // default reject
  EXPECT_TRUE(Compile({.name = "allow", .default_action = PolicyAction::kAccept})
                  .Apply(P("198.19.255.1/32"), &attrs));
}

TEST(PolicyActionTest, UnnamedTermInVerdict) {
  const Policy policy = Compile(OneTerm({}));
  RouteAttributes attrs = Attrs();
  EXPECT_EQ(policy.Evaluate(P("198.19.255.1/32"), &attrs).ToString(), "accepted by p term 0");
}

// ---- Chains ----

config::PolicyConfig AcceptAll(std::string name, config::PolicyTerm sets = {}) {
  sets.action = PolicyAction::kAccept;
  return {.name = std::move(name), .terms = {std::move(sets)}};
}

config::PolicyConfig RejectAll(std::string name) {
  return {.name = std::move(name), .default_action = PolicyAction::kReject};
}

PolicyLibrary Library(const std::vector<config::PolicyConfig>& configs) {
  absl::StatusOr<PolicyLibrary> library = PolicyLibrary::Compile(configs);
  EXPECT_TRUE(library.ok()) << library.status();
  return library.ok() ? *std::move(library) : PolicyLibrary();
}

PolicyChain Chain(const PolicyLibrary& library, std::vector<std::string> names) {
  absl::StatusOr<PolicyChain> chain = library.Chain(names);
  EXPECT_TRUE(chain.ok()) << chain.status();
  return chain.ok() ? *std::move(chain) : PolicyChain();
}

TEST(PolicyChainTest, EmptyChainAcceptsUnchanged) {
  const PolicyChain chain;
  EXPECT_TRUE(chain.empty());
  RouteAttributes attrs = Attrs();
  const RouteAttributes before = attrs;
  const PolicyVerdict v = chain.Evaluate(P("198.19.255.1/32"), &attrs);
  EXPECT_TRUE(v.accepted);
  EXPECT_EQ(v.policy, nullptr);
  EXPECT_EQ(attrs, before);
  EXPECT_EQ(v.ToString(), "accepted (no policy)");

  const PolicyLibrary library = Library({RejectAll("deny")});
  const PolicyChain none = Chain(library, {});
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(none.Apply(P("198.19.255.1/32"), &attrs));
}

TEST(PolicyChainTest, EveryPolicyMustAcceptAndEachSeesThePreviousSets) {
  // "tag" adds 64512:1; "needs-tag" accepts only routes with it, and sets LOCAL_PREF.
  config::PolicyConfig needs_tag{.name = "needs-tag", .default_action = PolicyAction::kReject};
  needs_tag.terms.push_back({.match_communities = {C("64512:1")},
                             .set_local_pref = 250,
                             .action = PolicyAction::kAccept});
  const PolicyLibrary library = Library(
      {AcceptAll("tag", {.add_communities = {C("64512:1")}}), needs_tag, RejectAll("deny")});
  EXPECT_EQ(library.size(), 3u);

  RouteAttributes attrs = Attrs();
  const PolicyChain tag_then_check = Chain(library, {"tag", "needs-tag"});
  const PolicyVerdict v = tag_then_check.Evaluate(P("198.19.255.1/32"), &attrs);
  EXPECT_TRUE(v.accepted);
  EXPECT_EQ(v.policy, library.Find("needs-tag").get());
  EXPECT_EQ(attrs.local_pref, 250u);
  EXPECT_THAT(attrs.communities, ElementsAre(C("64512:1")));

  // In the other order the check runs before the tag exists.
  RouteAttributes other = Attrs();
  const PolicyChain check_then_tag = Chain(library, {"needs-tag", "tag"});
  EXPECT_FALSE(check_then_tag.Apply(P("198.19.255.1/32"), &other));
}

TEST(PolicyChainTest, RejectAnywhereRejectsAndStops) {
  const PolicyLibrary library = Library({AcceptAll("lp", {.set_local_pref = 150}),
                                         RejectAll("deny"), AcceptAll("med", {.set_med = 3})});
  RouteAttributes attrs = Attrs();
  const PolicyChain chain = Chain(library, {"lp", "deny", "med"});
  EXPECT_EQ(chain.size(), 3u);
  const PolicyVerdict v = chain.Evaluate(P("198.19.255.1/32"), &attrs);
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.policy, library.Find("deny").get());
  EXPECT_EQ(v.term, -1);
  EXPECT_EQ(attrs.med, std::nullopt);  // "med" never ran

  RouteAttributes first = Attrs();
  EXPECT_FALSE(Chain(library, {"deny", "lp"}).Apply(P("198.19.255.1/32"), &first));
  EXPECT_EQ(first.local_pref, std::nullopt);

  RouteAttributes both = Attrs();
  EXPECT_TRUE(Chain(library, {"lp", "med"}).Apply(P("198.19.255.1/32"), &both));
  EXPECT_EQ(both.local_pref, 150u);
  EXPECT_EQ(both.med, 3u);
}

TEST(PolicyChainTest, SamePolicySharedByChains) {
  const PolicyLibrary library = Library({AcceptAll("a")});
  const PolicyChain one = Chain(library, {"a"});
  const PolicyChain two = Chain(library, {"a", "a"});
  RouteAttributes attrs = Attrs();
  EXPECT_EQ(one.Evaluate(P("198.19.255.1/32"), &attrs).policy, library.Find("a").get());
  EXPECT_EQ(two.Evaluate(P("198.19.255.1/32"), &attrs).policy, library.Find("a").get());
}

TEST(PolicyLibraryTest, UnknownNameIsNotFound) {
  const PolicyLibrary library = Library({AcceptAll("a")});
  EXPECT_EQ(library.Find("b"), nullptr);
  absl::StatusOr<PolicyChain> chain = library.Chain(std::vector<std::string>{"a", "b"});
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(chain.status().message()), HasSubstr("\"b\""));
}

TEST(PolicyLibraryTest, DuplicateNameIsRefused) {
  absl::StatusOr<PolicyLibrary> library =
      PolicyLibrary::Compile(std::vector<config::PolicyConfig>{AcceptAll("a"), RejectAll("a")});
  ASSERT_FALSE(library.ok());
  EXPECT_THAT(std::string(library.status().message()), HasSubstr("defined twice"));
}

// ---- Compile() validates what it is given ----

TEST(PolicyCompileTest, RefusesInvalidConfigs) {
  auto refused = [](config::PolicyConfig c, std::string_view what) {
    absl::StatusOr<Policy> p = Policy::Compile(c);
    ASSERT_FALSE(p.ok()) << what;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(p.status().message()), HasSubstr(std::string(what)));
  };
  refused({}, "needs a name");
  refused({.name = "p", .default_action = PolicyAction::kNext}, "default_action");

  config::PrefixMatch host_bits = M("198.18.2.0/24");
  host_bits.prefix.address = *net::IpAddress::Parse("198.18.2.1");
  refused(OneTerm({.prefixes = {host_bits}}), "host bits");

  config::PrefixMatch ge_short = M("198.18.2.0/24");
  ge_short.ge = 16;
  refused(OneTerm({.prefixes = {ge_short}}), "length <= ge <= le");

  config::PrefixMatch le_wide = M("198.18.2.0/24");
  le_wide.le = 33;
  refused(OneTerm({.prefixes = {le_wide}}), "length <= ge <= le <= 32");

  refused(OneTerm({.prefixes = {config::PrefixMatch{}}}), "without an address");
  refused(OneTerm({.as_path_length_min = 3, .as_path_length_max = 2}), "as_path_length_min");
}

// ---- The text forms the tests and the parser share ----

TEST(PolicyTextTest, CommunitiesRoundTrip) {
  EXPECT_EQ(C("64512:100"), 64512u << 16 | 100u);
  EXPECT_EQ(C("0:0"), 0u);
  EXPECT_EQ(C("65535:65535"), 0xFFFFFFFFu);
  EXPECT_EQ(C("no-export"), config::kCommunityNoExport);
  EXPECT_EQ(C("no-advertise"), config::kCommunityNoAdvertise);
  EXPECT_EQ(C("no-export-subconfed"), config::kCommunityNoExportSubconfed);
  EXPECT_EQ(C("blackhole"), config::kCommunityBlackhole);
  EXPECT_EQ(C("graceful-shutdown"), config::kCommunityGracefulShutdown);
  EXPECT_EQ(config::CommunityToString(C("64512:100")), "64512:100");
  EXPECT_EQ(config::CommunityToString(C("65535:65281")), "no-export");
  EXPECT_EQ(config::LargeCommunityToString(CL("4294967295:0:7")), "4294967295:0:7");
  for (std::string_view bad :
       {"", "1", "65536:0", "0:65536", "-1:0", "+1:0", "1:2:3", "1 :2", "NO-EXPORT", "a:b"}) {
    EXPECT_FALSE(config::ParseCommunity(bad).ok()) << bad;
  }
  for (std::string_view bad : {"", "1:2", "1:2:3:4", "4294967296:0:0", "1::2", "1:2:x"}) {
    EXPECT_FALSE(config::ParseLargeCommunity(bad).ok()) << bad;
  }
}

TEST(PolicyTextTest, PrefixMatchResolution) {
  EXPECT_EQ(M("198.18.0.0/15"),
            (config::PrefixMatch{.prefix = {P("198.18.0.0/15").address, 15}, .ge = 15, .le = 15}));
  EXPECT_EQ(M("198.18.0.0/15 le 24").ge, 15);
  EXPECT_EQ(M("198.18.0.0/15 le 24").le, 24);
  EXPECT_EQ(M("198.18.0.0/15 ge 20").le, 32);
  EXPECT_EQ(M("2001:db8::/32 ge 48").le, 128);
  EXPECT_EQ(M("2001:db8::/32  le 64   ge 48").ge, 48);  // either order, any spacing
  for (std::string_view bad :
       {"198.18.0.0/15 ge 14", "198.18.0.0/15 le 33", "198.18.0.0/15 ge 24 le 20",
        "198.18.0.0/15 ge", "198.18.0.0/15 ge 20 ge 21", "198.18.0.0/15 gt 20", "198.18.1.0/15",
        "198.18.0.0", "198.18.0.0/33", "2001:db8::/129", "2001:db8::/32 le 129", ""}) {
    EXPECT_FALSE(config::ParsePrefixMatch(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace strobe::bgp
