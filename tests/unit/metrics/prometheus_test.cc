// The Prometheus text format (src/metrics/prometheus.h), the latency histogram and the HTTP
// responder's request handling (src/metrics/http_server.h).

#include "src/metrics/prometheus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "src/metrics/histogram.h"
#include "src/metrics/http_server.h"

namespace strobe::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(Prometheus, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue("eth0"), "eth0");
  EXPECT_EQ(EscapeHelp("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
}

TEST(Prometheus, FormatsValues) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(0.00025), "0.00025");
  EXPECT_EQ(FormatValue(1.5), "1.5");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(Prometheus, WritesHelpTypeAndSamples) {
  TextWriter w;
  w.Family("strobe_x_total", "counter", "Things\ncounted.");
  w.Sample("strobe_x_total", {{"peer", "10.0.0.1"}, {"if", "a\"b"}}, 3.0);
  w.Sample("strobe_x_total", {}, nlohmann::json(uint64_t{18446744073709551615u}));
  w.Sample("strobe_x_total", {}, nlohmann::json(-5));
  w.Sample("strobe_x_total", {}, nlohmann::json(nullptr));
  EXPECT_EQ(w.text(),
            "# HELP strobe_x_total Things\\ncounted.\n"
            "# TYPE strobe_x_total counter\n"
            "strobe_x_total{peer=\"10.0.0.1\",if=\"a\\\"b\"} 3\n"
            "strobe_x_total 18446744073709551615\n"
            "strobe_x_total -5\n"
            "strobe_x_total 0\n");
}

TEST(Prometheus, HistogramHasCumulativeBucketsInfSumAndCount) {
  LatencyHistogram h;
  h.ObserveNs(50'000);          // 50 us: first bucket
  h.ObserveNs(300'000);         // 300 us: <= 500 us
  h.ObserveNs(20'000'000'000);  // 20 s: only +Inf
  const nlohmann::json j = h.ToJson();
  EXPECT_EQ(j["count"], 3);
  EXPECT_EQ(j["sum_us"], 50 + 300 + 20'000'000);
  EXPECT_EQ(j["cumulative"][0], 1);
  EXPECT_EQ(j["cumulative"][1], 1);
  EXPECT_EQ(j["cumulative"][2], 2);
  EXPECT_EQ(j["cumulative"].back(), 2);

  HistogramSample sample;
  ASSERT_TRUE(AddHistogramJson(j, &sample));
  ASSERT_TRUE(AddHistogramJson(j, &sample));  // a second worker's
  TextWriter w;
  w.Family("strobe_d_seconds", "histogram", "D.");
  w.Histogram("strobe_d_seconds", {{"w", "0"}}, sample);
  const std::string& t = w.text();
  EXPECT_THAT(t, HasSubstr("# TYPE strobe_d_seconds histogram\n"));
  EXPECT_THAT(t, HasSubstr("strobe_d_seconds_bucket{w=\"0\",le=\"0.0001\"} 2\n"));
  EXPECT_THAT(t, HasSubstr("strobe_d_seconds_bucket{w=\"0\",le=\"0.0005\"} 4\n"));
  EXPECT_THAT(t, HasSubstr("strobe_d_seconds_bucket{w=\"0\",le=\"10\"} 4\n"));
  EXPECT_THAT(t, HasSubstr("strobe_d_seconds_bucket{w=\"0\",le=\"+Inf\"} 6\n"));
  EXPECT_THAT(t, HasSubstr("strobe_d_seconds_sum{w=\"0\"} 40.0007\n"));
  EXPECT_THAT(t, HasSubstr("strobe_d_seconds_count{w=\"0\"} 6\n"));
  EXPECT_FALSE(AddHistogramJson(nlohmann::json(nullptr), &sample));
}

TEST(Prometheus, DataplanePageListsEveryStateAndSumsWorkers) {
  LatencyHistogram h;
  h.ObserveNs(31'000'000);
  const nlohmann::json worker = {
      {"worker", 0},
      {"core", 2},
      {"sessions", 2},
      {"sessions_by_state", {{"admin-down", 0}, {"down", 1}, {"init", 0}, {"up", 1}}},
      {"up_transitions", 3},
      {"down_transitions", 2},
      {"timers_armed", 4},
      {"rx_packets", 10},
      {"tx_packets", 11},
      {"handed_off", 0},
      {"timers_late_1ms", 0},
      {"timer_late_max_us", 1500},
      {"events_published", 5},
      {"detection_latency", h.ToJson()}};
  const nlohmann::json counters = {{"rx_packets", 20},
                                   {"tx_packets", 22},
                                   {"tx_errors", 0},
                                   {"uptime_s", 9},
                                   {"rx_dropped", {{"bad_ttl", 7}, {"no_session", 0}}},
                                   {"workers", {worker, worker}}};
  const nlohmann::json sessions = {{{"peer", "10.0.0.2"},
                                    {"local", "10.0.0.1"},
                                    {"interface", "veth0"},
                                    {"state", "up"},
                                    {"last_detection_latency_us", 31000}}};
  const std::string t = RenderDataplane(counters, sessions);
  EXPECT_THAT(t, HasSubstr("strobe_bfd_sessions{state=\"up\"} 2\n"));
  EXPECT_THAT(t, HasSubstr("strobe_bfd_sessions{state=\"admin-down\"} 0\n"));
  EXPECT_THAT(t, HasSubstr("strobe_bfd_sessions{state=\"init\"} 0\n"));
  EXPECT_THAT(t, HasSubstr("strobe_bfd_session_transitions_total{direction=\"up\"} 6\n"));
  EXPECT_THAT(t, HasSubstr("strobe_bfd_packets_total{direction=\"rx\"} 20\n"));
  EXPECT_THAT(t, HasSubstr("strobe_bfd_rx_drops_total{reason=\"bad_ttl\"} 7\n"));
  EXPECT_THAT(t, HasSubstr("strobe_bfd_worker_sessions{worker=\"0\",core=\"2\"} 2\n"));
  EXPECT_THAT(
      t, HasSubstr("strobe_bfd_worker_timer_late_max_seconds{worker=\"0\",core=\"2\"} 0.0015\n"));
  EXPECT_THAT(t, HasSubstr("strobe_bfd_detection_latency_seconds_bucket{le=\"0.05\"} 2\n"));
  EXPECT_THAT(t, HasSubstr("strobe_bfd_detection_latency_seconds_count 2\n"));
  EXPECT_THAT(
      t,
      HasSubstr(
          "strobe_bfd_session_up{peer=\"10.0.0.2\",local=\"10.0.0.1\",interface=\"veth0\"} 1\n"));
  EXPECT_THAT(t, StartsWith("# HELP strobe_bfd_sessions "));
}

TEST(Prometheus, BgpdPage) {
  const nlohmann::json neighbors = {{{"address", "192.0.2.1"},
                                     {"state", "established"},
                                     {"uptime_s", 5},
                                     {"prefixes_received", 3},
                                     {"prefixes_accepted", 2},
                                     {"bfd", "up"}}};
  const nlohmann::json summary = {
      {"rib_count", 2},
      {"total_peers", 1},
      {"established_peers", 1},
      {"peers", {{"192.0.2.1", {{"pfx_snt", 1}, {"msg_rcvd", 7}, {"msg_sent", 8}}}}}};
  std::string t = RenderBgpd(summary, neighbors, nullptr);
  EXPECT_THAT(
      t, HasSubstr("strobe_bgp_neighbor_state{neighbor=\"192.0.2.1\",state=\"established\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("strobe_bgp_neighbor_state{neighbor=\"192.0.2.1\",state=\"idle\"} 0\n"));
  EXPECT_THAT(t, HasSubstr("strobe_bgp_neighbor_up{neighbor=\"192.0.2.1\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("strobe_bgp_prefixes_received{neighbor=\"192.0.2.1\"} 3\n"));
  EXPECT_THAT(t, HasSubstr("strobe_bgp_prefixes_accepted{neighbor=\"192.0.2.1\"} 2\n"));
  EXPECT_THAT(t,
              HasSubstr("strobe_bgp_messages_total{neighbor=\"192.0.2.1\",direction=\"tx\"} 8\n"));
  EXPECT_THAT(t, Not(HasSubstr("strobe_fib_")));

  LatencyHistogram h;
  h.ObserveNs(120'000);
  const nlohmann::json fib = {
      {"summary", {{"installed", 2}, {"pending", 0}, {"failed", 1}, {"stale", 0}, {"groups", 1}}},
      {"counters", {{"requests", 9}, {"failed", 1}, {"failovers", 1}}},
      {"batch_duration", h.ToJson()},
      {"last_failover", {{"event_to_ack_us", 800}}}};
  t = RenderBgpd(summary, neighbors, fib);
  EXPECT_THAT(t, HasSubstr("strobe_fib_routes{state=\"installed\"} 2\n"));
  EXPECT_THAT(t, HasSubstr("strobe_fib_routes{state=\"failed\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("strobe_fib_requests_total 9\n"));
  EXPECT_THAT(t, HasSubstr("strobe_fib_requests_failed_total 1\n"));
  EXPECT_THAT(t, HasSubstr("strobe_fib_failovers_total 1\n"));
  EXPECT_THAT(t, HasSubstr("strobe_fib_resyncs_total 0\n"));
  EXPECT_THAT(t, HasSubstr("strobe_fib_batch_duration_seconds_bucket{le=\"0.0001\"} 0\n"));
  EXPECT_THAT(t, HasSubstr("strobe_fib_batch_duration_seconds_bucket{le=\"0.00025\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("strobe_fib_batch_duration_seconds_bucket{le=\"+Inf\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("strobe_fib_last_failover_seconds 0.0008\n"));
}

TEST(HostPort, ParsesAndRefuses) {
  auto v4 = ParseHostPort("127.0.0.1:9311");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->first.ToString(), "127.0.0.1");
  EXPECT_EQ(v4->second, 9311);
  auto v6 = ParseHostPort("[::1]:9312");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->first.ToString(), "::1");
  EXPECT_EQ(v6->second, 9312);
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:9x", "::1:9311",
        "[::1]9311", "[127.0.0.1]:9311", "localhost:9311", "[::1]:"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
}

TEST(Http, AnswersMetrics404And405) {
  const HttpServer::Renderer render = [] { return std::string("m 1\n"); };
  std::string r = HttpResponse("GET /metrics HTTP/1.1\r\nHost: x", render);
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_THAT(r, HasSubstr("Content-Length: 4\r\n"));
  EXPECT_THAT(r, HasSubstr("\r\n\r\nm 1\n"));
  EXPECT_THAT(HttpResponse("GET /metrics?x=1 HTTP/1.0", render), StartsWith("HTTP/1.1 200"));
  r = HttpResponse("HEAD /metrics HTTP/1.1", render);
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(r, Not(HasSubstr("m 1")));
  EXPECT_THAT(HttpResponse("GET /other HTTP/1.1", render), StartsWith("HTTP/1.1 404"));
  r = HttpResponse("POST /metrics HTTP/1.1", render);
  EXPECT_THAT(r, StartsWith("HTTP/1.1 405"));
  EXPECT_THAT(r, HasSubstr("Allow: GET, HEAD\r\n"));
  EXPECT_THAT(HttpResponse("garbage", render), StartsWith("HTTP/1.1 400"));
}

}  // namespace
}  // namespace strobe::metrics
