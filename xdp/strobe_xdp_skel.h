// The skeleton `bpftool gen skeleton` writes for strobe_xdp.bpf.o, included with the project's
// warnings relaxed for its generated code only.
#ifndef STROBE_XDP_STROBE_XDP_SKEL_H_
#define STROBE_XDP_STROBE_XDP_SKEL_H_

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "strobe_xdp.skel.h"
#pragma GCC diagnostic pop

#endif  // STROBE_XDP_STROBE_XDP_SKEL_H_
