#include "controlplane/bgpd/peer.h"

#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <variant>

#include "controlplane/bgp/notification.h"
#include "controlplane/bgpd/collision.h"
#include "controlplane/bgpd/peer_session.h"
#include "controlplane/bgpd/speaker.h"
#include "controlplane/bgpd/tcp_socket.h"
#include "src/common/logging.h"

namespace strobe::bgpd {

using bgp::FsmEvent;
using bgp::FsmState;

namespace {

constexpr int64_t kNs = bgp::kNanosPerSecond;
// RFC 4724 §4.2: how long stale paths may wait for End-of-RIB after the session is back (FRR's
// default stale-path time).
constexpr int64_t kStalePathTimeNs = 360 * kNs;

bgp::FsmConfig MakeFsmConfig(const PeerConfig& c, const SpeakerOptions& o) {
  bgp::FsmConfig f;
  f.hold_time_s = c.settings.hold_time_s;
  f.connect_retry_time_ns = std::max<int64_t>(1, c.settings.connect_retry_s) * kNs;
  f.delay_open = c.settings.delay_open_s > 0;
  f.delay_open_time_ns = int64_t{c.settings.delay_open_s} * kNs;
  f.passive = c.settings.passive || c.dynamic;
  f.idle_hold_time_ns = o.idle_hold_ns;
  f.idle_hold_max_ns = std::max(o.idle_hold_max_ns, o.idle_hold_ns);
  f.automatic_restart = !c.dynamic;  // a dynamic neighbor is deleted when its session ends
  f.wait_for_bfd_up = c.settings.wait_for_bfd_up && c.bfd.has_value();
  return f;
}

}  // namespace

Peer::Peer(Speaker* speaker, PeerConfig config)
    : speaker_(speaker),
      loop_(speaker->loop()),
      config_(std::move(config)),
      our_capabilities_(OurCapabilities(config_.settings, speaker->local_as())),
      gr_timer_(speaker->loop(), [this] { SweepStale(std::nullopt, "graceful restart timer"); }) {
  remote_as_ = config_.remote_as;
  source_ = speaker_->rib().AddSource(config_.address);
}

Peer::~Peer() = default;

const bgp::SourceStats& Peer::rib_stats() const { return speaker_->rib().stats(source_); }

const absl::flat_hash_map<net::IpAddress, uint32_t>& Peer::next_hops() const {
  return speaker_->rib().next_hops(source_);
}

bool Peer::ebgp() const {
  if (remote_as_ != 0) return remote_as_ != speaker_->local_as();
  // A dynamic neighbor before its OPEN: eBGP unless the range can only hold our own AS.
  return !(config_.remote_as_min == speaker_->local_as() &&
           config_.remote_as_max == speaker_->local_as());
}

FsmState Peer::state() const { return main_ ? main_->fsm.state() : FsmState::kIdle; }

const char* Peer::StateName() const {
  const FsmState s = state();
  if (s == FsmState::kConnect && (config_.settings.passive || config_.dynamic) &&
      main_->connection == nullptr) {
    return "active";
  }
  return bgp::FsmStateName(s);
}

uint16_t Peer::negotiated_hold_time_s() const {
  return main_ ? main_->fsm.negotiated_hold_time_s() : 0;
}

Peer::Session* Peer::Other(Session* s) const {
  if (s == main_.get()) return other_.get();
  if (s == other_.get()) return main_.get();
  return nullptr;
}

Peer::Session* Peer::NewSession(bool primary) {
  auto session = std::make_unique<Session>(this, MakeFsmConfig(config_, speaker_->options()),
                                           next_session_id_++);
  Session* s = session.get();
  (primary ? main_ : other_) = std::move(session);
  // A new FSM believes BFD is down; tell it the truth (wait_for_bfd_up depends on it).
  if (bfd_state_ == bfd::State::kUp) s->fsm.Handle(FsmEvent::kBfdUp, loop_->now_ns());
  return s;
}

// ---- starting and stopping ----

void Peer::Start() {
  if (!main_) NewSession(true);
  if (uses_bfd() && !config_.dynamic && !bfd_key_) {
    std::optional<net::IpAddress> local = config_.local_address;
    if (local->empty()) local = SourceAddressFor(config_.address);
    if (local) RegisterBfd(*local);
  }
  const bool passive = config_.settings.passive || config_.dynamic;
  Feed(main_.get(),
       passive ? FsmEvent::kManualStartWithPassiveTcpEstablishment : FsmEvent::kManualStart);
}

void Peer::Stop(uint8_t cease_subcode, const std::string& message) {
  bgp::FsmEventArgs args;
  args.error = {bgp::kErrCease, cease_subcode};
  if (other_) Feed(other_.get(), FsmEvent::kManualStop, args);
  if (!main_) return;
  if (!message.empty()) {
    main_->notification_data = bgp::MakeShutdownNotification(cease_subcode, message).data;
  }
  last_reset_reason_ = bgp::NotificationName(bgp::kErrCease, cease_subcode);
  Feed(main_.get(), FsmEvent::kManualStop, args);
}

void Peer::Deconfigure(uint8_t cease_subcode) {
  Stop(cease_subcode, "");
  ReleaseRib();
}

void Peer::ReleaseRib() {
  // A session already down may have left paths kept for a graceful restart: they go too (for a
  // session that was Established, OnSessionDown has withdrawn everything and this finds nothing).
  gr_timer_.Cancel();
  speaker_->NextHopsDown(*this, loop_->now_ns());
  speaker_->ApplyRibChanges(speaker_->rib().RemoveSource(source_));
}

bool Peer::Reconfigure(const PeerConfig& config, const PeerChange& change) {
  if (change.session) return false;
  const bool refresh = change.import_policy && established();
  if (refresh && !negotiated_.route_refresh) return false;
  config_.settings = config.settings;
  config_.import_policy = config.import_policy;
  config_.export_policy = config.export_policy;
  config_.bfd = config.bfd;
  config_.description = config.description;
  if (change.bfd) UpdateBfd();
  if (!established()) return true;
  if (change.export_rules) {
    speaker_->FillAdjRibOut(this);
    FlushUpdates();
  }
  if (refresh) SoftIn();
  return true;
}

void Peer::Reset() {
  Stop(bgp::kCeaseAdministrativeReset, "");
  if (!config_.dynamic) Start();
}

bool Peer::SoftIn() {
  if (!established() || !negotiated_.route_refresh) return false;
  for (const bgp::AfiSafi& f : negotiated_.families) {
    Send(main_.get(), bgp::EncodeRouteRefresh({f, 0}), bgp::MessageType::kRouteRefresh);
  }
  return true;
}

bool Peer::SoftOut() {
  if (!established()) return false;
  for (const bgp::AfiSafi& f : negotiated_.families) ResendFamily(main_.get(), f);
  return true;
}

// ---- FSM driving ----

void Peer::Feed(Session* s, FsmEvent event, const bgp::FsmEventArgs& args) {
  if (s == nullptr || s->discarded) return;
  current_event_ = event;
  const bgp::FsmActions actions = s->fsm.Handle(event, loop_->now_ns(), args);
  Perform(s, actions);
}

void Peer::Perform(Session* s, const bgp::FsmActions& a) {
  if (a.from != a.to) {
    PEER_LOG(s == main_.get() ? LogLevel::kInfo : LogLevel::kDebug, "neighbor %s%s: %s -> %s (%s)",
             config_.address.ToString(), s == main_.get() ? "" : " (second connection)",
             bgp::FsmStateName(a.from), bgp::FsmStateName(a.to), bgp::FsmEventName(current_event_));
  }
  if (a.send_notification) SendNotification(s, *a.send_notification);
  if (a.send_open) SendOpen(s);
  if (a.send_keepalive) Send(s, bgp::EncodeKeepalive(), bgp::MessageType::kKeepalive);
  if (a.drop_tcp_connection) DropConnection(s);
  if (a.withdraw_routes || a.session_down) OnSessionDown(s);
  if (a.session_established) OnEstablished(s);
  if (a.initiate_tcp_connection) Connect(s);
  ArmTimer(s);
  if (s == other_.get()) {
    if (a.to == FsmState::kIdle && a.from != FsmState::kIdle) Discard(s);
    return;
  }
  if (s != main_.get() || a.from == a.to) return;
  // A dynamic neighbor lives as long as its connection: a failure that leaves the FSM waiting
  // in Active ends it too.
  const bool ended = a.to == FsmState::kIdle ||
                     (config_.dynamic && had_connection_ && main_->connection == nullptr);
  if (!ended) return;
  if (other_ && other_->fsm.state() != FsmState::kIdle) {
    if (a.to == FsmState::kIdle) Promote();
  } else if (config_.dynamic && !finished_) {
    finished_ = true;
    speaker_->PeerFinished(this);
  }
}

void Peer::ArmTimer(Session* s) {
  if (s->discarded) return;
  const int64_t deadline = s->fsm.timers().Earliest();
  if (deadline == bgp::kNever) {
    s->timer.Cancel();
  } else if (!s->timer.armed() || s->timer.deadline_ns() != deadline) {
    s->timer.ArmAt(deadline);
  }
}

void Peer::OnTimer(Session* s) {
  if (s->discarded) return;
  const bgp::FsmTimers& t = s->fsm.timers();
  const int64_t now = loop_->now_ns();
  // The event PollTimers will deliver, for logs.
  const std::pair<int64_t, FsmEvent> order[] = {
      {t.idle_hold, FsmEvent::kIdleHoldTimerExpires},
      {t.hold, FsmEvent::kHoldTimerExpires},
      {t.delay_open, FsmEvent::kDelayOpenTimerExpires},
      {t.connect_retry, FsmEvent::kConnectRetryTimerExpires},
      {t.keepalive, FsmEvent::kKeepaliveTimerExpires}};
  int64_t best = bgp::kNever;
  for (const auto& [deadline, event] : order) {
    if (deadline <= now && deadline < best) {
      best = deadline;
      current_event_ = event;
    }
  }
  std::optional<bgp::FsmActions> actions = s->fsm.PollTimers(now);
  if (actions) {
    Perform(s, *actions);
  } else {
    ArmTimer(s);
  }
}

// ---- connections ----

std::unique_ptr<Connection> Peer::MakeConnection(Session* s, int fd, bool outgoing,
                                                 bool connecting) {
  Connection::Callbacks cb;
  cb.connected = [this, s] {
    had_connection_ = true;
    Feed(s, FsmEvent::kTcpCrAcked);
  };
  cb.message = [this, s](std::span<const uint8_t> bytes) { OnMessage(s, bytes); };
  cb.header_error = [this, s](const bgp::BgpError& e) {
    s->notification_data = e.data;
    bgp::FsmEventArgs args;
    args.error = {e.code, e.subcode};
    STROBE_LOG(kWarning, "neighbor %s: bad message header: %s", config_.address.ToString(),
               bgp::NotificationName(e.code, e.subcode));
    Feed(s, FsmEvent::kBgpHeaderErr, args);
  };
  cb.closed = [this, s](const std::string& why) {
    if (s->connection) loop_->DeleteSoon(std::move(s->connection));
    if (s == main_.get() && s->fsm.state() != FsmState::kConnect) last_reset_reason_ = why;
    PEER_LOG(s->fsm.state() == FsmState::kEstablished ? LogLevel::kWarning : LogLevel::kDebug,
             "neighbor %s: %s", config_.address.ToString(), why);
    Feed(s, FsmEvent::kTcpConnectionFails);
  };
  return std::make_unique<Connection>(loop_, fd, outgoing, connecting, std::move(cb));
}

void Peer::Attach(Session* s, std::unique_ptr<Connection> connection) {
  DropConnection(s);
  s->outgoing = connection->outgoing();
  s->connection = std::move(connection);
  if (!s->connection->connecting()) had_connection_ = true;
}

void Peer::DropConnection(Session* s) {
  if (!s->connection) return;
  s->connection->CloseGracefully();
  loop_->DeleteSoon(std::move(s->connection));
}

void Peer::Connect(Session* s) {
  // Passive and dynamic neighbors never connect: the FSM waits in Connect for the peer.
  if (config_.settings.passive || config_.dynamic) return;
  DropConnection(s);
  const TtlPolicy ttl =
      MakeTtlPolicy(ebgp(), config_.settings.multihop_ttl, config_.settings.ttl_security);
  absl::StatusOr<int> fd = StartConnect(config_.address, speaker_->options().connect_port,
                                        config_.local_address, ttl, config_.settings.md5_password);
  if (!fd.ok()) {
    STROBE_LOG(kDebug, "neighbor %s: %s", config_.address.ToString(),
               std::string(fd.status().message()));
    const uint64_t id = s->id;
    loop_->Defer([this, s, id] {
      if (main_.get() == s && s->id == id) Feed(s, FsmEvent::kTcpConnectionFails);
    });
    return;
  }
  STROBE_LOG(kDebug, "neighbor %s: connecting (port %d)", config_.address.ToString(),
             speaker_->options().connect_port);
  Attach(s, MakeConnection(s, *fd, /*outgoing=*/true, /*connecting=*/true));
}

void Peer::Accept(int fd) {
  const TtlPolicy ttl =
      MakeTtlPolicy(ebgp(), config_.settings.multihop_ttl, config_.settings.ttl_security);
  const net::IpAddress local = LocalAddressOf(fd);
  ApplyTtl(fd, local.af(), ttl).IgnoreError();
  SetNoDelay(fd).IgnoreError();
  if (uses_bfd() && !bfd_key_ && !local.empty()) RegisterBfd(local);
  const FsmState st = state();
  const bool main_free = main_ && (main_->connection == nullptr || main_->connection->connecting());
  if (!main_ || st == FsmState::kIdle) {
    STROBE_LOG(kInfo, "neighbor %s: connection refused (idle)", config_.address.ToString());
    close(fd);
    return;
  }
  if ((st == FsmState::kConnect || st == FsmState::kActive) && main_free) {
    Attach(main_.get(), MakeConnection(main_.get(), fd, /*outgoing=*/false, /*connecting=*/false));
    Feed(main_.get(), FsmEvent::kTcpConnectionConfirmed);
    return;
  }
  if (st == FsmState::kEstablished || other_) {
    // RFC 4271 §6.8: a collision with an Established session closes the new connection.
    STROBE_LOG(kInfo, "neighbor %s: second connection closed (collision, %s)",
               config_.address.ToString(), bgp::FsmStateName(st));
    auto rejected = std::make_unique<Connection>(
        loop_, fd, false, false,
        Connection::Callbacks{nullptr, [](std::span<const uint8_t>) {}, nullptr, nullptr});
    rejected->Send(bgp::EncodeNotification({bgp::kErrCease, bgp::kCeaseConnectionCollision, {}}));
    rejected->CloseGracefully();
    loop_->DeleteSoon(std::move(rejected));
    return;
  }
  Session* s = NewSession(/*primary=*/false);
  Feed(s, FsmEvent::kManualStartWithPassiveTcpEstablishment);
  Attach(s, MakeConnection(s, fd, /*outgoing=*/false, /*connecting=*/false));
  Feed(s, FsmEvent::kTcpConnectionConfirmed);
}

void Peer::Discard(Session* s) {
  if (s != other_.get()) return;
  s->discarded = true;
  s->timer.Cancel();
  DropConnection(s);
  loop_->DeleteSoon(std::move(other_));
  if (config_.dynamic && !finished_ && main_ && main_->connection == nullptr) {
    finished_ = true;  // both connections are gone
    speaker_->PeerFinished(this);
  }
}

void Peer::Promote() {
  std::unique_ptr<Session> old = std::move(main_);
  old->discarded = true;
  old->timer.Cancel();
  DropConnection(old.get());
  loop_->DeleteSoon(std::move(old));
  main_ = std::move(other_);
  STROBE_LOG(kDebug, "neighbor %s: the second connection carries on", config_.address.ToString());
}

// ---- sending ----

void Peer::Send(Session* s, const std::vector<uint8_t>& bytes, bgp::MessageType type) {
  if (!s->connection || s->connection->connecting() || bytes.empty()) return;
  s->connection->Send(bytes);
  switch (type) {
    case bgp::MessageType::kOpen:
      ++out_.opens;
      break;
    case bgp::MessageType::kUpdate:
      ++out_.updates;
      break;
    case bgp::MessageType::kNotification:
      ++out_.notifications;
      break;
    case bgp::MessageType::kKeepalive:
      ++out_.keepalives;
      break;
    case bgp::MessageType::kRouteRefresh:
      ++out_.route_refreshes;
      break;
  }
}

void Peer::SendOpen(Session* s) {
  const bgp::Open open = bgp::MakeOpen(speaker_->local_as(), config_.settings.hold_time_s,
                                       speaker_->router_id(), our_capabilities_);
  absl::StatusOr<std::vector<uint8_t>> bytes = bgp::EncodeOpen(open);
  if (!bytes.ok()) {
    STROBE_LOG(kError, "neighbor %s: cannot encode OPEN: %s", config_.address.ToString(),
               std::string(bytes.status().message()));
    return;
  }
  Send(s, *bytes, bgp::MessageType::kOpen);
}

void Peer::SendNotification(Session* s, const bgp::NotificationCode& code) {
  bgp::Notification n{code.code, code.subcode, std::move(s->notification_data)};
  s->notification_data.clear();
  if (s == main_.get()) {
    last_sent_ = n;
    last_reset_reason_ = bgp::NotificationName(n.code, n.subcode) + " sent";
  }
  STROBE_LOG(kInfo, "neighbor %s: sending NOTIFICATION %s", config_.address.ToString(),
             bgp::NotificationName(n.code, n.subcode));
  const size_t max = s->peer_open ? s->negotiated.encode.max_length : bgp::kMaxMessageLength;
  Send(s, bgp::EncodeNotification(n, max), bgp::MessageType::kNotification);
}

// ---- receiving ----

void Peer::OnMessage(Session* s, std::span<const uint8_t> bytes) {
  if (s->discarded) return;
  const bgp::DecodeOptions& options = s->peer_open ? s->negotiated.decode : bgp::DecodeOptions{};
  auto decoded = bgp::DecodeMessage(bytes, options);
  if (auto* e = std::get_if<bgp::BgpError>(&decoded)) {
    s->notification_data = e->data;
    bgp::FsmEventArgs args;
    args.error = {e->code, e->subcode};
    STROBE_LOG(kWarning, "neighbor %s: malformed message: %s", config_.address.ToString(),
               bgp::NotificationName(e->code, e->subcode));
    FsmEvent event = FsmEvent::kUpdateMsgErr;
    if (e->code == bgp::kErrMessageHeader) event = FsmEvent::kBgpHeaderErr;
    if (e->code == bgp::kErrOpenMessage) event = FsmEvent::kBgpOpenMsgErr;
    if (bytes.size() > 18 && bytes[18] == 2) ++in_.updates;
    Feed(s, event, args);
    return;
  }
  bgp::MessageBody& body = std::get<bgp::MessageBody>(decoded);
  if (auto* open = std::get_if<bgp::Open>(&body)) {
    ++in_.opens;
    OnOpen(s, *open);
  } else if (auto* update = std::get_if<bgp::UpdateDecodeResult>(&body)) {
    ++in_.updates;
    const bool established = s->fsm.state() == FsmState::kEstablished;
    Feed(s, FsmEvent::kUpdateMsg);
    if (established && !s->discarded && s == main_.get()) OnUpdate(s, *update);
  } else if (auto* n = std::get_if<bgp::Notification>(&body)) {
    ++in_.notifications;
    if (s == main_.get()) {
      last_received_ = *n;
      last_reset_reason_ = bgp::NotificationName(n->code, n->subcode) + " received";
    }
    std::optional<std::string> text = bgp::ShutdownCommunication(*n);
    STROBE_LOG(kInfo, "neighbor %s: NOTIFICATION received: %s%s", config_.address.ToString(),
               bgp::NotificationName(n->code, n->subcode), text ? " \"" + *text + "\"" : "");
    bgp::FsmEventArgs args;
    args.error = {n->code, n->subcode};
    const bool version =
        n->code == bgp::kErrOpenMessage && n->subcode == bgp::kSubUnsupportedVersionNumber;
    Feed(s, version ? FsmEvent::kNotifMsgVerErr : FsmEvent::kNotifMsg, args);
  } else if (std::holds_alternative<bgp::Keepalive>(body)) {
    ++in_.keepalives;
    Feed(s, FsmEvent::kKeepAliveMsg);
  } else if (auto* rr = std::get_if<bgp::RouteRefresh>(&body)) {
    ++in_.route_refreshes;
    if (s->fsm.state() == FsmState::kEstablished && s == main_.get()) OnRouteRefresh(s, *rr);
  }
}

void Peer::OnOpen(Session* s, const bgp::Open& open) {
  bgp::OpenPolicy policy;
  policy.local_as = speaker_->local_as();
  policy.local_identifier = speaker_->router_id();
  if (config_.remote_as != 0) {
    policy.peer_as = config_.remote_as;
  } else {
    policy.peer_as_min = config_.remote_as_min;
    policy.peer_as_max = config_.remote_as_max;
  }
  if (std::optional<bgp::BgpError> error = bgp::ValidateOpen(open, policy)) {
    STROBE_LOG(kWarning, "neighbor %s: OPEN refused: %s (AS %d, identifier %08x)",
               config_.address.ToString(), bgp::NotificationName(error->code, error->subcode),
               open.PeerAs(), open.bgp_identifier);
    s->notification_data = error->data;
    bgp::FsmEventArgs args;
    args.error = {error->code, error->subcode};
    Feed(s, FsmEvent::kBgpOpenMsgErr, args);
    return;
  }
  Session* other = Other(s);
  CollisionInput in;
  in.this_outgoing = s->outgoing;
  if (other != nullptr) {
    in.other_state = other->fsm.state();
    in.other_outgoing = other->outgoing;
  }
  in.local_id = speaker_->router_id();
  in.remote_id = open.bgp_identifier;
  in.local_as = speaker_->local_as();
  in.remote_as = open.PeerAs();
  switch (ResolveCollision(in)) {
    case CollisionOutcome::kDumpThis:
      STROBE_LOG(kInfo, "neighbor %s: connection collision, closing the %s connection",
                 config_.address.ToString(), s->outgoing ? "outgoing" : "incoming");
      Feed(s, FsmEvent::kOpenCollisionDump);
      return;
    case CollisionOutcome::kDumpOther:
      STROBE_LOG(kInfo, "neighbor %s: connection collision, closing the %s connection",
                 config_.address.ToString(), other->outgoing ? "outgoing" : "incoming");
      Feed(other, FsmEvent::kOpenCollisionDump);
      break;
    case CollisionOutcome::kNone:
      break;
  }
  s->peer_open = open;
  s->negotiated = Negotiate(our_capabilities_, open.capabilities);
  if (s->connection) s->connection->set_max_message_length(s->negotiated.decode.max_length);
  bgp::FsmEventArgs args;
  args.peer_hold_time_s = open.hold_time;
  Feed(s, FsmEvent::kBgpOpen, args);
}

void Peer::OnEstablished(Session* s) {
  if (s != main_.get()) Feed(main_.get(), FsmEvent::kOpenCollisionDump);  // promotes s
  if (other_ && other_.get() != s) Feed(other_.get(), FsmEvent::kOpenCollisionDump);
  const bgp::Open& open = *s->peer_open;
  negotiated_ = s->negotiated;
  remote_as_ = open.PeerAs();
  remote_router_id_ = open.bgp_identifier;
  speaker_->rib().SetSourceSession(source_, remote_router_id_, remote_as_, ebgp());
  if (s->connection) {
    local_address_ = s->connection->local_address();
    local_port_ = s->connection->local_port();
    remote_port_ = s->connection->remote_port();
  }
  self_v4_.reset();
  self_v6_.reset();
  const std::string ifname = InterfaceOf(local_address_);
  if (local_address_.is_v4()) {
    self_v4_ = local_address_;
    if (!ifname.empty()) self_v6_ = GlobalAddressOn(ifname, AF_INET6);
  } else if (local_address_.is_v6()) {
    self_v6_ = local_address_;
    if (!ifname.empty()) self_v4_ = GlobalAddressOn(ifname, AF_INET);
  }
  const int64_t now = loop_->now_ns();
  established_since_ns_ = now;
  ++established_transitions_;
  max_prefix_warned_ = false;
  STROBE_LOG(kInfo, "neighbor %s: established, AS %d, %s", config_.address.ToString(), remote_as_,
             ebgp() ? "eBGP" : "iBGP");

  // Graceful restart helper: the peer came back. Paths of families it did not preserve go now;
  // the others wait for its End-of-RIB (at most the stale-path time).
  if (rib_stats().stale > 0) {
    gr_timer_.Cancel();
    const auto& gr = open.capabilities.graceful_restart;
    for (const bgp::AfiSafi family : {bgp::kIpv4Unicast, bgp::kIpv6Unicast}) {
      bool preserved = false;
      if (gr && negotiated_.Has(family)) {
        for (const auto& f : gr->families) {
          preserved = preserved || (f.afi_safi == family && f.forwarding_preserved);
        }
      }
      if (!preserved) SweepStale(family, "not preserved across the restart");
    }
    if (rib_stats().stale > 0) gr_timer_.ArmAt(now + kStalePathTimeNs);
  }
  if (uses_bfd() && !local_address_.empty()) RegisterBfd(local_address_);

  speaker_->FillAdjRibOut(this);
  FlushUpdates();
  for (const bgp::AfiSafi& f : negotiated_.families) {
    Send(main_.get(), EndOfRib(f, negotiated_.encode), bgp::MessageType::kUpdate);
  }
}

void Peer::OnSessionDown(Session* s) {
  (void)s;
  const int64_t now = loop_->now_ns();
  down_since_ns_ = now;
  const auto& gr = negotiated_.peer_graceful_restart;
  const bool graceful = current_event_ == FsmEvent::kTcpConnectionFails && gr.has_value() &&
                        config_.settings.graceful_restart && gr->restart_time > 0 &&
                        rib_stats().received > 0;
  std::vector<bgp::RibChange> changes;
  if (graceful) {
    speaker_->rib().MarkStale(source_, std::nullopt);
    gr_timer_.ArmAt(now + int64_t{gr->restart_time} * kNs);
    STROBE_LOG(kInfo, "neighbor %s: down, keeping %d paths stale for up to %d s (graceful restart)",
               config_.address.ToString(), rib_stats().stale, gr->restart_time);
  } else {
    gr_timer_.Cancel();
    // The FIB drops this neighbor's next hops from every group first, in one step whatever the
    // number of routes; the per-route withdrawals below then find their groups already right.
    speaker_->NextHopsDown(*this, failure_event_ns_ != 0 ? failure_event_ns_ : now);
    speaker_->rib().Clear(source_, &changes);
  }
  failure_event_ns_ = 0;
  adj_out_.Clear();
  negotiated_ = Negotiated{};
  end_of_rib_.clear();
  speaker_->ApplyRibChanges(changes);
  STROBE_LOG(kInfo, "neighbor %s: session down (%s), %d Loc-RIB changes",
             config_.address.ToString(), last_reset_reason_, changes.size());
}

}  // namespace strobe::bgpd
