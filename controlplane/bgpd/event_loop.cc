#include "controlplane/bgpd/event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <future>

#include "src/common/clock.h"
#include "src/common/logging.h"

namespace strobe::bgpd {

// ---- Timer ----

Timer::Timer(EventLoop* loop, std::function<void()> callback)
    : loop_(loop), callback_(std::move(callback)) {}

Timer::~Timer() { Cancel(); }

void Timer::ArmAt(int64_t deadline_ns) {
  Cancel();
  deadline_ns_ = deadline_ns < 0 ? 0 : deadline_ns;
  loop_->Schedule(this);
}

void Timer::Cancel() {
  if (deadline_ns_ < 0) return;
  loop_->Unschedule(this);
  deadline_ns_ = -1;
}

// ---- EventLoop ----

EventLoop::EventLoop() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // token 0: the wake eventfd
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

EventLoop::~EventLoop() {
  RunDeferred();
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

int64_t EventLoop::now_ns() const { return MonotonicNowNs(); }

bool EventLoop::Add(int fd, uint32_t events, FdCallback callback) {
  const uint64_t token = next_token_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    STROBE_LOG(kWarning, "epoll add fd %d: %s", fd, strerror(errno));
    return false;
  }
  watches_[token] = Watch{fd, std::move(callback)};
  token_of_fd_[fd] = token;
  return true;
}

void EventLoop::Modify(int fd, uint32_t events) {
  auto it = token_of_fd_.find(fd);
  if (it == token_of_fd_.end()) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = it->second;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::Remove(int fd) {
  auto it = token_of_fd_.find(fd);
  if (it == token_of_fd_.end()) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  // The callback may be the one running: destroy it after the current callback returns.
  auto watch = watches_.find(it->second);
  if (watch != watches_.end()) {
    deferred_.push_back([cb = std::move(watch->second.callback)]() mutable { cb = nullptr; });
    watches_.erase(watch);
  }
  token_of_fd_.erase(it);
}

void EventLoop::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    posted_.push_back(std::move(task));
  }
  Wake();
}

void EventLoop::RunSync(const std::function<void()>& task) {
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  Post([&] {
    task();
    done.set_value();
  });
  finished.wait();
}

void EventLoop::Wake() {
  const uint64_t one = 1;
  ssize_t unused = write(wake_fd_, &one, sizeof(one));
  (void)unused;
}

void EventLoop::Schedule(Timer* timer) {
  timer->sequence_ = next_sequence_++;
  timers_.emplace(timer->deadline_ns_, timer->sequence_, timer);
}

void EventLoop::Unschedule(Timer* timer) {
  timers_.erase({timer->deadline_ns_, timer->sequence_, timer});
}

void EventLoop::RunTimers() {
  const int64_t now = now_ns();
  // Collect first: a callback may arm or cancel any timer.
  while (!timers_.empty()) {
    auto [deadline, sequence, timer] = *timers_.begin();
    if (deadline > now) break;
    timers_.erase(timers_.begin());
    timer->deadline_ns_ = -1;
    timer->callback_();
    RunDeferred();
  }
}

void EventLoop::RunPosted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) {
    task();
    RunDeferred();
  }
}

void EventLoop::RunDeferred() {
  while (!deferred_.empty()) {
    std::vector<std::function<void()>> now;
    now.swap(deferred_);
    for (auto& fn : now) fn();
  }
}

void EventLoop::RunOnce(int64_t max_wait_ns) {
  int64_t wait_ns = max_wait_ns;
  if (!timers_.empty()) {
    wait_ns = std::min(wait_ns, std::max<int64_t>(0, std::get<0>(*timers_.begin()) - now_ns()));
  }
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    if (!posted_.empty()) wait_ns = 0;
  }
  timespec timeout{static_cast<time_t>(wait_ns / kNsPerSec),
                   static_cast<long>(wait_ns % kNsPerSec)};
  epoll_event events[64];
  const int n = epoll_pwait2(epoll_fd_, events, 64, &timeout, nullptr);
  for (int i = 0; i < n; ++i) {
    const uint64_t token = events[i].data.u64;
    if (token == 0) {
      uint64_t value;
      ssize_t unused = read(wake_fd_, &value, sizeof(value));
      (void)unused;
      continue;
    }
    auto it = watches_.find(token);
    if (it == watches_.end()) continue;         // removed by an earlier callback of this turn
    FdCallback callback = it->second.callback;  // a copy: the callback may Remove() itself
    callback(events[i].events);
    RunDeferred();
  }
  RunPosted();
  RunTimers();
  RunDeferred();
}

void EventLoop::Run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_acquire)) RunOnce(kNsPerSec);
}

}  // namespace strobe::bgpd
