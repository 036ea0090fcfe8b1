#ifndef STROBE_DATAPLANE_NEIGHBOR_WATCH_H_
#define STROBE_DATAPLANE_NEIGHBOR_WATCH_H_

// The dataplane's one netlink module: it reads the kernel's neighbour table (ARP and ND) and the
// interfaces' MAC addresses, first as a dump and then as they change (RTNLGRP_NEIGH and
// RTNLGRP_LINK notifications), so AF_XDP transmission can address frames without asking the
// kernel per packet. Built on libmnl. Not thread-safe: the control thread owns it and hands the
// updates to the workers.

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "src/net/ip_address.h"

struct mnl_socket;
struct nlmsghdr;

namespace strobe::dataplane {

using MacAddress = std::array<uint8_t, 6>;

struct NeighborUpdate {
  enum class Kind : uint8_t {
    kNeighbor,  // `address` on `ifindex` is at `mac` (usable) or unreachable (!usable)
    kLink,      // interface `ifindex` has MAC `mac` (usable) or is gone (!usable)
  };
  Kind kind = Kind::kNeighbor;
  int ifindex = 0;
  net::IpAddress address;  // kNeighbor only
  MacAddress mac{};
  // kNeighbor: the kernel holds a link-layer address it would use itself (REACHABLE, STALE,
  // DELAY, PROBE, PERMANENT, NOARP). False when resolution FAILED (`ip neigh del` also fails the
  // entry first). A deletion alone (the garbage collector removing a STALE entry that only
  // AF_XDP used, so the kernel saw no use) or an INCOMPLETE entry produces no update: the last
  // known address stays good until the kernel learns another (a peer that changes its MAC
  // announces itself by ARP/ND, which the kernel records and reports).
  bool usable = false;

  friend bool operator==(const NeighborUpdate&, const NeighborUpdate&) = default;
};

class NeighborWatch {
 public:
  // Subscribes to the notifications, then dumps the current links and neighbours; the dump comes
  // out of the first Poll().
  static absl::StatusOr<std::unique_ptr<NeighborWatch>> Open();
  ~NeighborWatch();
  NeighborWatch(const NeighborWatch&) = delete;
  NeighborWatch& operator=(const NeighborWatch&) = delete;

  // Reads every message waiting (never blocks) and returns the updates they carry, in order.
  // After a notification overrun (ENOBUFS) it dumps everything again.
  std::vector<NeighborUpdate> Poll();

  int fd() const;
  uint64_t overruns() const { return overruns_; }

 private:
  NeighborWatch() = default;
  absl::Status RequestDump(int type);
  void StartNextDump();

  ::mnl_socket* nl_ = nullptr;
  uint32_t seq_ = 0;
  // Dumps run one at a time on the socket: links first, then neighbours.
  std::vector<int> pending_dumps_;
  bool dump_in_progress_ = false;
  uint64_t overruns_ = 0;
};

// Parses one rtnetlink message (RTM_NEWNEIGH/DELNEIGH/NEWLINK/DELLINK) into `out`; returns false
// when it carries nothing of interest. Exposed for tests.
bool ParseNeighborMessage(const ::nlmsghdr* message, NeighborUpdate* out);

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_NEIGHBOR_WATCH_H_
