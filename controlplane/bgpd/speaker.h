// strobe-bgpd assembled from the configuration: the listeners, the neighbors (configured and
// dynamic), the Loc-RIB and its FIB sink, the BFD link to the dataplane, and export: every
// Loc-RIB change marks its prefix, and at the end of the loop turn each Established neighbor's
// Adj-RIB-Out is brought up to date and the changes go out packed into UPDATEs.
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

  // "show bgp summary", "show bgp neighbors", "show bgp routes", "clear bgp neighbor".
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
  Speaker(EventLoop* loop, config::Config config, SpeakerOptions options, FibSink* fib);
  absl::StatusOr<PeerConfig> MakePeerConfig(const config::BgpPeerTemplate& settings);
  void OnAccept(int fd);
  void OnBfdEvent(const ipc::BfdPeerEvent& event);
  Peer* FindPeer(const net::IpAddress& address) const;
  void MarkDirty(const bgp::RibPrefix& prefix);
  void FlushExports();
  ExportContext ContextFor(const Peer& peer) const;
  bgp::AttributesRef ExportFor(const Peer& peer, const ExportContext& context,
                               const bgp::RibPrefix& prefix);

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
  absl::flat_hash_set<bgp::RibPrefix> dirty_;
  bool flush_scheduled_ = false;
  bool initial_table_complete_ = false;
  int64_t started_ns_ = 0;
};

}  // namespace strobe::bgpd

#endif  // STROBE_CONTROLPLANE_BGPD_SPEAKER_H_
