#include "src/metrics/http_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "src/common/clock.h"
#include "src/metrics/prometheus.h"

namespace strobe::metrics {
namespace {

constexpr size_t kMaxRequestHead = 8192;
constexpr size_t kMaxConnections = 32;
constexpr int64_t kIdleTimeoutNs = 5 * kNsPerSec;

std::string Response(std::string_view status, std::string_view content_type, std::string_view body,
                     bool head_only, std::string_view extra = "") {
  std::string out = "HTTP/1.1 ";
  out.append(status).append("\r\nContent-Type: ").append(content_type);
  out.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append(extra).append("Connection: close\r\n\r\n");
  if (!head_only) out += body;
  return out;
}

}  // namespace

absl::StatusOr<std::pair<net::IpAddress, uint16_t>> ParseHostPort(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError("an IPv6 address is written \"[ADDRESS]:PORT\"");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError("want \"ADDRESS:PORT\" (IPv6: \"[ADDRESS]:PORT\")");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return absl::InvalidArgumentError("an IPv6 address is written \"[ADDRESS]:PORT\"");
    }
  }
  absl::StatusOr<net::IpAddress> address = net::IpAddress::Parse(host);
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", std::string(host), "\" is not an IP address"));
  }
  if (!text.empty() && text[0] == '[' && address->is_v4()) {
    return absl::InvalidArgumentError("brackets are for IPv6 addresses only");
  }
  int value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
      value > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port \"", std::string(port), "\" is not in [1, 65535]"));
  }
  return std::pair{*address, static_cast<uint16_t>(value)};
}

std::string HttpResponse(std::string_view head, const HttpServer::Renderer& render) {
  const size_t eol = head.find_first_of("\r\n");
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.substr(sp2 + 1).substr(0, 5) != "HTTP/") {
    return Response("400 Bad Request", "text/plain; charset=utf-8", "bad request\n", false);
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) {
    return Response("405 Method Not Allowed", "text/plain; charset=utf-8",
                    "only GET and HEAD are served\n", false, "Allow: GET, HEAD\r\n");
  }
  if (target != "/metrics") {
    return Response("404 Not Found", "text/plain; charset=utf-8", "not found: try /metrics\n",
                    head_only);
  }
  return Response("200 OK", kContentType, render(), head_only);
}

HttpServer::~HttpServer() {
  while (!connections_.empty()) Close(connections_.size() - 1);
  if (listen_fd_ >= 0) close(listen_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

absl::Status HttpServer::Listen(std::string_view address) {
  absl::StatusOr<std::pair<net::IpAddress, uint16_t>> parsed = ParseHostPort(address);
  if (!parsed.ok()) return parsed.status();
  sockaddr_storage ss{};
  const socklen_t length = parsed->first.ToSockaddr(parsed->second, &ss);
  listen_fd_ = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (listen_fd_ < 0 || setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), length) != 0 ||
      listen(listen_fd_, 16) != 0) {
    return absl::UnavailableError(
        absl::StrCat("metrics address ", std::string(address), ": ", strerror(errno)));
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof(bound);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bound_length);
  port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  if (epoll_fd_ < 0 || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    return absl::InternalError(absl::StrCat("metrics epoll: ", strerror(errno)));
  }
  return absl::OkStatus();
}

void HttpServer::Close(size_t index) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, connections_[index].fd, nullptr);
  close(connections_[index].fd);
  connections_[index] = std::move(connections_.back());
  connections_.pop_back();
}

void HttpServer::Accept() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (connections_.size() >= kMaxConnections) {
      // The oldest deadline goes: a slow or idle client does not lock scrapes out.
      size_t oldest = 0;
      for (size_t i = 1; i < connections_.size(); ++i) {
        if (connections_[i].deadline_ns < connections_[oldest].deadline_ns) oldest = i;
      }
      Close(oldest);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      continue;
    }
    connections_.push_back(Connection{.fd = fd, .deadline_ns = MonotonicNowNs() + kIdleTimeoutNs});
  }
}

bool HttpServer::OnReadable(Connection& c, const Renderer& render) {
  if (!c.out.empty()) return true;  // answering already; the rest of the input is ignored
  char buffer[2048];
  for (;;) {
    const ssize_t n = recv(c.fd, buffer, sizeof(buffer), 0);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.in.append(buffer, static_cast<size_t>(n));
    size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) end = c.in.find("\n\n");
    if (end != std::string::npos) {
      c.out = HttpResponse(std::string_view(c.in).substr(0, end), render);
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.fd = c.fd;
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
      return OnWritable(c);
    }
    if (c.in.size() > kMaxRequestHead) {
      c.out = Response("431 Request Header Fields Too Large", "text/plain; charset=utf-8",
                       "request head too large\n", false);
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.fd = c.fd;
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
      return OnWritable(c);
    }
  }
}

bool HttpServer::OnWritable(Connection& c) {
  while (c.sent < c.out.size()) {
    const ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.sent += static_cast<size_t>(n);
  }
  shutdown(c.fd, SHUT_WR);
  return false;
}

void HttpServer::Process(const Renderer& render) {
  if (epoll_fd_ < 0) return;
  epoll_event events[32];
  const int n = epoll_wait(epoll_fd_, events, 32, 0);
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == listen_fd_) {
      Accept();
      continue;
    }
    for (size_t k = 0; k < connections_.size(); ++k) {
      Connection& c = connections_[k];
      if (c.fd != fd) continue;
      bool keep = true;
      if (events[i].events & EPOLLOUT) {
        keep = OnWritable(c);
      } else if (events[i].events & EPOLLIN) {
        keep = OnReadable(c, render);
      } else if (events[i].events & (EPOLLERR | EPOLLHUP)) {
        keep = false;
      }
      if (!keep) Close(k);
      break;
    }
  }
  const int64_t now = MonotonicNowNs();
  for (size_t k = connections_.size(); k-- > 0;) {
    if (connections_[k].deadline_ns < now) Close(k);
  }
}

}  // namespace strobe::metrics
