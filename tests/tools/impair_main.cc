// strobe-impair: a user-space bridge between two interfaces that delays, jitters, reorders and
// drops frames, for fault-injection tests on kernels without netem (see impair.h for the rules
// and impair_bridge.h for the control socket).
//
//   ip netns exec WIRE strobe-impair --a wa --b wb --delay_ms 10 --jitter_ms 5 --seed 7
//
// Prints {"event": "ready", ...} once both sockets are bound, and the counters of both
// directions as one JSON object on SIGTERM/SIGINT (and on SIGUSR1, without stopping).

#include <gflags/gflags.h>

#include <cstdio>
#include <string>

#include "src/common/clock.h"
#include "tests/tools/impair.h"
#include "tests/tools/impair_bridge.h"

DEFINE_string(a, "", "First interface (frames received here go out of --b: direction a_to_b).");
DEFINE_string(b, "", "Second interface (frames received here go out of --a: direction b_to_a).");
DEFINE_double(delay_ms, 0, "Fixed delay added to every frame, in milliseconds.");
DEFINE_double(jitter_ms, 0,
              "Jitter in milliseconds: uniform on [-jitter, +jitter] around --delay_ms, or the "
              "standard deviation with --distribution=normal. Negative totals are clipped to 0.");
DEFINE_string(distribution, "uniform", "Jitter distribution: uniform or normal.");
DEFINE_bool(reorder, false,
            "Each frame keeps its own drawn delay, so frames may overtake each other. Without "
            "it, a frame never leaves before one that arrived earlier (FIFO).");
DEFINE_int32(swap_every, 0,
             "Every Nth frame of each UDP/TCP flow is held until the next frame of its flow "
             "leaves, then follows it (0: never).");
DEFINE_double(swap_max_hold_ms, 50,
              "A frame held for a swap leaves at most this long after its own release time.");
DEFINE_double(loss_pct, 0, "Random loss, in percent of frames.");
DEFINE_string(directions, "both",
              "Which directions the impairment applies to: both, a_to_b or b_to_a (the other "
              "direction forwards frames at once).");
DEFINE_uint64(seed, 1, "Seed of the random draws (delay, loss): the same seed, the same draws.");
DEFINE_string(control_socket, "",
              "Unix datagram socket for run-time commands: 'stats', 'set [direction=...] "
              "key=value ...' with the keys delay_ms, jitter_ms, distribution, reorder, "
              "swap_every, swap_max_hold_ms, loss_pct. Each answer is one JSON object.");
DEFINE_int32(realtime_priority, 0, "Run under SCHED_FIFO at this priority (0: normal).");
DEFINE_int32(cpu, -1, "Pin to this CPU (-1: no affinity).");

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "strobe-impair --a IF --b IF [--delay_ms MS] [--jitter_ms MS] [--distribution "
      "uniform|normal] [--reorder] [--swap_every N] [--loss_pct P] [--directions "
      "both|a_to_b|b_to_a] [--seed N] [--control_socket PATH]\n"
      "Bridges two interfaces over AF_PACKET, holding each frame for a drawn delay.");
  gflags::ParseCommandLineFlags(&argc, &argv, true);

  strobe::impair::Settings settings{.delay_ms = FLAGS_delay_ms,
                                    .jitter_ms = FLAGS_jitter_ms,
                                    .reorder = FLAGS_reorder,
                                    .swap_every = FLAGS_swap_every,
                                    .swap_max_hold_ms = FLAGS_swap_max_hold_ms,
                                    .loss_pct = FLAGS_loss_pct};
  if (FLAGS_distribution == "normal") {
    settings.distribution = strobe::impair::Distribution::kNormal;
  } else if (FLAGS_distribution != "uniform") {
    fprintf(stderr, "strobe-impair: --distribution must be uniform or normal\n");
    return 2;
  }
  strobe::impair::BridgeOptions options{.if_a = FLAGS_a,
                                        .if_b = FLAGS_b,
                                        .seed = FLAGS_seed,
                                        .control_socket = FLAGS_control_socket,
                                        .realtime_priority = FLAGS_realtime_priority,
                                        .cpu = FLAGS_cpu};
  if (FLAGS_directions == "both" || FLAGS_directions == "a_to_b") options.a_to_b = settings;
  if (FLAGS_directions == "both" || FLAGS_directions == "b_to_a") options.b_to_a = settings;
  if (FLAGS_directions != "both" && FLAGS_directions != "a_to_b" && FLAGS_directions != "b_to_a") {
    fprintf(stderr, "strobe-impair: --directions must be both, a_to_b or b_to_a\n");
    return 2;
  }
  auto bridge = strobe::impair::Bridge::Open(options);
  if (!bridge.ok()) {
    fprintf(stderr, "strobe-impair: %s\n", bridge.status().ToString().c_str());
    return 1;
  }
  nlohmann::json ready = (*bridge)->StatsJson();
  ready["event"] = "ready";
  ready["now_ns"] = strobe::MonotonicNowNs();
  printf("%s\n", ready.dump().c_str());
  fflush(stdout);
  const absl::Status status = (*bridge)->Run();
  nlohmann::json stats = (*bridge)->StatsJson();
  stats["event"] = "stopped";
  printf("%s\n", stats.dump().c_str());
  fflush(stdout);
  if (!status.ok()) {
    fprintf(stderr, "strobe-impair: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
