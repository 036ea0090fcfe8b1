// RFC 4271 §9.1.2.2 decision process as a table of path pairs, MED among the same neighbor AS only,
// and multipath with and without `multipath_relax`.
#include "controlplane/bgp/decision.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace strobe::bgp {
namespace {

net::IpAddress Ip(const std::string& text) { return *net::IpAddress::Parse(text); }

std::vector<AsPathSegment> Seq(std::vector<uint32_t> asns) {
  return {AsPathSegment{kAsSequence, std::move(asns)}};
}

struct PathSpec {
  std::string neighbor = "10.0.0.1";
  uint32_t router_id = 1;
  uint32_t neighbor_as = 65001;
  bool ebgp = true;
  std::vector<AsPathSegment> as_path = Seq({65001});
  uint8_t origin = kOriginIgp;
  std::optional<uint32_t> med;
  std::optional<uint32_t> local_pref;
  std::string next_hop;  // Defaults to the neighbor.
};

class DecisionTest : public ::testing::Test {
 protected:
  Path Make(const PathSpec& s) {
    RouteAttributes a;
    a.origin = s.origin;
    a.as_path = s.as_path;
    a.med = s.med;
    a.local_pref = s.local_pref;
    a.next_hop = Ip(s.next_hop.empty() ? s.neighbor : s.next_hop);
    Path p;
    p.neighbor = Ip(s.neighbor);
    p.router_id = s.router_id;
    p.neighbor_as = s.neighbor_as;
    p.ebgp = s.ebgp;
    p.attributes = pool_.Intern(std::move(a));
    return p;
  }
  AttributePool pool_;
};

TEST(AsPathLengthTest, SetCountsOneConfedIgnored) {
  EXPECT_EQ(AsPathLength({}), 0u);
  EXPECT_EQ(AsPathLength(Seq({1, 2, 3})), 3u);
  EXPECT_EQ(AsPathLength({{kAsSequence, {1, 2}}, {kAsSet, {3, 4, 5}}}), 3u);
  EXPECT_EQ(AsPathLength({{kAsConfedSequence, {7, 8}}, {kAsConfedSet, {9}}, {kAsSequence, {1}}}),
            1u);
  EXPECT_EQ(AsPathLength({{kAsSet, {}}}), 0u);
}

struct PairRow {
  std::string name;
  PathSpec better;
  PathSpec worse;
  DecisionStep step;
};

TEST_F(DecisionTest, PairTable) {
  const std::vector<PairRow> rows = {
      {"local_pref_higher",
       {.neighbor = "10.0.0.9",
        .router_id = 9,
        .neighbor_as = 64512,
        .ebgp = false,
        .as_path = Seq({65001, 65002, 65003}),
        .local_pref = 200},
       {.neighbor = "10.0.0.1",
        .router_id = 1,
        .neighbor_as = 64512,
        .ebgp = false,
        .as_path = Seq({65001}),
        .local_pref = 150},
       DecisionStep::kLocalPref},
      {"local_pref_absent_ibgp_is_100",
       {.neighbor = "10.0.0.9", .router_id = 9, .neighbor_as = 64512, .ebgp = false},
       {.neighbor = "10.0.0.1",
        .router_id = 1,
        .neighbor_as = 64512,
        .ebgp = false,
        .local_pref = 99},
       DecisionStep::kLocalPref},
      {"local_pref_ebgp_uses_default",
       {.neighbor = "10.0.0.9", .router_id = 9, .as_path = Seq({65001, 65002})},
       {.neighbor = "10.0.0.1",
        .router_id = 1,
        .neighbor_as = 64512,
        .ebgp = false,
        .local_pref = 90},
       DecisionStep::kLocalPref},
      {"as_path_shorter",
       {.neighbor = "10.0.0.9", .router_id = 9, .origin = kOriginIncomplete, .med = 500},
       {.neighbor = "10.0.0.1", .router_id = 1, .as_path = Seq({65001, 65002})},
       DecisionStep::kAsPathLength},
      {"as_path_set_counts_one",
       {.neighbor = "10.0.0.9",
        .router_id = 9,
        .as_path = {{kAsSequence, {65001}}, {kAsSet, {1, 2, 3, 4}}}},
       {.neighbor = "10.0.0.1", .router_id = 1, .as_path = Seq({65001, 2, 3})},
       DecisionStep::kAsPathLength},
      {"as_path_confed_ignored",
       {.neighbor = "10.0.0.9",
        .router_id = 9,
        .as_path = {{kAsConfedSequence, {64600, 64601, 64602}}, {kAsSequence, {65001}}}},
       {.neighbor = "10.0.0.1", .router_id = 1, .as_path = Seq({65001, 65002})},
       DecisionStep::kAsPathLength},
      {"origin_igp_over_egp",
       {.neighbor = "10.0.0.9", .router_id = 9, .origin = kOriginIgp, .med = 900},
       {.neighbor = "10.0.0.1", .router_id = 1, .origin = kOriginEgp},
       DecisionStep::kOrigin},
      {"origin_egp_over_incomplete",
       {.neighbor = "10.0.0.9", .router_id = 9, .origin = kOriginEgp},
       {.neighbor = "10.0.0.1", .router_id = 1, .origin = kOriginIncomplete},
       DecisionStep::kOrigin},
      {"med_lower_same_neighbor_as",
       {.neighbor = "10.0.0.9", .router_id = 9, .med = 10},
       {.neighbor = "10.0.0.1", .router_id = 1, .med = 20},
       DecisionStep::kMed},
      {"med_absent_is_zero",
       {.neighbor = "10.0.0.9", .router_id = 9},
       {.neighbor = "10.0.0.1", .router_id = 1, .med = 5},
       DecisionStep::kMed},
      {"med_ignored_between_neighbor_ases",
       {.neighbor = "10.0.0.9",
        .router_id = 1,
        .neighbor_as = 65001,
        .as_path = Seq({65001}),
        .med = 500},
       {.neighbor = "10.0.0.1",
        .router_id = 2,
        .neighbor_as = 65002,
        .as_path = Seq({65002}),
        .med = 1},
       DecisionStep::kRouterId},
      {"med_same_as_via_ibgp",
       // Both learned from AS 65001 (one through an iBGP peer): MED compares first.
       {.neighbor = "10.0.0.9",
        .router_id = 9,
        .neighbor_as = 64512,
        .ebgp = false,
        .as_path = Seq({65001}),
        .med = 1},
       {.neighbor = "10.0.0.1", .router_id = 1, .as_path = Seq({65001}), .med = 2},
       DecisionStep::kMed},
      {"ebgp_over_ibgp",
       {.neighbor = "10.0.0.9", .router_id = 9, .as_path = Seq({65001})},
       {.neighbor = "10.0.0.1",
        .router_id = 1,
        .neighbor_as = 64512,
        .ebgp = false,
        .as_path = Seq({65001})},
       DecisionStep::kEbgpOverIbgp},
      {"router_id_lower",
       {.neighbor = "10.0.0.9", .router_id = 0x0a000001},
       {.neighbor = "10.0.0.1", .router_id = 0x0a000002},
       DecisionStep::kRouterId},
      {"router_id_lower_ibgp",
       {.neighbor = "10.0.0.9", .router_id = 3, .neighbor_as = 64512, .ebgp = false},
       {.neighbor = "10.0.0.1", .router_id = 4, .neighbor_as = 64512, .ebgp = false},
       DecisionStep::kRouterId},
      {"neighbor_address_lower_v4",
       {.neighbor = "10.0.0.1", .router_id = 7},
       {.neighbor = "10.0.0.2", .router_id = 7},
       DecisionStep::kNeighborAddress},
      {"neighbor_address_lower_v6",
       {.neighbor = "2001:db8::1", .router_id = 7},
       {.neighbor = "2001:db8::10", .router_id = 7},
       DecisionStep::kNeighborAddress},
  };
  DecisionOptions options;
  for (const PairRow& row : rows) {
    SCOPED_TRACE(row.name);
    Path better = Make(row.better);
    Path worse = Make(row.worse);
    Comparison forward = ComparePaths(better, worse, options);
    EXPECT_LT(forward.order, 0);
    EXPECT_EQ(forward.step, row.step) << DecisionStepName(forward.step);
    Comparison backward = ComparePaths(worse, better, options);
    EXPECT_GT(backward.order, 0);
    EXPECT_EQ(backward.step, row.step);

    std::vector<Path> ab = {better, worse};
    Decision d1 = Decide(ab, options);
    EXPECT_EQ(d1.best, 0u);
    EXPECT_EQ(d1.step, row.step) << DecisionStepName(d1.step);
    EXPECT_EQ(d1.multipath, (absl::InlinedVector<size_t, 8>{0}));
    std::vector<Path> ba = {worse, better};
    Decision d2 = Decide(ba, options);
    EXPECT_EQ(d2.best, 1u);
    EXPECT_EQ(d2.step, row.step);
  }
}

TEST_F(DecisionTest, EbgpDefaultLocalPrefConfigurable) {
  Path ebgp = Make({.neighbor = "10.0.0.1", .router_id = 1});
  Path ibgp = Make({.neighbor = "10.0.0.2",
                    .router_id = 2,
                    .neighbor_as = 64512,
                    .ebgp = false,
                    .local_pref = 150});
  DecisionOptions options;
  options.default_local_pref = 200;
  EXPECT_EQ(EffectiveLocalPref(ebgp, options), 200u);
  EXPECT_EQ(ComparePaths(ebgp, ibgp, options).step, DecisionStep::kLocalPref);
  EXPECT_LT(ComparePaths(ebgp, ibgp, options).order, 0);
  options.default_local_pref = 100;
  EXPECT_GT(ComparePaths(ebgp, ibgp, options).order, 0);
}

TEST_F(DecisionTest, IdenticalPathsAreEqual) {
  Path a = Make({});
  EXPECT_EQ(ComparePaths(a, a, {}).order, 0);
  EXPECT_EQ(ComparePaths(a, a, {}).step, DecisionStep::kEqual);
}

TEST_F(DecisionTest, EmptyAndSingle) {
  Decision none = Decide({}, {});
  EXPECT_FALSE(none.best.has_value());
  EXPECT_EQ(none.step, DecisionStep::kNone);
  EXPECT_TRUE(none.multipath.empty());
  std::vector<Path> one = {Make({})};
  Decision single = Decide(one, {.max_paths = 4});
  EXPECT_EQ(single.best, 0u);
  EXPECT_EQ(single.step, DecisionStep::kOnlyPath);
  EXPECT_EQ(single.multipath, (absl::InlinedVector<size_t, 8>{0}));
}

// MED is not a total order; the RFC's whole-set elimination makes the result order independent.
TEST_F(DecisionTest, MedEliminationIsOrderIndependent) {
  std::vector<Path> paths = {
      Make({.neighbor = "10.0.0.1", .router_id = 3, .med = 10}),
      Make({.neighbor = "10.0.0.2", .router_id = 1, .med = 20}),
      Make({.neighbor = "10.0.0.3",
            .router_id = 2,
            .neighbor_as = 65002,
            .as_path = Seq({65002}),
            .med = 0}),
  };
  std::vector<size_t> order = {0, 1, 2};
  do {
    std::vector<Path> permuted;
    for (size_t i : order) permuted.push_back(paths[i]);
    Decision d = Decide(permuted, {});
    ASSERT_TRUE(d.best.has_value());
    EXPECT_EQ(permuted[*d.best].neighbor, Ip("10.0.0.3"));
    EXPECT_EQ(d.step, DecisionStep::kRouterId);
  } while (std::next_permutation(order.begin(), order.end()));
}

// ---- Multipath ----

std::vector<net::IpAddress> Neighbors(const std::vector<Path>& paths, const Decision& d) {
  std::vector<net::IpAddress> out;
  for (size_t i : d.multipath) out.push_back(paths[i].neighbor);
  return out;
}

// Four nodes (MetalLB/Calico style) announce the same VIP, given in reverse order.
std::vector<PathSpec> FourNodes(bool distinct_asns) {
  std::vector<PathSpec> specs;
  for (uint32_t i = 4; i >= 1; --i) {
    uint32_t as = distinct_asns ? 65000 + i : 65001;
    specs.push_back({.neighbor = "10.0.0." + std::to_string(i),
                     .router_id = 100 + i,
                     .neighbor_as = as,
                     .as_path = Seq({as}),
                     .med = distinct_asns ? i : 0});
  }
  return specs;
}

TEST_F(DecisionTest, MultipathDistinctAsnsNeedsRelax) {
  std::vector<Path> paths;
  for (const PathSpec& s : FourNodes(true)) paths.push_back(Make(s));
  const std::vector<net::IpAddress> all = {Ip("10.0.0.1"), Ip("10.0.0.2"), Ip("10.0.0.3"),
                                           Ip("10.0.0.4")};

  Decision relaxed = Decide(paths, {.max_paths = 16, .multipath_relax = true});
  EXPECT_EQ(paths[*relaxed.best].neighbor, Ip("10.0.0.1"));
  EXPECT_EQ(relaxed.step, DecisionStep::kRouterId);
  EXPECT_EQ(Neighbors(paths, relaxed), all);

  Decision strict = Decide(paths, {.max_paths = 16, .multipath_relax = false});
  EXPECT_EQ(paths[*strict.best].neighbor, Ip("10.0.0.1"));
  EXPECT_EQ(Neighbors(paths, strict), std::vector<net::IpAddress>{Ip("10.0.0.1")});
}

TEST_F(DecisionTest, MultipathSameAsnEitherWay) {
  std::vector<Path> paths;
  for (const PathSpec& s : FourNodes(false)) paths.push_back(Make(s));
  const std::vector<net::IpAddress> all = {Ip("10.0.0.1"), Ip("10.0.0.2"), Ip("10.0.0.3"),
                                           Ip("10.0.0.4")};
  for (bool relax : {false, true}) {
    SCOPED_TRACE(relax);
    Decision d = Decide(paths, {.max_paths = 16, .multipath_relax = relax});
    EXPECT_EQ(Neighbors(paths, d), all);
  }
}

TEST_F(DecisionTest, MultipathMaxPathsCapsAndOneDisables) {
  std::vector<Path> paths;
  for (const PathSpec& s : FourNodes(false)) paths.push_back(Make(s));
  Decision two = Decide(paths, {.max_paths = 2, .multipath_relax = true});
  EXPECT_EQ(Neighbors(paths, two), (std::vector<net::IpAddress>{Ip("10.0.0.1"), Ip("10.0.0.2")}));
  Decision one = Decide(paths, {.max_paths = 1, .multipath_relax = true});
  EXPECT_EQ(Neighbors(paths, one), std::vector<net::IpAddress>{Ip("10.0.0.1")});

  // The best is always kept, even when its address is not among the lowest.
  std::vector<Path> with_best_high = paths;
  with_best_high.push_back(Make({.neighbor = "10.0.0.200", .router_id = 1}));
  Decision capped = Decide(with_best_high, {.max_paths = 2});
  EXPECT_EQ(with_best_high[*capped.best].neighbor, Ip("10.0.0.200"));
  EXPECT_EQ(Neighbors(with_best_high, capped),
            (std::vector<net::IpAddress>{Ip("10.0.0.1"), Ip("10.0.0.200")}));
}

// A few candidates are sorted in place, many by std::stable_sort: either way the set comes out in
// neighbor address order and the best is the lowest router id, whatever the input order.
TEST_F(DecisionTest, ManyCandidatesInAnyOrder) {
  for (int n : {3, 16, 17, 40}) {
    std::vector<Path> paths;
    for (int i = n; i >= 1; --i) {  // neighbors in descending order
      paths.push_back(Make({.neighbor = "10.0.1." + std::to_string(i),
                            .router_id = static_cast<uint32_t>(1000 + (i * 7) % n)}));
    }
    Decision d = Decide(paths, {.max_paths = 64, .multipath_relax = true});
    std::vector<net::IpAddress> want;
    for (int i = 1; i <= n; ++i) want.push_back(Ip("10.0.1." + std::to_string(i)));
    EXPECT_EQ(Neighbors(paths, d), want) << n << " candidates";
    uint32_t lowest = UINT32_MAX;
    for (const Path& p : paths) lowest = std::min(lowest, p.router_id);
    ASSERT_TRUE(d.best.has_value());
    EXPECT_EQ(paths[*d.best].router_id, lowest) << n << " candidates";
    EXPECT_EQ(d.step, DecisionStep::kRouterId);
  }
}

TEST_F(DecisionTest, MultipathExcludesWorsePaths) {
  std::vector<Path> paths;
  for (const PathSpec& s : FourNodes(true)) paths.push_back(Make(s));
  // Lower local-pref (through policy), longer AS_PATH, worse origin, iBGP: never join.
  paths.push_back(Make({.neighbor = "10.0.0.5",
                        .router_id = 1,
                        .neighbor_as = 65005,
                        .as_path = Seq({65005}),
                        .local_pref = 50}));
  paths.push_back(Make({.neighbor = "10.0.0.6",
                        .router_id = 1,
                        .neighbor_as = 65006,
                        .as_path = Seq({65006, 65010})}));
  paths.push_back(Make({.neighbor = "10.0.0.7",
                        .router_id = 1,
                        .neighbor_as = 65007,
                        .as_path = Seq({65007}),
                        .origin = kOriginIncomplete}));
  paths.push_back(Make({.neighbor = "10.0.0.8",
                        .router_id = 1,
                        .neighbor_as = 64512,
                        .ebgp = false,
                        .as_path = Seq({65008})}));
  // Same neighbor AS as 10.0.0.1 with a higher MED: beaten at the MED step.
  paths.push_back(Make({.neighbor = "10.0.0.9",
                        .router_id = 1,
                        .neighbor_as = 65001,
                        .as_path = Seq({65001}),
                        .med = 50}));
  Decision d = Decide(paths, {.max_paths = 16, .multipath_relax = true});
  EXPECT_EQ(Neighbors(paths, d), (std::vector<net::IpAddress>{Ip("10.0.0.1"), Ip("10.0.0.2"),
                                                              Ip("10.0.0.3"), Ip("10.0.0.4")}));
}

TEST_F(DecisionTest, MultipathWithoutRelaxNeedsIdenticalAsPath) {
  std::vector<Path> paths = {
      Make({.neighbor = "10.0.0.1", .router_id = 1, .as_path = Seq({65001, 65100})}),
      Make({.neighbor = "10.0.0.2", .router_id = 2, .as_path = Seq({65001, 65100})}),
      Make({.neighbor = "10.0.0.3", .router_id = 3, .as_path = Seq({65001, 65200})}),
  };
  Decision strict = Decide(paths, {.max_paths = 8});
  EXPECT_EQ(Neighbors(paths, strict),
            (std::vector<net::IpAddress>{Ip("10.0.0.1"), Ip("10.0.0.2")}));
  Decision relaxed = Decide(paths, {.max_paths = 8, .multipath_relax = true});
  EXPECT_EQ(relaxed.multipath.size(), 3u);
}

// ---- From the codec ----

TEST(EffectiveAsPathTest, As4PathMerge) {
  PathAttributes a;
  a.as_path = {{kAsSequence, {65001, kAsTrans, kAsTrans, 65002}}};
  a.as4_path = {{kAsSequence, {4200000001, 4200000002, 65002}}};
  // With 4-octet AS the AS_PATH is used as is.
  EXPECT_EQ(EffectiveAsPath(a, true), *a.as_path);
  // Otherwise the leading (4 - 3) ASes of AS_PATH, then AS4_PATH.
  std::vector<AsPathSegment> merged = EffectiveAsPath(a, false);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].asns, std::vector<uint32_t>{65001});
  EXPECT_EQ(merged[1].asns, (std::vector<uint32_t>{4200000001, 4200000002, 65002}));
  EXPECT_EQ(AsPathLength(merged), 4u);
  // An AS4_PATH longer than AS_PATH is ignored.
  a.as4_path = {{kAsSequence, {1, 2, 3, 4, 5}}};
  EXPECT_EQ(EffectiveAsPath(a, false), *a.as_path);
}

TEST(RouteAttributesFromUpdateTest, NextHopAndLocalPref) {
  PathAttributes a;
  a.origin = kOriginEgp;
  a.as_path = Seq({65001});
  a.next_hop = std::array<uint8_t, 4>{192, 0, 2, 1};
  a.local_pref = 300;
  a.med = 7;
  RouteAttributes ibgp = RouteAttributesFromUpdate(a, NlriField::kIpv4, true, /*ebgp=*/false);
  EXPECT_EQ(ibgp.next_hop, Ip("192.0.2.1"));
  EXPECT_EQ(ibgp.local_pref, 300u);
  EXPECT_EQ(ibgp.med, 7u);
  EXPECT_EQ(ibgp.origin, kOriginEgp);
  RouteAttributes ebgp = RouteAttributesFromUpdate(a, NlriField::kIpv4, true, /*ebgp=*/true);
  EXPECT_FALSE(ebgp.local_pref.has_value());
  // No MP_REACH_NLRI: no next hop for its (absent) prefixes.
  EXPECT_TRUE(RouteAttributesFromUpdate(a, NlriField::kMpReach, true, true).next_hop.empty());

  MpReach mp;
  mp.afi_safi = kIpv6Unicast;
  auto global = Ip("2001:db8::1").bytes();
  auto link_local = Ip("fe80::1").bytes();
  mp.next_hop.assign(global.begin(), global.end());
  mp.next_hop.insert(mp.next_hop.end(), link_local.begin(), link_local.end());
  a.mp_reach = mp;
  EXPECT_EQ(RouteAttributesFromUpdate(a, NlriField::kMpReach, true, true).next_hop,
            Ip("2001:db8::1"));
}

// One UPDATE with IPv4 NLRI and MP_REACH_NLRI: each set of prefixes gets its own next hop.
TEST(RouteAttributesFromUpdateTest, BothNlriFieldsKeepTheirNextHops) {
  PathAttributes a;
  a.origin = kOriginIgp;
  a.as_path = Seq({65001});
  a.next_hop = std::array<uint8_t, 4>{192, 0, 2, 1};
  MpReach mp;
  mp.afi_safi = kIpv6Unicast;
  auto global = Ip("2001:db8::1").bytes();
  mp.next_hop.assign(global.begin(), global.end());
  a.mp_reach = mp;
  EXPECT_EQ(RouteAttributesFromUpdate(a, NlriField::kIpv4, true, true).next_hop, Ip("192.0.2.1"));
  EXPECT_EQ(RouteAttributesFromUpdate(a, NlriField::kMpReach, true, true).next_hop,
            Ip("2001:db8::1"));
  // RFC 8950: IPv4 prefixes in MP_REACH_NLRI with an IPv6 next hop.
  a.mp_reach->afi_safi = kIpv4Unicast;
  EXPECT_EQ(RouteAttributesFromUpdate(a, NlriField::kMpReach, true, true).next_hop,
            Ip("2001:db8::1"));
  // An IPv4 next hop in MP_REACH_NLRI.
  a.mp_reach->next_hop = {198, 51, 100, 7};
  EXPECT_EQ(RouteAttributesFromUpdate(a, NlriField::kMpReach, true, true).next_hop,
            Ip("198.51.100.7"));
  EXPECT_EQ(RouteAttributesFromUpdate(a, NlriField::kIpv4, true, true).next_hop, Ip("192.0.2.1"));
}

}  // namespace
}  // namespace strobe::bgp
