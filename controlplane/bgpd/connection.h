// One BGP TCP connection on the event loop: a non-blocking socket, the write queue, and the read
// buffer cut into messages (RFC 4271 §4.1 framing, maximum length per RFC 8654 negotiation).
// Knows nothing of the FSM: the owner gets whole messages, header errors and the close.
#ifndef STROBE_CONTROLPLANE_BGPD_CONNECTION_H_
#define STROBE_CONTROLPLANE_BGPD_CONNECTION_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "controlplane/bgp/types.h"
#include "controlplane/bgpd/event_loop.h"
#include "src/net/ip_address.h"

namespace strobe::bgpd {

class Connection {
 public:
  struct Callbacks {
    std::function<void()> connected;                                // outgoing: handshake done
    std::function<void(std::span<const uint8_t> message)> message;  // one whole message
    std::function<void(const bgp::BgpError& error)> header_error;   // framing is lost
    std::function<void(const std::string& why)> closed;             // EOF, reset, connect failure
  };

  // Takes `fd` (non-blocking). `connecting`: an outgoing connect() in progress.
  Connection(EventLoop* loop, int fd, bool outgoing, bool connecting, Callbacks callbacks);
  // Closes at once (no linger); use CloseGracefully() to flush a NOTIFICATION first.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Send(std::span<const uint8_t> bytes);
  // Hands the socket to a lingering closer: queued bytes are flushed, the write side shut down,
  // and input drained until the peer closes (at most a few seconds), so a NOTIFICATION is not
  // lost to an RST. No callback runs afterwards.
  void CloseGracefully();

  void set_max_message_length(size_t length) { max_length_ = length; }
  bool outgoing() const { return outgoing_; }
  bool connecting() const { return connecting_; }
  bool open() const { return fd_ >= 0; }
  const net::IpAddress& local_address() const { return local_; }
  const net::IpAddress& remote_address() const { return remote_; }
  uint16_t local_port() const { return local_port_; }
  uint16_t remote_port() const { return remote_port_; }
  size_t queued_bytes() const { return out_.size() - out_offset_; }

  // Closers still flushing: the daemon waits for them before exiting.
  static int lingering();

 private:
  void OnEvents(uint32_t events);
  void OnConnected();
  void ReadAll();
  void Flush();
  void Fail(const std::string& why);
  void UpdateInterest();
  void Detach();  // stops watching; fd_ stays open

  EventLoop* loop_;
  int fd_;
  bool outgoing_;
  bool connecting_;
  Callbacks callbacks_;
  size_t max_length_ = bgp::kMaxMessageLength;
  std::vector<uint8_t> in_;
  std::vector<uint8_t> out_;
  size_t out_offset_ = 0;
  bool want_write_ = false;
  bool dead_ = false;  // a callback closed us: stop delivering
  net::IpAddress local_;
  net::IpAddress remote_;
  uint16_t local_port_ = 0;
  uint16_t remote_port_ = 0;
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_CONNECTION_H_
