// strobe-impair's I/O: an AF_PACKET socket on each of two interfaces; every frame received on
// one goes through that direction's DelayLine (impair.h) and out of the other. Frames the tool
// sends itself are not received again (PACKET_IGNORE_OUTGOING); frames keep their
// virtio_net_hdr (PACKET_VNET_HDR), so a checksum left to the device (veth) or a GSO frame leaves
// as it came, and VLAN tags the driver took off are put back. One thread, ppoll with nanosecond
// timeouts and a 1 ns timer slack: a frame leaves tens of microseconds after its release time on
// an idle machine (each direction's `late_us` says how late frames really were; run it with
// --realtime_priority on a busy one).
//
// A unix datagram control socket, if configured, takes one command per datagram and answers the
// sender (if it bound an address) with one JSON object:
//   "stats"                                 settings and counters of both directions
//   "set [direction=a_to_b|b_to_a|both] key=value ..."   new Settings (impair.h) for frames
//                                           arriving from now on; answers like "stats"

#ifndef STROBE_TESTS_TOOLS_IMPAIR_BRIDGE_H_
#define STROBE_TESTS_TOOLS_IMPAIR_BRIDGE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/tools/impair.h"

namespace strobe::impair {

struct BridgeOptions {
  std::string if_a, if_b;
  Settings a_to_b, b_to_a;
  uint64_t seed = 1;
  std::string control_socket;  // empty: none
  int realtime_priority = 0;   // SCHED_FIFO priority; 0: normal scheduling
  int cpu = -1;                // pin to this CPU; -1: no affinity
};

class Bridge {
 public:
  static absl::StatusOr<std::unique_ptr<Bridge>> Open(const BridgeOptions& options);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Forwards frames until SIGTERM or SIGINT (blocked and taken through a signalfd), then
  // counts what is still queued as dropped_at_exit.
  absl::Status Run();
  // Both directions' settings and counters.
  nlohmann::json StatsJson() const;

 private:
  explicit Bridge(const BridgeOptions& options);
  absl::Status OpenSocket(int side, const std::string& ifname);
  absl::Status OpenControl();
  void Receive(int side, int64_t now_ns);
  void Release(int64_t now_ns);
  void HandleControl();
  nlohmann::json Command(const std::string& text);

  BridgeOptions options_;
  std::array<int, 2> fds_{-1, -1};  // side 0 = a, 1 = b
  std::array<int, 2> ifindex_{0, 0};
  std::array<uint64_t, 2> socket_errors_{0, 0};  // by receiving side (e.g. ENETDOWN)
  std::array<DelayLine, 2> lines_;               // 0: a_to_b (received on a), 1: b_to_a
  std::vector<uint8_t> rx_buffer_;
  int control_fd_ = -1;
  int signal_fd_ = -1;
  int64_t started_ns_ = 0;
};

}  // namespace strobe::impair

#endif  // STROBE_TESTS_TOOLS_IMPAIR_BRIDGE_H_
