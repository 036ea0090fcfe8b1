// strobe-loadgen: emulates N BFD peers against a device under test and reports how it held
// them: time until all Up, sessions Up over time, flaps on either side, the regularity of the
// device's transmissions, and on command its detection time.

#include <gflags/gflags.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "dataplane/loadgen/load_generator.h"
#include "src/common/file_limit.h"
#include "src/common/logging.h"
#include "src/common/version.h"

DEFINE_string(backend, "socket",
              "Dataplane backend of the emulated peers: socket (kernel UDP sockets) or xdp "
              "(XDP program on --interface, AF_XDP transmission).");
DEFINE_string(xdp_mode, "native", "With --backend xdp: native or generic.");
DEFINE_string(interface, "", "Interface towards the device under test (required).");
DEFINE_string(dut, "", "Address of the device under test (required). All sessions go to it.");
DEFINE_string(sources, "",
              "Prefix the peers' source addresses come from, one per session, in order, "
              "skipping the prefix's own address and --dut (required). They are added to "
              "--interface as /32 or /128 and removed at the end.");
DEFINE_uint64(sessions, 1, "Number of emulated peers (sessions).");
DEFINE_uint32(tx_us, 300000, "Desired Min TX Interval of every session, microseconds.");
DEFINE_uint32(rx_us, 300000, "Required Min RX Interval of every session, microseconds.");
DEFINE_uint32(detect_mult, 3, "Detect Mult of every session (1-255).");
DEFINE_double(ramp_per_s, 0, "Sessions started per second; 0 starts them all at once.");
DEFINE_double(hold_s, 10, "Seconds to hold the sessions Up once all are Up (and settled).");
DEFINE_double(settle_s, 2,
              "Seconds between all sessions Up and the hold, for the Poll Sequences that move "
              "both sides to the configured intervals to finish.");
DEFINE_double(up_timeout_s, 60, "Longest wait for all sessions Up; the hold starts anyway.");
DEFINE_string(workers, "0", "Cores of the worker threads, comma-separated (\"0\", \"0,1\").");
DEFINE_uint64(silence, 0,
              "Sessions silenced in a detection measurement (0: none unless SIGUSR1, which "
              "silences 1). They stop transmitting without telling the device, which must "
              "declare them Down; the time from their last packet to the device's Down is its "
              "detection time.");
DEFINE_double(silence_at_s, -1, "Seconds into the hold when --silence starts; default: half.");
DEFINE_string(auth_type, "",
              "BFD authentication: simple-password, keyed-md5, meticulous-keyed-md5, "
              "keyed-sha1, meticulous-keyed-sha1. Empty: none.");
DEFINE_uint32(auth_key_id, 1, "With --auth_type: the key id.");
DEFINE_string(auth_secret_file, "",
              "With --auth_type: a file holding the secret (the first line), so it appears in "
              "no process listing.");
DEFINE_string(report, "", "Write the JSON report to FILE (\"-\": standard output).");
DEFINE_string(control_socket, "",
              "The in-process dataplane's control socket, for strobectl --socket; default "
              "/run/strobe/loadgen-PID.sock.");
DEFINE_string(progress, "auto",
              "One-line progress display on standard error: auto (on a terminal), always, "
              "never.");
DEFINE_string(log_level, "warning", "Least severe log level printed: debug, info, warning, error.");

namespace {

constexpr int kExitRuntimeError = 1;
constexpr int kExitUsage = 2;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_silence{false};

void OnStop(int) { g_stop.store(true); }
void OnSilence(int) { g_silence.store(true); }

int Usage(const std::string& message) {
  fprintf(stderr, "strobe-loadgen: %s (see --help)\n", message.c_str());
  return kExitUsage;
}

// gflags spells flags with underscores; the documented spelling uses dashes (--tx-us): accept
// both by rewriting the name part of every --flag before parsing.
void AcceptDashes(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) break;
    if (std::strncmp(argv[i], "--", 2) != 0) continue;
    for (char* c = argv[i] + 2; *c != '\0' && *c != '='; ++c) {
      if (*c == '-') *c = '_';
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "strobe-loadgen --interface IF --dut ADDR --sources PREFIX --sessions N [options]\n\n"
      "Emulates N BFD peers (RFC 5880, 5881 single-hop) against a device under test (another\n"
      "Strobe, FRR, BIRD, a router), each with its own source address from PREFIX and its own\n"
      "discriminator, on the same engine as strobe-dataplane. The device must have a session\n"
      "(or a passive/dynamic BFD config) for every source address.\n\n"
      "Phases: ramp (sessions started at --ramp-per-s), settle (until all Up, at most\n"
      "--up-timeout-s, then --settle-s), hold (--hold-s; the device's transmit intervals are\n"
      "measured here), and silence rounds (--silence sessions stop transmitting at\n"
      "--silence-at-s into the hold, or whenever SIGUSR1 arrives, to measure the device's\n"
      "detection time). At the end every session is sent AdminDown and the addresses go.\n\n"
      "Report (--report FILE, JSON): sessions, up_at_end, time_to_all_up_s, flaps (Up sessions\n"
      "that went Down without being silenced, either side), flaps_by_cause, dut_interval_us\n"
      "{count, p50, p90, p99, max, buckets}, detection_ms {count, missed, p50, p99, max,\n"
      "samples} when measured, timeline (sessions Up over time), phases. scripts/plot-report\n"
      "draws it. Flags may be spelled --tx-us or --tx_us.\n\n"
      "Exit status: 0 when the run completed and the report was written (read the report for\n"
      "the verdict), 1 on a runtime error (an interface, a socket, a core), 2 on a bad flag.\n"
      "SIGINT/SIGTERM end the run early; the report is still written, with \"interrupted\".");
  gflags::SetVersionString(strobe::kVersion);
  AcceptDashes(argc, argv);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (!strobe::SetLogLevelByName(FLAGS_log_level)) {
    return Usage("--log_level must be debug, info, warning or error");
  }
  if (argc > 1) return Usage(std::string("unexpected argument \"") + argv[1] + "\"");
  if (FLAGS_interface.empty()) return Usage("--interface IF is required");
  if (FLAGS_dut.empty()) return Usage("--dut ADDR is required");
  if (FLAGS_sources.empty()) return Usage("--sources PREFIX is required");
  if (FLAGS_sessions == 0 || FLAGS_sessions > 16 * 16384) {
    return Usage("--sessions must be 1 to 262144");
  }
  if (FLAGS_backend != "socket" && FLAGS_backend != "xdp") {
    return Usage("--backend must be socket or xdp");
  }
  if (FLAGS_xdp_mode != "native" && FLAGS_xdp_mode != "generic") {
    return Usage("--xdp_mode must be native or generic");
  }
  if (FLAGS_detect_mult == 0 || FLAGS_detect_mult > 255) return Usage("--detect-mult is 1-255");
  if (FLAGS_tx_us == 0 || FLAGS_rx_us == 0) return Usage("--tx-us and --rx-us must be > 0");
  if (FLAGS_hold_s < 0 || FLAGS_ramp_per_s < 0 || FLAGS_settle_s < 0 || FLAGS_up_timeout_s < 0) {
    return Usage("--hold-s, --ramp-per-s, --settle-s and --up-timeout-s must be >= 0");
  }
  if (FLAGS_progress != "auto" && FLAGS_progress != "always" && FLAGS_progress != "never") {
    return Usage("--progress must be auto, always or never");
  }

  strobe::loadgen::Options options;
  options.backend = FLAGS_backend;
  options.xdp_native = FLAGS_xdp_mode == "native";
  options.interface = FLAGS_interface;
  options.dut = FLAGS_dut;
  options.sources = FLAGS_sources;
  options.sessions = FLAGS_sessions;
  options.tx_us = FLAGS_tx_us;
  options.rx_us = FLAGS_rx_us;
  options.detect_mult = static_cast<uint8_t>(FLAGS_detect_mult);
  options.ramp_per_s = FLAGS_ramp_per_s;
  options.hold_s = FLAGS_hold_s;
  options.settle_s = FLAGS_settle_s;
  options.up_timeout_s = FLAGS_up_timeout_s;
  options.silence = FLAGS_silence;
  if (FLAGS_silence_at_s >= 0) {
    if (FLAGS_silence_at_s > FLAGS_hold_s) return Usage("--silence-at-s is after the hold ends");
    options.silence_at_s = FLAGS_silence_at_s;
  }
  options.control_socket = FLAGS_control_socket;
  options.workers.clear();
  for (absl::string_view core : absl::StrSplit(FLAGS_workers, ',')) {
    int value = -1;
    if (!absl::SimpleAtoi(core, &value) || value < 0 || value >= CPU_SETSIZE) {
      return Usage("--workers must list cores, e.g. 0 or 0,1");
    }
    options.workers.push_back(value);
  }
  if (options.workers.size() > 16) return Usage("--workers: at most 16 workers");
  if (!FLAGS_auth_type.empty()) {
    std::optional<strobe::bfd::AuthType> type = strobe::bfd::AuthTypeFromName(FLAGS_auth_type);
    if (!type || *type == strobe::bfd::AuthType::kNone) {
      return Usage(
          "--auth_type must be simple-password, keyed-md5, meticulous-keyed-md5, "
          "keyed-sha1 or meticulous-keyed-sha1");
    }
    std::ifstream in(FLAGS_auth_secret_file);
    std::string secret;
    if (FLAGS_auth_secret_file.empty() || !std::getline(in, secret) || secret.empty()) {
      return Usage("--auth_type needs --auth_secret_file FILE holding the secret");
    }
    const bool sha1 = *type == strobe::bfd::AuthType::kKeyedSha1 ||
                      *type == strobe::bfd::AuthType::kMeticulousKeyedSha1;
    if (secret.size() > (sha1 ? 20u : 16u)) {
      return Usage(sha1 ? "the secret must be 1-20 bytes" : "the secret must be 1-16 bytes");
    }
    if (FLAGS_auth_key_id > 255) return Usage("--auth_key_id is 0-255");
    options.auth = strobe::bfd::AuthKey{*type, static_cast<uint8_t>(FLAGS_auth_key_id), secret};
  }

  struct sigaction sa = {};
  sa.sa_handler = OnStop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = OnSilence;
  sigaction(SIGUSR1, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  strobe::RaiseFileLimit();

  const bool show_progress =
      FLAGS_progress == "always" || (FLAGS_progress == "auto" && isatty(STDERR_FILENO));
  bool progress_shown = false;
  auto progress = [&](const strobe::loadgen::Progress& p) {
    if (!show_progress) return;
    fprintf(stderr, "\r%8.1f s  %-7s  registered %zu/%zu  up %zu  flaps %llu  detections %zu\033[K",
            p.elapsed_s, p.phase, p.registered, p.sessions, p.up,
            static_cast<unsigned long long>(p.flaps), p.detections);
    fflush(stderr);
    progress_shown = true;
  };
  absl::StatusOr<nlohmann::json> report =
      strobe::loadgen::RunLoad(options, g_stop, g_silence, progress);
  if (progress_shown) fprintf(stderr, "\n");
  if (!report.ok()) {
    fprintf(stderr, "strobe-loadgen: %s\n", std::string(report.status().message()).c_str());
    return report.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                        : kExitRuntimeError;
  }
  const std::string text = report->dump(2) + "\n";
  if (FLAGS_report == "-") {
    fputs(text.c_str(), stdout);
  } else {
    if (!FLAGS_report.empty()) {
      std::ofstream out(FLAGS_report);
      out << text;
      if (!out.good()) {
        fprintf(stderr, "strobe-loadgen: cannot write %s\n", FLAGS_report.c_str());
        return kExitRuntimeError;
      }
    }
    const nlohmann::json& r = *report;
    const nlohmann::json& iv = r["dut_interval_us"];
    const std::string all_up =
        r["time_to_all_up_s"].is_null()
            ? "never all up"
            : absl::StrFormat("all up after %.2f s", r["time_to_all_up_s"].get<double>());
    printf("%zu sessions to %s: %zu up at end, %s, %llu flaps\n", r["sessions"].get<size_t>(),
           FLAGS_dut.c_str(), r["up_at_end"].get<size_t>(), all_up.c_str(),
           static_cast<unsigned long long>(r["flaps"].get<uint64_t>()));
    printf("device's intervals: %llu gaps, p50 %llu us, p99 %llu us, max %llu us\n",
           static_cast<unsigned long long>(iv["count"].get<uint64_t>()),
           static_cast<unsigned long long>(iv["p50"].get<uint64_t>()),
           static_cast<unsigned long long>(iv["p99"].get<uint64_t>()),
           static_cast<unsigned long long>(iv["max"].get<uint64_t>()));
    if (r.contains("detection_ms")) {
      const nlohmann::json& d = r["detection_ms"];
      printf(
          "device's detection: %zu measured, %llu missed, p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
          d["count"].get<size_t>(), static_cast<unsigned long long>(d["missed"].get<uint64_t>()),
          d["p50"].get<double>(), d["p99"].get<double>(), d["max"].get<double>());
    }
  }
  return 0;
}
