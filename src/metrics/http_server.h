#ifndef STROBE_SRC_METRICS_HTTP_SERVER_H_
#define STROBE_SRC_METRICS_HTTP_SERVER_H_

// A minimal HTTP/1.1 responder for Prometheus scrapes: GET (and HEAD) /metrics, one request per
// connection (`Connection: close`), 404 for any other path, 405 for any other method. Entirely
// non-blocking and single-threaded: the owner watches fd() (an epoll fd, readable whenever a
// connection or the listener has something to do) in its own loop and calls Process(), which
// never blocks. The page is rendered by the owner's callback on the owner's thread, so it reads
// whatever that thread may read (the dataplane's control thread, strobe-bgpd's event loop).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/net/ip_address.h"

namespace strobe::metrics {

// "127.0.0.1:9311", "[::1]:9311": an IP address literal and a port 1-65535.
absl::StatusOr<std::pair<net::IpAddress, uint16_t>> ParseHostPort(std::string_view text);

class HttpServer {
 public:
  using Renderer = std::function<std::string()>;

  HttpServer() = default;
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens on `address` (ParseHostPort), SO_REUSEADDR.
  absl::Status Listen(std::string_view address);
  // Readable when Process() has work. -1 before Listen().
  int fd() const { return epoll_fd_; }
  // The bound port (useful with port 0).
  uint16_t port() const { return port_; }
  // Accepts, reads, answers and closes whatever is ready, and drops connections idle for more
  // than 5 s. `render` produces the /metrics body.
  void Process(const Renderer& render);

  size_t connections() const { return connections_.size(); }

 private:
  struct Connection {
    int fd = -1;
    std::string in;
    std::string out;
    size_t sent = 0;
    int64_t deadline_ns = 0;
  };
  void Accept();
  // Returns false when the connection is finished (to be closed).
  bool OnReadable(Connection& c, const Renderer& render);
  bool OnWritable(Connection& c);
  void Close(size_t index);

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<Connection> connections_;
};

// The response to one request head (request line and headers, without the final CRLF CRLF).
// Exposed for tests.
std::string HttpResponse(std::string_view request_head, const HttpServer::Renderer& render);

}  // namespace strobe::metrics

#endif  // STROBE_SRC_METRICS_HTTP_SERVER_H_
