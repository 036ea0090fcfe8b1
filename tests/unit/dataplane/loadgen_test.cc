// strobe-loadgen's bookkeeping without a network: the report's flaps, detection times and
// timeline from a scripted sequence of state changes, and the source-address plan.

#include <string>
#include <vector>

#include "dataplane/loadgen/load_report.h"
#include "dataplane/loadgen/source_addresses.h"
#include "gtest/gtest.h"

namespace strobe::loadgen {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kStart = 1'000 * kMs;

SessionChange Change(bfd::State state, int64_t at_ms, uint64_t ups,
                     bfd::Diag local = bfd::Diag::kNone, bfd::Diag remote = bfd::Diag::kNone) {
  SessionChange c;
  c.state = state;
  c.changed_ns = kStart + at_ms * kMs;
  c.up_transitions = ups;
  c.local_diag = local;
  c.remote_diag = remote;
  return c;
}

TEST(LoadReportTest, TimeToAllUpIsTheLastSessionsUp) {
  LoadReport report(3, kStart);
  for (size_t i = 0; i < 3; ++i) report.OnRegistered(i, kStart);
  report.OnChange(0, Change(bfd::State::kInit, 100, 0));
  report.OnChange(0, Change(bfd::State::kUp, 150, 1));
  report.OnChange(1, Change(bfd::State::kUp, 900, 1));
  EXPECT_FALSE(report.all_up_seen());
  report.OnChange(2, Change(bfd::State::kUp, 1'250, 1));
  EXPECT_TRUE(report.all_up_seen());
  const nlohmann::json j = report.ToJson({}, nlohmann::json::object());
  EXPECT_EQ(j["sessions"], 3);
  EXPECT_EQ(j["up_at_end"], 3);
  EXPECT_DOUBLE_EQ(j["time_to_all_up_s"].get<double>(), 1.25);
  EXPECT_EQ(j["flaps"], 0);
  EXPECT_FALSE(j.contains("detection_ms"));
}

TEST(LoadReportTest, NeverAllUpIsNull) {
  LoadReport report(2, kStart);
  report.OnRegistered(0, kStart);
  report.OnRegistered(1, kStart);
  report.OnChange(0, Change(bfd::State::kUp, 10, 1));
  const nlohmann::json j = report.ToJson({}, nlohmann::json::object());
  EXPECT_TRUE(j["time_to_all_up_s"].is_null());
  EXPECT_EQ(j["up_at_end"], 1);
  EXPECT_EQ(j["never_up"], 1);
}

TEST(LoadReportTest, FlapsAreCountedByCauseIncludingThoseBetweenTwoReads) {
  LoadReport report(2, kStart);
  report.OnChange(0, Change(bfd::State::kUp, 10, 1));
  report.OnChange(1, Change(bfd::State::kUp, 10, 1));
  // Session 0: we stopped hearing the DUT.
  report.OnChange(0, Change(bfd::State::kDown, 500, 1, bfd::Diag::kControlDetectionTimeExpired));
  report.OnChange(0, Change(bfd::State::kUp, 1'500, 2));
  // Session 1: the DUT said Down, and came back; then two more flaps happened between two reads
  // (the dataplane's up count jumped from 2 to 4 while we only saw Up again).
  report.OnChange(1, Change(bfd::State::kDown, 600, 1, bfd::Diag::kNeighborSignaledSessionDown,
                            bfd::Diag::kControlDetectionTimeExpired));
  report.OnChange(1, Change(bfd::State::kUp, 1'600, 2));
  report.OnChange(1, Change(bfd::State::kUp, 3'600, 4, bfd::Diag::kNeighborSignaledSessionDown));
  const nlohmann::json j = report.ToJson({}, nlohmann::json::object());
  EXPECT_EQ(j["flaps"], 4);
  EXPECT_EQ(j["flaps_by_cause"]["dut_silent"], 1);
  EXPECT_EQ(j["flaps_by_cause"]["dut_signaled_down"], 3);
  ASSERT_EQ(j["flap_events"].size(), 3u);  // one per change that revealed flaps
  EXPECT_EQ(j["flap_events"][2]["count"], 2);
  EXPECT_EQ(j["flap_events"][1]["remote_diag"], "control detection time expired");
  EXPECT_EQ(j["up_at_end"], 2);
}

TEST(LoadReportTest, SilenceMeasuresTheDutsDetectionAndIsNoFlap) {
  LoadReport report(3, kStart);
  report.SetNames({"198.18.1.1", "198.18.1.2", "198.18.1.3"});
  for (size_t i = 0; i < 3; ++i) report.OnChange(i, Change(bfd::State::kUp, 10, 1));
  report.OnSilenced(0, kStart + 1'000 * kMs);
  report.OnSilenced(1, kStart + 1'005 * kMs);
  EXPECT_TRUE(report.AwaitingDetection(0));
  // The DUT's Down packets: detection time expired on its side, 30.5 ms after our last packet.
  report.OnChange(0, Change(bfd::State::kDown, 1'030, 1, bfd::Diag::kNeighborSignaledSessionDown,
                            bfd::Diag::kControlDetectionTimeExpired));
  report.OnChange(0, Change(bfd::State::kDown, 1'031, 1, bfd::Diag::kNeighborSignaledSessionDown,
                            bfd::Diag::kControlDetectionTimeExpired));
  EXPECT_FALSE(report.AwaitingDetection(0));
  EXPECT_TRUE(report.AwaitingDetection(1));  // the DUT never noticed session 1
  report.OnResumed(0);
  report.OnResumed(1);
  // Both come back: not flaps.
  report.OnChange(0, Change(bfd::State::kUp, 3'000, 2));
  const nlohmann::json j = report.ToJson({}, nlohmann::json::object());
  EXPECT_EQ(j["flaps"], 0);
  ASSERT_TRUE(j.contains("detection_ms"));
  const nlohmann::json& d = j["detection_ms"];
  EXPECT_EQ(d["count"], 1);
  EXPECT_EQ(d["missed"], 1);
  EXPECT_DOUBLE_EQ(d["p50"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(d["max"].get<double>(), 30.0);
  EXPECT_EQ(d["sessions"], nlohmann::json::array({"198.18.1.1"}));
}

TEST(LoadReportTest, ADownForAnotherReasonDuringSilenceIsNotADetection) {
  LoadReport report(1, kStart);
  report.OnChange(0, Change(bfd::State::kUp, 10, 1));
  report.OnSilenced(0, kStart + 100 * kMs);
  report.OnChange(0, Change(bfd::State::kAdminDown, 120, 1, bfd::Diag::kNeighborSignaledSessionDown,
                            bfd::Diag::kAdministrativelyDown));
  const nlohmann::json j = report.ToJson({}, nlohmann::json::object());
  EXPECT_EQ(j["detection_ms"]["count"], 0);
  EXPECT_EQ(j["detection_ms"]["wrong_diag"], 1);
  EXPECT_EQ(j["flaps"], 0);
}

TEST(LoadReportTest, TimelineAndPhasesAndIntervals) {
  LoadReport report(2, kStart);
  report.BeginPhase("ramp", kStart);
  report.OnRegistered(0, kStart);
  report.Sample(kStart);
  report.OnRegistered(1, kStart + 100 * kMs);
  report.OnChange(0, Change(bfd::State::kUp, 150, 1));
  report.Sample(kStart + 200 * kMs);
  report.BeginPhase("hold", kStart + 300 * kMs);
  report.EndPhase(kStart + 800 * kMs);
  metrics::IntervalHistogram intervals;
  for (int i = 0; i < 100; ++i) intervals.ObserveUs(10'000);
  intervals.ObserveUs(12'000);
  const nlohmann::json j = report.ToJson(intervals, {{"dut", "198.18.0.1"}});
  EXPECT_EQ(j["dut"], "198.18.0.1");
  ASSERT_EQ(j["timeline"].size(), 2u);
  EXPECT_EQ(j["timeline"][1]["t_s"], 0.2);
  EXPECT_EQ(j["timeline"][1]["registered"], 2);
  EXPECT_EQ(j["timeline"][1]["up"], 1);
  ASSERT_EQ(j["phases"].size(), 2u);
  EXPECT_EQ(j["phases"][0]["name"], "ramp");
  EXPECT_EQ(j["phases"][0]["end_s"], 0.3);
  EXPECT_EQ(j["phases"][1]["end_s"], 0.8);
  EXPECT_EQ(j["dut_interval_us"]["count"], 101);
  EXPECT_EQ(j["dut_interval_us"]["max"], 12'000);
  EXPECT_NEAR(j["dut_interval_us"]["p50"].get<double>(), 10'000, 64);
  EXPECT_EQ(j["dut_interval_us"]["buckets"].size(), 2u);
}

TEST(LoadReportTest, LongTimelinesAreThinnedNotUnbounded) {
  LoadReport report(1, kStart);
  for (int i = 0; i < 20'000; ++i) report.Sample(kStart + int64_t{i} * 100 * kMs);
  const nlohmann::json j = report.ToJson({}, nlohmann::json::object());
  EXPECT_LE(j["timeline"].size(), 4'001u);
  EXPECT_GE(j["timeline"].size(), 1'000u);
  EXPECT_EQ(j["timeline"][0]["t_s"], 0.0);
}

TEST(HostsOfTest, SkipsThePrefixAddressTheBroadcastAndTheDut) {
  const net::IpAddress dut = *net::IpAddress::Parse("198.18.1.2");
  absl::StatusOr<std::vector<net::IpAddress>> hosts = HostsOf("198.18.1.0/24", 3, dut);
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_EQ(hosts->size(), 3u);
  EXPECT_EQ((*hosts)[0].ToString(), "198.18.1.1");
  EXPECT_EQ((*hosts)[1].ToString(), "198.18.1.3");
  EXPECT_EQ((*hosts)[2].ToString(), "198.18.1.4");
  // A /24 has 254 hosts; one is the DUT.
  EXPECT_TRUE(HostsOf("198.18.1.0/24", 253, dut).ok());
  EXPECT_FALSE(HostsOf("198.18.1.0/24", 254, dut).ok());
  // Carries across bytes; host bits in the given base are ignored.
  absl::StatusOr<std::vector<net::IpAddress>> wide = HostsOf("198.18.1.77/22", 300, dut);
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ((*wide)[0].ToString(), "198.18.0.1");
  EXPECT_EQ((*wide)[255].ToString(), "198.18.1.0");
  EXPECT_EQ((*wide)[299].ToString(), "198.18.1.45");  // .2 of 198.18.1 was the DUT
}

TEST(HostsOfTest, Ipv6AndErrors) {
  const net::IpAddress dut = *net::IpAddress::Parse("2001:db8:1::1");
  absl::StatusOr<std::vector<net::IpAddress>> hosts = HostsOf("2001:db8:1::/64", 2, dut);
  ASSERT_TRUE(hosts.ok());
  EXPECT_EQ((*hosts)[0].ToString(), "2001:db8:1::2");
  EXPECT_EQ((*hosts)[1].ToString(), "2001:db8:1::3");
  EXPECT_EQ(HostsOf("2001:db8:1::ff00/120", 1, dut)->front().ToString(), "2001:db8:1::ff01");
  EXPECT_FALSE(HostsOf("198.18.1.0", 1, dut).ok());
  EXPECT_FALSE(HostsOf("198.18.1.0/33", 1, dut).ok());
  EXPECT_FALSE(HostsOf("nonsense/24", 1, dut).ok());
  EXPECT_EQ(HostsOf("198.18.1.9/32", 1, dut)->front().ToString(), "198.18.1.9");
}

}  // namespace
}  // namespace strobe::loadgen
