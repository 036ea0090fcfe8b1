#ifndef STROBE_DATAPLANE_LOADGEN_SOURCE_ADDRESSES_H_
#define STROBE_DATAPLANE_LOADGEN_SOURCE_ADDRESSES_H_

// The load generator's source addresses: one per emulated peer, drawn from a prefix and added to
// the test interface as host addresses (/32, /128 without duplicate address detection) for the
// length of the run. Only addresses this object added are removed again.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "src/net/ip_address.h"

namespace strobe::loadgen {

// `count` host addresses of `prefix` ("198.18.1.0/24", "2001:db8:1::/64"), in order, skipping
// the subnet-router address (the prefix itself, when the prefix is not a host route) and
// `exclude` (the device under test, if it lies inside). InvalidArgument when the prefix is
// malformed or too small.
absl::StatusOr<std::vector<net::IpAddress>> HostsOf(std::string_view prefix, size_t count,
                                                    const net::IpAddress& exclude);

class SourceAddresses {
 public:
  SourceAddresses() = default;
  ~SourceAddresses() { RemoveAll(); }
  SourceAddresses(const SourceAddresses&) = delete;
  SourceAddresses& operator=(const SourceAddresses&) = delete;

  // Adds every address to `interface` (rtnetlink RTM_NEWADDR). An address already there is
  // used as it is and left there afterwards.
  absl::Status Add(const std::string& interface, const std::vector<net::IpAddress>& addresses);
  // Removes what Add() added. Safe to call twice.
  void RemoveAll();

  size_t added() const { return added_.size(); }
  size_t already_present() const { return already_present_; }

 private:
  int ifindex_ = 0;
  std::vector<net::IpAddress> added_;
  size_t already_present_ = 0;
};

}  // namespace strobe::loadgen

#endif  // STROBE_DATAPLANE_LOADGEN_SOURCE_ADDRESSES_H_
