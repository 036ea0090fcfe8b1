#ifndef STROBE_SRC_IPC_SESSION_KEY_H_
#define STROBE_SRC_IPC_SESSION_KEY_H_

// What names a BFD session across processes, and which worker owns it. Ownership is a stable hash
// of the key, so the dataplane (for configured sessions and for bootstrap packets with Your
// Discriminator 0) and the control plane (for the sessions it creates) agree without asking.

#include <cstdint>
#include <string>

#include "src/net/ip_address.h"

namespace strobe::ipc {

struct SessionKey {
  net::IpAddress peer;
  net::IpAddress local;
  std::string interface;  // empty for multihop
  bool multihop = false;

  friend bool operator==(const SessionKey&, const SessionKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const SessionKey& k) {
    return H::combine(std::move(h), k.peer, k.local, k.interface, k.multihop);
  }
};

// FNV-1a over the key's bytes: the same in every process and build.
inline uint64_t StableHash(const SessionKey& key) {
  uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](uint8_t byte) {
    h ^= byte;
    h *= 1099511628211ULL;
  };
  for (uint8_t b : key.peer.bytes()) mix(b);
  for (uint8_t b : key.local.bytes()) mix(b);
  for (char c : key.interface) mix(static_cast<uint8_t>(c));
  mix(key.multihop ? 1 : 0);
  return h;
}

inline int OwnerWorker(const SessionKey& key, int worker_count) {
  return static_cast<int>(StableHash(key) % static_cast<uint64_t>(worker_count));
}

}  // namespace strobe::ipc

#endif  // STROBE_SRC_IPC_SESSION_KEY_H_
