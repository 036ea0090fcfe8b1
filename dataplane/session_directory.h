#ifndef STROBE_DATAPLANE_SESSION_DIRECTORY_H_
#define STROBE_DATAPLANE_SESSION_DIRECTORY_H_

// Which worker owns which session. Built before the workers start and read-only afterwards, so
// every worker may read it without synchronisation.

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "src/config/config.h"
#include "src/net/ip_address.h"

namespace strobe::dataplane {

// The discriminator's top bits name the owning worker (up to 16), so a packet with a non-zero
// Your Discriminator is routed to its owner without any lookup.
inline constexpr int kWorkerBits = 4;
inline constexpr int kMaxWorkers = 1 << kWorkerBits;
static_assert(kMaxWorkers == config::kMaxWorkers, "the config loader enforces this limit");
inline constexpr int WorkerOfDiscriminator(uint32_t discriminator) {
  return static_cast<int>(discriminator >> (32 - kWorkerBits));
}

// How a packet with Your Discriminator zero finds its session (RFC 5880 section 6.8.6):
// by source and destination address, and interface for single-hop.
struct DirectoryKey {
  net::IpAddress peer;
  net::IpAddress local;
  std::string interface;  // empty for multihop
  bool multihop = false;

  friend bool operator==(const DirectoryKey&, const DirectoryKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const DirectoryKey& k) {
    return H::combine(std::move(h), k.peer, k.local, k.interface, k.multihop);
  }
};

using SessionDirectory = absl::flat_hash_map<DirectoryKey, uint32_t>;  // -> discriminator

}  // namespace strobe::dataplane

#endif  // STROBE_DATAPLANE_SESSION_DIRECTORY_H_
