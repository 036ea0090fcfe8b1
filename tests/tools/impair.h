// The impairment logic of strobe-impair (a test tool, not shipped): one DelayLine per direction
// of a link holds each frame for a drawn delay and releases frames in release-time order. No I/O
// here (impair_bridge.h moves the frames), so the timing rules are unit-tested with a fake clock.
//
// Per frame, in this order:
//   loss      dropped with probability loss_pct / 100;
//   delay     delay_ms + a draw from the jitter distribution: uniform on [-jitter, +jitter], or
//             normal with standard deviation jitter; a negative total is clipped to 0;
//   order     without `reorder`, a frame never leaves before one that arrived earlier (its release
//             time is raised to the previous one's, as on a real link: FIFO); with `reorder`, each
//             frame keeps its own draw, so one may overtake another;
//   swap      with swap_every = N > 0, every Nth frame of each UDP/TCP flow is held until the
//             next frame of its flow leaves, then follows it (a deterministic reordering), or
//             leaves swap_max_hold after its own release time if no frame follows.

#ifndef STROBE_TESTS_TOOLS_IMPAIR_H_
#define STROBE_TESTS_TOOLS_IMPAIR_H_

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace strobe::impair {

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

enum class Distribution { kUniform, kNormal };

struct Settings {
  double delay_ms = 0;
  double jitter_ms = 0;
  Distribution distribution = Distribution::kUniform;
  bool reorder = false;
  int swap_every = 0;
  double swap_max_hold_ms = 50;
  double loss_pct = 0;

  nlohmann::json ToJson() const;
  // Applies "key=value" words (the keys of ToJson()); anything else is an error and leaves
  // *this unchanged.
  absl::Status Apply(const std::vector<absl::string_view>& words);
  absl::Status Validate() const;
};

// A frame's flow, for swapping: a hash of the IP addresses, protocol and ports of a UDP or TCP
// frame (Ethernet, at most one VLAN tag, IPv4 without fragments or IPv6 without extension
// headers); 0 for anything else, which is never swapped.
uint64_t FlowOf(const uint8_t* frame, size_t length);

struct Frame {
  std::vector<uint8_t> bytes;
  uint64_t flow = 0;
  int64_t arrival_ns = 0;
  int64_t release_ns = 0;
  uint64_t seq = 0;    // arrival order in this direction
  uint64_t order = 0;  // tie-break between equal release times
};

// Running min / mean / max of microsecond values.
struct Summary {
  uint64_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  void Add(double v);
  nlohmann::json ToJson() const;
};

struct Counters {
  uint64_t received = 0;
  uint64_t forwarded = 0;
  uint64_t dropped_loss = 0;
  uint64_t dropped_at_exit = 0;  // still queued when the tool stopped
  uint64_t send_errors = 0;
  uint64_t truncated = 0;  // larger than the receive buffer, dropped
  uint64_t clipped = 0;    // drawn delay below 0, raised to 0
  uint64_t swapped = 0;    // held for a swap
  uint64_t reordered = 0;  // left after a frame of its flow that arrived later
  uint64_t queue_max = 0;
  Summary hold_us;  // actual time in the tool: sent minus received
  Summary late_us;  // how late each frame left: sent minus its release time
  uint64_t late_over_100us = 0;
  uint64_t late_over_1ms = 0;
  nlohmann::json ToJson() const;
};

class DelayLine {
 public:
  DelayLine(const Settings& settings, uint64_t seed);

  const Settings& settings() const { return settings_; }
  // New settings apply to frames arriving from now on; queued frames keep their release times.
  void set_settings(const Settings& settings) { settings_ = settings; }

  // A frame received at now_ns: dropped, queued, or held for a swap.
  void Push(std::vector<uint8_t> bytes, uint64_t flow, int64_t now_ns);
  // The earliest release time of a queued or held frame; kNever when empty.
  int64_t NextDueNs() const;
  // Moves every frame due at now_ns to `out`, in release order.
  void PopDue(int64_t now_ns, std::vector<Frame>* out);
  // Called once a popped frame was sent (ok) or failed to go at sent_ns.
  void Sent(const Frame& frame, bool ok, int64_t sent_ns);
  // Counts what is still queued or held as dropped (at exit).
  void Drain();

  const Counters& counters() const { return counters_; }
  Counters& counters() { return counters_; }
  size_t queued() const { return queue_.size() + held_.size(); }

 private:
  struct Later {
    bool operator()(const Frame& x, const Frame& y) const {
      return x.release_ns != y.release_ns ? x.release_ns > y.release_ns : x.order > y.order;
    }
  };
  struct FlowState {
    uint64_t frames = 0;        // arrived
    uint64_t max_seq_sent = 0;  // highest arrival seq released, + 1 (0: none)
    bool holding = false;       // a frame waits in held_ for the next one
  };
  int64_t DrawDelayNs();
  void Enqueue(Frame frame);

  Settings settings_;
  std::mt19937_64 rng_;
  std::priority_queue<Frame, std::vector<Frame>, Later> queue_;
  std::unordered_map<uint64_t, Frame> held_;  // by flow
  std::unordered_map<uint64_t, FlowState> flows_;
  int64_t last_release_ns_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t next_order_ = 0;
  Counters counters_;
};

}  // namespace strobe::impair

#endif  // STROBE_TESTS_TOOLS_IMPAIR_H_
