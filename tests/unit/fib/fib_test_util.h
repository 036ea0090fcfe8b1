// Parsing helpers shared by the FIB unit tests: a malformed literal fails the test, not the run.
#ifndef STROBE_TESTS_UNIT_FIB_FIB_TEST_UTIL_H_
#define STROBE_TESTS_UNIT_FIB_FIB_TEST_UTIL_H_

#include <initializer_list>
#include <string_view>
#include <vector>

#include "controlplane/bgp/rib.h"
#include "gtest/gtest.h"
#include "src/net/ip_address.h"

namespace strobe::fib::testing {

inline net::IpAddress Ip(std::string_view text) {
  absl::StatusOr<net::IpAddress> a = net::IpAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : net::IpAddress();
}

inline bgp::RibPrefix Pfx(std::string_view text) {
  absl::StatusOr<bgp::RibPrefix> p = bgp::RibPrefix::Parse(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : bgp::RibPrefix();
}

inline std::vector<net::IpAddress> Ips(std::initializer_list<std::string_view> texts) {
  std::vector<net::IpAddress> out;
  for (std::string_view t : texts) out.push_back(Ip(t));
  return out;
}

}  // namespace strobe::fib::testing

#endif  // STROBE_TESTS_UNIT_FIB_FIB_TEST_UTIL_H_
