#ifndef STROBE_TESTS_UNIT_DATAPLANE_TEST_FRAMES_H_
#define STROBE_TESTS_UNIT_DATAPLANE_TEST_FRAMES_H_

// The frame spec the dataplane tests build BFD frames from (addresses from the test ranges).

#include "dataplane/bfd_frame.h"

namespace strobe::dataplane {

inline BfdFrameSpec TestFrameSpec(bool ipv6) {
  BfdFrameSpec s;
  s.src_mac = {0x02, 0x53, 0x54, 0x00, 0x00, 0x01};
  s.dst_mac = {0x02, 0x53, 0x54, 0x00, 0x00, 0x02};
  s.ipv6 = ipv6;
  if (ipv6) {
    s.src_ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    s.dst_ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  } else {
    s.src_ip = {198, 18, 0, 1};
    s.dst_ip = {198, 18, 0, 2};
  }
  s.src_port = 49152;
  return s;
}

}  // namespace strobe::dataplane

#endif  // STROBE_TESTS_UNIT_DATAPLANE_TEST_FRAMES_H_
