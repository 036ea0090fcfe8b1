#ifndef STROBE_DATAPLANE_LOADGEN_LOAD_GENERATOR_H_
#define STROBE_DATAPLANE_LOADGEN_LOAD_GENERATOR_H_

// strobe-loadgen's run: N emulated BFD peers against one device under test (DUT).
//
// The peers are sessions of an in-process strobe-dataplane (any backend, the same engine and
// FSM as the appliance), created through the BFD client API (ipc::BfdClient) exactly as
// strobe-bgpd creates its sessions, at the configured ramp rate. The client's state changes,
// timestamped by the dataplane, feed the LoadReport. Phases:
//   ramp     sessions registered at --ramp-per-s;
//   settle   until every session is Up (at most --up-timeout-s), then --settle-s more so the
//            Poll Sequences that move both sides from 1 s to the configured intervals finish;
//   hold     --hold-s; the DUT's received intervals are measured here (the histogram is reset
//            when it starts); at --silence-at-s, and on SIGUSR1, a silence round;
//   silence  --silence sessions stop transmitting (the DUT is not told) until the DUT declares
//            each Down or a timeout, then resume; the DUT's detection time is measured.
// At the end every session is sent AdminDown (the dataplane's stop), the source addresses are
// removed, and the report is returned.

#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/bfd/auth.h"

namespace strobe::loadgen {

struct Options {
  std::string backend = "socket";  // socket | xdp
  bool xdp_native = true;
  std::string interface;
  std::string dut;
  std::string sources;
  size_t sessions = 1;
  uint32_t tx_us = 300'000;
  uint32_t rx_us = 300'000;
  uint8_t detect_mult = 3;
  double ramp_per_s = 0;  // 0: all at once
  double hold_s = 10;
  double settle_s = 2;
  double up_timeout_s = 60;
  std::vector<int> workers = {0};      // cores
  size_t silence = 0;                  // sessions per silence round
  std::optional<double> silence_at_s;  // into the hold; default: the middle of it
  std::optional<bfd::AuthKey> auth;
  std::string control_socket;  // empty: /run/strobe/loadgen-PID.sock
};

// What the run shows while it goes (for the one-line progress display).
struct Progress {
  const char* phase = "";
  double elapsed_s = 0;
  size_t sessions = 0;
  size_t registered = 0;
  size_t up = 0;
  uint64_t flaps = 0;
  size_t detections = 0;
};

// Runs the whole test. `stop` ends it early (the report is still made, with "interrupted");
// `silence_request` is set by SIGUSR1 and cleared here when the round starts; `progress` is
// called about four times a second.
absl::StatusOr<nlohmann::json> RunLoad(const Options& options, const std::atomic<bool>& stop,
                                       std::atomic<bool>& silence_request,
                                       const std::function<void(const Progress&)>& progress);

}  // namespace strobe::loadgen

#endif  // STROBE_DATAPLANE_LOADGEN_LOAD_GENERATOR_H_
