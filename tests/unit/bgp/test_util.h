#ifndef STROBE_TESTS_UNIT_BGP_TEST_UTIL_H_
#define STROBE_TESTS_UNIT_BGP_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

namespace strobe::bgp::testing {

inline std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out;
  int nibble = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;
    }
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<uint8_t>(nibble << 4 | v));
      nibble = -1;
    }
  }
  return out;
}

inline std::string ToHex(const std::vector<uint8_t>& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

// Frames a body with a valid header of the given type.
inline std::vector<uint8_t> Framed(uint8_t type, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out(16, 0xff);
  size_t len = 19 + body.size();
  out.push_back(static_cast<uint8_t>(len >> 8));
  out.push_back(static_cast<uint8_t>(len));
  out.push_back(type);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace strobe::bgp::testing

#endif  // STROBE_TESTS_UNIT_BGP_TEST_UTIL_H_
