// strobe-bgpd assembled from the configuration: the listeners, the neighbors (configured and
// dynamic), the Loc-RIB and its FIB sink, the BFD link to the dataplane, and export: every
// Loc-RIB change marks its prefix, and at the end of the loop turn each Established neighbor's
// Adj-RIB-Out is brought up to date and the changes go out packed into UPDATEs.
//
// The configuration can be reloaded (SIGHUP, `config reload`): only its differences are applied,
// and what did not change is not touched (Reload).
//
// Runs on the event loop thread; HandleCommand is called there by the control socket bridge.
#ifndef STROBE_CONTROLPLANE_BGPD_SPEAKER_H_
#define STROBE_CONTROLPLANE_BGPD_SPEAKER_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "controlplane/bgp/policy.h"
#include "controlplane/bgp/rib.h"
#include "controlplane/bgpd/bfd_link.h"
#include "controlplane/bgpd/event_loop.h"
#include "controlplane/bgpd/export_rules.h"
#include "controlplane/bgpd/fib_sink.h"
#include "controlplane/bgpd/listener.h"
#include "controlplane/bgpd/peer.h"
#include "src/config/config.h"

namespace strobe::bgpd {

struct SpeakerOptions {
  uint16_t connect_port = 179;  // the neighbors' port for outgoing connections
  int64_t idle_hold_ns = 5 * bgp::kNanosPerSecond;
  int64_t idle_hold_max_ns = 120 * bgp::kNanosPerSecond;
};

class Speaker {
 public:
  // Checks what the parser cannot (policy and BFD profile names) and builds everything; opens no
  // socket.
  static absl::StatusOr<std::unique_ptr<Speaker>> Create(EventLoop* loop, config::Config config,
                                                         SpeakerOptions options, FibSink* fib);
  ~Speaker();

  // Listens and starts every configured neighbor.
  absl::Status Start();
  // Cease/Administrative Shutdown to every neighbor (RFC 8203 `message`); stops them all.
  void Shutdown(const std::string& message);

  // Applies `config` (the file read again) as a difference from the running configuration. The
  // whole file is checked first as Create() does; when it is refused nothing changes and the
  // error (FILE:LINE: ...) comes back as InvalidArgument. Then, for [[bgp.neighbor]]s by address:
  // - added: created and started as Start() does (BFD registered when it has a bfd_profile);
  // - removed: Cease/Peer De-configured (RFC 4486), its routes withdrawn, its BFD session
  //   unregistered, deleted;
  // - changed in a setting the session was opened with: Cease/Other Configuration Change, then
  //   created again with the new settings;
  // - changed only in its import or export policies (their names or definitions), next_hop_self,
  //   BFD profile (timers, authentication) or description: reconfigured in place, the session
  //   kept: exports re-evaluated (only differences sent), routes imported again by a
  //   ROUTE-REFRESH (a reset as above when the neighbor cannot refresh), BFD timers changed in
  //   the running BFD session;
  // - unchanged: not touched.
  // Dynamic neighbors follow their [[bgp.listen_range]] the same way (closed with Cease/3 when
  // no range holds them any more, Cease/6 when the range's session settings changed or their
  // address became a [[bgp.neighbor]]); TCP-MD5 keys on the listening sockets follow the
  // neighbors and ranges; [[bgp.network]]s are announced and withdrawn. Settings only a restart
  // applies (config_diff.h RestartRequired) keep their running values, are logged as warnings and
  // listed in the reply:
  //   {"config": PATH, "neighbors_added": [ADDR...], "neighbors_removed": [...],
  //    "neighbors_changed": [...], "neighbors_reset": [...], "neighbors_unchanged": N,
  //    "dynamic_neighbors_closed": [...], "networks_added": [PREFIX...], "networks_removed": [...],
  //    "networks_changed": [...], "restart_required": ["bgp.asn", ...]}
  // neighbors_reset: those of neighbors_changed whose session started again.
  absl::StatusOr<nlohmann::json> Reload(config::Config config);
  // Reads the file the daemon was started with (config().path) again and Reload()s it; logs one
  // line with the outcome. `trigger` names the cause in it ("SIGHUP", "control command").
  absl::StatusOr<nlohmann::json> ReloadFile(const std::string& trigger);

  // "show bgp summary", "show bgp neighbors", "show bgp routes", "clear bgp neighbor",
  // "config reload".
  absl::StatusOr<nlohmann::json> HandleCommand(const std::string& command,
                                               const nlohmann::json& args);

  // ---- for Peer ----
  EventLoop* loop() const { return loop_; }
  uint32_t local_as() const { return config_.bgp.asn; }
  uint32_t router_id() const { return router_id_; }  // host byte order
  const SpeakerOptions& options() const { return options_; }
  const config::Config& config() const { return config_; }
  bgp::Rib& rib() { return rib_; }
  // Tells the FIB sink and marks the prefixes for export, in this order.
  void ApplyRibChanges(const std::vector<bgp::RibChange>& changes);
  // `peer`'s session is going down: its next hops that no other neighbor uses are dead for the
  // FIB (told before the Loc-RIB is walked). `event_ns`: when the failure was learnt.
  void NextHopsDown(const Peer& peer, int64_t event_ns);
  // A neighbor sent End-of-RIB: once every configured neighbor has sent all its routes, the FIB
  // learns that the initial table is complete (its stale routes from a previous instance go).
  void OnEndOfRib();
  // A neighbor reached Established: queue its whole Adj-RIB-Out (the neighbor then sends it and
  // its End-of-RIB markers).
  void FillAdjRibOut(Peer* peer);
  // Re-evaluates export of every prefix of `family` to `peer` (ROUTE-REFRESH, soft out).
  BfdLink* bfd();
  // A dynamic neighbor's session ended: delete it after this turn.
  void PeerFinished(Peer* peer);

  // ---- for show ----
  std::vector<const Peer*> Peers() const;  // by address
  const bgp::Rib& rib() const { return rib_; }
  const absl::btree_map<bgp::RibPrefix, LocalNetwork>& networks() const { return networks_; }
  int64_t started_ns() const { return started_ns_; }
  const FibSink* fib() const { return fib_; }

 private:
  // What a configuration builds, checked (Create, Reload).
  struct Plan {
    bgp::PolicyLibrary policies;
    absl::btree_map<bgp::RibPrefix, LocalNetwork> networks;
    absl::btree_map<net::IpAddress, PeerConfig> neighbors;  // configured
  };
  static absl::StatusOr<Plan> MakePlan(const config::Config& config);
  static absl::StatusOr<PeerConfig> MakePeerConfig(const bgp::PolicyLibrary& policies,
                                                   const config::Config& config,
                                                   const config::BgpPeerTemplate& settings);
  // A dynamic neighbor's configuration from listen range `range` (of config_).
  absl::StatusOr<PeerConfig> MakeDynamicPeerConfig(const config::BgpListenRangeConfig& range,
                                                   const net::IpAddress& address);

  Speaker(EventLoop* loop, config::Config config, SpeakerOptions options, FibSink* fib);
  // Stops a configured neighbor with Cease/`cease_subcode`, unregisters its BFD session and
  // deletes it after this turn.
  void RemovePeer(const net::IpAddress& address, uint8_t cease_subcode);
  // Creates a configured neighbor, started when the speaker is.
  void AddPeer(PeerConfig config);
  // Closes or reconfigures the dynamic neighbors after a reload; returns those closed.
  std::vector<net::IpAddress> ReloadDynamicPeers(const config::Config& old_config);
  // Installs (empty `key`: removes) a TCP-MD5 key on every listening socket of its family.
  void SetListenerMd5(const net::IpAddress& address, int prefix_length, const std::string& key);
  void OnAccept(int fd);
  void OnBfdEvent(const ipc::BfdPeerEvent& event);
  Peer* FindPeer(const net::IpAddress& address) const;
  // The prefix's export may have changed (a Loc-RIB change, a local network).
  void MarkDirty(const bgp::RibPrefix& prefix);
  void FlushExports();
  ExportContext ContextFor(const Peer& peer) const;
  // What a prefix's export starts from: a local network, or the Loc-RIB best path, or neither.
  struct ExportSource {
    const LocalNetwork* network = nullptr;
    std::optional<bgp::Path> best;
  };
  ExportSource SourceOf(const bgp::RibPrefix& prefix) const;
  // What goes to `peer` for `prefix` (null: nothing, a withdrawal if something was sent).
  bgp::AttributesRef ExportFrom(const Peer& peer, const ExportContext& context,
                                const bgp::RibPrefix& prefix, const ExportSource& source);

  EventLoop* loop_;
  config::Config config_;
  SpeakerOptions options_;
  FibSink* fib_;
  uint32_t router_id_ = 0;
  bgp::Rib rib_;
  bgp::PolicyLibrary policies_;
  bgp::AttributePool export_pool_;
  absl::btree_map<bgp::RibPrefix, LocalNetwork> networks_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  absl::btree_map<net::IpAddress, std::unique_ptr<Peer>> peers_;          // configured
  absl::btree_map<net::IpAddress, std::unique_ptr<Peer>> dynamic_peers_;  // from listen ranges
  std::unique_ptr<BfdLink> bfd_;
  // Prefixes whose export may have changed since the last flush, with repeats (sorted and
  // deduplicated at the flush: cheaper than a set for a full table arriving).
  std::vector<bgp::RibPrefix> dirty_;
  bool flush_scheduled_ = false;
  bool initial_table_complete_ = false;
  bool started_ = false;
  int64_t started_ns_ = 0;
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_SPEAKER_H_
