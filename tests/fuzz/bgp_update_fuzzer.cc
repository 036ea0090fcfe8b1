// libFuzzer target: the UPDATE body and path attribute decoder (controlplane/bgp/update.h) with
// RFC 7606 revised error handling, under every combination of the options it takes (4-octet AS,
// ADD-PATH, extended next hop), the encoder roundtrip, and what strobe-bgpd does with the result:
// the AS4_PATH merge (RFC 6793 section 4.2.3) and the Adj-RIB-In / decision process.
//
// Input: the option byte of bgp_fuzz_common.h, then the UPDATE body (after the 19-byte header).
//
// Checked: a session reset carries an UPDATE Message Error and nothing else is half-decoded into
// it; every decoded prefix has its host bits clear and a valid length; a decoded UPDATE re-encodes
// and decodes to itself (bgp_fuzz_common.h); the RIB keeps the other neighbor's paths.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "controlplane/bgp/types.h"
#include "controlplane/bgp/update.h"
#include "tests/fuzz/bgp_fuzz_common.h"
#include "tests/fuzz/fuzz_util.h"

namespace strobe::bgp {
namespace {

void CheckPrefixes(const std::vector<Prefix>& prefixes, bool add_path) {
  for (const Prefix& p : prefixes) {
    const size_t width = p.afi == kAfiIpv6 ? 128 : 32;
    FUZZ_CHECK((p.afi == kAfiIpv4 || p.afi == kAfiIpv6) && p.length <= width,
               "prefix afi %u length %u", p.afi, p.length);
    for (size_t bit = p.length; bit < 128; ++bit) {
      FUZZ_CHECK((p.address[bit / 8] & (0x80 >> (bit % 8))) == 0, "host bit %zu set in a /%u", bit,
                 p.length);
    }
    FUZZ_CHECK(add_path || p.path_id == 0, "a path id without ADD-PATH");
  }
}

}  // namespace
}  // namespace strobe::bgp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strobe::bgp;  // NOLINT: a fuzz entry point
  strobe::fuzz::Input in(data, size);
  const fuzz::Setup setup = fuzz::SetupFromByte(in.U8());
  const std::span<const uint8_t> body = in.Rest();

  const UpdateDecodeResult result = DecodeUpdateBody(body, setup.codec);
  if (result.action == UpdateDecodeResult::kSessionReset) {
    FUZZ_CHECK(result.notification.has_value() && result.notification->code == kErrUpdateMessage,
               "a session reset without an UPDATE Message Error");
    return 0;
  }
  FUZZ_CHECK(!result.notification.has_value(), "a NOTIFICATION without a session reset");
  FUZZ_CHECK(result.discarded_types.empty() ? result.action != UpdateDecodeResult::kAttributeDiscard
                                            : result.action != UpdateDecodeResult::kOk,
             "action %d with %zu discarded attributes", static_cast<int>(result.action),
             result.discarded_types.size());
  const Update& u = result.update;
  CheckPrefixes(u.withdrawn, setup.codec.AddPath(kIpv4Unicast));
  CheckPrefixes(u.nlri, setup.codec.AddPath(kIpv4Unicast));
  if (u.attributes.mp_reach) {
    const MpReach& mp = *u.attributes.mp_reach;
    CheckPrefixes(mp.nlri, setup.codec.AddPath(mp.afi_safi));
    for (const Prefix& p : mp.nlri) FUZZ_CHECK(p.afi == mp.afi_safi.afi, "NLRI of another AFI");
  }
  if (u.attributes.mp_unreach) {
    const MpUnreach& mp = *u.attributes.mp_unreach;
    CheckPrefixes(mp.withdrawn, setup.codec.AddPath(mp.afi_safi));
  }
  if (result.action == UpdateDecodeResult::kOk ||
      result.action == UpdateDecodeResult::kAttributeDiscard) {
    // RFC 7606 section 3(d): NLRI without the mandatory attributes is treated as withdraw.
    const bool has_nlri =
        !u.nlri.empty() || (u.attributes.mp_reach && !u.attributes.mp_reach->nlri.empty());
    FUZZ_CHECK(!has_nlri || (u.attributes.origin && u.attributes.as_path &&
                             (u.nlri.empty() || u.attributes.next_hop)),
               "NLRI accepted without ORIGIN, AS_PATH or NEXT_HOP");
  }

  fuzz::CheckUpdateRoundtrip(result, setup.codec);
  fuzz::FeedRib(result, setup);
  return 0;
}
