// One BGP neighbor: its configuration, its connections each driven by a bgp::Fsm (two during a
// connection collision, RFC 4271 §6.8), the negotiated capabilities, its Adj-RIB-In (with the
// graceful-restart helper's stale marks) and Adj-RIB-Out, its BFD session state and counters.
//
// The FSM is pure logic; Peer performs its actions in the order fsm.h prescribes and arms one
// loop timer per connection at the FSM's earliest deadline. Runs on the event loop thread.
#ifndef STROBE_CONTROLPLANE_BGPD_PEER_H_
#define STROBE_CONTROLPLANE_BGPD_PEER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "controlplane/bgp/fsm.h"
#include "controlplane/bgp/message.h"
#include "controlplane/bgp/policy.h"
#include "controlplane/bgp/rib.h"
#include "controlplane/bgpd/adj_rib_out.h"
#include "controlplane/bgpd/config_diff.h"
#include "controlplane/bgpd/connection.h"
#include "controlplane/bgpd/event_loop.h"
#include "controlplane/bgpd/negotiation.h"
#include "src/config/bgp_config.h"
#include "src/config/config.h"
#include "src/ipc/bfd_client.h"

namespace strobe::bgpd {

class Speaker;

// Everything a Peer needs from the configuration, for a [[bgp.neighbor]] or a neighbor created
// from a [[bgp.listen_range]].
struct PeerConfig {
  config::BgpPeerTemplate settings;
  net::IpAddress address;
  uint32_t remote_as = 0;  // 0: any AS in [remote_as_min, remote_as_max] (dynamic neighbors)
  uint32_t remote_as_min = 0;
  uint32_t remote_as_max = 0;
  net::IpAddress local_address;  // empty: chosen by the kernel
  std::string description;
  bool dynamic = false;
  std::string listen_range;  // the range a dynamic neighbor came from
  bgp::PolicyChain import_policy;
  bgp::PolicyChain export_policy;
  std::optional<config::BfdProfile> bfd;  // set when the neighbor uses BFD
};

struct MessageCounters {
  uint64_t opens = 0;
  uint64_t updates = 0;
  uint64_t notifications = 0;
  uint64_t keepalives = 0;
  uint64_t route_refreshes = 0;
  uint64_t total() const { return opens + updates + notifications + keepalives + route_refreshes; }
};

class Peer {
 public:
  Peer(Speaker* speaker, PeerConfig config);
  ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  // ManualStart (with passive TCP establishment for passive and dynamic neighbors).
  void Start();
  // ManualStop with Cease/`subcode` (and an RFC 8203 message when not empty) on every connection.
  void Stop(uint8_t cease_subcode, const std::string& message);
  // A configuration reload removed this neighbor (or changed a setting of its session): ManualStop
  // with Cease/`cease_subcode`, and its paths leave the Loc-RIB, also those a graceful restart
  // was keeping. The speaker deletes it afterwards.
  void Deconfigure(uint8_t cease_subcode);
  // Withdraws every path of this neighbor (stale ones too) and gives up its RIB source: the
  // neighbor is about to be deleted.
  void ReleaseRib();
  // A configuration reload changed only settings a running session can take (`change` without
  // `session`): the import and export chains, next_hop_self, the BFD profile, the description,
  // from `config`. Exports are re-evaluated (only differences are sent), the routes imported
  // again with a ROUTE-REFRESH, the BFD session's timers changed in place. False, and nothing
  // changed, when the neighbor is Established and cannot refresh while its import changed.
  bool Reconfigure(const PeerConfig& config, const PeerChange& change);
  // `clear bgp neighbor`: hard reset (Cease/Administrative Reset, then start again).
  void Reset();
  // `clear bgp neighbor ... soft in`: ROUTE-REFRESH for every family. False when not possible.
  bool SoftIn();
  // `clear bgp neighbor ... soft out`: send the whole Adj-RIB-Out again.
  bool SoftOut();

  // A connection accepted from this neighbor's address (the socket is ours now).
  void Accept(int fd);
  // A state change of this neighbor's BFD session.
  void OnBfdEvent(const ipc::BfdPeerEvent& event);

  // Export: what to advertise for `prefix` (null: nothing); sent by FlushUpdates().
  void SetExport(const bgp::RibPrefix& prefix, bgp::AttributesRef attributes);
  void FlushUpdates();

  // ---- state for the speaker and `show` ----
  const PeerConfig& config() const { return config_; }
  const net::IpAddress& address() const { return config_.address; }
  bgp::FsmState state() const;
  // "active" for a passive or dynamic neighbor waiting for a connection (FRR's wording).
  const char* StateName() const;
  bool established() const { return state() == bgp::FsmState::kEstablished; }
  uint32_t remote_as() const { return remote_as_; }
  bool ebgp() const;
  uint32_t remote_router_id() const { return remote_router_id_; }
  const net::IpAddress& local_address() const { return local_address_; }
  uint16_t local_port() const { return local_port_; }
  uint16_t remote_port() const { return remote_port_; }
  const std::optional<net::IpAddress>& self_v4() const { return self_v4_; }
  const std::optional<net::IpAddress>& self_v6() const { return self_v6_; }
  const Negotiated& negotiated() const { return negotiated_; }
  // What this neighbor has in the RIB: received, accepted, paths, stale.
  const bgp::SourceStats& rib_stats() const;
  const AdjRibOut& adj_rib_out() const { return adj_out_; }
  int64_t established_since_ns() const { return established_since_ns_; }
  int64_t down_since_ns() const { return down_since_ns_; }
  uint64_t established_transitions() const { return established_transitions_; }
  const std::optional<bgp::Notification>& last_notification_sent() const { return last_sent_; }
  const std::optional<bgp::Notification>& last_notification_received() const {
    return last_received_;
  }
  const std::string& last_reset_reason() const { return last_reset_reason_; }
  const MessageCounters& messages_in() const { return in_; }
  const MessageCounters& messages_out() const { return out_; }
  uint16_t negotiated_hold_time_s() const;
  bool uses_bfd() const { return config_.bfd.has_value(); }
  std::optional<bfd::State> bfd_state() const { return bfd_state_; }
  const std::optional<ipc::SessionKey>& bfd_key() const { return bfd_key_; }
  // BFD Down handling, for `show`: when the dataplane declared Down (its clock) and how long the
  // withdrawal took from there until the FIB sink had been told.
  int64_t last_bfd_down_ns() const { return last_bfd_down_ns_; }
  int64_t last_bfd_withdraw_latency_ns() const { return last_bfd_withdraw_latency_ns_; }
  bool graceful_restart_active() const { return gr_timer_.armed(); }
  // The next hops of this neighbor's Loc-RIB candidate paths, each with its number of paths
  // (what dies with the session: the FIB's prefix-independent failover).
  const absl::flat_hash_map<net::IpAddress, uint32_t>& next_hops() const;
  // Established, and End-of-RIB received for every negotiated family (RFC 4724 §2).
  bool sent_all_routes() const;
  bool max_prefix_warned() const { return max_prefix_warned_; }
  // A dynamic neighbor whose session ended: the speaker deletes it.
  bool finished() const { return finished_; }

 private:
  struct Session;

  Session* NewSession(bool primary);
  void Feed(Session* s, bgp::FsmEvent event, const bgp::FsmEventArgs& args = {});
  void Perform(Session* s, const bgp::FsmActions& actions);
  void ArmTimer(Session* s);
  void OnTimer(Session* s);
  void Connect(Session* s);
  void Attach(Session* s, std::unique_ptr<Connection> connection);
  std::unique_ptr<Connection> MakeConnection(Session* s, int fd, bool outgoing, bool connecting);
  void DropConnection(Session* s);
  void Discard(Session* s);  // a secondary session that lost or failed
  void Promote();            // the secondary becomes the primary
  Session* Other(Session* s) const;

  void Send(Session* s, const std::vector<uint8_t>& bytes, bgp::MessageType type);
  void SendOpen(Session* s);
  void SendNotification(Session* s, const bgp::NotificationCode& code);

  void OnMessage(Session* s, std::span<const uint8_t> bytes);
  void OnOpen(Session* s, const bgp::Open& open);
  void OnUpdate(Session* s, const bgp::UpdateDecodeResult& result);
  void OnRouteRefresh(Session* s, const bgp::RouteRefresh& rr);
  void OnEstablished(Session* s);
  void OnSessionDown(Session* s);

  // Adj-RIB-In -> Loc-RIB.
  // Calls visit(rib_prefix, wire_prefix) for each prefix the RIB can key, prefetching ahead.
  template <typename Visit>
  void ForEachPrefix(const std::vector<bgp::Prefix>& prefixes, Visit visit) const;
  void Announce(const bgp::RibPrefix& prefix, uint32_t path_id,
                const bgp::RouteAttributes& attributes, const bgp::AttributesRef& shared,
                std::vector<bgp::RibChange>* changes);
  void SweepStale(std::optional<bgp::AfiSafi> family, const char* why);
  void OnEndOfRib(const bgp::AfiSafi& family);
  void CheckMaxPrefixes();
  void ResendFamily(Session* s, bgp::AfiSafi family);

  void RegisterBfd(const net::IpAddress& local);
  ipc::BfdPeerRequest BfdRequest(const ipc::SessionKey& key) const;
  // The registered BFD session takes the timers and authentication of config_.bfd.
  void UpdateBfd();
  bool AcceptsSession() const;

  Speaker* speaker_;
  EventLoop* loop_;
  PeerConfig config_;
  bgp::Capabilities our_capabilities_;
  std::unique_ptr<Session> main_;
  std::unique_ptr<Session> other_;  // an incoming connection racing main_ (collision)
  uint64_t next_session_id_ = 1;
  bgp::FsmEvent current_event_ = bgp::FsmEvent::kManualStart;

  uint32_t remote_as_ = 0;
  uint32_t remote_router_id_ = 0;
  net::IpAddress local_address_;
  uint16_t local_port_ = 0;
  uint16_t remote_port_ = 0;
  std::optional<net::IpAddress> self_v4_;
  std::optional<net::IpAddress> self_v6_;
  Negotiated negotiated_;
  bgp::SourceId source_;  // this neighbor's paths in the speaker's RIB
  AdjRibOut adj_out_;
  bool flush_pending_ = false;
  std::vector<bgp::AfiSafi> end_of_rib_;  // families this session sent End-of-RIB for
  int64_t failure_event_ns_ = 0;  // when the failure closing the session was learnt (BFD Down)

  int64_t established_since_ns_ = 0;
  int64_t down_since_ns_ = 0;
  uint64_t established_transitions_ = 0;
  std::optional<bgp::Notification> last_sent_;
  std::optional<bgp::Notification> last_received_;
  std::string last_reset_reason_;
  MessageCounters in_;
  MessageCounters out_;
  bool max_prefix_warned_ = false;
  bool finished_ = false;
  bool had_connection_ = false;

  // Graceful restart helper (RFC 4724 §4.2): the restart timer while the peer is away, then the
  // stale-path timer until its End-of-RIB.
  Timer gr_timer_;

  std::optional<ipc::SessionKey> bfd_key_;
  std::optional<bfd::State> bfd_state_;
  bool bfd_was_up_ = false;  // Up since the last failure we acted on
  int64_t last_bfd_down_ns_ = 0;
  int64_t last_bfd_withdraw_latency_ns_ = 0;
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_PEER_H_
