#include "controlplane/bgpd/connection.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <variant>

#include "controlplane/bgp/message.h"
#include "controlplane/bgpd/tcp_socket.h"
#include "src/common/clock.h"

namespace strobe::bgpd {
namespace {

constexpr size_t kReadChunk = 64 << 10;
constexpr size_t kMaxReadPerWake = 1 << 20;  // fairness between peers
constexpr int64_t kLingerNs = 3 * kNsPerSec;

int g_lingering = 0;

// Owns a socket after its Connection let go: flushes, shuts down the write side, drains input
// until EOF or the deadline, closes, deletes itself.
class Linger {
 public:
  Linger(EventLoop* loop, int fd, std::vector<uint8_t> pending)
      : loop_(loop), fd_(fd), out_(std::move(pending)), timer_(loop, [this] { Finish(); }) {
    ++g_lingering;
    timer_.ArmAt(loop_->now_ns() + kLingerNs);
    Flush();
    if (fd_ >= 0 && !loop_->Add(fd_, EPOLLIN | (offset_ < out_.size() ? uint32_t{EPOLLOUT} : 0u),
                                [this](uint32_t events) { OnEvents(events); })) {
      Finish();
    }
  }

 private:
  void Flush() {
    while (offset_ < out_.size()) {
      const ssize_t n =
          send(fd_, out_.data() + offset_, out_.size() - offset_, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      offset_ += static_cast<size_t>(n);
    }
    if (!shut_) {
      shutdown(fd_, SHUT_WR);
      shut_ = true;
    }
  }
  void OnEvents(uint32_t events) {
    if (events & EPOLLOUT) {
      Flush();
      if (offset_ >= out_.size()) loop_->Modify(fd_, EPOLLIN);
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      char buffer[4096];
      while (true) {
        const ssize_t n = recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return Finish();
        break;
      }
    }
  }
  void Finish() {
    if (done_) return;
    done_ = true;
    timer_.Cancel();
    if (fd_ >= 0) {
      loop_->Remove(fd_);
      close(fd_);
      fd_ = -1;
    }
    --g_lingering;
    loop_->Defer([this] { delete this; });
  }

  EventLoop* loop_;
  int fd_;
  std::vector<uint8_t> out_;
  size_t offset_ = 0;
  bool shut_ = false;
  bool done_ = false;
  Timer timer_;
};

}  // namespace

int Connection::lingering() { return g_lingering; }

Connection::Connection(EventLoop* loop, int fd, bool outgoing, bool connecting, Callbacks callbacks)
    : loop_(loop),
      fd_(fd),
      outgoing_(outgoing),
      connecting_(connecting),
      callbacks_(std::move(callbacks)) {
  if (!connecting_) {
    local_ = LocalAddressOf(fd_);
    remote_ = PeerAddressOf(fd_);
    local_port_ = LocalPortOf(fd_);
    remote_port_ = PeerPortOf(fd_);
  }
  want_write_ = connecting_;
  if (!loop_->Add(fd_, connecting_ ? EPOLLOUT : EPOLLIN,
                  [this](uint32_t events) { OnEvents(events); })) {
    dead_ = true;
  }
}

Connection::~Connection() {
  if (fd_ >= 0) {
    loop_->Remove(fd_);
    close(fd_);
  }
}

void Connection::Detach() {
  if (fd_ >= 0) loop_->Remove(fd_);
  dead_ = true;
}

void Connection::Fail(const std::string& why) {
  if (dead_) return;
  Detach();
  close(fd_);
  fd_ = -1;
  if (callbacks_.closed) callbacks_.closed(why);
}

void Connection::CloseGracefully() {
  if (fd_ < 0) return;
  Detach();
  if (connecting_) {
    close(fd_);
  } else {
    new Linger(
        loop_, fd_,
        std::vector<uint8_t>(out_.begin() + static_cast<std::ptrdiff_t>(out_offset_), out_.end()));
  }
  fd_ = -1;
  out_.clear();
  out_offset_ = 0;
}

void Connection::Send(std::span<const uint8_t> bytes) {
  if (fd_ < 0 || dead_) return;
  if (out_offset_ > 0 && out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
  }
  out_.insert(out_.end(), bytes.begin(), bytes.end());
  if (!connecting_ && !want_write_) Flush();
}

void Connection::Flush() {
  while (out_offset_ < out_.size()) {
    const ssize_t n = send(fd_, out_.data() + out_offset_, out_.size() - out_offset_,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) return Fail(std::string("send: ") + strerror(errno));
    out_offset_ += static_cast<size_t>(n);
  }
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
  } else if (out_offset_ > (1 << 20) && out_offset_ * 2 > out_.size()) {
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_offset_));
    out_offset_ = 0;
  }
  UpdateInterest();
}

void Connection::UpdateInterest() {
  if (fd_ < 0 || dead_) return;
  const bool want = out_offset_ < out_.size();
  if (want == want_write_) return;
  want_write_ = want;
  loop_->Modify(fd_, EPOLLIN | (want ? uint32_t{EPOLLOUT} : 0u));
}

void Connection::OnConnected() {
  const int err = PendingError(fd_);
  if (err != 0) return Fail(std::string("connect: ") + strerror(err));
  connecting_ = false;
  local_ = LocalAddressOf(fd_);
  remote_ = PeerAddressOf(fd_);
  local_port_ = LocalPortOf(fd_);
  remote_port_ = PeerPortOf(fd_);
  want_write_ = false;
  loop_->Modify(fd_, EPOLLIN);
  if (callbacks_.connected) callbacks_.connected();
  if (!dead_ && out_offset_ < out_.size()) Flush();
}

void Connection::OnEvents(uint32_t events) {
  if (dead_) return;
  if (connecting_) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) OnConnected();
    return;
  }
  if (events & EPOLLOUT) Flush();
  if (dead_) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ReadAll();
}

void Connection::ReadAll() {
  size_t total = 0;
  bool eof = false;
  std::string error;
  while (total < kMaxReadPerWake) {
    const size_t old = in_.size();
    in_.resize(old + kReadChunk);
    const ssize_t n = recv(fd_, in_.data() + old, kReadChunk, MSG_DONTWAIT);
    if (n > 0) {
      in_.resize(old + static_cast<size_t>(n));
      total += static_cast<size_t>(n);
      continue;
    }
    in_.resize(old);
    if (n == 0) {
      eof = true;
    } else if (errno == EINTR) {
      continue;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      error = std::string("recv: ") + strerror(errno);
    }
    break;
  }
  // Deliver every whole message; a callback may close us.
  size_t offset = 0;
  while (!dead_) {
    std::span<const uint8_t> rest(in_.data() + offset, in_.size() - offset);
    auto framed = bgp::FrameLength(rest, max_length_);
    if (auto* err = std::get_if<bgp::BgpError>(&framed)) {
      const bgp::BgpError e = *err;
      in_.clear();
      if (callbacks_.header_error) callbacks_.header_error(e);
      return;
    }
    const size_t length = std::get<size_t>(framed);
    if (length == 0) break;
    callbacks_.message(rest.first(length));
    offset += length;
  }
  if (dead_) return;
  in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(offset));
  if (!error.empty()) return Fail(error);
  if (eof) return Fail("connection closed by peer");
}

}  // namespace strobe::bgpd
