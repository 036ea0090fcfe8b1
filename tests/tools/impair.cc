#include "tests/tools/impair.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace strobe::impair {
namespace {

constexpr double kNsPerMs = 1e6;

const char* DistributionName(Distribution d) {
  return d == Distribution::kNormal ? "normal" : "uniform";
}

// FNV-1a, over bytes and over one word.
uint64_t HashBytes(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

uint64_t Mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull; }

}  // namespace

nlohmann::json Settings::ToJson() const {
  return {{"delay_ms", delay_ms},
          {"jitter_ms", jitter_ms},
          {"distribution", DistributionName(distribution)},
          {"reorder", reorder},
          {"swap_every", swap_every},
          {"swap_max_hold_ms", swap_max_hold_ms},
          {"loss_pct", loss_pct}};
}

absl::Status Settings::Validate() const {
  for (double v : {delay_ms, jitter_ms, swap_max_hold_ms, loss_pct}) {
    if (!std::isfinite(v) || v < 0) return absl::InvalidArgumentError("negative or not finite");
  }
  if (loss_pct > 100) return absl::InvalidArgumentError("loss_pct above 100");
  if (swap_every < 0) return absl::InvalidArgumentError("swap_every below 0");
  if (delay_ms > 60'000 || jitter_ms > 60'000) {
    return absl::InvalidArgumentError("delay or jitter above 60 s");
  }
  return absl::OkStatus();
}

absl::Status Settings::Apply(const std::vector<absl::string_view>& words) {
  Settings next = *this;
  for (absl::string_view word : words) {
    const size_t eq = word.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("want key=value, got '", word, "'"));
    }
    const absl::string_view key = word.substr(0, eq), value = word.substr(eq + 1);
    bool ok = true;
    if (key == "delay_ms") {
      ok = absl::SimpleAtod(value, &next.delay_ms);
    } else if (key == "jitter_ms") {
      ok = absl::SimpleAtod(value, &next.jitter_ms);
    } else if (key == "swap_max_hold_ms") {
      ok = absl::SimpleAtod(value, &next.swap_max_hold_ms);
    } else if (key == "loss_pct") {
      ok = absl::SimpleAtod(value, &next.loss_pct);
    } else if (key == "swap_every") {
      ok = absl::SimpleAtoi(value, &next.swap_every);
    } else if (key == "reorder") {
      ok = absl::SimpleAtob(value, &next.reorder);
    } else if (key == "distribution") {
      if (value == "uniform") {
        next.distribution = Distribution::kUniform;
      } else if (value == "normal") {
        next.distribution = Distribution::kNormal;
      } else {
        ok = false;
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown setting '", key, "'"));
    }
    if (!ok) return absl::InvalidArgumentError(absl::StrCat("bad value in '", word, "'"));
  }
  if (absl::Status s = next.Validate(); !s.ok()) return s;
  *this = next;
  return absl::OkStatus();
}

uint64_t FlowOf(const uint8_t* frame, size_t length) {
  size_t off = 12;
  if (length < off + 2) return 0;
  uint16_t ethertype = static_cast<uint16_t>(frame[off] << 8 | frame[off + 1]);
  off += 2;
  if (ethertype == 0x8100 || ethertype == 0x88a8) {  // one VLAN tag
    if (length < off + 4) return 0;
    ethertype = static_cast<uint16_t>(frame[off + 2] << 8 | frame[off + 3]);
    off += 4;
  }
  uint8_t proto = 0;
  size_t l4 = 0;
  uint64_t h = 0xcbf29ce484222325ull;
  if (ethertype == 0x0800) {
    if (length < off + 20) return 0;
    const uint8_t* ip = frame + off;
    const size_t ihl = (ip[0] & 0x0f) * 4u;
    const bool fragment = ((ip[6] & 0x3f) | ip[7]) != 0;  // MF or an offset
    if (ihl < 20 || fragment) return 0;
    proto = ip[9];
    h = HashBytes(h, ip + 12, 8);
    l4 = off + ihl;
  } else if (ethertype == 0x86dd) {
    if (length < off + 40) return 0;
    const uint8_t* ip = frame + off;
    proto = ip[6];
    h = HashBytes(h, ip + 8, 32);
    l4 = off + 40;
  } else {
    return 0;
  }
  if ((proto != 17 && proto != 6) || length < l4 + 4) return 0;
  h = Mix(h, proto);
  h = HashBytes(h, frame + l4, 4);  // source and destination ports
  return h == 0 ? 1 : h;
}

void Summary::Add(double v) {
  if (count == 0 || v < min) min = v;
  if (count == 0 || v > max) max = v;
  ++count;
  sum += v;
}

nlohmann::json Summary::ToJson() const {
  return {{"count", count},
          {"min", min},
          {"mean", count != 0 ? sum / static_cast<double>(count) : 0.0},
          {"max", max}};
}

nlohmann::json Counters::ToJson() const {
  return {{"received", received},
          {"forwarded", forwarded},
          {"dropped_loss", dropped_loss},
          {"dropped_at_exit", dropped_at_exit},
          {"send_errors", send_errors},
          {"truncated", truncated},
          {"clipped", clipped},
          {"swapped", swapped},
          {"reordered", reordered},
          {"queue_max", queue_max},
          {"hold_us", hold_us.ToJson()},
          {"late_us", late_us.ToJson()},
          {"late_over_100us", late_over_100us},
          {"late_over_1ms", late_over_1ms}};
}

DelayLine::DelayLine(const Settings& settings, uint64_t seed) : settings_(settings), rng_(seed) {}

int64_t DelayLine::DrawDelayNs() {
  double ms = settings_.delay_ms;
  if (settings_.jitter_ms > 0) {
    if (settings_.distribution == Distribution::kNormal) {
      ms += std::normal_distribution<double>(0.0, settings_.jitter_ms)(rng_);
    } else {
      ms += std::uniform_real_distribution<double>(-settings_.jitter_ms, settings_.jitter_ms)(rng_);
    }
  }
  if (ms < 0) {
    ++counters_.clipped;
    ms = 0;
  }
  return static_cast<int64_t>(std::llround(ms * kNsPerMs));
}

void DelayLine::Enqueue(Frame frame) {
  frame.order = next_order_++;
  queue_.push(std::move(frame));
  counters_.queue_max = std::max<uint64_t>(counters_.queue_max, queued());
}

void DelayLine::Push(std::vector<uint8_t> bytes, uint64_t flow, int64_t now_ns) {
  ++counters_.received;
  const uint64_t seq = next_seq_++;
  if (settings_.loss_pct > 0 &&
      std::uniform_real_distribution<double>(0.0, 100.0)(rng_) < settings_.loss_pct) {
    ++counters_.dropped_loss;
    return;
  }
  int64_t release = now_ns + DrawDelayNs();
  if (!settings_.reorder) release = std::max(release, last_release_ns_);  // FIFO
  last_release_ns_ = std::max(last_release_ns_, release);
  Frame frame{.bytes = std::move(bytes),
              .flow = flow,
              .arrival_ns = now_ns,
              .release_ns = release,
              .seq = seq};
  if (flow == 0) {
    Enqueue(std::move(frame));
    return;
  }
  FlowState& fs = flows_[flow];
  ++fs.frames;
  if (fs.holding) {
    // The held frame follows this one, at the same release time.
    auto it = held_.find(flow);
    Frame held = std::move(it->second);
    held_.erase(it);
    fs.holding = false;
    held.release_ns = frame.release_ns;
    Enqueue(std::move(frame));
    Enqueue(std::move(held));
    return;
  }
  if (settings_.swap_every > 0 && fs.frames % static_cast<uint64_t>(settings_.swap_every) == 0) {
    ++counters_.swapped;
    fs.holding = true;
    frame.release_ns += static_cast<int64_t>(std::llround(settings_.swap_max_hold_ms * kNsPerMs));
    held_.emplace(flow, std::move(frame));
    counters_.queue_max = std::max<uint64_t>(counters_.queue_max, queued());
    return;
  }
  Enqueue(std::move(frame));
}

int64_t DelayLine::NextDueNs() const {
  int64_t next = queue_.empty() ? kNever : queue_.top().release_ns;
  for (const auto& [flow, frame] : held_) next = std::min(next, frame.release_ns);
  return next;
}

void DelayLine::PopDue(int64_t now_ns, std::vector<Frame>* out) {
  // Held frames whose follower never came leave on their own deadline.
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second.release_ns <= now_ns) {
      flows_[it->first].holding = false;
      Enqueue(std::move(it->second));
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
  while (!queue_.empty() && queue_.top().release_ns <= now_ns) {
    // top() is const; moving the bytes out leaves the keys (release_ns, order) that pop()
    // compares untouched.
    Frame frame = std::move(const_cast<Frame&>(queue_.top()));
    queue_.pop();
    FlowState& fs = flows_[frame.flow];
    if (frame.seq + 1 < fs.max_seq_sent) ++counters_.reordered;
    fs.max_seq_sent = std::max(fs.max_seq_sent, frame.seq + 1);
    out->push_back(std::move(frame));
  }
}

void DelayLine::Sent(const Frame& frame, bool ok, int64_t sent_ns) {
  if (!ok) {
    ++counters_.send_errors;
    return;
  }
  ++counters_.forwarded;
  counters_.hold_us.Add(static_cast<double>(sent_ns - frame.arrival_ns) / 1e3);
  const int64_t late = std::max<int64_t>(0, sent_ns - frame.release_ns);
  counters_.late_us.Add(static_cast<double>(late) / 1e3);
  if (late > 100'000) ++counters_.late_over_100us;
  if (late > 1'000'000) ++counters_.late_over_1ms;
}

void DelayLine::Drain() {
  counters_.dropped_at_exit += queued();
  while (!queue_.empty()) queue_.pop();
  held_.clear();
  for (auto& [flow, fs] : flows_) fs.holding = false;
}

}  // namespace strobe::impair
