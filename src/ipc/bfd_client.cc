#include "src/ipc/bfd_client.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "src/common/clock.h"
#include "src/common/logging.h"
#include "src/ipc/control_protocol.h"
#include "src/ipc/fd_passing.h"
#include "src/ipc/session_table.h"

namespace strobe::ipc {
namespace {

constexpr int64_t kAttachRetryNs = 20 * kNsPerMs;

SessionKey KeyFrom(const uint8_t* peer, const uint8_t* local, const char* interface, uint8_t family,
                   uint8_t multihop) {
  SessionKey key;
  key.peer = net::IpAddress::FromBytes(peer, family);
  key.local = net::IpAddress::FromBytes(local, family);
  key.multihop = multihop != 0;
  if (!key.multihop) key.interface = std::string(interface, strnlen(interface, 16));
  return key;
}

void FillKey(const SessionKey& key, CommandRecord* c) {
  std::memcpy(c->peer, key.peer.bytes().data(), 16);
  std::memcpy(c->local, key.local.bytes().data(), 16);
  std::memcpy(c->interface, key.interface.data(), std::min<size_t>(key.interface.size(), 15));
  c->family = key.peer.is_v4() ? 4 : 6;
  c->multihop = key.multihop;
}

}  // namespace

BfdClient::BfdClient(std::string dataplane_socket, Callback callback)
    : socket_path_(std::move(dataplane_socket)), callback_(std::move(callback)) {}

BfdClient::~BfdClient() {
  if (attach_fd_ >= 0) close(attach_fd_);
  if (doorbell_fd_ >= 0) close(doorbell_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  for (int fd : worker_wake_fds_) close(fd);
}

void BfdClient::Register(const BfdPeerRequest& request) {
  Peer& peer = peers_[request.key];
  peer.request = request;
  peer.create_sent = false;
  if (attached()) SendCreate(peer);
}

void BfdClient::SetAdminDown(const SessionKey& key, bool admin_down) {
  auto it = peers_.find(key);
  if (it == peers_.end()) return;
  it->second.admin_down = admin_down;
  if (attached() && it->second.session_id != 0) {
    CommandRecord c{};
    c.type = CommandType::kModify;
    c.modify_fields = kModifyAdmin;
    c.admin_down = admin_down;
    c.session_id = it->second.session_id;
    c.request_id = next_request_id_++;
    SendCommand(key, c);
  }
}

void BfdClient::Unregister(const SessionKey& key) {
  auto it = peers_.find(key);
  if (it == peers_.end()) return;
  if (attached() && it->second.session_id != 0) {
    CommandRecord c{};
    c.type = CommandType::kDelete;
    c.session_id = it->second.session_id;
    c.request_id = next_request_id_++;
    SendCommand(key, c);
  }
  peers_.erase(it);
}

bfd::State BfdClient::StateOf(const SessionKey& key) const {
  auto it = peers_.find(key);
  return it == peers_.end() ? bfd::State::kDown : it->second.state;
}

void BfdClient::SendCreate(Peer& peer) {
  const BfdPeerRequest& r = peer.request;
  CommandRecord c{};
  c.type = CommandType::kCreate;
  c.request_id = next_request_id_++;
  FillKey(r.key, &c);
  c.desired_min_tx_us = r.desired_min_tx_us;
  c.required_min_rx_us = r.required_min_rx_us;
  c.detect_mult = r.detect_mult;
  c.passive = r.passive;
  c.admin_down = peer.admin_down;
  if (r.auth) {
    c.auth_type = static_cast<uint8_t>(r.auth->type);
    c.auth_key_id = r.auth->key_id;
    c.secret_len = static_cast<uint8_t>(std::min<size_t>(r.auth->secret.size(), 20));
    std::memcpy(c.secret, r.auth->secret.data(), c.secret_len);
  }
  peer.create_sent = true;
  SendCommand(r.key, c);
}

void BfdClient::SendCommand(const SessionKey& key, const CommandRecord& command) {
  const uint32_t worker =
      static_cast<uint32_t>(OwnerWorker(key, static_cast<int>(commands_.size())));
  backlog_[worker].push_back(command);
  FlushCommands();
}

void BfdClient::FlushCommands() {
  for (size_t w = 0; w < commands_.size(); ++w) {
    bool pushed = false;
    while (!backlog_[w].empty() && commands_[w].Push(backlog_[w].front())) {
      backlog_[w].pop_front();
      pushed = true;
    }
    if (pushed) commands_[w].Publish();
  }
}

absl::Status BfdClient::Attach() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError("dataplane socket path too long");
  }
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", socket_path_, ": ", strerror(err)));
  }
  const nlohmann::json request = {
      {"command", "attach"}, {"args", {{"pid", getpid()}, {"layout_version", kLayoutVersion}}}};
  std::string line;
  std::vector<int> fds;
  absl::Status s = WriteAll(fd, request.dump() + "\n");
  if (s.ok()) s = ReceiveLineWithFds(fd, &line, &fds, 2000);
  auto fail = [&](absl::Status status) {
    close(fd);
    for (int f : fds) close(f);
    return status;
  };
  if (!s.ok()) return fail(s);
  const nlohmann::json reply = nlohmann::json::parse(line, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) {
    return fail(absl::DataLossError("malformed attach reply"));
  }
  if (!reply.value("ok", false)) {
    return fail(absl::FailedPreconditionError(reply.value("error", std::string("attach refused"))));
  }
  const nlohmann::json& result = reply["result"];
  const size_t workers = result.value("worker_count", size_t{0});
  if (workers == 0 || fds.size() != 2 + workers) {
    return fail(absl::DataLossError("attach reply without the expected file descriptors"));
  }
  absl::StatusOr<ShmRegion> region = ShmRegion::Attach(fds[0]);
  fds[0] = -1;  // owned by `region` now, whatever happened
  if (!region.ok()) return fail(region.status());
  if (region->worker_count() != workers) {
    return fail(absl::DataLossError("worker count differs between reply and region"));
  }

  attach_fd_ = fd;
  region_ = std::move(*region);
  doorbell_fd_ = fds[1];
  worker_wake_fds_.assign(fds.begin() + 2, fds.end());
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  for (int watched : {attach_fd_, doorbell_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = watched;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, watched, &ev);
  }
  const uint64_t previous_generation = generation_;
  generation_ = region_.generation();
  events_.clear();
  commands_.clear();
  backlog_.assign(workers, {});
  for (uint32_t w = 0; w < workers; ++w) {
    WorkerArea* area = region_.worker(w);
    events_.emplace_back(&area->events, area->event_slots, kRingRecords);
    commands_.emplace_back(&area->commands, area->command_slots, kRingRecords, worker_wake_fds_[w]);
    // What happened while nobody listened is in the table: forget the backlog and the dirty
    // marks, then read every entry (an event racing with this is read twice, never lost).
    area->overflow.store(0, std::memory_order_relaxed);
    for (auto& word : area->dirty) word.store(0, std::memory_order_relaxed);
    events_.back().SkipToHead();
    for (uint32_t i = 0; i < kMaxSessionsPerWorker; ++i) {
      if (!ReadTable(w, i)) MarkDirty(w, i);
    }
  }
  ++stats_.attaches;
  STROBE_LOG(kInfo, "attached to strobe-dataplane pid %d (%sgeneration %x, %d workers)",
             result.value("dataplane_pid", 0),
             previous_generation == 0 || previous_generation == generation_ ? "" : "new ",
             generation_, workers);
  // Register everything again: a running session is adopted untouched, a missing one created.
  for (auto& [key, peer] : peers_) SendCreate(peer);
  return absl::OkStatus();
}

void BfdClient::Lost(const std::string& why) {
  STROBE_LOG(kWarning, "strobe-dataplane lost (%s): every BFD peer is Down until it returns", why);
  ++stats_.dataplane_losses;
  const int64_t now = MonotonicNowNs();
  for (auto& [key, peer] : peers_) {
    peer.session_id = 0;
    peer.create_sent = false;
    peer.changed_ns = 0;  // a new dataplane's sessions start afresh
    if (peer.state != bfd::State::kDown) {
      Report(peer, key, bfd::State::kDown, bfd::Diag::kPathDown, bfd::Diag::kNone, now, 0,
             peer.up_transitions, peer.down_transitions, BfdPeerEvent::Source::kDataplaneLost);
    }
  }
  close(attach_fd_);
  attach_fd_ = -1;
  close(doorbell_fd_);
  doorbell_fd_ = -1;
  close(epoll_fd_);
  epoll_fd_ = -1;
  for (int fd : worker_wake_fds_) close(fd);
  worker_wake_fds_.clear();
  events_.clear();
  commands_.clear();
  backlog_.clear();
  region_ = ShmRegion();
  next_attach_ns_ = 0;
}

void BfdClient::Report(Peer& peer, const SessionKey& key, bfd::State state, bfd::Diag local_diag,
                       bfd::Diag remote_diag, int64_t changed_ns, int64_t latency_ns, uint64_t ups,
                       uint64_t downs, BfdPeerEvent::Source source) {
  const bool flapped = ups != peer.up_transitions || downs != peer.down_transitions;
  if (state == peer.state && !flapped && source != BfdPeerEvent::Source::kDataplaneLost) return;
  BfdPeerEvent e;
  e.key = key;
  e.session_id = peer.session_id;
  e.old_state = peer.state;
  e.state = state;
  e.local_diag = local_diag;
  e.remote_diag = remote_diag;
  e.changed_ns = changed_ns;
  e.received_ns = MonotonicNowNs();
  e.detection_latency_ns = latency_ns;
  e.up_transitions = ups;
  e.down_transitions = downs;
  e.source = source;
  peer.state = state;
  if (source != BfdPeerEvent::Source::kDataplaneLost) {
    peer.up_transitions = ups;
    peer.down_transitions = downs;
    peer.changed_ns = changed_ns;
  }
  callback_(e);
}

bool BfdClient::ReadTable(uint32_t worker, uint32_t index) {
  SessionStatusPayload p;
  if (!ReadSessionStatus(&region_.worker(worker)->table[index], &p)) return false;
  if (p.session_id == 0) return true;
  ++stats_.table_reads;
  const SessionKey key = KeyFrom(p.peer, p.local, p.interface, p.family, p.multihop);
  auto it = peers_.find(key);
  if (it == peers_.end()) return true;
  it->second.session_id = p.session_id;
  Report(it->second, key, static_cast<bfd::State>(p.state), static_cast<bfd::Diag>(p.local_diag),
         static_cast<bfd::Diag>(p.remote_diag), p.last_change_ns, p.detection_latency_ns,
         p.up_transitions, p.down_transitions, BfdPeerEvent::Source::kTable);
  return true;
}

// An entry its worker was rewriting (and was preempted in): read it again at the next Poll().
void BfdClient::MarkDirty(uint32_t worker, uint32_t index) {
  WorkerArea* area = region_.worker(worker);
  area->dirty[index / 64].fetch_or(uint64_t{1} << (index % 64), std::memory_order_relaxed);
  area->overflow.store(1, std::memory_order_release);
}

// The worker set dirty bits (then the flag) for events the ring could not take: read those
// sessions' current state from the table, and send again any command whose answer may be lost.
void BfdClient::RecoverOverflow(uint32_t worker) {
  WorkerArea* area = region_.worker(worker);
  if (area->overflow.exchange(0, std::memory_order_acquire) == 0) return;
  ++stats_.overflows;
  for (uint32_t word = 0; word < kMaxSessionsPerWorker / 64; ++word) {
    uint64_t bits = area->dirty[word].exchange(0, std::memory_order_acquire);
    while (bits != 0) {
      const int bit = __builtin_ctzll(bits);
      bits &= bits - 1;
      const uint32_t index = word * 64 + static_cast<uint32_t>(bit);
      if (!ReadTable(worker, index)) MarkDirty(worker, index);
    }
  }
  for (auto& [key, peer] : peers_) {
    if (peer.session_id == 0 &&
        OwnerWorker(key, static_cast<int>(events_.size())) == static_cast<int>(worker)) {
      SendCreate(peer);
    }
  }
}

void BfdClient::HandleEvent(const EventRecord& e) {
  ++stats_.events;
  if (e.type == EventType::kCountersEpoch) return;
  if (e.type == EventType::kCommandResult) {
    if (e.status != 0) {
      ++stats_.command_errors;
      STROBE_LOG(kWarning, "dataplane refused request %d (session %d): status %d", e.request_id,
                 e.session_id, e.status);
    }
    return;
  }
  const SessionKey key = KeyFrom(e.peer, e.local, e.interface, e.family, e.multihop);
  auto it = peers_.find(key);
  if (it == peers_.end()) return;  // a configured session nobody here registered
  Peer& peer = it->second;
  if (e.type == EventType::kSessionDeleted) {
    if (peer.session_id == e.session_id) peer.session_id = 0;
    return;
  }
  peer.session_id = e.session_id;
  // After an overflow the table may already have given us a later state than this event, which
  // sat in the ring (or was published only after the table was read): it is stale, drop it.
  if (e.timestamp_ns < peer.changed_ns) return;
  Report(peer, key, static_cast<bfd::State>(e.new_state), static_cast<bfd::Diag>(e.local_diag),
         static_cast<bfd::Diag>(e.remote_diag), e.timestamp_ns, e.detection_latency_ns,
         e.up_transitions, e.down_transitions, BfdPeerEvent::Source::kRing);
}

void BfdClient::Poll() {
  if (!attached()) {
    const int64_t now = MonotonicNowNs();
    if (now < next_attach_ns_) return;
    next_attach_ns_ = now + kAttachRetryNs;
    absl::Status s = Attach();
    last_error_ = s.ok() ? "" : std::string(s.message());
    if (!s.ok()) return;
  }
  // The attach connection closes when the dataplane exits or dies, whatever the cause.
  char byte;
  const ssize_t n = recv(attach_fd_, &byte, 1, MSG_DONTWAIT | MSG_PEEK);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    return Lost(n == 0 ? "connection closed" : strerror(errno));
  }
  for (uint32_t w = 0; w < events_.size(); ++w) {
    EventRecord e;
    bool any = false;
    while (events_[w].Pop(&e)) {
      any = true;
      HandleEvent(e);
    }
    if (any) events_[w].Release();
    RecoverOverflow(w);
  }
  FlushCommands();
}

void BfdClient::Wait(int timeout_ms) {
  if (!attached()) {
    const int64_t until_attach_ms = (next_attach_ns_ - MonotonicNowNs()) / kNsPerMs;
    const int64_t sleep_ms = std::clamp<int64_t>(until_attach_ms, 0, timeout_ms);
    if (sleep_ms > 0) usleep(static_cast<useconds_t>(sleep_ms * 1000));
    return Poll();
  }
  bool idle = true;
  for (auto& ring : events_) idle = ring.PrepareToSleep() && idle;
  for (uint32_t w = 0; idle && w < events_.size(); ++w) {
    idle = region_.worker(w)->overflow.load(std::memory_order_acquire) == 0;
  }
  if (idle) {
    epoll_event ev[2];
    epoll_wait(epoll_fd_, ev, 2, timeout_ms);
  }
  for (auto& ring : events_) ring.Awake();
  uint64_t value;
  ssize_t unused = read(doorbell_fd_, &value, sizeof(value));
  (void)unused;
  Poll();
}

}  // namespace strobe::ipc
