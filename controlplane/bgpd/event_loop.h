// strobe-bgpd's one event loop: epoll for sockets, CLOCK_MONOTONIC deadlines for timers, a
// thread-safe task queue (the control socket thread and the BFD thread post work here), and
// deferred destruction so an object may be deleted from inside one of its own callbacks.
//
// Everything but Post()/RunSync()/Wake() runs on the loop's thread.
#ifndef STROBE_CONTROLPLANE_BGPD_EVENT_LOOP_H_
#define STROBE_CONTROLPLANE_BGPD_EVENT_LOOP_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace strobe::bgpd {

class EventLoop;

// A one-shot timer owned by its user; cancelled when destroyed or re-armed.
class Timer {
 public:
  Timer(EventLoop* loop, std::function<void()> callback);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Fires once at `deadline_ns` (CLOCK_MONOTONIC); a deadline in the past fires at the next turn.
  void ArmAt(int64_t deadline_ns);
  void Cancel();
  bool armed() const { return deadline_ns_ >= 0; }
  int64_t deadline_ns() const { return deadline_ns_; }

 private:
  friend class EventLoop;
  EventLoop* loop_;
  std::function<void()> callback_;
  int64_t deadline_ns_ = -1;
  uint64_t sequence_ = 0;  // tie-break among equal deadlines
};

class EventLoop {
 public:
  using FdCallback = std::function<void(uint32_t events)>;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` for `events` (EPOLLIN, EPOLLOUT...). Returns false on failure.
  bool Add(int fd, uint32_t events, FdCallback callback);
  void Modify(int fd, uint32_t events);
  // Stops watching `fd` (call before closing it); pending events for it are dropped.
  void Remove(int fd);

  // Thread-safe: runs `task` on the loop thread at its next turn.
  void Post(std::function<void()> task);
  // Thread-safe, from another thread only: runs `task` on the loop and waits for it.
  void RunSync(const std::function<void()>& task);
  // Thread-safe and async-signal-safe: wakes the loop (e.g. after setting the stop flag).
  void Wake();

  // Runs `fn` after the current callback returns (before the loop sleeps again).
  void Defer(std::function<void()> fn) { deferred_.push_back(std::move(fn)); }
  template <typename T>
  void DeleteSoon(std::unique_ptr<T> object) {
    if (object == nullptr) return;
    std::shared_ptr<T> holder(std::move(object));
    deferred_.push_back([holder]() mutable { holder.reset(); });
  }

  // Runs until `stop` is true (checked after every wake-up).
  void Run(const std::atomic<bool>& stop);
  // One turn: waits at most `max_wait_ns` for events or timers and handles them.
  void RunOnce(int64_t max_wait_ns);

  int64_t now_ns() const;

 private:
  friend class Timer;
  struct Watch {
    int fd;
    FdCallback callback;
  };
  void Schedule(Timer* timer);
  void Unschedule(Timer* timer);
  void RunTimers();
  void RunPosted();
  void RunDeferred();

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  uint64_t next_token_ = 1;
  absl::flat_hash_map<uint64_t, Watch> watches_;    // token -> watch
  absl::flat_hash_map<int, uint64_t> token_of_fd_;  // fd -> token
  std::set<std::tuple<int64_t, uint64_t, Timer*>> timers_;
  uint64_t next_sequence_ = 1;
  std::vector<std::function<void()>> deferred_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_EVENT_LOOP_H_
